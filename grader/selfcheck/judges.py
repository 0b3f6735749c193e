"""The judges: compare what came back from the kernel with the expected values, in the grader's own process.

Each judge is built for one assignment version (:mod:`.versions`) and names the submission's own class.
Where the homework leaves a choice (Dropout's random mask, where running statistics start, where Adam's
eps goes) the judge checks the documented property instead of the reference's numbers.
"""
from dataclasses import dataclass

import numpy as np

from grader.selfcheck import messages as M
from grader.selfcheck.cases import DROPOUT_P, LARGE_INPUT, OPTIMIZER_CONFIG
from grader.selfcheck.gradcheck import ABS_TOLERANCE, TOLERANCE, relative_error
from grader.selfcheck.messages import case_label, show
from grader.selfcheck.wire import decode


def as_array(value):
    return value if isinstance(value, np.ndarray) else np.asarray(value)


def compare(version, target, what, got, expected, key, tolerance=TOLERANCE, input=None):
    """None if `got` matches `expected`, else a message that teaches."""
    where = f"{version.class_name(target)} {what} ({case_label(version, target, key)})"
    if got is None:
        return f"{where}: nothing came back (None)"
    got = as_array(got)
    expected = as_array(expected)
    if got.dtype.kind not in "biuf":
        return f"{where}: expected a numeric array, got {show(got)}"
    if got.shape != expected.shape:
        return f"{where}: shape {got.shape}, expected {expected.shape}"
    if not np.all(np.isfinite(got)):
        return f"{where}: contains inf or nan: {show(got)}"
    err = relative_error(got, expected)
    if err < tolerance or np.linalg.norm(got.astype(np.float64) - expected) < ABS_TOLERANCE:
        return None
    tiny = f" On input {show(input)}" if input is not None and np.size(input) <= 12 else ""
    return (f"{where}: relative error {err:.1e} (tolerance {tolerance:.0e}), shape {got.shape}.{tiny}"
            f" Expected {show(expected)}, got {show(got)}.")


def _edge(version, target, what, got, expected, kinks=False):
    """The values on 0 and +-800 must be finite; they must match where the function is differentiable."""
    name = version.class_name(target)
    if got is None or as_array(got).dtype.kind not in "biuf" or as_array(got).shape != as_array(expected).shape:
        return f"{name} {what} on the input {show(M.EDGE)}: got {show(got)}"
    got = as_array(got).astype(np.float64)
    if not np.all(np.isfinite(got)):
        return (f"{name} {what} on the input {show(M.EDGE)} (exact zeros and +-800) has inf or nan: {show(got)}; "
                "avoid dividing by the input or exp of a large positive number.")
    smooth = M.EDGE != 0 if kinks else np.ones(M.EDGE.shape, bool)
    err = relative_error(got[smooth], as_array(expected)[smooth])
    if err > 1e-6:
        return (f"{name} {what} on the input {show(M.EDGE)}: relative error {err:.1e}; "
                f"expected {show(expected)}, got {show(got)}.")
    return None


def judge_forward(target, version):
    def judge(got, expected):
        for key in sorted(expected):
            problem = _edge(version, target, "forward output", got.get(key), expected[key]) if key == "edge" else \
                compare(version, target, "forward output", got.get(key), expected[key], key)
            if problem:
                return False, problem
        return True, f"output matches on {len(expected)} inputs"
    return judge


def judge_gradients(target, keys, version):
    """keys: which entries to compare: 'gradInput' or the parameter paths."""
    def judge(got, expected):
        n = 0
        for key in sorted(expected):
            case, _, what = key.partition(".")
            if what not in keys:
                continue
            if case == "edge":
                problem = _edge(version, target, "gradInput", got.get(key), expected[key], kinks=True)
            else:
                label = "gradInput" if what == "gradInput" else f"d loss / d {what} (gradient of {what})"
                problem = compare(version, target, label + " vs finite differences", got.get(key), expected[key], key,
                                  input=expected.get(f"{case}.input"))
            if problem:
                return False, problem
            n += 1
        return True, f"{n} gradients agree with finite differences (relative error < {TOLERANCE:.0e})"
    return judge


