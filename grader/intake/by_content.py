"""The differentiation and main notebooks handed in under a name that fits no notebook of the homework, found by
their contents.

Students name their files as they please: `Дифференцирование.ipynb`, `hw1.ipynb`, `matrix_calculus.ipynb`,
`Untitled.ipynb`, `hw3 (2).ipynb`. The names are matched first (grader/intake/discover.py, :func:`match_tier`); when
none fits the differentiation or the main notebook, the notebooks whose names fit nothing are read and one whose text
is that notebook's is graded as it, with a note. Before, such a submission scored 0 on all that notebook's points
("not found"; a course main notebook's were left out of the maximum), although a TA opening the folder sees the work
at once.

What counts as the differentiation notebook's text (:func:`is_differentiation`): the kit's (one of its cell ids, or
`def grad_xTx`), or the course's (its title, or at least :data:`COURSE_CELLS` of the course template's own cells:
its questions, which students keep). What counts as the main notebook's (:func:`is_main`, read after the
differentiation's, from the notebooks left): the kit's (its cell ids or its fast mode), a course version's title, at
least :data:`main_template.COURSE_CELLS` of the course main templates' own cells, or a notebook that loads the
framework (`%run` of a notebook whose name is the modules notebook's, `from homework_modules import *` after an
nbconvert) and works on MNIST: what the main notebook does and no other notebook of the homework does. A notebook
that also defines the framework (``class Module``: everything pasted into one notebook) is taken as neither: the
modules' own rule for it applies (grader/execution/workcopy.py). Two different files that both read as one notebook
are ambiguous, as two files whose names fit equally are: neither is graded and the points await a TA (never picked
silently).

Of the course's two 2019-21 tracks handed in together, the advanced one is graded, unless it was never run and the
basic one was (:func:`ran_track_first`): the contents tell which holds the work.

Bounded as the rest of the intake: at most :data:`MAX_FILES` notebooks read, each at most :data:`MAX_BYTES`; a file
that cannot be read is simply not it.
"""
import re
from pathlib import Path

from grader import DIFFERENTIATION, MAIN, MODULES
from grader.intake import main_template
from grader.intake.names import match_tier

MAX_FILES = 10              # notebooks whose names fit nothing, read at most (a submission holds a few)
MAX_BYTES = 32 * 2 ** 20    # bytes of each, saved outputs included (a main notebook's plots: a few MB)
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


def is_main(nb):
    """True if notebook `nb` (a NotebookNode) is the homework's main notebook by its text (the kit's or a course
    version's, or one that loads the framework and works on MNIST), and does not also hold the framework."""
    from grader.intake import templates as template
    if any(kind == "code" and FRAMEWORK.search(source or "") for kind, source, _ in template.cells_of(nb)):
        return False
    if main_template.is_kit(nb) or main_template.title_version(nb) is not None or \
            main_template.template_cells(nb) >= main_template.COURSE_CELLS:
        return True
    loads_modules = any((match_tier(name) or (None,))[0] == MODULES for name in main_template.loaded_names(nb))
    return loads_modules and main_template.mentions_mnist(nb)


def notebooks_like(paths, test):
    """The paths among `paths` (notebooks whose names fit no notebook of the homework) whose contents pass `test`
    (:func:`is_differentiation`, :func:`is_main`): distinct contents only (the first of equal files), in the order
    given."""
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
        if test(nb):
            seen.add(data)
            found.append(path)
    return found


WHAT = {DIFFERENTIATION: ("the differentiation notebook's contents", is_differentiation),
        MAIN: ("the main notebook's contents", is_main)}


def take_by_content(kit, by_kit, unmatched, notes, display):
    """For discover.choose: puts the notebooks of `unmatched` that read as notebook `kit` (DIFFERENTIATION or MAIN)
    among its candidates in `by_kit` (a rank after every name's; two distinct ones are then ambiguous), with a note
    when one is taken; returns the notebooks still unmatched."""
    what, test = WHAT[kit]
    found = notebooks_like(unmatched, test)
    by_kit[kit] = [((3, 0), path) for path in found]
    if len(found) == 1:
        notes.append(f"{display(found[0])}: a name of its own, {what}")
    return [path for path in unmatched if path not in found]



def never_ran(path):
    """Whether the notebook at `path` has no code cell that was run (no execution count, no output): a template handed
    in as downloaded. A file that cannot be read is not known never to have run (False)."""
    from grader.intake.notebooks import read_lenient
    from grader.selfcheck.notebook import NotebookError
    try:
        if Path(path).stat().st_size > MAX_BYTES:
            return False
        nb = read_lenient(path)[0]
    except (OSError, NotebookError):
        return False
    return not any(c.get("cell_type") == "code" and (c.get("execution_count") is not None or c.get("outputs"))
                   for c in nb.get("cells", []))


def ran_track_first(options, notes, display):
    """For discover.choose, the main notebook's ((tier, depth), path) options: the course's 2019-21 advanced track
    (`homework_main-advanced`, tier 1) is graded before its basic one (`homework_main-basic`, tier 2), unless the
    advanced notebook was never run and the basic one was (the folder of the course handed in whole, the student's work
    in the basic track): then the basic one is graded, with a note. Before, the untouched template was graded ("not
    run": every point to a TA) and the notebook that ran only noted."""
    advanced = [(rank, path) for rank, path in options if rank[0] == 1 and "advanced" in display(path).lower()]
    basic = [(rank, path) for rank, path in options if rank[0] == 2]
    if not advanced or not basic or not all(never_ran(path) for _, path in advanced):
        return options
    ran = [(rank, path) for rank, path in basic if not never_ran(path)]
    if not ran:
        return options
    notes.append(f"{display(advanced[0][1])} was never run and {display(ran[0][1])} was: the basic track's notebook "
                 "is graded")
    return ([((1, rank[1]), path) for rank, path in ran] + [o for o in options if o not in advanced and o not in ran]
            + [((3, rank[1]), path) for rank, path in advanced])
