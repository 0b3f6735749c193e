"""The student release (`python -m grader release OUTDIR`) and the students' check(), which runs the
grader's own checks with expected values frozen into the release."""
import ast
import subprocess
import sys

import nbformat
import pytest

from corpus import ROOT, MUTANTS, mutate, reference
from grader import selfcheck as C
from grader.kit import release as R
from grader.selfcheck import results_for


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "hw3"
    run = subprocess.run([sys.executable, "-m", "grader", "release", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return out


def test_release_holds_what_a_student_needs(released):
    for name in R.NOTEBOOKS + ("requirements.txt", "README.md", "data/mnist.py", "data/mnist.npz",
                               "grader/selfcheck/__init__.py", "grader/selfcheck/catalogue.py",
                               "grader/selfcheck/reference_values.npz"):
        assert (released / name).is_file(), name
    assert not (released / "grader" / "execution").exists()   # the grading machinery stays with the instructor


@pytest.mark.parametrize("name", R.NOTEBOOKS)
def test_released_notebooks_are_valid_clean_and_hold_no_solution(released, name):
    nb = nbformat.read(str(released / name), as_version=4)
    nbformat.validate(nb)
    kit = nbformat.read(str(ROOT / name), as_version=4)
    kept = [c for c in kit.cells   # a cell of kit-only text alone is left out
            if R.for_students(c.source, "kit", markdown=c.cell_type == "markdown").strip() or not c.source.strip()]
    assert [c.get("id") for c in nb.cells] == [c.get("id") for c in kept]
    for cell, original in zip(nb.cells, kept):
        lines = {line.strip() for line in cell.source.splitlines()}
        for marker in sum(R.MARKERS, ()):   # (prose may mention a marker; no line may be one)
            assert marker not in lines, (name, cell.get("id"))
        if R.MARKDOWN_ANSWER_TAG in original.metadata.get("tags", []):
            assert cell.cell_type == "markdown" and cell.source == R.MARKDOWN_STUB
            continue
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            ast.parse("\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!"))))
            if R.CODE[0] in original.source:
                assert "raise NotImplementedError(" in cell.source
                # what was outside the regions (prototypes, docstrings) is kept line for line
                outside = R.strip_code(R.for_students(original.source, "kit", markdown=False), "kit").splitlines()
                assert cell.source.splitlines() == outside
        if cell.cell_type == "markdown" and R.MARKDOWN[0] in original.source:
            assert R.MARKDOWN_STUB in cell.source
            before = R.for_students(original.source.split(R.MARKDOWN[0])[0], "kit", markdown=True)
            assert cell.source.split(R.MARKDOWN_STUB)[0].strip() == before.strip()


def test_kit_only_and_student_only_text():
    kit = ("intro\n<!-- BEGIN KIT ONLY -->\nmake run\n<!-- END KIT ONLY -->\n<!-- BEGIN STUDENT ONLY\n"
           "open it in Jupyter\nEND STUDENT ONLY -->\nend")
    assert R.for_students(kit, "x", markdown=True) == "intro\nopen it in Jupyter\nend"
    code = "x = 1\n### BEGIN KIT ONLY\nassert x > 0.99\n### END KIT ONLY\nprint(x)"
    assert R.for_students(code, "x", markdown=False) == "x = 1\nprint(x)"
    with pytest.raises(R.ReleaseError, match="never closed"):
        R.for_students("<!-- BEGIN STUDENT ONLY\ntext", "x.ipynb cell 0", markdown=True)


def test_a_cell_of_kit_only_text_alone_is_left_out_of_the_release(tmp_path, released):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1", id="given"),
                nbformat.v4.new_markdown_cell("<!-- BEGIN KIT ONLY -->\nthe kit's extra\n<!-- END KIT ONLY -->", id="kit-md"),
                nbformat.v4.new_code_cell("### BEGIN KIT ONLY\nextra = 2\n### END KIT ONLY\n", id="kit-code"),
                nbformat.v4.new_code_cell("y = 1\n### BEGIN KIT ONLY\nassert y\n### END KIT ONLY", id="mixed"),
                nbformat.v4.new_code_cell("", id="empty")]   # empty in the kit: kept, as it was
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, str(path))
    student = R.student_notebook(path)
    assert [(c.id, c.source) for c in student.cells] == [("given", "x = 1"), ("mixed", "y = 1"), ("empty", "")]
    main = [c.get("id") for c in nbformat.read(str(released / "HW3_main.ipynb"), as_version=4).cells]
    assert "main-best-result" in main and not [i for i in main if i.startswith("main-best-tta")]


