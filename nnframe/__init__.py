"""nnframe: an explicit, object-oriented neural-network framework on numpy."""

from nnframe import errors, functional, init
from nnframe.grad_mode import is_grad_enabled, no_grad
from nnframe.gradcheck import GradcheckReport, assert_gradients, gradcheck
from nnframe.layers import Layer, Linear, ReLU, Sequential, Sigmoid, Summary, Tanh, layer
from nnframe.parameter import Buffer, Parameter

__version__ = "0.1.0"

__all__ = [
    "Buffer",
    "GradcheckReport",
    "Layer",
    "Linear",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Summary",
    "Tanh",
    "assert_gradients",
    "errors",
    "functional",
    "gradcheck",
    "init",
    "is_grad_enabled",
    "layer",
    "no_grad",
]
