"""Learning-rate schedules: closed forms, the course's decay, stepping, state."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnframe import Parameter
from nnframe.errors import ArgumentError, ArgumentTypeError, StateDictError
from nnframe.optim import (
    SGD,
    Adam,
    CosineAnnealingLR,
    ExponentialLR,
    InverseTimeDecay,
    LRScheduler,
    StepLR,
)

EPOCHS = 25
base_lrs = st.floats(1e-4, 1.0)


def sgd(lr: float) -> SGD:
    return SGD([Parameter(np.zeros(2))], lr=lr)


def stepped_lrs(schedule: LRScheduler, epochs: int = EPOCHS) -> list[float]:
    """The optimizer's lr at epochs 0, 1, ..., after each call to step()."""
    lrs = [schedule.optimizer.lr]
    for _ in range(epochs - 1):
        schedule.step()
        lrs.append(schedule.optimizer.lr)
        assert schedule.get_last_lr() == schedule.last_lr == schedule.optimizer.lr
    return lrs


def assert_close(actual: list[float], expected: list[float]) -> None:
    assert actual == pytest.approx(expected, rel=1e-14, abs=1e-15)


# -- closed forms -----------------------------------------------------------------------


@given(lr=base_lrs, step_size=st.integers(1, 6), gamma=st.floats(0.05, 1.0))
def test_step_lr_follows_its_closed_form(lr, step_size, gamma):
    schedule = StepLR(sgd(lr), step_size=step_size, gamma=gamma)
    expected = [lr * gamma ** (epoch // step_size) for epoch in range(EPOCHS)]
    assert_close(stepped_lrs(schedule), expected)
    assert_close([schedule.lr_at(e) for e in range(EPOCHS)], expected)


@given(lr=base_lrs, gamma=st.floats(0.05, 1.0))
def test_exponential_lr_follows_its_closed_form(lr, gamma):
    schedule = ExponentialLR(sgd(lr), gamma=gamma)
    expected = [lr * gamma**epoch for epoch in range(EPOCHS)]
    assert_close(stepped_lrs(schedule), expected)


@given(lr=base_lrs, T_max=st.integers(1, 30), eta_min=st.floats(0.0, 1e-4))
def test_cosine_annealing_follows_pytorchs_closed_form(lr, T_max, eta_min):
    schedule = CosineAnnealingLR(sgd(lr), T_max=T_max, eta_min=eta_min)
    expected = [
        eta_min + (lr - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2
        for epoch in range(EPOCHS)
    ]
    assert_close(stepped_lrs(schedule), expected)
    assert schedule.lr_at(T_max) == pytest.approx(eta_min, abs=1e-15)
    assert schedule.lr_at(0) == lr


def test_cosine_annealing_at_a_few_epochs():
    schedule = CosineAnnealingLR(sgd(1.0), T_max=10, eta_min=0.1)
    assert schedule.lr_at(0) == 1.0
    assert schedule.lr_at(5) == pytest.approx(0.55, rel=1e-14)
    assert schedule.lr_at(10) == pytest.approx(0.1, rel=1e-14)
    assert schedule.lr_at(20) == pytest.approx(1.0, rel=1e-14)  # the cosine goes on


def update_lr(learning_rate0, epoch_num, decay_rate):
    """The course's update_lr."""
    return 1 / (1 + decay_rate * epoch_num) * learning_rate0


def schedule_lr_decay(learning_rate0, epoch_num, decay_rate, time_interval=1000):
    """The course's schedule_lr_decay."""
    return 1 / (1 + decay_rate * np.floor(epoch_num / time_interval)) * learning_rate0


@given(lr=base_lrs, decay_rate=st.floats(0.0, 5.0))
def test_inverse_time_decay_is_the_courses_update_lr(lr, decay_rate):
    schedule = InverseTimeDecay(sgd(lr), decay_rate=decay_rate)
    expected = [update_lr(lr, epoch, decay_rate) for epoch in range(EPOCHS)]
    assert_close(stepped_lrs(schedule), expected)


@given(lr=base_lrs, decay_rate=st.floats(0.0, 5.0), decay_steps=st.integers(1, 7))
def test_inverse_time_decay_with_steps_is_the_courses_schedule_lr_decay(
    lr, decay_rate, decay_steps
):
    schedule = InverseTimeDecay(sgd(lr), decay_rate=decay_rate, decay_steps=decay_steps)
    expected = [
        float(schedule_lr_decay(lr, epoch, decay_rate, time_interval=decay_steps))
        for epoch in range(EPOCHS)
    ]
    assert_close([schedule.lr_at(epoch) for epoch in range(EPOCHS)], expected)


def test_inverse_time_decay_at_a_few_epochs():
    schedule = InverseTimeDecay(sgd(0.5), decay_rate=1.0, decay_steps=2)
    assert [schedule.lr_at(e) for e in range(6)] == [0.5, 0.5, 0.25, 0.25, 0.5 / 3, 0.5 / 3]


# -- stepping, purity, the optimizer ------------------------------------------------------


def test_stepping_changes_the_optimizer_lr_used_by_the_next_step():
    p = Parameter(np.zeros(1))
    optimizer = SGD([p], lr=1.0)
    schedule = StepLR(optimizer, step_size=1, gamma=0.5)
    p.grad[...] = 1.0
    optimizer.step()
    schedule.step()
    assert optimizer.lr == 0.5
    optimizer.step()
    np.testing.assert_array_equal(p.value, [-1.5])


def test_lr_at_is_a_pure_function_of_the_epoch():
    schedule = ExponentialLR(sgd(1.0), gamma=0.5)
    schedule.step()
    assert schedule.lr_at(3) == 0.125
    assert schedule.lr_at(0) == 1.0
    assert schedule.last_epoch == 1
    assert schedule.optimizer.lr == 0.5


def test_schedules_work_with_any_optimizer():
    optimizer = Adam([Parameter(np.zeros(2))], lr=0.01)
    schedule = InverseTimeDecay(optimizer, decay_rate=1.0)
    schedule.step()
    assert optimizer.lr == 0.005
    assert schedule.base_lr == 0.01


# -- state ----------------------------------------------------------------------------


SCHEDULES = {
    "StepLR": lambda optimizer: StepLR(optimizer, step_size=3, gamma=0.5),
    "ExponentialLR": lambda optimizer: ExponentialLR(optimizer, gamma=0.9),
    "InverseTimeDecay": lambda optimizer: InverseTimeDecay(optimizer, 0.5, decay_steps=2),
    "CosineAnnealingLR": lambda optimizer: CosineAnnealingLR(optimizer, T_max=8, eta_min=0.01),
}


@pytest.mark.parametrize("name", SCHEDULES)
@given(k=st.integers(0, 10), m=st.integers(1, 10))
def test_schedule_state_dict_round_trip(name, k, m):
    first = SCHEDULES[name](sgd(0.1))
    for _ in range(k):
        first.step()
    state = first.state_dict()
    assert all(type(v) in (int, float) for v in state.values())
    second = SCHEDULES[name](sgd(0.7))
    second.load_state_dict(state)
    assert second.last_epoch == k
    for _ in range(m):
        first.step()
        second.step()
        assert second.optimizer.lr == first.optimizer.lr


def test_schedule_load_state_dict_checks_first():
    schedule = StepLR(sgd(0.1), step_size=2)
    good = StepLR(sgd(0.3), step_size=5).state_dict()
    for bad, words in [
        ({**good, "step_size": 0}, ["step_size"]),
        ({**good, "last_epoch": -1}, ["last_epoch"]),
        ({k: v for k, v in good.items() if k != "gamma"}, ["missing", "gamma"]),
        ({**good, "T_max": 3}, ["unexpected", "T_max"]),
    ]:
        with pytest.raises(StateDictError) as info:
            schedule.load_state_dict(bad)
        for word in words:
            assert word in str(info.value)
        assert schedule.state_dict() == {
            "step_size": 2,
            "gamma": 0.1,
            "base_lr": 0.1,
            "last_epoch": 0,
            "last_lr": 0.1,
        }
    with pytest.raises(ArgumentTypeError):
        schedule.load_state_dict([1, 2])


# -- bad arguments --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "name"),
    [
        (lambda o: StepLR(o, step_size=0), ArgumentError, "step_size"),
        (lambda o: StepLR(o, step_size=2.5), ArgumentTypeError, "step_size"),
        (lambda o: StepLR(o, step_size=2, gamma=0.0), ArgumentError, "gamma"),
        (lambda o: ExponentialLR(o, gamma=-0.5), ArgumentError, "gamma"),
        (lambda o: ExponentialLR(o, gamma="0.5"), ArgumentTypeError, "gamma"),
        (lambda o: InverseTimeDecay(o, decay_rate=-1.0), ArgumentError, "decay_rate"),
        (lambda o: InverseTimeDecay(o, 1.0, decay_steps=0), ArgumentError, "decay_steps"),
        (lambda o: CosineAnnealingLR(o, T_max=0), ArgumentError, "T_max"),
        (lambda o: CosineAnnealingLR(o, T_max=5, eta_min=-1.0), ArgumentError, "eta_min"),
        (lambda o: StepLR(object(), step_size=1), ArgumentTypeError, "optimizer"),
    ],
)
def test_bad_schedule_arguments_are_rejected_naming_them(make, error, name):
    with pytest.raises(error, match=name):
        make(sgd(0.1))


@pytest.mark.parametrize(
    ("epoch", "error"), [(-1, ArgumentError), (1.5, ArgumentTypeError), (True, ArgumentTypeError)]
)
def test_lr_at_rejects_bad_epochs(epoch, error):
    with pytest.raises(error, match="epoch"):
        StepLR(sgd(0.1), step_size=1).lr_at(epoch)
