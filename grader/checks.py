"""The checks of HW3_Modules.ipynb, shared by the grader and the students' ``check("Linear")``.

A check is three small functions with one job each:

* ``probe(ns, seed) -> values`` builds a module from namespace ``ns`` (a submission's globals, or the
  reference), feeds it inputs drawn from ``seed`` and returns **raw values** (outputs, gradInput,
  parameter gradients, state) as a dict of arrays, numbers and strings. It is the only part that
  touches student code, so the grader runs it inside the submission's own kernel.
* ``expect(ref, seed) -> values`` computes what a correct module gives on the same inputs, with the
  reference modules ``ref``: its outputs, and finite-difference gradients in float64. The grader runs
  it in its own process (the students' ``check()`` reads the same numbers from a file frozen at
  release time), so nothing the submission does in its kernel can change them.
* ``judge(got, expected) -> (passed, message)`` compares the two, with numpy of the grader's own
  process, and says in words what is wrong: which module, which gradient, the relative error, the
  shapes and, on the tiny input, what was expected and what came back.

Where the homework leaves a choice (Dropout's random mask, ...) the judge checks the documented
property instead of the reference's numbers. ``Sequential`` is checked with small test doubles as its
children (``Sine``, ``Quadratic``: not course modules), so a broken ``Linear`` costs ``Linear`` alone.
"""
import base64
import copy
import json
import traceback
from dataclasses import dataclass
from typing import Callable

import numpy as np

from grader.gradcheck import ABS_TOLERANCE, TOLERANCE, numerical_gradient, relative_error, sample_input

MIME = "application/vnd.hw3-grader.probe+json"  # how the kernel hands probe values to the grader
GRADER_SEED = 20261129   # the grader's inputs; the students' check() uses SELFCHECK_SEED
SELFCHECK_SEED = 0


# --------------------------------------------------------------------------------------- checks


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


# ------------------------------------------------------------------------- Sequential's doubles


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


# ----------------------------------------------------------------------------------- the cases


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


# ------------------------------------------------------------------------------ building cases


def layer_inputs(seed, target, index, case, dtype=np.float64):
    """(input, gradOutput-generator rng, parameter values, warm-up batches) of one case."""
    x = sample_input(case.shape, rng_for(seed, 1, index, _salt(target))).astype(dtype)
    return x


def _salt(text):
    return sum(ord(c) * (i + 1) for i, c in enumerate(text)) % 100003


def build_layer(ns, seed, target, index, case, dtype=np.float64):
    """The case's module with the grader's parameter values, warmed up and in its mode."""
    np.random.seed(0)
    module = case.build(ns, dtype)
    rng = rng_for(seed, 2, index, _salt(target))
    for path, _ in case.params:
        shape = np.shape(attr_path(module, path))
        set_parameter(module, path, rng.uniform(-1, 1, size=shape) if "gamma" not in path else rng.uniform(0.5, 1.5, shape))
    for _ in range(case.warmup):
        module.train()
        module.forward(sample_input(case.shape, rng).astype(dtype))
    module.train() if case.mode == "train" else module.evaluate()
    return module


def grad_output(seed, target, index, shape):
    return rng_for(seed, 3, index, _salt(target)).standard_normal(shape)


def criterion_inputs(seed, target, index, case):
    rng = rng_for(seed, 4, index, _salt(target))
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


# ------------------------------------------------------------------------------ generic probes


def probe_forward(target):
    def probe(ns, seed):
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            module = build_layer(ns, seed, target, i, case)
            out[f"case{i}"] = module.forward(layer_inputs(seed, target, i, case))
        return out
    return probe


def probe_backward(target):
    """gradInput and the parameter gradients after one forward/backward from zeroed gradients."""
    def probe(ns, seed):
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            module = build_layer(ns, seed, target, i, case)
            module.zeroGradParameters()
            x = layer_inputs(seed, target, i, case)
            y = module.forward(x.copy())
            g = grad_output(seed, target, i, np.shape(y))
            out[f"case{i}.gradInput"] = module.backward(x.copy(), g)
            for path, grad_path in case.params:
                out[f"case{i}.{path}"] = np.array(attr_path(module, grad_path), copy=True)
        return out
    return probe


