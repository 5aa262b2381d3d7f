"""What the bad-input checks of batches, metrics, History, clipping and indexing keep valid.

The sweep in ``test_bad_input.py`` shows each bad input refused; these show the good
inputs next to them still work: slices, empty parameter lists, numpy integer indices,
lazy shuffling, metrics of diverged predictions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnframe as nf
from nnframe import metrics
from nnframe.errors import IndexOutOfRangeError
from nnframe.training import History


@given(n=st.integers(0, 5), index=st.integers(-8, 8))
def test_container_indexing_is_list_indexing_with_nnframe_errors(n: int, index: int):
    layers = [nf.ReLU() for _ in range(n)]
    model = nf.Sequential(*layers)
    concat = nf.Concat(*layers) if n else None
    if -n <= index < n:
        assert model[index] is layers[index]
        assert model[np.int64(index)] is layers[index]
        if concat is not None:
            assert concat[index] is layers[index]
    else:
        with pytest.raises(IndexOutOfRangeError, match=rf"Sequential\[{index}\]"):
            model[index]
        with pytest.raises(IndexError):  # also the standard exception
            model[index]
    assert model[1:3].layers == layers[1:3]
    if concat is not None:
        assert concat[1:] == layers[1:]
        assert list(concat) == layers  # iteration through __getitem__ still stops


def test_batches_are_checked_when_called_and_shuffled_when_drawn():
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    generator = np.random.default_rng(0)
    stream = nf.batches(x, y, 4, shuffle=True, rng=generator)
    state = generator.bit_generator.state
    assert generator.bit_generator.state == state  # nothing drawn yet
    order = np.concatenate([yb for _, yb in stream])
    np.testing.assert_array_equal(order, np.random.default_rng(0).permutation(6))
    # Lists work, shuffled or not.
    assert [len(b) for b, _ in nf.batches([[1, 2], [3, 4], [5, 6]], None, 2, shuffle=True,
                                          rng=1)] == [2, 1]


def test_clip_grad_of_an_empty_list_is_pytorchs_zero():
    assert nf.clip_grad_norm([], 1.0) == 0.0
    assert nf.clip_grad_value((p for p in []), 1.0) is None


@pytest.mark.parametrize("limit", [1e300, 10**400, math.inf])
def test_clip_grad_value_beyond_float32_changes_nothing_and_does_not_warn(limit: float):
    w = nf.Parameter(np.zeros(3, dtype=np.float32))
    w.grad[...] = [3.0, -np.inf, np.nan]
    nf.clip_grad_value([w], limit)
    np.testing.assert_array_equal(w.grad, np.array([3.0, -np.inf, np.nan], dtype=np.float32))


@given(
    pred=hnp.arrays(np.float64, (6, 1), elements=st.sampled_from([0.3, 1e300, np.inf, np.nan])),
)
def test_metrics_of_diverged_predictions_are_numbers_without_numpy_warnings(pred: np.ndarray):
    # filterwarnings = error: a numpy RuntimeWarning would fail the test.
    target = np.array([[0.0], [1.0], [0.0], [1.0], [1.0], [0.0]])
    for name in ("mean_squared_error", "mae", "rmse", "r2", "accuracy", "binary_crossentropy"):
        value = getattr(metrics, name)(pred, target)
        assert isinstance(value, float)
    if (pred == 0.3).all():
        assert metrics.rmse(pred, target) == pytest.approx(math.sqrt((0.3**2 + 0.7**2) / 2))
    elif np.isnan(pred).any():
        assert math.isnan(metrics.r2(pred, target))


def test_mean_squared_error_of_unsigned_ints_does_not_wrap_around():
    pred, target = np.array([0, 0], dtype=np.uint8), np.array([1, 1], dtype=np.uint8)
    assert metrics.mean_squared_error(pred, target) == 1.0


def test_metrics_still_take_lists_and_named_functions():
    assert metrics.accuracy([[0.9], [0.2]], [1, 0]) == 1.0
    assert metrics.get(metrics.r2) == ("r2", metrics.r2)


def test_a_history_with_a_name_logged_from_a_later_epoch_plots_it_on_the_last_epochs():
    pytest.importorskip("matplotlib")
    history = History({"loss": [0.9, 0.5, 0.4], "lr": [0.1]}, [0, 1, 2])
    history.record(3, {"loss": 0.3, "lr": 0.05})
    figure = history.plot()
    lines = {ax.get_ylabel(): ax.get_lines()[0] for ax in figure.axes}
    assert list(lines["lr"].get_xdata()) == [3, 4]
    assert list(lines["loss"].get_xdata()) == [1, 2, 3, 4]


def test_history_keeps_the_objects_it_is_given():
    values, epochs = {"loss": [1.0]}, [0]
    history = History(values, epochs)
    assert history.history is values and history.epoch is epochs


def test_confusion_matrix_refuses_a_timedelta_number_of_classes():
    # numpy's timedelta64 is an integer type to isinstance; found by the fuzz.
    with pytest.raises(nf.errors.ArgumentTypeError, match="num_classes must be an int"):
        nf.metrics.confusion_matrix(
            np.array([0, 1]), np.array([0, 1]), num_classes=np.timedelta64(3, "s")
        )


@pytest.mark.parametrize("huge", [2**40, 2**63, 10**30])
def test_a_stride_past_the_input_or_a_dilation_of_a_one_wide_kernel_is_one_window(huge: int):
    # Good inputs beside the refused ones: as byte strides these overflowed numpy's (a bare
    # OverflowError, found by the fuzz); they change nothing in the output.
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 6))
    for big, small in (
        (nf.Conv2d(3, 4, 3, stride=(huge, 2), rng=0, dtype=np.float64),
         nf.Conv2d(3, 4, 3, stride=(5, 2), rng=0, dtype=np.float64)),
        (nf.Conv2d(3, 4, (1, 2), dilation=(huge, 1), padding=1, rng=0, dtype=np.float64),
         nf.Conv2d(3, 4, (1, 2), padding=1, rng=0, dtype=np.float64)),
        (nf.Conv1d(3, 2, 2, stride=huge, rng=0, dtype=np.float64),
         nf.Conv1d(3, 2, 2, stride=6, rng=0, dtype=np.float64)),
        (nf.MaxPool2d(2, stride=huge), nf.MaxPool2d(2, stride=6)),
        (nf.AvgPool1d(3, stride=huge, padding=1), nf.AvgPool1d(3, stride=7, padding=1)),
    ):
        given = x[:, :, 0] if "1d" in repr(big) else x
        y = big(given)
        np.testing.assert_array_equal(y, small(given))
        np.testing.assert_array_equal(
            big.backward(np.cos(y), input_grad=True), small.backward(np.cos(y), input_grad=True)
        )
        for p, q in zip(big.parameters(), small.parameters(), strict=True):
            np.testing.assert_array_equal(p.grad, q.grad)
