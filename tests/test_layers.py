"""Behaviour beyond gradients: Dropout's statistics, BatchMeanSubtraction's and BatchNormalization's running
statistics, Sequential's plumbing, and a tiny network that learns."""
import numpy as np
import pytest


def test_dropout_keeps_the_expected_fraction_and_scales_it(nn):
    np.random.seed(0)
    p = 0.3
    layer = nn.Dropout(p)
    x = np.random.uniform(1, 2, size=(400, 500))
    out = layer.forward(x)
    kept = out != 0
    assert abs(kept.mean() - (1 - p)) < 0.005  # 200,000 draws: the std of the fraction is ~0.001
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p))
    assert abs(out.mean() / x.mean() - 1) < 0.01  # inverted dropout keeps the expectation


def test_dropout_backward_reuses_the_forward_mask(nn):
    np.random.seed(1)
    layer = nn.Dropout(0.5)
    x = np.random.uniform(1, 2, size=(20, 30))
    out = layer.forward(x)
    g = np.random.standard_normal(x.shape)
    grad = layer.backward(x, g)
    np.testing.assert_allclose(grad, g * out / x)  # the same units, the same scale


def test_dropout_is_the_identity_in_evaluation(nn):
    layer = nn.Dropout(0.5)
    layer.evaluate()
    x = np.random.default_rng(0).standard_normal((5, 7))
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(x, 2 * x), 2 * x)


def test_dropout_with_p_zero_is_the_identity_in_training(nn):
    x = np.random.default_rng(0).standard_normal((5, 7))
    np.testing.assert_array_equal(nn.Dropout(0.0).forward(x), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_writes_the_first_gradW_after_zeroing_into_gradW_and_adds_the_later_ones(nn, dtype):
    """The first backward after creation or zeroGradParameters writes G^T X into gradW itself (no temporary);
    the later ones add to it: the same array throughout, the values of plain accumulation."""
    rng = np.random.default_rng(0)
    layer = nn.Linear(4, 3, dtype=dtype)
    gradW = layer.gradW
    x, g = rng.standard_normal((5, 4)).astype(dtype), rng.standard_normal((5, 3)).astype(dtype)
    expected = g.T @ x
    for calls in (1, 2, 3):   # a fresh layer first, then after zeroGradParameters
        for _ in range(calls):
            layer.forward(x)
            layer.backward(x, g)
        assert layer.gradW is gradW and layer.getGradParameters()[0] is gradW
        np.testing.assert_allclose(layer.gradW, calls * expected, rtol=1e-6)
        np.testing.assert_allclose(layer.gradb, calls * g.sum(axis=0), rtol=1e-6)
        layer.zeroGradParameters()
        assert not layer.gradW.any() and not layer.gradb.any()


def test_batch_mean_subtraction_running_mean(nn):
    rng = np.random.default_rng(0)
    alpha = 0.25
    layer = nn.BatchMeanSubtraction(alpha)
    a, b = rng.standard_normal((6, 3)) + 5, rng.standard_normal((4, 3)) - 1
    np.testing.assert_allclose(layer.forward(a), a - a.mean(0))          # the first batch starts the mean
    np.testing.assert_allclose(layer.old_mean, a.mean(0))
    expected_mean = alpha * a.mean(0) + (1 - alpha) * b.mean(0)
    np.testing.assert_allclose(layer.forward(b), b - expected_mean)
    np.testing.assert_allclose(layer.old_mean, expected_mean)


def test_batch_mean_subtraction_in_evaluation_ignores_the_batch(nn):
    rng = np.random.default_rng(1)
    layer = nn.BatchMeanSubtraction(0.5)
    for _ in range(3):
        layer.forward(rng.standard_normal((8, 4)) + 2)
    mean = layer.old_mean.copy()
    layer.evaluate()
    x = rng.standard_normal((5, 4))
    out = layer.forward(x)
    np.testing.assert_allclose(out, x - mean)
    np.testing.assert_allclose(layer.forward(x[:1]), out[:1])  # one image alone: the same output
    np.testing.assert_array_equal(layer.old_mean, mean)       # evaluation never moves the running mean
    np.testing.assert_array_equal(layer.backward(x, x), x)


def test_batch_normalization_running_statistics_and_evaluation(nn):
    rng = np.random.default_rng(2)
    alpha = 0.8
    layer = nn.BatchNormalization(alpha)
    layer.moving_mean, layer.moving_variance = np.zeros(3), np.ones(3)  # as instructors' tests set them
    x = rng.standard_normal((10, 3)) * 3 + 1
    out = layer.forward(x)
    np.testing.assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + layer.EPS))
    np.testing.assert_allclose(layer.moving_mean, (1 - alpha) * x.mean(0))
    np.testing.assert_allclose(layer.moving_variance, alpha + (1 - alpha) * x.var(0))
    layer.evaluate()
    y = rng.standard_normal((4, 3))
    np.testing.assert_allclose(layer.forward(y), (y - layer.moving_mean) / np.sqrt(layer.moving_variance + layer.EPS))
    assert nn.BatchNormalization.EPS == layer.EPS > 0


