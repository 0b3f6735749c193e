"""Tests for HW3_differentiation.ipynb (the reference solution of the differentiation homework).

(a) the notebook runs top to bottom without errors;
(b) the finite-difference checks bite: a wrong answer (dropped transpose, flipped sign, mean
    instead of sum, ...) injected into an in-memory copy makes its own check cell fail with an
    AssertionError;
(c) the solution markers the release tool relies on are well formed, every exercise has a fenced
    derivation, and the student version (solutions stripped) is still valid Python;
plus: the notebook is committed clean.

Cells are addressed by their stable ids ("ex1-answer", "ex1-check", ...).
"""
import ast
import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from conftest import ROOT

NOTEBOOK_NAME = "HW3_differentiation.ipynb"

CODE_BEGIN, CODE_END = "### BEGIN SOLUTION", "### END SOLUTION"
MD_BEGIN, MD_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"

# Every exercise (and sub-exercise) has cells <name>-question, -derivation, -answer and -check.
EXERCISES = [
    "ex1", "ex2", "ex3", "ex4a", "ex4b", "ex4c",
    "ex5-linear", "ex5-softmax", "ex5-nll", "ex5-bms", "ex5-elu", "ex5-softplus",
]

# (exercise, exact text in its answer cell, wrong replacement).  The replacement must keep the
# code running (no ValueError from broadcasting) so that only the check can catch it.
MUTATIONS = [
    ("ex1", "return 2 * x", "return x"),                                  # dropped factor 2
    ("ex2", "return B.T", "return B"),                                    # dropped transpose
    ("ex3", "np.outer(x, c)", "np.outer(c, x)"),                          # dy/dA transposed
    ("ex4a", "+ 2 * A.T @ A @ S", "+ A.T @ A @ S"),                       # forgot the product rule
    ("ex4b", '"ip,iq->pq"', '"ip,iq->qp"'),                               # transposed result
    ("ex4c", "np.kron(A, np.eye(M))", "np.kron(np.eye(M), A)"),           # column-major Jacobian
    ("ex4c", "return -2 * (X - A @ S)", "return 2 * (X - A @ S)"),        # flipped sign of dJ/dF
    ("ex5-linear", "G.T @ X", "X.T @ G"),                                 # gradW transposed
    ("ex5-linear", "G.sum(axis=0)", "G.mean(axis=0)"),                    # gradb: mean, not sum
    ("ex5-softmax", "axis=1, keepdims=True", "axis=0, keepdims=True"),    # (g.s) over the batch
    ("ex5-softmax", "S * (G - np.sum", "S * (G + np.sum"),                # flipped sign
    ("ex5-nll", "-T / (N * P)", "-T / P"),                                # forgot 1/N
    ("ex5-bms", "(1 - alpha) * G.mean", "G.mean"),                        # forgot (1 - alpha)
    ("ex5-bms", "alpha = 0.0", "pass"),                                   # first batch uses alpha
    ("ex5-elu", "alpha * np.exp(X)", "np.exp(X)"),                        # dropped alpha
    ("ex5-softplus", "np.exp(-X)", "np.exp(X)"),                          # sigmoid(-x)
]


REPO_ROOT = ROOT
NOTEBOOK_PATH = REPO_ROOT / NOTEBOOK_NAME


def read_notebook():
    return nbformat.read(NOTEBOOK_PATH, as_version=4)


def cell_index(nb, cell_id):
    ids = [cell.get("id") for cell in nb.cells]
    assert ids.count(cell_id) == 1, f"expected exactly one cell with id {cell_id!r}"
    return ids.index(cell_id)


def execute(nb):
    """Run nb in place in a fresh python3 kernel (the current environment), cwd = repo root."""
    client = NotebookClient(nb, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO_ROOT)}})
    client.execute()
    return nb


def error_cells(nb):
    """(cell id, exception name) of every cell whose outputs contain an error."""
    return [(cell.get("id"), out.get("ename"))
            for cell in nb.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if out.get("output_type") == "error"]


