"""Correct modules written the ways honest students write them, each judged by the version of the text it answers
(the correct submission of tests/versions/builder.py with one class replaced): full marks, and the mistake that
looks like each style still loses. In-process, on the self-check's inputs, with the grader's own judges; the
command line grades some of them too (builder.ALTERNATIVES, tests/test_grader_versions.py).

What the texts say that these rest on:

* Inputs of magnitude 800: the course's texts (2017-2021) never ask ELU or SoftPlus to survive exp overflowing, and
  the course's own tests feed them inputs in [-5, 5]; SoftPlus written ``np.log1p(np.exp(x))`` is right there, its
  inf at 800 a note. The kit's text asks for ``np.logaddexp`` and ``np.minimum(x, 0)`` inside exp: a point lost.
* Conv2d's padding: the 2019-21 cell gives ``pad_size = self.kernel_size % 2`` and says to pad with it; that is the
  "same" padding its output shape asks for at kernel size 3, the only size the course's own test uses. That version
  is judged on kernel size 3 (batches of 1 and 2); the kit's text says p = k // 2 for every odd k.
"""
import textwrap

import nbformat
import pytest

from grader.selfcheck import results_for
from grader.selfcheck import versions as V
from grader.selfcheck.notebook import load_notebook
from versions import builder

COURSE = ("2017", "2018", "2019-21", "derivative")


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    """version -> the namespace of that version's correct submission (loaded once)."""
    root = tmp_path_factory.mktemp("styles")
    loaded = {}

    def load(version):
        if version not in loaded:
            path = root / f"{version}.ipynb"
            nbformat.write(builder.notebook(version), str(path))
            loaded[version] = dict(vars(load_notebook(path, name=f"styles_{version.replace('-', '_')}")))
        return dict(loaded[version])
    return load


def grade(submissions, version, target, code):
    """(points, maximum, {failed check: message}) of `target` once `code` (a class in the student's style) replaces
    the submission's own."""
    ns = submissions(version)
    exec(compile(textwrap.dedent(code), f"<{target} in a student's style>", "exec"), ns)
    results = results_for(ns, target, V.version(version))
    return sum(r.points for r in results), sum(r.max_points for r in results), \
        {r.name: r.message for r in results if not r.passed}, {r.name: r.message for r in results}


SOFTPLUS_LOG1P_EXP = '''
    class SoftPlus(Module):
        def updateOutput(self, input):
            self.output = np.log1p(np.exp(input))            # inf at 800: exp overflows
            return self.output

        def updateGradInput(self, input, gradOutput):
            e = np.exp(input)
            self.gradInput = gradOutput * e / (1 + e)        # inf / inf = nan at 800
            return self.gradInput
'''
ELU_MASK_ARITHMETIC = '''
    class ELU(Module):
        def __init__(self, alpha=1.0):
            super(ELU, self).__init__()
            self.alpha = alpha

        def updateOutput(self, input):
            positive = input > 0
            self.output = input * positive + self.alpha * (np.exp(input) - 1) * ~positive   # 0 * inf = nan at 800
            return self.output

        def updateGradInput(self, input, gradOutput):
            positive = input > 0
            self.gradInput = gradOutput * (positive + self.alpha * np.exp(input) * ~positive)
            return self.gradInput
'''


@pytest.mark.parametrize("version", COURSE)
@pytest.mark.parametrize("target, code", [("SoftPlus", SOFTPLUS_LOG1P_EXP), ("ELU", ELU_MASK_ARITHMETIC)],
                         ids=["softplus-log1p-exp", "elu-mask-arithmetic"])
def test_overflow_at_800_costs_nothing_where_the_course_text_does_not_ask(submissions, version, target, code):
    got, top, failed, messages = grade(submissions, version, target, code)
    assert (got, top) == (8, 8), failed
    [name] = [name for name in messages if "magnitude 800" in name]
    assert "a note" in name and "costs nothing" in messages[name] and "does not ask" in messages[name]


