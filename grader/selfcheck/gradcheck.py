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

# A gradient the homework asks to derive is judged against the reference's own analytic gradient (itself checked
# against finite differences), in float64, at analytic precision. Measured on the grader's inputs (39 seeds): every
# correct submission of every version (tests/versions/builder.py and its alternatives), the course's real cases and
# textbook variants of each formula (BatchNormalization three ways, SoftMax through its Jacobian, Sigmoid through
# tanh...) agree with the reference to at most 1.2e-15; a backward written as a central difference of the forward
# is off by 6e-12 to 8e-10 (h from 1e-7 to 1e-4, the worst case of each module), a 5-point stencil by 1e-13 or more.
ANALYTIC_TOLERANCE = 1e-12   # ~1000 times the honest spread; central differences with h <= 1e-5 never pass it
ANALYTIC_ABS = 1e-14         # two vanishing gradients: exact zeros, or round-off of order 1e-17


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
