"""``no_grad``: switch off cache storage for inference, per thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

__all__ = ["is_grad_enabled", "no_grad"]

class _State(threading.local):
    disabled_depth = 0  # per thread: how many no_grad blocks are open


_state = _State()


def is_grad_enabled() -> bool:
    """Return whether forward passes in this thread store caches for backward."""
    return _state.disabled_depth == 0


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Run forward passes without storing anything for backward.

    Inside the block ``Layer.save_for_backward`` stores nothing, so inference keeps no
    activations alive. The setting is per thread and nests. Also usable as a decorator.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> layer = nf.ReLU()
    >>> with nf.no_grad():
    ...     y = layer(np.ones((2, 3)))
    >>> layer.has_cache()
    False
    """
    _state.disabled_depth += 1
    try:
        yield
    finally:
        _state.disabled_depth -= 1
