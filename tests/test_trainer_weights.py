"""Trainer: class_weight, sample_weight, validation weights, clip_grad_value, divergence."""

import copy
import math

import numpy as np
import pytest

import nnframe as nf
from nnframe import cli
from nnframe.errors import (
    ArgumentError,
    ArgumentTypeError,
    DataError,
    ShapeError,
    TrainingDivergedError,
)
from nnframe.optim.clip import clip_grad_value
from nnframe.training import batches
from nnframe.training.data import class_weights


def imbalanced(n=60, rng=0):
    g = np.random.default_rng(rng)
    x = g.standard_normal((n, 3))
    y = np.where(np.arange(n) % 5 == 0, 2, (x[:, 0] > 0).astype(int))
    return x, y


def trainer(loss=None, *, seed=0, **kwargs):
    model = nf.mlp([3, 8, 3], rng=seed, dtype=np.float64)
    loss = nf.CrossEntropyLoss() if loss is None else loss
    return nf.Trainer(model, loss, nf.Adam(model.parameters(), lr=0.05), **kwargs)


def weights_of(t):
    return [p.value.copy() for p in t.model.parameters()]


def fit(t, x, y, **kwargs):
    kwargs = {"epochs": 3, "batch_size": 16, "rng": 0, "progress": False, **kwargs}
    return t.fit(x, y, **kwargs)


# -- class_weight and sample_weight --------------------------------------------------------


def test_balanced_is_scikit_learns_rule():
    y = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2])
    counts = np.bincount(y)
    expected = len(y) / (3 * counts)
    np.testing.assert_allclose(class_weights("balanced", y, "fit"), expected[y])
    sklearn = pytest.importorskip("sklearn.utils.class_weight")
    reference = sklearn.compute_class_weight("balanced", classes=np.unique(y), y=y)
    np.testing.assert_allclose(class_weights("balanced", y, "fit"), reference[y], rtol=1e-15)


def test_class_weight_reads_one_hot_and_column_targets():
    one_hot = np.eye(3)[[0, 1, 1, 2]]
    labels = np.array([0, 1, 1, 2])
    np.testing.assert_allclose(
        class_weights({1: 2.0}, one_hot, "fit"), class_weights({1: 2.0}, labels, "fit")
    )
    np.testing.assert_allclose(class_weights({1: 4.0}, np.array([[0.0], [1.0]]), "fit"), [1, 4])


def test_balanced_class_weight_equals_the_equivalent_sample_weight():
    x, y = imbalanced()
    a, b = trainer(), trainer()
    history_a = fit(a, x, y, class_weight="balanced")
    balanced = len(y) / (3 * np.bincount(y))
    history_b = fit(b, x, y, sample_weight=balanced[y])
    for p, q in zip(weights_of(a), weights_of(b), strict=True):
        np.testing.assert_array_equal(p, q)
    assert history_a.history["loss"] == history_b.history["loss"]


def test_class_weight_times_sample_weight():
    x, y = imbalanced()
    s = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    a, b = trainer(), trainer()
    fit(a, x, y, class_weight={0: 3.0, 2: 0.5}, sample_weight=s)
    fit(b, x, y, sample_weight=s * np.array([3.0, 1.0, 0.5])[y])
    for p, q in zip(weights_of(a), weights_of(b), strict=True):
        np.testing.assert_array_equal(p, q)


def test_class_weight_matches_cross_entropy_class_weights():
    x, y = imbalanced()
    w = np.array([3.0, 1.0, 0.5])
    a = trainer()
    b = trainer(nf.CrossEntropyLoss(weight=w))
    fit(a, x, y, class_weight={0: 3.0, 1: 1.0, 2: 0.5})
    fit(b, x, y)
    for p, q in zip(weights_of(a), weights_of(b), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)


def test_weights_change_training_and_unit_weights_do_not():
    x, y = imbalanced()
    plain, unit, weighted = trainer(), trainer(), trainer()
    fit(plain, x, y)
    fit(unit, x, y, sample_weight=np.ones(len(y)))
    fit(weighted, x, y, class_weight="balanced")
    for p, q in zip(weights_of(plain), weights_of(unit), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)
    assert not np.allclose(weights_of(plain)[0], weights_of(weighted)[0])


def test_batches_shuffle_the_weights_with_the_data():
    x = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    w = np.arange(10.0) * 10
    plain = list(batches(x, y, 3, shuffle=True, rng=5))
    weighted = list(batches(x, y, 3, shuffle=True, rng=5, sample_weight=w))
    for (xb, yb), (xw, yw, wb) in zip(plain, weighted, strict=True):
        np.testing.assert_array_equal(xb, xw)
        np.testing.assert_array_equal(yb, yw)
        np.testing.assert_array_equal(wb, yb * 10.0)


def test_train_step_overrides_without_sample_weight_still_work_unweighted():
    class Counting(nf.Trainer):
        steps = 0

        def train_step(self, x, y):
            self.steps += 1
            return super().train_step(x, y)

    model = nf.Linear(3, 3, rng=0)
    t = Counting(model, nf.CrossEntropyLoss(), nf.SGD(model.parameters(), lr=0.1))
    x, y = imbalanced(n=20)
    t.fit(x, y, batch_size=10, progress=False)
    assert t.steps == 2


