"""nnframe: an explicit, object-oriented neural-network framework on numpy."""

from nnframe import callbacks, datasets, errors, functional, init, metrics, optim
from nnframe.grad_mode import is_grad_enabled, no_grad
from nnframe.gradcheck import GradcheckReport, assert_gradients, gradcheck
from nnframe.layers import Layer, Linear, ReLU, Sequential, Sigmoid, Summary, Tanh, layer
from nnframe.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss
from nnframe.models import mlp
from nnframe.optim import (
    SGD,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    InverseTimeDecay,
    LRScheduler,
    Optimizer,
    RMSprop,
    StepLR,
    clip_grad_norm,
)
from nnframe.parameter import Buffer, Parameter
from nnframe.training import History, Trainer, batches

__version__ = "0.1.0"

__all__ = [
    "Adam",
    "AdamW",
    "BCELoss",
    "BCEWithLogitsLoss",
    "Buffer",
    "CosineAnnealingLR",
    "CrossEntropyLoss",
    "ExponentialLR",
    "GradcheckReport",
    "History",
    "InverseTimeDecay",
    "LRScheduler",
    "Layer",
    "Linear",
    "Loss",
    "MSELoss",
    "Optimizer",
    "Parameter",
    "RMSprop",
    "ReLU",
    "SGD",
    "Sequential",
    "Sigmoid",
    "StepLR",
    "Summary",
    "Tanh",
    "Trainer",
    "assert_gradients",
    "batches",
    "callbacks",
    "clip_grad_norm",
    "datasets",
    "errors",
    "functional",
    "gradcheck",
    "init",
    "is_grad_enabled",
    "layer",
    "metrics",
    "mlp",
    "no_grad",
    "optim",
]
