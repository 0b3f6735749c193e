"""The words a student reads about a check: printouts of arrays, what the grader built and called, why a
check could not run (a missing class, a stub, an error raised by their code), and the hints.

Kept in one module so that the wording stays consistent (and is easy to improve) across the judges.
Messages name the submission's own classes, never the grader's internals.
"""
import io
import sysconfig
import tokenize
import traceback

import numpy as np

from grader.selfcheck.cases import CRITERION_CASES, EDGE_INPUT, LAYER_CASES, constructor_call

EDGE = EDGE_INPUT
NO_RESULT = "no result came back from the kernel"
ACCUMULATE_HINT = (" One backward gave the right gradient and a second one the same again: the second replaced it "
                   "instead of adding to it: use += in accGradParameters.")


def never_accumulated(method, container=False, child=None):
    """The parameter gradients stayed 0 through backward: nothing reached them. In a container, `child` names the
    one child whose gradients stayed 0 while another's were filled (None: every child's stayed 0)."""
    if container and child is not None:
        return (f" The parameter gradients of {child} stayed 0 after backward while the other children's were "
                f"filled: Sequential.backward never called the backward of {child}.")
    if container:
        return (" The children's parameter gradients stayed 0 after backward: Sequential.backward must call each "
                "child's backward (updateGradInput and accGradParameters), not updateGradInput alone.")
    return f" The gradient stayed 0 after backward: {method} added nothing to it."


# Sequential's gradInput equal to what a known mistake gives (computed with the test doubles): its only cause.
SEQUENTIAL_HINTS = {
    "forward_order": (" That is the gradient of a backward through the children first to last: go from the last child "
                      "to the first (reversed), each child's backward getting the input it saw in forward."),
    "own_output": (" That is the gradient of a backward that gives each child its own output as its input: give it "
                   "the input it saw in forward (the previous child's output; the first child gets `input`)."),
    "own_output_but_first": (" That is the gradient of a backward that gives each child after the first its own output "
                             "as its input: give it the input it saw in forward, the previous child's output."),
    "skips_first": (" That is the gradient at the first child's output: backward stopped before the first child; "
                    "call the first child's backward too (with `input`) and store what it returns in self.gradInput."),
    "reruns_forward": (" That is the gradient of a backward that runs the children's forward again: RandomScale draws "
                       "a new scale on every forward (as Dropout draws a new mask), so backward must use the outputs "
                       "kept from the forward pass, never call forward."),
}
IN_PLACE_HINT = " Update the arrays in place (p -= ...), so that the network sees the change."


def show(array, limit=12, precision=4):
    """A short printout of an array for a message."""
    a = np.asarray(array)
    if a.dtype.kind in "fc" and a.size > limit:
        return (f"array of shape {a.shape}, first entries "
                f"{np.array2string(a.ravel()[:limit], precision=precision, separator=', ')}").replace("\n", "")
    return np.array2string(a, precision=precision, separator=", ").replace("\n", "") if a.dtype.kind != "U" else str(a)


def show_apart(expected, got, limit=12):
    """(expected, got) printed with as many digits as it takes for the printouts to differ (4 to 17): two arrays
    that differ must never read the same."""
    for precision in range(4, 18):
        shown = show(expected, limit, precision), show(got, limit, precision)
        if shown[0] != shown[1]:
            return shown
    return shown


FED_LIMIT = 24  # entries: a tiny case's arrays are shown whole, so a student can redo the computation by hand
FED_WHOLE = 48  # entries of what was fed: shown whole up to this (MaxPool2d's and Conv2d's smallest inputs)


def fed(params=None, **arrays):
    """' Fed input [[...]] and gradOutput [[...]], with W [[...]] and b [...].': what the check gave the module and
    the parameters it set, whole when small enough, else shape and first entries (a gradient check without its
    gradOutput, or Linear's without W and b, could not be redone by hand). params: {attribute: value}."""
    shown = [f"{name} {show(value, FED_WHOLE)}" for name, value in arrays.items() if value is not None]
    set_ = [f"{name} {show(value, FED_WHOLE)}" for name, value in (params or {}).items()]
    if not shown:
        return ""
    return f" Fed {' and '.join(shown)}" + (f", with {' and '.join(set_)}" if set_ else "") + "."