def solution_regions(source, begin, end):
    """(indent, body lines) of each fenced region; asserts the fences are well formed."""
    regions, current = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped in (begin, end) and line.rstrip() != line:
            raise AssertionError(f"line {number}: trailing whitespace after marker")
        if stripped == begin:
            assert current is None, f"line {number}: nested {begin!r}"
            current = (line[: len(line) - len(line.lstrip())], [])
        elif stripped == end:
            assert current is not None, f"line {number}: {end!r} without {begin!r}"
            indent = line[: len(line) - len(line.lstrip())]
            assert indent == current[0], f"line {number}: END indented differently from BEGIN"
            regions.append(current)
            current = None
        else:
            assert begin not in line and end not in line, (
                f"line {number}: marker must be alone on its line: {line!r}")
            if current is not None:
                current[1].append(line)
    assert current is None, f"unclosed {begin!r}"
    return regions


def release_code(source):
    """Mimic the release tool: replace each fenced region by a raise at the marker's indentation."""
    out, inside = [], False
    for line in source.splitlines():
        if line.strip() == CODE_BEGIN:
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + 'raise NotImplementedError("your answer")')
        elif line.strip() == CODE_END:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


# ------------------------------------------------------------------ (a) it runs


def test_notebook_executes_without_errors():
    nb = execute(read_notebook())
    assert error_cells(nb) == []
    for name in EXERCISES:
        check = nb.cells[cell_index(nb, f"{name}-check")]
        printed = "".join(out.get("text", "") for out in check.outputs)
        assert printed.count("OK ") >= 3, f"{name}-check ran fewer than 3 comparisons:\n{printed}"


# ------------------------------------------------------------------ (b) the checks bite


@pytest.mark.parametrize("exercise, original, wrong", MUTATIONS,
                         ids=[f"{ex}: {old} -> {new}" for ex, old, new in MUTATIONS])
def test_check_cell_fails_on_wrong_answer(exercise, original, wrong):
    nb = read_notebook()
    answer = nb.cells[cell_index(nb, f"{exercise}-answer")]
    assert answer.source.count(original) == 1, f"{original!r} not found once in {exercise}-answer"
    answer.source = answer.source.replace(original, wrong)
    # Cells after the check cannot matter: run only up to it (keeps the test fast).
    nb.cells = nb.cells[: cell_index(nb, f"{exercise}-check") + 1]
    with pytest.raises(CellExecutionError) as excinfo:
        execute(nb)
    assert excinfo.value.ename == "AssertionError", excinfo.value
    assert error_cells(nb) == [(f"{exercise}-check", "AssertionError")]


# ------------------------------------------------------------------ (c) structure and markers


def test_code_solution_markers_are_balanced():
    nb = read_notebook()
    for cell in nb.cells:
        if cell.cell_type == "code":
            solution_regions(cell.source, CODE_BEGIN, CODE_END)
        else:
            assert CODE_BEGIN not in cell.source and CODE_END not in cell.source, cell.get("id")


def test_markdown_solution_markers_are_balanced():
    nb = read_notebook()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            solution_regions(cell.source, MD_BEGIN, MD_END)
        else:
            assert MD_BEGIN not in cell.source and MD_END not in cell.source, cell.get("id")


def test_every_exercise_has_question_derivation_answer_and_check_in_order():
    nb = read_notebook()
    for name in EXERCISES:
        positions = [cell_index(nb, f"{name}-{part}")
                     for part in ("question", "derivation", "answer", "check")]
        assert positions == sorted(positions), f"{name}: cells out of order"
    answer_ids = {c.get("id") for c in nb.cells if c.get("id", "").endswith("-answer")}
    assert answer_ids == {f"{name}-answer" for name in EXERCISES}


def test_every_exercise_has_a_fenced_derivation():
    nb = read_notebook()
    for name in EXERCISES:
        cell = nb.cells[cell_index(nb, f"{name}-derivation")]
        assert cell.cell_type == "markdown"
        regions = solution_regions(cell.source, MD_BEGIN, MD_END)
        assert len(regions) == 1, f"{name}-derivation: expected one fenced region"
        body = "\n".join(regions[0][1])
        assert len(body) > 200 and "$$" in body, f"{name}-derivation: derivation too thin"
        question = nb.cells[cell_index(nb, f"{name}-question")]
        assert MD_BEGIN not in question.source, f"{name}-question must stay outside the fence"


