"""ModelCheckpoint and Trainer.fit(resume_from=...): an interrupted run resumes bit-identically."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnframe as nf
from nnframe import serialization
from nnframe.errors import ArgumentError, SerializationError, StateDictError
from nnframe.training import Callback, ModelCheckpoint

# The same source builds the run in this process and in the resuming child process.
SETUP = textwrap.dedent(
    """
    import numpy as np
    import nnframe as nf

    def data():
        rng = np.random.default_rng(42)
        x = rng.standard_normal((150, 5)).astype(np.float32)
        y = (x[:, 0] + 0.5 * x[:, 1] ** 2 > 0.3).astype(np.int64) + (x[:, 2] > 1.0)
        return x, y

    def trainer():
        layers = [nf.Linear(5, 16, rng=1), nf.ReLU()]
        if hasattr(nf, "Dropout"):
            layers.append(nf.Dropout(0.25, rng=2))
        if hasattr(nf, "BatchNorm1d"):
            layers.append(nf.BatchNorm1d(16))
        layers.append(nf.Linear(16, 3, rng=3))
        model = nf.Sequential(*layers)
        optimizer = nf.Adam(model.parameters(), lr=0.01)
        return nf.Trainer(model, nf.CrossEntropyLoss(), optimizer, metrics=["accuracy"])

    FIT = dict(batch_size=16, shuffle=True, validation_split=0.2, rng=7, progress=False)
    """
)

CHILD = SETUP + textwrap.dedent(
    """
    import json, sys

    checkpoint, out = sys.argv[1], sys.argv[2]
    run = trainer()
    history = run.fit(*data(), epochs=6, resume_from=checkpoint, **FIT)
    nf.save_weights(run.model, out)
    print(json.dumps({"history": history.history, "epoch": history.epoch}))
    """
)


def _setup() -> dict:
    namespace: dict = {}
    exec(SETUP, namespace)
    return namespace


def _assert_same_weights(a: nf.Layer, b: nf.Layer) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for name in sa:
        assert sa[name].dtype == sb[name].dtype
        assert np.array_equal(sa[name], sb[name]), name


def test_a_run_resumed_in_a_new_process_ends_bit_identical(tmp_path):
    setup = _setup()
    x, y = setup["data"]()
    straight = setup["trainer"]()
    full = straight.fit(x, y, epochs=6, **setup["FIT"])

    checkpoint = tmp_path / "ckpt.safetensors"
    first = setup["trainer"]()
    first.fit(x, y, epochs=3, callbacks=[ModelCheckpoint(checkpoint)], **setup["FIT"])
    script = tmp_path / "resume.py"
    script.write_text(CHILD)
    out = tmp_path / "resumed.safetensors"
    result = subprocess.run(
        [sys.executable, str(script), str(checkpoint), str(out)],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    resumed = setup["trainer"]().model
    nf.load_weights(resumed, out)
    _assert_same_weights(resumed, straight.model)
    record = json.loads(result.stdout)
    assert record["epoch"] == full.epoch == [0, 1, 2, 3, 4, 5]
    assert record["history"] == full.history


class InterruptError(Exception):
    pass


class InterruptAt(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_begin(self, trainer, epoch):
        if epoch == self.epoch:
            raise InterruptError


def test_an_interrupted_run_resumed_in_process_ends_bit_identical(tmp_path):
    setup = _setup()
    x, y = setup["data"]()
    straight = setup["trainer"]()
    straight.fit(x, y, epochs=5, **setup["FIT"])

    path = tmp_path / "ckpt.safetensors"
    crashed = setup["trainer"]()
    with pytest.raises(InterruptError):
        crashed.fit(x, y, epochs=5, callbacks=[ModelCheckpoint(path), InterruptAt(2)],
                    **setup["FIT"])
    again = setup["trainer"]()
    history = again.fit(x, y, epochs=5, resume_from=path, **setup["FIT"])
    _assert_same_weights(again.model, straight.model)
    assert history.epoch == [0, 1, 2, 3, 4]
    # Checkpointing on the resumed run continues the same file.
    assert serialization.load_checkpoint(path).epoch == 2


def test_a_checkpoint_holds_the_whole_training_state(tmp_path):
    setup = _setup()
    x, y = setup["data"]()
    run = setup["trainer"]()
    path = tmp_path / "ckpt.safetensors"
    run.fit(x, y, epochs=2, callbacks=[ModelCheckpoint(path)], **setup["FIT"])
    checkpoint = serialization.load_checkpoint(path)
    assert checkpoint.epoch == 2 and checkpoint.history_epochs == [0, 1]
    assert checkpoint.history == run.history.history
    assert set(checkpoint.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert checkpoint.optimizer_class == "Adam"
    assert checkpoint.optimizer_state["step_count"] == run.optimizer.step_count == 16
    for key, value in run.optimizer.state_dict().items():
        assert np.array_equal(checkpoint.optimizer_state[key], value), key
    for name, value in run.model.state_dict().items():
        assert np.array_equal(checkpoint.model_state[name], value)
    assert checkpoint.data_rng_state == run.data_rng.bit_generator.state
    if hasattr(nf, "Dropout"):
        assert set(checkpoint.layer_rng_states) == {"2.generator"}
        assert checkpoint.layer_rng_states["2.generator"] == (
            run.model[2].generator.bit_generator.state
        )
    # The model inside is loadable on its own, architecture and all.
    _assert_same_weights(nf.load(path), run.model)
    metadata = serialization.read_metadata(path)
    assert metadata[serialization.format.KEY_KIND] == "checkpoint"
    assert json.loads(metadata[serialization.format.KEY_CHECKPOINT])["epoch"] == 2


def test_epochs_is_the_total_and_a_finished_checkpoint_trains_no_more(tmp_path):
    setup = _setup()
    x, y = setup["data"]()
    path = tmp_path / "ckpt.safetensors"
    setup["trainer"]().fit(x, y, epochs=3, callbacks=[ModelCheckpoint(path)], **setup["FIT"])
    again = setup["trainer"]()
    history = again.fit(x, y, epochs=2, resume_from=path, **setup["FIT"])
    assert history.epoch == [0, 1, 2]
    assert again.optimizer.step_count == 24  # restored, no step taken
    _assert_same_weights(again.model, nf.load(path))


def test_save_best_only_saves_on_improvement_and_remembers_the_best_across_a_resume(tmp_path):
    setup = _setup()
    x, y = setup["data"]()
    path = tmp_path / "best-{epoch}.safetensors"
    saved = []

    class Spy(ModelCheckpoint):
        def on_epoch_end(self, trainer, epoch, logs):
            super().on_epoch_end(trainer, epoch, logs)
            saved.append(self.last_saved)

    run = setup["trainer"]()
    best = Spy(path, monitor="loss", save_best_only=True)
    run.fit(x, y, epochs=4, callbacks=[best], **setup["FIT"])
    losses = run.history.history["loss"]
    written = sorted(p.name for p in tmp_path.glob("best-*.safetensors"))
    improved = [i for i, v in enumerate(losses) if v == min(losses[: i + 1])]
    assert written == sorted(f"best-{i + 1}.safetensors" for i in improved)
    assert best.best == min(losses)

    resumed = Spy(path, monitor="loss", save_best_only=True)
    resumed.on_train_begin(run)
    assert resumed.best == min(losses)


def test_monitor_must_be_logged_with_save_best_only(tmp_path):
    setup = _setup()
    x, y = setup["data"]()
    run = setup["trainer"]()
    checkpoint = ModelCheckpoint(tmp_path / "c.safetensors", monitor="val_auc", save_best_only=True)
    with pytest.raises(ArgumentError, match="val_auc"):
        run.fit(x, y, epochs=1, callbacks=[checkpoint], **setup["FIT"])


def test_a_checkpoint_for_another_model_changes_nothing(tmp_path):
    setup = _setup()
    x, y = setup["data"]()
    path = tmp_path / "ckpt.safetensors"
    setup["trainer"]().fit(x, y, epochs=1, callbacks=[ModelCheckpoint(path)], **setup["FIT"])

    model = nf.Sequential(nf.Linear(5, 16, rng=1), nf.Tanh(), nf.Linear(16, 3, rng=3))
    other = nf.Trainer(model, nf.CrossEntropyLoss(), nf.Adam(model.parameters()))
    before = model.state_dict()
    with pytest.raises(StateDictError, match="another architecture"):
        other.fit(x, y, epochs=2, resume_from=path, **setup["FIT"])
    _assert_same_weights(model, nf.Sequential(nf.Linear(5, 16, rng=1), nf.Tanh(),
                                              nf.Linear(16, 3, rng=3)))
    assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())

    same = setup["trainer"]()
    same.optimizer = nf.SGD(same.model.parameters(), lr=0.1)
    generators = {k: g.bit_generator.state for k, g in same.model.named_generators()}
    before = same.model.state_dict()
    with pytest.raises(StateDictError, match="SGD"):
        same.fit(x, y, epochs=2, resume_from=path, **setup["FIT"])
    assert all(np.array_equal(v, before[k]) for k, v in same.model.state_dict().items())
    assert generators == {
        k: g.bit_generator.state for k, g in same.model.named_generators()
    }
    assert same.optimizer.step_count == 0


def test_restore_rolls_back_when_a_late_step_fails(tmp_path):
    setup = _setup()
    x, y = setup["data"]()
    path = tmp_path / "ckpt.safetensors"
    first = setup["trainer"]()
    first.fit(x, y, epochs=1, callbacks=[ModelCheckpoint(path)], **setup["FIT"])
    run = setup["trainer"]()
    before = run.model.state_dict()
    legacy = np.random.Generator(np.random.MT19937(0))  # a different bit generator
    with pytest.raises(StateDictError, match="generator state"):
        serialization.load_checkpoint(path).restore(run.model, run.optimizer, data_rng=legacy)
    assert all(np.array_equal(v, before[k]) for k, v in run.model.state_dict().items())
    assert run.optimizer.step_count == 0


def test_resume_from_a_model_file_or_garbage_is_a_serialization_error(tmp_path):
    setup = _setup()
    x, y = setup["data"]()
    run = setup["trainer"]()
    nf.save(run.model, tmp_path / "model.safetensors")
    with pytest.raises(SerializationError, match="not a checkpoint"):
        run.fit(x, y, epochs=1, resume_from=tmp_path / "model.safetensors", **setup["FIT"])
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(SerializationError):
        run.fit(x, y, epochs=1, resume_from=tmp_path / "junk.safetensors", **setup["FIT"])


def test_mt19937_generator_states_round_trip(tmp_path):
    model = nf.Linear(2, 2, rng=0)
    legacy = np.random.Generator(np.random.MT19937(5))
    legacy.random(3)
    serialization.save_checkpoint(tmp_path / "c.safetensors", model, epoch=1, data_rng=legacy)
    fresh = np.random.Generator(np.random.MT19937(0))
    serialization.load_checkpoint(tmp_path / "c.safetensors").restore(model, data_rng=fresh)
    assert fresh.random() == legacy.random()


def _tied_trainer():
    """A model whose last Linear shares the first one's weight, trained with Adam."""
    model = nf.Sequential(nf.Linear(5, 5, rng=1), nf.Tanh(), nf.Dropout(0.1, rng=2),
                          nf.Linear(5, 5, rng=3), nf.Tanh(), nf.Linear(5, 3, rng=4))
    model[3].weight = model[0].weight
    return nf.Trainer(model, nf.CrossEntropyLoss(), nf.Adam(model.parameters(), lr=0.01))


