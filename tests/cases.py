"""The test suite's gradient-check cases of every module of HW3_Modules.ipynb: what to build, on which inputs, in which mode.

These test the reference framework, independently of the grader's own checks (grader/selfcheck/), so
a mistake in one table cannot hide a mistake in the other. Shapes are small (finite differences cost
two forwards per entry) and include a batch of one. Every case runs on a namespace holding the module
classes (here: HW3_Modules.ipynb loaded by grader/selfcheck/notebook.py).
"""
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from gradcheck import check_criterion, check_module, sample_input


@dataclass
class Case:
    """One module built one way, checked on one input."""
    label: str                              # e.g. "Linear(4 -> 3), N=1"
    build: Callable[[object], object]       # namespace -> module or criterion
    input_shape: tuple
    mode: str = "train"                     # "train" or "evaluate"
    seed: Optional[int] = None              # reseed before every forward (random layers)
    warmup: int = 0                         # training batches run first (running statistics exist)
    criterion: bool = False
    probabilities: bool = False             # criterion input must be positive (probabilities)
    extra: dict = field(default_factory=dict)


def _one_hot(n, c, rng):
    target = np.zeros((n, c))
    target[np.arange(n), rng.integers(0, c, size=n)] = 1
    return target


def _module_cases():
    cases = {}

    def add(name, label, build, shape, **kw):
        cases.setdefault(name, []).append(Case(f"{label}, input {shape}", build, shape, **kw))

    for n in (1, 5):
        add("Linear", "Linear(4 -> 3)", lambda ns: ns.Linear(4, 3), (n, 4))
        add("SoftMax", "SoftMax", lambda ns: ns.SoftMax(), (n, 4))
        add("LogSoftMax", "LogSoftMax", lambda ns: ns.LogSoftMax(), (n, 4))
        add("ReLU", "ReLU", lambda ns: ns.ReLU(), (n, 4))
        add("LeakyReLU", "LeakyReLU(0.03)", lambda ns: ns.LeakyReLU(0.03), (n, 4))
        add("ELU", "ELU(1.0)", lambda ns: ns.ELU(1.0), (n, 4))
        add("ELU", "ELU(0.5)", lambda ns: ns.ELU(0.5), (n, 3))
        add("SoftPlus", "SoftPlus", lambda ns: ns.SoftPlus(), (n, 4))
        add("Sigmoid", "Sigmoid", lambda ns: ns.Sigmoid(), (n, 4))
        add("Tanh", "Tanh", lambda ns: ns.Tanh(), (n, 4))
        add("ChannelwiseScaling", "ChannelwiseScaling(4)", _scaling, (n, 4))
        add("Dropout", "Dropout(0.4), train", lambda ns: ns.Dropout(0.4), (n, 6), seed=7)
        add("Dropout", "Dropout(0.4), evaluate", lambda ns: ns.Dropout(0.4), (n, 6), mode="evaluate")
        add("Flatten", "Flatten", lambda ns: ns.Flatten(), (n, 2, 3, 2))
        add("Conv2d", "Conv2d(2 -> 3, k=3)", lambda ns: ns.Conv2d(2, 3, 3), (n, 2, 4, 5))
        add("MaxPool2d", "MaxPool2d(2)", lambda ns: ns.MaxPool2d(2), (n, 2, 4, 6))
        add("BatchMeanSubtraction", "BatchMeanSubtraction(0.3), evaluate",
            lambda ns: ns.BatchMeanSubtraction(0.3), (n, 4), mode="evaluate", warmup=2)
        add("BatchNormalization", "BatchNormalization(0.5), evaluate",
            lambda ns: ns.BatchNormalization(0.5), (n, 4), mode="evaluate", warmup=2)
        add("Sequential", "Sequential(Linear, Tanh, Linear, SoftMax)", _sequential, (n, 3))
        add("MSECriterion", "MSECriterion", lambda ns: ns.MSECriterion(), (n, 4), criterion=True)
        add("ClassNLLCriterion", "ClassNLLCriterion", lambda ns: ns.ClassNLLCriterion(), (n, 4),
            criterion=True, probabilities=True)
        add("ClassNLLLogCriterion", "ClassNLLLogCriterion", lambda ns: ns.ClassNLLLogCriterion(), (n, 4),
            criterion=True)
    # Batch statistics need more than one row to be a function of the batch.
    add("Conv2d", "Conv2d(1 -> 2, k=1)", lambda ns: ns.Conv2d(1, 2, 1), (2, 1, 3, 3))
    add("Conv2d", "Conv2d(3 -> 2, k=5)", lambda ns: ns.Conv2d(3, 2, 5), (2, 3, 5, 5))
    add("MaxPool2d", "MaxPool2d(3)", lambda ns: ns.MaxPool2d(3), (2, 1, 6, 3))
    add("BatchMeanSubtraction", "BatchMeanSubtraction(0.0), first batch",
        lambda ns: ns.BatchMeanSubtraction(0.), (5, 4))
    add("BatchMeanSubtraction", "BatchMeanSubtraction(0.3), after 2 batches",
        lambda ns: ns.BatchMeanSubtraction(0.3), (5, 4), warmup=2)
    add("BatchNormalization", "BatchNormalization(0.0), first batch",
        lambda ns: ns.BatchNormalization(0.), (6, 3))
    add("BatchNormalization", "BatchNormalization(0.9), after 2 batches",
        lambda ns: ns.BatchNormalization(0.9), (5, 4), warmup=2)
    add("Sequential", "Sequential(Linear, BatchMeanSubtraction, ELU, Dropout, Linear, LogSoftMax)",
        _sequential_stateful, (4, 3), seed=3, warmup=1)
    return cases


