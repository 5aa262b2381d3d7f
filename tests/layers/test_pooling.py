"""MaxPool2d, AvgPool2d, MaxPool1d, AvgPool1d, GlobalAvgPool2d; the testing kit's ties support."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnframe as nf
from nnframe.errors import ArgumentError, ArgumentTypeError, ShapeError
from nnframe.testing import check_layer
from nnframe.testing import checks as lc
from nnframe.testing import strategies as nst

POOLS_2D = (nf.MaxPool2d, nf.AvgPool2d)
POOLS_1D = (nf.MaxPool1d, nf.AvgPool1d)

# (id, factory, input shape of one example): tiling, cropping, overlap, padding, rectangles.
CONFIGS = [
    ("MaxPool2d-2", lambda: nf.MaxPool2d(2), (2, 4, 4)),
    ("MaxPool2d-2-cropped", lambda: nf.MaxPool2d(2), (1, 5, 3)),
    ("MaxPool2d-3-s1-p1", lambda: nf.MaxPool2d(3, stride=1, padding=1), (2, 4, 5)),
    ("MaxPool2d-rect", lambda: nf.MaxPool2d((2, 3), stride=(1, 2), padding=(1, 0)), (2, 4, 6)),
    ("AvgPool2d-2", lambda: nf.AvgPool2d(2), (2, 4, 4)),
    ("AvgPool2d-3-s2-p1", lambda: nf.AvgPool2d(3, stride=2, padding=1), (2, 5, 5)),
    ("MaxPool1d-3-s2-p1", lambda: nf.MaxPool1d(3, stride=2, padding=1), (2, 7)),
    ("AvgPool1d-2", lambda: nf.AvgPool1d(2), (3, 5)),
    ("GlobalAvgPool2d", lambda: nf.GlobalAvgPool2d(), (2, 3, 4)),
    ("Sequential-MaxPool-first", lambda: nf.Sequential(nf.MaxPool2d(2), nf.Flatten()), (2, 4, 4)),
]


@pytest.mark.parametrize(
    ("make_layer", "input_shape"), [c[1:] for c in CONFIGS], ids=[c[0] for c in CONFIGS]
)
def test_pooling_passes_check_layer(make_layer, input_shape):
    check_layer(make_layer, input_shape=input_shape, max_examples=10)


@st.composite
def pools_and_inputs(draw):
    """A pooling layer of drawn geometry and a float64 input it fits, values kept apart."""
    cls = draw(st.sampled_from(POOLS_2D + POOLS_1D))
    ndim = 2 if cls in POOLS_2D else 1
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    spatial = tuple(
        draw(st.integers(max(1, k - 2 * p), k - 2 * p + 4))
        for k, p in zip(kernel, padding, strict=True)
    )
    layer = cls(kernel, stride, padding)
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 2)), *spatial)
    x = draw(arrays(np.float64, shape, elements=st.floats(-2, 2)))
    return layer, nst.off_ties(x)


@settings(deadline=None, max_examples=60)
@given(case=pools_and_inputs(), seed=st.integers(0, 2**32 - 1))
def test_pooling_gradients_and_shapes_over_drawn_geometry(case, seed):
    layer, x = case
    for check in (
        lc.check_forward_shape_and_dtype, lc.check_backward_shape_and_dtype,
        lc.check_input_unmodified, lc.check_gradients, lc.check_batch_independence,
    ):
        check(layer, x, seed=seed)
    n = layer.spatial
    y = layer(x)
    expected = tuple(
        nf.layers.geometry.output_size(size, k, s, p)
        for size, k, s, p in zip(
            x.shape[2:], layer.kernel_size, layer.stride, layer.padding, strict=True
        )
    )
    assert y.shape == x.shape[:2] + expected and len(expected) == n


# -- planted bugs: the kit must catch them ------------------------------------------------


class AvgPoolForgettingPadding(nf.AvgPool2d):
    """Backward divides by the real elements of each window only: padding forgotten."""

    def backward(self, grad_y):
        if not self.has_cache():
            return super().backward(grad_y)  # raises CacheMissError
        ones = np.ones((1, 1, *self._last_spatial), grad_y.dtype)
        share_of_real = nf.AvgPool2d(self.kernel_size, self.stride, self.padding)(ones)
        return super().backward(grad_y / share_of_real)

    def forward(self, x):
        self._last_spatial = x.shape[2:]
        return super().forward(x)


class MaxPoolRoutingToFirst(nf.MaxPool2d):
    """Backward sends each window's gradient to its first element, not its maximum."""

    def backward(self, grad_y):
        self.saved("winners")
        grad_x = np.zeros(self._last_shape, grad_y.dtype)
        kh, kw = self.kernel_size
        grad_x[:, :, : grad_y.shape[2] * kh : kh, : grad_y.shape[3] * kw : kw] = grad_y
        return grad_x

    def forward(self, x):
        self._last_shape = x.shape
        return super().forward(x)


