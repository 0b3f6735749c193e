"""The grader as a pytest plugin on top of nbval: one submission = one collector, every cell and check a test item.

    .venv/bin/python -m pytest -c grader/pytest.ini SUBMISSION [SUBMISSION...] [--hw3-fast] [--junitxml FILE]

(run from the kit's folder; ``grader/pytest.ini`` loads this plugin, ``--nbval-lax`` and ``--noconftest``,
so nothing in a submission's folder is imported into the grader's process). Each SUBMISSION (a folder or a
.zip) is copied into a private folder next to the kit's ``grader/`` and ``data/`` and collected as:

* ``HW3_Modules.ipynb``: one item per code cell (nbval's ``IPyNbCell``, run by :class:`grader.kernel.KernelSession`:
  capped output, a restart that restores the earlier cells after a crash), then one item per module check
  (:mod:`grader.checks`), whose probe runs in the same kernel and whose verdict is reached here;
* ``HW3_differentiation.ipynb``: the kit's cells with the student's answer cells, then two items per exercise;
* ``HW3_main.ipynb`` (not with ``--hw3-fast``): one item per cell, the ``metrics`` dict read back after every
  cell, then one item per rubric row.

A cell that fails is a failed item and a line in the report's ``errors``; it costs what it defines, nothing
else. Points are in each check item's ``user_properties`` (so ``--junitxml`` carries them), and the report
of every submission (the dict ``grade_submission`` returns) is printed at the end and written by
``--hw3-json FILE``.
"""
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import IPyNbCell, IPyNbFile, NbCellError, find_comment_markers, find_metadata_tags

from grader import selfcheck as C
from grader import differentiation as D
from grader import mainnb as M
from grader.grade import (PROBE_HELPER, is_selfcheck_cell, modules_version, new_nonce, probe_payload,
                          reference_expected)
from grader import sandbox
from grader import scratch
from grader.selfcheck.messages import optional_not_counted
from grader.clock import SUBMISSION_LIMIT, Clock
from grader.kernel import FRONT_END_MAGIC, KernelSession, kernel_env
from grader.safetext import clean_tree, terminal
from grader.submission import first_line, prepare

MODULES = "HW3_Modules.ipynb"
MODULES_CELLS_BUDGET = 300   # seconds for all cells of HW3_Modules.ipynb (a student's own experiments included)
DIFF_CELLS_BUDGET = 300      # seconds for all cells of HW3_differentiation.ipynb


# ------------------------------------------------------------------------------------------- options


def pytest_addoption(parser):
    group = parser.getgroup("hw3", "HW3 grading (grader/plugin.py)")
    group.addoption("--hw3-fast", action="store_true", help="skip HW3_main.ipynb (modules and differentiation only)")
    group.addoption("--hw3-timeout", type=float, default=60,
                    help="time limit of one notebook cell and of one module's checks, in seconds (default 60)")
    group.addoption("--hw3-kernel", default=None,
                    help="the Jupyter kernel that runs the submission (default: the sandbox's hw3-sandbox)")
    group.addoption("--hw3-no-sandbox", action="store_true",
                    help="run the submission in the plain python3 kernel, unconfined (only where bubblewrap cannot run)")
    group.addoption("--hw3-json", default=None, metavar="FILE", help="write the reports (a JSON list) to FILE")
    group.addoption("--hw3-submission-limit", type=float, default=SUBMISSION_LIMIT, metavar="SECONDS",
                    help="wall-clock limit of one submission, all its notebooks, restarts and replays included "
                         f"(default {SUBMISSION_LIMIT})")
    group.addoption("--hw3-profile", default=None, metavar="NAME",
                    help="the course's assignment version HW3_Modules.ipynb is judged by (default: the kit's); "
                         "'auto': each notebook by the version it was written against (mixed versions allowed)")


