"""The grader's pytest door (``python -m pytest -c grader/pytest.ini SUBMISSION``), tested through pytest's own
``pytester`` as nbval tests its plugin (nbval's tests/test_timeouts.py): every cell and every check is an item, a
cell that runs over ``--timeout`` fails alone, the options are those of ``python -m grader`` (the earlier
``--hw3-*`` spellings still accepted), and ``--json`` writes what the command line's ``--json`` writes.
"""
import csv
import json
import os

import nbformat
import pytest

from conftest import ROOT
from grader.report.writers import JSON_KEYS

pytest_plugins = ["pytester"]
INI = ROOT / "grader" / "pytest.ini"


@pytest.fixture
def run(pytester, monkeypatch):
    """Runs the grader's pytest door in a subprocess from a scratch folder (the kit importable from there)."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def run(*args):
        return pytester.runpytest_subprocess("-c", str(INI), "-p", "no:cacheprovider", *map(str, args), timeout=600)
    return run


def submission(folder, extra_cell=None):
    """A folder with the kit's reference HW3_Modules.ipynb (and a last code cell `extra_cell`, if given)."""
    folder.mkdir()
    nb = nbformat.read(str(ROOT / "HW3_Modules.ipynb"), as_version=4)
    if extra_cell:
        nb.cells.append(nbformat.v4.new_code_cell(extra_cell))
    nbformat.write(nb, str(folder / "HW3_Modules.ipynb"))
    return folder


def test_a_hung_cell_fails_alone_at_the_timeout_and_the_checks_go_on(run, tmp_path):
    folder = submission(tmp_path / "hung", "while True:\n    pass")
    result = run(folder, "--fast", "--timeout", "5")
    outcomes = result.parseoutcomes()
    hung = [line for line in result.outlines if "FAILED" in line and "HW3_Modules.ipynb::Cell" in line]
    assert len(hung) == 1, result.outlines[-40:]
    assert "timed out" in result.stdout.str()
    module_checks = [line for line in result.outlines if "FAILED" in line and "HW3_Modules.ipynb::" in line
                     and "::Cell" not in line]
    assert module_checks == [], module_checks      # every module's checks pass after the interrupted cell
    assert outcomes["passed"] > 100


def test_the_options_are_the_command_lines_and_json_writes_the_same_files(run, tmp_path):
    folder = submission(tmp_path / "alice")
    out = tmp_path / "out" / "grades.json"
    result = run(folder, "--fast", "--timeout", "60", "--json", out)
    assert f"{folder}: 171 / 207 (--fast: main notebook not run)" in result.stdout.str()
    [report] = json.loads(out.read_text())
    assert list(report) == list(JSON_KEYS) and report["score"] == 171 and report["sandbox"] is True
    rows = list(csv.reader(out.with_suffix(".csv").open()))
    assert rows[1][:2] == ["alice", ""] and (out.parent / "grades_feedback" / "alice.md").is_file()


def test_the_earlier_hw3_spellings_still_work(run, tmp_path):
    folder = submission(tmp_path / "bob")
    out = tmp_path / "bob.json"
    result = run(folder, "--hw3-fast", "--hw3-timeout", "60", "--hw3-json", out)
    assert f"{folder}: 171 / 207" in result.stdout.str()
    assert json.loads(out.read_text())[0]["score"] == 171


def test_both_front_doors_name_the_options_alike(run, capsys):
    pytest_help = run("--help").stdout.str()
    from grader.__main__ import grade_main
    with pytest.raises(SystemExit):
        grade_main(["--help"])
    command_help = capsys.readouterr().out
    for option in ("--timeout SECONDS", "--fast", "--no-sandbox", "--profile NAME", "--json FILE"):
        assert option in command_help, option
        assert option.replace(" ", "=") in pytest_help, option


def test_an_unreadable_notebook_is_one_skipped_item_awaiting_a_ta_at_the_pytest_door(run, tmp_path):
    """Not 171 failed checks: one item, skipped with the reason (a TA decides), its points outside score and maximum."""
    folder = tmp_path / "carol"
    folder.mkdir()
    (folder / "HW3_Modules.ipynb").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    result = run(folder, "--fast", "-rs")
    text = result.stdout.str()
    assert result.parseoutcomes().get("skipped") == 1   # the differentiation notebook's checks fail: not handed in
    assert not [line for line in result.outlines if "FAILED" in line and "HW3_Modules.ipynb::" in line]
    assert "awaits a TA's review: HW3_Modules.ipynb could not be read (a PNG image" in text
    assert "none of HW3_Modules.ipynb" not in text   # it was handed in: only the differentiation is not found
    assert f"{folder}: 0 / 36, 171 points await a TA's review (--fast: main notebook not run)" in text


def test_a_grader_failure_while_reading_a_submission_is_not_graded_never_a_score(run, pytester, tmp_path):
    """The grader raising while it reads a submission (a cell nested too deep for its parser did, see
    test_hostile_batch.py) ended the pytest door's collection with an error, and its summary and --json still gave
    the submission 0 / 207 as a grade. It is 'not graded', with the reason, as python -m grader reports it."""
    pytester.makepyfile(break_grader="import grader.parts.integrity as integrity\n"
                                     "def scan(prepared):\n    raise RecursionError('maximum recursion depth exceeded')\n"
                                     "integrity.scan = scan\n")
    folder = submission(tmp_path / "alice")
    out = tmp_path / "out" / "grades.json"
    result = run("-p", "break_grader", folder, "--fast", "--json", out)
    text = result.stdout.str()
    assert "not graded: the grader failed on this submission (while reading the submission: RecursionError" in text
    assert f"{folder}: 0 / 207" not in text
    [report] = json.loads(out.read_text())
    assert report["graded"] is False and "RecursionError" in report["errors"][0]
