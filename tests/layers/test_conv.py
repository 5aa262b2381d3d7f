"""Conv2d and Conv1d: the contract, gradients over drawn geometries, layouts, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnframe as nf
from nnframe.errors import ArgumentError, ArgumentTypeError, ShapeError
from nnframe.layers import conv as conv_module
from nnframe.testing import check_layer
from nnframe.testing import checks as lc

GRID = [
    # (id, factory, input shape without the batch)
    ("plain", lambda: nf.Conv2d(2, 3, 3, rng=0), (2, 5, 4)),
    ("padded", lambda: nf.Conv2d(3, 2, 3, padding=1, rng=1), (3, 4, 4)),
    (
        "strided-dilated",
        lambda: nf.Conv2d(2, 3, (3, 2), stride=(2, 1), dilation=(1, 2), rng=2),
        (2, 7, 6),
    ),
    ("groups-same", lambda: nf.Conv2d(4, 6, 3, padding="same", groups=2, rng=3), (4, 5, 5)),
    ("even-kernel-same", lambda: nf.Conv2d(2, 2, 4, padding="same", bias=False, rng=4), (2, 5, 6)),
    ("conv1d", lambda: nf.Conv1d(3, 4, 3, padding=2, stride=2, rng=5), (3, 9)),
    ("conv1d-groups", lambda: nf.Conv1d(4, 4, 2, groups=4, dilation=3, rng=6), (4, 8)),
    (
        "net",
        lambda: nf.Sequential(
            nf.Conv2d(1, 3, 3, padding=1, rng=7),
            nf.Tanh(),
            nf.Conv2d(3, 2, 2, stride=2, rng=8),
            nf.Flatten(),
        ),
        (1, 4, 4),
    ),
]


@pytest.mark.parametrize(("make", "shape"), [g[1:] for g in GRID], ids=[g[0] for g in GRID])
def test_the_layer_contract_holds(make, shape):
    check_layer(make, input_shape=shape, max_examples=4)


@st.composite
def geometries(draw):
    """A Conv2d, or a Conv1d, and an input it fits, drawn over every argument."""
    ndim = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 3))
    in_channels = groups * draw(st.integers(1, 2))
    out_channels = groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(ndim))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(ndim))
    spatial = tuple(
        max(d * (k - 1) + 1 - 2 * p, 1) + draw(st.integers(0, 4))
        for k, d, p in zip(kernel, dilation, padding, strict=True)
    )
    cls = nf.Conv2d if ndim == 2 else nf.Conv1d
    layer = cls(
        in_channels,
        out_channels,
        kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=draw(st.booleans()),
        rng=draw(st.integers(0, 99)),
        dtype=np.float64,
    )
    batch = draw(st.integers(1, 3))
    x = np.random.default_rng(draw(st.integers(0, 99))).standard_normal(
        (batch, in_channels, *spatial)
    )
    return layer, x


@settings(max_examples=40, deadline=None)
@given(case=geometries(), seed=st.integers(0, 2**32 - 1))
def test_the_kit_passes_over_drawn_geometries(case, seed):
    layer, x = case
    # Every check of the layer contract that takes one example, on a layer and an input
    # drawn over every argument (check_layer itself runs on the fixed grid above).
    for check in (
        lc.check_forward_shape_and_dtype, lc.check_input_unmodified,
        lc.check_backward_shape_and_dtype, lc.check_cache_per_instance,
        lc.check_no_grad_leaves_no_cache, lc.check_batch_independence,
        lc.check_gradients_accumulate, lc.check_gradients,
    ):
        check(layer, x, seed=seed)
    nf.assert_gradients(layer, x)


def test_the_output_is_channels_last_and_the_next_layer_takes_it():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5)).astype(np.float32)
    first, second = nf.Conv2d(3, 4, 3, padding=1, rng=0), nf.Conv2d(4, 2, 3, rng=1)
    y = first(x)
    assert y.shape == (2, 4, 6, 5) and y.transpose(0, 2, 3, 1).flags.c_contiguous
    assert y.dtype == np.float32
    # Read in another order (channels-first), summed in another order: float32 round-off.
    np.testing.assert_allclose(second(y), second(np.ascontiguousarray(y)), rtol=1e-5, atol=1e-5)


def test_float32_stays_float32_in_every_work_array_and_gradient():
    layer = nf.Conv2d(2, 3, 3, padding=1, rng=0)
    y = layer(np.ones((2, 2, 5, 5)))  # float64 input is cast to the layer's dtype
    grad_x = layer.backward(np.ones_like(y), input_grad=True)
    assert y.dtype == grad_x.dtype == layer.weight.grad.dtype == np.float32
    assert {a.dtype for a in layer._scratch.values()} == {np.dtype(np.float32)}


def test_conv1d_is_conv2d_of_height_one():
    rng = np.random.default_rng(1)
    c1 = nf.Conv1d(3, 4, 3, stride=2, padding=1, dilation=2, dtype=np.float64, rng=0)
    c2 = nf.Conv2d(
        3, 4, (1, 3), stride=(1, 2), padding=(0, 1), dilation=(1, 2), dtype=np.float64, rng=0
    )
    c2.weight.value[...] = c1.weight.value[:, :, None, :]
    x = rng.standard_normal((2, 3, 10))
    y1, y2 = c1(x), c2(x[:, :, None, :])
    np.testing.assert_allclose(y1, y2[:, :, 0, :], rtol=0, atol=1e-12)
    g = rng.standard_normal(y1.shape)
    gx1, gx2 = c1.backward(g, input_grad=True), c2.backward(g[:, :, None, :], input_grad=True)
    np.testing.assert_allclose(gx1, gx2[:, :, 0, :], rtol=0, atol=1e-12)
    np.testing.assert_allclose(c1.weight.grad, c2.weight.grad[:, :, 0, :], rtol=0, atol=1e-12)


def test_a_model_trained_by_the_documented_loop_skips_the_first_input_gradient(monkeypatch):
    calls = []
    real = conv_module.conv2d_grad_input
    monkeypatch.setattr(
        conv_module, "conv2d_grad_input", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    model = nf.Sequential(
        nf.Conv2d(1, 2, 3, rng=0),
        nf.ReLU(),
        nf.Conv2d(2, 2, 3, rng=1),
        nf.Flatten(),
        nf.Linear(8, 3, rng=2),
    )
    loss, opt = nf.CrossEntropyLoss(), nf.optim.SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    loss(model(np.ones((2, 1, 6, 6))), np.array([0, 2]))
    model.backward(loss.backward())
    opt.step()
    assert len(calls) == 1  # the second convolution's, not the first's


def test_no_scatter_add_on_the_hot_path(monkeypatch):
    monkeypatch.setattr(np, "add", _NoAt(np.add))
    layer = nf.Conv2d(2, 2, 3, stride=2, padding=1, dilation=2, groups=2, rng=0)
    y = layer(np.ones((2, 2, 7, 7)))
    layer.backward(np.ones_like(y), input_grad=True)


class _NoAt:
    """np.add with ``at`` refused, everything else passed through."""

    def __init__(self, ufunc):
        self._ufunc = ufunc

    def at(self, *args, **kwargs):
        raise AssertionError("np.add.at used on the convolution's hot path")

    def __call__(self, *args, **kwargs):
        return self._ufunc(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._ufunc, name)


def test_an_inference_forward_between_forward_and_backward_leaves_the_cache_alone():
    rng = np.random.default_rng(2)
    x1, x2 = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 2, 5, 5))
    reference, layer = (nf.Conv2d(2, 3, 3, padding=1, dtype=np.float64, rng=0) for _ in "ab")
    g = rng.standard_normal((2, 3, 5, 5))
    reference(x1)
    reference.backward(g)
    layer(x1)
    with nf.no_grad():
        layer(x2)
    layer.backward(g)
    np.testing.assert_array_equal(layer.weight.grad, reference.weight.grad)


def test_a_frozen_weight_gets_no_gradient_and_the_bias_still_learns():
    layer = nf.Conv2d(2, 3, 3, rng=0, dtype=np.float64)
    layer.weight.requires_grad = False
    y = layer(np.ones((1, 2, 4, 4)))
    layer.backward(np.ones_like(y))
    assert not layer.weight.grad.any()
    np.testing.assert_array_equal(layer.bias.grad, np.full(3, 4.0))


def test_save_and_load_keep_every_argument(tmp_path):
    images = nf.Sequential(
        nf.Conv2d(2, 4, (3, 2), stride=(1, 2), padding=(1, 0), dilation=(2, 1), groups=2, rng=0),
        nf.Flatten(),
    )
    sequences = nf.Sequential(nf.Conv1d(3, 2, 4, padding="same", bias=False, rng=1))
    for net, shape in ((images, (2, 2, 7, 6)), (sequences, (2, 3, 9))):
        path = tmp_path / "model.safetensors"
        nf.save(net, path)
        loaded = nf.load(path)
        assert repr(loaded) == repr(net)
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        np.testing.assert_array_equal(loaded(x), net.eval()(x))


def test_repr_names_the_arguments_that_differ_from_the_defaults():
    assert repr(nf.Conv2d(1, 6, 5, rng=0)) == "Conv2d(1, 6, kernel_size=(5, 5))"
    assert repr(nf.Conv2d(4, 8, 3, stride=2, padding=1, groups=2, bias=False, rng=0)) == (
        "Conv2d(4, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=2, bias=False)"
    )
    assert repr(nf.Conv1d(2, 2, 3, padding="same", rng=0)) == (
        "Conv1d(2, 2, kernel_size=(3,), padding='same')"
    )


BAD_ARGUMENTS = [
    (dict(in_channels=0), ArgumentError, "in_channels"),
    (dict(out_channels=-2), ArgumentError, "out_channels"),
    (dict(kernel_size=2.5), ArgumentTypeError, "kernel_size"),
    (dict(kernel_size=(3, 0)), ArgumentError, r"kernel_size\[1\]"),
    (dict(kernel_size=(3, 3, 3)), ArgumentTypeError, "kernel_size"),
    (dict(stride=0), ArgumentError, "stride"),
    (dict(dilation=-1), ArgumentError, "dilation"),
    (dict(padding=-1), ArgumentError, "padding"),
    (dict(padding="full"), ArgumentError, "padding"),
    (dict(padding="same", stride=2), ArgumentError, "stride 1"),
    (dict(groups=3), ArgumentError, "groups"),
    (dict(groups=0), ArgumentError, "groups"),
    (dict(bias="yes"), ArgumentTypeError, "bias"),
]


@pytest.mark.parametrize(("changes", "error", "match"), BAD_ARGUMENTS)
def test_bad_arguments_raise_a_clear_error(changes, error, match):
    arguments = dict(in_channels=4, out_channels=4, kernel_size=3) | changes
    with pytest.raises(error, match=match):
        nf.Conv2d(
            arguments.pop("in_channels"),
            arguments.pop("out_channels"),
            arguments.pop("kernel_size"),
            **arguments,
        )


@pytest.mark.parametrize(
    ("layer", "shape", "match"),
    [
        (nf.Conv2d(3, 4, 3, rng=0), (2, 3, 5), r"Conv2d\(3, 4.*\(batch, 3, d2, d3\).*\(2, 3, 5\)"),
        (
            nf.Conv2d(3, 4, 3, rng=0),
            (2, 2, 5, 5),
            r"Conv2d\(3, 4.*got 4-d input of shape \(2, 2, 5, 5\)",
        ),
        (nf.Conv1d(3, 4, 3, rng=0), (2, 3, 5, 5), r"Conv1d\(3, 4"),
        (nf.Conv2d(1, 1, 5, rng=0), (1, 1, 4, 9), r"kernel \(5, 5\).*\(1, 1, 4, 9\)"),
        (
            nf.Conv2d(1, 1, 3, dilation=3, padding=1, rng=0),
            (1, 1, 4, 4),
            r"reaching \(7, 7\).*padded to \(6, 6\)",
        ),
    ],
    ids=["rank", "channels", "conv1d-rank", "kernel-too-large", "dilated-kernel-too-large"],
)
def test_bad_input_raises_naming_the_layer_and_changes_nothing(layer, shape, match):
    before = {name: p.value.copy() for name, p in layer.named_parameters()}
    with pytest.raises(ShapeError, match=match):
        layer(np.ones(shape))
    assert not layer.has_cache()
    for name, p in layer.named_parameters():
        np.testing.assert_array_equal(p.value, before[name])
