"""nnframe train --model cnn on the digits images; evaluate and predict with the saved model."""

from __future__ import annotations

import numpy as np
import pytest

from nnframe import serialization
from nnframe.cli import main
from nnframe.data.bundled import read_bundled
from nnframe.data.preprocessing import PREPROCESSING_KEY, Preprocessing


def test_train_cnn_on_digits_then_evaluate_and_predict(tmp_path, capsys):
    out_file = tmp_path / "cnn.safetensors"
    argv = ["train", "--model", "cnn", "--epochs", "3", "--no-progress", "--out", str(out_file)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "64 features as images (1, 8, 8), 10 classes" in out
    assert (
        "model: Conv2d(1, 16, kernel_size=(5, 5), padding='same') -> ReLU() -> "
        "MaxPool2d(kernel_size=(2, 2), stride=(2, 2)) -> Conv2d(16, 32" in out
    )
    assert "-> Flatten() -> Linear(128 -> 64) -> ReLU() -> Linear(64 -> 10)\n" in out
    accuracy = float(out.split("test accuracy: ")[1].split()[0])
    assert accuracy > 0.8, out
    assert "wall time: " in out

    record = Preprocessing.from_json(
        serialization.read_metadata(out_file)[PREPROCESSING_KEY], str(out_file)
    )
    assert record.input_shape == (1, 8, 8)
    assert main(["evaluate", str(out_file), "--data", "digits"]) == 0
    assert f"accuracy: {accuracy:.4f}" in capsys.readouterr().out  # the same test split

    x, y, features, _ = read_bundled("digits")
    rows = tmp_path / "rows.csv"
    rows.write_text(",".join(features) + "\n" + "".join(
        ",".join(f"{v:g}" for v in row) + "\n" for row in x[:40]
    ))
    assert main(["predict", str(out_file), str(rows)]) == 0
    predicted = capsys.readouterr().out.split()[1:]
    assert len(predicted) == 40
    assert np.mean(np.array(predicted, dtype=int) == y[:40]) > 0.8


def test_channels_and_hidden_shape_the_cnn(capsys):
    argv = ["train", "--model", "cnn", "--channels", "4", "--hidden", "8", "--epochs", "1",
            "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Conv2d(1, 4, kernel_size=(5, 5), padding='same')" in out
    assert "Linear(64 -> 8) -> ReLU() -> Linear(8 -> 10)" in out  # 4 channels of 4x4


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--data", "iris"], "--model cnn: the data set 'iris' is a table, not images"),
        (["--hidden", "64,32"], "--hidden takes one width for --model cnn"),
        (["--channels", ""], "--channels needs at least one size"),
        (["--channels", "8,x"], "--channels"),
        (["--channels", "4,4,4,4"], "too small for 4 poolings"),
    ],
)
def test_bad_cnn_options_exit_2_with_one_line(argv, fragment, capsys):
    assert main(["train", "--model", "cnn", "--epochs", "1", *argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], captured.err
    assert lines[0].startswith("nnframe train: error:")


def test_channels_without_cnn_exits_2(capsys):
    assert main(["train", "--channels", "8"]) == 2
    assert "--channels applies to --model cnn only" in capsys.readouterr().err
