"""The nnframe command: training runs, and every error path is one line with exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nnframe.cli import main


def test_train_on_a_small_csv_prints_the_held_out_accuracy(tmp_path, capsys):
    path = tmp_path / "points.csv"
    rows = ["a,b,label"] + [
        f"{i % 7},{(i * 3) % 5},{'yes' if i % 7 > 3 else 'no'}" for i in range(80)
    ]
    path.write_text("\n".join(rows) + "\n")
    plot = tmp_path / "curve.png"
    code = main(
        [
            "train",
            "--data",
            str(path),
            "--epochs",
            "40",
            "--hidden",
            "8",
            "--lr",
            "0.01",
            "--plot",
            str(plot),
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "points.csv (binary)" in out and "epoch 40/40" in out
    accuracy = float(out.split("test accuracy: ")[1].split()[0])
    assert accuracy >= 0.9
    assert plot.stat().st_size > 1000


def test_train_resmlp_on_digits_reaches_97_percent(tmp_path, capsys):
    out_file = tmp_path / "resmlp.safetensors"
    assert main(["train", "--model", "resmlp", "--no-progress", "--out", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "model: Linear(64 -> 128) -> Residual(LayerNorm(" in out
    accuracy = float(out.split("test accuracy: ")[1].split()[0])
    assert accuracy >= 0.97, out
    assert main(["evaluate", str(out_file), "--data", "digits"]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_train_regression_reports_the_mean_squared_error(tmp_path, capsys):
    path = tmp_path / "line.csv"
    path.write_text("x,y\n" + "".join(f"{i / 10},{i / 5 + 0.25}\n" for i in range(60)))
    assert main(["train", "--data", str(path), "--epochs", "5", "--no-progress"]) == 0
    assert "test mean squared error" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["train", "--epochs", "0"], "--epochs: must be positive"),
        (["train", "--epochs", "many"], "--epochs: expected a int"),
        (["train", "--hidden", "64,x"], "--hidden"),
        (["train", "--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
        (["train", "--bogus"], "unrecognized arguments: --bogus"),
        (["fly"], "invalid choice: 'fly'"),
        (["train", "--data", "mnist"], "mnist"),
        (["train", "--data", "/no/such/file.csv"], "file.csv"),
        (["train", "--data", "iris", "--test-size", "1.5"], "test_size"),
        (["train", "--model", "resnet"], "invalid choice: 'resnet'"),
        (["train", "--model", "resmlp", "--hidden", "64,32"], "one width for --model resmlp"),
        (["train", "--model", "resmlp", "--blocks", "-1"], "--blocks: must be 0 or more"),
    ],
)
def test_bad_flags_and_files_exit_2_with_one_line(argv, fragment, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert fragment in lines[0] and lines[0].startswith("nnframe")
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("plot", "fragment"),
    [("no/such/folder/c.png", "the folder 'no/such/folder' does not exist"),
     ("curves.xyz", "the format 'xyz'"), (".", "is a folder")],
)
def test_a_bad_plot_path_exits_2_before_training(plot, fragment, capsys):
    assert main(["train", "--epochs", "1", "--plot", plot, "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing was loaded or trained
    assert captured.err.startswith("nnframe train: error: --plot") and fragment in captured.err


def test_a_bad_csv_exits_2(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3\n")
    assert main(["train", "--data", str(path)]) == 2
    assert "bad.csv" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "train" in capsys.readouterr().out


def test_python_dash_m_nnframe_is_the_same_command():
    result = subprocess.run(
        [sys.executable, "-m", "nnframe", "train", "--epochs", "zero"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--epochs" in result.stderr


def test_a_closed_output_pipe_ends_quietly():
    with subprocess.Popen(
        [sys.executable, "-m", "nnframe", "train", "--epochs", "3", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as process:
        assert process.stdout.readline().startswith("data: digits")
        process.stdout.close()  # like `nnframe train | head -1`
        assert process.wait(timeout=60) == 0
        assert process.stderr.read() == ""


def test_running_out_of_memory_is_one_line_with_exit_2(monkeypatch, capsys):
    # Layers that pass the memory check whose activations do not fit: a MemoryError in
    # the middle of training is reported like any other error, not as a traceback.
    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("nnframe.training.trainer.Trainer.train_step", no_memory)
    assert main(["train", "--epochs", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "out of memory" in err[0] and "--hidden" in err[0]
