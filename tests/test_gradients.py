"""Every module's gradInput and parameter gradients against central finite differences in float64.

The cases (shapes including a batch of one, training and evaluation modes, stateful layers after
warm-up batches, Dropout with its mask fixed) live in tests/cases.py.
"""
import numpy as np
import pytest

from cases import MODULE_CASES, OPTIMIZERS, gradient_results, optimizer_results
from gradcheck import TOLERANCE, check_module, sample_input

LARGEST_ERROR = {}


@pytest.mark.parametrize("name", sorted(MODULE_CASES))
def test_gradients_match_finite_differences(nn, name):
    results = gradient_results(nn, name)
    assert results, f"no gradient was checked for {name}"
    failures = [str(r) for r in results if not r.passed]
    assert not failures, "\n".join(failures)
    worst = max(r.rel_error for r in results)
    LARGEST_ERROR[name] = worst
    assert worst < TOLERANCE * 1e-1, f"{name}: largest relative error {worst:.1e} is too close to the tolerance"


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_matches_hand_computed_steps(nn, name):
    failures = [str(r) for r in optimizer_results(nn, name) if not r.passed]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients_hold_for_parameters_created_in_either_dtype(nn, dtype):
    # The checker converts to float64 itself; a float32-created layer must be exactly as right.
    layer = nn.Linear(5, 3, dtype=dtype)
    assert layer.W.dtype == dtype
    assert all(r.passed for r in check_module(layer, sample_input((2, 5))))


def test_checker_catches_a_wrong_gradient(nn):
    class HalfGradientReLU(nn.ReLU):
        def updateGradInput(self, input, gradOutput):
            self.gradInput = 0.5 * gradOutput * (input > 0)
            return self.gradInput
    results = check_module(HalfGradientReLU(), sample_input((3, 4)))
    assert not results[0].passed and results[0].rel_error > 0.1


def test_checker_catches_a_wrong_parameter_gradient(nn):
    class NoBiasGradLinear(nn.Linear):
        def accGradParameters(self, input, gradOutput):
            self.gradW += gradOutput.T @ input
    results = {r.gradient: r for r in check_module(NoBiasGradLinear(4, 2), sample_input((3, 4)))}
    assert results["gradInput"].passed and results["W"].passed
    assert not results["b"].passed


def test_checker_catches_a_missing_transpose(nn):
    class TransposedLinear(nn.Linear):
        def accGradParameters(self, input, gradOutput):
            self.gradW += input.T @ gradOutput  # (n_in, n_out) values where (n_out, n_in) is due
            self.gradb += gradOutput.sum(axis=0)
    results = {r.gradient: r for r in check_module(TransposedLinear(3, 3), sample_input((4, 3)))}
    assert not results["W"].passed
