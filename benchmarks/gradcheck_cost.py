"""How long the gradient checker takes, so that the test suite stays fast.

``python -m benchmarks.gradcheck_cost`` times ``nnframe.gradcheck`` on a few small layers
(and ``nnframe.testing.check_layer`` on ``Linear``, when that module exists) and prints a
Markdown table: the median time per call, its min-max, the number of forward evaluations
central differences need, and what 100 calls cost (a hypothesis test with the default
``max_examples=100`` makes about that many).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import nnframe as nf

__all__ = ["CASES", "main", "time_call"]


def time_call(call: Callable[[], Any], seconds: float, min_repeats: int = 5) -> list[float]:
    """Run ``call`` once untimed, then at least ``min_repeats`` times and ``seconds`` long."""
    call()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_repeats or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return times


def _inputs(batch: int, features: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((batch, features))


def _evaluations(layer: nf.Layer, x: np.ndarray) -> int:
    """Forward passes of a central-difference check: two per input and parameter element."""
    return 2 * (x.size + sum(p.size for p in layer.parameters()))


def _gradcheck_case(make: Callable[[], nf.Layer], batch: int, features: int):
    def case() -> tuple[Callable[[], Any], int]:
        layer, x = make(), _inputs(batch, features)

        def call() -> None:
            report = nf.gradcheck(layer, x)
            if not report.ok:
                raise AssertionError(f"gradcheck failed on {layer!r}:\n{report}")

        return call, _evaluations(layer, x)

    return case


#: (description, factory of (call, forward evaluations)).
CASES: list[tuple[str, Callable[[], tuple[Callable[[], Any], int]]]] = [
    ("gradcheck Linear(8, 6), batch 16", _gradcheck_case(lambda: nf.Linear(8, 6, rng=0), 16, 8)),
    (
        "gradcheck Sequential(Linear(8, 6), Tanh, Linear(6, 4)), batch 16",
        _gradcheck_case(
            lambda: nf.Sequential(nf.Linear(8, 6, rng=0), nf.Tanh(), nf.Linear(6, 4, rng=1)),
            16,
            8,
        ),
    ),
    (
        "gradcheck mlp([8, 16, 8, 3]) (ReLU), batch 16",
        _gradcheck_case(lambda: nf.mlp([8, 16, 8, 3], rng=0), 16, 8),
    ),
]


def _check_layer_case() -> tuple[str, Callable[[], tuple[Callable[[], Any], int]]] | str:
    """The ``check_layer`` case, or why there is none."""
    try:
        testing = importlib.import_module("nnframe.testing")
    except ImportError:
        return "nnframe.testing does not exist (yet): check_layer not timed"
    check_layer = getattr(testing, "check_layer", None)
    if check_layer is None:
        return "nnframe.testing has no check_layer (yet): not timed"

    def case() -> tuple[Callable[[], Any], int]:
        return (lambda: check_layer(nf.Linear(8, 6, rng=0))), 0

    defaults = [
        f"{name}={parameter.default!r}"
        for name, parameter in inspect.signature(check_layer).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    ]
    return f"check_layer(Linear(8, 6)), defaults ({', '.join(defaults)})", case


def main(argv: list[str] | None = None) -> int:
    """Time every case and print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gradcheck_cost", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=1.0, help="timing per case (default 1)")
    args = parser.parse_args(argv)

    cases = list(CASES)
    notes = []
    extra = _check_layer_case()
    if isinstance(extra, str):
        notes.append(extra)
    else:
        cases.append(extra)

    rows = []
    for name, factory in cases:
        try:
            call, evaluations = factory()
            times = time_call(call, args.seconds)
        except Exception as error:  # report and go on: one broken case is no reason to stop
            rows.append(f"| {name} | error: {type(error).__name__}: {error} | | | | |")
            continue
        median = statistics.median(times)
        rows.append(
            f"| {name} | {median * 1e3:.2f} | {min(times) * 1e3:.2f}-{max(times) * 1e3:.2f} "
            f"| {evaluations or 'n/a'} | {len(times)} | {median * 100:.2f} |"
        )
    print(
        "| case | median ms/call | min-max ms | forward evaluations | calls timed "
        "| s per 100 calls |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))
    for note in notes:
        print(f"\n{note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
