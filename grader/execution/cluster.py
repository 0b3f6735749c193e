"""Where a batch is graded: a Dask distributed cluster, one task per submission.

    with connect("tcp://10.0.0.5:8786") as client:    # an existing cluster (`dask scheduler`, `dask worker`)
        ...
    with connect(None, jobs=2) as client:             # a LocalCluster of 2 one-thread workers here
        ...

No shared file system is assumed: a task carries the submission (a :class:`grader.intake.discover.Submission`, found on
the client) with its files as bytes (:func:`pack`); the worker grades a private copy with the very function
local grading uses (:func:`grade_remote` calls :func:`grader.execution.session.grade_submission`, so its kernels are
sandboxed exactly as they are locally) and sends the report back, every path in it put back to the client's.

A worker grades only with the client's kit, and only in the sandbox (unless the TA said --no-sandbox): the
task carries the client's :func:`kit_fingerprint` and a worker whose own differs, or that cannot make a sandbox,
refuses (:class:`WorkerRefused`); :func:`check_workers` asks every worker the same before the batch starts.

A worker that dies mid-task (a kernel that takes the machine's memory, a node taken back by the cluster's
queue) makes the scheduler run the task again elsewhere. Each run records its worker in a Dask ``Variable``
named after the submission, before it grades; the run that finds two earlier runs there does not grade: the
submission has stopped two workers, and its report says so (:func:`stopped_twice_report`). A report graded on a
second run says so too.
"""
import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import os
import socket
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from grader import KIT_ROOT, NOTEBOOKS
from grader import scratch
from grader.execution import sandbox
from grader.execution.session import grade_submission, identity_of
from grader.options import refusal as cannot_sandbox
from grader.execution.workcopy import KIT_FOLDERS, NOT_COPIED as NOT_SENT   # never sent: the kit's replace them
from grader.intake.notebooks import MAX_NOTEBOOK_BYTES
from grader.report.report import Report

TOPIC = "hw3-grader"      # the event topic a task announces its start on (the client's progress bar)
MAX_RUNS = 2              # a submission is graded at most twice: once, and once more if its worker died
MAX_PAYLOAD = 512 * 2 ** 20
KIT_FILES = NOTEBOOKS + ("requirements.txt",)
SKIPPED = ("__pycache__", ".ipynb_checkpoints")
RETRIED = ("grading was restarted from the beginning on another machine after the first one stopped mid-way "
           "({first}); this report is from the second, complete run")
STOPPED_TWICE = ("not graded: grading it stopped two machines of the grading cluster in turn ({workers}), so it was "
                 "not tried a third time (a notebook that exhausts the memory or crashes the machine?); a TA should "
                 "run it by hand")


class WorkerRefused(RuntimeError):
    """A worker whose grader code or reference notebooks differ from the client's, or that cannot make the
    sandbox: it grades nothing."""


class ClusterError(RuntimeError):
    """The cluster cannot be used (unreachable scheduler, a worker with another kit): the message says what to do."""


# -- the kit

