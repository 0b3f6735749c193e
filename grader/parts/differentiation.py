"""Grading HW3_differentiation.ipynb: the check cells, and the answers evaluated numerically.

The submission's notebook runs in its own kernel (see :class:`grader.plugin.DifferentiationNotebook`) with every cell that is not an answer replaced by
the kit's version of it (matched by cell id): the helpers, the forward functions and the check cells
are the kit's, only the ``<exercise>-answer`` cells are the student's. Two checks per exercise:

* "check cell passes" (1 point): the exercise's check cell runs without an AssertionError;
* "answers vs the reference" (2 points): each answer function is called in the kernel on the
  grader's own random inputs and the raw results are compared, in the grader's process, with the
  kit's reference functions (themselves tested against finite differences). A student who edits the
  helpers or the checks gains nothing: the check-cell point also needs this numerical check to pass.
"""
import ast
import re
from functools import lru_cache
from dataclasses import dataclass, field

import numpy as np

import nbformat

from grader import DIFFERENTIATION, KIT_ROOT
from grader import selfcheck as C
from grader.execution.probe import seed_of
from grader.parts.graded import CheckItem, GradedNotebook
from grader.parts.probes import EXERCISES, evaluate
from grader.selfcheck.gradcheck import ANALYTIC_ABS, ANALYTIC_TOLERANCE, relative_error
from grader.selfcheck.messages import show
from grader.selfcheck.versions import INDENT, MAX_PARSED_CHARS

NOTEBOOK = DIFFERENTIATION
TARGET = "differentiation"
DIFF_CELLS_BUDGET = 300      # seconds for all cells of HW3_differentiation.ipynb


CHECK_CELL_POINTS = 1
NUMERIC_POINTS = 2


_REFERENCE = {}


def reference():
    """(reference notebook, its namespace: the kit's answer functions), loaded once per process."""
    if not _REFERENCE:
        import contextlib
        import io
        from grader.selfcheck.notebook import load_notebook, read_notebook
        with contextlib.redirect_stdout(io.StringIO()):   # its check cells print one line per comparison
            nb_module = load_notebook(KIT_ROOT / NOTEBOOK, name="reference_differentiation")
        _REFERENCE["namespace"] = vars(nb_module)
        _REFERENCE["notebook"] = read_notebook(KIT_ROOT / NOTEBOOK)
    return _REFERENCE["notebook"], _REFERENCE["namespace"]


@lru_cache(maxsize=4)
def expected(seed):
    """{exercise: the kit's answers on the inputs drawn from `seed`}: computed once per batch (its seed)."""
    ns = reference()[1]
    return {ex: evaluate(ns, ex, seed) for ex in EXERCISES}


def judge(exercise, payload, expected):
    names = ", ".join(f"{n}()" for n in EXERCISES[exercise])
    if payload is None:
        return False, f"{exercise}: no values came back from {names}"
    if not payload.get("ok"):
        if payload.get("missing"):
            missing = [str(name) for name in payload["missing"]]
            return False, (f"{exercise}: no function {', '.join(f'{n}()' for n in missing)} in your notebook (the "
                           f"exercise's answer cell defines {'it' if len(missing) == 1 else 'them'})")
        error = payload.get("error", "unknown error")
        if payload.get("not_implemented"):
            return False, f"{exercise}: {names} not implemented yet ({error})"
        return False, f"{exercise}: {names} raised {error}"
    got = C.decode(payload.get("values"))
    for key in sorted(expected, key=lambda k: (_square(expected[k]), k)):   # a rectangular case first: a
        # transposed answer then shows as the shape error it is
        name, case, part = key.split(".")
        want = np.asarray(expected[key], dtype=np.float64)
        value = got.get(key)
        label = f"{name}() on the grader's input #{int(case) + 1}" + (f", result #{int(part) + 1}" if int(part) else "")
        if value is None or value.dtype.kind not in "biuf":
            return False, f"{exercise}: {label} returned {show(value) if value is not None else 'nothing'}"
        if value.shape != want.shape:
            transposed = value.ndim == 2 and value.shape == want.shape[::-1]
            return False, (f"{exercise}: {label} has shape {value.shape}, expected {want.shape}"
                           + (": the transpose's shape (a gradient has the shape of its variable)" if transposed else ""))
        err = relative_error(value, want)
        if err < ANALYTIC_TOLERANCE or np.linalg.norm(value.astype(np.float64) - want) < ANALYTIC_ABS:
            continue
        if value.dtype.kind == "f" and value.dtype.itemsize < 8 and err < 1e-2:   # float32 rounding, not a formula
            return False, (f"{exercise}: {label} is {value.dtype} and right only to {err:.0e} (relative error), which "
                           f"is {value.dtype}'s own rounding; the tolerance is {ANALYTIC_TOLERANCE:.0e}: compute in "
                           "float64, as the grader's inputs are (look for .astype(np.float32), dtype=np.float32 or "
                           "np.float32(...) in the answer)")
        if err < 1e-6:   # right to finite-difference precision only: a numerical derivative, not a derived one
            return False, (f"{exercise}: {label} is right only to {err:.0e} (relative error); the derived formula "
                           f"computed in float64 agrees with the reference to about 1e-15 (tolerance "
                           f"{ANALYTIC_TOLERANCE:.0e}). It looks computed by finite differences (numerical_gradient "
                           "is for the checks): write out the formula you derived")
        return False, (f"{exercise}: {label} has relative error {err:.1e} against the finite-difference-checked "
                       f"answer; expected {show(want)}, got {show(value)}")
    return True, f"{names} agree with the reference on the grader's inputs"


