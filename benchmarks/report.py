"""Statistics and output: medians, spreads, paired ratios, GEMM fractions; Markdown tables.

``summarize`` reduces the per-round results of :mod:`benchmarks.runner` to one entry per
(thread setting, configuration, contender); ``render_markdown`` prints them. Conventions:

- a step time or throughput is the median over rounds, with the min-max over rounds;
- a ratio (``nnframe/torch``) is the first contender's throughput divided by the
  second's, taken within each round (the two ran back to back), then the median and
  min-max of those per-round ratios; above 1 means the first is faster. ``nnframe`` is the
  hand-written loop, ``trainer`` is ``Trainer.train_on_batch``;
- the numpy reference is a careful hand-written step of the same maths: it should not be
  slower than a framework's step unless it has fallen into a trap (off BLAS, an allocation
  per step, subnormal numbers...), with one known exception: its updates are numpy's two
  passes, where nnframe's large parameters take one BLAS pass (``nnframe.blas.axpy``), so
  where the update is much of the step (small batches, SGD with momentum) nnframe may be
  faster without any trap. A configuration is flagged when the reference was
  slower than ``nnframe`` or ``trainer`` in every round (the whole min-max of the paired
  ratio ``nnframe/numpy`` or ``trainer/numpy`` above 1; with one round, its value);
- a contender whose step got more than ``DRIFT_LIMIT`` slower from the first timed block
  to the last is flagged too: its time depends on when it was measured;
- the GEMM fraction is ``(step GEMM FLOPs / median step time) / median GEMM rate``, with the
  minimal FLOP count of :func:`benchmarks.configs.gemm_flops` (no first-layer input
  gradient), so it says how close a step comes to doing nothing but its matrix products
  at the speed of one large ``np.dot``;
- page faults per step, peak memory and CPU use are medians over rounds.
"""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.configs import Config, gemm_flops
from benchmarks.worker import GEMM_SHAPE

__all__ = [
    "DRIFT_LIMIT",
    "RATIOS",
    "TRAP_WARNING",
    "machine_line",
    "reference_traps",
    "render_markdown",
    "summarize",
]

RATIOS = (
    ("nnframe", "torch"),
    ("nnframe", "numpy"),
    ("trainer", "torch"),
    ("trainer", "numpy"),
    ("trainer", "nnframe"),
)
#: The contenders the numpy reference must never be slower than.
FRAMEWORK_STEPS = ("nnframe", "trainer")
TRAP_WARNING = "reference slower than nnframe: look for a trap in the reference"
#: Last timed block over first above this (median over rounds): the step time drifted.
DRIFT_LIMIT = 1.25


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _summarize_contender(
    results: list[dict[str, Any]], flops: int, rate: float | None
) -> dict[str, Any] | None:
    if not results:
        return None
    step = _spread([r["step_time"] for r in results])
    assert step is not None
    return {
        "rounds": len(results),
        "step_time_s": step,
        "throughput": _spread([r["throughput"] for r in results]),
        "gemm_fraction": flops / step["median"] / rate if rate else None,
        "minor_faults_per_step": _median([r["minor_faults_per_step"] for r in results]),
        "major_faults_per_step": _median([r["major_faults_per_step"] for r in results]),
        "cpu_per_wall": _median([r["cpu_per_wall"] for r in results]),
        "other_load": _median([r.get("other_load") for r in results]),
        "redone": sum("retried_after_other_load" in r for r in results),
        "peak_rss_mib": _median([r["peak_rss_mib"] for r in results]),
        "step_extra_mib": _median([r["step_extra_mib"] for r in results]),
        "final_loss": [r["final_loss"] for r in results],
        "drift": _median([r.get("drift") for r in results]),
    }


def _paired_ratios(
    by_round: dict[int, dict[str, float]], a: str, b: str
) -> dict[str, float] | None:
    ratios = [
        throughputs[a] / throughputs[b]
        for throughputs in by_round.values()
        if a in throughputs and b in throughputs
    ]
    return _spread(ratios)