@pytest.mark.parametrize("target, code", [("SoftPlus", SOFTPLUS_LOG1P_EXP), ("ELU", ELU_MASK_ARITHMETIC)],
                         ids=["softplus-log1p-exp", "elu-mask-arithmetic"])
def test_overflow_at_800_still_costs_where_the_kit_text_asks_for_stable_formulas(submissions, target, code):
    got, top, failed, _ = grade(submissions, "kit", target, code)
    assert got < top and "finite for inputs 0 and of magnitude 800" in failed, failed


@pytest.mark.parametrize("version", ("2017", "2019-21"))
def test_a_nan_at_exactly_zero_or_a_wrong_value_at_50_still_fails_where_800_is_a_note(submissions, version):
    nan_at_zero = SOFTPLUS_LOG1P_EXP.replace("np.log1p(np.exp(input))", "np.log1p(np.exp(input)) * input / input")
    got, top, failed, _ = grade(submissions, version, "SoftPlus", nan_at_zero)
    assert got < top and any("0 and 50" in name for name in failed), failed
    wrong_when_large = SOFTPLUS_LOG1P_EXP.replace("np.log1p(np.exp(input))",
                                                  "np.where(input > 20, 20, np.log1p(np.exp(input)))")
    got, top, failed, _ = grade(submissions, version, "SoftPlus", wrong_when_large)
    assert got < top and any("0 and 50" in name for name in failed), failed


