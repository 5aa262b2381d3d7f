"""The benchmarks' own correctness: same maths in every contender, traps flagged, headers.

Nothing here times anything against a limit: the benchmarks' figures are checked by
running them, not by tests.
"""

import json
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import report
from benchmarks.configs import (
    OPTIMIZER_SETTINGS,
    Config,
    all_configs,
    initial_parameters,
    make_batches,
)
from benchmarks.contenders import CONTENDERS, build, nnframe_parts
from benchmarks.numpy_reference import NumpyMLP
from benchmarks.worker import MAX_STEPS, blas_info, measure_step


def tiny_config(head: str, batch: int, dtype: str, optimizer: str, hidden=(6, 5)) -> Config:
    dims = (7, *hidden, 3 if head == "softmax" else 1)
    return Config("tiny", dims, head, batch, dtype, optimizer)


def reference(config: Config) -> NumpyMLP:
    return NumpyMLP(
        initial_parameters(config),
        config.head,
        config.batch,
        config.optimizer,
        OPTIMIZER_SETTINGS[config.optimizer],
    )


def subnormal_count(*arrays: np.ndarray) -> int:
    tiny = np.finfo(arrays[0].dtype).tiny
    return sum(int(np.count_nonzero((a != 0) & (np.abs(a) < tiny))) for a in arrays)


# -- the same maths ---------------------------------------------------------------------


