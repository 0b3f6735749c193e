"""A batch of submissions graded on a Dask client, each report kept the moment it arrives.

    reports = grade_batch(client, discover(paths), Options(fast=True), json_path="out/grades.json", resume=True)

Each report is appended to the journal (``FILE``'s stem + ``.jsonl``, one JSON line per submission) as it
arrives, and the gradebook (``write_reports``: the JSON, the CSV, the feedback files) is rewritten from time to
time and at the end: a batch interrupted half-way keeps what was graded, and ``resume=True`` grades only the
submissions (by their intake key) the journal does not hold yet (graded with the same kit and options).

At most a few tasks per worker thread are on the cluster at once, so the scheduler never holds the files of
the whole course. Progress (done, running, failed, time left) is a tqdm bar on a terminal; every report also
prints one line.
"""
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

from grader.execution import cluster
from grader.execution.failures import FirstFailures, grader_error
from grader.execution.probe import draw_seed
from grader.execution.session import identity_of
from grader.report.report import Report
from grader.report.safetext import clean_tree, terminal

REWRITE_EVERY = 15      # seconds between two rewrites of the gradebook while the batch runs
PER_THREAD = 2          # tasks in flight per worker thread
MIN_IN_FLIGHT = 4


class BatchAborted(RuntimeError):
    """The batch cannot go on (a worker with another kit, the scheduler lost, the first submissions all not graded
    for one reason); what was graded is kept."""


def grader_failure(submission, exc, options):
    """The report of a submission the grader itself failed on (a bug to report, or a cluster that cannot load the
    grader: never the student's fault): not graded, the reason and what to do (grader/execution/failures.py)."""
    return Report.ungraded(identity_of(submission), grader_error(exc), options, notes=submission.notes).as_dict()


class Journal:
    """FILE.jsonl: one line per graded submission, {"key", "kit", "options", "seed", "report"}, appended and flushed.

    ``seed`` is the batch's secret the grading inputs were drawn from (the instructor's file, never a student's):
    ``--resume`` grades the rest on the same inputs, so that every report of the batch is comparable."""

    def __init__(self, path, kit, options):
        self.path = Path(path)
        self.kit = kit
        self.options = options
        self.seed = None
        self.file = None

    def load(self):
        """({key: report}, number of other lines) of the lines graded with this kit, these options and one seed
        (the first such line's: the batch being resumed); a torn last line is skipped. Sets ``self.seed``."""
        done, other = {}, 0
        if not self.path.exists():
            return done, other
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
                key, report, seed = entry["key"], entry["report"], entry.get("seed")
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            if entry.get("kit") == self.kit and entry.get("options") == self.options and isinstance(seed, int) \
                    and seed == (self.seed if self.seed is not None else seed):
                self.seed = seed
                if isinstance(report, dict) and report.get("graded") is not False:   # not graded: graded again
                    done[key] = clean_tree(report)
            else:
                other += 1
        return done, other

    def open(self, append):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "a" if append else "w")

    def add(self, key, report):
        self.file.write(json.dumps({"key": key, "kit": self.kit, "options": self.options, "seed": self.seed,
                                    "report": report}) + "\n")
        self.file.flush()

    def close(self):
        if self.file is not None:
            self.file.close()


class Progress:
    """One line per report, plus a tqdm bar (done, running, failed, time left) when stderr is a terminal."""

    def __init__(self, total, already=0):
        from tqdm.auto import tqdm
        self.total = total
        self.done = already
        self.failed = 0
        self.bar = tqdm(total=total, initial=already, unit="submission", dynamic_ncols=True,
                        disable=not sys.stderr.isatty(), smoothing=0.1)

    def line(self, text):
        text = terminal(text)   # a student's name or file name: no escape sequence reaches the TA's terminal
        if self.bar.disable:
            print(text, flush=True)
        else:
            self.bar.write(text)

    def report(self, report, failed):
        self.done += 1
        self.failed += failed or report.get("graded") is False
        errors = f", {len(report['errors'])} problems" if report["errors"] else ""
        who = report["submission"] + (f" ({report['key']})" if report.get("platform") in ("canvas", "moodle") else "")
        if report.get("graded") is False:
            self.line(f"[{self.done}/{self.total}] {who}: NOT GRADED: {report['errors'][0]}")
        else:
            version = f" [{report['version']}]" if report.get("version") else ""
            review = (f", {report['awaiting_review']:g} points await a TA's review" if report.get("awaiting_review")
                      else "")
            self.line(f"[{self.done}/{self.total}] {who}{version}: {report['score']:g} / {report['max_score']:g}"
                      f"{review}{errors} ({report.get('seconds', 0):.0f} s)")
        self.bar.update(1)

    def status(self, running):
        self.bar.set_postfix_str(f"running {running}, failed {self.failed}", refresh=True)

    def close(self):
        self.bar.close()


# What distributed raises when a wait times out: asyncio's TimeoutError, which is the built-in one only from Python
# 3.11 (on 3.10 `except TimeoutError` missed it, and the first second a batch waited on its kernels ended the batch).
WAIT_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)


def finished_within(wait, futures, seconds):
    """The futures of `futures` done within `seconds` (distributed.wait, FIRST_COMPLETED), [] when none is."""
    try:
        return wait(futures, timeout=seconds, return_when="FIRST_COMPLETED").done
    except WAIT_TIMEOUTS:
        return []


