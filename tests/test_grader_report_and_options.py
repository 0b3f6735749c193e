"""The report every path makes (grader/report/report.py) and the grading options (grader/options.py), without kernels.

One Report type: a grading's report, and Report.ungraded(reason) for a submission that was not graded (the grader
failed on it, or it stopped two machines of a cluster), which never passes for a grade of the student's work. One
Options object: each default written once, the same names at both front doors, and back from pytest's arguments.
"""
import argparse

import pytest

from grader import selfcheck as C
from grader.options import TIMEOUT, Options, add_arguments, refusal
from grader.parts import differentiation, main_notebook
from grader.report.report import Grading, Report

WHO = {"submission": "downloads/alice", "key": "1001", "platform": "canvas", "name": "Alice"}
KIT_MAX = sum(c.points for c in C.CHECKS) + sum(p for p in (differentiation.CHECK_CELL_POINTS,
                                                              differentiation.NUMERIC_POINTS)) * len(differentiation.EXERCISES)


def test_an_ungraded_report_holds_the_reason_and_no_grade():
    report = Report.ungraded(WHO, "the grader failed on this submission (RuntimeError: x); please report it",
                             Options(fast=True), notes=["HW3_Modules (1).ipynb graded as HW3_Modules.ipynb"])
    out = report.as_dict()
    assert out["graded"] is False and out["score"] == 0 and out["max_score"] == 0 and out["checks"] == []
    assert out["errors"] == ["the grader failed on this submission (RuntimeError: x); please report it"]
    assert out["notes"] == ["HW3_Modules (1).ipynb graded as HW3_Modules.ipynb"]
    assert {k: out[k] for k in WHO} == WHO and out["sandbox"] is True and out["version"] is None


def test_an_ungraded_report_with_its_rubric_lists_every_check_failed_with_the_reason():
    report = Report.ungraded(WHO, "not graded: it stopped two machines", Options(fast=True), rubric=True).as_dict()
    assert report["graded"] is False and report["score"] == 0
    assert report["max_score"] == KIT_MAX       # --fast: modules and differentiation, no main notebook
    assert {c["message"] for c in report["checks"]} == {"not graded: it stopped two machines"}
    assert not any(c["passed"] for c in report["checks"])
    full = Report.ungraded(WHO, "x", Options(), rubric=True).as_dict()
    assert full["max_score"] == KIT_MAX + sum(points for _, points in main_notebook.RUBRIC)


def test_a_grading_reports_every_expected_check_and_marks_the_unrun():
    grading = Grading(WHO, Options(fast=True, sandbox=False))
    assert grading.parts() == ["HW3_Modules.ipynb", "HW3_differentiation.ipynb"]
    check = C.CHECKS[0]
    grading.record(C.Result(check.target, check.name, True, check.points, check.points, "ok"))
    report = grading.report().as_dict()
    assert report["graded"] is True and report["sandbox"] is False and report["fast"] is True
    assert report["score"] == check.points and report["max_score"] == KIT_MAX
    assert sum(c["message"] == "not run (see errors)" for c in report["checks"]) == len(report["checks"]) - 1


def test_each_option_has_one_default_and_comes_back_from_the_command_line():
    parser = argparse.ArgumentParser()
    add_arguments(parser.add_argument)
    defaults = parser.parse_args([])
    assert Options.from_namespace(defaults) == Options() and Options().timeout == TIMEOUT
    chosen = Options(timeout=12.5, fast=True, sandbox=False, profile="2018")
    assert Options.from_namespace(parser.parse_args(chosen.pytest_args())) == chosen
    assert chosen.kernel_name == "python3" and Options().kernel_name == "hw3-sandbox"


def test_the_pytest_door_takes_the_earlier_spellings_as_aliases():
    parser = argparse.ArgumentParser()
    add_arguments(parser.add_argument, aliases=True)
    old = parser.parse_args(["--hw3-timeout", "7", "--hw3-fast", "--hw3-no-sandbox", "--hw3-profile", "2017",
                             "--hw3-json", "out.json"])
    assert Options.from_namespace(old) == Options(timeout=7, fast=True, sandbox=False, profile="2017")
    assert old.json == "out.json"


@pytest.mark.parametrize("bad", [dict(timeout=0), dict(timeout=-1), dict(profile="1999")])
def test_options_refuse_what_cannot_grade(bad):
    with pytest.raises(ValueError):
        Options(**bad)


def test_the_sandbox_refusal_says_what_to_do():
    text = refusal("bubblewrap (`bwrap`) is not installed")
    assert text.startswith("cannot grade in a sandbox: bubblewrap") and "--no-sandbox" in text
