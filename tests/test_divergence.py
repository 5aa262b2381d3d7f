"""Divergence stops with TrainingDivergedError, no numpy warning, and no cache left behind."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnframe as nf
from nnframe.errors import TrainingDivergedError

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import nnframe as nf

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)) * 1e4
    y = rng.standard_normal((64, 1))
    model = nf.Sequential(nf.Linear(4, 16, rng=1), nf.ReLU(), nf.Linear(16, 1, rng=2))
    trainer = nf.Trainer(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=0.1),
                         divergence_threshold=None)
    """
)


def _run():
    namespace: dict = {}
    exec(SCRIPT, namespace)
    return namespace


def test_overflow_stops_with_the_epoch_batch_and_layer_and_no_warning():
    # pytest turns warnings into errors (pyproject filterwarnings): a numpy
    # RuntimeWarning would surface as a bare RuntimeWarning instead of this error.
    run = _run()
    trainer, model = run["trainer"], run["model"]
    with pytest.raises(TrainingDivergedError) as info:
        trainer.fit(run["x"], run["y"], epochs=5, batch_size=8, progress=False, rng=0)
    message = str(info.value)
    assert "at epoch 1, batch" in message
    assert "the first layer whose output is not finite: '2' Linear(16 -> 1)" in message
    assert "(in Sequential[2] Linear(16 -> 1))" in message
    assert not model.has_cache()


def test_a_non_finite_loss_without_a_non_finite_layer_says_so():
    model = nf.Sequential(nf.Linear(2, 1, rng=0))
    trainer = nf.Trainer(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=0.1))
    x, y = np.ones((4, 2)), np.full((4, 1), 1e200)
    with pytest.raises(TrainingDivergedError, match="every layer's output is finite"):
        trainer.train_on_batch(x, y)
    assert not model.has_cache()


def test_under_python_W_error_the_user_gets_the_divergence_error():
    code = SCRIPT + textwrap.dedent(
        """
        try:
            trainer.fit(x, y, epochs=5, batch_size=8, progress=False, rng=0)
        except nf.errors.TrainingDivergedError as error:
            print("diverged:", error)
            print("cache:", model.has_cache())
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "diverged:" in result.stdout and "'2' Linear(16 -> 1)" in result.stdout
    assert "cache: False" in result.stdout
    assert "RuntimeWarning" not in result.stderr