def _square(value):
    """Whether a value's shape cannot tell it from its transpose (a vector, a number, a square matrix)."""
    shape = np.shape(value)
    return len(shape) < 2 or shape[0] == shape[1]


_DEFINED = re.compile(r"^(?:def\s+(\w+)\s*\(|(\w+)\s*=\s*lambda\b)", re.M)


def defined_functions(source):
    """Names of the top-level functions a cell defines: `def`, or a name bound at the top level
    (`grad_xTx = lambda x: 2 * x`); a cell that does not parse: found by those lines."""
    tree = None
    if len(source) <= MAX_PARSED_CHARS:   # larger: not parsed in the grader's process (gigabytes), read by its lines
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):   # (too deep to parse: read by its lines)
            pass
    if tree is None:
        return [a or b for a, b in _DEFINED.findall(source)]
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def _same_source(a, b):
    return " ".join(a.split()) == " ".join(b.split())


@dataclass
class Answers:
    """The student's code, found the way a reader would find it.

    blocks: exercise -> [(cell index, source)], run in the student's order where the kit's answer cell is;
    tail: added cells after the last exercise; notes: duplicates; misplaced: exercise -> why its answer is not code;
    defined: every answer function some code cell defines (a cell may answer several exercises at once: it runs
    where the first of them is answered).
    """
    blocks: dict = field(default_factory=dict)
    defined: set = field(default_factory=set)
    tail: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    misplaced: dict = field(default_factory=dict)


