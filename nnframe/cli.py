"""The ``nnframe`` command: train, save, evaluate and predict with models from the shell."""

from __future__ import annotations

import argparse
import csv
import difflib
import io as text_io
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from nnframe import losses, metrics, optim
from nnframe import serialization as io
from nnframe.checks import file_path
from nnframe.data import datasets
from nnframe.data.preprocessing import PREPROCESSING_KEY, Preprocessing
from nnframe.data.tables import read_table
from nnframe.errors import (
    ArgumentError,
    DataError,
    NnframeError,
    SerializationError,
    TrainingDivergedError,
    one_line,
)
from nnframe.grad_mode import no_grad
from nnframe.layers import Layer, Linear, Sequential
from nnframe.models import ACTIVATIONS, cnn, mlp, resmlp
from nnframe.training import Callback, Trainer
from nnframe.training.history import figure_file

__all__ = ["main"]

OPTIMIZERS = {
    "sgd": (optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    "adam": (optim.Adam, {"lr": 1e-3}),
    "adamw": (optim.AdamW, {"lr": 1e-3}),
    "rmsprop": (optim.RMSprop, {"lr": 1e-3}),
}


CNN_STANDARDIZE = "channel"
"""How ``--model cnn`` standardises the pixels (see ``nnframe.datasets.load``)."""


class UsageError(Exception):
    """A bad command line: reported in one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {_did_you_mean(message)} (see {self.prog} --help)")


def _did_you_mean(message: str) -> str:
    """Add the closest choice to argparse's "invalid choice: 'x' (choose from ...)"."""
    if "invalid choice: " not in message or "(choose from " not in message:
        return message
    given = message.split("invalid choice: ", 1)[1].split(" (choose from ", 1)[0].strip("'\"")
    choices = [
        c.strip().strip("'\"")
        for c in message.split("(choose from ", 1)[1].rstrip(")").split(",")
    ]
    close = difflib.get_close_matches(given, choices, n=1)
    return f"{message} (did you mean {close[0]!r}?)" if close else message


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more; got {text!r}")
    return value


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
        help="train an MLP or a CNN on a data set and report held-out results",
        description=(
            "Train a multi-layer perceptron (or a residual MLP, or a convolutional network "
            "on images) on a bundled data set "
            f"({', '.join(datasets.NAMES)}) or a CSV file, then report the held-out "
            "test results. With no options: an MLP on the digits data set."
        ),
    )
    train.add_argument("--data", default="digits", help="bundled name or PATH.csv (default digits)")
    train.add_argument("--target", help="target column of a CSV file (default: the last)")
    train.add_argument(
        "--model", choices=("mlp", "resmlp", "cnn"), default="mlp",
        help="mlp: Linear and activation layers (default); resmlp: pre-norm residual blocks "
        "(nnframe.resmlp); cnn: convolution blocks on the data set's images, e.g. digits "
        "as (1, 8, 8) (nnframe.cnn)",
    )
    train.add_argument(
        "--hidden", type=_hidden_sizes, default=None,
        help="mlp: hidden layer sizes, comma-separated, e.g. 64,32 (default 256); resmlp: "
        "the width of the residual stream (default 128); cnn: the width of the dense layer "
        "after the convolutions (default 64)",
    )
    train.add_argument(
        "--channels", type=_hidden_sizes, default=None,
        help="cnn: the output channels of each Conv2d-ReLU-MaxPool2d block, comma-separated "
        "(default 16,32)",
    )
    train.add_argument(
        "--blocks", type=_non_negative_int, default=2,
        help="resmlp: the number of residual blocks (default 2)",
    )
    train.add_argument(
        "--activation", choices=sorted(ACTIVATIONS), default="relu",
        help="mlp: hidden activation (default relu)",
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
    train.add_argument(
        "--out", metavar="PATH",
        help="save the trained model, with what evaluate and predict need to prepare new "
        "data, to PATH (.safetensors)",
    )

    evaluate = commands.add_parser(
        "evaluate",
        help="report a saved model's loss and accuracy on data",
        description=(
            "Load a model saved by `nnframe train --out` and report its loss (and accuracy, "
            "for classification) on a bundled data set's test split (same seed and test "
            "size as in training) or on every row of a CSV file, prepared as in training."
        ),
    )
    evaluate.add_argument("model", help="a model file written by nnframe train --out")
    evaluate.add_argument("--data", required=True, help="bundled name or PATH.csv")
    evaluate.add_argument(
        "--target", help="target column of a CSV file (default: the training target's name)"
    )

    predict = commands.add_parser(
        "predict",
        help="predict with a saved model on the rows of a CSV file",
        description=(
            "Load a model saved by `nnframe train --out` and predict one value per row of "
            "a CSV file (class names for classification, numbers for regression). The file "
            "needs the training feature columns, by name; other columns are ignored."
        ),
    )
    predict.add_argument("model", help="a model file written by nnframe train --out")
    predict.add_argument("input", help="a CSV file with the feature columns")
    predict.add_argument(
        "--output", metavar="PATH", help="write the predictions to PATH as CSV (default: print)"
    )
    predict.add_argument(
        "--proba", action="store_true",
        help="classification: write each class's probability, one column per class named "
        "by the class, instead of the predicted class",
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
    if args.out is not None:
        _check_out(args.out)
    plot_file = figure_file(args.plot, "--plot") if args.plot else None
    images = args.model == "cnn"
    if not images and args.channels is not None:
        raise UsageError(
            "nnframe train: error: --channels applies to --model cnn only "
            "(see nnframe train --help)"
        )
    data = datasets.load(args.data, target=args.target, test_size=args.test_size, rng=args.seed)
    if images:
        if data.image_shape is None:
            raise DataError(
                f"--model cnn: the data set {data.name!r} is a table, not images (no image "
                f"shape); use an image data set ({', '.join(datasets.IMAGE_SHAPES)}) or "
                "--model mlp"
            )
        data = datasets.load(
            args.data, test_size=args.test_size, rng=args.seed, standardize=CNN_STANDARDIZE
        )
    x_train, x_test = (data.images("train"), data.images("test")) if images else (
        data.x_train, data.x_test
    )
    outputs = data.n_outputs
    loss, output_activation = _loss_for(data.task)
    model = _build_model(args, data, outputs, output_activation)
    optimizer_class, settings = OPTIMIZERS[args.optimizer]
    if args.lr is not None:
        settings = {**settings, "lr": args.lr}
    optimizer = optimizer_class(model.parameters(), **settings)
    metric = [] if data.task == "regression" else ["accuracy"]
    trainer = Trainer(model, loss, optimizer, metrics=metric)
    y_train, scale = data.y_train, None
    if data.task == "regression":
        # Train on the standardised target, then fold its mean and scale into the output
        # layer: the saved model predicts in the target's own units.
        scale = (float(y_train.mean()), float(y_train.std()) or 1.0)
        y_train = ((y_train - scale[0]) / scale[1]).astype(y_train.dtype)
    print(
        f"data: {data.name} ({data.task}), {len(data.x_train)} training and "
        f"{len(data.x_test)} test examples, {data.n_features} features"
        + (f" as images {x_train.shape[1:]}" if images else "")
        + (f", {data.n_classes} classes" if data.task != "regression" else "")
    )
    print(f"model: {' -> '.join(_one_line(layer) for layer in model)}")
    print(f"training: {args.epochs} epochs, batch {args.batch_size}, {args.optimizer} {settings}")
    bars = not args.no_progress and sys.stderr.isatty()
    if scale is not None:
        print(
            f"target: standardised for training (mean {scale[0]:.4g}, std {scale[1]:.4g}); "
            "training losses are in those units, test results in the target's"
        )
    history = trainer.fit(
        x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
        rng=args.seed, progress=bars, callbacks=[] if bars else [_EpochLines(args.epochs)],
    )
    if scale is not None:
        _unscale_output(model, *scale)
    results = trainer.evaluate(x_test, data.y_test)
    elapsed = time.perf_counter() - started
    if data.task == "regression":
        r2 = metrics.r2(trainer.predict(x_test), data.y_test)
        print(f"test mean squared error: {results['loss']:.4f}")
        print(f"test R^2: {r2:.4f}")
    else:
        print(f"test accuracy: {results['accuracy']:.4f} (test loss {results['loss']:.4f})")
    print(f"wall time: {elapsed:.1f} s")
    if plot_file is not None:
        history.plot(plot_file)
        print(f"learning curves saved to {plot_file}")
    if args.out is not None:
        record = Preprocessing.from_dataset(
            data, loss, source=args.data, seed=args.seed, test_size=args.test_size,
            input_shape=data.image_shape if images else None,
        )
        io.save(model, args.out, metadata={PREPROCESSING_KEY: record.to_json()})
        print(f"model saved to {args.out}")
    return 0


def _build_model(
    args: argparse.Namespace,
    data: datasets.Dataset,
    outputs: int,
    output_activation: str | None,
) -> Sequential:
    n_features = data.n_features
    if args.model == "cnn":
        return _build_cnn(args, data, outputs, output_activation)
    if args.model == "mlp":
        hidden = [256] if args.hidden is None else args.hidden
        return mlp(
            [n_features, *hidden, outputs],
            hidden_activation=args.activation,
            output_activation=output_activation,
            rng=args.seed,
        )
    if args.hidden is not None and len(args.hidden) != 1:
        raise UsageError(
            "nnframe train: error: --hidden takes one width for --model resmlp (every block "
            f"keeps it); got {','.join(map(str, args.hidden))} (see nnframe train --help)"
        )
    return resmlp(
        n_features,
        outputs,
        width=128 if args.hidden is None else args.hidden[0],
        blocks=args.blocks,
        output_activation=output_activation,
        rng=args.seed,
    )


def _build_cnn(
    args: argparse.Namespace,
    data: datasets.Dataset,
    outputs: int,
    output_activation: str | None,
) -> Sequential:
    assert data.image_shape is not None  # _train refused a table
    if args.hidden is not None and len(args.hidden) != 1:
        raise UsageError(
            "nnframe train: error: --hidden takes one width for --model cnn (the dense layer "
            f"after the convolutions); got {','.join(map(str, args.hidden))} "
            "(see nnframe train --help)"
        )
    if args.channels is not None and not args.channels:
        raise UsageError(
            "nnframe train: error: --channels needs at least one size for --model cnn, "
            "e.g. 16,32 (see nnframe train --help)"
        )
    return cnn(
        data.image_shape,
        outputs,
        channels=(16, 32) if args.channels is None else args.channels,
        hidden=64 if args.hidden is None else args.hidden[0],
        output_activation=output_activation,
        rng=args.seed,
    )


def _unscale_output(model: Sequential, mean: float, std: float) -> None:
    """Make the last Linear predict ``y * std + mean`` where it predicted ``y``."""
    last = model[len(model) - 1]
    if not isinstance(last, Linear):
        raise ArgumentError(f"nnframe train: the model ends in {last!r}, not in a Linear")
    last.weight.value *= std
    if last.bias is not None:
        last.bias.value *= std
        last.bias.value += mean
    else:  # pragma: no cover - the CLI's models always have an output bias
        raise ArgumentError("nnframe train: the output Linear has no bias to shift")


def _one_line(layer: Layer) -> str:
    """A layer on one line: its repr, or its children's, for a container."""
    children = layer.named_children()
    if not children:
        return repr(layer)
    inner = " -> ".join(_one_line(child) for _, child in children)
    return inner if isinstance(layer, Sequential) else f"{type(layer).__name__}({inner})"


def _check_out(out: str) -> None:
    """Fail before training, not after, when the model could not be saved to ``out``."""
    path = Path(file_path(out, "--out"))
    if path.is_dir():
        raise ArgumentError(f"--out: {out} is a directory; give a file name")
    if not path.parent.is_dir():
        raise ArgumentError(f"--out: the folder {path.parent} does not exist")


def _load_model(path: str) -> tuple[Layer, Preprocessing]:
    model, metadata = io.load_with_metadata(path)
    text = metadata.get(PREPROCESSING_KEY)
    if text is None:
        raise SerializationError(
            f"{path}: has no {PREPROCESSING_KEY} record; save models for evaluate and "
            "predict with `nnframe train --out`"
        )
    return model.eval(), Preprocessing.from_json(text, path)


def _outputs(model: Layer, x: np.ndarray) -> np.ndarray:
    with no_grad():
        return np.concatenate([model(x[i : i + 1024]) for i in range(0, len(x), 1024)])


def _evaluate(args: argparse.Namespace) -> int:
    model, prep = _load_model(args.model)
    if str(args.data).lower().endswith(".csv"):
        target = args.target if args.target is not None else prep.target_name
        table = read_table(args.data)
        if target not in table.header:
            close = difflib.get_close_matches(target, table.header, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DataError(
                f"{args.data}: no target column {target!r}{hint} (use --target); its columns "
                f"are {', '.join(map(repr, table.header))}"
            )
        column = table.header.index(target)
        x_raw = datasets.read_features(args.data, prep.feature_names)
        y = prep.encode_labels([row[column] for row in table.rows], table.lines, args.data)
        described = f"{Path(args.data).name}, all {len(y)} rows"
    else:
        data = datasets.load(
            args.data, target=args.target, test_size=prep.test_size, rng=prep.seed,
            standardize=False, dtype=np.float64,
        )
        if data.feature_names != prep.feature_names or data.class_names != prep.class_names:
            raise DataError(
                f"{args.data}: its features or classes are not those the model was trained "
                f"on ({prep.source})"
            )
        x_raw, y = data.x_test, data.y_test
        described = (
            f"{data.name} test split, {len(y)} rows (seed {prep.seed}, test size "
            f"{prep.test_size:g})"
        )
    pred = _outputs(model, prep.transform(x_raw))
    loss = prep.loss_class()
    with no_grad():
        value = loss.forward(pred, y)
    print(f"data: {described}")
    if prep.task == "regression":
        print(f"mean squared error: {value:.4f}")
        print(f"R^2: {metrics.r2(pred, y):.4f}")
    else:
        from_logits = loss.input_kind == "logit"
        print(f"accuracy: {metrics.accuracy(pred, y, from_logits=from_logits):.4f}")
        print(f"loss: {value:.4f}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    model, prep = _load_model(args.model)
    if args.proba and prep.class_names is None:
        raise ArgumentError(
            f"--proba: {args.model} is a regression model; it predicts numbers, not classes"
        )
    x = prep.transform(datasets.read_features(args.input, prep.feature_names))
    pred = _outputs(model, x)
    if args.proba:
        return _write(args.output, *_probabilities(pred, prep))
    if prep.class_names is None:
        values: list[str] = [str(v) for v in pred.reshape(len(pred), -1)[:, 0]]
    else:
        if pred.ndim == 2 and pred.shape[1] > 1:
            codes = pred.argmax(axis=1)
        else:
            threshold = 0.0 if prep.loss_class.input_kind == "logit" else 0.5
            codes = (pred.reshape(-1) > threshold).astype(np.int64)
        values = [prep.class_names[code] for code in codes]
    return _write(args.output, [prep.target_name], [[value] for value in values])


def _probabilities(pred: np.ndarray, prep: Preprocessing) -> tuple[list[str], list[list[str]]]:
    """One column per class, named by the class: the model's class probabilities."""
    assert prep.class_names is not None  # _predict refused --proba for regression
    scores = pred.astype(np.float64).reshape(len(pred), -1)
    if scores.shape[1] > 1:
        if prep.loss_class.input_kind == "logit":  # softmax of the scores
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores /= scores.sum(axis=1, keepdims=True)
        columns = scores
    else:
        positive = scores[:, 0]
        if prep.loss_class.input_kind == "logit":
            positive = 1.0 / (1.0 + np.exp(-positive))
        columns = np.column_stack([1.0 - positive, positive])
    return list(prep.class_names), [[repr(float(v)) for v in row] for row in columns]


def _write(output: str | None, header: list[str], rows: list[list[str]]) -> int:
    buffer = text_io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    if output is None:
        sys.stdout.write(buffer.getvalue())
    else:
        io.write_atomic(output, buffer.getvalue().encode("utf-8"))
        print(f"{len(rows)} predictions written to {output}")
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
        0 on success, 1 when training diverged, 2 for a bad command line, data set, model
        file or CSV file, or running out of memory (reported in one line on stderr, never
        as a traceback).
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        command = {"train": _train, "evaluate": _evaluate, "predict": _predict}[args.command]
        return command(args)
    except BrokenPipeError:
        # The reader went away (``nnframe train | head``): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except UsageError as error:
        print(error, file=sys.stderr)
        return 2
    except TrainingDivergedError as error:
        message = one_line(error, limit=None, separator="; ")
        print(f"nnframe {args.command}: training diverged: {message}", file=sys.stderr)
        return 1
    except (NnframeError, OSError) as error:
        message = one_line(error, limit=None, separator="; ")
        print(f"nnframe {args.command}: error: {message}", file=sys.stderr)
        return 2
    except MemoryError:
        # The layers fit the memory check, but a batch of activations did not.
        print(
            f"nnframe {args.command}: error: out of memory; use smaller layers (--hidden) "
            "or batches (--batch-size)",
            file=sys.stderr,
        )
        return 2
