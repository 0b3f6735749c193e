"""Typical mistakes and the first line a student reads about each.

Each row of MISTAKES is one mistake students make (forgot gradOutput, summed over the wrong axis, the
transposed gradient, a mean instead of a sum, no max subtraction, ...), made on purpose in the kit's
reference by editing one line. The self-check (the grader's own checks) must fail it, and the message of
the first failing check must name the module and the method, show what was fed in (the input, and the
gradOutput for a gradient) on a tiny case, what was expected and what came back; it states a likely
cause only when that is the only cause (`cause`), and never a cause that does not apply (`never`).
"""
import re

import nbformat
import pytest

from corpus import LINEAR_GRADW, mutate, reference
from grader.selfcheck.notebook import load_notebook
from grader.selfcheck import results_for

VALUES = r"(\[\[?\s*)?-?\d"   # a printed array or number: what a student compares with their own


class Mistake:
    def __init__(self, name, target, old, new, check, method, fed=("input", "gradOutput"), cause=None, never=(),
                 values=True):
        self.name, self.target, self.old, self.new = name, target, old, new
        self.check, self.method, self.fed, self.cause, self.never = check, method, fed, cause, never
        self.values = values  # expected and got are numbers (else: a dtype, None)


FWD, GRAD, PARAMS = "forward output", "gradInput vs finite differences", "parameter gradients vs finite differences"
SEQ_LOOP = ("        for i in range(len(self.modules) - 1, 0, -1):\n"
            "            # Module i was fed module i-1's output: that is its input here.\n"
            "            grad = self.modules[i].backward(self.modules[i - 1].output, grad)\n"
            "        self.gradInput = self.modules[0].backward(input, grad) if self.modules else grad\n")