# Already full marks, kept so: the styles students write most, one class at a time.
FULL_MARKS = [
    ("ReLU", "np-maximum-into-a-reused-buffer", '''
        class ReLU(Module):
            def updateOutput(self, input):
                if self.output is None or self.output.shape != input.shape:
                    self.output = np.empty_like(input)
                np.maximum(input, 0, out=self.output)
                return self.output

            def updateGradInput(self, input, gradOutput):
                if self.gradInput is None or self.gradInput.shape != input.shape:
                    self.gradInput = np.empty_like(gradOutput)
                np.multiply(gradOutput, input > 0, out=self.gradInput)
                return self.gradInput
    ''', builder.VERSIONS),
    ("LeakyReLU", "slope-kept-as-negative_slope", '''
        class LeakyReLU(Module):
            def __init__(self, slope=0.03):
                super(LeakyReLU, self).__init__()
                self.negative_slope = slope

            def updateOutput(self, input):
                self.output = np.maximum(input, self.negative_slope * input)
                return self.output

            def updateGradInput(self, input, gradOutput):
                self.gradInput = gradOutput * np.where(input > 0, 1.0, self.negative_slope)
                return self.gradInput
    ''', COURSE),
    ("ELU", "boolean-index-assignment-expm1", '''
        class ELU(Module):
            def __init__(self, alpha=1.0):
                super(ELU, self).__init__()
                self.alpha = alpha

            def updateOutput(self, input):
                self.output = input.copy()
                negative = input <= 0
                self.output[negative] = self.alpha * np.expm1(input[negative])
                return self.output

            def updateGradInput(self, input, gradOutput):
                self.gradInput = gradOutput.copy()
                negative = input <= 0
                self.gradInput[negative] *= self.alpha * np.exp(input[negative])
                return self.gradInput
    ''', builder.VERSIONS),
    ("SoftMax", "scipy-softmax-and-the-whole-jacobian", '''
        import scipy.special

        class SoftMax(Module):
            def updateOutput(self, input):
                self.output = scipy.special.softmax(input, axis=1)
                return self.output

            def updateGradInput(self, input, gradOutput):
                s = self.output
                jacobian = np.einsum('ij,jk->ijk', s, np.eye(s.shape[1])) - np.einsum('ij,ik->ijk', s, s)
                self.gradInput = np.einsum('ijk,ik->ij', jacobian, gradOutput)
                return self.gradInput
    ''', COURSE),
    ("Sequential", "inputs-kept-in-a-list-and-zip-reversed", '''
        class Sequential(Sequential):
            def updateOutput(self, input):
                self.inputs = [input]
                for module in self.modules:
                    self.inputs.append(module.forward(self.inputs[-1]))
                self.output = self.inputs[-1]
                return self.output

            def backward(self, input, gradOutput):
                g = gradOutput
                for module, x in zip(reversed(self.modules), reversed(self.inputs[:-1])):
                    g = module.backward(x, g)
                self.gradInput = g
                return self.gradInput
    ''', builder.VERSIONS),
    ("Dropout", "np-random-choice-mask", '''
        class Dropout(Module):
            def __init__(self, p=0.5):
                super(Dropout, self).__init__()
                self.p = p
                self.mask = None

            def updateOutput(self, input):
                if self.training:
                    self.mask = np.random.choice([0, 1], size=input.shape, p=[self.p, 1 - self.p])
                    self.output = np.multiply(input, self.mask) / (1 - self.p)
                else:
                    self.output = input.copy()
                return self.output

            def updateGradInput(self, input, gradOutput):
                self.gradInput = np.multiply(gradOutput, self.mask) / (1 - self.p) if self.training else gradOutput.copy()
                return self.gradInput
    ''', ("2018", "2019-21", "kit")),
    ("SoftMax", "float32-throughout", '''
        class SoftMax(Module):
            def updateOutput(self, input):
                x = input.astype(np.float32)
                e = np.exp(x - x.max(axis=1, keepdims=True))
                self.output = e / e.sum(axis=1, keepdims=True)
                return self.output

            def updateGradInput(self, input, gradOutput):
                g = gradOutput.astype(np.float32)
                self.gradInput = self.output * (g - (g * self.output).sum(axis=1, keepdims=True))
                return self.gradInput
    ''', COURSE),
    ("ClassNLLCriterion", "clip-with-eps-1e-8", '''
        class {name}(Criterion):
            EPS = 1e-8

            def updateOutput(self, input, target):
                p = np.clip(input, self.EPS, 1 - self.EPS)
                self.output = -np.sum(target * np.log(p)) / input.shape[0]
                return self.output

            def updateGradInput(self, input, target):
                p = np.clip(input, self.EPS, 1 - self.EPS)
                self.gradInput = -target / p / input.shape[0]
                return self.gradInput
    ''', builder.VERSIONS),
]


@pytest.mark.parametrize("target, code, version", [(t, c, v) for t, _, c, versions in FULL_MARKS for v in versions],
                         ids=[f"{t}-{s}-{v}" for t, s, _, versions in FULL_MARKS for v in versions])
def test_a_correct_module_in_a_students_style_gets_full_marks(submissions, target, code, version):
    code = code.replace("{name}", V.version(version).class_name(target))
    got, top, failed, _ = grade(submissions, version, target, code)
    assert got == top, failed


CONV_TEMPLATE_PAD = '''
    import scipy.signal

    class Conv2d(Conv2d):
        def updateOutput(self, input):
            pad_size = self.kernel_size % 2                  # as the 2019-21 template gives it
            x = np.pad(input, ((0, 0), (0, 0), (pad_size, pad_size), (pad_size, pad_size)), mode='constant')
            self.output = np.array([[scipy.signal.correlate(image, kernel, mode='valid')[0] + bias
                                     for kernel, bias in zip(self.W, self.b)] for image in x])
            return self.output

        def updateGradInput(self, input, gradOutput):
            pad_size = self.kernel_size % 2
            g = np.pad(gradOutput, ((0, 0), (0, 0), (pad_size, pad_size), (pad_size, pad_size)), mode='constant')
            flipped = self.W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
            self.gradInput = np.array([[scipy.signal.correlate(image, kernel, mode='valid')[0] for kernel in flipped]
                                       for image in g])
            return self.gradInput

        def accGradParameters(self, input, gradOutput):
            pad_size = self.kernel_size % 2
            x = np.pad(input, ((0, 0), (0, 0), (pad_size, pad_size), (pad_size, pad_size)), mode='constant')
            self.gradW = np.array([[scipy.signal.correlate(x[:, c], gradOutput[:, o], mode='valid')[0]
                                    for c in range(self.W.shape[1])] for o in range(self.W.shape[0])])
            self.gradb = gradOutput.sum(axis=(0, 2, 3))
'''


