"""The catalogue: every scored check of HW3_Modules.ipynb, its target, its name and its points.

``Sequential`` is checked with small test doubles as its children (``Sine``, ``Quadratic``: not course
modules), so a broken ``Linear`` costs ``Linear`` alone.
"""
from grader.selfcheck import expected as E
from grader.selfcheck import judges as J
from grader.selfcheck import probes as P
from grader.selfcheck.cases import CRITERION_CASES, LAYER_CASES, Check


def _same(probe):
    """expect = the probe run on the reference (trusted) modules."""
    return lambda ref, seed: probe(ref, seed)


def _layer_checks(target, forward=2, grad_input=3, params=3, contract=1, dtype=1, accumulate=1):
    cases = LAYER_CASES[target]
    has_params = any(case.params for case in cases)
    checks = [
        Check(target, "forward output", forward, P.probe_forward(target), _same(P.probe_forward(target)), J.judge_forward(target)),
        Check(target, "gradInput vs finite differences", grad_input, P.probe_backward(target), E.expect_backward(target),
              J.judge_gradients(target, {"gradInput"})),
    ]
    if has_params:
        paths = {path for case in cases for path, _ in case.params}
        checks.append(Check(target, "parameter gradients vs finite differences", params, P.probe_backward(target),
                            E.expect_backward(target), J.judge_gradients(target, paths)))
        checks.append(Check(target, "gradients accumulate, zeroGradParameters resets", accumulate,
                            P.probe_accumulate(target), E.expect_accumulate(target), J.judge_accumulate(target)))
    checks.append(Check(target, "stores output/gradInput, inputs untouched", contract, P.probe_contract(target),
                        E.expect_contract(target), J.judge_contract(target)))
    if dtype:
        checks.append(Check(target, "float32 stays float32", dtype, P.probe_dtype(target), E.expect_dtype(target),
                            J.judge_dtype(target)))
    return checks


def _criterion_checks(target):
    return [
        Check(target, "loss value", 2, P.probe_criterion(target), E.expect_criterion(target), J.judge_criterion_loss(target)),
        Check(target, "gradInput vs finite differences", 3, P.probe_criterion(target), E.expect_criterion(target),
              J.judge_gradients(target, {"gradInput"})),
        Check(target, "stores output/gradInput, inputs untouched", 1, P.probe_criterion(target),
              E.expect_criterion(target), J.judge_criterion_contract(target)),
    ]


def _catalogue():
    checks = []
    checks += _layer_checks("Sequential", forward=3, grad_input=4, params=2, dtype=0)
    checks += _layer_checks("Linear")
    checks += _layer_checks("SoftMax")
    checks.append(Check("SoftMax", "stable for logits of magnitude 800", 2, P.probe_stable("SoftMax"),
                        E.expect_stable("SoftMax"), J.judge_stable("SoftMax")))
    checks += _layer_checks("LogSoftMax")
    checks.append(Check("LogSoftMax", "stable for logits of magnitude 800", 2, P.probe_stable("LogSoftMax"),
                        E.expect_stable("LogSoftMax"), J.judge_stable("LogSoftMax")))
    checks += _layer_checks("BatchNormalization")
    checks += _layer_checks("ChannelwiseScaling")
    checks += [
        Check("Dropout", "training: kept fraction about 1-p", 2, P.probe_dropout_train, E.expect_dropout, J.judge_dropout_fraction),
        Check("Dropout", "training: kept units scaled by 1/(1-p)", 2, P.probe_dropout_train, E.expect_dropout, J.judge_dropout_scale),
        Check("Dropout", "backward reuses the forward mask", 2, P.probe_dropout_train, E.expect_dropout, J.judge_dropout_mask_reuse),
        Check("Dropout", "evaluation: identity", 2, P.probe_dropout_eval, E.expect_dropout_eval, J.judge_dropout_eval),
        Check("Dropout", "stores output/gradInput, inputs untouched", 1, P.probe_contract("Dropout"),
              E.expect_contract("Dropout"), J.judge_contract("Dropout")),
    ]
    checks += _layer_checks("BatchMeanSubtraction")
    checks += [
        Check("BatchMeanSubtraction", "evaluation: subtracts the running mean", 2, P.probe_bms_eval, E.expect_bms_eval,
              J.judge_bms_running_mean),
        Check("BatchMeanSubtraction", "evaluation: independent of the batch", 1, P.probe_bms_eval, E.expect_bms_eval,
              J.judge_bms_independent),
    ]
    for target in ("ReLU", "LeakyReLU", "ELU", "SoftPlus", "Sigmoid", "Tanh"):
        checks += _layer_checks(target)
    for target in ("ELU", "SoftPlus", "Sigmoid"):
        checks.append(Check(target, "finite for inputs of magnitude 800", 1, P.probe_large_inputs(target),
                            E.expect_large_inputs(target), J.judge_large_inputs(target)))
    checks += _layer_checks("Flatten")
    checks += _layer_checks("Conv2d")
    checks += _layer_checks("MaxPool2d")
    for target in CRITERION_CASES:
        checks += _criterion_checks(target)
        if target == "ClassNLLCriterion":
            checks.append(Check(target, "finite for probabilities 0 and 1", 2, P.probe_nll_zero, E.expect_nll_zero, J.judge_nll_zero))
    # sgd_momentum is given to the students (no solution region): checked, not scored.
    checks.append(Check("sgd_momentum", "3 steps match the update rule", 0, P.probe_optimizer("sgd_momentum"),
                        _same(P.probe_optimizer("sgd_momentum")), J.judge_optimizer("sgd_momentum")))
    checks.append(Check("adam_optimizer", "3 steps match the update rule", 4, P.probe_optimizer("adam_optimizer"),
                        _same(P.probe_optimizer("adam_optimizer")), J.judge_optimizer("adam_optimizer")))
    return checks


CHECKS = _catalogue()


BY_ID = {check.id: check for check in CHECKS}


TARGETS = list(dict.fromkeys(check.target for check in CHECKS))


def checks_of(target=None):
    return [c for c in CHECKS if target is None or c.target == target]
