"""The course notebook "Building your Deep Neural Network: Step by Step", function for function.

Names, signatures, return values and caches are the course's, and so is its layout:
examples are columns, ``X.shape == (n_x, m)``, ``Y.shape == (1, m)``,
``b.shape == (n_l, 1)``. The arithmetic is :mod:`nnframe.functional`, the code the layer
classes run, so this module is the course's layout over the framework, not a second
implementation. ``docs/course.md`` maps each function to its framework object.

Only the initialisers (and the training functions, through them) touch numpy's global
random state, with the course's ``np.random.seed`` calls, so that the notebook's printed
numbers come out again; every other function leaves it alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

import numpy as np

from nnframe import functional as F
from nnframe.errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError

if TYPE_CHECKING:
    from nnframe.layers import Layer, Sequential

__all__ = [
    "L_layer_model",
    "L_model_backward",
    "L_model_forward",
    "compute_cost",
    "from_sequential",
    "initialize_parameters",
    "initialize_parameters_deep",
    "linear_activation_backward",
    "linear_activation_forward",
    "linear_backward",
    "linear_forward",
    "predict",
    "relu",
    "relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "to_sequential",
    "two_layer_model",
    "update_parameters",
]

LinearCache = tuple[np.ndarray, np.ndarray, np.ndarray]
"""``(A_prev, W, b)``, kept by :func:`linear_forward`."""
Cache = tuple[LinearCache, np.ndarray]
"""``(linear_cache, activation_cache)``, kept by :func:`linear_activation_forward`."""

_ACTIVATIONS = ("sigmoid", "relu")


def _as_float(Z: Any) -> np.ndarray:
    """``Z`` as an array that :mod:`nnframe.functional` can compute in (ints become float64)."""
    array = np.asarray(Z)
    return array if array.dtype.kind == "f" else array.astype(np.float64)


def _check_activation(activation: object) -> None:
    if activation not in _ACTIVATIONS:
        raise ArgumentError(f"activation must be 'sigmoid' or 'relu'; got {activation!r}")


# -- activations --------------------------------------------------------------------------


@overload
def sigmoid(Z: float) -> tuple[np.float64, float]: ...
@overload
def sigmoid(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
def sigmoid(Z: np.ndarray | float) -> tuple[Any, Any]:
    """Implements the sigmoid activation in numpy.

    Parameters
    ----------
    Z : ndarray of any shape, or a float
        The pre-activation.

    Returns
    -------
    A : ndarray, same shape as Z (a numpy float for a float Z)
        Output of sigmoid(z).
    cache : ndarray or float
        Returns Z as well (the same object), useful during backpropagation.

    See Also
    --------
    nnframe.Sigmoid : The layer, batch-first; it caches its output instead of Z.
    nnframe.functional.sigmoid : The arithmetic, shared with the layer.

    Notes
    -----
    The course's ``1/(1+np.exp(-Z))``, bit for bit, without its overflow warning for very
    negative Z (``exp(1000)`` is ``inf`` and ``1/(1+inf)`` is exactly 0.0).

    Examples
    --------
    >>> A, cache = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    >>> A
    array([0. , 0.5, 1. ])
    """
    A = F.sigmoid(_as_float(Z))
    return (A if isinstance(Z, np.ndarray) else A[()]), Z


@overload
def relu(Z: float) -> tuple[np.float64, float]: ...
@overload
def relu(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
def relu(Z: np.ndarray | float) -> tuple[Any, Any]:
    """Implement the RELU function.

    Parameters
    ----------
    Z : ndarray of any shape, or a float
        Output of the linear layer.

    Returns
    -------
    A : ndarray, same shape as Z (a numpy float for a float Z)
        Post-activation parameter.
    cache : ndarray or float
        Z itself (the course's docstring says "a python dictionary containing "A""; its
        code stores Z), stored for computing the backward pass efficiently.

    See Also
    --------
    nnframe.ReLU : The layer, batch-first.
    nnframe.functional.relu : The arithmetic, shared with the layer.

    Notes
    -----
    For an input of -0.0 the course's ``np.maximum(0, Z)`` returns -0.0 and this returns
    0.0; every other value is identical.

    Examples
    --------
    >>> A, cache = relu(np.array([[-2.0, 3.0]]))
    >>> A
    array([[0., 3.]])
    """
    A = F.relu(np.asarray(Z))
    return (A if isinstance(Z, np.ndarray) else A[()]), Z


def sigmoid_backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Implement the backward propagation for a single SIGMOID unit.

    Parameters
    ----------
    dA : ndarray of any shape
        Post-activation gradient.
    cache : ndarray, same shape as dA
        'Z' where we store for computing backward propagation efficiently.

    Returns
    -------
    dZ : ndarray, same shape as Z
        Gradient of the cost with respect to Z.

    See Also
    --------
    nnframe.Sigmoid.backward : The same step, batch-first, from the cached output.
    nnframe.functional.sigmoid_grad : The derivative ``s * (1 - s)``, shared with the layer.

    Notes
    -----
    Computed as ``dA * (s * (1 - s))``, the layer's order; the course's ``dA * s * (1 - s)``
    can differ from it in the last bit.

    Examples
    --------
    >>> sigmoid_backward(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    array([[0.25, 0.5 ]])
    """
    Z = _as_float(cache)
    dA = np.asarray(dA)
    if dA.shape != Z.shape:
        raise ShapeError(f"sigmoid_backward: dA has shape {dA.shape} and Z has shape {Z.shape}")
    return dA * F.sigmoid_grad(F.sigmoid(Z))