def test_every_answer_cell_fences_its_code_and_check_cells_are_unfenced():
    nb = read_notebook()
    for name in EXERCISES:
        answer = nb.cells[cell_index(nb, f"{name}-answer")]
        regions = solution_regions(answer.source, CODE_BEGIN, CODE_END)
        assert regions, f"{name}-answer has no solution region"
        assert all(any(line.strip() for line in body) for _, body in regions)
        # one fenced body per function, def line and docstring outside the fence
        defs = [n for n in ast.parse(answer.source).body if isinstance(n, ast.FunctionDef)]
        assert len(defs) == len(regions), f"{name}-answer: one region per function expected"
        assert all(ast.get_docstring(d) for d in defs), f"{name}-answer: docstring missing"
        check = nb.cells[cell_index(nb, f"{name}-check")]
        assert CODE_BEGIN not in check.source and "check_close(" in check.source


def test_student_version_is_valid_python_and_has_no_solution_left():
    nb = read_notebook()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        released = release_code(cell.source)
        ast.parse(released)  # raises SyntaxError if the markers were misplaced
        if cell.get("id", "").endswith("-answer"):
            functions = [n for n in ast.parse(released).body if isinstance(n, ast.FunctionDef)]
            for function in functions:
                statements = function.body[1:]  # after the docstring
                assert len(statements) == 1 and isinstance(statements[0], ast.Raise), function.name


def test_notebook_is_committed_clean_and_valid():
    nb = read_notebook()
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["language_info"]["name"] == "python"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.get("id")
        assert not re.search(r"/(work|home|Users|tmp)/", cell.source), f"machine path in {cell.get('id')}"


def test_shared_finite_difference_helper_is_defined_once():
    nb = read_notebook()
    sources = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    for name in ("numerical_gradient", "numerical_jacobian", "check_close"):
        assert sum(f"def {name}(" in src for src in sources) == 1, name


def test_intro_says_an_answer_by_finite_differences_passes_the_check_cell_but_not_the_grader(capsys):
    """The students' text warns that numerical_gradient in an answer prints OK here yet scores nothing: true on the
    notebook's own ex1 check (it passes) and at the grader's tolerance (such an answer is off by more)."""
    import numpy as np

    from grader.kit.release import student_notebook
    from grader.selfcheck.gradcheck import ANALYTIC_TOLERANCE, relative_error
    student = {c.id: c.source for c in student_notebook(ROOT / NOTEBOOK_NAME).cells}
    intro = student["intro"]
    assert "`numerical_gradient`" in intro and "not a derivation" in intro and "no point of its exercise" in intro
    assert ANALYTIC_TOLERANCE == 1e-12 and "$10^{-12}$" in intro
    ns = {}
    exec(student["helpers"], ns)
    exec("def grad_xTx(x):\n    return numerical_gradient(lambda x_: x_ @ x_, x)\n", ns)
    exec(student["ex1-check"], ns)
    assert capsys.readouterr().out.count("OK   ex1") == 3   # the check cell accepts it
    x = np.random.default_rng(7).standard_normal(6)
    assert relative_error(ns["grad_xTx"](x), 2 * x) > ANALYTIC_TOLERANCE   # the grader's comparison does not


def test_a_failing_check_shows_expected_and_got_on_a_small_case():
    """A wrong answer's AssertionError shows the finite-difference gradient and the answer whole when small (12 entries
    or fewer), so a student can see which entries are off (a transpose, a sign), not only a relative error."""
    import numpy as np
    nb = nbformat.read(str(ROOT / NOTEBOOK_NAME), as_version=4)
    ns = {}
    exec(next(c.source for c in nb.cells if c.get("id") == "helpers"), ns)
    with pytest.raises(AssertionError, match=re.escape("expected (finite differences) [[1., 3.], [2., 4.]], "
                                                       "got [[1., 2.], [3., 4.]]")):
        ns["check_close"]("ex2", np.array([[1., 2.], [3., 4.]]), np.array([[1., 3.], [2., 4.]]))
    with pytest.raises(AssertionError) as large:
        ns["check_close"]("big", np.zeros(13), np.ones(13))
    assert str(large.value) == "FAIL big: relative error 1.0e+00 (tolerance 1e-06)"
