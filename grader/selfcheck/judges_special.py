"""The judges of what one kind of module does beyond the generic layer checks (:mod:`.judges`): Dropout's mask,
running statistics, the criterions, the optimizers, MaxPool2d's ties.

Where the homework leaves a choice (Dropout's random mask, where running statistics start, where Adam's eps goes)
the judge checks the documented property instead of the reference's numbers.
"""
import numpy as np

from grader.selfcheck import messages_special as M
from grader.selfcheck.cases import DROPOUT_P
from grader.selfcheck.optimizer_cases import OPTIMIZER_CONFIG, OPTIMIZER_STEPS
from grader.selfcheck.gradcheck import relative_error
from grader.selfcheck.judges import as_array, compare, criterion_changed
from grader.selfcheck import messages as MM
from grader.selfcheck.messages import case_label, method_of


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
        mask = y != 0
        ratio = y[mask] / expected["input"][mask]   # the kept units are the input times one factor (judged in the
        if ratio.size and not np.allclose(ratio, ratio[0], rtol=1e-6, atol=0):   # next check): not someone else's
            return False, M.dropout_not_masked(version, np.unique(np.round(ratio, 4))[:5])
        nonzero = expected["input"] != 0   # an input of 0 gives 0 whether kept or not: counted among the others
        kept = float(np.mean(mask[nonzero]))
        want = keep_fraction(version)
        sigma = np.sqrt(want * (1 - want) / nonzero.sum())
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
        x, g = expected["input"], expected["gradOutput"]
        known = x != 0   # where the input is 0 the output does not show the forward's mask
        if gi is None or as_array(gi).shape != x.shape or as_array(gi).dtype.kind not in "biuf":
            return False, M.dropout_backward_malformed(gi, x.shape)
        gi = as_array(gi).astype(np.float64)
        factor = np.where(known, y, 0.0) / np.where(known, x, 1.0)
        want = g * factor  # the forward's own mask, applied to gradOutput (0 where it cannot be read)
        err = relative_error(gi[known], want[known])
        if err > 1e-6:
            kept = y != 0
            if relative_error(gi[known], (g * kept)[known]) < 1e-6 and not np.allclose(want[known], (g * kept)[known]):
                return False, M.dropout_backward_unscaled(version, DROPOUT_P, want, gi)   # the mask, not its scale
            same_mask = np.array_equal((gi != 0)[known], (kept & (g != 0))[known])
            return False, M.dropout_mask_not_reused(version, err, want, gi, same_mask)
        y2 = got.get("second_output")
        if y2 is None or np.array_equal(as_array(y2) != 0, y != 0):
            return False, M.DROPOUT_SAME_MASK
        # At inputs of exactly 0 (after a ReLU many are) a mask read off the output drops the unit: wrong only
        # there, and harmless behind a ReLU, whose own backward zeroes those units -- a convention, as at a kink
        note = _dropout_at_zeros(version, gi[~known], g[~known], factor[y != 0], float(np.mean(y[known] != 0)),
                                 int(known.sum()))
        return True, M.DROPOUT_MASK_OK + (M.zeros_note(note) if note else "")
    return judge


def _dropout_at_zeros(version, gi, g, factors, want, n_known):
    """Where the input was exactly 0 the forward's mask still kept about the share `want` it kept of the other
    `n_known` units: backward passes gradOutput times the mask's factor through those, 0 through the others.
    Returns what differs there (for a note), or None."""
    if not gi.size or not factors.size:
        return None
    passed = gi != 0
    if not np.allclose(gi[passed], g[passed] * factors[0], rtol=1e-6, atol=0):
        return M.dropout_zeros_scaled(version, DROPOUT_P, factors[0], gi[passed][:5] / g[passed][:5])
    share = float(np.mean(passed | (g == 0)))
    if abs(share - want) > 6 * np.sqrt(want * (1 - want) * (1 / gi.size + 1 / n_known)):
        return M.dropout_zeros_dropped(version, DROPOUT_P, gi.size, share, want)
    return None


def judge_dropout_eval(version):
    """Evaluation is the identity. The kit's text makes it so for backward too; the course's texts say
    "self.output = input" and their tests never call backward in evaluation: there only the output is judged."""
    def judge(got, expected):
        pairs = (("output", expected["input"]), ("gradInput", expected["gradOutput"]))
        for name, want in pairs if version.eval_backward else pairs[:1]:
            value = got.get(name)
            if value is None or as_array(value).shape != want.shape or \
                    not np.allclose(as_array(value), want, rtol=1e-12, atol=0):
                return False, M.dropout_eval(name, value)
        return True, M.DROPOUT_EVAL_OK if version.eval_backward else M.DROPOUT_EVAL_FORWARD_OK
    return judge


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


