"""The four small real data sets that ship inside nnframe, read from their ``.npz`` files.

Each ``<name>.npz`` beside this module holds ``x`` (float64 features), ``y`` (int64 class
indices), ``feature_names`` and ``class_names`` (unicode strings), written by
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

__all__ = ["NAMES", "read_bundled"]

NAMES: tuple[str, ...] = ("breast_cancer", "digits", "iris", "wine")
"""The bundled data sets, by name."""

_KEYS = frozenset({"x", "y", "feature_names", "class_names"})


def read_bundled(
    name: str,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], tuple[str, ...], tuple[str, ...]]:
    """Return the raw rows of a bundled data set, in the order scikit-learn gives them.

    Parameters
    ----------
    name : str
        One of :data:`NAMES`, exactly.

    Returns
    -------
    x : ndarray of shape (n_rows, n_features), float64
        The features, not standardised.
    y : ndarray of shape (n_rows,), int64
        Class indices ``0 .. n_classes - 1``.
    feature_names : tuple of str
    class_names : tuple of str
        ``class_names[i]`` is the label of class index ``i``.

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
    """
    if name not in NAMES:
        raise ArgumentError(f"bundled: unknown data set {name!r}; expected one of {NAMES}")
    file = resources.files(__name__).joinpath(f"{name}.npz")
    where = f"bundled data set {name!r} ({file})"
    try:
        with file.open("rb") as handle, np.load(handle, allow_pickle=False) as archive:
            if set(archive.files) != _KEYS:
                raise DataError(
                    f"{where}: holds {sorted(archive.files)}; expected {sorted(_KEYS)}; "
                    f"reinstall nnframe"
                )
            arrays: dict[str, npt.NDArray[Any]] = {key: archive[key] for key in _KEYS}
    except (OSError, ValueError) as error:
        raise DataError(f"{where}: cannot be read ({error}); reinstall nnframe") from error
    x, y = arrays["x"], arrays["y"]
    features, classes = arrays["feature_names"], arrays["class_names"]
    if (
        x.dtype != np.float64
        or y.dtype != np.int64
        or x.ndim != 2
        or y.shape != (x.shape[0],)
        or features.shape != (x.shape[1],)
        or features.dtype.kind != "U"
        or classes.dtype.kind != "U"
        or y.min() < 0
        or y.max() >= len(classes)
    ):
        raise DataError(f"{where}: the arrays do not fit together; reinstall nnframe")
    return x, y, tuple(str(f) for f in features), tuple(str(c) for c in classes)
