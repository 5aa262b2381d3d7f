"""The ``nnframe`` command line."""

from __future__ import annotations

import numpy as np

import nnframe as nf

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Print a small model's summary and a passing gradient check of it.

    Returns
    -------
    int
        The exit code: 0 when the gradient check passes.
    """
    model = nf.Sequential(
        nf.Linear(4, 8, rng=0), nf.Tanh(), nf.Linear(8, 3, rng=1), nf.Sigmoid()
    )
    print(model)
    print()
    print(model.summary(4))
    print()
    x = np.random.default_rng(2).standard_normal((5, 4))
    report = nf.gradcheck(model, x)
    print(report)
    return 0 if report.ok else 1
