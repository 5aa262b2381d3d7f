"""Every script in examples/ runs with small settings, exits 0 and prints what it promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# Warnings are errors, as in the test suite, except deprecations raised by third-party
# imports (a subprocess does not see pytest's filterwarnings).
PYTHON = [sys.executable, "-W", "error", "-W", "ignore::DeprecationWarning"]

# script -> (small-settings arguments, patterns that must each match a line of its output)
RUNS: dict[str, tuple[list[str], list[str]]] = {
    "digits_classifier.py": (
        ["--epochs", "2", "--plot", "curves.png"],
        [r"^trained 2 epochs", r"^test accuracy: 0\.\d{4} \(test loss \d+\.\d{4}\)$",
         r"^confusion matrix", r"^  9 ", r"^learning curves saved to curves\.png$"],
    ),
    "digits_cnn.py": (
        ["--epochs", "2"],
        [r"^digits: 1437 training and 360 test images of shape \(1, 8, 8\)$",
         r"\(batch, 16, 8, 8\)", r"\(batch, 32, 2, 2\)", r"^trained 2 epochs$",
         r"^test accuracy: 0\.\d{4} \(test loss \d+\.\d{4}\)$", r"^wall time: "],
    ),
    "breast_cancer_course_architecture.py": (
        ["--iterations", "200", "--epochs", "3"],
        [r"^layers_dims = \[30, 20, 7, 5, 1\]$",
         r"^1\. stepwise\.L_layer_model: train accuracy 0\.\d{4}, test accuracy 0\.\d{4}$",
         # The framework loop computes the course's costs, to rounding.
         r"^2\. Sequential \+ BCELoss \+ SGD: test accuracy 0\.\d{4}; largest cost difference "
         r"from the course's loop: (0\.0e\+00|\d\.\de-(1[3-9]|[2-9]\d))$",
         r"^3\. Trainer \(Adam, batches of 32, 3 epochs\): test accuracy 0\.\d{4}"],
    ),
    "custom_layer.py": (
        ["--epochs", "1"],
        [r"^ok test_prelu_gradients_match_finite_differences$",
         r"^ok test_gradcheck_catches_the_planted_bug$",
         r"^ok test_prelu_passes_the_layer_contract$",
         r"^digits, 64 hidden units with PReLU: test accuracy 0\.\d{4}$",
         r"^learned slopes: mean"],
    ),
    "regularization.py": (
        ["--seeds", "1", "--epochs", "3"],
        [r"^digits: 179 training rows, 1618 test rows$",
         r"^no regularisation +\d\.\d{3} +\d\.\d{3} +\d+\.\d{3}",
         r"^L2: weight_decay=0\.003 \(lambd=0\.54\) +\d\.\d{3}",
         r"^dropout: p=0\.3 \(keep_prob=0\.70\) +\d\.\d{3}",
         r"^L2 \+ dropout: test accuracy [+-]\d+\.\d points against no regularisation"],
    ),
    "resume_from_checkpoint.py": (
        ["--epochs", "3", "--stop-after", "1"],
        [r"^interrupted after 1 epochs",
         r"^resumed: epochs 2 to 3; the history holds all 3 epochs$",
         r"^same weights as the uninterrupted run, bit for bit: True$",
         r"^a model given the checkpoint's weights computes what the resumed model computes: "
         r"True$"],
    ),
}


def run(script: str, *args: str, cwd: Path) -> str:
    result = subprocess.run(
        [*PYTHON, str(EXAMPLES / script), *args],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )
    assert result.returncode == 0, (
        f"{script} {' '.join(args)} exited with {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result.stdout


def test_every_example_has_a_run():
    scripts = sorted(path.name for path in EXAMPLES.glob("*.py"))
    assert scripts == sorted(RUNS), "add each script in examples/ to RUNS, with its output"


@pytest.mark.parametrize("script", sorted(RUNS))
def test_example_runs_and_prints_its_results(script, tmp_path):
    args, patterns = RUNS[script]
    output = run(script, *args, cwd=tmp_path)
    lines = output.splitlines()
    for pattern in patterns:
        assert any(re.search(pattern, line) for line in lines), (
            f"{script}: no line matches {pattern!r}; the output was:\n{output}"
        )
    assert "FAILED" not in output
    if script == "digits_classifier.py":
        assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

