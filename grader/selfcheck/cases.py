"""What is checked: the cases (module, constructor arguments, input shape, mode) and the inputs drawn for
them (``Sequential``'s children are the test doubles of :mod:`.doubles`).

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
import inspect
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from grader.selfcheck.doubles import MatMul, Quadratic, RandomScale, Sine
from grader.selfcheck.gradcheck import sample_input

# The students' check() draws its inputs from this seed (its expected values ship frozen in the release). The
# grader draws its own from a secret of each batch (grader.execution.session.draw_seed), which never ships.
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
    """One way to build a layer and the input it is checked on.

    The layer is built as ``cls(*args)`` plus those of ``options`` that its own signature names (a
    PyTorch-style ``Conv2d(..., padding=...)``), never with an argument a version's template lacks;
    parameters are set after construction.
    """
    label: str                      # what the case is about, e.g. "first training batch"
    args: tuple
    shape: tuple
    mode: str = "train"             # "train" or "evaluate"
    warmup: int = 0                 # training batches run first, so running statistics exist
    params: tuple = ()              # (parameter attribute, gradient attribute) pairs
    options: dict = field(default_factory=dict)
    children: Callable = None       # Sequential only: () -> the child modules, added with add()
    values: bool = True             # False: the forward output depends on a choice the text leaves open


@dataclass
class CriterionCase:
    label: str
    shape: tuple
    probabilities: bool = False     # input is a probability matrix (rows sum to 1)
    one_hot: bool = True


def rng_for(seed, *salt):
    """A generator that depends only on (seed, salt): the kernel and the grader draw the same numbers."""
    return np.random.default_rng([seed, *salt])


def children_of(container, name="modules"):
    """The list a container keeps its children in: `name` (the templates' `self.modules = []`), else its one list
    attribute of modules (a Sequential whose student renamed it `self.layers`: right all the same)."""
    if hasattr(container, name):
        return getattr(container, name)
    lists = [value for value in vars(container).values() if isinstance(value, list) and value
             and all(callable(getattr(child, "forward", None)) for child in value)]
    if len(lists) != 1:
        raise AttributeError(f"{type(container).__name__} keeps no list of its modules ('{name}', or one of its own)")
    return lists[0]


def attr_path(obj, path):
    """getattr for 'W' or 'modules[0].w'."""
    for part in path.split("."):
        if "[" in part:
            name, index = part[:-1].split("[")
            obj = children_of(obj, name)[int(index)]
        else:
            obj = getattr(obj, part)
    return obj


def own_params(module, case):
    """The case's (parameter, gradient) attribute paths as this module names them: the kit's (``W``, ``gradW``)
    when it has them all, else the attributes holding what its ``getParameters()`` / ``getGradParameters()`` return,
    in that order (a PyTorch-style ``Conv2d`` keeps ``weight`` and ``bias``; a Linear may keep its gradients as
    ``dW`` and ``db``: what the optimizer gets is what counts)."""
    top = [name for pair in case.params if "." not in pair[0] and "[" not in pair[0] for name in pair]
    missing = [name for name in top if not hasattr(module, name)]
    if not top or not missing:
        return list(case.params)
    params, grads = list(module.getParameters()), list(module.getGradParameters())
    if len(params) != len(case.params) or len(grads) != len(case.params):
        raise AttributeError(f"{type(module).__name__} has no attribute {missing[0]!r}, and getParameters() / "
                             f"getGradParameters() return {len(params)} / {len(grads)} arrays, not {len(case.params)}")

    def name_of(array):
        for name, value in vars(module).items():
            if value is array:
                return name
        raise AttributeError(f"{type(module).__name__}.getParameters() returns an array it does not keep as an attribute")
    return [(name_of(param), name_of(grad)) for param, grad in zip(params, grads)]


def set_parameter(module, path, grad_path, value):
    """Sets the parameter at `path` to `value` (its dtype included) and its gradient buffer to zeros.

    The array is written in place when its shape and dtype already match, so that a module keeping
    other references to it sees the change; otherwise it is replaced.
    """
    current = attr_path(module, path)
    if not isinstance(current, np.ndarray):
        raise TypeError(f"{path} is {type(current).__name__}, expected a numpy array")
    if current.shape != value.shape:
        raise ValueError(f"{path} has shape {current.shape}, expected {value.shape}")
    if current.dtype == value.dtype:
        current[...] = value
        return
    owner, _, name = path.rpartition(".")
    owner = attr_path(module, owner) if owner else module
    setattr(owner, name, value)
    grad_owner, _, grad_name = grad_path.rpartition(".")
    setattr(attr_path(module, grad_owner) if grad_owner else module, grad_name, np.zeros_like(value))


LINEAR_PARAMS = (("W", "gradW"), ("b", "gradb"))


SCALING_PARAMS = (("gamma", "gradGamma"), ("beta", "gradBeta"))


FIRST_BATCH_ALPHA = "first training batch, alpha 0.3"


LAYER_CASES = {
    "Linear": [LayerCase("", (4, 3), (1, 4), params=LINEAR_PARAMS), LayerCase("", (4, 3), (5, 4), params=LINEAR_PARAMS)],
    "SoftMax": [LayerCase("", (), (1, 4)), LayerCase("", (), (5, 4))],
    "LogSoftMax": [LayerCase("", (), (1, 4)), LayerCase("", (), (5, 4))],
    "BatchNormalization": [   # training only: evaluation is judged by property (probe_running_stats)
        LayerCase("first training batch", (0.,), (6, 3)),
        LayerCase("training after 2 batches", (0.9,), (5, 4), warmup=2)],
    "ChannelwiseScaling": [LayerCase("", (4,), (1, 4), params=SCALING_PARAMS),
                           LayerCase("", (4,), (5, 4), params=SCALING_PARAMS)],
    "BatchMeanSubtraction": [
        LayerCase("first training batch", (0.,), (5, 4)),
        # training subtracts the running mean, whose start the text leaves open: gradients only
        LayerCase("training after 2 batches", (0.3,), (5, 4), warmup=2, values=False),
        # where the text has the first batch start the mean (alpha = 0 on it, whatever alpha is): its gradient too
        # (its output is the running-statistics check's, which names a mean started at 0 as the cause)
        LayerCase(FIRST_BATCH_ALPHA, (0.3,), (5, 4), values=False)],
    "Dropout": [LayerCase("training", (0.3,), (4, 5), values=False),   # the contract check only:
                LayerCase("evaluation", (0.3,), (4, 5), mode="evaluate", values=False)],  # the mask is random
    "ReLU": [LayerCase("", (), (1, 4)), LayerCase("", (), (5, 4))],
    "LeakyReLU": [LayerCase("", (0.03,), (1, 4)), LayerCase("", (0.2,), (5, 4))],
    "ELU": [LayerCase("", (1.0,), (1, 4)), LayerCase("", (0.5,), (5, 4))],
    "SoftPlus": [LayerCase("", (), (1, 4)), LayerCase("", (), (5, 4))],
    "Sigmoid": [LayerCase("", (), (1, 4)), LayerCase("", (), (5, 4))],
    "Tanh": [LayerCase("", (), (1, 4)), LayerCase("", (), (5, 4))],
    # Flatten(start_dim=1) where the signature names it (torch's Flatten flattens the batch axis by default)
    "Flatten": [LayerCase("", (), (1, 2, 3, 2), options={"start_dim": 1}),
                LayerCase("", (), (3, 2, 2, 3), options={"start_dim": 1})],
    "Conv2d": [LayerCase("", (1, 1, 3), (1, 1, 3, 3), params=LINEAR_PARAMS, options={"stride": 1, "padding": 1}),  # tiny:
               LayerCase("", (2, 3, 3), (1, 2, 4, 5), params=LINEAR_PARAMS, options={"stride": 1, "padding": 1}),  # shown whole
               LayerCase("", (3, 2, 5), (2, 3, 5, 4), params=LINEAR_PARAMS, options={"stride": 1, "padding": 2}),
               LayerCase("", (1, 2, 1), (2, 1, 3, 3), params=LINEAR_PARAMS, options={"stride": 1, "padding": 0}),
               # a batch of 2 with kernel size 3: all that a version judged on kernel size 3 alone keeps of batches
               LayerCase("", (2, 2, 3), (2, 2, 3, 4), params=LINEAR_PARAMS, options={"stride": 1, "padding": 1})],
    "MaxPool2d": [LayerCase("", (2,), (1, 2, 4, 6), options={"stride": 2, "padding": 0}),
                  LayerCase("", (3,), (2, 1, 6, 3), options={"stride": 3, "padding": 0})],
    "Sequential": [
        LayerCase("", (), (1, 3),
                  children=lambda: [Quadratic(3), Sine(), MatMul(3), Quadratic(3)],
                  params=(("modules[0].w", "modules[0].gradw"), ("modules[3].w", "modules[3].gradw"))),
        LayerCase("", (), (5, 4), children=lambda: [Sine(), Quadratic(4), Sine()],
                  params=(("modules[1].w", "modules[1].gradw"),)),
        # a stochastic child: no parameters here, so accumulation (two forwards) is not probed on it
        LayerCase("", (), (2, 3), children=lambda: [RandomScale(3), Sine()]),
    ],
}


CRITERION_CASES = {
    "MSECriterion": [CriterionCase("", (1, 4), one_hot=False), CriterionCase("", (5, 3), one_hot=False)],
    "ClassNLLCriterion": [CriterionCase("probabilities", (1, 4), True), CriterionCase("probabilities", (5, 4), True)],
    "ClassNLLLogCriterion": [CriterionCase("log-probabilities", (1, 4)), CriterionCase("log-probabilities", (5, 4))],
}


def judged(version, target, case):
    """Whether `version` judges `target` on `case` (its text may leave some cases open: :attr:`.versions.Version.conv_kernels`;
    BatchMeanSubtraction's first batch with alpha != 0 only where the text says the first batch starts the mean;
    Dropout in evaluation only where the text gives its backward there)."""
    if target == "Conv2d" and version.conv_kernels and case.args[2] not in version.conv_kernels:
        return False
    if target == "Dropout" and case.mode == "evaluate" and not version.eval_backward:
        return False   # its contract calls backward in evaluation, which the course's texts never ask
    return case.label != FIRST_BATCH_ALPHA or version.first_batch_starts


def judged_values(version, target, values):
    """`values` (keyed 'case{i}' or 'case{i}.what') without the cases `version` does not judge."""
    cases = LAYER_CASES.get(target, ())
    skipped = {f"case{i}" for i, case in enumerate(cases) if not judged(version, target, case)}
    if not skipped:
        return values
    return {key: value for key, value in values.items() if key.partition(".")[0] not in skipped}


def layer_inputs(seed, target, index, case, dtype=np.float64):
    """The input of one case."""
    x = sample_input(case.shape, rng_for(seed, 1, index, salt(target))).astype(dtype)
    return x


def salt(text):
    return sum(ord(c) * (i + 1) for i, c in enumerate(text)) % 100003


FUNCTIONS = ("sgd_momentum", "adam_optimizer")   # targets that are functions, not classes


class MissingClass(LookupError):
    """The submission has no class (or function) of the name its version gives a target."""

    def __init__(self, name, kind="class"):
        super().__init__(name)
        self.name = name
        self.kind = kind


def lookup(ns, version, target):
    """The submission's class (or function) for the kit's `target`, by the name its version uses."""
    name = version.class_name(target)
    found = ns.get(name) if isinstance(ns, dict) else getattr(ns, name, None)
    if found is None:
        raise MissingClass(name, "function" if target in FUNCTIONS else "class")
    return found


def construct(cls, args, options=None):
    """cls(*args), plus those `options` that cls's own signature names (never an argument it lacks)."""
    try:
        accepted = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        accepted = {}
    return cls(*args, **{k: v for k, v in (options or {}).items() if k in accepted})


def constructor_call(version, target, case):
    """How the grader built the module, in the submission's own names, e.g. 'Linear(4, 3)'."""
    name = version.class_name(target)
    if case.children is not None:
        return f"{name}() with add({'), add('.join(repr(c) for c in case.children())})"
    return f"{name}({', '.join(repr(a) for a in case.args)})"


def set_mode(module, training):
    """train()/evaluate() when the module has them as methods; else the `training` attribute (2017's
    ``training()`` method is hidden by the attribute of the same name)."""
    method = getattr(module, "train" if training else "evaluate", None)
    if callable(method):
        method()
    else:
        module.training = training


BATCHNORM_EPS = 1e-3   # BatchNormalization.EPS as every template gives it (2018's stub, 2019-21, the kit)


def template_eps(module):
    """Gives a BatchNormalization whose class constant EPS the student changed (1e-5, PyTorch's) the template's: the
    values are judged against the reference's, computed with 1e-3, while the course's own test compares with PyTorch
    at the module's own EPS, so any EPS is right. A constant typed into the formula stays as written."""
    for owner in (type(module), module):
        value = vars(owner).get("EPS")
        if isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) and value != BATCHNORM_EPS:
            setattr(owner, "EPS", BATCHNORM_EPS)


