"""``python -m grader release OUTDIR``: the students' version of the kit.

Every solution region of the three notebooks is replaced by a stub:

* code, between ``### BEGIN SOLUTION`` and ``### END SOLUTION``: a ``raise NotImplementedError(...)`` at
  the marker's indentation, naming the function (the ``def`` line, docstring and shape comments
  before the marker stay);
* markdown, between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->``: an invitation to write the
  answer (the question and its math before the marker stay);
* a code cell tagged ``markdown-answer`` (the reference writes its opinion from the run's numbers): a
  markdown cell, same id, inviting the student's own answer.

Text for one audience only: ``### BEGIN KIT ONLY`` / ``### END KIT ONLY`` (code) and ``<!-- BEGIN KIT ONLY -->``
/ ``<!-- END KIT ONLY -->`` (markdown) regions are dropped from the release (the kit's own stricter checks, its
``make`` commands); a cell that holds nothing else (the main notebook's test-time augmentation) is left out whole,
not shown empty. A markdown region between the lines ``<!-- BEGIN STUDENT ONLY`` and ``END STUDENT ONLY -->``
is an HTML comment in the kit (not rendered) and plain text in the release (the marker lines are dropped).

Outputs and execution counts are cleared and every notebook is validated with nbformat. Next to the
notebooks go what a student needs to run them: ``grader/`` with the self-check only (the folder
``grader/selfcheck/``: ``check()``, its checks, and ``reference_values.npz``: the expected values on the self-check inputs, frozen from the
reference; no reference code), ``data/`` (MNIST and its loader), ``requirements.txt`` and a README.
"""
import re
import shutil
from pathlib import Path

import nbformat

from grader import KIT_ROOT, MODULES, NOTEBOOKS
from grader import selfcheck as C
from grader.selfcheck.notebook import load_notebook

CODE = ("### BEGIN SOLUTION", "### END SOLUTION")
MARKDOWN = ("<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->")
KIT_ONLY_CODE = ("### BEGIN KIT ONLY", "### END KIT ONLY")
KIT_ONLY_MARKDOWN = ("<!-- BEGIN KIT ONLY -->", "<!-- END KIT ONLY -->")
STUDENT_ONLY_MARKDOWN = ("<!-- BEGIN STUDENT ONLY", "END STUDENT ONLY -->")
MARKERS = (CODE, MARKDOWN, KIT_ONLY_CODE, KIT_ONLY_MARKDOWN, STUDENT_ONLY_MARKDOWN)
MARKDOWN_ANSWER_TAG = "markdown-answer"
GRADER_FILES = ("__init__.py",)   # besides the whole of grader/selfcheck/, the self-check
DATA_FILES = ("__init__.py", "mnist.py", "mnist.npz", "README.md")
MARKDOWN_STUB = "*Write your answer here (math in LaTeX between `$...$` or `$$...$$`).*"

STUDENT_README = """# HW3: Basic Artificial Neural Networks (student version)

1. `python3 -m venv .venv && .venv/bin/pip install -r requirements.txt`, then `.venv/bin/jupyter lab`.
2. `HW3_Modules.ipynb`: replace each `raise NotImplementedError('Class.method')` that follows a
   `# YOUR CODE HERE` line by your code (the ones in `Module` and `Criterion` stay: they tell a subclass to
   override the method); the `check("...")` cell under each module runs the grader's own checks on it and
   shows a table (`check()` checks all). Open the notebooks from this folder (it holds `grader/` and `data/`).
3. `HW3_differentiation.ipynb`: write each derivation and its answer function; the check cells compare
   your answers with finite differences.
4. `HW3_main.ipynb`: the experiments (it loads your modules with `%run HW3_Modules.ipynb`). For a quick
   pass on subsampled data, remove the `# ` in front of `os.environ["HW3_FAST"] = "1"` in its imports cell
   (or set `HW3_FAST=1` in the environment before starting Jupyter).

Hand in the folder with the three notebooks (or a .zip of it). The grader runs the same checks as
`check()`, on inputs of its own, and the main notebook in fast mode.
"""


# What the students' notebooks and check() import (and the Jupyter that runs them): the grader's own packages
# (the course versions' scipy/scikit-image, nbval, Dask, the LaTeX reader, ...) stay out of their requirements.
STUDENT_PACKAGES = ("numpy", "scikit-learn", "matplotlib", "jupyterlab", "ipykernel", "ipywidgets", "nbformat",
                    "threadpoolctl", "tqdm")


def student_requirements(text):
    """The kit's requirements.txt cut to :data:`STUDENT_PACKAGES` (their pins and markers kept)."""
    lines = ["# Pinned versions of what the homework's notebooks need (Python 3.10+; the markers pick a pin)."]
    for line in text.splitlines():
        name = re.split(r"[=<>!~;\[ ]", line.strip(), maxsplit=1)[0].lower()
        if line.strip() and not line.lstrip().startswith("#") and name in STUDENT_PACKAGES:
            lines.append(line)
    return "\n".join(lines) + "\n"


class ReleaseError(ValueError):
    """A solution marker is malformed; the message names the notebook and the cell."""


