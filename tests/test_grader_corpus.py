"""The grader on a corpus of submissions built from the reference (tests/corpus.py), graded once in a
batch through the command line with --jobs 2, as an instructor would:

the reference gets full marks; the release zero module points with "not implemented" messages; each
single-bug mutant loses points on exactly its own module; broken notebooks (syntax error, a kernel
that dies, a memory hog, hanging methods) lose only what is broken; tampering gains nothing;
a notebook the grader cannot read gets a clear error and awaits a TA (its points outside the score and maximum,
never a 0), a missing one a zero; the rest of the batch goes on.
"""
import csv
import json
import subprocess
import sys
import time

import pytest

from corpus import MUTANTS, ROOT, build
from grader import selfcheck as C

MODULE_TARGETS = set(C.TARGETS)
SCORED_TARGETS = {t for t in MODULE_TARGETS if sum(c.points for c in C.checks_of(t)) > 0}
TIMEOUT = 5


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    release_dir = root / "release"
    subprocess.run([sys.executable, "-m", "grader", "release", str(release_dir)], cwd=ROOT, check=True,
                   capture_output=True)
    corpus = build(root / "submissions", release_dir)
    report = root / "out" / "grades.json"
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "grader", *[str(s.path) for s in corpus.values()],
                          "--json", str(report), "--jobs", "2", "--timeout", str(TIMEOUT), "--fast"],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - start
    assert run.returncode == 0, run.stdout + run.stderr
    results = {r["submission"]: r for r in json.loads(report.read_text())}
    by_name = {name: results[str(sub.path)] for name, sub in corpus.items()}
    print(f"\ngraded {len(corpus)} submissions in {seconds:.0f} s with --jobs 2\n{run.stdout}")
    return corpus, by_name, run, report, root


def module_totals(result):
    totals = {}
    for check in result["checks"]:
        if check["target"] in MODULE_TARGETS:
            got, top = totals.get(check["target"], (0, 0))
            totals[check["target"]] = (got + check["points"], top + check["max_points"])
    return totals


def losers(result):
    """Module targets that lost points."""
    return {t for t, (got, top) in module_totals(result).items() if got < top}


def test_json_has_the_documented_shape(graded):
    corpus, by_name, run, report, _ = graded
    data = json.loads(report.read_text())
    assert len(data) == len(corpus)
    for entry in data:
        assert set(entry) == {"submission", "key", "version", "graded", "score", "max_score", "awaiting_review", "checks",
                              "errors", "notes", "sandbox"}
        assert entry["graded"] is True          # every submission of the corpus is graded (no grader failure)
        unreadable = entry["submission"] in {str(corpus[name].path) for name in UNREADABLE}
        # the kit's own notebooks: everything is judged automatically, but an unreadable notebook, which awaits a TA
        assert (entry["awaiting_review"] > 0) == unreadable
        assert entry["version"] == "kit"   # every corpus notebook is the kit's own, or unreadable
        assert isinstance(entry["errors"], list)
        for check in entry["checks"]:
            assert set(check) - {"review"} == {"target", "defined_as", "name", "passed", "points", "max_points",
                                               "message"} and ("review" in check) == (check["points"] == 0 and unreadable
                                                                                      and check["target"] == "modules")
            assert 0 <= check["points"] <= check["max_points"]
            assert check["passed"] == (check["points"] == check["max_points"]) or check["max_points"] == 0
        assert entry["score"] == pytest.approx(sum(c["points"] for c in entry["checks"]))


def test_reference_gets_full_marks(graded):
    _, by_name, *_ = graded
    for name in ("reference", "reference_zipped", "reference_utf16"):
        result = by_name[name]
        assert result["errors"] == []
        failed = [(c["target"], c["name"], c["message"]) for c in result["checks"] if not c["passed"]]
        assert failed == []
        assert result["score"] == result["max_score"] > 200


