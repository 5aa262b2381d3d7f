"""The course's regularisation lesson on real data: a network that overfits, then L2 and dropout.

A 64-128-128-10 network (26,122 parameters) trained on only 179 handwritten digits fits
its training rows perfectly and does worse on the 1,618 held-out ones. The same network
and training run, with the course's two remedies:

- L2 regularisation: the optimizer's ``weight_decay`` adds ``weight_decay * W`` to each
  gradient, which is the course's ``lambd / m * W`` with ``lambd = weight_decay * m``
  (nnframe also decays the biases, which the course leaves alone);
- dropout: ``nf.Dropout(p)`` after each hidden ReLU, the course's ``keep_prob = 1 - p``
  (inverted dropout, as in the course: evaluation needs no rescaling).

Every setting runs with the same seeds (initial weights, dropout masks, batch order) and
the script prints the mean over them and each seed's test accuracy, so the comparison is
not one lucky draw. Read the test loss as well as the accuracy: in this setting L2 improves
both, while dropout raises the accuracy about as much but leaves the test cross-entropy
higher than without regularisation (better decisions, worse probabilities).

    python examples/regularization.py                      # 3 seeds, 200 epochs each
    python examples/regularization.py --seeds 1 --epochs 5  # a quick run
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits  # installed with scikit-learn

import nnframe as nf

HIDDEN = (128, 128)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=200, help="default 200")
    parser.add_argument("--seeds", type=int, default=3, help="runs per setting (default 3)")
    parser.add_argument("--lr", type=float, default=0.02, help="SGD learning rate (0.02)")
    parser.add_argument("--weight-decay", type=float, default=3e-3, help="L2 (default 3e-3)")
    parser.add_argument("--dropout", type=float, default=0.3, help="dropout p (default 0.3)")
    parser.add_argument(
        "--test-size", type=float, default=0.9,
        help="held-out fraction (default 0.9: few training rows, so the network overfits)",
    )
    return parser.parse_args(argv)


def build(n_inputs: int, n_outputs: int, dropout: float, seed: int) -> nf.Sequential:
    generator = np.random.default_rng(seed)  # weights and dropout masks, in order
    layers: list[nf.Layer] = []
    for fan_in, fan_out in zip((n_inputs, *HIDDEN), HIDDEN, strict=False):
        layers += [nf.Linear(fan_in, fan_out, rng=generator), nf.ReLU()]
        if dropout > 0:
            layers.append(nf.Dropout(dropout, rng=generator))
    layers.append(nf.Linear(HIDDEN[-1], n_outputs, rng=generator))
    return nf.Sequential(*layers)


def run(data: nf.datasets.Dataset, args: argparse.Namespace, *, weight_decay: float,
        dropout: float, seed: int) -> tuple[float, float, float]:
    model = build(data.n_features, data.n_outputs, dropout, seed)
    optimizer = nf.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=weight_decay)
    trainer = nf.Trainer(model, nf.CrossEntropyLoss(), optimizer, metrics=["accuracy"])
    trainer.fit(data.x_train, data.y_train, epochs=args.epochs, batch_size=32, rng=seed,
                progress=False)
    train = trainer.evaluate(data.x_train, data.y_train)  # evaluation mode: no dropout
    test = trainer.evaluate(data.x_test, data.y_test)
    return train["accuracy"], test["accuracy"], test["loss"]


def compare(data: nf.datasets.Dataset, args: argparse.Namespace) -> dict[str, np.ndarray]:
    """Train every setting with every seed and print a table of the results.

    Returns ``{setting: array of (train accuracy, test accuracy, test loss) per seed}``.
    """
    m = len(data.x_train)
    lambd = args.weight_decay * m
    keep_prob = 1 - args.dropout
    settings = {
        "no regularisation": (0.0, 0.0),
        f"L2: weight_decay={args.weight_decay:g} (lambd={lambd:.2f})": (args.weight_decay, 0.0),
        f"dropout: p={args.dropout:g} (keep_prob={keep_prob:.2f})": (0.0, args.dropout),
        "L2 + dropout": (args.weight_decay, args.dropout),
    }
    width = max(map(len, settings))
    print()
    print(f"{'setting':<{width}}  train acc  test acc  test loss  test acc per seed")
    results = {}
    for name, (weight_decay, dropout) in settings.items():
        runs = np.array([
            run(data, args, weight_decay=weight_decay, dropout=dropout, seed=seed)
            for seed in range(args.seeds)
        ])
        results[name] = runs
        train_acc, test_acc, test_loss = runs.mean(axis=0)
        per_seed = " ".join(f"{value:.3f}" for value in runs[:, 1])
        print(f"{name:<{width}}  {train_acc:9.3f}  {test_acc:8.3f}  {test_loss:9.3f}  {per_seed}",
              flush=True)
    return results


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    data = nf.datasets.load("digits", rng=0, test_size=args.test_size)
    m = len(data.x_train)
    n_parameters = sum(p.size for p in build(data.n_features, data.n_outputs, 0, 0).parameters())
    print(f"digits: {m} training rows, {len(data.x_test)} test rows")
    print(f"model: {' -> '.join(map(str, (data.n_features, *HIDDEN, data.n_outputs)))} "
          f"with ReLU, {n_parameters:,} parameters; SGD(lr={args.lr}, momentum=0.9), "
          f"batches of 32, {args.epochs} epochs; mean over {args.seeds} seed(s)")

    # Many small networks (batches of 32, widths of 128): multithreaded BLAS spends more
    # on synchronising its threads than it saves on matrices this small, and far more on a
    # busy machine (ten times slower was measured on two shared cores). One thread is faster.
    with threadpool_limits(limits=1, user_api="blas"):
        results = compare(data, args)

    print()
    baseline = results["no regularisation"][:, 1]
    for name, runs in list(results.items())[1:]:
        gain = 100 * (runs[:, 1].mean() - baseline.mean())
        better = int(np.sum(runs[:, 1] > baseline))
        print(f"{name}: test accuracy {gain:+.1f} points against no regularisation, "
              f"higher for {better} of {args.seeds} seed(s)")
    print(f"wall time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
