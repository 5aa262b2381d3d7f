"""Statistics and Markdown for the convolution benchmark (``python -m benchmarks --suite conv``).

The conventions are :mod:`benchmarks.report`'s: step times are medians over rounds with the
(min-max) over rounds; a ratio ``a/b`` is ``a``'s throughput over ``b``'s, paired within a
round, then median (min-max), above 1 meaning ``a`` is faster; a configuration is flagged
when the numpy reference was slower than nnframe's hand loop or its Trainer in every round.
Two figures differ:

- the **GEMM fraction** is the time of the step's matrix products measured alone (each
  product of :func:`benchmarks.conv_configs.gemm_products` through ``np.dot`` with the same
  shapes, in a child with the same threads; median over rounds) over the median step time;
- the **memory bound** is :func:`benchmarks.conv_configs.bound_bytes`: parameters +
  gradients + optimizer state + one batch's activations (the input and every layer's output)
  + one im2col matrix per convolution; **extra/bound** is a contender's step extra (peak RSS
  during the steps minus the RSS before the first one) over that bound.
"""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.conv_configs import ConvConfig, bound_bytes
from benchmarks.report import DRIFT_LIMIT, TRAP_WARNING, machine_line, reference_traps

__all__ = ["CONV_RATIOS", "render_conv_markdown", "summarize_conv"]

