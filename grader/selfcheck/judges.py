"""The judges: compare what came back from the kernel with the expected values, in the grader's own process.

Each judge is built for one assignment version (:mod:`.versions`) and names the submission's own class.
Where the homework leaves a choice (Dropout's random mask, where running statistics start, where Adam's
eps goes) the judge checks the documented property instead of the reference's numbers. Here: the checks every
layer gets (forward, gradients, the module contract, accumulation, float32, stability) and :func:`verdict`;
the judges of one kind of module's own behaviour are in :mod:`.judges_special`.
"""
from dataclasses import dataclass

import numpy as np

from grader.selfcheck import messages as M
from grader.selfcheck.cases import CRITERION_CASES, EDGE_INPUT, judged_values
from grader.selfcheck.gradcheck import ABS_TOLERANCE, ANALYTIC_ABS, ANALYTIC_TOLERANCE, TOLERANCE, relative_error
from grader.selfcheck.messages import case_label, method_of
from grader.selfcheck.versions import KIT
from grader.selfcheck.wire import decode


def as_array(value):
    return value if isinstance(value, np.ndarray) else np.asarray(value)


def compare(version, target, what, got, expected, key, tolerance=TOLERANCE, input=None, grad_output=None,
            target_values=None, method=None, label=None, abs_tolerance=ABS_TOLERANCE, params=None):
    """None if `got` matches `expected`, else a message that teaches: which method, on what it was fed
    (input, gradOutput or target, and the parameters `params` the grader set; shown whole when small), what was
    expected and what came back."""
    where = M.where(method or version.class_name(target), what, label or case_label(version, target, key))
    fed = M.fed(params, input=input, gradOutput=grad_output, target=target_values)
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
    if err < tolerance or np.linalg.norm(got.astype(np.float64) - expected) < abs_tolerance:
        return None
    if tolerance < TOLERANCE and err < TOLERANCE:   # right to finite-difference precision only
        return M.not_analytic(where, err, tolerance)
    return M.mismatch(where, err, tolerance, got, expected, fed, input)


def criterion_changed(version, target, got, expected, case, label):
    """A message when a criterion's forward or backward wrote into the input or the target it was fed (a later call
    then sees other values: that, not the formula, is what to fix first); None when both stayed as fed."""
    for call, suffix in (("loss", "_after_forward"), ("gradInput", "_after")):
        for what in ("input", "target"):
            fed, after = expected.get(f"{case}.{what}"), got.get(f"{case}.{what}{suffix}")
            if fed is None or (suffix == "_after_forward" and after is None):
                continue
            if after is None or as_array(after).shape != np.shape(fed) or not np.array_equal(as_array(after), fed):
                return M.criterion_modified(method_of(version, target, call), what, label, fed, after)
    return None


def fed_to(key):
    """Whether an expected value's key names what a case fed the module ('case1.input', 'case1.param.W'), not a
    value to compare."""
    return key.endswith(".input") or ".param." in key


def smallest_first(expected, keys):
    """The keys in order of their case's input size: a failure is reported on the tiniest case that shows it,
    whose arrays the message can show whole."""
    def size(key):
        case = key.partition(".")[0]
        return np.size(expected.get(f"{case}.input", expected.get(case, 0))), key
    return sorted(keys, key=size)


OVERFLOW = 700.   # |x| from which exp(x) overflows float64 (at 709.8): the inputs of magnitude 800


def _overflowed(version, x, got):
    """Entries a version whose text never asks about overflow may leave inf or nan: at inputs of magnitude OVERFLOW
    or more (SoftPlus written log(1 + exp(x)), as the course's texts and tests allow); none where the text asks."""
    if version.overflow_asked:
        return np.zeros(np.shape(x), bool)
    return (np.abs(x) >= OVERFLOW) & ~np.isfinite(got)


