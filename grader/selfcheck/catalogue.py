"""The catalogue: every check of HW3_Modules.ipynb, its target, its name and its points, per assignment version.

One table of points per kind of module (:data:`LAYER_POINTS`), one loop over the targets. A version changes
how some checks judge (Dropout's p, accumulation, float32: see :mod:`.versions`), never a module's maximum.
``Sequential`` is checked with small test doubles as its children (``Sine``, ``Quadratic``: not course
modules), so a broken ``Linear`` costs ``Linear`` alone.

:func:`run_probe` is the kernel's side of a check: it looks the check up here by its id and runs its probe.
"""
import warnings
from dataclasses import replace
from functools import lru_cache

import numpy as np

from grader.selfcheck import expected as E
from grader.selfcheck import judges as J
from grader.selfcheck import judges_special as JS
from grader.selfcheck import probes as P
from grader.selfcheck.cases import CRITERION_CASES, LAYER_CASES, Check, MissingClass
from grader.selfcheck.messages import describe_exception
from grader.selfcheck.probes import TRACE, ReturnedNone
from grader.selfcheck.versions import ALL_TARGETS, KIT, version as get_version
from grader.selfcheck.wire import encode

# points of the generic layer checks: forward, gradInput, parameter gradients, accumulation, contract, float32
DEFAULT_POINTS = dict(forward=2, grad_input=3, params=3, accumulate=1, contract=1, dtype=1)
LAYER_POINTS = {
    "Sequential": dict(forward=3, grad_input=4, params=2, dtype=0),
    "BatchNormalization": dict(forward=1, grad_input=2),   # + 2 for the running statistics (EXTRA)
    "MaxPool2d": dict(grad_input=2),                # + 1 for the ties
}
EXTRA = {   # (name, points, probe, expect, judge) factories of the checks beyond the generic ones
    "SoftMax": [("stable for logits of magnitude 800", 2, P.probe_stable, E.expect_stable, J.judge_stable)],
    "LogSoftMax": [("stable for logits of magnitude 800", 2, P.probe_stable, E.expect_stable, J.judge_stable)],
    "BatchNormalization": [
        ("running statistics: moving averages, used in evaluation", 1, P.probe_running_stats, E.expect_running_stats,
         JS.judge_running_stats)],
    "BatchMeanSubtraction": [
        ("running mean: a moving average, subtracted in evaluation", 2, P.probe_running_stats,
         E.expect_running_stats, JS.judge_running_stats)],
    "ELU": [("finite for inputs 0 and of magnitude 800", 1, P.probe_large_inputs, E.expect_large_inputs,
             J.judge_large_inputs)],
    "SoftPlus": [("finite for inputs 0 and of magnitude 800", 1, P.probe_large_inputs, E.expect_large_inputs,
                  J.judge_large_inputs)],
    "Sigmoid": [("finite for inputs 0 and of magnitude 800", 1, P.probe_large_inputs, E.expect_large_inputs,
                 J.judge_large_inputs)],
}


def _same(probe):
    """expect = the probe run on the reference (trusted) modules."""
    return lambda ref, seed: probe(ref, seed)


def _layer_checks(target, version):
    points = dict(DEFAULT_POINTS, **LAYER_POINTS.get(target, {}))
    cases = LAYER_CASES[target]
    has_params = any(case.params for case in cases)
    backward = P.probe_backward(target, version)
    checks = [
        Check(target, "forward output", points["forward"], P.probe_forward(target, version), E.expect_forward(target),
              J.judge_forward(target, version)),
        Check(target, "gradInput vs finite differences", points["grad_input"], backward, E.expect_backward(target),
              J.judge_gradients(target, {"gradInput"}, version)),
    ]
    if has_params:
        paths = {path for case in cases for path, _ in case.params}
        checks.append(Check(target, "parameter gradients vs finite differences", points["params"], backward,
                            E.expect_backward(target), J.judge_gradients(target, paths, version)))
        name = "gradients accumulate, zeroGradParameters resets" if version.accumulate else \
            "zeroGradParameters, then backward: gradients right"
        checks.append(Check(target, name, points["accumulate"], P.probe_accumulate(target, version),
                            E.expect_accumulate(target), J.judge_accumulate(target, version)))
    checks.append(Check(target, "stores output/gradInput, inputs untouched", points["contract"],
                        P.probe_contract(target, version), E.expect_contract(target), J.judge_contract(target, version)))
    if points["dtype"]:
        name = "float32 stays float32" if version.float32 else "a float32 input gives the right values"
        checks.append(Check(target, name, points["dtype"], P.probe_dtype(target, version), E.expect_dtype(target),
                            J.judge_dtype(target, version, has_params)))
    if target == "MaxPool2d":   # the tie rule is the kit's text alone
        name = "ties: the first maximum gets the gradient" if version.maxpool_first_tie else \
            "ties: a note only (the text sets no rule)"
        checks.append(Check(target, name, 1, P.probe_maxpool_ties(target, version), E.expect_maxpool_ties(target),
                            JS.judge_maxpool_ties(version)))
    for name, pts, probe, expect, judge in EXTRA.get(target, []):
        if probe is P.probe_large_inputs and not version.overflow_asked:   # the course's texts never ask about 800
            name = "finite for inputs 0 and 50 (magnitude 800: a note, the text does not ask)"
        checks.append(Check(target, name, pts, probe(target, version), expect(target), judge(target, version)))
    if target in ("BatchNormalization", "BatchMeanSubtraction"):
        # Evaluation: the course's texts ask that an image's output not depend on its batch; the kit's text also
        # gives the gradient there (its running statistics check already requires fixed statistics).
        if version.eval_backward:
            checks.append(Check(target, "evaluation: backward treats the running statistics as constants", 1,
                                P.probe_eval_backward(target, version), E.expect_eval_backward(target),
                                JS.judge_eval_backward(target, version)))
        else:
            checks.append(Check(target, "evaluation: independent of the batch", 1, P.probe_running_stats(target, version),
                                E.expect_running_stats(target), JS.judge_running_independent(target, version)))
    return checks