def build_layer(ns, version, seed, target, index, case, dtype=np.float64):
    """The case's module with the grader's parameter values (in `dtype`), warmed up and in its mode."""
    np.random.seed(0)
    cls = lookup(ns, version, target)
    if case.children is not None:
        module = cls()
        for child in case.children():
            module.add(child)
    else:
        module = construct(cls, case.args, case.options)
    if target == "BatchNormalization":
        template_eps(module)
        if getattr(module, "moving_mean", 0) is None and getattr(module, "moving_variance", 0) is None:
            # The course's own test starts them as PyTorch does before the first batch; any start is judged alike.
            module.moving_mean, module.moving_variance = np.zeros(case.shape[1]), np.ones(case.shape[1])
    rng = rng_for(seed, 2, index, salt(target))
    for path, grad_path in own_params(module, case):
        shape = np.shape(attr_path(module, path))
        value = rng.uniform(-1, 1, size=shape) if "gamma" not in path else rng.uniform(0.5, 1.5, shape)
        set_parameter(module, path, grad_path, value.astype(dtype) if "modules[" not in path else value)
    for _ in range(case.warmup):
        set_mode(module, True)
        module.forward(sample_input(case.shape, rng).astype(dtype))
    set_mode(module, case.mode == "train")
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


DROPOUT_ZEROS = 10   # every 10th entry of Dropout's input is exactly 0 (after a ReLU many are)