def test_maxpool_sends_the_gradient_to_the_maximum(nn):
    x = np.array([[[[1., 5., 2., 0.], [3., 4., 8., 1.]]]])  # (1, 1, 2, 4): two 2x2 blocks
    layer = nn.MaxPool2d(2)
    np.testing.assert_array_equal(layer.forward(x), [[[[5., 8.]]]])
    grad = layer.backward(x, np.array([[[[10., 20.]]]]))
    np.testing.assert_array_equal(grad, [[[[0., 10., 0., 0.], [0., 0., 20., 0.]]]])


def test_conv2d_matches_a_direct_loop(nn):
    rng = np.random.default_rng(3)
    layer = nn.Conv2d(2, 3, 3)
    x = rng.standard_normal((2, 2, 4, 5))
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = np.zeros((2, 3, 4, 5))
    for n in range(2):
        for o in range(3):
            for i in range(4):
                for j in range(5):
                    expected[n, o, i, j] = np.sum(padded[n, :, i:i + 3, j:j + 3] * layer.W[o]) + layer.b[o]
    np.testing.assert_allclose(layer.forward(x), expected)


class Recorder:
    """A stand-in module that records what Sequential passes it."""
    def __init__(self, scale):
        self.scale, self.training, self.seen = scale, True, []
    def forward(self, x):
        self.output = x * self.scale
        return self.output
    def backward(self, x, g):
        self.seen.append(x.copy())
        self.gradInput = g * self.scale
        return self.gradInput
    def zeroGradParameters(self): pass
    def getParameters(self): return []
    def getGradParameters(self): return []
    def train(self): self.training = True
    def evaluate(self): self.training = False


def test_sequential_backward_passes_each_child_its_own_input(nn):
    a, b, c = Recorder(2.0), Recorder(3.0), Recorder(5.0)
    net = nn.Sequential(a, b, c)
    x = np.ones((2, 2))
    np.testing.assert_array_equal(net.forward(x), 30 * x)
    np.testing.assert_array_equal(net.backward(x, x), 30 * x)
    np.testing.assert_array_equal(a.seen[0], x)
    np.testing.assert_array_equal(b.seen[0], 2 * x)
    np.testing.assert_array_equal(c.seen[0], 6 * x)


def test_sequential_container_operations(nn):
    net = nn.Sequential()
    assert net.add(nn.Linear(3, 4)) is net
    net.add(nn.ReLU()).add(nn.Dropout(0.2)).add(nn.Linear(4, 2))
    assert len(net) == 4 and isinstance(net[0], nn.Linear) and isinstance(net[-1], nn.Linear)
    params = net.getParameters()
    assert [len(p) for p in params] == [2, 0, 0, 2] and params[0][0] is net[0].W
    assert [len(g) for g in net.getGradParameters()] == [2, 0, 0, 2]
    net.evaluate()
    assert not net.training and all(not m.training for m in net.modules)
    net.train()
    assert net.training and all(m.training for m in net.modules)
    removed = net.remove(-1)
    assert isinstance(removed, nn.Linear) and len(net) == 3
    assert net.forward(np.ones((5, 3))).shape == (5, 4)


def test_empty_sequential_is_the_identity(nn):
    x = np.arange(6.).reshape(2, 3)
    net = nn.Sequential()
    np.testing.assert_array_equal(net.forward(x), x)
    np.testing.assert_array_equal(net.backward(x, x), x)