def reference_traps(ratios: dict[str, dict[str, float] | None]) -> list[str]:
    """The framework steps the numpy reference was slower than, in every round.

    ``ratios`` maps ``"nnframe/numpy"``-style names to paired-ratio spreads; a step is
    listed when its ratio to numpy has a minimum above 1.
    """
    return [
        name
        for name in FRAMEWORK_STEPS
        if (spread := ratios.get(f"{name}/numpy")) is not None and spread["min"] > 1.0
    ]


def _drifting(contenders: dict[str, Any]) -> list[str]:
    return [
        name
        for name, entry in contenders.items()
        if entry is not None and entry.get("drift") is not None and entry["drift"] > DRIFT_LIMIT
    ]


def machine_line(machine: dict[str, Any], probe: dict[str, Any] | None) -> str:
    """One line: the CPU, numpy's BLAS (library, version, kernel, threads) and PyTorch's.

    ``probe`` is the probe child's answer for this thread setting (``machine`` is used when
    it is missing); whatever is not known reads "unknown".
    """
    info = probe or machine

    def known(value: object) -> str:
        return "unknown" if value in (None, "") else str(value)

    blas = info.get("blas") or [{}]
    pools = "; ".join(
        f"{known(b.get('internal_api'))} {known(b.get('version'))}, kernel "
        f"{known(b.get('architecture'))}, {known(b.get('num_threads'))} thread(s)"
        for b in blas
    )
    line = (
        f"Machine: {known(machine.get('cpu'))}, {known(machine.get('cores'))} cores; "
        f"numpy {known(info.get('numpy'))} BLAS: {pools}"
    )
    if info.get("torch"):
        line += (
            f"; PyTorch {info['torch']} BLAS {known(info.get('torch_blas'))} "
            f"(MKL {'yes' if info.get('torch_mkl') else 'no'}, CPU capability "
            f"{known(info.get('torch_cpu_capability'))}), "
            f"{known(info.get('torch_threads'))} thread(s)"
        )
    else:
        line += "; PyTorch not installed"
    return line + "."


def summarize(data: dict[str, Any]) -> dict[str, Any]:
    """Reduce ``data["runs"]`` to statistics, keyed by thread count (a string) and config id."""
    configs = [Config.from_dict({k: v for k, v in c.items() if k != "id"}) for c in data["configs"]]
    summary: dict[str, Any] = {}
    for run in data["runs"]:
        gemm_ok = [g for g in run["gemm"] if "error" not in g]
        gemm = {
            dtype: _spread([g[dtype]["median"] for g in gemm_ok])
            for dtype in ("float32", "float64")
        }
        errors = [r for r in run["steps"] if "error" in r]
        entries: dict[str, Any] = {}
        for config in configs:
            flops = gemm_flops(config.dims, config.batch)
            rate = gemm[config.dtype]["median"] if gemm[config.dtype] else None
            ok = [r for r in run["steps"] if r["config"] == config.id and "error" not in r]
            by_round: dict[int, dict[str, float]] = {}
            for r in ok:
                by_round.setdefault(r["round"], {})[r["contender"]] = r["throughput"]
            contenders = {
                name: _summarize_contender([r for r in ok if r["contender"] == name], flops, rate)
                for name in data["contenders"]
            }
            ratios = {
                f"{a}/{b}": _paired_ratios(by_round, a, b)
                for a, b in RATIOS
                if a in data["contenders"] and b in data["contenders"]
            }
            entries[config.id] = {
                "gemm_flops": flops,
                "contenders": contenders,
                "ratios": ratios,
                "reference_slower_than": reference_traps(ratios),
                "drifting": _drifting(contenders),
            }
        summary[str(run["threads"])] = {
            "machine_line": machine_line(data["machine"], run.get("probe")),
            "reference_traps": [cid for cid, e in entries.items() if e["reference_slower_than"]],
            "drifting": [cid for cid, e in entries.items() if e["drifting"]],
            "load_average_1min": run.get("load_average_1min"),
            "waited_s": run.get("waited_s"),
            "redone": sum("retried_after_other_load" in r for r in run["steps"] + run["gemm"]),
            "gemm_rate": gemm,
            "configs": entries,
            "errors": [f"{r['config']} {r['contender']}: {r['error']}" for r in errors],
        }
    return summary


