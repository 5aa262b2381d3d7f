"""BatchNorm2d: the contract, PyTorch's numbers, channels-last inputs, bad input, saving."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnframe as nf
from nnframe.errors import ArgumentError, ShapeError
from nnframe.testing import check_layer


def channels_last(x: np.ndarray) -> np.ndarray:
    """The same numbers as ``x`` (NCHW), in NHWC memory: what a Conv2d returns."""
    view = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    assert np.array_equal(view, x)
    if x.shape[1] > 1 and x.shape[2] * x.shape[3] > 1:
        assert not view.flags.c_contiguous
    return view


def with_statistics(channels: int, dtype=np.float64, seed: int = 0) -> nf.BatchNorm2d:
    """A BatchNorm2d with non-trivial weight, bias and running statistics."""
    rng = np.random.default_rng(seed)
    layer = nf.BatchNorm2d(channels, dtype=dtype)
    layer.weight.value[...] = rng.uniform(0.5, 2.0, channels)
    layer.bias.value[...] = rng.standard_normal(channels)
    layer.running_mean.value[...] = rng.standard_normal(channels)
    layer.running_var.value[...] = rng.uniform(0.5, 2.0, channels)
    return layer


# -- the contract ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 3, 2), (3, 1, 4)])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm2d_passes_the_layer_contract(shape, mode):
    def make():
        layer = with_statistics(shape[0])
        return layer if mode == "train" else layer.eval()

    check_layer(make, input_shape=shape, max_examples=10)


# -- PyTorch's numbers -----------------------------------------------------------------

GRID = list(
    itertools.product(
        [(2, 3, 4, 5), (5, 1, 1, 1), (1, 4, 3, 2), (3, 2, 7, 1)],  # shapes
        [(1e-5, 0.1), (1e-3, 0.5), (0.1, 1.0), (1e-5, 0.0)],  # (eps, momentum)
        ["contiguous", "channels_last"],
    )
)


@pytest.mark.parametrize(("shape", "hyper", "layout"), GRID)
def test_batchnorm2d_equals_torch_in_float64(shape, hyper, layout):
    torch = pytest.importorskip("torch")
    eps, momentum = hyper
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape) * 3 + 1
    grad_y = rng.standard_normal(shape)
    if layout == "channels_last":
        x, grad_y = channels_last(x), channels_last(grad_y)
    ours = with_statistics(shape[1], seed=len(shape))
    ours.eps, ours.momentum = eps, momentum
    theirs = torch.nn.BatchNorm2d(shape[1], eps=eps, momentum=momentum, dtype=torch.float64)
    theirs.load_state_dict(
        {name: torch.from_numpy(value.copy()) for name, value in ours.state_dict().items()},
        strict=True,
    )
    for training in (True, False, True):  # running statistics carry from pass to pass
        ours.train(training)
        theirs.train(training)
        if training and shape[0] * shape[2] * shape[3] < 2:
            continue
        tx = torch.from_numpy(np.array(x)).requires_grad_(True)
        ty = theirs(tx)
        ty.backward(torch.from_numpy(np.array(grad_y)))
        ours.zero_grad()
        y = ours(x)
        grad_x = ours.backward(grad_y, input_grad=True)
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(grad_x, tx.grad.numpy(), rtol=0, atol=1e-10)
        for name, parameter in (("weight", ours.weight), ("bias", ours.bias)):
            torch_grad = getattr(theirs, name).grad.numpy()
            np.testing.assert_allclose(parameter.grad, torch_grad, rtol=0, atol=1e-10)
            getattr(theirs, name).grad = None
        for name in ("running_mean", "running_var"):
            expected = getattr(theirs, name).numpy()
            np.testing.assert_allclose(getattr(ours, name).value, expected, atol=1e-10)


def test_batchnorm2d_functional_equals_torch_batch_norm():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 5, 2))
    layer = nf.BatchNorm2d(3, momentum=0.3, dtype=np.float64)
    mean, var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    expected = F.batch_norm(torch.from_numpy(x), mean, var, training=True, momentum=0.3)
    np.testing.assert_allclose(layer(x), expected.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(layer.running_mean.value, mean.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(layer.running_var.value, var.numpy(), rtol=0, atol=1e-12)


def test_batchnorm2d_state_dict_loads_into_torch_unchanged():
    torch = pytest.importorskip("torch")
    ours = with_statistics(4, dtype=np.float32)
    theirs = torch.nn.BatchNorm2d(4)
    # strict: the same names and shapes (torch fills in its num_batches_tracked itself)
    theirs.load_state_dict(
        {name: torch.from_numpy(value) for name, value in ours.state_dict().items()}
    )
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 3)).astype(np.float32)
    expected = theirs.eval()(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours.eval()(x), expected, rtol=1e-6, atol=1e-6)


# -- numbers by hand, layouts, dtypes ---------------------------------------------------


def test_batchnorm2d_statistics_are_per_channel_over_batch_height_and_width():
    # Channel 0 holds 0..7 (mean 3.5, biased var 5.25), channel 1 holds 10 everywhere.
    x = np.stack([np.arange(8.0).reshape(2, 2, 2), np.full((2, 2, 2), 10.0)], axis=1)
    layer = nf.BatchNorm2d(2, eps=1e-5, momentum=0.5, dtype=np.float64)
    y = layer(x)
    np.testing.assert_allclose(y[:, 0], (x[:, 0] - 3.5) / np.sqrt(5.25 + 1e-5))
    np.testing.assert_allclose(y[:, 1], 0.0)
    np.testing.assert_allclose(layer.running_mean.value, [1.75, 5.0])
    np.testing.assert_allclose(layer.running_var.value, [0.5 + 0.5 * 5.25 * 8 / 7, 0.5])
    layer.eval()
    np.testing.assert_allclose(layer(x)[:, 1], (10.0 - 5.0) / np.sqrt(0.5 + 1e-5), rtol=1e-12)


@settings(deadline=None, max_examples=30)
@given(
    shape=st.tuples(*(st.integers(1, 5),) * 4).filter(lambda s: s[0] * s[2] * s[3] > 1),
    seed=st.integers(0, 2**32 - 1),
    training=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_batchnorm2d_channels_last_input_gives_the_same_numbers(shape, seed, training, dtype):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    grad_y = rng.standard_normal(shape).astype(dtype)
    results = []
    for layout in (lambda a: a, channels_last):
        layer = with_statistics(shape[1], dtype=dtype).train(training)
        y = layer(layout(x))
        grad_x = layer.backward(layout(grad_y), input_grad=True)
        assert y.dtype == grad_x.dtype == layer.running_var.value.dtype == dtype
        results.append(
            (
                y,
                grad_x,
                layer.weight.grad,
                layer.bias.grad,
                layer.running_mean.value,
                layer.running_var.value,
            )
        )
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for ours, other in zip(*results, strict=True):
        np.testing.assert_allclose(other, ours, rtol=tol, atol=tol)


def test_batchnorm2d_keeps_a_channels_last_layout():
    x = channels_last(np.random.default_rng(0).standard_normal((4, 3, 5, 5)).astype(np.float32))
    layer = nf.BatchNorm2d(3)
    y = layer(x)
    grad_x = layer.backward(channels_last(np.ones(x.shape, dtype=np.float32)), input_grad=True)
    for array in (y, grad_x):
        assert array.dtype == np.float32
        assert array.transpose(0, 2, 3, 1).flags.c_contiguous  # NHWC memory, NCHW shape


def test_batchnorm2d_honours_frozen_parameters_and_skipped_input_grad():
    x = np.random.default_rng(1).standard_normal((3, 2, 2, 2))
    grad_y = np.random.default_rng(2).standard_normal(x.shape)
    reference = with_statistics(2)
    reference(x)
    expected = reference.backward(grad_y, input_grad=True)
    layer = with_statistics(2)
    layer.weight.requires_grad = False
    layer(x)
    np.testing.assert_allclose(layer.backward(grad_y, input_grad=True), expected, rtol=1e-12)
    np.testing.assert_array_equal(layer.weight.grad, 0.0)
    np.testing.assert_allclose(layer.bias.grad, reference.bias.grad)
    layer.bias.requires_grad = False
    layer.weight.requires_grad = True
    layer(x)
    assert layer.backward(grad_y, input_grad=False) is None
    np.testing.assert_allclose(layer.weight.grad, reference.weight.grad)
    np.testing.assert_allclose(layer.bias.grad, reference.bias.grad)  # not added again


# -- bad input, repr, saving -------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [(2, 3, 4), (2, 3), (1, 2, 3, 4, 5), (2, 4, 3, 3), (2, 1, 5, 5)],
)
def test_batchnorm2d_refuses_a_wrong_rank_or_channel_count(shape):
    layer = nf.BatchNorm2d(3)
    before = {name: value.copy() for name, value in layer.state_dict().items()}
    with pytest.raises(ShapeError, match=r"BatchNorm2d\(3\)") as info:
        layer(np.ones(shape, dtype=np.float32))
    message = str(info.value)
    assert "(batch, 3, d2, d3)" in message and str(shape) in message
    for name, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_batchnorm2d_needs_two_values_per_channel_in_training():
    layer = nf.BatchNorm2d(2)
    with pytest.raises(ShapeError, match=r"BatchNorm2d\(2\): needs more than one example"):
        layer(np.ones((1, 2, 1, 1)))
    np.testing.assert_array_equal(layer.running_var.value, 1.0)
    assert layer(np.ones((1, 2, 2, 1))).shape == (1, 2, 2, 1)  # 2 values: enough


@pytest.mark.parametrize(
    ("make", "where"),
    [
        (lambda: nf.BatchNorm2d(0), "BatchNorm2d: num_features"),
        (lambda: nf.BatchNorm2d(2, eps=0), "BatchNorm2d: eps"),
        (lambda: nf.BatchNorm2d(2, momentum=1.5), "BatchNorm2d: momentum"),
        (lambda: nf.BatchNorm2d(2, dtype=int), "BatchNorm2d: dtype"),
    ],
)
def test_batchnorm2d_refuses_bad_arguments_naming_itself(make, where):
    with pytest.raises(ArgumentError, match=where):
        make()


def test_batchnorm2d_repr_arguments_and_save_load_round_trip(tmp_path):
    assert repr(nf.BatchNorm2d(16)) == "BatchNorm2d(16)"
    layer = with_statistics(3)
    layer.eps, layer.momentum = 1e-3, 0.2
    assert repr(layer) == "BatchNorm2d(3, eps=0.001, momentum=0.2)"
    assert repr(nf.BatchNorm2d(3, 1e-3, 0.2)) == repr(layer)  # PyTorch's argument order
    model = nf.Sequential(layer)
    nf.save(model, tmp_path / "bn.nnf")
    loaded = nf.load(tmp_path / "bn.nnf")
    assert repr(loaded[0]) == repr(layer) and loaded[0].dtype == np.float64
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], value)
    x = np.random.default_rng(0).standard_normal((2, 3, 2, 2))
    np.testing.assert_array_equal(loaded.eval()(x), model.eval()(x))
