"""xgrad.optim against torch.optim, step for step in float64 (<= 1e-12), on every backend xgrad loads."""

import math

import numpy as np
import pytest

import xgrad
from xgrad import nn, optim
from xgrad.nn import functional as F

torch = pytest.importorskip("torch")

STEPS = 15


def _problem(backend="numpy"):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)), rng.integers(0, 3, 16)
    xgrad.manual_seed(0)
    m = nn.MLP([3, 6, 3], activation="tanh", backend=backend, dtype="float64")
    tm = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)).double()
    tm.load_state_dict({k: torch.from_numpy(p.detach().numpy().copy()) for k, p in m.named_parameters()})
    b = xgrad.get_backend(backend)
    return m, tm, xgrad.tensor(x, backend=b), xgrad.tensor(y, backend=b), torch.from_numpy(x), torch.from_numpy(y)


def _run(make, tmake, backend="numpy", schedule=None, tschedule=None, clip=None, closure_steps=STEPS):
    m, tm, X, y, Xt, yt = _problem(backend)
    opt, topt = make(m.parameters()), tmake(tm.parameters())
    sch = schedule(opt) if schedule else None
    tsch = tschedule(topt) if tschedule else None
    worst = 0.0
    for _ in range(closure_steps):
        opt.zero_grad()
        F.cross_entropy(m(X), y).backward()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tm(Xt), yt).backward()
        if clip is not None:
            clip[0](m.parameters()), clip[1](tm.parameters())
        opt.step()
        topt.step()
        if sch is not None:
            sch.step()
            tsch.step()
            assert abs(opt.param_groups[0]["lr"] - topt.param_groups[0]["lr"]) <= 1e-15
        for p, tp in zip(m.parameters(), tm.parameters()):
            worst = max(worst, float(np.max(np.abs(p.detach().numpy() - tp.detach().numpy()))))
    assert worst <= 1e-12, worst
    return m, opt


CASES = {
    "sgd": (lambda ps: optim.SGD(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "sgd_momentum": (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                     lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),
    "sgd_dampening_wd": (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.01),
                         lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    "sgd_nesterov_wd": (lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
                        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    "adam": (lambda ps: optim.Adam(ps, lr=0.01), lambda ps: torch.optim.Adam(ps, lr=0.01)),
    "adam_wd": (lambda ps: optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
                lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    "adamw": (lambda ps: optim.AdamW(ps, lr=0.01), lambda ps: torch.optim.AdamW(ps, lr=0.01)),
    "adamw_wd": (lambda ps: optim.AdamW(ps, lr=0.02, weight_decay=0.3),
                 lambda ps: torch.optim.AdamW(ps, lr=0.02, weight_decay=0.3)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_optimizer_matches_torch(case):
    _run(*CASES[case])


@pytest.mark.parametrize("case", ["sgd_nesterov_wd", "adamw_wd"])
def test_optimizer_matches_torch_on_every_backend(case, backend):
    _run(*CASES[case], backend=backend)


@pytest.mark.parametrize("case", ["sgd_dampening_wd", "adam_wd", "adamw_wd"])
def test_functional_updates_on_immutable_backend(case, monkeypatch):
    """Backends whose arrays cannot be written in place get new arrays; same numbers."""
    b = xgrad.get_backend("array_api_strict")
    monkeypatch.setattr(b, "mutable", False)
    m, opt = _run(*CASES[case], backend="array_api_strict")
    p = next(iter(m.parameters()))
    before = p.data
    F.cross_entropy(m(xgrad.tensor(np.ones((2, 3)), backend=b)), xgrad.tensor([0, 1], backend=b)).backward()
    opt.step()
    assert p.data is not before


def test_in_place_update_keeps_the_array():
    m, _, X, y, _, _ = _problem()
    opt = optim.Adam(m.parameters(), lr=0.1)
    arrays = [p.data for p in m.parameters()]
    F.cross_entropy(m(X), y).backward()
    opt.step()
    assert all(p.data is a for p, a in zip(m.parameters(), arrays))


SCHEDULES = {
    "step": (lambda o: optim.StepLR(o, step_size=4, gamma=0.5),
             lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5)),
    "cosine": (lambda o: optim.CosineAnnealingLR(o, T_max=6, eta_min=0.001),
               lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=6, eta_min=0.001)),
    "cyclic": (lambda o: optim.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=3, step_size_down=5,
                                        cycle_momentum=False),
               lambda o: torch.optim.lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=3,
                                                           step_size_down=5, cycle_momentum=False)),
    # PyTorch's defaults cycle the momentum too (0.9 down to 0.8 while the rate rises)
    "cyclic_momentum": (lambda o: optim.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=3, mode="exp_range",
                                                 gamma=0.95),
                        lambda o: torch.optim.lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=3,
                                                                    mode="exp_range", gamma=0.95)),
    "cyclic2": (lambda o: optim.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=2, mode="triangular2",
                                         cycle_momentum=False),
                lambda o: torch.optim.lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=2,
                                                            mode="triangular2", cycle_momentum=False)),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_scheduler_matches_torch(name):
    make, tmake = CASES["sgd_momentum"]
    _run(make, tmake, schedule=SCHEDULES[name][0], tschedule=SCHEDULES[name][1], closure_steps=25)