def find_answers(nb, kit_nb):
    """Sorts the student's code cells: the kit's own cells (by id, else by identical source) are replaced by the
    kit's; a cell with an exercise's answer id or defining one of its answer functions belongs to that exercise;
    any other cell (split off or added) belongs to the exercise whose check cell or answer comes next."""
    owner = {name: ex for ex, names in EXERCISES.items() for name in names}
    kit_cells = [c for c in kit_nb.cells if c.cell_type == "code" and not c.get("id", "").endswith("-answer")]
    kit_ids = {c.get("id") for c in kit_cells}
    checks = {c.get("id")[:-len("-check")]: c.source for c in kit_cells if c.get("id", "").endswith("-check")}
    kinds = []   # (index, kind, exercise, source): kind in answer / check / added
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cid = cell.get("id", "")
        exercise = cid[:-len("-answer")] if cid.endswith("-answer") and cid[:-len("-answer")] in EXERCISES else None
        if exercise is None:
            # a cell answering several exercises runs where the first of them (in the notebook's order) is answered
            exercise = min((owner[f] for f in defined_functions(cell.source) if f in owner), default=None,
                           key=list(EXERCISES).index)
        if exercise is not None:
            kinds.append((index, "answer", exercise, cell.source))
            continue
        check = cid[:-len("-check")] if cid.endswith("-check") and cid[:-len("-check")] in EXERCISES else None
        check = check or next((ex for ex, src in checks.items() if _same_source(src, cell.source)), None)
        if check is not None:
            kinds.append((index, "check", check, cell.source))
        elif cid in kit_ids or any(_same_source(c.source, cell.source) for c in kit_cells):
            continue   # the kit's own cell runs instead
        else:
            kinds.append((index, "added", None, cell.source))
    found = Answers()
    for n, (index, kind, exercise, source) in enumerate(kinds):
        if kind == "check":
            continue
        if kind == "added":
            exercise = next((ex for _, k, ex, _ in kinds[n + 1:] if k in ("answer", "check")), None)
            if exercise is None:
                found.tail.append((index, source))
                continue
        found.blocks.setdefault(exercise, []).append((index, source))
    where = {}
    for exercise, cells in found.blocks.items():
        for index, source in cells:
            for name in defined_functions(source):
                if name in owner:
                    where.setdefault(name, []).append(index)
    found.defined = set(where)
    for name, cells in where.items():
        if len(cells) > 1:
            found.notes.append(f"{NOTEBOOK}: {name}() is defined in {len(cells)} cells (cells "
                               f"{', '.join(map(str, cells))}); the last one is graded")
    for exercise, names in EXERCISES.items():
        if any(name in where for name in names):
            continue
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" and any(re.search(rf"^{INDENT}def\s+{n}\s*\(", cell.source, re.M) for n in names):
                found.misplaced[exercise] = (f"{exercise}: the answer ({', '.join(n + '()' for n in names)}) is in a "
                                             f"{cell.cell_type} cell (cell {index}), not in a code cell, so it never "
                                             "runs; change that cell's type to Code")
                break
    return found


class DifferentiationNotebook(GradedNotebook):
    """The kit's cells (helpers, forward functions, checks) with the student's answer cells in their place."""
    notebook = NOTEBOOK
    budget = DIFF_CELLS_BUDGET

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.answers = None           # the student's answers, found as a reader would (find_answers)
        self._cells = None
        self.check_status = {}        # exercise -> CellResult of its check cell
        self.numeric_verdicts = {}    # exercise -> (passed, message) of its answers on the grader's inputs

    def cells(self):
        """The kit's code cells in order; at each answer cell, the student's cells of that exercise (found as a
        reader would, see find_answers), and the student's added cells at the end."""
        if self.nb is None:
            return []
        if self._cells is None:
            kit_nb, _ = reference()
            self.answers = answers = find_answers(self.nb, kit_nb)
            self.state.notes.extend(answers.notes)
            self._cells = []

            def student(index, source):
                cell = nbformat.v4.new_code_cell(source)
                cell.metadata["hw3_student_cell"] = index
                return index, cell

            for index, cell in enumerate(kit_nb.cells):
                if cell.cell_type != "code":
                    continue
                cell_id = cell.get("id", "")
                exercise = cell_id[:-len("-answer")] if cell_id.endswith("-answer") else None
                if exercise in EXERCISES:
                    if exercise not in answers.blocks and exercise not in answers.misplaced and \
                            not answers.defined.intersection(EXERCISES[exercise]):
                        self.state.errors.append(f"{NOTEBOOK}: no answer found for {exercise} (no code cell defines "
                                                 f"{EXERCISES[exercise][0]}())")
                    self._cells += [student(i, source) for i, source in answers.blocks.get(exercise, [])]
                    continue
                self._cells.append((index, cell))
            self._cells += [student(i, source) for i, source in answers.tail]
        return self._cells

    def cell_item(self, index, cell, name=None, **extra):
        name = f"Cell {index}" if "hw3_student_cell" in cell.metadata else f"Cell {cell.get('id', index)} (kit)"
        return super().cell_item(index, cell, name=name, skip_reason="", **extra)   # none skipped: kit's cells, answers

    def keep(self, cell):
        return not cell.get("id", "").endswith("-check")

    def after_cell(self, item, result):
        cell_id = item.cell.get("id", "")
        if cell_id.endswith("-check"):
            self.check_status[cell_id[:-len("-check")]] = result

    def cell_failed(self, item, result):
        if "hw3_student_cell" in item.cell.metadata:
            super().cell_failed(item, result)
        elif not item.cell.get("id", "").endswith("-check"):   # a check that fails is scored, not an error
            self.state.errors.append(f"{NOTEBOOK}: the kit's cell {item.cell.get('id')} did not run: {result.describe()}")

    def check_items(self):
        for exercise in EXERCISES:
            for kind, points in (("check cell passes", CHECK_CELL_POINTS), ("answers vs the reference", NUMERIC_POINTS)):
                yield DiffCheck.from_parent(self, name=f"{exercise}: {kind}", target=TARGET,
                                            check_name=f"{exercise}: {kind}", points=points, exercise=exercise, kind=kind)

    def numeric(self, exercise):
        if self.kernel_session is None:
            return False, "no answer cell ran"
        if exercise not in self.numeric_verdicts:
            seed = seed_of(self.config) + 1   # the exercises' inputs: another stream of the batch's secret
            outcome, payload = self.ask("grader.parts.probes.run_probe", f"called the answers of {exercise}",
                                        exercise=exercise, seed=seed)
            payload = payload if outcome.ok else {"ok": False, "error": outcome.describe()}
            try:
                self.numeric_verdicts[exercise] = judge(exercise, payload, expected(seed)[exercise])
            except Exception as exc:
                self.numeric_verdicts[exercise] = (False, f"{exercise}: could not judge the values ({type(exc).__name__}: {exc})")
        return self.numeric_verdicts[exercise]


class DiffCheck(CheckItem):
    def __init__(self, *args, exercise, kind, **kwargs):
        super().__init__(*args, **kwargs)
        self.exercise, self.kind = exercise, kind

    def verdict(self):
        nbfile, exercise = self.parent, self.exercise
        passed_numeric, message = nbfile.numeric(exercise)
        misplaced = nbfile.answers.misplaced.get(exercise) if not passed_numeric else None
        if self.kind == "answers vs the reference":
            passed, message = passed_numeric, misplaced or message
        else:
            outcome = nbfile.check_status.get(exercise)
            if outcome is None:
                passed, message = False, f"{exercise}-check did not run"
            elif misplaced:
                passed, message = False, misplaced
            elif outcome.ok:
                passed, message = passed_numeric, ("check cell passed" if passed_numeric else
                                                   "check cell passed, but the answers fail the grader's own inputs (see the next check)")
            else:
                passed, message = False, f"{exercise}-check: {outcome.describe()}"
        return C.Result(self.target, self.check_name, passed, self.points if passed else 0, self.points, message)
