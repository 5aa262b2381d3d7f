"""CSV files as tables of text cells, checked and parsed with the line of every problem.

The parsing behind :func:`nnframe.data.datasets.load_csv` and ``nnframe evaluate`` /
``nnframe predict``: a header row naming the columns, numeric feature columns, and a target
column of numbers or text labels.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import numbers
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from attrs import frozen

from nnframe.checks import file_path
from nnframe.errors import ArgumentError, ArgumentTypeError, DataError

__all__ = [
    "Table",
    "encode_target",
    "format_label",
    "is_number",
    "numeric_columns",
    "read_table",
    "target_column",
]

# Cell texts that mean "no value" in a class-label column (numeric columns reject them anyway,
# because they parse as NaN or not at all).
_MISSING_LABELS = frozenset({"", "nan"})

FloatArray = npt.NDArray[np.floating[Any]]


@frozen
class Table:
    """A parsed CSV file: its header and its data rows as text, with their line numbers."""

    path: Path
    header: tuple[str, ...]
    rows: list[list[str]]
    lines: list[int]


def read_table(path: str | os.PathLike[str]) -> Table:
    """Read a UTF-8 CSV file with a header row into a :class:`Table`.

    Blank lines are skipped; a byte-order mark is dropped.

    Raises
    ------
    DataError
        For a missing or unreadable file, invalid CSV, a missing or malformed header
        (no names, empty or repeated names), a row whose length differs from the
        header's, or no data rows; the message names the file and the line.
    """
    file = Path(file_path(path, "the path to a CSV file"))
    if not file.exists():
        raise DataError(f"{file}: no such file")
    if not file.is_file():
        raise DataError(f"{file}: is not a file")
    try:
        # utf-8-sig drops the byte-order mark spreadsheet programs like to write.
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{file}: is not a UTF-8 text file ({error.reason})") from error
    except OSError as error:
        raise DataError(f"{file}: cannot be read ({error.strerror})") from error

    # newline="" as the csv module asks, so quoted cells may span lines.
    reader = csv.reader(io.StringIO(text, newline=""))
    header: tuple[str, ...] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if header is None:
                header = _check_header(file, row, reader.line_num)
                continue
            if len(row) != len(header):
                raise DataError(
                    f"{file}: line {reader.line_num} has {len(row)} cells; the header has "
                    f"{len(header)} columns ({', '.join(map(repr, header))})"
                )
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as error:
        raise DataError(f"{file}: line {reader.line_num} is not valid CSV ({error})") from error
    if header is None:
        raise DataError(f"{file}: is empty; expected a header row and data rows")
    if not rows:
        raise DataError(f"{file}: has a header row but no data rows")
    return Table(file, header, rows, lines)


def _check_header(file: Path, row: list[str], line: int) -> tuple[str, ...]:
    names = tuple(cell.strip() for cell in row)
    if all(is_number(name) for name in names):
        raise DataError(
            f"{file}: has no header row; line {line} ({', '.join(row)}) looks like data. "
            f"Add a first line naming the columns, e.g. "
            f"{','.join(f'x{i}' for i in range(len(names) - 1))},target"
        )
    empty = [i for i, name in enumerate(names) if not name]
    if empty:
        raise DataError(
            f"{file}: the header (line {line}) has no name for column(s) "
            f"{', '.join(map(str, empty))}"
        )
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise DataError(
            f"{file}: the header (line {line}) repeats column name(s) "
            f"{', '.join(map(repr, duplicates))}"
        )
    return names


def is_number(text: str) -> bool:
    """Return whether ``float(text)`` parses (``"nan"`` and ``"inf"`` included)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def target_column(table: Table, target: object) -> int:
    """Return the index of the target column: by name, by index (negative allowed), or last.

    Raises
    ------
    ArgumentError, ArgumentTypeError
        For an unknown name or an index out of range (listing the columns), or a
        ``target`` that is neither a str nor an int.
    """
    columns = f"available columns: {', '.join(map(repr, table.header))}"
    n = len(table.header)
    if target is None:
        return n - 1
    if isinstance(target, str):
        if target not in table.header:
            close = difflib.get_close_matches(target, table.header, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ArgumentError(f"{table.path}: no target column {target!r}{hint}; {columns}")
        return table.header.index(target)
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise ArgumentTypeError(
            f"target must be a column name (str) or index (int); got {type(target).__name__}"
        )
    index = int(target)
    if not -n <= index < n:
        raise ArgumentError(
            f"{table.path}: target column index {index} is out of range for {n} columns; "
            f"{columns}"
        )
    return index % n


def numeric_columns(table: Table, columns: list[int]) -> FloatArray:
    """Parse ``columns`` of every row as float64, shape ``(rows, len(columns))``.

    Raises
    ------
    DataError
        For an empty, non-numeric, NaN or infinite cell, naming its line and column.
    """
    x = np.empty((len(table.rows), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        cells = [row[column] for row in table.rows]
        try:
            x[:, j] = np.array(cells, dtype=np.float64)  # fast path: numpy parses the text
        except ValueError:
            x[:, j] = [_parse_feature(table, column, i, cell) for i, cell in enumerate(cells)]
        bad = np.flatnonzero(~np.isfinite(x[:, j]))
        if bad.size:
            _parse_feature(table, column, int(bad[0]), cells[bad[0]])
    return x


def _parse_feature(table: Table, column: int, index: int, cell: str) -> float:
    where = f"{table.path}: line {table.lines[index]}, column {table.header[column]!r}"
    if not cell.strip():
        raise DataError(f"{where} is empty; every cell needs a value")
    try:
        value = float(cell)
    except ValueError:
        raise DataError(
            f"{where}: {cell!r} is not a number; feature columns must be numeric "
            f"(only the target column may hold text labels)"
        ) from None
    if not math.isfinite(value):
        raise DataError(
            f"{where} holds {cell.strip()!r}; missing or infinite values are not allowed"
        )
    return value


def encode_target(
    table: Table, column: int, forced_task: str | None, max_auto_classes: int
) -> tuple[str, npt.NDArray[Any], tuple[str, ...] | None]:
    """Return the task, the targets (class indices or floats) and the class names.

    Without ``forced_task``, text labels make a classification task, and so do numbers
    that are all whole and take at most ``max_auto_classes`` values; other numbers are a
    regression target.
    """
    name = table.header[column]
    cells = [row[column].strip() for row in table.rows]
    for index, cell in enumerate(cells):
        if cell.lower() in _MISSING_LABELS:
            raise DataError(
                f"{table.path}: line {table.lines[index]}, target column {name!r} holds "
                f"{cell!r}; every row needs a target value"
            )
    text_at = next((i for i, cell in enumerate(cells) if not is_number(cell)), None)
    if text_at is not None:
        if forced_task == "regression":
            raise ArgumentError(
                f"{table.path}: task='regression' needs a numeric target, but column {name!r} "
                f"holds {cells[text_at]!r} on line {table.lines[text_at]}"
            )
        labels = np.array(cells)
        names, codes = np.unique(labels, return_inverse=True)
        class_names = tuple(str(c) for c in names)
    else:
        values = np.array(cells, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            line = table.lines[int(bad[0])]
            raise DataError(
                f"{table.path}: line {line}, target column {name!r} holds "
                f"{cells[bad[0]]!r}; missing or infinite values are not allowed"
            )
        unique = np.unique(values)
        whole = bool(np.all(unique == np.round(unique)))
        if forced_task == "regression" or (
            forced_task is None and not (whole and len(unique) <= max_auto_classes)
        ):
            return "regression", values, None
        codes = np.searchsorted(unique, values)
        class_names = tuple(format_label(v) for v in unique)

    k = len(class_names)
    if k < 2:
        raise DataError(
            f"{table.path}: target column {name!r} has only one class ({class_names[0]!r}); "
            f"classification needs at least two"
        )
    if forced_task == "binary" and k != 2:
        raise ArgumentError(
            f"{table.path}: task='binary' needs exactly 2 classes; target column {name!r} "
            f"has {k}: {', '.join(map(repr, class_names[:10]))}{', ...' if k > 10 else ''}"
        )
    task = forced_task or ("binary" if k == 2 else "multiclass")
    return task, codes.astype(np.int64).ravel(), class_names


def format_label(value: float) -> str:
    """Return the class name of a numeric label: ``"3"`` for 3.0, ``"0.5"`` for 0.5."""
    # Whole numbers print as "3", not "3.0", so a 0/1 column gets class names "0" and "1".
    return str(int(value)) if value == round(value) else repr(float(value))
