"""The bridge to nnframe's layers: the course's parameters to a Sequential and back."""

from __future__ import annotations

import numpy as np

from nnframe.errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from nnframe.layers import Layer, Linear, ReLU, Sequential, Sigmoid, Tanh

__all__ = ["from_sequential", "to_sequential"]


def _layer_count(parameters: dict[str, np.ndarray]) -> int:
    if not isinstance(parameters, dict):
        raise ArgumentTypeError(
            f"parameters must be a dict of 'W1', 'b1', ...; got {type(parameters).__name__}"
        )
    L = len(parameters) // 2
    expected = {f"{kind}{l}" for l in range(1, L + 1) for kind in "Wb"}  # noqa: E741
    if L == 0 or set(parameters) != expected:
        raise ArgumentError(
            "parameters must hold exactly 'W1', 'b1', ..., 'WL', 'bL'; "
            f"got keys {sorted(parameters)}"
        )
    return L


def to_sequential(
    parameters: dict[str, np.ndarray],
    hidden_activation: str | None = "relu",
    output_activation: str | None = "sigmoid",
) -> Sequential:
    """Build the framework model that computes L_model_forward with these parameters.

    ``Sequential(Linear, ReLU, ..., Linear, Sigmoid)``, one ``Linear`` per ``W``/``b``
    pair, each holding a copy of W as its ``weight`` and of ``b.ravel()`` as its ``bias``,
    in the arrays' own dtype. ``model(X.T).T`` equals ``L_model_forward(X, parameters)[0]``.

    Parameters
    ----------
    parameters : dict of str to ndarray
        The course's "W1", "b1", ..., "WL", "bL": Wl of shape (n_l, n_{l-1}), bl of shape
        (n_l, 1), all of one float dtype per layer.
    hidden_activation : {"relu", "sigmoid", "tanh"} or None, default "relu"
        The activation after each hidden Linear; None for none.
    output_activation : {"sigmoid", "relu", "tanh"} or None, default "sigmoid"
        The activation after the last Linear; None leaves logits, for
        ``nnframe.BCEWithLogitsLoss``.

    Returns
    -------
    nnframe.Sequential
        The model; its arrays are copies, so training it leaves ``parameters`` unchanged.

    Raises
    ------
    ArgumentError
        For keys other than exactly "W1".."WL", "b1".."bL", or an unknown activation.
    ShapeError
        When a W or b has the wrong shape, or consecutive layers do not fit together.
    DTypeError
        When a W is not a float array, or a b's dtype differs from its W's.

    See Also
    --------
    from_sequential : The way back.
    nnframe.Sequential, nnframe.Linear, nnframe.ReLU, nnframe.Sigmoid

    Examples
    --------
    >>> parameters = {"W1": np.ones((3, 2)), "b1": np.zeros((3, 1)),
    ...               "W2": np.ones((1, 3)), "b2": np.zeros((1, 1))}
    >>> to_sequential(parameters)
    Sequential(
      (0): Linear(2 -> 3)
      (1): ReLU()
      (2): Linear(3 -> 1)
      (3): Sigmoid()
    )
    """
    activations: dict[str | None, type[Layer] | None] = {
        "relu": ReLU,
        "sigmoid": Sigmoid,
        "tanh": Tanh,
        None: None,
    }
    for name, value in (("hidden", hidden_activation), ("output", output_activation)):
        if value not in activations:
            raise ArgumentError(
                f"{name}_activation must be 'relu', 'sigmoid', 'tanh' or None; got {value!r}"
            )
    L = _layer_count(parameters)
    model = Sequential()
    n_prev = None
    for l in range(1, L + 1):  # noqa: E741 (the course's name)
        W = np.asarray(parameters[f"W{l}"])
        b = np.asarray(parameters[f"b{l}"])
        if W.ndim != 2 or (n_prev is not None and W.shape[1] != n_prev):
            raise ShapeError(
                f"to_sequential: W{l} must have shape (n_{l}, {n_prev or 'n_0'}); got {W.shape}"
            )
        if b.shape != (W.shape[0], 1):
            raise ShapeError(
                f"to_sequential: b{l} must have shape ({W.shape[0]}, 1) to match W{l} "
                f"{W.shape}; got {b.shape}"
            )
        if W.dtype.kind != "f" or b.dtype != W.dtype:
            raise DTypeError(
                f"to_sequential: W{l} and b{l} must share one float dtype; "
                f"got {W.dtype} and {b.dtype}"
            )
        n_prev = W.shape[0]
        # init="zeros" draws nothing: the weights are overwritten with W right away.
        linear = Linear(W.shape[1], W.shape[0], init="zeros", dtype=W.dtype)
        linear.weight.value[...] = W
        assert linear.bias is not None
        linear.bias.value[...] = b.ravel()
        model.append(linear)
        activation = activations[hidden_activation if l < L else output_activation]
        if activation is not None:
            model.append(activation())
    return model


def from_sequential(model: Layer) -> dict[str, np.ndarray]:
    """Return the course's parameters dictionary of a framework model.

    One "W" + str(l), "b" + str(l) pair per ``Linear`` layer, in order: a copy of
    ``weight.value`` and of ``bias.value`` as an (n_l, 1) column, in the layer's dtype.
    Layers without parameters (activations, dropout) are passed over.

    Parameters
    ----------
    model : nnframe.Layer
        Usually an ``nnframe.Sequential`` of ``Linear`` layers and activations.

    Returns
    -------
    parameters : dict of str to ndarray
        "W1", "b1", ..., "WL", "bL"; ``from_sequential(to_sequential(p))`` equals ``p``
        bit for bit.

    Raises
    ------
    ArgumentError
        When the model has no Linear layer, a Linear without a bias, or a layer with
        parameters that is not a Linear (the course's dictionary has no place for them).

    See Also
    --------
    to_sequential : The way there.
    nnframe.Layer.state_dict : The framework's own name-to-array mapping.

    Examples
    --------
    >>> import nnframe as nf
    >>> model = nf.Sequential(nf.Linear(2, 3, rng=0), nf.ReLU(), nf.Linear(3, 1, rng=0))
    >>> {name: p.shape for name, p in from_sequential(model).items()}
    {'W1': (3, 2), 'b1': (3, 1), 'W2': (1, 3), 'b2': (1, 1)}
    """
    if not isinstance(model, Layer):
        raise ArgumentTypeError(
            f"from_sequential takes an nnframe Layer; got {type(model).__name__}"
        )
    parameters: dict[str, np.ndarray] = {}
    L = 0
    for name, sub in model.named_layers():
        if isinstance(sub, Linear):
            if sub.bias is None:
                raise ArgumentError(
                    f"from_sequential: layer {name or '(model)'} {sub!r} has no bias; the "
                    "course's parameters always include b"
                )
            L += 1
            parameters[f"W{L}"] = sub.weight.value.copy()
            parameters[f"b{L}"] = sub.bias.value.reshape(-1, 1).copy()
        elif not isinstance(sub, Sequential) and any(True for _ in sub.parameters()):
            raise ArgumentError(
                f"from_sequential: layer {name or '(model)'} {sub!r} has parameters and is "
                "not a Linear; the course's parameters hold only W and b"
            )
    if L == 0:
        raise ArgumentError(f"from_sequential: {type(model).__name__} has no Linear layer")
    return parameters