def dropout_input(seed):
    """Dropout's input: entries in +-[0.1, 2] drawn from `seed`, every DROPOUT_ZEROS-th exactly 0, where a backward
    whose mask is read off the output (output != 0) would drop units that forward kept. The zeros sit at the same
    places whatever the seed, so the kept fraction (counted over the other units, with the notebook's own random
    mask) reads the same in every batch."""
    x = sample_input(DROPOUT_SHAPE, rng_for(seed, 7))
    x.reshape(-1)[::DROPOUT_ZEROS] = 0.0
    return x


EDGE_INPUT = np.array([[-800., -1., 0., 0., 1., 800.]])   # kinks at exactly 0, and overflow at +-800
LARGE_INPUT = np.array([[-800., -50., -1e-3, 0., 0.5, 50., 800.]])


def large_input(seed, target):
    """Shape (2, 8): LARGE_INPUT's values (exactly 0, magnitudes up to 800) at places drawn from `seed` among
    ordinary entries in [-3, 3] drawn from it too. Every entry is judged by value (the one at exactly 0 only by its
    output: its gradient is a convention), so an answer stored from other inputs does not fit."""
    rng = rng_for(seed, 14, salt(target))
    x = rng.uniform(-3.0, 3.0, size=16)
    x[rng.permutation(x.size)[:LARGE_INPUT.size]] = LARGE_INPUT.ravel()
    return x.reshape(2, 8)

