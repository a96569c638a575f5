"""Activation checkpointing: the same gradients as a plain run (dropout included), parameters and
closure tensors reached, fewer live intermediate arrays at the peak (measured)."""

import tracemalloc

import numpy as np
import pytest

import xgrad
from xgrad import nn
from xgrad.utils import checkpoint, checkpoint_sequential


def _model(depth=8, width=128, dropout=0.0):
    xgrad.manual_seed(0)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width, dtype="float64"), nn.Tanh()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def _grads(model, x):
    return [p.grad.numpy().copy() for p in model.parameters()] + [x.grad.numpy().copy()]


def _run(model, x, segments):
    for p in model.parameters():
        p.grad = None
    x.grad = None
    out = model(x) if segments is None else checkpoint_sequential(model, segments, x)
    (out * out).mean().backward()
    return _grads(model, x)


def test_checkpointed_gradients_equal_plain_ones_with_dropout():
    model = _model(depth=4, width=16, dropout=0.3)
    x = xgrad.tensor(np.random.default_rng(1).standard_normal((8, 16)), dtype="float64", requires_grad=True)
    xgrad.manual_seed(5)
    plain = _run(model, x, None)
    after_plain = xgrad.rand(3).numpy()
    xgrad.manual_seed(5)
    ckpt = _run(model, x, 3)
    after_ckpt = xgrad.rand(3).numpy()
    for a, b in zip(plain, ckpt):
        np.testing.assert_array_equal(a, b)  # the same masks, the same arithmetic: bit for bit
    np.testing.assert_array_equal(after_plain, after_ckpt)  # the generator goes on as without checkpoint


def test_checkpoint_reaches_closure_tensors_and_works_with_grad():
    w = xgrad.tensor([[0.5, -1.0], [2.0, 0.25]], dtype="float64", requires_grad=True)
    h = xgrad.tensor([1.0, 2.0], dtype="float64", requires_grad=True) * 3.0  # a non-leaf from outside
    x = xgrad.tensor([[1.0, -2.0]], dtype="float64", requires_grad=True)

    def block(x, scale):
        return xgrad.tanh(x @ w + h) * scale, xgrad.sum(x)

    y, s = checkpoint(block, x, 2.0)
    loss = (y * y).sum() + s
    gw, gx = xgrad.grad(loss, [w, x], retain_graph=True)
    y2, s2 = block(x, 2.0)
    loss2 = (y2 * y2).sum() + s2
    rw, rx = xgrad.grad(loss2, [w, x], retain_graph=True)  # h's graph is shared with the checkpointed run
    np.testing.assert_allclose(gw.numpy(), rw.numpy(), rtol=1e-15)
    np.testing.assert_allclose(gx.numpy(), rx.numpy(), rtol=1e-15)
    assert w.grad is None  # xgrad.grad touched no .grad
    loss.backward()
    assert h.grad is None and w.grad is not None


def test_checkpoint_refuses_an_input_changed_in_place_before_backward():
    x = xgrad.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    a = x * 1.0
    y = checkpoint(lambda t: xgrad.exp(t), a)
    with xgrad.no_grad():
        a.add_(1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_checkpoint_refuses_double_backward():
    x = xgrad.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = checkpoint(lambda t: t * t, x)
    with pytest.raises(RuntimeError, match="second derivative"):
        xgrad.grad(y.sum(), [x], create_graph=True)


def _peak(model, x, segments):
    for p in model.parameters():
        p.grad = None
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    out = model(x) if segments is None else checkpoint_sequential(model, segments, x)
    (out * out).mean().backward()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def test_checkpointing_lowers_the_peak_of_live_intermediate_arrays():
    xgrad.use_backend("numpy")  # tracemalloc sees NumPy's allocations (not torch's), whatever XGRAD_BACKEND says
    model = _model(depth=16, width=128)
    x = xgrad.tensor(np.random.default_rng(0).standard_normal((256, 128)), dtype="float64")
    for p in model.parameters():  # .grad arrays exist before the measurement in both runs
        p.grad = xgrad.zeros_like(p)
    plain = _peak(model, x, None)
    ckpt = _peak(model, x, 4)
    # 16 layers of (256 x 128) float64 activations, two arrays per layer: about 8.4 MB held by the plain
    # run; in 4 segments, the segment boundaries plus one segment's arrays at a time
    print(f"peak of traced memory: plain {plain / 1e6:.2f} MB, checkpointed in 4 segments {ckpt / 1e6:.2f} MB")
    assert ckpt < 0.6 * plain


def test_checkpoint_in_a_compiled_step_matches_eager_and_refuses_random_draws():
    model = _model(depth=2, width=8)
    x = xgrad.tensor(np.random.default_rng(2).standard_normal((4, 8)), dtype="float64")

    def step(x):
        for p in model.parameters():
            p.grad = None
        out = checkpoint_sequential(model, 2, x)
        loss = (out * out).sum()
        loss.backward()
        return loss

    compiled = xgrad.compile(step, warmup=0)
    for _ in range(3):  # trace, then replays
        compiled(x)
    got = [p.grad.numpy().copy() for p in model.parameters()]
    step(x)
    for a, p in zip(got, model.parameters()):
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-14)
    dropped = _model(depth=2, width=8, dropout=0.5)
    noisy = xgrad.compile(lambda x: checkpoint_sequential(dropped, 2, x).sum(), warmup=0)
    with pytest.raises(RuntimeError, match="draws random numbers inside xgrad.compile"):
        noisy(x)
