"""Notebooks named as students please: the Russian words in a name (ДЗ3_модули.ipynb), and a differentiation notebook
whose name fits nothing (hw1.ipynb, Дифференцирование.ipynb, matrix_calculus.ipynb) found by its contents
(grader/intake/by_content.py). Before, its 36 points (the course's: 15) were 0 with "not found"."""
import json
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT
from corpus import DIFFERENTIATION, MODULES, reference
from derivations.batch import cells_for
from grader.intake.by_content import is_differentiation
from grader.intake.discover import match_tier
from grader.intake import templates as template
from versions import builder

FULL = 207   # --fast: modules 171 + differentiation 36


def course_differentiation(student=0, title=True):
    """A course differentiation notebook answered in LaTeX (tests/derivations/batch.py's student), with the course's
    title or, without it, the template's own question cells kept."""
    nb = nbformat.v4.new_notebook()
    cells = [nbformat.v4.new_markdown_cell(source) for _, source, _ in cells_for(student)]
    if not title:
        cells = [nbformat.v4.new_markdown_cell(source) for source in ("## ex. 1", "$$ \ny = x^Tx, \\quad x \\in "
                 "\\mathbb{R}^N \n$$", "## ex. 2", "$$ y = tr(AB) \\quad A,B \\in \\mathbb{R}^{N \\times N} $$")] + cells[1:]
    nb.cells = cells
    return nb


@pytest.mark.parametrize("name, kit", [
    ("ДЗ3_модули.ipynb", MODULES), ("Модули (1).ipynb", MODULES), ("Дифференцирование.ipynb", DIFFERENTIATION),
    ("дз3 дифференцирование матриц.ipynb", DIFFERENTIATION), ("ДЗ3.ipynb", None), ("Untitled.ipynb", None),
])
def test_the_russian_words_in_a_notebooks_name_match(name, kit):
    fit = match_tier(name)
    assert (fit[0] if fit else None) == kit


def test_the_differentiation_notebook_is_told_by_its_text_and_nothing_else_is():
    assert is_differentiation(reference(DIFFERENTIATION))                   # the kit's
    assert is_differentiation(course_differentiation())                     # the course's, by its title
    untitled = course_differentiation(title=False)
    assert template.version(template.cells_of(untitled)) is None
    assert is_differentiation(untitled)                                      # by the template's questions kept
    assert not is_differentiation(reference(MODULES))
    assert not is_differentiation(nbformat.read(str(ROOT / "HW3_main.ipynb"), 4))
    everything = reference(DIFFERENTIATION)
    everything.cells += reference(MODULES).cells                             # all pasted into one notebook
    assert not is_differentiation(everything)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("named")
    folders = {}

    def folder(name, files):
        path = root / name
        path.mkdir()
        for file_name, nb in files.items():
            nbformat.write(nb, str(path / file_name))
        folders[name] = path
    kit_diff, course_diff = reference(DIFFERENTIATION), course_differentiation()
    folder("kit", {"Модули.ipynb": reference(MODULES), "hw1.ipynb": kit_diff})
    folder("course", {"homework_modules.ipynb": builder.notebook("2018"), "matrix_calculus.ipynb": course_diff})
    other = reference(DIFFERENTIATION)
    other.cells[[c.get("id") for c in other.cells].index("ex1-answer")].source = "def grad_xTx(x):\n    return x\n"
    folder("two", {MODULES: reference(MODULES), "part1.ipynb": kit_diff, "part1_v2.ipynb": other})
    folder("baseline", {MODULES: reference(MODULES)})
    report = root / "out" / "grades.json"
    run = subprocess.run([sys.executable, "-m", "grader", *map(str, folders.values()), "--json", str(report), "--fast"],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    results = {r["submission"]: r for r in json.loads(report.read_text(encoding="utf-8"))}
    return {name: results[str(path)] for name, path in folders.items()}


def test_a_kit_submission_named_in_russian_and_as_hw1_gets_full_marks(graded):
    result = graded["kit"]
    assert (result["score"], result["max_score"], result["awaiting_review"]) == (FULL, FULL, 0), result["errors"]
    assert "hw1.ipynb: a name of its own, the differentiation notebook's contents" in result["notes"]
    assert "Модули.ipynb graded as HW3_Modules.ipynb" in result["notes"]
    assert not any("not found" in error for error in result["errors"]), result["errors"]


def test_a_course_differentiation_notebook_of_another_name_is_judged_not_zero(graded):
    result, baseline = graded["course"], graded["baseline"]
    diff = [c for c in result["checks"] if c["target"] == "differentiation"]
    assert [c["name"][:5] for c in diff] == ["ex. 1", "ex. 2", "ex. 3", "ex. 4", "ex. 4"]
    assert sum(c["points"] for c in diff if not c.get("review")) == 12           # ex. 1 to ex. 4 right
    assert not any("not found" in error for error in result["errors"]), result["errors"]
    assert result["score"] == result["max_score"]


def test_two_different_differentiation_notebooks_of_other_names_await_a_ta_never_a_zero(graded):
    result = graded["two"]
    [item] = [c for c in result["checks"] if c["target"] == "differentiation"]
    assert item["review"]["status"] == "awaiting" and item["max_points"] == 36
    assert "part1.ipynb" in item["message"] and "part1_v2.ipynb" in item["message"]
    assert result["score"] == result["max_score"] == 171 and result["awaiting_review"] == 36
