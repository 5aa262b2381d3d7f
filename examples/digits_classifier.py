"""Classify handwritten digits with a multi-layer perceptron.

The digits data set (1,797 8x8 images, shipped with nnframe) split into training and
test rows; an MLP with softmax cross-entropy trained by Adam, with a validation split and
early stopping; then the held-out accuracy and the confusion matrix.

    python examples/digits_classifier.py                    # about 0.97 test accuracy
    python examples/digits_classifier.py --epochs 2         # a quick smoke run
    python examples/digits_classifier.py --plot curves.png  # learning curves (matplotlib)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import nnframe as nf
from nnframe.training import EarlyStopping


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=60, help="at most this many (default 60)")
    parser.add_argument("--hidden", default="128", help="hidden sizes, e.g. 128,64 (default 128)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="PATH", help="save the learning curves (PNG)")
    return parser.parse_args(argv)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(matrix, (true, predicted), 1)
    return matrix


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    data = nf.datasets.load("digits", rng=args.seed)
    print(data)

    hidden = [int(size) for size in args.hidden.split(",") if size]
    model = nf.mlp([data.n_features, *hidden, data.n_outputs], rng=args.seed)  # logits out
    print(model.summary(data.n_features))

    trainer = nf.Trainer(
        model,
        nf.CrossEntropyLoss(),
        nf.Adam(model.parameters(), lr=args.lr),
        metrics=["accuracy"],
    )
    stopper = EarlyStopping(monitor="val_loss", patience=8)  # restores the best weights
    history = trainer.fit(
        data.x_train, data.y_train,
        epochs=args.epochs, batch_size=args.batch_size,
        validation_split=0.15, callbacks=[stopper],
        rng=args.seed, progress=False,
    )
    best = stopper.best_epoch
    where = "" if best is None else f", best val_loss at epoch {best + 1}"
    print(f"trained {len(history.epoch)} epochs{where}")

    results = trainer.evaluate(data.x_test, data.y_test)
    print(f"test accuracy: {results['accuracy']:.4f} (test loss {results['loss']:.4f})")

    predicted = trainer.predict(data.x_test).argmax(axis=1)
    matrix = confusion_matrix(data.y_test, predicted, data.n_classes)
    print("confusion matrix (rows: true digit, columns: predicted digit):")
    print("     " + " ".join(f"{name:>3}" for name in data.class_names))
    for name, row in zip(data.class_names, matrix, strict=True):
        print(f"{name:>3}  " + " ".join(f"{count:>3}" for count in row))

    if args.plot:
        history.plot(args.plot)
        print(f"learning curves saved to {args.plot}")
    print(f"wall time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
