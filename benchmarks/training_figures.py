"""Held-out accuracy and wall time of the default training runs (the figures the docs quote).

Run with ``python -m benchmarks.training_figures``. Not a test: it prints what it measures.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import nnframe as nf
from nnframe import datasets


def nnframe_train_default(seed: int) -> tuple[float, float]:
    """Run ``nnframe train`` as a user would; return (test accuracy, wall seconds)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "nnframe", "train", "--seed", str(seed), "--no-progress"],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - started
    line = next(row for row in result.stdout.splitlines() if row.startswith("test accuracy"))
    return float(line.split()[2]), elapsed


def breast_cancer(seed: int) -> float:
    """The course's architecture on breast_cancer: sigmoid output, BCELoss, Adam."""
    data = datasets.load("breast_cancer", rng=seed)
    model = nf.mlp([data.n_features, 20, 7, 5, 1], output_activation="sigmoid", rng=seed)
    trainer = nf.Trainer(
        model, nf.BCELoss(), nf.Adam(model.parameters(), lr=1e-3), metrics=["accuracy"]
    )
    trainer.fit(data.x_train, data.y_train, epochs=50, batch_size=32, rng=seed, progress=False)
    return trainer.evaluate(data.x_test, data.y_test)["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    args = parser.parse_args()
    seeds = range(args.seeds)
    print("| run | seed | held-out accuracy | wall time (s) |")
    print("|---|---|---|---|")
    digits, cancer = [], []
    for seed in seeds:
        accuracy, elapsed = nnframe_train_default(seed)
        digits.append(accuracy)
        print(f"| nnframe train (digits, defaults) | {seed} | {accuracy:.4f} | {elapsed:.1f} |")
    for seed in seeds:
        accuracy = breast_cancer(seed)
        cancer.append(accuracy)
        print(
            f"| breast_cancer, [30, 20, 7, 5, 1], BCE + Adam, 50 epochs | {seed} | "
            f"{accuracy:.4f} | |"
        )
    print(f"\ndigits: mean {statistics.mean(digits):.4f}, min {min(digits):.4f}")
    print(f"breast_cancer: mean {statistics.mean(cancer):.4f}, min {min(cancer):.4f}")


if __name__ == "__main__":
    main()
