"""Loading is bounded by the file; sizes beyond memory, bad initialiser arguments and
non-finite weights are refused with nnframe errors (issue 15, findings 1, 7, 8, 10)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnframe as nf
from nnframe import checks, init
from nnframe.errors import ArgumentError, NnframeError, SerializationError, StateDictError
from nnframe.serialization import format as file_format


def _raw_file(path, header: dict, data: bytes = b"") -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data)


def _run(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints a JSON object as its last line."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


PEAK = """
import json, resource, sys
import nnframe as nf
path = sys.argv[-1] if len(sys.argv) > 1 else None
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
"""


def test_an_architecture_larger_than_the_file_is_refused_without_allocating(tmp_path):
    path = tmp_path / "crafted.safetensors"
    header = file_format.make_header("model", None, "test")
    header[file_format.KEY_ARCHITECTURE] = file_format.dumps(
        {"class": "Linear", "config": {"in_features": 16000, "out_features": 16000}}
    )
    file_format.write_file(path, {}, header)
    assert path.stat().st_size < 1000
    outcome = _run(PEAK + f"""
before = peak()
try:
    nf.load({str(path)!r})
    error = None
except Exception as caught:
    error = f"{{type(caught).__name__}}: {{caught}}"
print(json.dumps({{"extra": peak() - before, "error": error}}))
""")
    assert outcome["error"].startswith("SerializationError")
    assert "more than the file's tensors (0 bytes) justifies" in outcome["error"]
    assert outcome["extra"] < 100 * 2**20


def test_a_sparse_file_not_covered_by_its_tensors_fails_before_reading_it(tmp_path):
    path = tmp_path / "sparse.safetensors"
    header = {"weight": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}
    _raw_file(path, header, b"\x00" * 8)
    with open(path, "r+b") as stream:
        stream.truncate(2**30)  # a hole: 1 GiB that takes no disk
    outcome = _run(PEAK + f"""
before = peak()
try:
    nf.load_weights(nf.Linear(1, 1), {str(path)!r})
    error = None
except Exception as caught:
    error = f"{{type(caught).__name__}}: {{caught}}"
print(json.dumps({{"extra": peak() - before, "error": error}}))
""")
    assert outcome["error"].startswith("SerializationError")
    assert "not fully covered" in outcome["error"]
    assert outcome["extra"] < 100 * 2**20


def test_tensors_are_read_through_a_memory_map(tmp_path):
    path = tmp_path / "w.safetensors"
    nf.save_weights(nf.Linear(300, 200, rng=0), path)
    stored = file_format.read_file(path)
    weight = stored.tensors["weight"]
    assert not weight.flags.writeable
    assert not weight.flags.owndata  # a view of the map, not a copy of the bytes


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}, "do not agree"),
        ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, "do not agree"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}, "starts at byte 4"),
        ({"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}, "do not agree"),
        ({"dtype": 3, "shape": [1], "data_offsets": [0, 4]}, "does not read"),
        ({"dtype": "F32", "shape": [1]}, "exactly"),
    ],
)
def test_malformed_headers_are_serialization_errors(tmp_path, entry, fragment):
    path = tmp_path / "bad.safetensors"
    _raw_file(path, {"w": entry}, b"\x00" * 8)
    with pytest.raises(SerializationError, match=fragment):
        nf.load_weights(nf.Linear(2, 2), path)


def test_a_header_with_many_unexpected_names_gets_a_short_message(tmp_path):
    count = 200_000
    header = {f"extra.{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}
              for i in range(count)}
    path = tmp_path / "many.safetensors"
    _raw_file(path, header)
    with pytest.raises(StateDictError) as caught:
        nf.load_weights(nf.Linear(2, 2), path)
    message = str(caught.value)
    assert len(message) < 3000
    assert f"... and {count - 20} more unexpected names" in message
    assert "missing: 'weight'" in message


def test_a_model_file_with_non_finite_weights_is_refused_unless_allowed(tmp_path):
    model = nf.Sequential(nf.Linear(3, 2, rng=0), nf.ReLU(), nf.Linear(2, 1, rng=1))
    model[2].weight.value[0, 1] = np.inf
    model[0].bias.value[1] = np.nan
    path = tmp_path / "inf.safetensors"
    nf.save(model, path)
    with pytest.raises(SerializationError, match=r"'0.bias' holds 1 non-finite"):
        nf.load(path)
    loaded = nf.load(path, allow_nonfinite=True)
    assert np.isinf(loaded[2].weight.value[0, 1])
    with pytest.raises(NnframeError):
        nf.load(path, allow_nonfinite="yes")


def test_loading_draws_no_initial_weights(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    nf.save(nf.Sequential(nf.Linear(4, 3, rng=0), nf.Tanh(), nf.Linear(3, 2, rng=1)), path)

    def refuse(*args, **kwargs):
        raise AssertionError("an initialiser was called while loading")

    monkeypatch.setitem(init._BY_NAME, "he_normal", refuse)
    loaded = nf.load(path)
    assert loaded[0].weight.value.any()


def test_layers_beyond_the_memory_available_are_refused(monkeypatch):
    monkeypatch.setattr(checks, "available_memory", lambda: 19 * 2**30)
    with pytest.raises(ArgumentError, match=r"Linear: 4 arrays .* GiB\) do not fit in the 19 GiB"):
        nf.Linear(50000, 50000, dtype=np.float64)
    with pytest.raises(ArgumentError, match="GiB"):
        init.he_normal((50000, 50000))


def test_the_allocation_budget_counts_every_array():
    with checks.allocation_budget(100, "the test"):
        checks.array_size((10,), np.dtype(np.float32), "a")
        checks.array_size((15,), np.dtype(np.float32), "b")
        with pytest.raises(ArgumentError, match="more than the test justifies"):
            checks.array_size((1,), np.dtype(np.float32), "c")
    checks.array_size((1000,), np.dtype(np.float32), "outside")


PUBLIC_INITS = [init.normal, init.he_normal, init.he_uniform, init.xavier_normal,
                init.xavier_uniform, init.zeros]


@pytest.mark.parametrize("initializer", PUBLIC_INITS)
@pytest.mark.parametrize(
    "arguments",
    [
        (None,), ("3",), ((2, -1),), ((2, 1.5),), ((True, 2),), ({"a": 1},),
        ((2, 3), "seed"), ((2, 3), -1), ((2, 3), 0, np.int32), ((2, 3), 0, "complex64"),
        ((2, 3), 0, "nonsense"), ((10**9, 10**9),),
    ],
)
def test_initialisers_refuse_bad_arguments_with_nnframe_errors(initializer, arguments):
    with pytest.raises(NnframeError):
        initializer(*arguments)


@given(std=st.floats(min_value=1e39, max_value=1e308))
def test_normal_refuses_a_std_that_overflows(std):
    with pytest.raises(ArgumentError, match="not finite"):
        init.normal((3, 4), 0, std=std)


@pytest.mark.parametrize("std", [-1.0, float("nan"), float("inf"), "1"])
def test_normal_refuses_a_bad_std(std):
    with pytest.raises(NnframeError):
        init.normal((2, 2), 0, std=std)


@given(shape=st.lists(st.integers(0, 6), max_size=3), seed=st.integers(0, 2**32 - 1))
def test_initialisers_accept_good_arguments(shape, seed):
    for initializer in PUBLIC_INITS:
        weights = initializer(tuple(shape), seed, np.float64)
        assert weights.shape == tuple(shape)
        assert weights.dtype == np.float64
        assert np.isfinite(weights).all()
