"""Independent implementations of the published update rules, written from the formulas.

Each function takes the initial parameter values and, for every step, the list of
gradients, and returns the parameter values after the last step. They use plain numpy
and loops, never nnframe, and make new arrays at every step.
"""

from __future__ import annotations

import numpy as np

Arrays = list[np.ndarray]


def sgd(
    params: Arrays,
    grads: list[Arrays],
    *,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> Arrays:
    """torch.optim.SGD's documented algorithm (the buffer is g itself at step 1)."""
    params = [p.copy() for p in params]
    buffers: Arrays = [np.zeros_like(p) for p in params]
    for t, step_grads in enumerate(grads, start=1):
        for i, grad in enumerate(step_grads):
            g = grad + weight_decay * params[i]
            if momentum != 0.0:
                if t == 1:
                    buffers[i] = g
                else:
                    buffers[i] = momentum * buffers[i] + (1.0 - dampening) * g
                g = g + momentum * buffers[i] if nesterov else buffers[i]
            params[i] = params[i] - lr * g
    return params


def course_momentum(
    params: Arrays, grads: list[Arrays], *, learning_rate: float, beta: float
) -> Arrays:
    """The course's momentum: v = beta * v + (1 - beta) * dW from v = 0; W -= lr * v."""
    params = [p.copy() for p in params]
    velocities: Arrays = [np.zeros_like(p) for p in params]
    for step_grads in grads:
        for i, dW in enumerate(step_grads):
            velocities[i] = beta * velocities[i] + (1.0 - beta) * dW
            params[i] = params[i] - learning_rate * velocities[i]
    return params


def rmsprop(
    params: Arrays,
    grads: list[Arrays],
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
) -> Arrays:
    """torch.optim.RMSprop's documented algorithm."""
    params = [p.copy() for p in params]
    square_avg: Arrays = [np.zeros_like(p) for p in params]
    grad_avg: Arrays = [np.zeros_like(p) for p in params]
    buffers: Arrays = [np.zeros_like(p) for p in params]
    for step_grads in grads:
        for i, grad in enumerate(step_grads):
            g = grad + weight_decay * params[i]
            square_avg[i] = alpha * square_avg[i] + (1.0 - alpha) * g**2
            if centered:
                grad_avg[i] = alpha * grad_avg[i] + (1.0 - alpha) * g
                denominator = np.sqrt(square_avg[i] - grad_avg[i] ** 2) + eps
            else:
                denominator = np.sqrt(square_avg[i]) + eps
            if momentum > 0.0:
                buffers[i] = momentum * buffers[i] + g / denominator
                params[i] = params[i] - lr * buffers[i]
            else:
                params[i] = params[i] - lr * g / denominator
    return params


def adam(
    params: Arrays,
    grads: list[Arrays],
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float = 0.0,
) -> Arrays:
    """Kingma and Ba's algorithm 1, with L2 weight decay added to the gradient."""
    beta1, beta2 = betas
    params = [p.copy() for p in params]
    m: Arrays = [np.zeros_like(p) for p in params]
    v: Arrays = [np.zeros_like(p) for p in params]
    for t, step_grads in enumerate(grads, start=1):
        for i, grad in enumerate(step_grads):
            g = grad + weight_decay * params[i]
            m[i] = beta1 * m[i] + (1.0 - beta1) * g
            v[i] = beta2 * v[i] + (1.0 - beta2) * g * g
            m_hat = m[i] / (1.0 - beta1**t)
            v_hat = v[i] / (1.0 - beta2**t)
            params[i] = params[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return params


def adamw(
    params: Arrays,
    grads: list[Arrays],
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
) -> Arrays:
    """Loshchilov and Hutter's AdamW as PyTorch writes it: p *= 1 - lr * wd, then Adam."""
    beta1, beta2 = betas
    params = [p.copy() for p in params]
    m: Arrays = [np.zeros_like(p) for p in params]
    v: Arrays = [np.zeros_like(p) for p in params]
    for t, step_grads in enumerate(grads, start=1):
        for i, g in enumerate(step_grads):
            params[i] = params[i] * (1.0 - lr * weight_decay)
            m[i] = beta1 * m[i] + (1.0 - beta1) * g
            v[i] = beta2 * v[i] + (1.0 - beta2) * g * g
            m_hat = m[i] / (1.0 - beta1**t)
            v_hat = v[i] / (1.0 - beta2**t)
            params[i] = params[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return params
