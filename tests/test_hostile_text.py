"""Text the grader reads in its own process, where no cell limit applies, graded through the command line beside
honest submissions: LaTeX answers SymPy would compute for hours, math delimiters never closed, code nested deeper
than Python parses, notebooks larger than the grader reads, floods of blank lines (found by an attack of the grader).
Each is graded in seconds, the honest submissions keep their scores. Not timed containment (that is
test_hostile_batch.py's, run alone): the bounds here are ten times what the runs take.
"""
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from batch_cli import grade, module_score, reference_plus
from conftest import ROOT, SHARED_CASES


def test_a_power_tower_answer_and_unclosed_math_do_not_stall_the_batch(tmp_path):
    """ex1 answered 9^{9^{9}} x^T (SymPy computed its 370 million digits: the batch stood still for hours) and ex2's
    region padded with cells of 33,000 unclosed '\\(' (a quadratic read, ~30 s a cell, twice: judged and shown on
    the review page). Graded beside the honest course case in seconds; the honest one keeps its verdicts, the
    attacker's ex1 awaits a TA with the reason."""
    import nbformat
    case = SHARED_CASES / "real" / "differentiation-latex-course"
    assert case.is_dir(), f"shared case missing: {case}"
    honest, attacker = tmp_path / "honest", tmp_path / "attacker"
    shutil.copytree(case, honest)
    shutil.copytree(case, attacker)
    for folder in (honest, attacker):
        for path in folder.iterdir():
            path.chmod(0o644)
    path = attacker / "homework_differentiation.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    [answer] = [c for c in nb.cells if "2x^T." in c.source]
    answer.source = answer.source.replace("2x^T.", "9^{9^{9}} x^T.")
    at = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## ex. 2")) + 1
    nb.cells[at:at] = [nbformat.v4.new_markdown_cell("\\(" * 33_000) for _ in range(8)]
    nbformat.write(nb, str(path))
    started = time.monotonic()
    reports, _ = grade([honest, attacker], tmp_path / "out", "--fast", timeout=300)
    assert time.monotonic() - started < 150
    by_name = {Path(r["submission"]).name: r for r in reports.values()}
    ex = {name: {c["name"].split(":")[0]: c for c in r["checks"] if c["name"].startswith("ex. ")}
          for name, r in by_name.items()}
    assert by_name["honest"]["score"] == by_name["honest"]["max_score"] and ex["honest"]["ex. 1"]["passed"]
    assert ex["attacker"]["ex. 1"]["review"] and "too large to compute" in ex["attacker"]["ex. 1"]["message"]
    assert ex["attacker"]["ex. 2"]["passed"]
    assert list((tmp_path / "out" / "grades_review").glob("*.html"))


def test_code_nested_too_deep_is_graded_and_flagged_never_a_grader_failure(tmp_path):
    """A cell of a 300,000-term sum made the grader's own parse (which version the notebook is written against)
    raise RecursionError: the submission was 'not graded', and three at the head of a batch stop it. A 600-term sum
    runs in the kernel but ended the integrity scan of its cell, hiding the open() below it. Graded beside an honest
    one: every module scores, the deep cells are named for a TA, the open() is flagged."""
    from corpus import MODULES
    deep_parse = reference_plus("x = 1" + " + 1" * 300_000)
    deep_scan = reference_plus("x = 1" + " + 1" * 600 + "\ndata = open('/etc/hostname').read()")
    for name, text in (("honest", reference_plus()), ("deep-parse", deep_parse), ("deep-scan", deep_scan)):
        (tmp_path / name).mkdir()
        (tmp_path / name / MODULES).write_text(text, encoding="utf-8")
    reports, _ = grade([tmp_path / n for n in ("honest", "deep-parse", "deep-scan")], tmp_path / "out", "--fast",
                       "--jobs", "2", timeout=600)
    by_name = {Path(r["submission"]).name: r for r in reports.values()}
    for name, report in by_name.items():
        assert report["graded"] and module_score(report) == (171, 171), (name, report["errors"])
    # 1.2 MB of code in one cell: past what the scans parse (cell_syntax.MAX_CELL_CHARS), a finding of its own
    assert any("holds more code than the scan reads" in e for e in by_name["deep-parse"]["errors"])
    [flag] = [e for e in by_name["deep-scan"]["errors"] if e.startswith("integrity:")]
    assert "reads a file (line 2: `data = open('/etc/hostname').read()`)" in flag and "nested too deep" in flag


