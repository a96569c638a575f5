"""The generic gradient test: every op of the op table x every backend, against torch.autograd
(<= 1e-12 normwise relative, float64) and central finite differences (<= 1e-6), on Hypothesis-drawn
shapes (broadcasting ones included) and values; plus grad-of-grad against torch for the whole table."""

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import xgrad
from xgrad.gradcheck import analytic_grad, max_rel_diff, numerical_grad, torch_grad

from op_table import OPS, REQUIRED

TORCH_RTOL = 1e-12
FD_RTOL = 1e-6


def _consts(c, backend):
    """The case's constants for xgrad (arrays -> tensors on ``backend``) and for torch."""
    cx, ct = {}, {}
    for k, v in c.items():
        if isinstance(v, np.ndarray):
            cx[k] = xgrad.tensor(v, backend=backend)
            ct[k] = torch.as_tensor(v)
        else:
            cx[k] = ct[k] = v
    return cx, ct


def _draw(case, data, backend):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    arrays, consts = case.make(data.draw, rng)
    cx, ct = _consts(consts, backend)
    xs = [xgrad.tensor(a, dtype="float64", requires_grad=True, backend=backend) for a in arrays]
    f = lambda *t: case.xg(cx, *t)  # noqa: E731
    f_torch = lambda *t: case.th(ct, *t)  # noqa: E731
    return rng, arrays, xs, f, f_torch


def test_op_table_covers_the_required_ops():
    names = {c.name for c in OPS}
    assert [n for n in REQUIRED if n not in names] == []


@pytest.mark.parametrize("case", OPS, ids=lambda c: c.name)
@given(data=st.data())
def test_gradient(case, backend, data):
    rng, arrays, xs, f, f_torch = _draw(case, data, backend)
    out = f(*xs)
    assert out.backend == xgrad.get_backend(backend).name
    ref = f_torch(*[torch.tensor(a) for a in arrays])
    assert out.shape == tuple(ref.shape)
    assert max_rel_diff(out, ref) <= TORCH_RTOL, "forward values differ from torch"
    v = rng.normal(size=out.shape)  # a random upstream gradient exercises every output entry
    ours = analytic_grad(f, xs, v)
    theirs = torch_grad(f_torch, arrays, v)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == arrays[i].shape
        assert max_rel_diff(a, b) <= TORCH_RTOL, f"input {i}: xgrad vs torch.autograd"
    numeric = numerical_grad(f, xs, eps=1e-6, grad_output=v)
    for i, (a, n) in enumerate(zip(ours, numeric)):
        assert max_rel_diff(a, n) <= FD_RTOL, f"input {i}: xgrad vs finite differences"


def _hessian_products(f, xs, v, w, allow_none):
    """xgrad: d/d(xs, v) of sum_i <w_i, d<f(xs), v>/dx_i>, via create_graph=True."""
    out = f(*xs)
    firsts = xgrad.grad(xgrad.sum(out * v), xs, create_graph=True, allow_unused=True)
    total = None
    for g, wi in zip(firsts, w):
        if g is not None:
            term = xgrad.sum(g * wi)
            total = term if total is None else total + term
    seconds = xgrad.grad(total, list(xs) + [v], allow_unused=True)
    return [np.zeros(t.shape) if s is None else s.numpy() for t, s in zip(list(xs) + [v], seconds)]


def _torch_hessian_products(f_torch, arrays, v, w):
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    vt = torch.tensor(v, requires_grad=True)
    out = f_torch(*leaves)
    firsts = torch.autograd.grad((out * vt).sum(), leaves, create_graph=True, allow_unused=True)
    total = sum((g * torch.tensor(wi)).sum() for g, wi in zip(firsts, w) if g is not None)
    seconds = torch.autograd.grad(total, leaves + [vt], allow_unused=True)
    return [np.zeros(t.shape) if s is None else s.detach().numpy(force=True) for t, s in zip(leaves + [vt], seconds)]


@pytest.mark.parametrize("case", OPS, ids=lambda c: c.name)
@given(data=st.data())
def test_second_order(case, backend, data):
    if case.second_order is not True:
        pytest.skip(case.second_order)
    rng, arrays, xs, f, f_torch = _draw(case, data, backend)
    out_shape = f(*xs).shape
    v = rng.normal(size=out_shape)
    w = [rng.normal(size=a.shape) for a in arrays]
    vx = xgrad.tensor(v, dtype="float64", requires_grad=True, backend=backend)
    wx = [xgrad.tensor(wi, dtype="float64", backend=backend) for wi in w]
    ours = _hessian_products(f, xs, vx, wx, allow_none=True)
    theirs = _torch_hessian_products(f_torch, arrays, v, w)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        # relative to max(1, max|reference|): a second derivative can be a small difference of O(1)
        # terms (sigmoid'' = s(1-s)(1-2s) near 0, where both libraries round 1-2s differently), so
        # below 1 the 1e-12 bound is absolute; a wrong rule is off by O(1) either way
        scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
        diff = float(np.max(np.abs(a - b))) if a.size else 0.0
        assert diff <= TORCH_RTOL * scale, f"second derivative w.r.t. input {i}: xgrad vs torch, diff {diff:.3e}"