def expect_backward(target):
    """Finite differences in float64 of the reference module's forward, parameters included."""
    def expect(ref, seed):
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            snapshot = build_layer(ref, seed, target, i, case)
            x = layer_inputs(seed, target, i, case)
            g = grad_output(seed, target, i, np.shape(copy.deepcopy(snapshot).forward(x.copy())))
            out[f"case{i}.input"] = x

            def loss(module, inp):
                return float(np.sum(copy.deepcopy(module).forward(inp.copy()) * g))
            x_var = x.copy()
            out[f"case{i}.gradInput"] = numerical_gradient(lambda: loss(snapshot, x_var), x_var)
            for path, _ in case.params:
                trial = copy.deepcopy(snapshot)
                param = attr_path(trial, path)
                out[f"case{i}.{path}"] = numerical_gradient(lambda: loss(trial, x), param)
        return out
    return expect


def probe_contract(target):
    """What forward/backward return and store, and the input/gradOutput arrays afterwards."""
    def probe(ns, seed):
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            module = build_layer(ns, seed, target, i, case)
            x = layer_inputs(seed, target, i, case)
            y = module.forward(x)
            out[f"case{i}.returned_output"] = y
            out[f"case{i}.stored_output"] = module.output
            g = grad_output(seed, target, i, np.shape(y))
            gi = module.backward(x, g)
            out[f"case{i}.returned_gradInput"] = gi
            out[f"case{i}.stored_gradInput"] = module.gradInput
            out[f"case{i}.input_after"] = x
            out[f"case{i}.gradOutput_after"] = g
        return out
    return probe


def expect_contract(target):
    def expect(ref, seed):
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            module = build_layer(ref, seed, target, i, case)
            x = layer_inputs(seed, target, i, case)
            out[f"case{i}.input"] = x
            out[f"case{i}.gradOutput"] = grad_output(seed, target, i, np.shape(module.forward(x.copy())))
        return out
    return expect


def probe_accumulate(target):
    """Parameter gradients after two backward passes, then after zeroGradParameters()."""
    def probe(ns, seed):
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            if not case.params or case.warmup or case.mode != "train":
                continue
            module = build_layer(ns, seed, target, i, case)
            module.zeroGradParameters()
            x = layer_inputs(seed, target, i, case)
            y = module.forward(x.copy())
            g = grad_output(seed, target, i, np.shape(y))
            module.backward(x.copy(), g.copy())
            once = [np.array(attr_path(module, gp), copy=True) for _, gp in case.params]
            module.forward(x.copy())
            module.backward(x.copy(), g.copy())
            for (path, gp), first in zip(case.params, once):
                out[f"case{i}.{path}.once"] = first
                out[f"case{i}.{path}.twice"] = np.array(attr_path(module, gp), copy=True)
            module.zeroGradParameters()
            for path, gp in case.params:
                out[f"case{i}.{path}.zeroed"] = np.array(attr_path(module, gp), copy=True)
        return out
    return probe


def probe_dtype(target):
    """A float32 input, with float32 and with float64 parameters: output and gradInput must stay float32."""
    def probe(ns, seed):
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            for param_dtype in (np.float32, np.float64):
                key = f"case{i}.{np.dtype(param_dtype).name}"
                module = build_layer(ns, seed, target, i, case, dtype=param_dtype)
                x = layer_inputs(seed, target, i, case, dtype=np.float32)
                y = module.forward(x)
                out[f"{key}.output"] = y
                out[f"{key}.output_dtype"] = str(np.asarray(y).dtype)
                g = grad_output(seed, target, i, np.shape(y)).astype(np.float32)
                gi = module.backward(x, g)
                out[f"{key}.gradInput_dtype"] = str(np.asarray(gi).dtype)
        return out
    return probe


def expect_dtype(target):
    def expect(ref, seed):
        return {k.replace("case", "case", 1): v for k, v in probe_forward(target)(ref, seed).items()}
    return expect


# -------------------------------------------------------------------------------- the judges


def show(array, limit=12):
    """A short printout of an array for a message."""
    a = np.asarray(array)
    if a.dtype.kind in "fc" and a.size > limit:
        return f"array of shape {a.shape}, first entries {np.array2string(a.ravel()[:limit], precision=4)}"
    return np.array2string(a, precision=4, separator=", ").replace("\n", "") if a.dtype.kind != "U" else str(a)


def _case_label(target, key):
    index = int(key.split(".")[0][4:])
    cases = LAYER_CASES.get(target) or CRITERION_CASES.get(target)
    case = cases[index]
    return f"{case.label} on an input of shape {case.shape}"


