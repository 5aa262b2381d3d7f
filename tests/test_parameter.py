"""Parameter and Buffer: copies at construction, arrays that stay put, flat storage."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import nnframe as nf
from nnframe.checks import format_shape
from nnframe.errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError

finite = st.floats(-1e6, 1e6)


@st.composite
def parameter_and_array(draw, dtype=np.float64):
    """A float64 Parameter and a float64 array of its shape (0-d included)."""
    shape = draw(array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    p = nf.Parameter(draw(arrays(dtype, shape, elements=finite)))
    return p, draw(arrays(np.float64, shape, elements=finite))


def snapshot(p):
    """What a failed assignment must leave as it was."""
    return p.value, p.value.copy(), p._grad, p._grad.copy(), p._grad_is_zero


def assert_unchanged(p, before):
    value, value_copy, grad, grad_copy, grad_is_zero = before
    assert p.value is value and p._grad is grad and p._grad_is_zero == grad_is_zero
    np.testing.assert_array_equal(value, value_copy)
    np.testing.assert_array_equal(grad, grad_copy)


# -- construction and in-place updates ---------------------------------------------------


def test_parameter_copies_its_initial_value_and_starts_with_zero_grad():
    source = np.ones((2, 3), dtype=np.float32)
    p = nf.Parameter(source)
    source[...] = 5
    assert np.all(p.value == 1) and p.value.dtype == np.float32
    assert p.grad.shape == (2, 3) and p.grad.dtype == np.float32 and not p.grad.any()
    assert nf.Parameter([1, 2]).dtype == np.float64


def test_in_place_updates_keep_the_same_array():
    p = nf.Parameter(np.ones(3, dtype=np.float32))
    value, grad = p.value, p.grad
    p.value -= 0.5
    p.grad += 1
    assert p.value is value and p.grad is grad
    np.testing.assert_array_equal(value, [0.5, 0.5, 0.5])


def test_parameter_rejects_non_float_values():
    with pytest.raises(DTypeError):
        nf.Parameter(np.array(["a"]))
    p = nf.Parameter(np.zeros(2))
    with pytest.raises(DTypeError):
        p.value = np.array([1 + 2j, 0])


# -- assignment writes into the existing arrays ---------------------------------------------


@given(pa=parameter_and_array())
def test_assigning_value_copies_into_the_same_array(pa):
    p, a = pa
    value = p.value
    p.value = a
    assert p.value is value and p.value is not a
    np.testing.assert_array_equal(p.value, a)
    a += 1  # the caller's array stays the caller's
    assert not np.array_equal(p.value, a)


@given(pa=parameter_and_array(), zeroed=st.booleans())
def test_assigning_grad_copies_into_the_same_array_and_clears_the_zero_mark(pa, zeroed):
    p, a = pa
    p.grad += 3.0
    grad = p.grad
    if zeroed:
        p.zero_grad()  # marked zero: the assignment must win over the pending clear
    p.grad = a
    assert p.grad is grad and p.grad is not a
    np.testing.assert_array_equal(p.grad, a)
    assert p.writable_grad() is None  # no longer marked zero: layers must add


@given(pa=parameter_and_array(np.float32))
def test_assignment_casts_to_the_parameter_dtype(pa):
    p, a = pa
    value, grad = p.value, p.grad
    p.value = a
    p.grad = 2 * a
    assert p.value is value and p.grad is grad and p.dtype == np.float32
    np.testing.assert_array_equal(p.value, a.astype(np.float32))
    np.testing.assert_array_equal(p.grad, (2 * a).astype(np.float32))


def test_ints_bools_and_lists_are_cast_in():
    p = nf.Parameter(np.zeros(3))
    p.value = [1, 2, 3]
    p.grad = np.array([True, False, True])
    np.testing.assert_array_equal(p.value, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(p.grad, [1.0, 0.0, 1.0])
    assert p.value.dtype == p.grad.dtype == np.float64


@given(pa=parameter_and_array(), attribute=st.sampled_from(["value", "grad"]), zeroed=st.booleans())
def test_a_wrong_shape_raises_naming_both_shapes_before_anything_changes(pa, attribute, zeroed):
    p, _ = pa
    p.grad += 1.0
    if zeroed:
        p.zero_grad()
    wrong = np.ones((*p.shape, 2))
    before = snapshot(p)
    with pytest.raises(ShapeError) as error:
        setattr(p, attribute, wrong)
    message = str(error.value)
    assert f"Parameter.{attribute}" in message
    assert format_shape(wrong.shape) in message
    assert format_shape(p.shape) in message
    assert_unchanged(p, before)


@pytest.mark.parametrize("attribute", ["value", "grad"])
@pytest.mark.parametrize(
    "bad", [np.array([1 + 2j, 0]), np.array(["a", "b"]), np.array([None, None]), "ab"]
)
def test_non_numbers_raise_dtype_error_before_anything_changes(attribute, bad):
    p = nf.Parameter(np.array([1.0, 2.0]))
    p.grad += 1.0
    before = snapshot(p)
    with pytest.raises(DTypeError, match=rf"Parameter\.{attribute}"):
        setattr(p, attribute, bad)
    assert_unchanged(p, before)


def test_a_ragged_list_raises_shape_error():
    p = nf.Parameter(np.zeros((2, 2)))
    with pytest.raises(ShapeError):
        p.value = [[1.0, 2.0], [3.0]]


def test_assigning_an_overlapping_view_is_safe():
    p = nf.Parameter(np.arange(4.0))
    p.value = p.value[::-1]
    np.testing.assert_array_equal(p.value, [3.0, 2.0, 1.0, 0.0])


# -- astype ---------------------------------------------------------------------------------


def test_astype_to_the_same_dtype_keeps_the_arrays():
    p = nf.Parameter(np.ones(3))
    value, grad = p.value, p._grad
    assert p.astype(np.float64) is p and p.astype("float64") is p
    assert p.value is value and p._grad is grad


@given(pa=parameter_and_array(), zeroed=st.booleans())
def test_astype_to_another_dtype_converts_value_grad_and_zero_mark(pa, zeroed):
    p, a = pa
    p.grad = a
    if zeroed:
        p.zero_grad()
    value = p.value.copy()
    assert p.astype(np.float32) is p
    assert p.value.dtype == p.grad.dtype == np.float32
    np.testing.assert_array_equal(p.value, value.astype(np.float32))
    np.testing.assert_array_equal(p.grad, 0 if zeroed else a.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.int64, "complex128", "not a dtype"])
def test_astype_refuses_non_float_dtypes_before_anything_changes(dtype):
    p = nf.Parameter(np.ones(2))
    before = snapshot(p)
    with pytest.raises((ArgumentError, ArgumentTypeError), match=r"Parameter\.astype"):
        p.astype(dtype)
    assert_unchanged(p, before)


# -- copies ---------------------------------------------------------------------------------


def test_deepcopy_and_pickle_give_independent_parameters():
    p = nf.Parameter(np.arange(3.0))
    p.grad += 2.0
    p.zero_grad()
    for other in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert other.value is not p.value and other._grad is not p._grad
        np.testing.assert_array_equal(other.value, p.value)
        np.testing.assert_array_equal(other.grad, 0.0)
        other.value += 1
        np.testing.assert_array_equal(p.value, [0.0, 1.0, 2.0])


# -- Buffer ---------------------------------------------------------------------------------


def test_buffer_follows_astype():
    b = nf.Buffer(np.zeros(3))
    assert b.astype(np.float32) is b and b.value.dtype == np.float32
    value = b.value
    assert b.astype(np.float32).value is value


def test_buffer_value_is_written_in_place_and_checked():
    b = nf.Buffer(np.zeros(3, dtype=np.float32))
    value = b.value
    b.value = np.array([1.0, 2.0, 3.0])
    b.value *= 2
    assert b.value is value and b.value.dtype == np.float32
    np.testing.assert_array_equal(value, [2.0, 4.0, 6.0])
    with pytest.raises(ShapeError, match=r"Buffer\.value.*\(2,\).*\(3,\)"):
        b.value = np.zeros(2)
    with pytest.raises(DTypeError, match=r"Buffer\.value"):
        b.value = np.array(["a", "b", "c"])
    np.testing.assert_array_equal(value, [2.0, 4.0, 6.0])


# -- flat storage ---------------------------------------------------------------------------


@st.composite
def parameter_lists(draw, dtype=np.float64):
    """One to four Parameters of small shapes (0-d included), gradients set or marked zero."""
    shapes = draw(
        st.lists(array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4), min_size=1,
                 max_size=4)
    )
    params = []
    for shape in shapes:
        p = nf.Parameter(draw(arrays(dtype, shape, elements=finite)))
        p.grad = draw(arrays(dtype, shape, elements=finite))
        if draw(st.booleans()):
            p.zero_grad()  # the buffer still holds the old gradient
        params.append(p)
    return params


@given(params=parameter_lists())
def test_flattening_keeps_values_and_gradients_and_makes_views(params):
    values = [p.value.copy() for p in params]
    grads = [np.zeros(p.shape) if p._grad_is_zero else p._grad.copy() for p in params]
    marked = [p._grad_is_zero for p in params]
    flat = nf.flatten_parameters(params)
    # The lazy mark survives, over zeros (reading flat.grads below settles it).
    assert [p._grad_is_zero for p in params] == marked
    assert flat.params == tuple(params) and len(flat) == len(params) and flat.intact
    assert flat.values.ndim == flat.grads.ndim == 1 and flat.values.flags.c_contiguous
    assert flat.size == sum(p.size for p in params) == flat.offsets[-1]
    for p, value, grad, start, stop in zip(
        params, values, grads, flat.offsets, flat.offsets[1:], strict=False
    ):
        assert p.value.base is flat.values and p._grad.base is flat.grads
        np.testing.assert_array_equal(p.value, value)
        np.testing.assert_array_equal(p.grad, grad)
        np.testing.assert_array_equal(flat.values[start:stop], value.ravel())
        np.testing.assert_array_equal(flat.grads[start:stop], grad.ravel())


@given(params=parameter_lists(), data=st.data())
def test_flat_arrays_and_parameters_see_each_other_s_writes(params, data):
    flat = nf.flatten_parameters(params)
    values = data.draw(arrays(np.float64, flat.size, elements=finite))
    flat.values[...] = values
    for p, start, stop in zip(params, flat.offsets, flat.offsets[1:], strict=False):
        np.testing.assert_array_equal(p.value.ravel(), values[start:stop])
        p.value += 1.0
        p.grad += 2.0
        p.value = p.value * 2  # an assignment writes through as well
    for p, start, stop in zip(params, flat.offsets, flat.offsets[1:], strict=False):
        np.testing.assert_array_equal(flat.values[start:stop], p.value.ravel())
        np.testing.assert_array_equal(flat.values[start:stop], 2 * (values[start:stop] + 1))
        np.testing.assert_array_equal(flat.grads[start:stop], p.grad.ravel())


def test_flat_values_and_grads_can_be_assigned_and_updated_in_place():
    params = [nf.Parameter(np.ones((2, 2))), nf.Parameter(np.zeros(3))]
    flat = nf.flatten_parameters(params)
    values, grads = flat.values, flat.grads
    flat.values = np.arange(7.0)
    flat.values -= 0.5 * flat.grads  # Torch7 style: one update over one array
    params[1].zero_grad()
    flat.grads = np.full(7, 3.0)
    assert flat.values is values and flat.grads is grads and params[1].writable_grad() is None
    np.testing.assert_array_equal(params[0].value, [[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_array_equal(params[1].grad, [3.0, 3.0, 3.0])
    with pytest.raises(ShapeError, match=r"FlatParameters\.values.*\(6,\).*\(7,\)"):
        flat.values = np.zeros(6)
    with pytest.raises(DTypeError, match=r"FlatParameters\.grads"):
        flat.grads = np.zeros(7, dtype=complex)
    np.testing.assert_array_equal(flat.grads, 3.0)


def test_flat_zero_grad_clears_every_gradient_lazily_and_grads_reads_true_values():
    a, b = nf.Parameter(np.ones(2)), nf.Parameter(np.ones(3))
    flat = nf.flatten_parameters([a, b])
    flat.grads[...] = 7.0
    flat.zero_grad()
    # A layer may still write straight into the marked gradient (the fast path) ...
    target = a.writable_grad()
    assert target is not None and target.base is flat.grads
    target[...] = 1.0
    # ... and b, which no backward touched, reads zero through the flat array.
    np.testing.assert_array_equal(flat.grads, [1.0, 1.0, 0.0, 0.0, 0.0])
    flat.zero_grad()
    np.testing.assert_array_equal(b.grad, 0.0)
    np.testing.assert_array_equal(flat.grads, 0.0)


def test_a_shared_parameter_is_stored_once():
    shared, other = nf.Parameter(np.ones(2)), nf.Parameter(np.zeros(3))
    flat = nf.flatten_parameters([shared, other, shared])
    assert flat.params == (shared, other) and flat.size == 5 and flat.offsets == (0, 2, 5)


def test_flattening_refuses_mixed_dtypes_naming_them_before_moving_anything():
    a, b = nf.Parameter(np.ones(2)), nf.Parameter(np.ones(2, dtype=np.float32))
    value = a.value
    with pytest.raises(ArgumentError, match="float64, float32"):
        nf.flatten_parameters([a, b])
    assert a.value is value and a.value.base is None


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ([], ArgumentError, "empty"),
        (iter([]), ArgumentError, "empty"),
        ({nf.Parameter(np.ones(1))}, ArgumentTypeError, "set"),
        ({"w": nf.Parameter(np.ones(1))}, ArgumentTypeError, "dict"),
        (nf.Parameter(np.ones(1)), ArgumentTypeError, "Parameter"),
        (nf.Linear(2, 2), ArgumentTypeError, r"model\.parameters\(\)"),
        (nf.Sequential(nf.Linear(2, 2)), ArgumentTypeError, r"model\.parameters\(\)"),
        ([nf.Parameter(np.ones(1)), np.ones(2)], ArgumentTypeError, r"params\[1\].*ndarray"),
        (3, ArgumentTypeError, "int"),
    ],
    ids=["empty", "empty-iterator", "set", "dict", "Parameter", "layer", "model", "array", "int"],
)
def test_flattening_refuses_what_is_not_a_list_of_parameters(params, error, match):
    with pytest.raises(error, match=match):
        nf.flatten_parameters(params)


def test_astype_to_another_dtype_detaches_and_to_the_same_dtype_does_not():
    model = nf.mlp([3, 4, 2], rng=0, dtype=np.float64)
    flat = nf.flatten_parameters(model.parameters())
    model.astype(np.float64)
    assert flat.intact
    model.astype(np.float32)
    assert not flat.intact
    again = nf.flatten_parameters(model.parameters())
    assert again.intact and again.dtype == np.float32


def test_flattening_again_moves_parameters_to_the_new_buffer():
    p = nf.Parameter(np.ones(2))
    first = nf.flatten_parameters([p])
    second = nf.flatten_parameters([p, nf.Parameter(np.zeros(1))])
    assert not first.intact and second.intact and p.value.base is second.values


def test_layer_state_dicts_work_on_flattened_parameters():
    model = nf.mlp([3, 4, 2], rng=0, dtype=np.float64)
    flat = nf.flatten_parameters(model.parameters())
    other = nf.mlp([3, 4, 2], rng=1, dtype=np.float64)
    model.load_state_dict(other.state_dict())
    assert flat.intact
    np.testing.assert_array_equal(
        flat.values, np.concatenate([p.value.ravel() for p in other.parameters()])
    )
    state = model.state_dict()
    saved = {name: array.copy() for name, array in state.items()}
    flat.values[...] = 0.0
    for name, array in state.items():  # copies, not views
        np.testing.assert_array_equal(array, saved[name])


def test_a_deep_copy_of_a_flattened_model_is_independent():
    model = nf.mlp([3, 4, 2], rng=0, dtype=np.float64)
    flat = nf.flatten_parameters(model.parameters())
    twin = copy.deepcopy(model)
    values = flat.values.copy()
    flat.values[...] = 0.0
    np.testing.assert_array_equal(
        np.concatenate([p.value.ravel() for p in twin.parameters()]), values
    )
    assert flat.intact


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copy_of_flat_parameters_taken_with_its_model_is_flat_again(how):
    model = nf.mlp([3, 4, 2], rng=0, dtype=np.float64)
    flat = nf.flatten_parameters(model.parameters())
    model[0].weight.grad += 1.0
    model[0].bias.zero_grad()
    twin, twin_flat = (
        copy.deepcopy((model, flat)) if how == "deepcopy"
        else pickle.loads(pickle.dumps((model, flat)))
    )
    assert twin_flat.intact and twin_flat.params == tuple(twin.parameters())
    assert twin_flat.values is not flat.values
    np.testing.assert_array_equal(twin_flat.values, flat.values)
    np.testing.assert_array_equal(twin_flat.grads, flat.grads)
    twin_flat.values[...] = 0.0
    assert all(not p.value.any() for p in twin.parameters())
    assert flat.intact and flat.values.any()
