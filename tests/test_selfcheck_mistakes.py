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
from student_style import student_style
from grader.selfcheck.notebook import load_notebook
from grader.selfcheck import results_for

VALUES = r"(\[\[?\s*)?-?\d"   # a printed array or number: what a student compares with their own


class Mistake:
    """`old` -> `new` in the cell of `target` (or `old` a list of such (old, new) pairs, `new` None); `base`: the
    class whose solution is first replaced by the student-style one of tests/student_style.py."""
    def __init__(self, name, target, old, new, check, method, fed=("input", "gradOutput"), cause=None, never=(),
                 values=True, base=None):
        self.name, self.target, self.old, self.new, self.base = name, target, old, new, base
        self.check, self.method, self.fed, self.cause, self.never = check, method, fed, cause, never
        self.values = values  # expected and got are numbers (else: a dtype, None)

    def notebook(self):
        nb = student_style(reference(), self.base) if self.base else reference()
        for old, new in (self.old if isinstance(self.old, list) else [(self.old, self.new)]):
            nb = mutate(nb, self.target, old, new)
        return nb


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
            GRAD, "updateGradInput"),   # its first batch's gradient, then its running mean (that row names the cause)
    Mistake("linear: bias off by a relative 1e-5 (values equal to four digits)", "Linear",
            "self.output += self.b.astype(input.dtype, copy=False)",
            "self.output += self.b.astype(input.dtype, copy=False) * (1 + 1e-5)", FWD, "updateOutput", fed=("input",)),
    Mistake("linear: gradInput forgot to multiply by gradOutput", "Linear",
            "self.gradInput = gradOutput @ self.W", "self.gradInput = np.ones_like(gradOutput) @ self.W", GRAD, "updateGradInput"),
    Mistake("linear: gradb is a mean, not a sum", "Linear",
            "self.gradb += gradOutput.sum(axis=0)", "self.gradb += gradOutput.mean(axis=0)", PARAMS, "accGradParameters",
            cause="divided by 5, the batch size N"),
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
            "        for a in range(k):\n"
            "            for b in range(k):\n"
            "                np.equal(",
            # the block's elements scanned from the last: of tied maxima, the last one gets the gradient
            "        for a in reversed(range(k)):\n"
            "            for b in reversed(range(k)):\n"
            "                np.equal(",
            "ties: the first maximum gets the gradient", "updateGradInput"),
    Mistake("mse: gradient without 1/N", "MSECriterion", "* (2. / input.shape[0])", "* 2.", GRAD, "updateGradInput",
            fed=("input", "target"), cause="the batch size N: divide by N once"),
    Mistake("mse: gradient without its factor 2", "MSECriterion", "* (2. / input.shape[0])", "* (1. / input.shape[0])",
            GRAD, "updateGradInput", fed=("input", "target"), cause="times 0.5: a factor 2 is missing"),
    Mistake("nll: gradient sign flipped", "ClassNLLCriterion", "self.gradInput = (-target / clipped",
            "self.gradInput = (target / clipped", GRAD, "updateGradInput", fed=("input", "target"),
            cause="with the sign flipped"),
    Mistake("nll on log-probabilities: loss summed, not averaged over the batch", "ClassNLLLogCriterion",
            "self.output = -np.sum(target * input) / input.shape[0]", "self.output = -np.sum(target * input)",
            "loss value", "updateOutput", fed=("input", "target"), cause="the batch size N: divide by N once"),
    Mistake("adam: no bias correction", "adam_optimizer", " / (1 - beta1 ** state['t'])", "",
            "3 steps match the update rule", "adam_optimizer", fed=(), cause="the 1 / (1 - beta1^t) of the bias correction"),
    Mistake("adam: no bias correction at all (lr_t = learning_rate)", "adam_optimizer",
            "lr_t = config['learning_rate'] * (1 - beta2 ** state['t']) ** 0.5 / (1 - beta1 ** state['t'])",
            "lr_t = config['learning_rate']", "3 steps match the update rule", "adam_optimizer", fed=(),
            cause="the bias correction sqrt(1 - beta2^t) / (1 - beta1^t) is missing"),
]


