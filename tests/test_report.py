"""What the grader writes for a TA (grader/report/writers.py, grader/report/summary.py), from hand-made reports (no kernels):
the platforms' gradebooks (rows, identifiers, one scale), the comment a student reads in Moodle, the terminal
table, the feedback of a submission without notebooks, the summary chart's statistics."""
import csv
import json

from grader.report.writers import feedback_markdown, summary_table, write_reports
from grader.report.summary import module_stats


def check(target, name, points, max_points):
    return {"target": target, "defined_as": target, "name": name, "passed": points == max_points,
            "points": points, "max_points": max_points, "message": "ok" if points == max_points else "wrong"}


def report(key, name, platform, score_checks, version="kit", errors=(), reason="it has the kit's own cells"):
    checks = [check(*c) for c in score_checks]
    return {"submission": name, "key": key, "platform": platform, "name": name, "version": version,
            "version_title": version, "version_reason": reason, "not_counted": [],
            "score": sum(c["points"] for c in checks), "max_score": sum(c["max_points"] for c in checks),
            "checks": checks, "errors": list(errors), "notes": [], "seconds": 1.0, "fast": True, "sandbox": True}


FULL = [("Linear", "forward output", 2, 2), ("Linear", "float32 stays float32", 1, 1), ("ReLU", "forward output", 2, 2)]
LINEAR_BUG = [("Linear", "forward output", 2, 2), ("Linear", "float32 stays float32", 0, 1), ("ReLU", "forward output", 2, 2)]
NOTHING = [("Linear", "forward output", 0, 2), ("Linear", "float32 stays float32", 0, 1), ("ReLU", "forward output", 0, 2)]


def test_each_platform_gradebook_holds_only_its_own_students(tmp_path):
    results = [report("1001", "smithalice", "canvas", FULL), report("2001", "Alice Smith", "moodle", FULL),
               report("bob", "/home/ta/downloads/bob", "folder", LINEAR_BUG)]
    results[2]["name"] = ""   # a plain folder has no platform name: the gradebooks show its key, not the TA's path
    written = write_reports(results, tmp_path / "grades.json")
    canvas = list(csv.reader(open(written["canvas"], encoding="utf-8")))
    assert [row[:2] for row in canvas[2:]] == [["smithalice", "1001"], ["bob", ""]]
    moodle = list(csv.DictReader(open(written["moodle"], encoding="utf-8")))
    assert [(row["Identifier"], row["Full name"]) for row in moodle] == [("Participant 2001", "Alice Smith"), ("", "bob")]


def test_platform_grades_put_every_version_on_one_scale_when_mixed_versions_are_allowed(tmp_path):
    """With every version on one scale (--scale-versions: scale=True), a perfect notebook of an older assignment version
    (a smaller maximum) is full marks in the gradebook."""
    old = report("1002", "olduser", "canvas", [("Linear", "forward output", 2, 2)], version="2017")
    half = report("1003", "half", "canvas", [("Linear", "forward output", 1, 2)], version="2017")
    results = [report("1001", "smithalice", "canvas", FULL), old, half]
    written = write_reports(results, tmp_path / "grades.json", lms="canvas", scale=True)
    rows = list(csv.reader(open(written["canvas"], encoding="utf-8")))
    assert rows[1][0].strip() == "Points Possible" and rows[1][5] == "5"
    assert {row[1]: row[5] for row in rows[2:]} == {"1001": "5", "1002": "5", "1003": "2.5"}
    for r in results:
        r["platform"] = "moodle"
    written = write_reports(results, tmp_path / "m.json", lms="moodle", scale=True)
    rows = list(csv.DictReader(open(written["moodle"], encoding="utf-8")))
    assert [(row["Grade"], row["Maximum Grade"]) for row in rows] == [("5", "5"), ("5", "5"), ("2.5", "5")]
    kit = list(csv.DictReader(open(tmp_path / "m.csv", encoding="utf-8")))
    assert [(row["score"], row["max_score"]) for row in kit] == [("5", "5"), ("2", "2"), ("1", "2")]   # as graded