RUNNING_ALPHA = 0.3   # not 0.5, so that swapping alpha and 1 - alpha shows
RUNNING_CASES = {target: LayerCase("running statistics", (RUNNING_ALPHA,), (6, 4))
                 for target in ("BatchMeanSubtraction", "BatchNormalization")}


def running_batches(seed, target):
    """Two training batches with different statistics, and a test batch (rows far apart, so that the
    evaluation's per-feature scale and shift can be read off its output)."""
    rng = rng_for(seed, 9, salt(target))
    first = sample_input((6, 4), rng) * 2.0 + 3.0
    second = sample_input((6, 4), rng) * 10.0 - 1.0   # a large variance: the judge's EPS-free reading of it
    test = sample_input((5, 4), rng) * 3.0
    return first, second, test


def maxpool_ties(seed):
    """(input, gradOutput) for MaxPool2d(2) whose blocks hold tied maxima: [[1, 1], [0, 0]] (first and second),
    [[0, 2], [2, 0]] (second and third), [[3, 3], [3, 3]] (all four); the first in row-major order gets the gradient.
    The gradOutput (signs +, -, +) is drawn from `seed`: an answer stored from other inputs does not fit it."""
    x = np.array([[[[1., 1., 0., 2., 3., 3.],
                    [0., 0., 2., 0., 3., 3.]]]])
    g = (rng_for(seed, 13).uniform(0.5, 2.5, size=3) * np.array([1., -1., 1.])).reshape(1, 1, 1, 3)
    return x, g