def judge_contract(target, version):
    name = version.class_name(target)

    def judge(got, expected):
        for key in sorted(expected):
            case, _, what = key.partition(".")
            label = case_label(version, target, key)
            if what == "input":
                after = got.get(f"{case}.input_after")
                if after is None or as_array(after).shape != expected[key].shape or not np.array_equal(as_array(after), expected[key]):
                    return False, (f"{name} modified its input in place ({label}): never write into `input`; "
                                   "the previous layer still owns it.")
                for attribute in ("output", "gradInput"):
                    call = "forward" if attribute == "output" else "backward"
                    returned, stored = got.get(f"{case}.returned_{attribute}"), got.get(f"{case}.stored_{attribute}")
                    if returned is None or stored is None:
                        return False, (f"{name}: {call} returned {show(returned)} and stored self.{attribute} = "
                                       f"{show(stored)} ({label}); it must return AND store self.{attribute}.")
                    returned, stored = as_array(returned), as_array(stored)
                    if returned.shape != stored.shape or not np.array_equal(returned, stored, equal_nan=returned.dtype.kind == "f"):
                        return False, f"{name}: self.{attribute} differs from what {call} returned ({label}); store it and return it."
            if what == "gradOutput":
                after = got.get(f"{case}.gradOutput_after")
                if after is None or as_array(after).shape != expected[key].shape or not np.array_equal(as_array(after), expected[key]):
                    return False, f"{name} modified gradOutput in place ({label}): the next layer still owns it."
        return True, "forward/backward return and store output/gradInput, and leave input and gradOutput unchanged"
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
                    return False, f"{name}: zeroGradParameters() left {path}'s gradient non-zero: {show(value)}"
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
        if version.accumulate:
            return True, "parameter gradients accumulate over backward calls and zeroGradParameters() resets them"
        return True, "zeroGradParameters() resets the gradients; after it, a backward gives the right gradients"
    return judge


def judge_dtype(target, version, has_params):
    """Kit: a float32 input gives a float32 output and gradInput (its text asks for it). Other versions:
    a float32 input gives the right values; a float64 result is a note, not a lost point."""
    name = version.class_name(target)

    def judge(got, expected):
        notes = []
        for key in sorted(expected):
            label = case_label(version, target, key)
            for param_dtype in ("float32", "float64"):
                prefix = f"{key}.{param_dtype}"
                params = f"{param_dtype} parameters" if has_params else "no parameters"
                for attribute in ("output", "gradInput"):
                    dtype = str(got.get(f"{prefix}.{attribute}_dtype"))
                    if dtype != "float32":
                        if version.float32:
                            return False, (f"{name}: with {params} and a float32 input, {attribute} is {dtype} "
                                           f"({label}); keep the input's dtype (cast parameters with .astype(input.dtype)).")
                        notes.append(f"{attribute} is {dtype}")
                problem = compare(version, target, f"forward output on a float32 input ({params})",
                                  got.get(f"{prefix}.output"), expected[key], key, tolerance=1e-4)
                if problem:
                    return False, problem
        if version.float32:
            return True, "a float32 input gives a float32 output and gradInput"
        return True, "a float32 input gives the right values" + (M.float32_note(sorted(set(notes))) if notes else "")
    return judge


def judge_stable(target, version):
    name = version.class_name(target)

    def judge(got, expected):
        for attribute in ("output", "gradInput"):
            value = got.get(attribute)
            if value is None or as_array(value).dtype.kind != "f" or not np.all(np.isfinite(as_array(value))):
                return False, (f"{name} on logits of magnitude 800: {attribute} has inf or nan ({show(value)}); "
                               "subtract the row maximum before exp.")
            err = relative_error(value, expected[attribute])
            if err > 1e-6:
                return False, (f"{name} on logits of magnitude 800: {attribute} has relative error {err:.1e}; "
                               f"expected {show(expected[attribute])}, got {show(value)}.")
        return True, "finite and exact for logits of magnitude 800"
    return judge


