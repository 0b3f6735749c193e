"""The words a student reads about a check: printouts of arrays, what the grader built and called, why a
check could not run (a missing class, a stub, an error raised by their code), and the hints.

Kept in one module so that the wording stays consistent (and is easy to improve) across the judges.
Messages name the submission's own classes, never the grader's internals.
"""
import traceback

import numpy as np

from grader.selfcheck.cases import CRITERION_CASES, EDGE_INPUT, LARGE_INPUT, LAYER_CASES, constructor_call

EDGE = EDGE_INPUT
NO_RESULT = "no result came back from the kernel"
ACCUMULATE_HINT = " The second backward replaced the gradient instead of adding to it: use += in accGradParameters."
IN_PLACE_HINT = " Update the arrays in place (p -= ...), so that the network sees the change."


def show(array, limit=12):
    """A short printout of an array for a message."""
    a = np.asarray(array)
    if a.dtype.kind in "fc" and a.size > limit:
        return (f"array of shape {a.shape}, first entries "
                f"{np.array2string(a.ravel()[:limit], precision=4, separator=', ')}").replace("\n", "")
    return np.array2string(a, precision=4, separator=", ").replace("\n", "") if a.dtype.kind != "U" else str(a)


FED_LIMIT = 24  # entries: a tiny case's arrays are shown whole, so a student can redo the computation by hand


def fed(**arrays):
    """' Fed input [[...]] and gradOutput [[...]].': what the check gave the module, when it is small enough."""
    shown = [f"{name} {show(value, FED_LIMIT)}" for name, value in arrays.items()
             if value is not None and np.size(value) <= FED_LIMIT]
    return f" Fed {' and '.join(shown)}." if shown else ""


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


def describe_exception(exc):
    """'ValueError: ... (at `line of code`)' with the deepest frame that is not the grader's."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "grader" not in f.filename.replace("\\", "/").split("/")[:-1]]
    where = f" (at `{frames[-1].line.strip()}`)" if frames and frames[-1].line else ""
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"


def missing(name, kind="class", where=""):
    """No class (or function) of that name in the notebook's namespace; `where` its code might be."""
    return f"no {kind} {name} in your notebook" + (f": {where}" if where else
                                                   f"; define {kind} {name} in a code cell, under that exact name") + "."


def stub(name, error):
    """forward/backward returned None and stored nothing: the template's stub."""
    return f"{name} is not implemented (returned None): {error}."


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


def mismatch(where, err, tolerance, got, expected, fed=""):
    """The teaching message: what was fed in (see :func:`fed`), what was expected, what came back, the error."""
    return (f"{where}: wrong values.{fed} Expected {show(expected, FED_LIMIT)}, got {show(got, FED_LIMIT)} "
            f"(relative error {err:.1e}, tolerance {tolerance:.0e}).")


def edge_malformed(method, what, got, expected):
    return f"{method}: {what} on exact zeros and +-800.{fed(input=EDGE)} Expected {show(expected)}, got {show(got)}."


def edge_not_finite(method, what, got, expected):
    return (f"{method}: {what} on exact zeros and +-800.{fed(input=EDGE)} Expected {show(expected)}, got {show(got)}, "
            "which has inf or nan: avoid dividing by the input or exp of a large positive number.")


def edge_mismatch(method, what, err, expected, got):
    return (f"{method}: {what} on exact zeros and +-800.{fed(input=EDGE)} Expected {show(expected)}, got {show(got)} "
            f"(relative error {err:.1e}).")


# ------------------------------------------------------------------------- the judges' verdicts


def forward_ok(n):
    return f"output matches on {n} inputs"


def gradients_ok(n, tolerance):
    return f"{n} gradients agree with finite differences (relative error < {tolerance:.0e})"


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


def unstable_not_finite(method, attribute, value, expected, input, overflow):
    """nan or +inf: exp overflowed, the only cause; -inf alone in LogSoftMax's output: log of a rounded probability."""
    if overflow:
        cause = "exp overflowed: subtract the row maximum before exp."
    elif attribute == "output":
        cause = ("the log of a probability that rounded to 0: compute shifted - log(sum(exp(shifted))) with shifted = "
                 "input - row maximum, never log(softmax).")
    else:
        cause = "compute it from the stored output, without dividing by a probability."
    return (f"{method}: {attribute} on logits of magnitude 800 has inf or nan.{fed(input=input)} Expected "
            f"{show(expected, FED_LIMIT)}, got {show(value, FED_LIMIT)}: {cause}")


