"""The sandbox's overhead per submission: the same submissions graded with and without it, side by side.

    .venv/bin/python bench/sandbox.py [--rounds 4] [--full] [--kernels N] [SUBMISSION...]

Without SUBMISSION, the kit's own notebooks are the submission (full marks: every check runs to its
end). Each round grades every submission twice, in the sandbox (``hw3-sandbox``) and without it
(``python3``), in alternating order (A B, then B A, ...) so that a slow spell of the shared machine hits
both; one submission at a time, in this process, as ``python -m grader --jobs 1`` does. Reported: the
seconds per submission of each (median over rounds and submissions) and the overhead, the median of
the paired ratios sandbox / no sandbox, with its range. With ``--full`` the main notebook runs too
(about 3 minutes a submission); by default ``--fast`` (modules and differentiation).

First, where the overhead comes from (``--kernels N`` alternating pairs, 0 to skip): a kernel's start and
shutdown, and the round trip of an execute request (``pass``), with and without the sandbox.
"""
import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT))

from grader.execution import sandbox  # noqa: E402
from grader.execution.session import grade_submission  # noqa: E402
from grader.options import Options  # noqa: E402
from grader.execution.kernel import KernelSession  # noqa: E402

TRIPS = 200   # execute round trips per kernel


def kernel_costs(kernel_name, folder):
    """(seconds to start and shut down a kernel, seconds per execute round trip)."""
    start = time.perf_counter()
    with KernelSession(folder, kernel_name=kernel_name) as kernel:
        started = time.perf_counter()
        for _ in range(TRIPS):
            kernel.run("pass")
        trips = time.perf_counter() - started
    return time.perf_counter() - start - trips, trips / TRIPS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", nargs="*")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--full", action="store_true", help="grade the main notebook too")
    parser.add_argument("--kernels", type=int, default=10, metavar="N", help="kernel start/round-trip pairs")
    args = parser.parse_args(argv)
    why = sandbox.problem()
    if why:
        sys.exit(f"the sandbox cannot run here: {why}")
    with tempfile.TemporaryDirectory(prefix="hw3-bench-") as tmp:
        if args.kernels:
            costs = {sandbox.KERNEL_NAME: [], sandbox.NO_SANDBOX_KERNEL: []}
            for round_ in range(args.kernels):
                for name in (list(costs) if round_ % 2 == 0 else list(costs)[::-1]):
                    costs[name].append(kernel_costs(name, tmp))
            print("| kernel | start + shutdown (s, median) | execute round trip (ms, median) |")
            print("|---|---:|---:|")
            for name, pairs in costs.items():
                print(f"| {name} | {statistics.median(p[0] for p in pairs):.2f} | "
                      f"{1000 * statistics.median(p[1] for p in pairs):.2f} |")
            print(flush=True)
        submissions = args.submissions
        if not submissions:
            own = Path(tmp) / "kit_reference"
            own.mkdir()
            for name in ("HW3_Modules.ipynb", "HW3_differentiation.ipynb", "HW3_main.ipynb"):
                shutil.copy2(KIT / name, own / name)
            submissions = [str(own)]
        modes = {"sandbox": True, "no sandbox": False}
        seconds = {mode: [] for mode in modes}
        ratios = []
        for round_ in range(args.rounds):
            order = list(modes) if round_ % 2 == 0 else list(modes)[::-1]
            for path in submissions:
                this = {}
                for mode in order:
                    result = grade_submission(path, Options(fast=not args.full, sandbox=modes[mode]))
                    this[mode] = result["seconds"]
                    seconds[mode].append(result["seconds"])
                    print(f"round {round_ + 1} {Path(path).name:<20} {mode:<10} {result['seconds']:6.1f} s  "
                          f"score {result['score']:g} / {result['max_score']:g}", flush=True)
                ratios.append(this["sandbox"] / this["no sandbox"])
    if not ratios:
        return
    print()
    print(f"| grading ({'full' if args.full else '--fast'}) | seconds per submission (median) |")
    print("|---|---:|")
    for mode in modes:
        print(f"| {mode} | {statistics.median(seconds[mode]):.1f} |")
    print(f"\noverhead of the sandbox: {100 * (statistics.median(ratios) - 1):+.1f} % (median of {len(ratios)} "
          f"paired runs; range {100 * (min(ratios) - 1):+.1f} % to {100 * (max(ratios) - 1):+.1f} %)")


if __name__ == "__main__":
    main()
