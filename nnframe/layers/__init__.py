"""Layer classes: Layer, Linear, convolutions, activations, regularisation, containers."""

from nnframe.layers.activations import (
    ELU,
    GELU,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from nnframe.layers.base import Layer, layer
from nnframe.layers.branches import Concat, Residual
from nnframe.layers.containers import Sequential
from nnframe.layers.conv import Conv1d, Conv2d
from nnframe.layers.embedding import Embedding
from nnframe.layers.hooks import HookHandle
from nnframe.layers.linear import Linear
from nnframe.layers.normalization import LayerNorm
from nnframe.layers.pooling import AvgPool1d, AvgPool2d, GlobalAvgPool2d, MaxPool1d, MaxPool2d
from nnframe.layers.regularization import BatchNorm1d, BatchNorm2d, Dropout
from nnframe.layers.reshape import Flatten
from nnframe.layers.spec import InputSpec
from nnframe.layers.summary import Summary

__all__ = [
    "AvgPool1d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Concat",
    "Conv1d",
    "Conv2d",
    "Dropout",
    "ELU",
    "Embedding",
    "Flatten",
    "GELU",
    "GlobalAvgPool2d",
    "HookHandle",
    "Identity",
    "InputSpec",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "MaxPool1d",
    "MaxPool2d",
    "ReLU",
    "Residual",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Summary",
    "Tanh",
    "layer",
]
