"""The judges: compare what came back from the kernel with the expected values, in the grader's own process.

Each judge is built for one assignment version (:mod:`.versions`) and names the submission's own class.
Where the homework leaves a choice (Dropout's random mask, where running statistics start, where Adam's
eps goes) the judge checks the documented property instead of the reference's numbers.
"""
from dataclasses import dataclass

import numpy as np

from grader.selfcheck import messages as M
from grader.selfcheck.cases import DROPOUT_P, EDGE_INPUT, OPTIMIZER_CONFIG
from grader.selfcheck.gradcheck import ABS_TOLERANCE, TOLERANCE, relative_error
from grader.selfcheck.messages import case_label, method_of
from grader.selfcheck.wire import decode


def as_array(value):
    return value if isinstance(value, np.ndarray) else np.asarray(value)


def compare(version, target, what, got, expected, key, tolerance=TOLERANCE, input=None, grad_output=None,
            target_values=None, method=None, label=None):
    """None if `got` matches `expected`, else a message that teaches: which method, on what it was fed
    (input, gradOutput or target, shown whole when small), what was expected and what came back."""
    where = M.where(method or version.class_name(target), what, label or case_label(version, target, key))
    fed = M.fed(input=input, gradOutput=grad_output, target=target_values)
    if got is None:
        return M.nothing_came_back(where, fed)
    got = as_array(got)
    expected = as_array(expected)
    if got.dtype.kind not in "biuf":
        return M.not_numeric(where, got, fed)
    if got.shape != expected.shape:
        return M.wrong_shape(where, got.shape, expected.shape, fed)
    if not np.all(np.isfinite(got)):
        return M.not_finite(where, got, expected, fed)
    err = relative_error(got, expected)
    if err < tolerance or np.linalg.norm(got.astype(np.float64) - expected) < ABS_TOLERANCE:
        return None
    return M.mismatch(where, err, tolerance, got, expected, fed)


def smallest_first(expected, keys):
    """The keys in order of their case's input size: a failure is reported on the tiniest case that shows it,
    whose arrays the message can show whole."""
    def size(key):
        case = key.partition(".")[0]
        return np.size(expected.get(f"{case}.input", expected.get(case, 0))), key
    return sorted(keys, key=size)


def _edge(version, target, what, got, expected, kinks=False):
    """The values on 0 and +-800 must be finite; they must match where the function is differentiable."""
    name = method_of(version, target, "output" if what.startswith("forward") else "gradInput")
    if got is None or as_array(got).dtype.kind not in "biuf" or as_array(got).shape != as_array(expected).shape:
        return M.edge_malformed(name, what, got, expected)
    got = as_array(got).astype(np.float64)
    if not np.all(np.isfinite(got)):
        return M.edge_not_finite(name, what, got, expected)
    smooth = EDGE_INPUT != 0 if kinks else np.ones(EDGE_INPUT.shape, bool)
    err = relative_error(got[smooth], as_array(expected)[smooth])
    if err > 1e-6:
        return M.edge_mismatch(name, what, err, expected, got)
    return None


def judge_forward(target, version):
    def judge(got, expected):
        outputs = smallest_first(expected, [k for k in expected if not k.endswith(".input")])
        for key in outputs:
            problem = _edge(version, target, "forward output", got.get(key), expected[key]) if key == "edge" else \
                compare(version, target, "forward output", got.get(key), expected[key], key,
                        input=expected.get(f"{key}.input"), method=method_of(version, target, "output"))
            if problem:
                return False, problem
        return True, M.forward_ok(len(outputs))
    return judge


def judge_gradients(target, keys, version):
    """keys: which entries to compare: 'gradInput' or the parameter paths."""
    def judge(got, expected):
        n = 0
        for key in smallest_first(expected, expected):
            case, _, what = key.partition(".")
            if what not in keys:
                continue
            if case == "edge":
                problem = _edge(version, target, "gradInput", got.get(key), expected[key], kinks=True)
            else:
                label = "gradInput" if what == "gradInput" else f"d loss / d {what} (gradient of {what})"
                problem = compare(version, target, label + " vs finite differences", got.get(key), expected[key], key,
                                  input=expected.get(f"{case}.input"), grad_output=expected.get(f"{case}.gradOutput"),
                                  target_values=expected.get(f"{case}.target"), method=method_of(version, target, what))
            if problem:
                return False, problem
            n += 1
        return True, M.gradients_ok(n, TOLERANCE)
    return judge