def _edge(version, target, what, got, expected, kinks=False):
    """(problem, note): the values on 0 and +-800 must be finite (at +-800 only where the text asks); they must match
    where the function is differentiable."""
    name = method_of(version, target, "output" if what.startswith("forward") else "gradInput")
    if got is None or as_array(got).dtype.kind not in "biuf" or as_array(got).shape != as_array(expected).shape:
        return M.edge_malformed(name, what, got, expected), ""
    got = as_array(got).astype(np.float64)
    overflowed = _overflowed(version, EDGE_INPUT, got)
    if not np.all(np.isfinite(got) | overflowed):
        return M.edge_not_finite(name, what, got, expected), ""
    smooth = (EDGE_INPUT != 0 if kinks else np.ones(EDGE_INPUT.shape, bool)) & ~overflowed
    err = relative_error(got[smooth], as_array(expected)[smooth])
    if err > 1e-6:
        return M.edge_mismatch(name, what, err, expected, got), ""
    return None, M.overflow_note(name, what) if overflowed.any() else ""


def judge_forward(target, version):
    def judge(got, expected):
        outputs = smallest_first(expected, [k for k in expected if not fed_to(k)])
        note = ""
        for key in outputs:
            if key == "edge":
                problem, note = _edge(version, target, "forward output", got.get(key), expected[key])
            else:
                problem = compare(version, target, "forward output", got.get(key), expected[key], key,
                                  input=expected.get(f"{key}.input"), method=method_of(version, target, "output"),
                                  params=M.fed_params(expected, key))
            if problem:
                return False, problem
        return True, M.forward_ok(len(outputs)) + note
    return judge


def judge_gradients(target, keys, version):
    """keys: which entries to compare: 'gradInput' or the parameter paths."""
    def judge(got, expected):
        n, note = 0, ""
        for key in smallest_first(expected, expected):
            case, _, what = key.partition(".")
            if what not in keys:
                continue
            if case == "edge":
                problem, note = _edge(version, target, "gradInput", got.get(key), expected[key], kinks=True)
            elif target in CRITERION_CASES and (changed := criterion_changed(version, target, got, expected, case,
                                                                              case_label(version, target, key))):
                problem = changed
            else:
                label = "gradInput" if what == "gradInput" else f"d loss / d {what} (gradient of {what})"
                single = _float32_on_float64(got.get(key))
                lenient = single and not version.float32
                note = M.FLOAT32_GRADIENTS_NOTE if lenient else note
                problem = compare(version, target, label + " vs finite differences", got.get(key), expected[key], key,
                                  input=expected.get(f"{case}.input"), grad_output=expected.get(f"{case}.gradOutput"),
                                  target_values=expected.get(f"{case}.target"), method=method_of(version, target, what),
                                  tolerance=TOLERANCE if lenient else ANALYTIC_TOLERANCE,
                                  abs_tolerance=ABS_TOLERANCE if lenient else ANALYTIC_ABS,
                                  params=M.fed_params(expected, case))
                if problem and single and relative_error(got[key], expected[key]) < TOLERANCE:   # not a numerical one
                    problem = M.float32_gradient(M.where(method_of(version, target, what), label,
                                                         case_label(version, target, key)))
                if problem and what != "gradInput" and _close(got.get(key), np.zeros_like(expected[key])):
                    problem += M.never_accumulated(method_of(version, target, what), target == "Sequential",
                                                   _lone_zero_child(got, expected, case, what, keys))
                elif problem and target == "Sequential" and what == "gradInput":   # the gradient of a known mistake
                    problem += next((hint for variant, hint in M.SEQUENTIAL_HINTS.items()
                                     if _close(got.get(key), expected.get(f"{case}.gradInput_{variant}"))), "")
            if problem:
                return False, problem
            n += 1
        return True, M.gradients_ok(n, ANALYTIC_TOLERANCE) + note
    return judge


def _float32_on_float64(value):
    """A gradient a module computed in float32 on the grader's float64 input. Where the text says nothing of dtypes
    (the course's; their own tests feed float32 and compare to 1e-5) it is judged at float32's precision, the forward's
    tolerance, since analytic precision is float64's; the kit's text asks to keep the input's dtype."""
    return isinstance(value, np.ndarray) and value.dtype == np.float32


