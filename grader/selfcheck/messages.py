"""Every sentence a student reads about a check: printouts of arrays, case labels, errors raised by their code.

Kept in one module so that the wording stays consistent (and is easy to improve) across the judges.
"""
import traceback

import numpy as np

from grader.selfcheck.cases import CRITERION_CASES, LAYER_CASES

def show(array, limit=12):
    """A short printout of an array for a message."""
    a = np.asarray(array)
    if a.dtype.kind in "fc" and a.size > limit:
        return f"array of shape {a.shape}, first entries {np.array2string(a.ravel()[:limit], precision=4)}"
    return np.array2string(a, precision=4, separator=", ").replace("\n", "") if a.dtype.kind != "U" else str(a)


def case_label(target, key):
    index = int(key.split(".")[0][4:])
    cases = LAYER_CASES.get(target) or CRITERION_CASES.get(target)
    case = cases[index]
    return f"{case.label} on an input of shape {case.shape}"


def describe_exception(exc):
    """'ValueError: ... (at `line of code`)' with the deepest frame that is not the grader's."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "grader" not in f.filename.replace("\\", "/").split("/")[:-1]]
    where = f" (at `{frames[-1].line.strip()}`)" if frames and frames[-1].line else ""
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"
