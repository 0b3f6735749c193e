"""The grader as a pytest plugin on top of nbval: one submission = one collector, every cell and check a test item.

    .venv/bin/python -m pytest -c grader/pytest.ini SUBMISSION [SUBMISSION...] [--timeout S] [--fast] [--no-sandbox]
                               [--profile NAME] [--json FILE] [--junitxml FILE]

(run from the kit's folder; ``grader/pytest.ini`` loads this plugin, ``--nbval-lax`` and ``--noconftest``,
so nothing in a submission's folder is imported into the grader's process; the options are
grader/options.py's, as ``python -m grader`` takes them). Each SUBMISSION (a folder or a .zip) is copied into a
private folder next to the kit's ``grader/`` and ``data/``, and its collector yields its parts (:data:`PARTS`,
grader/parts/): every code cell an item, then every check.

The report of every submission is printed at the end and written by ``--json FILE`` (with the gradebooks and
feedback files, as ``python -m grader --json`` writes them).
"""
import shutil
from pathlib import Path

import pytest

from grader import scratch
from grader.execution import sandbox
from grader.execution.session import STATES, SUBMISSIONS, identity_of, states
from grader.execution.workcopy import prepare
from grader.options import Options, add_arguments, refusal
from grader.parts import course, integrity, numeric_scan
from grader.parts.differentiation import DifferentiationNotebook
from grader.parts.main_notebook import MainNotebook
from grader.parts.modules import ModulesNotebook
from grader.parts.unreadable import UnreadablePart, error_line as unreadable_error
from grader.report.report import Grading
from grader.report.safetext import clean_tree, terminal
from grader.report.writers import write_reports

PARTS = {ModulesNotebook.notebook: ModulesNotebook, DifferentiationNotebook.notebook: DifferentiationNotebook,
         MainNotebook.notebook: MainNotebook}   # a submission's graded notebooks, in grading order


def pytest_addoption(parser):
    add_arguments(parser.getgroup("hw3", "HW3 grading (grader/plugin.py, grader/options.py)").addoption, aliases=True)


def pytest_configure(config):
    config.stash[STATES] = {}
    if not config.option.no_sandbox and config.args and sandbox.problem():
        pytest.exit(refusal(sandbox.problem()), returncode=2)


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
    """Copies the submission next to the kit's grader/ and data/, then yields its parts."""

    def collect(self):
        submission = self.config.stash.get(SUBMISSIONS, {}).get(Path(self.path).resolve())
        identity = identity_of(submission or self.arg)
        grading = Grading(identity, Options.from_namespace(self.config.option))
        states(self.config)[self.arg] = grading
        tmp = scratch.mkdtemp(prefix="hw3-grade-")
        self.config.add_cleanup(lambda: shutil.rmtree(tmp, ignore_errors=True))
        try:   # pytest reads every part here: the grader failing on this submission is its grader error, never a 0
            yield from self._parts(grading, submission, identity, Path(tmp) / "submission")
        except Exception as exc:
            grading.grader_errors.append(f"while reading the submission: {type(exc).__name__}: {exc}")
            raise

    def _parts(self, grading, submission, identity, workdir):
        try:
            grading.prepared = prepare(submission or self.path, workdir)
        except Exception as exc:  # an unreadable folder: still a report, never a crash of the batch
            grading.errors.append(f"{identity['submission']}: cannot read the submission ({type(exc).__name__}: {exc})")
        prepared = grading.prepared
        grading.judge_by(prepared)
        parts = grading.parts()
        if prepared is not None:
            grading.notes = prepared.notes   # the parts add theirs (e.g. duplicate answers)
            if grading.version_note:
                grading.notes.append(grading.version_note)
            grading.errors += prepared.errors
            grading.errors += [unreadable_error(info, name in parts) for name, info in prepared.unreadable.items()]
            grading.errors += [unreadable_error(info, True) for info in grading.unreadable().values() if info.needs]
            grading.errors += integrity.scan(prepared) + numeric_scan.scan(prepared)
            grading.errors += [f"{name} not found in the submission" for name in prepared.missing if name in parts]
        unreadable = grading.unreadable()   # handed in, not a notebook to read: its points await a TA
        for name in parts:
            cls = (UnreadablePart if name in unreadable else course.PARTS[grading.course[name]]
                   if name in grading.course else PARTS[name])
            yield cls.from_parent(self, path=workdir / name, state=grading, nodeid=f"{self.nodeid}::{name}")


class SubmissionDir(_Submission, pytest.Directory):
    def __init__(self, *args, arg, **kwargs):
        super().__init__(*args, **kwargs)
        self.arg = arg


class SubmissionZip(_Submission, pytest.File):
    def __init__(self, *args, arg, **kwargs):
        super().__init__(*args, **kwargs)
        self.arg = arg


# -------------------------------------------------------------------------------------------- reports


def pytest_terminal_summary(terminalreporter, config):
    reports = [clean_tree(grading.report().as_dict()) for grading in states(config).values()]
    if not reports:
        return
    terminalreporter.section("HW3 grades")
    for report in reports:
        terminalreporter.write_line(terminal(f"{report['submission']}: {report['score']:g} / {report['max_score']:g}"
                                             + (f", {report['awaiting_review']:g} points await a TA's review"
                                                if report.get("awaiting_review") else "")
                                             + (" (--fast: main notebook not run)" if report["fast"] else "")))
        for error in report["errors"]:
            terminalreporter.write_line(terminal(f"    {error}"))
        for note in report["notes"]:
            terminalreporter.write_line(terminal(f"    note: {note}"))
    if config.option.json:
        written = write_reports(reports, config.option.json)
        terminalreporter.write_line("reports written: " + ", ".join(str(path) for path in written.values()))
