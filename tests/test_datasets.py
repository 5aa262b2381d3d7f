"""Tests for nnframe.data.datasets: bundled data sets, CSV files, the split and standardisation."""

import math
from pathlib import Path

import numpy as np
import pytest

from nnframe import datasets
from nnframe.data.datasets import Dataset, Standardizer, load, load_csv, read_features
from nnframe.errors import ArgumentError, ArgumentTypeError, DataError, ShapeError

# name, n_classes, n_features, n_rows, task
BUNDLED = [
    ("digits", 10, 64, 1797, "multiclass"),
    ("breast_cancer", 2, 30, 569, "binary"),
    ("iris", 3, 4, 150, "multiclass"),
    ("wine", 3, 13, 178, "multiclass"),
]
BUNDLED_NAMES = [row[0] for row in BUNDLED]


def raw_bundled(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The features and targets straight from scikit-learn: the independent oracle.

    Only the tests that compare with scikit-learn need it; they skip without it.
    """
    sk_datasets = pytest.importorskip("sklearn.datasets")
    bunch = getattr(sk_datasets, f"load_{name}")()
    return bunch.data, bunch.target


def write_csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def table_csv(tmp_path: Path, header: list[str], rows: list[list[object]], name="data.csv") -> Path:
    lines = [",".join(header)] + [",".join(str(cell) for cell in row) for row in rows]
    return write_csv(tmp_path, "\n".join(lines) + "\n", name)


def labelled_rows(labels: list[object], n_features: int = 2, seed: int = 0) -> list[list[object]]:
    """One row per label: distinct random features, then the label."""
    rng = np.random.default_rng(seed)
    return [[*np.round(rng.normal(size=n_features), 6), label] for label in labels]


# ---------------------------------------------------------------------------------------------
# Bundled data sets
# ---------------------------------------------------------------------------------------------


def test_names_lists_the_five_bundled_data_sets():
    assert sorted(datasets.NAMES) == ["breast_cancer", "diabetes", "digits", "iris", "wine"]


@pytest.mark.parametrize(("name", "n_classes", "n_features", "n_rows", "task"), BUNDLED)
def test_bundled_data_set_has_the_documented_shapes_and_types(
    name, n_classes, n_features, n_rows, task
):
    data = load(name, rng=0)
    n_test = math.ceil(0.2 * n_rows)
    assert isinstance(data, Dataset)
    assert data.name == name
    assert data.task == task
    assert data.n_classes == n_classes
    assert data.n_features == n_features
    assert len(data.class_names) == n_classes
    assert len(data.feature_names) == n_features
    assert data.x_train.shape == (n_rows - n_test, n_features)
    assert data.x_test.shape == (n_test, n_features)
    assert data.y_train.shape == (n_rows - n_test,)
    assert data.y_test.shape == (n_test,)
    assert data.x_train.dtype == data.x_test.dtype == np.float32
    assert data.y_train.dtype == data.y_test.dtype == np.int64
    assert data.dtype == np.float32
    labels = np.concatenate([data.y_train, data.y_test])
    assert set(np.unique(labels)) == set(range(n_classes))


@pytest.mark.parametrize("name", BUNDLED_NAMES)
def test_bundled_rows_and_labels_are_the_scikit_learn_rows(name):
    x, y = raw_bundled(name)
    data = load(name, rng=3, standardize=False, dtype=np.float64)
    np.testing.assert_array_equal(data.x_train, x[data.train_indices])
    np.testing.assert_array_equal(data.x_test, x[data.test_indices])
    np.testing.assert_array_equal(data.y_train, y[data.train_indices])
    np.testing.assert_array_equal(data.y_test, y[data.test_indices])
    assert data.standardizer is None


def test_bundled_class_names_keep_scikit_learn_order():
    assert load("breast_cancer").class_names == ("malignant", "benign")
    assert load("iris").class_names == ("setosa", "versicolor", "virginica")
    assert load("digits").class_names == tuple(str(i) for i in range(10))


def test_n_outputs_is_the_last_layer_width_for_the_task(tmp_path):
    assert load("digits").n_outputs == 10
    assert load("breast_cancer").n_outputs == 1
    path = table_csv(tmp_path, ["a", "y"], [[i, i / 7] for i in range(10)])
    assert load_csv(path).n_outputs == 1
    path = table_csv(tmp_path, ["f0", "f1", "y"], labelled_rows([0, 1] * 4), "two.csv")
    assert load_csv(path, task="multiclass").n_outputs == 2


def test_load_accepts_float64_and_forgiving_name_spelling():
    data = load("Breast-Cancer", dtype=np.float64)
    assert data.name == "breast_cancer"
    assert data.x_train.dtype == data.x_test.dtype == np.float64


def test_load_unknown_name_lists_the_valid_names():
    with pytest.raises(ArgumentError) as info:
        load("irsi")
    message = str(info.value)
    for name in datasets.NAMES:
        assert name in message
    assert "did you mean 'iris'" in message
    assert ".csv" in message
    assert isinstance(info.value, ValueError)


def test_load_rejects_target_and_a_wrong_task_for_bundled_sets():
    with pytest.raises(ArgumentError, match="target"):
        load("iris", target="species")
    with pytest.raises(ArgumentError, match="multiclass"):
        load("iris", task="binary")
    with pytest.raises(ArgumentError, match="task must be one of"):
        load("iris", task="clustering")
    assert load("iris", task="multiclass").task == "multiclass"


@pytest.mark.parametrize("test_size", [0, 0.0, 1, 1.0, -0.1, 1.5, float("nan")])
def test_test_size_outside_the_open_unit_interval_is_rejected(test_size):
    with pytest.raises(ArgumentError, match="test_size"):
        load("iris", test_size=test_size)


@pytest.mark.parametrize("test_size", ["0.2", None, True])
def test_test_size_of_the_wrong_type_is_rejected(test_size):
    with pytest.raises(ArgumentTypeError, match="test_size"):
        load("iris", test_size=test_size)


def test_non_float_dtype_and_non_bool_standardize_are_rejected():
    with pytest.raises(ArgumentError, match="float dtype"):
        load("iris", dtype=np.int32)
    with pytest.raises(ArgumentTypeError, match="must be a dtype"):
        load("iris", dtype="no such dtype")
    with pytest.raises(ArgumentTypeError, match="standardize"):
        load("iris", standardize="yes")


def test_test_size_sets_the_number_of_test_rows():
    assert len(load("iris", test_size=0.5).x_test) == 75
    assert len(load("wine", test_size=0.1).x_test) == math.ceil(0.1 * 178)


def test_repr_and_summary_describe_the_data_set():
    data = load("iris", rng=0)
    assert repr(data) == (
        "Dataset('iris', task='multiclass', features=4, classes=3, train=120, test=30, "
        "dtype=float32)"
    )
    summary = data.summary()
    for fragment in [
        "iris",
        "multiclass",
        "120 train",
        "30 test",
        "setosa (40 / 10)",
        "standardised",
    ]:
        assert fragment in summary


# ---------------------------------------------------------------------------------------------
# The split
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUNDLED_NAMES)
@pytest.mark.parametrize("test_size", [0.2, 0.33])
def test_split_is_stratified_within_one_example(name, test_size):
    data = load(name, rng=7, test_size=test_size)
    labels = np.concatenate([data.y_train, data.y_test])
    overall = np.bincount(labels) / len(labels)
    for y in (data.y_train, data.y_test):
        counts = np.bincount(y, minlength=data.n_classes)
        assert np.all(np.abs(counts - overall * len(y)) <= 1.0), (counts, overall * len(y))


def test_split_is_stratified_for_an_unbalanced_csv_target(tmp_path):
    labels = ["a"] * 90 + ["b"] * 9 + ["c"] * 3
    path = table_csv(tmp_path, ["f0", "f1", "label"], labelled_rows(labels))
    data = load_csv(path, rng=1, test_size=0.25)
    assert np.bincount(data.y_test).tolist() == [23, 2, 1]  # quotas 22.7, 2.3, 0.8 of 26
    assert np.bincount(data.y_train).tolist() == [67, 7, 2]


@pytest.mark.parametrize("test_size", [0.05, 0.95])
def test_split_keeps_every_class_in_both_splits_at_extreme_test_sizes(tmp_path, test_size):
    labels = ["a"] * 90 + ["b"] * 9 + ["c"] * 3
    path = table_csv(tmp_path, ["f0", "f1", "label"], labelled_rows(labels))
    data = load_csv(path, rng=0, test_size=test_size)
    assert np.all(np.bincount(data.y_train, minlength=3) >= 1)
    assert np.all(np.bincount(data.y_test, minlength=3) >= 1)


@pytest.mark.parametrize("name", BUNDLED_NAMES)
def test_split_is_disjoint_and_covers_every_row(name):
    data = load(name, rng=0)
    n_rows = len(raw_bundled(name)[0])
    both = np.concatenate([data.train_indices, data.test_indices])
    assert len(np.intersect1d(data.train_indices, data.test_indices)) == 0
    np.testing.assert_array_equal(np.sort(both), np.arange(n_rows))
    assert data.train_indices.dtype == data.test_indices.dtype == np.int64


def test_split_is_reproducible_with_the_same_seed():
    first, second = load("wine", rng=11), load("wine", rng=11)
    for attribute in ["x_train", "y_train", "x_test", "y_test", "train_indices", "test_indices"]:
        np.testing.assert_array_equal(getattr(first, attribute), getattr(second, attribute))


def test_a_generator_gives_the_same_split_as_its_seed():
    from_seed = load("iris", rng=5)
    from_generator = load("iris", rng=np.random.default_rng(5))
    np.testing.assert_array_equal(from_seed.test_indices, from_generator.test_indices)


def test_split_differs_with_a_different_seed():
    first, second = load("wine", rng=0), load("wine", rng=1)
    assert set(first.test_indices) != set(second.test_indices)
    assert not np.array_equal(first.x_test, second.x_test)


def test_split_shuffles_classes_together():
    # iris is sorted by class; training rows must not come back in class blocks.
    y = load("iris", rng=0).y_train
    assert np.count_nonzero(np.diff(y)) > 10


def test_regression_split_is_shuffled_disjoint_and_reproducible(tmp_path):
    rows = [[i, i * 0.5 + 0.25] for i in range(40)]
    path = table_csv(tmp_path, ["x", "y"], rows)
    first, second = load_csv(path, rng=2), load_csv(path, rng=2)
    np.testing.assert_array_equal(first.test_indices, second.test_indices)
    assert len(first.test_indices) == 8
    np.testing.assert_array_equal(
        np.sort(np.concatenate([first.train_indices, first.test_indices])), np.arange(40)
    )
    assert not np.array_equal(np.sort(first.test_indices), np.arange(32, 40))
    other = load_csv(path, rng=3)
    assert set(other.test_indices) != set(first.test_indices)


# ---------------------------------------------------------------------------------------------
# Standardisation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUNDLED_NAMES)
def test_standardisation_gives_training_features_mean_zero_and_std_one(name):
    data = load(name, rng=0, dtype=np.float64)
    x_train = data.x_train
    varying = data.standardizer.scale != 1.0
    np.testing.assert_allclose(x_train.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(x_train.std(axis=0)[varying], 1.0, rtol=1e-9)


@pytest.mark.parametrize("name", BUNDLED_NAMES)
def test_standardisation_is_not_refitted_on_the_test_split(name):
    data = load(name, rng=0, dtype=np.float64)
    assert np.max(np.abs(data.x_test.mean(axis=0))) > 0.01
    x, _ = raw_bundled(name)
    np.testing.assert_allclose(data.standardizer.mean, x[data.train_indices].mean(axis=0))
    assert not np.allclose(data.standardizer.mean, x.mean(axis=0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stored_standardizer_reproduces_the_test_transform(dtype):
    data = load("breast_cancer", rng=4, dtype=dtype)
    x, _ = raw_bundled("breast_cancer")
    raw_test = x[data.test_indices]
    np.testing.assert_array_equal(data.standardizer.transform(raw_test).astype(dtype), data.x_test)
    np.testing.assert_array_equal(data.transform(raw_test), data.x_test)
    assert data.transform(raw_test).dtype == dtype


def test_constant_features_become_zeros_not_nan():
    data = load("digits", rng=0)
    x, _ = raw_bundled("digits")
    constant = np.ptp(x[data.train_indices], axis=0) == 0
    assert constant.any()  # digits has blank border pixels
    assert np.all(data.standardizer.scale[constant] == 1.0)
    assert np.all(np.isfinite(data.x_train)) and np.all(np.isfinite(data.x_test))
    assert np.all(data.x_train[:, constant] == 0.0)


def test_transform_without_standardisation_only_casts():
    data = load("iris", standardize=False)
    raw = np.array([[5.1, 3.5, 1.4, 0.2]])
    np.testing.assert_array_equal(data.transform(raw), raw.astype(np.float32))
    with pytest.raises(ShapeError, match=r"\(n, 4\)"):
        data.transform(np.ones((1, 3)))


def test_standardizer_treats_a_nearly_constant_feature_as_constant():
    x = np.array([[0.1, 1.0], [0.1, 2.0], [0.1, 3.0]])
    s = Standardizer.fit(x)
    assert s.scale[0] == 1.0
    np.testing.assert_allclose(s.transform(x)[:, 0], 0.0, atol=1e-15)
    np.testing.assert_allclose(s.transform(x)[:, 1], [-1.2247449, 0.0, 1.2247449], rtol=1e-6)


def test_standardizer_inverse_transform_round_trips():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(20, 3))
    s = Standardizer.fit(x)
    np.testing.assert_allclose(s.inverse_transform(s.transform(x)), x, rtol=1e-12)


def test_standardizer_rejects_wrong_feature_counts():
    s = Standardizer.fit(np.ones((4, 3)))
    with pytest.raises(ShapeError, match=r"\(n, 3\).*\(2, 2\)"):
        s.transform(np.ones((2, 2)))
    with pytest.raises(ShapeError, match="2-d"):
        s.transform(np.ones(3))


# ---------------------------------------------------------------------------------------------
# CSV files: what they may hold
# ---------------------------------------------------------------------------------------------


def test_csv_numeric_target_becomes_class_indices(tmp_path):
    labels = [0, 1, 2] * 10
    path = table_csv(tmp_path, ["f0", "f1", "label"], labelled_rows(labels))
    data = load_csv(path, rng=0)
    assert data.task == "multiclass"
    assert data.class_names == ("0", "1", "2")
    assert data.name == "data.csv"
    assert data.target_name == "label"
    assert data.feature_names == ("f0", "f1")
    np.testing.assert_array_equal(data.y_train, np.array(labels)[data.train_indices])
    np.testing.assert_array_equal(data.y_test, np.array(labels)[data.test_indices])


def test_csv_numeric_labels_sort_by_value_not_text(tmp_path):
    labels = [10, 2, 10, 2, 10, 2, 10, 2]
    path = table_csv(tmp_path, ["f0", "f1", "label"], labelled_rows(labels))
    data = load_csv(path, rng=0, test_size=0.25)
    assert data.task == "binary"
    assert data.class_names == ("2", "10")
    expected = (np.array(labels) == 10).astype(np.int64)
    np.testing.assert_array_equal(data.y_train, expected[data.train_indices])


def test_csv_string_target_gets_sorted_class_names_and_matching_codes(tmp_path):
    labels = ["virginica", "setosa", "versicolor"] * 6
    path = table_csv(tmp_path, ["f0", "f1", "species"], labelled_rows(labels))
    data = load_csv(path, rng=0)
    assert data.task == "multiclass"
    assert data.class_names == ("setosa", "versicolor", "virginica")
    names = np.array(data.class_names)
    np.testing.assert_array_equal(names[data.y_train], np.array(labels)[data.train_indices])
    np.testing.assert_array_equal(names[data.y_test], np.array(labels)[data.test_indices])


def test_csv_two_string_classes_are_binary(tmp_path):
    labels = ["yes", "no"] * 5
    data = load_csv(table_csv(tmp_path, ["a", "b", "answer"], labelled_rows(labels)))
    assert data.task == "binary"
    assert data.class_names == ("no", "yes")
    assert data.n_classes == 2


def test_csv_target_by_name_and_by_index_agree(tmp_path):
    rng = np.random.default_rng(0)
    rows = [[label, *np.round(rng.normal(size=3), 6)] for label in ["b", "a"] * 10]
    path = table_csv(tmp_path, ["kind", "f0", "f1", "f2"], rows)
    by_name = load_csv(path, "kind", rng=0)
    by_index = load_csv(path, 0, rng=0)
    by_negative_index = load_csv(path, -4, rng=0)
    for data in (by_index, by_negative_index):
        np.testing.assert_array_equal(data.x_train, by_name.x_train)
        np.testing.assert_array_equal(data.y_test, by_name.y_test)
        assert data.feature_names == by_name.feature_names == ("f0", "f1", "f2")
        assert data.target_name == "kind"
    assert by_name.class_names == ("a", "b")


def test_csv_target_defaults_to_the_last_column(tmp_path):
    path = table_csv(tmp_path, ["x", "y", "z"], labelled_rows([0, 1] * 6))
    assert load_csv(path).target_name == "z"
    assert load(path).target_name == "z"


def test_csv_float_target_is_regression(tmp_path):
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(30, 2)), 6)
    y = np.round(x @ [1.5, -2.0] + 0.3, 6)
    rows = [[*row, t] for row, t in zip(x, y, strict=True)]
    path = table_csv(tmp_path, ["a", "b", "price"], rows)
    data = load_csv(path, rng=0, standardize=False, dtype=np.float64)
    assert data.task == "regression"
    assert data.class_names is None and data.n_classes is None
    assert data.y_train.shape == (24, 1) and data.y_test.shape == (6, 1)
    assert data.y_train.dtype == np.float64
    np.testing.assert_array_equal(data.y_train[:, 0], y[data.train_indices])
    np.testing.assert_array_equal(data.x_test, x[data.test_indices])
    assert "regression" in data.summary()
    assert "classes" not in repr(data)


def test_csv_regression_target_has_the_feature_dtype(tmp_path):
    path = table_csv(tmp_path, ["a", "y"], [[i, i / 7] for i in range(10)])
    data = load_csv(path)
    assert data.y_train.dtype == data.x_train.dtype == np.float32


def test_csv_whole_number_target_with_many_values_is_regression(tmp_path):
    n = datasets.MAX_AUTO_CLASSES + 1
    path = table_csv(tmp_path, ["a", "age"], [[i * 0.1, i] for i in range(n)] * 2)
    assert load_csv(path).task == "regression"
    path = table_csv(tmp_path, ["a", "age"], [[i * 0.1, i] for i in range(n - 1)] * 2)
    assert load_csv(path).task == "multiclass"


def test_csv_few_non_integer_values_are_still_regression(tmp_path):
    path = table_csv(tmp_path, ["a", "y"], [[i, 0.5 + i % 2] for i in range(10)])
    assert load_csv(path).task == "regression"


def test_csv_task_override(tmp_path):
    path = table_csv(tmp_path, ["f0", "f1", "y"], labelled_rows([0, 1] * 8))
    regression = load_csv(path, task="regression")
    assert regression.task == "regression" and regression.y_train.shape == (12, 1)
    multiclass = load_csv(path, task="multiclass")
    assert multiclass.task == "multiclass" and multiclass.class_names == ("0", "1")
    floats = table_csv(tmp_path, ["a", "y"], [[i, 0.5 + i % 2] for i in range(10)], "f.csv")
    binary = load_csv(floats, task="binary")
    assert binary.task == "binary" and binary.class_names == ("0.5", "1.5")


def test_csv_impossible_task_override_is_rejected(tmp_path):
    three = table_csv(tmp_path, ["f0", "f1", "y"], labelled_rows([0, 1, 2] * 4))
    with pytest.raises(ArgumentError, match=r"exactly 2 classes.*has 3"):
        load_csv(three, task="binary")
    text = table_csv(tmp_path, ["f0", "f1", "y"], labelled_rows(["a", "b"] * 4), "t.csv")
    with pytest.raises(ArgumentError, match=r"numeric target.*'a'"):
        load_csv(text, task="regression")


def test_csv_tolerates_bom_whitespace_blank_lines_and_quotes(tmp_path):
    text = (
        '\ufeff"first, feature", second ,label\n\n1.5, 2,"cat"\n2.5,3 , dog\n\n3,4,cat\n4,5,dog\n'
    )
    data = load_csv(write_csv(tmp_path, text), rng=0, test_size=0.5, standardize=False)
    assert data.feature_names == ("first, feature", "second")
    assert data.class_names == ("cat", "dog")
    raw = np.array([[1.5, 2], [2.5, 3], [3, 4], [4, 5]])
    np.testing.assert_array_equal(data.x_train, raw[data.train_indices].astype(np.float32))


def test_load_dispatches_csv_paths_and_pathlike(tmp_path):
    path = table_csv(tmp_path, ["a", "b", "c"], labelled_rows([0, 1] * 6), "Upper.CSV")
    for source in (path, str(path)):
        data = load(source, target="c", rng=0)
        assert data.name == "Upper.CSV"
        np.testing.assert_array_equal(data.x_train, load_csv(path, "c", rng=0).x_train)


# ---------------------------------------------------------------------------------------------
# CSV files: what they must not hold
# ---------------------------------------------------------------------------------------------

GOOD_ROWS = "1,2,0\n3,4,1\n5,6,0\n7,8,1\n"
BAD_FILES = {
    "empty": ("", DataError, ["is empty", "header"]),
    "only blank lines": ("\n\n  \n", DataError, ["is empty"]),
    "no header": ("1,2,0\n3,4,1\n", DataError, ["no header row", "line 1"]),
    "header only": ("a,b,c\n", DataError, ["no data rows"]),
    "ragged row": ("a,b,c\n1,2,0\n3,4\n5,6,1\n", DataError, ["line 3", "2 cells", "3 columns"]),
    "long row": ("a,b,c\n1,2,0,9\n", DataError, ["line 2", "4 cells", "3 columns"]),
    "text feature": (
        "a,b,c\n" + GOOD_ROWS + "7,eight,1\n",
        DataError,
        ["line 6", "'b'", "'eight'", "numeric"],
    ),
    "empty feature cell": (
        "a,b,c\n1,2,0\n,4,1\n" + GOOD_ROWS,
        DataError,
        ["line 3", "'a'", "empty"],
    ),
    "nan feature": ("a,b,c\n" + GOOD_ROWS + "1,NaN,0\n", DataError, ["line 6", "'b'", "'NaN'"]),
    "inf feature": ("a,b,c\n" + GOOD_ROWS + "inf,1,0\n", DataError, ["line 6", "'a'", "infinite"]),
    "empty target cell": ("a,b,c\n" + GOOD_ROWS + "1,2,\n", DataError, ["line 6", "'c'", "target"]),
    "nan target": ("a,b,c\n" + GOOD_ROWS + "1,2,nan\n", DataError, ["line 6", "'c'", "'nan'"]),
    "one class": ("a,b,c\n1,2,x\n3,4,x\n5,6,x\n", DataError, ["only one class", "'x'"]),
    "class of one row": (
        "a,b,c\n" + GOOD_ROWS + "9,9,2\n",
        DataError,
        ["stratify", "'2' (1 row)", "data.csv"],
    ),
    "duplicate column": ("a,a,c\n" + GOOD_ROWS, DataError, ["repeats", "'a'"]),
    "unnamed column": ("a,,c\n" + GOOD_ROWS, DataError, ["no name", "column"]),
    "single column": ("c\n0\n1\n", DataError, ["feature column", "comma-separated"]),
}


@pytest.mark.parametrize(("text", "error", "fragments"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_csv_bad_file_raises_a_clear_error(tmp_path, text, error, fragments):
    path = write_csv(tmp_path, text)
    with pytest.raises(error) as info:
        load_csv(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    assert isinstance(info.value, ValueError)


def test_csv_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such file") as info:
        load_csv(tmp_path / "absent.csv")
    assert "absent.csv" in str(info.value)
    with pytest.raises(DataError, match="no such file"):
        load(str(tmp_path / "absent.csv"))


def test_csv_directory_and_binary_file_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="not a file"):
        load_csv(tmp_path)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"a,b\n\xff\xfe\x00\x81,1\n")
    with pytest.raises(DataError, match="UTF-8"):
        load_csv(binary)


def test_csv_unknown_target_column_lists_the_columns(tmp_path):
    path = write_csv(tmp_path, "height,weight,label\n" + GOOD_ROWS)
    with pytest.raises(ArgumentError) as info:
        load_csv(path, "lable")
    message = str(info.value)
    for fragment in ["'lable'", "'height'", "'weight'", "'label'", str(path)]:
        assert fragment in message
    with pytest.raises(ArgumentError, match=r"index 3 is out of range for 3 columns.*'height'"):
        load_csv(path, 3)
    with pytest.raises(ArgumentTypeError, match="column name"):
        load_csv(path, 1.0)


# ---------------------------------------------------------------------------------------------
# read_features: rows to predict
# ---------------------------------------------------------------------------------------------


def test_read_features_selects_the_training_columns_in_order(tmp_path):
    train = table_csv(tmp_path, ["a", "b", "label"], labelled_rows(["x", "y"] * 5), "train.csv")
    data = load_csv(train, rng=0)
    new = write_csv(tmp_path, "label,b,extra,a\nx,2,9,1\ny,4,9,3\n", "new.csv")
    raw = read_features(new, data.feature_names)
    np.testing.assert_array_equal(raw, [[1.0, 2.0], [3.0, 4.0]])
    expected = ((raw - data.standardizer.mean) / data.standardizer.scale).astype(np.float32)
    np.testing.assert_array_equal(data.transform(raw), expected)
    np.testing.assert_array_equal(read_features(new, ["b", "extra"]), [[2, 9], [4, 9]])


def test_read_features_reports_missing_columns_and_bad_cells(tmp_path):
    path = write_csv(tmp_path, "a,b\n1,2\n3,oops\n")
    with pytest.raises(DataError, match=r"no column 'c'.*'a', 'b'"):
        read_features(path, ["a", "c"])
    with pytest.raises(DataError, match=r"line 3, column 'b'.*'oops'"):
        read_features(path)
    with pytest.raises(ArgumentTypeError, match="sequence of column names"):
        read_features(path, "a")
