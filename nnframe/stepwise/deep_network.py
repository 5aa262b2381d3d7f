"""Deep network, step by step: initialisation, forward and backward passes, cost, update."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnframe import functional as F
from nnframe.errors import ArgumentError, ShapeError
from nnframe.stepwise.deep_network_activations import (
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
)

__all__ = [
    "L_model_backward",
    "L_model_forward",
    "compute_cost",
    "initialize_parameters",
    "initialize_parameters_deep",
    "linear_activation_backward",
    "linear_activation_forward",
    "linear_backward",
    "linear_forward",
    "update_parameters",
]

LinearCache = tuple[np.ndarray, np.ndarray, np.ndarray]
"""``(A_prev, W, b)``, kept by :func:`linear_forward`."""
Cache = tuple[LinearCache, np.ndarray]
"""``(linear_cache, activation_cache)``, kept by :func:`linear_activation_forward`."""

_ACTIVATIONS = ("sigmoid", "relu")


def _check_activation(activation: object) -> None:
    if activation not in _ACTIVATIONS:
        raise ArgumentError(f"activation must be 'sigmoid' or 'relu'; got {activation!r}")


# -- initialisation -----------------------------------------------------------------------


def initialize_parameters(n_x: int, n_h: int, n_y: int) -> dict[str, np.ndarray]:
    """Initialise a 2-layer network: small random weights, zero biases.

    Seeds numpy's global random state with ``np.random.seed(1)`` and draws from it, as the
    course does, so that its printed arrays come out again.

    Parameters
    ----------
    n_x : int
        Size of the input layer.
    n_h : int
        Size of the hidden layer.
    n_y : int
        Size of the output layer.

    Returns
    -------
    parameters : dict of str to ndarray
        Python dictionary containing your parameters: W1, weight matrix of shape (n_h, n_x);
        b1, bias vector of shape (n_h, 1); W2, weight matrix of shape (n_y, n_h);
        b2, bias vector of shape (n_y, 1). Weights are ``randn * 0.01``, float64.

    See Also
    --------
    nnframe.Linear : Builds its own weights from its ``rng`` (He normal by default).
    nnframe.init : The framework's initialisers; none touches the global random state.

    Examples
    --------
    >>> parameters = initialize_parameters(3, 2, 1)
    >>> parameters["W2"]
    array([[ 0.01744812, -0.00761207]])
    """
    np.random.seed(1)

    W1 = np.random.randn(n_h, n_x) * 0.01
    b1 = np.zeros((n_h, 1))
    W2 = np.random.randn(n_y, n_h) * 0.01
    b2 = np.zeros((n_y, 1))

    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def initialize_parameters_deep(layer_dims: list[int] | tuple[int, ...]) -> dict[str, np.ndarray]:
    """Initialise an L-layer network: small random weights, zero biases.

    Seeds numpy's global random state with ``np.random.seed(3)`` and draws from it, as the
    course does, so that its printed arrays come out again.

    Parameters
    ----------
    layer_dims : list of int
        Python array (list) containing the dimensions of each layer in our network.

    Returns
    -------
    parameters : dict of str to ndarray
        Python dictionary containing your parameters "W1", "b1", ..., "WL", "bL": Wl, weight
        matrix of shape (layer_dims[l], layer_dims[l-1]); bl, bias vector of shape
        (layer_dims[l], 1). Weights are ``randn * 0.01``, float64.

    See Also
    --------
    nnframe.Sequential : A stack of ``nnframe.Linear`` layers, each with its own ``rng``.

    Notes
    -----
    The factor 0.01 makes the signal shrink layer by layer, and deep networks barely train
    from it; the course's application step (and :func:`L_layer_model`) scales by
    ``1/sqrt(layer_dims[l-1])`` instead, as nnframe's initialisers do.

    Examples
    --------
    >>> parameters = initialize_parameters_deep([2, 1])
    >>> parameters["W1"], parameters["b1"]
    (array([[0.01788628, 0.0043651 ]]), array([[0.]]))
    """
    np.random.seed(3)
    parameters = {}
    L = len(layer_dims)  # number of layers in the network

    for l in range(1, L):  # noqa: E741 (the course's name)
        parameters["W" + str(l)] = np.random.randn(layer_dims[l], layer_dims[l - 1]) * 0.01
        parameters["b" + str(l)] = np.zeros((layer_dims[l], 1))

    return parameters


# -- forward ------------------------------------------------------------------------------


def linear_forward(A: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, LinearCache]:
    """Implement the linear part of a layer's forward propagation: ``Z = W A + b``.

    Parameters
    ----------
    A : ndarray of shape (size of previous layer, number of examples)
        Activations from previous layer (or input data).
    W : ndarray of shape (size of current layer, size of previous layer)
        Weights matrix.
    b : ndarray of shape (size of the current layer, 1)
        Bias vector.

    Returns
    -------
    Z : ndarray of shape (size of current layer, number of examples)
        The input of the activation function, also called pre-activation parameter.
    cache : tuple
        A python tuple containing "A", "W" and "b"; stored for computing the backward pass
        efficiently.

    Raises
    ------
    ShapeError
        When the shapes do not fit together (the course asserts the shape of Z).

    See Also
    --------
    nnframe.Linear : The layer: ``y = x @ weight.T + bias`` with ``x = A.T``,
        ``weight = W``, ``bias = b.ravel()``, ``y = Z.T``.
    nnframe.functional.linear : The arithmetic, shared with the layer.

    Examples
    --------
    >>> Z, cache = linear_forward(np.array([[1.0, 2.0]]), np.array([[3.0]]), np.array([[1.0]]))
    >>> Z
    array([[4., 7.]])
    """
    A, W, b = np.asarray(A), np.asarray(W), np.asarray(b)
    if A.ndim != 2 or W.ndim != 2 or W.shape[1] != A.shape[0] or b.shape != (W.shape[0], 1):
        raise ShapeError(
            "linear_forward: expected A of shape (n_prev, m), W of shape (n, n_prev) and b "
            f"of shape (n, 1); got A {A.shape}, W {W.shape}, b {b.shape}"
        )
    # The course's np.dot(W, A) + b, computed batch-first as the Linear layer does.
    Z = F.linear(A.T, W, b.T).T
    cache = (A, W, b)
    return Z, cache


def linear_activation_forward(
    A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, activation: str
) -> tuple[np.ndarray, Cache]:
    """Implement the forward propagation for the LINEAR->ACTIVATION layer.

    Parameters
    ----------
    A_prev : ndarray of shape (size of previous layer, number of examples)
        Activations from previous layer (or input data).
    W : ndarray of shape (size of current layer, size of previous layer)
        Weights matrix.
    b : ndarray of shape (size of the current layer, 1)
        Bias vector.
    activation : {"sigmoid", "relu"}
        The activation to be used in this layer, stored as a text string.

    Returns
    -------
    A : ndarray of shape (size of current layer, number of examples)
        The output of the activation function, also called the post-activation value.
    cache : tuple
        A python tuple containing "linear_cache" and "activation_cache"; stored for
        computing the backward pass efficiently.

    Raises
    ------
    ArgumentError
        For an activation other than "sigmoid" or "relu".

    See Also
    --------
    nnframe.Sequential : ``Sequential(Linear(n_prev, n), ReLU())`` (or ``Sigmoid()``).

    Examples
    --------
    >>> A, cache = linear_activation_forward(
    ...     np.array([[1.0, -2.0]]), np.array([[1.0]]), np.array([[0.0]]), activation="relu")
    >>> A
    array([[1., 0.]])
    """
    _check_activation(activation)
    Z, linear_cache = linear_forward(A_prev, W, b)
    if activation == "sigmoid":
        A, activation_cache = sigmoid(Z)
    else:
        A, activation_cache = relu(Z)
    cache = (linear_cache, activation_cache)
    return A, cache


def L_model_forward(
    X: np.ndarray, parameters: dict[str, np.ndarray]
) -> tuple[np.ndarray, list[Cache]]:
    """Implement forward propagation for the [LINEAR->RELU]*(L-1)->LINEAR->SIGMOID computation.

    Parameters
    ----------
    X : ndarray of shape (input size, number of examples)
        Data.
    parameters : dict of str to ndarray
        Output of initialize_parameters_deep().

    Returns
    -------
    AL : ndarray of shape (1, number of examples)
        Last post-activation value.
    caches : list
        List of caches containing every cache of linear_activation_forward() (there are L
        of them, indexed from 0 to L-1).

    See Also
    --------
    to_sequential : The same network as an ``nnframe.Sequential``; ``model(X.T).T == AL``.

    Examples
    --------
    >>> parameters = {"W1": np.array([[1.0, -1.0]]), "b1": np.array([[0.0]])}
    >>> AL, caches = L_model_forward(np.array([[1.0], [1.0]]), parameters)
    >>> AL, len(caches)
    (array([[0.5]]), 1)
    """
    caches = []
    A = X
    L = len(parameters) // 2  # number of layers in the neural network

    # Implement [LINEAR -> RELU]*(L-1). Add "cache" to the "caches" list.
    for l in range(1, L):  # noqa: E741 (the course's name)
        A_prev = A
        A, cache = linear_activation_forward(
            A_prev, parameters["W" + str(l)], parameters["b" + str(l)], activation="relu"
        )
        caches.append(cache)

    # Implement LINEAR -> SIGMOID. Add "cache" to the "caches" list.
    AL, cache = linear_activation_forward(
        A, parameters["W" + str(L)], parameters["b" + str(L)], activation="sigmoid"
    )
    caches.append(cache)
    return AL, caches


# -- cost ---------------------------------------------------------------------------------


def compute_cost(AL: np.ndarray, Y: np.ndarray) -> Any:
    """Implement the cross-entropy cost.

    ``cost = -(1/m) * sum(Y * log(AL) + (1 - Y) * log(1 - AL))``

    Parameters
    ----------
    AL : ndarray of shape (1, number of examples)
        Probability vector corresponding to your label predictions.
    Y : ndarray of shape (1, number of examples)
        True "label" vector (for example: containing 0 if non-cat, 1 if cat).

    Returns
    -------
    cost : numpy float
        Cross-entropy cost (a 0-d numpy scalar, as ``np.squeeze`` leaves it).

    See Also
    --------
    nnframe.BCELoss : The same mean cost, batch-first (``BCELoss()(AL.T, Y.T)``), with
        probabilities clipped so that it stays finite.
    nnframe.BCEWithLogitsLoss : The stable path: the cost from Z, before the sigmoid.

    Notes
    -----
    The course's formula, unclipped: an AL of exactly 0 or 1 gives ``log(0)``, a
    divide-by-zero warning and an infinite (or, times a zero label, NaN) cost.

    Examples
    --------
    >>> compute_cost(np.array([[0.8, 0.9, 0.4]]), np.array([[1, 1, 1]]))
    np.float64(0.41493159961539694)
    """
    m = Y.shape[1]

    cost = (-1 / m) * np.sum(np.multiply(Y, np.log(AL)) + np.multiply(1 - Y, np.log(1 - AL)))

    # To make sure your cost's shape is what we expect (e.g. this turns [[17]] into 17).
    return np.squeeze(cost)


# -- backward -----------------------------------------------------------------------------


def _dAL(AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The course's ``dAL = -(Y/AL - (1-Y)/(1-AL))``, unclipped, in AL's dtype."""
    Y = np.asarray(Y).reshape(AL.shape)  # after this line, Y is the same shape as AL
    # Integer labels would turn float32 gradients into float64 (numpy's promotion);
    # casting them first keeps the parameters' dtype and changes no float64 value.
    if AL.dtype.kind == "f":
        Y = Y.astype(AL.dtype, copy=False)
    return -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))


