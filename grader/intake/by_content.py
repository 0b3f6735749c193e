"""The differentiation notebook handed in under a name that fits no notebook of the homework, found by its contents.

Students name their files as they please: `Дифференцирование.ipynb`, `hw1.ipynb`, `matrix_calculus.ipynb`. The
names are matched first (grader/intake/discover.py, :func:`match_tier`); when none fits the differentiation notebook,
the notebooks whose names fit nothing are read and one whose text is the differentiation notebook's is graded as it,
with a note. Before, such a submission scored 0 on all the differentiation's points ("not found"), although a TA opening
the folder sees the answers at once.

What counts as the differentiation notebook's text (:func:`is_differentiation`): the kit's (one of its cell ids, or
`def grad_xTx`), or the course's (its title, or at least :data:`COURSE_CELLS` of the course template's own cells:
its questions, which students keep). A notebook that also defines the framework (``class Module``: everything pasted
into one notebook) is not taken: it is not the differentiation notebook alone, and the modules' own rule for it
applies (grader/execution/workcopy.py). Two different files that both read so are ambiguous, as two files whose
names fit equally are: neither is graded and the points await a TA (never picked silently).

Bounded as the rest of the intake: at most :data:`MAX_FILES` notebooks read, each at most :data:`MAX_BYTES`; a file
that cannot be read is simply not it.
"""
import re
from pathlib import Path

from grader import DIFFERENTIATION

MAX_FILES = 10              # notebooks whose names fit nothing, read at most (a submission holds a few)
MAX_BYTES = 10 * 2 ** 20    # bytes of each (saved outputs included; the differentiation notebook is small)
COURSE_CELLS = 3            # the course template's cells (questions, headings) kept: its notebook, whatever its title
FRAMEWORK = re.compile(r"^class[ \t]+Module\b", re.MULTILINE)


def is_differentiation(nb):
    """True if notebook `nb` (a NotebookNode) is the homework's differentiation notebook by its text (the kit's or the
    course's), and does not also hold the framework."""
    from grader.intake import templates as template
    cells = template.cells_of(nb)
    if any(kind == "code" and FRAMEWORK.search(source or "") for kind, source, _ in cells):
        return False
    if template.version(cells) is not None:
        return True
    kept = sum(1 for kind, source, _ in cells if kind == "markdown" and template.collapse(source) in template.SOURCES)
    return kept >= COURSE_CELLS


def differentiation_notebooks(paths):
    """The paths among `paths` (notebooks whose names fit no notebook of the homework) whose contents are the
    differentiation notebook's: distinct contents only (the first of equal files), in the order given."""
    from grader.intake.notebooks import read_lenient
    from grader.selfcheck.notebook import NotebookError
    found, seen = [], set()
    for path in list(paths)[:MAX_FILES]:
        try:
            if Path(path).stat().st_size > MAX_BYTES:
                continue
            data = Path(path).read_bytes()
            if data in seen:
                continue
            nb = read_lenient(path)[0]
        except (OSError, NotebookError):
            continue
        if is_differentiation(nb):
            seen.add(data)
            found.append(path)
    return found


def take_differentiation(by_kit, unmatched, notes, display):
    """For discover.choose: puts the notebooks of `unmatched` that read as the differentiation notebook among its
    candidates in `by_kit` (a rank after every name's; two distinct ones are then ambiguous), with a note when one is
    taken; returns the notebooks still unmatched."""
    found = differentiation_notebooks(unmatched)
    by_kit[DIFFERENTIATION] = [((3, 0), path) for path in found]
    if len(found) == 1:
        notes.append(f"{display(found[0])}: a name of its own, the differentiation notebook's contents")
    return [path for path in unmatched if path not in found]