@dataclass
class SubmissionState:
    """What one submission's items found: the report is built from it."""
    identity: dict                        # submission (as named), key, platform, name: see grader.grade.identity_of
    fast: bool
    timeout: float
    kernel_name: str
    profile: str = None                   # the course's assignment version (--hw3-profile; None: the kit's)
    started: float = field(default_factory=time.perf_counter)
    prepared: object = None
    version: object = C.KIT               # the assignment version HW3_Modules.ipynb is judged by
    version_why: str = ""
    checks: list = None                   # that version's module checks (None: the kit's)
    not_asked: set = field(default_factory=set)   # notebooks that version's assignment does not have
    errors: list = field(default_factory=list)
    notes: list = field(default_factory=list)     # what was graded as what, what was repaired: no points taken
    results: dict = field(default_factory=dict)   # check id -> Result
    forged: set = field(default_factory=set)      # notebooks whose code published probe-typed output of its own
    clock: Clock = field(default_factory=Clock)   # the submission's wall-clock budget, every kernel's

    def expected_checks(self):
        """(id, target, name, max points) of every check this submission is graded on, in report order."""
        rows = [(c.id, c.target, c.name, c.points) for c in (self.checks if self.checks is not None else C.CHECKS)]
        for exercise in D.EXERCISES if D.NOTEBOOK not in self.not_asked else ():
            rows.append((f"{D.TARGET}: {exercise}: check cell passes", D.TARGET, f"{exercise}: check cell passes",
                         D.CHECK_CELL_POINTS))
            rows.append((f"{D.TARGET}: {exercise}: answers vs the reference", D.TARGET,
                         f"{exercise}: answers vs the reference", D.NUMERIC_POINTS))
        if not self.fast and M.NOTEBOOK not in self.not_asked:
            rows += [(f"{M.TARGET}: {name}", M.TARGET, name, points) for name, points in M.RUBRIC]
        return rows

    def record(self, result):
        self.results[f"{result.target}: {result.name}"] = result

    def ask(self, session, notebook, code, nonce, during, timeout=None):
        """Runs `code` (a request to the kernel that answers with `nonce`) and returns (outcome, payload): only the
        answer to this request counts; output of the probe's type the notebook's own code published meanwhile is
        ignored, and named once per notebook in the errors for a TA."""
        outcome = session.run(code, timeout=timeout) if timeout is not None else session.run(code)
        payload, ignored = probe_payload(outcome, nonce) if outcome.ok else (None, 0)
        if ignored and notebook not in self.forged:
            self.forged.add(notebook)
            self.errors.append(f"integrity: {notebook}: the notebook's code published output of the grader's own "
                               f"kind while the grader {during}; it was ignored (only the answer to the grader's "
                               "request counts)")
        return outcome, payload

    def report(self):
        """The JSON-ready report: score, max_score, checks (in the rubric's order), errors."""
        results = [self.results.get(key) or C.Result(target, name, False, 0, points, "not run (see errors)",
                                                     self.version.class_name(target))
                   for key, target, name, points in self.expected_checks()]
        notes = list(self.notes)
        for target in self.version.optional:   # an advanced-track module left as the template's stub: not asked
            own = [r for r in results if r.target == target]
            if own and all(getattr(r, "unimplemented", False) for r in own):
                results = [r for r in results if r.target != target]
                notes.append(f"{MODULES}: " + optional_not_counted(self.version.class_name(target), self.version))
        score = sum(r.points for r in results)
        max_score = sum(r.max_points for r in results)
        return {**self.identity, "version": self.version.name, "version_title": self.version.title,
                "version_reason": self.version_why, "not_counted": sorted(self.not_asked),
                "score": round(score, 2), "max_score": round(max_score, 2),
                "checks": [r.as_dict() for r in results], "errors": list(self.errors), "notes": notes,
                "seconds": round(time.perf_counter() - self.started, 1), "fast": self.fast,
                "sandbox": self.kernel_name == sandbox.KERNEL_NAME}


STATES = pytest.StashKey[dict]()
SUBMISSIONS = pytest.StashKey[dict]()   # {resolved argument path: grader.intake.Submission} (set by grade_submission)
SEED = pytest.StashKey[int]()           # the secret the grading inputs are drawn from (set by grade_submission)


def seed_of(config):
    """The session's grading seed: the batch's (grade_submission sets it), else one drawn for this session."""
    if SEED not in config.stash:
        from grader.grade import draw_seed
        config.stash[SEED] = draw_seed()
    return config.stash[SEED]