def judge_large_inputs(target, version):
    name = version.class_name(target)

    def judge(got, expected):
        for attribute in ("output", "gradInput"):
            value = got.get(attribute)
            if value is None or as_array(value).dtype.kind != "f" or not np.all(np.isfinite(as_array(value))):
                return False, (f"{name} on inputs {show(LARGE_INPUT)}: {attribute} is {show(value)}, "
                               f"expected {show(expected[attribute])}: avoid exp of a large positive number.")
            err = relative_error(value, expected[attribute])
            if err > 1e-6:
                return False, (f"{name} on inputs {show(LARGE_INPUT)}: {attribute} has relative error {err:.1e}; "
                               f"expected {show(expected[attribute])}, got {show(value)}.")
        return True, "finite and exact for inputs 0 and of magnitude 800"
    return judge


# Dropout: properties, not the reference's random numbers. 2017: p keeps a unit and the text does not rescale
# (1/p accepted too); later: p zeroes a unit and the kept ones are scaled by 1/(1-p).


def _dropout_output(got, expected):
    y = got.get("output")
    if y is None or as_array(y).shape != expected["input"].shape or as_array(y).dtype.kind != "f":
        return None, f"Dropout({DROPOUT_P}).forward on a {expected['input'].shape} input returned {show(y)}"
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
            meaning = "the probability of keeping a unit" if version.dropout_keeps else "the probability of zeroing a unit"
            return False, (f"Dropout(p={DROPOUT_P}) in training kept {kept:.3f} of the units; expected about "
                           f"{want:.3f} (in {version.title}, p is {meaning}).")
        return True, f"kept fraction {kept:.3f} (expected {want:.3f} +- {6 * sigma:.3f})"
    return judge


def judge_dropout_scale(version):
    def judge(got, expected):
        y, problem = _dropout_output(got, expected)
        if problem:
            return False, problem
        x = expected["input"]
        kept = y != 0
        if not kept.any():
            return False, "Dropout in training zeroed every unit"
        ratio = y[kept] / x[kept]
        wants = (1.0, 1 / DROPOUT_P) if version.dropout_keeps else (1 / (1 - DROPOUT_P),)
        if not any(np.allclose(ratio, want, rtol=1e-6) for want in wants):
            expected_text = "1 (the text multiplies by the mask; 1/p is accepted too)" if version.dropout_keeps \
                else f"1/(1-p) = {wants[0]:.4f} (inverted dropout: no rescaling at test time)"
            return False, (f"Dropout(p={DROPOUT_P}) in training: kept units are multiplied by "
                           f"{show(np.unique(np.round(ratio, 4))[:5])}, expected {expected_text}.")
        return True, "kept units scaled as the text says, the others exactly 0"
    return judge


def judge_dropout_mask_reuse(version):
    def judge(got, expected):
        y, problem = _dropout_output(got, expected)
        if problem:
            return False, problem
        gi = got.get("gradInput")
        want = expected["gradOutput"] * (y / expected["input"])  # the forward's own mask, applied to gradOutput
        if gi is None or as_array(gi).shape != want.shape:
            return False, f"Dropout backward returned {show(gi)}, expected an array of shape {want.shape}"
        err = relative_error(gi, want)
        if err > 1e-6:
            return False, (f"Dropout backward does not reuse the forward's mask: relative error {err:.1e} against "
                           "gradOutput times the mask (and scale) of the last forward; store the mask in forward.")
        y2 = got.get("second_output")
        if y2 is None or np.array_equal(as_array(y2) != 0, y != 0):
            return False, "Dropout drew the same mask on two training forwards: draw a fresh mask on every forward."
        return True, "backward multiplies by the mask of the last forward; a fresh mask every forward"
    return judge


