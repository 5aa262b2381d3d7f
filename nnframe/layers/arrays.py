"""Arrays a layer reuses from one training step to the next: work arrays and results."""

from __future__ import annotations

import functools
import math
import sys
from typing import Any

import numpy as np

from nnframe.grad_mode import is_grad_enabled

__all__ = ["ReusedArrays", "held_elsewhere", "inverse_order", "new_array"]


@functools.lru_cache(maxsize=64)
def inverse_order(order: tuple[int, ...]) -> tuple[int, ...]:
    """Return the permutation that undoes ``order`` (``x.transpose(order)``'s inverse)."""
    return tuple(order.index(axis) for axis in range(len(order)))


def _references(arrays: dict[Any, np.ndarray], key: Any) -> tuple[np.ndarray | None, int]:
    # The array under ``key`` and its reference count, as sys.getrefcount sees it here.
    held = arrays.get(key)
    return held, (0 if held is None else sys.getrefcount(held))


def _references_of_a_free_array() -> int:
    # What _references counts for an array that only the dictionary holds. Measured
    # through the same code rather than assumed: interpreters differ in how many of the
    # references on their own stack they count (3.14 borrows some).
    probe = {"probe": np.empty(0)}
    return _references(probe, "probe")[1]


_FREE = _references_of_a_free_array()

# Results smaller than this (bytes) are made anew each time: cheaper than reusing them.
_SMALL = 64 * 1024


def held_elsewhere(arrays: dict[Any, np.ndarray], key: Any) -> tuple[np.ndarray | None, int]:
    """Return the array under ``key`` and how many references to it exist outside ``arrays``.

    A view of the array counts, as it refers to the array as its base; so does any
    variable, container or cache holding it or a view.

    Examples
    --------
    >>> arrays = {"y": np.zeros(3)}
    >>> held_elsewhere(arrays, "y")[1]
    0
    >>> view = arrays["y"][1:]
    >>> held_elsewhere(arrays, "y")[1]
    1
    """
    held, count = _references(arrays, key)
    return held, (count - _FREE if held is not None else 0)


def new_array(
    shape: tuple[int, ...],
    dtype: np.dtype,
    order: tuple[int, ...] | None,
    fill: float | None = None,
) -> np.ndarray:
    """Return a new array of ``shape``, its axes laid out in ``order``: empty, or ``fill``."""
    stored = shape if order is None else tuple(map(shape.__getitem__, order))
    array = np.empty(stored, dtype=dtype) if fill is None else np.full(stored, fill, dtype=dtype)
    return array if order is None else array.transpose(inverse_order(order))


class ReusedArrays:
    """Mixin: a layer's work arrays (:meth:`scratch`) and result arrays (:meth:`result_array`).

    A training step that allocates its large arrays afresh pays for page faults and cold
    caches; these two keep them from one step to the next, per layer and by name.
    """

    # Class-level defaults, so that attrs subclasses (whose generated __init__ does not
    # call ours) start with none.
    _scratch: dict[Any, np.ndarray] | None = None
    _results: dict[tuple[str, tuple[int, ...] | None], np.ndarray] | None = None

    def __getstate__(self) -> object:
        # Pickles (multiprocessing, joblib) carry the layer, not the arrays it reuses.
        state = super().__getstate__()
        names = ("_scratch", "_results")
        if isinstance(state, dict):
            return {key: value for key, value in state.items() if key not in names}
        if isinstance(state, tuple) and isinstance(state[0], dict):
            return ({k: v for k, v in state[0].items() if k not in names}, *state[1:])
        return state

    def release_arrays(self) -> None:
        """Let go of this layer's work and result arrays (they are made again when needed)."""
        self._scratch = self._results = None

    def scratch(
        self,
        name: str,
        shape: tuple[int, ...],
        dtype: np.dtype,
        order: tuple[int, ...] | None = None,
    ) -> np.ndarray:
        """Return this layer's work array ``name``, reused while shape and dtype stay the same.

        For results that never leave the layer; never return it. A new array is all
        zeros (a padded copy can leave its border alone); a reused one holds what was
        last written to it. ``order`` lays its axes out in memory as for
        :meth:`result_array` (like an input, so that elementwise work runs in order).
        Under ``nnframe.no_grad()`` every call gives a new array and nothing is kept:
        inference holds no memory afterwards, and threads predicting with one model never
        share a work array.
        """
        stored = shape if order is None else tuple(map(shape.__getitem__, order))
        if not is_grad_enabled():
            return new_array(shape, dtype, order, fill=0)
        arrays = self._scratch
        if arrays is None:
            arrays = self._scratch = {}
        key = name if order is None else (name, order)
        held = arrays.get(key)
        if held is None or held.shape != stored or held.dtype != dtype:
            held = arrays[key] = np.zeros(stored, dtype=dtype)
        return held if order is None else held.transpose(inverse_order(order))

    def result_array(
        self,
        name: str,
        shape: tuple[int, ...],
        dtype: np.dtype,
        order: tuple[int, ...] | None = None,
    ) -> np.ndarray:
        """Return an uninitialised array for a result that leaves the layer (an output).

        It is this layer's previous ``name`` array when nothing outside the layer holds
        it, or a view of it, any more (a training step: the layer after it released its
        cache at backward), else a new one. So a step reuses memory that is warm in the
        cache and mapped, as a hand-written loop with preallocated buffers does, while
        every array a caller still holds stays its own. Under ``nnframe.no_grad()``, and
        for arrays under 64 KiB (which the allocator recycles without page faults, faster
        than the check), it is always a new array, kept by nobody.

        Parameters
        ----------
        name : str
            Which of the layer's results.
        shape, dtype
            Of the array returned.
        order : tuple of int, optional
            The axes from the outermost to the innermost in memory (``(0, 2, 3, 1)`` for
            channels-last images); C order by default. See
            :func:`nnframe.layers.geometry.memory_order`.
        """
        if not is_grad_enabled() or math.prod(shape) * dtype.itemsize < _SMALL:
            return new_array(shape, dtype, order)
        arrays = self._results
        if arrays is None:
            arrays = self._results = {}
        key = (name, order)
        held, references = held_elsewhere(arrays, key)
        stored = shape if order is None else tuple(map(shape.__getitem__, order))
        if held is None or references or held.shape != stored or held.dtype != dtype:
            held = arrays[key] = np.empty(stored, dtype=dtype)
        return held if order is None else held.transpose(inverse_order(order))
