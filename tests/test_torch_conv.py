"""Conv2d and Conv1d against PyTorch's F.conv2d and F.conv1d, float64, to 1e-10.

PyTorch is an optional test dependency: without it these tests are skipped.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nnframe as nf

torch = pytest.importorskip("torch")
F = torch.nn.functional

# (in, out, kernel, arguments, spatial size): a grid over every argument and both layouts.
GRID_2D = [
    (1, 6, 5, {}, (28, 28)),
    (3, 4, 3, dict(padding=1), (7, 6)),
    (3, 4, (3, 2), dict(stride=(2, 3), padding=(2, 1), dilation=(2, 1)), (9, 8)),
    (4, 6, 3, dict(padding="same", groups=2), (7, 6)),
    (4, 4, 4, dict(padding="same", dilation=2), (7, 6)),
    (6, 6, 3, dict(groups=6, stride=2), (8, 8)),
    (2, 3, 1, dict(bias=False), (5, 4)),
    (2, 3, 3, dict(padding="valid", stride=3), (10, 11)),
]
GRID_1D = [
    (4, 6, 4, dict(padding="same", groups=2), 11),
    (4, 6, 3, dict(padding=2, stride=3, dilation=2), 11),
    (1, 2, 5, {}, 9),
]


def compare(layer, x, functional, arguments):
    rng = np.random.default_rng(1)
    if layer.bias is not None:
        layer.bias.value[...] = rng.standard_normal(layer.bias.shape)
    y = layer(x)
    grad_y = rng.standard_normal(y.shape)
    grad_x = layer.backward(grad_y, input_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(layer.weight.value, requires_grad=True)
    bt = None if layer.bias is None else torch.tensor(layer.bias.value, requires_grad=True)
    torch_arguments = {k: v for k, v in arguments.items() if k != "bias"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "same" with an even kernel: a copy
        yt = functional(xt, wt, bt, **torch_arguments)
    yt.backward(torch.tensor(grad_y))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(grad_x, xt.grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(layer.weight.grad, wt.grad.numpy(), rtol=0, atol=1e-10)
    if bt is not None:
        np.testing.assert_allclose(layer.bias.grad, bt.grad.numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize(("c_in", "c_out", "kernel", "arguments", "size"), GRID_2D)
@pytest.mark.parametrize("layout", ["contiguous", "channels-last"])
def test_conv2d_equals_torch(c_in, c_out, kernel, arguments, size, layout):
    layer = nf.Conv2d(c_in, c_out, kernel, rng=0, dtype=np.float64, **arguments)
    x = np.random.default_rng(0).standard_normal((3, c_in, *size))
    if layout == "channels-last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    compare(layer, x, F.conv2d, arguments)


@pytest.mark.parametrize(("c_in", "c_out", "kernel", "arguments", "size"), GRID_1D)
def test_conv1d_equals_torch(c_in, c_out, kernel, arguments, size):
    layer = nf.Conv1d(c_in, c_out, kernel, rng=0, dtype=np.float64, **arguments)
    x = np.random.default_rng(0).standard_normal((3, c_in, size))
    compare(layer, x, F.conv1d, arguments)


def test_a_state_dict_loads_into_torch_unchanged():
    ours = nf.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2, rng=0)
    theirs = torch.nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 4, 7, 6)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(x), expected, rtol=1e-5, atol=1e-5)