def judge_contract(target, version):
    """Return and store first (a missing or misshapen output changes the gradOutput the check feeds back, so
    only then can "modified in place" be told apart); then input and gradOutput left untouched."""
    name = version.class_name(target)

    def judge(got, expected):
        for case in sorted({key.partition(".")[0] for key in expected}):
            label = case_label(version, target, f"{case}.input")
            want_input, want_grad = expected[f"{case}.input"], expected[f"{case}.gradOutput"]
            for attribute in ("output", "gradInput"):
                call = "forward" if attribute == "output" else "backward"
                method = method_of(version, target, attribute)
                returned, stored = got.get(f"{case}.returned_{attribute}"), got.get(f"{case}.stored_{attribute}")
                if returned is None or stored is None:
                    return False, M.returned_or_stored_none(method, call, attribute, returned, stored, label, want_input)
                returned, stored = as_array(returned), as_array(stored)
                if returned.shape != stored.shape or not np.array_equal(returned, stored, equal_nan=returned.dtype.kind == "f"):
                    return False, M.stored_differs(method, call, attribute, label, returned, stored)
                if attribute == "output" and returned.shape != want_grad.shape:
                    return False, M.output_shape_wrong(method, returned.shape, want_grad.shape, label)
            after = got.get(f"{case}.input_after")
            if after is None or as_array(after).shape != want_input.shape or not np.array_equal(as_array(after), want_input):
                return False, M.modified_input(name, label, want_input, after)
            after = got.get(f"{case}.gradOutput_after")
            if after is None or as_array(after).shape != want_grad.shape or not np.array_equal(as_array(after), want_grad):
                return False, M.modified_grad_output(method_of(version, target, "gradInput"), label, want_grad, after)
        return True, M.CONTRACT_OK
    return judge


def judge_accumulate(target, version):
    """The kit's text asks for accumulation (+=); the course's hint assigns (self.gradW = ...) and zeroes the
    gradients before every backward: there, the gradients after zeroGradParameters + backward must be right."""
    name = version.class_name(target)

    def judge(got, expected):
        for key in sorted(expected):
            case, path_stage = key.split(".", 1)
            path, stage = path_stage.rsplit(".", 1)
            if stage == "zeroed":
                value = got.get(key)
                if value is None or np.any(as_array(value) != 0):
                    return False, M.not_zeroed(name, path, value)
            elif stage == "twice" and version.accumulate:
                value = got.get(key)
                problem = compare(version, target, f"d loss / d {path} after two backward passes", value, expected[key], key)
                if problem:
                    once = got.get(f"{case}.{path}.once")
                    if once is not None and value is not None and as_array(once).shape == as_array(value).shape \
                            and np.allclose(as_array(once), as_array(value)):
                        problem += M.ACCUMULATE_HINT
                    return False, problem
            elif stage == "once" and not version.accumulate:
                problem = compare(version, target, f"d loss / d {path} after zeroGradParameters() and a backward",
                                  got.get(f"{case}.{path}.after_zero"), expected[key], key)
                if problem:
                    return False, problem
        return True, M.ACCUMULATE_OK if version.accumulate else M.ASSIGN_OK
    return judge


