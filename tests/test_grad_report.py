"""The gradient-flow report's numbers and statuses, and gradient accumulation over micro-batches."""

import math

import numpy as np

import xgrad
from xgrad import nn
from xgrad.nn import functional as F
from xgrad.nn.utils import grad_report


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(3, 2, dtype="float64")
        self.unused = nn.Linear(3, 2, dtype="float64")

    def forward(self, x):
        return self.used(x)


def test_grad_report_norms_ratios_and_statuses(backend):
    xgrad.manual_seed(0)
    net = _Net().to(backend=backend)
    x = xgrad.tensor(np.arange(6.0).reshape(2, 3), dtype="float64", backend=backend)
    (net(x) * 2.0).sum().backward()
    report = grad_report(net)
    rows = {r.name: r for r in report.rows}
    w = xgrad.to(net.used.weight.detach(), backend="numpy").numpy()
    gw = np.full((2, 2), 2.0).T @ np.arange(6.0).reshape(2, 3)
    assert math.isclose(rows["used.weight"].grad_norm, np.linalg.norm(gw), rel_tol=1e-12)
    assert math.isclose(rows["used.weight"].param_norm, np.linalg.norm(w), rel_tol=1e-12)
    assert math.isclose(rows["used.weight"].ratio, np.linalg.norm(gw) / np.linalg.norm(w), rel_tol=1e-12)
    assert rows["used.weight"].status == "OK" and rows["used.bias"].status == "OK"
    assert report.by_status("NO GRAD") == ["unused.weight", "unused.bias"]
    assert not report.ok
    net.used.bias.grad = net.used.bias.grad * 1e-9
    net.used.weight.grad = net.used.weight.grad * 1e4
    net.unused.bias.grad = xgrad.tensor([float("nan"), 0.0], dtype="float64", backend=backend)
    statuses = [r.status for r in grad_report(net).rows]
    assert statuses == ["EXPLODING", "VANISHING", "NO GRAD", "NaN"]
    table = str(grad_report(net))
    assert table.splitlines()[0].split() == ["parameter", "shape", "grad", "norm", "param", "norm", "grad/param",
                                             "status"]
    assert "used.weight  2x3" in table and "NO GRAD" in table


def test_four_micro_batches_with_loss_over_4_equal_one_4x_batch():
    xgrad.manual_seed(0)
    model = nn.MLP([3, 8, 8, 2], dtype="float64")
    rng = np.random.default_rng(0)
    X = xgrad.tensor(rng.standard_normal((32, 3)), dtype="float64")
    y = xgrad.tensor(rng.integers(0, 2, 32))
    model.zero_grad()
    F.cross_entropy(model(X), y).backward()
    whole = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    for i in range(4):
        (F.cross_entropy(model(X[8 * i:8 * (i + 1)]), y[8 * i:8 * (i + 1)]) / 4).backward()
    for a, p in zip(whole, model.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), a, rtol=1e-12, atol=1e-15)