def _array(value):
    return value if isinstance(value, np.ndarray) else np.asarray(value)


def compare(target, what, got, expected, key, tolerance=TOLERANCE, input=None):
    """None if `got` matches `expected`, else a message that teaches."""
    where = f"{target} {what} ({_case_label(target, key)})"
    if got is None:
        return f"{where}: nothing came back (None)"
    got = _array(got)
    expected = _array(expected)
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
            label = _case_label(target, key)
            if what == "input":
                after = got.get(f"{case}.input_after")
                if after is None or _array(after).shape != expected[key].shape or not np.array_equal(_array(after), expected[key]):
                    return False, (f"{target} modified its input in place ({label}): never write into `input`; "
                                   "the previous layer still owns it.")
                for name in ("output", "gradInput"):
                    returned, stored = got.get(f"{case}.returned_{name}"), got.get(f"{case}.stored_{name}")
                    if returned is None or stored is None:
                        return False, f"{target}: {'forward' if name == 'output' else 'backward'} returned or stored None ({label}); it must return AND store self.{name}."
                    returned, stored = _array(returned), _array(stored)
                    if returned.shape != stored.shape or not np.array_equal(returned, stored, equal_nan=returned.dtype.kind == "f"):
                        return False, f"{target}: self.{name} differs from what {'forward' if name == 'output' else 'backward'} returned ({label}); store it and return it."
            if what == "gradOutput":
                after = got.get(f"{case}.gradOutput_after")
                if after is None or _array(after).shape != expected[key].shape or not np.array_equal(_array(after), expected[key]):
                    return False, f"{target} modified gradOutput in place ({label}): the next layer still owns it."
        return True, "forward/backward return and store output/gradInput, and leave input and gradOutput unchanged"
    return judge


def expect_accumulate(target):
    def expect(ref, seed):
        full = expect_backward(target)(ref, seed)
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            if not case.params or case.warmup or case.mode != "train":
                continue
            for path, _ in case.params:
                out[f"case{i}.{path}.twice"] = 2 * full[f"case{i}.{path}"]
                out[f"case{i}.{path}.zeroed"] = np.zeros_like(full[f"case{i}.{path}"])
        return out
    return expect


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
                    if once is not None and value is not None and _array(once).shape == _array(value).shape \
                            and np.allclose(_array(once), _array(value)):
                        hint = " The second backward replaced the gradient instead of adding to it: use += in accGradParameters."
                    return False, problem + hint
            else:
                if value is None or np.any(_array(value) != 0):
                    return False, f"{target}: zeroGradParameters() left {path}'s gradient non-zero: {show(value)}"
        return True, "parameter gradients accumulate over backward calls and zeroGradParameters() resets them"
    return judge


def judge_dtype(target):
    def judge(got, expected):
        for key in sorted(expected):
            label = _case_label(target, key)
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


# ------------------------------------------------------------------------- specific checks


def _stable_logits(seed):
    rng = rng_for(seed, 5)
    x = rng.uniform(-800, 800, size=(4, 5))
    x[0] = [800, 0, -800, 799, 1]
    x[1] = [-800, -800, -799, -800, -790]
    return x


def probe_stable(target):
    def probe(ns, seed):
        module = getattr(ns, target)()
        x = _stable_logits(seed)
        y = module.forward(x.copy())
        g = rng_for(seed, 6).standard_normal(x.shape)
        return {"output": y, "gradInput": module.backward(x.copy(), g)}
    return probe


def expect_stable(target):
    def expect(ref, seed):
        out = probe_stable(target)(ref, seed)
        out["input"] = _stable_logits(seed)
        return out
    return expect


def judge_stable(target):
    def judge(got, expected):
        for name in ("output", "gradInput"):
            value = got.get(name)
            if value is None or _array(value).dtype.kind != "f" or not np.all(np.isfinite(_array(value))):
                return False, (f"{target} on logits of magnitude 800: {name} has inf or nan ({show(value)}); "
                               "subtract the row maximum before exp.")
            err = relative_error(value, expected[name])
            if err > 1e-6:
                return False, (f"{target} on logits of magnitude 800: {name} has relative error {err:.1e}; "
                               f"expected {show(expected[name])}, got {show(value)}.")
        return True, "finite and exact for logits of magnitude 800"
    return judge


