"""The words of the property checks (:mod:`.judges_special`): Dropout, running statistics, criteria,
optimizers and MaxPool2d's ties. The common printouts and the wording rules are in :mod:`.messages`."""
import numpy as np

from grader.selfcheck.messages import FED_LIMIT, IN_PLACE_HINT, fed, show, show_apart


# ------------------------------------------------------------------------------------ Dropout


def dropout_malformed(p, shape, y):
    return f"Dropout({p}).forward on a {shape} input returned {show(y)}"


def dropout_fraction(p, kept, want, version):
    meaning = "the probability of keeping a unit" if version.dropout_keeps else "the probability of zeroing a unit"
    return (f"{version.class_name('Dropout')}.updateOutput: Dropout(p={p}) in training kept {kept:.3f} of the units; "
            f"expected about {want:.3f} "
            f"(in {version.title}, p is {meaning}).")


def dropout_not_masked(version, ratios):
    return (f"{version.class_name('Dropout')}.updateOutput: in training the output should be the input with some "
            f"units set to 0 and the others all multiplied by one factor; the kept units are the input times {ratios}.")


def dropout_fraction_ok(kept, want, margin):
    return f"kept fraction {kept:.3f} (expected {want:.3f} +- {margin:.3f})"


DROPOUT_ALL_ZERO = "Dropout in training zeroed every unit"


def dropout_scale(p, ratios, want, version):
    expected = "1 (the text multiplies by the mask; 1/p is accepted too)" if version.dropout_keeps \
        else f"1/(1-p) = {want:.4f} (inverted dropout: no rescaling at test time)"
    return (f"{version.class_name('Dropout')}.updateOutput: Dropout(p={p}) in training: kept units are multiplied by "
            f"{show(ratios)}, expected {expected}.")


DROPOUT_SCALE_OK = "kept units scaled as the text above Dropout says, the others exactly 0"


def dropout_backward_malformed(gi, shape):
    return f"Dropout backward returned {show(gi)}, expected an array of shape {shape}"


def dropout_backward_unscaled(version, p, want, got):
    name = version.class_name("Dropout")
    return (f"{name}.updateGradInput: Dropout(p={p}) in training: backward multiplies gradOutput by the forward's mask "
            f"but not by its scale 1/(1-p) = {1 / (1 - p):.4f}: gradInput must be gradOutput times exactly what forward "
            f"multiplied the input by. Expected {show(want)}, got {show(got)}.")


def dropout_mask_not_reused(version, err, want, got, same_mask):
    """`same_mask`: the zeros of gradInput are the forward's: the mask is reused, the values are wrong."""
    name = version.class_name("Dropout")
    what = ("keeps the forward's zeros but its values are off" if same_mask else
            "zeroes other units than the last forward did: reuse the mask stored in forward, never draw a new one in "
            "backward")
    return (f"{name}.updateGradInput: Dropout(p=0.3) in training: gradInput {what} (relative error {err:.1e} against "
            f"gradOutput times what forward multiplied the input by). Expected {show(want)}, got {show(got)}.")


def dropout_zeros_dropped(version, p, n, share, want):
    """Backward dropped (nearly) every unit whose input was 0: its mask was read off the output or the input."""
    return (f"{version.class_name('Dropout')}.updateGradInput, Dropout(p={p}) in training, on {n} units whose input "
            f"was exactly 0: backward passed gradOutput through {share:.3f} of them, where forward's mask kept about "
            f"{want:.3f}. The mask keeps a unit whatever its value (its output is 0 either way); a mask recomputed "
            "from the output (output != 0) drops every such unit, so multiplying by the mask stored in forward is the "
            "exact gradient")


def zeros_note(what):
    """Dropout's backward differs from the mask's gradient only at inputs of exactly 0: a note, no point lost."""
    return f". Note (no point lost): {what}"


def dropout_zeros_scaled(version, p, factor, ratios):
    return (f"{version.class_name('Dropout')}.updateGradInput: Dropout(p={p}) in training, where the input was exactly "
            f"0: backward multiplies the gradOutput of the units it passes by {show(ratios)}, expected {factor:.4f}, "
            "the factor forward multiplied the kept units by")


DROPOUT_SAME_MASK = "Dropout drew the same mask on two training forwards: draw a fresh mask on every forward."
DROPOUT_MASK_OK = "backward multiplies by the mask of the last forward; a fresh mask every forward"


def dropout_eval(attribute, value):
    return (f"Dropout in evaluation must be the identity: {attribute} should equal the "
            f"{'input' if attribute == 'output' else 'gradOutput'}; got {show(value)}.")


DROPOUT_EVAL_OK = "identity in evaluation (forward and backward)"
DROPOUT_EVAL_FORWARD_OK = ("identity in evaluation (the forward; this version's text asks nothing of backward "
                           "in evaluation)")


# --------------------------------------------------------------------------- running statistics


def running_malformed(name, shape, value):
    return f"{name} in evaluation on a {shape} batch returned {show(value)}"


