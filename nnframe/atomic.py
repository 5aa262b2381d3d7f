"""Crash-safe file writes: a file is always either its old or its new content, whole.

Every file nnframe writes (models, weights, checkpoints, ``nnframe predict``'s CSV) goes
through :func:`write_atomic`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import threading
from pathlib import Path

from nnframe.checks import file_path

__all__ = ["write_atomic"]

# The temporaries this process is writing, which stale-file cleanup must leave alone. A
# name is added *before* its file is created and removed only once the file is gone
# (renamed onto its target or deleted), so a cleanup that lists the folder can never see
# a temporary of this process that is not in the set.
_IN_FLIGHT: set[str] = set()
_IN_FLIGHT_LOCK = threading.Lock()

# ".<pid>-<16 hex digits>.tmp" after the name, and the leading "."; a pid takes at most
# 10 digits (pid_t is 32 bits on POSIX, a DWORD on Windows).
_TEMPORARY_EXTRA = len(".") + len(".") + 10 + len("-") + 16 + len(".tmp")


def _reset_lock_after_fork() -> None:
    # A child forked while another thread held the lock would wait for it forever; the
    # child's own in-flight set starts empty (the parent's writes are not the child's).
    global _IN_FLIGHT_LOCK
    _IN_FLIGHT_LOCK = threading.Lock()
    _IN_FLIGHT.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_lock_after_fork)


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that the file is always either old or new, whole.

    The bytes go to a hidden temporary file in the same folder
    (``.NAME.<pid>-<random>.tmp``), which is flushed and fsynced, then moved onto ``path``
    with ``os.replace`` (atomic on POSIX and Windows); the folder is fsynced where the
    system allows it. On failure the temporary is removed and the previous file is left
    byte-identical. A process killed mid-write may leave its temporary behind: the next
    write of the same ``NAME`` removes temporaries whose process is gone.

    Writes from several threads or processes to one path are safe: each lands whole (the
    last one to finish wins) or fails with its own error, and none is disturbed by
    another's cleanup of stale temporaries.

    When ``path`` is a symbolic link (or a chain of them), the file it points to is
    replaced and the link is kept, as ``open(path, "w")`` would do; a dangling link gets
    its target created. The temporary then lives in the target's folder.

    A name too long to take the temporary's suffix (any legal name up to the file
    system's limit, ``os.pathconf(folder, "PC_NAME_MAX")``, usually 255 bytes) gets a
    temporary named from the first characters of ``NAME``, cut to fit.

    Raises
    ------
    ArgumentError, ArgumentTypeError
        When ``path`` is not a usable file name (empty, bytes, with a NUL character).
    OSError
        When the folder is missing or not writable, the disk is full, the path is a
        symbolic link loop, ...
    """
    target = _final_target(Path(file_path(path, "write_atomic: path")))
    directory = target.parent
    prefix = _temporary_prefix(directory, target.name)
    _remove_stale(directory, target.name)
    fd, temporary = _create_temporary(directory, prefix)
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


def _final_target(target: Path) -> Path:
    """Follow ``target`` through symbolic links to the file they name (which may not exist)."""
    if not target.is_symlink():
        return target
    resolved = Path(os.path.realpath(target))
    if resolved.is_symlink():  # realpath stops on a loop and returns a link
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(target))
    return resolved


def _name_limit(directory: Path) -> int:
    try:
        limit = os.pathconf(directory, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows), or no answer
        return 255
    return limit if limit > 0 else 255


def _temporary_prefix(directory: Path, name: str) -> str:
    """``name``, or as many of its first characters as leave room for the suffix."""
    room = _name_limit(directory) - _TEMPORARY_EXTRA
    if len(os.fsencode(name)) <= room:
        return name
    cut = name
    while cut and len(os.fsencode(cut)) > room:
        cut = cut[:-1]
    return cut


def _create_temporary(directory: Path, prefix: str) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = directory / f".{prefix}.{os.getpid()}-{secrets.token_hex(8)}.tmp"
        with _IN_FLIGHT_LOCK:  # registered before it exists: no cleanup can take it
            _IN_FLIGHT.add(temporary.name)
        try:
            return os.open(temporary, flags, 0o666), temporary
        except BaseException as error:
            with _IN_FLIGHT_LOCK:
                _IN_FLIGHT.discard(temporary.name)
            if isinstance(error, FileExistsError):  # pragma: no cover - 64 random bits
                continue
            raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view[: 1 << 24])
        view = view[written:]


def _remove_stale(directory: Path, name: str) -> None:
    prefix = _temporary_prefix(directory, name)
    pattern = re.compile(rf"\.{re.escape(prefix)}\.([0-9]+)-[0-9a-f]{{16}}\.tmp")
    try:
        entries = os.listdir(directory)
    except OSError:
        return  # creating the temporary will report the problem
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid != os.getpid() and _process_alive(pid):
            continue  # another process may be writing it right now
        # Checked and removed under the lock, so that the check still holds at the unlink.
        with _IN_FLIGHT_LOCK:
            if entry in _IN_FLIGHT:
                continue
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