# -- Markdown -------------------------------------------------------------------------


def _sig(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits, without exponent notation."""
    if x == 0:
        return "0"
    text = f"{x:.{digits}g}"
    if "e" in text:
        text = f"{x:.{max(0, digits - 1)}f}" if abs(x) >= 1 else f"{x:.{digits + 3}f}"
    return text


def _with_spread(s: dict[str, float] | None, scale: float = 1.0, digits: int = 3) -> str:
    if s is None:
        return "n/a"
    return (
        f"{_sig(s['median'] * scale, digits)} "
        f"({_sig(s['min'] * scale, digits)}-{_sig(s['max'] * scale, digits)})"
    )


def _number(x: float | None, fmt: str) -> str:
    return "n/a" if x is None else format(x, fmt)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]], numeric_from: int = 4) -> list[str]:
    align = ["---" if i < numeric_from else "---:" for i in range(len(header))]
    return [_row(header), _row(align), *(_row(r) for r in rows)]


def _config_cells(config: dict[str, Any]) -> list[str]:
    return [config["arch"], str(config["batch"]), config["dtype"], config["optimizer"]]


def _field(entry: dict[str, Any] | None, key: str, fmt: str) -> str:
    return "n/a" if entry is None else _number(entry[key], fmt)


def render_setting(data: dict[str, Any], threads: str) -> list[str]:
    """The Markdown section of one thread setting: GEMM rate and three tables."""
    result = data["summary"][threads]
    names = data["contenders"]
    label = "1 thread" if threads == "1" else f"{threads} threads"
    gemm = result["gemm_rate"]
    m, k, n = GEMM_SHAPE
    lines = [f"## {label}", ""]
    run = next(r for r in data["runs"] if str(r["threads"]) == threads)
    if "command" in run:
        options = run["options"]
        lines += [
            f"Measured with `{run['command']}` on {run['created']} ({run['duration_s']:.0f} s): "
            f"{options['rounds']} round(s), timed blocks of about {options['seconds']} s.",
            "",
        ]
    lines.append(
        f"GEMM rate (`np.dot` {m}x{k} @ {k}x{n}, GFLOP/s, median (min-max) over rounds): "
        f"float32 {_with_spread(gemm['float32'], 1e-9)}, "
        f"float64 {_with_spread(gemm['float64'], 1e-9)}."
    )
    load = result.get("load_average_1min")
    if load:
        lines[-1] += (
            f" Host load average (1 min) {load['start']:.2f} at the start of this section, "
            f"{load['end']:.2f} at its end."
        )
    if result.get("waited_s") is not None:
        lines[-1] += (
            f" Waited {result['waited_s']:.0f} s in all for other processes to go quiet; "
            f"{result['redone']} measurement(s) redone because other processes loaded the "
            "host while they ran."
        )
    lines.append("")
    config_head = ["model", "batch", "dtype", "optim"]

    machine = result.get("machine_line") or machine_line(data["machine"], run.get("probe"))
    ratio_names = [f"{a}/{b}" for a, b in RATIOS if a in names and b in names]

    lines += [f"### Step time ({label})", "", machine, ""]
    header = config_head + [f"{c} ms/step" for c in names]
    rows = []
    for config in data["configs"]:
        entry = result["configs"][config["id"]]
        cells = _config_cells(config)
        for name in names:
            c = entry["contenders"][name]
            cells.append(_with_spread(c and c["step_time_s"], 1e3))
        rows.append(cells)
    lines += _table(header, rows)
    lines += [
        "",
        "nnframe: the loop users write by hand (`optimizer.zero_grad(); loss_value = "
        "loss_fn(model(x), y); model.backward(loss_fn.backward()); optimizer.step()`); "
        "trainer: `nf.Trainer(model, loss_fn, optimizer).train_on_batch`; torch: PyTorch "
        "eager; numpy: the hand-written numpy step (`benchmarks/numpy_reference.py`). "
        "Median (min-max) over rounds.",
        "",
    ]

    lines += [f"### Ratios ({label})", "", machine, ""]
    header = config_head + ratio_names + ["flags"]
    rows = []
    for config in data["configs"]:
        entry = result["configs"][config["id"]]
        cells = _config_cells(config)
        cells += [_with_spread(entry["ratios"].get(name), digits=3) for name in ratio_names]
        slower = entry.get("reference_slower_than", [])
        flags = [f"numpy slower than {', '.join(slower)}"] if slower else []
        flags += [f"{n} drifted" for n in entry.get("drifting", [])]
        cells.append(", ".join(flags) or "-")
        rows.append(cells)
    lines += _table(header, rows)
    lines += [
        "",
        "Throughput ratios paired within a round, median (min-max) over rounds; above 1: "
        "the first contender is faster.",
        "",
    ]
    traps = result.get("reference_traps", [])
    if traps:
        rounds = max(
            (
                c["rounds"]
                for cid in traps
                for c in result["configs"][cid]["contenders"].values()
                if c
            ),
            default=0,
        )
        lines += [
            f"**Warning: {TRAP_WARNING}.** In every round ({rounds}) the numpy reference was "
            "slower than the framework's step in:",
            "",
        ]
        for cid in traps:
            entry = result["configs"][cid]
            ratios = ", ".join(
                f"{name}/numpy {_with_spread(entry['ratios'][f'{name}/numpy'])}"
                for name in entry["reference_slower_than"]
            )
            lines.append(
                f"- {cid} (slower than {', '.join(entry['reference_slower_than'])}: {ratios})"
            )
        lines += [
            "",
            "The reference updates parameters with numpy (two passes over memory per update); "
            "nnframe's large parameters take one BLAS pass (`nnframe.blas.axpy`), so where the "
            "update is much of the step nnframe may be faster without a trap: compare the "
            "optimizer phases in `python -m benchmarks.breakdown` before looking for one.",
        ]
        lines.append("")
        if rounds < 2:
            lines += [
                "With one round a few percent of noise can raise this flag on a busy host; "
                "a trap shows in every round of `--rounds 3` (and in "
                "`python -m benchmarks.breakdown`, which interleaves the two).",
                "",
            ]
    drifting = result.get("drifting", [])
    if drifting:
        lines += [
            f"**Warning: the step time drifted** (last timed block over {DRIFT_LIMIT} times "
            "the first, median over rounds): these times depend on when they were taken "
            "(subnormal numbers appearing, or the host's load changing):",
            "",
        ]
        lines += [f"- {cid}: {', '.join(result['configs'][cid]['drifting'])}" for cid in drifting]
        lines.append("")

    lines += [f"### GEMM fraction and page faults ({label})", "", machine, ""]
    header = [*config_head, "GEMM MFLOP/step"]
    header += [f"{c} GEMM frac." for c in names] + [f"{c} faults/step" for c in names]
    header += [f"{c} CPU/wall" for c in names] + ["other load"]
    rows = []
    for config in data["configs"]:
        entry = result["configs"][config["id"]]
        cells = [*_config_cells(config), _sig(entry["gemm_flops"] / 1e6, 4)]
        for name in names:
            c = entry["contenders"][name]
            cells.append(
                "n/a"
                if c is None or c["gemm_fraction"] is None
                else f"{100 * c['gemm_fraction']:.1f}%"
            )
        for name in names:
            cells.append(_field(entry["contenders"][name], "minor_faults_per_step", ".1f"))
        for name in names:
            cells.append(_field(entry["contenders"][name], "cpu_per_wall", ".2f"))
        loads = [c["other_load"] for c in entry["contenders"].values() if c and c["other_load"]]
        cells.append(f"{max(loads):.2f}" if loads else "n/a")
        rows.append(cells)
    lines += _table(header, rows)
    lines += [
        "",
        "GEMM frac.: (GEMM FLOPs of a step / median step time) / median GEMM rate. "
        "faults/step: minor page faults per step over the timed steps. CPU/wall: the "
        "process's CPU time over wall time while timed. other load: the CPU use of other "
        "processes on the host during the timed steps, in cores (the largest of the "
        "contenders' medians).",
        "",
    ]

    lines += [f"### Memory ({label})", "", machine, ""]
    header = config_head + [f"{c} peak RSS MiB" for c in names]
    header += [f"{c} step extra MiB" for c in names]
    rows = []
    for config in data["configs"]:
        entry = result["configs"][config["id"]]
        cells = _config_cells(config)
        for key in ("peak_rss_mib", "step_extra_mib"):
            for name in names:
                cells.append(_field(entry["contenders"][name], key, ".1f"))
        rows.append(cells)
    lines += _table(header, rows)
    lines += [
        "",
        "peak RSS: the process's resident-set high-water mark over warm-up and timed steps "
        "(imports, data and model included; PyTorch's libraries alone take about 300 MiB). "
        "step extra: that peak minus the resident set just before the first step, i.e. "
        "what training adds on top of the built model and data (gradients, activations, "
        "optimizer state, temporaries).",
        "",
    ]
    if result["errors"]:
        lines += ["Failed measurements:", ""]
        lines += [f"- {e}" for e in result["errors"]]
        lines.append("")
    return lines


def render_machine(data: dict[str, Any]) -> list[str]:
    """The machine and software, as a Markdown list."""
    m = data["machine"]
    blas = (
        "; ".join(
            " ".join(
                str(b.get(key)) for key in ("internal_api", "version", "architecture") if b.get(key)
            )
            + (f" ({b['threading_layer']})" if b.get("threading_layer") else "")
            for b in m.get("blas", [])
        )
        or "unknown"
    )
    memory = f"{m['memory_gib']:.1f} GiB" if m.get("memory_gib") else "unknown"
    env = ", ".join(f"{k}={v}" for k, v in m["environment"].items() if v is not None) or "none"
    torch = "not installed"
    if m.get("torch"):
        torch = f"{m['torch']} (MKL {'yes' if m.get('torch_mkl') else 'no'}"
        torch += f", BLAS {m['torch_blas']})" if m.get("torch_blas") else ")"
    return [
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores available, {m.get('cpu_mhz')} MHz, "
        f"cache {m.get('cache')}, SIMD: {', '.join(m['simd']) or 'none listed'}",
        f"- Memory: {memory}; OS: {m['os']}; Python {m['python']}",
        f"- numpy {m.get('numpy')}, BLAS: {blas}",
        f"- PyTorch: {torch}",
        f"- nnframe {m.get('nnframe')} at commit {m.get('nnframe_commit')}, "
        f"from {m.get('nnframe_source', 'the working tree')}",
        f"- Environment: {env}",
        "",
    ]


def render_markdown(data: dict[str, Any]) -> str:
    """The whole report: header, machine, then one section per thread setting."""
    missing = [c for c in data["contenders"] if c not in data["available"]]
    lines = [
        "# nnframe training-step benchmark",
        "",
        f"Written {data['created']}. Each measurement runs in its own process; rounds "
        f"alternate the contenders ({', '.join(data['contenders'])}, ...). Step times are "
        "medians over rounds, with (min-max) over rounds; ratios are throughput ratios "
        "paired within a round (above 1: the first contender is faster).",
        "",
    ]
    if missing:
        lines += [f"Not installed: {', '.join(missing)} (shown as n/a).", ""]
    lines += render_machine(data)
    for threads in data["summary"]:
        lines += render_setting(data, threads)
    return "\n".join(lines).rstrip() + "\n"
