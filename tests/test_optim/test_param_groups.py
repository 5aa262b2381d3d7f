"""Parameter groups: PyTorch parity in float64, state dicts, bad input, per-group schedules."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnframe as nf
from nnframe import Parameter
from nnframe.errors import ArgumentError, ArgumentTypeError, StateDictError
from nnframe.optim import (
    SGD,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    RMSprop,
    SequentialLR,
    StepLR,
    clip_grad_value,
)
from nnframe.training import LearningRateScheduler
from nnframe.training.callbacks import ReduceLROnPlateau

STEPS = 50
SHAPES = [(3, 4), (4,), (2, 2), ()]

# (class, torch name, defaults, group 0's own settings, group 1's own settings)
CASES = {
    "SGD": (SGD, "SGD", {"lr": 0.1}, {}, {"lr": 0.01}),
    "SGD-momentum": (
        SGD, "SGD", {"lr": 0.05, "momentum": 0.9}, {"dampening": 0.3}, {"lr": 0.2, "momentum": 0.5}
    ),
    "SGD-nesterov": (
        SGD, "SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}, {"weight_decay": 0.1},
        {"lr": 0.01, "momentum": 0.6},
    ),
    "SGD-weight-decay": (SGD, "SGD", {"lr": 0.05, "weight_decay": 0.01}, {}, {"weight_decay": 0.3}),
    "Adam": (Adam, "Adam", {"lr": 0.01}, {"betas": (0.8, 0.99)}, {"lr": 0.003, "eps": 1e-6}),
    "Adam-weight-decay": (
        Adam, "Adam", {"lr": 0.01, "weight_decay": 0.1}, {}, {"weight_decay": 0.0}
    ),
    "AdamW": (
        AdamW, "AdamW", {"lr": 0.01}, {"weight_decay": 0.5}, {"lr": 0.02, "betas": (0.5, 0.9)}
    ),
    "RMSprop": (RMSprop, "RMSprop", {"lr": 0.01}, {"alpha": 0.9}, {"lr": 0.001}),
    "RMSprop-centered-momentum": (
        RMSprop, "RMSprop", {"lr": 0.01, "momentum": 0.5}, {"centered": True, "weight_decay": 0.01},
        {"momentum": 0.9, "alpha": 0.8},
    ),
}


def two_groups(values, first, second, tensors=False):
    make = (lambda v: v) if tensors else Parameter
    params = [make(v) for v in values]
    return params, [{"params": params[:2], **first}, {"params": params[2:], **second}]


@pytest.mark.parametrize("name", CASES)
def test_two_groups_match_torch_over_50_steps(name):
    torch = pytest.importorskip("torch")
    cls, torch_name, defaults, first, second = CASES[name]
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(shape) for shape in SHAPES]
    params, groups = two_groups(values, first, second)
    ours = cls(groups, **defaults)
    tensors = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    _, torch_groups = two_groups(tensors, first, second, tensors=True)
    theirs = getattr(torch.optim, torch_name)(torch_groups, **defaults)
    for _ in range(STEPS):
        grads = [rng.standard_normal(shape) for shape in SHAPES]
        for p, t, g in zip(params, tensors, grads, strict=True):
            p.zero_grad()
            p.grad += g
            t.grad = torch.tensor(g, dtype=torch.float64)
        ours.step()
        theirs.step()
    for p, t in zip(params, tensors, strict=True):
        np.testing.assert_allclose(p.value, t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_groups_fall_back_to_the_defaults_and_params_is_flat():
    w, b, c = (Parameter(np.ones(2)) for _ in range(3))
    opt = Adam([{"params": [w, b]}, {"params": c, "lr": 0.5}], lr=0.1, weight_decay=0.2)
    assert opt.params == [w, b, c]
    assert opt.param_groups[0]["params"] == (w, b)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.2, 0.2]
    assert opt.defaults["lr"] == 0.1
    assert opt.weight_decay == 0.2  # common to the groups
    with pytest.raises(ArgumentError, match=r"different lr \(0.1, 0.5\)"):
        _ = opt.lr
    opt.lr = 0.3  # sets every group
    assert [g["lr"] for g in opt.param_groups] == [0.3, 0.3] and opt.lr == 0.3
    assert "2 groups" in repr(opt)


def test_a_single_list_is_one_group_and_lr_reads_and_writes_it():
    opt = SGD([Parameter(np.ones(2))], lr=0.1)
    assert len(opt.param_groups) == 1 and opt.lr == 0.1
    opt.param_groups[0]["lr"] = 0.2
    assert opt.lr == 0.2
    opt.lr = 0.4
    assert opt.param_groups[0]["lr"] == 0.4


def test_frozen_parameters_are_skipped_in_every_group():
    w, b = Parameter(np.ones(2)), Parameter(np.ones(2))
    opt = SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    w.grad[...] = 1.0
    b.grad[...] = 1.0
    b.requires_grad = False
    opt.step()
    np.testing.assert_array_equal(w.value, [0.9, 0.9])
    np.testing.assert_array_equal(b.value, [1.0, 1.0])


def test_plain_sgd_with_a_flat_buffer_and_an_added_group_steps_each_group_at_its_rate():
    w, b, c = Parameter(np.ones(2)), Parameter(np.ones(3)), Parameter(np.ones(1))
    opt = SGD(nf.FlatParameters([w, b]), lr=0.1)
    opt.add_param_group({"params": [c], "lr": 0.5})
    for p in (w, b, c):
        p.grad[...] = 1.0
    opt.step()
    np.testing.assert_allclose(w.value, 0.9)
    np.testing.assert_allclose(c.value, 0.5)


def snapshot(opt):
    return repr(opt), copy.deepcopy(opt.group_hyperparameters()), opt.params[:]


BAD_GROUPS = [
    (lambda w, b: [{"params": [w]}, {"params": [w]}], ArgumentError,
     r"param_groups\[1\]\['params'\]\[0\] is the same Parameter as param_groups\[0\]"),
    (lambda w, b: [{"params": [w, w]}], ArgumentError, r"param_groups\[0\]\['params'\]\[1\]"),
    (lambda w, b: [{"params": [w]}, {"params": [b], "betas": 1}], ArgumentError,
     r"param_groups\[1\] has the unknown key 'betas'"),
    (lambda w, b: [{"lr": 0.1}], ArgumentError, r"param_groups\[0\] has no 'params'"),
    (lambda w, b: [{"params": [w]}, {"params": [b], "lr": -1}], ArgumentError,
     r"param_groups\[1\]\['lr'\] must be >= 0"),
    (lambda w, b: [{"params": [w]}, {"params": [b], "nesterov": True}], ArgumentError,
     r"param_groups\[1\]: nesterov=True needs momentum"),
    (lambda w, b: [{"params": [w]}, b], ArgumentTypeError, r"params\[1\] is a Parameter"),
    (lambda w, b: [{"params": []}], ArgumentError, r"param_groups\[0\]\['params'\] is empty"),
    (lambda w, b: [{"params": [w, 3]}], ArgumentTypeError,
     r"\['params'\]\[1\] must be a Parameter"),
]


@pytest.mark.parametrize(("make", "error", "match"), BAD_GROUPS)
def test_bad_groups_are_rejected_naming_group_and_key(make, error, match):
    w, b = Parameter(np.ones(2)), Parameter(np.ones(2))
    with pytest.raises(error, match=match):
        SGD(make(w, b), lr=0.1)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda o: o.param_groups[1].__setitem__("lr", -1.0), r"param_groups\[1\]\['lr'\]"),
        (lambda o: o.param_groups[0].__setitem__("nesterov", True), r"param_groups\[0\]: nesterov"),
        (lambda o: o.param_groups[1].__setitem__("betas", 0.9), r"param_groups\[1\] has no key"),
        (lambda o: o.param_groups[1].__setitem__("params", ()), r"cannot be replaced"),
        (lambda o: o.param_groups[1].update(lr=0.5, momentum=2.0), r"'momentum'\] must be"),
        (lambda o: o.param_groups[1].pop("lr"), r"keeps all its keys"),
        (lambda o: o.param_groups[1].__delitem__("lr"), r"keeps all its keys"),
        (lambda o: setattr(o, "momentum", 1.5), r"SGD: momentum"),
        (lambda o: o.add_param_group({"params": [o.params[0]]}), r"same Parameter"),
        (lambda o: o.add_param_group({"params": [Parameter(np.ones(1))], "lr": "x"}),
         r"param_groups\[2\]\['lr'\]"),
        (lambda o: o.add_param_group([Parameter(np.ones(1))]), r"must be a dict"),
    ],
)
def test_bad_changes_raise_and_leave_the_optimizer_unchanged(change, match):
    w, b = Parameter(np.ones(2)), Parameter(np.ones(2))
    opt = SGD([{"params": [w]}, {"params": [b], "lr": 0.01, "momentum": 0.5}], lr=0.1)
    before = snapshot(opt)
    with pytest.raises((ArgumentError, ArgumentTypeError), match=match):
        change(opt)
    assert snapshot(opt) == before


def test_a_group_assignment_is_used_by_the_next_step():
    w, b = Parameter(np.zeros(1)), Parameter(np.zeros(1))
    opt = SGD([{"params": [w]}, {"params": [b]}], lr=0.1)
    opt.param_groups[1]["lr"] = 1.0
    w.grad[...] = b.grad[...] = 1.0
    opt.step()
    assert (w.value[0], b.value[0]) == (-0.1, -1.0)


def trained(cls, seed=0, steps=3, **defaults):
    rng = np.random.default_rng(seed)
    params = [Parameter(rng.standard_normal(s)) for s in SHAPES]
    _, groups = two_groups([p.value for p in params], {}, {"lr": 0.003})
    groups = [{"params": params[:2]}, {"params": params[2:], "lr": 0.003}]
    opt = cls(groups, **defaults)
    for _ in range(steps):
        for p in params:
            p.zero_grad()
            p.grad += rng.standard_normal(p.value.shape)
        opt.step()
    return opt


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, RMSprop])
@given(k=st.integers(0, 4), m=st.integers(1, 4))
def test_state_dict_round_trip_with_groups_continues_exactly(cls, k, m):
    kwargs = {"lr": 0.05, "momentum": 0.9} if cls in (SGD, RMSprop) else {"lr": 0.05}
    first = trained(cls, steps=k, **kwargs)
    state = first.state_dict()
    assert state["param_groups.1.lr"] == 0.003 and state["param_groups.1.num_parameters"] == 2
    assert not any(type(v) not in (int, float, bool, np.ndarray) for v in state.values())
    second = trained(cls, seed=1, steps=1, **kwargs)
    second.param_groups[0]["lr"] = 0.7
    second.load_state_dict(state)
    assert second.group_hyperparameters() == first.group_hyperparameters()
    rng = np.random.default_rng(5)
    for p, q in zip(first.params, second.params, strict=True):
        q.value[...] = p.value
    for _ in range(m):
        for p, q in zip(first.params, second.params, strict=True):
            g = rng.standard_normal(p.value.shape)
            p.zero_grad(); q.zero_grad()  # noqa: E702
            p.grad += g
            q.grad += g
        first.step()
        second.step()
    for p, q in zip(first.params, second.params, strict=True):
        np.testing.assert_array_equal(p.value, q.value)


def test_load_state_dict_checks_groups_and_changes_nothing():
    good = trained(Adam, lr=0.01).state_dict()
    opt = trained(Adam, seed=2, lr=0.5)
    before = opt.state_dict()
    one_group = Adam([Parameter(np.zeros(s)) for s in SHAPES])
    for bad, words in [
        ({**good, "param_groups.1.lr": -1.0}, ["param_groups[1]['lr']"]),
        ({**good, "param_groups.1.num_parameters": 3}, ["param_groups.1.num_parameters", "3"]),
        ({k: v for k, v in good.items() if k != "param_groups.0.eps"}, ["missing", "eps"]),
        ({**good, "param_groups.2.lr": 0.1}, ["3 parameter groups", "optimizer 2"]),
        (one_group.state_dict(), ["1 parameter group", "optimizer 2"]),
    ]:
        with pytest.raises(StateDictError) as info:
            opt.load_state_dict(bad)
        for word in words:
            assert word in str(info.value)
        after = opt.state_dict()
        assert after.keys() == before.keys()
        assert all(np.array_equal(after[k], before[k]) for k in before)
    with pytest.raises(StateDictError, match="2 parameter groups"):
        one_group.load_state_dict(good)


def test_copies_and_pickles_keep_groups_bound_to_their_optimizer():
    opt = trained(SGD, lr=0.1, momentum=0.9)
    for other in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        assert other.param_groups[1].owner is other
        other.param_groups[1]["lr"] = 0.5
        assert opt.param_groups[1]["lr"] == 0.003
        with pytest.raises(ArgumentError):
            other.param_groups[1]["lr"] = -1.0


# -- schedules ------------------------------------------------------------------------


def grouped_sgd(lr0=0.1, lr1=0.01):
    return SGD([{"params": [Parameter(np.zeros(1))]},
                {"params": [Parameter(np.zeros(1))], "lr": lr1}], lr=lr0)


SCHEDULES = {
    "StepLR": lambda o: StepLR(o, step_size=2, gamma=0.5),
    "ExponentialLR": lambda o: ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda o: CosineAnnealingLR(o, T_max=6, eta_min=0.001),
    "LinearLR": lambda o: LinearLR(o, start_factor=0.2, total_iters=4),
    "SequentialLR": lambda o: SequentialLR(
        o, [LinearLR(o, start_factor=0.1, total_iters=3), CosineAnnealingLR(o, T_max=5)], [3]
    ),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_each_schedule_scales_each_groups_own_rate(name):
    opt = grouped_sgd()
    schedule = SCHEDULES[name](opt)
    single = [SCHEDULES[name](SGD([Parameter(np.zeros(1))], lr=lr)) for lr in (0.1, 0.01)]
    assert schedule.base_lrs == [0.1, 0.01]
    for _ in range(8):
        want = [s.optimizer.lr for s in single]
        assert [g["lr"] for g in opt.param_groups] == pytest.approx(want, rel=1e-14)
        assert schedule.get_last_lr() == pytest.approx(want, rel=1e-14)
        schedule.step()
        for s in single:
            s.step()
    state = schedule.state_dict()
    assert "base_lr.1" in state and "last_lr.1" in state
    again = SCHEDULES[name](grouped_sgd(0.5, 0.5))
    again.load_state_dict(state)
    assert again.base_lrs == [0.1, 0.01] and again.last_epoch == 8


def test_learning_rate_scheduler_callback_sets_each_group_and_logs_them():
    x = np.random.default_rng(0).standard_normal((16, 3))
    y = x @ np.array([1.0, -1.0, 0.5])[:, None]
    model = nf.Sequential(nf.Linear(3, 4, rng=0), nf.Tanh(), nf.Linear(4, 1, rng=1))
    opt = SGD([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.01}],
              lr=0.1)
    trainer = nf.Trainer(model, nf.MSELoss(), opt)
    schedule = StepLR(opt, step_size=1, gamma=0.5)
    history = trainer.fit(x, y, epochs=3, progress=False, rng=0,
                          callbacks=[LearningRateScheduler(schedule)])
    assert history.history["lr"] == [0.1, 0.05, 0.025]
    assert history.history["lr_1"] == [0.01, 0.005, 0.0025]
    trainer.fit(x, y, epochs=2, progress=False, rng=0,
                callbacks=[LearningRateScheduler(lambda epoch, lr: lr * 2)])
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]


def test_a_schedule_with_lr_at_only_refuses_several_groups():
    class Old(nf.optim.LRScheduler):
        def __init__(self, optimizer):
            super().__init__(optimizer)

        def lr_at(self, epoch):
            return self.base_lr / (1 + epoch)

    one = Old(SGD([Parameter(np.zeros(1))], lr=1.0))
    one.step()
    assert one.optimizer.lr == 0.5
    with pytest.raises(ArgumentError, match="implement lr_for"):
        Old(grouped_sgd())


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda o: LinearLR(o, start_factor=0.0), ArgumentError, "start_factor"),
        (lambda o: LinearLR(o, start_factor=1.5), ArgumentError, "start_factor"),
        (lambda o: LinearLR(o, end_factor=-0.1), ArgumentError, "end_factor"),
        (lambda o: LinearLR(o, total_iters=0), ArgumentError, "total_iters"),
        (lambda o: SequentialLR(o, [], []), ArgumentTypeError, "schedules"),
        (lambda o: SequentialLR(o, [StepLR(o, 1), StepLR(o, 2)], []), ArgumentError,
         "need 1 milestones"),
        (lambda o: SequentialLR(o, [StepLR(o, 1), StepLR(o, 2), StepLR(o, 3)], [4, 4]),
         ArgumentError, "increase"),
        (lambda o: SequentialLR(o, [StepLR(o, 1), StepLR(o, 2)], [0]), ArgumentError,
         r"milestones\[0\]"),
        (lambda o: SequentialLR(o, [StepLR(grouped_sgd(), 1)], []), ArgumentError,
         "another optimizer"),
        (lambda o: SequentialLR(o, [o], []), ArgumentTypeError, r"schedules\[0\]"),
    ],
)
def test_bad_warmup_and_sequence_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make(grouped_sgd())


def test_a_warmup_longer_than_training_is_an_error():
    opt = grouped_sgd()
    warm = SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5), ExponentialLR(opt, 0.9)], [5])
    assert warm.warmup_epochs == 5
    warm.check_epochs(6)
    with pytest.raises(ArgumentError, match="warm-up lasts 5 epochs, training only 5"):
        warm.check_epochs(5)
    assert StepLR(opt, 2).warmup_epochs == 0


def test_linear_and_sequential_match_torch():
    torch = pytest.importorskip("torch")
    ours_opt = grouped_sgd()
    warm = LinearLR(ours_opt, start_factor=0.1, total_iters=4)
    cosine = CosineAnnealingLR(ours_opt, T_max=10, eta_min=0.001)
    ours = SequentialLR(ours_opt, [warm, cosine], milestones=[4])
    params = [torch.zeros(1, requires_grad=True) for _ in range(2)]
    opt = torch.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.01}], lr=0.1)
    theirs = torch.optim.lr_scheduler.SequentialLR(
        opt,
        [torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=4),
         torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)],
        milestones=[4],
    )
    for _ in range(20):
        want = [g["lr"] for g in opt.param_groups]
        assert [g["lr"] for g in ours_opt.param_groups] == pytest.approx(want, rel=1e-9)
        opt.step()
        theirs.step()
        ours.step()
    linear_opt = grouped_sgd()
    linear = LinearLR(linear_opt, start_factor=0.25, end_factor=0.75, total_iters=6)
    topt = torch.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.01}], lr=0.1)
    tlinear = torch.optim.lr_scheduler.LinearLR(topt, start_factor=0.25, end_factor=0.75,
                                                total_iters=6)
    for _ in range(10):
        want = [g["lr"] for g in topt.param_groups]
        assert [g["lr"] for g in linear_opt.param_groups] == pytest.approx(want, rel=1e-9)
        topt.step()
        tlinear.step()
        linear.step()


# -- ReduceLROnPlateau ----------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"patience": 2},
        {"patience": 1, "factor": 0.5, "cooldown": 2, "min_lr": [0.02, 0.001]},
        {"patience": 0, "mode": "max", "threshold": 0.1, "threshold_mode": "abs"},
        {"patience": 1, "threshold": 0.05},
    ],
)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    values = np.round(rng.uniform(0, 1, 60), 2).cumsum() % 1.3  # improves, stalls, jumps
    ours_opt = grouped_sgd()
    ours = ReduceLROnPlateau(monitor="val_loss", **{**kwargs, "mode": kwargs.get("mode", "min")})
    params = [torch.zeros(1, requires_grad=True) for _ in range(2)]
    opt = torch.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.01}], lr=0.1)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    reductions = 0
    for value in values:
        reductions += ours.step(float(value), ours_opt)
        theirs.step(float(value))
        want = [g["lr"] for g in opt.param_groups]
        assert [g["lr"] for g in ours_opt.param_groups] == pytest.approx(want, rel=1e-12)
        assert ours.num_bad_epochs == theirs.num_bad_epochs
        assert ours.cooldown_counter == theirs.cooldown_counter
    assert reductions > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"factor": 1.0}, "factor"),
        ({"factor": 0.0}, "factor"),
        ({"patience": -1}, "patience"),
        ({"cooldown": 1.5}, "cooldown"),
        ({"min_lr": -1.0}, "min_lr"),
        ({"min_lr": [0.1, -1.0]}, r"min_lr\[1\]"),
        ({"threshold_mode": "relative"}, "threshold_mode"),
        ({"mode": "up"}, "mode"),
        ({"threshold": -0.1}, "threshold"),
    ],
)
def test_reduce_lr_on_plateau_rejects_bad_arguments(kwargs, match):
    with pytest.raises((ArgumentError, ArgumentTypeError), match=match):
        ReduceLROnPlateau(**kwargs)


def test_reduce_lr_on_plateau_min_lr_per_group_must_fit_the_groups():
    with pytest.raises(ArgumentError, match="min_lr has 3 values"):
        ReduceLROnPlateau(min_lr=[0.0, 0.0, 0.0]).step(1.0, grouped_sgd())


def test_clip_grad_value_matches_torch_and_checks_its_input():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [3.0 * rng.standard_normal(shape) for shape in SHAPES]
    params = [Parameter(np.zeros(shape)) for shape in SHAPES]
    tensors = [torch.zeros(shape, dtype=torch.float64, requires_grad=True) for shape in SHAPES]
    for p, t, g in zip(params, tensors, grads, strict=True):
        p.grad += g
        t.grad = torch.tensor(g, dtype=torch.float64)
    clip_grad_value(params + params[:1], 1.5)
    torch.nn.utils.clip_grad_value_(tensors, 1.5)
    for p, t in zip(params, tensors, strict=True):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
    w = Parameter(np.zeros(2, dtype=np.float32))
    w.grad[...] = [5.0, -5.0]
    for bad, error in [(0.0, ArgumentError), (-1.0, ArgumentError), (float("nan"), ArgumentError),
                       ("1", ArgumentTypeError)]:
        with pytest.raises(error, match="clip_value"):
            clip_grad_value([w], bad)
    with pytest.raises(ArgumentTypeError, match=r"parameters\[1\]"):
        clip_grad_value([w, np.ones(2)], 1.0)
    np.testing.assert_array_equal(w.grad, [5.0, -5.0])
    clip_grad_value(w, 2.0)
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad, [2.0, -2.0])