def test_cyclic_lr_is_triangular():
    p = xgrad.zeros(1, requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    s = optim.CyclicLR(opt, base_lr=0.0, max_lr=1.0, step_size_up=4)
    assert opt.param_groups[0]["momentum"] == 0.9  # cycled, as PyTorch's default does
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(16):
        s.step()
        lrs.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(lrs, [0, .25, .5, .75, 1, .75, .5, .25, 0, .25, .5, .75, 1, .75, .5, .25, 0])


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_matches_torch(norm_type):
    clip = (lambda ps: optim.clip_grad_norm_(ps, 0.05, norm_type=norm_type),
            lambda ps: torch.nn.utils.clip_grad_norm_(ps, 0.05, norm_type=norm_type))
    _run(*CASES["sgd"], clip=clip)
    m, _, X, y, _, _ = _problem()
    F.cross_entropy(m(X), y).backward()
    total = optim.clip_grad_norm_(m.parameters(), 1e-3, norm_type=norm_type)
    grads = np.concatenate([p.grad.numpy().ravel() for p in m.parameters()])
    want = np.linalg.norm(grads, ord=norm_type)
    assert float(total) > 1e-3 and abs(want - 1e-3) < 1e-8


def test_clip_grad_value_matches_torch():
    clip = (lambda ps: optim.clip_grad_value_(ps, 0.01), lambda ps: torch.nn.utils.clip_grad_value_(ps, 0.01))
    _run(*CASES["adam"], clip=clip)


def test_zero_grad_modes():
    m, _, X, y, _, _ = _problem()
    opt = optim.SGD(m.parameters(), lr=0.1)
    F.cross_entropy(m(X), y).backward()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in m.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    opt.step()  # no gradients: nothing moves, nothing fails


def test_optimizer_validation():
    p = xgrad.zeros(2, requires_grad=True)
    with pytest.raises(ValueError):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError):
        optim.Adam([p], betas=(1.0, 0.9))
    with pytest.raises(ValueError):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="leaf tensors that require grad"):
        optim.SGD([xgrad.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="got a list"):
        optim.SGD([[1.0, 2.0]], lr=0.1)
    with pytest.raises(ValueError, match="got one of shape"):
        optim.SGD([p * 2], lr=0.1)  # not a leaf


def test_clipping_read_only_gradients_and_non_finite_norms():
    p = xgrad.tensor([3.0, 4.0], dtype="float64", requires_grad=True, backend="numpy")
    p.grad = xgrad.zeros(2, dtype="float64", backend="numpy")
    p.grad.data = np.broadcast_to(np.array([3.0, 4.0]), (2,))  # read-only, as a broadcast gradient can be
    total = optim.clip_grad_norm_([p], 1.0)
    assert float(total) == 5.0
    np.testing.assert_allclose(p.grad.numpy(), [3.0 / (5 + 1e-6), 4.0 / (5 + 1e-6)], rtol=1e-15)
    p.grad = xgrad.tensor([np.inf, 1.0], dtype="float64", backend="numpy")
    with pytest.raises(xgrad.InputError, match="error_if_nonfinite=False") as e:
        optim.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert isinstance(e.value, ValueError)
    assert float(optim.clip_grad_norm_([xgrad.zeros(1, requires_grad=True, backend="numpy")], 1.0)) == 0.0


def test_optimizer_state_dict_round_trip_continues_identically():
    m, _, X, y, _, _ = _problem()
    opt = optim.AdamW(m.parameters(), lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(m(X), y).backward()
        opt.step()
    sd_m = {k: np.array(v) for k, v in m.state_dict().items()}
    sd_o = opt.state_dict()
    m2, _, _, _, _, _ = _problem()
    m2.load_state_dict(sd_m)
    opt2 = optim.AdamW(m2.parameters(), lr=0.5)
    opt2.load_state_dict(sd_o)
    assert opt2.param_groups[0]["lr"] == 0.01
    for mm, oo in ((m, opt), (m2, opt2)):
        for _ in range(3):
            oo.zero_grad()
            F.cross_entropy(mm(X), y).backward()
            oo.step()
    for p, q in zip(m.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
