"""Embedding: a lookup table of learned vectors, indexed by integers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nnframe import init as initializers
from nnframe.checks import array_size, float_dtype, is_integer, positive_int
from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.layers.base import Layer
from nnframe.layers.config import check_config_keys
from nnframe.layers.registry import register
from nnframe.layers.spec import InputSpec
from nnframe.parameter import Parameter
from nnframe.rng import RNGLike, as_generator

__all__ = ["Embedding", "scatter_add_rows"]

_CONFIG_KEYS = ("num_embeddings", "embedding_dim", "padding_idx", "dtype")

# Elements per np.add.at call in scatter_add_rows: the flat indices of one chunk stay small
# (and in cache) however large the batch.
_CHUNK = 1 << 16


def scatter_add_rows(target: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> None:
    """Add ``rows[k]`` into ``target[indices[k]]`` for every ``k``, repeated indices summed.

    The same as ``np.add.at(target, indices, rows)``, three to four times faster: the rows
    are scattered as single elements of the flattened ``target`` (numpy's fast path of
    ``np.add.at`` is one-dimensional), in chunks of bounded size.

    Parameters
    ----------
    target : ndarray of shape (n, d)
        Written in place.
    indices : ndarray of int, shape (k,)
        Rows of ``target``, each in ``[0, n)``.
    rows : ndarray of shape (k, d)

    Examples
    --------
    >>> target = np.zeros((3, 2))
    >>> rows = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> scatter_add_rows(target, np.array([2, 0, 2]), rows)
    >>> target
    array([[3., 4.],
           [0., 0.],
           [6., 8.]])
    """
    if not target.flags.c_contiguous:  # no flat view to scatter into
        np.add.at(target, indices, rows)
        return
    width = target.shape[1]
    flat = target.reshape(-1)  # a view
    columns = np.arange(width)
    step = max(1, _CHUNK // max(width, 1))
    for start in range(0, indices.shape[0], step):
        chunk = indices[start : start + step].astype(np.intp, copy=False)  # no uint8 overflow
        positions = (chunk[:, None] * width + columns).reshape(-1)
        np.add.at(flat, positions, rows[start : start + step].reshape(-1))


@register
class Embedding(Layer):
    """A lookup table: each integer index selects one learned row.

    ``y = weight[x]``: integer input of any shape ``(batch, ...)`` gives output of shape
    ``(*x.shape, embedding_dim)`` in the layer's dtype. PyTorch's ``nn.Embedding``: same
    arguments, same ``weight`` layout.

    Parameters
    ----------
    num_embeddings : int
        Size of the table: valid indices are ``0 .. num_embeddings - 1``.
    embedding_dim : int
        Length of each row.
    padding_idx : int or None, default None
        A row that starts at zero and never receives a gradient (so training leaves it
        as it is), for padding positions in sequences of unequal length. Negative values
        count from the end, as in PyTorch (``-1`` is the last row); it is stored as the
        non-negative index.
    init : str, callable or None, default None
        Initialiser of the table from :mod:`nnframe.init` (by name or as a function
        ``init(shape, rng, dtype)``); None draws every entry from N(0, 1), as PyTorch does.
    rng : None, int or numpy.random.Generator
        Source of the initial table.
    dtype : float dtype, default numpy.float32
        Dtype of the table and of the output.

    Attributes
    ----------
    weight : Parameter of shape (num_embeddings, embedding_dim)

    Raises
    ------
    ArgumentTypeError, ArgumentError
        For sizes that are not positive ints, or a ``padding_idx`` that is not an int in
        ``[-num_embeddings, num_embeddings)``.

    Notes
    -----
    The input is integer indices, and integers are not differentiable: the layer is
    tagged ``differentiable_input = False``. Its ``backward`` adds the gradient of each
    output row into row ``x[...]`` of ``weight.grad`` (repeated indices add up) and
    returns None, even when an input gradient is asked for. So an Embedding goes first in
    a model; a layer placed before it would get no gradient. The input is checked before
    ``forward`` (see :class:`~nnframe.InputSpec`'s ``indices``): floats and bools raise
    ``DTypeError``, an index outside ``[0, num_embeddings)`` ``IndexOutOfRangeError``
    naming it and its position. The cache is the indices; a frozen ``weight``
    (``requires_grad = False``) makes ``backward`` do no work at all.

    With a ``padding_idx``, the gradient is on purpose not the derivative: the padding
    row's output does change with the row, but it gets no gradient. A finite-difference
    check (``check_layer``, ``gradcheck``) therefore reports that row whenever the input
    holds the padding index; check such a layer on inputs without it.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> layer = nf.Embedding(10, 3, padding_idx=0, rng=0)
    >>> layer
    Embedding(10, 3, padding_idx=0)
    >>> y = layer(np.array([[1, 2, 0], [4, 4, 9]]))
    >>> y.shape, y.dtype
    ((2, 3, 3), dtype('float32'))
    >>> layer.backward(np.ones_like(y)) is None
    True
    >>> layer.weight.grad[[0, 4]]
    array([[0., 0., 0.],
           [2., 2., 2.]], dtype=float32)
    """

    input_spec = InputSpec(indices="num_embeddings")
    differentiable_input = False

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        *,
        init: str | initializers.Initializer | None = None,
        rng: RNGLike = None,
        dtype: np.typing.DTypeLike = np.float32,
    ) -> None:
        super().__init__()
        count = positive_int(num_embeddings, "Embedding: num_embeddings")
        width = positive_int(embedding_dim, "Embedding: embedding_dim")
        padding = _padding_index(padding_idx, count)
        target = float_dtype(dtype, "Embedding: dtype")
        generator = as_generator(rng, name="Embedding: rng")
        shape = (count, width)
        where = f"Embedding({count}, {width})"
        if init is None:
            array_size(shape, np.dtype(np.float64), where)
            table = generator.standard_normal(shape).astype(target)
        else:
            table = initializers.draw(init, shape, generator, target, where)
        if padding is not None:
            table[padding] = 0
        self.num_embeddings = count
        self.embedding_dim = width
        self.padding_idx = padding
        self.dtype = target
        self.weight = Parameter(table)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(indices=x)
        return np.take(self.weight.value, x, axis=0)

    def backward(self, grad_y: np.ndarray) -> None:
        indices = self.saved("indices")
        weight = self.weight
        if not weight.requires_grad:
            return None
        grad = weight.grad
        padding = self.padding_idx
        kept = None if padding is None else grad[padding].copy()
        scatter_add_rows(grad, indices.reshape(-1), grad_y.reshape(-1, self.embedding_dim))
        if kept is not None:
            grad[padding] = kept  # the padding row gets no gradient
        return None

    def get_config(self) -> dict[str, Any]:
        """Return ``num_embeddings``, ``embedding_dim``, ``padding_idx`` and the dtype's name.

        ``init`` and ``rng`` are left out: a layer rebuilt from the config gets its
        table from the file it was loaded from.
        """
        return {
            "num_embeddings": self.num_embeddings,
            "embedding_dim": self.embedding_dim,
            "padding_idx": self.padding_idx,
            "dtype": self.dtype.name,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Embedding:
        """Build an Embedding from :meth:`get_config`'s keys (and only those)."""
        check_config_keys(cls, config, _CONFIG_KEYS)
        return cls(**config)

    def __repr__(self) -> str:
        extra = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"Embedding({self.num_embeddings}, {self.embedding_dim}{extra})"


def _padding_index(padding_idx: object, count: int) -> int | None:
    if padding_idx is None:
        return None
    if not is_integer(padding_idx):
        raise ArgumentTypeError(
            f"Embedding: padding_idx must be an int or None; got {padding_idx!r} of type "
            f"{type(padding_idx).__name__}"
        )
    index = int(padding_idx)
    if not -count <= index < count:
        raise ArgumentError(
            f"Embedding: padding_idx must be in [-{count}, {count}) for num_embeddings="
            f"{count}; got {index}"
        )
    return index % count
