"""Crash-safe file writes: a file is always either its old or its new content, whole.

Every file nnframe writes (models, weights, checkpoints, ``nnframe predict``'s CSV) goes
through :func:`write_atomic`.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import threading
from pathlib import Path

from nnframe.checks import file_path

__all__ = ["write_atomic"]

# The temporaries this process is writing, which stale-file cleanup must leave alone.
_IN_FLIGHT: set[str] = set()
_IN_FLIGHT_LOCK = threading.Lock()


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that the file is always either old or new, whole.

    The bytes go to a hidden temporary file in the same folder
    (``.NAME.<pid>-<random>.tmp``), which is flushed and fsynced, then moved onto ``path``
    with ``os.replace`` (atomic on POSIX and Windows); the folder is fsynced where the
    system allows it. On failure the temporary is removed and the previous file is left
    byte-identical. A process killed mid-write may leave its temporary behind: the next
    write of the same ``NAME`` removes temporaries whose process is gone.

    Raises
    ------
    ArgumentError, ArgumentTypeError
        When ``path`` is not a usable file name (empty, bytes, with a NUL character).
    OSError
        When the folder is missing or not writable, the disk is full, ...
    """
    target = Path(file_path(path, "write_atomic: path"))
    directory = target.parent
    _remove_stale(directory, target.name)
    fd, temporary = _create_temporary(directory, target.name)
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT.add(temporary.name)
    try:
        try:
            with contextlib.suppress(OSError):  # keep the permissions of the file replaced
                os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.discard(temporary.name)
    _fsync_directory(directory)


def _create_temporary(directory: Path, name: str) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = directory / f".{name}.{os.getpid()}-{secrets.token_hex(8)}.tmp"
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:  # pragma: no cover - 64 random bits
            continue


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view[: 1 << 24])
        view = view[written:]


def _remove_stale(directory: Path, name: str) -> None:
    pattern = re.compile(rf"\.{re.escape(name)}\.(\d+)-[0-9a-f]{{16}}\.tmp")
    try:
        entries = os.listdir(directory)
    except OSError:
        return  # creating the temporary will report the problem
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match is None:
            continue
        with _IN_FLIGHT_LOCK:
            if entry in _IN_FLIGHT:
                continue
        pid = int(match.group(1))
        if pid != os.getpid() and _process_alive(pid):
            continue  # another process may be writing it right now
        with contextlib.suppress(OSError):
            os.unlink(directory / entry)


def _process_alive(pid: int) -> bool:
    if os.name != "posix":
        # Windows refuses to delete a file another process has open, so trying is safe.
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
