"""Trainer, batches, History and callbacks, end to end on real data."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nnframe as nf
from nnframe import datasets
from nnframe.errors import ArgumentError, DataError, DTypeError, ShapeError, TrainingDivergedError
from nnframe.training import Callback, EarlyStopping, LearningRateScheduler, ModelCheckpoint


def toy_problem(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = (x[:, 0] - 0.5 * x[:, 1] > 0).astype(np.int64)
    return x, y


def binary_trainer(seed=0, lr=0.05, **kwargs):
    model = nf.mlp([3, 8, 1], output_activation="sigmoid", rng=seed)
    return nf.Trainer(model, nf.BCELoss(), nf.Adam(model.parameters(), lr=lr), **kwargs)


def test_batches_cover_every_example_once_in_order_or_shuffled():
    x, y = np.arange(14).reshape(7, 2), np.arange(7)
    assert [yb.tolist() for _, yb in nf.batches(x, y, 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    shuffled = np.concatenate([yb for _, yb in nf.batches(x, y, 3, shuffle=True, rng=0)])
    assert sorted(shuffled) == list(range(7)) and shuffled.tolist() != list(range(7))
    again = np.concatenate([yb for _, yb in nf.batches(x, y, 3, shuffle=True, rng=0)])
    np.testing.assert_array_equal(shuffled, again)
    for xb, yb in nf.batches(x, y, 3, shuffle=True, rng=1):
        np.testing.assert_array_equal(xb[:, 0] // 2, yb)
    with pytest.raises(ArgumentError):
        list(nf.batches(x, y, 0))


def test_fit_records_loss_and_metrics_per_epoch_and_learns():
    x, y = toy_problem()
    trainer = binary_trainer(metrics=["accuracy"])
    history = trainer.fit(
        x, y, epochs=15, batch_size=16, rng=0, progress=False, validation_split=0.25
    )
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.epoch == list(range(15))
    assert all(len(values) == 15 for values in history.history.values())
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] >= 0.85


def test_fit_is_deterministic_for_a_seed():
    x, y = toy_problem()
    runs = []
    for _ in range(2):
        trainer = binary_trainer(seed=3)
        trainer.fit(x, y, epochs=3, batch_size=10, rng=7, progress=False)
        runs.append(trainer.model.state_dict())
    for name in runs[0]:
        np.testing.assert_array_equal(runs[0][name], runs[1][name])


def test_predict_and_evaluate_run_without_caches_in_eval_mode_and_restore_the_mode():
    x, y = toy_problem()
    trainer = binary_trainer(metrics=["accuracy"])
    pred = trainer.predict(x, batch_size=7)
    assert pred.shape == (len(x), 1) and pred.dtype == np.float32
    np.testing.assert_allclose(pred, trainer.model(x), rtol=1e-6)
    trainer.model.clear_cache()
    results = trainer.evaluate(x, y, batch_size=10)
    assert set(results) == {"loss", "accuracy"}
    assert results["loss"] == pytest.approx(nf.BCELoss()(pred, y), rel=1e-5)
    assert not trainer.model.has_cache() and trainer.model.training


def test_binary_accuracy_follows_the_loss_logits_or_probabilities():
    x, y = toy_problem()
    model = nf.mlp([3, 8, 1], rng=0)
    logits = nf.Trainer(
        model, nf.BCEWithLogitsLoss(), nf.SGD(model.parameters(), lr=0.1), metrics=["accuracy"]
    )
    expected = np.mean((model(x)[:, 0] > 0) == (y == 1))
    assert logits.evaluate(x, y)["accuracy"] == pytest.approx(expected)


def test_a_huge_learning_rate_raises_training_diverged_naming_epoch_and_batch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4))
    y = (x @ np.array([1.0, -2.0, 3.0, 0.5]))[:, None] * 100
    model = nf.mlp([4, 16, 1], rng=0)
    trainer = nf.Trainer(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=1e3))
    with np.errstate(all="ignore"), pytest.raises(
        TrainingDivergedError, match=r"epoch \d+, batch \d+ of 4"
    ):
        trainer.fit(x, y, epochs=50, batch_size=16, rng=0, progress=False)
    assert all(np.isfinite(p.value).all() for p in model.parameters())


def test_stop_on_nan_false_keeps_going():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 2))
    y = x[:, :1] * 1e3
    model = nf.mlp([2, 4, 1], rng=0)
    # Both divergence checks off: the one on NaN and the one on a loss grown a millionfold.
    trainer = nf.Trainer(
        model,
        nf.MSELoss(),
        nf.SGD(model.parameters(), lr=1e3),
        stop_on_nan=False,
        divergence_threshold=None,
    )
    with np.errstate(all="ignore"):
        history = trainer.fit(x, y, epochs=30, batch_size=8, rng=0, progress=False)
    assert len(history.epoch) == 30 and not math.isfinite(history.history["loss"][-1])


def test_early_stopping_stops_and_restores_the_best_weights():
    x, y = toy_problem(n=120)
    trainer = binary_trainer(lr=0.3, metrics=["accuracy"])
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            snapshots.append(trainer.model.state_dict())

    stopper = EarlyStopping(monitor="val_loss", patience=2)
    history = trainer.fit(
        x,
        y,
        epochs=200,
        batch_size=8,
        rng=0,
        progress=False,
        validation_split=0.3,
        callbacks=[Snapshot(), stopper],
    )
    losses = history.history["val_loss"]
    assert stopper.stopped_epoch is not None and len(losses) < 200
    assert stopper.stopped_epoch == stopper.best_epoch + 2 == len(losses) - 1
    assert stopper.best == min(losses) and losses.index(min(losses)) == stopper.best_epoch
    best = snapshots[stopper.best_epoch]
    for name, value in trainer.model.state_dict().items():
        np.testing.assert_array_equal(value, best[name])


def test_early_stopping_names_a_missing_monitor():
    x, y = toy_problem()
    with pytest.raises(ArgumentError, match="'val_loss' is not among"):
        binary_trainer().fit(x, y, epochs=2, progress=False, callbacks=[EarlyStopping()])


def test_a_best_only_checkpoint_names_a_missing_monitor(tmp_path):
    x, y = toy_problem()
    checkpoint = ModelCheckpoint(tmp_path / "best.safetensors", save_best_only=True)
    with pytest.raises(ArgumentError, match=r"ModelCheckpoint: monitor 'val_loss' is not among"):
        binary_trainer().fit(x, y, epochs=2, progress=False, callbacks=[checkpoint])
    assert not (tmp_path / "best.safetensors").exists()


def test_learning_rate_scheduler_sets_and_logs_the_rate():
    x, y = toy_problem()
    trainer = binary_trainer(lr=0.1)
    schedule = LearningRateScheduler(lambda epoch, lr: 0.1 / (1 + epoch))
    history = trainer.fit(x, y, epochs=4, progress=False, callbacks=[schedule], rng=0)
    assert history.history["lr"] == pytest.approx([0.1, 0.05, 0.1 / 3, 0.025])
    assert trainer.optimizer.lr == pytest.approx(0.025)


def test_callback_hooks_run_in_order():
    x, y = toy_problem(n=20)
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, trainer):
            calls.append("train_begin")

        def on_epoch_begin(self, trainer, epoch):
            calls.append(f"epoch_begin {epoch}")

        def on_batch_end(self, trainer, batch, logs):
            calls.append(f"batch {batch}")

        def on_epoch_end(self, trainer, epoch, logs):
            calls.append(f"epoch_end {epoch}")

        def on_train_end(self, trainer):
            calls.append("train_end")

    binary_trainer().fit(x, y, epochs=2, batch_size=10, progress=False, callbacks=[Recorder()])
    assert calls == [
        "train_begin",
        "epoch_begin 0",
        "batch 0",
        "batch 1",
        "epoch_end 0",
        "epoch_begin 1",
        "batch 0",
        "batch 1",
        "epoch_end 1",
        "train_end",
    ]


@pytest.mark.parametrize(
    ("x", "y", "error_type", "fragment"),
    [
        (np.ones((4, 3)), np.ones(5), DataError, "x has 4 examples but y has 5"),
        (np.ones((0, 3)), np.ones(0), DataError, "empty"),
        (np.array([[1.0, np.nan, 0.0]]), np.ones(1), DataError, "NaN"),
        (np.ones((2, 3)), np.array([np.inf, 0.0]), DataError, "y holds 1 NaN or infinite"),
        (np.array([["a", "b", "c"]]), np.ones(1), DTypeError, "real numeric"),
        (np.ones(3), np.ones(3), ShapeError, "batch-first"),
    ],
)
def test_fit_rejects_bad_data_before_touching_the_model(x, y, error_type, fragment):
    trainer = binary_trainer()
    before = trainer.model.state_dict()
    with pytest.raises(error_type, match=fragment):
        trainer.fit(x, y, progress=False)
    for name, value in trainer.model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_history_plot_writes_an_image(tmp_path):
    pytest.importorskip("matplotlib")
    x, y = toy_problem()
    history = binary_trainer(metrics=["accuracy"]).fit(
        x, y, epochs=3, progress=False, validation_split=0.2
    )
    path = tmp_path / "curves.png"
    figure = history.plot(str(path))
    assert path.stat().st_size > 1000
    assert len(figure.axes) == 2


def test_history_plot_adds_png_to_a_name_without_an_extension_and_keeps_other_formats(
    tmp_path,
):
    pytest.importorskip("matplotlib")
    history = nf.History({"loss": [1.0, 0.5]}, [0, 1])
    history.plot(tmp_path / "curves")
    history.plot(tmp_path / "curves.SVG")
    assert (tmp_path / "curves.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (tmp_path / "curves.SVG").read_bytes()[:1000]


def test_breast_cancer_mlp_bce_adam_reaches_95_percent_within_50_epochs():
    data = datasets.load("breast_cancer", rng=0)
    model = nf.mlp([data.n_features, 16, 8, 1], output_activation="sigmoid", rng=0)
    trainer = nf.Trainer(
        model, nf.BCELoss(), nf.Adam(model.parameters(), lr=1e-3), metrics=["accuracy"]
    )
    trainer.fit(data.x_train, data.y_train, epochs=50, batch_size=32, rng=0, progress=False)
    assert trainer.evaluate(data.x_test, data.y_test)["accuracy"] >= 0.95


def test_digits_mlp_cross_entropy_adam_reaches_95_percent():
    data = datasets.load("digits", rng=0)
    model = nf.mlp([data.n_features, 64, data.n_classes], rng=0)
    trainer = nf.Trainer(
        model, nf.CrossEntropyLoss(), nf.Adam(model.parameters(), lr=1e-3), metrics=["accuracy"]
    )
    trainer.fit(data.x_train, data.y_train, epochs=20, batch_size=32, rng=0, progress=False)
    assert trainer.evaluate(data.x_test, data.y_test)["accuracy"] >= 0.95
