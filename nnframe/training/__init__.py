"""Training: the Trainer and its step, callbacks, History and mini-batches.

One module per job: :mod:`~nnframe.training.trainer` (``Trainer``),
:mod:`~nnframe.training.callbacks` (``Callback`` and the built-in callbacks),
:mod:`~nnframe.training.history` (``History`` and its plot) and
:mod:`~nnframe.training.data` (``batches`` and the checks of example arrays).
"""

from nnframe.training import callbacks
from nnframe.training.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
)
from nnframe.training.data import batches
from nnframe.training.history import History
from nnframe.training.trainer import Trainer

__all__ = [
    "Callback",
    "EarlyStopping",
    "History",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "Trainer",
    "batches",
    "callbacks",
]