def judge_dtype(target, version, has_params):
    """Kit: a float32 input gives a float32 output and gradInput (its text asks for it). Other versions:
    a float32 input gives the right values; a float64 result is a note, not a lost point."""

    def judge(got, expected):
        notes = []
        for key in smallest_first(expected, [k for k in expected if not k.endswith(".input")]):
            label = case_label(version, target, key)
            for param_dtype in ("float32", "float64"):
                prefix = f"{key}.{param_dtype}"
                params = f"{param_dtype} parameters" if has_params else "no parameters"
                for attribute in ("output", "gradInput"):
                    dtype = str(got.get(f"{prefix}.{attribute}_dtype"))
                    if dtype != "float32":
                        if version.float32:
                            return False, M.float32_lost(method_of(version, target, attribute), params, attribute, dtype,
                                                         label, expected.get(f"{key}.input"), has_params)
                        notes.append(f"{attribute} is {dtype}")
                problem = compare(version, target, f"forward output on a float32 input ({params})",
                                  got.get(f"{prefix}.output"), expected[key], key, tolerance=1e-4,
                                  method=method_of(version, target, "output"))
                if problem:
                    return False, problem
        if version.float32:
            return True, M.FLOAT32_KEPT
        return True, M.FLOAT32_VALUES + (M.float32_note(sorted(set(notes))) if notes else "")
    return judge


def judge_stable(target, version):
    """Logits of magnitude 800: nan or +inf can only come from exp overflowing (no row maximum subtracted);
    -inf alone (LogSoftMax's output) from the log of a probability that rounded to 0."""
    def judge(got, expected):
        for attribute in ("output", "gradInput"):
            value = got.get(attribute)
            method = method_of(version, target, attribute)
            if value is None or as_array(value).dtype.kind != "f" or not np.all(np.isfinite(as_array(value))):
                overflow = value is None or as_array(value).dtype.kind != "f" or \
                    bool(np.any(np.isnan(as_array(value)) | (as_array(value) == np.inf)))
                return False, M.unstable_not_finite(method, attribute, value, expected[attribute], expected.get("input"),
                                                    overflow)
            err = relative_error(value, expected[attribute])
            if err > 1e-6:
                return False, M.unstable_mismatch(method, attribute, err, expected[attribute], value, expected.get("input"))
        return True, M.STABLE_OK
    return judge


def judge_large_inputs(target, version):
    def judge(got, expected):
        for attribute in ("output", "gradInput"):
            value = got.get(attribute)
            method = method_of(version, target, attribute)
            if value is None or as_array(value).dtype.kind != "f" or not np.all(np.isfinite(as_array(value))):
                return False, M.large_not_finite(method, attribute, value, expected[attribute])
            err = relative_error(value, expected[attribute])
            if err > 1e-6:
                return False, M.large_mismatch(method, attribute, err, expected[attribute], value)
        return True, M.LARGE_OK
    return judge


# Dropout: properties, not the reference's random numbers. 2017: p keeps a unit and the text does not rescale
# (1/p accepted too); later: p zeroes a unit and the kept ones are scaled by 1/(1-p).


def _dropout_output(got, expected):
    y = got.get("output")
    if y is None or as_array(y).shape != expected["input"].shape or as_array(y).dtype.kind != "f":
        return None, M.dropout_malformed(DROPOUT_P, expected["input"].shape, y)
    return as_array(y).astype(np.float64), None


def keep_fraction(version):
    return DROPOUT_P if version.dropout_keeps else 1 - DROPOUT_P


def judge_dropout_fraction(version):
    def judge(got, expected):
        y, problem = _dropout_output(got, expected)
        if problem:
            return False, problem
        kept = float(np.mean(y != 0))
        want = keep_fraction(version)
        sigma = np.sqrt(want * (1 - want) / y.size)
        if abs(kept - want) > 6 * sigma:
            return False, M.dropout_fraction(DROPOUT_P, kept, want, version)
        return True, M.dropout_fraction_ok(kept, want, 6 * sigma)
    return judge


def judge_dropout_scale(version):
    def judge(got, expected):
        y, problem = _dropout_output(got, expected)
        if problem:
            return False, problem
        x = expected["input"]
        kept = y != 0
        if not kept.any():
            return False, M.DROPOUT_ALL_ZERO
        ratio = y[kept] / x[kept]
        wants = (1.0, 1 / DROPOUT_P) if version.dropout_keeps else (1 / (1 - DROPOUT_P),)
        if not any(np.allclose(ratio, want, rtol=1e-6) for want in wants):
            return False, M.dropout_scale(DROPOUT_P, np.unique(np.round(ratio, 4))[:5], wants[0], version)
        return True, M.DROPOUT_SCALE_OK
    return judge