def test_stubs_name_the_method_they_stand_for(released):
    nb = nbformat.read(str(released / "HW3_Modules.ipynb"), as_version=4)
    source = "\n".join(c.source for c in nb.cells)
    for name in ("Linear.updateOutput", "Linear.accGradParameters", "Sequential.backward", "adam_optimizer",
                 "Conv2d.updateGradInput"):
        assert f"raise NotImplementedError({name!r})" in source, name


def test_release_refuses_a_non_empty_folder(released):
    run = subprocess.run([sys.executable, "-m", "grader", "release", str(released)], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2 and "not empty" in run.stderr


def test_release_rejects_unbalanced_markers():
    with pytest.raises(R.ReleaseError, match="never closed"):
        R.strip_code("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "x.ipynb cell 3")
    with pytest.raises(R.ReleaseError, match="without"):
        R.strip_markdown("text\n<!-- END SOLUTION -->\n", "x.ipynb cell 4")


def _selfcheck(folder, code):
    return subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "HW3_SELFCHECK": "1"})


def test_selfcheck_in_the_release_passes_the_reference_with_frozen_values(released):
    code = ("import sys; sys.path.insert(0, '.')\n"
            "from grader.selfcheck.notebook import load_notebook\n"
            "import grader.selfcheck as s\n"
            f"ns = load_notebook({str(ROOT / 'HW3_Modules.ipynb')!r})\n"
            "assert s.FROZEN.exists() and s.__file__.startswith('" + str(released) + "')\n"
            "assert s.check(namespace=vars(ns)).passed is True\n")
    run = _selfcheck(released, code)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "All checks passed." in run.stdout


def test_selfcheck_on_the_release_stubs_says_not_implemented_without_crashing(released):
    code = ("import sys; sys.path.insert(0, '.')\n"
            "from grader.selfcheck.notebook import load_notebook\n"
            "from grader.selfcheck import check\n"
            "ns = load_notebook('HW3_Modules.ipynb')\n"
            "assert check('Linear', namespace=vars(ns)).passed is False\n"
            "assert check(namespace=vars(ns)).passed is False\n")
    run = _selfcheck(released, code)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "not implemented yet" in run.stdout and "Some checks FAILED" in run.stdout
    assert any(line.startswith("FAIL  Linear") for line in run.stdout.splitlines())


def test_selfcheck_runs_the_grader_checks_and_fails_a_mutant_like_the_grader(tmp_path):
    """check(target) = the grader's catalogue for that target; a mutant fails the same rows in both."""
    name, cls, old, new, lose = next(m for m in MUTANTS if m[0] == "sigmoid_grad")
    path = tmp_path / "HW3_Modules.ipynb"
    nbformat.write(mutate(reference(), cls, old, new), str(path))
    from grader.selfcheck.notebook import load_notebook
    ns = vars(load_notebook(path))
    rows = results_for(ns, "Sigmoid")
    assert [(r.name, r.max_points) for r in rows] == [(c.name, c.points) for c in C.checks_of("Sigmoid")]
    assert {r.name for r in rows if not r.passed} == {"gradInput vs finite differences", "finite for inputs 0 and of magnitude 800"}
    assert all(r.passed for r in results_for(ns, "Tanh"))


def test_check_rejects_an_unknown_module_name():
    from grader.selfcheck import check
    with pytest.raises(ValueError, match="unknown module"):
        check("Lineaar", namespace={})


def test_students_requirements_hold_what_their_notebooks_import_and_no_grader_package(released):
    import re
    pinned = {re.split(r"[=<>!~; ]", line, maxsplit=1)[0].lower()
              for line in (released / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")}
    assert pinned == set(R.STUDENT_PACKAGES)
    assert not pinned & {"scipy", "scikit-image", "nbval", "dask", "distributed", "sympy", "lark", "pytest"}
    imported = {"numpy": "numpy", "sklearn": "scikit-learn", "matplotlib": "matplotlib", "ipywidgets": "ipywidgets",
                "tqdm": "tqdm", "threadpoolctl": "threadpoolctl", "nbformat": "nbformat", "IPython": "ipykernel"}
    for name in R.NOTEBOOKS:
        for cell in nbformat.read(str(released / name), as_version=4).cells:
            if cell.cell_type == "code":
                for module in re.findall(r"^\s*(?:from|import)\s+(\w+)", cell.source, re.M):
                    assert module in imported or module in sys.stdlib_module_names or module in ("grader", "data"), \
                        (name, module)


def test_students_readme_keeps_the_base_classes_stubs(released):
    text = (released / "README.md").read_text()
    assert "replace every" not in text and "`Module` and `Criterion` stay" in text