MISTAKES = [
    Mistake("sequential: each module gets its own output in backward", "Sequential",
            "self.modules[i].backward(self.modules[i - 1].output, grad)", "self.modules[i].backward(self.modules[i].output, grad)",
            GRAD, "backward", cause="its own output"),
    Mistake("sequential: backward goes through the children first to last", "Sequential", SEQ_LOOP,
            "        inputs = [input] + [m.output for m in self.modules[:-1]]\n"
            "        for module, x in zip(self.modules, inputs):\n"
            "            grad = module.backward(x, grad)\n"
            "        self.gradInput = grad\n", GRAD, "backward", cause="(reversed)"),
    Mistake("sequential: backward runs the children's forward again", "Sequential", SEQ_LOOP,
            "        inputs = [input]\n"
            "        for module in self.modules[:-1]:\n"
            "            inputs.append(module.forward(inputs[-1]))\n"
            "        for module, x in zip(reversed(self.modules), reversed(inputs)):\n"
            "            grad = module.backward(x, grad)\n"
            "        self.gradInput = grad\n", GRAD, "backward", cause="runs the children's forward again"),
    Mistake("sequential: calls the children's updateGradInput, not backward", "Sequential",
            "self.modules[i].backward(self.modules[i - 1].output, grad)\n"
            "        self.gradInput = self.modules[0].backward(input, grad)",
            "self.modules[i].updateGradInput(self.modules[i - 1].output, grad)\n"
            "        self.gradInput = self.modules[0].updateGradInput(input, grad)",
            PARAMS, "backward", cause="call each child's backward", never=("use +=",)),
    Mistake("softmax: backward writes the gradient into self.output", "SoftMax",
            "        self.gradInput = s * (gradOutput - (gradOutput * s).sum(axis=1, keepdims=True))",
            "        s *= gradOutput - (gradOutput * s).sum(axis=1, keepdims=True)\n        self.gradInput = s",
            "stores output/gradInput, inputs untouched", "updateGradInput", fed=("input",),
            cause="backward changed self.output", never=("SoftMax.updateOutput",)),
    Mistake("dropout: backward multiplies by the mask without 1/(1-p)", "Dropout",
            "self.gradInput = gradOutput * self.mask if", "self.gradInput = gradOutput * (self.mask != 0) if",
            "backward reuses the forward mask", "updateGradInput", fed=(), cause="not by its scale 1/(1-p)",
            never=("does not reuse", "other units")),
    Mistake("nll on log-probabilities: log taken again (nan loss)", "ClassNLLLogCriterion",
            "self.output = -np.sum(target * input) / input.shape[0]",
            "self.output = -np.sum(target * np.log(input)) / input.shape[0]",
            "loss value", "updateOutput", fed=("input", "target"), values=False, never=("but the call returned",)),
    Mistake("batchmeansubtraction: the first batch weighted by 1 - alpha (a mean started at 0)", "BatchMeanSubtraction",
            "self.mean_weight = 1.  # d mean / d batch_mean: the first batch alone\n"
            "                self.old_mean = batch_mean",
            "self.mean_weight = 1. - self.alpha\n                self.old_mean = (1 - self.alpha) * batch_mean",
            "running mean: a moving average, subtracted in evaluation", "updateOutput", fed=("input",),
            cause="started from 0 instead of from the first batch"),
    Mistake("linear: bias off by a relative 1e-5 (values equal to four digits)", "Linear",
            "self.output += self.b.astype(input.dtype, copy=False)",
            "self.output += self.b.astype(input.dtype, copy=False) * (1 + 1e-5)", FWD, "updateOutput", fed=("input",)),
    Mistake("linear: gradInput forgot to multiply by gradOutput", "Linear",
            "self.gradInput = gradOutput @ self.W", "self.gradInput = np.ones_like(gradOutput) @ self.W", GRAD, "updateGradInput"),
    Mistake("linear: gradb is a mean, not a sum", "Linear",
            "self.gradb += gradOutput.sum(axis=0)", "self.gradb += gradOutput.mean(axis=0)", PARAMS, "accGradParameters"),
    Mistake("linear: gradW transposed", "Linear",
            LINEAR_GRADW, "        self.gradW += (input.T @ gradOutput).reshape(self.gradW.shape)\n",
            PARAMS, "accGradParameters"),
    Mistake("linear: forward forgot the bias", "Linear",
            "        self.output += self.b.astype(input.dtype, copy=False)\n", "", FWD, "updateOutput", fed=("input",)),
    Mistake("softmax: no row maximum subtracted", "SoftMax",
            "shifted = input - input.max(axis=1, keepdims=True)", "shifted = input.copy()",
            "stable for logits of magnitude 800", "updateOutput", fed=("input",), cause="subtract the row maximum"),
    Mistake("softmax: gradient summed over the batch axis", "SoftMax",
            "(gradOutput * s).sum(axis=1, keepdims=True)", "(gradOutput * s).sum(axis=0, keepdims=True)", GRAD, "updateGradInput"),
    Mistake("logsoftmax: log of a softmax that rounded to 0", "LogSoftMax",
            "self.output = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
            "self.output = np.log(np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True))",
            "stable for logits of magnitude 800", "updateOutput", fed=("input",), never=("subtract the row maximum",)),
    Mistake("logsoftmax: gradient summed over the batch axis", "LogSoftMax",
            "softmax * gradOutput.sum(axis=1, keepdims=True)", "softmax * gradOutput.sum(axis=0, keepdims=True)",
            GRAD, "updateGradInput"),
    Mistake("batchnorm: alpha and 1 - alpha swapped in the running averages", "BatchNormalization",
            "self.moving_mean = self.alpha * self.moving_mean + (1 - self.alpha) * mean",
            "self.moving_mean = (1 - self.alpha) * self.moving_mean + self.alpha * mean",
            "running statistics: moving averages, used in evaluation", "updateOutput", fed=("input",),
            cause="alpha and 1 - alpha are swapped"),
    Mistake("batchnorm: gradient treats the batch statistics as constants", "BatchNormalization",
            "self.gradInput = (self.inv_std / n) * (\n            n * gradOutput - gradOutput.sum(axis=0) - x_hat * (gradOutput * x_hat).sum(axis=0))",
            "self.gradInput = gradOutput * self.inv_std", GRAD, "updateGradInput"),
    Mistake("channelwisescaling: gradGamma forgot the input", "ChannelwiseScaling",
            "self.gradGamma += (gradOutput * input).sum(axis=0)", "self.gradGamma += gradOutput.sum(axis=0)",
            PARAMS, "accGradParameters"),
    Mistake("dropout: kept units not rescaled", "Dropout", " / input.dtype.type(1 - self.p)", "",
            "training: kept units scaled by 1/(1-p)", "updateOutput", fed=()),
    Mistake("batchmeansubtraction: gradient ignores the batch mean", "BatchMeanSubtraction",
            "self.gradInput = gradOutput - self.mean_weight * gradOutput.mean(axis=0)", "self.gradInput = gradOutput.copy()",
            GRAD, "updateGradInput"),
    Mistake("relu: gradient forgot gradOutput", "ReLU",
            "self.gradInput = gradOutput * (input > 0)", "self.gradInput = (input > 0).astype(input.dtype)",
            GRAD, "updateGradInput"),
    Mistake("relu: output not stored", "ReLU",
            "self.output = np.maximum(input, 0)", "return np.maximum(input, 0)",
            "stores output/gradInput, inputs untouched", "updateOutput", fed=("input",), values=False,
            never=("modified gradOutput in place", "modified its input in place")),
    Mistake("relu: output flattened", "ReLU", "self.output = np.maximum(input, 0)",
            "self.output = np.maximum(input, 0).ravel()", FWD, "updateOutput", fed=("input",), values=False,
            never=("modified gradOutput in place", "modified its input in place")),
    Mistake("leakyrelu: slope without gradOutput", "LeakyReLU",
            "np.where(input > 0, gradOutput, gradOutput * self.slope)", "np.where(input > 0, gradOutput, self.slope)",
            GRAD, "updateGradInput"),
    Mistake("elu: gradient drops alpha", "ELU",
            "gradOutput * (self.alpha * np.exp(negative))", "gradOutput * np.exp(negative)", GRAD, "updateGradInput"),
    Mistake("softplus: log(1 + exp(x)) overflows", "SoftPlus",
            "self.output = np.logaddexp(0, input)", "self.output = np.log(1 + np.exp(input))",
            FWD, "updateOutput", fed=("input",)),
    Mistake("sigmoid: derivative without (1 - s)", "Sigmoid",
            "gradOutput * self.output * (1 - self.output)", "gradOutput * self.output", GRAD, "updateGradInput"),
    Mistake("tanh: 1 - y instead of 1 - y^2", "Tanh", "(1 - self.output ** 2)", "(1 - self.output)", GRAD, "updateGradInput"),
    Mistake("tanh: float64 output for a float32 input (no parameters)", "Tanh",
            "self.output = np.tanh(input)", "self.output = np.tanh(input.astype(np.float64))",
            "float32 stays float32", "updateOutput", fed=("input",), never=("cast the parameters",), values=False),
    Mistake("flatten: gradient reshaped in the wrong order", "Flatten",
            "gradOutput.reshape(input.shape)", "gradOutput.reshape(input.shape[::-1]).T", GRAD, "updateGradInput"),
    Mistake("conv2d: kernel not flipped in backward", "Conv2d", "self.W[:, :, ::-1, ::-1]", "self.W", GRAD, "updateGradInput"),
    Mistake("maxpool2d: the last maximum of a tie gets the gradient", "MaxPool2d",
            "for position in range(len(blocks) - 1):\n"
            "            no_max_yet &= blocks[position] != self.output\n"
            "            self.max_indices += no_max_yet\n",
            # a scan that overwrites the index at every maximum: the last one wins
            "for position in range(len(blocks)):\n"
            "            self.max_indices = np.where(blocks[position] == self.output, position, self.max_indices)\n",
            "ties: the first maximum gets the gradient", "updateGradInput"),
    Mistake("mse: gradient without 1/N", "MSECriterion", "* (2. / input.shape[0])", "* 2.", GRAD, "updateGradInput",
            fed=("input", "target")),
    Mistake("nll: gradient sign flipped", "ClassNLLCriterion", "self.gradInput = (-target / clipped",
            "self.gradInput = (target / clipped", GRAD, "updateGradInput", fed=("input", "target")),
    Mistake("nll on log-probabilities: loss summed, not averaged over the batch", "ClassNLLLogCriterion",
            "self.output = -np.sum(target * input) / input.shape[0]", "self.output = -np.sum(target * input)",
            "loss value", "updateOutput", fed=("input", "target")),
    Mistake("adam: no bias correction", "adam_optimizer", " / (1 - beta1 ** state['t'])", "",
            "3 steps match the update rule", "adam_optimizer", fed=()),
]


