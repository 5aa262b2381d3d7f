"""Loaders for the bundled real data sets and for CSV files, split and standardised."""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from attrs import field, frozen

from nnframe.checks import float_dtype, interval
from nnframe.data.bundled import IMAGE_SHAPES, NAMES, read_bundled
from nnframe.data.images import as_images, check_image_shape, check_standardize
from nnframe.data.split import shuffled_split, stratified_split
from nnframe.data.standardizer import Standardizer, float_rows
from nnframe.data.tables import encode_target, numeric_columns, read_table, target_column
from nnframe.errors import ArgumentError, ArgumentTypeError, DataError, ShapeError
from nnframe.rng import RNGLike, as_generator

__all__ = [
    "IMAGE_SHAPES",
    "MAX_AUTO_CLASSES",
    "NAMES",
    "TASKS",
    "Dataset",
    "Standardizer",
    "load",
    "load_csv",
    "read_features",
]

TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")
"""The learning tasks a :class:`Dataset` can hold."""

MAX_AUTO_CLASSES = 20
"""A numeric CSV target with whole-number values and at most this many distinct values is
read as class labels; any other numeric target is a regression target."""

FloatArray = npt.NDArray[np.floating[Any]]
IntArray = npt.NDArray[np.int64]


# ---------------------------------------------------------------------------------------------
# Dataset
# ---------------------------------------------------------------------------------------------



