"""The grading options: one object, each default written once, the same names at both front doors.

    options = Options(timeout=30, fast=True)
    grade_submission(path, options)                   # grader/execution/session.py
    python -m grader SUBMISSION --timeout 30 --fast   # grader/__main__.py
    python -m pytest -c grader/pytest.ini SUBMISSION --timeout 30 --fast   # grader/plugin.py

Both front doors declare these options with :func:`add_arguments` (argparse, or pytest's option group, which
takes the same calls), so a name, its help and its default are written here only. The pytest door also
accepts the earlier spellings ``--hw3-timeout``, ``--hw3-fast``, ``--hw3-no-sandbox``, ``--hw3-profile`` and
``--hw3-json`` (the reports a session writes, as ``--json`` does).

Only what changes a report is an option of grading (:class:`Options`); where reports go (``--json``) and
where grading runs (``--jobs``, ``--cluster``) belong to the command line.
"""
from dataclasses import asdict, dataclass

from grader.execution import sandbox
from grader.execution.clock import SUBMISSION_LIMIT
from grader.selfcheck.versions import AUTO, VERSIONS

TIMEOUT = 60.0   # seconds: one notebook cell of the modules and differentiation notebooks, one module's checks
PROFILES = list(VERSIONS) + [AUTO]


@dataclass(frozen=True)
class Options:
    """How a submission is graded; every report of a run is graded with the same Options."""
    timeout: float = TIMEOUT   # a cell, and all checks of one module (the main notebook's cells share its budget)
    fast: bool = False         # skip HW3_main.ipynb
    sandbox: bool = True       # run the kernels in the sandbox (False: --no-sandbox)
    profile: str = AUTO        # the assignment version every notebook is judged by (AUTO: the one it was written against)
    submission_limit: float = SUBMISSION_LIMIT   # wall-clock seconds of one submission, all its notebooks

    def __post_init__(self):
        object.__setattr__(self, "timeout", float(self.timeout))
        object.__setattr__(self, "submission_limit", float(self.submission_limit))
        if self.timeout <= 0 or self.submission_limit <= 0:
            raise ValueError("the timeout and the submission limit must be positive")
        if self.profile not in PROFILES:
            raise ValueError(f"unknown assignment version {self.profile!r}: one of {', '.join(PROFILES)}")

    @property
    def kernel_name(self):
        """The Jupyter kernel every notebook of a submission runs in."""
        return sandbox.KERNEL_NAME if self.sandbox else sandbox.NO_SANDBOX_KERNEL

    def as_dict(self):
        """The options as the journal records them (a report graded with other options is graded again)."""
        return asdict(self)

    def pytest_args(self):
        """The options on pytest's command line (grader/plugin.py reads them back with :meth:`from_namespace`)."""
        args = ["--timeout", f"{self.timeout:g}"]
        args += ["--fast"] if self.fast else []
        args += [] if self.sandbox else ["--no-sandbox"]
        args += ["--profile", self.profile] if self.profile != AUTO else []
        args += ["--submission-limit", f"{self.submission_limit:g}"] if self.submission_limit != SUBMISSION_LIMIT else []
        return args

    @classmethod
    def from_namespace(cls, namespace):
        """The Options of parsed arguments (argparse's namespace or pytest's ``config.option``)."""
        return cls(timeout=namespace.timeout, fast=namespace.fast, sandbox=not namespace.no_sandbox,
                   profile=namespace.profile, submission_limit=namespace.submission_limit)


def add_arguments(add, aliases=False):
    """Declares the grading options with `add` (argparse's ``add_argument`` or pytest's ``group.addoption``);
    `aliases`: also the pytest door's earlier ``--hw3-*`` spellings."""
    def names(name):
        return (name, "--hw3-" + name[2:]) if aliases else (name,)
    add(*names("--timeout"), dest="timeout", type=float, default=TIMEOUT, metavar="SECONDS",
        help=f"time limit of one notebook cell and of all checks of one module (default {TIMEOUT:g})")
    add(*names("--fast"), dest="fast", action="store_true",
        help="skip HW3_main.ipynb (module and differentiation checks only)")
    add(*names("--no-sandbox"), dest="no_sandbox", action="store_true",
        help="run the kernels without the sandbox (every report then says so); only where bubblewrap cannot run")
    add(*names("--submission-limit"), dest="submission_limit", type=float, default=SUBMISSION_LIMIT, metavar="SECONDS",
        help="wall-clock limit of one submission: all its notebooks, restarts and replays included "
             f"(default {SUBMISSION_LIMIT:g})")
    add(*names("--profile"), dest="profile", default=AUTO, choices=PROFILES, metavar="NAME",
        help=f"the assignment version the notebooks are judged by (default {AUTO}: each notebook by the version it "
             "was written against, read off its text); a version's name (" + ", ".join(VERSIONS) + ") judges every "
             "notebook by that one, with a note where a notebook looks written against another")
    add(*names("--json"), dest="json", default=None, metavar="FILE",
        help="write the reports here, plus FILE.csv, FILE_feedback/ and the summary chart")


def refusal(why):
    """Why the grader will not grade here (`why`: what grader.execution.sandbox.problem said) and what to do, in the
    words of every front door (the command line, pytest's, a cluster's worker)."""
    return (f"cannot grade in a sandbox: {why}. Submissions are untrusted code: fix that, or pass --no-sandbox to "
            "grade without one (every report then says so)")
