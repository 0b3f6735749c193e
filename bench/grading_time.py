"""Grading time per submission, before and after a change of the grader, side by side in one run.

    .venv/bin/python -m bench.grading_time [--before REV] [--rounds N] [--full] [SUBMISSION...]

"before" is the kit at git revision REV (default: the commit before the nbval-driven grader, i.e. the parent
of the first commit that added grader/plugin.py), exported to a temporary folder and run with this kit's
.venv; "after" is this working copy. Each round grades every submission with both, alternating which goes
first (so a slow spell of the shared machine hits both), with ``python -m grader SUBMISSION --fast`` and,
with --full, without --fast (the main notebook too). Default submissions: the kit's own notebooks (the
reference: full marks). Prints the median wall-clock seconds per submission and the scores (which must agree).
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def first_plugin_parent():
    added = subprocess.run(["git", "log", "--diff-filter=A", "--format=%H", "--", "grader/plugin.py"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    if not added:
        sys.exit("no commit adds grader/plugin.py here: pass --before REV")
    return added[-1] + "^"


def export(rev, folder):
    """The kit at `rev` in `folder`, with this kit's .venv."""
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    (folder / ".venv").symlink_to(ROOT / ".venv")
    return folder


def grade(kit, submission, fast, out):
    """(seconds, score, max_score) of one `python -m grader` run of `kit` on `submission`."""
    report = out / f"r{time.monotonic_ns()}.json"
    args = [str(ROOT / ".venv" / "bin" / "python"), "-m", "grader", str(submission), "--json", str(report)]
    start = time.perf_counter()
    run = subprocess.run(args + (["--fast"] if fast else []), cwd=kit, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"{kit}: grader failed on {submission}:\n{run.stdout}\n{run.stderr}")
    [result] = json.loads(report.read_text())
    return seconds, result["score"], result["max_score"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.grading_time", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", nargs="*", metavar="SUBMISSION")
    parser.add_argument("--before", metavar="REV", help="git revision of the 'before' grader")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="also grade with the main notebook (minutes each)")
    args = parser.parse_args(argv)
    before_rev = args.before or first_plugin_parent()
    with tempfile.TemporaryDirectory(prefix="hw3-bench-") as tmp:
        tmp = Path(tmp)
        submissions = [Path(s).resolve() for s in args.submissions]
        if not submissions:
            reference = tmp / "reference"
            reference.mkdir()
            for name in ("HW3_Modules.ipynb", "HW3_differentiation.ipynb", "HW3_main.ipynb"):
                (reference / name).write_bytes((ROOT / name).read_bytes())
            submissions = [reference]
        before = tmp / "before"
        before.mkdir()
        kits = {"before": export(before_rev, before), "after": ROOT}
        modes = [("fast", True)] + ([("full", False)] if args.full else [])
        times = {}
        scores = {}
        for round_ in range(args.rounds):
            order = ["before", "after"] if round_ % 2 == 0 else ["after", "before"]
            for submission in submissions:
                for mode, fast in modes:
                    for which in order:
                        seconds, score, top = grade(kits[which], submission, fast, tmp)
                        times.setdefault((submission.name, mode, which), []).append(seconds)
                        scores[(submission.name, mode, which)] = f"{score:g}/{top:g}"
                        print(f"  round {round_ + 1}: {submission.name} {mode} {which}: {seconds:.1f} s, {score:g}/{top:g}",
                              flush=True)
        print(f"\nbefore = {before_rev} ({subprocess.run(['git', 'rev-parse', '--short', before_rev], cwd=ROOT, capture_output=True, text=True).stdout.strip()}), "
              f"after = this working copy; median of {args.rounds} round(s), wall-clock seconds per submission\n")
        print("| submission | mode | before (s) | after (s) | score before | score after |")
        print("|---|---|---:|---:|---|---|")
        for submission in submissions:
            for mode, _ in modes:
                b = statistics.median(times[(submission.name, mode, "before")])
                a = statistics.median(times[(submission.name, mode, "after")])
                print(f"| {submission.name} | {mode} | {b:.1f} | {a:.1f} | {scores[(submission.name, mode, 'before')]} "
                      f"| {scores[(submission.name, mode, 'after')]} |")


if __name__ == "__main__":
    main()
