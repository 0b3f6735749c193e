"""The report of one submission, the one type every path that yields a report makes, graded or not.

* :class:`Grading`: what one submission's grading found, filled in by the parts as their items run
  (grader/plugin.py makes one per submission); :meth:`Grading.report` makes its :class:`Report`.
* :meth:`Report.ungraded`: a submission that was not graded (the grader failed on it, or it stopped two
  machines of the cluster), with the reason as its one error; never a grade of the student's work.

A report travels as a dict (:meth:`Report.as_dict`: through Dask, into the journal, to the writers); the JSON
written for a TA holds only its documented keys (grader/report/writers.py, ``JSON_KEYS``).
"""
import re
import time
from dataclasses import dataclass, field

from grader import selfcheck as C
from grader.execution.clock import Clock
from grader.execution.workcopy import Prepared
from grader import NOTEBOOKS
from grader.options import Options
from grader.parts import course, differentiation, main_notebook, unreadable
from grader.parts.modules import MODULES, modules_version
from grader.selfcheck.messages import optional_not_counted

NOT_RUN = "not run (see errors)"


def awaiting(check):
    """A check (dict) whose points a TA has yet to mark (grader/parts/awaiting.py)."""
    review = check.get("review")
    return isinstance(review, dict) and review.get("status", "awaiting") == "awaiting"


def totals(checks):
    """(score, max_score, awaiting_review) of check dicts: the points awaiting a TA's review are in neither score
    nor max_score (a submission is never a lower percentage for handing in work that a TA has yet to read)."""
    score = sum(c.get("points") or 0 for c in checks if not awaiting(c))
    max_score = sum(c.get("max_points") or 0 for c in checks if not awaiting(c))
    pending = sum(c.get("max_points") or 0 for c in checks if awaiting(c))
    return round(score, 2), round(max_score, 2), round(pending, 2)


def as_handed_in(text, handed_in_as):
    """`text` (an error line or a check's message) with the kit's notebook name it is about, the name that begins it
    (after "integrity: "), replaced by the name the student handed that notebook in as: a student who handed in
    ``HW3_Modules (1).ipynb`` reads the cells of ``HW3_Modules (1).ipynb``. A name further in (a quoted `%run`, "graded
    as HW3_Modules.ipynb") is left as written."""
    if not isinstance(text, str):
        return text
    for kit, name in handed_in_as.items():
        text = re.sub(rf"^((?:integrity: )?){re.escape(kit)}(?=[ :,]|$)", lambda m: m.group(1) + name, text, count=1)
    return text


@dataclass
class Report:
    """One submission's report. `checks` are Result dicts (target, defined_as, name, passed, points, max_points,
    message) in the rubric's order; `graded` is False for a submission that was not graded (see :meth:`ungraded`)."""
    submission: str                      # as the TA named it (a path, or the platform's label)
    key: str                             # the platform's student id, else a name
    platform: str = "folder"             # canvas, moodle or folder
    name: str = ""                       # the student's name where the platform gives it
    version: str = None                  # the assignment version HW3_Modules.ipynb was judged by
    version_title: str = None
    version_reason: str = None
    not_counted: list = field(default_factory=list)   # notebooks that version's assignment does not have
    score: float = 0
    max_score: float = 0
    awaiting_review: float = 0           # points of checks a TA has yet to mark: in neither score nor max_score
    checks: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    notes: list = field(default_factory=list)         # what was graded as what, repairs: no points taken
    seconds: float = 0
    fast: bool = False
    sandbox: bool = True
    graded: bool = True

    def as_dict(self):
        return {"submission": self.submission, "key": self.key, "platform": self.platform, "name": self.name,
                "version": self.version, "version_title": self.version_title, "version_reason": self.version_reason,
                "not_counted": list(self.not_counted), "score": self.score, "max_score": self.max_score,
                "awaiting_review": self.awaiting_review,
                "checks": list(self.checks), "errors": list(self.errors), "notes": list(self.notes),
                "seconds": self.seconds, "fast": self.fast, "sandbox": self.sandbox, "graded": self.graded}

    @classmethod
    def ungraded(cls, identity, reason, options=Options(), notes=(), rubric=False):
        """The report of a submission that was not graded: score 0, `reason` its only error, `notes` the intake's.

        rubric: also list the checks the submission would have been graded on (the kit's version, or the one forced
        with --profile), each failed with `reason`, and count their points in max_score (a submission that stopped
        two machines of the cluster is reported so, for the gradebook's row); else no checks and max_score 0.
        """
        if rubric:
            grading = Grading(identity, options)
            grading.judge_by(Prepared(workdir=None, missing=list(NOTEBOOKS)))
            report = grading.report(unrun=reason)
        else:
            report = cls(**identity, fast=options.fast)
        report.errors, report.notes, report.seconds, report.graded = [reason], list(notes), 0, False
        report.sandbox = options.sandbox
        return report