def _changed_in_evaluation(got, expected, name, normalizes):
    """A message when evaluating the same test batch twice gave two outputs: evaluation moved the running
    statistics (read off the evaluation's outputs, a wrong training update would be blamed otherwise)."""
    for step in (0, 1):
        first, again = got.get(f"eval{step}"), got.get(f"eval{step}_again")
        if again is None or first is None:
            continue
        first, again = as_array(first), as_array(again)
        if first.shape != again.shape or not np.allclose(first, again, rtol=1e-9, atol=1e-12, equal_nan=True):
            return M.running_changed_in_evaluation(name, normalizes, expected["test"], first, again)
    return None


def judge_running_stats(target, version):
    """Moving averages between two batches, from whatever start; evaluation uses them."""
    name = version.class_name(target)
    normalizes = target == "BatchNormalization"

    def judge(got, expected):
        outputs, problem = _eval_outputs(got, expected, name)
        problem = problem or _changed_in_evaluation(got, expected, name, normalizes)
        if problem:
            return False, problem
        a, second, test = float(expected["alpha"]), expected["second"], expected["test"]
        fits = [_affine(test, y) for y in outputs]
        for (shift, scale, residual), step, output in zip(fits, ("first", "second"), outputs):
            if residual > 1e-6 or (not normalizes and not np.allclose(scale, 1, rtol=1e-6)):
                return False, M.running_not_affine(name, a, step, normalizes, test, output)
        (m1, s1, _), (m2, s2, _) = fits
        if relative_error(m1, test.mean(axis=0)) < 1e-6 and relative_error(m2, test.mean(axis=0)) < 1e-6:
            return False, M.running_uses_batch(name, normalizes)
        if version.first_batch_starts and not normalizes and relative_error(m1, expected["first"].mean(axis=0)) > 1e-6:
            return False, M.running_first_batch(name, a, expected["first"], m1)
        want = a * m1 + (1 - a) * second.mean(axis=0)
        if relative_error(m2, want) > 1e-6:
            swapped = relative_error(m2, (1 - a) * m1 + a * second.mean(axis=0)) < 1e-6
            return False, M.running_mean_wrong(name, a, second, m1, m2, want, swapped)
        if normalizes:
            inv1, inv2 = 1 / s1 ** 2, 1 / s2 ** 2   # running variance + EPS
            options = [a * inv1 + (1 - a) * second.var(axis=0, ddof=ddof) for ddof in (0, 1)]
            if min(relative_error(inv2, want_var) for want_var in options) > 1e-3:
                return False, M.running_variance_wrong(name, a, second.var(axis=0), inv1, inv2, options[0])
        return True, M.RUNNING_OK
    return judge


def judge_eval_backward(target, version):
    """In evaluation the statistics are constants: gradInput = gradOutput * scale, the scale read off the
    evaluation's own output (1 for BatchMeanSubtraction)."""
    name = version.class_name(target)
    normalizes = target == "BatchNormalization"

    def judge(got, expected):
        test, output, gi = expected["test"], got.get("output"), got.get("gradInput")
        if output is None or as_array(output).shape != test.shape or as_array(output).dtype.kind != "f" \
                or not np.all(np.isfinite(as_array(output))):
            return False, M.running_malformed(name, test.shape, output)
        _, scale, _ = _affine(test, as_array(output).astype(np.float64))
        want = expected["gradOutput"] * (scale if normalizes else 1.0)
        if gi is None or as_array(gi).shape != want.shape or as_array(gi).dtype.kind not in "biuf" \
                or not np.all(np.isfinite(as_array(gi))) or relative_error(gi, want) > 1e-6:
            return False, M.running_grad_wrong(name, normalizes, gi, want)
        return True, M.EVAL_BACKWARD_OK
    return judge


