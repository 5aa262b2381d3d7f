"""The ``nnframe`` command: train a model on a bundled data set or a CSV file."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn

from nnframe import datasets, losses, optim
from nnframe.callbacks import Callback
from nnframe.errors import NnframeError, TrainingDivergedError
from nnframe.models import ACTIVATIONS, mlp
from nnframe.training import Trainer

__all__ = ["main"]

OPTIMIZERS = {
    "sgd": (optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    "adam": (optim.Adam, {"lr": 1e-3}),
    "adamw": (optim.AdamW, {"lr": 1e-3}),
    "rmsprop": (optim.RMSprop, {"lr": 1e-3}),
}


class UsageError(Exception):
    """A bad command line: reported in one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def _hidden_sizes(text: str) -> list[int]:
    if not text.strip():
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive ints such as 64,32; got {text!r}"
        ) from None
    if any(size <= 0 for size in sizes):
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive; got {text!r}")
    return sizes


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}; got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive; got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _parser() -> _Parser:
    parser = _Parser(
        prog="nnframe",
        description="Train and use neural networks built with nnframe.",
    )
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    train = commands.add_parser(
        "train",
        help="train an MLP on a data set and report held-out results",
        description=(
            "Train a multi-layer perceptron on a bundled data set "
            f"({', '.join(datasets.NAMES)}) or a CSV file, then report the held-out "
            "test results. With no options: the digits data set."
        ),
    )
    train.add_argument("--data", default="digits", help="bundled name or PATH.csv (default digits)")
    train.add_argument("--target", help="target column of a CSV file (default: the last)")
    train.add_argument(
        "--hidden", type=_hidden_sizes, default=[256],
        help="hidden layer sizes, comma-separated, e.g. 64,32 (default 256)",
    )
    train.add_argument(
        "--activation", choices=sorted(ACTIVATIONS), default="relu",
        help="hidden activation (default relu)",
    )
    train.add_argument("--epochs", type=_positive(int), default=60, help="default 60")
    train.add_argument("--batch-size", type=_positive(int), default=64, help="default 64")
    train.add_argument(
        "--optimizer", choices=sorted(OPTIMIZERS), default="adam", help="default adam"
    )
    train.add_argument("--lr", type=_positive(float), help="learning rate (default per optimizer)")
    train.add_argument("--seed", type=int, default=0, help="seed for data split and weights")
    train.add_argument("--test-size", type=float, default=0.2, help="held-out fraction")
    train.add_argument("--plot", metavar="PATH", help="save the learning curves to PATH (PNG)")
    train.add_argument(
        "--no-progress", action="store_true", help="no progress bars, one line per epoch"
    )
    return parser


def _loss_for(task: str) -> tuple[Any, str | None]:
    if task == "binary":
        return losses.BCELoss(), "sigmoid"
    if task == "multiclass":
        return losses.CrossEntropyLoss(), None
    return losses.MSELoss(), None


def _train(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    data = datasets.load(args.data, target=args.target, test_size=args.test_size, rng=args.seed)
    outputs = data.n_outputs
    loss, output_activation = _loss_for(data.task)
    model = mlp(
        [data.n_features, *args.hidden, outputs],
        hidden_activation=args.activation,
        output_activation=output_activation,
        rng=args.seed,
    )
    optimizer_class, settings = OPTIMIZERS[args.optimizer]
    if args.lr is not None:
        settings = {**settings, "lr": args.lr}
    optimizer = optimizer_class(model.parameters(), **settings)
    metric = [] if data.task == "regression" else ["accuracy"]
    trainer = Trainer(model, loss, optimizer, metrics=metric)
    print(
        f"data: {data.name} ({data.task}), {len(data.x_train)} training and "
        f"{len(data.x_test)} test examples, {data.n_features} features"
        + (f", {data.n_classes} classes" if data.task != "regression" else "")
    )
    print(f"model: {' -> '.join(repr(layer) for layer in model)}")
    print(f"training: {args.epochs} epochs, batch {args.batch_size}, {args.optimizer} {settings}")
    bars = not args.no_progress and sys.stderr.isatty()
    history = trainer.fit(
        data.x_train, data.y_train, epochs=args.epochs, batch_size=args.batch_size,
        rng=args.seed, progress=bars, callbacks=[] if bars else [_EpochLines(args.epochs)],
    )
    results = trainer.evaluate(data.x_test, data.y_test)
    elapsed = time.perf_counter() - started
    if data.task == "regression":
        print(f"test mean squared error: {results['loss']:.4f}")
    else:
        print(f"test accuracy: {results['accuracy']:.4f} (test loss {results['loss']:.4f})")
    print(f"wall time: {elapsed:.1f} s")
    if args.plot:
        history.plot(args.plot)
        print(f"learning curves saved to {args.plot}")
    return 0


class _EpochLines(Callback):
    """Print one line per epoch where no progress bar is shown."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        values = "  ".join(f"{name} {value:.4f}" for name, value in logs.items())
        print(f"epoch {epoch + 1}/{self.epochs}  {values}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nnframe`` command with ``argv`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 when training diverged, 2 for a bad command line, data set or file
        (reported in one line on stderr, never as a traceback).
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        return _train(args)
    except UsageError as error:
        print(error, file=sys.stderr)
        return 2
    except TrainingDivergedError as error:
        print(f"nnframe {args.command}: training diverged: {error}", file=sys.stderr)
        return 1
    except (NnframeError, OSError) as error:
        print(f"nnframe {args.command}: error: {error}", file=sys.stderr)
        return 2
