"""Where a training step spends its time: nnframe's phases next to the numpy reference's.

``python -m benchmarks.breakdown [CONFIG ...]`` runs nnframe's step one layer at a time
(``optimizer.zero_grad``, each layer's ``forward``, the loss, its ``backward``, each
layer's ``backward``, ``optimizer.step``), and the hand-written numpy step of
:mod:`benchmarks.numpy_reference` one phase at a time, with one BLAS thread, and prints the
median time of each phase per step, so that an optimisation can go where the time goes.
Configurations are ids as in ``python -m benchmarks`` (default: a few representative
ones). The phases are timed inside one process, interleaved, so they compare with each
other; the absolute numbers come from ``python -m benchmarks``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from benchmarks.configs import (
    OPTIMIZER_SETTINGS,
    Config,
    all_configs,
    initial_parameters,
    make_batches,
)
from benchmarks.contenders import nnframe_parts
from benchmarks.numpy_reference import NumpyMLP

__all__ = ["DEFAULT_CONFIGS", "main", "nnframe_phases", "numpy_phases"]

DEFAULT_CONFIGS = (
    "mnist-mlp/b1/float32/sgd",
    "mnist-mlp/b64/float32/sgd",
    "mnist-mlp/b1024/float32/adam",
    "course-deep/b209/float32/sgd",
)

Phases = dict[str, float]


class _Clock:
    """Accumulates the time between successive ``tick(name)`` calls into ``phases``."""

    def __init__(self) -> None:
        self.phases: Phases = defaultdict(float)
        self.last = time.perf_counter()

    def start(self) -> None:
        self.last = time.perf_counter()

    def tick(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] += now - self.last
        self.last = now


def nnframe_phases(config: Config) -> Callable[[Any, Any, _Clock], None]:
    """A step of nnframe's public API, layer by layer, ticking the clock after each call."""
    model, loss_fn, optimizer = nnframe_parts(config, initial_parameters(config))
    layers = list(model)

    def step(x: Any, y: Any, clock: _Clock) -> None:
        clock.start()
        optimizer.zero_grad()
        clock.tick("zero_grad")
        for i, layer in enumerate(layers):
            x = layer.forward(x)
            clock.tick(f"forward  [{i}] {layer!r}")
        loss_fn(x, y)
        clock.tick(f"loss     {loss_fn!r}.forward")
        grad = loss_fn.backward()
        clock.tick(f"loss     {loss_fn!r}.backward")
        for i in range(len(layers) - 1, -1, -1):
            grad = layers[i].backward(grad, input_grad=i > 0)  # as a Sequential asks
            clock.tick(f"backward [{i}] {layers[i]!r}")
        optimizer.step()
        clock.tick(f"optimizer {type(optimizer).__name__}.step")

    return step


def numpy_phases(config: Config) -> Callable[[Any, Any, _Clock], None]:
    """The numpy reference step, phase by phase."""
    model = NumpyMLP(
        initial_parameters(config),
        config.head,
        config.batch,
        config.optimizer,
        OPTIMIZER_SETTINGS[config.optimizer],
    )

    def step(x: Any, y: Any, clock: _Clock) -> None:
        clock.start()
        z = model.forward(x)
        clock.tick("forward (all layers)")
        model.head_and_loss(z, y)
        clock.tick("head: loss and (p - y) / batch")
        model.backward(x)
        clock.tick("backward (all layers, no first-layer input gradient)")
        model.update()
        clock.tick(f"optimizer {config.optimizer} update")

    return step


def _measure(
    step: Callable[[Any, Any, _Clock], None], batches: list[Any], count: int
) -> list[Phases]:
    samples = []
    for k in range(count):
        clock = _Clock()
        step(*batches[k % len(batches)], clock)
        samples.append(dict(clock.phases))
    return samples


def _print_table(title: str, samples: list[Phases]) -> float:
    names = list(samples[0])
    medians = {name: statistics.median(s[name] for s in samples) for name in names}
    total = sum(medians.values())
    print(f"| {title} | ms/step | share |")
    print("| --- | ---: | ---: |")
    for name in names:
        print(f"| {name} | {medians[name] * 1e3:.4f} | {100 * medians[name] / total:.1f}% |")
    print(f"| total of the medians | {total * 1e3:.4f} | |")
    print()
    return total


def main(argv: list[str] | None = None) -> int:
    """Print the phase tables of each configuration."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.breakdown", description=__doc__.splitlines()[0]
    )
    parser.add_argument("configs", nargs="*", default=list(DEFAULT_CONFIGS), metavar="CONFIG")
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="timing per contender (default 1)"
    )
    args = parser.parse_args(argv)
    known = {config.id: config for config in all_configs()}
    unknown = [c for c in args.configs if c not in known]
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; e.g. {DEFAULT_CONFIGS[0]}")

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings threadpoolctl
        limits = None
        print("threadpoolctl is missing: set OPENBLAS_NUM_THREADS=1 yourself\n")
    else:
        limits = threadpool_limits(limits=1)

    for config_id in args.configs:
        config = known[config_id]
        batches = make_batches(config)
        steps = {"nnframe": nnframe_phases(config), "numpy": numpy_phases(config)}
        per_step = 0.0
        for step in steps.values():  # warm-up, and a first estimate of the step time
            t0 = time.perf_counter()
            for k in range(5):
                step(*batches[k % len(batches)], _Clock())
            per_step = max(per_step, (time.perf_counter() - t0) / 5)
        count = max(10, int(args.seconds / 2 / per_step))
        samples: dict[str, list[Phases]] = {name: [] for name in steps}
        for _ in range(2):  # interleaved halves, so a disturbance hits both
            for name, step in steps.items():
                samples[name] += _measure(step, batches, count)
        print(f"## {config_id} (1 BLAS thread, {2 * count} steps each)\n")
        totals = {name: _print_table(f"{name} phase", s) for name, s in samples.items()}
        print(f"nnframe / numpy step time: {totals['nnframe'] / totals['numpy']:.2f}\n")
    if limits is not None:
        limits.restore_original_limits()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