def test_platform_grades_never_scale_a_smaller_maximum_up_by_default(tmp_path):
    """Unless the instructor asks for one scale (--scale-versions), a notebook whose maximum is smaller gets its points as graded, out of the
    batch's largest maximum: never full marks for part of the work."""
    small = report("1002", "olduser", "canvas", [("Linear", "forward output", 2, 2)], version="2017")
    results = [report("1001", "smithalice", "canvas", FULL), small]
    rows = list(csv.reader(open(write_reports(results, tmp_path / "g.json", lms="canvas")["canvas"], encoding="utf-8")))
    assert rows[1][5] == "5" and {row[1]: row[5] for row in rows[2:]} == {"1001": "5", "1002": "2"}
    for r in results:
        r["platform"] = "moodle"
    rows = list(csv.DictReader(open(write_reports(results, tmp_path / "m.json", lms="moodle")["moodle"],
                                    encoding="utf-8")))
    assert [(row["Grade"], row["Maximum Grade"]) for row in rows] == [("5", "5"), ("2", "5")]


def test_moodle_comment_is_self_contained(tmp_path):
    """The comment is what the student reads in Moodle: the score, the parts that lost points, the problems;
    never a file of the TA's machine."""
    results = [report("2001", "Alice Smith", "moodle", LINEAR_BUG, errors=["HW3_differentiation.ipynb not found"])]
    written = write_reports(results, tmp_path / "grades.json")
    [row] = csv.DictReader(open(written["moodle"], encoding="utf-8"))
    comment = row["Feedback comments"]
    assert comment.startswith("Score 4/5 (modules 4/5).") and "Points lost in: Linear 2/3." in comment
    assert "HW3_differentiation.ipynb not found" in comment
    assert "_feedback" not in comment and ".md" not in comment and str(tmp_path) not in comment


def test_terminal_table_tells_two_students_of_one_name_apart():
    table = summary_table([report("2005", "John Smith", "moodle", FULL), report("2006", "John Smith", "moodle", NOTHING),
                           report("alice", "/tmp/x/alice", "folder", FULL)])
    assert "John Smith (2005)" in table and "John Smith (2006)" in table
    assert "/tmp/x/alice " in table and "(alice)" not in table


def test_feedback_without_a_notebook_does_not_claim_a_version():
    result = report("2008", "Frank Ocean", "moodle", NOTHING, errors=["no notebook in the submission"],
                    reason="no readable HW3_Modules.ipynb")
    text = feedback_markdown(result)
    assert "Judged as written against" not in text and "no notebook in the submission" in text
    assert "Judged as written against" in feedback_markdown(report("2001", "Alice", "moodle", FULL))


def test_summary_counts_zeros_apart_from_the_most_failed_check():
    """Students who scored nothing on a module (no notebook, the untouched release) are counted as zeros; the most
    failed check is the one the others got wrong, which is what a TA wants to see."""
    results = [report(str(i), "n", "canvas", NOTHING) for i in range(3)] + [report("9", "bug", "canvas", LINEAR_BUG),
                                                                             report("8", "ok", "canvas", FULL)]
    stats = module_stats(results)
    assert stats["Linear"] == (0.2, "float32 stays float32", 1, 3)
    assert stats["ReLU"] == (0.4, "", 0, 3)
    json.dumps(stats)


def test_feedback_html_shows_messages_as_written():
    """A message or an error quoting the student's code or exception is text, not Markdown: no bold from
    __init__, no italics from a*b*c, no link from [x](url), no table broken by '|'; the grader's own `code` stays code."""
    from grader.report.writers import feedback_html
    message = "Linear.__init__(4, 3) raised: a*b*c | d; see [x](http://example.org) and <b>this</b>"
    result = report("1", "O*Brien", "canvas", [("Linear", "forward output", 0, 2)],
                    errors=["HW3_Modules.ipynb cell 3 (`print('*hi*')`): NameError: name '__x__' is not defined"])
    result["checks"][0]["message"] = message
    html = feedback_html(result)
    assert "<td>Linear.__init__(4, 3) raised: a*b*c | d; see [x](http://example.org) and &lt;b&gt;this&lt;/b&gt;</td>" in html
    assert "<code>print(&#x27;*hi*&#x27;)</code>" in html or "<code>print('*hi*')</code>" in html
    assert "name &#x27;__x__&#x27; is not defined" in html or "name '__x__' is not defined" in html
    assert "<h1>Feedback: O*Brien</h1>" in html and "<em>" not in html and "<a " not in html
    assert "HW3_Modules.ipynb" in feedback_markdown(result)   # a lone '_' in a word is left as written