def probe_large_inputs(target):
    def probe(ns, seed):
        module = getattr(ns, target)()
        x = np.array([[-800., -50., -1e-3, 0.5, 50., 800.]])
        y = module.forward(x.copy())
        return {"output": y, "gradInput": module.backward(x.copy(), np.ones_like(x))}
    return probe


def expect_large_inputs(target):
    def expect(ref, seed):
        return probe_large_inputs(target)(ref, seed)
    return expect


def judge_large_inputs(target):
    def judge(got, expected):
        for name in ("output", "gradInput"):
            value = got.get(name)
            if value is None or _array(value).dtype.kind != "f" or not np.all(np.isfinite(_array(value))):
                return False, (f"{target} on inputs [-800, -50, -0.001, 0.5, 50, 800]: {name} is {show(value)}, "
                               f"expected {show(expected[name])}: avoid exp of a large positive number.")
            err = relative_error(value, expected[name])
            if err > 1e-6:
                return False, (f"{target} on inputs [-800, ..., 800]: {name} has relative error {err:.1e}; "
                               f"expected {show(expected[name])}, got {show(value)}.")
        return True, "finite and exact for inputs of magnitude 800"
    return judge


# Dropout: properties, not the reference's random numbers.

DROPOUT_P = 0.3
DROPOUT_SHAPE = (100, 200)


def _dropout_input(seed):
    return sample_input(DROPOUT_SHAPE, rng_for(seed, 7))


def probe_dropout_train(ns, seed):
    module = ns.Dropout(DROPOUT_P)
    module.train()
    x = _dropout_input(seed)
    y = module.forward(x.copy())
    y = np.array(y, copy=True)
    g = rng_for(seed, 8).standard_normal(x.shape)
    gi = module.backward(x.copy(), g.copy())
    y2 = module.forward(x.copy())
    return {"output": y, "gradInput": gi, "second_output": y2}


def expect_dropout(ns, seed):
    return {"input": _dropout_input(seed), "gradOutput": rng_for(seed, 8).standard_normal(DROPOUT_SHAPE)}


def _dropout_output(got, expected):
    y = got.get("output")
    if y is None or _array(y).shape != expected["input"].shape or _array(y).dtype.kind != "f":
        return None, f"Dropout({DROPOUT_P}).forward on a {DROPOUT_SHAPE} input returned {show(y)}"
    return _array(y).astype(np.float64), None


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
    if gi is None or _array(gi).shape != want.shape:
        return False, f"Dropout backward returned {show(gi)}, expected an array of shape {want.shape}"
    err = relative_error(gi, want)
    if err > 1e-6:
        return False, (f"Dropout backward does not reuse the forward's mask: relative error {err:.1e} against "
                       "gradOutput * mask / (1-p) with the mask of the last forward; store the mask in forward.")
    y2 = got.get("second_output")
    if y2 is None or np.array_equal(_array(y2) != 0, y != 0):
        return False, "Dropout drew the same mask on two training forwards: draw a fresh mask on every forward."
    return True, "backward multiplies by the mask of the last forward; a fresh mask every forward"


def probe_dropout_eval(ns, seed):
    module = ns.Dropout(DROPOUT_P)
    module.evaluate()
    x = _dropout_input(seed)[:5, :7]
    y = module.forward(x.copy())
    g = rng_for(seed, 8).standard_normal(x.shape)
    return {"output": y, "gradInput": module.backward(x.copy(), g)}


def expect_dropout_eval(ns, seed):
    return {"input": _dropout_input(seed)[:5, :7], "gradOutput": rng_for(seed, 8).standard_normal((5, 7))}


def judge_dropout_eval(got, expected):
    for name, want in (("output", expected["input"]), ("gradInput", expected["gradOutput"])):
        value = got.get(name)
        if value is None or _array(value).shape != want.shape or not np.allclose(_array(value), want, rtol=1e-12, atol=0):
            return False, (f"Dropout in evaluation must be the identity: {name} should equal the "
                           f"{'input' if name == 'output' else 'gradOutput'}; got {show(value)}.")
    return True, "identity in evaluation (forward and backward)"


# BatchMeanSubtraction in evaluation: the running mean, one image independent of its batch.

BMS_ALPHA = 0.3