def _lone_zero_child(got, expected, case, path, paths, stage=""):
    """'modules[0]' when, of a container's children, only the one `path` belongs to got zero gradients (another
    child's are not zero: that child's backward alone was never called); None when every child's stayed 0.
    Values are keyed '{case}.{path}' (or '{case}.{path}.{stage}')."""
    def key(p):
        return f"{case}.{p}" + (f".{stage}" if stage else "")
    others = [p for p in paths if p.split(".")[0] != path.split(".")[0] and key(p) in expected]
    if not others or all(_close(got.get(key(p)), np.zeros_like(expected[key(p)])) for p in others):
        return None
    return path.rsplit(".", 1)[0]


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
                at_forward = got.get(f"{case}.output_at_forward")
                if attribute == "output" and at_forward is not None and not np.array_equal(
                        stored, as_array(at_forward), equal_nan=stored.dtype.kind == "f"):
                    return False, M.backward_changed_output(method_of(version, target, "gradInput"), label, want_input,
                                                            as_array(at_forward), stored)
            after = got.get(f"{case}.input_after")
            if after is None or as_array(after).shape != want_input.shape or not np.array_equal(as_array(after), want_input):
                at_forward = got.get(f"{case}.input_after_forward")
                by_forward = at_forward is None or as_array(at_forward).shape != want_input.shape or \
                    not np.array_equal(as_array(at_forward), want_input)
                return False, M.modified_input(method_of(version, target, "output" if by_forward else "gradInput"),
                                               label, want_input, after)
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
                problem = compare(version, target, f"d loss / d {path} after two backward passes", value, expected[key], key,
                                  method=method_of(version, target, path))
                if problem:
                    once, want_once = got.get(f"{case}.{path}.once"), expected[f"{case}.{path}.once"]
                    if _close(once, want_once) and _close(value, want_once):   # one pass right, the second replaced it
                        problem += M.ACCUMULATE_HINT
                    elif _close(once, np.zeros_like(want_once)) and _close(value, np.zeros_like(want_once)):
                        paths = {k.split(".", 1)[1].rsplit(".", 1)[0] for k in expected if k.startswith(f"{case}.")}
                        problem += M.never_accumulated(method_of(version, target, path), target == "Sequential",
                                                       _lone_zero_child(got, expected, case, path, paths, "twice"))
                    return False, problem
            elif stage == "once" and not version.accumulate:
                problem = compare(version, target, f"d loss / d {path} after zeroGradParameters() and a backward",
                                  got.get(f"{case}.{path}.after_zero"), expected[key], key,
                                  method=method_of(version, target, path))
                if problem:
                    return False, problem
        return True, M.ACCUMULATE_OK if version.accumulate else M.ASSIGN_OK
    return judge


def _close(got, want):
    """Whether `got` is an array of `want`'s shape and values (the judges' tolerance)."""
    if got is None or want is None or as_array(got).dtype.kind not in "biuf" or as_array(got).shape != as_array(want).shape:
        return False
    got = as_array(got).astype(np.float64)
    return bool(np.all(np.isfinite(got))) and (relative_error(got, want) < TOLERANCE
                                                 or np.linalg.norm(got - want) < ABS_TOLERANCE)


def judge_dtype(target, version, has_params):
    """Kit: a float32 input gives a float32 output and gradInput (its text asks for it). Other versions:
    a float32 input gives the right values; a float64 result is a note, not a lost point."""

    def judge(got, expected):
        notes = []
        for key in smallest_first(expected, [k for k in expected if not fed_to(k)]):
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
                                  input=expected.get(f"{key}.input"), method=method_of(version, target, "output"),
                                  params=M.fed_params(expected, key))
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
                                                    overflow, _underflow_only(value, expected.get("input")))
            err = relative_error(value, expected[attribute])
            if err > 1e-6:
                return False, M.unstable_mismatch(method, attribute, err, expected[attribute], value, expected.get("input"))
        return True, M.STABLE_OK
    return judge


