"""Arrays a layer reuses from one training step to the next: work arrays and results."""

from __future__ import annotations

import functools
import sys

import numpy as np

__all__ = ["ReusedArrays", "inverse_order"]


@functools.lru_cache(maxsize=64)
def inverse_order(order: tuple[int, ...]) -> tuple[int, ...]:
    """Return the permutation that undoes ``order`` (``x.transpose(order)``'s inverse)."""
    return tuple(order.index(axis) for axis in range(len(order)))


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
        held = arrays.get(key)
        stored = shape if order is None else tuple(shape[axis] for axis in order)
        # Three references: the dictionary, ``held`` and getrefcount's argument. A view
        # of the array refers to it too, as its base.
        if (
            held is None
            or held.shape != stored
            or held.dtype != dtype
            or (sys.getrefcount(held) != 3)
        ):
            held = arrays[key] = np.empty(stored, dtype=dtype)
        return held if order is None else held.transpose(inverse_order(order))