# A fresh student with the release (issue 21): mistakes not in the table above, each a small edit of the reference
# (or of a student-style solution), whose first message was judged from the student's side; the causes asserted
# are those of the messages as fixed (the table's `never`: the misleading words they once had).
FRESH = [
    Mistake('linear: forward x @ W instead of x @ W.T', 'Linear', 'self.output = input @ W.T',
            'self.output = input @ W', FWD, 'forward', fed=(),
            cause='(at `self.output = input @ W`, in updateOutput)'),
    Mistake('linear: gradInput with W.T', 'Linear', 'gradOutput @ self.W.astype(gradOutput.dtype, copy=False)',
            'gradOutput @ self.W.T.astype(gradOutput.dtype, copy=False)', GRAD, 'backward', fed=(),
            cause='in updateGradInput) when the grader called Linear(4, 3).backward'),
    Mistake('linear: gradb summed over axis 1', 'Linear', 'self.gradb += gradOutput.sum(axis=0)',
            'self.gradb += gradOutput.sum(axis=1)', GRAD, 'backward', fed=(), cause='in accGradParameters)'),
    Mistake('linear: gradW from self.output instead of input', 'Linear',
            [('np.matmul(gradOutput.T, input, out=self.gradW)', 'self.gradW += gradOutput.T @ self.output'),
             ('self.gradW += gradOutput.T @ input', 'self.gradW += gradOutput.T @ self.output')],
            None, GRAD, 'backward', fed=(), cause='in accGradParameters)'),
    Mistake('linear: gradb assigned, not accumulated', 'Linear', 'self.gradb += gradOutput.sum(axis=0)',
            'self.gradb = gradOutput.sum(axis=0)', 'gradients accumulate, zeroGradParameters resets',
            'accGradParameters', fed=(), cause='use += in accGradParameters'),
    Mistake('softmax: normalised over the batch axis', 'SoftMax', 'shifted /= shifted.sum(axis=1, keepdims=True)',
            'shifted /= shifted.sum(axis=0, keepdims=True)', FWD, 'updateOutput', fed=('input',)),
    Mistake('softmax: keepdims forgotten in the normalisation', 'SoftMax',
            'shifted /= shifted.sum(axis=1, keepdims=True)',
            'shifted = shifted / shifted.sum(axis=1)',
            FWD, 'forward', fed=()),
    Mistake('softmax: one maximum of the whole batch subtracted', 'SoftMax',
            'shifted = input - input.max(axis=1, keepdims=True)', 'shifted = input - input.max()',
            'stable for logits of magnitude 800', 'updateOutput', fed=('input',),
            cause="Subtract each row's own maximum", never=('exp overflowed',)),
    Mistake('softmax: backward uses the diagonal only s(1-s)g', 'SoftMax',
            'self.gradInput = s * (gradOutput - (gradOutput * s).sum(axis=1, keepdims=True))',
            'self.gradInput = s * (1 - s) * gradOutput', GRAD, 'updateGradInput'),
    Mistake('softmax: backward forgot keepdims', 'SoftMax', '(gradOutput * s).sum(axis=1, keepdims=True)',
            '(gradOutput * s).sum(axis=1)', GRAD, 'backward', fed=(), cause='in updateGradInput)'),
    Mistake('logsoftmax: backward without the softmax factor', 'LogSoftMax',
            'gradOutput - softmax * gradOutput.sum(axis=1, keepdims=True)',
            'gradOutput - gradOutput.sum(axis=1, keepdims=True)', GRAD, 'updateGradInput'),
    Mistake('logsoftmax: backward uses log-probabilities as probabilities', 'LogSoftMax',
            'softmax = np.exp(self.output)', 'softmax = self.output', GRAD, 'updateGradInput'),
    Mistake('logsoftmax: forward without keepdims', 'LogSoftMax',
            'np.log(np.exp(shifted).sum(axis=1, keepdims=True))', 'np.log(np.exp(shifted).sum(axis=1))', FWD,
            'forward', fed=()),
    Mistake('batchnorm: EPS outside the square root', 'BatchNormalization', 'np.sqrt(var + self.EPS)',
            '(np.sqrt(var) + self.EPS)', FWD, 'updateOutput', fed=('input',)),
    Mistake('batchnorm: unbiased variance (ddof=1)', 'BatchNormalization', 'var = input.var(axis=0)',
            'var = input.var(axis=0, ddof=1)', FWD, 'updateOutput', fed=('input',)),
    Mistake('batchnorm: running statistics updated in evaluation', 'BatchNormalization',
            '            mean, var = self.moving_mean, self.moving_variance\n',
            '            self.moving_mean = self.alpha * self.moving_mean + (1 - self.alpha) * input.mean(axis=0)\n'
            '            self.moving_variance = self.alpha * self.moving_variance + (1 - self.alpha) * input.var(axis=0)\n'
            '            mean, var = self.moving_mean, self.moving_variance\n',
            'running statistics: moving averages, used in evaluation', 'updateOutput', fed=('input',),
            cause='Evaluation changed the running mean and variance', never=('alpha * old',)),
    Mistake('batchnorm: batch size read from axis 1', 'BatchNormalization', 'n = input.shape[0]',
            'n = input.shape[1]', GRAD, 'updateGradInput'),
    Mistake('batchnorm: backward without the x_hat term', 'BatchNormalization',
            ' - x_hat * (gradOutput * x_hat).sum(axis=0))', ')', GRAD, 'updateGradInput'),
    Mistake('scaling: gradBeta is a mean', 'ChannelwiseScaling', 'self.gradBeta += gradOutput.sum(axis=0)',
            'self.gradBeta += gradOutput.mean(axis=0)', PARAMS, 'accGradParameters'),
    Mistake('scaling: gradInput forgot gamma', 'ChannelwiseScaling',
            'self.gradInput = gradOutput * self.gamma.astype(gradOutput.dtype, copy=False)',
            'self.gradInput = gradOutput.copy()', GRAD, 'updateGradInput'),
    Mistake('scaling: beta added before scaling', 'ChannelwiseScaling',
            'self.output = input * self.gamma.astype(input.dtype, copy=False)\n'
            '        self.output += self.beta.astype(input.dtype, copy=False)',
            'self.output = (input + self.beta) * self.gamma', FWD, 'updateOutput', fed=('input',)),
    Mistake('dropout: p read as the probability of keeping', 'Dropout',
            'keep = np.random.random_sample(input.shape) >= self.p',
            'keep = np.random.random_sample(input.shape) < self.p', 'training: kept fraction about 1-p',
            'updateOutput', fed=()),
    Mistake('dropout: backward multiplies by the mask in evaluation too', 'Dropout',
            'self.gradInput = gradOutput * self.mask if self.training else gradOutput',
            'self.gradInput = gradOutput * self.mask', 'evaluation: identity', 'backward', fed=(),
            cause=') in evaluation mode'),
    Mistake('dropout: forward multiplies the input in place', 'Dropout', 'self.output = input * self.mask',
            'input *= self.mask\n            self.output = input', 'stores output/gradInput, inputs untouched',
            'updateOutput', fed=(), cause='Dropout.updateOutput modified its input in place'),
    Mistake('bms: alpha weighs the new batch', 'BatchMeanSubtraction',
            'self.old_mean = self.alpha * self.old_mean + self.mean_weight * batch_mean',
            'self.old_mean = (1 - self.alpha) * self.old_mean + self.alpha * batch_mean',
            'running mean: a moving average, subtracted in evaluation', 'updateOutput', fed=('input',),
            cause='alpha and 1 - alpha are swapped'),
    Mistake('bms: the first batch\'s gradient weighted by 1 - alpha (the text says alpha = 0 on it)',
            'BatchMeanSubtraction', 'self.mean_weight = 1.  # d mean / d batch_mean: the first batch alone',
            'self.mean_weight = 1. - self.alpha', GRAD, 'updateGradInput'),
    Mistake('bms: gradient mean over the feature axis', 'BatchMeanSubtraction',
            'self.mean_weight * gradOutput.mean(axis=0)',
            'self.mean_weight * gradOutput.mean(axis=1, keepdims=True)', GRAD, 'updateGradInput'),
    Mistake('bms: running mean updated in evaluation', 'BatchMeanSubtraction',
            '        self.output = input - self.old_mean.astype(input.dtype, copy=False)',
            '        if not self.training:\n'
            '            self.old_mean = self.alpha * self.old_mean + (1 - self.alpha) * input.mean(axis=0)\n'
            '        self.output = input - self.old_mean.astype(input.dtype, copy=False)',
            'running mean: a moving average, subtracted in evaluation', 'updateOutput', fed=('input',),
            cause='Evaluation changed the running mean', never=('the first batch starts',)),
    Mistake('relu: backward zeroes gradOutput in place', 'ReLU', 'self.gradInput = gradOutput * (input > 0)',
            'gradOutput[input <= 0] = 0\n        self.gradInput = gradOutput',
            'stores output/gradInput, inputs untouched', 'updateGradInput', fed=(),
            cause='modified gradOutput in place'),
    Mistake('leakyrelu: forward max(x, slope)', 'LeakyReLU', 'np.where(input > 0, input, input * self.slope)',
            'np.maximum(input, self.slope)', FWD, 'updateOutput', fed=('input',)),
    Mistake('leakyrelu: slope hard-coded 0.03', 'LeakyReLU',
            [('input * self.slope', 'input * 0.03'), ('gradOutput * self.slope', 'gradOutput * 0.03')], None, FWD,
            'updateOutput', fed=('input',)),
    Mistake('elu: forward alpha*exp(x) without -1', 'ELU', 'self.alpha * np.expm1(negative)',
            'self.alpha * np.exp(negative)', FWD, 'updateOutput', fed=('input',)),
    Mistake('elu: backward branches swapped', 'ELU',
            'np.where(input > 0, gradOutput, gradOutput * (self.alpha * np.exp(negative)))',
            'np.where(input < 0, gradOutput, gradOutput * (self.alpha * np.exp(negative)))', GRAD, 'updateGradInput'),
    Mistake('softplus: derivative sigmoid(-x)', 'SoftPlus', 'gradOutput * sigmoid(input)',
            'gradOutput * sigmoid(-input)', GRAD, 'updateGradInput'),
    Mistake('softplus: backward forgot gradOutput', 'SoftPlus', 'gradOutput * sigmoid(input)', 'sigmoid(input)',
            GRAD, 'updateGradInput'),
    Mistake('sigmoid: derivative from the input, not the output', 'Sigmoid',
            'gradOutput * self.output * (1 - self.output)', 'gradOutput * input * (1 - input)', GRAD,
            'updateGradInput'),
    Mistake('sigmoid: gradInput kept in a local, not stored', 'Sigmoid',
            'self.gradInput = gradOutput * self.output * (1 - self.output)',
            'gradInput = gradOutput * self.output * (1 - self.output)', GRAD, 'updateGradInput', fed=(),
            cause='assign it to self.gradInput', never=('is not implemented',)),
    Mistake('tanh: derivative 1/cosh(x), square forgotten', 'Tanh', '(1 - self.output ** 2)', '(1 / np.cosh(input))',
            GRAD, 'updateGradInput'),
    Mistake('sequential: forward feeds every child the input', 'Sequential', 'output = module.forward(output)',
            'output = module.forward(input)', FWD, 'forward', fed=('input',)),
    Mistake('sequential: backward skips the first child', 'Sequential',
            'self.gradInput = self.modules[0].backward(input, grad) if self.modules else grad',
            'self.gradInput = grad', GRAD, 'backward', cause='backward stopped before the first child',
            never=('not updateGradInput alone',)),
    Mistake("sequential: forward stores the first child's output", 'Sequential', '        self.output = output\n',
            '        self.output = self.modules[0].output\n', FWD, 'forward', fed=('input',)),
    Mistake('flatten: channels last before flattening', 'Flatten', 'self.output = input.reshape(len(input), -1)',
            'self.output = np.moveaxis(input, 1, -1).reshape(len(input), -1)', FWD, 'updateOutput', fed=('input',)),
    Mistake('flatten: backward returns gradOutput unreshaped', 'Flatten',
            'self.gradInput = gradOutput.reshape(input.shape)', 'self.gradInput = gradOutput', GRAD,
            'updateGradInput'),
    Mistake('logsoftmax: backward subtracts in place from gradOutput', 'LogSoftMax',
            'self.gradInput = gradOutput - softmax * gradOutput.sum(axis=1, keepdims=True)',
            'self.gradInput = gradOutput\n        self.gradInput -= softmax * gradOutput.sum(axis=1, keepdims=True)',
            'stores output/gradInput, inputs untouched', 'updateGradInput', fed=(),
            cause='modified gradOutput in place'),
    Mistake('batchnorm: evaluation normalises each row (axis=1)', 'BatchNormalization',
            'mean, var = self.moving_mean, self.moving_variance',
            'mean, var = input.mean(axis=1, keepdims=True), input.var(axis=1, keepdims=True)',
            'running statistics: moving averages, used in evaluation', 'updateOutput', fed=('input',),
            cause='which no such per-feature statistics give', never=('could not be read',), values=False),
    Mistake('elu: alpha left out of the forward', 'ELU', 'self.alpha * np.expm1(negative)', 'np.expm1(negative)',
            FWD, 'updateOutput', fed=('input',)),
    Mistake('sigmoid: e^x / (1 + e^x), nan at +800 (backward right, from the stored output)', 'Sigmoid',
            'self.output = sigmoid(input)', 'self.output = np.exp(input) / (1 + np.exp(input))', FWD, 'updateOutput',
            fed=('input',), cause='avoid dividing by the input or exp of a large positive number'),
    Mistake('sigmoid: output stored under another name', 'Sigmoid', 'self.output = sigmoid(input)',
            'self.out = sigmoid(input)', FWD, 'updateOutput', fed=(), cause='assign it to self.output',
            never=('is not implemented',)),
    Mistake('mse: target modified in place', 'MSECriterion', 'diff = input - target.astype(input.dtype, copy=False)',
            'target -= input\n        diff = -target', GRAD, 'updateOutput', fed=(),
            cause='MSECriterion.updateOutput modified its target in place'),
    Mistake('nll: probabilities clipped in place', 'ClassNLLCriterion',
            '        clipped = np.clip(input, self.EPS, 1 - self.EPS)\n        self.output',
            '        clipped = np.clip(input, self.EPS, 1 - self.EPS, out=input)\n        self.output',
            'finite for probabilities 0 and 1', 'updateOutput', fed=(),
            cause='ClassNLLCriterion.updateOutput modified its input in place'),
    Mistake('mse: mean over every element', 'MSECriterion', 'self.output = np.sum(diff * diff) / input.shape[0]',
            'self.output = np.mean(diff * diff)', 'loss value', 'updateOutput', fed=('input', 'target'),
            cause='divided by 4, the number of entries of the input'),
    Mistake('mse: gradient sign flipped (target - input)', 'MSECriterion',
            '(input - target.astype(input.dtype, copy=False)) * (2. / input.shape[0])',
            '(target - input) * (2. / input.shape[0])', GRAD, 'updateGradInput', fed=('input', 'target'),
            cause='with the sign flipped'),
    Mistake('nll: loss not divided by the batch size', 'ClassNLLCriterion',
            'self.output = -np.sum(target * np.log(clipped)) / input.shape[0]',
            'self.output = -np.sum(target * np.log(clipped))', 'loss value', 'updateOutput', fed=('input', 'target')),
    Mistake('nll: gradient without 1/N', 'ClassNLLCriterion', '(-target / clipped / input.shape[0])',
            '(-target / clipped)', GRAD, 'updateGradInput', fed=('input', 'target')),
    Mistake('nll-log: gradient -t/x as for probabilities', 'ClassNLLLogCriterion', '(-target / input.shape[0])',
            '(-target / input / input.shape[0])', GRAD, 'updateGradInput', fed=('input', 'target')),
    Mistake('nll-log: loss ignores the target', 'ClassNLLLogCriterion', '-np.sum(target * input) / input.shape[0]',
            '-np.sum(input) / input.shape[0]', 'loss value', 'updateOutput', fed=('input', 'target')),
    Mistake('conv2d: padding forgotten when cropping gradInput', 'Conv2d',
            'self.gradInput = gx[:, :, p:p + h, p:p + w]', 'self.gradInput = gx[:, :, :h, :w]', GRAD,
            'updateGradInput', base='Conv2d'),
    Mistake('conv2d: gradb a mean over the batch', 'Conv2d', 'self.gradb += gradOutput.sum(axis=(0, 2, 3))',
            'self.gradb += gradOutput.sum(axis=(2, 3)).mean(axis=0)', PARAMS, 'accGradParameters', base='Conv2d'),
    Mistake('conv2d: bias added along the rows (b[:, None])', 'Conv2d',
            'self.b.astype(input.dtype)[None, :, None, None]', 'self.b.astype(input.dtype)[:, None]', FWD, 'forward',
            fed=(), cause='in updateOutput)', base='Conv2d'),
    Mistake('conv2d: true convolution (kernel flipped in forward)', 'Conv2d',
            'x[:, :, a:a + h, b:b + w], W[:, :, a, b])', 'x[:, :, a:a + h, b:b + w], W[:, :, k - 1 - a, k - 1 - b])',
            FWD, 'updateOutput', fed=('input',), base='Conv2d'),
    Mistake('conv2d: gradW without padding the input', 'Conv2d',
            '        x = np.pad(input, ((0, 0), (0, 0), (p, p), (p, p)))\n'
            '        for a in range(k):\n'
            '            for b in range(k):\n'
            '                self.gradW',
            '        x = input\n        for a in range(k):\n            for b in range(k):\n                self.gradW',
            GRAD, 'backward', fed=(), cause='in accGradParameters)', never=('c_einsum',), base='Conv2d'),
    Mistake('conv2d: channels of W swapped in backward', 'Conv2d',
            "np.einsum('nohw,oc->nchw', gradOutput, W[:, :, a, b])",
            "np.einsum('nohw,co->nchw', gradOutput, W[:, :, a, b])", GRAD, 'backward', fed=(),
            cause='in updateGradInput)', never=('c_einsum',), base='Conv2d'),
    Mistake('maxpool2d: blocks without the transpose in forward', 'MaxPool2d',
            'blocks = input.reshape(n, c, h // k, k, w // k, k).transpose(0, 1, 2, 4, 3, 5).reshape',
            'blocks = input.reshape', FWD, 'updateOutput', fed=('input',), base='MaxPool2d'),
    Mistake('maxpool2d: backward reshaped without the transpose', 'MaxPool2d',
            'self.gradInput = g.reshape(n, c, h // k, w // k, k, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)',
            'self.gradInput = g.reshape(n, c, h, w)', GRAD, 'updateGradInput', base='MaxPool2d'),
    Mistake('maxpool2d: gradOutput copied to the whole block', 'MaxPool2d',
            'self.gradInput = g.reshape(n, c, h // k, w // k, k, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)',
            'self.gradInput = gradOutput.repeat(k, axis=2).repeat(k, axis=3)', GRAD, 'updateGradInput',
            base='MaxPool2d'),
    Mistake('maxpool2d: argmax over the wrong axis', 'MaxPool2d', 'self.max_indices = blocks.argmax(axis=-1)',
            'self.max_indices = blocks.argmax(axis=2)', GRAD, 'backward', fed=(), cause='in updateGradInput)',
            base='MaxPool2d'),
    Mistake('adam: epsilon inside the square root', 'adam_optimizer',
            "denominator = np.sqrt(v)\n            denominator += config['epsilon']",
            "denominator = np.sqrt(v + config['epsilon'])", '3 steps match the update rule', 'adam_optimizer', fed=()),
    Mistake('adam: beta2 in the first moment', 'adam_optimizer', 'm += (1 - beta1) * current_grad',
            'm += (1 - beta2) * current_grad', '3 steps match the update rule', 'adam_optimizer', fed=(),
            cause='with gradient [['),
    Mistake('adam: parameters rebound, not updated in place', 'adam_optimizer',
            "current_var -= step", "current_var = current_var - step",
            '3 steps match the update rule', 'adam_optimizer', fed=(), cause='Update the arrays in place'),
    Mistake('adam: one moment shared by every parameter (index never advanced)', 'adam_optimizer',
            '            var_index += 1\n    ### END', '    ### END', '3 steps match the update rule',
            'adam_optimizer', fed=(), cause='arrays of shapes [[(3, 2), (3,)], [], [(4,)]]'),
    Mistake('adam: t advanced per parameter', 'adam_optimizer', '            var_index += 1\n    ### END',
            "            var_index += 1\n            state['t'] += 1\n    ### END", '3 steps match the update rule',
            'adam_optimizer', fed=()),
    Mistake('sgd_momentum: momentum with the wrong sign', 'sgd_momentum', 'current_var -= old_grad',
            'current_var += old_grad', '3 steps match the update rule', 'sgd_momentum', fed=(), cause='It started as [['),
]
MISTAKES += FRESH


