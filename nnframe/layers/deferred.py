"""Updates a forward pass makes only once the whole model's forward has succeeded.

A layer that changes its own state in ``forward`` (BatchNorm's running statistics) hands the
change to :func:`defer`. Inside a container's forward, which runs as a :class:`Transaction`,
the change waits for the outermost container's forward to return, and is dropped if it
raises: a model that refuses its input half-way leaves every layer as it was. Outside any
container the change happens at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

__all__ = ["Transaction", "defer"]


class _Open(threading.local):
    # The updates waiting for the outermost transaction running in this thread, or None.
    pending: list[Callable[[], None]] | None = None


_open = _Open()


def defer(update: Callable[[], None]) -> None:
    """Run ``update`` when the outermost running transaction ends well, or now if none runs.

    Examples
    --------
    >>> seen = []
    >>> with Transaction():
    ...     defer(lambda: seen.append("done"))
    ...     print(seen)
    []
    >>> seen
    ['done']
    """
    pending = _open.pending
    if pending is None:
        update()
    else:
        pending.append(update)


class Transaction:
    """A context in which deferred updates wait, and are dropped on an exception.

    Transactions nest: an inner one that raises drops only the updates deferred inside
    it; the outermost runs all that are left, in order, when it ends without one.

    Examples
    --------
    >>> seen = []
    >>> try:
    ...     with Transaction():
    ...         defer(lambda: seen.append("never"))
    ...         raise ValueError("refused")
    ... except ValueError:
    ...     pass
    >>> seen
    []
    """

    __slots__ = ("_mark", "_outermost")

    def __enter__(self) -> Transaction:
        pending = _open.pending
        self._outermost = pending is None
        if pending is None:
            pending = _open.pending = []
        self._mark = len(pending)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        pending = _open.pending
        assert pending is not None  # set by __enter__
        if kind is not None:
            del pending[self._mark :]
        if self._outermost:
            _open.pending = None
            if kind is None:
                for update in pending:
                    update()