def test_conv2d_padded_by_the_2019_templates_pad_size_gets_full_marks_by_that_text(submissions):
    got, top, failed, _ = grade(submissions, "2019-21", "Conv2d", CONV_TEMPLATE_PAD)
    assert (got, top) == (11, 11), failed


def test_conv2d_padded_by_kernel_size_mod_2_still_fails_where_the_text_says_k_over_2(submissions):
    got, top, failed, _ = grade(submissions, "kit", "Conv2d", CONV_TEMPLATE_PAD)
    assert got < top and "forward output" in failed, failed


def test_conv2d_judged_on_kernel_size_3_still_sees_the_batch(submissions):
    """Gradients of the first image only: wrong on the batch of 2 that kernel size 3 keeps."""
    first_image_only = CONV_TEMPLATE_PAD.replace("x[:, c], gradOutput[:, o]", "x[:1, c], gradOutput[:1, o]")
    got, top, failed, _ = grade(submissions, "2019-21", "Conv2d", first_image_only)
    assert "parameter gradients vs finite differences" in failed and "(2, 2, 3, 4)" in \
        failed["parameter gradients vs finite differences"], failed


# Dropout's backward written for training only (the mask of the last forward, None before any): the course's texts
# say "identity when testing" / "self.output = input" and their own tests never call backward in evaluation, so there
# only the evaluation's output is judged; the kit's text makes evaluation the identity both ways.
DROPOUT_BACKWARD_FOR_TRAINING_ONLY = '''
    class Dropout(Module):
        def __init__(self, p=0.5):
            super(Dropout, self).__init__()
            self.p = p
            self.mask = None

        def updateOutput(self, input):
            if self.training:
                self.mask = (np.random.uniform(size=input.shape) > self.p).astype(float)
                self.output = input * self.mask / (1 - self.p)
            else:
                self.output = input
            return self.output

        def updateGradInput(self, input, gradOutput):
            self.gradInput = gradOutput * self.mask / (1 - self.p)
            return self.gradInput
'''
DROPOUT_2017_BINOMIAL_P_KEEPS = '''
    class Dropout(Module):
        def __init__(self, p=0.5):
            super(Dropout, self).__init__()
            self.p = p

        def updateOutput(self, input):
            if self.training:
                self.mask = np.random.binomial(1, self.p, size=input.shape)
                self.output = input * self.mask
            else:
                self.output = input
            return self.output

        def updateGradInput(self, input, gradOutput):
            self.gradInput = gradOutput * self.mask
            return self.gradInput
'''


# A mask drawn on every forward, evaluation's too, that backward always multiplies by: evaluation's forward is the
# identity, its backward (never called by the course) masked.
DROPOUT_MASK_DRAWN_IN_EVERY_MODE = '''
    class Dropout(Module):
        def __init__(self, p=0.5):
            super(Dropout, self).__init__()
            self.keep = 1 - p

        def updateOutput(self, input):
            self.mask = np.random.binomial(1, self.keep, size=input.shape) / self.keep
            self.output = input * self.mask if self.training else input
            return self.output

        def updateGradInput(self, input, gradOutput):
            self.gradInput = gradOutput * self.mask
            return self.gradInput
'''


