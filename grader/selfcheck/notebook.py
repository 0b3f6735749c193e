"""Load the code of a notebook as a Python module: the notebooks are the single source of truth.

    modules = load_notebook("HW3_Modules.ipynb")
    net = modules.Sequential(modules.Linear(2, 3))

Code cells run in order in one fresh module namespace. Cells tagged ``selfcheck`` (the ``check("Linear")``
lines) are skipped, and so are IPython magics and shell lines (``%...``, ``!...``), which plain Python
cannot run. This is for the kit's own reference notebooks (the self-check's expected values, the test suite);
submissions are never loaded this way (the grader runs them in a separate kernel).
"""
import linecache
import types

import nbformat

from grader.selfcheck.versions import python_code

SKIP_TAGS = frozenset({"selfcheck"})


class NotebookError(RuntimeError):
    """A notebook is missing, unreadable, or one of its cells failed."""


def read_notebook(path):
    """Read and validate a notebook, with an error naming the file if that fails."""
    try:
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
    except FileNotFoundError as exc:
        raise NotebookError(f"{path}: notebook not found") from exc
    except Exception as exc:  # NotJSONError, ValidationError, UnicodeDecodeError...
        raise NotebookError(f"{path}: not a valid Jupyter notebook ({type(exc).__name__}: {exc})") from exc
    return nb


def code_sources(nb, skip_tags=SKIP_TAGS):
    """(index, source) of every code cell to run, magics and shell lines removed."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or skip_tags & set(cell.metadata.get("tags", [])):
            continue
        yield index, python_code(cell.source)


def load_notebook(path, name=None, skip_tags=SKIP_TAGS):
    """Execute the notebook's code cells into a new module object and return it."""
    nb = read_notebook(path)
    module = types.ModuleType(name or "notebook")
    module.__file__ = str(path)
    for index, source in code_sources(nb, skip_tags):
        try:
            filename = f"{path}:cell[{index}]"
            # as Jupyter does for its cells: a traceback (and a self-check message) can show the line that failed
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            exec(compile(source, filename, "exec"), module.__dict__)
        except Exception as exc:
            raise NotebookError(f"{path}: code cell {index} failed: {type(exc).__name__}: {exc}") from exc
    return module
