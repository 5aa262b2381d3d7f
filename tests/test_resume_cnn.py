"""A small cnn trained by Trainer resumes from its checkpoint bit-identically.

Convolutions keep work arrays and reused result arrays across steps, BatchNorm2d running
statistics, Dropout a generator: none of it may make a resumed run differ from one that
was never interrupted, in this process or in a new one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnframe as nf
from nnframe import serialization
from nnframe.training import Callback, ModelCheckpoint

SETUP = textwrap.dedent(
    """
    import numpy as np
    import nnframe as nf

    def data():
        rng = np.random.default_rng(42)
        x = rng.standard_normal((96, 1, 8, 8)).astype(np.float32)
        y = (x[:, 0, :4].mean(axis=(1, 2)) > x[:, 0, 4:].mean(axis=(1, 2))).astype(np.int64)
        return x, y + (x[:, 0, :, :4].mean(axis=(1, 2)) > 0.2)

    def trainer():
        model = nf.cnn(
            (1, 8, 8), 3, channels=(4, 6), kernel_size=3, hidden=8, batch_norm=True,
            dropout=0.25, rng=1,
        )
        optimizer = nf.Adam(model.parameters(), lr=0.01)
        return nf.Trainer(model, nf.CrossEntropyLoss(), optimizer, metrics=["accuracy"])

    FIT = dict(batch_size=16, shuffle=True, validation_split=0.25, rng=7, progress=False)
    """
)

CHILD = SETUP + textwrap.dedent(
    """
    import json, sys

    checkpoint, out = sys.argv[1], sys.argv[2]
    run = trainer()
    history = run.fit(*data(), epochs=4, resume_from=checkpoint, **FIT)
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
    assert any(name.endswith("running_var") for name in sa)
    for name in sa:
        assert sa[name].dtype == sb[name].dtype
        assert np.array_equal(sa[name], sb[name]), name


class InterruptError(Exception):
    pass


class InterruptAt(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_begin(self, trainer, epoch):
        if epoch == self.epoch:
            raise InterruptError


def test_an_interrupted_cnn_run_resumed_in_process_ends_bit_identical(tmp_path):
    setup = _setup()
    x, y = setup["data"]()
    straight = setup["trainer"]()
    full = straight.fit(x, y, epochs=4, **setup["FIT"])

    path = tmp_path / "ckpt.safetensors"
    crashed = setup["trainer"]()
    with pytest.raises(InterruptError):
        crashed.fit(x, y, epochs=4, callbacks=[ModelCheckpoint(path), InterruptAt(2)],
                    **setup["FIT"])
    assert serialization.load_checkpoint(path).epoch == 2  # epochs done
    again = setup["trainer"]()
    history = again.fit(x, y, epochs=4, resume_from=path, **setup["FIT"])
    _assert_same_weights(again.model, straight.model)
    assert history.epoch == full.epoch == [0, 1, 2, 3]
    assert history.history == full.history
    # The interrupted run's model kept training state of its own: it differs.
    assert not np.array_equal(crashed.model[0].weight.value, straight.model[0].weight.value)


def test_a_cnn_run_resumed_in_a_new_process_ends_bit_identical(tmp_path):
    setup = _setup()
    x, y = setup["data"]()
    straight = setup["trainer"]()
    full = straight.fit(x, y, epochs=4, **setup["FIT"])

    checkpoint = tmp_path / "ckpt.safetensors"
    first = setup["trainer"]()
    first.fit(x, y, epochs=2, callbacks=[ModelCheckpoint(checkpoint)], **setup["FIT"])
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
    assert record["epoch"] == full.epoch == [0, 1, 2, 3]
    assert record["history"] == full.history