def test_validation_weights_weigh_the_validation_loss():
    x, y = imbalanced()
    w = np.random.default_rng(2).uniform(0.0, 2.0, len(y))
    t = trainer()
    history = fit(t, x[:40], y[:40], epochs=1, validation_data=(x[40:], y[40:], w[40:]))
    expected = t.evaluate(x[40:], y[40:], sample_weight=w[40:])["loss"]
    assert history.history["val_loss"][-1] == pytest.approx(expected, rel=1e-12)
    unweighted = t.evaluate(x[40:], y[40:])["loss"]
    assert expected != pytest.approx(unweighted)


def test_evaluate_with_weights_is_the_weighted_mean_over_all_examples():
    x, y = imbalanced()
    w = np.random.default_rng(3).uniform(0.0, 2.0, len(y))
    t = trainer()
    in_batches = t.evaluate(x, y, sample_weight=w, batch_size=7)["loss"]
    with nf.no_grad():
        whole = nf.CrossEntropyLoss()(t.predict(x), y, sample_weight=w)
    assert in_batches == pytest.approx(whole, rel=1e-12)


def test_validation_split_holds_out_the_weights_too():
    x, y = imbalanced()
    w = np.random.default_rng(4).uniform(0.5, 2.0, len(y))
    a, b = trainer(), trainer()
    history_a = fit(a, x, y, epochs=1, sample_weight=w, validation_split=0.25)
    history_b = fit(b, x[:45], y[:45], epochs=1, sample_weight=w[:45],
                    validation_data=(x[45:], y[45:], w[45:]))
    assert history_a.history == history_b.history


def test_train_on_batch_takes_sample_weight():
    x, y = imbalanced(n=8)
    a, b = trainer(), trainer()
    a.train_on_batch(x, y, sample_weight=np.array([1.0, 0, 0, 0, 0, 0, 0, 0]))
    b.train_on_batch(x[:1], y[:1])
    for p, q in zip(weights_of(a), weights_of(b), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-15)


# -- bad input: clear errors before anything changes ---------------------------------------


class NoWeights(nf.Loss):
    def forward(self, pred, target):
        diff = pred - target
        self.save_for_backward(diff=diff)
        return float(np.mean(diff**2))

    def backward(self):
        diff = self.saved("diff")
        return 2 * diff / diff.size


BAD_FITS = [
    ({"sample_weight": np.ones(59)}, ShapeError, "one weight per example"),
    ({"sample_weight": np.ones((60, 2))}, ShapeError, "one weight per example"),
    ({"sample_weight": -np.ones(60)}, DataError, ">= 0"),
    ({"sample_weight": np.full(60, np.nan)}, DataError, "finite"),
    ({"sample_weight": np.zeros(60)}, DataError, "every sample_weight is 0"),
    ({"class_weight": {7: 2.0}}, ArgumentError, "not a class of y"),
    ({"class_weight": {0: -1.0}}, ArgumentError, ">= 0"),
    ({"class_weight": {0: np.inf}}, ArgumentError, "finite"),
    ({"class_weight": {0: 0.0, 1: 0.0, 2: 0.0}}, DataError, "weight 0"),
    ({"class_weight": "balance"}, ArgumentError, "'balanced'"),
    ({"class_weight": [1.0, 2.0]}, ArgumentTypeError, "dict"),
    ({"validation_data": (np.ones((4, 3)), np.zeros(4, int), np.ones(3))}, ShapeError, "w"),
    ({"validation_data": (np.ones((4, 3)), np.zeros(4, int), -np.ones(4))}, DataError, ">= 0"),
]


@pytest.mark.parametrize(("kwargs", "error", "words"), BAD_FITS)
def test_bad_weights_raise_before_anything_changes(kwargs, error, words):
    x, y = imbalanced()
    t = trainer()
    before = weights_of(t)
    with pytest.raises(error, match=words) as info:
        fit(t, x, y, **kwargs)
    assert "Trainer.fit" in str(info.value)
    for p, q in zip(before, weights_of(t), strict=True):
        np.testing.assert_array_equal(p, q)


def test_class_weight_needs_class_labels():
    x = np.ones((4, 3))
    t = trainer(nf.MSELoss())
    with pytest.raises(DataError, match="class labels"):
        t.fit(x, np.array([0.5, 1.0, 0.0, 2.0]), class_weight="balanced", progress=False)


def test_a_loss_without_sample_weight_is_refused_when_weights_are_given():
    model = nf.Linear(3, 1, rng=0)
    t = nf.Trainer(model, NoWeights(), nf.SGD(model.parameters(), lr=0.1))
    x = np.ones((4, 3))
    before = model.weight.value.copy()
    with pytest.raises(ArgumentTypeError, match="sample_weight"):
        t.fit(x, np.zeros((4, 1)), sample_weight=np.ones(4), progress=False)
    np.testing.assert_array_equal(model.weight.value, before)
    t.fit(x, np.zeros((4, 1)), progress=False)  # without weights it trains