def pytest_configure(config):
    config.stash[STATES] = {}
    option = config.option
    if getattr(option, "hw3_kernel", None) is None:
        option.hw3_kernel = sandbox.NO_SANDBOX_KERNEL if option.hw3_no_sandbox else sandbox.KERNEL_NAME
    if option.hw3_kernel == sandbox.KERNEL_NAME and config.args and sandbox.problem():
        pytest.exit(f"cannot grade in a sandbox: {sandbox.problem()}. Submissions are untrusted code: fix that, "
                    "or pass --hw3-no-sandbox to grade without one", returncode=2)


def states(config):
    """{submission argument: SubmissionState} of this session, in collection order."""
    return config.stash[STATES]


def _submission_args(config):
    """{resolved path: argument as given} of the command line's submissions."""
    out = {}
    for arg in config.args:
        path = Path(config.invocation_params.dir, arg.split("::")[0])
        out[path.resolve()] = arg.split("::")[0]
    return out


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path, parent):
    arg = _submission_args(parent.config).get(Path(path).resolve())
    if arg is not None:
        return SubmissionDir.from_parent(parent, path=Path(path), arg=arg, nodeid=arg)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collect_file(file_path, parent):
    arg = _submission_args(parent.config).get(Path(file_path).resolve())
    if arg is not None and file_path.suffix.lower() == ".zip":
        return SubmissionZip.from_parent(parent, path=Path(file_path), arg=arg, nodeid=arg)
    return None


# ----------------------------------------------------------------------------------------- collectors


class _Submission:
    """Copies the submission next to the kit's grader/ and data/, then yields its three parts."""

    def collect(self):
        from grader import integrity, numeric_scan
        from grader.grade import identity_of
        option = self.config.option
        submission = self.config.stash.get(SUBMISSIONS, {}).get(Path(self.path).resolve(), self.path)
        identity = identity_of(submission if submission is not self.path else self.arg)
        state = SubmissionState(identity, bool(option.hw3_fast), float(option.hw3_timeout), option.hw3_kernel,
                                option.hw3_profile, clock=Clock(option.hw3_submission_limit))
        states(self.config)[self.arg] = state
        tmp = scratch.mkdtemp(prefix="hw3-grade-")
        self.config.add_cleanup(lambda: shutil.rmtree(tmp, ignore_errors=True))
        workdir = Path(tmp) / "submission"
        try:
            state.prepared = prepare(submission, workdir)
            state.identity = identity_of(state.prepared.submission if submission is not self.path else self.arg)
        except Exception as exc:  # an unreadable folder: still a report, never a crash of the batch
            state.errors.append(f"{identity['submission']}: cannot read the submission ({type(exc).__name__}: {exc})")
        prepared = state.prepared
        state.version, state.version_why, state.checks, version_note = modules_version(prepared, state.profile)
        # The course's own versions have no HW3_differentiation.ipynb / HW3_main.ipynb of the kit: when a
        # submission of theirs lacks one, it is not part of its assignment (not counted), not "not found".
        if state.version.name != "kit" and prepared is not None:
            state.not_asked = {name for name in (D.NOTEBOOK, M.NOTEBOOK) if name in prepared.missing}
        if prepared is not None:
            state.notes = prepared.notes   # the parts add theirs (e.g. duplicate answers)
            if version_note:
                state.notes.append(version_note)
            state.errors += prepared.errors
            state.errors += integrity.scan(prepared) + numeric_scan.scan(prepared)
            for name in prepared.missing:
                if not (state.fast and name == M.NOTEBOOK) and name not in state.not_asked:
                    state.errors.append(f"{name} not found in the submission")
        parts = [(ModulesNotebook, MODULES)]
        if D.NOTEBOOK not in state.not_asked:
            parts.append((DifferentiationNotebook, D.NOTEBOOK))
        if not state.fast and M.NOTEBOOK not in state.not_asked:
            parts.append((MainNotebook, M.NOTEBOOK))
        for cls, name in parts:
            yield cls.from_parent(self, path=workdir / name, state=state, nodeid=f"{self.nodeid}::{name}")


