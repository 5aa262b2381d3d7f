"""Every built-in layer and loss passes the contract suite: one table, one row per layer.

Like PyTorch's module_tests and scikit-learn's test_common: adding a layer means adding a
row. Layers are looked up by name on ``nnframe``, so a layer the table names but the
package lacks fails its row (an AttributeError) instead of being skipped.
"""

from __future__ import annotations

import pytest

import nnframe as nf
from nnframe.testing import check_layer, check_loss

# check_layer's default is 50 examples per check and dtype; the table uses fewer so that
# the project's own suite stays quick. Raise it (or run the "ci" profile's numbers) when
# changing a layer.
MAX_EXAMPLES = 15


def build(name: str, *args, **kwargs):
    """A factory for ``nnframe.<name>(*args, **kwargs)``, resolved when the row runs."""
    return lambda: getattr(nf, name)(*args, **kwargs)


# (id, factory, input_shape or None to infer it)
LAYERS = [
    ("Linear", build("Linear", 3, 2, rng=0), None),
    ("Linear-square-no-bias", build("Linear", 4, 4, bias=False, rng=1), None),
    ("ReLU", build("ReLU"), None),
    ("Sigmoid", build("Sigmoid"), None),
    ("Tanh", build("Tanh"), None),
    ("LeakyReLU", build("LeakyReLU", 0.1), None),
    ("ELU", build("ELU"), None),
    ("GELU", build("GELU"), None),
    ("Softmax", build("Softmax"), None),
    ("Softmax-axis0", build("Softmax", axis=0), (3,)),  # normalises across the batch
    ("Identity", build("Identity"), None),
    ("Flatten", build("Flatten"), (2, 3, 2)),
    ("MaxPool2d", build("MaxPool2d", 3, stride=2, padding=1), (2, 5, 4)),  # ties: values kept apart
    ("AvgPool2d", build("AvgPool2d", 2), (2, 5, 4)),
    ("MaxPool1d", build("MaxPool1d", 2), (2, 5)),
    ("AvgPool1d", build("AvgPool1d", 3, stride=1, padding=1), (2, 4)),
    ("GlobalAvgPool2d", build("GlobalAvgPool2d"), (2, 3, 3)),
    ("Dropout", build("Dropout", 0.3, rng=0), None),  # stochastic: masks replayed
    ("BatchNorm1d", build("BatchNorm1d", 3), None),  # batch-dependent
    ("BatchNorm2d", build("BatchNorm2d", 2), (2, 3, 2)),  # images: (batch, 2, 3, 2)
    ("Embedding", build("Embedding", 10, 4, rng=0), None),  # integer indices in, no input grad
    ("LayerNorm", build("LayerNorm", (2, 3)), (2, 3)),  # two normalised axes: shape given
    ("Conv2d", build("Conv2d", 2, 3, 3, padding=1, rng=0), (2, 4, 5)),  # images: shape given
    ("Conv2d-strided-grouped", build("Conv2d", 4, 2, 2, stride=2, groups=2, rng=1), (4, 5, 4)),
    ("Conv1d", build("Conv1d", 2, 3, 3, padding="same", dilation=2, rng=2), (2, 6)),
    (
        "Sequential",
        lambda: nf.Sequential(nf.Linear(3, 4, rng=0), nf.ReLU(), nf.Linear(4, 2, rng=1), nf.Tanh()),
        None,
    ),
    (
        # Every kind at once: a 3-d input, batch-dependent, stochastic, kinked inside.
        "Sequential-mixed",
        lambda: nf.Sequential(
            nf.Flatten(), nf.Linear(12, 5, rng=0), nf.BatchNorm1d(5), nf.ReLU(),
            nf.Dropout(0.25, rng=1), nf.Linear(5, 2, rng=2), nf.Softmax(),
        ),
        (2, 3, 2),
    ),
    (
        "Residual",
        lambda: nf.Residual(
            nf.Sequential(nf.Linear(3, 3, rng=0), nf.ReLU(), nf.Linear(3, 3, rng=1))
        ),
        None,
    ),
    ("Residual-shortcut", lambda: nf.Residual(nf.Tanh(), nf.Linear(3, 3, rng=0)), (3,)),
    (
        "Concat",
        lambda: nf.Concat(nf.Linear(3, 2, rng=0), nf.Sequential(nf.Tanh(), nf.Linear(3, 1, rng=1))),
        None,
    ),
    ("Concat-axis-last", lambda: nf.Concat(nf.Tanh(), nf.Sigmoid(), axis=-1), (2, 3)),
    (
        # A frozen layer gets no gradient, and the kit checks that it gets none.
        "Sequential-frozen",
        lambda: nf.Sequential(
            nf.Linear(3, 4, rng=0).requires_grad_(False), nf.Tanh(), nf.Linear(4, 2, rng=1)
        ),
        None,
    ),
]

LOSSES = [
    ("BCELoss", build("BCELoss")),
    ("BCEWithLogitsLoss", build("BCEWithLogitsLoss")),
    ("CrossEntropyLoss", build("CrossEntropyLoss")),
    ("MSELoss", build("MSELoss")),
    ("MSELoss-sum", build("MSELoss", reduction="sum")),
]


@pytest.mark.parametrize(
    ("make_layer", "input_shape"),
    [row[1:] for row in LAYERS],
    ids=[row[0] for row in LAYERS],
)
def test_layer_passes_the_contract(make_layer, input_shape):
    check_layer(make_layer, input_shape=input_shape, max_examples=MAX_EXAMPLES)


@pytest.mark.parametrize("make_loss", [row[1] for row in LOSSES], ids=[row[0] for row in LOSSES])
def test_loss_passes_the_contract(make_loss):
    check_loss(make_loss, max_examples=MAX_EXAMPLES)


def test_the_table_covers_every_public_layer_and_loss():
    named = {row[0].split("-")[0] for row in LAYERS} | {row[0].split("-")[0] for row in LOSSES}
    public = {
        name for name in nf.__all__
        if isinstance(getattr(nf, name), type)
        and issubclass(getattr(nf, name), nf.Layer | nf.Loss)
        and getattr(nf, name) not in (nf.Layer, nf.Loss)
    }
    assert public <= named, f"add a row for {sorted(public - named)}"

