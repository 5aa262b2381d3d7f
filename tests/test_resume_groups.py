"""Resume with parameter groups and ReduceLROnPlateau: an interrupted run ends bit-identical."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe as nf
from nnframe.errors import ArgumentError
from nnframe.training import Callback, ModelCheckpoint
from nnframe.training.callbacks import ReduceLROnPlateau


def data():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((96, 4))
    y = (x[:, 0] - x[:, 1] ** 2 > 0).astype(np.int64)
    return x, y


def trainer():
    model = nf.Sequential(nf.Linear(4, 8, rng=1), nf.ReLU(), nf.Linear(8, 2, rng=2))
    model.astype(np.float64)
    optimizer = nf.Adam(
        [{"params": model[0].parameters(), "lr": 0.05},
         {"params": model[2].parameters(), "weight_decay": 0.01}],
        lr=0.02,
    )
    return nf.Trainer(model, nf.CrossEntropyLoss(), optimizer)


def plateau():
    # Patience 0 and a large threshold: the rates drop often, so resuming must know when.
    return ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, threshold=0.3,
                             cooldown=1, min_lr=[1e-3, 0.0])


FIT = dict(batch_size=16, rng=5, progress=False)


class InterruptError(Exception):
    pass


class InterruptAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, trainer, epoch):
        if epoch == self.epoch:
            raise InterruptError


@pytest.mark.parametrize("stop", [2, 4])
def test_groups_and_plateau_resume_bit_identical(tmp_path, stop):
    x, y = data()
    straight = trainer()
    full = straight.fit(x, y, epochs=7, callbacks=[plateau()], **FIT)
    assert len(set(full.history["lr"])) > 2  # the rates did drop, more than once
    path = tmp_path / "ckpt.safetensors"
    crashed = trainer()
    with pytest.raises(InterruptError):
        crashed.fit(x, y, epochs=7, callbacks=[plateau(), ModelCheckpoint(path),
                                               InterruptAt(stop)], **FIT)
    again = trainer()
    history = again.fit(x, y, epochs=7, resume_from=path,
                        callbacks=[plateau(), ModelCheckpoint(path)], **FIT)
    assert history.history == full.history
    assert again.optimizer.group_hyperparameters() == straight.optimizer.group_hyperparameters()
    for a, b in zip(again.model.parameters(), straight.model.parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)


def test_plateau_after_a_checkpoint_is_refused(tmp_path):
    x, y = data()
    with pytest.raises(ArgumentError, match="before it; put ReduceLROnPlateau first"):
        trainer().fit(x, y, epochs=1,
                      callbacks=[ModelCheckpoint(tmp_path / "c.safetensors"), plateau()], **FIT)


def test_a_checkpoint_keeps_each_groups_hyperparameters(tmp_path):
    x, y = data()
    run = trainer()
    path = tmp_path / "ckpt.safetensors"
    run.fit(x, y, epochs=1, callbacks=[ModelCheckpoint(path, monitor="loss")], **FIT)
    state = nf.serialization.load_checkpoint(path).optimizer_state
    assert state["param_groups.0.lr"] == 0.05 and state["param_groups.1.lr"] == 0.02
    assert state["param_groups.1.weight_decay"] == 0.01
    other = trainer()
    other.optimizer.param_groups[0]["lr"] = 0.9
    nf.serialization.load_checkpoint(path).restore(other.model, other.optimizer)
    assert other.optimizer.group_hyperparameters() == run.optimizer.group_hyperparameters()
