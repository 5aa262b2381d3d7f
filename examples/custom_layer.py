"""A custom layer and its tests: PReLU, a leaky ReLU whose negative slope is learned.

``y = x`` where ``x > 0`` and ``y = slope * x`` elsewhere, with one trainable ``slope`` per
feature (He et al., "Delving Deep into Rectifiers", 2015). The file holds the layer, the
tests a layer author should write for it (gradient checks first, then the whole Layer
contract with ``nnframe.testing.check_layer``), and a short training run.

PReLU is not differentiable at 0, so it declares ``kinks = (0.0,)``: gradient checks and
the contract suite keep inputs away from that point (a finite difference across a kink
measures an average of the two slopes, not a derivative). The custom layers guide,
docs/custom-layers.md, builds a smooth layer, Swish, step by step.

    python examples/custom_layer.py                 # run the tests, then train with the layer
    python examples/custom_layer.py --epochs 2      # a quick run
    python -m pytest examples/custom_layer.py       # the same tests, under pytest
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import ClassVar

import numpy as np
from attrs import field, validators

import nnframe as nf

# -- the layer ---------------------------------------------------------------------------


@nf.layer  # attrs.define(eq=False): a generated __init__ and repr, validated fields
class PReLU(nf.Layer):
    """Leaky ReLU with a learned negative slope per feature.

    ``y = where(x > 0, x, slope * x)``; the gradient at ``x == 0`` is taken from the
    negative side.

    Parameters
    ----------
    n_features : int
        Width of the input; one slope per feature.
    init_slope : float, default 0.25
        Starting slope of the negative part (He et al. start at 0.25).
    dtype : float dtype, default numpy.float32

    Attributes
    ----------
    slope : Parameter of shape (n_features,)

    Examples
    --------
    >>> PReLU(2)(np.array([[-2.0, 3.0]], dtype=np.float32))
    array([[-0.5,  3. ]], dtype=float32)
    """

    n_features: int = field(validator=[validators.instance_of(int), validators.gt(0)])
    init_slope: float = 0.25
    dtype: np.dtype = field(default=np.float32, converter=np.dtype, repr=False)
    slope: nf.Parameter = field(init=False, repr=False)

    # A capability tag, read by gradcheck and nnframe.testing: not differentiable at 0.
    kinks: ClassVar[tuple[float, ...]] = (0.0,)

    def __attrs_post_init__(self) -> None:
        self.slope = nf.Parameter(np.full(self.n_features, self.init_slope, dtype=self.dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            # Check before touching any state, and say what was expected.
            raise nf.errors.ShapeError(
                f"{self!r}: expected input of shape (batch, {self.n_features}); "
                f"got shape {x.shape}"
            )
        x = x.astype(self.slope.dtype, copy=False)
        self.save_for_backward(x=x)  # a no-op under nf.no_grad()
        return np.where(x > 0, x, self.slope.value * x)

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        x = self.saved("x")  # raises CacheMissError without a forward; releases the cache
        negative = x <= 0
        # Accumulate, never assign; sum over the batch, never divide by it.
        self.slope.grad += np.sum(grad_y * np.where(negative, x, 0), axis=0)
        return grad_y * np.where(negative, self.slope.value, 1)


# -- its tests ---------------------------------------------------------------------------


def random_cases(count: int = 20):
    """Seeded random (layer, x) pairs in float64, every input at least 0.01 from the kink."""
    rng = np.random.default_rng(0)
    for _ in range(count):
        batch, width = (int(n) for n in rng.integers(1, 6, size=2))
        layer = PReLU(width, dtype=np.float64)
        layer.slope.value[...] = rng.uniform(-1, 1, size=width)
        magnitude = rng.uniform(0.01, 3, size=(batch, width))
        # Steer off the kink by construction (a sign times a magnitude), not by filtering.
        yield layer, rng.choice([-1.0, 1.0], size=(batch, width)) * magnitude


def test_prelu_computes_its_formula():
    for layer, x in random_cases():
        expected = np.maximum(x, 0) + layer.slope.value * np.minimum(x, 0)
        np.testing.assert_allclose(layer(x), expected, rtol=1e-12)


def test_prelu_gradients_match_finite_differences():
    for layer, x in random_cases():
        nf.assert_gradients(layer, x)  # the input and the slope, on a float64 copy


def test_prelu_gradients_inside_a_model():
    # The Linear layer's outputs land anywhere; gradcheck reports an error caused by an
    # input sitting on a declared kink as inconclusive, never as a pass or a silent fail.
    model = nf.Sequential(nf.Linear(3, 4, rng=0), PReLU(4), nf.Linear(4, 2, rng=1))
    x = np.random.default_rng(1).normal(size=(5, 3))
    nf.assert_gradients(model, x)


def test_prelu_backward_accumulates_into_slope_grad():
    layer, x = next(random_cases())
    grad_y = np.ones_like(layer(x))
    layer.backward(grad_y)
    once = layer.slope.grad.copy()
    layer(x)
    layer.backward(grad_y)
    np.testing.assert_allclose(layer.slope.grad, 2 * once)


def test_prelu_keeps_no_cache_under_no_grad():
    layer, x = next(random_cases())
    with nf.no_grad():
        layer(x)
    assert not layer.has_cache()


def test_prelu_rejects_the_wrong_width_before_changing_state():
    layer = PReLU(3)
    try:
        layer(np.ones((2, 4)))
    except nf.errors.ShapeError as error:
        assert "(batch, 3)" in str(error)
    else:
        raise AssertionError("PReLU(3) accepted an input of width 4")
    assert not layer.has_cache()


def test_prelu_follows_astype():
    layer = PReLU(2).astype(np.float64)
    assert layer.slope.dtype == np.float64
    assert layer(np.ones((1, 2), dtype=np.float32)).dtype == np.float64


def test_prelu_passes_the_layer_contract():
    # nnframe.testing runs every check of the Layer contract (shapes, dtypes, caches,
    # modes, no_grad, parameter discovery, astype, state_dict, gradients in float64) on
    # hypothesis-drawn inputs kept off the declared kinks. It needs hypothesis:
    # pip install -e ".[test]".
    from nnframe.testing import check_layer

    check_layer(lambda: PReLU(3), max_examples=10)
    check_layer(lambda: nf.Sequential(PReLU(4), nf.Linear(4, 2, rng=0)), max_examples=10)


class PReLUWithReLUBackward(PReLU):
    """A planted bug: backward lets nothing through the negative side, as ReLU would."""

    def backward(self, grad_y):
        x = self.saved("x")
        self.slope.grad += np.sum(grad_y * np.where(x <= 0, x, 0), axis=0)
        return grad_y * (x > 0)


def test_gradcheck_catches_the_planted_bug():
    x = np.array([[-1.5, 0.5, -0.25], [2.0, -3.0, 1.0]])
    report = nf.gradcheck(PReLUWithReLUBackward(3, dtype=np.float64), x)
    assert not report.ok
    assert "BAD input" in str(report)  # the input gradient is wrong, the slope's is right
    assert "ok slope" in str(report)


# -- running the tests, and training with the layer --------------------------------------


def run_tests() -> int:
    failures = 0
    for name, test in sorted(globals().items()):
        if name.startswith("test_") and callable(test):
            try:
                test()
            except ImportError as error:  # an optional test dependency is missing
                print(f"skipped {name}: {error}")
            except AssertionError as error:
                failures += 1
                print(f"FAILED {name}: {error}")
            else:
                print(f"ok {name}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()

    failures = run_tests()
    if failures:
        print(f"{failures} test(s) failed")
        return 1

    data = nf.datasets.load("digits", rng=args.seed)
    for name, activation in [("ReLU", lambda width: nf.ReLU()), ("PReLU", PReLU)]:
        model = nf.Sequential(
            nf.Linear(data.n_features, 64, rng=args.seed), activation(64),
            nf.Linear(64, data.n_outputs, rng=args.seed + 1),
        )
        trainer = nf.Trainer(
            model, nf.CrossEntropyLoss(), nf.Adam(model.parameters(), lr=1e-3),
            metrics=["accuracy"],
        )
        trainer.fit(data.x_train, data.y_train, epochs=args.epochs, batch_size=32,
                    rng=args.seed, progress=False)
        accuracy = trainer.evaluate(data.x_test, data.y_test)["accuracy"]
        print(f"digits, 64 hidden units with {name}: test accuracy {accuracy:.4f}")
        if name == "PReLU":
            slope = model[1].slope.value
            print(f"learned slopes: mean {slope.mean():.3f}, range [{slope.min():.3f}, "
                  f"{slope.max():.3f}] (all started at 0.25)")
    print(f"wall time: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
