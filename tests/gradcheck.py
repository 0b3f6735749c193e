"""Finite-difference gradient checks for Torch-style modules and criterions (the test suite's; not shipped).

Every check runs in float64 with central differences (grader/selfcheck/gradcheck.py),

    d f / d x_i  ~  (f(x + h e_i) - f(x - h e_i)) / (2 h),

on the scalar f = sum(module.forward(x) * G) for a fixed random G (so one backward with
gradOutput = G gives the whole gradient to compare with). The input and every parameter array are
checked separately. A module is never mutated: each evaluation runs on a fresh deep copy of a
float64 snapshot, which also freezes stateful layers (running means) at their snapshot state; with
``seed`` the global numpy RNG is reseeded before every forward, which fixes a random layer's mask.

    results = check_module(Linear(3, 2), sample_input((4, 3)))
    assert all(r.passed for r in results)
"""
import copy
from dataclasses import dataclass

import numpy as np

from grader.selfcheck.gradcheck import (ABS_TOLERANCE, H, TOLERANCE, numerical_gradient, relative_error,  # noqa: F401
                                        sample_input)


@dataclass
class GradCheckResult:
    """One gradient compared with finite differences."""
    module: str          # repr of the module under test
    gradient: str        # "gradInput" or the parameter's name, e.g. "W" or "modules[0].W"
    shape: tuple
    rel_error: float
    passed: bool
    analytic: np.ndarray = None
    numeric: np.ndarray = None

    def __str__(self):
        verdict = "ok" if self.passed else "FAILED"
        return f"{self.module:<32} d/d{self.gradient:<16} shape {str(self.shape):<14} rel. error {self.rel_error:.1e}  {verdict}"


def agrees(analytic, numeric, rel_error, tolerance=TOLERANCE):
    """The pass rule: a small relative error, or a difference that is round-off of two vanishing gradients."""
    if rel_error < tolerance:
        return True
    if np.shape(analytic) != np.shape(numeric):
        return False
    diff = np.linalg.norm(np.asarray(analytic, dtype=np.float64) - np.asarray(numeric, dtype=np.float64))
    return bool(np.isfinite(diff) and diff < ABS_TOLERANCE)


def flatten(nested):
    """Flattens the nested lists of getParameters()/getGradParameters() into one list of arrays."""
    if isinstance(nested, np.ndarray):
        return [nested]
    return [array for item in nested for array in flatten(item)]


def to_float64(module):
    """Converts, in place, every floating array attribute of `module` and of its children to float64."""
    for name, value in vars(module).items():
        if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
            setattr(module, name, value.astype(np.float64))
        elif isinstance(value, (list, tuple)):
            for item in value:
                if hasattr(item, "__dict__") and hasattr(item, "forward"):
                    to_float64(item)
    return module


def parameter_names(module):
    """Names of the arrays of getParameters(), in order: the attribute holding each one, e.g. 'W' or 'modules[1].b'."""
    names = []
    children = getattr(module, "modules", None)
    if isinstance(children, list):
        for i, (child, params) in enumerate(zip(children, module.getParameters())):
            names += [f"modules[{i}].{name}" for name in parameter_names(child)][:len(flatten(params))]
        return names
    attributes = {id(value): name for name, value in vars(module).items() if isinstance(value, np.ndarray)}
    return [attributes.get(id(p), f"parameter {i}") for i, p in enumerate(flatten(module.getParameters()))]


def _forward(module, x, seed):
    if seed is not None:
        np.random.seed(seed)  # same mask on every call: a random layer becomes a fixed function
    return module.forward(x)


def check_module(module, input, gradOutput=None, seed=None, check_parameters=True, h=H, tolerance=TOLERANCE, rng=None):
    """Compares a module's gradInput and parameter gradients with central differences.

    Args:
        module: the module; left untouched (checks run on float64 deep copies of it).
        input: the input array (converted to float64).
        gradOutput: the G of f = sum(output * G); random normal if None.
        seed: if given, np.random is reseeded with it before every forward (fixes Dropout's mask).
        check_parameters: also check each array of getParameters().

    Returns:
        A list of GradCheckResult, gradInput first, then one per parameter array.
    """
    rng = np.random.default_rng(1) if rng is None else rng
    snapshot = to_float64(copy.deepcopy(module))
    x = np.array(input, dtype=np.float64)
    if gradOutput is None:
        gradOutput = rng.standard_normal(np.shape(_forward(copy.deepcopy(snapshot), x.copy(), seed)))
    g = np.array(gradOutput, dtype=np.float64)

    analytic_module = copy.deepcopy(snapshot)
    analytic_module.zeroGradParameters()
    _forward(analytic_module, x.copy(), seed)
    analytic_input = np.array(analytic_module.backward(x.copy(), g.copy()), dtype=np.float64)
    analytic_params = [np.array(p, dtype=np.float64) for p in flatten(analytic_module.getGradParameters())]

    name = repr(module).replace("\n", " ")
    results = []

    def compare(label, analytic, numeric):
        err = relative_error(analytic, numeric)
        results.append(GradCheckResult(name, label, tuple(np.shape(numeric)), err,
                                       agrees(analytic, numeric, err, tolerance), analytic, numeric))

    def loss_at(perturbed_x):
        return lambda: float(np.sum(_forward(copy.deepcopy(snapshot), perturbed_x.copy(), seed) * g))

    x_var = x.copy()
    compare("gradInput", analytic_input, numerical_gradient(loss_at(x_var), x_var, h))

    if check_parameters:
        names = parameter_names(snapshot)
        for index, label in enumerate(names):
            trial = copy.deepcopy(snapshot)
            param = flatten(trial.getParameters())[index]

            def loss():
                # `param` is perturbed in place inside `trial`; a deep copy per call keeps the state frozen.
                return float(np.sum(_forward(copy.deepcopy(trial), x.copy(), seed) * g))
            numeric = numerical_gradient(loss, param, h)
            analytic = analytic_params[index] if index < len(analytic_params) else np.full(param.shape, np.nan)
            compare(label, analytic, numeric)
    return results


def check_criterion(criterion, input, target, h=H, tolerance=TOLERANCE):
    """Compares a criterion's backward(input, target) with central differences of forward(input, target)."""
    snapshot = copy.deepcopy(criterion)
    x = np.array(input, dtype=np.float64)
    t = np.array(target, dtype=np.float64)
    analytic = np.array(copy.deepcopy(snapshot).backward(x.copy(), t.copy()), dtype=np.float64)

    x_var = x.copy()
    numeric = numerical_gradient(lambda: float(copy.deepcopy(snapshot).forward(x_var.copy(), t.copy())), x_var, h)
    err = relative_error(analytic, numeric)
    name = repr(criterion)
    return [GradCheckResult(name, "gradInput", tuple(x.shape), err, agrees(analytic, numeric, err, tolerance),
                            analytic, numeric)]