def fed_params(expected, case):
    """{attribute: value} of the parameters the grader set in `case` ('case1'), from the expected values."""
    prefix = f"{case}.param."
    return {key[len(prefix):]: value for key, value in expected.items() if key.startswith(prefix)}


def method_of(version, target, what):
    """The method a student looks at for a failing value: `Linear.updateGradInput`, `Sequential.backward`."""
    name = version.class_name(target)
    if target in ("adam_optimizer", "sgd_momentum"):
        return name
    if target == "Sequential":  # the container overrides forward/backward themselves
        return f"{name}.forward" if what in ("output", "loss") else f"{name}.backward"
    return f"{name}." + {"output": "updateOutput", "loss": "updateOutput", "gradInput": "updateGradInput"}.get(
        what, "accGradParameters")


def shape_of(value):
    """'(5, 4)' for an array, else the type's name."""
    return str(tuple(np.shape(value))) if isinstance(value, np.ndarray) else type(value).__name__


def case_label(version, target, key):
    """'Linear(4, 3) on an input of shape (5, 4)' for the case a value key ('case1.gradInput') belongs to."""
    head = key.split(".")[0]
    if head == "edge":
        return f"{version.class_name(target)} on the input {show(EDGE)}"
    index = int(head[4:])
    if target in LAYER_CASES:
        case = LAYER_CASES[target][index]
        call = constructor_call(version, target, case)
    else:
        case = CRITERION_CASES[target][index]
        call = f"{version.class_name(target)}()"
    about = f", {case.label}" if case.label else ""
    return f"{call}{about} on an input of shape {case.shape}"


LIBRARY_FOLDERS = ("site-packages", "dist-packages", sysconfig.get_paths()["stdlib"].replace("\\", "/"))


def _library(filename):
    """Whether a frame's file belongs to an installed package or the standard library (numpy's einsum, ...)."""
    path = filename.replace("\\", "/")
    return any(f"/{folder}/" in path for folder in LIBRARY_FOLDERS[:2]) or path.startswith(LIBRARY_FOLDERS[2] + "/")