def _bms_batches(seed):
    rng = rng_for(seed, 9)
    return [sample_input((6, 4), rng) + 3.0, sample_input((6, 4), rng) - 1.0, sample_input((5, 4), rng)]


def probe_bms_eval(ns, seed):
    first, second, test = _bms_batches(seed)
    module = ns.BatchMeanSubtraction(BMS_ALPHA)
    module.train()
    module.forward(first.copy())
    module.forward(second.copy())
    module.evaluate()
    whole = np.array(module.forward(test.copy()), copy=True)
    g = rng_for(seed, 10).standard_normal(test.shape)
    gi = np.array(module.backward(test.copy(), g), copy=True)
    alone = np.array(module.forward(test[:1].copy()), copy=True)
    return {"whole": whole, "alone": alone, "gradInput": gi}


def expect_bms_eval(ns, seed):
    first, second, test = _bms_batches(seed)
    running = BMS_ALPHA * first.mean(axis=0) + (1 - BMS_ALPHA) * second.mean(axis=0)  # the documented formula
    return {"whole": test - running, "test": test, "running": running,
            "gradOutput": rng_for(seed, 10).standard_normal(test.shape)}


def judge_bms_running_mean(got, expected):
    whole = got.get("whole")
    if whole is None or _array(whole).shape != expected["whole"].shape:
        return False, f"BatchMeanSubtraction in evaluation returned {show(whole)}"
    err = relative_error(whole, expected["whole"])
    if err > 1e-6:
        used = (expected["test"] - _array(whole)).mean(axis=0)
        return False, (f"BatchMeanSubtraction({BMS_ALPHA}) in evaluation, after training batches with means m1 then m2, "
                       f"must subtract the running mean alpha*m1 + (1-alpha)*m2 = {show(expected['running'])}; "
                       f"it subtracted {show(used)} (relative error {err:.1e}).")
    gi = got.get("gradInput")
    if gi is None or relative_error(gi, expected["gradOutput"]) > 1e-9:
        return False, "BatchMeanSubtraction in evaluation: gradInput must equal gradOutput (the running mean is a constant)."
    return True, "evaluation subtracts the running mean; gradInput = gradOutput"


def judge_bms_independent(got, expected):
    whole, alone = got.get("whole"), got.get("alone")
    if whole is None or alone is None or _array(alone).shape != (1, expected["whole"].shape[1]):
        return False, f"BatchMeanSubtraction in evaluation on one row returned {show(alone)}"
    if relative_error(_array(alone)[0], _array(whole)[0]) > 1e-9:
        return False, ("BatchMeanSubtraction in evaluation: one image's output depends on the rest of its batch "
                       f"(alone {show(alone)}, in the batch {show(_array(whole)[:1])}); use the running mean, not the batch's.")
    return True, "an image's output in evaluation does not depend on its batch"


# Criterions.


def probe_criterion(target):
    def probe(ns, seed):
        out = {}
        for i, case in enumerate(CRITERION_CASES[target]):
            criterion = case.build(ns)
            x, t = criterion_inputs(seed, target, i, case)
            loss = criterion.forward(x, t)
            out[f"case{i}.loss"] = np.asarray(loss, dtype=np.float64) if np.isscalar(loss) or np.ndim(loss) == 0 else loss
            out[f"case{i}.stored_loss"] = criterion.output
            out[f"case{i}.gradInput"] = criterion.backward(x, t)
            out[f"case{i}.stored_gradInput"] = criterion.gradInput
            out[f"case{i}.input_after"] = x
            out[f"case{i}.target_after"] = t
        return out
    return probe


def expect_criterion(target):
    def expect(ref, seed):
        out = {}
        for i, case in enumerate(CRITERION_CASES[target]):
            criterion = case.build(ref)
            x, t = criterion_inputs(seed, target, i, case)
            out[f"case{i}.loss"] = np.asarray(copy.deepcopy(criterion).forward(x.copy(), t.copy()), dtype=np.float64)
            x_var = x.copy()
            out[f"case{i}.gradInput"] = numerical_gradient(
                lambda: float(copy.deepcopy(criterion).forward(x_var.copy(), t.copy())), x_var)
            out[f"case{i}.input"] = x
            out[f"case{i}.target"] = t
        return out
    return expect