def relu_backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Implement the backward propagation for a single RELU unit.

    Parameters
    ----------
    dA : ndarray of any shape
        Post-activation gradient.
    cache : ndarray, same shape as dA
        'Z' where we store for computing backward propagation efficiently.

    Returns
    -------
    dZ : ndarray, same shape as Z
        Gradient of the cost with respect to Z: dA where Z > 0, else 0.

    See Also
    --------
    nnframe.ReLU.backward : The same step, batch-first.
    nnframe.functional.relu_grad : The 0/1 mask, shared with the layer.

    Notes
    -----
    The course copies dA and sets ``dZ[Z <= 0] = 0``; this multiplies by the layer's mask
    instead (much faster), then adds +0.0 so that a masked negative dA gives the course's
    0.0 rather than -0.0. The arrays are equal; the two differ only in the sign of a zero
    dA of -0.0 where Z > 0 (this gives 0.0), and where dA is inf or NaN and Z <= 0 (the
    course gives 0, the product NaN).

    Examples
    --------
    >>> relu_backward(np.array([[-1.0, 2.0, 3.0]]), np.array([[-0.5, 0.0, 4.0]]))
    array([[0., 0., 3.]])
    """
    Z = np.asarray(cache)
    dA = np.asarray(dA)
    if dA.shape != Z.shape:
        raise ShapeError(f"relu_backward: dA has shape {dA.shape} and Z has shape {Z.shape}")
    dZ = dA * F.relu_grad(_as_float(Z))
    # A masked negative dA gives -0.0, which prints as "-0."; adding +0.0 turns it into the
    # course's 0.0 and leaves every nonzero value as it is, so printed arrays match.
    dZ += 0.0
    return dZ


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


# -- the course's next step: training and prediction -------------------------------------


def _initialize_parameters_deep_scaled(
    layer_dims: list[int] | tuple[int, ...],
) -> dict[str, np.ndarray]:
    """The application step's initialiser: ``np.random.seed(1)``, ``randn / sqrt(n[l-1])``."""
    np.random.seed(1)
    parameters = {}
    for l in range(1, len(layer_dims)):  # noqa: E741 (the course's name)
        parameters["W" + str(l)] = np.random.randn(layer_dims[l], layer_dims[l - 1]) / np.sqrt(
            layer_dims[l - 1]
        )
        parameters["b" + str(l)] = np.zeros((layer_dims[l], 1))
    return parameters


def _record(costs: list[float], i: int, cost: Any, print_cost: bool) -> None:
    if i % 100 == 0:
        costs.append(float(cost))
        if print_cost:
            print(f"Cost after iteration {i}: {np.squeeze(cost)}")


