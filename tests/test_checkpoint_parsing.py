"""Crafted checkpoints: malformed generator states, non-ASCII indices, inconsistent history.

Each file is a well-formed, correctly checksummed checkpoint with one value changed, so that
only the checkpoint's own parsing stands between it and the model.
"""

from __future__ import annotations

import copy
import json
import re
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import nnframe as nf
from nnframe import serialization
from nnframe.errors import ArgumentError, SerializationError
from nnframe.serialization import format as file_format
from nnframe.training import LearningRateScheduler, ModelCheckpoint

X = np.random.default_rng(0).standard_normal((32, 3))
Y = (X[:, 0] > 0).astype(np.int64)


def _trainer() -> nf.Trainer:
    model = nf.Sequential(nf.Linear(3, 4, rng=0), nf.Dropout(0.2, rng=1), nf.Linear(4, 2, rng=2))
    model.astype(np.float64)
    return nf.Trainer(model, nf.CrossEntropyLoss(), nf.Adam(model.parameters(), lr=0.01))


def _fit(trainer: nf.Trainer, epochs: int, **options: Any) -> nf.History:
    return trainer.fit(X, Y, epochs=epochs, batch_size=8, rng=3, progress=False, **options)


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    path = tmp_path / "run.safetensors"
    _fit(_trainer(), 2, callbacks=[ModelCheckpoint(path)])
    return path


def _rewrite(
    path: Path,
    record: Callable[[dict[str, Any]], None] | None = None,
    tensors: Callable[[dict[str, np.ndarray]], None] | None = None,
) -> Path:
    """Write ``path`` again with its checkpoint record and tensors edited in place."""
    stored = file_format.read_file(path)
    header = {k: v for k, v in stored.metadata.items() if k != file_format.KEY_DIGEST}
    content = json.loads(header[file_format.KEY_CHECKPOINT])
    arrays = {name: np.array(value) for name, value in stored.tensors.items()}
    if record is not None:
        record(content)
    if tensors is not None:
        tensors(arrays)
    header[file_format.KEY_CHECKPOINT] = json.dumps(content)
    crafted = path.with_name("crafted.safetensors")
    file_format.write_file(crafted, arrays, header)
    return crafted


def _refused_everywhere(crafted: Path, match: str) -> None:
    """load_checkpoint and fit(resume_from=...) both refuse ``crafted``, naming it."""
    with pytest.raises(SerializationError, match=match) as caught:
        serialization.load_checkpoint(crafted)
    assert str(crafted) in str(caught.value)
    run = _trainer()
    before = run.model.state_dict()
    with pytest.raises(SerializationError, match=match) as caught:
        _fit(run, 4, resume_from=crafted)
    assert str(crafted) in str(caught.value)
    assert all(np.array_equal(v, before[k]) for k, v in run.model.state_dict().items())
    assert run.optimizer.step_count == 0


# ---------------------------------------------------------------------------------------------
# Malformed generator states
# ---------------------------------------------------------------------------------------------


