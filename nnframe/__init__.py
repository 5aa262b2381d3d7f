"""nnframe: an explicit, object-oriented neural-network framework on numpy."""

from nnframe import (
    data,
    errors,
    functional,
    init,
    layers,
    metrics,
    optim,
    serialization,
)
from nnframe.data import datasets
from nnframe.grad_mode import is_grad_enabled, no_grad
from nnframe.gradcheck import GradcheckReport, assert_gradients, gradcheck
from nnframe.layers import *  # noqa: F403  every public layer, listed once: in nnframe.layers
from nnframe.layers import registry
from nnframe.layers.registry import register
from nnframe.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss
from nnframe.models import cnn, mlp, resmlp
from nnframe.optim import (
    SGD,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    InverseTimeDecay,
    LinearLR,
    LRScheduler,
    Optimizer,
    RMSprop,
    SequentialLR,
    StepLR,
    clip_grad_norm,
    clip_grad_value,
)
from nnframe.parameter import Buffer, FlatParameters, Parameter, flatten_parameters
from nnframe.serialization import load, load_weights, save, save_weights
from nnframe.training import History, Trainer, batches, callbacks

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
    "FlatParameters",
    "GradcheckReport",
    "History",
    "InverseTimeDecay",
    "LRScheduler",
    "LinearLR",
    "Loss",
    "MSELoss",
    "Optimizer",
    "Parameter",
    "RMSprop",
    "SGD",
    "SequentialLR",
    "StepLR",
    "Trainer",
    "assert_gradients",
    "batches",
    "callbacks",
    "clip_grad_norm",
    "clip_grad_value",
    "cnn",
    "data",
    "datasets",
    "errors",
    "flatten_parameters",
    "functional",
    "gradcheck",
    "init",
    "is_grad_enabled",
    "load",
    "load_weights",
    "metrics",
    "mlp",
    "no_grad",
    "optim",
    "register",
    "resmlp",
    "registry",
    "save",
    "save_weights",
    "serialization",
]
__all__ += layers.__all__
