"""Optional: nnframe's optimizers, schedules and clipping against PyTorch, in float64."""

from __future__ import annotations

import numpy as np
import pytest

from nnframe import Parameter
from nnframe.optim import (
    SGD,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    RMSprop,
    StepLR,
    clip_grad_norm,
)

torch = pytest.importorskip("torch")

STEPS = 20
SHAPES = [(3, 4), (4,), ()]

CASES = {
    "SGD": (SGD, "SGD", {"lr": 0.1}),
    "SGD-momentum-dampening": (
        SGD,
        "SGD",
        {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01},
    ),
    "SGD-nesterov": (
        SGD,
        "SGD",
        {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1},
    ),
    "RMSprop": (RMSprop, "RMSprop", {"lr": 0.01}),
    "RMSprop-centered-momentum": (
        RMSprop,
        "RMSprop",
        {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.01},
    ),
    "Adam": (Adam, "Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}),
    "Adam-weight-decay": (Adam, "Adam", {"lr": 0.01, "weight_decay": 0.1}),
    "AdamW": (AdamW, "AdamW", {"lr": 0.01, "weight_decay": 0.1}),
}


@pytest.mark.parametrize("name", CASES)
def test_optimizer_matches_torch(name):
    ours_cls, torch_name, kwargs = CASES[name]
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(shape) for shape in SHAPES]
    ours = ours_cls([Parameter(v) for v in values], **kwargs)
    tensors = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    theirs = getattr(torch.optim, torch_name)(tensors, **kwargs)
    for _ in range(STEPS):
        grads = [rng.standard_normal(shape) for shape in SHAPES]
        for p, t, g in zip(ours.params, tensors, grads, strict=True):
            p.zero_grad()
            p.grad += g
            t.grad = torch.tensor(g, dtype=torch.float64)
        ours.step()
        theirs.step()
    for p, t in zip(ours.params, tensors, strict=True):
        np.testing.assert_allclose(p.value, t.detach().numpy(), rtol=1e-10, atol=1e-12)


SCHEDULES = {
    "StepLR": (StepLR, "StepLR", {"step_size": 3, "gamma": 0.5}),
    "ExponentialLR": (ExponentialLR, "ExponentialLR", {"gamma": 0.9}),
    "CosineAnnealingLR": (CosineAnnealingLR, "CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_matches_torch(name):
    ours_cls, torch_name, kwargs = SCHEDULES[name]
    ours = ours_cls(SGD([Parameter(np.zeros(1))], lr=0.1), **kwargs)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    theirs = getattr(torch.optim.lr_scheduler, torch_name)(optimizer, **kwargs)
    for _ in range(STEPS):
        assert ours.optimizer.lr == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-9)
        optimizer.step()
        ours.step()
        theirs.step()


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(0)
    grads = [10.0 * rng.standard_normal(shape) for shape in SHAPES]
    params = [Parameter(np.zeros(shape)) for shape in SHAPES]
    tensors = [torch.zeros(shape, dtype=torch.float64, requires_grad=True) for shape in SHAPES]
    for p, t, g in zip(params, tensors, grads, strict=True):
        p.grad += g
        t.grad = torch.tensor(g, dtype=torch.float64)
    norm = clip_grad_norm(params, 1.0)
    torch_norm = torch.nn.utils.clip_grad_norm_(tensors, 1.0)
    assert norm == pytest.approx(float(torch_norm), rel=1e-12)
    for p, t in zip(params, tensors, strict=True):
        # torch divides by norm + 1e-6, nnframe by the norm.
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-6)