def _scaling(ns):
    layer = ns.ChannelwiseScaling(4)
    rng = np.random.default_rng(5)
    layer.gamma[...] = rng.uniform(0.5, 1.5, size=layer.gamma.shape)   # away from the trivial 1 and 0
    layer.beta[...] = rng.uniform(-1, 1, size=layer.beta.shape)
    return layer


def _sequential(ns):
    net = ns.Sequential()
    for module in (ns.Linear(3, 4), ns.Tanh(), ns.Linear(4, 2), ns.SoftMax()):
        net.add(module)
    return net


def _sequential_stateful(ns):
    net = ns.Sequential()
    for module in (ns.Linear(3, 5), ns.BatchMeanSubtraction(0.2), ns.ELU(), ns.Dropout(0.3), ns.Linear(5, 3),
                   ns.LogSoftMax()):
        net.add(module)
    return net


MODULE_CASES = _module_cases()
OPTIMIZERS = ("sgd_momentum", "adam_optimizer")


def prepare(case, ns, rng):
    """Build the case's module in its mode, warmed up on random training batches; return (module, input)."""
    np.random.seed(0)  # parameter initialisation is random: fix it so a case is reproducible
    module = case.build(ns)
    for _ in range(case.warmup):
        module.train()
        module.forward(sample_input(case.input_shape, rng))
    if not case.criterion:
        module.train() if case.mode == "train" else module.evaluate()
    if case.probabilities:
        x = rng.uniform(0.05, 1.0, size=case.input_shape)  # inside (EPS, 1 - EPS): no clipping
    else:
        x = sample_input(case.input_shape, rng)
    return module, x


def gradient_results(ns, name, seed=0):
    """GradCheckResults of every case of `name` (a key of MODULE_CASES) on namespace `ns`."""
    rng = np.random.default_rng(seed)
    results = []
    for case in MODULE_CASES[name]:
        module, x = prepare(case, ns, rng)
        if case.criterion:
            target = _one_hot(x.shape[0], x.shape[1], rng) if "NLL" in name else rng.standard_normal(x.shape)
            found = check_criterion(module, x, target)
        else:
            found = check_module(module, x, seed=case.seed, rng=rng)
        for result in found:
            result.module = case.label
        results += found
    return results


@dataclass
class StepResult:
    """One optimizer step compared with the update computed by hand."""
    module: str
    gradient: str
    shape: tuple
    rel_error: float
    passed: bool

    def __str__(self):
        return f"{self.module:<32} {self.gradient:<18} shape {str(self.shape):<14} rel. error {self.rel_error:.1e}  {'ok' if self.passed else 'FAILED'}"


def expected_steps(name, params, grads, config, steps):
    """The parameters after `steps` updates with constant gradients, by the formulas of the modules notebook."""
    params = [p.copy() for p in params]
    velocity = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    for t in range(1, steps + 1):
        for i, (p, g) in enumerate(zip(params, grads)):
            if name == "sgd_momentum":
                velocity[i] = config["momentum"] * velocity[i] + config["learning_rate"] * g
                p -= velocity[i]
            else:
                velocity[i] = config["beta1"] * velocity[i] + (1 - config["beta1"]) * g
                second[i] = config["beta2"] * second[i] + (1 - config["beta2"]) * g * g
                lr_t = config["learning_rate"] * np.sqrt(1 - config["beta2"] ** t) / (1 - config["beta1"] ** t)
                p -= lr_t * velocity[i] / (np.sqrt(second[i]) + config["epsilon"])
    return params


def optimizer_results(ns, name, steps=3, seed=0):
    """Runs `steps` updates of optimizer `name` on nested parameter lists and compares with expected_steps."""
    rng = np.random.default_rng(seed)
    config = ({"learning_rate": 0.1, "momentum": 0.9} if name == "sgd_momentum" else
              {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8})
    shapes = [[(3, 2), (3,)], [], [(4,)]]     # a layer without parameters in the middle, as in a Sequential
    params = [[rng.standard_normal(s) for s in layer] for layer in shapes]
    grads = [[rng.standard_normal(s) for s in layer] for layer in shapes]
    flat_params = [p for layer in params for p in layer]
    flat_grads = [g for layer in grads for g in layer]
    want = expected_steps(name, flat_params, flat_grads, config, steps)
    state = {}
    optimizer = getattr(ns, name)
    for _ in range(steps):
        optimizer(params, grads, config, state)
    results = []
    for i, (got, expected) in enumerate(zip(flat_params, want)):
        err = float(np.linalg.norm(got - expected) / max(np.linalg.norm(expected), 1e-12))
        results.append(StepResult(f"{name}, {steps} steps", f"parameter {i}", got.shape, err, err < 1e-10))
    return results