class SubmissionDir(_Submission, pytest.Directory):
    def __init__(self, *args, arg, **kwargs):
        super().__init__(*args, **kwargs)
        self.arg = arg


class SubmissionZip(_Submission, pytest.File):
    def __init__(self, *args, arg, **kwargs):
        super().__init__(*args, **kwargs)
        self.arg = arg


class GradedNotebook(IPyNbFile):
    """nbval's notebook collector, with the grader's kernel session, cells and checks."""
    budget = 300          # seconds for all of this notebook's cells

    def __init__(self, *args, state, **kwargs):
        super().__init__(*args, **kwargs)
        self.state = state
        self.name_in_report = Path(self.path).name
        prepared = state.prepared
        self.nb = prepared.notebooks.get(self.name_in_report) if prepared is not None else None
        if self.nb is None:
            missing = prepared is not None and self.name_in_report in prepared.missing
            self.unavailable = f"{self.name_in_report} is " + ("missing" if missing or prepared is None else
                                                               "unreadable (see errors)")
        else:
            self.unavailable = None
        self.kernel_session = None
        self.cells_seconds = 0.0

    # -- collection

    def cells(self):
        """(index, cell) of the code cells to run."""
        return [(i, cell) for i, cell in enumerate(self.nb.cells) if cell.cell_type == "code"] if self.nb else []

    def cell_item(self, index, cell, name=None, **extra):
        options = dict(find_metadata_tags(cell.metadata))
        options.update(dict(find_comment_markers(cell.source)))
        return GradedCell.from_parent(self, name=name or f"Cell {index}", cell_num=index, cell=cell, options=options,
                                      **extra)

    def collect(self):
        for index, cell in self.cells():
            yield self.cell_item(index, cell)
        yield from self.check_items()

    def check_items(self):
        return []

    # -- kernel

    def env(self):
        return kernel_env({"HW3_FAST": "1", "HW3_SELFCHECK": "0", "PYTHONPATH": str(self.path.parent)})

    def setup(self):
        self.start_error = None
        if self.unavailable or not self.cells():
            return
        try:
            self.kernel_session = KernelSession(self.path.parent, timeout=self.state.timeout, env=self.env(),
                                                kernel_name=self.state.kernel_name, clock=self.state.clock)
            self.kernel_session.start()
        except Exception as exc:
            self.kernel_session = None
            self.start_error = f"the notebook's kernel could not start ({type(exc).__name__}: {exc})"
            self.state.errors.append(f"{self.name_in_report}: {self.start_error}")

    def teardown(self):
        if self.kernel_session is not None:
            session = self.kernel_session
            if session.restarts:
                self.state.notes.append(
                    f"{self.name_in_report}: the kernel was restarted {session.restarts} time(s) and {session.replays} "
                    f"cell(s) re-run after restarts ({session.replay_seconds:.0f} s, counted in the submission's time)")
            session.close()
            self.kernel_session = None

    # -- cells

    def cell_timeout(self):
        return min(self.state.timeout, self.budget - self.cells_seconds)

    def keep(self, cell):
        return True

    def cell_failed(self, item, result):
        """A line of the report's errors for a cell that did not run cleanly."""
        restarted = result.status in ("timeout", "dead") and self.kernel_session is not None and self.kernel_session.restarts
        self.state.errors.append(
            f"{self.name_in_report} cell {item.cell_num} (`{first_line(item.cell.source)}`): {result.describe()}"
            + ("; the kernel was restarted and the cells before it re-run" if restarted else ""))

    def after_cell(self, item, result):
        pass

    def tolerated(self, item, result):
        """Whether a cell's failure is no failure of the submission (see MainNotebook)."""
        return False


