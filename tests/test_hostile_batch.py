"""Hostile submissions graded through the command line beside honest ones (issue 19): each is contained and
named in its own report, the honest ones keep their exact scores, nothing outside the work copies changes.

The shared field cases (../shared/cases/field/: zip-backslash-member, zip-bad-member-name) are graded with their
right verdicts from ../shared/cases/README.md; TMPDIR is a scratch folder four levels deep, so that a member
escaping its unpack folder would stay inside it and be found.
"""
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT, SHARED_CASES
from grader import selfcheck as C

FIELD = SHARED_CASES / "field"


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


def snapshot(folder):
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if not p.is_symlink()}


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """The two shared archive cases graded in one --fast batch, TMPDIR four levels deep."""
    base = tmp_path_factory.mktemp("hostile-archives")
    scratch = base / "1" / "2" / "3" / "4"
    scratch.mkdir(parents=True)
    cases = [FIELD / "zip-backslash-member" / "submission.zip", FIELD / "zip-bad-member-name"]
    for case in cases:
        assert case.exists(), f"shared case missing: {case}"
    before = snapshot(SHARED_CASES)
    start = time.perf_counter()
    reports, run = grade(cases, base, "--fast", "--jobs", "2", env=dict(os.environ, TMPDIR=str(scratch)))
    print(f"\n{len(reports)} submissions graded in {time.perf_counter() - start:.0f} s")
    assert snapshot(SHARED_CASES) == before
    return reports, base, run


def test_zip_backslash_member_is_skipped_and_never_written_outside(archives):
    reports, base, _ = archives
    result = reports["submission"]
    assert module_score(result) == (171, 171)
    assert any("escaped-canary.txt" in n and "outside the archive" in n for n in result["notes"]), result["notes"]
    assert not list(base.rglob("escaped-canary.txt"))
    assert not list(ROOT.rglob("escaped-canary.txt"))


def test_zip_bad_member_name_is_one_problem_line_and_the_batch_goes_on(archives):
    reports, _, _ = archives
    broken, honest = reports["1001"], reports["1002"]
    assert module_score(broken) == (171, 171) and module_score(honest) == (171, 171)
    lines = [e for e in broken["errors"] if "could not be unpacked" in e]
    assert len(lines) == 1 and "notes-" in lines[0] and "scratch.txt" in lines[0], broken["errors"]
    assert not [e for e in honest["errors"] if "unpack" in e or "zip" in e], honest["errors"]


HANG = ("import signal, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)   # the grader's interrupt is ignored\n"
        "while True:\n"
        "    time.sleep(0.1)\n")


def test_an_interrupt_ignoring_hang_with_long_cells_is_bounded_by_the_submission_limit(tmp_path):
    """Cells that ignore interrupts, after long cells that every restart replays: each hang used to cost a
    restart plus every long cell again (hours for one submission, with no error line). The submission's
    wall-clock limit bounds it all; the report says grading stopped, and how many restarts and replays."""
    import nbformat
    from grader.grade import grade_submission
    nb = nbformat.v4.new_notebook()
    nb.cells = ([nbformat.v4.new_code_cell(f"import time\ntime.sleep(4)\nstep{i} = {i}") for i in range(3)]
                + [nbformat.v4.new_code_cell(HANG) for _ in range(8)])
    folder = tmp_path / "hanger"
    folder.mkdir()
    nbformat.write(nb, str(folder / "HW3_Modules.ipynb"))
    limit = 60
    start = time.perf_counter()
    report = grade_submission(folder, timeout=5, fast=True, submission_limit=limit)
    seconds = time.perf_counter() - start
    assert seconds < limit + 30, seconds
    assert any("grading stopped: the submission used up its time (60 s" in e for e in report["errors"]), report["errors"]
    assert any("restarted" in n and "re-run after restarts" in n for n in report["notes"]), report["notes"]
    assert report["score"] == 0
