"""From a course platform's download to its gradebook, through the command line as a TA would run it:

a Canvas-style download (a zip of a flat folder: one student plain, one with a renamed notebook, one with a zip)
and a Moodle-style download (a folder per participant: one plain, one renamed, one zip called ДЗ3.zip), a
differentiation notebook edited the way students do (an old wrong answer left above the fixed one, an answer
split in two cells, a helper in an added cell), and the field cases of ../shared/cases/ that concern the intake
or the differentiation notebook — graded in one batch with --fast; the platform CSVs, the kit's CSV, the
feedback files and the summary chart are checked.
"""
import csv
import json
import subprocess
import sys
import zipfile

import nbformat
import pytest

from conftest import SHARED_CASES
from corpus import DIFFERENTIATION, MODULES, MUTANTS, ROOT, mutate, reference

CASES = SHARED_CASES / "field"
FIELD = ["schema-minor4-with-ids", "renamed-download-copy", "colab-export", "kernelspec-conda", "cell-type-changed"]
FULL = 207   # --fast: modules 171 + differentiation 36
LINEAR_BUG = next(m for m in MUTANTS if m[0] == "linear_overwrites_gradW")


def edited_differentiation():
    """The reference answers, edited as students do: none of it may cost a point."""
    nb = reference(DIFFERENTIATION)
    cells = nb.cells
    at = {c.get("id"): i for i, c in enumerate(cells)}
    ex1 = cells[at["ex1-answer"]]
    old = nbformat.v4.new_code_cell(ex1.source.replace("return 2 * x", "return x  # my first try"))
    old["id"] = "ex1-answer-old"
    ex3 = cells[at["ex3-answer"]]
    first, second = ex3.source.split("\n\n\ndef grad_xAc_wrt_A")
    ex3.source = first
    split = nbformat.v4.new_code_cell("def grad_xAc_wrt_A" + second)
    soft = cells[at["ex5-softmax-answer"]]
    soft.source = soft.source.replace("np.sum(G * S, axis=1, keepdims=True)", "row_dot(G, S)")
    helper = nbformat.v4.new_code_cell("def row_dot(a, b):\n    return np.sum(a * b, axis=1, keepdims=True)")
    # the three results of linear_backward as a list (the check cell unpacks it as it unpacks the tuple)
    linear = cells[at["ex5-linear-answer"]]
    linear.source = linear.source.replace("return grad_input, grad_W, grad_b", "return [grad_input, grad_W, grad_b]")
    assert "return [grad_input" in linear.source
    # insert from the bottom so the indices above stay right
    cells.insert(at["ex5-softmax-answer"] + 1, helper)
    cells.insert(at["ex3-answer"] + 1, split)
    cells.insert(at["ex1-answer"], old)
    return nb


def write_nb(path, nb):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def with_scratch(nb):
    """`nb` with a scratch cell at its end that fails, as students leave them: costs nothing, named in the errors."""
    nb.cells.append(nbformat.v4.new_code_cell("print(my_scratch_value)"))
    return nb