class UntaggedMaxPool(nf.MaxPool2d):
    ties = False  # the kit then draws ties, where no gradient is right


@pytest.mark.parametrize(
    ("make_layer", "input_shape"),
    [
        (lambda: AvgPoolForgettingPadding(3, stride=1, padding=1), (1, 3, 3)),
        (lambda: MaxPoolRoutingToFirst(2), (1, 4, 4)),
        (lambda: UntaggedMaxPool(2), (1, 2, 2)),
    ],
    ids=["avg-padding-forgotten", "max-to-first", "max-without-ties-tag"],
)
def test_check_layer_catches_planted_pooling_bugs(make_layer, input_shape):
    with pytest.raises(AssertionError, match="check_gradients"):
        check_layer(make_layer, input_shape=input_shape, max_examples=30)


# -- behaviour ----------------------------------------------------------------------------


def test_max_pool_ties_go_to_the_first_element_in_row_major_order():
    pool = nf.MaxPool2d(2)
    x = np.array([[[[1.0, 2.0], [2.0, 0.0]]]])
    pool(x)
    grad = pool.backward(np.ones((1, 1, 1, 1)), input_grad=True)
    np.testing.assert_array_equal(grad, [[[[0.0, 1.0], [0.0, 0.0]]]])
    pool = nf.MaxPool1d(3, stride=1, padding=1)
    pool(np.array([[[5.0, 5.0, 5.0]]]))
    grad = pool.backward(np.ones((1, 1, 3)), input_grad=True)
    np.testing.assert_array_equal(grad, [[[2.0, 1.0, 0.0]]])


def test_avg_pool_counts_padding_in_the_mean():
    y = nf.AvgPool2d(3, stride=1, padding=1)(np.ones((1, 1, 2, 2)))
    np.testing.assert_allclose(y, np.full((1, 1, 2, 2), 4 / 9))


def test_stride_defaults_to_the_kernel_and_repr_and_config():
    pool = nf.MaxPool2d(3, padding=1)
    assert pool.stride == (3, 3)
    assert repr(pool) == "MaxPool2d(kernel_size=(3, 3), stride=(3, 3), padding=(1, 1))"
    assert repr(nf.AvgPool1d(2)) == "AvgPool1d(kernel_size=2, stride=2)"
    assert repr(nf.GlobalAvgPool2d()) == "GlobalAvgPool2d()"
    assert nf.MaxPool2d((2, 3), 1).get_config() == {
        "kernel_size": (2, 3), "stride": (1, 1), "padding": (0, 0)
    }


def test_pooling_models_save_and_load(tmp_path):
    model = nf.Sequential(
        nf.MaxPool2d(2), nf.AvgPool2d(3, stride=1, padding=1), nf.GlobalAvgPool2d(),
    )
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    nf.save(model, tmp_path / "m.safetensors")
    loaded = nf.load(tmp_path / "m.safetensors")
    assert repr(loaded) == repr(model)
    np.testing.assert_array_equal(loaded(x), model(x))
    seq = nf.Sequential(nf.MaxPool1d(3, 2, 1), nf.AvgPool1d(2))
    nf.save(seq, tmp_path / "s.safetensors")
    assert repr(nf.load(tmp_path / "s.safetensors")) == repr(seq)


def test_summary_shows_pooled_shapes():
    model = nf.Sequential(nf.MaxPool2d(2), nf.AvgPool2d(3, 1, 1), nf.GlobalAvgPool2d())
    text = str(model.summary((1, 28, 28)))
    assert "(batch, 1, 14, 14)" in text and "(batch, 1)" in text
    assert "MaxPool2d(kernel_size=(2, 2), stride=(2, 2))" in text


