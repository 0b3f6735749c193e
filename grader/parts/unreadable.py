"""A handed-in notebook the grader cannot read: never a 0, a TA's to judge.

grader/intake/notebooks.py refuses a file that is not a notebook at all (binary data under a notebook's name, cut-off
JSON, contents that are not a notebook's, an empty file, a saved web page); grader/execution/workcopy.py keeps what
it found (:class:`grader.execution.workcopy.Unreadable`). The grader cannot judge such a notebook, so its checks
become one check awaiting a TA's review (the `review` object of grader/parts/awaiting.py), worth the notebook's
maximum for the version the submission is judged by: outside the automatic score and maximum until a TA's mark is
merged (``--marks``, grader/review/marks.py), which then counts up to that maximum. A deliberately corrupted notebook
therefore only moves its own points to a TA; it raises no automatic score or maximum. A notebook that was not handed
in at all stays 0 ("not found"): that much is judged.

The kit's main notebook runs the modules notebook (``%run HW3_Modules.ipynb``): beside an unreadable one it cannot
run, so it cannot be judged either, and its points await the TA too (:func:`needing`), instead of the 0 its failed
``%run`` would give. A course version's main notebook is read from its saved outputs and needs nothing.

The review item (one per unreadable notebook) names the file, says what is wrong and what to do, and shows the start
of the file's text in a code block (the review page renders it escaped: no markup of the file ever runs).
"""
import re
from pathlib import Path

import pytest

from grader import DIFFERENTIATION, MAIN, MODULES
from grader.execution.workcopy import Unreadable
from grader.intake.discover import shown
from grader.parts.awaiting import review_object
from grader.parts.course import ReviewResult
from grader.parts.graded import CheckItem, GradedNotebook

TARGETS = {MODULES: "modules", DIFFERENTIATION: "differentiation", MAIN: "main notebook"}
QUESTION = "unreadable-"   # the review question of an unreadable notebook: QUESTION + its stem (+ the version)


def check_name(notebook, info=None):
    if info is not None and info.needs:
        return f"{notebook} could not run: {info.needs} {_needed_problem(info)}"
    if info is not None and info.ambiguous:
        return f"{notebook}: several different files could be it"
    if info is not None and info.kind == "elsewhere":
        return f"{notebook} not handed in: the framework is in another notebook"
    if info is not None and info.kind == "sealed":
        return f"{notebook} not found: the submission holds an archive the grader cannot open"
    return f"{notebook} could not be read"


def row(notebook, rows, info=None):
    """The one (id, target, name, max points) row that stands for an unreadable notebook's `rows`."""
    target, name = TARGETS[notebook], check_name(notebook, info)
    return (f"{target}: {name}", target, name, round(sum(r[3] for r in rows), 2))


def _needed_problem(info):
    """What is wrong with the notebook a dependent notebook (`info.needs`) runs: its kind is the needed one's."""
    return "was handed in twice over" if info.ambiguous else "could not be read"


def needing(source, needed):
    """The Unreadable that stands for the kit's main notebook (handed in as the file `source`, readable), which runs
    the unreadable modules notebook `needed` (an Unreadable) and so cannot run: its points await the TA too."""
    return Unreadable(file=shown(source), name=shown(Path(source).name), needs=MODULES,
                      why=f"it runs {MODULES} (%run), and {needed.why}" if needed.ambiguous else
                      f"it runs {needed.name} (%run), which could not be read ({needed.why})",
                      todo=f"grade it again once one of {needed.name} is kept" if needed.ambiguous else
                      f"grade it together with {needed.name} once the student hands in a readable one",
                      excerpt="", digest=f"needs:{needed.digest}", kind=needed.kind)


def question_of(notebook, variant):
    """The review question: one page per notebook and rubric (`variant`: the modules' version, or "kit"/"course"
    for the other notebooks), so that the students of one page share one maximum."""
    return QUESTION + notebook.removesuffix(".ipynb") + ("" if variant == "kit" else f"-{variant}")


