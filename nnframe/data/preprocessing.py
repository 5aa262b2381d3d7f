"""The preprocessing record: how a model's training data was prepared, saved beside the model.

``nnframe train --out`` stores a :class:`Preprocessing` record as JSON under the model file's
``nnframe.preprocessing`` metadata key; ``nnframe evaluate`` and ``nnframe predict`` read it
back to prepare new rows exactly as the training rows were prepared (same feature columns,
same standardisation, same dtype, same class names).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import attrs
import numpy as np

from nnframe.data.datasets import TASKS, Dataset
from nnframe.data.standardizer import Standardizer
from nnframe.data.tables import format_label, is_number
from nnframe.errors import DataError, SerializationError
from nnframe.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss

__all__ = ["PREPROCESSING_KEY", "Preprocessing"]

PREPROCESSING_KEY = "nnframe.preprocessing"
"""The metadata key of the record ``nnframe train --out`` writes next to the model."""

_LOSSES: dict[str, type[Loss]] = {
    cls.__name__: cls for cls in (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss)
}


@attrs.frozen
class Preprocessing:
    """How a model's training data was prepared, so that new data is prepared the same way.

    Stored as JSON under the model file's ``nnframe.preprocessing`` metadata key.

    Attributes
    ----------
    task : {"binary", "multiclass", "regression"}
    loss : str
        The loss's class name (the model outputs probabilities for BCELoss, logits for
        BCEWithLogitsLoss and CrossEntropyLoss).
    source : str
        The ``--data`` the model was trained on.
    seed : int
    test_size : float
    feature_names : tuple of str
    class_names : tuple of str or None
    target_name : str
    standardizer : Standardizer or None
    dtype : str
    input_shape : tuple of int or None
        The shape of one example as the model takes it, when that is not a row of
        features: ``(1, 8, 8)`` for a convolutional network on the digits images.
        :meth:`transform` reshapes the prepared rows to ``(n, *input_shape)``. None (the
        default, and what a record written before it existed reads as) keeps rows.

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import CrossEntropyLoss
    >>> from nnframe.data import load
    >>> data = load("iris", rng=0)
    >>> record = Preprocessing.from_dataset(
    ...     data, CrossEntropyLoss(), source="iris", seed=0, test_size=0.2
    ... )
    >>> again = Preprocessing.from_json(record.to_json(), "model.safetensors")
    >>> again.task, again.loss_class.__name__, again.class_names
    ('multiclass', 'CrossEntropyLoss', ('setosa', 'versicolor', 'virginica'))
    >>> raw = load("iris", rng=0, standardize=False, dtype=np.float64).x_test
    >>> np.array_equal(again.transform(raw), data.x_test)
    True
    """

    task: str
    loss: str
    source: str
    seed: int
    test_size: float
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...] | None
    target_name: str
    standardizer: Standardizer | None
    dtype: str
    input_shape: tuple[int, ...] | None = None

    @classmethod
    def from_dataset(
        cls,
        data: Dataset,
        loss: Loss,
        *,
        source: str,
        seed: int,
        test_size: float,
        input_shape: tuple[int, ...] | None = None,
    ) -> Preprocessing:
        """Describe how ``data`` was prepared for a model trained with ``loss``.

        ``input_shape`` is the shape of one example as the model takes it, when the rows
        are reshaped for it (``data.image_shape`` for a convolutional network).
        """
        return cls(
            task=data.task,
            loss=type(loss).__name__,
            source=str(source),
            seed=seed,
            test_size=test_size,
            feature_names=data.feature_names,
            class_names=data.class_names,
            target_name=data.target_name,
            standardizer=data.standardizer,
            dtype=data.dtype.name,
            input_shape=None if input_shape is None else tuple(input_shape),
        )

    @property
    def loss_class(self) -> type[Loss]:
        """The loss class named by :attr:`loss` (its ``input_kind`` says what the model outputs)."""
        return _LOSSES[self.loss]

    def to_json(self) -> str:
        """Return the record as JSON (floats written exactly)."""
        scaler = self.standardizer
        record = {
            **attrs.asdict(self, recurse=False),
            "feature_names": list(self.feature_names),
            "class_names": None if self.class_names is None else list(self.class_names),
            "standardizer": None if scaler is None else {
                "mean": scaler.mean.tolist(), "scale": scaler.scale.tolist()
            },
            "input_shape": None if self.input_shape is None else list(self.input_shape),
        }
        return json.dumps(record)

    @classmethod
    def from_json(cls, text: str, where: str) -> Preprocessing:
        """Parse and check a record written by :meth:`to_json`.

        Parameters
        ----------
        text : str
            The JSON text.
        where : str
            The model file it came from, for the error message.

        Returns
        -------
        Preprocessing

        Raises
        ------
        SerializationError
            For anything unexpected: not JSON, missing or extra keys, a value of the wrong
            type, an unknown task, loss or dtype, a standardizer that does not fit.
        """

        def bad(what: str) -> SerializationError:
            return SerializationError(f"{where}: invalid {PREPROCESSING_KEY} record: {what}")

        try:
            record = json.loads(text)
        except (ValueError, RecursionError):
            raise bad("not JSON") from None
        fields = {field.name for field in attrs.fields(cls)}
        if isinstance(record, dict):  # written before input_shape existed: rows
            record.setdefault("input_shape", None)
        if not isinstance(record, dict) or set(record) != fields:
            raise bad(f"expected the keys {sorted(fields)}")
        if record["task"] not in TASKS or record["loss"] not in _LOSSES:
            raise bad(f"unknown task {record['task']!r} or loss {record['loss']!r}")
        for name in ("source", "target_name", "dtype"):
            if not isinstance(record[name], str):
                raise bad(f"{name!r} must be a string")
        if not isinstance(record["seed"], int) or isinstance(record["seed"], bool):
            raise bad("'seed' must be an int")
        if not isinstance(record["test_size"], float | int):
            raise bad("'test_size' must be a number")
        names = record["feature_names"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise bad("'feature_names' must be a list of strings")
        classes = record["class_names"]
        if (classes is None) != (record["task"] == "regression") or (
            classes is not None
            and (not isinstance(classes, list) or not all(isinstance(c, str) for c in classes))
        ):
            raise bad("'class_names' must be a list of strings, or null for regression")
        scaler = record["standardizer"]
        standardizer = None
        if scaler is not None:
            try:
                standardizer = Standardizer(scaler["mean"], scaler["scale"])
            except (TypeError, KeyError, ValueError) as error:
                raise bad(f"bad standardizer ({error})") from None
            if standardizer.n_features != len(names):
                raise bad("the standardizer does not match the feature names")
        if record["dtype"] not in ("float16", "float32", "float64"):
            raise bad(f"unknown dtype {record['dtype']!r}")
        shape = record["input_shape"]
        if shape is not None and (
            not isinstance(shape, list)
            or not shape
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
            or int(np.prod(shape)) != len(names)
        ):
            raise bad(f"'input_shape' must be null or positive ints holding the {len(names)} "
                      f"features; got {shape!r}")
        return cls(
            task=record["task"],
            loss=record["loss"],
            source=record["source"],
            seed=record["seed"],
            test_size=float(record["test_size"]),
            feature_names=tuple(names),
            class_names=None if classes is None else tuple(classes),
            target_name=record["target_name"],
            standardizer=standardizer,
            dtype=record["dtype"],
            input_shape=None if shape is None else tuple(shape),
        )

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Prepare raw feature rows as the training rows were prepared.

        Parameters
        ----------
        x : ndarray of shape (n, n_features)
            Raw feature values, columns in :attr:`feature_names` order.

        Returns
        -------
        ndarray of shape (n, n_features), or (n, *input_shape), of :attr:`dtype`
        """
        if self.standardizer is not None:
            x = self.standardizer.transform(x)
        rows = np.asarray(x).astype(self.dtype)
        return rows if self.input_shape is None else rows.reshape(len(rows), *self.input_shape)

    def encode_labels(self, cells: Sequence[str], lines: Sequence[int], where: str) -> np.ndarray:
        """Turn a CSV target column's cells into the model's targets.

        Parameters
        ----------
        cells : sequence of str
            The target column's cells, one per row.
        lines : sequence of int
            The file line of each cell, for the error message.
        where : str
            The file, for the error message.

        Returns
        -------
        ndarray
            Class indices (int64, shape (n,)) for classification; float targets of shape
            (n, 1), of :attr:`dtype`, for regression.

        Raises
        ------
        DataError
            For a label that is not one of :attr:`class_names`, or a regression target that
            is not a finite number.
        """
        if self.class_names is None:
            try:
                values = np.array(cells, dtype=np.float64)
            except ValueError:
                raise DataError(f"{where}: the target column holds text; the model does "
                                "regression and needs numbers") from None
            if not np.all(np.isfinite(values)):
                raise DataError(f"{where}: the target column holds NaN or infinite values")
            return values.reshape(-1, 1).astype(self.dtype)
        index = {name: i for i, name in enumerate(self.class_names)}
        codes = np.empty(len(cells), dtype=np.int64)
        for row, cell in enumerate(cells):
            label = cell.strip()
            if label not in index and is_number(label):
                label = format_label(float(label))
            if label not in index:
                raise DataError(
                    f"{where}: line {lines[row]} holds the label {cell.strip()!r}, which is "
                    f"not one of the model's classes ({', '.join(self.class_names)})"
                )
            codes[row] = index[label]
        return codes