def unstable_mismatch(method, attribute, err, expected, got, input):
    return (f"{method}: {attribute} on logits of magnitude 800: relative error {err:.1e}.{fed(input=input)} "
            f"Expected {show(expected, FED_LIMIT)}, got {show(got, FED_LIMIT)}.")


STABLE_OK = "finite and exact for logits of magnitude 800"


def large_not_finite(method, attribute, value, expected):
    return (f"{method}: {attribute} on inputs 0 and of magnitude 800 has inf or nan.{fed(input=LARGE_INPUT)} "
            f"Expected {show(expected)}, got {show(value)}: avoid exp of a large positive number and dividing by the input.")


def large_mismatch(method, attribute, err, expected, got):
    return (f"{method}: {attribute} on inputs 0 and of magnitude 800: relative error {err:.1e}.{fed(input=LARGE_INPUT)} "
            f"Expected {show(expected)}, got {show(got)}.")


LARGE_OK = "finite and exact for inputs 0 and of magnitude 800"


def kink_note(method, got, expected):
    """At exactly 0 the value is a convention (either one-sided derivative at a kink): a note, no point lost."""
    return (f". Note: {method} gives {got:.4g} at exactly 0 where the kit's reference gives {expected:.4g}; at a kink "
            "either one-sided value is right, so this costs nothing")


# ------------------------------------------------------------------------------------ Dropout


def dropout_malformed(p, shape, y):
    return f"Dropout({p}).forward on a {shape} input returned {show(y)}"


def dropout_fraction(p, kept, want, version):
    meaning = "the probability of keeping a unit" if version.dropout_keeps else "the probability of zeroing a unit"
    return (f"{version.class_name('Dropout')}.updateOutput: Dropout(p={p}) in training kept {kept:.3f} of the units; "
            f"expected about {want:.3f} "
            f"(in {version.title}, p is {meaning}).")


def dropout_fraction_ok(kept, want, margin):
    return f"kept fraction {kept:.3f} (expected {want:.3f} +- {margin:.3f})"


DROPOUT_ALL_ZERO = "Dropout in training zeroed every unit"


def dropout_scale(p, ratios, want, version):
    expected = "1 (the text multiplies by the mask; 1/p is accepted too)" if version.dropout_keeps \
        else f"1/(1-p) = {want:.4f} (inverted dropout: no rescaling at test time)"
    return (f"{version.class_name('Dropout')}.updateOutput: Dropout(p={p}) in training: kept units are multiplied by "
            f"{show(ratios)}, expected {expected}.")


DROPOUT_SCALE_OK = "kept units scaled as the text says, the others exactly 0"


def dropout_backward_malformed(gi, shape):
    return f"Dropout backward returned {show(gi)}, expected an array of shape {shape}"


def dropout_mask_not_reused(err):
    return (f"Dropout backward does not reuse the forward's mask: relative error {err:.1e} against gradOutput times "
            "the mask (and scale) of the last forward; store the mask in forward.")


DROPOUT_SAME_MASK = "Dropout drew the same mask on two training forwards: draw a fresh mask on every forward."
DROPOUT_MASK_OK = "backward multiplies by the mask of the last forward; a fresh mask every forward"


def dropout_eval(attribute, value):
    return (f"Dropout in evaluation must be the identity: {attribute} should equal the "
            f"{'input' if attribute == 'output' else 'gradOutput'}; got {show(value)}.")


DROPOUT_EVAL_OK = "identity in evaluation (forward and backward)"


# --------------------------------------------------------------------------- running statistics


def running_malformed(name, shape, value):
    return f"{name} in evaluation on a {shape} batch returned {show(value)}"


def running_not_affine(name, alpha, step, normalizes):
    formula = "(input - running mean) / sqrt(running variance + EPS)" if normalizes else "input - running mean"
    return (f"{name}({alpha}) in evaluation after the {step} training batch: the output is not {formula} "
            "with fixed statistics per feature.")


def running_uses_batch(name, normalizes):
    stats = "mean and variance" if normalizes else "mean"
    return (f"{name} in evaluation uses the evaluated batch's own {stats}; it must use the running {stats} "
            "accumulated in training.")


def running_mean_wrong(name, alpha, batch, old, new, want, swapped):
    """The only cause is named when the values are exactly those of alpha and 1 - alpha swapped."""
    return (f"{name}.updateOutput: {name}({alpha}), the running mean after a training batch.{fed(input=batch)} "
            f"(mean {show(batch.mean(axis=0))}), with the running mean at {show(old)} before it. Expected alpha * old + "
            f"(1 - alpha) * batch mean = {show(want)}, got {show(new)}."
            + (" alpha and 1 - alpha are swapped: alpha weighs the old value." if swapped else ""))


