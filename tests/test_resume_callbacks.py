"""Resume with stateful callbacks is exact; callback settings are checked before training."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

import nnframe as nf
from nnframe.errors import ArgumentError
from nnframe.training import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau


def data():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((120, 4))
    y = (x[:, 0] - x[:, 1] ** 2 > -0.5).astype(np.int64)
    return x, y


def trainer():
    model = nf.Sequential(nf.Linear(4, 12, rng=1, dtype=np.float64), nf.ReLU(),
                          nf.Dropout(0.2, rng=5), nf.Linear(12, 2, rng=2, dtype=np.float64))
    return nf.Trainer(model, nf.CrossEntropyLoss(), nf.Adam(model.parameters(), lr=0.05),
                      metrics=["accuracy"])


FIT = dict(batch_size=16, validation_split=0.25, rng=11, progress=False)
EPOCHS = 40


def callbacks(path):
    # A patience short enough that the run stops early and the rates drop on the way.
    return [ReduceLROnPlateau(factor=0.5, patience=1), EarlyStopping(patience=3),
            ModelCheckpoint(path)]


class CrashError(Exception):
    pass


class CrashAfter(nf.training.Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.epoch:
            raise CrashError


def test_early_stopping_and_plateau_resume_bit_identical_at_every_epoch(tmp_path):
    x, y = data()
    straight = trainer()
    full = straight.fit(x, y, epochs=EPOCHS, callbacks=callbacks(tmp_path / "s.st"), **FIT)
    stopped = len(full.epoch)
    assert stopped < EPOCHS  # early stopping did stop the run
    for k in range(stopped):
        path = tmp_path / f"c{k}.st"
        with pytest.raises(CrashError):
            trainer().fit(x, y, epochs=EPOCHS, callbacks=[*callbacks(path), CrashAfter(k)],
                          **FIT)
        again = trainer()
        history = again.fit(x, y, epochs=EPOCHS, callbacks=callbacks(path), resume_from=path,
                            **FIT)
        assert history.epoch == full.epoch, k
        assert history.history == full.history, k
        for a, b in zip(again.model.parameters(), straight.model.parameters(), strict=True):
            assert np.array_equal(a.value, b.value), k


def test_checkpoints_hold_the_callbacks_state(tmp_path):
    x, y = data()
    path = tmp_path / "c.st"
    trainer().fit(x, y, epochs=2, callbacks=callbacks(path), **FIT)
    states = nf.serialization.load_checkpoint(path).callback_states
    assert set(states) == {"trainer", "0.ReduceLROnPlateau", "1.EarlyStopping",
                           "2.ModelCheckpoint"}
    assert {"best", "wait", "best_epoch", "stopped_epoch"} <= set(states["1.EarlyStopping"])
    assert any(k.startswith("best_state.") for k in states["1.EarlyStopping"])
    assert nf.load(path) is not None  # the model still loads from the checkpoint


def test_a_stateful_callback_after_a_checkpoint_is_refused(tmp_path):
    x, y = data()
    run = trainer()
    before = run.model.state_dict()
    with pytest.raises(ArgumentError, match="put EarlyStopping first"):
        run.fit(x, y, epochs=2, callbacks=[ModelCheckpoint(tmp_path / "c"), EarlyStopping()],
                **FIT)
    assert all(np.array_equal(v, run.model.state_dict()[k]) for k, v in before.items())


def _unchanged(run, before):
    after = run.model.state_dict()
    return all(np.array_equal(v, after[k]) for k, v in before.items())


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda tmp: ModelCheckpoint(tmp / "missing" / "c.st"), "does not exist"),
        (lambda tmp: ModelCheckpoint(tmp / "file.txt" / "c.st"), "not a folder"),
        (lambda tmp: ModelCheckpoint(str(tmp / "{epoch.real.foo}.st")), "cannot fill in"),
        (lambda tmp: ModelCheckpoint(str(tmp / "{epoch[0]}.st")), "cannot fill in"),
        (lambda tmp: ModelCheckpoint(str(tmp / "{loss:d}.st")), "cannot fill in"),
        (lambda tmp: EarlyStopping(), "'val_loss' is not among"),
        (lambda tmp: ReduceLROnPlateau(), "'val_loss' is not among"),
        (lambda tmp: EarlyStopping(monitor="accurcy"), "'accurcy' is not among"),
        (lambda tmp: ModelCheckpoint(tmp / "c.st", save_best_only=True), "not among"),
    ],
)
def test_callback_settings_fail_before_any_weight_changes(tmp_path, make, match):
    (tmp_path / "file.txt").write_text("")
    x, y = data()
    run = trainer()
    before = run.model.state_dict()
    with pytest.raises(ArgumentError, match=match):
        run.fit(x, y, epochs=2, batch_size=16, rng=0, progress=False,
                callbacks=[make(tmp_path)])
    assert _unchanged(run, before)
    assert run.optimizer.step_count == 0


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_a_checkpoint_into_a_read_only_folder_fails_before_training(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    x, y = data()
    run = trainer()
    try:
        with pytest.raises(ArgumentError, match="not writable"):
            run.fit(x, y, epochs=1, progress=False, callbacks=[ModelCheckpoint(folder / "c")])
    finally:
        folder.chmod(0o700)
    assert run.optimizer.step_count == 0


def test_a_template_that_works_is_accepted(tmp_path):
    x, y = data()
    template = str(tmp_path / "c-{epoch:02d}-{val_loss:.3f}-{lr}.st")
    trainer().fit(x, y, epochs=1, callbacks=[ReduceLROnPlateau(), ModelCheckpoint(template)],
                  **FIT)
    assert len(list(tmp_path.glob("c-01-*.st"))) == 1


def test_a_checkpoint_with_nothing_left_to_train_says_so(tmp_path, caplog):
    x, y = data()
    path = tmp_path / "c.st"
    trainer().fit(x, y, epochs=3, callbacks=[ModelCheckpoint(path)], **FIT)
    again = trainer()
    with caplog.at_level(logging.WARNING, logger="nnframe.training"):
        history = again.fit(x, y, epochs=2, resume_from=path, **FIT)
    assert history.epoch == [0, 1, 2]
    assert "has completed 3 epochs and epochs=2; nothing to train" in caplog.text


def test_a_checkpoint_of_a_stopped_run_trains_no_more(tmp_path, caplog):
    x, y = data()
    path = tmp_path / "c.st"
    run = trainer()
    full = run.fit(x, y, epochs=EPOCHS, callbacks=callbacks(path), **FIT)
    again = trainer()
    with caplog.at_level(logging.WARNING, logger="nnframe.training"):
        history = again.fit(x, y, epochs=EPOCHS, callbacks=callbacks(path), resume_from=path,
                            **FIT)
    assert history.epoch == full.epoch
    assert "stopped by a callback" in caplog.text
    for a, b in zip(again.model.parameters(), run.model.parameters(), strict=True):
        assert np.array_equal(a.value, b.value)
