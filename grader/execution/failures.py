"""A submission the grader could not grade: the reason and what to do, and when a batch stops instead.

Whatever goes wrong on the grader's side makes a report that is not a grade (``Report.ungraded``: ``graded``
false, the reason and what to do its one error), never a score: an exception in the grader, a submission whose
runs stopped two workers, a worker that refuses, a cluster that cannot load the grader. The writers show it as
"not graded" (the kit's CSV), leave the grade empty in the Canvas and Moodle gradebooks (an upload changes nothing
for that student) and list it under the summary; ``python -m grader`` then exits with :data:`NOT_GRADED_EXIT`.

When the first :data:`FIRST` reports of a batch are all not graded for one reason (:class:`FirstFailures`), the
fault is the grader's or the cluster's, not the students': the batch stops and says what to fix, rather than
going through the whole course into a gradebook of failures.
"""
import re

NOT_GRADED_EXIT = 3      # python -m grader: the batch ran and some submissions were not graded (README, "Grading")
FIRST = 3                # the first reports of a batch that decide whether it stops

CANNOT_LOAD = ("not graded: the grading cluster could not load the grader ({error}); start the scheduler and every "
               "worker with the kit's .venv after `make setup` (README.md, 'Grading on a cluster'), then run the "
               "same command again with --resume")
GRADER_FAILED = ("not graded: the grader failed on this submission ({error}); the grader's fault, not the "
                 "student's: report it with the submission, and grade it again with --resume once it is fixed")
STOPPED = ("stopped after the first {n} submissions: none could be graded, all for the same reason:\n  {reason}\n"
           "Fix that, then run the same command again (with --json FILE, add --resume: what was graded is kept).")


def _short(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def grader_error(exc):
    """The reason a report gives for an exception raised while grading a submission (on a worker or here)."""
    text = _short(f"{type(exc).__name__}: {exc}")
    if "deserializ" in text.lower() or (isinstance(exc, ImportError) and "grader" in str(exc)):
        return CANNOT_LOAD.format(error=text)
    return GRADER_FAILED.format(error=text)


def cause(report):
    """What a not-graded report's reason says once what differs from one submission to the next is taken out
    (its name and key, paths, numbers): equal for two submissions the grader failed on the same way."""
    reason = (report.get("errors") or [""])[0]
    for own in sorted({str(report.get("submission", "")), str(report.get("key", ""))} - {""}, key=len, reverse=True):
        reason = reason.replace(own, "_")
    return re.sub(r"(?:/[^\s:;,()'\"]+)+|\d+(?:\.\d+)?", "_", reason)


class FirstFailures:
    """Watches the first FIRST reports of a batch of `total` submissions: :meth:`add` returns what to stop with
    once they are all not graded for one cause and submissions are left, else None."""

    def __init__(self, total, first=FIRST):
        self.total, self.first, self.seen = total, first, []

    def add(self, report):
        if len(self.seen) >= self.first:
            return None
        self.seen.append(report)
        if len(self.seen) < self.first or self.total <= self.first:
            return None
        if all(r.get("graded") is False for r in self.seen) and len({cause(r) for r in self.seen}) == 1:
            return STOPPED.format(n=self.first, reason=self.seen[0]["errors"][0])
        return None


def not_graded(reports):
    """The reports that are not grades."""
    return [r for r in reports if r is not None and r.get("graded") is False]
