"""Start-up of a grading run: seconds from `python -m grader ...` to its first kernel, and a batch's wall time
beside the time its kernels ran.

    .venv/bin/python bench/startup.py [--rounds 3] [--submissions 20] [--jobs 2] [--baseline OTHER_KIT]

Two measurements, each in a fresh `python -m grader` process on submissions from the tests' corpus
(tests/corpus.py: the reference and single-bug mutants), graded with --fast:

* **first kernel**: one submission, the default command (no --jobs): seconds from starting the command to the
  first kernel process below it (a process started with `-f CONNECTION_FILE.json`: the sandbox's launcher or a plain kernel);
* **batch**: N submissions at --jobs J: the wall seconds of the whole command, the seconds to its first kernel,
  and the kernels' own time: each kernel's lifetime (first to last seen, polled every 50 ms), summed, and that
  sum divided by J (the wall time J workers would need if nothing but kernels ran). Their difference is what the
  grader spends around its kernels (starting workers, importing, judging, writing reports).

`--baseline OTHER_KIT` runs the same command with another checkout of the kit (its own `.venv`, e.g. a
`git worktree` of the commit before a change) in the same rounds, alternating A B / B A, so a slow spell of the
shared machine hits both; the load average is printed with the table.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
POLL = 0.05


def is_kernel(process):
    """A Jupyter kernel (or the sandbox's launcher of one): started with `-f CONNECTION_FILE.json`."""
    try:
        argv = process.cmdline()
    except psutil.Error:
        return False
    return any(a == "-f" and b.endswith(".json") for a, b in zip(argv, argv[1:]))


def outermost(kernels):
    """The pids of `kernels` ({pid: Process}) none of whose ancestors is one of them (a launcher, not its kernel)."""
    def inside(p):
        try:
            return any(parent.pid in kernels for parent in p.parents())
        except psutil.Error:
            return True
    return {pid for pid, p in kernels.items() if not inside(p)}


def watch(kit, argv):
    """Runs `kit`/.venv/bin/python -m grader argv in `kit`; returns (wall s, s to first kernel, [kernel lifetimes s])."""
    start = time.perf_counter()
    run = subprocess.Popen([str(kit / ".venv" / "bin" / "python"), "-m", "grader", *argv], cwd=kit,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root, first, alive = psutil.Process(run.pid), None, {}
    lifetimes = []
    while run.poll() is None:
        now = time.perf_counter()
        try:
            seen = {p.pid: p for p in root.children(recursive=True) if is_kernel(p)}
        except psutil.Error:
            seen = {}
        running = outermost(seen)
        for pid in running - alive.keys():
            alive[pid] = now
            first = first if first is not None else now - start
        for pid in alive.keys() - running:
            lifetimes.append(now - alive.pop(pid))
        time.sleep(POLL)
    out = run.stdout.read()
    if run.returncode != 0:
        raise SystemExit(f"python -m grader {' '.join(argv[:3])}... in {kit} failed ({run.returncode}):\n{out}")
    wall = time.perf_counter() - start
    lifetimes += [time.perf_counter() - t for t in alive.values()]   # kernels still running at the end
    return wall, first, lifetimes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--baseline", type=Path, help="another checkout of the kit, with its own .venv")
    args = parser.parse_args()
    from corpus import build
    kits = {"this kit": ROOT}
    if args.baseline:
        kits["baseline"] = args.baseline.resolve()
    rows = {(kit, what): [] for kit in kits for what in ("first", "wall", "batch first", "kernels", "count")}
    with tempfile.TemporaryDirectory(prefix="hw3-bench-startup-") as tmp:
        corpus = build(Path(tmp) / "corpus")
        names = ["reference"] + [n for n in corpus if n.startswith("mutant_")]
        paths = [str(corpus[n].path) for n in names[:args.submissions]]
        for r in range(args.rounds):
            order = list(kits) if r % 2 == 0 else list(reversed(kits))
            for kit in order:
                _, first, _ = watch(kits[kit], [paths[0], "--fast"])
                wall, batch_first, kernels = watch(kits[kit], [*paths, "--fast",
                                                               "--jobs", str(args.jobs)])
                for what, value in (("first", first), ("wall", wall), ("batch first", batch_first),
                                    ("kernels", sum(kernels)), ("count", len(kernels))):
                    rows[kit, what].append(value)
                print(f"round {r + 1}, {kit}: first kernel {first:.1f} s; batch of {len(paths)} at --jobs "
                      f"{args.jobs}: {wall:.0f} s, first kernel {batch_first:.1f} s, {len(kernels)} kernels "
                      f"{sum(kernels):.0f} s in all (/{args.jobs}: {sum(kernels) / args.jobs:.0f} s)", flush=True)
    print(f"\n{len(paths)} submissions (--fast), {args.rounds} rounds, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores; medians (range)\n")
    print(f"| kit | first kernel, 1 submission (s) | batch wall (s) | batch: first kernel (s) | kernels' time / "
          f"{args.jobs} (s) | batch wall - kernels / {args.jobs} (s) |")
    print("|---|---|---|---|---|---|")

    def cell(values, scale=1.0):
        values = [v / scale for v in values]
        return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"

    for kit in kits:
        over = [w - k / args.jobs for w, k in zip(rows[kit, "wall"], rows[kit, "kernels"])]
        print(f"| {kit} | {cell(rows[kit, 'first'])} | {cell(rows[kit, 'wall'])} | {cell(rows[kit, 'batch first'])} "
              f"| {cell(rows[kit, 'kernels'], args.jobs)} | {cell(over)} |")


if __name__ == "__main__":
    main()
