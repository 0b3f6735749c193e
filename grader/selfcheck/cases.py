"""What is checked: the cases (module, constructor arguments, input shape, mode), the inputs drawn for
them, and the small test doubles that are ``Sequential``'s children.

A :class:`Check` is three small functions with one job each:

* ``probe(ns, seed) -> values`` (:mod:`.probes`) builds a module from namespace ``ns`` (a submission's
  globals, or the reference), feeds it inputs drawn from ``seed`` and returns **raw values**. It is the
  only part that touches student code, so the grader runs it inside the submission's own kernel.
* ``expect(ref, seed) -> values`` (:mod:`.expected`) computes what a correct module gives on the same
  inputs, with the reference modules: outputs, and finite-difference gradients in float64, in the
  grader's own process (the students' ``check()`` reads the same numbers frozen at release time).
* ``judge(got, expected) -> (passed, message)`` (:mod:`.judges`) compares the two in the grader's process
  and says in words (:mod:`.messages`) what is wrong.

Both sides draw their inputs here, from (seed, salt) only, so they see the same numbers.
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np

from grader.selfcheck.gradcheck import sample_input

GRADER_SEED = 20261129   # the grader's inputs; the students' check() uses SELFCHECK_SEED


SELFCHECK_SEED = 0


@dataclass
class Check:
    """One scored check of one target (a module class, a criterion or an optimizer)."""
    target: str
    name: str
    points: float
    probe: Callable
    expect: Callable
    judge: Callable

    @property
    def id(self):
        return f"{self.target}: {self.name}"


@dataclass
class LayerCase:
    """One way to build a layer and the input it is checked on."""
    label: str
    build: Callable                 # (ns, dtype) -> module
    shape: tuple
    mode: str = "train"             # "train" or "evaluate"
    warmup: int = 0                 # training batches run first, so running statistics exist
    params: tuple = ()              # (parameter attribute, gradient attribute) pairs
    positive: bool = False


@dataclass
class CriterionCase:
    label: str
    build: Callable                 # ns -> criterion
    shape: tuple
    probabilities: bool = False     # input is a probability matrix (rows sum to 1)
    one_hot: bool = True


def rng_for(seed, *salt):
    """A generator that depends only on (seed, salt): the kernel and the grader draw the same numbers."""
    return np.random.default_rng([seed, *salt])


def attr_path(obj, path):
    """getattr for 'W' or 'modules[0].w'."""
    for part in path.split("."):
        if "[" in part:
            name, index = part[:-1].split("[")
            obj = getattr(obj, name)[int(index)]
        else:
            obj = getattr(obj, part)
    return obj


def set_parameter(module, path, value):
    """Writes `value` into the parameter array in place (keeping its dtype)."""
    target = attr_path(module, path)
    if not isinstance(target, np.ndarray):
        raise TypeError(f"{path} is {type(target).__name__}, expected a numpy array")
    if target.shape != value.shape:
        raise ValueError(f"{path} has shape {target.shape}, expected {value.shape}")
    target[...] = value


class _Double(object):
    """A minimal module of the contract; the children of the Sequential under test."""

    def __init__(self):
        self.output = None
        self.gradInput = None
        self.training = True

    def forward(self, input):
        return self.updateOutput(input)

    def backward(self, input, gradOutput):
        self.updateGradInput(input, gradOutput)
        self.accGradParameters(input, gradOutput)
        return self.gradInput

    def accGradParameters(self, input, gradOutput):
        pass

    def zeroGradParameters(self):
        pass

    def getParameters(self):
        return []

    def getGradParameters(self):
        return []

    def train(self):
        self.training = True

    def evaluate(self):
        self.training = False


class Sine(_Double):
    """y = sin(x): its gradient cos(x) depends on the input, so backward must get the right one."""

    def updateOutput(self, input):
        self.output = np.sin(input)
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput * np.cos(input)
        return self.gradInput

    def __repr__(self):
        return "Sine()"


class Quadratic(_Double):
    """y = w x^2 + x per feature, with a parameter w: (N, C) -> (N, C)."""

    def __init__(self, n):
        super().__init__()
        self.w = np.linspace(0.5, 1.5, n)
        self.gradw = np.zeros(n)

    def updateOutput(self, input):
        self.output = self.w * input ** 2 + input
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput * (2 * self.w * input + 1)
        return self.gradInput

    def accGradParameters(self, input, gradOutput):
        self.gradw += (gradOutput * input ** 2).sum(axis=0)

    def zeroGradParameters(self):
        self.gradw.fill(0)

    def getParameters(self):
        return [self.w]

    def getGradParameters(self):
        return [self.gradw]

    def __repr__(self):
        return f"Quadratic({len(self.w)})"


class Halve(_Double):
    """y = x / 2, a third kind of child so that the order of the children matters."""

    def updateOutput(self, input):
        self.output = input / 2
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput / 2
        return self.gradInput

    def __repr__(self):
        return "Halve()"


def _sequential(ns, children):
    net = ns.Sequential()
    for child in children:
        net.add(child)
    return net


def _p(cls, *args, **kw):
    """A builder (ns, dtype) -> ns.cls(*args, dtype=dtype) for layers that take dtype=."""
    return lambda ns, dtype=np.float64: getattr(ns, cls)(*args, dtype=dtype, **kw)


def _np(cls, *args):
    """A builder for layers without parameters (dtype is ignored)."""
    return lambda ns, dtype=np.float64: getattr(ns, cls)(*args)


LINEAR_PARAMS = (("W", "gradW"), ("b", "gradb"))


SCALING_PARAMS = (("gamma", "gradGamma"), ("beta", "gradBeta"))


LAYER_CASES = {
    "Linear": [LayerCase("Linear(4, 3)", _p("Linear", 4, 3), (1, 4), params=LINEAR_PARAMS),
               LayerCase("Linear(4, 3)", _p("Linear", 4, 3), (5, 4), params=LINEAR_PARAMS)],
    "SoftMax": [LayerCase("SoftMax()", _np("SoftMax"), (1, 4)), LayerCase("SoftMax()", _np("SoftMax"), (5, 4))],
    "LogSoftMax": [LayerCase("LogSoftMax()", _np("LogSoftMax"), (1, 4)),
                   LayerCase("LogSoftMax()", _np("LogSoftMax"), (5, 4))],
    "BatchNormalization": [
        LayerCase("BatchNormalization(0.0), first training batch", _np("BatchNormalization", 0.), (6, 3)),
        LayerCase("BatchNormalization(0.9), training after 2 batches", _np("BatchNormalization", 0.9), (5, 4), warmup=2),
        LayerCase("BatchNormalization(0.5), evaluation", _np("BatchNormalization", 0.5), (3, 4), mode="evaluate",
                  warmup=2)],
    "ChannelwiseScaling": [LayerCase("ChannelwiseScaling(4)", _p("ChannelwiseScaling", 4), (1, 4), params=SCALING_PARAMS),
                           LayerCase("ChannelwiseScaling(4)", _p("ChannelwiseScaling", 4), (5, 4), params=SCALING_PARAMS)],
    "BatchMeanSubtraction": [
        LayerCase("BatchMeanSubtraction(0.0), first training batch", _np("BatchMeanSubtraction", 0.), (5, 4)),
        LayerCase("BatchMeanSubtraction(0.3), training after 2 batches", _np("BatchMeanSubtraction", 0.3), (5, 4),
                  warmup=2),
        LayerCase("BatchMeanSubtraction(0.3), evaluation", _np("BatchMeanSubtraction", 0.3), (3, 4), mode="evaluate",
                  warmup=2)],
    "Dropout": [LayerCase("Dropout(0.3), training", _np("Dropout", 0.3), (4, 5)),   # the contract check only:
                LayerCase("Dropout(0.3), evaluation", _np("Dropout", 0.3), (4, 5), mode="evaluate")],  # the mask is random
    "ReLU": [LayerCase("ReLU()", _np("ReLU"), (1, 4)), LayerCase("ReLU()", _np("ReLU"), (5, 4))],
    "LeakyReLU": [LayerCase("LeakyReLU(0.03)", _np("LeakyReLU", 0.03), (1, 4)),
                  LayerCase("LeakyReLU(0.2)", _np("LeakyReLU", 0.2), (5, 4))],
    "ELU": [LayerCase("ELU(1.0)", _np("ELU", 1.0), (1, 4)), LayerCase("ELU(0.5)", _np("ELU", 0.5), (5, 4))],
    "SoftPlus": [LayerCase("SoftPlus()", _np("SoftPlus"), (1, 4)), LayerCase("SoftPlus()", _np("SoftPlus"), (5, 4))],
    "Sigmoid": [LayerCase("Sigmoid()", _np("Sigmoid"), (1, 4)), LayerCase("Sigmoid()", _np("Sigmoid"), (5, 4))],
    "Tanh": [LayerCase("Tanh()", _np("Tanh"), (1, 4)), LayerCase("Tanh()", _np("Tanh"), (5, 4))],
    "Flatten": [LayerCase("Flatten()", _np("Flatten"), (1, 2, 3, 2)), LayerCase("Flatten()", _np("Flatten"), (3, 2, 2, 3))],
    "Conv2d": [LayerCase("Conv2d(2, 3, 3)", _p("Conv2d", 2, 3, 3), (1, 2, 4, 5), params=LINEAR_PARAMS),
               LayerCase("Conv2d(3, 2, 5)", _p("Conv2d", 3, 2, 5), (2, 3, 5, 4), params=LINEAR_PARAMS),
               LayerCase("Conv2d(1, 2, 1)", _p("Conv2d", 1, 2, 1), (2, 1, 3, 3), params=LINEAR_PARAMS)],
    "MaxPool2d": [LayerCase("MaxPool2d(2)", _np("MaxPool2d", 2), (1, 2, 4, 6)),
                  LayerCase("MaxPool2d(3)", _np("MaxPool2d", 3), (2, 1, 6, 3))],
    "Sequential": [
        LayerCase("Sequential(Quadratic(3), Sine(), Halve(), Quadratic(3))",
                  lambda ns, dtype=np.float64: _sequential(ns, [Quadratic(3), Sine(), Halve(), Quadratic(3)]),
                  (1, 3), params=(("modules[0].w", "modules[0].gradw"), ("modules[3].w", "modules[3].gradw"))),
        LayerCase("Sequential(Sine(), Quadratic(4), Sine())",
                  lambda ns, dtype=np.float64: _sequential(ns, [Sine(), Quadratic(4), Sine()]),
                  (5, 4), params=(("modules[1].w", "modules[1].gradw"),)),
        LayerCase("Sequential(Sine())", lambda ns, dtype=np.float64: _sequential(ns, [Sine()]), (2, 3)),
    ],
}


CRITERION_CASES = {
    "MSECriterion": [CriterionCase("MSECriterion()", lambda ns: ns.MSECriterion(), (1, 4), one_hot=False),
                     CriterionCase("MSECriterion()", lambda ns: ns.MSECriterion(), (5, 3), one_hot=False)],
    "ClassNLLCriterion": [CriterionCase("ClassNLLCriterion()", lambda ns: ns.ClassNLLCriterion(), (1, 4), True),
                          CriterionCase("ClassNLLCriterion()", lambda ns: ns.ClassNLLCriterion(), (5, 4), True)],
    "ClassNLLLogCriterion": [
        CriterionCase("ClassNLLLogCriterion()", lambda ns: ns.ClassNLLLogCriterion(), (1, 4)),
        CriterionCase("ClassNLLLogCriterion()", lambda ns: ns.ClassNLLLogCriterion(), (5, 4))],
}


def layer_inputs(seed, target, index, case, dtype=np.float64):
    """(input, gradOutput-generator rng, parameter values, warm-up batches) of one case."""
    x = sample_input(case.shape, rng_for(seed, 1, index, salt(target))).astype(dtype)
    return x


def salt(text):
    return sum(ord(c) * (i + 1) for i, c in enumerate(text)) % 100003


def build_layer(ns, seed, target, index, case, dtype=np.float64):
    """The case's module with the grader's parameter values, warmed up and in its mode."""
    np.random.seed(0)
    module = case.build(ns, dtype)
    rng = rng_for(seed, 2, index, salt(target))
    for path, _ in case.params:
        shape = np.shape(attr_path(module, path))
        set_parameter(module, path, rng.uniform(-1, 1, size=shape) if "gamma" not in path else rng.uniform(0.5, 1.5, shape))
    for _ in range(case.warmup):
        module.train()
        module.forward(sample_input(case.shape, rng).astype(dtype))
    module.train() if case.mode == "train" else module.evaluate()
    return module


def grad_output(seed, target, index, shape):
    return rng_for(seed, 3, index, salt(target)).standard_normal(shape)


def criterion_inputs(seed, target, index, case):
    rng = rng_for(seed, 4, index, salt(target))
    n, c = case.shape
    if case.probabilities:
        e = np.exp(rng.standard_normal(case.shape))
        x = e / e.sum(axis=1, keepdims=True)
    elif case.one_hot:
        x = rng.standard_normal(case.shape) - 1.5  # log-probability-like values
    else:
        x = rng.standard_normal(case.shape)
    if case.one_hot:
        t = np.zeros(case.shape)
        t[np.arange(n), rng.integers(0, c, size=n)] = 1
    else:
        t = rng.standard_normal(case.shape)
    return x, t


def stable_logits(seed):
    rng = rng_for(seed, 5)
    x = rng.uniform(-800, 800, size=(4, 5))
    x[0] = [800, 0, -800, 799, 1]
    x[1] = [-800, -800, -799, -800, -790]
    return x


DROPOUT_P = 0.3


DROPOUT_SHAPE = (100, 200)


def dropout_input(seed):
    return sample_input(DROPOUT_SHAPE, rng_for(seed, 7))


BMS_ALPHA = 0.3


def bms_batches(seed):
    rng = rng_for(seed, 9)
    return [sample_input((6, 4), rng) + 3.0, sample_input((6, 4), rng) - 1.0, sample_input((5, 4), rng)]


def nll_edge(seed):
    p = np.array([[0., 1., 0., 0.], [0.5, 0.5, 0., 0.], [1e-20, 1 - 1e-20, 0., 0.]])
    t = np.zeros_like(p)
    t[[0, 1, 2], [0, 2, 0]] = 1   # the true class has probability 0 (or almost)
    return p, t


OPTIMIZER_CONFIG = {"sgd_momentum": {"learning_rate": 0.1, "momentum": 0.9},
                    "adam_optimizer": {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}}


OPTIMIZER_SHAPES = [[(3, 2), (3,)], [], [(4,)]]   # a layer without parameters in the middle, as in a Sequential
