"""Hypothesis strategies and small helpers shared by the project's own tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nnframe.testing.strategies import off_kinks


@st.composite
def batches(
    draw: st.DrawFn,
    *,
    features: int | None = None,
    max_batch: int = 64,
    max_features: int = 6,
    bound: float = 3.0,
    kinks: tuple[float, ...] = (),
) -> np.ndarray:
    """A float64 batch of shape (batch, features), values in [-bound, bound], off kinks."""
    batch = draw(st.integers(1, max_batch))
    width = features if features is not None else draw(st.integers(1, max_features))
    x = draw(
        arrays(
            np.float64,
            (batch, width),
            elements=st.floats(-bound, bound, allow_nan=False, allow_infinity=False),
        )
    )
    return off_kinks(x, kinks)
