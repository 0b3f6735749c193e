"""A failure is never a grade (grader/execution/failures.py): a submission the grader could not grade gets a report
that says "not graded", why and what to do; the kit's CSV says so, the Canvas and Moodle gradebooks leave its grade
empty and the summary lists it; --resume grades it again; the first submissions of a batch all failing one way stop
the batch with what to fix. The batch runs on an in-process Dask cluster with the grading task replaced by one that
fails as the grader would (an exception), so no kernel runs; the command line's side (a cluster that cannot load
the grader, exit statuses) is in tests/test_grader_cluster.py."""
import csv
import json

import pytest

from grader.execution import cluster
from grader.execution.batch import BatchAborted, Journal, grade_batch
from grader.execution.failures import CANNOT_LOAD, FirstFailures, cause, grader_error
from grader.execution.session import identity_of
from grader.intake.discover import discover
from grader.options import Options
from grader.report.report import Report
from grader.report.writers import feedback_markdown, summary_table, write_reports

OPTIONS = Options(fast=True)


def graded_report(submission, score=7.0):
    return Report(**identity_of(submission), score=score, max_score=10.0, fast=True).as_dict()


def failing_report(submission, exc):
    from grader.execution.batch import grader_failure
    return grader_failure(submission, exc, OPTIONS)


@pytest.fixture
def students(tmp_path):
    """Five plain-folder submissions, each with a notebook file (never run here)."""
    for name in ("ann", "bob", "cid", "dan", "eve"):
        (tmp_path / "in" / name).mkdir(parents=True)
        (tmp_path / "in" / name / "HW3_Modules.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, '
                                                                   '"nbformat_minor": 5}')
    return discover(sorted((tmp_path / "in").iterdir()))


@pytest.fixture(scope="module")
def client():
    from distributed import Client
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as c:
        yield c


def grading_that(monkeypatch, fails):
    """The cluster's task replaced: `fails(key)` returns an exception to raise, or None to give a graded report."""
    def grade_remote(payload, options, kit, runs_name, seed=None):
        exc = fails(payload.submission.key)
        if exc is not None:
            raise exc
        return graded_report(payload.submission)
    monkeypatch.setattr(cluster, "grade_remote", grade_remote)


# -- the reason and its cause

def test_an_exception_in_the_grader_is_not_graded_with_what_to_do(students):
    report = failing_report(students[0], KeyError("probe"))
    assert report["graded"] is False and report["checks"] == []
    assert report["errors"][0].startswith("not graded: the grader failed on this submission (KeyError: 'probe')")
    assert "--resume" in report["errors"][0] and "not the student's" in report["errors"][0]


def test_a_cluster_that_cannot_load_the_grader_says_how_to_start_it():
    reason = grader_error(RuntimeError("Error during deserialization of the task graph. This frequently occurs if "
                                       "the Scheduler and Client have different environments."))
    assert reason.startswith(CANNOT_LOAD.split("(")[0]) and "make setup" in reason and ".venv" in reason
    assert grader_error(ModuleNotFoundError("No module named 'grader'")).startswith(CANNOT_LOAD.split("(")[0])


def test_one_failure_on_two_submissions_has_one_cause(students):
    a, b = (failing_report(s, OSError(f"[Errno 28] No space left: '/tmp/hw3-task-{s.key}/copy'")) for s in students[:2])
    assert cause(a) == cause(b)
    assert cause(a) != cause(failing_report(students[0], KeyError("probe")))


# -- the first submissions of a batch

def test_the_first_three_not_graded_the_same_way_stop_the_batch(students):
    watch = FirstFailures(total=5)
    reports = [failing_report(s, RuntimeError("Error during deserialization of the task graph")) for s in students]
    assert watch.add(reports[0]) is None and watch.add(reports[1]) is None
    stop = watch.add(reports[2])
    assert stop.startswith("stopped after the first 3 submissions") and "make setup" in stop and "--resume" in stop


