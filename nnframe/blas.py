"""The matrix product layers use: ``np.dot``, robust to a spurious floating-point flag."""

from __future__ import annotations

import numpy as np

__all__ = ["dot"]


def dot(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Return ``np.dot(a, b, out=out)``, computed again if the first call reports an error.

    OpenBLAS's small matrix-vector kernels have been seen to leave the invalid-operation
    flag after a product of finite operands (SkylakeX, ``Linear(5 -> 1)`` on 114 rows,
    about once in thirty loaded runs), and ``np.dot`` reports the flag (numpy >= 2.3): under
    warnings-as-errors or ``np.errstate(invalid="raise")`` it would abort training. The
    spurious flag does not come back when the product is computed again; a real invalid
    operation (``inf * 0``) does, and is reported as before.

    Examples
    --------
    >>> dot(np.ones((2, 3)), np.ones((3, 1)))
    array([[3.],
           [3.]])
    """
    try:
        return np.dot(a, b, out=out)
    except (RuntimeWarning, FloatingPointError):
        return np.dot(a, b, out=out)