class GradedCell(IPyNbCell):
    """One code cell: nbval's item, run by the grader's kernel session; a failure is reported, then grading goes on."""

    def __init__(self, *args, skip_reason=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.skip_reason = skip_reason if skip_reason is not None else (
            "a self-check cell: only check(...) calls" if is_selfcheck_cell(self.cell) else None)

    def setup(self):
        pass   # nbval's setup marks cells after a timeout as xfail; here a timeout costs its own cell only

    def reportinfo(self):
        return self.path, 0, f"{self.parent.name_in_report}::{self.name}"

    def runtest(self):
        nbfile = self.parent
        if self.skip_reason:
            pytest.skip(self.skip_reason)
        if nbfile.kernel_session is None:
            raise NbCellError(self.cell_num, nbfile.start_error or "no kernel", self.cell.source)
        if nbfile.state.clock.spent():
            message = out_of_time(nbfile.state)
            raise NbCellError(self.cell_num, message, self.cell.source)
        timeout = nbfile.cell_timeout()
        if timeout <= 0:
            message = f"not run: the notebook's cells used up their time ({nbfile.budget} s in all)"
            nbfile.state.errors.append(f"{nbfile.name_in_report} cell {self.cell_num} (`{first_line(self.cell.source)}`): {message}")
            raise NbCellError(self.cell_num, message, self.cell.source)
        magic = next(filter(None, map(FRONT_END_MAGIC.match, self.cell.source.splitlines())), None)
        if magic:
            nbfile.state.notes.append(
                f"{nbfile.name_in_report} cell {self.cell_num}: `%matplotlib {magic.group(2)}` needs a notebook "
                "front-end; graded with the non-interactive inline backend (nothing to fix)")
        result = nbfile.kernel_session.run(self.cell.source, timeout=timeout, keep=nbfile.keep(self.cell))
        if result.status == "budget":
            raise NbCellError(self.cell_num, out_of_time(nbfile.state), self.cell.source)
        nbfile.cells_seconds += result.seconds
        self.test_outputs = result.outputs
        nbfile.after_cell(self, result)
        if not result.ok and not nbfile.tolerated(self, result):
            nbfile.cell_failed(self, result)
            traceback = "\n".join(line for o in result.outputs if o.get("output_type") == "error"
                                  for line in o.get("traceback", []))
            raise NbCellError(self.cell_num, result.describe(), self.cell.source, traceback or None)


def out_of_time(state):
    """The words for what a spent clock did not run; the first time, one line in the submission's errors."""
    message = (f"not run: the submission used up its time ({state.clock.seconds:g} s for all its notebooks, "
               "restarts and replays included)")
    if not getattr(state, "told_out_of_time", False):
        state.told_out_of_time = True
        state.errors.append(message.replace("not run: ", "grading stopped: ") + "; what had not run yet gets no points")
    return message


# ------------------------------------------------------------------------------------------- the parts


class CheckItem(pytest.Item):
    """One scored check: its verdict is recorded in the submission's report and is the item's outcome."""

    def __init__(self, *args, target, check_name, points, **kwargs):
        super().__init__(*args, **kwargs)
        self.target, self.check_name, self.points = target, check_name, points

    def reportinfo(self):
        return self.path, 0, f"{self.parent.name_in_report}::{self.name}"

    def runtest(self):
        nbfile = self.parent
        if nbfile.unavailable:
            result = self.failed(f"{nbfile.unavailable}: nothing to check")
        elif nbfile.kernel_session is None and getattr(nbfile, "start_error", None):
            result = self.failed(nbfile.start_error)
        else:
            try:
                result = self.verdict()
            except Exception as exc:  # a grader bug must not lose the other checks: reported, 0 here
                message = f"grader error ({type(exc).__name__}: {exc}); please report it"
                if message not in nbfile.state.errors:
                    nbfile.state.errors.append(message)
                result = self.failed(message)
        nbfile.state.record(result)
        self.user_properties += [("points", result.points), ("max_points", result.max_points)]
        if not result.passed and result.max_points > 0:
            raise CheckFailed(result)

    def failed(self, message):
        return C.Result(self.target, self.check_name, False, 0, self.points, message,
                        self.parent.state.version.class_name(self.target))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CheckFailed):
            r = excinfo.value.result
            return f"{r.target}: {r.name}: {r.points:g} / {r.max_points:g}\n{r.message}"
        return super().repr_failure(excinfo)


