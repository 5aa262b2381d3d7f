"""In-place vector kernels for optimizer updates: BLAS where it applies, numpy otherwise.

An update such as ``p -= lr * b`` takes numpy two passes over memory (the product into a
work array, then the subtraction) and two ufunc calls; BLAS's ``axpy`` takes one pass
and one call, at a quarter of a ufunc call's overhead. For the parameters of a small model
trained one example at a time, the update is about half of the step, and these passes are
most of it.

BLAS applies to float32 and float64 arrays that are C-contiguous and aligned (every array
nnframe allocates is); anything else, such as a float16 model or a strided view, takes
the numpy path. The two paths agree to rounding: BLAS may use a fused multiply-add, so
``add_scaled`` can differ from the numpy path in the last bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["add_scaled", "scale"]

# dtype -> (axpy, scal), filled on first use: importing scipy.linalg takes about 0.1 s,
# which ``import nnframe`` should not pay. Native-endian float32 and float64 only.
_BLAS: dict[np.dtype, tuple[Callable[..., Any], Callable[..., Any]]] = {}


def _kernels(dtype: np.dtype) -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    if not _BLAS:
        from scipy.linalg import blas

        _BLAS[np.dtype(np.float32)] = (blas.saxpy, blas.sscal)
        _BLAS[np.dtype(np.float64)] = (blas.daxpy, blas.dscal)
    return _BLAS.get(dtype)


def _writable_in_place(array: np.ndarray) -> bool:
    # f2py writes into read-only arrays without complaint: numpy must raise instead.
    flags = array.flags
    return flags.c_contiguous and flags.writeable


def scale(x: np.ndarray, alpha: float) -> None:
    """``x *= alpha`` in place (BLAS ``scal``)."""
    kernels = _kernels(x.dtype)
    if kernels is not None and _writable_in_place(x):
        flat = x.ravel()  # a view, since x is contiguous
        # f2py hands back the array it was given when it could work in place; for an
        # unaligned one it worked on a copy, and numpy does the job below.
        if kernels[1](alpha, flat) is flat:
            return
    np.multiply(x, alpha, out=x)


def add_scaled(y: np.ndarray, alpha: float, x: np.ndarray, scratch: np.ndarray) -> None:
    """``y += alpha * x`` in place (BLAS ``axpy``), for ``x`` and ``y`` of one shape.

    ``scratch``, shaped like ``y``, holds ``alpha * x`` on the numpy path; it may be
    ``x`` itself when ``x`` may be overwritten.
    """
    kernels = _kernels(y.dtype)
    if kernels is not None and x.dtype == y.dtype and _writable_in_place(y):
        flat = y.ravel()
        if kernels[0](x.ravel(), flat, flat.size, alpha) is flat:
            return
    if alpha == 1.0:
        y += x
    else:
        y += np.multiply(x, alpha, out=scratch)
