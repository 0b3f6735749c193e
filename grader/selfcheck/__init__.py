"""The checks of HW3_Modules.ipynb, shared by the grader and the students' ``check("Linear")``.

This folder is what ships to students (``python -m grader release`` copies it whole); everything else in
``grader/`` stays with the instructors. Read it in this order:

* :mod:`.cases`: what is checked (modules, constructor arguments, input shapes, modes) and the inputs;
* :mod:`.optimizer_cases`: the optimizers' inputs (configuration, start, the gradients of each step);
* :mod:`.probes`: the code that calls a submission's modules (run in the submission's kernel);
* :mod:`.wire`: the raw values crossing from the kernel to the grader;
* :mod:`.expected`: what a correct module gives (the reference, finite differences), in the grader;
* :mod:`.judges` (every layer's checks, and the verdict) and :mod:`.judges_special` (Dropout, running
  statistics, criterions, optimizers, MaxPool2d's ties): got vs expected, in the grader; :mod:`.messages`: the
  words a student reads;
* :mod:`.catalogue`: every check with its points, and :func:`run_probe`, a check's kernel side;
* :mod:`.versions`: the versions of the assignment, and which one a notebook was written against;
* :mod:`.gradcheck`: finite differences and relative errors (the test suite's module checker is tests/gradcheck.py);
* :mod:`.display`: how ``check()`` shows its table (HTML in Jupyter, text elsewhere).

``check()`` (below) runs the checks of one module on the caller's namespace (the notebook's globals) and
prints a pass/fail table. The expected values come from ``reference_values.npz`` next to this file in the
students' release (frozen from the reference at release time), or from the kit's reference notebook when
run inside the kit. The inputs are drawn from ``SELFCHECK_SEED``; the grader draws its own from a secret seed of
each batch, which is never shipped.

``check()`` with no name checks every module of the homework (one not defined in the kernel is a failed row). The table is rendered in Jupyter and
printed elsewhere (:mod:`.display`); the returned summary is true when all rows pass.
Set the environment variable ``HW3_SELFCHECK=0`` to skip the checks (HW3_main.ipynb does, when it
loads the modules with ``%run``).
"""
import os
import sys
from pathlib import Path

from grader.selfcheck.cases import SELFCHECK_SEED
from grader.selfcheck.catalogue import BY_ID, CHECKS, TARGETS, by_id, checks_for, checks_of, run_probe
from grader.selfcheck.display import Row, Summary, show
from grader.selfcheck.expected import expected_values, load_expected, save_expected
from grader.selfcheck.judges import Result, verdict
from grader.selfcheck.versions import KIT, VERSIONS
from grader.selfcheck.wire import MIME, decode, encode

__all__ = ["check", "results_for", "CHECKS", "BY_ID", "TARGETS", "by_id", "checks_for", "checks_of",
           "SELFCHECK_SEED", "MIME", "Result", "verdict", "run_probe", "expected_values", "save_expected",
           "load_expected", "encode", "decode", "KIT", "VERSIONS"]

HERE = Path(__file__).resolve().parent
FROZEN = HERE / "reference_values.npz"
_expected = {}


def expected_for(check):
    """Expected values of one check on the self-check inputs."""
    if not _expected:
        if FROZEN.exists():
            _expected.update(load_expected(FROZEN))
        else:
            from grader.selfcheck.notebook import load_notebook
            _expected["__reference__"] = load_notebook(HERE.parent.parent / "HW3_Modules.ipynb", name="reference_modules")
    if check.id not in _expected:
        reference = _expected.get("__reference__")
        if reference is None:
            raise KeyError(f"{FROZEN.name} holds no values for {check.id!r}: regenerate the release")
        _expected.update(expected_values(reference, SELFCHECK_SEED, [check]))
    return _expected[check.id]


def results_for(namespace, target, version=KIT, in_kernel=False):
    """Results of every check of `target` on a namespace (dict or object) holding the student's classes,
    judged by `version` (the kit's own, for the students of this kit). `in_kernel`: check() in the student's kernel
    (a missing class is then named as a cell to run)."""
    ns = dict(namespace) if isinstance(namespace, dict) else vars(namespace)
    version = VERSIONS[version] if isinstance(version, str) else version
    results = []
    for check in checks_of(target, version):
        payload = run_probe(check.id, ns, SELFCHECK_SEED, version=version.name, names=version.names)
        results.append(verdict(check, payload, expected_for(check), version, in_kernel=in_kernel))
    return results


def check(name=None, namespace=None):
    """Run the checks of module `name` (all modules if None) and show a pass/fail table.

    In Jupyter the table is rendered (see :mod:`.display`), elsewhere printed. Returns a
    :class:`~grader.selfcheck.display.Summary`, true when every check passed, which a notebook does not
    echo; None when ``HW3_SELFCHECK=0``.
    """
    if os.environ.get("HW3_SELFCHECK", "1") == "0":
        return None
    if namespace is None:
        namespace = sys._getframe(1).f_globals  # the notebook's globals
    ns = dict(namespace) if isinstance(namespace, dict) else vars(namespace)
    if name is not None and name not in TARGETS:
        raise ValueError(f"check({name!r}): unknown module; choose one of {', '.join(TARGETS)}")
    # check() checks every module of the homework, not only those the kernel holds: a class whose cell was not run
    # (or stopped with an error) must show as a failed row, never vanish from a table that then says all passed.
    targets = [name] if name else TARGETS
    summary = Summary()
    for target in targets:
        results = results_for(ns, target, in_kernel=True)
        summary.points += sum(r.points for r in results)
        summary.max_points += sum(r.max_points for r in results)
        if name is None:  # one row per module
            passed = all(r.passed for r in results)
            undefined = not passed and not any(r.defined_as for r in results)
            summary.rows.append(Row(passed, target, f"{len(results)} check{'s' if len(results) > 1 else ''}",
                                    sum(r.points for r in results), sum(r.max_points for r in results),
                                    "" if passed else results[0].message if undefined
                                    else f"run check({target!r}) for details"))
        else:
            summary.rows += [Row(r.passed, r.target, r.name, r.points, r.max_points, r.message) for r in results]
    return show(summary)