@pytest.mark.parametrize("version, code", [(v, DROPOUT_BACKWARD_FOR_TRAINING_ONLY) for v in COURSE[1:]]
                         + [(v, DROPOUT_MASK_DRAWN_IN_EVERY_MODE) for v in COURSE[1:]]
                         + [("2017", DROPOUT_2017_BINOMIAL_P_KEEPS)],
                         ids=[f"training-only-{v}" for v in COURSE[1:]] + [f"mask-every-mode-{v}" for v in COURSE[1:]]
                         + ["2017"])
def test_dropout_backward_for_training_only_gets_full_marks_where_the_text_gives_evaluation_forward_only(
        submissions, version, code):
    got, top, failed, messages = grade(submissions, version, "Dropout", code)
    assert (got, top) == (9, 9), failed
    assert "asks nothing of backward" in messages["evaluation: identity"]


@pytest.mark.parametrize("code", [DROPOUT_BACKWARD_FOR_TRAINING_ONLY, DROPOUT_MASK_DRAWN_IN_EVERY_MODE],
                         ids=["training-only", "mask-every-mode"])
def test_dropout_backward_for_training_only_still_fails_where_the_kit_text_makes_evaluation_the_identity(
        submissions, code):
    got, top, failed, _ = grade(submissions, "kit", "Dropout", code)
    assert got < top and "evaluation: identity" in failed, failed


def test_dropout_evaluation_output_still_judged_where_the_text_gives_the_forward_only(submissions):
    masked_in_evaluation = DROPOUT_BACKWARD_FOR_TRAINING_ONLY.replace(
        "self.output = input\n", "self.output = input * (1 - self.p)\n")
    got, top, failed, _ = grade(submissions, "2019-21", "Dropout", masked_in_evaluation)
    assert got < top and "evaluation: identity" in failed, failed


# BatchNormalization computed in float32 whatever the input (a real course solution's way: `input.astype(np.float32)`,
# `mean(dtype=np.float32)`): the course's texts say nothing of dtypes and their own tests feed float32 and compare to
# 1e-5, so its gradients are judged at float32's precision (the forward's tolerance) there, with a note; the kit's
# text asks to keep the input's dtype, where analytic (float64) precision stays the bar.
BATCHNORM_IN_FLOAT32 = '''
    class BatchNormalization(Module):
        EPS = 1e-3

        def __init__(self, alpha=0.):
            super(BatchNormalization, self).__init__()
            self.alpha = alpha
            self.moving_mean = None
            self.moving_variance = None

        def updateOutput(self, input):
            input = input.astype(np.float32)
            if self.training:
                batch_mean = input.mean(axis=0, dtype=np.float32)
                batch_variance = input.var(axis=0, dtype=np.float32)
                if self.moving_mean is None:
                    self.moving_mean, self.moving_variance = batch_mean, batch_variance
                self.moving_mean = self.moving_mean * self.alpha + batch_mean * (1 - self.alpha)
                self.moving_variance = self.moving_variance * self.alpha + batch_variance * (1 - self.alpha)
            else:
                batch_mean, batch_variance = self.moving_mean, self.moving_variance
            self.output = (input - batch_mean) / np.sqrt(batch_variance + self.EPS)
            return self.output

        def updateGradInput(self, input, gradOutput):
            x, g = input.astype(np.float32), gradOutput.astype(np.float32)
            n = np.float32(x.shape[0])
            s = np.sqrt(x.var(axis=0) + self.EPS)
            xhat = (x - x.mean(axis=0)) / s
            self.gradInput = (n * g - g.sum(axis=0) - xhat * (g * xhat).sum(axis=0)) / (n * s)
            return self.gradInput
'''


@pytest.mark.parametrize("version", COURSE[1:])
def test_batchnorm_computed_in_float32_gets_full_marks_where_the_text_says_nothing_of_dtypes(submissions, version):
    got, top, failed, messages = grade(submissions, version, "BatchNormalization", BATCHNORM_IN_FLOAT32)
    assert (got, top) == (7, 7), failed
    assert "judged at float32's precision" in messages["gradInput vs finite differences"]