class CheckFailed(Exception):
    def __init__(self, result):
        super().__init__(result.message)
        self.result = result


# -- HW3_Modules.ipynb


class ModulesNotebook(GradedNotebook):
    budget = MODULES_CELLS_BUDGET

    def check_items(self):
        for check in self.state.checks if self.state.checks is not None else C.CHECKS:
            yield ModuleCheck.from_parent(self, name=check.id, target=check.target, check_name=check.name,
                                          points=check.points, check=check)

    def group_payload(self, check):
        """The payload of `check`'s probe group (run once per group); a str says why there is none."""
        if not hasattr(self, "payloads"):
            self.payloads, self.target_seconds, self.hung = {}, {}, {}
            if self.kernel_session is None:   # no code cell at all: a kernel for the probes alone
                self.setup_probe_kernel()
            helper = self.kernel_session.run(PROBE_HELPER, keep=True)
            self.helper_error = None if helper.ok else f"the kernel could not run the grader's probes ({helper.describe()})"
            if self.helper_error:
                self.state.errors.append(f"the grader could not install its probe in the kernel: {helper.describe()}")
        if self.helper_error:
            return self.helper_error
        key = id(check.probe)
        if key in self.payloads:
            return self.payloads[key]
        target, version = check.target, self.state.version
        shown = version.class_name(target)
        limit = self.state.timeout
        if target in self.hung:
            payload = self.hung[target]
        else:
            left = limit - self.target_seconds.get(target, 0.0)
            nonce = new_nonce()
            outcome, answer = self.state.ask(
                self.kernel_session, self.name_in_report,
                f"__hw3_probe({check.id!r}, {seed_of(self.config)}, {version.name!r}, {nonce!r})", nonce,
                f"checked {shown}", timeout=max(1.0, left))
            self.target_seconds[target] = self.target_seconds.get(target, 0.0) + outcome.seconds
            if outcome.status == "budget":
                payload = out_of_time(self.state)
            elif outcome.status == "timeout":
                payload = (f"{shown} did not finish within {limit:g} s (an endless loop?); "
                           "it was interrupted and the other modules' checks went on")
                self.hung[target] = f"not run: {shown} did not finish within {limit:g} s in an earlier check (an endless loop?)"
            elif outcome.status == "dead":
                payload = f"the kernel died while checking {shown} (a crash, or the memory limit)"
            elif outcome.ok:
                payload = answer
            else:
                payload = {"ok": False, "error": outcome.describe()}
        self.payloads[key] = payload
        return payload

    def setup_probe_kernel(self):
        self.kernel_session = KernelSession(self.path.parent, timeout=self.state.timeout, env=self.env(),
                                            kernel_name=self.state.kernel_name, clock=self.state.clock)
        self.kernel_session.start()


class ModuleCheck(CheckItem):
    def __init__(self, *args, check, **kwargs):
        super().__init__(*args, **kwargs)
        self.check = check

    def verdict(self):
        from grader.selfcheck import versions as V
        payload = self.parent.group_payload(self.check)
        if isinstance(payload, str):
            return self.failed(payload)
        version, nb = self.parent.state.version, self.parent.nb
        expected = reference_expected(version.name, seed_of(self.config))[self.check.id]
        return C.verdict(self.check, payload, expected, version,
                         lambda name: V.locate(nb, name))


# -- HW3_differentiation.ipynb


