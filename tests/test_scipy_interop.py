"""SciPy's array-API functions (``SCIPY_ARRAY_API=1``) on xgrad tensors: the result is an xgrad tensor
whose gradient matches PyTorch's (where torch has the function) or central finite differences."""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # read when SciPy is first imported

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import xgrad  # noqa: E402
from xgrad.gradcheck import analytic_grad, max_rel_diff, numerical_grad, torch_grad  # noqa: E402

scipy = pytest.importorskip("scipy")
from scipy import special, stats  # noqa: E402
from scipy._lib._array_api import SCIPY_ARRAY_API  # noqa: E402

pytestmark = pytest.mark.skipif(not SCIPY_ARRAY_API, reason="SciPy was imported before SCIPY_ARRAY_API=1 was set")

X = [[0.5, -1.0, 2.0, 0.3], [1.5, 0.25, -0.5, -2.0], [0.1, 0.2, 0.3, 0.4]]
P = [[0.2, 0.3, 0.4, 0.1], [0.1, 0.6, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25]]


def _torch():
    import torch

    return torch


MISSING: dict = {}  # SciPy functions expected to fail, with what xgrad lacks (none now)

CASES = [  # name, scipy call, input values, torch's version (None: finite differences only)
    ("logsumexp", lambda t: special.logsumexp(t, axis=1), X, lambda t: _torch().logsumexp(t, dim=1)),
    ("softmax", lambda t: special.softmax(t, axis=1), X, lambda t: _torch().softmax(t, dim=1)),
    ("log_softmax", lambda t: special.log_softmax(t, axis=1), X, lambda t: _torch().log_softmax(t, dim=1)),
    ("expit", special.expit, X, lambda t: _torch().sigmoid(t)),
    ("zscore", lambda t: stats.zscore(t, axis=1), X,
     lambda t: (t - t.mean(dim=1, keepdim=True)) / t.std(dim=1, correction=0, keepdim=True)),
    ("entropy", lambda t: stats.entropy(t, axis=1), P, None),
    ("gmean", lambda t: stats.gmean(t, axis=1), P, None),
    ("variation", lambda t: stats.variation(t, axis=1), X, None),
]


def _param(case):
    name = case[0]
    marks = [pytest.mark.xfail(strict=True, reason=f"needs {MISSING[name]}")] if name in MISSING else []
    return pytest.param(*case, id=name, marks=marks)


@pytest.mark.parametrize("name, fn, values, torch_fn", [_param(c) for c in CASES])
def test_scipy_function_returns_a_differentiable_xgrad_tensor(name, fn, values, torch_fn):
    # SciPy makes new arrays (xp.asarray(True), ...) on xgrad's current backend: the tensors' own
    with xgrad.use_backend("numpy"):
        _check(fn, values, torch_fn)


def _check(fn, values, torch_fn):
    x = xgrad.tensor(values, dtype="float64", requires_grad=True)
    out = fn(x)
    assert type(out) is xgrad.Tensor and out.requires_grad and out.dtype is xgrad.float64
    want = fn(np.asarray(values))  # SciPy on NumPy: the values to match
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-13, atol=1e-15)
    v = np.random.default_rng(0).normal(size=out.shape)
    (ours,) = analytic_grad(fn, [x], v)
    (fd,) = numerical_grad(fn, [x], grad_output=v)
    assert max_rel_diff(ours, fd) <= 1e-6
    if torch_fn is not None:
        (theirs,) = torch_grad(torch_fn, [np.asarray(values)], v)
        assert max_rel_diff(ours, theirs) <= 1e-12


def test_scipy_refuses_nothing_silently_on_a_tensor_that_requires_grad():
    # a SciPy function without an array-API path converts with np.asarray: refused, never a lost gradient
    x = xgrad.tensor([0.5, 1.5], dtype="float64", requires_grad=True)
    with pytest.raises(xgrad.GraphError, match="detach"):
        special.gammaln(x)