def _without_comment(line):
    """A line of code without its trailing comment (the message quotes the code, not the notes beside it)."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(line).readline):
            if token.type == tokenize.COMMENT:
                return line[:token.start[1]].rstrip()
    except (tokenize.TokenError, SyntaxError, IndentationError):   # a line of a longer statement: left whole
        pass
    return line


def describe_exception(exc):
    """'ValueError: ... (at `line of code`, in updateGradInput)' with the deepest frame of the student's own code:
    neither the grader's nor a library's (an error raised inside numpy is shown at the student's line that called
    it; a library's frame only when no other has a line)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "grader" not in f.filename.replace("\\", "/").split("/")[:-1]]
    own = [f for f in frames if not _library(f.filename) and f.line]
    frames = own or frames
    where = ""
    if frames and frames[-1].line:
        method = f", in {frames[-1].name}" if own and frames[-1].name not in ("<module>", "<lambda>") else ""
        where = f" (at `{_without_comment(frames[-1].line.strip())}`{method})"
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"


def missing(name, kind="class", where="", in_kernel=False):
    """No class (or function) of that name in the notebook's namespace; `where` its code might be.

    `in_kernel`: said to a student by check() in their own kernel, where the usual cause is a cell not run yet (after
    a restart) or one that stopped with an error above the definition: the notebook may well hold the code."""
    if in_kernel:
        return (f"no {kind} {name} is defined in this kernel: run the cell that defines it (after a restart, the cells "
                f"above it too); a cell that stopped with an error defined nothing, so fix that error first; keep the "
                f"name {name} exactly.")
    return f"no {kind} {name} in your notebook" + (f": {where}" if where else
                                                   f"; define {kind} {name} in a code cell, under that exact name") + "."


def stub(name, error, attribute="output"):
    """forward/backward returned None and stored nothing: a stub, or a result kept in a local variable (both
    causes are possible, so both are named)."""
    method = "updateOutput" if attribute == "output" else "updateGradInput"
    return (f"{error}: either {name}.{method} is not written yet, or it computes its result without storing it; "
            f"assign it to self.{attribute} (a local variable is lost when the method returns).")


def not_implemented(name, error):
    return f"{name} is not implemented yet ({error})"


def raised(name, error, call=""):
    return f"{name} raised {error}" + (f" when the grader called {call}" if call else "")


def optional_not_counted(name, version):
    return (f"{name} is not implemented: optional in {version.title} (advanced track only), so not counted in "
            "the maximum")


def unjudgeable(exc):
    return f"the values that came back could not be read ({type(exc).__name__}: {str(exc)[:200]})"


def float32_note(problems):
    """A note, not a lost point, for versions whose text does not ask for float32 to stay float32."""
    return (f". Note: for a float32 input, {' and '.join(problems)}; keeping the input's dtype halves memory and "
            "time (cast parameters with .astype(input.dtype)); not scored in this version of the assignment")


# ------------------------------------------------------------------------- comparing values


def where(method, what, label):
    """'Linear.updateGradInput: gradInput vs finite differences (Linear(4, 3) on an input of shape (5, 4))': the
    method to look at first, then what was checked and on which case."""
    return f"{method}: {what} ({label})"


def nothing_came_back(where, fed=""):
    return f"{where}: nothing came back (None).{fed}"


def not_numeric(where, got, fed=""):
    return f"{where}: expected a numeric array, got {show(got)}.{fed}"


def wrong_shape(where, got_shape, expected_shape, fed=""):
    return f"{where}: wrong shape.{fed} Expected shape {expected_shape}, got shape {got_shape}."


def not_finite(where, got, expected, fed=""):
    return f"{where}: contains inf or nan.{fed} Expected {show(expected, FED_LIMIT)}, got {show(got, FED_LIMIT)}."


def mismatch(where, err, tolerance, got, expected, fed="", input=None):
    """The teaching message: what was fed in (see :func:`fed`), what was expected, what came back, the error; and,
    when every value is the expected one times one constant, that factor and what it points to (:func:`factor_hint`)."""
    want, have = show_apart(expected, got, FED_WHOLE)
    return (f"{where}: wrong values.{fed} Expected {want}, got {have} (relative error {err:.1e}, tolerance "
            f"{tolerance:.0e}).{factor_hint(got, expected, input)}")


def constant_factor(got, expected):
    """r when got == r * expected entry by entry (to 1e-9, zeros where expected is zero), else None."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape or not got.size or not (np.all(np.isfinite(got)) and np.all(np.isfinite(expected))):
        return None
    scale = np.abs(expected).max()
    nonzero = np.abs(expected) > 1e-12 * scale
    if scale == 0 or np.any(np.abs(got[~nonzero]) > 1e-9 * np.abs(got).max()):
        return None
    ratios = got[nonzero] / expected[nonzero]
    r = float(np.median(ratios))
    return r if r != 0 and np.allclose(ratios, r, rtol=1e-9, atol=0) else None


def factor_hint(got, expected, input=None):
    """' Every value is the expected one divided by 5, the batch size N: ...': a wrong constant factor, named when it is one a
    student's formula typically gets wrong (the batch size N of `input`, its number of entries, 2, -1); any other
    constant is named only when three or more expected values are not zero (with one, any wrong value is some constant
    times the right one)."""
    r = constant_factor(got, expected) if input is not None else None   # None: a check of no single input
    if r is None:
        return ""
    n = np.shape(input)[0] if np.ndim(input) >= 1 else 0
    size = int(np.size(input))

    said = " Every value is the expected one" if np.size(expected) > 1 else " It is the expected value"

    def near(value):
        return np.isclose(r, value, rtol=1e-9, atol=0)
    if n > 1 and near(1 / n):
        return (f"{said} divided by {n}, the batch size N: the formula sums over the batch "
                "here; a mean (or a 1/N) divides by N once too often.")
    if n > 1 and near(n):
        return (f"{said} times {n}, the batch size N: divide by N once (the loss is averaged "
                "over the batch).")
    if size > n and near(1 / size):
        return (f"{said} divided by {size}, the number of entries of the input: the text sums "
                "over the features and divides by the batch size N only (np.mean over all entries divides by N times "
                "the features).")
    if near(-1):
        return f"{said} with the sign flipped."
    if near(0.5) or near(2):
        return f"{said} times {r:g}: a factor 2 is {'missing' if near(0.5) else 'extra'}."
    if np.count_nonzero(expected) >= 3:   # with one or two values any wrong formula is a constant multiple
        return (f" Every value is the expected one times {r:.4g}: the formula is right up to a constant factor; "
                "compare your constants with the text's.")
    return ""


def edge_malformed(method, what, got, expected):
    return f"{method}: {what} on exact zeros and +-800.{fed(input=EDGE)} Expected {show(expected)}, got {show(got)}."


def edge_not_finite(method, what, got, expected):
    # A backward that reuses the stored output (Sigmoid's s(1 - s)) is right and still gets the forward's nan: point
    # at the forward first, whose own row fails too when that is the cause.
    reused = (" If the forward output row fails on these inputs too, fix updateOutput first: a backward that reuses "
              "self.output gets its inf or nan." if what == "gradInput" else "")
    return (f"{method}: {what} on exact zeros and +-800.{fed(input=EDGE)} Expected {show(expected)}, got {show(got)}, "
            f"which has inf or nan: avoid dividing by the input or exp of a large positive number.{reused}")


def edge_mismatch(method, what, err, expected, got):
    want, have = show_apart(expected, got)
    return (f"{method}: {what} on exact zeros and +-800.{fed(input=EDGE)} Expected {want}, got {have} "
            f"(relative error {err:.1e}).")


# ------------------------------------------------------------------------- the judges' verdicts


def forward_ok(n):
    return f"output matches on {n} input{'s' if n != 1 else ''}"


def gradients_ok(n, tolerance):
    return (f"{n} gradients agree with the reference's analytic gradients, themselves checked against finite "
            f"differences (relative error < {tolerance:.0e})")


def not_analytic(where, err, tolerance):
    """Right to finite-difference precision, not to an analytic gradient's: a numerical derivative, not a derived one."""
    return (f"{where}: right only to {err:.0e} (relative error); a gradient derived by hand and computed in float64 "
            f"agrees with the reference to about 1e-15 (tolerance {tolerance:.0e}). This one looks computed by finite "
            "differences of the forward pass: derive the formula and write it out, as the homework asks.")


def modified_input(name, label, before, after):
    return (f"{name} modified its input in place ({label}): input {show(before)} became {show(after)}; never write "
            "into `input`, the previous layer still owns it.")


def returned_or_stored_none(method, call, attribute, returned, stored, label, input):
    return (f"{method}: {call} returned {show(returned)} and stored self.{attribute} = {show(stored)} ({label})."
            f"{fed(input=input)} Expected the same array in both, got {show(returned)} and {show(stored)}: it must "
            f"return AND store self.{attribute}.")


def stored_differs(method, call, attribute, label, returned, stored):
    return (f"{method}: self.{attribute} {show(stored)} differs from what {call} returned {show(returned)} ({label}); "
            "store it and return it.")


def output_shape_wrong(method, got_shape, expected_shape, label):
    return f"{method}: forward returned shape {got_shape}, expected {expected_shape} ({label})."


def backward_changed_output(method, label, input, before, after):
    want, have = show_apart(before, after, FED_LIMIT)
    return (f"{method}: backward changed self.output ({label}).{fed(input=input)} Expected what forward stored, {want}, "
            f"to stay in self.output; got {have} after backward. Write the gradient into a new array (an in-place "
            "operation such as *= on self.output, or on a name bound to it, changes the forward's result that the next "
            "layer and the loss still use).")


def criterion_modified(method, what, label, before, after):
    """A criterion wrote into the input or the target it was fed: `method` is the first call after which it had."""
    want, have = show_apart(before, after, FED_LIMIT)
    return (f"{method} modified its {what} in place ({label}): {what} {want} became {have}; never write into `{what}` "
            "(the caller still owns it, and the next call would see other values): compute into a new array "
            "(np.clip(x, a, b) without out=, x - y instead of x -= y).")


def modified_grad_output(method, label, before, after):
    return (f"{method} modified gradOutput in place ({label}): gradOutput {show(before)} became {show(after)}; the "
            "next layer still owns it.")


CONTRACT_OK = "forward/backward return and store output/gradInput, and leave input and gradOutput unchanged"


def not_zeroed(name, path, value):
    return f"{name}: zeroGradParameters() left {path}'s gradient non-zero: {show(value)}"


ACCUMULATE_OK = "parameter gradients accumulate over backward calls and zeroGradParameters() resets them"
ASSIGN_OK = "zeroGradParameters() resets the gradients; after it, a backward gives the right gradients"


def float32_lost(method, params, attribute, dtype, label, input, has_params):
    how = ("cast the parameters with .astype(input.dtype) before using them" if has_params
           else "a float64 array or np.float64 constant in the computation promotes the result")
    return (f"{method}: with {params} and a float32 input, {attribute} is {dtype} ({label}).{fed(input=input)} "
            f"Expected float32, got {dtype}: keep the input's dtype ({how}).")


FLOAT32_KEPT = "a float32 input gives a float32 output and gradInput"
FLOAT32_VALUES = "a float32 input gives the right values"
def float32_gradient(where):
    return (f"{where}: float32 for a float64 input, so right only to float32's rounding: keep the input's dtype (cast "
            "with .astype(input.dtype), never to np.float32) and the gradient is judged at float64's precision.")


FLOAT32_GRADIENTS_NOTE = (". Note: computed in float32 on a float64 input, so judged at float32's precision; "
                          "keep the input's dtype to have them judged at float64's")


def unstable_not_finite(method, attribute, value, expected, input, overflow, underflow=False):
    """nan or +inf: exp overflowed, the only cause, unless the rows with them have no logit large enough for exp to
    overflow (`underflow`): then every exp of the row rounded to 0; -inf alone in LogSoftMax's output: log of a
    rounded probability."""
    if underflow:
        cause = ("the rows with inf or nan have no logit above 700, so exp did not overflow there: every exp of those rows "
                 "rounded to 0 (0/0, log 0) because something larger than the row's own maximum was subtracted. "
                 "Subtract each row's own maximum: input.max(axis=1, keepdims=True).")
    elif overflow:
        cause = "exp overflowed: subtract the row maximum before exp."
    elif attribute == "output":
        cause = ("the log of a probability that rounded to 0: compute shifted - log(sum(exp(shifted))) with shifted = "
                 "input - row maximum, never log(softmax).")
    else:
        cause = "compute it from the stored output, without dividing by a probability."
    return (f"{method}: {attribute} on logits of magnitude 800 has inf or nan.{fed(input=input)} Expected "
            f"{show(expected, FED_LIMIT)}, got {show(value, FED_LIMIT)}: {cause}")


def unstable_mismatch(method, attribute, err, expected, got, input):
    want, have = show_apart(expected, got, FED_LIMIT)
    return (f"{method}: {attribute} on logits of magnitude 800: relative error {err:.1e}.{fed(input=input)} "
            f"Expected {want}, got {have}.")


STABLE_OK = "finite and exact for logits of magnitude 800"


def large_not_finite(method, attribute, value, expected, input):
    return (f"{method}: {attribute} on inputs 0 and of magnitude 800 has inf or nan.{fed(input=input)} "
            f"Expected {show(expected)}, got {show(value)}: avoid exp of a large positive number and dividing by the input.")


def large_mismatch(method, attribute, err, expected, got, input):
    want, have = show_apart(expected, got)
    return (f"{method}: {attribute} on inputs 0 and of magnitude 800: relative error {err:.1e}.{fed(input=input)} "
            f"Expected {want}, got {have}.")


LARGE_OK = "finite and exact for inputs 0 and of magnitude 800"
LARGE_NOT_ASKED_OK = "finite and exact for inputs 0 and up to magnitude 50"


def overflow_note(method, what):
    """Inf or nan where exp overflows (inputs of magnitude 800), in a version whose text never asks about such inputs."""
    return (f". Note: {method} gives inf or nan for inputs of magnitude 800 in its {what}, where exp overflows; "
            "your assignment's text does not ask about such inputs, so this costs nothing (np.logaddexp(0, x) and "
            "np.minimum(x, 0) inside exp stay finite)")


def kink_note(method, got, expected):
    """At exactly 0 the value is a convention (either one-sided derivative at a kink): a note, no point lost."""
    return (f". Note: {method} gives {got:.4g} at exactly 0 where the check expected {expected:.4g}; at a kink "
            "either one-sided value is right, so this costs nothing")
