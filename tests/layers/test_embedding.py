"""Embedding: the lookup, the scatter into weight.grad, padding_idx, freezing, errors, files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnframe as nf
from nnframe.errors import (
    ArgumentError,
    ArgumentTypeError,
    DTypeError,
    IndexOutOfRangeError,
    SerializationError,
    ShapeError,
)
from nnframe.layers import embedding as embedding_module
from nnframe.testing import check_gradients, check_layer


@st.composite
def tables_and_indices(draw, max_rows=8, max_width=5):
    """(num_embeddings, embedding_dim, padding_idx or None, integer indices in range)."""
    rows = draw(st.integers(1, max_rows))
    width = draw(st.integers(1, max_width))
    padding = draw(st.none() | st.integers(-rows, rows - 1))
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple))
    dtype = draw(st.sampled_from([np.int64, np.int32, np.uint8, np.int16]))
    x = draw(arrays(dtype, shape, elements=st.integers(0, rows - 1)))
    return rows, width, padding, x


def dense_weight_grad(x, grad_y, rows, padding):
    """The weight gradient by a one-hot matrix product: the definition, no scatter."""
    one_hot = np.eye(rows)[x.reshape(-1).astype(np.int64)]
    grad = one_hot.T @ grad_y.reshape(one_hot.shape[0], -1)
    if padding is not None:
        grad[padding] = 0
    return grad


# -- forward and backward ----------------------------------------------------------------


@settings(deadline=None)
@given(case=tables_and_indices(), seed=st.integers(0, 2**32 - 1))
def test_embedding_forward_selects_rows_and_backward_scatters_their_gradients(case, seed):
    rows, width, padding, x = case
    layer = nf.Embedding(rows, width, padding, rng=seed, dtype=np.float64)
    y = layer(x)
    assert y.shape == (*x.shape, width) and y.dtype == np.float64
    np.testing.assert_array_equal(y, layer.weight.value[x.astype(np.int64)])
    grad_y = np.random.default_rng(seed).standard_normal(y.shape)
    start = np.random.default_rng(seed + 1).standard_normal((rows, width))
    layer.weight.grad = start
    assert layer.backward(grad_y, input_grad=True) is None
    expected = start + dense_weight_grad(x, grad_y, rows, layer.padding_idx)
    if padding is not None:
        expected[padding] = start[padding]  # the padding row gets nothing, not even zeros
    np.testing.assert_allclose(layer.weight.grad, expected, rtol=1e-12, atol=1e-12)


@settings(deadline=None)
@given(case=tables_and_indices(), seed=st.integers(0, 2**32 - 2))
def test_embedding_weight_gradient_matches_finite_differences(case, seed):
    rows, width, _, x = case
    # Without padding_idx: its row's gradient is zero on purpose, not the derivative.
    check_gradients(nf.Embedding(rows, width, rng=seed), x, seed=seed)


def test_embedding_padding_row_starts_at_zero_and_negative_index_counts_from_the_end():
    layer = nf.Embedding(6, 3, padding_idx=-2, rng=0)
    assert layer.padding_idx == 4
    np.testing.assert_array_equal(layer.weight.value[4], 0)
    assert np.all(layer.weight.value[[0, 1, 2, 3, 5]] != 0)


def test_embedding_draws_standard_normal_weights_from_rng():
    a, b = nf.Embedding(200, 50, rng=3), nf.Embedding(200, 50, rng=3)
    np.testing.assert_array_equal(a.weight.value, b.weight.value)
    assert abs(float(a.weight.value.std()) - 1.0) < 0.03
    assert abs(float(a.weight.value.mean())) < 0.03
    assert a.weight.value.dtype == np.float32
    zeros = nf.Embedding(4, 2, init="zeros", rng=0)
    np.testing.assert_array_equal(zeros.weight.value, 0)


def test_embedding_takes_a_batch_of_single_indices_and_keeps_the_input():
    layer = nf.Embedding(5, 2, rng=0)
    x = np.array([4, 0, 4])
    before = x.copy()
    y = layer(x)
    assert y.shape == (3, 2)
    layer.backward(np.ones_like(y))
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(layer.weight.grad[[0, 4]], [[1, 1], [2, 2]])


def test_embedding_in_float64_after_astype():
    layer = nf.Embedding(5, 2, rng=0).astype(np.float64)
    assert layer(np.array([[1, 2]])).dtype == np.float64
    assert layer.dtype == np.float64


def test_embedding_under_no_grad_keeps_no_cache():
    layer = nf.Embedding(5, 2, rng=0)
    with nf.no_grad():
        layer(np.array([[1, 2]]))
    assert not layer.has_cache()


# -- scatter_add_rows ---------------------------------------------------------------------


@settings(deadline=None)
@given(
    rows=st.integers(1, 6),
    width=st.sampled_from([1, 3, 700]),  # 700 columns: 93 rows per chunk, several chunks
    count=st.integers(0, 300),
    dtype=st.sampled_from([np.int64, np.uint8, np.int32]),
    seed=st.integers(0, 2**32 - 1),
    contiguous=st.booleans(),
)
def test_scatter_add_rows_equals_np_add_at(rows, width, count, dtype, seed, contiguous):
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, rows, count).astype(dtype)
    values = rng.standard_normal((count, width))
    start = rng.standard_normal((rows, width))
    target = start.copy() if contiguous else np.asfortranarray(start)
    expected = start.copy()
    np.add.at(expected, indices, values)
    embedding_module.scatter_add_rows(target, indices, values)
    np.testing.assert_allclose(target, expected, rtol=1e-12, atol=1e-12)


# -- PyTorch ------------------------------------------------------------------------------


@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
def test_embedding_matches_pytorch_in_float64(padding_idx):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours = nf.Embedding(7, 5, padding_idx, rng=1, dtype=np.float64)
    theirs = torch.nn.Embedding(7, 5, padding_idx=padding_idx, dtype=torch.float64)
    # The same table, with the padding row zero in both (each starts it so).
    assert torch.all(theirs.weight[ours.padding_idx] == 0) if padding_idx is not None else True
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.value))
    x = np.array([[0, 3, 3, 6], [3, 1, 0, 3], [6, 6, 6, 2]])  # repeated, padding included
    grad_y = rng.standard_normal((3, 4, 5))
    for _ in range(2):  # twice: gradients accumulate in both
        y = ours(x)
        y_torch = theirs(torch.from_numpy(x))
        np.testing.assert_allclose(y, y_torch.detach().numpy(), rtol=0, atol=1e-10)
        ours.backward(grad_y)
        y_torch.backward(torch.from_numpy(grad_y))
        np.testing.assert_allclose(
            ours.weight.grad, theirs.weight.grad.numpy(), rtol=0, atol=1e-10
        )
    assert set(ours.state_dict()) == set(theirs.state_dict()) == {"weight"}


# -- the testing kit ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_model", "input_shape"),
    [
        (lambda: nf.Embedding(10, 3, rng=0, dtype=np.float64), None),
        (lambda: nf.Sequential(nf.Embedding(10, 4, rng=0), nf.Linear(4, 2, rng=1)), None),
        (
            lambda: nf.Sequential(
                nf.Embedding(10, 4, rng=0), nf.Flatten(), nf.Linear(20, 3, rng=1), nf.Tanh()
            ),
            (5,),
        ),
    ],
    ids=["Embedding-float64", "Embedding-Linear", "Embedding-Flatten-Linear-Tanh"],
)
def test_embedding_models_pass_the_contract(make_model, input_shape):
    check_layer(make_model, input_shape=input_shape, max_examples=10)


# -- frozen weight ------------------------------------------------------------------------


def test_frozen_embedding_does_no_scatter(monkeypatch):
    calls = []
    real = embedding_module.scatter_add_rows
    monkeypatch.setattr(
        embedding_module, "scatter_add_rows", lambda *a: calls.append(a) or real(*a)
    )
    layer = nf.Embedding(10, 3, rng=0)
    x = np.array([[1, 2, 2]])
    layer.backward(np.ones_like(layer(x)))
    assert len(calls) == 1  # the spy sees the scatter of a trainable weight
    layer.zero_grad()
    layer.weight.requires_grad = False
    assert layer.backward(np.ones_like(layer(x)), input_grad=True) is None
    assert len(calls) == 1
    np.testing.assert_array_equal(layer.weight.grad, 0)
    assert not layer.has_cache()  # the cache is released all the same


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "error", "words"),
    [
        (np.array([[1.0, 2.0]]), DTypeError, ["Embedding(10, 3)", "integer indices", "float64"]),
        (np.array([[1, 2]], dtype=np.float32), DTypeError, ["float32"]),
        (np.array([[True, False]]), DTypeError, ["integer indices", "bool"]),
        (np.array(["a"]), DTypeError, ["Embedding(10, 3)"]),
        (np.array([[1, 2], [3, -1]]), IndexOutOfRangeError, ["index -1", "position (1, 1)"]),
        (np.array([[1, 10], [30, 2]]), IndexOutOfRangeError, ["index 10", "(0, 1)", "1 more"]),
        (np.array([12], dtype=np.uint8), IndexOutOfRangeError, ["index 12", "position (0,)"]),
        (np.array(3), ShapeError, ["batch dimension"]),
    ],
)
def test_embedding_refuses_bad_indices_before_any_state_changes(x, error, words):
    layer = nf.Embedding(10, 3, rng=0)
    good = np.array([[4, 5]])
    y = layer(good)  # a cache the failed call must not replace
    weight = layer.weight.value.copy()
    with pytest.raises(error) as info:
        layer(x)
    message = str(info.value)
    for word in ["Embedding(10, 3)", *words]:
        assert word in message, message
    np.testing.assert_array_equal(layer.weight.value, weight)
    layer.backward(np.ones_like(y))  # the earlier forward's cache is intact
    np.testing.assert_array_equal(layer.weight.grad[[4, 5]], 1)


def test_out_of_range_index_error_is_an_index_error_and_names_the_range():
    with pytest.raises(IndexError, match=r"expected indices in \[0, 10\) \(num_embeddings = 10\)"):
        nf.Embedding(10, 3, rng=0)(np.array([[10]]))
    assert issubclass(IndexOutOfRangeError, ValueError)


def test_embedding_inside_a_model_names_its_place():
    model = nf.Sequential(nf.Embedding(10, 3, rng=0), nf.Flatten())
    with pytest.raises(IndexOutOfRangeError) as info:
        model(np.array([[11]]))
    assert "in Sequential[0] Embedding(10, 3)" in info.value.__notes__[0]


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "words"),
    [
        ((0, 3), {}, ArgumentError, ["num_embeddings", "positive"]),
        ((2.5, 3), {}, ArgumentTypeError, ["num_embeddings"]),
        ((True, 3), {}, ArgumentTypeError, ["num_embeddings"]),
        ((10, -1), {}, ArgumentError, ["embedding_dim"]),
        ((10, "3"), {}, ArgumentTypeError, ["embedding_dim"]),
        ((10, 3, 10), {}, ArgumentError, ["padding_idx", "[-10, 10)", "got 10"]),
        ((10, 3, -11), {}, ArgumentError, ["padding_idx", "got -11"]),
        ((10, 3, 1.0), {}, ArgumentTypeError, ["padding_idx"]),
        ((10, 3), {"dtype": np.int32}, ArgumentError, ["dtype"]),
        ((10, 3), {"init": "nope"}, ArgumentError, ["init"]),
        ((10, 3), {"rng": "seed"}, ArgumentTypeError, ["rng"]),
    ],
)
def test_embedding_refuses_bad_arguments(args, kwargs, error, words):
    with pytest.raises(error) as info:
        nf.Embedding(*args, **kwargs)
    message = str(info.value)
    for word in ["Embedding", *words]:
        assert word in message, message


# -- configuration and files --------------------------------------------------------------


def test_embedding_repr_and_config():
    assert repr(nf.Embedding(10, 3)) == "Embedding(10, 3)"
    layer = nf.Embedding(10, 3, padding_idx=-10, rng=0, dtype=np.float64)
    assert repr(layer) == "Embedding(10, 3, padding_idx=0)"
    config = layer.get_config()
    assert config == {
        "num_embeddings": 10, "embedding_dim": 3, "padding_idx": 0, "dtype": "float64"
    }
    rebuilt = nf.Embedding.from_config(config)
    assert repr(rebuilt) == repr(layer) and rebuilt.dtype == np.float64
    with pytest.raises(SerializationError, match="init"):
        nf.Embedding.from_config({**config, "init": "zeros"})


def test_embedding_model_save_load_round_trip(tmp_path):
    model = nf.Sequential(
        nf.Embedding(12, 4, padding_idx=1, rng=0, dtype=np.float64), nf.Flatten(),
        nf.Linear(8, 2, rng=1, dtype=np.float64),
    )
    path = tmp_path / "model.safetensors"
    nf.save(model, path)
    loaded = nf.load(path)
    assert repr(loaded) == repr(model)
    assert loaded[0].padding_idx == 1 and loaded[0].weight.value.dtype == np.float64
    x = np.array([[1, 11], [3, 3]])
    np.testing.assert_array_equal(loaded(x), model(x))


# -- InputSpec(indices=...) ---------------------------------------------------------------


def test_index_spec_is_an_input_spec_that_survives_copies():
    spec = nf.InputSpec(indices=5)
    assert isinstance(spec, nf.InputSpec)
    assert repr(spec).startswith("InputSpec(") and "indices=5" in repr(spec)
    assert spec == nf.InputSpec(indices=5) and spec != nf.InputSpec()
    again = pickle.loads(pickle.dumps(spec))
    assert again == spec and type(again) is type(spec)
    layer = nf.Identity()
    np.testing.assert_array_equal(spec.check(layer, [[0, 4]]), [[0, 4]])
    with pytest.raises(IndexOutOfRangeError, match=r"index 5 .* \[0, 5\)$"):
        spec.check(layer, [[5]])
    assert spec.index_count(layer) == 5 and nf.InputSpec().index_count(layer) is None


def test_index_spec_keeps_the_index_dtype_and_describes_itself():
    layer = nf.Embedding(10, 3, rng=0)
    spec = layer.input_spec
    x = np.array([[1, 2]], dtype=np.int16)
    assert spec.check(layer, x) is x
    assert spec.example_shape(layer, batch=4) == (4, 1)
    assert spec.describe(layer).endswith("of integer indices in [0, 10)")


def test_index_spec_refuses_a_dtype_as_well():
    with pytest.raises(ArgumentError, match="indices and dtype"):
        nf.InputSpec(indices="num_embeddings", dtype="dtype")


def test_float_specs_are_unchanged():
    spec = nf.Linear(3, 2, rng=0).input_spec
    assert type(spec) is nf.InputSpec and spec.indices is None
    x = np.ones((2, 3))
    assert nf.ReLU.input_spec.check(nf.ReLU(), x) is x
    assert nf.ReLU.input_spec.check(nf.ReLU(), np.ones((2, 3), dtype=np.int64)).dtype == np.float32


def test_summary_of_a_model_starting_with_an_embedding_feeds_it_indices():
    model = nf.Sequential(nf.Embedding(10, 4, rng=0), nf.Flatten(), nf.Linear(12, 2, rng=0))
    table = str(model.summary(3))
    assert "Embedding(10, 4)  (batch, 3, 4)      40" in table
    assert "Total parameters: 66" in table
