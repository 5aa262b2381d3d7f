"""A description of the machine and the software the benchmark ran on.

The parent reads what it can without importing the measured libraries (CPU, memory,
operating system, the git commit); a probe child (``benchmarks.worker``) adds the library
versions and the BLAS.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["REPOSITORY", "all_cores", "busy_cores", "cpu_ticks", "describe_host", "wait_for_quiet"]

#: The repository root: the parent of the ``benchmarks`` package.
REPOSITORY = Path(__file__).resolve().parent.parent

_ENVIRONMENT = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def all_cores() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of ``/proc/cpuinfo`` that describe the CPU."""
    wanted = {"model name", "cpu MHz", "cache size", "flags"}
    fields: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {"model name": platform.processor() or platform.machine()}
    for line in text.splitlines():
        if not line.strip():
            break  # end of the first processor
        key, _, value = line.partition(":")
        key = key.strip()
        if key in wanted:
            fields[key] = value.strip()
    return fields


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _git_commit() -> str | None:
    """The repository's HEAD commit, with ``+dirty`` when the working tree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "nnframe"],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def describe_host() -> dict[str, Any]:
    """CPU model, cores, memory, OS, Python, the BLAS tuning variables and the commit."""
    cpu = _cpuinfo()
    flags = set(cpu.get("flags", "").split())
    return {
        "cpu": cpu.get("model name", "unknown"),
        "cpu_mhz": cpu.get("cpu MHz"),
        "cache": cpu.get("cache size"),
        "simd": [f for f in ("avx", "avx2", "fma", "avx512f") if f in flags],
        "cores": all_cores(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "environment": {name: os.environ.get(name) for name in _ENVIRONMENT},
        "nnframe_commit": _git_commit(),
    }


# -- how busy the host is (it is shared: other processes disturb the timings) -----------


def cpu_ticks() -> float | None:
    """Seconds of CPU time all cores have spent busy since boot (``/proc/stat``), or None.

    Busy is everything but idle and iowait; steal (time the hypervisor gave to someone
    else) counts as busy, since it is time the benchmark could not have.
    """
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    values = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    busy = sum(values) - values[3] - values[4]
    return busy / _TICKS_PER_SECOND


def busy_cores(interval: float) -> float | None:
    """How many cores were busy, on average, over the next ``interval`` seconds."""
    before = cpu_ticks()
    if before is None:
        return None
    start = time.perf_counter()
    time.sleep(interval)
    after = cpu_ticks()
    assert after is not None
    return (after - before) / (time.perf_counter() - start)


def wait_for_quiet(
    threshold: float, max_wait: float, interval: float = 0.3
) -> tuple[float, float | None]:
    """Wait until other processes use less than ``threshold`` cores, or ``max_wait`` passed.

    Returns
    -------
    (waited seconds, busy cores at the last sample)
    """
    start = time.perf_counter()
    while True:
        busy = busy_cores(interval)
        waited = time.perf_counter() - start
        if busy is None or busy < threshold or waited >= max_wait:
            return waited, busy
