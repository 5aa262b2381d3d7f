"""Pooling against PyTorch in float64: forward and backward to 1e-10, tie routing included.

Optional: skipped cleanly when torch is not installed.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import nnframe as nf

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = 1e-10

# (kernel, stride, padding) per axis: tiling, cropping, overlap, gaps, padding.
GEOMETRY_1D = [(1, 1, 0), (2, None, 0), (3, 1, 1), (3, 2, 1), (2, 3, 0), (4, 2, 2), (5, 5, 0)]
SPATIAL_1D = [5, 8]
GEOMETRY_2D = [
    ((2, 2), None, (0, 0)), ((3, 3), (1, 1), (1, 1)), ((3, 3), (2, 2), (1, 1)),
    ((2, 3), (1, 2), (1, 0)), ((3, 2), (3, 1), (0, 1)), ((4, 4), (2, 3), (2, 1)),
]
SPATIAL_2D = [(7, 8), (4, 6)]


def _compare(layer, torch_pool, x, *, seed=0):
    y = layer(x)
    grad_y = np.random.default_rng(seed).standard_normal(y.shape)
    grad_x = layer.backward(grad_y, input_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch_pool(xt)
    yt.backward(torch.tensor(grad_y).reshape(yt.shape))
    np.testing.assert_allclose(y, yt.detach().numpy().reshape(y.shape), rtol=0, atol=TOL)
    np.testing.assert_allclose(grad_x, xt.grad.numpy(), rtol=0, atol=TOL)


def _inputs(shape, seed):
    rng = np.random.default_rng(seed)
    smooth = rng.standard_normal(shape)
    tied = rng.integers(-2, 3, shape).astype(np.float64)  # many ties in every window
    return [smooth, tied, np.zeros(shape)]  # smooth, ties in every window, all equal


@pytest.mark.parametrize(("geometry", "spatial"), list(itertools.product(GEOMETRY_2D, SPATIAL_2D)))
def test_2d_pooling_matches_torch(geometry, spatial):
    kernel, stride, padding = geometry
    if any(k > n + 2 * p for k, n, p in zip(kernel, spatial, padding, strict=True)):
        pytest.skip("the window does not fit")
    torch_stride = stride if stride is not None else kernel
    for x in _inputs((2, 3, *spatial), seed=sum(kernel) + 10 * sum(spatial)):
        _compare(
            nf.MaxPool2d(kernel, stride, padding),
            lambda t: F.max_pool2d(t, kernel, torch_stride, padding), x,
        )
        _compare(
            nf.AvgPool2d(kernel, stride, padding),
            lambda t: F.avg_pool2d(t, kernel, torch_stride, padding), x,
        )


@pytest.mark.parametrize(("geometry", "length"), list(itertools.product(GEOMETRY_1D, SPATIAL_1D)))
def test_1d_pooling_matches_torch(geometry, length):
    kernel, stride, padding = geometry
    if kernel > length + 2 * padding:
        pytest.skip("the window does not fit")
    torch_stride = stride if stride is not None else kernel
    for x in _inputs((2, 3, length), seed=kernel * 10 + length):
        _compare(
            nf.MaxPool1d(kernel, stride, padding),
            lambda t: F.max_pool1d(t, kernel, torch_stride, padding), x,
        )
        _compare(
            nf.AvgPool1d(kernel, stride, padding),
            lambda t: F.avg_pool1d(t, kernel, torch_stride, padding), x,
        )


@pytest.mark.parametrize("spatial", [(1, 1), (3, 5), (8, 8)])
def test_global_avg_pool_matches_torch_adaptive_avg_pool(spatial):
    for x in _inputs((3, 4, *spatial), seed=1):
        _compare(nf.GlobalAvgPool2d(), lambda t: F.adaptive_avg_pool2d(t, 1).flatten(1), x)


def test_channels_last_max_pool_matches_torch():
    x = np.random.default_rng(3).standard_normal((2, 5, 5, 4)).transpose(0, 3, 1, 2)
    _compare(nf.MaxPool2d(3, 2, 1), lambda t: F.max_pool2d(t, 3, 2, 1), x)


def test_padding_rule_matches_torch():
    x = torch.zeros(1, 1, 5, 5)
    with pytest.raises(RuntimeError, match="at most half"):
        F.max_pool2d(x, 3, 1, 2)
    with pytest.raises(RuntimeError, match="at most half"):
        F.avg_pool2d(x, 3, 1, 2)
    with pytest.raises(nf.errors.ArgumentError, match="at most half"):
        nf.MaxPool2d(3, 1, 2)
    with pytest.raises(nf.errors.ArgumentError, match="at most half"):
        nf.AvgPool2d(3, 1, 2)
    F.max_pool2d(x, 4, 1, 2)  # 2 <= 4 // 2: allowed in both
    nf.MaxPool2d(4, 1, 2)(np.zeros((1, 1, 5, 5)))
