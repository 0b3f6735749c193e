"""The Torch module contract, for every module: stored outputs, accumulation, no in-place edits, dtypes, modes."""
import numpy as np
import pytest

from cases import MODULE_CASES, prepare
from gradcheck import flatten

LAYERS = sorted(name for name, cases in MODULE_CASES.items() if not cases[0].criterion)
CRITERIONS = sorted(name for name, cases in MODULE_CASES.items() if cases[0].criterion)


def built(nn, name, index=-1, dtype=np.float64):
    """A module of `name` in its case's mode, with an input of `dtype` and a random gradOutput."""
    rng = np.random.default_rng(3)
    module, x = prepare(MODULE_CASES[name][index], nn, rng)
    x = x.astype(dtype)
    out = module.forward(x)
    g = rng.standard_normal(out.shape).astype(dtype)
    return module, x, g


@pytest.mark.parametrize("name", LAYERS)
def test_forward_and_backward_store_and_return_their_results(nn, name):
    module, x, g = built(nn, name)
    out = module.forward(x)
    assert out is module.output
    grad = module.backward(x, g)
    assert grad is module.gradInput
    assert grad.shape == x.shape


@pytest.mark.parametrize("name", LAYERS)
def test_input_and_gradOutput_are_never_modified_in_place(nn, name):
    module, x, g = built(nn, name)
    x_before, g_before = x.copy(), g.copy()
    module.forward(x)
    module.backward(x, g)
    np.testing.assert_array_equal(x, x_before, err_msg=f"{name} modified its input")
    np.testing.assert_array_equal(g, g_before, err_msg=f"{name} modified gradOutput")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", LAYERS)
def test_output_and_gradInput_keep_the_input_dtype(nn, name, dtype):
    module, x, g = built(nn, name, dtype=dtype)
    assert module.forward(x).dtype == dtype
    assert module.backward(x, g).dtype == dtype


@pytest.mark.parametrize("name", LAYERS)
def test_parameter_gradients_accumulate_until_zeroed(nn, name):
    module, x, g = built(nn, name, index=0)  # the first case of each module has no state that a forward moves
    params, grads = flatten(module.getParameters()), flatten(module.getGradParameters())
    assert len(params) == len(grads)
    if not params:
        return
    for p, gp in zip(params, grads):
        assert p.shape == gp.shape
    module.zeroGradParameters()
    assert all(not gp.any() for gp in flatten(module.getGradParameters()))
    module.forward(x)
    module.backward(x, g)
    once = [gp.copy() for gp in flatten(module.getGradParameters())]
    module.forward(x)
    module.backward(x, g)
    for twice, single in zip(flatten(module.getGradParameters()), once):
        np.testing.assert_allclose(twice, 2 * single, rtol=1e-12, atol=1e-12)
    module.zeroGradParameters()
    assert all(not gp.any() for gp in flatten(module.getGradParameters()))


@pytest.mark.parametrize("name", LAYERS)
def test_getParameters_returns_the_arrays_the_module_uses(nn, name):
    module, x, g = built(nn, name)
    first, second = flatten(module.getParameters()), flatten(module.getParameters())
    assert all(a is b for a, b in zip(first, second)), "getParameters must return the same arrays every time"
    if first:  # an in-place update of a parameter must change the output
        before = module.forward(x).copy()
        for p in first:
            p += 0.5
        assert not np.allclose(module.forward(x), before)


@pytest.mark.parametrize("name", LAYERS)
def test_train_and_evaluate_switch_the_mode(nn, name):
    module, _, _ = built(nn, name)
    module.evaluate()
    assert module.training is False
    module.train()
    assert module.training is True


@pytest.mark.parametrize("name", CRITERIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_criterion_contract(nn, name, dtype):
    rng = np.random.default_rng(0)
    criterion = getattr(nn, name)()
    x = rng.uniform(0.05, 1, size=(3, 4)).astype(dtype)
    target = np.eye(4)[[0, 2, 3]]
    x_before, t_before = x.copy(), target.copy()
    loss = criterion.forward(x, target)
    assert np.ndim(loss) == 0 and np.isfinite(loss)
    assert loss is criterion.output or loss == criterion.output
    grad = criterion.backward(x, target)
    assert grad is criterion.gradInput and grad.shape == x.shape and grad.dtype == dtype
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(target, t_before)


def test_wrong_shapes_get_an_error_that_names_the_module(nn):
    with pytest.raises(ValueError, match=r"Linear\(4 -> 3\).*\(N, 4\).*\(2, 5\)"):
        nn.Linear(4, 3).forward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="Conv2d"):
        nn.Conv2d(3, 2, 3).forward(np.zeros((2, 1, 5, 5)))
    with pytest.raises(ValueError, match="multiples of 2"):
        nn.MaxPool2d(2).forward(np.zeros((1, 1, 5, 4)))
    with pytest.raises(ValueError, match="ClassNLLCriterion"):
        nn.ClassNLLCriterion().forward(np.full((2, 3), 0.3), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="odd"):
        nn.Conv2d(1, 1, 2)
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(1.0)


def test_reprs_are_readable(nn):
    assert repr(nn.Linear(784, 100)) == "Linear(784 -> 100)"
    assert repr(nn.Conv2d(1, 8, 3)) == "Conv2d(1 -> 8, kernel_size=3)"
    net = nn.Sequential(nn.Linear(2, 4), nn.ReLU())
    assert repr(net) == "Sequential(\n  (0): Linear(2 -> 4)\n  (1): ReLU()\n)"


def test_batch_statistics_layers_explain_evaluation_before_training(nn):
    for layer in (nn.BatchMeanSubtraction(), nn.BatchNormalization()):
        layer.evaluate()
        with pytest.raises(RuntimeError, match="training batch"):
            layer.forward(np.ones((2, 3)))
