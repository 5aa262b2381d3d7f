"""Optimizers, learning-rate schedules and gradient clipping."""

from nnframe.optim.adam import Adam, AdamW
from nnframe.optim.base import Optimizer
from nnframe.optim.clip import clip_grad_norm, clip_grad_value
from nnframe.optim.groups import ParamGroup
from nnframe.optim.hyperparameters import Hyperparameter
from nnframe.optim.rmsprop import RMSprop
from nnframe.optim.schedules import (
    CosineAnnealingLR,
    ExponentialLR,
    InverseTimeDecay,
    LinearLR,
    LRScheduler,
    SequentialLR,
    StepLR,
)
from nnframe.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "Hyperparameter",
    "InverseTimeDecay",
    "LRScheduler",
    "LinearLR",
    "Optimizer",
    "ParamGroup",
    "RMSprop",
    "SequentialLR",
    "StepLR",
    "clip_grad_norm",
    "clip_grad_value",
]