def test_batchnorm_computed_in_float32_still_judged_at_float64_precision_where_the_kit_asks_to_keep_the_dtype(
        submissions):
    got, top, failed, _ = grade(submissions, "kit", "BatchNormalization", BATCHNORM_IN_FLOAT32)
    assert got < top and "gradInput vs finite differences" in failed, failed
    message = failed["gradInput vs finite differences"]   # the cause named: float32, not a numerical derivative
    assert "float32 for a float64 input" in message and "keep the input's dtype" in message, message
    assert "finite differences of the forward" not in message, message


FINITE_DIFFERENCE_IN_FLOAT32 = """self.gradInput = np.zeros_like(x)
            for i in np.ndindex(x.shape):
                step = np.zeros_like(x)
                step[i] = 1e-3
                self.gradInput[i] = np.sum(g * (self.updateOutput(x + step) - self.updateOutput(x - step))) / 2e-3"""


@pytest.mark.parametrize("mistake, old, new", [
    ("the xhat term's sum dropped", " - xhat * (g * xhat).sum(axis=0)", ""),
    ("a central difference of the float32 forward", "self.gradInput = (n * g - g.sum(axis=0) - xhat * (g * xhat).sum(axis=0)) / (n * s)",
     FINITE_DIFFERENCE_IN_FLOAT32)],
    ids=["formula", "finite-difference"])
def test_a_float32_gradient_still_fails_on_a_wrong_formula_or_a_finite_difference(submissions, mistake, old, new):
    assert old in BATCHNORM_IN_FLOAT32
    got, top, failed, _ = grade(submissions, "2019-21", "BatchNormalization", BATCHNORM_IN_FLOAT32.replace(old, new))
    assert got < top and "gradInput vs finite differences" in failed, (mistake, failed)


# Gradients kept under names of the student's own (dW, db), returned by getGradParameters(), which is what the
# optimizer updates with: judged on those arrays, in every version (the kit's text names gradW only as an example).
LINEAR_GRADIENTS_NAMED_DW_DB = '''
    class Linear(Module):
        def __init__(self, n_in, n_out):
            super(Linear, self).__init__()
            stdv = 1. / np.sqrt(n_in)
            self.W = np.random.uniform(-stdv, stdv, size=(n_out, n_in))
            self.b = np.random.uniform(-stdv, stdv, size=n_out)
            self.dW = np.zeros_like(self.W)
            self.db = np.zeros_like(self.b)

        def updateOutput(self, input):
            self.output = input @ self.W.T + self.b
            return self.output

        def updateGradInput(self, input, gradOutput):
            self.gradInput = gradOutput @ self.W
            return self.gradInput

        def accGradParameters(self, input, gradOutput):
            self.dW += gradOutput.T @ input
            self.db += gradOutput.sum(axis=0)

        def zeroGradParameters(self):
            self.dW.fill(0)
            self.db.fill(0)

        def getParameters(self):
            return [self.W, self.b]

        def getGradParameters(self):
            return [self.dW, self.db]
'''


@pytest.mark.parametrize("version", COURSE)
def test_linear_gradients_under_other_names_get_full_marks_when_getgradparameters_returns_them(submissions, version):
    got, top, failed, _ = grade(submissions, version, "Linear", LINEAR_GRADIENTS_NAMED_DW_DB)
    assert (got, top) == (11, 11), failed


def test_linear_gradients_under_other_names_still_judged_on_their_values(submissions):
    halved = LINEAR_GRADIENTS_NAMED_DW_DB.replace("self.dW += gradOutput.T @ input", "self.dW += gradOutput.T @ input / 2")
    got, top, failed, _ = grade(submissions, "2019-21", "Linear", halved)
    assert got < top and "parameter gradients vs finite differences" in failed, failed
    assert "gradW" not in failed["parameter gradients vs finite differences"]
