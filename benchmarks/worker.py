"""The child process: one measurement, printed as one JSON line.

``python -m benchmarks.worker '<json task>'`` runs one task and prints its result as the
last line of stdout. The parent (:mod:`benchmarks.runner`) starts one child per
measurement with the BLAS and OpenMP thread counts already set in its environment, so the
libraries' thread pools never share a process. Tasks:

``{"kind": "step", "contender": ..., "config": {...}, "threads": n, ...}``
    Build the contender's training step, warm it up, then time steps for about
    ``seconds``, in ``BLOCKS`` equal blocks; report the median block's step time, minor
    page faults per step, CPU time, the other processes' load, and memory.
``{"kind": "conv_step", ...}``
    The same for a convolution configuration (:mod:`benchmarks.conv_configs`).
``{"kind": "conv_gemm", "config": {...}, "threads": n, "seconds": s}``
    The time of a convolution configuration's matrix products alone, through ``np.dot``.
``{"kind": "gemm", "threads": n, "seconds": s}``
    The machine's matrix-multiply rate: ``np.dot`` of ``GEMM_SHAPE`` in float32 and
    float64.
``{"kind": "probe", "threads": n}``
    Library versions, the BLAS numpy uses (threadpoolctl: library, version, the kernel
    picked for this CPU, threads; or ``numpy.show_config`` and "unknown" without it), and
    PyTorch's BLAS and thread count.
"""

from __future__ import annotations

import gc
import json
import math
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.configs import Config, initial_parameters, make_batches
from benchmarks.contenders import build
from benchmarks.conv_configs import (
    ConvConfig,
    conv_initial_parameters,
    gemm_products,
    make_conv_batches,
)
from benchmarks.conv_contenders import build_conv
from benchmarks.machine import cpu_ticks

__all__ = [
    "BLAS_KEYS",
    "GEMM_SHAPE",
    "blas_info",
    "main",
    "measure_conv_gemm",
    "measure_conv_step",
    "measure_gemm",
    "measure_step",
    "probe",
    "time_step",
]

#: (m, k, n) of the reference product: the first layer of mnist-mlp at batch 1024.
GEMM_SHAPE = (1024, 784, 256)

#: Warm-up steps at least and at most, and timed steps at least.
MIN_WARMUP_STEPS = 3
MAX_WARMUP_STEPS = 100
MIN_TIMED_STEPS = 5
#: Steps in all (warm-up and timed) at most, counted from the model's initial weights. A
#: measurement times an early stretch of training, the same stretch for every contender
#: however fast it runs: later, small-batch training starts to leave momentum buffers on
#: subnormal numbers (see :func:`benchmarks.configs.make_batches`), which on some CPUs
#: makes every later step slower, and a contender that ran more steps would be timed in a
#: slower regime than one that ran fewer.
MAX_STEPS = 600
#: The timed steps run in this many equal blocks.
BLOCKS = 5

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int | None:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in KiB, if readable."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_rss_high_water() -> bool:
    """Reset the kernel's RSS high-water mark to the current RSS (Linux >= 4.0)."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def measure_step(task: dict[str, Any]) -> dict[str, Any]:
    """Time one contender's training step for one configuration; see the module docstring."""
    config = Config.from_dict(task["config"])
    threads = int(task["threads"])
    step, batches = build(
        task["contender"], config, initial_parameters(config), make_batches(config), threads
    )
    return time_step(step, batches, task, config.id, config.batch)


def measure_conv_step(task: dict[str, Any]) -> dict[str, Any]:
    """As :func:`measure_step`, for a convolution configuration (``benchmarks.conv_configs``)."""
    config = ConvConfig.from_dict(task["config"])
    params = conv_initial_parameters(config)
    step, batches = build_conv(
        task["contender"], config, params, make_conv_batches(config), int(task["threads"])
    )
    return time_step(step, batches, task, config.id, config.batch)


