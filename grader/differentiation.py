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

from grader import selfcheck as C
from grader.selfcheck.cases import rng_for, salt
from grader.selfcheck.gradcheck import ANALYTIC_ABS, ANALYTIC_TOLERANCE, relative_error
from grader.selfcheck.messages import describe_exception, show
from grader import KIT   # not grader.submission: this module is also imported by the probe inside the kernel

NOTEBOOK = "HW3_differentiation.ipynb"
TARGET = "differentiation"


def _shapes_nm(rng):
    return [(1, 1), (3, 4), (5, 2)]


def _inputs(name, rng):
    """Argument tuples on which answer function `name` is evaluated (several shapes each)."""
    std = rng.standard_normal
    if name == "grad_xTx":
        return [(std(n),) for n in (1, 3, 6)]
    if name == "grad_trAB_wrt_A":
        return [(std((n, m)), std((m, n))) for n, m in ((1, 1), (3, 3), (2, 5))]
    if name in ("grad_xAc_wrt_x", "grad_xAc_wrt_A"):
        return [(std(n), std((n, m)), std(m)) for n, m in ((1, 1), (4, 2), (3, 5))]
    if name in ("grad_J_wrt_S_trace", "grad_J_wrt_S_elementwise", "grad_J_wrt_F", "grad_J_wrt_S_chain"):
        return [(std((n, m)), std((n, r)), std((r, m))) for n, r, m in ((1, 1, 1), (4, 3, 5), (3, 2, 2))]
    if name == "jacobian_F_wrt_S":
        return [(std((n, r)), m) for n, r, m in ((1, 1, 1), (3, 2, 4), (2, 3, 2))]
    if name == "linear_backward":
        return [(std((n, i)), std((o, i)), std((n, o))) for n, i, o in ((1, 3, 2), (5, 4, 3))]
    if name == "softmax_backward":
        return [(2 * std((n, k)), std((n, k))) for n, k in ((1, 4), (5, 3))]
    if name == "nll_backward":
        out = []
        for n, c in ((1, 3), (5, 4)):
            e = np.exp(std((n, c)))
            out.append((e / e.sum(axis=1, keepdims=True), np.eye(c)[rng.integers(0, c, size=n)]))
        return out
    if name == "batch_mean_subtraction_backward":
        return [(std((5, 3)), 0.3, False), (std((5, 3)), 0.3, True), (std((1, 4)), 0.9, False)]
    if name == "elu_backward":
        return [(rng.choice([-1.0, 1.0], size=(4, 3)) * rng.uniform(0.1, 3.0, size=(4, 3)), std((4, 3)), a)
                for a in (0.5, 2.0)]
    if name == "softplus_backward":
        return [(3 * std((4, 3)), std((4, 3)))]
    raise KeyError(name)


# exercise -> the answer functions it defines, in the reference notebook's order
EXERCISES = {
    "ex1": ["grad_xTx"],
    "ex2": ["grad_trAB_wrt_A"],
    "ex3": ["grad_xAc_wrt_x", "grad_xAc_wrt_A"],
    "ex4a": ["grad_J_wrt_S_trace"],
    "ex4b": ["grad_J_wrt_S_elementwise"],
    "ex4c": ["grad_J_wrt_F", "jacobian_F_wrt_S", "grad_J_wrt_S_chain"],
    "ex5-linear": ["linear_backward"],
    "ex5-softmax": ["softmax_backward"],
    "ex5-nll": ["nll_backward"],
    "ex5-bms": ["batch_mean_subtraction_backward"],
    "ex5-elu": ["elu_backward"],
    "ex5-softplus": ["softplus_backward"],
}
CHECK_CELL_POINTS = 1
NUMERIC_POINTS = 2