def running_not_affine(name, alpha, step, normalizes, test, output):
    formula = "(input - running mean) / sqrt(running variance + EPS)" if normalizes else "input - running mean"
    return (f"{name}.updateOutput: {name}({alpha}) in evaluation mode after the {step} training batch.{fed(input=test)} "
            f"Expected {formula}, one mean{' and variance' if normalizes else ''} per feature (column) for every row, "
            f"got {show(output, FED_LIMIT)}, which no such per-feature statistics give.")


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


def running_changed_in_evaluation(name, normalizes, test, first, again):
    stats = "mean and variance" if normalizes else "mean"
    want, have = show_apart(first, again, FED_LIMIT)
    return (f"{name}.updateOutput in evaluation mode: the same test batch evaluated twice.{fed(input=test)} Expected "
            f"the same output both times, got {want} the first time and {have} the second. Evaluation changed the "
            f"running {stats}: in evaluation use "
            f"{'them as they are, and update them' if normalizes else 'it as it is, and update it'} in training only.")


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


def independent_not_affine(name, residual):
    return (f"{name} in evaluation: the output is not the input shifted and scaled per feature (off by {residual:.1e} "
            "relative to the output); in evaluation subtract the running mean (and divide by the running standard "
            "deviation), the same for every image.")


INDEPENDENT_OK = "an image's output in evaluation does not depend on its batch"


# ------------------------------------------------------------------------------------- criteria

LOSS_OK = "the loss matches"


def criterion_stored_differs(name, attribute, stored, returned, label):
    return f"{name}: self.{attribute} is {show(stored)}, but the call returned {show(returned)} ({label}); store what you return."


CRITERION_CONTRACT_OK = "forward/backward return and store output/gradInput, and leave input and target unchanged"


def nll_not_finite(name, what, value):
    return (f"{name} with probability 0 for the true class: {what} is {show(value)}; "
            "clip the probabilities to [EPS, 1 - EPS] before the log and the division.")


def nll_not_positive(name, loss):
    return f"{name} with probability 0 for the true class: the loss {show(loss)} should be large and positive"


def nll_ordinary_rows(name, err, expected, got):
    return (f"{name} with probabilities 0 and 1 in some rows: the gradient of the other rows is off (relative error "
            f"{err:.1e}); expected {show(expected)}, got {show(got)}.")


NLL_ZERO_OK = "finite loss and gradient when a probability is exactly 0"


# ----------------------------------------------------------------------------------- optimizers


def optimizer_malformed(name, steps, param, value):
    return f"{name}: after {steps} steps parameter {param} is {show(value)}"


OPTIMIZER_OK = "3 steps on nested parameter lists match the update rule"


def optimizer_mismatch(name, config, step, param, err, expected, got, unchanged=False, fed=(None, [])):
    """The in-place hint only when the parameters never moved (rebinding a name instead of updating the array).
    `fed`: the array's start and its gradients up to `step`, shown so that the steps can be redone by hand."""
    hint = " The parameters did not change over 3 steps." + IN_PLACE_HINT if unchanged else ""
    want, have = show_apart(expected, got)
    start, grads = fed
    inputs = "" if start is None or any(g is None for g in grads) else (
        f" It started as {show(start)}, with gradient " + ", then ".join(
            f"{show(g)} at step {s + 1}" for s, g in enumerate(grads)) + ".")
    if not unchanged and step == 1 and start is not None:
        hint = bias_correction_hint(config, np.asarray(got, np.float64) - start, np.asarray(expected, np.float64) - start)
    return (f"{name} ({config}): after step {step}, parameter array {param} of shape {np.shape(expected)} has relative "
            f"error {err:.1e}.{inputs} Expected {want}, got {have}.{hint}")


def bias_correction_hint(config, step_taken, step_expected):
    """Adam's first step without (part of) its bias correction is the right step times a constant of the config:
    (1 - beta1) / sqrt(1 - beta2) without any, (1 - beta1) without the 1 / (1 - beta1^t), 1 / sqrt(1 - beta2) without
    the sqrt(1 - beta2^t). Said only when every entry's step is that multiple (eps moves it by about 1e-6)."""
    if "beta1" not in config or not np.all(np.isfinite(step_taken)) or not np.all(step_expected != 0):
        return ""
    b1, b2 = config["beta1"], config["beta2"]
    ratios = step_taken / step_expected
    for factor, part in (((1 - b1) / np.sqrt(1 - b2), "the bias correction sqrt(1 - beta2^t) / (1 - beta1^t) is"),
                         (1 - b1, "the 1 / (1 - beta1^t) of the bias correction is"),
                         (1 / np.sqrt(1 - b2), "the sqrt(1 - beta2^t) of the bias correction is")):
        if np.allclose(ratios, factor, rtol=1e-4, atol=0):
            return (f" The first step taken is {factor:.4g} times the expected one: {part} missing (lr_t = "
                    "learning_rate * sqrt(1 - beta2^t) / (1 - beta1^t), with t the step count, 1 at the first step).")
    return ""


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
