"""The students' self-check: ``check("Linear")`` in HW3_Modules.ipynb runs the grader's checks of one module.

``check()`` with no name checks every module found in the notebook. It looks the classes up in the
caller's namespace (the notebook's globals), prints one table, and returns True when all rows pass.
Set the environment variable ``HW3_SELFCHECK=0`` to skip the checks (HW3_main.ipynb does, when it
loads the modules with ``%run``).
"""
import os
import sys
import types

from grader.cases import MODULE_CASES, OPTIMIZERS, gradient_results, optimizer_results

ALL = tuple(MODULE_CASES) + OPTIMIZERS


def results_for(ns, name):
    """All check results of module or optimizer `name` on namespace `ns`."""
    if name in OPTIMIZERS:
        return optimizer_results(ns, name)
    return gradient_results(ns, name)


def check(name=None, namespace=None):
    """Run the checks of module `name` (all modules if None) and print a pass/fail table."""
    if os.environ.get("HW3_SELFCHECK", "1") == "0":
        return None
    if namespace is None:
        namespace = sys._getframe(1).f_globals  # the notebook's globals
    ns = types.SimpleNamespace(**namespace) if isinstance(namespace, dict) else namespace
    names = ALL if name is None else (name,)
    all_passed = True
    for current in names:
        if name is None and not hasattr(ns, current):
            continue
        try:
            rows = [str(r) for r in results_for(ns, current)]
            passed = all(row.endswith("ok") for row in rows)
        except NotImplementedError as exc:
            rows, passed = [f"{current}: not implemented yet ({exc})"], False
        except Exception as exc:  # a student's bug: show it as a failed row, not a traceback
            rows, passed = [f"{current}: raised {type(exc).__name__}: {exc}"], False
        all_passed &= passed
        if name is None:
            print(f"{current:<24} {'ok' if passed else 'FAILED'}")
        else:
            print("\n".join(rows))
    print("All checks passed." if all_passed else "Some checks FAILED: fix them before moving on.")
    return all_passed