def test_release_gets_zero_module_points_with_not_implemented_messages(graded):
    _, by_name, *_ = graded
    result = by_name["release"]
    assert result["errors"] == []   # the stubs load; they only raise when called
    module_checks = [c for c in result["checks"] if c["target"] in MODULE_TARGETS and c["max_points"] > 0]
    assert module_checks and all(c["points"] == 0 for c in module_checks)
    assert all("not implemented" in c["message"] for c in module_checks), \
        [c["message"] for c in module_checks if "not implemented" not in c["message"]][:3]
    diff = [c for c in result["checks"] if c["target"] == "differentiation"]
    assert diff and all(c["points"] == 0 for c in diff)


@pytest.mark.parametrize("mutant", [m[0] for m in MUTANTS])
def test_each_mutant_loses_points_on_exactly_its_module(graded, mutant):
    corpus, by_name, *_ = graded
    name = f"mutant_{mutant}"
    result = by_name[name]
    assert losers(result) == corpus[name].lose, [
        (c["target"], c["name"], c["message"]) for c in result["checks"] if not c["passed"] and c["target"] in MODULE_TARGETS]


def test_there_are_enough_mutants_covering_every_scored_module(graded):
    corpus, *_ = graded
    covered = set().union(*(sub.lose for name, sub in corpus.items() if name.startswith("mutant_")))
    assert len(MUTANTS) >= 15
    assert covered == SCORED_TARGETS


def test_failing_gradient_messages_teach(graded):
    _, by_name, *_ = graded
    result = by_name["mutant_sigmoid_grad"]
    message = next(c["message"] for c in result["checks"] if c["target"] == "Sigmoid" and c["name"].startswith("gradInput"))
    for words in ("Sigmoid.updateGradInput", "gradInput", "relative error", "shape", "Expected", "got", "Fed input",
                  "gradOutput"):
        assert words in message, message
    result = by_name["mutant_linear_overwrites_gradW"]
    message = next(c["message"] for c in result["checks"] if c["target"] == "Linear" and c["name"].startswith("gradients accumulate"))
    assert "+=" in message, message


@pytest.mark.parametrize("name, target, words", [
    ("syntax_error_in_linear", "Linear", "SyntaxError"),
    ("kernel_dies_in_relu", "ReLU", "kernel died"),
    ("memory_hog_in_softplus", "SoftPlus", "MemoryError"),
    ("hang_in_linear_backward", "Linear", "did not finish"),
    ("hang_ignoring_interrupts_in_tanh", "Tanh", "did not finish"),
])
def test_a_broken_module_costs_only_its_own_points(graded, name, target, words):
    corpus, by_name, *_ = graded
    result = by_name[name]
    assert losers(result) == {target}
    text = " ".join(c["message"] for c in result["checks"] if c["target"] == target) + " ".join(result["errors"])
    assert words in text, text[:2000]


@pytest.mark.parametrize("name, words", [
    ("kernel_dies_while_loading", "kernel died"),
    ("memory_hog_while_loading", "MemoryError"),
])
def test_a_cell_that_breaks_the_kernel_while_loading_costs_nothing_else(graded, name, words):
    _, by_name, *_ = graded
    result = by_name[name]
    assert losers(result) == set()
    assert any(words in e for e in result["errors"]), result["errors"]


def test_tampering_gains_nothing(graded):
    corpus, by_name, _, report, root = graded
    honest_bug = by_name["tamper_numpy_and_reports"]
    assert losers(honest_bug) == {"Linear"}
    linear = {c["name"]: c["passed"] for c in honest_bug["checks"] if c["target"] == "Linear"}
    assert not linear["gradInput vs finite differences"]
    forged = by_name["tamper_forged_probe"]
    assert all(c["points"] == 0 for c in forged["checks"] if c["target"] in MODULE_TARGETS)
    # report-like files written by the kernel stay in its private copy of the submission
    for folder in (corpus["tamper_numpy_and_reports"].path, corpus["tamper_numpy_and_reports"].path.parent, report.parent):
        assert not (folder / "report.json").exists()
        assert not (folder / "grades.csv").exists() or folder == report.parent