@given(
    head=st.sampled_from(["softmax", "sigmoid"]),
    optimizer=st.sampled_from(["sgd", "adam"]),
    batch=st.integers(1, 6),
    hidden=st.lists(st.integers(1, 9), min_size=1, max_size=3).map(tuple),
)
def test_reference_matches_nnframe_float64(head, optimizer, batch, hidden):
    """Same losses and same parameters as nnframe's documented loop after a few steps."""
    config = tiny_config(head, batch, "float64", optimizer, hidden)
    batches = make_batches(config)
    numpy_model = reference(config)
    model, loss_fn, opt = nnframe_parts(config, initial_parameters(config))
    for x, y in batches[:4]:
        opt.zero_grad()
        loss_value = loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        opt.step()
        np.testing.assert_allclose(numpy_model.step(x, y), float(loss_value), rtol=1e-10)
    for (name, parameter), value in zip(model.named_parameters(), numpy_model.values, strict=True):
        np.testing.assert_allclose(parameter.value, value, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("head", ["softmax", "sigmoid"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_contender_computes_the_same_losses(head, optimizer, dtype):
    """The hand loop, the Trainer and the reference (and PyTorch, when installed) agree."""
    config = tiny_config(head, 4, dtype, optimizer)
    rtol = 1e-4 if dtype == "float32" else 1e-9
    losses = {}
    for contender in CONTENDERS:
        if contender == "torch" and not _has_torch():
            continue
        step, batches = build(
            contender, config, initial_parameters(config), make_batches(config), 1
        )
        losses[contender] = [float(step(x, y)) for x, y in batches[:5]]
    assert {"nnframe", "trainer", "numpy"} <= set(losses)
    for contender, values in losses.items():
        assert all(np.isfinite(values)), contender
        np.testing.assert_allclose(values, losses["numpy"], rtol=rtol, err_msg=contender)


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def test_reference_parameters_are_views_of_one_array():
    config = tiny_config("softmax", 2, "float32", "sgd")
    model = reference(config)
    for value, grad in zip(model.values, model.grads, strict=True):
        assert np.shares_memory(value, model.flat_values)
        assert np.shares_memory(grad, model.flat_grads)
    assert model.flat_values.size == sum(v.size for v in model.values)


@pytest.mark.parametrize("config_id", ["mnist-mlp/b1/float32/sgd", "mnist-mlp/b1/float32/adam"])
def test_measured_steps_stay_clear_of_subnormal_numbers(config_id):
    """As many steps as a measurement may take leave no subnormal number in the state.

    With the earlier data (all-positive inputs, random labels) most ReLU units of the
    batch-1 model died within a few hundred steps, and the momentum buffers of their
    weights sat on subnormal numbers, which made every step ~10x slower on Intel CPUs.
    """
    config = next(c for c in all_configs() if c.id == config_id)
    model = reference(config)
    batches = make_batches(config)
    state = [model.flat_values, model.flat_grads, model.flat_first, model.flat_second]
    for k in range(MAX_STEPS):
        model.step(*batches[k % len(batches)])
    assert subnormal_count(*state) == 0
    # And a margin: well beyond the budget, hardly any (the earlier data: 80% of the state).
    for k in range(MAX_STEPS, 1000):
        model.step(*batches[k % len(batches)])
    assert subnormal_count(*state) < 0.01 * model.flat_values.size
    assert all(np.isfinite(a).all() for a in state)


def test_a_measurement_stays_within_the_step_budget():
    config = tiny_config("softmax", 2, "float64", "sgd")
    result = measure_step(
        {
            "contender": "nnframe",
            "config": config.to_dict(),
            "threads": 1,
            "seconds": 30.0,  # far more than the budget allows
            "warmup_seconds": 30.0,
        }
    )
    assert result["steps"] + result["warmup_steps"] <= MAX_STEPS
    assert result["drift"] == result["block_step_times"][-1] / result["block_step_times"][0]


# -- the report: trap and drift flags, machine header ---------------------------------

MACHINE = {
    "cpu": "Test CPU 9000",
    "cpu_mhz": "3000",
    "cache": "1 MB",
    "simd": ["avx2"],
    "cores": 2,
    "memory_gib": 8.0,
    "os": "Linux",
    "python": "3.11",
    "environment": {},
    "nnframe_commit": "abc",
    "numpy": "2.4",
    "blas": [{"internal_api": "openblas", "version": "0.3.31", "architecture": "Haswell"}],
}
PROBE = {
    "numpy": "2.4",
    "blas": [
        {
            "internal_api": "openblas",
            "version": "0.3.31",
            "architecture": "SkylakeX",
            "num_threads": 1,
        }
    ],
    "torch": "2.13.0+cpu",
    "torch_blas": "mkl",
    "torch_mkl": True,
    "torch_threads": 1,
}


def _result(config: Config, contender: str, round_index: int, seconds: float, drift=1.0):
    return {
        "kind": "step",
        "contender": contender,
        "config": config.id,
        "round": round_index,
        "step_time": seconds,
        "throughput": config.batch / seconds,
        "minor_faults_per_step": 0.0,
        "major_faults_per_step": 0.0,
        "cpu_per_wall": 1.0,
        "other_load": 0.0,
        "peak_rss_mib": 100.0,
        "step_extra_mib": 1.0,
        "final_loss": 1.0,
        "drift": drift,
    }


def synthetic_data(times: dict[str, dict[str, list[float]]], drift=None, probe=PROBE):
    """A run whose step times are ``times[config_id][contender]`` (one per round)."""
    configs = [c for c in all_configs() if c.id in times]
    steps = []
    for config in configs:
        for contender, per_round in times[config.id].items():
            for round_index, seconds in enumerate(per_round):
                d = (drift or {}).get((config.id, contender), 1.0)
                steps.append(_result(config, contender, round_index, seconds, d))
    rounds = max(len(v) for t in times.values() for v in t.values())
    gemm = {"float32": {"median": 1e11}, "float64": {"median": 5e10}}
    data = {
        "created": "now",
        "machine": MACHINE,
        "contenders": list(CONTENDERS),
        "available": list(CONTENDERS),
        "configs": [c.to_dict() | {"id": c.id} for c in configs],
        "runs": [
            {
                "threads": 1,
                "probe": probe,
                "gemm": [gemm | {"round": r} for r in range(rounds)],
                "steps": steps,
            }
        ],
    }
    data["summary"] = report.summarize(data)
    return data


TRAPPED = "mnist-mlp/b1/float32/sgd"
CLEAN = "mnist-mlp/b64/float32/sgd"
MIXED = "mnist-mlp/b16/float32/sgd"


def test_reference_slower_than_nnframe_is_flagged():
    data = synthetic_data(
        {
            # numpy slower than both nnframe steps in every round: a trap
            TRAPPED: {
                "nnframe": [1.0, 1.1],
                "trainer": [1.2, 1.2],
                "torch": [2, 2],
                "numpy": [1.5, 1.5],
            },
            # numpy the fastest: no flag
            CLEAN: {
                "nnframe": [1.1, 1.1],
                "trainer": [1.1, 1.1],
                "torch": [2, 2],
                "numpy": [1.0, 1.0],
            },
            # slower in one round only: within the noise, no flag (min-max rule)
            MIXED: {
                "nnframe": [1.0, 1.2],
                "trainer": [1.3, 1.3],
                "torch": [2, 2],
                "numpy": [1.1, 1.1],
            },
        }
    )
    summary = data["summary"]["1"]
    assert summary["reference_traps"] == [TRAPPED]
    assert summary["configs"][TRAPPED]["reference_slower_than"] == ["nnframe", "trainer"]
    assert summary["configs"][CLEAN]["reference_slower_than"] == []
    assert summary["configs"][MIXED]["reference_slower_than"] == []
    json.loads(json.dumps(data))  # the flag is kept in the JSON
    markdown = report.render_markdown(data)
    assert report.TRAP_WARNING in markdown
    warning = markdown[markdown.index(report.TRAP_WARNING) :]
    assert f"- {TRAPPED} (slower than nnframe, trainer: nnframe/numpy 1.43 (1.36-1.5)" in warning
    assert "numpy slower than nnframe, trainer |" in markdown
    assert CLEAN not in warning.split("###")[0]
    assert MIXED not in warning.split("###")[0]


def test_no_warning_when_the_reference_is_fastest():
    data = synthetic_data(
        {CLEAN: {"nnframe": [1.1], "trainer": [1.0], "torch": [2.0], "numpy": [1.0]}}
    )
    assert data["summary"]["1"]["reference_traps"] == []
    assert report.TRAP_WARNING not in report.render_markdown(data)


def test_every_ratio_is_reported():
    data = synthetic_data(
        {CLEAN: {"nnframe": [1.0], "trainer": [2.0], "torch": [4.0], "numpy": [0.5]}}
    )
    ratios = data["summary"]["1"]["configs"][CLEAN]["ratios"]
    medians = {name: spread["median"] for name, spread in ratios.items()}
    assert medians == pytest.approx(
        {
            "nnframe/torch": 4.0,
            "nnframe/numpy": 0.5,
            "trainer/torch": 2.0,
            "trainer/numpy": 0.25,
            "trainer/nnframe": 0.5,
        }
    )
    markdown = report.render_markdown(data)
    for name in medians:
        assert f"| {name} " in markdown


def test_a_drifting_step_time_is_flagged():
    data = synthetic_data(
        {CLEAN: {"nnframe": [1.0], "trainer": [1.0], "torch": [2.0], "numpy": [0.9]}},
        drift={(CLEAN, "numpy"): 3.0},
    )
    assert data["summary"]["1"]["drifting"] == [CLEAN]
    markdown = report.render_markdown(data)
    assert "numpy drifted" in markdown
    assert f"- {CLEAN}: numpy" in markdown


def test_every_table_has_the_machine_header():
    data = synthetic_data(
        {CLEAN: {"nnframe": [1.0], "trainer": [1.0], "torch": [2.0], "numpy": [0.9]}}
    )
    line = data["summary"]["1"]["machine_line"]
    assert line.startswith("Machine: Test CPU 9000, 2 cores")
    assert "openblas 0.3.31, kernel SkylakeX, 1 thread(s)" in line
    assert "PyTorch 2.13.0+cpu BLAS mkl" in line
    markdown = report.render_markdown(data)
    lines = markdown.splitlines()
    tables = [i for i, text in enumerate(lines) if text.startswith("### ")]
    assert len(tables) == 4
    for i in tables:
        assert lines[i + 2] == line


def test_machine_header_says_unknown_without_threadpoolctl(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    pools = blas_info()
    assert pools[0]["architecture"] == "unknown"
    assert pools[0]["num_threads"] == "unknown"
    line = report.machine_line(MACHINE, {"numpy": "2.4", "blas": pools, "torch": None})
    assert "kernel unknown, unknown thread(s)" in line
    assert "PyTorch not installed" in line
    assert report.machine_line({}, None).startswith("Machine: unknown, unknown cores")


def test_blas_info_with_threadpoolctl():
    pytest.importorskip("threadpoolctl")
    pools = blas_info()
    assert pools, "numpy links a BLAS"
    assert pools[0]["source"] == "threadpoolctl"
    assert {"internal_api", "version", "architecture", "num_threads"} <= set(pools[0])


# -- the convolution benchmark ----------------------------------------------------------

import dataclasses  # noqa: E402
import tracemalloc  # noqa: E402

from benchmarks.conv_configs import (  # noqa: E402
    all_conv_configs,
    bound_bytes,
    conv_initial_parameters,
    gemm_products,
    layer_shapes,
    make_conv_batches,
)
from benchmarks.conv_contenders import nnframe_conv_parts, torch_conv_model  # noqa: E402
from benchmarks.conv_reference import NumpyConvNet  # noqa: E402
from benchmarks.conv_report import render_conv_markdown, summarize_conv  # noqa: E402
from benchmarks.worker import measure_conv_gemm, measure_conv_step  # noqa: E402

CONV_ARCHS = ["lenet", "cifar-small", "digits-cnn"]


def tiny_conv_config(arch: str, batch: int = 2, dtype: str = "float64"):
    config = next(c for c in all_conv_configs() if c.arch == arch)
    return dataclasses.replace(config, batch=batch, dtype=dtype)


def conv_reference(config, params=None) -> NumpyConvNet:
    params = conv_initial_parameters(config) if params is None else params
    return NumpyConvNet(config.layers, config.input_shape, params, config.batch, 0.01)


def tied_parameters(config):
    """The first convolution's weights zero and its bias positive: every pool window ties."""
    params = conv_initial_parameters(config)
    weight, bias = params[0]
    params[0] = (np.zeros_like(weight), np.full_like(bias, 0.25))
    return params


def test_conv_shapes_products_and_bound():
    shapes = {c.arch: layer_shapes(c) for c in all_conv_configs()}
    assert shapes["lenet"][6] == (256,)
    assert shapes["cifar-small"][6] == (4096,)
    assert shapes["digits-cnn"][3] == (256,)
    lenet = tiny_conv_config("lenet", batch=4, dtype="float32")
    products = gemm_products(lenet)
    # Two convolutions and three Linear layers: 3 products each, but none for the
    # first layer's input gradient.
    assert len(products) == 5 * 3 - 1
    assert products[0].m == 4 * 24 * 24 and products[0].k == 25 + 1
    bound = bound_bytes(lenet)
    n_params = sum(w.size + b.size for w, b in conv_initial_parameters(lenet))
    assert bound["parameters"] == bound["gradients"] == 4 * n_params
    assert bound["im2col"] == 4 * 4 * (24 * 24 * 25 + 8 * 8 * 150)
    assert bound["total"] == sum(v for k, v in bound.items() if k != "total")


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("arch", CONV_ARCHS)
def test_conv_reference_matches_torch_float64(arch, tied):
    """One step of the reference: PyTorch's loss, gradients and updated weights, to 1e-10."""
    torch = pytest.importorskip("torch")
    config = tiny_conv_config(arch)
    params = tied_parameters(config) if tied else conv_initial_parameters(config)
    x, y = make_conv_batches(config)[0]
    ref = conv_reference(config, params)
    loss = ref.step(x, y)
    model = torch_conv_model(config, params)
    torch_loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
    torch_loss.backward()
    np.testing.assert_allclose(loss, torch_loss.item(), rtol=1e-10)
    weighted = [layer for layer in model if hasattr(layer, "weight")]
    grads = ref.gradients()
    values = ref.parameters()
    with torch.no_grad():
        for layer, (gw, gb), (w, _) in zip(weighted, grads, values, strict=True):
            np.testing.assert_allclose(gw, layer.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(gb, layer.bias.grad.numpy(), rtol=1e-10, atol=1e-12)
            updated = layer.weight - 0.01 * layer.weight.grad
            np.testing.assert_allclose(w, updated.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("arch", CONV_ARCHS)
def test_conv_reference_matches_nnframe_float64(arch):
    """One step of the reference: nnframe's loss, gradients and updated weights, to 1e-10."""
    import nnframe as nf

    if not (hasattr(nf, "Conv2d") and hasattr(nf, "MaxPool2d")):
        pytest.skip("nnframe has no Conv2d / MaxPool2d yet")
    config = tiny_conv_config(arch)
    params = conv_initial_parameters(config)
    x, y = make_conv_batches(config)[0]
    ref = conv_reference(config, params)
    loss = ref.step(x, y)
    model, loss_fn, optimizer = nnframe_conv_parts(config, params)
    optimizer.zero_grad()
    loss_value = loss_fn(model(x), y)
    model.backward(loss_fn.backward())
    weighted = [layer for layer in model if hasattr(layer, "weight")]
    gradients = [(layer.weight.grad.copy(), layer.bias.grad.copy()) for layer in weighted]
    optimizer.step()
    np.testing.assert_allclose(loss, float(loss_value), rtol=1e-10)
    for layer, (gw, gb), (rgw, rgb), (w, b) in zip(
        weighted, gradients, ref.gradients(), ref.parameters(), strict=True
    ):
        np.testing.assert_allclose(rgw, gw, rtol=1e-10, atol=1e-12, err_msg=repr(layer))
        np.testing.assert_allclose(rgb, gb, rtol=1e-10, atol=1e-12, err_msg=repr(layer))
        np.testing.assert_allclose(w, layer.weight.value, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b, layer.bias.value, rtol=1e-10, atol=1e-12)


def test_conv_reference_pool_ties_go_to_the_first_element():
    """All four elements of every window equal: the whole gradient goes to the top left."""
    config = tiny_conv_config("digits-cnn")
    ref = conv_reference(config, tied_parameters(config))
    x, y = make_conv_batches(config)[0]
    ref.forward_and_loss(x, y)
    ref.backward()
    grad = ref.convs[0].grad_out.reshape(config.batch, 8, 8, 16)
    assert np.count_nonzero(grad[:, 0::2, 0::2]) > 0
    assert not grad[:, 1::2].any() and not grad[:, :, 1::2].any()


@pytest.mark.parametrize("arch", CONV_ARCHS)
def test_conv_reference_step_allocates_nothing_large(arch):
    """Nothing that grows with the batch: only numpy's fixed-size casting buffers."""
    config = tiny_conv_config(arch, batch=64, dtype="float32")
    ref = conv_reference(config)
    batches = make_conv_batches(config)
    ref.step(*batches[0])
    tracemalloc.start()
    try:
        ref.step(*batches[1])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < min(256 * 1024, bound_bytes(config)["total"] / 4), f"a step allocated {peak} B"


def test_conv_reference_refuses_what_it_does_not_do():
    config = tiny_conv_config("digits-cnn")
    layers = (("conv", 1, 16, 3, 0), ("relu",), ("pool", 2), ("flatten",), ("linear", 144, 10))
    with pytest.raises(ValueError, match="2x2"):  # 6x6 is fine, 7x7 is not: try 7x7
        NumpyConvNet(
            (("conv", 1, 16, 2, 0), *layers[1:]), (1, 8, 8), conv_initial_parameters(config), 2, 0.1
        )


def test_conv_measurements_run():
    """A conv step and the GEMM-alone timing run in-process (no timing asserted)."""
    config = tiny_conv_config("digits-cnn", batch=4, dtype="float32")
    task = {
        "contender": "numpy",
        "config": config.to_dict(),
        "threads": 1,
        "seconds": 0.01,
        "warmup_seconds": 0.0,
    }
    result = measure_conv_step(task)
    assert result["config"] == config.id and result["step_time"] > 0
    assert result["minor_faults_per_step"] >= 0
    gemm = measure_conv_gemm(task)
    assert set(gemm["products"]) == {p.what for p in gemm_products(config)}
    assert gemm["gemm_time"] > 0


def _conv_data(numpy_slower: bool) -> dict:
    config = next(c for c in all_conv_configs() if c.id == "lenet/b64/float32/sgd")
    times = {"nnframe": 0.010, "trainer": 0.011, "torch": 0.012, "numpy": 0.009}
    if numpy_slower:
        times["numpy"] = 0.020
    steps = [
        {
            "contender": name,
            "config": config.id,
            "round": r,
            "step_time": t,
            "throughput": 64 / t,
            "minor_faults_per_step": 0.0,
            "step_extra_mib": 1.0,
            "drift": 1.0,
            "other_load": 0.0,
        }
        for r in range(2)
        for name, t in times.items()
    ]
    data = {
        "created": "now",
        "machine": {"cpu": "Test CPU", "cores": 2},
        "contenders": list(times),
        "available": list(times),
        "configs": [config.to_dict() | {"id": config.id}],
        "runs": [
            {
                "threads": 1,
                "probe": {"numpy": "2", "blas": [{"internal_api": "openblas"}]},
                "gemm": [{"config": config.id, "round": 0, "gemm_time": 0.002}],
                "steps": steps,
            }
        ],
    }
    data["summary"] = summarize_conv(data)
    return data


@pytest.mark.parametrize("numpy_slower", [False, True])
def test_conv_report(numpy_slower):
    data = _conv_data(numpy_slower)
    entry = data["summary"]["1"]["configs"]["lenet/b64/float32/sgd"]
    assert entry["ratios"]["nnframe/torch"]["median"] == pytest.approx(1.2)
    assert entry["contenders"]["torch"]["gemm_fraction"] == pytest.approx(0.002 / 0.012)
    markdown = render_conv_markdown(data)
    assert "Machine: Test CPU" in markdown and "kernel unknown" in markdown
    assert ("numpy slower than nnframe, trainer" in markdown) == numpy_slower
    assert ("look for a trap in the reference" in markdown) == numpy_slower
