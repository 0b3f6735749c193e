"""The students' self-check: ``check("Linear")`` in HW3_Modules.ipynb runs the grader's checks of one module.

The checks are the grader's own (:mod:`grader.checks`: same probes, same judges, same points), run on
the classes of the caller's namespace (the notebook's globals) and printed as a pass/fail table. The
expected values come from ``grader/reference_values.npz`` in the students' release (frozen from the
reference at release time), or from the kit's reference notebook when run inside the kit. The inputs
are drawn from ``SELFCHECK_SEED``; the grader draws its own from another seed.

``check()`` with no name checks every module found in the notebook. It returns True when all rows pass.
Set the environment variable ``HW3_SELFCHECK=0`` to skip the checks (HW3_main.ipynb does, when it
loads the modules with ``%run``).
"""
import os
import sys
from pathlib import Path

from grader import checks as C

HERE = Path(__file__).resolve().parent
FROZEN = HERE / "reference_values.npz"
_expected = {}


def expected_for(check):
    """Expected values of one check on the self-check inputs."""
    if not _expected:
        if FROZEN.exists():
            _expected.update(C.load_expected(FROZEN))
        else:
            from grader.notebook import load_notebook
            _expected["__reference__"] = load_notebook(HERE.parent / "HW3_Modules.ipynb", name="reference_modules")
    if check.id not in _expected:
        reference = _expected.get("__reference__")
        if reference is None:
            raise KeyError(f"{FROZEN.name} holds no values for {check.id!r}: regenerate the release")
        _expected.update(C.expected_values(reference, C.SELFCHECK_SEED, [check]))
    return _expected[check.id]


def results_for(namespace, target):
    """Results of every check of `target` on a namespace (dict or object) holding the student's classes."""
    ns = dict(namespace) if isinstance(namespace, dict) else vars(namespace)
    results = []
    for check in C.checks_of(target):
        payload = C.run_probe(check.id, ns, C.SELFCHECK_SEED)
        results.append(C.verdict(check, payload, expected_for(check)))
    return results


def _row(result):
    verdict = "ok" if result.passed else "FAILED"
    return f"{verdict:<7} {result.target:<22} {result.name:<48} {result.points:g}/{result.max_points:g}  {result.message}"


def check(name=None, namespace=None):
    """Run the checks of module `name` (all modules if None) and print a pass/fail table."""
    if os.environ.get("HW3_SELFCHECK", "1") == "0":
        return None
    if namespace is None:
        namespace = sys._getframe(1).f_globals  # the notebook's globals
    ns = dict(namespace) if isinstance(namespace, dict) else vars(namespace)
    if name is not None and name not in C.TARGETS:
        raise ValueError(f"check({name!r}): unknown module; choose one of {', '.join(C.TARGETS)}")
    targets = [name] if name else [t for t in C.TARGETS if t in ns]
    all_passed = True
    points = max_points = 0
    for target in targets:
        results = results_for(ns, target)
        passed = all(r.passed for r in results)
        all_passed &= passed
        points += sum(r.points for r in results)
        max_points += sum(r.max_points for r in results)
        if name is None:
            print(f"{'ok' if passed else 'FAILED':<7} {target:<22} {sum(r.points for r in results):g}/"
                  f"{sum(r.max_points for r in results):g}" + ("" if passed else "   run check(%r) for details" % target))
        else:
            print("\n".join(_row(r) for r in results))
    print(f"{points:g} of {max_points:g} points. " +
          ("All checks passed." if all_passed else "Some checks FAILED: fix them before moving on."))
    return all_passed
