"""The reference check (a 2-32-32-2 tanh MLP with softmax cross-entropy on one 128-point batch: every
parameter's gradient equals PyTorch's to <= 1e-15 max abs, float64) and second derivatives vs torch."""

import numpy as np
import pytest
import torch

import xgrad
import xgrad.nn.functional as F
from xgrad.gradcheck import max_rel_diff, numerical_grad


def _two_moons(n=128, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, size=n)
    upper = rng.uniform(size=n) < 0.5
    x = np.where(upper[:, None], np.stack([np.cos(t), np.sin(t)], 1), np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
    return x + 0.1 * rng.normal(size=x.shape), upper.astype(np.int64)


def _params(seed=1, sizes=(2, 32, 32, 2)):
    rng = np.random.default_rng(seed)
    out = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        out.append(rng.normal(size=(fan_in, fan_out)) / np.sqrt(fan_in))
        out.append(rng.normal(size=(fan_out,)) * 0.1)
    return out


def _mlp(x, params, tanh):
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i + 2 < len(params):
            h = tanh(h)
    return h


def _xgrad_loss(x, y, params):
    return F.cross_entropy(_mlp(x, params, xgrad.tanh), y)


def _torch_loss(x, y, params):
    return torch.nn.functional.cross_entropy(_mlp(x, params, torch.tanh), y)


def test_mlp_gradients_equal_torch(backend):
    xs, ys = _two_moons()
    arrays = _params()
    x = xgrad.tensor(xs, backend=backend)
    y = xgrad.tensor(ys, backend=backend)
    params = [xgrad.tensor(a, requires_grad=True, backend=backend) for a in arrays]
    loss = _xgrad_loss(x, y, params)
    loss.backward()
    tparams = [torch.tensor(a, requires_grad=True) for a in arrays]
    tloss = _torch_loss(torch.tensor(xs), torch.tensor(ys), tparams)
    tloss.backward()
    assert abs(loss.item() - tloss.item()) <= 1e-15
    worst = 0.0
    for p, tp in zip(params, tparams):
        assert p.grad.dtype == p.dtype and p.grad.shape == p.shape
        diff = float(np.max(np.abs(p.grad.numpy() - tp.grad.numpy())))
        assert diff <= 1e-15, f"parameter of shape {p.shape}: max abs diff {diff:.3e} vs torch"
        worst = max(worst, diff)
    print(f"[{backend}] MLP max abs gradient difference vs torch: {worst:.3e}")


def test_mlp_gradients_match_finite_differences():
    xs, ys = _two_moons(16)
    arrays = _params(sizes=(2, 4, 4, 2))
    x, y = xgrad.tensor(xs), xgrad.tensor(ys)
    params = [xgrad.tensor(a, requires_grad=True) for a in arrays]
    f = lambda *ps: _xgrad_loss(x, y, list(ps))  # noqa: E731
    analytic = xgrad.grad(f(*params), params)
    numeric = numerical_grad(f, params)
    for a, n in zip(analytic, numeric):
        assert max_rel_diff(a, n) <= 1e-7


# ---- second derivatives ---------------------------------------------------------------------

SECOND = {
    "tanh": (xgrad.tanh, torch.tanh, lambda r, s: r.normal(size=s)),
    "sigmoid": (xgrad.sigmoid, torch.sigmoid, lambda r, s: r.normal(size=s)),
    "exp": (xgrad.exp, torch.exp, lambda r, s: r.normal(size=s)),
    "log": (xgrad.log, torch.log, lambda r, s: r.uniform(0.5, 2, size=s)),
    "square_via_mul": (lambda x: x * x * x, lambda x: x * x * x, lambda r, s: r.normal(size=s)),
}


@pytest.mark.parametrize("name", sorted(SECOND))
def test_second_derivative_elementwise(name, backend):
    """d2/dx2 of sum(f(x)), elementwise, against torch: grad of (grad with create_graph=True)."""
    f, ft, values = SECOND[name]
    a = values(np.random.default_rng(3), (3, 4))
    x = xgrad.tensor(a, requires_grad=True, backend=backend)
    (g,) = xgrad.grad(xgrad.sum(f(x)), x, create_graph=True)
    assert g.requires_grad
    (h,) = xgrad.grad(xgrad.sum(g), x)
    xt = torch.tensor(a, requires_grad=True)
    (gt,) = torch.autograd.grad(ft(xt).sum(), xt, create_graph=True)
    (ht,) = torch.autograd.grad(gt.sum(), xt)
    assert max_rel_diff(g, gt) <= 1e-12
    assert max_rel_diff(h, ht) <= 1e-12


def test_second_derivative_mul_and_matmul(backend):
    rng = np.random.default_rng(4)
    arrays = [rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(3, 4))]
    a, b, c = (xgrad.tensor(v, requires_grad=True, backend=backend) for v in arrays)
    at, bt, ct = (torch.tensor(v, requires_grad=True) for v in arrays)
    ga, gb, gc = xgrad.grad(xgrad.sum(xgrad.tanh((a * c) @ b)), [a, b, c], create_graph=True)
    gat, gbt, gct = torch.autograd.grad(torch.tanh((at * ct) @ bt).sum(), [at, bt, ct], create_graph=True)
    second = xgrad.grad(xgrad.sum(ga * ga) + xgrad.sum(gb) + xgrad.sum(gc * c), [a, b, c])
    second_t = torch.autograd.grad((gat * gat).sum() + gbt.sum() + (gct * ct).sum(), [at, bt, ct])
    for s, st_ in zip(second, second_t):
        assert max_rel_diff(s, st_) <= 1e-12


def test_hessian_vector_product_of_mlp_loss(backend):
    xs, ys = _two_moons(32)
    arrays = _params(sizes=(2, 8, 8, 2))
    vs = [np.random.default_rng(7).normal(size=a.shape) for a in arrays]
    x, y = xgrad.tensor(xs, backend=backend), xgrad.tensor(ys, backend=backend)
    params = [xgrad.tensor(a, requires_grad=True, backend=backend) for a in arrays]
    grads = xgrad.grad(_xgrad_loss(x, y, params), params, create_graph=True)
    dot = None
    for g, v in zip(grads, vs):
        term = xgrad.sum(g * xgrad.tensor(v, backend=backend))
        dot = term if dot is None else dot + term
    hvp = xgrad.grad(dot, params)
    tparams = [torch.tensor(a, requires_grad=True) for a in arrays]
    tgrads = torch.autograd.grad(_torch_loss(torch.tensor(xs), torch.tensor(ys), tparams), tparams, create_graph=True)
    thvp = torch.autograd.grad(sum((g * torch.tensor(v)).sum() for g, v in zip(tgrads, vs)), tparams)
    for h, th in zip(hvp, thvp):
        assert h.shape == tuple(th.shape)
        assert max_rel_diff(h, th) <= 1e-12
    # and the HVP is what finite differences of the gradient along v say
    eps = 1e-6
    def grads_at(shift):
        ps = [xgrad.tensor(a + shift * v, backend=backend, requires_grad=True) for a, v in zip(arrays, vs)]
        return [g.numpy() for g in xgrad.grad(_xgrad_loss(x, y, ps), ps)]
    for h, up, down in zip(hvp, grads_at(eps), grads_at(-eps)):
        assert max_rel_diff(h, (up - down) / (2 * eps)) <= 1e-6
