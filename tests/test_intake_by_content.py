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


# ------------------------------------------------------------------ the main notebook by its contents


def course_main_template(title, run="%run homework_modules.ipynb", keep=True):
    """A course main notebook as a student finishes it: the template's title (or none), its Toy example and Digit
    classification cells (or none), the `%run` of the modules notebook, their own training code on MNIST."""
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [md(title)] if title else []
    cells += [code("%matplotlib inline\nimport numpy as np"), code(f"# (re-)load layers\n{run}")]
    if keep:
        cells += [md("# Toy example"), md("Define a **logistic regression** for debugging. "),
                  md("Basic training loop. Examine it."), md("# Digit classification ")]
    cells += [code("import mnist\nX_train, y_train, X_val, y_val, X_test, y_test = mnist.load_dataset()"),
              code("net = Sequential()\nnet.add(Linear(784, 10))\nnet.add(LogSoftMax())")]
    return nbformat.v4.new_notebook(cells=cells)


@pytest.mark.parametrize("nb_kind", ["kit", "kit without ids", "2017 seed title", "2018 title", "advanced title",
                                     "template cells kept", "runs the modules and trains on MNIST",
                                     "nbconvert import", "run from a subfolder"])
def test_the_main_notebook_is_told_by_its_text(nb_kind):
    from grader.intake.by_content import is_main
    kit = nbformat.read(str(ROOT / "HW3_main.ipynb"), 4)
    nb = {"kit": lambda: kit,
          "kit without ids": lambda: nbformat.v4.new_notebook(cells=[
              nbformat.v4.new_code_cell(c.source) if c.cell_type == "code" else nbformat.v4.new_markdown_cell(c.source)
              for c in kit.cells]),
          "2017 seed title": lambda: course_main_template("# Home work 3: Basic Artificial Neural Networks", keep=False),
          "2018 title": lambda: course_main_template("# Homework: Basic Artificial Neural Networks", keep=False),
          "advanced title": lambda: course_main_template("# Homework: Not So Basic Artificial Neural Networks",
                                                        keep=False),
          "template cells kept": lambda: course_main_template(None, run="x = 1"),
          "runs the modules and trains on MNIST": lambda: course_main_template(None, keep=False),
          "nbconvert import": lambda: course_main_template(None, run="from homework_modules import *", keep=False),
          "run from a subfolder": lambda: course_main_template(None, run='%run "./hw/HW3_Modules.ipynb"', keep=False),
          }[nb_kind]()
    assert is_main(nb)
    assert not is_differentiation(nb)


def test_no_other_notebook_reads_as_the_main_one():
    from grader.intake.by_content import is_main
    assert not is_main(reference(MODULES)) and not is_main(reference(DIFFERENTIATION))
    assert not is_main(course_differentiation())
    tests_only = course_main_template(None, keep=False)   # the course's tests notebook renamed: loads, no MNIST
    tests_only.cells = [c for c in tests_only.cells if "mnist" not in c.source]
    assert not is_main(tests_only)
    scratch = course_main_template(None, run="%run helpers.ipynb", keep=False)   # loads something else
    assert not is_main(scratch)
    everything = reference(MODULES)
    everything.cells += nbformat.read(str(ROOT / "HW3_main.ipynb"), 4).cells   # all in one notebook
    assert not is_main(everything)


