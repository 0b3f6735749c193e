"""Grading one submission: a pytest session over nbval (see :mod:`grader.plugin`); verdicts are reached here.

    result = grade_submission("submissions/alice", timeout=60)
    result["score"], result["max_score"], result["checks"], result["errors"]

Three parts, each in a fresh kernel (the sandbox's by default), each failing alone:

* ``HW3_Modules.ipynb``: the assignment version it was written against is read off the notebook
  (:func:`grader.selfcheck.versions.detect`, or forced with ``profile``); the code cells run one by one (cells
  holding only ``check(...)`` calls skipped), then every probe of that version's modules (:mod:`grader.selfcheck`)
  runs in the same kernel and sends back raw values; the judges compare them, here, with values computed from
  the kit's reference modules, by that version's conventions.
* ``HW3_differentiation.ipynb``: see :mod:`grader.differentiation`.
* ``HW3_main.ipynb``: see :mod:`grader.mainnb` (skipped with ``fast=True``).

``grade_submission`` runs pytest in this process (a second Python per submission would cost its start-up
and recompute the reference's expected values); ``python -m pytest`` with :func:`pytest_args` gives the same
verdicts by hand.
"""
import contextlib
import io
import json
import re
import secrets
import time
from functools import lru_cache
from pathlib import Path

import pytest

from grader import selfcheck as C
from grader import scratch
from grader.intake import Submission, shown
from grader.notebook import load_notebook
from grader.sandbox import KERNEL_NAME
from grader.selfcheck import versions as V
from grader.submission import KIT, prepare

MODULES = "HW3_Modules.ipynb"
SELFCHECK_LINE = re.compile(r"^\s*(check\s*\(.*\)\s*;?\s*|#.*)?$")

PROBE_HELPER = '''
def __hw3_probe(check_id, seed, version, nonce):
    import grader.selfcheck as _checks
    from IPython.display import publish_display_data as _publish
    _publish({_checks.MIME: dict(_checks.run_probe(check_id, dict(globals()), seed, version), nonce=nonce)})
'''


def draw_seed():
    """A fresh secret seed for one batch's grading inputs (Python's ``secrets``: unpredictable, never shipped).

    The students' ``check()`` has its own seed (``SELFCHECK_SEED``) and ships the expected values on its inputs;
    the grader's inputs are drawn from this seed, so a notebook cannot carry answers computed in advance. One
    seed serves a whole batch (its results stay comparable); the journal keeps it for ``--resume``."""
    while True:
        seed = secrets.randbits(63)
        if seed != C.SELFCHECK_SEED:
            return seed


@lru_cache(maxsize=1)
def _reference_modules():
    return load_notebook(KIT / MODULES, name="reference_modules")


@lru_cache(maxsize=8)
def reference_expected(version, seed):
    """Expected values of every check of `version` on the inputs drawn from `seed` (the batch's secret), from the
    kit's reference notebook: computed once per batch and version in each grading process."""
    return C.expected_values(_reference_modules(), seed, C.checks_for(version))


def is_selfcheck_cell(cell):
    """Cells holding nothing but check(...) calls and comments: a tag alone never hides code."""
    lines = cell.source.strip().splitlines()
    return bool(lines) and all(SELFCHECK_LINE.match(line) for line in lines) and "check" in cell.source


def new_nonce():
    """A fresh token for one request to the kernel: its answer must echo it (:func:`probe_payload`)."""
    return secrets.token_hex(16)


def probe_payload(result, nonce):
    """(payload, ignored) from a request's outputs: the probe's JSON that answers the request `nonce` (without the
    nonce), and how many outputs of the probe's type were not that answer.

    The notebook's code runs in the same kernel and may publish output of the probe's type itself (a hook before
    every cell, a forward() that prints one): only the one output that echoes the request's nonce, unknowable to the
    notebook before the request, is the answer. None when there is none, or when the nonce came back twice (the
    notebook's code read it during the request and answered in the probe's place: nothing from this request counts).
    """
    answers, ignored = [], 0
    for output in result.outputs:
        data = output.get("data", {}) if output.get("output_type") in ("display_data", "execute_result") else {}
        if not isinstance(data, dict) or C.MIME not in data:
            continue
        payload = data[C.MIME]
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError:
                payload = None
        if isinstance(payload, dict) and payload.get("nonce") == nonce:
            answers.append(payload)
        else:
            ignored += 1
    if len(answers) != 1:
        return None, ignored + (len(answers) if len(answers) > 1 else 0)
    return {k: v for k, v in answers[0].items() if k != "nonce"}, ignored


def failed_all(checks, message, version=C.KIT):
    return [C.Result(c.target, c.name, False, 0, c.points, message, version.class_name(c.target)) for c in checks]


