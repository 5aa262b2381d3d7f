"""History: the per-epoch records of a training run, and their learning-curve plot."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from nnframe.checks import file_path, is_integer, is_real
from nnframe.errors import ArgumentError, ArgumentTypeError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["History", "figure_file"]


@attrs.define
class History:
    """Per-epoch records of a :meth:`Trainer.fit` run.

    Parameters
    ----------
    history : dict of str to list of float
        ``"loss"``, ``"val_loss"`` and each metric (``"accuracy"``, ``"val_accuracy"``)
        mapped to one value per epoch: for the last epochs when a name was logged only
        from some epoch on, so a list is never longer than ``epoch``.
    epoch : list of int
        The epoch numbers recorded, counting from 0, in increasing order.

    Raises
    ------
    ArgumentError, ArgumentTypeError
        When ``history`` is not a dict of str to lists of real numbers no longer than
        ``epoch``, or ``epoch`` is not a list of increasing ints ``>= 0``.

    Examples
    --------
    >>> history = History()
    >>> history.record(0, {"loss": 0.7, "val_loss": 0.8})
    >>> history.record(1, {"loss": 0.5, "val_loss": 0.6})
    >>> history.history["val_loss"]
    [0.8, 0.6]
    """

    history: dict[str, list[float]] = attrs.field(factory=dict)
    epoch: list[int] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        _check_epochs(self.epoch, "History: epoch")
        _check_series(self.history, len(self.epoch), "History: history")

    def record(self, epoch: int, logs: dict[str, float]) -> None:
        """Append one epoch's values.

        Raises
        ------
        ArgumentError, ArgumentTypeError
            For an ``epoch`` that is not an int after the last one recorded, or ``logs``
            that are not a dict of names to numbers; nothing is recorded.
        """
        if not is_integer(epoch):
            raise ArgumentTypeError(
                f"History.record: epoch must be an int; got {type(epoch).__name__}"
            )
        _check_epochs([*self.epoch[-1:], epoch], "History.record: epoch")
        if not isinstance(logs, Mapping):
            raise ArgumentTypeError(
                f"History.record: logs must be a dict of names to numbers; got "
                f"{type(logs).__name__}"
            )
        for name, value in logs.items():
            if not isinstance(name, str):
                raise ArgumentTypeError(
                    f"History.record: logs names must be str; got {type(name).__name__}"
                )
            if not is_real(value):
                raise ArgumentTypeError(
                    f"History.record: logs[{name!r}] must be a real number; got "
                    f"{type(value).__name__}"
                )
        self.epoch.append(int(epoch))
        for name, value in logs.items():
            self.history.setdefault(name, []).append(float(value))

    def plot(self, path: str | os.PathLike[str] | None = None) -> Figure:
        """Draw the learning curves: one panel per quantity, training and validation.

        Parameters
        ----------
        path : str or path-like, optional
            Where to save the figure, in the format its extension names (``.png``,
            ``.svg``, ``.pdf``, ...); ``.png`` is added when it has none. The folder must
            exist.

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        ImportError
            When matplotlib is not installed (``pip install "nnframe[plot]"``).
        ArgumentError, ArgumentTypeError
            When ``path`` is not a usable file name, names a format matplotlib cannot
            write, or lies in a folder that does not exist; before anything is drawn.
        """
        if path is not None:
            path = figure_file(path, "History.plot: path")
        figure_class = _matplotlib_figure()
        quantities = [name for name in self.history if not name.startswith("val_")]
        quantities += [
            name[4:] for name in self.history
            if name.startswith("val_") and name[4:] not in quantities
        ]
        figure = figure_class(figsize=(5 * max(1, len(quantities)), 3.6), layout="constrained")
        axes = figure.subplots(1, max(1, len(quantities)), squeeze=False)[0]
        epochs = [e + 1 for e in self.epoch]
        for ax, name in zip(axes, quantities, strict=False):
            for key, label in ((name, "training"), (f"val_{name}", "validation")):
                if key in self.history:
                    values = self.history[key]  # logged for the last len(values) epochs
                    ax.plot(epochs[len(epochs) - len(values) :], values, marker=".", label=label)
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
            ax.legend()
        if path is not None:
            figure.savefig(path, dpi=100)
        return figure


def _check_epochs(epochs: object, where: str) -> None:
    if not isinstance(epochs, list):
        raise ArgumentTypeError(f"{where} must be a list of ints; got {type(epochs).__name__}")
    for i, epoch in enumerate(epochs):
        if not is_integer(epoch):
            raise ArgumentTypeError(f"{where}[{i}] must be an int; got {type(epoch).__name__}")
        if epoch < 0 or (i > 0 and epoch <= epochs[i - 1]):
            raise ArgumentError(
                f"{where} must be increasing epoch numbers >= 0; got {epoch} after "
                f"{epochs[:i][-1:] or 'the start'}"
            )


def _check_series(history: object, count: int, where: str) -> None:
    if not isinstance(history, dict):
        raise ArgumentTypeError(
            f"{where} must be a dict of names to lists of numbers; got {type(history).__name__}"
        )
    for name, values in history.items():
        if not isinstance(name, str):
            raise ArgumentTypeError(f"{where}: names must be str; got {type(name).__name__}")
        if not isinstance(values, list):
            raise ArgumentTypeError(
                f"{where}[{name!r}] must be a list of numbers; got {type(values).__name__}"
            )
        for i, value in enumerate(values):
            if not is_real(value):
                raise ArgumentTypeError(
                    f"{where}[{name!r}][{i}] must be a real number; got {type(value).__name__}"
                )
        if len(values) > count:
            raise ArgumentError(
                f"{where}[{name!r}] holds {len(values)} values for {count} epochs"
            )


def _matplotlib_figure() -> type[Figure]:
    try:
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError('History.plot needs matplotlib: pip install "nnframe[plot]"') from error
    return Figure


def figure_file(path: object, where: str) -> str:
    """Return the file :meth:`History.plot` writes for ``path``, or raise before drawing.

    Adds ``.png`` to a name without an extension; refuses folders, folders that do not
    exist and formats matplotlib cannot write, so that a long training run does not end
    in a failed save.
    """
    text = file_path(path, where)
    file = Path(text)
    if file.is_dir() or text.endswith(("/", os.sep)):
        raise ArgumentError(f"{where}: {text!r} is a folder; give a file name")
    _matplotlib_figure()  # an ImportError naming the plot extra, before anything else
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    if not file.suffix:
        file = file.with_name(file.name + ".png")
    elif file.suffix[1:].lower() not in formats:
        raise ArgumentError(
            f"{where}: {text!r} names the format {file.suffix[1:]!r}; matplotlib writes "
            f"{', '.join(sorted(formats))}"
        )
    if not file.parent.is_dir():
        raise ArgumentError(f"{where}: the folder {str(file.parent)!r} does not exist")
    return str(file)
