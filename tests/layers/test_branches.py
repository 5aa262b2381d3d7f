"""Residual and Concat: maths, gradients, nesting, files, error paths and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnframe as nf
from nnframe.errors import ArgumentError, ArgumentTypeError, CacheMissError, ShapeError
from nnframe.testing import check_layer
from tests.helpers import batches


def f64_linear(n_in, n_out, seed):
    return nf.Linear(n_in, n_out, rng=seed, dtype=np.float64)


@st.composite
def branchy_models(draw, width):
    """Random nests of Residual, Concat and Sequential over smooth layers, width -> width."""

    def build(depth, seed):
        kind = draw(st.sampled_from(["linear", "residual", "concat"] if depth < 2 else ["linear"]))
        if kind == "linear":
            return nf.Sequential(f64_linear(width, width, seed), nf.Tanh())
        if kind == "residual":
            shortcut = f64_linear(width, width, seed + 7) if draw(st.booleans()) else None
            return nf.Residual(build(depth + 1, seed + 1), shortcut)
        split = draw(st.integers(1, width - 1)) if width > 1 else None
        if split is None:
            return nf.Residual(build(depth + 1, seed + 1))
        left = nf.Sequential(f64_linear(width, split, seed + 2), nf.Sigmoid())
        right = nf.Sequential(build(depth + 1, seed + 3), f64_linear(width, width - split, seed))
        return nf.Concat(left, right)

    return nf.Sequential(*[build(0, 10 * i) for i in range(draw(st.integers(1, 3)))])


@settings(deadline=None, max_examples=40)
@given(data=st.data())
def test_nested_residual_and_concat_gradients_match_central_differences(data):
    width = data.draw(st.integers(1, 4))
    model = data.draw(branchy_models(width))
    x = data.draw(batches(features=width, max_batch=8))
    nf.assert_gradients(model, x)


def test_residual_is_block_plus_identity_and_adds_both_input_gradients(rng):
    block = nf.Sequential(f64_linear(3, 3, 0), nf.Tanh())
    reference = block.clone()
    model = nf.Residual(block)
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(model(x), reference(x) + x)
    g = rng.standard_normal((4, 3))
    grad_x = model.backward(g, input_grad=True)
    reference(x)
    np.testing.assert_allclose(grad_x, reference.backward(g, input_grad=True) + g)
    np.testing.assert_allclose(block[0].weight.grad, reference[0].weight.grad)


def test_residual_with_a_shortcut_layer(rng):
    block, shortcut = f64_linear(3, 5, 0), f64_linear(3, 5, 1)
    model = nf.Residual(block, shortcut)
    x = rng.standard_normal((2, 3))
    np.testing.assert_allclose(model(x), block.clone()(x) + shortcut.clone()(x))
    grad_x = model.backward(np.ones((2, 5)), input_grad=True)
    expected = np.ones((2, 5)) @ (block.weight.value + shortcut.weight.value)
    np.testing.assert_allclose(grad_x, expected)
    np.testing.assert_allclose(shortcut.bias.grad, [2.0] * 5)


def test_residual_without_input_gradient_still_fills_parameter_gradients(rng):
    model = nf.Residual(nf.Sequential(f64_linear(3, 3, 0), nf.ReLU()), f64_linear(3, 3, 1))
    y = model(rng.standard_normal((4, 3)))
    assert model.backward(np.ones_like(y)) is None
    assert np.abs(model.block[0].weight.grad).sum() > 0
    assert np.abs(model.shortcut.weight.grad).sum() > 0
    assert not model.has_cache()


def test_concat_joins_outputs_and_splits_the_gradient(rng):
    a, b = f64_linear(3, 2, 0), f64_linear(3, 4, 1)
    ra, rb = a.clone(), b.clone()
    model = nf.Concat(a, b)
    x = rng.standard_normal((5, 3))
    np.testing.assert_allclose(model(x), np.concatenate([ra(x), rb(x)], axis=1))
    g = rng.standard_normal((5, 6))
    grad_x = model.backward(g, input_grad=True)
    expected = ra.backward(g[:, :2], input_grad=True) + rb.backward(g[:, 2:], input_grad=True)
    np.testing.assert_allclose(grad_x, expected)
    np.testing.assert_allclose(a.weight.grad, ra.weight.grad)
    np.testing.assert_allclose(b.weight.grad, rb.weight.grad)


@pytest.mark.parametrize("axis", [-1, 2])
def test_concat_on_another_axis(rng, axis):
    model = nf.Concat(f64_linear(3, 2, 0), f64_linear(3, 1, 1), axis=axis)
    x = rng.standard_normal((4, 5, 3))  # (batch, time, features)
    y = model(x)
    assert y.shape == (4, 5, 3)
    assert model.backward(np.ones_like(y), input_grad=True).shape == x.shape
    nf.assert_gradients(nf.Concat(f64_linear(3, 2, 0), nf.Tanh(), axis=axis), x)


@pytest.mark.parametrize(
    "make",
    [
        lambda: nf.Residual(nf.Sequential(nf.Linear(3, 3, rng=0), nf.Tanh())),
        lambda: nf.Residual(
            nf.Sequential(nf.Linear(3, 4, rng=0), nf.ReLU()), nf.Linear(3, 4, rng=1)
        ),
        lambda: nf.Concat(nf.Linear(3, 2, rng=0), nf.Sequential(nf.Linear(3, 2, rng=1), nf.Tanh())),
        lambda: nf.Sequential(
            nf.Linear(3, 4, rng=0),
            nf.Concat(nf.Residual(nf.Sequential(nf.Linear(4, 4, rng=1), nf.Tanh())), nf.ReLU()),
            nf.Linear(8, 2, rng=2),
        ),
        lambda: nf.Concat(
            nf.Residual(nf.Sequential(nf.LayerNorm(3), nf.Linear(3, 3, rng=0), nf.ReLU())),
            nf.Sequential(nf.Linear(3, 2, rng=1), nf.LayerNorm(2), nf.Tanh()),
        ),
    ],
    ids=["residual", "residual-shortcut", "concat", "nested", "layernorm-inside"],
)
def test_check_layer_passes(make):
    check_layer(make, max_examples=15)


def test_parameter_names_follow_the_tree():
    model = nf.Sequential(
        nf.Residual(nf.Sequential(nf.Linear(2, 2, rng=0)), nf.Linear(2, 2, rng=1)),
        nf.Concat(nf.Linear(2, 1, rng=2), nf.Linear(2, 1, rng=3)),
    )
    assert [name for name, _ in model.named_parameters()] == [
        "0.block.0.weight", "0.block.0.bias", "0.shortcut.weight", "0.shortcut.bias",
        "1.0.weight", "1.0.bias", "1.1.weight", "1.1.bias",
    ]


def test_save_and_load_round_trip(tmp_path, rng):
    model = nf.Sequential(
        nf.Linear(3, 4, rng=0),
        nf.Residual(nf.Sequential(nf.Linear(4, 4, rng=1), nf.ReLU()), nf.Identity()),
        nf.Concat(nf.Linear(4, 2, rng=2), nf.Tanh(), axis=-1),
    )
    path = tmp_path / "model.safetensors"
    nf.save(model, path)
    again = nf.load(path)
    assert repr(again) == repr(model)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(again(x), model(x))


def test_summary_lists_branches_and_the_joins():
    model = nf.Sequential(
        nf.Residual(nf.Linear(3, 3, rng=0)), nf.Concat(nf.Linear(3, 2, rng=1), nf.Tanh())
    )
    text = str(model.summary(3))
    assert "0.block  Linear(3 -> 3)" in text
    assert "Residual (sum)" in text and "Concat (axis 1)" in text
    assert "(batch, 5)" in text
    assert "Total parameters: 20" in text


def test_repr_is_the_tree():
    model = nf.Residual(nf.Linear(2, 2, rng=0), nf.Identity())
    assert repr(model) == "Residual(\n  (block): Linear(2 -> 2)\n  (shortcut): Identity()\n)"
    assert "axis=-1" in repr(nf.Concat(nf.Tanh(), axis=-1))


# -- error paths ---------------------------------------------------------------------


def test_errors_name_the_path_through_residual_and_concat():
    inner = nf.Sequential(nf.Linear(4, 4, rng=0), nf.ReLU(), nf.Linear(5, 4, rng=1))
    model = nf.Sequential(nf.Linear(3, 4, rng=2), nf.Residual(inner))
    with pytest.raises(ShapeError) as info:
        model(np.ones((2, 3)))
    assert info.value.__notes__ == ["in Sequential[1] Residual[0][2] Linear(5 -> 4)"]
    branches = nf.Concat(nf.Linear(3, 2, rng=0), nf.Sequential(nf.Tanh(), nf.Linear(2, 1, rng=1)))
    with pytest.raises(ShapeError) as info:
        nf.Sequential(branches)(np.ones((2, 3)))
    assert info.value.__notes__ == ["in Sequential[0] Concat[1][1] Linear(2 -> 1)"]


def test_backward_without_forward_names_the_place():
    model = nf.Sequential(nf.Residual(nf.Sequential(nf.Linear(2, 2, rng=0), nf.Tanh())))
    with pytest.raises(CacheMissError) as info:
        model.backward(np.ones((1, 2)))
    assert info.value.__notes__ == ["in Sequential[0] Residual[0][1] Tanh()"]


# -- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "words"),
    [
        (lambda: nf.Residual("linear"), ArgumentTypeError, ["block is a str"]),
        (lambda: nf.Residual(nf.ReLU(), shortcut=3), ArgumentTypeError, ["shortcut is a int"]),
        (lambda: nf.Concat(), ArgumentError, ["at least one branch"]),
        (lambda: nf.Concat(nf.ReLU(), [nf.Tanh()]), ArgumentTypeError, ["branch 1 is a list"]),
        (lambda: nf.Concat(nf.ReLU(), axis=0), ArgumentError, ["batch axis"]),
        (lambda: nf.Concat(nf.ReLU(), axis=1.0), ArgumentTypeError, ["axis must be an int"]),
    ],
)
def test_bad_construction_is_a_clear_error(build, error, words):
    with pytest.raises(error) as info:
        build()
    for word in words:
        assert word in str(info.value)


def test_a_layer_object_used_twice_is_refused():
    a = nf.Linear(2, 2, rng=0)
    for build in (
        lambda: nf.Sequential(a, nf.ReLU(), a),
        lambda: nf.Residual(a, a),
        lambda: nf.Concat(nf.Sequential(a), a),
        lambda: nf.Sequential(nf.Residual(nf.Sequential(nf.Tanh(), a)), a),
    ):
        with pytest.raises(ArgumentError, match="already in this model"):
            build()
    model = nf.Sequential(a)
    with pytest.raises(ArgumentError, match=r"position 1 \(Linear\(2 -> 2\)\) is already"):
        model.append(a)
    with pytest.raises(ArgumentError, match="the container itself"):
        model.append(nf.Sequential(model))
    assert len(model) == 1  # nothing appended
    shared = nf.Linear(2, 2, rng=1)
    shared.weight = a.weight  # shared Parameters stay allowed
    assert nf.Sequential(a, shared).parameters()[0] is a.weight


def test_mismatched_shapes_are_named_with_both_shapes():
    model = nf.Residual(nf.Linear(3, 4, rng=0))
    with pytest.raises(ShapeError, match=r"\(batch, 4\) and the input \(batch, 3\)"):
        model(np.ones((2, 3)))
    assert not model.has_cache()
    model = nf.Residual(nf.Linear(3, 4, rng=0), nf.Linear(3, 5, rng=1))
    with pytest.raises(ShapeError, match=r"\(batch, 4\) and the shortcut's output \(batch, 5\)"):
        model(np.ones((2, 3)))
    branches = nf.Concat(nf.Linear(3, 2, rng=0), nf.Flatten())
    with pytest.raises(ShapeError, match=r"branch 1's output has shape \(batch, 12\)"):
        branches(np.ones((2, 4, 3)))
    assert not branches.has_cache()
    with pytest.raises(ShapeError, match="cannot join on axis 3"):
        nf.Concat(nf.Tanh(), axis=3)(np.ones((2, 3)))
