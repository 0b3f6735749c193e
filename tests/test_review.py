"""The TA's review (grader/review): equal answers grouped across a class, the pages safe and offline, the marks
file read strictly and merged into the reports (re-runnable; a mark for another answer is not applied)."""
import json
import re

import pytest

from derivations.batch import reports
from grader.review.items import collect
from grader.review.marks import MarksError, apply_marks, read_marks, rescore
from grader.review.page import write_pages


def marks_file(tmp_path, marks, name="marks.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"kind": "hw3-review-marks", "version": 1, "marks": marks}), encoding="utf-8")
    return path


def test_thirty_students_make_few_groups_per_question():
    questions = collect(reports(30))
    assert set(questions) == {"ex1", "ex2", "ex3", "ex4", "ex4c"}
    for question in questions.values():
        assert len(question.groups) <= 4 < question.students or question.students <= 8, question.id
    # "2 x_i" and "2x_i" (spacing only) are one answer; 2x and 2x^T passed and are not on the page at all
    assert [len(g.entries) for g in questions["ex1"].groups.values()] == [8, 4]


def test_points_awaiting_review_are_outside_score_and_maximum():
    first = reports(1)[0]
    awaiting = [c for c in first["checks"] if c.get("review")]
    assert first["awaiting_review"] == sum(c["max_points"] for c in awaiting) > 0
    assert first["max_score"] == sum(c["max_points"] for c in first["checks"]) - first["awaiting_review"]


def test_pages_are_written_offline_and_escape_what_students_wrote(tmp_path):
    batch = reports(4)
    batch[0]["checks"][0]["review"] = dict(batch[1]["checks"][2]["review"], question="ex1", group="evil",
                                           work="<script>alert(1)</script> </script><img src=x onerror=alert(2)>")
    pages = write_pages(batch, tmp_path)
    text = pages["ex1"].read_text(encoding="utf-8")
    assert "<script>alert(1)" not in text and "<img src=x" not in text and "&lt;script&gt;alert(1)" in text
    assert not re.search(r"(src|href)=\"(https?:)?//", text), "the page must load nothing from the network"
    for asset in ("assets/katex/katex.min.js", "assets/katex/katex.min.css", "assets/page.js",
                  "assets/katex/fonts/KaTeX_Main-Regular.woff2", "assets/katex/LICENSE"):
        assert (tmp_path / asset).is_file(), asset
    assert "ex1.html" in (tmp_path / "index.html").read_text(encoding="utf-8")


def test_marks_merge_into_the_reports_and_merging_twice_changes_nothing(tmp_path):
    batch = reports(30)
    group = collect(batch)["ex4"].groups
    [(gid, ex4)] = list(group.items())
    marks = [{"student": e.student, "question": "ex4", "group": gid, "points": 2, "comment": "index notation"}
             for e in ex4.entries]
    path = marks_file(tmp_path, marks)
    before = {r["key"]: (r["score"], r["max_score"]) for r in batch}
    assert apply_marks(batch, read_marks(path)) == len(ex4.entries)
    once = json.dumps(batch, sort_keys=True)
    for report in batch:
        if report["key"] in {e.student for e in ex4.entries}:
            check = next(c for c in report["checks"] if c.get("review") and c["review"]["question"] == "ex4")
            assert check["points"] == 2 and check["review"]["status"] == "marked"
            assert "marked by a TA, 2/3. index notation" in check["message"]
            assert (report["score"], report["max_score"]) == (before[report["key"]][0] + 2,
                                                              before[report["key"]][1] + 3)
    apply_marks(batch, read_marks(path))
    assert json.dumps(batch, sort_keys=True) == once


def test_a_mark_for_another_answer_is_not_applied(tmp_path):
    batch = reports(2)
    path = marks_file(tmp_path, [{"student": "1000", "question": "ex4c", "group": "an-older-answer", "points": 3}])
    assert apply_marks(batch, read_marks(path)) == 0
    assert any("another answer" in note for note in batch[0]["notes"])


@pytest.mark.parametrize("content, problem", [
    ("not json", "not a readable marks file"),
    (json.dumps({"marks": []}), "not a marks file"),
    (json.dumps({"kind": "hw3-review-marks", "marks": [{"student": "1", "question": "ex1", "points": -1}]}),
     "points must be a number of at least 0"),
    (json.dumps({"kind": "hw3-review-marks", "marks": [{"student": "1", "question": "ex1", "points": "3"}]}),
     "points must be a number"),
    (json.dumps({"kind": "hw3-review-marks", "marks": [{"question": "ex1", "points": 3}]}), "no student"),
])
def test_a_bad_marks_file_is_refused_with_the_reason(tmp_path, content, problem):
    path = tmp_path / "marks.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MarksError, match=problem):
        read_marks(path)


def test_points_above_the_maximum_are_capped():
    report = rescore({"key": "7", "checks": [{"target": "differentiation", "name": "ex1", "passed": False,
                                              "points": 0, "max_points": 3, "message": "",
                                              "review": {"question": "ex1", "group": "g", "status": "awaiting"}}]})
    assert (report["score"], report["max_score"], report["awaiting_review"]) == (0, 0, 3)
    apply_marks([report], {("7", "ex1"): {"points": 5.0, "group": "g", "comment": ""}})
    assert (report["score"], report["max_score"], report["awaiting_review"]) == (3, 3, 0)


REVIEW_ATTACKS = {"unclosed \\(": "\\(" * 33_000, "unclosed \\[": "\\[" * 33_000,
                  "unclosed environments": "\\begin{align}" * 8_000}


@pytest.mark.parametrize("attack", REVIEW_ATTACKS)
def test_a_review_page_shows_math_openings_without_their_closing_in_linear_time(attack):
    """A student's work of 33,000 '\\(' took 12 s to render for the review page (each opening scanned to the end of
    the text): now milliseconds, and the text is shown."""
    import time
    from grader.review.markdown import to_html
    started = time.monotonic()
    page = to_html(REVIEW_ATTACKS[attack] + " and $$x^T$$")
    assert time.monotonic() - started < 2 and "x^T" in page


def test_the_review_pages_math_is_what_the_regular_expressions_made_of_it():
    """The linear rewriting of Jupyter's math spellings gives the HTML the regular expressions it replaced gave, on
    random texts of every delimiter."""
    import random
    from grader.review import markdown
    env = re.compile(r"(?<!\$)(\\begin\{(equation|align|gather|multline|eqnarray)\*?\}.*?\\end\{\2\*?\})", re.DOTALL)
    display, inline = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]", re.DOTALL), re.compile(r"\\\((.+?)\\\)", re.DOTALL)

    def old(text):
        def shown(match):
            body = next(group for group in match.groups() if group is not None).strip()
            return "\n\n$$\n" + body + "\n$$\n\n" if body else ""
        text = env.sub(lambda m: "$$" + m.group(1) + "$$", text)
        text = display.sub(shown, text)
        return markdown._RENDER(inline.sub(lambda m: "$" + m.group(1).strip() + "$", text))

    tokens = ["$", "$$", "\\", "\\(", "\\)", "\\[", "\\]", "a", " ", "\n", "*", "}", "\\begin{equation}",
              "\\end{equation}", "\\begin{align*}", "\\end{align}", "\\end{align*}", "\\begin{gather}", "<b>", "x^T"]
    rng = random.Random(11)
    for _ in range(3000):
        text = "".join(rng.choice(tokens) for _ in range(rng.randint(0, 12)))
        assert markdown.to_html(text) == old(text), text
