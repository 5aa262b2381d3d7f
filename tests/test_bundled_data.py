"""The bundled data sets ship inside nnframe: exact copies of scikit-learn's, read without it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import nnframe as nf
from nnframe.data import bundled
from nnframe.data.bundled import NAMES, read_bundled
from nnframe.errors import ArgumentError, DataError

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "nnframe" / "data" / "bundled"


@pytest.mark.parametrize("name", NAMES)
def test_shipped_copy_equals_scikit_learns_exactly(name):
    sk_datasets = pytest.importorskip("sklearn.datasets")
    regression = name in bundled.REGRESSION
    loader = getattr(sk_datasets, f"load_{name}")
    bunch = loader(scaled=False) if regression else loader()
    x, y, feature_names, class_names = read_bundled(name)
    assert x.dtype == np.float64 and y.dtype == (np.float64 if regression else np.int64)
    assert x.shape == bunch.data.shape and y.shape == bunch.target.shape
    np.testing.assert_array_equal(x, bunch.data)  # exact: no rounding in the copy
    np.testing.assert_array_equal(y, bunch.target)
    assert feature_names == tuple(str(f) for f in bunch.feature_names)
    if regression:
        assert class_names is None
    else:
        assert class_names == tuple(str(c) for c in bunch.target_names)


@pytest.mark.parametrize("name", NAMES)
def test_shipped_file_holds_plain_arrays_only(name):
    # allow_pickle=False reads it: no object arrays, names are unicode strings.
    with np.load(FOLDER / f"{name}.npz", allow_pickle=False) as archive:
        kinds = {key: archive[key].dtype.kind for key in archive.files}
    if name in bundled.REGRESSION:
        assert kinds == {"x": "f", "y": "f", "feature_names": "U"}
    else:
        assert kinds == {"x": "f", "y": "i", "feature_names": "U", "class_names": "U"}


def test_shipped_files_are_small():
    sizes = {path.name: path.stat().st_size for path in FOLDER.glob("*.npz")}
    assert sorted(sizes) == sorted(f"{name}.npz" for name in NAMES)
    assert sum(sizes.values()) < 300_000


def test_pyproject_ships_the_files_as_package_data():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"nnframe.data.bundled" = ["*.npz", "README.md"]' in text
    dependencies = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert "scikit-learn" not in dependencies


def test_load_works_with_scikit_learn_hidden():
    # A fresh interpreter in which `import sklearn` fails: importing nnframe, loading every
    # bundled set and a one-epoch `nnframe train` must not need it.
    script = textwrap.dedent(
        """
        import sys
        sys.modules["sklearn"] = None  # any import of sklearn now raises ImportError
        import nnframe as nf
        from nnframe.cli import main
        for name in nf.data.NAMES:
            data = nf.datasets.load(name, rng=0)
            print(name, data.x_train.shape, data.n_classes)
        assert main(["train", "--epochs", "1", "--no-progress"]) == 0
        assert sys.modules["sklearn"] is None
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "digits (1437, 64) 10" in result.stdout
    assert "breast_cancer (455, 30) 2" in result.stdout
    assert "test accuracy:" in result.stdout


def test_read_bundled_refuses_an_unknown_name():
    with pytest.raises(ArgumentError, match=r"unknown data set 'mnist'"):
        read_bundled("mnist")


@pytest.fixture
def fake_folder(tmp_path, monkeypatch):
    """Point the reader at an empty folder, as a broken installation would."""
    monkeypatch.setattr(bundled, "resources", SimpleNamespace(files=lambda _: tmp_path))
    return tmp_path


def test_a_missing_file_is_a_data_error_naming_the_set(fake_folder):
    with pytest.raises(DataError, match=r"bundled data set 'iris'.*reinstall nnframe"):
        read_bundled("iris")


def test_a_file_holding_objects_is_refused_not_unpickled(fake_folder):
    np.savez(
        fake_folder / "iris.npz",
        x=np.zeros((2, 1)), y=np.zeros(2, dtype=np.int64),
        feature_names=np.array(["a"], dtype=object), class_names=np.array(["c"]),
    )
    with pytest.raises(DataError, match=r"bundled data set 'iris'.*cannot be read"):
        read_bundled("iris")