@dataclass
class Grading:
    """What one submission's items found: its report is made from it."""
    identity: dict                        # submission, key, platform, name: grader.execution.session.identity_of
    options: Options
    started: float = field(default_factory=time.perf_counter)
    prepared: object = None               # grader.execution.workcopy.Prepared
    version: object = C.KIT               # the assignment version HW3_Modules.ipynb is judged by
    version_why: str = ""
    checks: list = None                   # that version's module checks (None: the kit's)
    not_asked: set = field(default_factory=set)   # notebooks that version's assignment does not have
    course: dict = field(default_factory=dict)    # notebooks judged as the course's own: name -> kind (parts/course.py)
    errors: list = field(default_factory=list)
    notes: list = field(default_factory=list)     # what was graded as what, what was repaired: no points taken
    results: dict = field(default_factory=dict)   # check id -> Result
    version_note: str = None              # the notebook looks written against another version than the course's
    clock: Clock = None                   # the submission's wall-clock budget, every kernel's (options.submission_limit)
    told_out_of_time: bool = False        # the errors say once that the clock ran out
    forged: set = field(default_factory=set)      # notebooks whose code published probe-typed output of its own

    def __post_init__(self):
        if self.clock is None:
            self.clock = Clock(self.options.submission_limit)

    def out_of_time(self):
        """The words for what a spent clock did not run; the first time, one line in the submission's errors."""
        message = (f"not run: the submission used up its time ({self.clock.seconds:g} s for all its notebooks, "
                   "restarts and replays included)")
        if not self.told_out_of_time:
            self.told_out_of_time = True
            self.errors.append(message.replace("not run: ", "grading stopped: ") + "; what had not run yet gets no points")
        return message
    grader_errors: list = field(default_factory=list)   # the grader's own exceptions while judging (its bugs)
    cannot_run: list = field(default_factory=list)      # why a notebook could not be run at all (a kernel that
    # never started): no grade either, the reason and what to do

    def forged_output(self, notebook, during):
        """Output of the probe's type that the notebook's own code published while the grader `during`: ignored, and
        named once per notebook in the errors for a TA."""
        if notebook not in self.forged:
            self.forged.add(notebook)
            self.errors.append(f"integrity: {notebook}: the notebook's code published output of the grader's own "
                               f"kind while the grader {during}; it was ignored (only the answer to the grader's "
                               "request counts)")

    def judge_by(self, prepared):
        """The assignment version of the prepared submission (None: nothing readable) and what it is graded on:
        the course's own versions have no HW3_differentiation.ipynb / HW3_main.ipynb of the kit, so when a submission
        of theirs lacks one, it is not part of its assignment (not counted), not "not found"."""
        self.version, self.version_why, self.checks, self.version_note = modules_version(prepared, self.options.profile)
        self.course = course.course_notebooks(prepared, self.options.profile, self.version.name)
        if self.version.name != "kit" and prepared is not None:
            self.not_asked = {name for name in (differentiation.NOTEBOOK, main_notebook.NOTEBOOK)
                              if name in prepared.missing}

    def parts(self):
        """The kit's notebooks this submission is graded on, in grading order."""
        return [MODULES] + [name for name in (differentiation.NOTEBOOK, main_notebook.NOTEBOOK)
                            if name not in self.not_asked and not (self.options.fast and name == main_notebook.NOTEBOOK)]

    def expected_by_notebook(self):
        """[(notebook, its rows)] of every notebook this submission is graded on, in report order; a row is
        (id, target, name, max points)."""
        out = [(MODULES, [(c.id, c.target, c.name, c.points)
                          for c in (self.checks if self.checks is not None else C.CHECKS)])]
        D, parts = differentiation, self.parts()
        for name in (D.NOTEBOOK, main_notebook.NOTEBOOK):
            if name in parts and name in self.course:
                out.append((name, course.expected_rows(self.course[name])))
        if D.NOTEBOOK in parts and D.NOTEBOOK not in self.course:
            rows = []
            for exercise in D.EXERCISES:
                rows.append((f"{D.TARGET}: {exercise}: check cell passes", D.TARGET, f"{exercise}: check cell passes",
                             D.CHECK_CELL_POINTS))
                rows.append((f"{D.TARGET}: {exercise}: answers vs the reference", D.TARGET,
                             f"{exercise}: answers vs the reference", D.NUMERIC_POINTS))
            out.append((D.NOTEBOOK, rows))
        if main_notebook.NOTEBOOK in parts and main_notebook.NOTEBOOK not in self.course:
            out.append((main_notebook.NOTEBOOK, [(f"{main_notebook.TARGET}: {name}", main_notebook.TARGET, name, points)
                                                 for name, points in main_notebook.RUBRIC]))
        return out

    def unreadable(self):
        """{notebook: workcopy.Unreadable} of the notebooks graded on that were handed in but cannot be read, and of
        the kit's main notebook when the modules notebook it runs is one of them (grader/parts/unreadable.py)."""
        found = dict(getattr(self.prepared, "unreadable", None) or {})
        handed_in = getattr(getattr(self.prepared, "submission", None), "files", None) or {}
        # (Not when the framework is in another notebook, kind "elsewhere": the main notebook may well hold it.)
        if (MODULES in found and found[MODULES].kind != "elsewhere" and main_notebook.NOTEBOOK not in found
                and main_notebook.NOTEBOOK not in self.course
                and main_notebook.NOTEBOOK in getattr(self.prepared, "notebooks", {})
                and main_notebook.NOTEBOOK in handed_in):
            found[main_notebook.NOTEBOOK] = unreadable.needing(handed_in[main_notebook.NOTEBOOK], found[MODULES])
        return {name: info for name, info in found.items() if name in self.parts()}

    def expected_checks(self):
        """(id, target, name, max points) of every check this submission is graded on, in report order; an
        unreadable notebook's checks are one row, worth all of them (grader/parts/unreadable.py)."""
        rows, unread = [], self.unreadable()
        for name, own in self.expected_by_notebook():
            rows += [unreadable.row(name, own, unread[name])] if name in unread else own
        return rows

    def unreadable_result(self, notebook):
        """The check awaiting a TA that stands for the unreadable `notebook`: worth that notebook's maximum for the
        version the submission is judged by."""
        own = dict(self.expected_by_notebook())[notebook]
        variant = self.version.name if notebook == MODULES else "course" if notebook in self.course else "kit"
        return unreadable.result(notebook, self.unreadable()[notebook], unreadable.row(notebook, own)[3], variant)

    def record(self, result):
        self.results[f"{result.target}: {result.name}"] = result

    def report(self, unrun=NOT_RUN):
        """The Report: every expected check in the rubric's order (one that did not run: failed with `unrun`).
        A check the grader itself failed to judge would be points the student lost to the grader's bug: then the
        report is not graded (grader/execution/failures.py), never a score."""
        if self.grader_errors:
            from grader.execution.failures import GRADER_FAILED
            return Report.ungraded(self.identity, GRADER_FAILED.format(error="; ".join(self.grader_errors)),
                                   self.options, notes=self.notes)
        if self.cannot_run:   # 0 for every check of a notebook that never ran would be no grade either
            return Report.ungraded(self.identity, "not graded: " + "; ".join(self.cannot_run), self.options,
                                   notes=self.notes)
        unread = self.unreadable()
        stands_for = {unreadable.row(name, own, unread[name])[0]: name for name, own in self.expected_by_notebook()
                      if name in unread}
        results = [self.unreadable_result(stands_for[key]) if key in stands_for else self.results.get(key)
                   or C.Result(target, name, False, 0, points, unrun, self.version.class_name(target))
                   for key, target, name, points in self.expected_checks()]
        notes = list(self.notes)
        for target in self.version.optional:   # an advanced-track module left as the template's stub: not asked
            own = [r for r in results if r.target == target]
            if own and all(getattr(r, "unimplemented", False) for r in own):
                results = [r for r in results if r.target != target]
                notes.append(f"{MODULES}: " + optional_not_counted(self.version.class_name(target), self.version))
        checks = [r.as_dict() for r in results]
        handed_in_as = dict(getattr(getattr(self.prepared, "submission", None), "handed_in_as", None) or {})
        for check in checks:
            check["message"] = as_handed_in(check.get("message"), handed_in_as)
        score, max_score, awaiting = totals(checks)
        return Report(**self.identity, version=self.version.name, version_title=self.version.title,
                      version_reason=self.version_why, not_counted=sorted(self.not_asked),
                      score=score, max_score=max_score, awaiting_review=awaiting,
                      checks=checks, errors=[as_handed_in(e, handed_in_as) for e in self.errors], notes=notes,
                      seconds=round(time.perf_counter() - self.started, 1), fast=self.options.fast,
                      sandbox=self.options.sandbox)