def linear_backward(
    dZ: np.ndarray, cache: LinearCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Implement the linear portion of backward propagation for a single layer (layer l).

    ``dW = (1/m) dZ A_prev.T``, ``db = (1/m) sum(dZ, axis=1)``, ``dA_prev = W.T dZ``.

    Parameters
    ----------
    dZ : ndarray of shape (size of current layer, number of examples)
        Gradient of the cost with respect to the linear output (of current layer l).
    cache : tuple
        Tuple of values (A_prev, W, b) coming from the forward propagation in the current
        layer.

    Returns
    -------
    dA_prev : ndarray, same shape as A_prev
        Gradient of the cost with respect to the activation (of the previous layer l-1).
    dW : ndarray, same shape as W
        Gradient of the cost with respect to W (current layer l).
    db : ndarray, same shape as b
        Gradient of the cost with respect to b (current layer l).

    See Also
    --------
    nnframe.Linear.backward : The same step, batch-first; it adds ``grad_y.T @ x`` into
        ``weight.grad`` and never divides by the batch size (the loss does).
    nnframe.functional.linear_grad : The arithmetic, in the layer's layout.

    Notes
    -----
    The 1/m goes into dW and db only, so dA_prev (like dZ and dAL) is m times the
    gradient of the mean cost; ``docs/course.md`` shows how it compares with nnframe.

    Examples
    --------
    >>> cache = (np.array([[1.0, 2.0]]), np.array([[3.0]]), np.array([[0.0]]))
    >>> linear_backward(np.array([[1.0, 1.0]]), cache)
    (array([[3., 3.]]), array([[1.5]]), array([[1.]]))
    """
    A_prev, W, b = cache
    m = A_prev.shape[1]
    if dZ.shape != (W.shape[0], m):
        raise ShapeError(
            f"linear_backward: dZ must have shape {(W.shape[0], m)} (n, m); got {dZ.shape}"
        )
    grad_x, grad_weight, grad_bias = F.linear_grad(A_prev.T, W, dZ.T)

    dW = (1.0 / m) * grad_weight
    db = (1.0 / m) * grad_bias.reshape(b.shape)
    dA_prev = grad_x.T
    return dA_prev, dW, db


def linear_activation_backward(
    dA: np.ndarray, cache: Cache, activation: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Implement the backward propagation for the LINEAR->ACTIVATION layer.

    Parameters
    ----------
    dA : ndarray of shape (size of current layer, number of examples)
        Post-activation gradient for current layer l.
    cache : tuple
        Tuple of values (linear_cache, activation_cache) we store for computing backward
        propagation efficiently.
    activation : {"sigmoid", "relu"}
        The activation to be used in this layer, stored as a text string.

    Returns
    -------
    dA_prev : ndarray, same shape as A_prev
        Gradient of the cost with respect to the activation (of the previous layer l-1).
    dW : ndarray, same shape as W
        Gradient of the cost with respect to W (current layer l).
    db : ndarray, same shape as b
        Gradient of the cost with respect to b (current layer l).

    Raises
    ------
    ArgumentError
        For an activation other than "sigmoid" or "relu".

    See Also
    --------
    nnframe.Sequential.backward : ``Sequential(Linear(...), ReLU()).backward(grad_y)``.

    Examples
    --------
    >>> A, cache = linear_activation_forward(
    ...     np.array([[1.0, -2.0]]), np.array([[1.0]]), np.array([[0.0]]), activation="relu")
    >>> linear_activation_backward(np.array([[1.0, 1.0]]), cache, activation="relu")
    (array([[1., 0.]]), array([[0.5]]), array([[0.5]]))
    """
    _check_activation(activation)
    linear_cache, activation_cache = cache
    if activation == "relu":
        dZ = relu_backward(dA, activation_cache)
    else:
        dZ = sigmoid_backward(dA, activation_cache)
    return linear_backward(dZ, linear_cache)


def L_model_backward(AL: np.ndarray, Y: np.ndarray, caches: list[Cache]) -> dict[str, np.ndarray]:
    """Implement the backward propagation for the [LINEAR->RELU] * (L-1) -> LINEAR -> SIGMOID group.

    Starts, as the course does, from ``dAL = -(Y/AL - (1-Y)/(1-AL))``, the derivative of
    the cross-entropy cost (without its 1/m) with respect to AL.

    Parameters
    ----------
    AL : ndarray of shape (1, number of examples)
        Probability vector, output of the forward propagation (L_model_forward()).
    Y : ndarray of shape (1, number of examples)
        True "label" vector (containing 0 if non-cat, 1 if cat).
    caches : list
        List of caches containing every cache of linear_activation_forward() with "relu"
        (it's caches[l], for l in range(L-1) i.e l = 0...L-2) and the cache of
        linear_activation_forward() with "sigmoid" (it's caches[L-1]).

    Returns
    -------
    grads : dict of str to ndarray
        A dictionary with the gradients: grads["dA" + str(l)] for l = 0...L-1,
        grads["dW" + str(l)] and grads["db" + str(l)] for l = 1...L.

    See Also
    --------
    nnframe.Sequential.backward : The same pass, batch-first, from a loss's gradient.
    nnframe.BCELoss : Its ``backward()`` is this dAL divided by m, transposed, and clipped.

    Notes
    -----
    The formula is unclipped, so the course's own test cases (whose AL may not even be a
    probability) reproduce. It breaks where AL is exactly 0 or 1 (the division by zero
    warns and gives inf, then NaN), which float64 reaches for ``|Z| > 37`` and float32
    much sooner. nnframe's ``BCELoss`` (clipped) and ``BCEWithLogitsLoss`` are the stable
    path. dAL has no 1/m, so every ``dA`` here is m times the gradient of the mean cost.
    Y is cast to AL's dtype first, so a float32 network gets float32 gradients (for
    float64 this changes nothing).

    Examples
    --------
    >>> parameters = {"W1": np.array([[1.0]]), "b1": np.array([[0.0]])}
    >>> AL, caches = L_model_forward(np.array([[0.0, 0.0]]), parameters)
    >>> grads = L_model_backward(AL, np.array([[1, 0]]), caches)
    >>> sorted(grads), grads["db1"]
    (['dA0', 'dW1', 'db1'], array([[0.]]))
    """
    grads = {}
    L = len(caches)  # the number of layers

    # Initializing the backpropagation
    dAL = _dAL(AL, Y)

    # Lth layer (SIGMOID -> LINEAR) gradients.
    current_cache = caches[L - 1]
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = (
        linear_activation_backward(dAL, current_cache, activation="sigmoid")
    )

    # lth layer: (RELU -> LINEAR) gradients, for l = L-2 ... 0.
    for l in reversed(range(L - 1)):  # noqa: E741 (the course's name)
        current_cache = caches[l]
        dA_prev_temp, dW_temp, db_temp = linear_activation_backward(
            grads["dA" + str(l + 1)], current_cache, activation="relu"
        )
        grads["dA" + str(l)] = dA_prev_temp
        grads["dW" + str(l + 1)] = dW_temp
        grads["db" + str(l + 1)] = db_temp

    return grads


# -- update -------------------------------------------------------------------------------


def update_parameters(
    parameters: dict[str, np.ndarray], grads: dict[str, np.ndarray], learning_rate: float
) -> dict[str, np.ndarray]:
    """Update parameters using gradient descent: ``W = W - learning_rate * dW``.

    Parameters
    ----------
    parameters : dict of str to ndarray
        Python dictionary containing your parameters.
    grads : dict of str to ndarray
        Python dictionary containing your gradients, output of L_model_backward.
    learning_rate : float
        The step size alpha.

    Returns
    -------
    parameters : dict of str to ndarray
        Python dictionary containing your updated parameters: the same dictionary object,
        as in the course, with "W" + str(l) and "b" + str(l) bound to new arrays (the old
        arrays are left unchanged).

    See Also
    --------
    nnframe.optim.SGD : The optimiser: ``SGD(model.parameters(), lr=learning_rate).step()``
        updates every ``Parameter.value`` in place.

    Examples
    --------
    >>> parameters = {"W1": np.array([[1.0]]), "b1": np.array([[0.0]])}
    >>> grads = {"dW1": np.array([[2.0]]), "db1": np.array([[-1.0]])}
    >>> update_parameters(parameters, grads, 0.1)
    {'W1': array([[0.8]]), 'b1': array([[0.1]])}
    """
    L = len(parameters) // 2  # number of layers in the neural network

    # Update rule for each parameter.
    for l in range(L):  # noqa: E741 (the course's name)
        W, b = "W" + str(l + 1), "b" + str(l + 1)
        parameters[W] = parameters[W] - learning_rate * grads["d" + W]
        parameters[b] = parameters[b] - learning_rate * grads["d" + b]
    return parameters