def evaluate(ns, exercise, seed):
    """{'<function>.<case>.<k>': array}: the exercise's answer functions on the inputs drawn from `seed` (the
    grader's: the batch's secret, see grader.grade.draw_seed)."""
    out = {}
    for name in EXERCISES[exercise]:
        function = ns[name] if isinstance(ns, dict) else getattr(ns, name)
        rng = rng_for(seed, salt(name))
        for case, args in enumerate(_inputs(name, rng)):
            value = function(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
            parts = value if isinstance(value, tuple) else (value,)
            for k, part in enumerate(parts):
                out[f"{name}.{case}.{k}"] = part
    return out


def run_probe(exercise, namespace, seed):
    """The kernel side: evaluate() wrapped like grader.selfcheck.run_probe."""
    import warnings
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return {"ok": True, "values": C.encode(evaluate(namespace, exercise, seed))}
    except NotImplementedError as exc:
        return {"ok": False, "not_implemented": True, "error": describe_exception(exc)}
    except Exception as exc:
        return {"ok": False, "error": describe_exception(exc)}


PROBE_HELPER = '''
def __hw3_diff_probe(exercise, seed, nonce):
    import grader.differentiation as _d, grader.selfcheck as _c
    from IPython.display import publish_display_data as _publish
    _publish({_c.MIME: dict(_d.run_probe(exercise, dict(globals()), seed), nonce=nonce)})
'''


_REFERENCE = {}


def reference():
    """(reference notebook, its namespace: the kit's answer functions), loaded once per process."""
    if not _REFERENCE:
        import contextlib
        import io
        from grader.notebook import load_notebook, read_notebook
        with contextlib.redirect_stdout(io.StringIO()):   # its check cells print one line per comparison
            nb_module = load_notebook(KIT / NOTEBOOK, name="reference_differentiation")
        _REFERENCE["namespace"] = vars(nb_module)
        _REFERENCE["notebook"] = read_notebook(KIT / NOTEBOOK)
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
        error = payload.get("error", "unknown error")
        if payload.get("not_implemented"):
            return False, f"{exercise}: {names} not implemented yet ({error})"
        return False, f"{exercise}: {names} raised {error}"
    got = C.decode(payload.get("values"))
    for key in sorted(expected):
        name, case, part = key.split(".")
        want = np.asarray(expected[key], dtype=np.float64)
        value = got.get(key)
        label = f"{name}() on the grader's input #{int(case) + 1}" + (f", result #{int(part) + 1}" if int(part) else "")
        if value is None or value.dtype.kind not in "biuf":
            return False, f"{exercise}: {label} returned {show(value) if value is not None else 'nothing'}"
        if value.shape != want.shape:
            return False, f"{exercise}: {label} has shape {value.shape}, expected {want.shape}"
        err = relative_error(value, want)
        if err < ANALYTIC_TOLERANCE or np.linalg.norm(value.astype(np.float64) - want) < ANALYTIC_ABS:
            continue
        if err < 1e-6:   # right to finite-difference precision only: a numerical derivative, not a derived one
            return False, (f"{exercise}: {label} is right only to {err:.0e} (relative error); the derived formula "
                           f"computed in float64 agrees with the reference to about 1e-15 (tolerance "
                           f"{ANALYTIC_TOLERANCE:.0e}). It looks computed by finite differences (numerical_gradient "
                           "is for the checks): write out the formula you derived")
        return False, (f"{exercise}: {label} has relative error {err:.1e} against the finite-difference-checked "
                       f"answer; expected {show(want)}, got {show(value)}")
    return True, f"{names} agree with the reference on the grader's inputs"


def failed_all(message):
    results = []
    for exercise in EXERCISES:
        results.append(C.Result(TARGET, f"{exercise}: check cell passes", False, 0, CHECK_CELL_POINTS, message))
        results.append(C.Result(TARGET, f"{exercise}: answers vs the reference", False, 0, NUMERIC_POINTS, message))
    return results


def defined_functions(source):
    """Names of the top-level functions a cell defines (a cell that does not parse: found by their `def` lines)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return re.findall(r"^def\s+(\w+)\s*\(", source, re.M)
    return [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _same_source(a, b):
    return " ".join(a.split()) == " ".join(b.split())


@dataclass
class Answers:
    """The student's code, found the way a reader would find it.

    blocks: exercise -> [(cell index, source)], run in the student's order where the kit's answer cell is;
    tail: added cells after the last exercise; notes: duplicates; misplaced: exercise -> why its answer is not code.
    """
    blocks: dict = field(default_factory=dict)
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
            exercise = next((owner[f] for f in defined_functions(cell.source) if f in owner), None)
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
    for name, cells in where.items():
        if len(cells) > 1:
            found.notes.append(f"{NOTEBOOK}: {name}() is defined in {len(cells)} cells (cells "
                               f"{', '.join(map(str, cells))}); the last one is graded")
    for exercise, names in EXERCISES.items():
        if any(name in where for name in names):
            continue
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" and any(re.search(rf"^\s*def\s+{n}\s*\(", cell.source, re.M) for n in names):
                found.misplaced[exercise] = (f"{exercise}: the answer ({', '.join(n + '()' for n in names)}) is in a "
                                             f"{cell.cell_type} cell (cell {index}), not in a code cell, so it never "
                                             "runs; change that cell's type to Code")
                break
    return found
