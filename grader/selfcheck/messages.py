"""The words a student reads about a check: printouts of arrays, what the grader built and called, why a
check could not run (a missing class, a stub, an error raised by their code), and the hints.

Kept in one module so that the wording stays consistent (and is easy to improve) across the judges.
Messages name the submission's own classes, never the grader's internals.
"""
import traceback

import numpy as np

from grader.selfcheck.cases import CRITERION_CASES, EDGE_INPUT, LAYER_CASES, constructor_call

EDGE = EDGE_INPUT
NO_RESULT = "no result came back from the kernel"
ACCUMULATE_HINT = " The second backward replaced the gradient instead of adding to it: use += in accGradParameters."
IN_PLACE_HINT = " Update the arrays in place (p -= ...), so that the network sees the change."


def show(array, limit=12):
    """A short printout of an array for a message."""
    a = np.asarray(array)
    if a.dtype.kind in "fc" and a.size > limit:
        return f"array of shape {a.shape}, first entries {np.array2string(a.ravel()[:limit], precision=4)}"
    return np.array2string(a, precision=4, separator=", ").replace("\n", "") if a.dtype.kind != "U" else str(a)


def shape_of(value):
    """'(5, 4)' for an array, else the type's name."""
    return str(tuple(np.shape(value))) if isinstance(value, np.ndarray) else type(value).__name__


def case_label(version, target, key):
    """'Linear(4, 3) on an input of shape (5, 4)' for the case a value key ('case1.gradInput') belongs to."""
    head = key.split(".")[0]
    if head == "edge":
        return f"{version.class_name(target)} on the input {show(EDGE)}"
    index = int(head[4:])
    if target in LAYER_CASES:
        case = LAYER_CASES[target][index]
        call = constructor_call(version, target, case)
    else:
        case = CRITERION_CASES[target][index]
        call = f"{version.class_name(target)}()"
    about = f", {case.label}" if case.label else ""
    return f"{call}{about} on an input of shape {case.shape}"


def describe_exception(exc):
    """'ValueError: ... (at `line of code`)' with the deepest frame that is not the grader's."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "grader" not in f.filename.replace("\\", "/").split("/")[:-1]]
    where = f" (at `{frames[-1].line.strip()}`)" if frames and frames[-1].line else ""
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"


def missing(name, kind="class", where=""):
    """No class (or function) of that name in the notebook's namespace; `where` its code might be."""
    return f"no {kind} {name} in your notebook" + (f": {where}" if where else
                                                   f"; define {kind} {name} in a code cell, under that exact name") + "."


def stub(name, error):
    """forward/backward returned None and stored nothing: the template's stub."""
    return f"{name} is not implemented (returned None): {error}."


def not_implemented(name, error):
    return f"{name} is not implemented yet ({error})"


def raised(name, error, call=""):
    return f"{name} raised {error}" + (f" when the grader called {call}" if call else "")


def unjudgeable(exc):
    return f"the values that came back could not be read ({type(exc).__name__}: {str(exc)[:200]})"


def float32_note(problems):
    """A note, not a lost point, for versions whose text does not ask for float32 to stay float32."""
    return (f". Note: for a float32 input, {' and '.join(problems)}; keeping the input's dtype halves memory and "
            "time (cast parameters with .astype(input.dtype)); not scored in this version of the assignment")
