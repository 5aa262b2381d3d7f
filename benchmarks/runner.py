"""The parent process of ``python -m benchmarks``: the command line and the schedule.

For each thread setting, a probe child first reports the BLAS and its threads as a
measurement sees them; then the run goes round after round; each round measures the GEMM
rate once, then every configuration with every contender in turn (nnframe, trainer,
torch, numpy, nnframe, ...), each in a fresh child process whose environment fixes the
BLAS and OpenMP thread counts. Per-round results are kept, so that the report can give
medians, spreads and ratios paired within a round.

The host may be shared. Before each group of measurements the parent waits (up to
``--max-wait`` seconds, ``--wait-budget`` in all) until other processes use less than
``QUIET`` cores beyond the cores the measurement leaves free, and it redoes once a
measurement during which they used more than ``CONTENDED``; every measurement records the
other processes' load, and the report shows it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.configs import Config, all_configs, quick_configs, select
from benchmarks.contenders import CONTENDERS, available
from benchmarks.conv_configs import ConvConfig, all_conv_configs, quick_conv_configs, select_conv
from benchmarks.conv_report import render_conv_markdown, summarize_conv
from benchmarks.machine import REPOSITORY, all_cores, describe_host, wait_for_quiet
from benchmarks.revision import child_environment_path, export_nnframe

__all__ = ["main", "parse_args", "run_child"]

RESULTS = Path(__file__).resolve().parent / "results"
_THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
CHILD_TIMEOUT = 300.0
#: Other processes' load, in busy cores beyond the cores the measurement leaves free (with
#: 1 thread on 2 cores, one core is free), under which the host counts as quiet, and above
#: which, during a timed block, a measurement counts as contended and is redone once.
QUIET = 0.3
CONTENDED = 0.5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=(
            "Time a training step of nnframe (the hand-written loop and Trainer.train_on_batch), "
            "PyTorch (eager, CPU) and a hand-written numpy step on the same MLPs, and the "
            "machine's GEMM rate; write Markdown and JSON."
        ),
    )
    parser.add_argument(
        "--suite",
        choices=("mlp", "conv", "all"),
        default="all",
        help="the MLP benchmark, the convolution benchmark (lenet, cifar-small, digits-cnn; "
        "written to OUTPUT-conv.json/.md), or both (default)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke test: 3 configurations, 1 round, 1 thread, short timings (< 1 minute)",
    )
    parser.add_argument(
        "--threads",
        choices=("1", "all", "both"),
        default=None,
        help="BLAS/torch threads per child: 1, all cores, or both in turn "
        "(default: both; with --quick, 1)",
    )
    parser.add_argument(
        "--filter",
        metavar="REGEX",
        help="only the configurations whose id matches, e.g. 'mnist-mlp/b(1|64)/float32' "
        "(ids look like mnist-mlp/b64/float32/sgd)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="rounds of A B C measurements per configuration (default 3; with --quick, 1)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="target duration of the timed steps of each measurement "
        "(default 0.3; with --quick, 0.1)",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=None,
        help="the host is shared: before each group of measurements wait up to this many "
        "seconds for other processes to go quiet, and redo a measurement they disturbed "
        "(default 10; with --quick, 0: no waiting, no redoing)",
    )
    parser.add_argument(
        "--wait-budget",
        type=float,
        default=240.0,
        help="total seconds the whole run may spend waiting for quiet (default 240)",
    )
    parser.add_argument(
        "--nnframe-rev",
        metavar="REV",
        help="measure nnframe (both the hand-written loop and the Trainer) as it is at this "
        "git revision (exported read-only to a temporary directory) instead of the working "
        "tree, e.g. a baseline commit",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="keep the earlier OUTPUT's results for the thread settings not measured now "
        "(e.g. redo --threads all alone, at a quieter time)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="write OUTPUT.json and OUTPUT.md (default benchmarks/results/latest; "
        "with --quick, benchmarks/results/quick)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    if args.threads is None:
        args.threads = "1" if quick else "both"
    if args.rounds is None:
        args.rounds = 1 if quick else 3
    if args.seconds is None:
        args.seconds = 0.1 if quick else 0.3
    if args.max_wait is None:
        args.max_wait = 0.0 if quick else 10.0
    args.wait_left = args.wait_budget
    if args.output is None:
        args.output = RESULTS / ("quick" if quick else "latest")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    return args


def _child_environment(threads: int, directory: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in _THREAD_VARIABLES:
        env[name] = str(threads)
    if directory != REPOSITORY:  # an exported nnframe (--nnframe-rev): see benchmarks.revision
        env["PYTHONPATH"] = child_environment_path(env.get("PYTHONPATH"))
    return env


def run_child(task: dict[str, Any], directory: Path = REPOSITORY) -> dict[str, Any]:
    """Run one task in a fresh ``benchmarks.worker`` process; return its JSON result.

    The child runs in ``directory``, whose ``nnframe`` package is the one measured.

    A failing child gives ``{"error": ...}`` instead of stopping the run.
    """
    command = [sys.executable, "-m", "benchmarks.worker", json.dumps(task)]
    try:
        done = subprocess.run(
            command,
            cwd=directory,
            env=_child_environment(task["threads"], directory),
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CHILD_TIMEOUT:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail}"}
    return json.loads(lines[-1])


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _format_time(result: dict[str, Any], args: argparse.Namespace) -> str:
    if "error" in result:
        return "error"
    text = f"{result['step_time'] * 1e3:.3f} ms"
    load = result.get("other_load")
    if load is not None and load > args.contended:
        text += f" (other load {load:.1f})"
    return text


def _quiet(args: argparse.Namespace) -> dict[str, Any]:
    """Wait (up to ``--max-wait``, within the budget) until other processes leave the cores."""
    limit = min(args.max_wait, args.wait_left)
    if limit <= 0:
        return {"waited_s": 0.0, "busy_cores": None}
    waited, busy = wait_for_quiet(args.quiet, limit)
    args.wait_left -= waited
    if args.wait_left <= 0:
        _log("  the --wait-budget is spent: no more waiting for quiet or redoing")
    if waited > 1:
        state = "quiet" if busy is not None and busy < args.quiet else "still busy, going on"
        _log(f"  waited {waited:.0f} s for other processes ({state})")
    return {"waited_s": waited, "busy_cores": busy}


def _measure(task: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """One measurement; if other processes loaded the host meanwhile, wait and redo it once."""
    result = run_child(task, args.child_directory)
    load = result.get("other_load")
    if min(args.max_wait, args.wait_left) > 0 and load is not None and load > args.contended:
        _quiet(args)
        retry = run_child(task, args.child_directory)
        if "error" not in retry:
            retry["retried_after_other_load"] = load
            result = retry
    return result


def run_setting(
    threads: int, configs: list[Config], contenders: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """All rounds for one thread count: the GEMM rates and every step measurement."""
    gemm: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    waits: list[dict[str, Any]] = []
    load_start = os.getloadavg()[0]
    probe = run_child({"kind": "probe", "threads": threads}, args.child_directory)
    free = max(0, all_cores() - threads)
    args.quiet, args.contended = free + QUIET, free + CONTENDED
    for round_index in range(args.rounds):
        waits.append(_quiet(args))
        result = _measure({"kind": "gemm", "threads": threads, "seconds": args.seconds}, args)
        result["round"] = round_index
        gemm.append(result)
        if "error" in result:
            _log(f"[{threads} thread(s)] round {round_index + 1}: GEMM failed: {result['error']}")
        else:
            _log(
                f"[{threads} thread(s)] round {round_index + 1}/{args.rounds}: GEMM "
                f"{result['float32']['median'] / 1e9:.1f} GFLOP/s float32, "
                f"{result['float64']['median'] / 1e9:.1f} GFLOP/s float64"
            )
        for config in configs:
            waits.append(_quiet(args))
            line = _time_contenders("step", config, contenders, threads, round_index, steps, args)
            _log(f"  {config.id:<30} " + "  ".join(line))
    load = {"start": load_start, "end": os.getloadavg()[0]}
    return {
        "threads": threads,
        "probe": probe,
        "load_average_1min": load,
        "waited_s": sum(w["waited_s"] for w in waits),
        "gemm": gemm,
        "steps": steps,
    }


def _time_contenders(
    kind: str,
    config: Any,
    contenders: list[str],
    threads: int,
    round_index: int,
    steps: list[dict[str, Any]],
    args: argparse.Namespace,
) -> list[str]:
    """Time every contender's step on ``config`` (a ``kind`` child each) into ``steps``.

    Returns the log line's pieces, one per contender.
    """
    line = []
    for contender in contenders:
        task = {
            "kind": kind,
            "contender": contender,
            "config": config.to_dict(),
            "threads": threads,
            "seconds": args.seconds,
            "warmup_seconds": args.seconds / 3,
        }
        result = _measure(task, args)
        result.update(contender=contender, config=config.id, round=round_index)
        steps.append(result)
        line.append(f"{contender} {_format_time(result, args)}")
        if "error" in result:
            _log(f"  {config.id} {contender}: {result['error']}")
    return line


def run_conv_setting(
    threads: int, configs: list[ConvConfig], contenders: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """All rounds of the convolution benchmark for one thread count.

    Each round times, per configuration, the step's matrix products alone (a ``conv_gemm``
    child) and then every contender in turn, each in its own child.
    """
    gemm: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    probe = run_child({"kind": "probe", "threads": threads}, args.child_directory)
    free = max(0, all_cores() - threads)
    args.quiet, args.contended = free + QUIET, free + CONTENDED
    for round_index in range(args.rounds):
        for config in configs:
            _quiet(args)
            task: dict[str, Any] = {
                "kind": "conv_gemm",
                "config": config.to_dict(),
                "threads": threads,
                "seconds": args.seconds,
            }
            result = _measure(task, args)
            result.update(config=config.id, round=round_index)
            gemm.append(result)
            line = _time_contenders(
                "conv_step", config, contenders, threads, round_index, steps, args
            )
            _log(
                f"  [{threads} thread(s)] round {round_index + 1} {config.id:<26} "
                + "  ".join(line)
            )
    return {"threads": threads, "probe": probe, "gemm": gemm, "steps": steps}


def _config_records(configs: list[Config]) -> list[dict[str, Any]]:
    return [config.to_dict() | {"id": config.id} for config in configs]


def _resolve(rev: str) -> str:
    """The short hash of ``rev`` (already known to exist: it was exported)."""
    return subprocess.run(
        ["git", "rev-parse", "--short=12", rev],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _previous_runs(
    args: argparse.Namespace, config_records: list[dict[str, Any]], settings: list[int]
) -> list[dict[str, Any]] | None:
    """With ``--update``, the earlier output's runs of the thread settings not measured now.

    None (after saying why) when the earlier output measured other configurations.
    """
    path = args.output.with_suffix(".json")
    if not args.update or not path.exists():
        return []
    earlier = json.loads(path.read_text())
    if earlier["configs"] != json.loads(json.dumps(config_records)):  # tuples become lists
        _log(f"--update: {path} holds other configurations; run without --update")
        return None
    kept = [run for run in earlier["runs"] if run["threads"] not in settings]
    for run in kept:
        _log(f"--update: keeping the {run['threads']}-thread results of {run['created']}")
    return kept


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, write ``OUTPUT.json`` and ``OUTPUT.md``, print the Markdown."""
    args = parse_args(argv)
    configs, conv_configs = [], []
    if args.suite in ("mlp", "all"):
        configs = select(quick_configs() if args.quick else all_configs(), args.filter)
    if args.suite in ("conv", "all"):
        conv_configs = select_conv(
            quick_conv_configs() if args.quick else all_conv_configs(), args.filter
        )
    args.conv_configs = conv_configs
    if not configs and not conv_configs:
        _log(f"no configuration matches --filter {args.filter!r}")
        return 2
    contenders = [c for c in CONTENDERS if available(c)]
    if "torch" not in contenders:
        _log('PyTorch is not installed: the torch column will show n/a (pip install -e ".[bench]")')
    cores = all_cores()
    settings = {"1": [1], "all": [cores], "both": [1, cores]}[args.threads]
    settings = list(dict.fromkeys(settings))  # one core: "both" is one setting

    command = "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv)
    options = {
        "rounds": args.rounds,
        "seconds": args.seconds,
        "filter": args.filter,
        "quick": args.quick,
        "max_wait": args.max_wait,
        "wait_budget": args.wait_budget,
        "nnframe_rev": args.nnframe_rev,
        "quiet_below_cores_beyond_free": QUIET,
        "contended_above_cores_beyond_free": CONTENDED,
    }
    previous = _previous_runs(args, _config_records(configs), settings) if configs else []
    if previous is None:
        return 2

    with tempfile.TemporaryDirectory(prefix="nnframe-rev-") as exported:
        args.child_directory = REPOSITORY
        if args.nnframe_rev:
            try:
                commit = export_nnframe(args.nnframe_rev, Path(exported))
            except ValueError as error:
                _log(str(error))
                return 2
            args.child_directory = Path(exported)
            _log(f"measuring nnframe as of {commit[:12]} (--nnframe-rev {args.nnframe_rev})")
        return _run(args, configs, contenders, settings, command, options, previous)