def test_a_tied_model_resumes_bit_identical_and_stays_tied(tmp_path):
    setup = _setup()
    x, y = setup["data"]()
    straight = _tied_trainer()
    straight.fit(x, y, epochs=4, **setup["FIT"])

    path = tmp_path / "tied.safetensors"
    _tied_trainer().fit(x, y, epochs=2, callbacks=[ModelCheckpoint(path)], **setup["FIT"])
    names = set(serialization.format.read_file(path).tensors)
    assert "model.0.weight" in names and "model.3.weight" not in names
    resumed = _tied_trainer()
    resumed.fit(x, y, epochs=4, resume_from=path, **setup["FIT"])
    _assert_same_weights(resumed.model, straight.model)
    assert resumed.model[3].weight is resumed.model[0].weight

    # The model read back out of the checkpoint is tied too, and keeps training tied.
    loaded = nf.load(path)
    assert loaded[3].weight is loaded[0].weight
    before = loaded[0].weight.value.copy()
    nf.Trainer(loaded, nf.CrossEntropyLoss(), nf.SGD(loaded.parameters(), lr=0.1)).fit(
        x, y, epochs=1, **setup["FIT"]
    )
    assert loaded[3].weight is loaded[0].weight
    assert not np.array_equal(loaded[0].weight.value, before)
