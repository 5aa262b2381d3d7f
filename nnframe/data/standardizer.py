"""Per-feature standardisation with statistics fitted once on the training rows.

:class:`Standardizer` is what :func:`nnframe.data.datasets.load` fits on a data set's training
split, and what a saved model's preprocessing record carries to prepare new rows the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from attrs import field, frozen

from nnframe.errors import ArgumentError, DTypeError, ShapeError

__all__ = ["Standardizer", "float_rows"]

FloatArray = npt.NDArray[np.floating[Any]]


def _vector(value: object) -> FloatArray:
    array = np.array(value, dtype=np.float64)  # a private copy: the statistics never alias
    if array.ndim != 1:
        raise ShapeError(
            f"Standardizer: expected a 1-d array of statistics; got shape {array.shape}"
        )
    return array


@frozen(eq=False)
class Standardizer:
    """Per-feature standardisation ``(x - mean) / scale`` with statistics fitted once.

    Parameters
    ----------
    mean : array_like of shape (n_features,)
        The per-feature mean of the rows it was fitted on.
    scale : array_like of shape (n_features,)
        The per-feature standard deviation of those rows, with 1 for constant features.

    Examples
    --------
    >>> import numpy as np
    >>> s = Standardizer.fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s
    Standardizer(n_features=2)
    >>> s.transform(np.array([[2.0, 5.0], [5.0, 6.0]]))
    array([[0., 0.],
           [3., 1.]])
    """

    mean: FloatArray = field(converter=_vector)
    scale: FloatArray = field(converter=_vector)

    def __attrs_post_init__(self) -> None:
        if self.mean.shape != self.scale.shape:
            raise ShapeError(
                f"Standardizer: mean has shape {self.mean.shape} but scale has shape "
                f"{self.scale.shape}"
            )
        if not (np.all(np.isfinite(self.scale)) and np.all(self.scale > 0)):
            raise ArgumentError("Standardizer: every scale must be finite and positive")

    @classmethod
    def fit(cls, x: npt.ArrayLike) -> Standardizer:
        """Fit the per-feature mean and standard deviation of ``x``.

        Parameters
        ----------
        x : array_like of shape (n, n_features)
            Numeric rows, at least one.

        Returns
        -------
        Standardizer

        Notes
        -----
        A feature is constant when its standard deviation is below ``1e-12`` times its
        magnitude (not only exactly zero: the standard deviation of a repeated 0.1 is about
        1e-17, and dividing rounding noise by it would blow it up). Constant features get
        scale 1, so they come out as zeros instead of NaN.
        """
        array = float_rows(x, "Standardizer.fit")
        if array.shape[0] == 0:
            raise ShapeError("Standardizer.fit: needs at least one row; got 0")
        mean = array.mean(axis=0)
        std = array.std(axis=0)
        constant = std <= 1e-12 * np.maximum(1.0, np.abs(mean))
        return cls(mean, np.where(constant, 1.0, std))

    @classmethod
    def fit_per_channel(cls, x: npt.ArrayLike, image_shape: tuple[int, ...]) -> Standardizer:
        """Fit one mean and one standard deviation per image channel, over all its pixels.

        torchvision's ``Normalize(mean, std)`` convention: every pixel of a channel is
        scaled alike, so the images keep their contrast (per-feature standardisation gives
        each pixel position its own scale, and a pixel that is nearly always blank an
        outsized one). The statistics are repeated over each channel's features, so the
        result is an ordinary per-feature :class:`Standardizer` and transforms rows.

        Parameters
        ----------
        x : array_like of shape (n, n_features)
            Rows of images flattened in C order, channels first.
        image_shape : tuple of int
            The shape of one image, ``(channels, ...)``, of size ``n_features``.

        Returns
        -------
        Standardizer

        Raises
        ------
        ShapeError
            If the rows are not images of ``image_shape``.

        Examples
        --------
        >>> import numpy as np
        >>> s = Standardizer.fit_per_channel(np.array([[0.0, 2.0], [4.0, 2.0]]), (1, 2))
        >>> s.mean, s.scale
        (array([2., 2.]), array([1.41421356, 1.41421356]))
        """
        array = float_rows(x, "Standardizer.fit_per_channel")
        size = int(np.prod(image_shape)) if len(image_shape) else 0
        if array.shape[0] == 0 or array.shape[1] != size or size == 0:
            raise ShapeError(
                f"Standardizer.fit_per_channel: expected at least one row of the "
                f"{size} pixels of an image of shape {image_shape}; got shape {array.shape}"
            )
        channels = array.reshape(array.shape[0], image_shape[0], -1)
        mean = channels.mean(axis=(0, 2))
        std = channels.std(axis=(0, 2))
        std = np.where(std <= 1e-12 * np.maximum(1.0, np.abs(mean)), 1.0, std)
        per_pixel = size // image_shape[0]
        return cls(np.repeat(mean, per_pixel), np.repeat(std, per_pixel))

    @property
    def n_features(self) -> int:
        """The number of features it was fitted on."""
        return int(self.mean.shape[0])

    def transform(self, x: npt.ArrayLike) -> FloatArray:
        """Standardise rows with the fitted statistics.

        Parameters
        ----------
        x : array_like of shape (n, n_features)

        Returns
        -------
        ndarray of shape (n, n_features), float64
            A new array; ``x`` is not modified.

        Raises
        ------
        ShapeError
            If ``x`` is not 2-d with ``n_features`` columns.
        DTypeError
            If ``x`` is not numeric.
        """
        return (self._check(x, "transform") - self.mean) / self.scale

    def inverse_transform(self, x: npt.ArrayLike) -> FloatArray:
        """Undo :meth:`transform`: ``x * scale + mean``, as float64."""
        return self._check(x, "inverse_transform") * self.scale + self.mean

    def _check(self, x: npt.ArrayLike, method: str) -> FloatArray:
        array = float_rows(x, f"Standardizer.{method}")
        if array.shape[1] != self.n_features:
            raise ShapeError(
                f"Standardizer.{method}: expected rows of shape (n, {self.n_features}); "
                f"got shape {array.shape}"
            )
        return array

    def __repr__(self) -> str:
        return f"Standardizer(n_features={self.n_features})"


def float_rows(x: npt.ArrayLike, owner: str) -> FloatArray:
    """Return ``x`` as a 2-d float64 array of rows, checked.

    Parameters
    ----------
    x : array_like of shape (n, n_features)
        Real numbers (floats, ints, unsigned ints or booleans).
    owner : str
        Who asks, for the error message (``"Standardizer.fit"``).

    Returns
    -------
    ndarray of shape (n, n_features), float64
        ``x`` itself when it already is a float64 array, else a converted copy.

    Raises
    ------
    DTypeError
        If ``x`` is not real numeric.
    ShapeError
        If ``x`` is not 2-d.

    Examples
    --------
    >>> float_rows([[1, 2], [3, 4]], "example")
    array([[1., 2.],
           [3., 4.]])
    """
    array = np.asarray(x)
    if array.dtype.kind not in "fiub":
        raise DTypeError(f"{owner}: expected a real numeric array; got dtype {array.dtype}")
    if array.ndim != 2:
        raise ShapeError(f"{owner}: expected a 2-d array (n, features); got shape {array.shape}")
    return array.astype(np.float64, copy=False)