def zip_folder(archive, folder, prefix=""):
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, prefix + str(p.relative_to(folder)))
    return archive


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("platforms")
    missing = [c for c in FIELD if not (CASES / c).is_dir()]
    assert not missing, f"field cases missing from {CASES}: {missing}"

    # Canvas: a flat folder, zipped as Canvas hands it out.
    canvas = root / "canvas"
    write_nb(canvas / "smithbob_1001_9001_HW3_Modules.ipynb", reference())
    write_nb(canvas / "smithbob_1001_9002_HW3_differentiation.ipynb", edited_differentiation())
    write_nb(canvas / "wellsjane_LATE_1002_9003_HW3_Modules-1.ipynb", reference())
    own = root / "leeann_hw3"
    write_nb(own / "hw3" / MODULES, mutate(reference(), *LINEAR_BUG[1:4]))
    write_nb(own / "hw3" / DIFFERENTIATION, reference(DIFFERENTIATION))
    zip_folder(canvas / "leeann_1003_9004_hw3.zip", own)
    canvas_zip = zip_folder(root / "submissions.zip", canvas)

    # Moodle: a folder per participant.
    moodle = root / "moodle"
    write_nb(moodle / "Ann Lee_501_assignsubmission_file_" / MODULES, reference())
    write_nb(moodle / "Ann Lee_501_assignsubmission_file_" / DIFFERENTIATION, reference(DIFFERENTIATION))
    write_nb(moodle / "Борис Иванов_502_assignsubmission_file_" / "HW3_Modules (1).ipynb", with_scratch(reference()))
    write_nb(moodle / "Борис Иванов_502_assignsubmission_file_" / "HW3_differentiation_Ivanov.ipynb",
             with_scratch(reference(DIFFERENTIATION)))
    dz = root / "dz3"
    write_nb(dz / "ДЗ3" / MODULES, reference())
    zip_folder(moodle / "Cy Young_503_assignsubmission_file_" / "ДЗ3.zip", dz)

    report = root / "out" / "grades.json"
    run = subprocess.run([sys.executable, "-m", "grader", str(canvas_zip), str(moodle),
                          *[str(CASES / c) for c in FIELD], "--json", str(report), "--jobs", "2", "--fast",
                          "--timeout", "30"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(report.read_text(encoding="utf-8"))
    return {r["key"]: r for r in results}, report, run


def totals(result, target=None):
    checks = [c for c in result["checks"] if target is None or c["target"] == target
              or (target == "modules" and c["target"] != "differentiation")]
    return sum(c["points"] for c in checks), sum(c["max_points"] for c in checks)


def test_every_student_of_both_platforms_is_graded_once_by_their_id(batch):
    by_key, _, run = batch
    assert {"1001", "1002", "1003", "501", "502", "503"} <= set(by_key)
    assert len(by_key) == 6 + len(FIELD)
    assert by_key["1001"]["score"] == FULL, by_key["1001"]["errors"]
    assert totals(by_key["1002"], "modules") == (171, 171)
    assert "HW3_Modules-1.ipynb graded as HW3_Modules.ipynb" in by_key["1002"]["notes"]
    assert totals(by_key["1003"], "modules")[0] < 171 and totals(by_key["1003"], "differentiation") == (36, 36)
    assert [c["target"] for c in by_key["1003"]["checks"] if not c["passed"] and c["max_points"]] == ["Linear"]
    assert by_key["501"]["score"] == FULL
    assert totals(by_key["502"], "modules") == (171, 171)
    assert "HW3_Modules (1).ipynb graded as HW3_Modules.ipynb" in by_key["502"]["notes"]
    assert totals(by_key["503"], "modules") == (171, 171)
    assert "smithbob (1001)" in run.stdout


def test_errors_name_a_renamed_notebook_by_the_name_it_was_handed_in_as(batch):
    """Борис handed in `HW3_Modules (1).ipynb` and `HW3_differentiation_Ivanov.ipynb`, each with a failing scratch
    cell: his errors name his files (the notes say which file was graded as which notebook), not the kit's names."""
    by_key, *_ = batch
    result = by_key["502"]
    assert result["score"] == FULL, result["errors"]
    scratch = [e for e in result["errors"] if "my_scratch_value" in e]
    assert len(scratch) == 2 and all("NameError" in e for e in scratch), result["errors"]
    assert {e.split(" cell ")[0] for e in scratch} == {"HW3_Modules (1).ipynb", "HW3_differentiation_Ivanov.ipynb"}
    assert not any(e.startswith((MODULES, DIFFERENTIATION)) for e in result["errors"]), result["errors"]
    assert "HW3_differentiation_Ivanov.ipynb graded as HW3_differentiation.ipynb" in result["notes"]


def test_differentiation_answers_are_found_as_a_reader_would(batch):
    by_key, *_ = batch
    result = by_key["1001"]
    assert totals(result, "differentiation") == (36, 36), [c for c in result["checks"] if not c["passed"]]
    assert any("grad_xTx() is defined in 2 cells" in n and "the last one is graded" in n for n in result["notes"])


def test_linear_backward_returning_its_three_gradients_as_a_list_is_the_kits_answer(batch):
    """`return [grad_input, grad_W, grad_b]` (edited_differentiation): the answer the text asks for, which the kit's
    check cell unpacks as it unpacks a tuple. Before, the grader took the list for one array: 'returned list', 1 of
    3 points (the check cell's point only)."""
    by_key, *_ = batch
    linear = [c for c in by_key["1001"]["checks"] if c["name"].startswith("ex5-linear")]
    assert len(linear) == 2 and all(c["passed"] for c in linear), linear


def test_canvas_gradebook_has_one_row_per_student_with_the_canvas_id(batch):
    by_key, report, _ = batch
    rows = list(csv.reader(open(report.with_name("grades_canvas.csv"), encoding="utf-8")))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW3"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][5] == str(FULL)
    scores = {row[1]: float(row[5]) for row in rows[2:] if row[1]}
    assert scores == {k: by_key[k]["score"] for k in ("1001", "1002", "1003")}


def test_moodle_worksheet_has_one_row_per_participant(batch):
    by_key, report, _ = batch
    rows = list(csv.DictReader(open(report.with_name("grades_moodle.csv"), encoding="utf-8")))
    ids = {row["Identifier"]: row for row in rows if row["Identifier"]}
    assert set(ids) == {"Participant 501", "Participant 502", "Participant 503"}
    for pid in ("501", "502", "503"):
        row = ids[f"Participant {pid}"]
        assert float(row["Grade"]) == by_key[pid]["score"] and float(row["Maximum Grade"]) == FULL
        assert row["Last modified (grade)"] and row["Feedback comments"].startswith(f"Score {by_key[pid]['score']:g}/")
        assert ".md" not in row["Feedback comments"]   # the student reads it: no file of the TA's machine
    assert ids["Participant 502"]["Full name"] == "Борис Иванов"


def test_kit_gradebook_feedback_files_and_summary_chart(batch):
    by_key, report, _ = batch
    rows = list(csv.DictReader(open(report.with_suffix(".csv"), encoding="utf-8")))
    assert len(rows) == len(by_key) and {"key", "name", "score", "Linear", "differentiation"} <= set(rows[0])
    feedback = report.with_name("grades_feedback")
    for key in ("1001", "503", "renamed-download-copy"):
        md = (feedback / f"{key}.md").read_text(encoding="utf-8")
        html = (feedback / f"{key}.html").read_text(encoding="utf-8")
        assert f"Score: {by_key[key]['score']:g}" in md and "<table>" in html and "<h1>" in html
    png = report.with_name("grades_summary.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


@pytest.mark.parametrize("case, modules, differentiation, words", [
    ("schema-minor4-with-ids", (171, 171), (36, 36), "was repaired"),
    ("renamed-download-copy", (171, 171), (36, 36), "HW3_Modules (1).ipynb graded as HW3_Modules.ipynb"),
    ("colab-export", (171, 171), (36, 36), None),
    ("kernelspec-conda", (171, 171), (36, 36), None),
])
def test_field_cases_of_the_intake(batch, case, modules, differentiation, words):
    by_key, *_ = batch
    result = by_key[case]
    assert totals(result, "modules") == modules, [c for c in result["checks"] if not c["passed"]][:3]
    assert totals(result, "differentiation") == differentiation, [c for c in result["checks"] if not c["passed"]][:3]
    if words:
        assert any(words in n for n in result["notes"]), result["notes"]


def test_colab_export_lists_its_failing_cells(batch):
    by_key, *_ = batch
    assert any("google.colab" in e for e in by_key["colab-export"]["errors"]), by_key["colab-export"]["errors"]


def test_answer_in_a_raw_cell_gets_zero_with_the_reason(batch):
    by_key, *_ = batch
    ex1 = [c for c in by_key["cell-type-changed"]["checks"] if c["name"].startswith("ex1:")]
    assert sum(c["points"] for c in ex1) == 0 and sum(c["max_points"] for c in ex1) == 3
    assert all("not in a code cell" in c["message"] and "raw cell" in c["message"] for c in ex1), ex1
    others = [c for c in by_key["cell-type-changed"]["checks"]
              if c["target"] == "differentiation" and not c["name"].startswith("ex1:")]
    assert all(c["passed"] for c in others)


def test_answers_of_several_exercises_in_one_cell_are_graded_and_none_is_called_missing(tmp_path):
    """Every answer pasted into one cell right after the helpers, the last exercise's first (as a student collects
    them): the cell runs where the first exercise is answered, so every check passes, and no exercise is reported
    as having no answer."""
    from grader.execution.session import grade_submission
    from grader.options import Options
    nb = reference(DIFFERENTIATION)
    answers = [c for c in nb.cells if c.get("id", "").endswith("-answer")]
    for cell in answers:
        nb.cells.remove(cell)
    at = next(i for i, c in enumerate(nb.cells) if c.get("id") == "helpers-selftest")
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell("\n\n\n".join(c.source for c in reversed(answers))))
    folder = tmp_path / "one-cell"
    folder.mkdir()
    nbformat.write(nb, str(folder / DIFFERENTIATION))
    result = grade_submission(folder, Options(timeout=60, fast=True))
    assert totals(result, "differentiation") == (36, 36), [c for c in result["checks"] if not c["passed"]]
    assert not [e for e in result["errors"] if DIFFERENTIATION in e], result["errors"]


@pytest.mark.parametrize("with_ids", [True, False])
def test_answers_bound_to_lambdas_are_the_kits_answers_with_or_without_cell_ids(tmp_path, with_ids):
    """`grad_xTx = lambda x: 2 * x` in place of a def, in a copy without cell ids (nbformat 4.4, as Colab and older
    Jupyter save it): the kit's answers, every check full. Before, without ids the notebook was read as the course's
    LaTeX notebook (no `def grad_xTx`): all 36 points became the course's 15, awaiting a TA."""
    from grader.execution.session import grade_submission
    from grader.options import Options
    nb = reference(DIFFERENTIATION)
    at = {c.get("id"): c for c in nb.cells}
    at["ex1-answer"].source = "grad_xTx = lambda x: 2 * x\n"
    at["ex2-answer"].source = "grad_trAB_wrt_A = lambda A, B: B.T  # dy/dA\n"
    folder = tmp_path / "lambdas"
    folder.mkdir()
    if with_ids:
        nbformat.write(nb, str(folder / DIFFERENTIATION))
    else:
        nb.nbformat_minor = 4
        for cell in nb.cells:
            cell.pop("id", None)
        (folder / DIFFERENTIATION).write_text(nbformat.writes(nb, version=nbformat.NO_CONVERT), encoding="utf-8")
        assert '"id"' not in (folder / DIFFERENTIATION).read_text(encoding="utf-8")
    result = grade_submission(folder, Options(timeout=60, fast=True))
    assert totals(result, "differentiation") == (36, 36), [c for c in result["checks"] if not c["passed"]]
    assert not [c for c in result["checks"] if c.get("review")]


def test_two_different_files_for_one_notebook_await_a_ta_never_a_zero(tmp_path):
    """HW3_Modules.ipynb and an older, different HW3_Modules-Copy1.ipynb: the grader never picks one, so the modules'
    points await a TA (outside the score and the maximum), with one line naming both files and what to do; never
    "missing" or "not found", never 0 of 171."""
    from grader.execution.session import grade_submission
    from grader.options import Options
    folder = tmp_path / "two-copies"
    folder.mkdir()
    nbformat.write(reference(), str(folder / MODULES))
    nbformat.write(mutate(reference(), *LINEAR_BUG[1:4]), str(folder / "HW3_Modules-Copy1.ipynb"))
    nbformat.write(reference(DIFFERENTIATION), str(folder / DIFFERENTIATION))
    result = grade_submission(folder, Options(timeout=60, fast=True))
    assert (result["score"], result["max_score"], result["awaiting_review"]) == (36, 36, 171), result["errors"]
    [waiting] = [c for c in result["checks"] if c.get("review")]
    assert "HW3_Modules.ipynb, HW3_Modules-Copy1.ipynb" in waiting["message"], waiting
    [line] = result["errors"]
    assert "2 different files could be HW3_Modules.ipynb" in line and "keep one" in line, line
    assert not any(word in text for text in result["errors"] + [c["message"] for c in result["checks"]]
                   for word in ("missing", "not found")), result


def test_a_kit_main_notebook_beside_two_different_modules_files_awaits_a_ta_too(tmp_path):
    """It runs HW3_Modules.ipynb (%run): which one is unknown, so it is not run and its points await the TA too."""
    from grader.execution.session import grade_submission
    from grader.options import Options
    folder = tmp_path / "two-copies-main"
    folder.mkdir()
    nbformat.write(reference(), str(folder / MODULES))
    nbformat.write(mutate(reference(), *LINEAR_BUG[1:4]), str(folder / "HW3_Modules (1).ipynb"))
    nbformat.write(reference("HW3_main.ipynb"), str(folder / "HW3_main.ipynb"))
    result = grade_submission(folder, Options(timeout=60))
    assert result["awaiting_review"] == 171 + 10, result["errors"]
    main = next(c for c in result["checks"] if c["target"] == "main notebook")
    assert main["name"] == "HW3_main.ipynb could not run: HW3_Modules.ipynb was handed in twice over", main
    assert any("HW3_main.ipynb: not run: it runs HW3_Modules.ipynb (%run), and 2 different files could be" in e
               and "once one of HW3_Modules.ipynb, HW3_Modules (1).ipynb is kept" in e for e in result["errors"])


def test_a_helper_module_handed_in_beside_the_notebooks_of_a_canvas_download_is_imported(tmp_path):
    """`from utils import stable_softmax` in the modules notebook, utils.py handed in too: in a Canvas download as a
    loose file (Canvas prefixes it: name_111_..._utils.py), as a second upload (utils-1.py), or inside the student's
    zip beside the notebook. Before, only the notebooks were copied where they are graded: SoftMax failed with "No
    module named 'utils'" (137/146)."""
    from versions import builder
    nb = builder.notebook("2019-21")
    softmax = next(c for c in nb.cells if "class SoftMax(" in c.source)
    body = ("shifted = input - input.max(axis=1, keepdims=True)\n        e = np.exp(shifted)\n"
            "        self.output = e / e.sum(axis=1, keepdims=True)")
    assert body in softmax.source
    softmax.source = "from utils import stable_softmax\n" + softmax.source.replace(body, "self.output = stable_softmax(input)")
    utils = ("import numpy as np\n\n\ndef stable_softmax(x):\n    e = np.exp(x - x.max(axis=1, keepdims=True))\n"
             "    return e / e.sum(axis=1, keepdims=True)\n")
    canvas = tmp_path / "canvas"
    canvas.mkdir()
    write_nb(canvas / "loosefile_111_9001_homework_modules.ipynb", nb)
    (canvas / "loosefile_111_9002_utils.py").write_text(utils)
    write_nb(canvas / "secondupload_222_9003_homework_modules.ipynb", nb)
    (canvas / "secondupload_222_9004_utils-1.py").write_text(utils)
    with zipfile.ZipFile(canvas / "inzip_333_9005_hw1.zip", "w") as zf:
        zf.writestr("hw1/homework_modules.ipynb", nbformat.writes(nb))
        zf.writestr("hw1/utils.py", utils)
    json_path = tmp_path / "out" / "grades.json"
    run = subprocess.run([sys.executable, "-m", "grader", str(canvas), "--json", str(json_path), "--fast"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    reports = {r["key"]: r for r in json.loads(json_path.read_text(encoding="utf-8"))}
    assert set(reports) == {"111", "222", "333"}
    for key, report in reports.items():
        assert report["version"] == "2019-21" and report["score"] == report["max_score"] == 146, (key, report["errors"])
        assert not [n for n in report["notes"] if "utils is not installed" in n], report["notes"]