def judge_criterion_loss(target):
    def judge(got, expected):
        for key in sorted(k for k in expected if k.endswith(".loss")):
            value = got.get(key)
            if value is not None and _array(value).size == 1 and _array(value).ndim > 0:
                value = _array(value).reshape(())
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
            label = _case_label(target, key)
            for name, want in (("input", expected[key]), ("target", expected[f"{case}.target"])):
                after = got.get(f"{case}.{name}_after")
                if after is None or not np.array_equal(_array(after), want):
                    return False, f"{target} modified its {name} in place ({label})."
            for name in ("loss", "gradInput"):
                returned, stored = got.get(f"{case}.{name}"), got.get(f"{case}.stored_{name}")
                if returned is None or stored is None or \
                        not np.array_equal(np.asarray(returned, dtype=np.float64).ravel(), np.asarray(stored, dtype=np.float64).ravel()):
                    attribute = "output" if name == "loss" else "gradInput"
                    return False, f"{target}: self.{attribute} is {show(stored)}, but the call returned {show(returned)} ({label}); store what you return."
        return True, "forward/backward return and store output/gradInput, and leave input and target unchanged"
    return judge


def _nll_edge(seed):
    p = np.array([[0., 1., 0., 0.], [0.5, 0.5, 0., 0.], [1e-20, 1 - 1e-20, 0., 0.]])
    t = np.zeros_like(p)
    t[[0, 1, 2], [0, 2, 0]] = 1   # the true class has probability 0 (or almost)
    return p, t


def probe_nll_zero(ns, seed):
    criterion = ns.ClassNLLCriterion()
    p, t = _nll_edge(seed)
    loss = criterion.forward(p.copy(), t.copy())
    return {"loss": np.asarray(loss, dtype=np.float64), "gradInput": criterion.backward(p.copy(), t.copy())}


def expect_nll_zero(ns, seed):
    return {}


def judge_nll_zero(got, expected):
    for name in ("loss", "gradInput"):
        value = got.get(name)
        if value is None or _array(value).dtype.kind not in "fiu" or not np.all(np.isfinite(_array(value))):
            return False, (f"ClassNLLCriterion with probability 0 for the true class: {name} is {show(value)}; "
                           "clip the probabilities to [EPS, 1 - EPS] before the log and the division.")
    if float(np.asarray(got["loss"]).ravel()[0]) <= 0:
        return False, f"ClassNLLCriterion with probability 0 for the true class: the loss {show(got['loss'])} should be large and positive"
    return True, "finite loss and gradient when a probability is exactly 0"


# Optimizers.

OPTIMIZER_CONFIG = {"sgd_momentum": {"learning_rate": 0.1, "momentum": 0.9},
                    "adam_optimizer": {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}}
OPTIMIZER_SHAPES = [[(3, 2), (3,)], [], [(4,)]]   # a layer without parameters in the middle, as in a Sequential


def probe_optimizer(name):
    def probe(ns, seed):
        rng = rng_for(seed, 11, _salt(name))
        params = [[rng.standard_normal(s) for s in layer] for layer in OPTIMIZER_SHAPES]
        state = {}
        optimizer = getattr(ns, name)
        out = {}
        for step in range(3):
            grads = [[rng.standard_normal(s) for s in layer] for layer in OPTIMIZER_SHAPES]
            optimizer(params, grads, dict(OPTIMIZER_CONFIG[name]), state)
            for i, p in enumerate(q for layer in params for q in layer):
                out[f"step{step}.param{i}"] = np.array(p, copy=True)
        return out
    return probe


def judge_optimizer(name):
    def judge(got, expected):
        for key in sorted(expected):
            step, param = key.split(".")
            value = got.get(key)
            if value is None or _array(value).shape != expected[key].shape:
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


# ---------------------------------------------------------------------------- the catalogue


def _same(probe):
    """expect = the probe run on the reference (trusted) modules."""
    return lambda ref, seed: probe(ref, seed)


def _layer_checks(target, forward=2, grad_input=3, params=3, contract=1, dtype=1, accumulate=1):
    cases = LAYER_CASES[target]
    has_params = any(case.params for case in cases)
    checks = [
        Check(target, "forward output", forward, probe_forward(target), _same(probe_forward(target)), judge_forward(target)),
        Check(target, "gradInput vs finite differences", grad_input, probe_backward(target), expect_backward(target),
              judge_gradients(target, {"gradInput"})),
    ]
    if has_params:
        paths = {path for case in cases for path, _ in case.params}
        checks.append(Check(target, "parameter gradients vs finite differences", params, probe_backward(target),
                            expect_backward(target), judge_gradients(target, paths)))
        checks.append(Check(target, "gradients accumulate, zeroGradParameters resets", accumulate,
                            probe_accumulate(target), expect_accumulate(target), judge_accumulate(target)))
    checks.append(Check(target, "stores output/gradInput, inputs untouched", contract, probe_contract(target),
                        expect_contract(target), judge_contract(target)))
    if dtype:
        checks.append(Check(target, "float32 stays float32", dtype, probe_dtype(target), expect_dtype(target),
                            judge_dtype(target)))
    return checks