def test_a_submission_that_borrows_the_reference_is_flagged_for_review(graded):
    _, by_name, *_ = graded
    result = by_name["cheat_runs_the_kit_reference"]
    # The corpus is graded in the sandbox: the kit cannot be read, so the borrow fails and Linear's own bug
    # shows (without the sandbox the borrowed reference would pass every value check). Only the scan tells a TA.
    assert losers(result) == {"Linear"}
    flags = [e for e in result["errors"] if e.startswith("integrity:")]
    assert flags, result["errors"]
    assert all(word in flags[0] for word in ("HW3_Modules.ipynb cell", "reads a file", "runs code from a string",
                                             "names a notebook file", "flagged for a TA"))
    for name in ("reference", "reference_zipped", "release", "mutant_linear_gradb_mean"):
        assert not any(e.startswith("integrity:") for e in by_name[name]["errors"]), name


UNREADABLE = {"png_under_notebook_name": "a PNG image under a notebook's name",
              "not_a_notebook": "the file is not complete JSON", "invalid_json": "the file is not complete JSON, cut off",
              "invalid_notebook_schema": "its contents are not a notebook's"}


@pytest.mark.parametrize("name, words", UNREADABLE.items())
def test_an_unreadable_notebook_gets_a_clear_error_and_awaits_a_ta_never_a_zero(graded, name, words):
    """(These asserted score 0 before: a notebook the grader cannot read is the grader's to refer, not a 0.)"""
    _, by_name, *_ = graded
    result = by_name[name]
    [item] = [c for c in result["checks"] if c["target"] == "modules"]
    assert item["review"]["status"] == "awaiting" and words in item["review"]["reason"]
    assert result["awaiting_review"] == item["max_points"] == sum(c.points for c in C.CHECKS)
    assert not [c for c in result["checks"] if c["target"] in MODULE_TARGETS]   # no module scored 0
    diff = [c for c in result["checks"] if c["target"] == "differentiation"]
    assert result["max_score"] == sum(c["max_points"] for c in diff)   # the differentiation's alone
    assert any("not a valid Jupyter notebook" in e and words in e for e in result["errors"]), result["errors"]


@pytest.mark.parametrize("name, words", [
    ("missing_folder", "no such file or folder"),
    ("empty_folder", "none of"),
])
def test_input_with_no_notebook_gets_a_clear_error_and_zero(graded, name, words):
    _, by_name, *_ = graded
    result = by_name[name]
    assert result["score"] == 0 and result["max_score"] > 0
    assert any(words in e for e in result["errors"]), result["errors"]


def test_a_utf16_twin_of_the_reference_is_graded_like_it(graded):
    _, by_name, *_ = graded
    twin, utf16 = by_name["reference"], by_name["reference_utf16"]
    assert [(c["name"], c["points"]) for c in utf16["checks"]] == [(c["name"], c["points"]) for c in twin["checks"]]
    assert any("read as UTF-16 text" in note for note in utf16["notes"]), utf16["notes"]


def test_gradebook_feedback_and_progress(graded):
    corpus, by_name, run, report, _ = graded
    rows = list(csv.DictReader(open(report.with_suffix(".csv"))))
    assert len(rows) == len(corpus)
    feedback = report.with_name(report.stem + "_feedback")
    files = sorted(p.name for p in feedback.glob("*.md"))
    assert len(files) == len(corpus)
    for row in rows:
        text = (report.parent / row["feedback"]).read_text()
        assert f"Score: {float(row['score']):g}" in text
    assert sum(line.startswith("[") and "/" in line for line in run.stdout.splitlines()) == len(corpus)
    assert "submission" in run.stdout and "graded in" in run.stdout