def judge_dropout_mask_reuse(version):
    def judge(got, expected):
        y, problem = _dropout_output(got, expected)
        if problem:
            return False, problem
        gi = got.get("gradInput")
        want = expected["gradOutput"] * (y / expected["input"])  # the forward's own mask, applied to gradOutput
        if gi is None or as_array(gi).shape != want.shape:
            return False, M.dropout_backward_malformed(gi, want.shape)
        err = relative_error(gi, want)
        if err > 1e-6:
            return False, M.dropout_mask_not_reused(err)
        y2 = got.get("second_output")
        if y2 is None or np.array_equal(as_array(y2) != 0, y != 0):
            return False, M.DROPOUT_SAME_MASK
        return True, M.DROPOUT_MASK_OK
    return judge


def judge_dropout_eval(got, expected):
    for name, want in (("output", expected["input"]), ("gradInput", expected["gradOutput"])):
        value = got.get(name)
        if value is None or as_array(value).shape != want.shape or not np.allclose(as_array(value), want, rtol=1e-12, atol=0):
            return False, M.dropout_eval(name, value)
    return True, M.DROPOUT_EVAL_OK


# Running statistics (BatchMeanSubtraction, BatchNormalization): read off the evaluation's outputs. In
# evaluation, y = (x - mean) * scale per feature (scale = 1 for BatchMeanSubtraction); between two training
# batches the statistics must move as the text says: new = alpha * old + (1 - alpha) * batch's, from any start.


def _affine(x, y):
    """Per-feature (shift, scale, worst residual) of y = (x - shift) * scale, by least squares."""
    xc = x - x.mean(axis=0)
    scale = (xc * (y - y.mean(axis=0))).sum(axis=0) / (xc * xc).sum(axis=0)
    shift = x.mean(axis=0) - y.mean(axis=0) / scale
    residual = np.abs((x - shift) * scale - y).max() / max(np.abs(y).max(), 1e-12)
    return shift, scale, residual


def _eval_outputs(got, expected, name):
    test = expected["test"]
    out = []
    for key in ("eval0", "eval1"):
        value = got.get(key)
        if value is None or as_array(value).shape != test.shape or as_array(value).dtype.kind != "f" \
                or not np.all(np.isfinite(as_array(value))):
            return None, M.running_malformed(name, test.shape, value)
        out.append(as_array(value).astype(np.float64))
    return out, None


def judge_running_stats(target, version):
    """Moving averages between two batches, from whatever start; evaluation uses them."""
    name = version.class_name(target)
    normalizes = target == "BatchNormalization"

    def judge(got, expected):
        outputs, problem = _eval_outputs(got, expected, name)
        if problem:
            return False, problem
        a, second, test = float(expected["alpha"]), expected["second"], expected["test"]
        fits = [_affine(test, y) for y in outputs]
        for (shift, scale, residual), step in zip(fits, ("first", "second")):
            if residual > 1e-6 or (not normalizes and not np.allclose(scale, 1, rtol=1e-6)):
                return False, M.running_not_affine(name, a, step, normalizes)
        (m1, s1, _), (m2, s2, _) = fits
        if relative_error(m1, test.mean(axis=0)) < 1e-6 and relative_error(m2, test.mean(axis=0)) < 1e-6:
            return False, M.running_uses_batch(name, normalizes)
        want = a * m1 + (1 - a) * second.mean(axis=0)
        if relative_error(m2, want) > 1e-6:
            swapped = relative_error(m2, (1 - a) * m1 + a * second.mean(axis=0)) < 1e-6
            return False, M.running_mean_wrong(name, a, second, m1, m2, want, swapped)
        if normalizes:
            inv1, inv2 = 1 / s1 ** 2, 1 / s2 ** 2   # running variance + EPS
            options = [a * inv1 + (1 - a) * second.var(axis=0, ddof=ddof) for ddof in (0, 1)]
            if min(relative_error(inv2, want_var) for want_var in options) > 1e-3:
                return False, M.running_variance_wrong(name, a, second.var(axis=0), inv1, inv2, options[0])
        gi = got.get("gradInput")
        want_gi = expected["gradOutput"] * s1
        if gi is None or as_array(gi).shape != want_gi.shape or relative_error(gi, want_gi) > 1e-6:
            return False, M.running_grad_wrong(name, normalizes, gi)
        return True, M.RUNNING_OK
    return judge