class DifferentiationNotebook(GradedNotebook):
    """The kit's cells (helpers, forward functions, checks) with the student's answer cells in their place."""
    budget = DIFF_CELLS_BUDGET

    def cells(self):
        """The kit's code cells in order; at each answer cell, the student's cells of that exercise (found as a
        reader would, see grader.differentiation.find_answers), and the student's added cells at the end."""
        if self.nb is None:
            return []
        if not hasattr(self, "_cells"):
            kit_nb, _ = D.reference()
            self.answers = answers = D.find_answers(self.nb, kit_nb)
            self.state.notes.extend(answers.notes)
            self._cells, self.check_status = [], {}

            def student(index, source):
                cell = nbformat.v4.new_code_cell(source)
                cell.metadata["hw3_student_cell"] = index
                return index, cell

            for index, cell in enumerate(kit_nb.cells):
                if cell.cell_type != "code":
                    continue
                cell_id = cell.get("id", "")
                exercise = cell_id[:-len("-answer")] if cell_id.endswith("-answer") else None
                if exercise in D.EXERCISES:
                    if exercise not in answers.blocks and exercise not in answers.misplaced:
                        self.state.errors.append(f"{D.NOTEBOOK}: no answer found for {exercise} (no code cell defines "
                                                 f"{D.EXERCISES[exercise][0]}())")
                    self._cells += [student(i, source) for i, source in answers.blocks.get(exercise, [])]
                    continue
                self._cells.append((index, cell))
            self._cells += [student(i, source) for i, source in answers.tail]
        return self._cells

    def cell_item(self, index, cell, name=None, **extra):
        name = f"Cell {index}" if "hw3_student_cell" in cell.metadata else f"Cell {cell.get('id', index)} (kit)"
        return super().cell_item(index, cell, name=name, skip_reason="", **extra)   # none skipped: kit's cells, answers

    def keep(self, cell):
        return not cell.get("id", "").endswith("-check")

    def after_cell(self, item, result):
        cell_id = item.cell.get("id", "")
        if cell_id.endswith("-check"):
            self.check_status[cell_id[:-len("-check")]] = result

    def cell_failed(self, item, result):
        if "hw3_student_cell" in item.cell.metadata:
            super().cell_failed(item, result)
        elif not item.cell.get("id", "").endswith("-check"):   # a check that fails is scored, not an error
            self.state.errors.append(f"{D.NOTEBOOK}: the kit's cell {item.cell.get('id')} did not run: {result.describe()}")

    def check_items(self):
        for exercise in D.EXERCISES:
            for kind, points in (("check cell passes", D.CHECK_CELL_POINTS), ("answers vs the reference", D.NUMERIC_POINTS)):
                yield DiffCheck.from_parent(self, name=f"{exercise}: {kind}", target=D.TARGET,
                                            check_name=f"{exercise}: {kind}", points=points, exercise=exercise, kind=kind)

    def numeric(self, exercise):
        if not hasattr(self, "numeric_verdicts"):
            self.numeric_verdicts = {}
            if self.kernel_session is None:
                return False, "no answer cell ran"
            self.kernel_session.run(D.PROBE_HELPER, keep=True)
        if exercise not in self.numeric_verdicts:
            seed = seed_of(self.config) + 1   # the exercises' inputs: another stream of the batch's secret
            nonce = new_nonce()
            outcome, payload = self.state.ask(self.kernel_session, self.name_in_report,
                                              f"__hw3_diff_probe({exercise!r}, {seed}, {nonce!r})", nonce,
                                              f"called the answers of {exercise}")
            payload = payload if outcome.ok else {"ok": False, "error": outcome.describe()}
            try:
                self.numeric_verdicts[exercise] = D.judge(exercise, payload, D.expected(seed)[exercise])
            except Exception as exc:
                self.numeric_verdicts[exercise] = (False, f"{exercise}: could not judge the values ({type(exc).__name__}: {exc})")
        return self.numeric_verdicts[exercise]


class DiffCheck(CheckItem):
    def __init__(self, *args, exercise, kind, **kwargs):
        super().__init__(*args, **kwargs)
        self.exercise, self.kind = exercise, kind

    def verdict(self):
        nbfile, exercise = self.parent, self.exercise
        passed_numeric, message = nbfile.numeric(exercise)
        misplaced = nbfile.answers.misplaced.get(exercise) if not passed_numeric else None
        if self.kind == "answers vs the reference":
            passed, message = passed_numeric, misplaced or message
        else:
            outcome = getattr(nbfile, "check_status", {}).get(exercise)
            if outcome is None:
                passed, message = False, f"{exercise}-check did not run"
            elif misplaced:
                passed, message = False, misplaced
            elif outcome.ok:
                passed, message = passed_numeric, ("check cell passed" if passed_numeric else
                                                   "check cell passed, but the answers fail the grader's own inputs (see the next check)")
            else:
                passed, message = False, f"{exercise}-check: {outcome.describe()}"
        return C.Result(self.target, self.check_name, passed, self.points if passed else 0, self.points, message)