def meaning_inputs(seed):
    """(probabilities, one-hot targets) to tell a criterion on probabilities from one on log-probabilities."""
    rng = rng_for(seed, 12)
    e = np.exp(rng.standard_normal((4, 3)))
    t = np.zeros((4, 3))
    t[np.arange(4), rng.integers(0, 3, size=4)] = 1
    return e / e.sum(axis=1, keepdims=True), t


def criterion_meaning(losses, seed):
    """"probabilities", "log-probabilities" or None from a class's losses on (probabilities, their logs): the
    mean (or the sum) of -log p of the true class on the one it takes."""
    p, t = meaning_inputs(seed)
    want = -np.sum(t * np.log(p))
    fits = [loss is not None and np.isfinite(loss) and any(abs(loss - w) <= 1e-6 * abs(w) for w in (want, want / len(p)))
            for loss in losses]
    return "probabilities" if fits == [True, False] else "log-probabilities" if fits == [False, True] else None


NLL_EDGE_ROWS = np.array([[0., 1., 0., 0.], [0.5, 0.5, 0., 0.], [1e-20, 1 - 1e-20, 0., 0.]])


def nll_edge(seed):
    """(probabilities, one-hot targets, ordinary rows) of shape (8, 4): the rows of NLL_EDGE_ROWS (probabilities 0
    and 1; the true class has probability 0, or almost) at places drawn from `seed` among 5 ordinary rows drawn from
    it too. The gradient on the ordinary rows is judged by value: an answer stored from other inputs does not fit."""
    rng = rng_for(seed, 15)
    e = np.exp(rng.standard_normal((5, 4)))
    p = np.concatenate([NLL_EDGE_ROWS, e / e.sum(axis=1, keepdims=True)])
    labels = np.concatenate([[0, 2, 0], rng.integers(0, 4, size=5)])
    order = rng.permutation(len(p))
    t = np.zeros_like(p)
    t[np.arange(len(p)), labels[order]] = 1
    return p[order], t, order >= len(NLL_EDGE_ROWS)