def judge_dropout_eval(got, expected):
    for name, want in (("output", expected["input"]), ("gradInput", expected["gradOutput"])):
        value = got.get(name)
        if value is None or as_array(value).shape != want.shape or not np.allclose(as_array(value), want, rtol=1e-12, atol=0):
            return False, (f"Dropout in evaluation must be the identity: {name} should equal the "
                           f"{'input' if name == 'output' else 'gradOutput'}; got {show(value)}.")
    return True, "identity in evaluation (forward and backward)"


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
            return None, f"{name} in evaluation on a {test.shape} batch returned {show(value)}"
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
        a, first, second, test = float(expected["alpha"]), expected["first"], expected["second"], expected["test"]
        fits = [_affine(test, y) for y in outputs]
        for (shift, scale, residual), step in zip(fits, ("first", "second")):
            if residual > 1e-6 or (not normalizes and not np.allclose(scale, 1, rtol=1e-6)):
                return False, (f"{name}({a}) in evaluation after the {step} training batch: the output is not "
                               + ("(input - running mean) / sqrt(running variance + EPS)" if normalizes
                                  else "input - running mean") + " with fixed statistics per feature.")
        (m1, s1, _), (m2, s2, _) = fits
        want = a * m1 + (1 - a) * second.mean(axis=0)
        if relative_error(m2, want) > 1e-6:
            return False, (f"{name}({a}): after a training batch with mean {show(second.mean(axis=0))}, the running mean "
                           f"went from {show(m1)} to {show(m2)}; expected alpha * old + (1 - alpha) * batch mean = "
                           f"{show(want)}.")
        if normalizes:
            inv1, inv2 = 1 / s1 ** 2, 1 / s2 ** 2   # running variance + EPS
            options = [a * inv1 + (1 - a) * second.var(axis=0, ddof=ddof) for ddof in (0, 1)]
            if min(relative_error(inv2, want_var) for want_var in options) > 1e-3:
                return False, (f"{name}({a}): after a training batch with variance {show(second.var(axis=0))}, the "
                               f"running variance went from {show(inv1)} to {show(inv2)} (EPS included); expected "
                               f"alpha * old + (1 - alpha) * batch variance = {show(options[0])}.")
        gi = got.get("gradInput")
        want_gi = expected["gradOutput"] * s1
        if gi is None or as_array(gi).shape != want_gi.shape or relative_error(gi, want_gi) > 1e-6:
            return False, (f"{name} in evaluation: gradInput must be gradOutput" + (" / sqrt(running variance + EPS)"
                           if normalizes else "") + f" (the running statistics are constants); got {show(gi)}.")
        return True, "running statistics move as alpha * old + (1 - alpha) * batch's; evaluation uses them"
    return judge


def judge_running_independent(target, version):
    name = version.class_name(target)

    def judge(got, expected):
        whole, alone = got.get("eval0"), got.get("alone")
        if whole is None or alone is None or as_array(alone).shape != (1, expected["test"].shape[1]):
            return False, f"{name} in evaluation on one row returned {show(alone)}"
        if relative_error(as_array(alone)[0], as_array(whole)[0]) > 1e-9:
            return False, (f"{name} in evaluation: one image's output depends on the rest of its batch "
                           f"(alone {show(alone)}, in the batch {show(as_array(whole)[:1])}); use the running "
                           "statistics, not the batch's.")
        return True, "an image's output in evaluation does not depend on its batch"
    return judge


# Criteria.


