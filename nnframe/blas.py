"""Linear algebra kernels for layers and optimizers: matrix products and in-place updates.

``dot`` is the matrix product on BLAS for every shape, robust to a spurious
floating-point flag. ``axpy`` and ``axpby``
update an array in place: numpy has no fused multiply-add, so ``y += a * x`` costs it a
temporary as large as ``y`` and two passes over memory, which dominate an optimizer's step
on a large layer. For arrays of :data:`BLOCK_BYTES` and more they call the level-1 BLAS
routines of the very library numpy runs its matrix products on (the numpy wheel's bundled
OpenBLAS, found at import): one pass, no temporary. Smaller arrays, and every array when
that library is not found, take numpy, a block at a time.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["BLOCK_BYTES", "axpby", "axpy", "dot", "level1_library"]

#: Bytes of one block of the numpy path of :func:`axpy` and :func:`axpby` (16384 float32
#: numbers): the block's temporary stays in the cache with the slices it combines. Arrays
#: smaller than this take numpy even when BLAS is there: a call through ctypes costs more
#: than the pass it saves.
BLOCK_BYTES = 1 << 16


def dot(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Return the matrix product of 2-d ``a`` and ``b`` (``np.dot`` for other operands).

    Through ``np.matmul`` when both operands are matrices with every dimension above 1
    (numpy passes a transposed operand to BLAS as it is, where ``np.dot`` was measured
    8-25% slower for the gradients' products), and through ``np.dot`` otherwise: for a
    product with a vector (batch 1), where ``np.dot`` has less overhead, and for an outer
    product (inner dimension 1, a weight gradient at batch 1), where ``np.matmul`` leaves
    BLAS for a loop about five times slower.

    A product is computed again if the first call reports an error: OpenBLAS's small
    matrix-vector kernels have been seen to leave the invalid-operation flag after a
    product of finite operands (SkylakeX, ``Linear(5 -> 1)`` on 114 rows, about once in
    thirty loaded runs), and numpy (>= 2.3) reports the flag: under warnings-as-errors or
    ``np.errstate(invalid="raise")`` it would abort training. The spurious flag does not
    come back when the product is computed again; a real invalid operation (``inf * 0``)
    does, and is reported as before.

    Examples
    --------
    >>> dot(np.ones((2, 3)), np.ones((3, 1)))
    array([[3.],
           [3.]])
    """
    matrices = a.ndim == 2 and b.ndim == 2 and min(a.shape[0], a.shape[1], b.shape[1]) > 1
    product = np.matmul if matrices else np.dot
    try:
        return product(a, b, out=out)
    except (RuntimeWarning, FloatingPointError):
        return product(a, b, out=out)


_Kernel = Callable[..., None]


def _bundled_openblas() -> tuple[str, dict[tuple[str, np.dtype], _Kernel]]:
    """The numpy wheel's OpenBLAS and its ``axpy``/``axpby`` routines, or ``("", {})``."""
    package = Path(np.__file__).resolve().parent
    candidates = [*sorted((package.parent / "numpy.libs").glob("*openblas*"))]
    candidates += sorted((package / ".dylibs").glob("*openblas*"))
    # scipy-openblas names its symbols with a prefix, and with a suffix for 64-bit integers.
    for path in candidates:
        try:
            library = ctypes.CDLL(str(path))
        except OSError:
            continue
        for suffix, integer in (("64_", ctypes.c_int64), ("", ctypes.c_int)):
            kernels: dict[tuple[str, np.dtype], _Kernel] = {}
            for letter, dtype, real in (
                ("s", np.float32, ctypes.c_float),
                ("d", np.float64, ctypes.c_double),
            ):
                for name in ("axpy", "axpby"):
                    kernel = getattr(library, f"scipy_cblas_{letter}{name}{suffix}", None)
                    if kernel is None:
                        break
                    pointer = ctypes.c_void_p
                    if name == "axpy":  # n, alpha, x, incx, y, incy
                        kernel.argtypes = [integer, real, pointer, integer, pointer, integer]
                    else:  # n, alpha, x, incx, beta, y, incy
                        kernel.argtypes = [integer, real, pointer, integer, real, pointer, integer]
                    kernel.restype = None
                    kernels[name, np.dtype(dtype)] = kernel
            if len(kernels) == 4:
                return path.name, kernels
    return "", {}