@frozen(eq=False)
class Dataset:
    """A data set split into training and test rows, ready for a model.

    Build one with :func:`load` or :func:`load_csv`.

    Attributes
    ----------
    name : str
        The bundled name (``"iris"``) or the CSV file's name (``"houses.csv"``).
    task : {"binary", "multiclass", "regression"}
    x_train : ndarray of shape (n_train, n_features)
        Features, standardised when the loader was asked to, in the loader's float dtype.
    y_train : ndarray of shape (n_train,) or (n_train, 1)
        Class indices ``0 .. n_classes - 1`` as int64 of shape (n_train,) for
        classification; float targets of shape (n_train, 1), in ``x_train``'s dtype, for
        regression.
    x_test : ndarray of shape (n_test, n_features)
    y_test : ndarray of shape (n_test,) or (n_test, 1)
    feature_names : tuple of str
    class_names : tuple of str or None
        ``class_names[i]`` is the label of class index ``i``; None for regression.
    target_name : str
        The target column's name.
    standardizer : Standardizer or None
        The statistics fitted on the raw training rows; None when not standardised.
    train_indices, test_indices : ndarray of int64
        The positions, in the source rows (CSV data lines or the bundled order), of the
        rows in ``x_train`` and ``x_test``, in the same order.
    image_shape : tuple of int or None
        For an image data set, the shape of one image, channels first (``(1, 8, 8)`` for
        ``digits``: one grey channel, 8 rows, 8 columns), whose size is ``n_features``; the
        features are its pixels in C order. None for a table. :meth:`images` and
        :meth:`as_images` give the rows as images for a convolution.

    Examples
    --------
    >>> data = load("iris", rng=0)
    >>> data
    Dataset('iris', task='multiclass', features=4, classes=3, train=120, test=30, dtype=float32)
    >>> data.x_train.shape, data.y_train.dtype
    ((120, 4), dtype('int64'))
    >>> digits = load("digits", rng=0)
    >>> digits.image_shape, digits.images("train").shape
    ((1, 8, 8), (1437, 1, 8, 8))
    """

    name: str
    task: str
    x_train: FloatArray = field(repr=False)
    y_train: npt.NDArray[Any] = field(repr=False)
    x_test: FloatArray = field(repr=False)
    y_test: npt.NDArray[Any] = field(repr=False)
    feature_names: tuple[str, ...] = field(repr=False)
    class_names: tuple[str, ...] | None = field(repr=False)
    target_name: str = field(repr=False)
    standardizer: Standardizer | None = field(repr=False)
    train_indices: IntArray = field(repr=False)
    test_indices: IntArray = field(repr=False)
    image_shape: tuple[int, ...] | None = field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        check_image_shape(self.image_shape, self.n_features, f"Dataset {self.name!r}")

    @property
    def n_features(self) -> int:
        """The number of feature columns."""
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int | None:
        """The number of classes, or None for regression."""
        return None if self.class_names is None else len(self.class_names)

    @property
    def n_outputs(self) -> int:
        """The width of a model's last layer for this task.

        ``n_classes`` for multiclass (one score per class, for a softmax cross-entropy),
        1 for binary (one probability or logit, for a binary cross-entropy) and for
        regression.
        """
        return len(self.class_names) if self.task == "multiclass" and self.class_names else 1

    @property
    def dtype(self) -> np.dtype[Any]:
        """The float dtype of the features."""
        return self.x_train.dtype

    def transform(self, x: npt.ArrayLike) -> FloatArray:
        """Prepare new raw feature rows exactly as ``x_train`` and ``x_test`` were prepared.

        Standardises with the training statistics (when the data set is standardised) and
        casts to :attr:`dtype`. Use it on the rows a trained model is asked to predict.

        Parameters
        ----------
        x : array_like of shape (n, n_features)
            Raw feature values, columns in :attr:`feature_names` order.

        Returns
        -------
        ndarray of shape (n, n_features)
        """
        if self.standardizer is not None:
            return self.standardizer.transform(x).astype(self.dtype)
        array = float_rows(x, f"Dataset {self.name!r}.transform")
        if array.shape[1] != self.n_features:
            raise ShapeError(
                f"Dataset {self.name!r}.transform: expected rows of shape (n, "
                f"{self.n_features}); got shape {array.shape}"
            )
        return array.astype(self.dtype)

    def as_images(self, x: npt.ArrayLike) -> FloatArray:
        """Reshape prepared rows ``(n, n_features)`` to images ``(n, *image_shape)``.

        For ``x_train``, ``x_test`` or new rows after :meth:`transform`: a view when numpy
        can make one, the values unchanged. Raises ``DataError`` for a table (no
        :attr:`image_shape`), ``ShapeError`` for rows of the wrong shape.

        Examples
        --------
        >>> digits = load("digits", rng=0)
        >>> digits.as_images(digits.x_test[:5]).shape
        (5, 1, 8, 8)
        """
        return as_images(x, self.image_shape, f"Dataset {self.name!r}.as_images")

    def images(self, split: str = "train") -> FloatArray:
        """The ``"train"`` or ``"test"`` rows as images ``(n, *image_shape)``, for a convolution.

        ``data.images("train")`` is ``data.x_train.reshape(-1, *data.image_shape)``, a view
        of the same (standardised) values. Raises ``ArgumentError`` for another ``split``,
        ``DataError`` for a table (no :attr:`image_shape`).

        Examples
        --------
        >>> load("digits", rng=0).images("test").shape
        (360, 1, 8, 8)
        """
        if split not in ("train", "test"):
            raise ArgumentError(
                f'Dataset {self.name!r}.images: split must be "train" or "test"; got {split!r}'
            )
        return self.as_images(self.x_train if split == "train" else self.x_test)

    def summary(self) -> str:
        """Describe the data set in a few lines: task, sizes, classes and their counts."""
        scaled = "standardised on the training split" if self.standardizer else "raw values"
        images = "" if self.image_shape is None else f", images of shape {self.image_shape}"
        lines = [
            f"Dataset {self.name!r}: {self.task}, target {self.target_name!r}",
            f"  features : {self.n_features} ({scaled}), {self.dtype}{images}",
            f"  rows     : {len(self.x_train)} train, {len(self.x_test)} test",
        ]
        if self.class_names is None:
            y = np.concatenate([self.y_train, self.y_test]).ravel()
            lines.append(
                f"  target   : mean {y.mean():.4g}, std {y.std():.4g}, "
                f"range [{y.min():.4g}, {y.max():.4g}]"
            )
        else:
            k = len(self.class_names)
            train = np.bincount(self.y_train, minlength=k)
            test = np.bincount(self.y_test, minlength=k)
            lines.append(f"  classes  : {k} (train / test rows)")
            lines.extend(
                f"    {i}: {name} ({train[i]} / {test[i]})"
                for i, name in enumerate(self.class_names)
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        classes = "" if self.n_classes is None else f", classes={self.n_classes}"
        images = "" if self.image_shape is None else f", image_shape={self.image_shape}"
        return (
            f"Dataset({self.name!r}, task={self.task!r}, features={self.n_features}{classes}"
            f"{images}, train={len(self.x_train)}, test={len(self.x_test)}, dtype={self.dtype})"
        )


# ---------------------------------------------------------------------------------------------
# Public loaders
# ---------------------------------------------------------------------------------------------


def load(
    source: str | os.PathLike[str],
    *,
    target: str | int | None = None,
    task: str | None = None,
    test_size: float = 0.2,
    rng: RNGLike = 0,
    standardize: bool | str = True,
    dtype: npt.DTypeLike = np.float32,
) -> Dataset:
    """Load a bundled data set by name, or a CSV file by path, split and standardised.

    Parameters
    ----------
    source : str or path-like
        One of :data:`NAMES` (``"breast_cancer"``, ``"diabetes"``, ``"digits"``,
        ``"iris"``, ``"wine"``; case, ``-`` and ``_`` do not matter), or a path ending in
        ``.csv``, which goes to :func:`load_csv`.
    target : str or int, optional
        For a CSV file only: the target column (see :func:`load_csv`).
    task : {"binary", "multiclass", "regression"}, optional
        For a CSV file, overrides the detected task (see :func:`load_csv`). For a bundled
        data set it may only repeat the data set's own task.
    test_size : float, default 0.2
        The fraction of rows held out for testing, strictly between 0 and 1. The test split
        has ``ceil(test_size * n_rows)`` rows, as in scikit-learn.
    rng : None, int or numpy.random.Generator, default 0
        Source of the split. The same seed gives the same split.
    standardize : bool or {"feature", "channel"}, default True
        Whether and how to standardise the features with statistics fitted on the training
        split: True or ``"feature"``, each feature with its own mean and standard
        deviation; ``"channel"``, for an image data set, one mean and standard deviation
        per image channel over all its pixels (:meth:`Standardizer.fit_per_channel`,
        torchvision's ``Normalize`` convention); False, not at all.
    dtype : float dtype, default numpy.float32
        The dtype of the features (and of a regression target).

    Returns
    -------
    Dataset

    Raises
    ------
    ArgumentError
        For an unknown name (the message lists :data:`NAMES`), a ``test_size`` outside
        (0, 1), an unknown task, a non-float dtype, or ``standardize="channel"`` for a
        data set that is not images.
    DataError
        For a CSV file that cannot be used (see :func:`load_csv`).

    Notes
    -----
    The bundled data sets ship inside nnframe (``nnframe/data/bundled``): exact copies of
    the UCI Machine Learning Repository data sets as scikit-learn distributes them, so
    scikit-learn need not be installed. They keep scikit-learn's row and class order
    (``breast_cancer`` has ``("malignant", "benign")``), so class indices match
    scikit-learn's targets. ``diabetes`` is the regression set (442 patients, 10 features,
    a disease-progression score one year later as the target): its features are
    scikit-learn's unscaled values (``load_diabetes(scaled=False)``), standardised here on
    the training split like every other set; the target is not scaled.

    Examples
    --------
    >>> load("iris", rng=0).x_train.shape
    (120, 4)
    >>> load("breast_cancer").class_names
    ('malignant', 'benign')
    >>> load("diabetes", rng=0)
    Dataset('diabetes', task='regression', features=10, train=353, test=89, dtype=float32)
    """
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and source.lower().endswith(".csv")
    ):
        return load_csv(
            source,
            target,
            task=task,
            test_size=test_size,
            rng=rng,
            standardize=standardize,
            dtype=dtype,
        )
    if not isinstance(source, str):
        raise ArgumentTypeError(
            f"load: source must be a data set name or a path to a .csv file; "
            f"got {type(source).__name__}"
        )
    name = source.strip().lower().replace("-", "_")
    if name not in NAMES:
        close = difflib.get_close_matches(name, NAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ArgumentError(
            f"load: unknown data set {source!r}{hint}; expected one of "
            f"{', '.join(NAMES)}, or a path ending in .csv"
        )
    if target is not None:
        raise ArgumentError(
            f"load: target= applies to CSV files only; the bundled data set {name!r} has "
            f"its target fixed"
        )
    test_fraction = interval(0.0, 1.0, low_open=True)(test_size, "datasets: test_size")
    float_type = float_dtype(dtype, "datasets: dtype")
    how = check_standardize(standardize, name, IMAGE_SHAPES.get(name))

    x, y, feature_names, class_names = read_bundled(name)
    if class_names is None:
        own_task = "regression"
    else:
        own_task = "binary" if len(class_names) == 2 else "multiclass"
    if task is not None and _check_task(task) != own_task:
        raise ArgumentError(f"load: {name!r} is a {own_task} data set; got task={task!r}")
    return _assemble(
        name=name,
        where=name,
        task=own_task,
        x=x,
        y=y,
        feature_names=feature_names,
        class_names=class_names,
        target_name="target",
        test_size=test_fraction,
        rng=rng,
        standardize=how,
        dtype=float_type,
        image_shape=IMAGE_SHAPES.get(name),
    )


def load_csv(
    path: str | os.PathLike[str],
    target: str | int | None = None,
    *,
    task: str | None = None,
    test_size: float = 0.2,
    rng: RNGLike = 0,
    standardize: bool | str = True,
    dtype: npt.DTypeLike = np.float32,
) -> Dataset:
    r"""Load a comma-separated file with a header row, split and standardised.

    Parameters
    ----------
    path : str or path-like
        The file: UTF-8 (a byte-order mark is fine), comma-separated, one header row naming
        the columns, then one data row per line. Blank lines are skipped.
    target : str or int, optional
        The target column, by header name or by position (negative counts from the end).
        Default: the last column. Every other column is a feature and must be numeric.
    task : {"binary", "multiclass", "regression"}, optional
        Overrides the detected task (see Notes).
    test_size : float, default 0.2
        The fraction of rows held out for testing, strictly between 0 and 1.
    rng : None, int or numpy.random.Generator, default 0
        Source of the split.
    standardize : bool or "feature", default True
        Whether to standardise each feature with statistics fitted on the training split
        (``"feature"`` is True; a CSV file holds a table, not images).
    dtype : float dtype, default numpy.float32
        The dtype of the features (and of a regression target).

    Returns
    -------
    Dataset
        Named after the file (``"houses.csv"``).

    Raises
    ------
    DataError
        For a missing, unreadable or empty file, a missing header row, a file without data
        rows or feature columns, rows with the wrong number of cells, a feature cell that is
        not a number, an empty, NaN or infinite cell, a classification target with only one
        class or with a class of a single row (it cannot be in both splits).
        The message names the file and, where there is one, the column and line.
    ArgumentError
        For an unknown target column (the message lists the columns), a ``test_size``
        outside (0, 1), an unknown task, a task the target cannot have, or a non-float
        dtype.

    Notes
    -----
    The task is detected from the target column:

    - text labels (any cell that is not a number): classification, classes sorted by text;
    - numbers that are all whole and take at most :data:`MAX_AUTO_CLASSES` (20) distinct
      values: classification, classes sorted by value (``"0"``, ``"1"``, ``"2"``);
    - any other numbers: regression.

    Classification with two classes is ``"binary"``, with more ``"multiclass"``.
    ``task="regression"`` makes a numeric target of whole numbers a regression target;
    ``task="binary"`` or ``"multiclass"`` makes any target class labels (``"binary"`` needs
    exactly two classes; ``"multiclass"`` accepts two or more).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.csv"
    >>> _ = path.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{'yn'[i % 2]}\n"
    ...                                              for i in range(10)))
    >>> data = load_csv(path, "label", rng=0)
    >>> data.task, data.class_names, data.x_train.shape
    ('binary', ('n', 'y'), (8, 2))
    """
    test_fraction = interval(0.0, 1.0, low_open=True)(test_size, "datasets: test_size")
    float_type = float_dtype(dtype, "datasets: dtype")
    how = check_standardize(standardize, str(path), None)
    forced_task = None if task is None else _check_task(task)

    table = read_table(path)
    column = target_column(table, target)
    feature_columns = [i for i in range(len(table.header)) if i != column]
    if not feature_columns:
        raise DataError(
            f"{table.path}: needs at least one feature column besides the target "
            f"{table.header[column]!r}; is the file comma-separated?"
        )
    x = numeric_columns(table, feature_columns)
    detected, y, class_names = encode_target(table, column, forced_task, MAX_AUTO_CLASSES)
    return _assemble(
        name=table.path.name,
        where=str(table.path),
        task=detected,
        x=x,
        y=y,
        feature_names=tuple(table.header[i] for i in feature_columns),
        class_names=class_names,
        target_name=table.header[column],
        test_size=test_fraction,
        rng=rng,
        standardize=how,
        dtype=float_type,
    )


def read_features(
    path: str | os.PathLike[str], feature_names: Sequence[str] | None = None
) -> FloatArray:
    r"""Read raw numeric feature columns from a CSV file with a header row.

    Use it for the rows a trained model should predict: pass the data set's
    ``feature_names`` to take those columns in that order (other columns, such as a target,
    are ignored), then prepare the rows with :meth:`Dataset.transform`.

    Parameters
    ----------
    path : str or path-like
        A CSV file in the format :func:`load_csv` reads.
    feature_names : sequence of str, optional
        The columns to read, in order. Default: every column.

    Returns
    -------
    ndarray of shape (n_rows, n_columns), float64

    Raises
    ------
    DataError
        For an unusable file, a missing column (the message lists the columns), or a cell
        that is empty or not a finite number.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "new.csv"
    >>> _ = path.write_text("b,a\n1,2\n3,4\n")
    >>> read_features(path, ["a", "b"])
    array([[2., 1.],
           [4., 3.]])
    """
    table = read_table(path)
    if feature_names is None:
        return numeric_columns(table, list(range(len(table.header))))
    if isinstance(feature_names, str):
        raise ArgumentTypeError(
            "read_features: feature_names must be a sequence of column names, not one string"
        )
    positions = {name: i for i, name in enumerate(table.header)}
    missing = [name for name in feature_names if name not in positions]
    if missing:
        close = difflib.get_close_matches(missing[0], table.header, n=1)
        hint = f" (did you mean {close[0]!r} for {missing[0]!r}?)" if close else ""
        raise DataError(
            f"{table.path}: has no column {', '.join(map(repr, missing))}{hint}; its columns are "
            f"{', '.join(map(repr, table.header))}"
        )
    return numeric_columns(table, [positions[name] for name in feature_names])


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------


def _check_task(task: object) -> str:
    if not isinstance(task, str):
        raise ArgumentTypeError(f"task must be a str; got {type(task).__name__}")
    if task not in TASKS:
        raise ArgumentError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    return task


# ---------------------------------------------------------------------------------------------
# Splitting, standardising, assembling
# ---------------------------------------------------------------------------------------------


def _assemble(
    *,
    name: str,
    where: str,
    task: str,
    x: FloatArray,
    y: npt.NDArray[Any],
    feature_names: tuple[str, ...],
    class_names: tuple[str, ...] | None,
    target_name: str,
    test_size: float,
    rng: RNGLike,
    standardize: str | None,
    dtype: np.dtype[Any],
    image_shape: tuple[int, ...] | None = None,
) -> Dataset:
    generator = as_generator(rng)
    if class_names is None:
        train, test = shuffled_split(where, len(x), test_size, generator)
        y_out = y.astype(dtype).reshape(-1, 1)
    else:
        train, test = stratified_split(where, y, class_names, test_size, generator)
        y_out = y.astype(np.int64)
    standardizer = None
    if standardize == "channel" and image_shape is not None:
        standardizer = Standardizer.fit_per_channel(x[train], image_shape)
    elif standardize is not None:
        standardizer = Standardizer.fit(x[train])

    def prepare(rows: FloatArray) -> FloatArray:
        return (rows if standardizer is None else standardizer.transform(rows)).astype(dtype)

    return Dataset(
        name=name,
        task=task,
        x_train=prepare(x[train]),
        y_train=y_out[train],
        x_test=prepare(x[test]),
        y_test=y_out[test],
        feature_names=feature_names,
        class_names=class_names,
        target_name=target_name,
        standardizer=standardizer,
        train_indices=train,
        test_indices=test,
        image_shape=image_shape,
    )