def test_different_failures_or_a_grade_among_the_first_do_not_stop_it(students):
    watch = FirstFailures(total=5)
    assert [watch.add(r) for r in (failing_report(students[0], KeyError("a")), graded_report(students[1]),
                                   failing_report(students[2], KeyError("a")))] == [None] * 3
    watch = FirstFailures(total=5)
    assert [watch.add(r) for r in (failing_report(students[0], KeyError("a")), failing_report(students[1], OSError("b")),
                                   failing_report(students[2], KeyError("a")))] == [None] * 3
    watch = FirstFailures(total=3)   # nothing left to spare: the batch ends as it is, its reports not graded
    assert [watch.add(failing_report(s, KeyError("a"))) for s in students[:3]] == [None] * 3


# -- a batch

def test_a_batch_keeps_grading_past_one_failure_and_writes_no_grade_for_it(students, client, monkeypatch, tmp_path):
    grading_that(monkeypatch, lambda key: ValueError("a bug") if key == "bob" else None)
    out = tmp_path / "out" / "grades.json"
    reports = grade_batch(client, students, OPTIONS, json_path=out, write=lambda rs: write_reports(rs, out, lms="canvas"))
    assert [r["graded"] for r in reports] == [True, False, True, True, True]
    kit = list(csv.DictReader(open(out.with_suffix(".csv"), encoding="utf-8")))
    assert [(row["key"], row["score"], row["max_score"]) for row in kit] == [
        ("ann", "7.0", "10.0"), ("bob", "not graded", ""), ("cid", "7.0", "10.0"), ("dan", "7.0", "10.0"),
        ("eve", "7.0", "10.0")]
    canvas = list(csv.reader(open(out.with_name("grades_canvas.csv"), encoding="utf-8")))
    assert canvas[1][5] == "10" and [row[0::5] for row in canvas[2:]] == [
        ["ann", "7"], ["bob", ""], ["cid", "7"], ["dan", "7"], ["eve", "7"]]
    table = summary_table(reports)
    assert "NOT GRADED (1" in table and "bob: not graded: the grader failed on this submission (ValueError: a bug)" in table
    assert "Not graded yet" in feedback_markdown(reports[1]) and "Score" not in feedback_markdown(reports[1])


def test_moodle_gets_no_grade_no_date_and_no_comment_for_a_submission_not_graded(students, tmp_path):
    reports = [graded_report(students[0]), failing_report(students[1], ValueError("a bug"))]
    for r in reports:
        r["platform"] = "moodle"
    written = write_reports(reports, tmp_path / "grades.json", lms="moodle")
    rows = list(csv.DictReader(open(written["moodle"], encoding="utf-8")))
    assert (rows[0]["Grade"], rows[0]["Maximum Grade"]) == ("7", "10") and rows[0]["Feedback comments"]
    assert (rows[1]["Grade"], rows[1]["Last modified (grade)"], rows[1]["Feedback comments"]) == ("", "", "")


def test_first_submissions_failing_alike_stop_the_batch_before_the_rest(students, client, monkeypatch, tmp_path):
    tried = []
    grading_that(monkeypatch, lambda key: tried.append(key) or RuntimeError("Error during deserialization of the "
                                                                            "task graph"))
    out = tmp_path / "grades.json"
    written = []
    with pytest.raises(BatchAborted, match="stopped after the first 3 submissions") as stop:
        grade_batch(client, students, OPTIONS, json_path=out, write=written.append)
    assert "could not load the grader" in str(stop.value) and "make setup" in str(stop.value)
    assert len(written[-1]) == 3 and all(r["graded"] is False for r in written[-1])   # no zeros, no grades


def test_resume_grades_again_what_was_not_graded(students, client, monkeypatch, tmp_path, capsys):
    out = tmp_path / "grades.json"
    grading_that(monkeypatch, lambda key: ValueError("a bug") if key in ("bob", "dan") else None)
    grade_batch(client, students, OPTIONS, json_path=out)
    journal = Journal(out.with_suffix(".jsonl"), cluster.kit_fingerprint(), OPTIONS.as_dict())
    assert sorted(journal.load()[0]) == ["ann", "cid", "eve"]
    grading_that(monkeypatch, lambda key: None)   # the bug fixed
    reports = grade_batch(client, students, OPTIONS, json_path=out, resume=True)
    assert all(r["graded"] for r in reports)
    lines = [json.loads(line) for line in out.with_suffix(".jsonl").read_text().splitlines()]
    assert len(lines) == 7 and sorted(line["key"] for line in lines[5:]) == ["bob", "dan"]   # only those again
    assert "--resume: 3 of 5 already graded" in capsys.readouterr().out


