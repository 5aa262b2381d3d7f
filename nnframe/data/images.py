"""Image data sets: checking an image shape, reshaping rows to images, how to standardise them.

A bundled image data set keeps each image as a row of pixels (``digits``: 64 features, the
8x8 pixels in C order); a convolution takes ``(batch, channels, height, width)``. These are
the checks and the reshape :class:`nnframe.data.datasets.Dataset` uses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from nnframe.checks import boolean
from nnframe.errors import ArgumentError, ArgumentTypeError, DataError, ShapeError

__all__ = ["STANDARDIZE_CHOICES", "as_images", "check_image_shape", "check_standardize"]

STANDARDIZE_CHOICES: tuple[str, ...] = ("feature", "channel")
"""The named ways to standardise: per feature (as True), or per image channel."""


def check_image_shape(shape: object, n_features: int, where: str) -> tuple[int, ...] | None:
    """Return ``shape`` when it is None or a tuple of positive ints of size ``n_features``.

    Raises
    ------
    ShapeError
        Otherwise, naming ``where``.

    Examples
    --------
    >>> check_image_shape((1, 8, 8), 64, "example")
    (1, 8, 8)
    """
    if shape is None:
        return None
    if (
        not isinstance(shape, tuple)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
        or int(np.prod(shape)) != n_features
    ):
        raise ShapeError(
            f"{where}: image_shape must be a tuple of positive ints holding the "
            f"{n_features} features; got {shape!r}"
        )
    return shape


def as_images(
    x: npt.ArrayLike, image_shape: tuple[int, ...] | None, where: str
) -> npt.NDArray[Any]:
    """Reshape rows ``(n, prod(image_shape))`` to images ``(n, *image_shape)``.

    Parameters
    ----------
    x : array_like of shape (n, n_features)
    image_shape : tuple of int or None
        None for a table, which raises.
    where : str
        Who asks, for the error message.

    Returns
    -------
    ndarray of shape (n, *image_shape)
        A view when numpy can make one; the values are not changed.

    Raises
    ------
    DataError
        If ``image_shape`` is None (the rows are not images).
    ShapeError
        If ``x`` is not 2-d with ``prod(image_shape)`` columns.

    Examples
    --------
    >>> import numpy as np
    >>> as_images(np.zeros((5, 64)), (1, 8, 8), "example").shape
    (5, 1, 8, 8)
    """
    if image_shape is None:
        raise DataError(f"{where}: is a table, not images (its image_shape is None)")
    array = np.asarray(x)
    size = int(np.prod(image_shape))
    if array.ndim != 2 or array.shape[1] != size:
        raise ShapeError(
            f"{where}: expected rows of shape (n, {size}) to make images of shape "
            f"{image_shape}; got shape {array.shape}"
        )
    return array.reshape(len(array), *image_shape)


def check_standardize(
    standardize: object, name: str, image_shape: tuple[int, ...] | None
) -> str | None:
    """Return how a loader standardises: ``"feature"``, ``"channel"`` or None (not at all).

    Parameters
    ----------
    standardize : bool or {"feature", "channel"}
        True is ``"feature"``; False is None.
    name : str
        The data set, for the error message.
    image_shape : tuple of int or None
        The data set's image shape: ``"channel"`` needs one.

    Raises
    ------
    ArgumentTypeError
        For anything but a bool or one of :data:`STANDARDIZE_CHOICES`.
    ArgumentError
        For ``"channel"`` on a table.

    Examples
    --------
    >>> check_standardize(True, "iris", None), check_standardize("channel", "digits", (1, 8, 8))
    ('feature', 'channel')
    """
    if isinstance(standardize, str):
        if standardize not in STANDARDIZE_CHOICES:
            raise ArgumentTypeError(
                f'datasets: standardize must be a bool, "feature" or "channel"; got '
                f"{standardize!r}"
            )
        if standardize == "channel" and image_shape is None:
            raise ArgumentError(
                f'datasets: standardize="channel" needs images; {name!r} is a table (use '
                "True for per-feature standardisation)"
            )
        return standardize
    return "feature" if boolean(standardize, "datasets: standardize") else None