def modules_version(prepared, profile=None):
    """(version, why, the checks of the targets it is judged on, a note or None) of the submission's
    HW3_Modules.ipynb.

    `profile` is the course's assignment version (a name of :data:`grader.selfcheck.versions.VERSIONS`; None: the
    kit's): every notebook is judged by it, and one that looks written against another version gets a note
    saying so (its modules the course asks for and it lacks score 0). ``"auto"`` (the instructor allows mixed
    versions) judges each notebook by the version it was written against (:func:`~grader.selfcheck.versions.detect`).
    """
    nb = prepared.notebooks.get(MODULES) if prepared is not None else None
    note = None
    if profile == V.AUTO:
        version, why = (V.KIT, f"no readable {MODULES}") if nb is None else V.detect(nb)
        why += " (--profile auto: each notebook by the version it was written against)"
    else:
        version = V.version(profile or V.KIT.name)
        why = f"the course's version (--profile {version.name})"
        seen, evidence = V.detect(nb) if nb is not None else (version, "")
        if seen.name != version.name and nb is not None and any(c.cell_type == "code" for c in nb.cells):
            why += f"; the notebook looks like {seen.name} ({evidence})"
            note = (f"{MODULES} looks written against {seen.title} ({evidence}). This course's assignment is "
                    f"{version.title}: the notebook is graded against it, and the modules it asks for that the "
                    "notebook does not define score 0. If you were given another version, ask your instructor.")
    targets = V.targets_of(version, V.definitions(nb)) if nb is not None else list(version.targets)
    return version, why, C.checks_of(version=version, targets=targets), note


def pytest_args(path, timeout=60, fast=False, kernel_name=None, junitxml=None, profile=None, submission_limit=None):
    """The pytest command line (after ``python -m pytest``) that grades one submission; README shows it."""
    args = [str(path), "-c", str(KIT / "grader" / "pytest.ini"), "--hw3-timeout", f"{timeout:g}"]
    if fast:
        args.append("--hw3-fast")
    if profile:
        args += ["--hw3-profile", profile]
    if submission_limit:
        args += ["--hw3-submission-limit", f"{submission_limit:g}"]
    if kernel_name and kernel_name != KERNEL_NAME:
        args += ["--hw3-kernel", kernel_name]
    if junitxml:
        args += ["--junitxml", str(junitxml)]
    return args


class _Collect:
    """A plugin object: hands the session an intake Submission for its argument and the batch's seed, keeps the
    session's reports."""

    def __init__(self, arg=None, submission=None, seed=None):
        self.arg, self.submission, self.seed = arg, submission, seed
        self.reports = []

    def pytest_configure(self, config):
        from grader.plugin import SEED, SUBMISSIONS
        if self.seed is not None:   # in memory, never on a command line that a kernel could read
            config.stash[SEED] = self.seed
        if self.submission is not None:
            config.stash[SUBMISSIONS] = {Path(self.arg).resolve(): self.submission}

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        from grader.plugin import states
        self.reports = [state.report() for state in states(session.config).values()]


def grade_submission(path, timeout=60, fast=False, log=lambda s: None, kernel_name=KERNEL_NAME, profile=None,
                     junitxml=None, seed=None, submission_limit=None):
    """Grades one submission (a grader.intake.Submission, or a folder / .zip path) through pytest and nbval, in
    this process, every kernel of it `kernel_name` (the sandbox unless --no-sandbox), its modules by the
    course's assignment version `profile` (the kit's if None; ``"auto"``: each notebook's own, see
    :func:`modules_version`), its checks on the inputs drawn from `seed` (the batch's secret, :func:`draw_seed`; a
    fresh one if None), all of it within `submission_limit` seconds of wall clock (grader.clock.SUBMISSION_LIMIT if
    None); returns the JSON-ready report dict.

    The same verdicts as ``python -m pytest`` with :func:`pytest_args` by hand. Input that cannot be read gets a
    report with the reason in its errors, as does a grader failure: never an exception.
    """
    from grader.plugin import SubmissionState
    started = time.perf_counter()
    kernel_name = kernel_name or KERNEL_NAME
    state = SubmissionState(identity_of(path), bool(fast), float(timeout), kernel_name, profile)
    with scratch.TemporaryDirectory(prefix="hw3-arg-") as tmp:
        if isinstance(path, Submission):   # found by the intake: its files may be anywhere, pytest gets a stand-in
            arg, submission = Path(tmp) / shown(path.key).replace("/", "_"), path
            arg.mkdir()
        else:
            arg, submission = Path(path), None
            if not arg.exists() or not (arg.is_dir() or arg.suffix.lower() == ".zip"):
                prepared = prepare(path, Path(tmp) / "submission")
                state.errors += prepared.errors or [f"{shown(path)}: cannot read the submission"]
                state.notes += prepared.notes
                return state.report()
        collector = _Collect(arg, submission, draw_seed() if seed is None else int(seed))
        output = io.StringIO()
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = pytest.main(pytest_args(arg, timeout, fast, kernel_name, junitxml, profile, submission_limit) + ["-q", "-s", "-p", "no:faulthandler"],
                               plugins=[collector])
    if len(collector.reports) != 1 or code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        tail = " | ".join(output.getvalue().strip().splitlines()[-3:])[:500]
        state.errors.append(f"the grader failed on this submission (pytest exit {int(code)}: {tail}); please report it")
        return state.report()
    report = collector.reports[0]
    report["seconds"] = round(time.perf_counter() - started, 1)
    log(f"{report['submission']}: {report['score']:g} / {report['max_score']:g} in {report['seconds']} s")
    return report


def identity_of(submission):
    """Who a report is about: the intake's key, label, platform and name (a bare path: the path)."""
    if isinstance(submission, Submission):
        return {"submission": submission.label, "key": submission.key, "platform": submission.platform,
                "name": submission.name}
    text = shown(submission)
    return {"submission": text, "key": shown(Path(str(submission).rstrip("/")).name), "platform": "folder", "name": ""}
