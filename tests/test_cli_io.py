"""nnframe train --out, nnframe evaluate and nnframe predict; their error paths exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import nnframe as nf
from nnframe import serialization
from nnframe.cli import main
from nnframe.data.preprocessing import PREPROCESSING_KEY, Preprocessing
from nnframe.serialization import format as file_format


def _points_csv(path, n=80):
    rows = ["a,b,label"] + [
        f"{i % 7},{(i * 3) % 5},{'yes' if i % 7 > 3 else 'no'}" for i in range(n)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def _train(argv, capsys):
    code = main(["train", "--no-progress", *argv])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


@pytest.fixture
def points_model(tmp_path, capsys):
    data = _points_csv(tmp_path / "points.csv")
    model = tmp_path / "points.safetensors"
    _train(["--data", str(data), "--epochs", "40", "--hidden", "8", "--lr", "0.01",
            "--out", str(model)], capsys)
    return model, data


def test_train_out_saves_the_model_and_its_preprocessing(points_model, capsys):
    model_path, data_path = points_model
    metadata = serialization.read_metadata(model_path)
    record = Preprocessing.from_json(metadata[PREPROCESSING_KEY], str(model_path))
    assert record.task == "binary" and record.loss == "BCELoss"
    assert record.feature_names == ("a", "b") and record.class_names == ("no", "yes")
    assert record.target_name == "label" and record.dtype == "float32"
    data = nf.datasets.load(data_path, rng=0)
    assert np.array_equal(record.standardizer.mean, data.standardizer.mean)
    assert np.array_equal(record.standardizer.scale, data.standardizer.scale)
    model = nf.load(model_path)  # an ordinary model file as well
    assert isinstance(model, nf.Sequential)


def test_evaluate_on_a_csv_uses_every_row_and_the_saved_standardizer(points_model, capsys):
    model_path, data_path = points_model
    assert main(["evaluate", str(model_path), "--data", str(data_path)]) == 0
    out = capsys.readouterr().out
    assert "all 80 rows" in out
    accuracy = float(out.split("accuracy: ")[1].split()[0])
    # The same numbers by hand: raw rows, the training split's statistics, the model.
    data = nf.datasets.load(data_path, rng=0)
    model = nf.load(model_path).eval()
    raw = nf.datasets.read_features(data_path, ["a", "b"])
    pred = model(data.transform(raw))
    labels = np.array([1 if i % 7 > 3 else 0 for i in range(80)])
    assert accuracy == pytest.approx(nf.metrics.accuracy(pred, labels), abs=1e-4)
    assert accuracy >= 0.85


def test_evaluate_on_a_bundled_set_reproduces_the_held_out_results(tmp_path, capsys):
    model_path = tmp_path / "iris.safetensors"
    out = _train(["--data", "iris", "--epochs", "15", "--hidden", "8", "--seed", "3",
                  "--out", str(model_path)], capsys)
    trained = out.split("test accuracy: ")[1].split()[0]
    trained_loss = out.split("(test loss ")[1].split(")")[0]
    assert f"model saved to {model_path}" in out
    assert main(["evaluate", str(model_path), "--data", "iris"]) == 0
    evaluated = capsys.readouterr().out
    assert "iris test split, 30 rows (seed 3" in evaluated
    assert f"accuracy: {trained}" in evaluated and f"loss: {trained_loss}" in evaluated


def test_predict_prints_or_writes_class_names(points_model, tmp_path, capsys):
    model_path, _ = points_model
    new = tmp_path / "new.csv"
    new.write_text("b,a,comment\n1,6,x\n2,0,y\n4,5,z\n")  # columns by name, extras ignored
    assert main(["predict", str(model_path), str(new)]) == 0
    assert capsys.readouterr().out.splitlines() == ["label", "yes", "no", "yes"]
    out = tmp_path / "preds.csv"
    assert main(["predict", str(model_path), str(new), "--output", str(out)]) == 0
    assert "3 predictions written" in capsys.readouterr().out
    assert out.read_text().splitlines() == ["label", "yes", "no", "yes"]


def test_regression_round_trip_predicts_values(tmp_path, capsys):
    data = tmp_path / "line.csv"
    data.write_text("x,y\n" + "".join(f"{i / 10},{i / 5 + 0.25}\n" for i in range(60)))
    model_path = tmp_path / "line.safetensors"
    _train(["--data", str(data), "--epochs", "200", "--lr", "0.01", "--out", str(model_path)],
           capsys)
    assert main(["evaluate", str(model_path), "--data", str(data)]) == 0
    assert float(capsys.readouterr().out.split("mean squared error: ")[1].split()[0]) < 1.0
    new = tmp_path / "new.csv"
    new.write_text("x\n1.0\n2.0\n")
    assert main(["predict", str(model_path), str(new)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "y" and len(lines) == 3
    expected = nf.load(model_path).eval()(
        nf.datasets.load(data, rng=0).transform(np.array([[1.0], [2.0]]))
    )
    # Printed as the shortest text that reads back as the same float32.
    assert np.array_equal(np.array(lines[1:], dtype=np.float32), expected.ravel())


def test_multiclass_csv_with_numeric_labels_and_a_target_flag(tmp_path, capsys):
    data = tmp_path / "three.csv"
    rows = ["kind,u,v"] + [f"{i % 3},{(i % 3) * 2 + (i % 5) / 10},{i % 4}" for i in range(90)]
    data.write_text("\n".join(rows) + "\n")
    model_path = tmp_path / "three.safetensors"
    _train(["--data", str(data), "--target", "kind", "--epochs", "30", "--out",
            str(model_path)], capsys)
    # Labels written as 1.0 still match the class named "1".
    other = tmp_path / "other.csv"
    other.write_text("u,v,cls\n0.0,1,0\n2.1,2,1.0\n4.2,3,2\n")
    assert main(["evaluate", str(model_path), "--data", str(other), "--target", "cls"]) == 0
    assert "all 3 rows" in capsys.readouterr().out


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("nnframe") and "Traceback" not in captured.err
    return lines[0]


def test_error_paths_exit_2_with_one_line(points_model, tmp_path, capsys):
    model_path, data_path = points_model
    png = tmp_path / "image.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    plain = tmp_path / "plain.safetensors"
    nf.save(nf.Sequential(nf.Linear(2, 1, rng=0)), plain)
    tampered = tmp_path / "tampered.safetensors"
    header = {PREPROCESSING_KEY: json.dumps({"task": "binary"})}
    nf.save(nf.Sequential(nf.Linear(2, 1, rng=0)), tampered, metadata=header)
    wrong_arch = tmp_path / "wrong.safetensors"
    header = file_format.make_header("model", None, "test")
    header[file_format.KEY_ARCHITECTURE] = json.dumps({"class": "os.system", "config": {}})
    file_format.write_file(wrong_arch, {}, header)
    no_label = tmp_path / "nolabel.csv"
    no_label.write_text("a,b\n1,2\n")
    unknown_label = tmp_path / "unknown.csv"
    unknown_label.write_text("a,b,label\n1,2,maybe\n")
    missing_feature = tmp_path / "missing.csv"
    missing_feature.write_text("a,c\n1,2\n")
    cases = [
        (["evaluate", str(tmp_path / "no.safetensors"), "--data", str(data_path)], "no such file"),
        (["evaluate", str(png), "--data", str(data_path)], "PNG"),
        (["evaluate", str(tmp_path), "--data", str(data_path)], "directory"),
        (["evaluate", str(plain), "--data", str(data_path)], "no nnframe.preprocessing"),
        (["evaluate", str(tampered), "--data", str(data_path)], "invalid nnframe.preprocessing"),
        (["evaluate", str(wrong_arch), "--data", str(data_path)], "os.system"),
        (["evaluate", str(model_path), "--data", "mnist"], "mnist"),
        (["evaluate", str(model_path), "--data", "iris"], "not those the model was trained"),
        (["evaluate", str(model_path), "--data", str(no_label)], "no target column 'label'"),
        (["evaluate", str(model_path), "--data", str(unknown_label)], "'maybe'"),
        (["evaluate", str(model_path), "--data", str(data_path), "--target", "zzz"], "zzz"),
        (["evaluate", str(model_path)], "--data"),
        (["predict", str(model_path)], "input"),
        (["predict", str(model_path), str(missing_feature)], "no column 'b'"),
        (["predict", str(model_path), str(tmp_path / "none.csv")], "none.csv"),
        (["predict", str(model_path), str(data_path), "--output",
          str(tmp_path / "no" / "dir" / "p.csv")], "p.csv"),
        (["train", "--data", "iris", "--out", str(tmp_path / "no" / "m.safetensors")],
         "does not exist"),
        (["train", "--data", "iris", "--out", str(tmp_path)], "is a directory"),
    ]
    for argv, fragment in cases:
        assert main(argv) == 2, argv
        line = _one_error_line(capsys)
        assert fragment in line, (argv, line)


def test_a_stale_model_file_with_mismatched_weights_is_one_line(tmp_path, capsys):
    path = tmp_path / "m.safetensors"
    header = file_format.make_header("model", None, "test")
    layers = [nf.registry.layer_to_spec(nf.Linear(2, 3))]
    header[file_format.KEY_ARCHITECTURE] = json.dumps(
        {"class": "Sequential", "config": {"layers": layers}}
    )
    file_format.write_file(path, {"0.weight": np.zeros((3, 2)), "1.weight": np.zeros(1)}, header)
    assert main(["evaluate", str(path), "--data", "iris"]) == 2
    line = _one_error_line(capsys)
    assert "do not match" in line and "'0.bias'" in line and "'1.weight'" in line


def test_python_dash_m_nnframe_predict(points_model, tmp_path):
    model_path, data_path = points_model
    result = subprocess.run(
        [sys.executable, "-m", "nnframe", "predict", str(model_path), str(data_path)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "label" and len(result.stdout.splitlines()) == 81
