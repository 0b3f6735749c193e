"""One submission's wall-clock budget, shared by every kernel that grades it.

    clock = Clock(1800)
    session = KernelSession(workdir, clock=clock)      # every cell, probe, restart and replay draws on it

Per-cell and per-module limits bound one cell; they do not bound a submission whose cells ignore interrupts and
hang one after the other, each hang restarting the kernel and replaying every long cell before it (hours for
one submission). The clock does: a cell is given at most what is left, a replay after a restart as well, and
once it is spent nothing more of that submission runs; what was not run is named in its report.
"""
import time

SUBMISSION_LIMIT = 1800     # seconds for one submission, all notebooks, restarts and replays included


class Clock:
    """Starts on first use (a pytest session collects every submission before it runs the first)."""

    def __init__(self, seconds=SUBMISSION_LIMIT):
        self.seconds = float(seconds)
        self.started = None

    def left(self):
        if self.started is None:
            self.started = time.monotonic()
        return self.seconds - (time.monotonic() - self.started)

    def bound(self, timeout):
        """`timeout`, or what is left of the budget if that is less (never below 0)."""
        return max(0.0, min(timeout, self.left()))

    def spent(self):
        return self.left() <= 0