def graded_reference(tmp_path, beside=None):
    """The report of the kit's reference modules notebook (with the files `beside`, {name: text}) graded in this
    process (--fast)."""
    import shutil
    from conftest import ROOT
    from grader.execution.session import grade_submission
    (tmp_path / "s").mkdir()
    shutil.copy(ROOT / "HW3_Modules.ipynb", tmp_path / "s")
    for name, text in (beside or {}).items():
        (tmp_path / "s" / name).write_text(text)
    return grade_submission(tmp_path / "s", Options(fast=True, timeout=30))


def test_a_check_the_grader_fails_to_judge_makes_the_report_not_graded(tmp_path, monkeypatch):
    """A judge that raises (the grader's bug) would cost the student that check's points: the other checks still run,
    and the report is not graded, naming the check."""
    from grader.parts.modules import ModuleCheck
    judge = ModuleCheck.verdict

    def verdict(self):
        if self.target == "Sigmoid":
            raise ZeroDivisionError("a bug in a judge")
        return judge(self)
    monkeypatch.setattr(ModuleCheck, "verdict", verdict)
    report = graded_reference(tmp_path)
    assert report["graded"] is False and report["checks"] == []
    assert report["errors"][0].startswith("not graded: the grader failed on this submission (Sigmoid: ")
    assert "ZeroDivisionError: a bug in a judge" in report["errors"][0]


def test_a_worker_that_refuses_a_task_leaves_it_not_graded_and_stops(students, client, monkeypatch, tmp_path):
    """A worker that joins after the batch's check and runs another kit refuses its first task: that submission
    is reported not graded with the refusal (what to do), and the batch stops (grader/execution/cluster.py)."""
    def grade_remote(payload, options, kit, runs_name, seed=None):
        raise cluster.WorkerRefused("the worker tcp://127.0.0.1:1 (host:/elsewhere) runs another kit than this client: "
                                    "check out the same commit of the kit there, run make setup, and restart that worker")
    monkeypatch.setattr(cluster, "grade_remote", grade_remote)
    out = tmp_path / "grades.json"
    written = []
    with pytest.raises(BatchAborted, match="refusing to grade: the worker tcp://127.0.0.1:1"):
        grade_batch(client, students[:1], OPTIONS, json_path=out, write=written.append)
    (report,) = written[-1]
    assert report["graded"] is False and report["errors"][0].startswith("not graded: a worker refused to grade it")
    assert "make setup" in report["errors"][0]


def test_a_cell_the_grader_fails_to_run_makes_the_report_not_graded(tmp_path, monkeypatch):
    """The grader raising while it runs a cell (as it did on a kernel message of the wrong shape) failed that cell's
    item silently: what the cell defines was missing and the report graded, the student's score lower for the
    grader's own failure. It is not graded, naming the cell."""
    from grader.parts.graded import GradedNotebook
    run_cell = GradedNotebook.run_cell

    def failing(self, item, source, timeout):
        if "class Sigmoid" in source:
            raise TypeError("a bug while reading the kernel's output")
        return run_cell(self, item, source, timeout)
    monkeypatch.setattr(GradedNotebook, "run_cell", failing)
    report = graded_reference(tmp_path)
    assert report["graded"] is False and report["checks"] == []
    assert report["errors"][0].startswith("not graded: the grader failed on this submission (HW3_Modules.ipynb cell ")
    assert "TypeError: a bug while reading the kernel's output" in report["errors"][0]


def test_a_kernel_that_cannot_start_is_not_graded_and_names_a_file_that_shadows_a_module(tmp_path):
    """A helper file named like a module the kernel imports as it starts (logging.py beside the notebook): the kernel
    dies before it answers, and every check of the notebook scored 0, graded (0/207). It is not graded, the reason
    naming the file and what to do."""
    report = graded_reference(tmp_path, {"logging.py": "level = 1\n"})
    assert report["graded"] is False and report["checks"] == []
    reason = report["errors"][0]
    assert reason.startswith("not graded: HW3_Modules.ipynb: the notebook's kernel could not start") and \
        "the submission's logging.py has the name of a Python module the kernel imports" in reason, reason
