"""The grader's command line as the batch tests run it: grade a few submissions, read the reports back."""
import json
import subprocess
import sys

from conftest import ROOT
from grader import selfcheck as C


def module_score(result):
    checks = [c for c in result["checks"] if c["target"] in C.TARGETS]
    return sum(c["points"] for c in checks), sum(c["max_points"] for c in checks)


def grade(paths, out, *options, env=None, timeout=900):
    """Runs `python -m grader PATHS --json OUT/grades.json OPTIONS`; returns (reports by key, the run)."""
    report = out / "grades.json"
    run = subprocess.run([sys.executable, "-m", "grader", *map(str, paths), "--json", str(report), *options],
                         cwd=ROOT, capture_output=True, timeout=timeout, env=env)
    assert run.returncode == 0, run.stdout.decode(errors="replace") + run.stderr.decode(errors="replace")
    return {r["key"]: r for r in json.loads(report.read_text(encoding="utf-8"))}, run


def reference_plus(*sources):
    """The reference modules notebook with code cells of `sources` added at its end, as text."""
    import nbformat
    from corpus import MODULES, reference
    nb = reference(MODULES)
    nb.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    return nbformat.writes(nb)
