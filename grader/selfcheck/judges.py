"""The judges: compare what came back from the kernel with the expected values, in the grader's own process.

Where the homework leaves a choice (Dropout's random mask, ...) the judge checks the documented property
instead of the reference's numbers.
"""
from dataclasses import dataclass

import numpy as np

from grader.selfcheck.cases import BMS_ALPHA, DROPOUT_P, DROPOUT_SHAPE, LAYER_CASES, OPTIMIZER_CONFIG
from grader.selfcheck.gradcheck import ABS_TOLERANCE, TOLERANCE, relative_error
from grader.selfcheck.messages import case_label, show
from grader.selfcheck.wire import decode

def as_array(value):
    return value if isinstance(value, np.ndarray) else np.asarray(value)


def compare(target, what, got, expected, key, tolerance=TOLERANCE, input=None):
    """None if `got` matches `expected`, else a message that teaches."""
    where = f"{target} {what} ({case_label(target, key)})"
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


def judge_forward(target):
    def judge(got, expected):
        for key in sorted(expected):
            problem = compare(target, "forward output", got.get(key), expected[key], key)
            if problem:
                return False, problem
        return True, f"output matches on {len(expected)} inputs"
    return judge


def judge_gradients(target, keys):
    """keys: which entries to compare: 'gradInput' or the parameter paths."""
    def judge(got, expected):
        n = 0
        for key in sorted(expected):
            case, _, what = key.partition(".")
            if what not in keys:
                continue
            label = "gradInput" if what == "gradInput" else f"d loss / d {what} (gradient of {what})"
            problem = compare(target, label + " vs finite differences", got.get(key), expected[key], key,
                              input=expected.get(f"{case}.input"))
            if problem:
                return False, problem
            n += 1
        return True, f"{n} gradients agree with finite differences (relative error < {TOLERANCE:.0e})"
    return judge


def judge_contract(target):
    def judge(got, expected):
        for key in sorted(expected):
            case, _, what = key.partition(".")
            label = case_label(target, key)
            if what == "input":
                after = got.get(f"{case}.input_after")
                if after is None or as_array(after).shape != expected[key].shape or not np.array_equal(as_array(after), expected[key]):
                    return False, (f"{target} modified its input in place ({label}): never write into `input`; "
                                   "the previous layer still owns it.")
                for name in ("output", "gradInput"):
                    returned, stored = got.get(f"{case}.returned_{name}"), got.get(f"{case}.stored_{name}")
                    if returned is None or stored is None:
                        return False, f"{target}: {'forward' if name == 'output' else 'backward'} returned or stored None ({label}); it must return AND store self.{name}."
                    returned, stored = as_array(returned), as_array(stored)
                    if returned.shape != stored.shape or not np.array_equal(returned, stored, equal_nan=returned.dtype.kind == "f"):
                        return False, f"{target}: self.{name} differs from what {'forward' if name == 'output' else 'backward'} returned ({label}); store it and return it."
            if what == "gradOutput":
                after = got.get(f"{case}.gradOutput_after")
                if after is None or as_array(after).shape != expected[key].shape or not np.array_equal(as_array(after), expected[key]):
                    return False, f"{target} modified gradOutput in place ({label}): the next layer still owns it."
        return True, "forward/backward return and store output/gradInput, and leave input and gradOutput unchanged"
    return judge


def judge_accumulate(target):
    def judge(got, expected):
        for key in sorted(expected):
            case, path_stage = key.split(".", 1)
            path, stage = path_stage.rsplit(".", 1)
            value = got.get(key)
            if stage == "twice":
                problem = compare(target, f"d loss / d {path} after two backward passes", value, expected[key], key)
                if problem:
                    once = got.get(f"{case}.{path}.once")
                    hint = ""
                    if once is not None and value is not None and as_array(once).shape == as_array(value).shape \
                            and np.allclose(as_array(once), as_array(value)):
                        hint = " The second backward replaced the gradient instead of adding to it: use += in accGradParameters."
                    return False, problem + hint
            else:
                if value is None or np.any(as_array(value) != 0):
                    return False, f"{target}: zeroGradParameters() left {path}'s gradient non-zero: {show(value)}"
        return True, "parameter gradients accumulate over backward calls and zeroGradParameters() resets them"
    return judge


def judge_dtype(target):
    def judge(got, expected):
        for key in sorted(expected):
            label = case_label(target, key)
            for param_dtype in ("float32", "float64"):
                prefix = f"{key}.{param_dtype}"
                params = f"{param_dtype} parameters" if any(c.params for c in LAYER_CASES[target]) else "no parameters"
                for name in ("output", "gradInput"):
                    dtype = got.get(f"{prefix}.{name}_dtype")
                    if str(dtype) != "float32":
                        return False, (f"{target}: with {params} and a float32 input, {name} is {dtype} "
                                       f"({label}); keep the input's dtype (cast parameters with .astype(input.dtype)).")
                problem = compare(target, f"forward output in float32 ({params})", got.get(f"{prefix}.output"),
                                  expected[key], key, tolerance=1e-4)
                if problem:
                    return False, problem
        return True, "a float32 input gives a float32 output and gradInput"
    return judge


