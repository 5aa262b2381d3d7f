"""The preprocessing record a saved model carries: exact JSON round trip, strict parsing."""

from __future__ import annotations

import json

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnframe as nf
from nnframe import cli
from nnframe.data import Standardizer
from nnframe.data.preprocessing import PREPROCESSING_KEY, Preprocessing
from nnframe.errors import DataError, SerializationError

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
positive = st.floats(min_value=1e-300, max_value=1e300, allow_nan=False, width=64)
names = st.text(min_size=1, max_size=8)


@st.composite
def records(draw):
    n = draw(st.integers(1, 6))
    task = draw(st.sampled_from(["binary", "multiclass", "regression"]))
    scaled = draw(st.booleans())
    standardizer = (
        Standardizer(
            draw(st.lists(finite, min_size=n, max_size=n)),
            draw(st.lists(positive, min_size=n, max_size=n)),
        )
        if scaled
        else None
    )
    classes = None
    if task != "regression":
        k = 2 if task == "binary" else draw(st.integers(2, 5))
        classes = tuple(draw(st.lists(names, min_size=k, max_size=k, unique=True)))
    return Preprocessing(
        task=task,
        loss=draw(st.sampled_from(["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss"])),
        source=draw(st.text(max_size=20)),
        seed=draw(st.integers(-(2**40), 2**40)),
        test_size=draw(st.floats(0.01, 0.99)),
        feature_names=tuple(draw(st.lists(names, min_size=n, max_size=n))),
        class_names=classes,
        target_name=draw(names),
        standardizer=standardizer,
        dtype=draw(st.sampled_from(["float16", "float32", "float64"])),
    )


@given(records())
def test_json_round_trip_is_exact(record):
    again = Preprocessing.from_json(record.to_json(), "model.safetensors")
    for field in attrs.fields(Preprocessing):
        if field.name != "standardizer":
            assert getattr(again, field.name) == getattr(record, field.name), field.name
    if record.standardizer is None:
        assert again.standardizer is None
    else:  # float64 statistics come back bit for bit
        assert again.standardizer.mean.tobytes() == record.standardizer.mean.tobytes()
        assert again.standardizer.scale.tobytes() == record.standardizer.scale.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transform_prepares_raw_rows_as_the_dataset_did(dtype):
    data = nf.datasets.load("wine", rng=1, dtype=dtype)
    record = Preprocessing.from_dataset(
        data, nf.CrossEntropyLoss(), source="wine", seed=1, test_size=0.2
    )
    raw = nf.datasets.load("wine", rng=1, standardize=False, dtype=np.float64)
    again = Preprocessing.from_json(record.to_json(), "m")
    out = again.transform(raw.x_test)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, data.x_test)
    np.testing.assert_array_equal(out, data.transform(raw.x_test))


def test_from_dataset_records_what_the_dataset_and_loss_say():
    data = nf.datasets.load("breast_cancer", rng=0)
    record = Preprocessing.from_dataset(data, nf.BCELoss(), source="breast-cancer", seed=0,
                                        test_size=0.2)
    assert record.task == "binary" and record.loss == "BCELoss"
    assert record.loss_class is nf.BCELoss
    assert record.class_names == ("malignant", "benign")
    assert record.feature_names == data.feature_names and record.dtype == "float32"
    assert record.standardizer is data.standardizer
    assert PREPROCESSING_KEY == "nnframe.preprocessing"


def _valid():
    data = nf.datasets.load("iris", rng=0)
    record = Preprocessing.from_dataset(data, nf.CrossEntropyLoss(), source="iris", seed=0,
                                        test_size=0.2)
    return json.loads(record.to_json())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: "[", "not JSON"),
        (lambda r: json.dumps([1, 2]), "expected the keys"),
        (lambda r: json.dumps({k: v for k, v in r.items() if k != "seed"}), "expected the keys"),
        (lambda r: json.dumps({**r, "extra": 1}), "expected the keys"),
        (lambda r: json.dumps({**r, "task": "ranking"}), "unknown task"),
        (lambda r: json.dumps({**r, "loss": "HingeLoss"}), "loss 'HingeLoss'"),
        (lambda r: json.dumps({**r, "source": 3}), "'source' must be a string"),
        (lambda r: json.dumps({**r, "seed": True}), "'seed' must be an int"),
        (lambda r: json.dumps({**r, "test_size": "0.2"}), "'test_size' must be a number"),
        (lambda r: json.dumps({**r, "feature_names": "abcd"}), "'feature_names' must be"),
        (lambda r: json.dumps({**r, "class_names": None}), "'class_names' must be"),
        (lambda r: json.dumps({**r, "standardizer": {"mean": [0.0]}}), "bad standardizer"),
        (
            lambda r: json.dumps({**r, "standardizer": {"mean": [0.0], "scale": [1.0]}}),
            "does not match the feature names",
        ),
        (lambda r: json.dumps({**r, "dtype": "int8"}), "unknown dtype 'int8'"),
    ],
)
def test_from_json_refuses_a_bad_record_naming_the_file(change, message):
    expected = r"model\.safetensors: invalid nnframe\.preprocessing record"
    with pytest.raises(SerializationError, match=expected) as caught:
        Preprocessing.from_json(change(_valid()), "model.safetensors")
    assert message in str(caught.value)


def test_encode_labels_maps_class_names_and_numeric_spellings():
    record = Preprocessing.from_json(json.dumps({**_valid(), "class_names": ["0", "1", "2"]}), "m")
    codes = record.encode_labels(["2", " 0 ", "1.0", "2.0"], [2, 3, 4, 5], "new.csv")
    assert codes.dtype == np.int64
    np.testing.assert_array_equal(codes, [2, 0, 1, 2])
    with pytest.raises(DataError, match=r"new.csv: line 3 holds the label '7'"):
        record.encode_labels(["1", "7"], [2, 3], "new.csv")


def test_encode_labels_for_regression_needs_finite_numbers():
    record = attrs.evolve(
        Preprocessing.from_json(json.dumps(_valid()), "m"),
        task="regression", loss="MSELoss", class_names=None, dtype="float64",
    )
    values = record.encode_labels(["1.5", "-2"], [2, 3], "new.csv")
    assert values.shape == (2, 1) and values.dtype == np.float64
    np.testing.assert_array_equal(values, [[1.5], [-2.0]])
    with pytest.raises(DataError, match="holds text"):
        record.encode_labels(["1.5", "big"], [2, 3], "new.csv")
    with pytest.raises(DataError, match="NaN or infinite"):
        record.encode_labels(["1.5", "inf"], [2, 3], "new.csv")


def test_the_cli_uses_the_record_from_the_data_package():
    assert cli.Preprocessing is Preprocessing  # imported, not defined, by the command
    assert cli.__all__ == ["main"]