def first_failure(mistake, tmp_path):
    path = tmp_path / "HW3_Modules.ipynb"
    nbformat.write(mutate(reference(), mistake.target, mistake.old, mistake.new), str(path))
    ns = vars(load_notebook(path, name=f"mistake_{abs(hash(mistake.name))}"))
    failed = [r for r in results_for(ns, mistake.target) if not r.passed]
    assert failed, f"{mistake.name}: every check of {mistake.target} passed"
    return failed


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_the_first_failing_line_teaches(mistake, tmp_path):
    failing = first_failure(mistake, tmp_path)
    result = failing[0]
    first = result.message.splitlines()[0] if result.message else ""
    text = result.message
    assert result.name == mistake.check, f"{mistake.name}: first failing check {result.name!r}: {text}"
    assert mistake.target in first, f"the first line does not name {mistake.target}: {first}"
    assert mistake.method in first, f"the first line does not name the method {mistake.method}: {first}"
    for what in mistake.fed:
        assert re.search(rf"\b{what}\b[^.]*?{VALUES}", text), f"the message does not show the {what} fed in: {text}"
    if mistake.fed and mistake.values:
        assert re.search(rf"[Ee]xpected[^.]*?{VALUES}", text) and re.search(rf"got[^.]*?{VALUES}", text), text
    elif mistake.fed:
        assert re.search(r"[Ee]xpected .+, got ", text), text
    if mistake.cause:
        assert mistake.cause in text, f"the only cause ({mistake.cause}) is not named: {text}"
    for wrong in mistake.never:   # on no row: a later row may be read too
        for row in failing:
            assert wrong not in row.message, f"{mistake.name}: {row.name!r} names a cause that does not apply: {row.message}"


