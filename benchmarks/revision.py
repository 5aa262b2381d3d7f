"""Measure nnframe as it was at a git revision, whatever the working tree holds.

``python -m benchmarks --nnframe-rev REV`` exports the ``nnframe`` package of revision
``REV`` (``git archive``, read-only: no checkout, no worktree) into a temporary directory
and runs every child there, with the repository root on ``PYTHONPATH`` for the
``benchmarks`` package: a child's ``import nnframe`` finds the exported copy first (the
current directory comes first on ``sys.path``). So a baseline can be measured, and
re-measured, while the working tree changes.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from benchmarks.machine import REPOSITORY

__all__ = ["child_environment_path", "export_nnframe"]


def export_nnframe(rev: str, destination: Path) -> str:
    """Write revision ``rev``'s ``nnframe/`` under ``destination``; return the full hash.

    Raises
    ------
    ValueError
        When git does not know ``rev``.
    """
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit, "nnframe"],
            cwd=REPOSITORY,
            capture_output=True,
            check=True,
        ).stdout
    except subprocess.CalledProcessError as error:
        message = error.stderr if isinstance(error.stderr, str) else error.stderr.decode()
        raise ValueError(f"git cannot export nnframe at {rev!r}: {message.strip()}") from error
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(destination, filter="data")
    return commit


def child_environment_path(existing: str | None) -> str:
    """``PYTHONPATH`` for a child running outside the repository: the root, then the rest."""
    return str(REPOSITORY) if not existing else f"{REPOSITORY}:{existing}"