def running_variance_wrong(name, alpha, batch_var, old, new, want):
    return (f"{name}({alpha}): after a training batch with variance {show(batch_var)}, the running variance went "
            f"from {show(old)} to {show(new)} (EPS included); expected alpha * old + (1 - alpha) * batch variance = "
            f"{show(want)}.")


def running_grad_wrong(name, normalizes, gi, want):
    scale = " / sqrt(running variance + EPS)" if normalizes else ""
    return (f"{name}.updateGradInput in evaluation mode, after one training batch, on a batch of another size: "
            f"gradInput must be gradOutput{scale} (the running statistics are constants, nothing of a training "
            f"batch is used). Expected {show(want)}, got {show(gi)}.")


def running_first_batch(name, alpha, batch, got):
    """The kit's text: the first training batch starts the running mean (alpha = 0 on it)."""
    started_at_zero = np.allclose(got, (1 - alpha) * batch.mean(axis=0), rtol=1e-6)
    return (f"{name}.updateOutput: {name}({alpha}), the running mean after the first training batch.{fed(input=batch)} "
            f"Expected the batch's own mean {show(batch.mean(axis=0))} (the text: the first batch starts the running "
            f"mean, alpha = 0 on it), got {show(got)}."
            + (" That is (1 - alpha) times the batch mean: the mean started from 0 instead of from the first batch."
               if started_at_zero else ""))


RUNNING_OK = "running statistics move as alpha * old + (1 - alpha) * batch's; evaluation uses them"
EVAL_BACKWARD_OK = "in evaluation mode, backward treats the running statistics as constants"


def running_alone_malformed(name, alone):
    return f"{name} in evaluation on one row returned {show(alone)}"


def running_depends_on_batch(name, alone, in_batch):
    return (f"{name} in evaluation: one image's output depends on the rest of its batch (alone {show(alone)}, "
            f"in the batch {show(in_batch)}); use the running statistics, not the batch's.")


INDEPENDENT_OK = "an image's output in evaluation does not depend on its batch"


# ------------------------------------------------------------------------------------- criteria

LOSS_OK = "the loss matches"


def criterion_modified(name, what, label):
    return f"{name} modified its {what} in place ({label})."


def criterion_stored_differs(name, attribute, stored, returned, label):
    return f"{name}: self.{attribute} is {show(stored)}, but the call returned {show(returned)} ({label}); store what you return."


CRITERION_CONTRACT_OK = "forward/backward return and store output/gradInput, and leave input and target unchanged"


def nll_not_finite(name, what, value):
    return (f"{name} with probability 0 for the true class: {what} is {show(value)}; "
            "clip the probabilities to [EPS, 1 - EPS] before the log and the division.")


def nll_not_positive(name, loss):
    return f"{name} with probability 0 for the true class: the loss {show(loss)} should be large and positive"


NLL_ZERO_OK = "finite loss and gradient when a probability is exactly 0"


# ----------------------------------------------------------------------------------- optimizers


def optimizer_malformed(name, steps, param, value):
    return f"{name}: after {steps} steps parameter {param} is {show(value)}"


OPTIMIZER_OK = "3 steps on nested parameter lists match the update rule"


def optimizer_mismatch(name, config, step, param, err, expected, got, unchanged=False):
    """The in-place hint only when the parameters never moved (rebinding a name instead of updating the array)."""
    hint = " The parameters did not change over 3 steps." + IN_PLACE_HINT if unchanged else ""
    return (f"{name} ({config}): after step {step}, parameter array {param} of shape {np.shape(expected)} has relative "
            f"error {err:.1e}; expected {show(expected)}, got {show(got)}.{hint}")


# ------------------------------------------------------------------------------------ MaxPool2d's ties

TIES_OK = "on a tie the first maximum gets the gradient"
TIES_ANY_OK = "on a tie one maximum gets the whole gradient (the text does not say which)"
TIES_FIRST_HINT = (" On a tie the first maximum in row-major order gets the gradient (what argmax returns), as the "
                   "text above MaxPool2d says.")


def ties_not_scored(name, input, got, expected):
    """Outside the kit the text sets no rule for ties: what the layer did is told, not scored."""
    return (f"not scored in this version (its text sets no rule for ties). Note: {name}(2) on blocks with tied maxima"
            f"{fed(input=input)} gives gradInput {show(got, FED_LIMIT)}; giving each block's gradient to one maximum (the "
            f"first, as argmax does) gives {show(expected, FED_LIMIT)}")