def test_the_table_covers_every_scored_module():
    from grader.selfcheck import CHECKS
    scored = {c.target for c in CHECKS if c.points}
    assert scored <= {m.target for m in MISTAKES}, scored - {m.target for m in MISTAKES}
    assert len(MISTAKES) >= 20


def test_expected_and_got_never_print_alike(tmp_path):
    """Values that differ by less than the fourth digit are printed with the digits where they differ."""
    [mistake] = [m for m in MISTAKES if m.name.startswith("linear: bias off by a relative 1e-5")]
    message = first_failure(mistake, tmp_path)[0].message
    expected = re.search(r"Expected (.*?), got (.*?) \(relative error", message)
    assert expected and expected.group(1) != expected.group(2), message


def test_a_transposed_derivative_is_shown_as_the_shape_error_it_is():
    """The differentiation judge reads a rectangular case first: a transposed answer is told by its shape, with
    expected and got shapes, not as a relative error on a square case."""
    import numpy as np
    from grader.parts import differentiation as D
    from grader import selfcheck as C
    expected = D.expected(11)["ex2"]
    transposed = {key: np.asarray(value).T for key, value in expected.items()}
    passed, message = D.judge("ex2", {"ok": True, "values": C.encode(transposed)}, expected)
    assert not passed
    assert re.search(r"has shape \(\d+, \d+\), expected \(\d+, \d+\): the transpose's shape", message), message
    wrong = {key: np.asarray(value) * 1.5 for key, value in expected.items()}
    passed, message = D.judge("ex2", {"ok": True, "values": C.encode(wrong)}, expected)
    assert not passed and re.search(r"expected .*\d.*, got .*\d", message), message