@pytest.mark.parametrize(
    "arrays",
    [
        pytest.param({"x": np.zeros((2, 1))}, id="missing-keys"),
        pytest.param(
            {"x": np.zeros((2, 1)), "y": np.array([0, 3]), "feature_names": np.array(["a"]),
             "class_names": np.array(["c", "d"])},
            id="class-index-out-of-range",
        ),
        pytest.param(
            {"x": np.zeros((2, 1), dtype=np.float32), "y": np.array([0, 1]),
             "feature_names": np.array(["a"]), "class_names": np.array(["c", "d"])},
            id="float32-features",
        ),
        pytest.param(
            {"x": np.zeros((2, 2)), "y": np.array([0, 1]), "feature_names": np.array(["a"]),
             "class_names": np.array(["c", "d"])},
            id="feature-names-do-not-fit",
        ),
    ],
)
def test_a_file_whose_arrays_do_not_fit_is_a_data_error(fake_folder, arrays):
    np.savez(fake_folder / "wine.npz", **arrays)
    with pytest.raises(DataError, match=r"bundled data set 'wine'"):
        read_bundled("wine")


def test_a_file_that_is_not_an_archive_is_a_data_error(fake_folder):
    (fake_folder / "digits.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match=r"bundled data set 'digits'.*cannot be read"):
        read_bundled("digits")


def test_the_regeneration_script_finds_the_shipped_files_identical():
    pytest.importorskip("sklearn")
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "bundle_datasets.py"), "--check"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert result.returncode == 0, result.stderr


def test_the_shipped_files_are_valid_zip_archives():
    for name in NAMES:
        with zipfile.ZipFile(FOLDER / f"{name}.npz") as archive:
            assert archive.testzip() is None
            assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())


def test_nf_data_and_nf_datasets_are_the_same_loaders():
    assert nf.data.load is nf.datasets.load
    assert nf.data.datasets is nf.datasets
    assert nf.data.NAMES == nf.datasets.NAMES == (
        "breast_cancer", "diabetes", "digits", "iris", "wine"
    )


def test_diabetes_is_the_regression_set_with_scikit_learns_scaled_features_up_to_scale():
    sk_datasets = pytest.importorskip("sklearn.datasets")
    x, y, features, classes = read_bundled("diabetes")
    assert x.shape == (442, 10) and classes is None and features[:3] == ("age", "sex", "bmi")
    scaled = sk_datasets.load_diabetes().data  # centred, each column of norm 1
    centred = x - x.mean(axis=0)
    np.testing.assert_allclose(centred / np.linalg.norm(centred, axis=0), scaled, atol=1e-6)
    data = nf.datasets.load("diabetes", rng=0)
    assert data.task == "regression" and data.n_outputs == 1 and data.n_classes is None
    assert data.y_train.shape == (353, 1) and data.y_test.shape == (89, 1)
    np.testing.assert_array_equal(
        np.sort(np.concatenate([data.y_train, data.y_test]).ravel()), np.sort(y).astype(np.float32)
    )
    with pytest.raises(ArgumentError, match="'diabetes' is a regression data set"):
        nf.datasets.load("diabetes", task="binary")


def test_a_regression_file_with_class_names_or_integer_targets_is_a_data_error(fake_folder):
    np.savez(fake_folder / "diabetes.npz", x=np.zeros((2, 1)), y=np.array([0, 1]),
             feature_names=np.array(["a"]))
    with pytest.raises(DataError, match=r"bundled data set 'diabetes'.*do not fit"):
        read_bundled("diabetes")
    np.savez(fake_folder / "diabetes.npz", x=np.zeros((2, 1)), y=np.zeros(2),
             feature_names=np.array(["a"]), class_names=np.array(["c"]))
    with pytest.raises(DataError, match=r"bundled data set 'diabetes'.*holds"):
        read_bundled("diabetes")