def first_failure(mistake, tmp_path):
    path = tmp_path / "HW3_Modules.ipynb"
    nbformat.write(mistake.notebook(), str(path))
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


@pytest.mark.parametrize("name", ["Conv2d", "MaxPool2d"])
def test_the_student_style_solutions_get_full_marks(name, tmp_path):
    """The fresh mistakes of Conv2d and MaxPool2d are made in a student-style solution: as written, it passes."""
    path = tmp_path / "HW3_Modules.ipynb"
    nbformat.write(student_style(reference(), name), str(path))
    results = results_for(vars(load_notebook(path, name=f"student_style_{name}")), name)
    assert all(r.passed for r in results), [(r.name, r.message) for r in results if not r.passed]


def test_the_fresh_mistakes_are_new_and_many():
    """At least 40 fresh mistakes, none a repeat of an older row's edit."""
    older = MISTAKES[:len(MISTAKES) - len(FRESH)]
    assert len(FRESH) >= 40
    assert not {(m.target, str(m.old), m.new) for m in FRESH} & {(m.target, str(m.old), m.new) for m in older}
    assert len({m.name for m in MISTAKES}) == len(MISTAKES)


def test_a_dropout_mask_read_off_the_output_is_a_note_at_exact_zeros(tmp_path):
    """Dropout's check input has exact zeros (after a ReLU many are). A backward that reads its mask off the output
    (output != 0) is wrong only there -- and harmless behind a ReLU, whose backward zeroes those units: like a value
    at a kink, a convention. Full marks, with a note saying what differs; a mask not reused still fails."""
    reading = Mistake('dropout: backward mask read off the output', 'Dropout',
                      'self.gradInput = gradOutput * self.mask if',
                      'self.gradInput = gradOutput * (self.output != 0) / (1 - self.p) if',
                      'backward reuses the forward mask', 'updateGradInput')
    path = tmp_path / "HW3_Modules.ipynb"
    nbformat.write(reading.notebook(), str(path))
    results = results_for(vars(load_notebook(path, name="dropout_output_mask")), "Dropout")
    assert all(r.passed for r in results), [(r.name, r.message) for r in results if not r.passed]
    [mask] = [r for r in results if r.name == "backward reuses the forward mask"]
    assert "Note (no point lost)" in mask.message and "exactly 0" in mask.message and "output != 0" in mask.message


