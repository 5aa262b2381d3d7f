"""nnframe.testing.strategies: shapes, dtypes, bounds, kinks avoided by construction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnframe as nf
from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.testing import strategies as nst
from tests.testing.test_check_layer import ScaledTanh


@given(x=nst.layer_inputs())
def test_layer_inputs_defaults_are_small_bounded_float64_batches(x):
    assert x.dtype == np.float64 and x.ndim == 2
    assert 1 <= x.shape[0] <= 8 and 1 <= x.shape[1] <= 6
    assert np.all(np.isfinite(x)) and np.all(np.abs(x) <= 3.0)


@given(x=nst.layer_inputs((2, 3), np.float32, min_batch=2, max_batch=4, bound=1e3))
def test_layer_inputs_honours_shape_dtype_batch_and_bound(x):
    assert x.dtype == np.float32 and x.shape[1:] == (2, 3)
    assert 2 <= x.shape[0] <= 4
    assert np.all(np.abs(x) <= 1e3)


@given(x=nst.layer_inputs(4, avoid=(0.0, 1.0), margin=0.05))
def test_layer_inputs_keep_off_the_kinks(x):
    assert x.shape[1:] == (4,)
    assert np.all(np.abs(x) >= 0.05) and np.all(np.abs(x - 1.0) >= 0.05 - 1e-12)


@given(x=nst.layer_inputs(np.int64(3), np.float32, avoid=nf.ReLU.kinks))
def test_float32_inputs_keep_off_the_kinks_up_to_rounding(x):
    assert x.dtype == np.float32
    assert np.all(np.abs(x) >= np.float32(nst.KINK_MARGIN) * (1 - 1e-6))


def test_off_kinks_maps_values_out_of_the_margin_on_their_side():
    x = np.array([-0.5, -0.001, -0.0, 0.0, 0.004, 0.995, 2.0])
    out = nst.off_kinks(x, (0.0, 1.0))
    np.testing.assert_allclose(out, [-0.5, -0.011, -0.01, 0.01, 0.014, 0.985, 2.0])
    assert out is not x and x[1] == -0.001  # a copy: the input is kept
    assert nst.off_kinks(x.astype(np.float32), (0.0,)).dtype == np.float32
    np.testing.assert_array_equal(nst.off_kinks(x, ()), x)


@given(batch=nst.batch_sizes())
def test_batch_sizes_default_to_1_through_32(batch):
    assert 1 <= batch <= 32


@given(x=nst.arrays_for(nf.Linear(4, 2, rng=0), dtype=np.float32))
def test_arrays_for_reads_the_width_and_dtype(x):
    assert x.shape[1:] == (4,) and x.dtype == np.float32


@given(x=nst.arrays_for(nf.BatchNorm1d(3), max_batch=3))
def test_arrays_for_a_batch_dependent_layer_draws_two_examples_or_more(x):
    assert 2 <= x.shape[0] <= 3 and x.shape[1:] == (3,)


@given(x=nst.arrays_for(nf.Sequential(nf.ReLU(), nf.Linear(5, 2, rng=0))))
def test_arrays_for_avoids_the_kinks_of_the_first_layer(x):
    assert x.shape[1:] == (5,) and np.all(np.abs(x) >= nst.KINK_MARGIN)


def test_tags_of_containers_come_from_their_layers():
    assert nst.input_kinks(nf.Sequential(nf.Sequential(nf.ReLU()), nf.Tanh())) == (0.0,)
    assert nst.input_kinks(nf.Sequential(nf.Tanh(), nf.ReLU())) == ()
    assert not nst.is_batch_independent(nf.Sequential(nf.BatchNorm1d(2)))
    assert nst.is_batch_independent(nf.Sequential(nf.Linear(2, 2, rng=0)))
    assert nst.is_stochastic(nf.Sequential(nf.Dropout(0.1, rng=0)))
    assert not nst.is_stochastic(nf.Tanh())


@pytest.mark.parametrize("loss_class", [nf.BCELoss, nf.BCEWithLogitsLoss, nf.MSELoss])
@settings(max_examples=15)
@given(data=st.data())
def test_loss_inputs_match_the_elementwise_losses_tags(loss_class, data):
    pred, target = data.draw(nst.loss_inputs(loss_class))
    assert pred.ndim == 2 and target.shape == pred.shape and pred.dtype == np.float64
    if loss_class.input_kind == "probability":
        assert np.all((pred >= 0.02) & (pred <= 0.98))
    if "binary" in loss_class.target_kinds:
        assert np.all((target >= 0) & (target <= 1))
    loss_class()(pred, target)  # accepted


@given(data=nst.loss_inputs(nf.CrossEntropyLoss(), dtype=np.float32))
def test_loss_inputs_for_class_targets(data):
    pred, target = data
    assert pred.dtype == np.float32 and pred.shape[1] >= 2
    if target.ndim == 1:
        assert target.dtype.kind == "i" and np.all((target >= 0) & (target < pred.shape[1]))
    else:
        assert target.shape == pred.shape
        np.testing.assert_allclose(target.sum(axis=1), 1.0, rtol=1e-5)
    nf.CrossEntropyLoss()(pred, target)


@given(data=nst.loss_inputs(nf.BCELoss, extreme=True, target_kind="binary"))
def test_extreme_loss_inputs_reach_the_ends_of_the_range(data):
    pred, _ = data
    assert np.all((pred >= 0) & (pred <= 1))


def test_strategies_refuse_bad_arguments():
    with pytest.raises(ArgumentError):
        nst.layer_inputs(dtype=np.int32)
    with pytest.raises(ArgumentError):
        nst.layer_inputs(min_batch=3, max_batch=2)
    with pytest.raises(ArgumentError):
        nst.layer_inputs((2, 0))
    with pytest.raises(ArgumentTypeError):
        nst.layer_inputs((2.5,))
    with pytest.raises(ArgumentError):
        nst.batch_sizes(0)
    with pytest.raises(ArgumentError):
        nst.loss_inputs(nf.MSELoss, target_kind="class_index")
    with pytest.raises(ArgumentTypeError):
        nst.loss_inputs(nf.Tanh)
    with pytest.raises(ArgumentTypeError):
        nst.arrays_for(np.tanh)


# STYLE.md's Example 3, as written there.


@settings(deadline=None)
@given(x=nst.layer_inputs(), init_gain=st.floats(-2.0, 2.0))
def test_scaled_tanh_gradients(x, init_gain):
    nf.assert_gradients(ScaledTanh(x.shape[1], init_gain=init_gain), x)


@settings(deadline=None)
@given(x=nst.layer_inputs(avoid=nf.ReLU.kinks), seed=st.integers(0, 2**32 - 2))
def test_relu_first_mlp_gradients(x, seed):
    model = nf.Sequential(nf.ReLU(), nf.Linear(x.shape[1], 4, rng=seed), nf.Tanh())
    nf.assert_gradients(model, x)
