"""What is compared: the code cells a student handed in for the modules and differentiation notebooks.

    cells, problems = code_of(submission)      # a Submission of the intake (files: kit name -> path)
    cells[0].notebook, cells[0].index, cells[0].source

A notebook is read leniently, as the grader reads it (``read_lenient``: what Jupyter opens is compared). One that
cannot be read gives one line in `problems` and the other notebook is still compared. IPython magics and shell
lines (``%matplotlib``, ``!pip``) are left out: they are not the student's code.
"""
from dataclasses import dataclass

from grader.intake.notebooks import read_lenient
from grader.parts.cell_syntax import MAX_CELL_CHARS, MAX_NOTEBOOK_CHARS
from grader.selfcheck.notebook import NotebookError

COMPARED = ("HW3_Modules.ipynb", "HW3_differentiation.ipynb")
# Code compared per cell and per notebook: the scans' limits (the kit's modules notebook: 38,000 characters, its
# longest cell 7,300). Lexing reads about 80,000 characters a second: a notebook of 256 MiB of code held the report
# (and grading with --similarity, which computes it first) for about an hour.


@dataclass(frozen=True)
class Cell:
    """One code cell: `notebook` (the kit's name of the notebook), `index` (its number among the notebook's code
    cells, from 0: the grader's messages and pytest items name cells so, "HW3_Modules.ipynb::Cell 12", as nbval
    counts them), `source` (its code without magics)."""
    notebook: str
    index: int
    source: str


def cells_of_notebook(nb, notebook):
    """[Cell] of the code cells of a read notebook (nbformat NotebookNode)."""
    out, left = [], MAX_NOTEBOOK_CHARS
    code = [cell for cell in nb.cells if cell.get("cell_type") == "code"]
    for index, cell in enumerate(code):
        text = str(cell.get("source", ""))[:min(MAX_CELL_CHARS, left)]
        lines = [ln if not ln.lstrip().startswith(("%", "!")) else "" for ln in text.splitlines()]
        source = "\n".join(lines)
        if source.strip():
            out.append(Cell(notebook, index, source))
        left -= len(text)
    return out


def over_limits(nb):
    """Why a notebook's code is compared only in part (a cell or the whole over the limits), or None."""
    sizes = [len(str(c.get("source", ""))) for c in nb.cells if c.get("cell_type") == "code"]
    if sum(sizes) > MAX_NOTEBOOK_CHARS or max(sizes, default=0) > MAX_CELL_CHARS:
        return (f"{sum(sizes):,} characters of code (longest cell {max(sizes):,}): compared up to "
                f"{MAX_CELL_CHARS:,} a cell and {MAX_NOTEBOOK_CHARS:,} in all")
    return None


def code_of(submission):
    """([Cell], [problem]) of a Submission: the code of its modules and differentiation notebooks.

    A submission with neither notebook has no cells (and no problem of its own: the intake says what it lacks).
    """
    cells, problems = [], list(submission.problems)
    for notebook in COMPARED:
        path = submission.files.get(notebook)
        if not path:
            continue
        try:
            nb, _ = read_lenient(path)
        except NotebookError as exc:
            problems.append(str(exc))
            continue
        except OSError as exc:
            problems.append(f"{notebook}: cannot be read ({type(exc).__name__}: {exc})")
            continue
        cells += cells_of_notebook(nb, notebook)
        partly = over_limits(nb)
        if partly:
            problems.append(f"{notebook}: {partly}")
    return cells, problems