def measure_conv_gemm(task: dict[str, Any]) -> dict[str, Any]:
    """The time of one step's matrix products alone: each product through ``np.dot``.

    For every product of :func:`benchmarks.conv_configs.gemm_products` (the shapes the
    numpy reference multiplies, C-contiguous operands), the median of 5 blocks of about
    ``seconds / 5 / len(products)`` each; the sum is the step's GEMM time.
    """
    config = ConvConfig.from_dict(task["config"])
    rng = np.random.default_rng(0)
    times = {}
    budget = task["seconds"] / 5 / max(1, len(gemm_products(config)))
    for product in gemm_products(config):
        a = rng.random((product.m, product.k)).astype(config.dtype)
        b = rng.random((product.k, product.n)).astype(config.dtype)
        out = np.empty((product.m, product.n), dtype=config.dtype)
        t0, reps = time.perf_counter(), 0
        while reps < 3 or time.perf_counter() - t0 < 0.01:  # warm-up
            np.dot(a, b, out=out)
            reps += 1
        block = max(1, round(budget / ((time.perf_counter() - t0) / reps)))
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(block):
                np.dot(a, b, out=out)
            samples.append((time.perf_counter() - t0) / block)
        times[product.what] = statistics.median(samples)
    return {
        "kind": "conv_gemm",
        "config": config.id,
        "threads": task["threads"],
        "products": times,
        "gemm_time": sum(times.values()),
    }