def test_a_backward_right_from_a_non_finite_stored_output_points_at_the_forward(tmp_path):
    """Sigmoid as e^x / (1 + e^x) is nan at +800 and its backward s(1 - s), right, reuses that nan: the gradInput row
    names updateGradInput as the method failing, so it also says to fix updateOutput first."""
    [mistake] = [m for m in MISTAKES if m.name.startswith("sigmoid: e^x / (1 + e^x)")]
    failing = {r.name: r.message for r in first_failure(mistake, tmp_path)}
    assert "fix updateOutput first" in failing[GRAD] and "Sigmoid.updateGradInput" in failing[GRAD]
    assert "fix updateOutput first" not in failing[FWD]


def test_a_running_mean_started_at_0_fails_the_first_batch_gradient_and_the_running_row_names_the_cause(tmp_path):
    """The kit's text: the first batch starts the mean, alpha = 0 on it. A mean started at 0 (the first batch
    weighted by 1 - alpha) fails two rows: its first batch's gradient (checked with alpha 0.3) and the running mean,
    whose message names the cause."""
    started_at_0 = next(m for m in MISTAKES if m.name.startswith("batchmeansubtraction: the first batch weighted"))
    failed = {r.name: r.message for r in first_failure(started_at_0, tmp_path)}
    assert set(failed) == {GRAD, "running mean: a moving average, subtracted in evaluation"}, list(failed)
    assert "first training batch, alpha 0.3" in failed[GRAD]
    assert "started from 0 instead of from the first batch" in failed["running mean: a moving average, subtracted in evaluation"]


