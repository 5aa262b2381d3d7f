"""Layer classes: the base Layer, Linear, activations and containers."""

from nnframe.layers.activations import ReLU, Sigmoid, Tanh
from nnframe.layers.base import Layer, Summary, layer
from nnframe.layers.containers import Sequential
from nnframe.layers.linear import Linear

__all__ = ["Layer", "Linear", "ReLU", "Sequential", "Sigmoid", "Summary", "Tanh", "layer"]