def judge_running_independent(target, version):
    name = version.class_name(target)

    def judge(got, expected):
        whole, alone = got.get("eval0"), got.get("alone")
        if whole is None or alone is None or as_array(alone).shape != (1, expected["test"].shape[1]):
            return False, M.running_alone_malformed(name, alone)
        if relative_error(as_array(alone)[0], as_array(whole)[0]) > 1e-9:
            return False, M.running_depends_on_batch(name, alone, as_array(whole)[:1])
        return True, M.INDEPENDENT_OK
    return judge


# Criteria.


def judge_criterion_loss(target, version):
    def judge(got, expected):
        for key in sorted(k for k in expected if k.endswith(".loss")):
            value = got.get(key)
            if value is not None and as_array(value).size == 1 and as_array(value).ndim > 0:
                value = as_array(value).reshape(())
            problem = compare(version, target, "loss", value, expected[key], key, input=expected[key.replace("loss", "input")],
                              target_values=expected[key.replace("loss", "target")],
                              method=method_of(version, target, "loss"))
            if problem:
                return False, problem
        return True, M.LOSS_OK
    return judge


def judge_criterion_contract(target, version):
    name = version.class_name(target)

    def judge(got, expected):
        for key in sorted(k for k in expected if k.endswith(".input")):
            case = key.split(".")[0]
            label = case_label(version, target, key)
            for what, want in (("input", expected[key]), ("target", expected[f"{case}.target"])):
                after = got.get(f"{case}.{what}_after")
                if after is None or not np.array_equal(as_array(after), want):
                    return False, M.criterion_modified(name, what, label)
            for what in ("loss", "gradInput"):
                returned, stored = got.get(f"{case}.{what}"), got.get(f"{case}.stored_{what}")
                if returned is None or stored is None or \
                        not np.array_equal(np.asarray(returned, dtype=np.float64).ravel(), np.asarray(stored, dtype=np.float64).ravel()):
                    attribute = "output" if what == "loss" else "gradInput"
                    return False, M.criterion_stored_differs(name, attribute, stored, returned, label)
        return True, M.CRITERION_CONTRACT_OK
    return judge


def judge_nll_zero(version):
    name = version.class_name("ClassNLLCriterion")

    def judge(got, expected):
        for what in ("loss", "gradInput"):
            value = got.get(what)
            if value is None or as_array(value).dtype.kind not in "fiu" or not np.all(np.isfinite(as_array(value))):
                return False, M.nll_not_finite(name, what, value)
        if float(np.asarray(got["loss"]).ravel()[0]) <= 0:
            return False, M.nll_not_positive(name, got["loss"])
        return True, M.NLL_ZERO_OK
    return judge


# Optimizers.


def judge_optimizer(name, version):
    """sgd_momentum: the reference's numbers. adam_optimizer: either place of eps (see expected.expect_adam)."""
    shown = version.class_name(name)

    def judge(got, expected):
        variants = sorted({key.split(".")[0] for key in expected if not key.startswith("step")}) or [""]
        best = None
        for variant in variants:
            prefix = f"{variant}." if variant else ""
            for key in sorted(k for k in expected if k.startswith(prefix) and k[len(prefix):].startswith("step")):
                step, param = key[len(prefix):].split(".")
                value = got.get(f"{step}.{param}")
                if value is None or as_array(value).shape != expected[key].shape:
                    return False, M.optimizer_malformed(shown, int(step[4:]) + 1, param[5:], value)
                err = relative_error(value, expected[key])
                if err > 1e-9:
                    best = best or (step, err, param, key, value)   # (the first variant's: the course's formula)
                    break
            else:
                return True, M.OPTIMIZER_OK
        step, err, param, key, value = best
        steps = [got.get(f"step{i}.{param}") for i in range(3)]
        unchanged = all(v is not None and np.array_equal(as_array(v), as_array(steps[0])) for v in steps)
        return False, M.optimizer_mismatch(shown, OPTIMIZER_CONFIG[name], int(step[4:]) + 1, param[5:], err,
                                           expected[key], value, unchanged)
    return judge


