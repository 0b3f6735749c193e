"""Grading one submission: one pytest session over nbval, in this process (the hooks: :mod:`grader.plugin`).

    result = grade_submission("submissions/alice", Options(timeout=60))
    result["score"], result["max_score"], result["checks"], result["errors"]

Three parts, each in a fresh kernel (the sandbox's by default), each failing alone: :mod:`grader.parts.modules`,
:mod:`grader.parts.differentiation`, :mod:`grader.parts.main_notebook` (skipped with ``fast=True``).

The submission crosses ``pytest.main`` in the session's stash (:data:`SUBMISSIONS`, keyed by the argument the
session collects); the plugin keeps each submission's findings in :data:`STATES`.

``grade_submission`` runs pytest in this process (a second Python per submission would cost its start-up
and recompute the reference's expected values); ``python -m pytest`` with :func:`pytest_args` gives the same
verdicts by hand.
"""
import contextlib
import io
import time
from pathlib import Path

import pytest

from grader import KIT_ROOT
from grader import scratch
from grader.execution.probe import SEED, draw_seed
from grader.execution.workcopy import prepare
from grader.intake.discover import Submission, shown
from grader.options import Options

STATES = pytest.StashKey[dict]()        # {submission argument: grader.report.report.Grading} of a session, in collection order
SUBMISSIONS = pytest.StashKey[dict]()   # {resolved argument path: grader.intake.discover.Submission} (set by grade_submission)


def states(config):
    """{submission argument: grader.report.report.Grading} of this session, in collection order."""
    return config.stash[STATES]


def pytest_args(path, options=Options()):
    """The pytest command line (after ``python -m pytest``) that grades one submission; README shows it."""
    return [str(path), "-c", str(KIT_ROOT / "grader" / "pytest.ini"), *options.pytest_args()]


class _Collect:
    """A plugin object: hands the session an intake Submission for its argument and the batch's seed, keeps the
    session's reports."""

    def __init__(self, arg, submission, started, seed):
        self.arg, self.submission, self.started, self.seed = arg, submission, started, seed
        self.reports = []

    def pytest_configure(self, config):
        if self.seed is not None:   # in memory, never on a command line that a kernel could read
            config.stash[SEED] = self.seed
        if self.submission is not None:
            config.stash[SUBMISSIONS] = {Path(self.arg).resolve(): self.submission}

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        for grading in states(session.config).values():
            grading.started = self.started    # the report's seconds: the whole session's
        self.reports = [grading.report().as_dict() for grading in states(session.config).values()]


def grade_submission(path, options=Options(), seed=None):
    """Grades one submission (a grader.intake.discover.Submission, or a folder / .zip path) through pytest and nbval,
    in this process, with `options` (grader/options.py), its checks on the inputs drawn from `seed` (the batch's
    secret, :func:`grader.execution.probe.draw_seed`; a fresh one if None); returns the report (a dict:
    Report.as_dict()).

    The same verdicts as ``python -m pytest`` with :func:`pytest_args` by hand. Input that cannot be read gets a
    graded report with the reason in its errors (it scores 0); a failure of the grader an ungraded one
    (:meth:`grader.report.report.Report.ungraded`): never an exception.
    """
    from grader.report.report import Grading, Report
    started = time.perf_counter()
    with scratch.TemporaryDirectory(prefix="hw3-arg-") as tmp:
        if isinstance(path, Submission):   # found by the intake: its files may be anywhere, pytest gets a stand-in
            arg, submission = Path(tmp) / shown(path.key).replace("/", "_"), path
            arg.mkdir()
        else:
            arg, submission = Path(path), None
            if not arg.exists() or not (arg.is_dir() or arg.suffix.lower() == ".zip"):
                prepared = prepare(path, Path(tmp) / "submission")
                grading = Grading(identity_of(path), options, started=started)
                grading.errors += prepared.errors or [f"{shown(path)}: cannot read the submission"]
                grading.notes += prepared.notes
                return grading.report().as_dict()
        collector = _Collect(arg, submission, started, draw_seed() if seed is None else int(seed))
        output = io.StringIO()
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = pytest.main(pytest_args(arg, options) + ["-q", "-s", "-p", "no:faulthandler"], plugins=[collector])
    if len(collector.reports) != 1 or code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        tail = " | ".join(output.getvalue().strip().splitlines()[-3:])[:500]
        from grader.execution.failures import GRADER_FAILED
        return Report.ungraded(identity_of(path), GRADER_FAILED.format(error=f"pytest exit {int(code)}: {tail}"),
                               options).as_dict()
    return collector.reports[0]


def identity_of(submission):
    """Who a report is about: the intake's key, label, platform and name (a bare path: the path)."""
    if isinstance(submission, Submission):
        return {"submission": submission.label, "key": submission.key, "platform": submission.platform,
                "name": submission.name}
    text = shown(submission)
    return {"submission": text, "key": shown(Path(str(submission).rstrip("/")).name), "platform": "folder", "name": ""}