def time_step(
    step: Any, batches: list[Any], task: dict[str, Any], config_id: str, batch: int
) -> dict[str, Any]:
    """Warm ``step`` up, time it over ``batches`` in blocks; see the module docstring."""
    n = len(batches)
    gc.collect()
    rss_setup = _status_kib("VmRSS")
    peak_setup = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm_reset = _reset_rss_high_water()

    # Warm-up: at least MIN_WARMUP_STEPS and warmup_seconds; the median of the second
    # half of the warm-up step times sizes the timed steps.
    durations = []
    start = time.perf_counter()
    i = 0
    while i < MIN_WARMUP_STEPS or (
        i < MAX_WARMUP_STEPS and time.perf_counter() - start < task["warmup_seconds"]
    ):
        t0 = time.perf_counter()
        step(*batches[i % n])
        durations.append(time.perf_counter() - t0)
        i += 1
    estimate = statistics.median(durations[len(durations) // 2 :])
    count = int(min(MAX_STEPS - i, max(MIN_TIMED_STEPS, round(task["seconds"] / estimate))))

    # The timed steps, in BLOCKS blocks: the step time is the median block's, so that a
    # burst of activity from another process on this shared host spoils one block, not
    # the measurement. Page faults and CPU time cover all blocks.
    offset = i
    per_block = max(1, count // BLOCKS)
    count = per_block * BLOCKS
    block_times = []
    gc.collect()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    busy0 = cpu_ticks()
    t_start = time.perf_counter()
    for block in range(BLOCKS):
        first = offset + block * per_block
        t0 = time.perf_counter()
        for k in range(first, first + per_block):
            loss = step(*batches[k % n])
        block_times.append((time.perf_counter() - t0) / per_block)
    elapsed = time.perf_counter() - t_start
    busy1 = cpu_ticks()
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    final_loss = float(loss)  # a float, or a 0-d tensor for PyTorch

    peak_kib = _status_kib("VmHWM") if hwm_reset else None
    if peak_kib is None:
        peak_kib = usage1.ru_maxrss  # KiB on Linux; includes the setup's peak
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    other_load = None
    if busy0 is not None and busy1 is not None:
        other_load = max(0.0, (busy1 - busy0 - cpu) / elapsed)
    step_time = statistics.median(block_times)
    return {
        "kind": "step",
        "contender": task["contender"],
        "config": config_id,
        "threads": int(task["threads"]),
        "steps": count,
        "warmup_steps": offset,
        "seconds": elapsed,
        "step_time": step_time,
        "step_time_mean": elapsed / count,
        "block_step_times": block_times,
        # Over 1: the step got slower while it was timed (a change of regime, e.g. subnormal
        # numbers appearing); the report flags it.
        "drift": block_times[-1] / block_times[0],
        "throughput": batch / step_time,
        "minor_faults_per_step": (usage1.ru_minflt - usage0.ru_minflt) / count,
        "major_faults_per_step": (usage1.ru_majflt - usage0.ru_majflt) / count,
        "cpu_per_wall": cpu / elapsed,
        "involuntary_switches_per_step": (usage1.ru_nivcsw - usage0.ru_nivcsw) / count,
        "other_load": other_load,
        "rss_setup_mib": None if rss_setup is None else rss_setup / 1024,
        "peak_setup_mib": peak_setup / 1024,
        "peak_rss_mib": peak_kib / 1024,
        "step_extra_mib": (
            (peak_kib - rss_setup) / 1024 if hwm_reset and rss_setup is not None else None
        ),
        "final_loss": final_loss if math.isfinite(final_loss) else repr(final_loss),
    }


def measure_gemm(task: dict[str, Any]) -> dict[str, Any]:
    """GFLOP/s of ``np.dot`` on ``GEMM_SHAPE`` for float32 and float64.

    Five blocks per dtype, each sized to about a fifth of ``seconds``; the median and the
    best block are reported.
    """
    m, k, n = GEMM_SHAPE
    flops = 2 * m * k * n
    rng = np.random.default_rng(0)
    result: dict[str, Any] = {"kind": "gemm", "shape": list(GEMM_SHAPE), "threads": task["threads"]}
    busy0, usage0 = cpu_ticks(), resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    for dtype in ("float32", "float64"):
        a = rng.random((m, k)).astype(dtype)
        b = rng.random((k, n)).astype(dtype)
        out = np.empty((m, n), dtype=dtype)
        t0 = time.perf_counter()
        reps = 0
        while reps < 3 or time.perf_counter() - t0 < 0.05:  # warm-up
            np.dot(a, b, out=out)
            reps += 1
        per_call = (time.perf_counter() - t0) / reps
        block = max(1, round(task["seconds"] / 5 / per_call))
        rates = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(block):
                np.dot(a, b, out=out)
            rates.append(flops * block / (time.perf_counter() - t0))
        result[dtype] = {"median": statistics.median(rates), "best": max(rates)}
    busy1, usage1 = cpu_ticks(), resource.getrusage(resource.RUSAGE_SELF)
    if busy0 is not None and busy1 is not None:
        cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
        result["other_load"] = max(0.0, (busy1 - busy0 - cpu) / (time.perf_counter() - start))
    return result


#: What the probe reports of each BLAS library threadpoolctl finds.
BLAS_KEYS = (
    "internal_api",
    "version",
    "architecture",
    "threading_layer",
    "num_threads",
    "filepath",
)


def blas_info() -> list[dict[str, Any]]:
    """numpy's BLAS: threadpoolctl's description, or numpy's build info with "unknown"s.

    threadpoolctl (``pip install threadpoolctl``, in the ``bench`` extra) tells the kernel
    OpenBLAS picked at run time (``architecture``) and its thread count; without it only
    the library's name and version are known.
    """
    try:
        import threadpoolctl
    except ImportError:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        return [
            {
                "internal_api": blas.get("name", "unknown"),
                "version": blas.get("version", "unknown"),
                "architecture": "unknown",
                "threading_layer": "unknown",
                "num_threads": "unknown",
                "source": "numpy.show_config (threadpoolctl is not installed)",
            }
        ]
    return [
        {key: pool.get(key) for key in BLAS_KEYS} | {"source": "threadpoolctl"}
        for pool in threadpoolctl.threadpool_info()
        if pool.get("user_api") == "blas"
    ]


def probe(task: dict[str, Any]) -> dict[str, Any]:
    """Versions of numpy, nnframe and torch, and the BLAS numpy (and torch) use.

    Run with the thread count of a measurement, it reports the BLAS threads that
    measurement's children have.
    """
    info: dict[str, Any] = {"kind": "probe", "threads": task["threads"], "numpy": np.__version__}
    info["blas"] = blas_info()
    import nnframe

    info["nnframe"] = nnframe.__version__
    info["nnframe_path"] = str(Path(nnframe.__file__).parent)
    try:
        import torch
    except ImportError:
        info["torch"] = None
    else:
        torch.set_num_threads(int(task["threads"]))
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["torch_mkl"] = bool(torch.backends.mkl.is_available())
        info["torch_mkldnn"] = bool(torch.backends.mkldnn.is_available())
        settings = torch.__config__.show().replace(",", " ").split()
        info["torch_blas"] = next(
            (item.partition("=")[2] for item in settings if item.startswith("BLAS_INFO=")), None
        )
        info["torch_cpu_capability"] = next(
            (
                line.split(":", 1)[1].strip()
                for line in torch.__config__.show().splitlines()
                if "CPU capability usage" in line
            ),
            None,
        )
    return info


_TASKS = {
    "step": measure_step,
    "gemm": measure_gemm,
    "probe": probe,
    "conv_step": measure_conv_step,
    "conv_gemm": measure_conv_gemm,
}


def main(argv: list[str] | None = None) -> int:
    """Run the task given as a JSON argument and print the result as one JSON line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m benchmarks.worker '<json task>'", file=sys.stderr)
        return 2
    task = json.loads(args[0])
    result = _TASKS[task["kind"]](task)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