def judge_criterion_loss(target, version):
    def judge(got, expected):
        for key in sorted(k for k in expected if k.endswith(".loss")):
            value = got.get(key)
            if value is not None and as_array(value).size == 1 and as_array(value).ndim > 0:
                value = as_array(value).reshape(())
            problem = compare(version, target, "loss", value, expected[key], key,
                              input=expected[key.replace("loss", "input")])
            if problem:
                return False, problem
        return True, "the loss matches"
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
                    return False, f"{name} modified its {what} in place ({label})."
            for what in ("loss", "gradInput"):
                returned, stored = got.get(f"{case}.{what}"), got.get(f"{case}.stored_{what}")
                if returned is None or stored is None or \
                        not np.array_equal(np.asarray(returned, dtype=np.float64).ravel(), np.asarray(stored, dtype=np.float64).ravel()):
                    attribute = "output" if what == "loss" else "gradInput"
                    return False, f"{name}: self.{attribute} is {show(stored)}, but the call returned {show(returned)} ({label}); store what you return."
        return True, "forward/backward return and store output/gradInput, and leave input and target unchanged"
    return judge


def judge_nll_zero(version):
    name = version.class_name("ClassNLLCriterion")

    def judge(got, expected):
        for what in ("loss", "gradInput"):
            value = got.get(what)
            if value is None or as_array(value).dtype.kind not in "fiu" or not np.all(np.isfinite(as_array(value))):
                return False, (f"{name} with probability 0 for the true class: {what} is {show(value)}; "
                               "clip the probabilities to [EPS, 1 - EPS] before the log and the division.")
        if float(np.asarray(got["loss"]).ravel()[0]) <= 0:
            return False, f"{name} with probability 0 for the true class: the loss {show(got['loss'])} should be large and positive"
        return True, "finite loss and gradient when a probability is exactly 0"
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
                    return False, f"{shown}: after {int(step[4:]) + 1} steps parameter {param[5:]} is {show(value)}"
                err = relative_error(value, expected[key])
                if err > 1e-9:
                    best = best or (step, err, param, key, value)   # (the first variant's: the course's formula)
                    break
            else:
                return True, "3 steps on nested parameter lists match the update rule"
        step, err, param, key, value = best
        hint = M.IN_PLACE_HINT if step == "step0" else ""
        return False, (f"{shown} ({OPTIMIZER_CONFIG[name]}): after step {int(step[4:]) + 1}, parameter array "
                       f"{param[5:]} of shape {expected[key].shape} has relative error {err:.1e}; expected "
                       f"{show(expected[key])}, got {show(value)}.{hint}")
    return judge


# ------------------------------------------------------------------------------------------ verdicts


@dataclass
class Result:
    target: str
    name: str
    passed: bool
    points: float
    max_points: float
    message: str
    defined_as: str = ""

    def as_dict(self):
        return {"target": self.target, "defined_as": self.defined_as or self.target, "name": self.name,
                "passed": bool(self.passed), "points": self.points, "max_points": self.max_points,
                "message": self.message}


def verdict(check, payload, expected, version=None, where=None):
    """A Result from the kernel's payload (see run_probe) and the expected values.

    `where(name)` says where the code of a missing class might be (the grader reads the notebook).
    """
    from grader.selfcheck.versions import KIT
    version = version or KIT
    defined_as = version.class_name(check.target)

    def result(passed, message):
        return Result(check.target, check.name, bool(passed), check.points if passed else 0, check.points, message,
                      defined_as)

    if payload is None:
        return result(False, M.NO_RESULT)
    if not payload.get("ok"):
        if payload.get("missing"):
            name = str(payload["missing"])
            return result(False, M.missing(name, str(payload.get("kind", "class")), where(name) if where else ""))
        error = str(payload.get("error", "unknown error"))[:500]
        if payload.get("stub"):
            return result(False, M.stub(defined_as, error))
        if payload.get("not_implemented"):
            return result(False, M.not_implemented(defined_as, error))
        return result(False, M.raised(defined_as, error, str(payload.get("call", ""))))
    try:
        got = decode(payload.get("values"))
        passed, message = check.judge(got, expected)
    except Exception as exc:
        passed, message = False, M.unjudgeable(exc)
    return result(passed, message)