def two_layer_model(
    X: np.ndarray,
    Y: np.ndarray,
    layers_dims: tuple[int, int, int] | list[int],
    learning_rate: float = 0.0075,
    num_iterations: int = 3000,
    print_cost: bool = False,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Implement a two-layer neural network: LINEAR->RELU->LINEAR->SIGMOID.

    Parameters
    ----------
    X : ndarray of shape (n_x, number of examples)
        Input data.
    Y : ndarray of shape (1, number of examples)
        True "label" vector (containing 1 if cat, 0 if non-cat).
    layers_dims : tuple of int
        Dimensions of the layers (n_x, n_h, n_y).
    learning_rate : float, default 0.0075
        Learning rate of the gradient descent update rule.
    num_iterations : int, default 3000
        Number of iterations of the optimization loop.
    print_cost : bool, default False
        If True, print "Cost after iteration i: cost" every 100 iterations.

    Returns
    -------
    parameters : dict of str to ndarray
        A dictionary containing W1, W2, b1, and b2.
    costs : list of float
        The cost at iterations 0, 100, 200, ...

    See Also
    --------
    nnframe.Sequential, nnframe.BCELoss, nnframe.optim.SGD : The same loop with framework
        objects: forward, loss, backward, ``step()``, ``zero_grad()``.

    Notes
    -----
    The weights start from :func:`initialize_parameters`, which calls
    ``np.random.seed(1)`` and draws the two weight matrices from numpy's global random
    state: after the call the global state is exactly what that leaves, and nothing else
    in the loop draws from it. Full-batch gradient descent; the gradients come from the
    course's unclipped dAL (see :func:`L_model_backward`).

    Examples
    --------
    >>> X = np.array([[0.0, 1.0, 2.0, 3.0]])
    >>> Y = np.array([[0, 0, 1, 1]])
    >>> parameters, costs = two_layer_model(X, Y, (1, 2, 1), num_iterations=200)
    >>> len(costs), costs[1] < costs[0]
    (2, True)
    """
    n_x, n_h, n_y = layers_dims
    costs: list[float] = []
    parameters = initialize_parameters(n_x, n_h, n_y)
    W1, b1, W2, b2 = parameters["W1"], parameters["b1"], parameters["W2"], parameters["b2"]

    for i in range(num_iterations):
        # Forward propagation: LINEAR -> RELU -> LINEAR -> SIGMOID.
        A1, cache1 = linear_activation_forward(X, W1, b1, activation="relu")
        A2, cache2 = linear_activation_forward(A1, W2, b2, activation="sigmoid")
        cost = compute_cost(A2, Y)

        # Backward propagation, from the course's dA2.
        dA2 = _dAL(A2, Y)
        dA1, dW2, db2 = linear_activation_backward(dA2, cache2, activation="sigmoid")
        _, dW1, db1 = linear_activation_backward(dA1, cache1, activation="relu")
        grads = {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}

        parameters = update_parameters(parameters, grads, learning_rate)
        W1, b1, W2, b2 = parameters["W1"], parameters["b1"], parameters["W2"], parameters["b2"]
        _record(costs, i, cost, print_cost)

    return parameters, costs


def L_layer_model(
    X: np.ndarray,
    Y: np.ndarray,
    layers_dims: list[int] | tuple[int, ...],
    learning_rate: float = 0.0075,
    num_iterations: int = 3000,
    print_cost: bool = False,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Implement a L-layer neural network: [LINEAR->RELU]*(L-1)->LINEAR->SIGMOID.

    Parameters
    ----------
    X : ndarray of shape (n_x, number of examples)
        Data.
    Y : ndarray of shape (1, number of examples)
        True "label" vector (containing 0 if cat, 1 if non-cat).
    layers_dims : list of int
        List containing the input size and each layer size, of length (number of layers + 1).
    learning_rate : float, default 0.0075
        Learning rate of the gradient descent update rule.
    num_iterations : int, default 3000
        Number of iterations of the optimization loop.
    print_cost : bool, default False
        If True, it prints the cost every 100 steps.

    Returns
    -------
    parameters : dict of str to ndarray
        Parameters learnt by the model. They can then be used to predict.
    costs : list of float
        The cost at iterations 0, 100, 200, ...

    See Also
    --------
    nnframe.Sequential, nnframe.BCELoss, nnframe.optim.SGD : The same loop with framework
        objects.

    Notes
    -----
    As in the course's application step, the weights start as
    ``np.random.randn(n[l], n[l-1]) / np.sqrt(n[l-1])`` after ``np.random.seed(1)``, not
    from :func:`initialize_parameters_deep` (whose factor 0.01 stalls deep networks): after
    the call numpy's global random state is what ``np.random.seed(1)`` followed by those
    draws leaves, and nothing else in the loop draws from it.

    Examples
    --------
    >>> X = np.array([[0.0, 1.0, 2.0, 3.0]])
    >>> Y = np.array([[0, 0, 1, 1]])
    >>> parameters, costs = L_layer_model(X, Y, [1, 3, 1], learning_rate=0.1, num_iterations=200)
    >>> len(costs), costs[1] < costs[0]
    (2, True)
    """
    costs: list[float] = []
    parameters = _initialize_parameters_deep_scaled(layers_dims)

    for i in range(num_iterations):
        AL, caches = L_model_forward(X, parameters)
        cost = compute_cost(AL, Y)
        grads = L_model_backward(AL, Y, caches)
        parameters = update_parameters(parameters, grads, learning_rate)
        _record(costs, i, cost, print_cost)

    return parameters, costs


def predict(X: np.ndarray, parameters: dict[str, np.ndarray]) -> np.ndarray:
    """Predict the results of a L-layer neural network.

    Parameters
    ----------
    X : ndarray of shape (n_x, number of examples)
        Data set of examples you would like to label.
    parameters : dict of str to ndarray
        Parameters of the trained model.

    Returns
    -------
    p : ndarray of shape (1, number of examples)
        Predictions for the given dataset X: 1.0 where AL > 0.5, else 0.0.

    See Also
    --------
    nnframe.Sequential : ``model(X.T).T > 0.5`` under ``nnframe.no_grad()``.

    Examples
    --------
    >>> parameters = {"W1": np.array([[1.0]]), "b1": np.array([[0.0]])}
    >>> predict(np.array([[-2.0, 0.0, 3.0]]), parameters)
    array([[0., 0., 1.]])
    """
    AL, _ = L_model_forward(X, parameters)
    return (AL > 0.5).astype(np.float64)


# -- the bridge to the framework ---------------------------------------------------------


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
    from nnframe.layers import Linear, ReLU, Sequential, Sigmoid, Tanh

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
    from nnframe.layers import Layer, Linear, Sequential

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
