"""nnframe and PyTorch train identically: the same per-step losses to 1e-8 in float64.

``python -m benchmarks.torch_parity`` trains the same MLP twice, once with nnframe and once
with PyTorch: the same initial weights (nnframe's, copied into torch), the same loss, the
same optimizer settings and the same fixed order of mini-batches, for 100 steps in
float64. It prints the largest per-step loss difference of each setting with PASS or FAIL
(and, for information, the largest difference of the final weights), and exits with 1 if
any setting fails. Without PyTorch it says so and exits with 0.

The settings: digits (64 features, 10 classes) with a 64-32-10 ReLU MLP and softmax
cross-entropy; breast_cancer (30 features, 2 classes) with a 30-16-8-1 ReLU MLP, a Sigmoid
output and binary cross-entropy; each with SGD (momentum; Nesterov momentum and weight
decay) and Adam (plain; with weight decay).
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

import nnframe as nf

__all__ = ["SETTINGS", "Setting", "main", "run_setting"]

STEPS = 100
BATCH = 32
TOLERANCE = 1e-8


@dataclass(frozen=True)
class Setting:
    """One parity check: a data set, a model shape, a head and an optimizer."""

    name: str
    dataset: str
    dims: tuple[int, ...]
    head: str  # "softmax" (CrossEntropyLoss) or "sigmoid" (Sigmoid + BCELoss)
    optimizer: str  # "sgd" or "adam"
    options: dict[str, Any]


SETTINGS = [
    Setting(
        "digits SGD momentum",
        "digits",
        (64, 32, 10),
        "softmax",
        "sgd",
        {"lr": 0.05, "momentum": 0.9},
    ),
    Setting(
        "digits SGD nesterov + wd",
        "digits",
        (64, 32, 10),
        "softmax",
        "sgd",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
    ),
    Setting("digits Adam", "digits", (64, 32, 10), "softmax", "adam", {"lr": 1e-3}),
    Setting(
        "digits Adam + wd",
        "digits",
        (64, 32, 10),
        "softmax",
        "adam",
        {"lr": 1e-3, "betas": (0.8, 0.99), "weight_decay": 1e-2},
    ),
    Setting(
        "breast_cancer SGD momentum",
        "breast_cancer",
        (30, 16, 8, 1),
        "sigmoid",
        "sgd",
        {"lr": 0.05, "momentum": 0.9},
    ),
    Setting(
        "breast_cancer SGD nesterov + wd",
        "breast_cancer",
        (30, 16, 8, 1),
        "sigmoid",
        "sgd",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
    ),
    Setting("breast_cancer Adam", "breast_cancer", (30, 16, 8, 1), "sigmoid", "adam", {"lr": 1e-2}),
    Setting(
        "breast_cancer Adam + wd",
        "breast_cancer",
        (30, 16, 8, 1),
        "sigmoid",
        "adam",
        {"lr": 1e-2, "eps": 1e-7, "weight_decay": 1e-2},
    ),
]


def batch_order(n: int, steps: int, batch: int, seed: int = 0) -> Iterator[np.ndarray]:
    """Index arrays of ``steps`` mini-batches: shuffled epochs from a fixed seed, repeated."""
    rng = np.random.default_rng(seed)
    produced = 0
    while True:
        order = rng.permutation(n)
        for start in range(0, n, batch):
            if produced == steps:
                return
            yield order[start : start + batch]
            produced += 1


def _nnframe_trainer(
    setting: Setting, model: nf.Sequential
) -> Callable[[np.ndarray, np.ndarray], float]:
    loss_fn = nf.CrossEntropyLoss() if setting.head == "softmax" else nf.BCELoss()
    optimizer_class = nf.SGD if setting.optimizer == "sgd" else nf.Adam
    optimizer = optimizer_class(model.parameters(), **setting.options)

    def step(x: np.ndarray, y: np.ndarray) -> float:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        optimizer.step()
        return loss

    return step


def _torch_trainer(setting: Setting, model: nf.Sequential) -> tuple[Callable[..., float], Any]:
    """A torch copy of ``model`` (same weights) and its training step."""
    import torch

    layers: list[torch.nn.Module] = []
    for layer in model:
        if isinstance(layer, nf.Linear):
            linear = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.weight.value))
                linear.bias.copy_(torch.from_numpy(layer.bias.value))
            layers.append(linear)
        elif isinstance(layer, nf.ReLU):
            layers.append(torch.nn.ReLU())
        elif isinstance(layer, nf.Sigmoid):
            layers.append(torch.nn.Sigmoid())
        else:
            raise TypeError(f"no torch counterpart for {layer!r}")
    net = torch.nn.Sequential(*layers)
    loss_fn = torch.nn.CrossEntropyLoss() if setting.head == "softmax" else torch.nn.BCELoss()
    optimizer_class = torch.optim.SGD if setting.optimizer == "sgd" else torch.optim.Adam
    optimizer = optimizer_class(net.parameters(), **setting.options)

    def step(x: Any, y: Any) -> float:
        optimizer.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        optimizer.step()
        return float(loss.item())

    return step, net


def run_setting(setting: Setting) -> tuple[float, float]:
    """Train both for ``STEPS`` steps; return (max |loss diff|, max |final weight diff|)."""
    import torch

    data = nf.datasets.load(setting.dataset, dtype=np.float64, rng=0)
    x, y = data.x_train, data.y_train
    model = nf.mlp(
        list(setting.dims),
        output_activation="sigmoid" if setting.head == "sigmoid" else None,
        dtype=np.float64,
        rng=0,
    )
    torch_step, net = _torch_trainer(setting, model)
    nnframe_step = _nnframe_trainer(setting, model)
    x_torch = torch.from_numpy(x)
    if setting.head == "softmax":
        y_torch = torch.from_numpy(y)
    else:
        y_torch = torch.from_numpy(y.reshape(-1, 1).astype(np.float64))

    worst = 0.0
    for index in batch_order(len(x), STEPS, BATCH):
        ours = nnframe_step(x[index], y[index])
        theirs = torch_step(x_torch[index], y_torch[index])
        worst = max(worst, abs(ours - theirs))
    ours_final = [p.value for p in model.parameters()]
    theirs_final = [p.detach().numpy() for p in net.parameters()]
    weights = max(
        float(np.max(np.abs(a - b))) for a, b in zip(ours_final, theirs_final, strict=True)
    )
    return worst, weights


def main(argv: list[str] | None = None) -> int:
    """Run every setting, print the table, return 1 if any setting fails."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.torch_parity", description=__doc__.splitlines()[0]
    )
    parser.parse_args(argv)
    if importlib.util.find_spec("torch") is None:
        print('torch_parity: PyTorch is not installed; skipped (pip install -e ".[bench]")')
        return 0
    import torch

    torch.set_num_threads(1)
    print(
        f"nnframe {nf.__version__} vs PyTorch {torch.__version__}: float64, {STEPS} steps "
        f"of batch {BATCH}, same initial weights and batch order; tolerance {TOLERANCE:g}"
    )
    print()
    print("| setting | max abs loss diff | max abs final weight diff | result |")
    print("| --- | ---: | ---: | --- |")
    failed = False
    for setting in SETTINGS:
        loss_diff, weight_diff = run_setting(setting)
        ok = loss_diff <= TOLERANCE
        failed |= not ok
        print(
            f"| {setting.name} | {loss_diff:.2e} | {weight_diff:.2e} | {'PASS' if ok else 'FAIL'} |"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