@lru_cache(maxsize=1)
def kit_fingerprint():
    """SHA-256 over the kit's grader code, reference notebooks, data and pinned requirements (paths and bytes)."""
    digest = hashlib.sha256()
    files = [KIT_ROOT / name for name in KIT_FILES]
    for folder in KIT_FOLDERS:
        files += [p for p in (KIT_ROOT / folder).rglob("*") if p.is_file() and not set(p.parts) & set(SKIPPED)
                  and p.suffix != ".pyc"]
    for path in sorted(files):
        digest.update(path.relative_to(KIT_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"(missing)")
        digest.update(b"\0")
    return digest.hexdigest()


@lru_cache(maxsize=None)
def sandbox_problem(kernel_name):
    """None if kernels named `kernel_name` can start here (the sandbox: bubblewrap works), else why not."""
    return sandbox.problem() if kernel_name == sandbox.KERNEL_NAME else None


def kit_description(kernel_name):
    """What a worker reports: its kit's fingerprint, host and folder, and why it cannot make the sandbox (or None)."""
    return {"kit": kit_fingerprint(), "host": socket.gethostname(), "folder": str(KIT_ROOT),
            "sandbox": sandbox_problem(kernel_name)}


def refusal(worker, theirs, ours):
    """Why `worker` (described by `theirs`) must not grade for a client whose kit is `ours`, or None."""
    where = f"the worker {worker} ({theirs.get('host', '?')}:{theirs.get('folder', '?')})"
    if theirs.get("kit") != ours:
        return (f"{where} runs another kit than this client (grader code and reference notebooks: "
                f"{str(theirs.get('kit'))[:12]} there, {ours[:12]} here): check out the same commit of the kit "
                "there, run make setup, and restart that worker")
    if theirs.get("sandbox"):
        return f"{where} {cannot_sandbox(theirs['sandbox'])}"
    return None


def check_workers(client, kernel_name):
    """Raises ClusterError naming every connected worker that would refuse (another kit, no sandbox, no grader)."""
    ours = kit_fingerprint()
    answers = client.run(kit_description, kernel_name, on_error="return")
    problems = []
    for worker, answer in sorted(answers.items()):
        if isinstance(answer, BaseException):
            problems.append(f"the worker {worker} cannot run the grader ({type(answer).__name__}: {answer}): start it "
                            "from the kit's folder with the kit's .venv (see README.md, 'Grading on a cluster')")
        elif refusal(worker, answer, ours):
            problems.append(refusal(worker, answer, ours))
    if problems:
        raise ClusterError("refusing to grade:\n  " + "\n  ".join(problems))
    return len(answers)


# -- where the batch runs

@contextlib.contextmanager
def connect(address=None, jobs=1, kernel_name=None, wait=None):
    """A distributed Client: to the scheduler at `address`, else to a LocalCluster of `jobs` one-thread workers,
    whose workers all run this kit and can start kernels named `kernel_name` (default: the sandbox).

    Raises ClusterError if the scheduler cannot be reached or a worker would refuse.
    """
    from distributed import Client, LocalCluster
    cluster = None
    if address:
        try:
            client = Client(address, timeout="20s")
        except (OSError, TimeoutError, asyncio.TimeoutError) as exc:   # asyncio's is its own class before 3.11
            raise ClusterError(f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}: {exc}); is "
                               "`dask scheduler` running there, and is its port open from here?") from None
    else:
        # Workers are processes (a kernel's crash or the memory limit's killer takes one worker, never the batch);
        # no memory limit of the nanny's: each kernel has its own (grader/execution/kernel.py).
        # Their spill folders (and the nannies') inside this process's scratch folder: gone with it, however the
        # grader ends.
        import dask
        dask.config.set({"temporary-directory": scratch.mkdtemp(prefix="hw3-dask-")})
        # Loopback only, its HTTP server (dashboard, health) included: ":0" listened on every interface, showing the
        # batch's tasks (students' names) to the network of a grading machine.
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address="127.0.0.1:0", memory_limit=0, silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        if not client.nthreads():
            if wait is not None:
                wait(f"no worker has joined the scheduler at {address} yet: waiting for one")
            client.wait_for_workers(1)
        if cluster is None:   # a LocalCluster's workers are this Python in this kit's folder, its sandbox checked
            check_workers(client, kernel_name or sandbox.KERNEL_NAME)   # by the command: nothing to ask them
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def is_local(client):
    """True for the Client of a LocalCluster that :func:`connect` started here (its workers run this very kit)."""
    from distributed import LocalCluster
    return isinstance(getattr(client, "cluster", None), LocalCluster)


# -- what travels with a task

@dataclass
class Payload:
    """One submission as the intake found it, with its files as bytes.

    roots: the client's paths that travel, each a folder (the student's folder) or a file (a notebook outside it);
    files: for root i, {relative posix path: bytes, or an Oversized for a notebook too large to read} (a file root:
        {"": bytes}).
    """
    submission: object             # grader.intake.discover.Submission, its paths the client's
    roots: list = field(default_factory=list)       # [(client path, "folder" | "file")]
    files: list = field(default_factory=list)       # per root: {relative path: bytes or Oversized}

    @property
    def size(self):
        return sum(len(b) for files in self.files for b in files.values())


HEAD_SENT = 1 << 20   # bytes of an oversized notebook that travel: what a TA's review shows of it


@dataclass(frozen=True)
class Oversized:
    """A notebook larger than the grader reads (MAX_NOTEBOOK_BYTES), as it travels: its first bytes and its size.
    The worker writes a file of that size (the head, then a hole), which the intake refuses unread as it refuses
    the original; the whole file in a task cost about five times its size in memory (read, pickled, unpickled)."""
    head: bytes
    size: int

    def __len__(self):
        return len(self.head)


def _content(path):
    """What travels of one file: its bytes, or an Oversized for a notebook the grader would not read."""
    size = path.stat().st_size
    if path.suffix.lower() == ".ipynb" and size > MAX_NOTEBOOK_BYTES:
        with open(path, "rb") as f:
            return Oversized(f.read(HEAD_SENT), size)
    return path.read_bytes()


def _write(path, data):
    """Writes what travelled (bytes or an Oversized) at `path`."""
    with open(path, "wb") as f:
        if isinstance(data, Oversized):
            f.write(data.head)
            f.truncate(data.size)   # a hole: no disk, no memory
        else:
            f.write(data)


