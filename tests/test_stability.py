"""Numerical safety: logits of magnitude 800 and zero probabilities stay finite, with no overflow warnings."""
import numpy as np
import pytest

BIG = 800.0


@pytest.fixture
def extreme():
    # Rows mixing +-800 with ordinary values: exp(800) overflows float64, exp(-800) underflows.
    return np.array([[BIG, -BIG, 0.0, 1.0], [-BIG, -BIG, -BIG + 1, -BIG], [BIG, BIG, BIG - 2, 3.0]])


@pytest.mark.parametrize("name", ["SoftMax", "LogSoftMax", "SoftPlus", "ELU", "Sigmoid", "Tanh", "LeakyReLU"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_is_finite_at_magnitude_800(nn, name, extreme, dtype):
    module = getattr(nn, name)()
    x = extreme.astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = module.forward(x)
        grad = module.backward(x, np.ones_like(x))
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(grad))


def test_softmax_and_logsoftmax_are_exact_at_magnitude_800(nn, extreme):
    p = nn.SoftMax().forward(extreme)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[0], [1, 0, 0, 0], atol=1e-300)
    log_p = nn.LogSoftMax().forward(extreme)
    np.testing.assert_allclose(log_p[0, 1], -2 * BIG)  # log of a probability that underflows to 0
    np.testing.assert_allclose(np.exp(log_p), p, atol=1e-15)


def test_softplus_is_exact_far_from_zero(nn):
    out = nn.SoftPlus().forward(np.array([[BIG, -BIG, 0.0]]))
    np.testing.assert_allclose(out, [[BIG, 0.0, np.log(2)]])
    tiny = nn.SoftPlus().forward(np.array([[-700.0]]))[0, 0]
    assert tiny == pytest.approx(np.exp(-700.0), rel=1e-12)  # log(1 + e^-700) ~ e^-700, not a cancelled 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_class_nll_criterion_survives_zero_probabilities(nn, dtype):
    criterion = nn.ClassNLLCriterion()
    p = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=dtype)
    target = np.array([[1.0, 0.0], [1.0, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = criterion.forward(p, target)
        grad = criterion.backward(p, target)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert loss == pytest.approx(-np.log(max(criterion.EPS, np.finfo(dtype).tiny)) / 2, rel=1e-3)


def test_logsoftmax_with_its_criterion_is_exact_at_magnitude_800(nn, extreme):
    target = np.eye(4)[[1, 0, 3]]
    log_p = nn.LogSoftMax().forward(extreme)
    loss = nn.ClassNLLLogCriterion().forward(log_p, target)
    assert np.isfinite(loss) and loss > 500  # the true loss, about (1600 + 0 + 797) / 3, not a clipped 34.5


def test_mse_criterion_at_magnitude_800(nn):
    x = np.full((2, 3), BIG)
    assert nn.MSECriterion().forward(x, -x) == pytest.approx(3 * (2 * BIG) ** 2)