_LIBRARY, _KERNELS = _bundled_openblas()


def level1_library() -> str:
    """Return the file name of the BLAS library :func:`axpy` calls, or ``""`` for numpy."""
    return _LIBRARY


def _kernel(name: str, x: np.ndarray, y: np.ndarray, *scalars: float) -> _Kernel | None:
    """The BLAS routine for ``x`` and ``y``, or None when they need the numpy path."""
    if y.nbytes < BLOCK_BYTES:
        return None  # a call through ctypes costs more than it saves
    if any(y.dtype.type(scalar) == 0 for scalar in scalars):  # 0 in y's precision
        return None  # BLAS skips a term scaled by 0, where numpy keeps its NaN and inf
    kernel = _KERNELS.get((name, y.dtype))
    if kernel is None or x.dtype != y.dtype or x.shape != y.shape:
        return None
    x_flags, y_flags = x.flags, y.flags
    contiguous = x_flags.c_contiguous and y_flags.c_contiguous
    return kernel if contiguous and x_flags.writeable and y_flags.writeable else None


def _address(array: np.ndarray) -> int:
    # Through the buffer protocol: several times faster than array.ctypes.data.
    return ctypes.addressof(ctypes.c_char.from_buffer(array))  # type: ignore[arg-type]


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> None:
    """Compute ``y += alpha * x`` in place.

    Through the BLAS routine ``axpy`` (one pass) for C-contiguous, writable float32 or
    float64 arrays of one shape and dtype and at least :data:`BLOCK_BYTES`; otherwise with
    numpy, ``y += np.multiply(x, alpha)`` a block of :data:`BLOCK_BYTES` at a time (one
    temporary of one block instead of one as large as ``y``). BLAS may fuse the multiply
    and the add (one rounding instead of two), so the two paths can differ in the last
    bit; each is deterministic.

    Parameters
    ----------
    alpha : float
    x : ndarray
        Same shape as ``y``; it must not overlap ``y`` unless it is ``y`` itself.
    y : ndarray
        Updated in place.

    Examples
    --------
    >>> y = np.ones(3)
    >>> axpy(-0.5, np.array([2.0, 4.0, 6.0]), y)
    >>> y
    array([ 0., -1., -2.])
    """
    if y.nbytes < BLOCK_BYTES:  # the common small case first
        y += np.multiply(x, alpha)
        return
    kernel = _kernel("axpy", x, y, alpha)
    if kernel is not None:
        kernel(y.size, alpha, _address(x), 1, _address(y), 1)
        return
    for x_part, y_part in _blocks(x, y):
        y_part += np.multiply(x_part, alpha)


def axpby(alpha: float, x: np.ndarray, beta: float, y: np.ndarray) -> None:
    """Compute ``y = alpha * x + beta * y`` in place, in one pass (see :func:`axpy`).

    Examples
    --------
    >>> y = np.ones(2)
    >>> axpby(1.0, np.array([1.0, 2.0]), 0.5, y)  # a momentum buffer's update
    >>> y
    array([1.5, 2.5])
    """
    kernel = _kernel("axpby", x, y, alpha, beta)
    if kernel is not None:
        kernel(y.size, alpha, _address(x), 1, beta, _address(y), 1)
        return
    for x_part, y_part in _blocks(x, y):
        y_part *= beta
        y_part += x_part if alpha == 1.0 else np.multiply(x_part, alpha)


def _blocks(x: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(x, y)`` in slices of :data:`BLOCK_BYTES` of ``y`` (whole if small or not contiguous)."""
    if y.nbytes <= BLOCK_BYTES or not (x.flags.c_contiguous and y.flags.c_contiguous):
        return [(x, y)]
    x, y = x.reshape(-1), y.reshape(-1)
    block = BLOCK_BYTES // y.itemsize
    return [(x[i : i + block], y[i : i + block]) for i in range(0, y.size, block)]
