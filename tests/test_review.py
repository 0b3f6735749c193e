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
