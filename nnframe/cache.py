"""Cached: the forward-to-backward cache that layers and losses share."""

from __future__ import annotations

from typing import Any

from nnframe.errors import CacheMissError
from nnframe.grad_mode import is_grad_enabled

__all__ = ["Cached"]


class Cached:
    """Mixin holding what ``forward`` saves for ``backward``, with the policy in one place.

    :meth:`save_for_backward` stores nothing under ``nnframe.no_grad()``; :meth:`saved`
    releases the cache and raises ``CacheMissError`` naming the object when there is none.
    """

    # A class-level default, so that attrs subclasses (whose generated __init__ does not
    # call ours) start with no cache.
    _cache: dict[str, Any] | None = None

    def save_for_backward(self, **arrays: Any) -> None:
        """Cache arrays for ``backward``, replacing any older cache.

        Under ``nnframe.no_grad()`` nothing is stored and an older cache is left as it
        is: inference keeps no activations alive, and an evaluation under ``no_grad()``
        between a loss and its backward does not disturb the pass backward goes through.
        """
        if is_grad_enabled():
            self._cache = arrays

    def saved(self, *names: str) -> Any:
        """Fetch cached arrays by name and release the cache.

        Returns
        -------
        ndarray or tuple of ndarray
            One array for one name, a tuple in the order asked for several.

        Raises
        ------
        CacheMissError
            When there is no cache: backward without forward, forward under
            ``no_grad()``, or a second backward after one forward.
        """
        cache = self._cache
        if cache is None:
            raise CacheMissError(
                f"{self!r}: backward() needs the cache of a forward() pass and there is "
                "none; run forward() outside no_grad() before each backward()"
            )
        self._cache = None
        if len(names) == 1:
            return cache[names[0]]
        return tuple(cache[name] for name in names)