def replace_regions(source, markers, where, stub, on_line=lambda line: None):
    """Replaces each region between markers[0] and markers[1] (lines of their own) by stub(begin_line) lines.

    Lines outside the regions are kept, each passed to on_line first; malformed markers raise ReleaseError.
    """
    out, inside = [], False
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == markers[0]:
            if inside:
                raise ReleaseError(f"{where}, line {number}: nested {markers[0]!r}")
            inside = True
            out += stub(line)
        elif stripped == markers[1]:
            if not inside:
                raise ReleaseError(f"{where}, line {number}: {markers[1]!r} without {markers[0]!r}")
            inside = False
        elif not inside:
            on_line(line)
            out.append(line)
    if inside:
        raise ReleaseError(f"{where}: {markers[0]!r} is never closed")
    return "\n".join(out)


def strip_code(source, where):
    """Replaces each code solution region by a NotImplementedError stub at the marker's indentation."""
    context = []  # [class, method] or [function] seen last: names the stub

    def follow(line):
        match = re.match(r"(\s*)(class|def)\s+(\w+)", line)
        if match:
            context[:] = (context[:1] if match.group(1) else []) + [match.group(3)]
        elif line.strip() and not line[0].isspace() and not line.startswith(("#", "@", ")", "]", "}")):
            context[:] = []  # top-level code after a function: its stub is "this exercise"

    def stub(begin):
        indent = begin[: len(begin) - len(begin.lstrip())]
        name = ".".join(context[-2:]) if context and indent else "this exercise"
        return [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError({name!r})"]

    return replace_regions(source, CODE, where, stub, follow)


def strip_markdown(source, where):
    """Replaces each markdown solution region by an invitation to write the answer."""
    return replace_regions(source, MARKDOWN, where, lambda begin: [MARKDOWN_STUB])


def for_students(source, where, markdown):
    """Drops the kit-only regions; in markdown, also turns the student-only comments into text."""
    if not markdown:
        return replace_regions(source, KIT_ONLY_CODE, where, lambda begin: [])
    source = replace_regions(source, KIT_ONLY_MARKDOWN, where, lambda begin: [])
    replace_regions(source, STUDENT_ONLY_MARKDOWN, where, lambda begin: [])  # only to reject malformed markers
    return "\n".join(line for line in source.splitlines() if line.strip() not in STUDENT_ONLY_MARKDOWN)


def has_marker(source, markers):
    return any(line.strip() in markers for line in source.splitlines())


def student_notebook(path):
    """The student version of one notebook (a new NotebookNode; the file is not touched)."""
    nb = nbformat.read(str(path), as_version=4)
    kit_only_cells = set()  # indices of the cells that held only kit-only text: left out, not shown empty
    for index, cell in enumerate(nb.cells):
        where = f"{path.name} cell {index} (id {cell.get('id')})"
        if cell.cell_type == "code" and MARKDOWN_ANSWER_TAG in cell.metadata.get("tags", []):
            nb.cells[index] = cell = nbformat.v4.new_markdown_cell(MARKDOWN_STUB, id=cell.get("id"))
        had_text = bool(cell.source.strip())
        if cell.cell_type == "code":
            cell.source = for_students(cell.source, where, markdown=False)
            if has_marker(cell.source, CODE):
                cell.source = strip_code(cell.source, where)
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source = for_students(cell.source, where, markdown=True)
            if has_marker(cell.source, MARKDOWN):
                cell.source = strip_markdown(cell.source, where)
        for key in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
        if had_text and not cell.source.strip():
            kit_only_cells.add(index)
    nb.cells = [cell for index, cell in enumerate(nb.cells) if index not in kit_only_cells]
    nb.metadata.pop("widgets", None)
    nbformat.validate(nb)
    return nb


def release(outdir):
    """Writes the student version into `outdir` (new or empty); returns the paths written."""
    outdir = Path(outdir)
    if outdir.exists() and any(outdir.iterdir()):
        raise FileExistsError(f"{outdir} is not empty: choose a new folder for the release")
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in NOTEBOOKS:
        source = KIT_ROOT / name
        if not source.exists():
            raise FileNotFoundError(f"{source}: the kit has no {name}")
        nbformat.write(student_notebook(source), str(outdir / name))
        written.append(outdir / name)
    (outdir / "grader").mkdir()
    for name in GRADER_FILES:
        shutil.copy2(KIT_ROOT / "grader" / name, outdir / "grader" / name)
        written.append(outdir / "grader" / name)
    shutil.copytree(KIT_ROOT / "grader" / "selfcheck", outdir / "grader" / "selfcheck",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", C.FROZEN.name))
    written += sorted((outdir / "grader" / "selfcheck").iterdir())
    reference = load_notebook(KIT_ROOT / MODULES, name="reference_modules")
    frozen = outdir / "grader" / "selfcheck" / C.FROZEN.name
    C.save_expected(C.expected_values(reference, C.SELFCHECK_SEED, C.CHECKS), frozen)
    written.append(frozen)
    (outdir / "data").mkdir()
    for name in DATA_FILES:
        if (KIT_ROOT / "data" / name).exists():
            shutil.copy2(KIT_ROOT / "data" / name, outdir / "data" / name)
            written.append(outdir / "data" / name)
    (outdir / "requirements.txt").write_text(student_requirements((KIT_ROOT / "requirements.txt").read_text()))
    (outdir / "README.md").write_text(STUDENT_README)
    written += [outdir / "requirements.txt", outdir / "README.md"]
    return written
