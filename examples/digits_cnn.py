"""Classify the digits images with a small convolutional network.

The digits data set (1,797 8x8 grey images, shipped with nnframe) loaded as images of
shape (1, 8, 8), standardised per channel; a LeNet-style network built layer by layer
(Conv2d, ReLU, MaxPool2d, Flatten, Linear) trained by Adam; then the held-out accuracy.

    python examples/digits_cnn.py              # about 0.98 test accuracy, a few seconds
    python examples/digits_cnn.py --epochs 2   # a quick smoke run
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import nnframe as nf


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=60, help="default 60")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    data = nf.datasets.load("digits", rng=args.seed, standardize="channel")
    x_train, x_test = data.images("train"), data.images("test")  # (n, 1, 8, 8)
    print(f"{data.name}: {len(x_train)} training and {len(x_test)} test images of shape "
          f"{data.image_shape}")

    # What nf.cnn(data.image_shape, data.n_outputs, rng=args.seed) builds, written out:
    # one generator initialises every layer, first to last.
    rng = np.random.default_rng(args.seed)
    model = nf.Sequential(
        nf.Conv2d(1, 16, 5, padding="same", rng=rng), nf.ReLU(), nf.MaxPool2d(2),
        nf.Conv2d(16, 32, 5, padding="same", rng=rng), nf.ReLU(), nf.MaxPool2d(2),
        nf.Flatten(),  # (batch, 32, 2, 2) -> (batch, 128)
        nf.Linear(32 * 2 * 2, 64, rng=rng), nf.ReLU(),
        nf.Linear(64, data.n_outputs, rng=rng),
    )
    print(model.summary(data.image_shape))

    trainer = nf.Trainer(
        model, nf.CrossEntropyLoss(), nf.Adam(model.parameters(), lr=args.lr),
        metrics=["accuracy"],
    )
    trainer.fit(x_train, data.y_train, epochs=args.epochs, batch_size=args.batch_size,
                rng=args.seed, progress=False)
    results = trainer.evaluate(x_test, data.y_test)
    print(f"trained {args.epochs} epochs")
    print(f"test accuracy: {results['accuracy']:.4f} (test loss {results['loss']:.4f})")
    print(f"wall time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