def _criterion_checks(target):
    return [
        Check(target, "loss value", 2, probe_criterion(target), expect_criterion(target), judge_criterion_loss(target)),
        Check(target, "gradInput vs finite differences", 3, probe_criterion(target), expect_criterion(target),
              judge_gradients(target, {"gradInput"})),
        Check(target, "stores output/gradInput, inputs untouched", 1, probe_criterion(target),
              expect_criterion(target), judge_criterion_contract(target)),
    ]


def _catalogue():
    checks = []
    checks += _layer_checks("Sequential", forward=3, grad_input=4, params=2, dtype=0)
    checks += _layer_checks("Linear")
    checks += _layer_checks("SoftMax")
    checks.append(Check("SoftMax", "stable for logits of magnitude 800", 2, probe_stable("SoftMax"),
                        expect_stable("SoftMax"), judge_stable("SoftMax")))
    checks += _layer_checks("LogSoftMax")
    checks.append(Check("LogSoftMax", "stable for logits of magnitude 800", 2, probe_stable("LogSoftMax"),
                        expect_stable("LogSoftMax"), judge_stable("LogSoftMax")))
    checks += _layer_checks("BatchNormalization")
    checks += _layer_checks("ChannelwiseScaling")
    checks += [
        Check("Dropout", "training: kept fraction about 1-p", 2, probe_dropout_train, expect_dropout, judge_dropout_fraction),
        Check("Dropout", "training: kept units scaled by 1/(1-p)", 2, probe_dropout_train, expect_dropout, judge_dropout_scale),
        Check("Dropout", "backward reuses the forward mask", 2, probe_dropout_train, expect_dropout, judge_dropout_mask_reuse),
        Check("Dropout", "evaluation: identity", 2, probe_dropout_eval, expect_dropout_eval, judge_dropout_eval),
        Check("Dropout", "stores output/gradInput, inputs untouched", 1, probe_contract("Dropout"),
              expect_contract("Dropout"), judge_contract("Dropout")),
    ]
    checks += _layer_checks("BatchMeanSubtraction")
    checks += [
        Check("BatchMeanSubtraction", "evaluation: subtracts the running mean", 2, probe_bms_eval, expect_bms_eval,
              judge_bms_running_mean),
        Check("BatchMeanSubtraction", "evaluation: independent of the batch", 1, probe_bms_eval, expect_bms_eval,
              judge_bms_independent),
    ]
    for target in ("ReLU", "LeakyReLU", "ELU", "SoftPlus", "Sigmoid", "Tanh"):
        checks += _layer_checks(target)
    for target in ("ELU", "SoftPlus", "Sigmoid"):
        checks.append(Check(target, "finite for inputs of magnitude 800", 1, probe_large_inputs(target),
                            expect_large_inputs(target), judge_large_inputs(target)))
    checks += _layer_checks("Flatten")
    checks += _layer_checks("Conv2d")
    checks += _layer_checks("MaxPool2d")
    for target in CRITERION_CASES:
        checks += _criterion_checks(target)
        if target == "ClassNLLCriterion":
            checks.append(Check(target, "finite for probabilities 0 and 1", 2, probe_nll_zero, expect_nll_zero, judge_nll_zero))
    # sgd_momentum is given to the students (no solution region): checked, not scored.
    checks.append(Check("sgd_momentum", "3 steps match the update rule", 0, probe_optimizer("sgd_momentum"),
                        _same(probe_optimizer("sgd_momentum")), judge_optimizer("sgd_momentum")))
    checks.append(Check("adam_optimizer", "3 steps match the update rule", 4, probe_optimizer("adam_optimizer"),
                        _same(probe_optimizer("adam_optimizer")), judge_optimizer("adam_optimizer")))
    return checks


