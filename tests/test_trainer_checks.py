"""Trainer: epoch metrics over the whole epoch, and what fit refuses before the first step."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe as nf
from nnframe import metrics
from nnframe.errors import ArgumentError, DataError

RNG = np.random.default_rng(0)
X = RNG.standard_normal((40, 4)).astype(np.float32)
LABELS = (X[:, 0] + 0.5 * RNG.standard_normal(40) > 0).astype(np.int64) + (X[:, 1] > 1)


def trainer(metric_names, lr=0.1):
    model = nf.Sequential(nf.Linear(4, 3, rng=0))
    return nf.Trainer(
        model, nf.CrossEntropyLoss(), nf.SGD(model.parameters(), lr=lr), metrics=metric_names
    )


def test_epoch_metrics_are_computed_on_the_whole_epoch_not_averaged_over_batches():
    run = trainer(["f1_macro", "accuracy"], lr=0.0)  # lr 0: every batch sees the same model
    history = run.fit(X, LABELS, epochs=1, batch_size=7, shuffle=False, progress=False)
    with nf.no_grad():
        pred = run.model(X)
    whole = metrics.get("f1_macro")[1](pred, LABELS)
    batch_mean = np.average(
        [metrics.get("f1_macro")[1](pred[i : i + 7], LABELS[i : i + 7]) for i in range(0, 40, 7)],
        weights=[len(LABELS[i : i + 7]) for i in range(0, 40, 7)],
    )
    assert abs(whole - batch_mean) > 1e-3  # the two differ on this data
    assert history.history["f1_macro"][0] == pytest.approx(whole, abs=1e-12)
    assert history.history["accuracy"][0] == pytest.approx(
        metrics.accuracy(pred, LABELS, from_logits=True), abs=1e-12
    )


def test_two_metrics_with_one_name_are_refused():
    with pytest.raises(ArgumentError, match=r"metrics\[1\] and metrics\[0\] are both named"):
        trainer(["accuracy", "accuracy"])


def test_a_metric_that_does_not_fit_the_task_fails_before_the_first_step():
    model = nf.Sequential(nf.Linear(4, 1, rng=0))
    run = nf.Trainer(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=0.1), metrics=["f1"])
    before = model.state_dict()
    with pytest.raises(DataError) as info:
        run.fit(X, X[:, :1] * 2.5, epochs=1, progress=False)
    assert "in the metric 'f1'" in info.value.__notes__
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_a_warm_up_as_long_as_training_is_refused_before_the_first_step():
    run = trainer(["accuracy"])
    warmup = nf.LinearLR(run.optimizer, start_factor=0.1, total_iters=5)
    before = run.model.state_dict()
    with pytest.raises(ArgumentError, match="warm-up lasts 5"):
        run.fit(X, LABELS, epochs=5, progress=False,
                callbacks=[nf.callbacks.LearningRateScheduler(warmup)])
    np.testing.assert_array_equal(run.model.state_dict()["0.weight"], before["0.weight"])
    run.fit(X, LABELS, epochs=6, progress=False,
            callbacks=[nf.callbacks.LearningRateScheduler(warmup)])