def _arrays_after(message, name):
    """The array printed after '{name} ' in a message, as numpy (the message's own rounding)."""
    import ast
    import numpy as np
    match = re.search(rf"\b{name} (\[[-\d\.\se,\[\]]+\])", message)
    assert match, (name, message)
    return np.array(ast.literal_eval(re.sub(r"(?<=\d)\s+(?=[-\d])", ", ", match.group(1).replace(",", ", "))))


@pytest.mark.parametrize("name, old, new, redo", [
    ("Linear", "self.output += self.b.astype(input.dtype, copy=False)",
     "self.output -= self.b.astype(input.dtype, copy=False)", lambda a: a["input"] @ a["W"].T + a["b"]),
    ("Linear", "self.gradb += gradOutput.sum(axis=0)", "self.gradb += 2 * gradOutput.sum(axis=0)",
     lambda a: a["gradOutput"].sum(axis=0)),
    ("ChannelwiseScaling", "self.output += self.beta.astype", "self.output -= self.beta.astype",
     lambda a: a["input"] * a["gamma"] + a["beta"]),
])
def test_a_wrong_value_of_a_layer_with_parameters_shows_the_parameters_the_grader_set(name, old, new, redo, tmp_path):
    """Linear's output cannot be redone by hand from the input alone: the message shows W and b (gamma and beta) as
    the grader set them, and the expected value it prints is what they give."""
    path = tmp_path / "HW3_Modules.ipynb"
    nbformat.write(mutate(reference(), name, old, new), str(path))
    [failed, *_] = [r for r in results_for(vars(load_notebook(path, name=f"params_{name}")), name) if not r.passed]
    shown = {k: _arrays_after(failed.message, k) for k in ("input", "gradOutput", "W", "b", "gamma", "beta", "Expected")
             if re.search(rf"\b{k} \[", failed.message)}
    assert ", with " in failed.message and {"W", "b"} <= set(shown) or {"gamma", "beta"} <= set(shown), failed.message
    assert abs(redo(shown) - shown["Expected"]).max() < 2e-3, failed.message
