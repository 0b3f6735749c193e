"""Finite differences and relative errors: what the self-check's expected values and judges are made of.

Central differences in float64,

    d f / d x_i  ~  (f(x + h e_i) - f(x - h e_i)) / (2 h),

and the relative error ||a - n|| / (||a|| + ||n||) that judges a gradient against them. (The test suite's
whole-module gradient checker, built on these, is tests/gradcheck.py: students do not need it.)
"""
import numpy as np

H = 1e-6            # finite-difference step: the float64 sweet spot between truncation and round-off
TOLERANCE = 1e-6    # largest relative error that passes; correct code lands near 1e-9
TINY = 1e-12        # floor of the relative error's denominator
ABS_TOLERANCE = 1e-8  # a difference this small in norm passes too: two gradients that both vanish agree
                      # only to round-off (~1e-10), which is a large *relative* error of nothing


def relative_error(analytic, numeric):
    """||a - n|| / max(||a|| + ||n||, TINY): 0 for equal arrays, ~1 for unrelated ones; inf/nan count as failures."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        return np.inf
    err = np.linalg.norm(analytic - numeric) / max(np.linalg.norm(analytic) + np.linalg.norm(numeric), TINY)
    return float(err) if np.isfinite(err) else np.inf


def sample_input(shape, rng=None, low=0.1, high=2.0):
    """Random float64 array whose entries lie in +-[low, high]: away from the kinks of ReLU-like layers at 0."""
    rng = np.random.default_rng(0) if rng is None else rng
    magnitude = rng.uniform(low, high, size=shape)
    return np.where(rng.random(shape) < 0.5, -magnitude, magnitude)


def numerical_gradient(f, x, h=H):
    """Central differences of the scalar function f at x (x is perturbed in place and restored)."""
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f()
        x[i] = old - h
        f_minus = f()
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
