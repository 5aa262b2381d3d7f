"""nnframe: an explicit, object-oriented neural-network framework on numpy."""

from nnframe import data, errors, functional, init, io, metrics, optim, registry
from nnframe.data import datasets
from nnframe.grad_mode import is_grad_enabled, no_grad
from nnframe.gradcheck import GradcheckReport, assert_gradients, gradcheck
from nnframe.io import load, load_weights, save, save_weights
from nnframe.layers import (
    ELU,
    GELU,
    BatchNorm1d,
    Dropout,
    Flatten,
    Identity,
    InputSpec,
    Layer,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Summary,
    Tanh,
    layer,
)
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
from nnframe.registry import register
from nnframe.training import History, Trainer, batches, callbacks

__version__ = "0.1.0"

__all__ = [
    "Adam",
    "AdamW",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "Buffer",
    "CosineAnnealingLR",
    "CrossEntropyLoss",
    "Dropout",
    "ELU",
    "ExponentialLR",
    "Flatten",
    "GELU",
    "GradcheckReport",
    "History",
    "Identity",
    "InputSpec",
    "InverseTimeDecay",
    "LRScheduler",
    "Layer",
    "LeakyReLU",
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
    "Softmax",
    "StepLR",
    "Summary",
    "Tanh",
    "Trainer",
    "assert_gradients",
    "batches",
    "callbacks",
    "clip_grad_norm",
    "data",
    "datasets",
    "errors",
    "functional",
    "gradcheck",
    "init",
    "io",
    "is_grad_enabled",
    "layer",
    "load",
    "load_weights",
    "metrics",
    "mlp",
    "no_grad",
    "optim",
    "register",
    "registry",
    "save",
    "save_weights",
]
