"""Handing tensors to NumPy: never a silently lost gradient, and memory shared only where documented."""

import numpy as np
import pytest

import xgrad


def test_numpy_functions_refuse_a_tensor_that_requires_grad(backend):
    w = xgrad.tensor([1.0, 2.0], dtype="float64", backend=backend, requires_grad=True)
    for f in (np.exp, np.asarray, np.linalg.norm):
        with pytest.raises(xgrad.GraphError, match=r"detach\(\)") as e:
            f(w)
        assert isinstance(e.value, RuntimeError)
    total = np.sum(w)  # NumPy calls the tensor's own sum: the result keeps its gradient
    assert isinstance(total, xgrad.Tensor) and total.requires_grad and float(total) == 3.0
    total.backward()
    assert w.grad.tolist() == [1.0, 1.0]
    with pytest.raises(xgrad.GraphError, match="requires grad"):
        w.numpy()
    assert np.exp(w.detach()).tolist() == pytest.approx([np.e, np.e ** 2])
    # Python numbers are fine, as in PyTorch: they are values, not arrays that could carry a gradient
    assert float(xgrad.sum(w)) == 3.0 and xgrad.sum(w).item() == 3.0 and w.tolist() == [1.0, 2.0]


def test_tensor_copies_and_as_tensor_shares():
    a = np.array([1.0, 2.0])
    copied, shared = xgrad.tensor(a, backend="numpy"), xgrad.as_tensor(a, backend="numpy")
    a[0] = 100.0
    assert copied.tolist() == [1.0, 2.0]
    assert shared.tolist() == [100.0, 2.0]


def test_tensor_copies_on_every_backend(backend):
    b = xgrad.get_backend(backend)
    source = b.asarray([1.0, 2.0], dtype="float64")
    t = xgrad.tensor(source, backend=backend)
    source[0] = 100.0
    assert t.tolist() == [1.0, 2.0]


def test_numpy_of_a_host_tensor_shares_its_memory():
    t = xgrad.tensor([1.0, 2.0], dtype="float64", backend="numpy")
    view = t.numpy()
    view[0] = 5.0  # documented: untracked, like torch's numpy()
    assert t.tolist() == [5.0, 2.0]


def test_grad_has_its_tensors_dtype_and_backend(backend):
    x = xgrad.tensor([1.0, 2.0], dtype="float32", backend=backend, requires_grad=True)
    y = xgrad.tensor([3.0, 4.0], dtype="float64", backend=backend)
    xgrad.sum(x * y).backward()  # the product is float64
    assert x.grad.dtype == x.dtype and x.grad.tolist() == [3.0, 4.0]
    z = xgrad.tensor([1.0, 2.0], dtype="float64", backend=backend, requires_grad=True)
    (z * 2.0).backward(xgrad.tensor([1.0, 0.5], dtype="float32", backend=backend))
    assert z.grad.dtype == z.dtype and z.grad.tolist() == [2.0, 1.0]
    with xgrad.no_grad():  # an SGD step keeps working, in the parameter's dtype
        x -= 0.5 * x.grad
    assert x.dtype == xgrad.get_backend(backend).dtype("float32")
    other = "numpy" if backend != "numpy" else "torch"
    with pytest.raises(xgrad.BackendMismatchError, match="gradient"):
        (z * 2.0).backward(xgrad.tensor([1.0, 1.0], dtype="float64", backend=other))


def test_numpy_reductions_call_the_tensors_own_methods():
    import torch

    w = xgrad.tensor([1.0, 2.0, 4.0], dtype="float64", requires_grad=True)
    wt = torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64, requires_grad=True)
    v = np.var(w, ddof=1)  # NumPy passes ddof (and dtype, out): var's correction
    assert isinstance(v, xgrad.Tensor) and float(v) == pytest.approx(torch.var(wt, correction=1).item(), abs=1e-15)
    v.backward()
    torch.var(wt, correction=1).backward()
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=0, atol=1e-15)
    with pytest.raises(TypeError):
        np.sum(w, where=np.array([True, False, True]))  # a mask xgrad would ignore: refused, never dropped
    with pytest.raises(TypeError, match="only var"):
        w.sum(correction=1)
