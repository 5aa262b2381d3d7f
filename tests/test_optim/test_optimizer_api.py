"""The Optimizer API: argument checks, the lr attribute, repr, load_state_dict checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nnframe as nf
from nnframe import Parameter
from nnframe.errors import ArgumentError, ArgumentTypeError, StateDictError
from nnframe.optim import SGD, Adam, AdamW, Optimizer, RMSprop
from tests.test_optim.strategies import OPTIMIZERS, run

CLASSES = [SGD, RMSprop, Adam, AdamW]


def make(cls: type[Optimizer], params: object, **kwargs: object) -> Optimizer:
    if cls is SGD:
        kwargs.setdefault("lr", 0.1)
    return cls(params, **kwargs)


def two_parameters() -> list[Parameter]:
    return [Parameter(np.ones((2, 3))), Parameter(np.zeros(3))]


# -- params ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSES)
def test_params_may_be_any_ordered_iterable(cls):
    params = two_parameters()
    assert make(cls, params).params == params
    assert make(cls, tuple(params)).params == params
    assert make(cls, iter(params)).params == params
    model = nf.Sequential(nf.Linear(3, 2, rng=0), nf.ReLU(), nf.Linear(2, 1, rng=0))
    assert make(cls, model.parameters()).params == model.parameters()


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(
    ("params", "error", "words"),
    [
        ([], ArgumentError, ["params", "empty"]),
        (iter([]), ArgumentError, ["params", "empty"]),
        ({Parameter(np.ones(2))}, ArgumentTypeError, ["params", "set", "order"]),
        (frozenset({Parameter(np.ones(2))}), ArgumentTypeError, ["params", "frozenset"]),
        ({"w": Parameter(np.ones(2))}, ArgumentTypeError, ["params", "dict"]),
        (Parameter(np.ones(2)), ArgumentTypeError, ["params", "single Parameter"]),
        (nf.Linear(2, 2, rng=0), ArgumentTypeError, ["params", "model.parameters()"]),
        (3, ArgumentTypeError, ["params", "int"]),
        ([Parameter(np.ones(2)), np.ones(2)], ArgumentTypeError, ["params[1]", "ndarray"]),
    ],
    ids=["empty", "empty-iterator", "set", "frozenset", "dict", "single", "layer", "int", "array"],
)
def test_bad_params_are_rejected_naming_optimizer_and_argument(cls, params, error, words):
    with pytest.raises(error) as info:
        make(cls, params)
    message = str(info.value)
    assert message.startswith(f"{cls.__name__}:")
    for word in words:
        assert word in message


@pytest.mark.parametrize("cls", CLASSES)
def test_a_parameter_listed_twice_is_rejected(cls):
    w, b = two_parameters()
    with pytest.raises(ArgumentError, match=r"params\[2\] is the same Parameter as params\[0\]"):
        make(cls, [w, b, w])


# -- hyperparameters ------------------------------------------------------------------

BAD_HYPERPARAMETERS = [
    (SGD, {"lr": -1}, ArgumentError, "lr"),
    (SGD, {"lr": math.nan}, ArgumentError, "lr"),
    (SGD, {"lr": math.inf}, ArgumentError, "lr"),
    (SGD, {"lr": "0.1"}, ArgumentTypeError, "lr"),
    (SGD, {"lr": True}, ArgumentTypeError, "lr"),
    (SGD, {"momentum": 1.0}, ArgumentError, "momentum"),
    (SGD, {"momentum": -0.1}, ArgumentError, "momentum"),
    (SGD, {"dampening": 1.5}, ArgumentError, "dampening"),
    (SGD, {"nesterov": 1}, ArgumentTypeError, "nesterov"),
    (SGD, {"nesterov": True}, ArgumentError, "nesterov"),
    (SGD, {"weight_decay": -1e-4}, ArgumentError, "weight_decay"),
    (RMSprop, {"lr": -0.01}, ArgumentError, "lr"),
    (RMSprop, {"alpha": 1.0}, ArgumentError, "alpha"),
    (RMSprop, {"alpha": -0.5}, ArgumentError, "alpha"),
    (RMSprop, {"eps": 0.0}, ArgumentError, "eps"),
    (RMSprop, {"weight_decay": -1.0}, ArgumentError, "weight_decay"),
    (RMSprop, {"momentum": 1.0}, ArgumentError, "momentum"),
    (RMSprop, {"centered": "yes"}, ArgumentTypeError, "centered"),
    (Adam, {"lr": -1e-3}, ArgumentError, "lr"),
    (Adam, {"betas": (1.0, 0.999)}, ArgumentError, "betas[0]"),
    (Adam, {"betas": (0.9, -0.1)}, ArgumentError, "betas[1]"),
    (Adam, {"betas": 0.9}, ArgumentTypeError, "betas"),
    (Adam, {"betas": (0.9, 0.99, 0.999)}, ArgumentTypeError, "betas"),
    (Adam, {"eps": -1e-8}, ArgumentError, "eps"),
    (Adam, {"weight_decay": -0.1}, ArgumentError, "weight_decay"),
    (AdamW, {"weight_decay": -0.01}, ArgumentError, "weight_decay"),
    (AdamW, {"eps": 0}, ArgumentError, "eps"),
]


@pytest.mark.parametrize(
    ("cls", "kwargs", "error", "name"),
    BAD_HYPERPARAMETERS,
    ids=[f"{cls.__name__}-{kwargs}" for cls, kwargs, _, _ in BAD_HYPERPARAMETERS],
)
def test_bad_hyperparameters_are_rejected_naming_them(cls, kwargs, error, name):
    with pytest.raises(error) as info:
        make(cls, two_parameters(), **kwargs)
    message = str(info.value)
    assert message.startswith(f"{cls.__name__}:")
    assert name in message


def test_sgd_negative_lr_message():
    with pytest.raises(ArgumentError, match=r"^SGD: lr must be >= 0; got -1$"):
        SGD(two_parameters(), lr=-1)


def test_numpy_hyperparameters_become_python_floats():
    # np.float64 scalars would promote float32 arithmetic; Python floats do not (NEP 50).
    optimizer = Adam(
        two_parameters(), lr=np.float64(0.1), betas=(np.float32(0.8), 0.9), eps=np.float64(1e-6)
    )
    assert type(optimizer.lr) is float
    assert all(type(beta) is float for beta in optimizer.betas)
    assert type(optimizer.eps) is float
    optimizer.lr = np.float32(0.5)
    assert type(optimizer.lr) is float


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_lr_can_be_read_and_set_and_the_next_step_uses_it(name):
    p = Parameter(np.zeros(3))
    optimizer = OPTIMIZERS[name]([p])
    reference = OPTIMIZERS[name]([Parameter(np.zeros(3))])
    optimizer.lr = 2.0 * reference.lr
    g = np.array([1.0, -2.0, 0.5])
    run(optimizer, [[g]])
    run(reference, [[g]])
    # From zero parameters, one step is linear in lr for every optimizer here.
    np.testing.assert_allclose(p.value, 2.0 * reference.params[0].value, rtol=1e-12)


def test_setting_a_bad_hyperparameter_changes_nothing():
    optimizer = SGD(two_parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(ArgumentError, match="lr"):
        optimizer.lr = -0.5
    with pytest.raises(ArgumentError, match="momentum"):
        optimizer.momentum = 2.0
    assert optimizer.lr == 0.1
    assert optimizer.momentum == 0.9


def test_set_hyperparameters_rejects_unknown_names():
    optimizer = SGD(two_parameters(), lr=0.1)
    with pytest.raises(ArgumentError, match="betas"):
        optimizer.set_hyperparameters(betas=(0.9, 0.99))


def test_repr_shows_the_hyperparameters():
    assert repr(SGD(two_parameters(), lr=0.1, momentum=0.9)) == (
        "SGD(2 parameters, lr=0.1, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0)"
    )
    assert repr(Adam([Parameter(np.ones(1))])) == (
        "Adam(1 parameter, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0)"
    )


def test_base_optimizer_needs_update():
    class Incomplete(Optimizer):
        pass

    optimizer = Incomplete(two_parameters(), lr=0.1)
    with pytest.raises(NotImplementedError, match="Incomplete"):
        optimizer.step()


def test_a_subclass_must_pass_every_hyperparameter():
    with pytest.raises(ArgumentTypeError, match="lr"):
        Optimizer(two_parameters())


# -- load_state_dict ------------------------------------------------------------------


def trained_adam(params: list[Parameter]) -> Adam:
    optimizer = Adam(params, lr=0.01)
    for p in params:
        p.grad += 1.0
    optimizer.step()
    optimizer.step()
    return optimizer


def corrupt(state: dict, change: str) -> dict:
    state = dict(state)
    if change == "missing hyperparameter":
        del state["betas.1"]
    elif change == "missing step_count":
        del state["step_count"]
    elif change == "unexpected key":
        state["momentum"] = 0.9
    elif change == "unknown state name":
        state["state.0.momentum_buffer"] = np.zeros((2, 3))
    elif change == "parameter index":
        state["state.2.exp_avg"] = np.zeros(3)
    elif change == "shape":
        state["state.1.exp_avg"] = np.zeros(4)
    elif change == "dtype":
        state["state.0.exp_avg_sq"] = np.zeros((2, 3), dtype=np.float32)
    elif change == "count":
        state["num_parameters"] = 3
    elif change == "bad hyperparameter":
        state["eps"] = -1.0
    elif change == "bad step_count":
        state["step_count"] = -2
    return state


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("missing hyperparameter", ["missing", "betas.1"]),
        ("missing step_count", ["missing", "step_count"]),
        ("unexpected key", ["unexpected", "momentum"]),
        ("unknown state name", ["unexpected", "state.0.momentum_buffer"]),
        ("parameter index", ["state.2.exp_avg", "no parameter 2"]),
        ("shape", ["state.1.exp_avg", "shape (4,)", "(3,)"]),
        ("dtype", ["state.0.exp_avg_sq", "float32", "float64"]),
        ("count", ["num_parameters", "3", "2"]),
        ("bad hyperparameter", ["eps", ">"]),
        ("bad step_count", ["step_count", "-2"]),
    ],
)
def test_load_state_dict_checks_everything_and_changes_nothing_on_error(change, words):
    good = trained_adam(two_parameters()).state_dict()
    optimizer = Adam(two_parameters(), lr=0.5)
    optimizer.step()
    before = optimizer.state_dict()
    with pytest.raises(StateDictError) as info:
        optimizer.load_state_dict(corrupt(good, change))
    message = str(info.value)
    assert message.startswith("Adam.load_state_dict")
    for word in words:
        assert word in message
    after = optimizer.state_dict()
    assert after.keys() == before.keys()
    for key, value in before.items():
        assert np.array_equal(after[key], value), key


def test_load_state_dict_reports_every_problem_at_once():
    state = corrupt(corrupt(trained_adam(two_parameters()).state_dict(), "shape"), "dtype")
    with pytest.raises(StateDictError) as info:
        Adam(two_parameters()).load_state_dict(state)
    assert "state.1.exp_avg" in str(info.value)
    assert "state.0.exp_avg_sq" in str(info.value)


def test_load_state_dict_needs_a_mapping():
    with pytest.raises(ArgumentTypeError, match="mapping"):
        Adam(two_parameters()).load_state_dict([("lr", 0.1)])


def test_load_state_dict_restores_hyperparameters():
    source = SGD(two_parameters(), lr=0.3, momentum=0.5, nesterov=True)
    target = SGD(two_parameters(), lr=0.1)
    target.load_state_dict(source.state_dict())
    assert target.hyperparameters() == source.hyperparameters()
    assert target.step_count == 0