def judge_stable(target):
    def judge(got, expected):
        for name in ("output", "gradInput"):
            value = got.get(name)
            if value is None or as_array(value).dtype.kind != "f" or not np.all(np.isfinite(as_array(value))):
                return False, (f"{target} on logits of magnitude 800: {name} has inf or nan ({show(value)}); "
                               "subtract the row maximum before exp.")
            err = relative_error(value, expected[name])
            if err > 1e-6:
                return False, (f"{target} on logits of magnitude 800: {name} has relative error {err:.1e}; "
                               f"expected {show(expected[name])}, got {show(value)}.")
        return True, "finite and exact for logits of magnitude 800"
    return judge


def judge_large_inputs(target):
    def judge(got, expected):
        for name in ("output", "gradInput"):
            value = got.get(name)
            if value is None or as_array(value).dtype.kind != "f" or not np.all(np.isfinite(as_array(value))):
                return False, (f"{target} on inputs [-800, -50, -0.001, 0.5, 50, 800]: {name} is {show(value)}, "
                               f"expected {show(expected[name])}: avoid exp of a large positive number.")
            err = relative_error(value, expected[name])
            if err > 1e-6:
                return False, (f"{target} on inputs [-800, ..., 800]: {name} has relative error {err:.1e}; "
                               f"expected {show(expected[name])}, got {show(value)}.")
        return True, "finite and exact for inputs of magnitude 800"
    return judge


def _dropout_output(got, expected):
    y = got.get("output")
    if y is None or as_array(y).shape != expected["input"].shape or as_array(y).dtype.kind != "f":
        return None, f"Dropout({DROPOUT_P}).forward on a {DROPOUT_SHAPE} input returned {show(y)}"
    return as_array(y).astype(np.float64), None


def judge_dropout_fraction(got, expected):
    y, problem = _dropout_output(got, expected)
    if problem:
        return False, problem
    kept = float(np.mean(y != 0))
    sigma = np.sqrt(DROPOUT_P * (1 - DROPOUT_P) / y.size)
    if abs(kept - (1 - DROPOUT_P)) > 6 * sigma:
        return False, (f"Dropout(p={DROPOUT_P}) in training kept {kept:.3f} of the units; expected about "
                       f"{1 - DROPOUT_P:.3f} (p is the probability of zeroing a unit).")
    return True, f"kept fraction {kept:.3f} (expected {1 - DROPOUT_P:.3f} +- {6 * sigma:.3f})"


def judge_dropout_scale(got, expected):
    y, problem = _dropout_output(got, expected)
    if problem:
        return False, problem
    x = expected["input"]
    kept = y != 0
    if not kept.any():
        return False, "Dropout in training zeroed every unit"
    ratio = y[kept] / x[kept]
    want = 1 / (1 - DROPOUT_P)
    if not np.allclose(ratio, want, rtol=1e-6):
        return False, (f"Dropout(p={DROPOUT_P}) in training: kept units are multiplied by {show(np.unique(np.round(ratio, 4))[:5])}, "
                       f"expected 1/(1-p) = {want:.4f} (inverted dropout: no rescaling at test time).")
    return True, "kept units scaled by 1/(1-p), the others exactly 0"


def judge_dropout_mask_reuse(got, expected):
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
                       "gradOutput * mask / (1-p) with the mask of the last forward; store the mask in forward.")
    y2 = got.get("second_output")
    if y2 is None or np.array_equal(as_array(y2) != 0, y != 0):
        return False, "Dropout drew the same mask on two training forwards: draw a fresh mask on every forward."
    return True, "backward multiplies by the mask of the last forward; a fresh mask every forward"


def judge_dropout_eval(got, expected):
    for name, want in (("output", expected["input"]), ("gradInput", expected["gradOutput"])):
        value = got.get(name)
        if value is None or as_array(value).shape != want.shape or not np.allclose(as_array(value), want, rtol=1e-12, atol=0):
            return False, (f"Dropout in evaluation must be the identity: {name} should equal the "
                           f"{'input' if name == 'output' else 'gradOutput'}; got {show(value)}.")
    return True, "identity in evaluation (forward and backward)"


def judge_bms_running_mean(got, expected):
    whole = got.get("whole")
    if whole is None or as_array(whole).shape != expected["whole"].shape:
        return False, f"BatchMeanSubtraction in evaluation returned {show(whole)}"
    err = relative_error(whole, expected["whole"])
    if err > 1e-6:
        used = (expected["test"] - as_array(whole)).mean(axis=0)
        return False, (f"BatchMeanSubtraction({BMS_ALPHA}) in evaluation, after training batches with means m1 then m2, "
                       f"must subtract the running mean alpha*m1 + (1-alpha)*m2 = {show(expected['running'])}; "
                       f"it subtracted {show(used)} (relative error {err:.1e}).")
    gi = got.get("gradInput")
    if gi is None or relative_error(gi, expected["gradOutput"]) > 1e-9:
        return False, "BatchMeanSubtraction in evaluation: gradInput must equal gradOutput (the running mean is a constant)."
    return True, "evaluation subtracts the running mean; gradInput = gradOutput"


