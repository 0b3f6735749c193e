"""Grading throughput, submissions per minute: local --jobs N, a loopback Dask cluster of N workers, and the
process pool the grader used before Dask, side by side on the same batch.

    .venv/bin/python bench/grading.py [--submissions 8] [--rounds 2] [--jobs 2] [--full]

The batch is built from the tests' corpus (tests/corpus.py): the reference and single-bug mutants, graded
with --fast unless --full. Each mode grades the whole batch in a fresh `python -m grader` process (the pool:
a fresh Python process with concurrent.futures, as the grader did before); the loopback cluster (`dask
scheduler` and N `dask worker` processes on 127.0.0.1) is started before its rounds and not timed, as a TA's
cluster is up before the batch. Modes alternate round by round, so a slow spell of the shared machine hits
each. Reported: median wall seconds per batch and submissions per minute, and the load average.
"""
import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
BIN = Path(sys.executable).parent

POOL = """
import sys, json
from concurrent.futures import ProcessPoolExecutor
from grader.execution.session import grade_submission
from grader.options import Options
paths, jobs, fast = sys.argv[1:-2], int(sys.argv[-2]), sys.argv[-1] == "fast"
if __name__ == "__main__":
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        reports = list(pool.map(grade_submission, paths, [Options(timeout=10, fast=fast)] * len(paths)))
    print(json.dumps([r["score"] for r in reports]))
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback(workers):
    address = f"tcp://127.0.0.1:{free_port()}"
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                               address.rsplit(":", 1)[1], "--no-dashboard"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    for n in range(workers):
        procs.append(subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                       "--memory-limit", "0", "--no-dashboard", "--name", f"w{n}"], cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
    from distributed import Client
    with Client(address, timeout="60s") as client:
        client.wait_for_workers(workers, timeout=120)
    return address, procs


def timed(argv):
    start = time.perf_counter()
    run = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed:\n{run.stdout}\n{run.stderr}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--full", action="store_true", help="grade the main notebook too (not --fast)")
    args = parser.parse_args()
    from corpus import build
    with tempfile.TemporaryDirectory(prefix="hw3-bench-grading-") as tmp:
        corpus = build(Path(tmp) / "corpus")
        names = ["reference"] + [n for n in corpus if n.startswith("mutant_")]
        paths = [str(corpus[n].path) for n in names[:args.submissions]]
        fast = [] if args.full else ["--fast"]
        common = [*paths, *fast, "--timeout", "10"]
        address, procs = loopback(args.jobs)
        try:
            modes = {
                f"--jobs {args.jobs} (local Dask cluster)": [sys.executable, "-m", "grader", *common, "--jobs", str(args.jobs)],
                f"--cluster, {args.jobs} loopback workers": [sys.executable, "-m", "grader", *common, "--cluster", address],
                f"process pool of {args.jobs} (before Dask)": [sys.executable, "-c", POOL, *paths, str(args.jobs),
                                                               "full" if args.full else "fast"],
            }
            times = {mode: [] for mode in modes}
            for r in range(args.rounds):
                order = list(modes) if r % 2 == 0 else list(reversed(modes))
                for mode in order:
                    times[mode].append(timed(modes[mode]))
                    print(f"round {r + 1}: {mode}: {times[mode][-1]:.0f} s", flush=True)
        finally:
            for proc in procs:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
    n = len(paths)
    print(f"\n{n} submissions ({'full' if args.full else '--fast'}), {args.rounds} rounds, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| mode | seconds per batch (median, range) | submissions per minute |")
    print("|---|---|---|")
    for mode, values in times.items():
        median = statistics.median(values)
        print(f"| {mode} | {median:.0f} ({min(values):.0f}-{max(values):.0f}) | {60 * n / median:.1f} |")


if __name__ == "__main__":
    main()