def _run(
    args: argparse.Namespace,
    configs: list[Config],
    contenders: list[str],
    settings: list[int],
    command: str,
    options: dict[str, Any],
    previous: list[dict[str, Any]],
) -> int:
    """Measure every thread setting, then write and print the report."""
    machine = describe_host()
    if args.nnframe_rev:
        machine["nnframe_commit"] = export_commit = _resolve(args.nnframe_rev)
        machine["nnframe_source"] = f"git archive of {export_commit} (--nnframe-rev)"
    else:
        machine["nnframe_source"] = "the working tree"
    machine.update(run_child({"kind": "probe", "threads": 1}, args.child_directory))
    if args.conv_configs:
        _run_conv(args, contenders, settings, command, machine)
    if not configs:
        return 0
    runs = []
    for threads in settings:
        started = time.time()
        run = run_setting(threads, configs, contenders, args)
        run.update(
            created=time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(started)),
            duration_s=round(time.time() - started, 1),
            command=command.strip(),
            options=options,
        )
        runs.append(run)
    data = {
        "created": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": machine,
        "contenders": list(CONTENDERS),
        "available": contenders,
        "configs": _config_records(configs),
        "runs": sorted(previous + runs, key=lambda run: run["threads"]),
    }
    data["summary"] = report.summarize(data)
    markdown = report.render_markdown(data)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(data) + "\n")
    args.output.with_suffix(".md").write_text(markdown)
    print(markdown)
    total = sum(run["duration_s"] for run in runs)
    _log(f"wrote {args.output.with_suffix('.json')} and .md; measuring took {total:.0f} s")
    return 0


def _run_conv(
    args: argparse.Namespace,
    contenders: list[str],
    settings: list[int],
    command: str,
    machine: dict[str, Any],
) -> None:
    """Measure the convolution configurations; write and print ``OUTPUT-conv.{json,md}``."""
    runs = []
    for threads in settings:
        started = time.time()
        run = run_conv_setting(threads, args.conv_configs, contenders, args)
        run.update(
            created=time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(started)),
            duration_s=round(time.time() - started, 1),
            command=command.strip(),
            options={"rounds": args.rounds, "seconds": args.seconds, "filter": args.filter},
        )
        runs.append(run)
    data = {
        "created": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": machine,
        "contenders": list(CONTENDERS),
        "available": contenders,
        "configs": [c.to_dict() | {"id": c.id} for c in args.conv_configs],
        "runs": runs,
    }
    data["summary"] = summarize_conv(data)
    markdown = render_conv_markdown(data)
    output = args.output.with_name(args.output.name + "-conv")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".json").write_text(json.dumps(data) + "\n")
    output.with_suffix(".md").write_text(markdown)
    print(markdown)
    total = sum(run["duration_s"] for run in runs)
    _log(f"wrote {output.with_suffix('.json')} and .md; measuring took {total:.0f} s")