def judge_bms_independent(got, expected):
    whole, alone = got.get("whole"), got.get("alone")
    if whole is None or alone is None or as_array(alone).shape != (1, expected["whole"].shape[1]):
        return False, f"BatchMeanSubtraction in evaluation on one row returned {show(alone)}"
    if relative_error(as_array(alone)[0], as_array(whole)[0]) > 1e-9:
        return False, ("BatchMeanSubtraction in evaluation: one image's output depends on the rest of its batch "
                       f"(alone {show(alone)}, in the batch {show(as_array(whole)[:1])}); use the running mean, not the batch's.")
    return True, "an image's output in evaluation does not depend on its batch"


def judge_criterion_loss(target):
    def judge(got, expected):
        for key in sorted(k for k in expected if k.endswith(".loss")):
            value = got.get(key)
            if value is not None and as_array(value).size == 1 and as_array(value).ndim > 0:
                value = as_array(value).reshape(())
            problem = compare(target, "loss", value, expected[key], key,
                              input=expected[key.replace("loss", "input")])
            if problem:
                return False, problem
        return True, "the loss matches"
    return judge


def judge_criterion_contract(target):
    def judge(got, expected):
        for key in sorted(k for k in expected if k.endswith(".input")):
            case = key.split(".")[0]
            label = case_label(target, key)
            for name, want in (("input", expected[key]), ("target", expected[f"{case}.target"])):
                after = got.get(f"{case}.{name}_after")
                if after is None or not np.array_equal(as_array(after), want):
                    return False, f"{target} modified its {name} in place ({label})."
            for name in ("loss", "gradInput"):
                returned, stored = got.get(f"{case}.{name}"), got.get(f"{case}.stored_{name}")
                if returned is None or stored is None or \
                        not np.array_equal(np.asarray(returned, dtype=np.float64).ravel(), np.asarray(stored, dtype=np.float64).ravel()):
                    attribute = "output" if name == "loss" else "gradInput"
                    return False, f"{target}: self.{attribute} is {show(stored)}, but the call returned {show(returned)} ({label}); store what you return."
        return True, "forward/backward return and store output/gradInput, and leave input and target unchanged"
    return judge


def judge_nll_zero(got, expected):
    for name in ("loss", "gradInput"):
        value = got.get(name)
        if value is None or as_array(value).dtype.kind not in "fiu" or not np.all(np.isfinite(as_array(value))):
            return False, (f"ClassNLLCriterion with probability 0 for the true class: {name} is {show(value)}; "
                           "clip the probabilities to [EPS, 1 - EPS] before the log and the division.")
    if float(np.asarray(got["loss"]).ravel()[0]) <= 0:
        return False, f"ClassNLLCriterion with probability 0 for the true class: the loss {show(got['loss'])} should be large and positive"
    return True, "finite loss and gradient when a probability is exactly 0"


def judge_optimizer(name):
    def judge(got, expected):
        for key in sorted(expected):
            step, param = key.split(".")
            value = got.get(key)
            if value is None or as_array(value).shape != expected[key].shape:
                return False, f"{name}: after {step[4:]} steps parameter {param[5:]} is {show(value)}"
            err = relative_error(value, expected[key])
            if err > 1e-9:
                hint = " Update the arrays in place (p -= ...), so that the network sees the change." \
                    if step == "step0" else ""
                return False, (f"{name} ({OPTIMIZER_CONFIG[name]}): after step {int(step[4:]) + 1}, parameter array "
                               f"{param[5:]} of shape {expected[key].shape} has relative error {err:.1e}; expected "
                               f"{show(expected[key])}, got {show(value)}.{hint}")
        return True, "3 steps on nested parameter lists match the update rule"
    return judge


@dataclass
class Result:
    target: str
    name: str
    passed: bool
    points: float
    max_points: float
    message: str

    def as_dict(self):
        return {"target": self.target, "name": self.name, "passed": bool(self.passed), "points": self.points,
                "max_points": self.max_points, "message": self.message}


def verdict(check, payload, expected):
    """A Result from the kernel's payload (see run_probe) and the expected values."""
    if payload is None:
        return Result(check.target, check.name, False, 0, check.points, "no result came back from the kernel")
    if not payload.get("ok"):
        error = str(payload.get("error", "unknown error"))[:500]
        if payload.get("not_implemented"):
            message = f"{check.target} is not implemented yet ({error})"
        else:
            message = f"{check.target} raised {error}"
        return Result(check.target, check.name, False, 0, check.points, message)
    try:
        got = decode(payload.get("values"))
        passed, message = check.judge(got, expected)
    except Exception as exc:
        passed, message = False, f"could not judge the values that came back ({type(exc).__name__}: {exc})"
    return Result(check.target, check.name, bool(passed), check.points if passed else 0, check.points, message)