def test_pooling_layers_have_no_parameters_and_cache_masks_not_the_input():
    pool = nf.MaxPool2d(2)
    assert pool.parameters() == []
    pool(np.zeros((2, 3, 4, 4), np.float32))
    assert set(pool._cache) == {"winners", "shape", "layout"}
    assert all(m.dtype == bool and m.shape == (2, 3, 2, 2) for m in pool._cache["winners"])
    with nf.no_grad():
        nf.MaxPool2d(2)(np.zeros((2, 3, 4, 4)))
    avg = nf.AvgPool2d(2)
    avg(np.zeros((2, 3, 4, 4)))
    assert not any(isinstance(v, np.ndarray) for v in avg._cache.values())


@pytest.mark.parametrize(
    "make",
    [lambda: nf.MaxPool2d(2), lambda: nf.MaxPool2d(3, 2, 1), lambda: nf.AvgPool2d(2),
     lambda: nf.AvgPool2d(3, 1, 1), lambda: nf.MaxPool2d(2, 1), lambda: nf.GlobalAvgPool2d()],
)
def test_channels_last_input_stays_channels_last(make):
    rng = np.random.default_rng(0)
    nhwc = rng.standard_normal((2, 6, 6, 4)).astype(np.float32)
    x = nhwc.transpose(0, 3, 1, 2)  # NCHW shape, channels innermost in memory
    layer, reference = make(), make()
    y = layer(x)
    grad_y = rng.standard_normal(y.shape).astype(np.float32)
    grad_x = layer.backward(grad_y, input_grad=True)
    y_ref = reference(np.ascontiguousarray(x))
    grad_ref = reference.backward(grad_y, input_grad=True)
    np.testing.assert_allclose(y, y_ref, rtol=1e-6)  # a mean may sum in another order
    np.testing.assert_array_equal(grad_x, grad_ref)
    assert grad_x.strides[1] == 4 and np.argmin(grad_x.strides) == 1
    if y.ndim == 4:
        assert y.strides[1] == 4, y.strides  # the channels stay innermost


@pytest.mark.parametrize(
    ("layer", "shape"),
    [(nf.MaxPool2d(3, 2, 1), (2, 3, 7, 6)), (nf.AvgPool2d(2), (2, 3, 5, 4)),
     (nf.MaxPool1d(2, 1), (2, 3, 5)), (nf.AvgPool1d(3, 1, 1), (2, 3, 5)),
     (nf.GlobalAvgPool2d(), (2, 3, 4, 4)), (nf.MaxPool2d(2), (2, 3, 4, 4))],
)
def test_float32_in_float32_out_and_gradients(layer, shape):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    y = layer(x)
    grad_x = layer.backward(np.ones_like(y), input_grad=True)
    assert y.dtype == np.float32 and grad_x.dtype == np.float32 and grad_x.shape == shape


def test_no_np_add_at_in_forward_or_backward(monkeypatch):
    class NoAt:
        def __init__(self, ufunc):
            self._ufunc = ufunc

        def __call__(self, *args, **kwargs):
            return self._ufunc(*args, **kwargs)

        def __getattr__(self, name):
            if name == "at":
                raise AssertionError("np.add.at used on the hot path")
            return getattr(self._ufunc, name)

    monkeypatch.setattr(np, "add", NoAt(np.add))
    x = np.random.default_rng(2).standard_normal((2, 3, 7, 7))
    for layer in (nf.MaxPool2d(3, 2, 1), nf.MaxPool2d(2), nf.AvgPool2d(3, 1, 1),
                  nf.AvgPool2d(2), nf.MaxPool2d(2, 1)):
        y = layer(x)
        layer.backward(np.ones_like(y), input_grad=True)


def test_backward_without_input_grad_returns_none():
    pool = nf.MaxPool2d(2)
    pool(np.zeros((1, 1, 2, 2)))
    assert pool.backward(np.ones((1, 1, 1, 1))) is None


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "expected"),
    [(nf.MaxPool2d(2), (2, 4, 4), "(batch, d1, d2, d3)"),
     (nf.AvgPool2d(2), (1, 2, 4, 4, 1), "(batch, d1, d2, d3)"),
     (nf.MaxPool1d(2), (2, 3, 4, 4), "(batch, d1, d2)"),
     (nf.AvgPool1d(2), (2, 4), "(batch, d1, d2)"),
     (nf.GlobalAvgPool2d(), (2, 4), "(batch, d1, d2, d3)")],
)
def test_wrong_rank_raises_shape_error_naming_the_layer(layer, shape, expected):
    with pytest.raises(ShapeError) as error:
        layer(np.zeros(shape))
    message = str(error.value)
    assert type(layer).__name__ in message and expected in message and str(shape) in message
    assert not layer.has_cache()


