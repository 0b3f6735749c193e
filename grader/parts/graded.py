"""What every graded notebook shares: nbval's notebook collector and cell item, run by the grader's kernel
session, and the scored check item.

A cell that fails is a failed item and a line in the report's ``errors``; it costs what it defines, nothing
else. Points are in each check item's ``user_properties`` (so ``--junitxml`` carries them).
"""
import re
from pathlib import Path

import pytest
from nbval.plugin import IPyNbCell, IPyNbFile, NbCellError, find_comment_markers, find_metadata_tags

from grader import selfcheck as C
from grader.execution import probe
from grader.execution.kernel import FRONT_END_MAGIC, KernelSession, Status, kernel_env
from grader.execution.workcopy import first_line, shadowing
from grader.parts import missing_imports, old_styles

MAX_MISSING = 5   # packages a cell may lack before its error stands
SELFCHECK_LINE = re.compile(r"^\s*(check\s*\(.*\)\s*;?\s*|#.*)?$")


def is_selfcheck_cell(cell):
    """Cells holding nothing but check(...) calls and comments: a tag alone never hides code."""
    lines = cell.source.strip().splitlines()
    return bool(lines) and all(SELFCHECK_LINE.match(line) for line in lines) and "check" in cell.source


class GradedNotebook(IPyNbFile):
    """nbval's notebook collector, with the grader's kernel session, cells and checks."""
    notebook = None       # the kit's name of the notebook this part grades
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
        self.helper_installed = False   # the probe helper, installed in the kernel at the first request
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
            self.start_kernel()
        except Exception as exc:
            self.kernel_session = None
            self.start_error = f"the notebook's kernel could not start ({type(exc).__name__}: {exc})"
            shadows = shadowing(self.path.parent)
            self.state.cannot_run.append(
                f"{self.name_in_report}: {self.start_error}; " + (
                    f"the submission's {', '.join(shadows)} has the name of a Python module the kernel imports as it "
                    "starts, and Python finds it first: ask for it renamed, then grade it again with --resume"
                    if shadows else "a busy machine or the sandbox: grade it again with --resume"))

    def start_kernel(self):
        self.kernel_session = KernelSession(self.path.parent, timeout=self.state.options.timeout, env=self.env(),
                                            kernel_name=self.state.options.kernel_name, clock=self.state.clock)
        self.kernel_session.start()

    def ask(self, function, during, timeout=None, **arguments):
        """(outcome, payload) of a request to the kernel (the probe protocol, grader/execution/probe.py): only the
        answer to this request counts; probe-typed output the notebook's own code published meanwhile is ignored and
        named in the errors (see grader.report.report.Grading.forged_output)."""
        if not self.helper_installed:
            probe.install(self.kernel_session)
            self.helper_installed = True
        nonce = probe.new_nonce()
        outcome = probe.call(self.kernel_session, function, nonce, timeout=timeout, **arguments)
        payload, ignored = probe.payload(outcome, nonce) if outcome.ok else (None, 0)
        if ignored:
            self.state.forged_output(self.name_in_report, during)
        if outcome.status is Status.FULL:
            self.name_full_folder(outcome)
        return outcome, payload

    def name_full_folder(self, result):
        """One line of the errors when the kernel was stopped for filling its folder during the grader's checks (the
        launcher measures every DISK_POLL s: the cell that filled it may have ended first); none if a cell's says it."""
        if not any(result.evalue in line for line in self.state.errors):
            self.state.errors.append(f"{self.name_in_report}: {result.describe()}")

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
        return min(self.state.options.timeout, self.budget - self.cells_seconds)

    def keep(self, cell):
        return True

    def run_cell(self, item, source, timeout):
        """The cell's result; a cell stopped by an import of a package the grader does not have is run again without
        that import (grader/parts/missing_imports.py), with a note, for each package it lacks (at most MAX_MISSING)."""
        result = self.kernel_session.run(source, timeout=timeout, keep=self.keep(item.cell))
        self.cells_seconds += result.seconds
        for _ in range(MAX_MISSING):
            error = result.status is Status.ERROR
            package = error and missing_imports.missing_package(result.ename, result.evalue)
            style = error and not package and old_styles.removed_style(result.ename, result.evalue)
            if package:
                source, changed = missing_imports.without_imports(source, package)
                note = (f"{package} is not installed where the notebook is graded; the cell was run again without "
                        f"importing it ({missing_imports.consequence(package)})")
            else:
                source, changed = old_styles.renamed(source, style) if style else (source, False)
                note = f"matplotlib {old_styles.NOTE.format(style=style)}"
            timeout = self.cell_timeout()
            if not changed or timeout <= 0:
                break
            self.state.notes.append(f"{self.name_in_report} cell {item.cell_num} (`{first_line(item.cell.source)}`): "
                                    + note)
            result = self.kernel_session.run(source, timeout=timeout, keep=self.keep(item.cell))
            self.cells_seconds += result.seconds
        return result

    def source_to_run(self, item):
        """The code the kernel runs for a cell: its source as written (see MainNotebook)."""
        return item.cell.source

    def cell_failed(self, item, result):
        """A line of the report's errors for a cell that did not run cleanly."""
        restarted = result.status in (Status.TIMEOUT, Status.DEAD) and self.kernel_session is not None and self.kernel_session.restarts
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
            raise NbCellError(self.cell_num, nbfile.state.out_of_time(), self.cell.source)
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
        try:
            result = nbfile.run_cell(self, nbfile.source_to_run(self), timeout)
            if result.status is not Status.BUDGET:
                nbfile.after_cell(self, result)
        except Exception as exc:   # the grader's own failure: the report is not graded, never the cell's lost points
            nbfile.state.grader_errors.append(f"{nbfile.name_in_report} cell {self.cell_num}: {type(exc).__name__}: {exc}")
            raise NbCellError(self.cell_num, f"the grader failed to run it ({type(exc).__name__}: {exc})",
                              self.cell.source) from exc
        if result.status is Status.BUDGET:
            raise NbCellError(self.cell_num, nbfile.state.out_of_time(), self.cell.source)
        if not result.ok and not nbfile.tolerated(self, result):
            nbfile.cell_failed(self, result)
            traceback = "\n".join(line for o in result.outputs if o.get("output_type") == "error"
                                  for line in o.get("traceback", []))
            raise NbCellError(self.cell_num, result.describe(), self.cell.source, traceback or None)


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
            except Exception as exc:  # a grader bug: the other checks still run; the report is then not graded
                message = f"the grader failed to judge it ({type(exc).__name__}: {exc})"
                nbfile.state.grader_errors.append(f"{self.target}: {self.check_name}: {type(exc).__name__}: {exc}")
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