def _set(*keys: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(state: dict[str, Any]) -> None:
        for key in keys[:-1]:
            state = state[key]
        state[keys[-1]] = value

    return edit


MALFORMED_STATES = {
    "state 2**200": _set("state", "state", value=2**200),
    "state 2**128": _set("state", "state", value=2**128),
    "negative state": _set("state", "state", value=-1),
    "float state": _set("state", "state", value=1.5),
    "bool state": _set("state", "state", value=True),
    "missing inc": lambda s: s["state"].pop("inc"),
    "extra key": _set("extra", value=1),
    "has_uint32 2**70": _set("has_uint32", value=2**70),
    "negative uinteger": _set("uinteger", value=-5),
    "unknown bit generator": _set("bit_generator", value="os.system"),
    "bit generator not a str": _set("bit_generator", value=["PCG64"]),
    "state a str": _set("state", value="PCG64"),
    "null inc": _set("state", "inc", value=None),
}


@pytest.mark.parametrize("edit", MALFORMED_STATES.values(), ids=MALFORMED_STATES.keys())
@pytest.mark.parametrize("which", ["data_rng", "layer_rngs"])
def test_a_malformed_generator_state_is_a_serialization_error_naming_the_file(
    checkpoint, which, edit
):
    def corrupt(record: dict[str, Any]) -> None:
        edit(record["data_rng"] if which == "data_rng" else record["layer_rngs"]["1.generator"])

    _refused_everywhere(_rewrite(checkpoint, corrupt), rf"generator state .*{which}")


def test_a_malformed_mt19937_state_is_refused(tmp_path):
    legacy = np.random.Generator(np.random.MT19937(5))
    path = tmp_path / "c.safetensors"
    serialization.save_checkpoint(path, nf.Linear(2, 2, rng=0), epoch=1, data_rng=legacy)
    serialization.load_checkpoint(path)  # as written, fine
    for key in ([2**40] * 624, [1, 2, 3], [0.5] * 624):
        crafted = _rewrite(path, _set("data_rng", "state", "key", value=key))
        with pytest.raises(SerializationError, match=r"crafted.*'data_rng'.*MT19937"):
            serialization.load_checkpoint(crafted)


def test_restore_refuses_a_malformed_state_before_changing_anything(checkpoint):
    saved = serialization.load_checkpoint(checkpoint)
    bad = copy.deepcopy(saved.layer_rng_states)
    bad["1.generator"]["state"]["state"] = 2**200
    crafted = attrs.evolve(saved, layer_rng_states=bad)
    run = _trainer()
    before = run.model.state_dict()
    generator_before = copy.deepcopy(run.model[1].generator.bit_generator.state)
    with pytest.raises(SerializationError, match=r"run\.safetensors.*'1\.generator'"):
        crafted.restore(run.model, run.optimizer)
    assert all(np.array_equal(v, before[k]) for k, v in run.model.state_dict().items())
    assert run.model[1].generator.bit_generator.state == generator_before
    # The checkpoint as read restores (a generator of another class stays a StateDictError).
    saved.restore(run.model, run.optimizer)
    assert run.optimizer.step_count > 0


# ---------------------------------------------------------------------------------------------
# Indices are ASCII digits
# ---------------------------------------------------------------------------------------------


def _rename(old: str, new: str) -> Callable[[dict[str, np.ndarray]], None]:
    def edit(arrays: dict[str, np.ndarray]) -> None:
        arrays[new] = arrays.pop(old)

    return edit


@pytest.mark.parametrize(
    "index",
    [
        "\u0660",  # ARABIC-INDIC DIGIT ZERO: str.isdecimal() and int() accept it
        "\u06f0",  # EXTENDED ARABIC-INDIC DIGIT ZERO
        "\uff10",  # FULLWIDTH DIGIT ZERO
        "\u2070",  # SUPERSCRIPT ZERO: isdigit() but not isdecimal()
        "00",  # int() reads it as 0: a second name for index 0
    ],
)
def test_an_optimizer_index_not_in_ascii_digits_is_refused(checkpoint, index):
    assert "optimizer.state.0.exp_avg" in file_format.read_file(checkpoint).tensors
    crafted = _rewrite(
        checkpoint, tensors=_rename("optimizer.state.0.exp_avg", f"optimizer.state.{index}.exp_avg")
    )
    _refused_everywhere(crafted, rf"'optimizer\.state\.{re.escape(ascii(index)[1:-1])}\.exp_avg'"
                        r".*not a plain number")


def test_a_model_tensor_or_generator_name_not_in_ascii_digits_is_refused(checkpoint):
    crafted = _rewrite(checkpoint, tensors=_rename("model.0.weight", "model.\u0660.weight"))
    _refused_everywhere(crafted, r"'model\.\\u0660\.weight'.*not a plain number")

    def rename_generator(record: dict[str, Any]) -> None:
        rngs = record["layer_rngs"]
        rngs["\u0661.generator"] = rngs.pop("1.generator")

    crafted = _rewrite(checkpoint, rename_generator)
    _refused_everywhere(crafted, r"'layer_rngs\.\\u0661\.generator'.*not a plain number")


def test_an_optimizer_scalar_key_not_in_ascii_digits_is_refused(checkpoint):
    def rename(record: dict[str, Any]) -> None:
        values = record["optimizer"]["values"]
        values["betas.\u0660"] = values.pop("betas.0")

    _refused_everywhere(_rewrite(checkpoint, rename), r"'optimizer\.betas\.\\u0660'")


# ---------------------------------------------------------------------------------------------
# Consistent history
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "history, epoch_numbers, match",
    [
        ({"loss": [1.0, 0.5, 0.4]}, [0, 1], r"'loss' has 3 values for 2 recorded epochs"),
        ({"loss": [1.0, 0.5], "val_loss": [1.0, 0.9, 0.8]}, [0, 1], r"'val_loss' has 3 values"),
        ({"loss": [1.0, 0.5]}, [1, 0], r"must increase; got 1 then 0"),
        ({"loss": [1.0, 0.5]}, [0, 0], r"must increase; got 0 then 0"),
        ({"loss": [1.0, 0.5]}, [1, 2], r"must lie in \[0, 2\)"),
        ({"loss": [1.0, 0.5]}, [-1, 0], r"must lie in \[0, 2\)"),
        ({"loss": [1.0, 0.5, 0.4]}, [0, 1, 2], r"must lie in \[0, 2\)"),
    ],
)
def test_an_inconsistent_history_is_refused_on_load_and_on_save(
    checkpoint, history, epoch_numbers, match
):
    def edit(record: dict[str, Any]) -> None:
        record["history"] = {"history": history, "epoch": epoch_numbers}

    _refused_everywhere(_rewrite(checkpoint, edit), rf"'history': .*{match}")
    target = checkpoint.with_name("new.safetensors")
    # nf.History refuses most of these itself; save_checkpoint takes any object with
    # history and epoch attributes and checks it against the checkpoint's epoch too.
    record = types.SimpleNamespace(history=history, epoch=epoch_numbers)
    with pytest.raises(ArgumentError, match=rf"save_checkpoint: history: .*{match}"):
        serialization.save_checkpoint(target, nf.Linear(2, 2, rng=0), epoch=2, history=record)
    assert not target.exists()


def test_a_quantity_first_logged_after_a_resume_keeps_the_checkpoint_loadable(tmp_path):
    # A scheduler added on resume logs "lr" for the later epochs only: a shorter list that
    # the Trainer itself writes, which must keep loading and resuming.
    path = tmp_path / "c.safetensors"
    _fit(_trainer(), 1, callbacks=[ModelCheckpoint(path)])
    same_rate = LearningRateScheduler(lambda epoch, lr: lr)
    _fit(_trainer(), 3, callbacks=[ModelCheckpoint(path), same_rate], resume_from=path)
    saved = serialization.load_checkpoint(path)
    assert saved.history_epochs == [0, 1, 2]
    assert len(saved.history["loss"]) == 3 and len(saved.history["lr"]) == 1
    history = _fit(_trainer(), 4, resume_from=path)
    assert history.epoch == [0, 1, 2, 3]