def judge_running_independent(target, version):
    name = version.class_name(target)

    def judge(got, expected):
        whole, alone = got.get("eval0"), got.get("alone")
        if whole is None or alone is None or as_array(alone).shape != (1, expected["test"].shape[1]):
            return False, M.running_alone_malformed(name, alone)
        if as_array(whole).shape != expected["test"].shape or as_array(whole).dtype.kind != "f":
            return False, M.running_malformed(name, expected["test"].shape, whole)
        changed = _changed_in_evaluation(got, expected, name, target == "BatchNormalization")
        if changed:
            return False, changed
        if relative_error(as_array(alone)[0], as_array(whole)[0]) > 1e-9:
            return False, M.running_depends_on_batch(name, alone, as_array(whole)[:1])
        # ... and the batch's output is the test batch itself shifted and scaled per feature, as fixed statistics
        # make it (the values, not only their agreement, come from this batch)
        with np.errstate(all="ignore"):
            residual = _affine(expected["test"], as_array(whole).astype(np.float64))[2]
        if not residual <= 1e-6:
            return False, M.independent_not_affine(name, residual)
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
            changed = criterion_changed(version, target, got, expected, case, label)
            if changed:
                return False, changed
            for what in ("loss", "gradInput"):
                returned, stored = got.get(f"{case}.{what}"), got.get(f"{case}.stored_{what}")
                if returned is None or stored is None or not np.array_equal(   # (nan equals nan here: one value)
                        np.asarray(returned, dtype=np.float64).ravel(), np.asarray(stored, dtype=np.float64).ravel(),
                        equal_nan=True):
                    attribute = "output" if what == "loss" else "gradInput"
                    return False, M.criterion_stored_differs(name, attribute, stored, returned, label)
        return True, M.CRITERION_CONTRACT_OK
    return judge


def judge_nll_zero(version):
    name = version.class_name("ClassNLLCriterion")

    def judge(got, expected):
        fed = got.get("input")
        for call, key in (("loss", "input_after_forward"), ("gradInput", "input_after_backward")):
            after = got.get(key)
            if fed is not None and after is not None and (as_array(after).shape != as_array(fed).shape
                                                          or not np.array_equal(as_array(after), as_array(fed))):
                return False, MM.criterion_modified(method_of(version, "ClassNLLCriterion", call), "input",
                                                    "probabilities 0 and 1 in some rows", fed, after)
        for what in ("loss", "gradInput"):
            value = got.get(what)
            if value is None or as_array(value).dtype.kind not in "fiu" or not np.all(np.isfinite(as_array(value))):
                return False, M.nll_not_finite(name, what, value)
        if float(np.asarray(got["loss"]).ravel()[0]) <= 0:
            return False, M.nll_not_positive(name, got["loss"])
        gi, want, rows = as_array(got["gradInput"]), expected["gradInput"], expected["ordinary"]
        if gi.shape != want.shape:
            return False, M.nll_not_finite(name, "gradInput", gi)
        err = relative_error(gi[rows], want[rows])
        if err > 1e-6:
            return False, M.nll_ordinary_rows(name, err, want[rows], gi[rows])
        return True, M.NLL_ZERO_OK
    return judge


# Optimizers.


def judge_optimizer(name, version):
    """sgd_momentum: the reference's numbers. adam_optimizer: either place of eps (see expected.expect_adam)."""
    shown = version.class_name(name)

    def judge(got, expected):
        variants = sorted({key.split(".")[0] for key in expected if not key.startswith(("step", "fed."))}) or [""]
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
        steps = [got.get(f"step{i}.{param}") for i in range(OPTIMIZER_STEPS)]
        unchanged = all(v is not None and np.array_equal(as_array(v), as_array(steps[0])) for v in steps)
        index, steps_fed = param[5:], int(step[4:]) + 1
        fed = (expected.get(f"fed.start.param{index}"),
               [expected.get(f"fed.step{s}.grad{index}") for s in range(steps_fed)])
        return False, M.optimizer_mismatch(shown, OPTIMIZER_CONFIG[name], steps_fed, index, err,
                                           expected[key], value, unchanged, fed)
    return judge


# MaxPool2d's ties.


def judge_maxpool_ties(version):
    """On a tie the kit's text (like argmax and PyTorch) gives the gradient to the first maximum in row-major
    order. The course's texts set no rule: there what happens on a tie is a note, and only a gradInput that is
    no array of the input's shape, or not finite, fails (the other checks judge the values off ties)."""
    name = version.class_name("MaxPool2d")

    def judge(got, expected):
        want, value, x = expected["gradInput"], got.get("gradInput"), expected["input"]
        problem = compare(version, "MaxPool2d", "gradInput on blocks with tied maxima", value, want, "case0", input=x,
                          grad_output=expected["gradOutput"], method=f"{name}.updateGradInput",
                          label=f"{name}(2) on an input of shape {x.shape}")
        if problem is None:
            return True, M.TIES_OK
        well_formed = value is not None and as_array(value).dtype.kind in "biuf" and as_array(value).shape == want.shape
        one_max = well_formed and _one_maximum_per_block(x, as_array(value), want)
        if not version.maxpool_first_tie and well_formed and np.all(np.isfinite(as_array(value))):
            return True, M.TIES_ANY_OK if one_max else M.ties_not_scored(name, x, as_array(value), want)
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