def peak_rss_of_grading(*args, timeout=600):
    """(the grader's run, the largest resident memory in MiB any of its processes reached): `python -m grader ARGS`,
    its process tree polled every 20 ms. (Not ru_maxrss: a process forked from a pytest worker inherits that
    worker's own peak.)"""
    import psutil
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    grader = subprocess.Popen([sys.executable, "-m", "grader", *map(str, args)], cwd=ROOT, stdout=out, stderr=err)
    peak, deadline = 0, time.monotonic() + timeout
    try:
        tree = psutil.Process(grader.pid)
        while grader.poll() is None and time.monotonic() < deadline:
            for process in [tree] + tree.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    peak = max(peak, process.memory_info().rss)
            time.sleep(0.02)
    finally:
        grader.kill() if grader.poll() is None else None
        grader.wait()
    out.seek(0)
    err.seek(0)
    return subprocess.CompletedProcess(grader.args, grader.returncode, out.read().decode(errors="replace"),
                                       err.read().decode(errors="replace")), peak / 2 ** 20


def test_a_notebook_too_large_to_read_awaits_a_ta_and_is_never_parsed(tmp_path):
    """A 300 MB notebook (saved outputs; 512 MiB come from a zip of half a megabyte) was parsed in the grader's own
    process: its peak memory was 8.7 times the file (2.6 GB). Past MAX_NOTEBOOK_BYTES it is not parsed, and only its
    first MiB travels to the worker (the whole file in the task: 1.6 GB in the grader, 1 GB in the worker): no
    process of the grader holds the file; its points await a TA with what to do."""
    import nbformat
    from corpus import MODULES
    from grader.intake.notebooks import MAX_NOTEBOOK_BYTES
    honest, huge = tmp_path / "honest", tmp_path / "huge"
    honest.mkdir()
    huge.mkdir()
    (honest / MODULES).write_text(reference_plus(), encoding="utf-8")
    nb = nbformat.reads(reference_plus("print('x')"), as_version=4)
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="0123456789abcdef\n")]
    head, tail = nbformat.writes(nb).split('"0123456789abcdef\\n"')
    lines = MAX_NOTEBOOK_BYTES // 20 + 1_000_000
    with open(huge / MODULES, "w", encoding="utf-8") as f:   # in pieces: 300 MB never held at once
        f.write(head + '"0123456789abcdef\\n"')
        for _ in range(lines // 10_000):
            f.write(', "0123456789abcdef\\n"' * 10_000)
        f.write(tail)
    assert (huge / MODULES).stat().st_size > MAX_NOTEBOOK_BYTES
    out = tmp_path / "out"
    run, peak_mib = peak_rss_of_grading(honest, huge, "--fast", "--json", out / "grades.json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert peak_mib < (huge / MODULES).stat().st_size / 2 ** 20, peak_mib
    reports = {Path(r["submission"]).name: r for r in json.loads((out / "grades.json").read_text(encoding="utf-8"))}
    assert module_score(reports["honest"]) == (171, 171)
    [item] = [c for c in reports["huge"]["checks"] if isinstance(c.get("review"), dict)]
    assert item["max_points"] == reports["huge"]["awaiting_review"] == 171
    assert "more than the grader reads" in item["review"]["reason"] and "clear all outputs" in item["review"]["reason"] \
        or "clear all outputs" in json.dumps(item["review"]), item["review"]


def test_a_flood_of_blank_lines_beside_missing_classes_does_not_stall_the_batch(tmp_path):
    """A modules notebook that defines no module and holds a markdown cell of 100,000 blank lines: for every check of
    a missing class the grader looked for the class in each cell with a quadratic pattern (minutes a search, hours
    in all). Graded beside an honest submission in seconds; every module is 'not found'."""
    import nbformat
    from corpus import MODULES
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np"), nbformat.v4.new_markdown_cell("\n" * 100_000)]
    for name, text in (("honest", reference_plus()), ("flood", nbformat.writes(nb))):
        (tmp_path / name).mkdir()
        (tmp_path / name / MODULES).write_text(text, encoding="utf-8")
    started = time.monotonic()
    reports, _ = grade([tmp_path / "honest", tmp_path / "flood"], tmp_path / "out", "--fast", timeout=600)
    assert time.monotonic() - started < 120
    by_name = {Path(r["submission"]).name: r for r in reports.values()}
    assert module_score(by_name["honest"]) == (171, 171) and module_score(by_name["flood"]) == (0, 171)