@pytest.mark.parametrize("optimizer, config", [
    ("sgd_momentum", {"learning_rate": 0.1, "momentum": 0.9}),
    ("adam_optimizer", {"learning_rate": 0.05, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}),
])
def test_a_small_network_learns_two_blobs(nn, optimizer, config):
    rng = np.random.default_rng(0)
    np.random.seed(0)
    X = np.vstack([rng.standard_normal((100, 2)) + 2, rng.standard_normal((100, 2)) - 2])
    Y = np.repeat(np.eye(2), 100, axis=0)
    net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2), nn.SoftMax())
    criterion, state, losses = nn.ClassNLLCriterion(), {}, []
    for _ in range(60):
        net.zeroGradParameters()
        losses.append(criterion.forward(net.forward(X), Y))
        net.backward(X, criterion.backward(net.output, Y))
        getattr(nn, optimizer)(net.getParameters(), net.getGradParameters(), config, state)
    assert losses[-1] < 0.1 < losses[0]
    assert (net.forward(X).argmax(1) == Y.argmax(1)).mean() > 0.97
    if optimizer == "adam_optimizer":
        assert state["t"] == 60 and set(state) >= {"m", "v", "t"}


@pytest.mark.parametrize("in_channels, out_channels, k", [(2, 3, 3), (3, 3, 3), (3, 2, 5), (1, 4, 1)])
def test_conv2d_grad_input_matches_a_direct_loop_on_both_routes(nn, in_channels, out_channels, k):
    """gradInput by col2im (fewer input than output channels) and by the flipped-kernel convolution (otherwise)."""
    rng = np.random.default_rng(4)
    layer = nn.Conv2d(in_channels, out_channels, k)
    x = rng.standard_normal((2, in_channels, 4, 5))
    g = rng.standard_normal((2, out_channels, 4, 5))
    layer.forward(x)
    p = k // 2
    expected = np.zeros((2, in_channels, 4 + 2 * p, 5 + 2 * p))
    for n in range(2):
        for o in range(out_channels):
            for i in range(4):
                for j in range(5):
                    expected[n, :, i:i + k, j:j + k] += g[n, o, i, j] * layer.W[o]
    np.testing.assert_allclose(layer.backward(x, g), expected[:, :, p:p + 4, p:p + 5])


def test_maxpool_gives_a_tie_to_the_first_maximum(nn):
    x = np.array([[[[7., 7.], [7., 1.]], [[0., 2.], [2., 2.]]]])  # (1, 2, 2, 2): ties in both channels
    layer = nn.MaxPool2d(2)
    layer.forward(x)
    grad = layer.backward(x, np.array([[[[1.]], [[1.]]]]))
    np.testing.assert_array_equal(grad, [[[[1., 0.], [0., 0.]], [[0., 1.], [0., 0.]]]])


@pytest.mark.parametrize("in_channels, out_channels", [(16, 16), (16, 8), (8, 16)])
def test_conv2d_on_a_batch_of_several_chunks_matches_image_by_image(nn, in_channels, out_channels):
    """Conv2d works through a large batch a few images at a time (~4 MB of copied rows or col2im columns, which stay
    in the CPU's cache): 30 images of 28 x 28 in float64 take two chunks or more on every route (forward and gradW:
    16 channels x 3 shifts x 30 x 28 rows x 8 bytes, 13 images a chunk; gradInput by the flipped kernel for
    (16, 8), by col2im for (8, 16): 8 x 9 x 28 x 28 x 8 bytes, 9 images a chunk). Every output, gradInput and the
    summed gradW/gradb must be those of the images one at a time."""
    rng = np.random.default_rng(5)
    layer = nn.Conv2d(in_channels, out_channels, 3)
    n = 30
    x = rng.standard_normal((n, in_channels, 28, 28))
    g = rng.standard_normal((n, out_channels, 28, 28))
    assert 2 ** 22 // (min(in_channels, out_channels) * 3 * 30 * 28 * x.itemsize) < n   # at least two chunks
    single = [(layer.forward(x[i:i + 1]).copy(), layer.backward(x[i:i + 1], g[i:i + 1]).copy()) for i in range(n)]
    gradW, gradb = layer.gradW.copy(), layer.gradb.copy()   # accumulated over the single-image backwards
    layer.zeroGradParameters()
    np.testing.assert_allclose(layer.forward(x), np.concatenate([out for out, _ in single]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.backward(x, g), np.concatenate([gi for _, gi in single]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.gradW, gradW, rtol=1e-10)
    np.testing.assert_allclose(layer.gradb, gradb, rtol=1e-10)