@pytest.mark.parametrize(
    ("layer", "shape"),
    [(nf.MaxPool2d(3), (1, 1, 2, 5)), (nf.AvgPool2d(5, padding=1), (1, 1, 2, 2)),
     (nf.MaxPool1d(4, padding=1), (1, 1, 1)), (nf.AvgPool1d(3), (1, 2, 2))],
)
def test_a_window_larger_than_the_padded_input_raises(layer, shape):
    with pytest.raises(ShapeError, match=type(layer).__name__ + r".*does not fit"):
        layer(np.zeros(shape))


@pytest.mark.parametrize("cls", POOLS_2D + POOLS_1D)
@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [({"kernel_size": 0}, ArgumentError, "kernel_size must be positive"),
     ({"kernel_size": -2}, ArgumentError, "kernel_size must be positive"),
     ({"kernel_size": 2.0}, ArgumentTypeError, "kernel_size must be an int"),
     ({"kernel_size": 2, "stride": 0}, ArgumentError, "stride must be positive"),
     ({"kernel_size": 2, "stride": 1.5}, ArgumentTypeError, "stride must be an int"),
     ({"kernel_size": 2, "padding": -1}, ArgumentError, "padding must be >= 0"),
     ({"kernel_size": 2, "padding": True}, ArgumentTypeError, "padding must be an int"),
     ({"kernel_size": 3, "padding": 2}, ArgumentError, "at most half")],
)
def test_bad_sizes_raise_at_construction_naming_the_layer(cls, kwargs, error, text):
    with pytest.raises(error, match=f"{cls.__name__}.*{text}"):
        cls(**kwargs)


def test_wrong_tuple_lengths_raise():
    with pytest.raises(ArgumentTypeError, match="MaxPool2d: kernel_size"):
        nf.MaxPool2d((2, 2, 2))
    with pytest.raises(ArgumentTypeError, match="AvgPool1d: stride"):
        nf.AvgPool1d(2, stride=(1, 1))


# -- the testing kit's ties support -------------------------------------------------------


@given(
    x=arrays(np.float64, st.integers(0, 40), elements=st.floats(-3, 3)),
    kinks=st.lists(st.sampled_from([-1.0, 0.0, 0.5, 2.0]), unique=True, max_size=3),
)
def test_off_ties_keeps_values_apart_and_off_kinks_and_the_order(x, kinks):
    out = nst.off_ties(x, kinks=kinks)
    assert out.shape == x.shape and out.dtype == x.dtype
    gaps = np.diff(np.sort(out))
    assert np.all(gaps >= nst.TIE_MARGIN * (1 - 1e-9))
    for kink in kinks:
        assert np.all(np.abs(out - kink) >= nst.KINK_MARGIN * (1 - 1e-9))
    # A monotone map: strictly smaller stays strictly smaller.
    i, j = np.nonzero(x[:, None] < x[None, :])
    assert np.all(out[i] < out[j])


def test_input_ties_reads_the_tag_of_whatever_sees_the_input_first():
    assert nst.input_ties(nf.MaxPool2d(2)) and nst.input_ties(nf.MaxPool1d(2))
    assert not nst.input_ties(nf.AvgPool2d(2)) and not nst.input_ties(nf.ReLU())
    assert nst.input_ties(nf.Sequential(nf.Sequential(nf.MaxPool2d(2)), nf.Flatten()))
    assert not nst.input_ties(nf.Sequential(nf.Flatten(), nf.Linear(4, 2, rng=0)))


@given(x=nst.layer_inputs((2, 3, 3), avoid=(0.0,), avoid_ties=True))
def test_layer_inputs_avoid_ties_draws_distinct_values(x):
    flat = np.sort(x.ravel())
    assert np.all(np.diff(flat) >= nst.TIE_MARGIN * (1 - 1e-9))
    assert np.all(np.abs(flat) >= nst.KINK_MARGIN * (1 - 1e-9))


@given(x=nst.arrays_for(nf.Sequential(nf.MaxPool2d(2), nf.Flatten()), input_shape=(1, 2, 2)))
def test_arrays_for_keeps_a_max_pool_input_apart(x):
    assert np.all(np.diff(np.sort(x.ravel())) >= nst.TIE_MARGIN * (1 - 1e-9))