CONV_RATIOS = (
    ("nnframe", "torch"),
    ("nnframe", "numpy"),
    ("numpy", "torch"),
    ("trainer", "numpy"),
    ("trainer", "nnframe"),
)


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _median(values: list[Any]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize_conv(data: dict[str, Any]) -> dict[str, Any]:
    """Reduce ``data["runs"]`` to statistics, keyed by thread count (a string) and config id."""
    summary: dict[str, Any] = {}
    for run in data["runs"]:
        entries: dict[str, Any] = {}
        for record in data["configs"]:
            config = ConvConfig.from_dict(record)
            ok = [r for r in run["steps"] if r["config"] == config.id and "error" not in r]
            gemm = _median(
                [g.get("gemm_time") for g in run["gemm"] if g.get("config") == config.id]
            )
            by_round: dict[int, dict[str, float]] = {}
            for r in ok:
                by_round.setdefault(r["round"], {})[r["contender"]] = r["throughput"]
            bound = bound_bytes(config)
            contenders: dict[str, Any] = {}
            for name in data["contenders"]:
                mine = [r for r in ok if r["contender"] == name]
                step = _spread([r["step_time"] for r in mine])
                if step is None:
                    contenders[name] = None
                    continue
                extra = _median([r["step_extra_mib"] for r in mine])
                contenders[name] = {
                    "rounds": len(mine),
                    "step_time_s": step,
                    "gemm_fraction": gemm / step["median"] if gemm else None,
                    "minor_faults_per_step": _median([r["minor_faults_per_step"] for r in mine]),
                    "step_extra_mib": extra,
                    "extra_over_bound": (None if extra is None else extra * 2**20 / bound["total"]),
                    "drift": _median([r.get("drift") for r in mine]),
                    "other_load": _median([r.get("other_load") for r in mine]),
                }
            ratios = {
                f"{a}/{b}": _spread([t[a] / t[b] for t in by_round.values() if a in t and b in t])
                for a, b in CONV_RATIOS
            }
            entries[config.id] = {
                "gemm_time_s": gemm,
                "bound_bytes": bound,
                "contenders": contenders,
                "ratios": ratios,
                "reference_slower_than": reference_traps(ratios),
                "drifting": [
                    n
                    for n, c in contenders.items()
                    if c and c["drift"] is not None and c["drift"] > DRIFT_LIMIT
                ],
            }
        summary[str(run["threads"])] = {
            "machine_line": machine_line(data["machine"], run.get("probe")),
            "configs": entries,
            "reference_traps": [cid for cid, e in entries.items() if e["reference_slower_than"]],
            "errors": [
                f"{r['config']} {r['contender']}: {r['error']}"
                for r in run["steps"]
                if "error" in r
            ],
        }
    return summary


def _sig(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def _cell(spread: dict[str, float] | None, scale: float = 1.0) -> str:
    if spread is None:
        return "n/a"
    lo, mid, hi = (spread[k] * scale for k in ("min", "median", "max"))
    return f"{_sig(mid)} ({_sig(lo)}-{_sig(hi)})"


def _fmt(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |")
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _name(config_id: str) -> str:
    arch, batch = config_id.split("/")[:2]
    return f"{arch} {batch[1:]}"


def render_conv_setting(data: dict[str, Any], threads: str) -> list[str]:
    """The Markdown of one thread setting: step times and ratios, faults and GEMM, memory."""
    result = data["summary"][threads]
    names = data["contenders"]
    label = "1 thread" if threads == "1" else f"{threads} threads"
    machine = result["machine_line"]
    run = next(r for r in data["runs"] if str(r["threads"]) == threads)
    lines = [f"## Convolution, {label}", ""]
    if "command" in run:
        lines += [
            f"Measured with `{run['command']}` on {run['created']} ({run['duration_s']:.0f} s): "
            f"{run['options']['rounds']} round(s), timed blocks of about "
            f"{run['options']['seconds']} s.",
            "",
        ]
    lines += [machine, ""]
    ratio_names = [f"{a}/{b}" for a, b in CONV_RATIOS]
    header = ["config"] + [f"{n} ms/step" for n in names] + ratio_names + ["flags"]
    rows = []
    for cid, entry in result["configs"].items():
        row = [_name(cid)]
        row += [_cell(c and c["step_time_s"], 1e3) for c in entry["contenders"].values()]
        row += [_cell(entry["ratios"][r]) for r in ratio_names]
        flags = []
        if entry["reference_slower_than"]:
            flags.append(f"numpy slower than {', '.join(entry['reference_slower_than'])}")
        flags += [f"{n} drifted" for n in entry["drifting"]]
        rows.append([*row, ", ".join(flags) or "-"])
    lines += _table(header, rows)
    lines += [
        "",
        "Median (min-max) over rounds. Ratios: throughput of the first over the second, "
        "paired within a round; above 1: the first is faster.",
        "",
    ]
    if result["reference_traps"]:
        lines += [
            f"**Warning: {TRAP_WARNING}** (in every round): "
            + ", ".join(result["reference_traps"])
            + ".",
            "",
        ]
    header = ["config", "GEMM ms/step"] + [f"{n} GEMM frac." for n in names]
    header += [f"{n} faults/step" for n in names]
    rows = []
    for cid, entry in result["configs"].items():
        gemm = entry["gemm_time_s"]
        row = [_name(cid), _fmt(gemm and gemm * 1e3, ".3f")]
        row += [
            "n/a" if c is None or c["gemm_fraction"] is None else f"{100 * c['gemm_fraction']:.0f}%"
            for c in entry["contenders"].values()
        ]
        row += [_fmt(c and c["minor_faults_per_step"], ".1f") for c in entry["contenders"].values()]
        rows.append(row)
    lines += [f"### GEMM fraction and page faults ({label})", ""]
    lines += _table(header, rows)
    lines += [
        "",
        "GEMM ms/step: the step's convolution and linear matrix products timed alone, each "
        "through `np.dot` with the same shapes (`benchmarks.conv_configs.gemm_products`); "
        "GEMM frac.: that time over the contender's step time. faults/step: minor page "
        "faults per timed step.",
        "",
    ]
    header = ["config", "bound MiB"] + [f"{n} extra MiB (x bound)" for n in names]
    rows = []
    for cid, entry in result["configs"].items():
        row = [_name(cid), f"{entry['bound_bytes']['total'] / 2**20:.2f}"]
        for c in entry["contenders"].values():
            if c is None or c["step_extra_mib"] is None:
                row.append("n/a")
            else:
                row.append(f"{c['step_extra_mib']:.2f} ({c['extra_over_bound']:.2f}x)")
        rows.append(row)
    lines += [f"### Memory ({label})", ""]
    lines += _table(header, rows)
    lines += [
        "",
        "bound: parameters + gradients + optimizer state (none for plain SGD) + one batch's "
        "activations (the input and every layer's output) + one im2col matrix per "
        "convolution, in float32. extra: the peak resident set during the warm-up and timed "
        "steps minus the resident set before the first step (page-granular: under about "
        "0.5 MiB it is noise).",
        "",
    ]
    if result["errors"]:
        lines += ["Failed measurements:", ""] + [f"- {e}" for e in result["errors"]] + [""]
    return lines


def render_conv_markdown(data: dict[str, Any]) -> str:
    """The whole convolution report: a header, then one section per thread setting."""
    lines = [
        "# nnframe convolution training-step benchmark",
        "",
        f"Written {data['created']}. float32, plain SGD (lr 0.01), softmax cross-entropy "
        "over 10 classes, random data; each measurement in its own process, rounds "
        f"alternating {', '.join(data['contenders'])}.",
        "",
    ]
    missing = [c for c in data["contenders"] if c not in data["available"]]
    if missing:
        lines += [f"Not installed: {', '.join(missing)} (shown as n/a).", ""]
    for threads in data["summary"]:
        lines += render_conv_setting(data, threads)
    return "\n".join(lines).rstrip() + "\n"
