"""The course's own differentiation and main notebooks, each judged by its own version: read, never run.

* a course differentiation notebook (`homework_differentiation.ipynb`: LaTeX answers, no answer functions): the
  course's five questions judged from the LaTeX (:mod:`grader.parts.derivations`), 3 points each; the kit's ex4b
  and ex5 are not asked of it;
* a course main notebook (`HW3_main.ipynb` 2017, `homework_main.ipynb` 2018, `homework_main-basic.ipynb` /
  `-advanced.ipynb` 2019-21): graded from its saved outputs (:mod:`grader.parts.main_outputs`), 7 points read
  automatically, its opinion (1) read by a TA.

Which notebooks are the course's (:func:`course_notebooks`) follows the assignment version the modules are judged
by: `--profile` a course version: both are; `--profile kit`: neither; `auto` (the default): the differentiation
notebook as its text says, the main notebook likewise unless the modules are the kit's (see course_notebooks).

A check the judge cannot decide awaits a TA's review (its `review` object, grader/parts/awaiting.py): its points stay
outside the automatic score and maximum until the TA's marks are merged (`--marks`). No kernel starts for these
notebooks; the kit's own notebooks keep being executed (differentiation.py, main_notebook.py).
"""
from pathlib import Path

import pytest

from grader import MODULES
from grader.parts import main_outputs
from grader.parts.awaiting import ReviewResult   # (also imported from here)
from grader.intake import templates as template
from grader.parts.derivations import judge_notebook
from grader.parts.derivations.checks import TARGET as DIFF_TARGET, checks_of
from grader.parts.derivations.questions import QUESTIONS
from grader.parts.differentiation import NOTEBOOK as DIFFERENTIATION
from grader.parts.graded import CheckItem, GradedNotebook
from grader.parts.main_notebook import NOTEBOOK as MAIN


def course_notebooks(prepared, profile, modules_version=None):
    """{kit notebook name: "differentiation" | "main"} for the submission's notebooks judged as the course's.

    `modules_version`: the version its modules notebook is judged by. Read off each notebook (`profile` auto), a
    main notebook is the course's only beside course-version modules, or, without a modules notebook, when its
    own title or file name is a course version's: its points are read from saved outputs the student could have
    typed, while the kit's main notebook is run and its figures recomputed (grader/parts/main_evidence.py), so a
    kit submission cannot trade the run for a course-looking or unmarked notebook. A differentiation notebook's
    LaTeX is judged by the grader's own algebra either way, so its text decides.
    """
    if prepared is None or profile == "kit":
        return {}
    found = {}
    diff, main = prepared.notebooks.get(DIFFERENTIATION), prepared.notebooks.get(MAIN)
    detect = profile in (None, "auto")
    if diff is not None and (not detect or template.version(template.cells_of(diff)) != "kit"):
        found[DIFFERENTIATION] = "differentiation"
    if main is not None and (not detect or _course_main(prepared, main, modules_version)):
        found[MAIN] = "main"
    # A notebook handed in but unreadable tells nothing itself: it follows the modules' version (its points await a
    # TA, grader/parts/unreadable.py, out of the maximum of the rubric it would have been graded by).
    unreadable = getattr(prepared, "unreadable", None) or {}
    if DIFFERENTIATION in unreadable and (not detect or modules_version not in (None, "kit")):
        found[DIFFERENTIATION] = "differentiation"
    if MAIN in unreadable and (not detect or _course_main(prepared, {"cells": []}, modules_version)):
        found[MAIN] = "main"
    return found


def _course_main(prepared, main, modules_version):
    if main_outputs.is_kit(main):
        return False
    if prepared.notebooks.get(MODULES) is not None:
        return modules_version not in (None, "kit")
    files = getattr(getattr(prepared, "submission", None), "files", None) or {}
    return main_outputs.is_course(main, Path(str(files.get(MAIN, MAIN))).name)


def expected_rows(kind):
    """(id, target, name, max points) of a course notebook's rows."""
    if kind == "differentiation":
        return [(f"{DIFF_TARGET}: {q.title}", DIFF_TARGET, q.title, q.points) for q in QUESTIONS]
    return [(f"{main_outputs.TARGET}: {title}", main_outputs.TARGET, title, points)
            for _, title, points in main_outputs.ROWS]


class CourseNotebook(GradedNotebook):
    """No cell runs: the checks come from reading the notebook (`checks()` of the subclass)."""

    def cells(self):
        return []

    def source_name(self):
        """The file's own name (homework_main-basic.ipynb), which names the main notebook's track."""
        submission = getattr(self.state.prepared, "submission", None)
        files = getattr(submission, "files", None) or {}
        return Path(str(files.get(self.name_in_report, self.name_in_report))).name

    def check_items(self):
        if self.nb is None:
            return
        for check in self.checks():
            yield CourseCheck.from_parent(self, name=check["name"], target=check["target"], check_name=check["name"],
                                          points=check["max_points"], check=check)


class CourseDifferentiation(CourseNotebook):
    notebook = DIFFERENTIATION

    def checks(self):
        version, verdicts = judge_notebook(self.nb)
        self.state.notes.append(f"{self.source_name()}: the course's differentiation notebook ({version}), judged "
                                "from its answers in LaTeX")
        return checks_of(verdicts)


class CourseMain(CourseNotebook):
    notebook = MAIN

    def checks(self):
        version, checks = main_outputs.checks(self.nb, self.source_name())
        self.state.notes.append(f"{self.source_name()}: the course's main notebook ({version}), graded from its "
                                "saved outputs (not run again)")
        return checks


PARTS = {"differentiation": CourseDifferentiation, "main": CourseMain}


class CourseCheck(CheckItem):
    def __init__(self, *args, check, **kwargs):
        super().__init__(*args, **kwargs)
        self.check = check

    def verdict(self):
        c = self.check
        return ReviewResult(c["target"], c["name"], bool(c["passed"]), c["points"], c["max_points"], c["message"],
                            review=c.get("review"))

    def runtest(self):
        if self.check.get("review"):     # neither passed nor failed: a TA decides (a skip in pytest's terms)
            self.parent.state.record(self.verdict())
            self.user_properties += [("points", 0), ("max_points", self.check["max_points"]), ("awaits_review", 1)]
            pytest.skip(f"awaits a TA's review: {self.check['review']['reason']}")
        super().runtest()