# -- gradient clipping by value ------------------------------------------------------------


def test_clip_grad_value_matches_torch(rng):
    torch = pytest.importorskip("torch")
    grads = [rng.normal(size=(3, 4)) * 3, rng.normal(size=5) * 3]
    params = [nf.Parameter(np.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad[...] = g
    clip_grad_value(params + params[:1], 1.5)  # a parameter listed twice is clipped once
    tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for t, g in zip(tensors, grads, strict=True):
        t.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_value_(tensors, 1.5)
    for p, t in zip(params, tensors, strict=True):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan])
def test_clip_grad_value_rejects_a_non_positive_value(bad):
    p = nf.Parameter(np.zeros(2))
    p.grad[...] = [5.0, -5.0]
    with pytest.raises(ArgumentError, match="clip_value"):
        clip_grad_value([p], bad)
    np.testing.assert_array_equal(p.grad, [5.0, -5.0])


def test_trainer_clips_gradient_values_before_the_update():
    x, y = imbalanced(n=16)
    seen = []
    t = trainer(grad_clip_value=1e-3)
    original = t.optimizer.step

    def step():
        seen.append(max(float(np.abs(p.grad).max()) for p in t.optimizer.params))
        original()

    t.optimizer.step = step
    t.train_on_batch(x, y)
    assert 0 < seen[0] <= 1e-3


@pytest.mark.parametrize("bad", [0.0, -2.0, "1"])
def test_trainer_rejects_a_bad_grad_clip_value(bad):
    with pytest.raises((ArgumentError, ArgumentTypeError), match="grad_clip_value"):
        trainer(grad_clip_value=bad)


# -- divergence ----------------------------------------------------------------------------


def test_a_huge_learning_rate_stops_with_training_diverged_error():
    x, y = imbalanced()
    model = nf.mlp([3, 8, 3], rng=0, dtype=np.float64)
    t = nf.Trainer(model, nf.CrossEntropyLoss(), nf.SGD(model.parameters(), lr=1e9))
    with pytest.raises(TrainingDivergedError, match="divergence_threshold") as info:
        fit(t, x, y, epochs=5)
    assert "first value" in str(info.value) and "epoch" in str(info.value)
    assert all(np.isfinite(p.value).all() for p in model.parameters())


def test_the_threshold_is_a_multiple_of_the_first_loss_and_stops_before_the_update():
    x, y = imbalanced(n=8)
    t = trainer(divergence_threshold=10.0)
    first = t.train_on_batch(x, y)
    before = weights_of(t)
    t.model[0].weight.value *= 1e3  # the next loss is far above 10 times the first
    with nf.no_grad():
        assert t.loss(t.model(x), y) > 10 * first
    moved = weights_of(t)
    with pytest.raises(TrainingDivergedError, match="10 times its first value"):
        t.train_on_batch(x, y)
    for p, q in zip(moved, weights_of(t), strict=True):
        np.testing.assert_array_equal(p, q)
    assert not any(p.grad.any() for p in t.model.parameters())
    assert before  # the first step was taken


def test_a_new_fit_takes_a_new_first_loss():
    x, y = imbalanced()
    model = nf.mlp([3, 8, 3], rng=0, dtype=np.float64)
    t = nf.Trainer(
        model, nf.CrossEntropyLoss(), nf.SGD(model.parameters(), lr=1e-4),
        divergence_threshold=2.0,
    )
    first = t.train_on_batch(x, y)
    model[0].weight.value *= 50  # a far worse start for the fit
    with nf.no_grad():
        assert t.loss(model(x), y) > 2 * first
    fit(t, x, y, epochs=1)  # measured against the fit's own first loss: no error
    t.model[0].weight.value *= 50
    with pytest.raises(TrainingDivergedError):  # outside fit, the first loss stays
        t.train_on_batch(x, y)


def test_divergence_threshold_none_turns_the_check_off():
    x, y = imbalanced()
    model = nf.mlp([3, 8, 3], rng=0, dtype=np.float64)
    t = nf.Trainer(
        model, nf.CrossEntropyLoss(), nf.SGD(model.parameters(), lr=1e9),
        divergence_threshold=None, stop_on_nan=False,
    )
    with np.errstate(all="ignore"):
        history = fit(t, x, y, epochs=2)
    assert len(history.epoch) == 2


@pytest.mark.parametrize("bad", [1.0, 0.5, -3.0, math.nan])
def test_divergence_threshold_must_exceed_one(bad):
    with pytest.raises(ArgumentError, match="divergence_threshold"):
        trainer(divergence_threshold=bad)


def test_cli_train_with_a_huge_learning_rate_exits_non_zero_in_one_line(capsys):
    code = cli.main(["train", "--lr", "1e9", "--epochs", "3", "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "training diverged" in err and "divergence_threshold" in err


def test_copy_of_a_trainer_keeps_its_settings():
    t = trainer(grad_clip_value=0.5, divergence_threshold=100.0)
    assert (t.grad_clip_value, t.divergence_threshold) == (0.5, 100.0)
    assert copy.copy(t).divergence_threshold == 100.0
