"""A residual two-branch model against the same model in PyTorch, float64, to 1e-10.

PyTorch is an optional test dependency: without it these tests are skipped.
"""

from __future__ import annotations

import numpy as np
import pytest

import nnframe as nf

torch = pytest.importorskip("torch")


def nnframe_model():
    return nf.Sequential(
        nf.Linear(5, 6, rng=0, dtype=np.float64),
        nf.Concat(
            nf.Residual(
                nf.Sequential(
                    nf.LayerNorm(6, dtype=np.float64),
                    nf.Linear(6, 8, rng=1, dtype=np.float64),
                    nf.Tanh(),
                    nf.Linear(8, 6, rng=2, dtype=np.float64),
                )
            ),
            nf.Residual(
                nf.Sequential(nf.Linear(6, 4, rng=3, dtype=np.float64), nf.ReLU()),
                shortcut=nf.Linear(6, 4, rng=4, dtype=np.float64),
            ),
        ),
        nf.LayerNorm(10, dtype=np.float64),
        nf.Linear(10, 3, rng=5, dtype=np.float64),
    )


class TorchResidual(torch.nn.Module):
    def __init__(self, block, shortcut=None):
        super().__init__()
        self.block = block
        self.shortcut = shortcut

    def forward(self, x):
        return self.block(x) + (x if self.shortcut is None else self.shortcut(x))


class TorchConcat(torch.nn.Module):
    def __init__(self, *branches):
        super().__init__()
        self.branches = torch.nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], dim=1)


def torch_model():
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(5, 6),
        TorchConcat(
            TorchResidual(
                nn.Sequential(nn.LayerNorm(6), nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 6))
            ),
            TorchResidual(nn.Sequential(nn.Linear(6, 4), nn.ReLU()), shortcut=nn.Linear(6, 4)),
        ),
        nn.LayerNorm(10),
        nn.Linear(10, 3),
    ).double()


def torch_name(name: str) -> str:
    # nnframe names Concat's branches by position ("1.0."), the module above by attribute.
    parts = name.split(".")
    if parts[0] == "1":
        parts.insert(1, "branches")
    return ".".join(parts)


def test_residual_two_branch_model_matches_pytorch():
    rng = np.random.default_rng(0)
    ours, theirs = nnframe_model(), torch_model()
    for p in ours.parameters():  # not the initial values: a gain of 1 hides a missing factor
        p.value += 0.1 * rng.standard_normal(p.shape)
    state = {torch_name(name): torch.from_numpy(v) for name, v in ours.state_dict().items()}
    assert set(state) == set(theirs.state_dict())
    theirs.load_state_dict(state)

    x = rng.standard_normal((7, 5))
    target = rng.integers(0, 3, 7)
    loss = nf.CrossEntropyLoss()
    value = loss(ours(x), target)
    grad_x = ours.backward(loss.backward(), input_grad=True)

    tx = torch.from_numpy(x).requires_grad_(True)
    tvalue = torch.nn.functional.cross_entropy(theirs(tx), torch.from_numpy(target))
    tvalue.backward()

    assert abs(value - tvalue.item()) < 1e-10
    np.testing.assert_allclose(grad_x, tx.grad.numpy(), rtol=0, atol=1e-10)
    named = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(
            p.grad, named[torch_name(name)].grad.numpy(), rtol=0, atol=1e-10, err_msg=name
        )
