"""Image data sets: the image shape, rows as images, per-channel standardisation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnframe as nf
from nnframe.data import IMAGE_SHAPES, Preprocessing, Standardizer, load
from nnframe.errors import (
    ArgumentError,
    ArgumentTypeError,
    DataError,
    SerializationError,
    ShapeError,
)


def test_digits_knows_its_image_shape_and_tables_do_not():
    digits = load("digits", rng=0)
    assert digits.image_shape == IMAGE_SHAPES["digits"] == (1, 8, 8)
    assert "image_shape=(1, 8, 8)" in repr(digits) and "(1, 8, 8)" in digits.summary()
    for name in ("iris", "wine", "breast_cancer", "diabetes"):
        assert load(name, rng=0).image_shape is None
    assert "image_shape" not in repr(load("iris", rng=0))


def test_images_are_views_of_the_rows_in_c_order():
    digits = load("digits", rng=0)
    train, test = digits.images("train"), digits.images("test")
    assert train.shape == (1437, 1, 8, 8) and test.shape == (360, 1, 8, 8)
    assert np.shares_memory(train, digits.x_train)
    # pixel (row 2, column 5) of the first image is feature "pixel_2_5"
    column = digits.feature_names.index("pixel_2_5")
    assert train[0, 0, 2, 5] == digits.x_train[0, column]
    np.testing.assert_array_equal(digits.as_images(digits.x_test[:3]), test[:3])


def test_images_of_a_table_or_a_bad_split_or_bad_rows_raise():
    with pytest.raises(DataError, match=r"'iris'.*table, not images"):
        load("iris", rng=0).images()
    digits = load("digits", rng=0)
    with pytest.raises(ArgumentError, match="split must be"):
        digits.images("validation")
    with pytest.raises(ShapeError, match=r"\(n, 64\)"):
        digits.as_images(np.zeros((2, 63)))


def test_a_dataset_refuses_an_image_shape_that_does_not_hold_its_features():
    digits = load("digits", rng=0)
    fields = {name: getattr(digits, name) for name in (
        "name", "task", "x_train", "y_train", "x_test", "y_test", "feature_names",
        "class_names", "target_name", "standardizer", "train_indices", "test_indices")}
    with pytest.raises(ShapeError, match="image_shape"):
        nf.datasets.Dataset(**fields, image_shape=(1, 7, 8))


@given(
    channels=st.integers(1, 3), height=st.integers(1, 4), width=st.integers(1, 4),
    n=st.integers(1, 6), seed=st.integers(0, 2**16),
)
def test_per_channel_statistics_are_each_channels_mean_and_std(channels, height, width, n, seed):
    rng = np.random.default_rng(seed)
    images = rng.normal(3.0, 2.0, (n, channels, height, width))
    scaler = Standardizer.fit_per_channel(images.reshape(n, -1), (channels, height, width))
    out = scaler.transform(images.reshape(n, -1)).reshape(images.shape)
    for c in range(channels):
        std = images[:, c].std()
        assert scaler.mean[c * height * width] == pytest.approx(images[:, c].mean())
        if std > 1e-9:
            assert out[:, c].mean() == pytest.approx(0.0, abs=1e-9)
            assert out[:, c].std() == pytest.approx(1.0)


def test_load_standardizes_per_channel_on_request():
    digits = load("digits", rng=0, standardize="channel", dtype=np.float64)
    assert np.all(digits.standardizer.mean == digits.standardizer.mean[0])
    assert digits.x_train.mean() == pytest.approx(0.0, abs=1e-12)
    assert digits.x_train.std() == pytest.approx(1.0)
    assert load("iris", standardize="feature").standardizer is not None
    with pytest.raises(ArgumentError, match='standardize="channel" needs images'):
        load("iris", standardize="channel")
    with pytest.raises(ArgumentTypeError, match="standardize"):
        load("digits", standardize="pixel")
    with pytest.raises(ShapeError, match="fit_per_channel"):
        Standardizer.fit_per_channel(np.zeros((2, 5)), (1, 2, 2))


def test_the_preprocessing_record_keeps_the_input_shape():
    digits = load("digits", rng=0, standardize="channel")
    record = Preprocessing.from_dataset(
        digits, nf.CrossEntropyLoss(), source="digits", seed=0, test_size=0.2,
        input_shape=digits.image_shape,
    )
    again = Preprocessing.from_json(record.to_json(), "m.safetensors")
    assert again.input_shape == (1, 8, 8)
    raw = load("digits", rng=0, standardize=False, dtype=np.float64).x_test
    np.testing.assert_array_equal(again.transform(raw), digits.images("test"))
    # a record written before input_shape existed reads as rows
    old = record.to_json().replace(', "input_shape": [1, 8, 8]', "")
    assert Preprocessing.from_json(old, "m").input_shape is None
    with pytest.raises(SerializationError, match="input_shape"):
        Preprocessing.from_json(record.to_json().replace("[1, 8, 8]", "[1, 8, 7]"), "m")