def grade_batch(client, submissions, options, json_path=None, resume=False, write=None):
    """Grades every grader.intake.discover.Submission on `client`; returns the reports in their order.

    options: the grader.options.Options of every submission. The seed is not one of them: the batch draws its secret
    here (grader.execution.probe.draw_seed), or takes the journal's when resuming, and sends it with each task.
    write(reports): writes the gradebook of the reports so far (called now and then, and at the end).
    Raises BatchAborted (what was graded is in the journal and the gradebook).
    """
    from distributed import Variable, wait
    from distributed.scheduler import KilledWorker
    keys = [s.key for s in submissions]
    kit = cluster.kit_fingerprint()
    local = cluster.is_local(client)   # its workers run this kit: no fingerprint sent for them to check
    reports = [None] * len(submissions)
    journal = None
    if json_path:
        journal = Journal(Path(json_path).with_suffix(".jsonl"), kit, options.as_dict())
        done, other = journal.load() if resume else ({}, 0)
        for i, key in enumerate(keys):
            if key in done:
                reports[i] = done[key]
        if resume:
            kept = sum(r is not None for r in reports)
            print(f"--resume: {kept} of {len(submissions)} already graded in {journal.path}"
                  + (f"; {other} entries graded with another kit or other options are graded again" if other else ""),
                  flush=True)
        journal.seed = journal.seed if journal.seed is not None else draw_seed()
        journal.open(append=resume)
    seed = journal.seed if journal else draw_seed()   # the same for every task
    todo = [i for i, r in enumerate(reports) if r is None]
    progress = Progress(len(submissions), already=len(submissions) - len(todo))
    first = FirstFailures(len(todo))
    batch = uuid.uuid4().hex[:12]
    running = set()

    def on_event(event):
        _, message = event
        if isinstance(message, dict) and str(message.get("runs", "")).startswith(f"hw3-{batch}-"):
            running.add(message["runs"])

    client.subscribe_topic(cluster.TOPIC, on_event)
    futures = {}            # future -> index
    variables = {}          # index -> Variable of its runs
    waiting = list(reversed(todo))
    last_write = time.monotonic()

    def submit(i, attempt=0):
        name = f"hw3-{batch}-{i}"
        if i not in variables:
            variables[i] = Variable(name, client=client)
            variables[i].set([])
        try:
            payload = cluster.pack(submissions[i])
        except (OSError, ValueError) as exc:
            message = f"{submissions[i].label}: cannot send it to the grading cluster ({exc})"
            finish(i, Report.ungraded(identity_of(submissions[i]), message, options, notes=submissions[i].notes,
                                      rubric=True).as_dict(), failed=True)
            return
        future = client.submit(cluster.grade_remote, payload, options, None if local else kit, name, seed, pure=False,
                               key=f"grade-{batch}-{i}-{attempt}")
        futures[future] = (i, attempt)

    def finish(i, report, failed=False):
        report = clean_tree(report)   # lone surrogates from a submission's text: replaced before any writer
        reports[i] = report
        running.discard(f"hw3-{batch}-{i}")
        if journal:
            journal.add(keys[i], report)
        progress.report(report, failed)
        if i in variables:
            variables.pop(i).delete()
        stop = first.add(report)
        if stop:
            raise BatchAborted(stop)

    try:
        while waiting or futures:
            room = max(MIN_IN_FLIGHT, PER_THREAD * sum(client.nthreads().values()))
            while waiting and len(futures) < room:
                submit(waiting.pop())
            if not futures:
                continue
            finished = finished_within(wait, list(futures), 1)
            for future in finished:
                i, attempt = futures.pop(future)
                try:
                    finish(i, future.result())
                except cluster.WorkerRefused as exc:
                    finish(i, Report.ungraded(identity_of(submissions[i]), f"not graded: a worker refused to grade it: "
                                              f"{exc}", options, notes=submissions[i].notes).as_dict(), failed=True)
                    raise BatchAborted(f"refusing to grade: {exc}") from None
                except KilledWorker:
                    # The scheduler gave up on the task after workers died (its allowed-failures): the runs
                    # it recorded decide whether it gets another one.
                    runs = variables[i].get()
                    if len(runs) >= cluster.MAX_RUNS or attempt >= 2 * cluster.MAX_RUNS:
                        finish(i, cluster.stopped_twice_report(submissions[i], runs, options), failed=True)
                    else:
                        submit(i, attempt + 1)
                except Exception as exc:   # a grader bug: still one report per submission
                    if future.status == "cancelled":
                        raise BatchAborted("the scheduler cancelled the batch's tasks (was it restarted or "
                                           "unreachable?)") from None
                    finish(i, grader_failure(submissions[i], exc, options), failed=True)
            progress.status(len(running & {f"hw3-{batch}-{i}" for i, _ in futures.values()}))
            if write and time.monotonic() - last_write > REWRITE_EVERY:
                write([r for r in reports if r is not None])
                last_write = time.monotonic()
    finally:
        progress.close()
        try:
            client.unsubscribe_topic(cluster.TOPIC)
            for future in futures:      # tasks already running finish on their workers; their reports are dropped
                future.cancel()
            for variable in variables.values():
                variable.delete()
        except Exception:               # the scheduler is gone: nothing left there to clean
            pass
        if journal:
            journal.close()
        if write:
            write([r for r in reports if r is not None])
    return reports
