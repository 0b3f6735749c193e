"""Similarity report at a course's scale: 300 students (44,850 pairs) against 100 known solutions.

    .venv/bin/python -m bench.similarity [--students 300] [--known 100] [--rounds 3]

Writes the submissions once into a temporary folder (students of the kit's release from
tests/similarity_corpus.py, each method drawn from several implementations; a tenth of them disguised copies of
another student or of a known solution), then times ``grader.similarity.cli.run`` end to end (the intake's
discover, reading the notebooks, fingerprints, the comparison, matching regions, the JSON and the HTML pages),
`--rounds` times in fresh processes. Prints wall-clock and CPU seconds per round, the load average before each
round (the machine is shared), and how many pairs were listed.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def make_batch(folder, students, known):
    import similarity_corpus as sc
    template = sc.release_template(folder / "release")
    rng = random.Random(0)
    known_nbs = [sc.student(template, 100000 + i) for i in range(known)]
    for i, nb in enumerate(known_nbs):
        sc.write(folder / "known" / f"public-{i:03d}", nb)
    originals = []
    for i in range(students):
        if i >= 10 and i % 10 == 0:        # a tenth: a disguised copy of an earlier student or of a known solution
            source = rng.choice(originals + known_nbs[:5])
            nb = sc.disguise(source, template, rng.sample(sorted(sc.DISGUISES), 3), seed=i)
        else:
            nb = sc.student(template, i)
            originals.append(nb)
        sc.write(folder / "students" / f"student-{i:03d}", nb)


def one_round(folder):
    code = ("import sys, time, json, resource; sys.path.insert(0, %r)\n"
            "from pathlib import Path\n"
            "t = time.perf_counter()\n"
            "from grader.intake.discover import discover\n"
            "from grader.similarity.cli import run\n"
            "from grader.similarity.report import discover_known\n"
            "import io\n"
            "folder = Path(%r)\n"
            "report = run(discover(sorted((folder / 'students').iterdir())), discover_known([folder / 'known']),\n"
            "             folder / 'out' / 'similarity.json', out=io.StringIO())\n"
            "ru = resource.getrusage(resource.RUSAGE_SELF); ch = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "print(json.dumps({'wall': time.perf_counter() - t, 'cpu': ru.ru_utime + ru.ru_stime + ch.ru_utime + ch.ru_stime,\n"
            "                  'pairs': len(report['pairs']), 'submissions': len(report['submissions'])}))\n"
            % (str(ROOT), str(folder)))
    load = os.getloadavg()[0]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return load, json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--known", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_batch(folder, args.students, args.known)
        print(f"{args.students} students, {args.known} known solutions "
              f"({args.students * (args.students - 1) // 2 + args.students * args.known} pairs), {os.cpu_count()} cores")
        for r in range(args.rounds):
            load, result = one_round(folder)
            print(f"round {r + 1}: {result['wall']:.1f} s wall, {result['cpu']:.1f} s CPU, load average {load:.1f} "
                  f"before; {result['pairs']} pairs listed, {result['submissions']} submissions")


if __name__ == "__main__":
    main()
