"""The checks a checkpoint passes before anything is restored from it.

Kept apart from :mod:`nnframe.serialization.checkpoints`, which writes and reads the
record: a history consistent with itself, list indices in plain ASCII digits, generator
states numpy accepts exactly as written.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["generator_problem", "history_problem", "index_problem", "is_int", "json_state"]


def history_problem(
    values: Mapping[str, list[Any]], epochs: list[Any], completed: int
) -> str | None:
    """What makes a history inconsistent with itself or with ``completed`` epochs, or None.

    The epoch numbers increase from 0 and stay below ``completed``; no quantity has more
    values than there are epochs. One may have fewer: a quantity first logged after a
    resume (a callback added then) covers the last epochs only.
    """
    for before, after in itertools.pairwise(epochs):
        if after <= before:
            return f"the epoch numbers must increase; got {before} then {after}"
    if epochs and (epochs[0] < 0 or epochs[-1] >= completed):
        return (
            f"the epoch numbers must lie in [0, {completed}) for a checkpoint after "
            f"{completed} epoch{'s' * (completed != 1)}; got {epochs[0]}..{epochs[-1]}"
        )
    for name, series in values.items():
        if len(series) > len(epochs):
            return (
                f"{name!r} has {len(series)} values for {len(epochs)} recorded "
                f"epoch{'s' * (len(epochs) != 1)}"
            )
    return None


# Every dotted segment made of digits is a list index: "0", "1", "12", never "\u0660" (which
# str.isdecimal and int accept) or "01" (which int reads as 1, a second name for index 1).
_INDEX = re.compile(r"0|[1-9][0-9]*")


def index_problem(name: str) -> str | None:
    """What makes a digit segment of the dotted ``name`` not a plain index, or None."""
    for segment in name.split("."):
        if segment.isnumeric() and _INDEX.fullmatch(segment) is None:
            return (
                f"the index {segment!a} is not a plain number (ASCII digits 0-9, "
                "no leading zeros)"
            )
    return None


# The bit generators numpy ships, by the name their state records.
_BIT_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")


def generator_problem(state: object) -> str | None:
    """What makes ``state`` unusable as a ``bit_generator.state``, or None."""
    if not isinstance(state, dict):
        return f"must be a JSON object; got {type(state).__name__}"
    kind = state.get("bit_generator")
    if kind not in _BIT_GENERATORS:
        return f"names the bit generator {kind!r}; expected one of {list(_BIT_GENERATORS)}"
    if not _plain_state(state):
        return f"is not a valid {kind} state (only integers, strings, lists and objects)"
    fresh = getattr(np.random, kind)()
    try:
        fresh.state = copy.deepcopy(state)
    except Exception as error:  # numpy raises OverflowError, ValueError, TypeError, KeyError
        return f"is not a valid {kind} state ({type(error).__name__}: {error})"
    if json_state(fresh.state) != state:
        return f"is not a valid {kind} state (a value out of range, or a key it does not have)"
    return None


def _plain_state(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_state(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_state(v) for v in value)
    return isinstance(value, str) or is_int(value)


def json_state(value: Any) -> Any:
    """Return a generator state as plain JSON values (lists for arrays, ints)."""
    # bit_generator.state holds ints (PCG64's are 128-bit; JSON keeps them exact), strings
    # and, for MT19937, a uint32 array, which numpy accepts back as a list.
    if isinstance(value, dict):
        return {str(k): json_state(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [json_state(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def is_int(value: object) -> bool:
    """Return whether ``value`` is a Python int and not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)