def test_a_main_notebook_of_a_name_of_its_own_is_chosen_with_a_note(tmp_path):
    """The kit's main notebook saved as Untitled.ipynb, beside a copy of it (Untitled1.ipynb, the same bytes) and a
    scratch notebook: graded as HW3_main.ipynb, noted. Two different main notebooks of names of their own: neither,
    both named, for a TA (grader/execution/workcopy.py)."""
    from grader.intake.discover import MAIN, discover
    kit_main = nbformat.read(str(ROOT / "HW3_main.ipynb"), 4)
    folder = tmp_path / "alice"
    folder.mkdir()
    nbformat.write(reference(MODULES), str(folder / MODULES))
    nbformat.write(kit_main, str(folder / "Untitled.ipynb"))
    nbformat.write(kit_main, str(folder / "Untitled1.ipynb"))
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), str(folder / "scratch.ipynb"))
    [sub] = discover([folder], staging=tmp_path / "stage")
    assert sub.files[MAIN].endswith("Untitled.ipynb") and not sub.ambiguous
    assert "Untitled.ipynb: a name of its own, the main notebook's contents" in sub.notes
    assert "Untitled.ipynb graded as HW3_main.ipynb" in sub.notes
    named = tmp_path / "bob"
    named.mkdir()
    nbformat.write(kit_main, str(named / "HW3_main.ipynb"))
    nbformat.write(course_main_template(None, keep=False), str(named / "draft.ipynb"))
    [sub] = discover([named], staging=tmp_path / "stage-bob")
    assert sub.files[MAIN].endswith("HW3_main.ipynb")   # a name that fits wins: contents are read only without one
    two = tmp_path / "carol"
    two.mkdir()
    nbformat.write(course_main_template(None, keep=False), str(two / "hw3.ipynb"))
    nbformat.write(course_main_template("# Homework: Basic Artificial Neural Networks"), str(two / "hw3_v2.ipynb"))
    [sub] = discover([two], staging=tmp_path / "stage-carol")
    assert MAIN not in sub.files and len(sub.ambiguous[MAIN]) == 2


def test_a_run_line_of_endless_options_is_read_in_linear_time(tmp_path):
    """`%run -a -a ... -a` (100,000 options, 300 KB) in a notebook of a name of its own: the intake reads it in its own
    process, the main notebook's %run rewriting too. Options and path could take the same text: each split was tried
    (quadratic: 16,000 options took 8 s, this line hours). The path now never starts with '-'."""
    import time
    from grader.intake.by_content import is_main
    from grader.parts.main_elsewhere import run_modules_here
    line = "%run " + "-a " * 100_000
    nb = course_main_template(None, run=line, keep=False)
    started = time.monotonic()
    assert not is_main(nb)                                     # loads nothing it can name: not the main notebook
    assert run_modules_here(line, tmp_path) == (line, [])
    assert time.monotonic() - started < 2
    assert is_main(course_main_template(None, run="%run -i -a 'HW3_Modules (1).ipynb'", keep=False))


@pytest.mark.parametrize("advanced_ran, basic_ran, graded", [
    (False, True, "homework_main-basic.ipynb"),       # the course's folder handed in whole, the work in the basic track
    (True, True, "homework_main-advanced.ipynb"),     # both ran: the advanced track, as before
    (True, False, "homework_main-advanced.ipynb"),
    (False, False, "homework_main-advanced.ipynb"),   # neither ran: nothing to prefer
])
def test_of_the_two_course_tracks_the_one_that_ran_is_graded(tmp_path, advanced_ran, basic_ran, graded):
    """2019-21's homework_main-advanced.ipynb is graded before homework_main-basic.ipynb; but an advanced template
    never run beside a basic notebook that ran was graded as 'not run' (all 8 points to a TA) and the work only
    noted."""
    from grader.intake.discover import MAIN, discover

    def track(title, ran):
        nb = course_main_template(title, keep=False)
        if ran:
            for number, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
                cell.execution_count = number + 1
        return nb
    folder = tmp_path / "student"
    folder.mkdir()
    nbformat.write(builder.notebook("2019-21"), str(folder / "homework_modules.ipynb"))
    nbformat.write(track("# Homework: Not So Basic Artificial Neural Networks", advanced_ran),
                   str(folder / "homework_main-advanced.ipynb"))
    nbformat.write(track("# Homework: Basic Artificial Neural Networks", basic_ran), str(folder / "homework_main-basic.ipynb"))
    [sub] = discover([folder], staging=tmp_path / "stage")
    assert sub.files[MAIN].endswith(graded) and not sub.ambiguous
    swapped = any("was never run" in note for note in sub.notes)
    assert swapped is (graded == "homework_main-basic.ipynb"), sub.notes