def test_as_handed_in_renames_only_the_notebook_a_message_is_about():
    from grader.report.report import as_handed_in
    names = {"HW3_Modules.ipynb": "HW3_Modules (1).ipynb", "HW3_main.ipynb": "main_Ivanov.ipynb"}
    assert as_handed_in("HW3_Modules.ipynb cell 4 (`1/0`): ZeroDivisionError", names) == \
        "HW3_Modules (1).ipynb cell 4 (`1/0`): ZeroDivisionError"
    assert as_handed_in("integrity: HW3_Modules.ipynb cell 2 (`x`) reads", names) == \
        "integrity: HW3_Modules (1).ipynb cell 2 (`x`) reads"
    assert as_handed_in("HW3_main.ipynb: the kernel died", names) == "main_Ivanov.ipynb: the kernel died"
    assert as_handed_in("HW3_main.ipynb cell 1: `%run HW3_Modules.ipynb`: no such file", names) == \
        "main_Ivanov.ipynb cell 1: `%run HW3_Modules.ipynb`: no such file"     # the quoted code stays as written
    for untouched in ("HW3_differentiation.ipynb not found in the submission", "HW3_Modules.ipynbx cell 1",
                      "the modules notebook handed in (graded as HW3_Modules.ipynb) instead", None):
        assert as_handed_in(untouched, names) == untouched
    assert as_handed_in("HW3_Modules.ipynb cell 4", {}) == "HW3_Modules.ipynb cell 4"


def test_platform_grades_stay_empty_while_answers_await_a_tas_review_and_appear_once_marked(tmp_path):
    """A derivation awaiting review (3 points, in neither score nor maximum): a grade of 5 out of the assignment's 8
    would count those 3 points as 0 in Canvas and Moodle, so the cell stays empty (an upload changes nothing for the
    student) and Moodle's Status says why; once the TA's mark is merged the grade is written."""
    def waiting(key, platform, status="awaiting", mark=None):
        r = report(key, f"s{key}", platform, FULL)
        review = {"question": "derivation-ex4", "group": "g1", "status": status}
        r["checks"].append(dict(check("differentiation", "ex4: answer", mark or 0, 3), review=review))
        r["awaiting_review"] = 3 if status == "awaiting" else 0
        r["score"], r["max_score"] = (5, 5) if status == "awaiting" else (5 + mark, 8)
        return r
    full = report("1001", "full", "canvas", FULL + [("differentiation", "ex4: answer", 3, 3)])
    results = [full, waiting("1002", "canvas"), waiting("1003", "canvas", "marked", 2)]
    written = write_reports(results, tmp_path / "grades.json", lms="canvas")
    rows = list(csv.reader(open(written["canvas"], encoding="utf-8")))
    assert rows[1][5] == "8" and {row[1]: row[5] for row in rows[2:]} == {"1001": "8", "1002": "", "1003": "7"}
    for r in results:
        r["platform"] = "moodle"
    written = write_reports(results, tmp_path / "m.json", lms="moodle")
    rows = {row["Identifier"]: row for row in csv.DictReader(open(written["moodle"], encoding="utf-8"))}
    pending = rows["Participant 1002"]
    assert (pending["Grade"], pending["Last modified (grade)"], pending["Feedback comments"]) == ("", "", "")
    assert pending["Status"] == "awaiting a TA's review (3 points): ex4: answer"
    assert rows["Participant 1003"]["Grade"] == "7" and rows["Participant 1003"]["Status"] == ""
    assert "1 submission(s) have answers awaiting a TA's review (3 points in all" in summary_table(results)
