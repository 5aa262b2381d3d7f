"""Checkpoint a training run every epoch, stop it, and resume it exactly where it stopped.

``ModelCheckpoint`` writes, after every epoch, one safetensors file with everything a run
needs to go on: the weights, the optimizer's state (Adam's moment estimates and step
count), the history so far, and the states of the random Generators (the data shuffling
and the Dropout masks). ``Trainer.fit(..., resume_from=path)`` restores all of it into a
freshly built model and optimizer and trains on to the requested number of epochs.

The script trains one model without interruption, then the same model again, stopped after
``--stop-after`` epochs (as if the process had been killed) and resumed from its last
checkpoint by new objects, and checks that both runs end with the same weights, bit for bit.

    python examples/resume_from_checkpoint.py                          # 20 epochs, stop after 8
    python examples/resume_from_checkpoint.py --epochs 3 --stop-after 1  # a quick run
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import nnframe as nf
from nnframe.training import ModelCheckpoint


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20, help="total epochs (default 20)")
    parser.add_argument("--stop-after", type=int, default=8, help="interrupt here (default 8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", help="where to write checkpoints (default: a temporary folder)")
    args = parser.parse_args(argv)
    if not 0 < args.stop_after < args.epochs:
        parser.error("--stop-after must be between 0 and --epochs")
    return args


def build(n_features: int, n_outputs: int, seed: int) -> tuple[nf.Trainer, nf.Sequential]:
    """A fresh model (with Dropout, so that random state matters) and its Trainer."""
    generator = np.random.default_rng(seed)
    model = nf.Sequential(
        nf.Linear(n_features, 64, rng=generator), nf.ReLU(), nf.Dropout(0.2, rng=generator),
        nf.Linear(64, n_outputs, rng=generator),
    )
    trainer = nf.Trainer(
        model, nf.CrossEntropyLoss(), nf.Adam(model.parameters(), lr=1e-3),
        metrics=["accuracy"],
    )
    return trainer, model


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    data = nf.datasets.load("digits", rng=args.seed)
    fit = dict(batch_size=32, validation_split=0.1, rng=args.seed, progress=False)

    # The reference: one run, never interrupted.
    trainer, reference = build(data.n_features, data.n_outputs, args.seed)
    trainer.fit(data.x_train, data.y_train, epochs=args.epochs, **fit)
    print(f"uninterrupted: {args.epochs} epochs, "
          f"test accuracy {trainer.evaluate(data.x_test, data.y_test)['accuracy']:.4f}")

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.dir or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "digits-last.safetensors"

        # The same run, checkpointed every epoch, stopped early.
        trainer, _ = build(data.n_features, data.n_outputs, args.seed)
        trainer.fit(data.x_train, data.y_train, epochs=args.stop_after,
                    callbacks=[ModelCheckpoint(path)], **fit)
        print(f"interrupted after {args.stop_after} epochs; checkpoint {path.name} "
              f"({path.stat().st_size:,} bytes)")

        # A new process would start here: new objects, built the same way (any seed: the
        # checkpoint overwrites the weights and the Generators' states).
        trainer, resumed = build(data.n_features, data.n_outputs, args.seed + 1)
        history = trainer.fit(data.x_train, data.y_train, epochs=args.epochs,
                              callbacks=[ModelCheckpoint(path)], resume_from=path, **fit)
        print(f"resumed: epochs {args.stop_after + 1} to {args.epochs}; the history holds "
              f"all {len(history.epoch)} epochs")
        print(f"resumed run: test accuracy "
              f"{trainer.evaluate(data.x_test, data.y_test)['accuracy']:.4f}")

        # A checkpoint is also a weights file: load_weights copies its weights into any
        # model of the same shape (after checking every name, shape and dtype).
        _, model = build(data.n_features, data.n_outputs, args.seed + 2)
        nf.load_weights(model, path)
        with nf.no_grad():
            same_outputs = np.array_equal(model.eval()(data.x_test), resumed.eval()(data.x_test))

    identical = all(
        np.array_equal(a, b)
        for a, b in zip(reference.state_dict().values(), resumed.state_dict().values(),
                        strict=True)
    )
    print(f"same weights as the uninterrupted run, bit for bit: {identical}")
    print(f"a model given the checkpoint's weights computes what the resumed model computes: "
          f"{same_outputs}")
    print(f"wall time: {time.perf_counter() - started:.1f} s")
    if not (identical and same_outputs):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
