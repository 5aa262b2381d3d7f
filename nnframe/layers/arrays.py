"""Arrays a layer reuses from one training step to the next: work arrays and results."""

from __future__ import annotations

import functools
import sys
from typing import Any

import numpy as np

__all__ = ["ReusedArrays", "held_elsewhere", "inverse_order"]


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


class ReusedArrays:
    """Mixin: a layer's work arrays (:meth:`scratch`) and result arrays (:meth:`result_array`).

    A training step that allocates its large arrays afresh pays for page faults and cold
    caches; these two keep them from one step to the next, per layer and by name.
    """

    # Class-level defaults, so that attrs subclasses (whose generated __init__ does not
    # call ours) start with none.
    _scratch: dict[str, np.ndarray] | None = None
    _results: dict[tuple[str, tuple[int, ...] | None], np.ndarray] | None = None

    def scratch(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """Return this layer's work array ``name``, reused while shape and dtype stay the same.

        For results that never leave the layer; never return it. A new array is all
        zeros (a padded copy can leave its border alone); a reused one holds what was
        last written to it.
        """
        arrays = self._scratch
        if arrays is None:
            arrays = self._scratch = {}
        array = arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = arrays[name] = np.zeros(shape, dtype=dtype)
        return array

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
        every array a caller still holds stays its own.

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
        arrays = self._results
        if arrays is None:
            arrays = self._results = {}
        key = (name, order)
        held, references = held_elsewhere(arrays, key)
        stored = shape if order is None else tuple(map(shape.__getitem__, order))
        if held is None or references or held.shape != stored or held.dtype != dtype:
            held = arrays[key] = np.empty(stored, dtype=dtype)
        return held if order is None else held.transpose(inverse_order(order))
