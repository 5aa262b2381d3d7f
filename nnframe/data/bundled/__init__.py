"""The five small real data sets that ship inside nnframe, read from their ``.npz`` files.

Each ``<name>.npz`` beside this module holds ``x`` (float64 features), ``y`` (int64 class
indices, or float64 values for the regression set ``diabetes``), ``feature_names`` and, for
the classification sets, ``class_names`` (unicode strings), written by
``tools/bundle_datasets.py`` from the copies of the UCI data sets that scikit-learn
distributes (see ``README.md`` in this folder for sources and citations). They are read
with ``allow_pickle=False``: the files hold plain arrays, never objects.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from nnframe.errors import ArgumentError, DataError

__all__ = ["IMAGE_SHAPES", "NAMES", "REGRESSION", "read_bundled"]

NAMES: tuple[str, ...] = ("breast_cancer", "diabetes", "digits", "iris", "wine")
"""The bundled data sets, by name."""

REGRESSION: frozenset[str] = frozenset({"diabetes"})
"""The bundled data sets whose target is a real number (the others hold class labels)."""

IMAGE_SHAPES: dict[str, tuple[int, ...]] = {"digits": (1, 8, 8)}
"""The bundled data sets whose rows are images, and the shape of one image.

Channels first, as a convolution takes it: ``digits`` holds 8x8 grey images (one channel),
its 64 features the pixels row by row (``pixel_0_0`` .. ``pixel_7_7``). The other sets are
tables.
"""

_KEYS = frozenset({"x", "y", "feature_names", "class_names"})
_REGRESSION_KEYS = frozenset({"x", "y", "feature_names"})


def read_bundled(
    name: str,
) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[Any], tuple[str, ...], tuple[str, ...] | None
]:
    """Return the raw rows of a bundled data set, in the order scikit-learn gives them.

    Parameters
    ----------
    name : str
        One of :data:`NAMES`, exactly.

    Returns
    -------
    x : ndarray of shape (n_rows, n_features), float64
        The features, not standardised.
    y : ndarray of shape (n_rows,), int64 or float64
        Class indices ``0 .. n_classes - 1`` (int64), or the target values (float64) for
        a data set in :data:`REGRESSION`.
    feature_names : tuple of str
    class_names : tuple of str or None
        ``class_names[i]`` is the label of class index ``i``; None for regression.

    Raises
    ------
    ArgumentError
        If ``name`` is not one of :data:`NAMES`.
    DataError
        If the shipped file is missing or does not hold the four expected arrays (a broken
        installation).

    Examples
    --------
    >>> x, y, features, classes = read_bundled("iris")
    >>> x.shape, y.dtype, features[0], classes
    ((150, 4), dtype('int64'), 'sepal length (cm)', ('setosa', 'versicolor', 'virginica'))
    >>> x, y, features, classes = read_bundled("diabetes")
    >>> x.shape, y.dtype, features[:3], classes
    ((442, 10), dtype('float64'), ('age', 'sex', 'bmi'), None)
    """
    if name not in NAMES:
        raise ArgumentError(f"bundled: unknown data set {name!r}; expected one of {NAMES}")
    file = resources.files(__name__).joinpath(f"{name}.npz")
    where = f"bundled data set {name!r} ({file})"
    keys = _REGRESSION_KEYS if name in REGRESSION else _KEYS
    try:
        with file.open("rb") as handle, np.load(handle, allow_pickle=False) as archive:
            if set(archive.files) != keys:
                raise DataError(
                    f"{where}: holds {sorted(archive.files)}; expected {sorted(keys)}; "
                    f"reinstall nnframe"
                )
            arrays: dict[str, npt.NDArray[Any]] = {key: archive[key] for key in keys}
    except (OSError, ValueError) as error:
        raise DataError(f"{where}: cannot be read ({error}); reinstall nnframe") from error
    x, y, features = arrays["x"], arrays["y"], arrays["feature_names"]
    fits = (
        x.dtype == np.float64
        and x.ndim == 2
        and y.shape == (x.shape[0],)
        and features.shape == (x.shape[1],)
        and features.dtype.kind == "U"
    )
    if name in REGRESSION:
        if not fits or y.dtype != np.float64 or not np.isfinite(y).all():
            raise DataError(f"{where}: the arrays do not fit together; reinstall nnframe")
        return x, y, tuple(str(f) for f in features), None
    classes = arrays["class_names"]
    if (
        not fits
        or y.dtype != np.int64
        or classes.dtype.kind != "U"
        or y.min() < 0
        or y.max() >= len(classes)
    ):
        raise DataError(f"{where}: the arrays do not fit together; reinstall nnframe")
    return x, y, tuple(str(f) for f in features), tuple(str(c) for c in classes)
