"""The deep network application notebook: two_layer_model, L_layer_model and predict."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnframe.stepwise.deep_network import (
    L_model_backward,
    L_model_forward,
    compute_cost,
    initialize_parameters,
    linear_activation_forward,
    update_parameters,
)

__all__ = ["L_layer_model", "predict", "two_layer_model"]


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

        # Backward propagation from the course's dA2 = -(Y/A2 - (1-Y)/(1-A2)): over these
        # two caches, L_model_backward makes exactly the course's two calls,
        # linear_activation_backward(dA2, cache2, "sigmoid") then (dA1, cache1, "relu").
        grads = L_model_backward(A2, Y, [cache1, cache2])

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

