"""Mixed precision: autocast's dtypes per op, GradScaler's scale sequence against torch.amp.GradScaler,
and a float16 run that recovers from a forced overflow and keeps training."""

import numpy as np
import pytest

import xgrad
from xgrad import nn
from xgrad.nn import functional as F


def test_autocast_runs_matmul_in_float16_and_the_loss_in_float32():
    xgrad.manual_seed(0)
    lin = nn.Linear(4, 3, dtype="float32", backend="numpy")  # NumPy has float16
    x = xgrad.randn(5, 4, dtype="float32", backend="numpy")
    y = xgrad.tensor([0, 1, 2, 0, 1], backend="numpy")
    with xgrad.autocast(dtype="float16"):
        z = lin(x)
        loss = F.cross_entropy(z, y)
        s = xgrad.sum(z)
    assert z.backend == "numpy" and str(z.dtype) == "float16"
    assert str(loss.dtype) == "float32" and str(s.dtype) == "float32"
    ref = x.numpy().astype(np.float16) @ lin.weight.detach().numpy().astype(np.float16).T \
        + lin.bias.detach().numpy().astype(np.float16)
    np.testing.assert_array_equal(z.detach().numpy(), ref)
    loss.backward()
    assert str(lin.weight.grad.dtype) == "float32"  # the cast's backward brings it back
    assert str(lin(x).dtype) == "float32"  # outside: as given


def test_autocast_off_inside_and_per_thread_state_restored():
    x = xgrad.ones((2, 2), dtype="float32", backend="numpy")
    with xgrad.autocast():
        with xgrad.autocast(enabled=False):
            assert str((x @ x).dtype) == "float32"
        assert str((x @ x).dtype) == "float16"
    assert xgrad._state.engaged == 0 and xgrad._state.mode.autocast is None


def test_autocast_says_when_the_backend_has_no_such_dtype():
    x = xgrad.ones((2, 2), dtype="float32", backend="array_api_strict")
    with xgrad.autocast(dtype="float16"), pytest.raises(TypeError, match="array_api_strict backend has no float16"):
        x @ x


def test_a_compiled_function_refuses_to_run_under_autocast():
    f = xgrad.compile(lambda a: a @ a, warmup=0)
    x = xgrad.ones((2, 2), dtype="float32", backend="numpy")
    f(x)
    with xgrad.autocast(), pytest.raises(RuntimeError, match="autocast"):
        f(x)


def test_grad_scaler_scale_sequence_and_steps_match_torch():
    torch = pytest.importorskip("torch")
    pattern = [0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]  # 1: an overflowing step
    ts = torch.amp.GradScaler("cpu", init_scale=8.0, growth_factor=2.0, backoff_factor=0.5, growth_interval=2)
    tp = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    topt = torch.optim.SGD([tp], lr=0.01)
    xs = xgrad.GradScaler(init_scale=8.0, growth_factor=2.0, backoff_factor=0.5, growth_interval=2)
    xp_ = xgrad.tensor([1.0, -2.0], dtype="float32", requires_grad=True)
    xopt = xgrad.optim.SGD([xp_], lr=0.01)
    theirs, ours = [], []
    for bad in pattern:
        c = [float("inf") if bad else 3.0, 0.5]
        topt.zero_grad()
        ts.scale((tp * torch.tensor(c)).sum()).backward()
        ts.step(topt)
        ts.update()
        theirs.append((ts.get_scale(), tp.detach().numpy().copy()))
        xopt.zero_grad()
        xs.scale((xp_ * xgrad.tensor(c, dtype="float32")).sum()).backward()
        xs.step(xopt)
        xs.update()
        ours.append((xs.get_scale(), xp_.detach().numpy().copy()))
    assert [s for s, _ in ours] == [s for s, _ in theirs]
    assert [s for s, _ in ours][:4] == [8.0, 16.0, 8.0, 8.0]
    for (_, a), (_, b) in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_grad_scaler_state_dict_round_trip_and_misuse():
    s = xgrad.GradScaler(init_scale=4.0, growth_interval=3)
    w = xgrad.tensor([1.0], dtype="float32", requires_grad=True)
    opt = xgrad.optim.SGD([w], lr=0.1)
    s.scale(w.sum()).backward()
    s.unscale_(opt)
    assert w.grad.tolist() == [1.0]
    with pytest.raises(RuntimeError, match="already"):
        s.unscale_(opt)
    s.step(opt)
    s.update()
    state = s.state_dict()
    assert state == {"scale": 4.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 3,
                     "_growth_tracker": 1}
    t = xgrad.GradScaler()
    t.load_state_dict(state)
    assert t.get_scale() == 4.0 and t.state_dict() == state


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_a_float16_run_recovers_from_a_forced_overflow_and_keeps_training():
    xgrad.manual_seed(0)
    X, y = xgrad.data.load_dataset("moons", n_samples=256, seed=0, dtype="float32", backend="numpy")
    model = nn.MLP([2, 32, 32, 2], dtype="float32", backend="numpy")
    opt = xgrad.optim.SGD(model.parameters(), lr=0.1)
    scaler = xgrad.GradScaler(init_scale=2.0 ** 24, growth_interval=10)  # float16 gradients overflow at first
    scales, skipped, losses = [], [], []
    for step in range(60):
        before = [p.detach().numpy().copy() for p in model.parameters()]
        with xgrad.autocast(dtype="float16"):
            loss = F.cross_entropy(model(X), y)
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        unchanged = all(np.array_equal(b, p.detach().numpy()) for b, p in zip(before, model.parameters()))
        skipped.append(unchanged)
        scales.append(scaler.get_scale())
        losses.append(float(loss))
    assert skipped[0] and scales[0] == 2.0 ** 23  # the overflow: no step, the scale halved
    first_good = skipped.index(False)
    assert all(skipped[:first_good]) and scales[first_good - 1] == 2.0 ** (24 - first_good)
    assert not any(skipped[first_good + 1:first_good + 10])  # then it trains
    assert all(np.isfinite(p.detach().numpy()).all() for p in model.parameters())
    assert losses[-1] < 0.8 * losses[first_good]


def test_autocast_entered_inside_a_compiled_function_is_refused():
    def f(x):
        with xgrad.autocast():
            return x @ x

    with pytest.raises(RuntimeError, match="inside a function being compiled"):
        xgrad.compile(f, warmup=0)(xgrad.ones((2, 2), dtype="float32", backend="numpy"))