# MaxPool2d's ties.


def judge_maxpool_ties(version):
    """On a tie the kit's text (like argmax and PyTorch) gives the gradient to the first maximum in row-major
    order; a version whose text does not say which accepts any single maximum of the tie."""
    name = version.class_name("MaxPool2d")

    def judge(got, expected):
        want, value, x = expected["gradInput"], got.get("gradInput"), expected["input"]
        problem = compare(version, "MaxPool2d", "gradInput on blocks with tied maxima", value, want, "case0", input=x,
                          grad_output=expected["gradOutput"], method=f"{name}.updateGradInput",
                          label=f"{name}(2) on an input of shape {x.shape}")
        if problem is None:
            return True, M.TIES_OK
        one_max = value is not None and as_array(value).shape == want.shape and _one_maximum_per_block(x, as_array(value), want)
        if one_max and not version.maxpool_first_tie:
            return True, M.TIES_ANY_OK
        return False, problem + (M.TIES_FIRST_HINT if one_max else "")
    return judge


def _one_maximum_per_block(x, got, want, k=2):
    """Every k x k block's gradient sits on a single one of its maxima and equals the block's gradOutput."""
    n, c, h, w = x.shape

    def blocks(a):
        return a.reshape(n, c, h // k, k, w // k, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // k, w // k, k * k)
    xb, gb, wb = blocks(x), blocks(got), blocks(want)
    single = np.all((gb != 0).sum(axis=-1) <= 1)
    on_max = np.all((gb == 0) | (xb == xb.max(axis=-1, keepdims=True)))
    return bool(single and on_max and np.allclose(gb.sum(axis=-1), wb.sum(axis=-1)))


# ------------------------------------------------------------------------------------------ verdicts


@dataclass
class Result:
    target: str
    name: str
    passed: bool
    points: float
    max_points: float
    message: str
    defined_as: str = ""            # the submission's own name of the target; "" when it defines none
    unimplemented: bool = False     # the class is missing, or a stub (returned None / raised NotImplementedError)

    def as_dict(self):
        # defined_as is null for a target the submission does not define: a TA's script can tell
        # "your ClassNLLCriterionUnstable" from "nothing of that name in your notebook".
        return {"target": self.target, "defined_as": self.defined_as or None, "name": self.name,
                "passed": bool(self.passed), "points": self.points, "max_points": self.max_points,
                "message": self.message}


def verdict(check, payload, expected, version=None, where=None):
    """A Result from the kernel's payload (see run_probe) and the expected values.

    `where(name)` says where the code of a missing class might be (the grader reads the notebook).
    """
    from grader.selfcheck.versions import KIT
    version = version or KIT
    defined_as = version.class_name(check.target)

    def result(passed, message, unimplemented=False):
        return Result(check.target, check.name, bool(passed), check.points if passed else 0, check.points, message,
                      defined_as, unimplemented)

    if payload is None:
        return result(False, M.NO_RESULT)
    if not payload.get("ok"):
        if payload.get("missing"):
            name = str(payload["missing"])
            return Result(check.target, check.name, False, 0, check.points,
                          M.missing(name, str(payload.get("kind", "class")), where(name) if where else ""), "", True)
        error = str(payload.get("error", "unknown error"))[:500]
        if payload.get("stub"):
            return result(False, M.stub(defined_as, error), True)
        if payload.get("not_implemented"):
            return result(False, M.not_implemented(defined_as, error), True)
        return result(False, M.raised(defined_as, error, str(payload.get("call", ""))))
    try:
        got = decode(payload.get("values"))
        passed, message = check.judge(got, expected)
    except Exception as exc:
        passed, message = False, M.unjudgeable(exc)
    return result(passed, message)