# -- HW3_main.ipynb


class MainNotebook(GradedNotebook):
    """Every cell runs (a failing one costs what it produces); the metrics are read back after every cell."""
    budget = M.MAIN_BUDGET

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.metrics = {}
        self.failures = []
        self.kit_checks = M.kit_check_cells()
        metrics_file = self.path.parent / M.METRICS
        if metrics_file.exists():
            metrics_file.unlink()   # only what this run writes counts

    def cell_timeout(self):
        return self.budget - self.cells_seconds   # one bound for the whole notebook: training cells are long

    def keep(self, cell):
        return True

    def after_cell(self, item, result):
        if self.kernel_session is not None and self.kernel_session.alive():
            nonce = new_nonce()
            _, payload = self.state.ask(self.kernel_session, self.name_in_report, M.METRICS_PROBE.format(nonce=nonce),
                                        nonce, "read the notebook's metrics", timeout=30)
            if isinstance(payload, dict) and isinstance(payload.get("metrics"), dict):
                self.metrics.update(payload["metrics"])

    def tolerated(self, item, result):
        """The kit's own assertion cells, unchanged, judge the kit: a model the rubric accepts may fail them."""
        if result.status == "error" and result.ename == "AssertionError" and \
                self.kit_checks.get(item.cell.get("id")) == item.cell.source:
            self.state.notes.append(
                f"{M.NOTEBOOK} cell {item.cell_num} (`{first_line(item.cell.source)}`): the kit's own check "
                f"failed ({result.describe()}); not scored, the rubric's thresholds judge the results")
            return True
        return False

    def cell_failed(self, item, result):
        super().cell_failed(item, result)
        self.failures.append(self.state.errors[-1][len(M.NOTEBOOK) + 1:])

    def check_items(self):
        for name, points in M.RUBRIC:
            yield MainCheck.from_parent(self, name=name, target=M.TARGET, check_name=name, points=points)

    def verdicts(self):
        if not hasattr(self, "_verdicts"):
            self._verdicts = M.judge_run(self.failures, self.metrics, self.path.parent,
                                         self.cells_seconds, evidence=self.evidence())
        return self._verdicts

    def evidence(self):
        """metrics -> (agrees, message): the notebook's selected model, run by the grader, against its reported test
        accuracy (grader/main_evidence.py)."""
        from grader import main_evidence as E
        payload = None
        if self.kernel_session is not None and self.kernel_session.alive():
            seed = seed_of(self.config)
            self.kernel_session.run(E.PROBE, keep=True)
            nonce = new_nonce()
            outcome, payload = self.state.ask(self.kernel_session, self.name_in_report, E.request(seed, nonce), nonce,
                                              "ran the selected model", timeout=max(30.0, self.state.timeout))
            payload = payload if outcome.ok else {"ok": False, "error": outcome.describe()}
        return lambda metrics: E.judge(payload, metrics, seed_of(self.config))


class MainCheck(CheckItem):
    def verdict(self):
        return self.parent.verdicts()[self.check_name]


# -------------------------------------------------------------------------------------------- reports


def pytest_terminal_summary(terminalreporter, config):
    reports = [clean_tree(state.report()) for state in states(config).values()]
    if not reports:
        return
    terminalreporter.section("HW3 grades")
    for report in reports:
        terminalreporter.write_line(terminal(f"{report['submission']}: {report['score']:g} / {report['max_score']:g}"
                                             + (" (--hw3-fast: main notebook not run)" if report["fast"] else "")))
        for error in report["errors"]:
            terminalreporter.write_line(terminal(f"    {error}"))
        for note in report["notes"]:
            terminalreporter.write_line(terminal(f"    note: {note}"))
    if config.option.hw3_json:
        Path(config.option.hw3_json).write_text(json.dumps(reports, indent=1))
        terminalreporter.write_line(f"reports written to {config.option.hw3_json}")