def _folder_files(folder, budget):
    """{relative posix path: bytes} of what the grader copies from a student's folder (no symlinks, no build
    products, not the student's own grader/ or data/); raises ValueError past `budget` bytes."""
    files, total = {}, 0
    for here, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in NOT_SENT and not (Path(here) / d).is_symlink())
        for name in sorted(names):
            path = Path(here) / name
            if path.is_symlink() or not path.is_file():
                continue
            total += path.stat().st_size
            if total > budget:
                raise ValueError(f"the submission's folder holds more than {MAX_PAYLOAD // 2 ** 20} MiB: remove what "
                                 "is not the homework (data sets, environments) and grade it again")
            files[path.relative_to(folder).as_posix()] = _content(path)
    return files


def pack(submission):
    """The Payload of a grader.intake.discover.Submission: its folder's files and its notebooks, read on the client.

    Raises ValueError if they hold more than MAX_PAYLOAD bytes, OSError if they cannot be read.
    """
    payload = Payload(submission)
    folder = Path(submission.folder) if submission.folder and Path(submission.folder).is_dir() else None
    if folder is not None:
        payload.roots.append((submission.folder, "folder"))
        payload.files.append(_folder_files(folder, MAX_PAYLOAD))
    for source in submission.files.values():
        inside = folder is not None and Path(source).resolve().is_relative_to(folder.resolve())
        if inside and Path(source).relative_to(folder).as_posix() in payload.files[0]:
            continue
        if any(root == source for root, _ in payload.roots):
            continue
        payload.roots.append((source, "file"))
        payload.files.append({"": _content(Path(source))})
    if payload.size > MAX_PAYLOAD:
        raise ValueError(f"the submission's files hold more than {MAX_PAYLOAD // 2 ** 20} MiB")
    return payload


def unpack(payload, root):
    """Writes the payload's files under `root`; returns (the Submission with the worker's paths, {worker path:
    client path} of each root)."""
    where = {}
    for n, ((client, kind), files) in enumerate(zip(payload.roots, payload.files)):
        target = Path(root) / f"r{n}" / (Path(client).name or "submission")
        if kind == "file":
            target.parent.mkdir(parents=True)
            _write(target, files[""])
        else:
            target.mkdir(parents=True)
            for relative, data in files.items():
                file = (target / relative).resolve()
                if not file.is_relative_to(target.resolve()):   # only a forged payload has such a path
                    continue
                file.parent.mkdir(parents=True, exist_ok=True)
                _write(file, data)
        where[client] = str(target)

    def local(path):
        if path in where:
            return where[path]
        for client, kind in payload.roots:
            if kind == "folder" and Path(path).is_relative_to(client):
                return str(Path(where[client]) / Path(path).relative_to(client))
        return path

    sub = payload.submission
    here = dataclasses.replace(sub, files={kit: local(src) for kit, src in sub.files.items()},
                               folder=local(sub.folder) if sub.folder else sub.folder,
                               notes=list(sub.notes), problems=list(sub.problems))
    return here, {worker: client for client, worker in where.items()}


def relabel(value, paths):
    """`value` with every mention of a worker's path put back to the client's ({worker path: client path})."""
    if isinstance(value, str):
        for worker in sorted(paths, key=len, reverse=True):
            value = value.replace(worker, paths[worker])
        return value
    if isinstance(value, list):
        return [relabel(v, paths) for v in value]
    if isinstance(value, dict):
        return {k: relabel(v, paths) for k, v in value.items()}
    return value


# -- reports that are not a grading

def stopped_twice_report(submission, workers, options):
    """A submission whose runs stopped two workers: not graded, its gradebook row listing every check failed."""
    return Report.ungraded(identity_of(submission), STOPPED_TWICE.format(workers=", ".join(workers) or "?"), options,
                           notes=submission.notes, rubric=True).as_dict()


# -- the task

def grade_remote(payload, options, kit, runs_name, seed=None):
    """Runs on a worker: refuses another kit, records this run, grades a private copy with `options` (a
    grader.options.Options) on the inputs drawn from `seed` (the batch's secret), returns the report.

    Raises WorkerRefused if this worker's kit is not the client's `kit`, or it cannot make the sandbox. `kit` None:
    a worker of the client's own LocalCluster, which runs the client's kit (no fingerprint, no sandbox probe to make).
    """
    from distributed import Variable, get_client, get_worker
    worker = get_worker()
    why = kit is not None and refusal(worker.address, kit_description(options.kernel_name), kit)
    if why:
        raise WorkerRefused(why)
    runs = Variable(runs_name, client=get_client())
    earlier = list(runs.get())
    runs.set(earlier + [worker.address])
    worker.log_event(TOPIC, {"runs": runs_name, "run": len(earlier) + 1})
    if len(earlier) >= MAX_RUNS:
        return stopped_twice_report(payload.submission, earlier, options)
    with scratch.TemporaryDirectory(prefix="hw3-task-") as tmp:
        here, paths = unpack(payload, tmp)
        report = relabel(grade_submission(here, options, seed), paths)
    if earlier:
        report["errors"].append(RETRIED.format(first=", ".join(earlier)))
    return report
