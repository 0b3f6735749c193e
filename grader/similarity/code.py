"""What is compared: the code cells a student handed in for the modules and differentiation notebooks.

    cells, problems = code_of(submission)      # a Submission of the intake (files: kit name -> path)
    cells[0].notebook, cells[0].index, cells[0].source

A notebook is read leniently, as the grader reads it (``read_lenient``: what Jupyter opens is compared). One that
cannot be read gives one line in `problems` and the other notebook is still compared. IPython magics and shell
lines (``%matplotlib``, ``!pip``) are left out: they are not the student's code.
"""
from dataclasses import dataclass

from grader.intake.notebooks import read_lenient
from grader.selfcheck.notebook import NotebookError

COMPARED = ("HW3_Modules.ipynb", "HW3_differentiation.ipynb")


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
    out = []
    code = [cell for cell in nb.cells if cell.get("cell_type") == "code"]
    for index, cell in enumerate(code):
        lines = [ln if not ln.lstrip().startswith(("%", "!")) else "" for ln in str(cell.get("source", "")).splitlines()]
        source = "\n".join(lines)
        if source.strip():
            out.append(Cell(notebook, index, source))
    return out


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
    return cells, problems