def _fenced(text):
    """`text` as a Markdown code block whose fence no backtick run of the text can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def result(notebook, info, max_points, variant):
    """The awaiting check (a ReviewResult) of an unreadable notebook; `info` a workcopy.Unreadable."""
    if info.needs:
        title = f"{notebook}: not run, since {info.needs} {_needed_problem(info)}"
        work = _fenced(f"file: {info.file}\nproblem: {info.why}\nwhat to do: {info.todo}")
        message = (f"{info.name} was not run: {info.why}. Its {max_points:g} points await a TA's review, in neither "
                   "the score nor the maximum")
    elif info.kind == "elsewhere":
        title = f"{notebook}: not handed in, the framework's classes are in {info.file}"
        work = _fenced(f"file: {info.file}\nproblem: {info.why}\nwhat to do: {info.todo}")
        message = (f"{info.why}: the grader checks the modules only in {notebook}, so its {max_points:g} points await "
                   "a TA's review, in neither the score nor the maximum")
    elif info.ambiguous:
        title = f"{notebook}: several different files handed in could be it"
        work = _fenced(f"files: {info.file}\nproblem: {info.why}\nwhat to do: {info.todo}")
        message = (f"{info.why} ({info.file}): neither was graded (the grader never picks one); its {max_points:g} "
                   "points await a TA's review, in neither the score nor the maximum")
    else:
        title = f"{notebook}: the file handed in could not be read"
        work = _fenced(f"file: {info.file}\nproblem: {info.why}\nwhat to do: {info.todo}\n\n"
                       f"the start of the file, as text:\n\n{info.excerpt or '(nothing)'}")
        message = (f"{info.name} could not be read ({info.why}): its {max_points:g} points await a TA's review, in "
                   "neither the score nor the maximum until a TA has looked at the file")
    review = review_object(question_of(notebook, variant), title, ("unreadable", notebook, info.digest),
                           f"{info.file}: {info.why}; {info.todo}", work=work)
    return ReviewResult(TARGETS[notebook], check_name(notebook, info), False, 0, max_points, message, review=review)


def error_line(info, graded):
    """The report's line for an unreadable notebook; `graded`: it is part of what this run grades (not a main notebook
    under --fast, nor a notebook the submission's assignment version does not have)."""
    what = (f"not run: {info.why}" if info.needs else f"{info.why}, neither graded" if info.ambiguous else
            f"{info.why}, not graded automatically" if info.kind in ("elsewhere", "sealed") else
            f"not a valid Jupyter notebook ({info.why})")
    return (f"{info.file}: {what}; " + ("its points await a TA's review" if graded else "not graded in this run")
            + f"; {info.todo}")


def awaiting_unreadable(report):
    """The checks of a report dict that stand for an unreadable notebook and still await a TA."""
    return [c for c in report.get("checks", []) if isinstance(c.get("review"), dict)
            and str(c["review"].get("question", "")).startswith(QUESTION)
            and c["review"].get("status", "awaiting") == "awaiting"]


class UnreadablePart(GradedNotebook):
    """The part of an unreadable notebook: no cell, no kernel; one item, awaiting a TA (a skip in pytest's terms)."""

    def cells(self):
        return []

    def check_items(self):
        name = self.name_in_report
        info = self.state.unreadable().get(name)
        yield UnreadableCheck.from_parent(self, name=check_name(name, info), target=TARGETS[name],
                                          check_name=check_name(name, info), points=0)


class UnreadableCheck(CheckItem):
    def runtest(self):
        state = self.parent.state
        outcome = state.unreadable_result(self.parent.name_in_report)
        state.record(outcome)
        self.user_properties += [("points", 0), ("max_points", outcome.max_points), ("awaits_review", 1)]
        pytest.skip(f"awaits a TA's review: {outcome.message}")