def _dropout_checks(version):
    keep = "p" if version.dropout_keeps else "1-p"
    scale = "unscaled" if version.dropout_keeps else "scaled by 1/(1-p)"
    train = P.probe_dropout_train(version)
    return [
        Check("Dropout", f"training: kept fraction about {keep}", 2, train, E.expect_dropout,
              JS.judge_dropout_fraction(version)),
        Check("Dropout", f"training: kept units {scale}", 2, train, E.expect_dropout, JS.judge_dropout_scale(version)),
        Check("Dropout", "backward reuses the forward mask", 2, train, E.expect_dropout, JS.judge_dropout_mask_reuse(version)),
        Check("Dropout", "evaluation: identity", 2, P.probe_dropout_eval(version), E.expect_dropout_eval,
              JS.judge_dropout_eval(version)),
        Check("Dropout", "stores output/gradInput, inputs untouched", 1, P.probe_contract("Dropout", version),
              E.expect_contract("Dropout"), J.judge_contract("Dropout", version)),
    ]


def _criterion_checks(target, version):
    probe = P.probe_criterion(target, version)
    checks = [
        Check(target, "loss value", 2, probe, E.expect_criterion(target), JS.judge_criterion_loss(target, version)),
        Check(target, "gradInput vs finite differences", 3, probe, E.expect_criterion(target),
              J.judge_gradients(target, {"gradInput"}, version)),
        Check(target, "stores output/gradInput, inputs untouched", 1, probe, E.expect_criterion(target),
              JS.judge_criterion_contract(target, version)),
    ]
    if target == "ClassNLLCriterion":
        checks.append(Check(target, "finite for probabilities 0 and 1", 2, P.probe_nll_zero(version), E.expect_nll_zero,
                            JS.judge_nll_zero(version)))
    return checks


def checks_for(version=KIT):
    """Every check of every target, judged by `version`'s conventions (a Version or its name; a Version whose
    criteria were renamed by :func:`.versions.with_criteria` keeps its names)."""
    version = get_version(version)
    return _checks(version.name, tuple(sorted(version.names.items())))


@lru_cache(maxsize=None)
def _checks(name, names):
    version = get_version(name)
    if dict(names) != version.names:
        version = replace(version, names=dict(names))
    checks = []
    for target in ALL_TARGETS:
        if target == "Dropout":
            checks += _dropout_checks(version)
        elif target in LAYER_CASES:
            checks += _layer_checks(target, version)
        elif target in CRITERION_CASES:
            checks += _criterion_checks(target, version)
    # sgd_momentum is given to the students in every version (no solution region): checked, not scored.
    checks.append(Check("sgd_momentum", "3 steps match the update rule", 0, P.probe_optimizer("sgd_momentum", version),
                        E.expect_sgd, JS.judge_optimizer("sgd_momentum", version)))
    checks.append(Check("adam_optimizer", "3 steps match the update rule", 4, P.probe_optimizer("adam_optimizer", version),
                        E.expect_adam, JS.judge_optimizer("adam_optimizer", version)))
    return tuple(checks)


def by_id(version=KIT):
    return {check.id: check for check in checks_for(version)}


CHECKS = list(checks_for(KIT))
BY_ID = by_id(KIT)
TARGETS = list(dict.fromkeys(check.target for check in CHECKS))


def checks_of(target=None, version=KIT, targets=None):
    """The checks of `target` (all if None; only those of `targets` if given) under `version`."""
    return [c for c in checks_for(get_version(version))
            if (target is None or c.target == target) and (targets is None or c.target in targets)]


# ------------------------------------------------------------------------------------ the kernel side


def run_probe(check_id, namespace, seed, version="kit", names=None):
    """Runs the probe of check `check_id` (of `version`) on a namespace; returns a JSON-able dict (this is what
    the kernel sends back). `names`: the version's class names as the grader settled them for this notebook
    (its criteria, see :func:`.versions.with_criteria`)."""
    ns = dict(namespace) if isinstance(namespace, dict) else vars(namespace)
    if names:
        version = replace(get_version(version), names=dict(names))
    check = by_id(version)[check_id]
    TRACE.call = ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                values = check.probe(ns, seed)
        return {"ok": True, "values": encode(values)}
    except MissingClass as exc:
        return {"ok": False, "missing": exc.name, "kind": exc.kind}
    except ReturnedNone as exc:
        return {"ok": False, "not_implemented": True, "stub": True, "error": str(exc), "attribute": exc.attribute}
    except NotImplementedError as exc:
        return {"ok": False, "not_implemented": True, "error": describe_exception(exc), "call": TRACE.call}
    except Exception as exc:  # a student's bug, reported as the check's message
        return {"ok": False, "error": describe_exception(exc), "call": TRACE.call}
