"""A cell of 100,000 blank lines read in the grader's own process (no cell limit applies there): every pattern that
looks for a definition at a line's start found it with ^\\s* under re.MULTILINE, which is quadratic (from every line
start \\s* runs over all the blank lines below: 20,000 of them took 7 s a search, done for each class a notebook
lacks). The indentation is now spaces and tabs only (grader.selfcheck.versions.INDENT): each reader takes
milliseconds, and still finds what it looked for."""
import time

import nbformat
import pytest

FLOOD = "\n" * 100_000 + "   \n" * 1_000


def _fast(function, *args):
    started = time.monotonic()
    result = function(*args)
    assert time.monotonic() - started < 1, function.__name__
    return result


def test_where_a_missing_class_might_be_is_found_past_a_flood_of_blank_lines():
    from grader.selfcheck.versions import locate
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(FLOOD), nbformat.v4.new_markdown_cell(FLOOD + "  class Linear(Module):")]
    assert _fast(locate, nb, "Linear") == "`class Linear` is in cell 1, a markdown cell: make it a code cell"
    assert _fast(locate, nb, "Tanh") == ""


def test_a_differentiation_answer_in_a_markdown_cell_is_found_past_a_flood_of_blank_lines():
    from grader.parts.differentiation import find_answers, reference
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(FLOOD), nbformat.v4.new_markdown_cell(FLOOD + "\tdef grad_xTx(x):")]
    found = _fast(find_answers, nb, reference()[0])
    assert "markdown cell (cell 1)" in found.misplaced["ex1"]


def test_the_kits_differentiation_notebook_is_told_past_a_flood_of_blank_lines():
    from grader.intake.templates import version
    assert _fast(version, [("markdown", FLOOD, None)]) is None
    assert _fast(version, [("markdown", FLOOD + " def grad_xTx(x):", None)]) == "kit"


def test_colab_imports_are_read_past_a_flood_of_blank_lines():
    from grader.parts.main_elsewhere import colab_names
    assert _fast(colab_names, FLOOD) == set()
    assert _fast(colab_names, FLOOD + "  from google.colab import drive") == {"drive"}