CHECKS = _catalogue()
BY_ID = {check.id: check for check in CHECKS}
TARGETS = list(dict.fromkeys(check.target for check in CHECKS))


def checks_of(target=None):
    return [c for c in CHECKS if target is None or c.target == target]


# ------------------------------------------------------------------ values across the kernel


_KINDS = "biuf"


def encode(values):
    """Probe values -> JSON: arrays as base64 bytes with dtype and shape; anything else as text."""
    out = {}
    for key, value in values.items():
        if value is None:
            out[key] = {"none": True}
            continue
        if isinstance(value, str):
            out[key] = {"text": value}
            continue
        try:
            array = np.asarray(value)
        except Exception:
            array = None
        if array is None or array.dtype.kind not in _KINDS:
            out[key] = {"text": f"{type(value).__name__}: {str(value)[:300]}"}
            continue
        array = np.array(array, order="C", copy=True)  # (ascontiguousarray would make a 0-d array 1-d)
        out[key] = {"dtype": array.dtype.str, "shape": list(array.shape),
                    "data": base64.b64encode(array.tobytes()).decode("ascii")}
    return out


ALLOWED_DTYPES = {np.dtype(t).str for t in ("?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8")}
MAX_BYTES = 64 * 2 ** 20


def decode(encoded):
    """The grader's strict inverse of encode: only plain numeric arrays and text; never pickles."""
    if not isinstance(encoded, dict):
        raise ValueError("probe values are not a JSON object")
    values = {}
    for key, item in encoded.items():
        if not isinstance(item, dict):
            raise ValueError(f"probe value {key!r} is malformed")
        if "none" in item:
            values[key] = None
        elif "text" in item:
            values[key] = np.str_(str(item["text"]))
        else:
            dtype = str(item.get("dtype"))
            if dtype not in ALLOWED_DTYPES:
                raise ValueError(f"probe value {key!r} has dtype {dtype!r}")
            shape = tuple(int(s) for s in item.get("shape", []))
            raw = base64.b64decode(str(item.get("data", "")), validate=True)
            if len(raw) > MAX_BYTES:
                raise ValueError(f"probe value {key!r} is too large")
            array = np.frombuffer(raw, dtype=np.dtype(dtype)).copy()
            if array.size != int(np.prod(shape)):
                raise ValueError(f"probe value {key!r}: {array.size} numbers for shape {shape}")
            values[key] = array.reshape(shape)
    return values


def describe_exception(exc):
    """'ValueError: ... (at `line of code`)' with the deepest frame that is not the grader's."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "grader" not in f.filename.replace("\\", "/").split("/")[-2:-1]]
    where = f" (at `{frames[-1].line.strip()}`)" if frames and frames[-1].line else ""
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"


def run_probe(check_id, namespace, seed):
    """Runs one probe on a namespace; returns a JSON-able dict (this is what the kernel sends back)."""
    import types
    import warnings
    ns = types.SimpleNamespace(**namespace) if isinstance(namespace, dict) else namespace
    check = BY_ID[check_id]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                values = check.probe(ns, seed)
        return {"ok": True, "values": encode(values)}
    except NotImplementedError as exc:
        return {"ok": False, "not_implemented": True, "error": describe_exception(exc)}
    except Exception as exc:  # a student's bug, reported as the check's message
        return {"ok": False, "error": describe_exception(exc)}


# ------------------------------------------------------------------------------- judging


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


def expected_values(ref, seed, checks=None):
    """{check id: expected values} for the reference namespace; the grader computes this in its own process."""
    out = {}
    with np.errstate(all="ignore"):
        for check in checks or CHECKS:
            out[check.id] = check.expect(ref, seed)
    return out


PRESENT = "__present__"


def save_expected(expected, path):
    """Freezes expected values (for the students' check() in the release) into one .npz file."""
    flat = {}
    for check_id, values in expected.items():
        flat[json.dumps([check_id, PRESENT])] = np.zeros(0)   # a check with no expected values still has an entry
        for key, value in values.items():
            flat[json.dumps([check_id, key])] = np.asarray(value)
    np.savez_compressed(path, **flat)


def load_expected(path):
    expected = {}
    with np.load(path, allow_pickle=False) as data:
        for name in data.files:
            check_id, key = json.loads(name)
            values = expected.setdefault(check_id, {})
            if key != PRESENT:
                values[key] = data[name]
    return expected
