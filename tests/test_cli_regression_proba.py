"""The CLI: diabetes and R^2, the target folded into the model, --proba, did you mean."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import nnframe as nf
from nnframe.cli import main


def _rows(path):
    with open(path, newline="") as file:
        return list(csv.reader(file))


def test_train_on_diabetes_reports_r2_and_saves_a_model_in_target_units(tmp_path, capsys):
    out = tmp_path / "d.safetensors"
    code = main(["train", "--data", "diabetes", "--hidden", "32", "--epochs", "40",
                 "--no-progress", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert "target: standardised for training (mean" in text
    r2 = float(text.split("test R^2: ")[1].split()[0])
    assert 0.2 < r2 < 0.7
    mse = float(text.split("test mean squared error: ")[1].split()[0])
    assert 2000 < mse < 5000  # in the target's units (its variance is about 5900)
    # The saved model predicts in the target's units: the same R^2 from Python.
    data = nf.datasets.load("diabetes", rng=0)
    model = nf.load(out).eval()
    with nf.no_grad():
        pred = model(data.x_test)
    assert nf.metrics.r2(pred, data.y_test) == pytest.approx(r2, abs=1e-4)
    assert main(["evaluate", str(out), "--data", "diabetes"]) == 0
    assert f"R^2: {r2:.4f}" in capsys.readouterr().out


@pytest.mark.parametrize(("data", "classes"), [("iris", 3), ("breast_cancer", 2)])
def test_predict_proba_writes_one_probability_column_per_class(tmp_path, capsys, data, classes):
    out = tmp_path / "m.safetensors"
    assert main(["train", "--data", data, "--hidden", "8", "--epochs", "3", "--no-progress",
                 "--out", str(out)]) == 0
    x, _, features, class_names = nf.data.bundled.read_bundled(data)
    rows = tmp_path / "rows.csv"
    rows.write_text(",".join(features) + "\n" + "".join(
        ",".join(str(float(v)) for v in row) + "\n" for row in x[::40]))
    capsys.readouterr()
    assert main(["predict", str(out), str(rows), "--proba", "--output",
                 str(tmp_path / "p.csv")]) == 0
    table = _rows(tmp_path / "p.csv")
    assert table[0] == list(class_names) and len(table[0]) == classes
    probabilities = np.array(table[1:], dtype=np.float64)
    assert probabilities.shape == (len(x[::40]), classes)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    assert (probabilities >= 0).all()
    # The most probable class is the one predict prints.
    assert main(["predict", str(out), str(rows), "--output", str(tmp_path / "c.csv")]) == 0
    predicted = [row[0] for row in _rows(tmp_path / "c.csv")[1:]]
    assert predicted == [class_names[i] for i in probabilities.argmax(axis=1)]


def test_predict_proba_on_a_regression_model_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "d.safetensors"
    assert main(["train", "--data", "diabetes", "--hidden", "4", "--epochs", "1",
                 "--no-progress", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["predict", str(out), str(tmp_path / "none.csv"), "--proba"]) == 2
    err = capsys.readouterr().err
    assert "regression model" in err and len(err.strip().splitlines()) == 1


def _houses(tmp_path):
    path = tmp_path / "houses.csv"
    path.write_text("rooms,area,price\n" + "".join(f"{i % 5},{i * 3},{i * 2.5}\n"
                                                   for i in range(30)))
    return path


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train", "--data", "diabetis"], "(did you mean 'diabetes'?)"),
        (["train", "--model", "resmpl"], "(did you mean 'resmlp'?)"),
        (["train", "--optimizer", "adan"], "(did you mean 'adam'?)"),
    ],
)
def test_unknown_names_get_a_did_you_mean_in_one_line(capsys, argv, expected):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1


def test_an_unknown_target_column_gets_a_did_you_mean(tmp_path, capsys):
    path = _houses(tmp_path)
    assert main(["train", "--data", str(path), "--target", "prise"]) == 2
    err = capsys.readouterr().err
    assert "no target column 'prise' (did you mean 'price'?)" in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_feature_column_in_predict_gets_a_did_you_mean(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert main(["train", "--data", str(_houses(tmp_path)), "--hidden", "4", "--epochs", "1",
                 "--no-progress", "--out", str(out)]) == 0
    rows = tmp_path / "rows.csv"
    rows.write_text("rooms,aera\n1,2\n")
    capsys.readouterr()
    assert main(["predict", str(out), str(rows)]) == 2
    assert "(did you mean 'aera' for 'area'?)" in capsys.readouterr().err


def test_a_choice_far_from_every_name_gets_no_suggestion(capsys):
    assert main(["train", "--model", "transformer"]) == 2
    assert "did you mean" not in capsys.readouterr().err