def _underflow_only(value, logits):
    """Whether every row with inf or nan holds logits too small for exp to overflow (all below 700): there every
    exp rounded to 0 after something larger than the row's own maximum was subtracted (0/0, log 0)."""
    if value is None or logits is None or as_array(value).dtype.kind != "f" or as_array(value).shape != np.shape(logits) \
            or as_array(value).ndim != 2:
        return False
    bad = ~np.all(np.isfinite(as_array(value)), axis=1)
    return bool(bad.any()) and bool(np.all(as_array(logits)[bad].max(axis=1) < 700))


def judge_large_inputs(target, version):
    """Finite everywhere (at magnitude 800 only where the text asks: :func:`_overflowed`); right where the function is
    differentiable. The exact zeros are there to catch NaN and inf: at a kink either one-sided derivative is right, so
    a finite gradient at exactly 0 is a note at most."""
    def judge(got, expected):
        notes = ""
        for attribute in ("output", "gradInput"):
            value = got.get(attribute)
            method = method_of(version, target, attribute)
            want = as_array(expected[attribute])
            x = as_array(expected["input"])
            if value is None or as_array(value).dtype.kind != "f" or as_array(value).shape != want.shape:
                return False, M.large_not_finite(method, attribute, value, want, x)
            value = as_array(value)
            overflowed = _overflowed(version, x, value)
            if not np.all(np.isfinite(value) | overflowed):
                return False, M.large_not_finite(method, attribute, value, want, x)
            judged = (x != 0 if attribute == "gradInput" else np.ones(want.shape, bool)) & ~overflowed
            err = relative_error(value[judged], want[judged])
            if err > 1e-6:
                return False, M.large_mismatch(method, attribute, err, want, value, x)
            kink = (x == 0) if attribute == "gradInput" else np.zeros(want.shape, bool)
            if not np.allclose(value[kink], want[kink], rtol=1e-6, atol=1e-12):
                notes += M.kink_note(method, value[kink][0], want[kink][0])
            if overflowed.any():
                notes += M.overflow_note(method, attribute)
        return True, (M.LARGE_OK if version.overflow_asked else M.LARGE_NOT_ASKED_OK) + notes
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
    defined_as: str = ""            # the submission's own name of the target; "" when it defines none
    unimplemented: bool = False     # the class is missing, or a stub (returned None / raised NotImplementedError)

    def as_dict(self):
        # defined_as is null for a target the submission does not define: a TA's script can tell
        # "your ClassNLLCriterionUnstable" from "nothing of that name in your notebook".
        return {"target": self.target, "defined_as": self.defined_as or None, "name": self.name,
                "passed": bool(self.passed), "points": self.points, "max_points": self.max_points,
                "message": self.message}


def verdict(check, payload, expected, version=None, where=None, in_kernel=False):
    """A Result from the kernel's payload (see run_probe) and the expected values.

    `where(name)` says where the code of a missing class might be (the grader reads the notebook); `in_kernel`: the
    student's own check() in their kernel, where a missing class is most often a cell not run (messages.missing).
    """
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
                          M.missing(name, str(payload.get("kind", "class")), where(name) if where else "",
                                    in_kernel), "", True)
        error = str(payload.get("error", "unknown error"))[:500]
        if payload.get("stub"):
            return result(False, M.stub(defined_as, error, str(payload.get("attribute", "output"))), True)
        if payload.get("not_implemented"):
            return result(False, M.not_implemented(defined_as, error), True)
        return result(False, M.raised(defined_as, error, str(payload.get("call", ""))))
    try:
        got = decode(payload.get("values"))
        passed, message = check.judge(got, judged_values(version, check.target, expected))
    except Exception as exc:
        passed, message = False, M.unjudgeable(exc)
    return result(passed, message)
