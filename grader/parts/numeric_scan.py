"""Flags derivatives computed numerically where the homework asks for derived ones: an integrity finding.

The gradient checks demand analytic precision (:data:`grader.selfcheck.gradcheck.ANALYTIC_TOLERANCE`), which a
central difference with the usual steps never reaches; a finer stencil (or a step that is exact on a linear layer)
can. Whatever its precision, the code shows what it does, so this scan lists, for a TA to read (no points taken):

* in HW3_Modules.ipynb, a backward method (``updateGradInput``, ``accGradParameters``, ``backward``) that computes a
  difference quotient, or calls a function that does, or is replaced by one (``Linear.updateGradInput = f``);
* in HW3_differentiation.ipynb, an answer function (``grad_xTx``, ``softmax_backward``...) that does, the kit's own
  ``numerical_gradient`` included.

A complex step is the other way to a numerical derivative, and it is exact: the imaginary part of ``f(x + ih)`` over
``h`` (``h`` = 1e-30) has no difference to lose digits in, so it passes the checks' analytic precision where a
finite difference fails them (answers of ex1-ex3 by a complex-step helper scored 9/9 and were never listed). A
function that writes an imaginary number (``1e-30j``, ``1j * h``, ``complex(0, h)``) and takes an imaginary part (``.imag``,
``np.imag``) computes one.

A difference quotient is what every finite difference is made of: a division whose numerator is a difference
and whose denominator is the step (``(f_plus - f_minus) / (2 * h)``: a name such as ``h``, ``eps`` or ``delta``,
a constant below 0.01, or a multiple of one), inside a loop over the entries. A step is never a function call, so
``(x - mean) / np.sqrt(var + eps)`` is not one; a gradient checker a student wrote to test their own layers is
listed only if a backward pass uses it.
"""
import ast

from grader import DIFFERENTIATION, MODULES
from grader.execution.workcopy import code_cells, first_line
from grader.parts.cell_syntax import parse_cell, source_line, within_budget
from grader.parts.probes import EXERCISES

STEP_NAMES = {"h", "eps", "epsilon", "delta", "step", "dx", "dh", "d", "hh", "h2", "delta_x", "dt", "_h", "_eps"}
BACKWARD = {"updateGradInput", "accGradParameters", "backward"}
LOOPS = (ast.For, ast.While, ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.SetComp)


def _unwrap(node):
    while isinstance(node, ast.UnaryOp):
        node = node.operand
    return node


def _is_step(node):
    """A finite-difference step: h, self.h, 1e-5, 2 * h, (2 * eps)."""
    node = _unwrap(node)
    if isinstance(node, ast.Name):
        return node.id.lower() in STEP_NAMES
    if isinstance(node, ast.Attribute):
        return node.attr.lower() in STEP_NAMES
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool) and 0 < abs(node.value) < 1e-2
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _is_step(node.left) and isinstance(_unwrap(node.right), ast.Constant) or \
            _is_step(node.right) and isinstance(_unwrap(node.left), ast.Constant) or \
            _is_step(node.left) and _is_step(node.right)
    return False


def quotient_line(function):
    """The line of a difference quotient inside a loop of `function` (an ast.FunctionDef), or None."""
    if not any(isinstance(node, LOOPS) for node in ast.walk(function)):
        return None
    for node in ast.walk(function):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and \
                isinstance(_unwrap(node.left), ast.BinOp) and isinstance(_unwrap(node.left).op, ast.Sub) and \
                _is_step(node.right):
            return node.lineno
    return None


def complex_step_line(function):
    """The line where `function` (an ast.FunctionDef) takes an imaginary part, if it also writes an imaginary number
    (a complex step: the imaginary part of f(x + ih) over h), or None."""
    nodes = list(ast.walk(function))
    if not any(isinstance(node, ast.Constant) and isinstance(node.value, complex) or
               isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "complex"
               for node in nodes):
        return None
    for node in nodes:
        if isinstance(node, ast.Attribute) and node.attr == "imag" or \
                isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "imag":
            return node.lineno
    return None


def _called(function):
    """Names `function` calls: f(...), self.f(...), module.f(...) (the last part of the name)."""
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                names.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
    return names


def _functions(trees):
    """[(cell index, class name or None, FunctionDef)] of every function and method the cells define."""
    out = []
    for index, tree in trees:
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((index, None, node))
            elif isinstance(node, ast.ClassDef):
                out += [(index, node.name, item) for item in node.body
                        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return out


def numeric_functions(functions):
    """{function name: (cell index, line, how)} of the functions that compute a difference quotient or a complex-step
    derivative, or call one that does (to a fixed point: a helper of a helper counts)."""
    numeric, kinds = {}, {}
    for index, _, fn in functions:
        for find, kind in ((quotient_line, "a difference quotient"), (complex_step_line, "a complex-step derivative")):
            line = find(fn)
            if line is not None:
                numeric[fn.name], kinds[fn.name] = (index, line, kind), kind
                break
    changed = True
    while changed:
        changed = False
        for index, _, fn in functions:
            if fn.name in numeric:
                continue
            helpers = sorted(_called(fn) & set(numeric))
            if helpers:
                kinds[fn.name] = kinds[helpers[0]]
                numeric[fn.name] = (index, fn.lineno, f"calls {helpers[0]}(), which computes {kinds[fn.name]}")
                changed = True
    return numeric


def _replaced_backwards(trees, numeric):
    """[(cell index, line, text)] of assignments that replace a backward method by a numeric function."""
    out = []
    for index, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in numeric:
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and target.attr in BACKWARD:
                        out.append((index, node.lineno, f"{target.attr} replaced by {node.value.id}()"))
    return out


def findings(nb, name, answers=()):
    """One message per cell of `nb` (graded as `name`) whose backward method, or answer function (`answers`: the
    differentiation notebook's), computes its derivative numerically."""
    cells = dict(within_budget(code_cells(nb))[0])   # past the budget: the integrity scan's finding
    trees = [(index, tree) for index, tree in ((i, parse_cell(c.source)) for i, c in cells.items()) if tree is not None]
    functions = _functions(trees)
    numeric = numeric_functions(functions)
    hits = []
    for index, owner, fn in functions:
        if fn.name not in numeric:
            continue
        if (owner is not None and fn.name in BACKWARD) or (owner is None and fn.name in answers):
            where = f"{owner}.{fn.name}" if owner else f"{fn.name}()"
            hits.append((index, fn.lineno, f"{where} {numeric[fn.name][2]}"))
    hits += _replaced_backwards(trees, numeric)
    messages, seen = [], set()
    for index, line, what in sorted(hits):
        if (index, what) in seen:
            continue
        seen.add((index, what))
        line, text = source_line(cells[index].source, line)
        text = text[:80]
        messages.append(f"integrity: {name} cell {index} (`{first_line(cells[index].source)}`) computes a derivative "
                        f"numerically: {what} (line {line}: `{text}`). The homework asks for the derived formula: "
                        "flagged for a TA to read (no points taken here; the gradient checks ask for analytic "
                        "precision).")
    return messages


def scan(prepared):
    """The findings of the modules and differentiation notebooks of a prepared submission."""
    answers = {name for names in EXERCISES.values() for name in names}
    out = []
    if MODULES in prepared.notebooks:
        out += findings(prepared.notebooks[MODULES], MODULES)
    if DIFFERENTIATION in prepared.notebooks:
        out += findings(prepared.notebooks[DIFFERENTIATION], DIFFERENTIATION, answers)
    return out
