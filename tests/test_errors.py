"""Bad input gets a clear xgrad error: each test checks the error type and that the message names the
op and the shapes, dtypes, backends or devices involved."""

import os
import subprocess
import sys

import numpy as np
import pytest

import xgrad
import xgrad.backends
import xgrad.nn.functional as F


def f64(values, backend=None, requires_grad=False):
    return xgrad.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad, backend=backend)


def test_matmul_incompatible_shapes(backend):
    a, b = f64(np.ones((3, 4)), backend), f64(np.ones((5, 2)), backend)
    with pytest.raises(xgrad.ShapeError) as info:
        a @ b
    msg = str(info.value)
    assert "matmul" in msg and "(3, 4)" in msg and "(5, 2)" in msg and "inner dimensions" in msg
    c, d = f64(np.ones((2, 3, 4)), backend), f64(np.ones((3, 4, 5)), backend)
    with pytest.raises(xgrad.ShapeError, match=r"batch dimensions \(2,\) and \(3,\) do not broadcast"):
        xgrad.matmul(c, d)


def test_broadcasting_incompatible_shapes(backend):
    a, b = f64(np.ones((3, 4)), backend), f64(np.ones((2, 4)), backend)
    with pytest.raises(xgrad.ShapeError) as info:
        a + b
    msg = str(info.value)
    assert "add" in msg and "(3, 4)" in msg and "(2, 4)" in msg and "broadcast" in msg


def test_two_backends_in_one_op():
    a = f64([1.0, 2.0], "numpy")
    b = f64([1.0, 2.0], "torch")
    with pytest.raises(xgrad.BackendMismatchError) as info:
        a * b
    msg = str(info.value)
    assert "multiply" in msg and "'numpy'" in msg and "'torch'" in msg and ".to(" in msg
    s = f64([1.0, 2.0], "array_api_strict")
    with pytest.raises(xgrad.BackendMismatchError, match="array_api_strict"):
        xgrad.maximum(s, a)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_requires_grad_on_integer_or_bool_tensors(backend, dtype):
    values = [True, False] if dtype == "bool" else [1, 2]
    with pytest.raises(xgrad.DTypeError) as info:
        xgrad.tensor(values, dtype=dtype, requires_grad=True, backend=backend)
    assert dtype in str(info.value) and "floating" in str(info.value)
    t = xgrad.tensor(values, dtype=dtype, backend=backend)
    with pytest.raises(xgrad.DTypeError, match=dtype):
        t.requires_grad_()
    with pytest.raises(xgrad.DTypeError, match="floating"):
        xgrad.arange(3, backend=backend, requires_grad=True)


def test_backward_of_non_scalar_without_gradient(backend):
    y = f64(np.ones((2, 3)), backend, requires_grad=True) * 2.0
    with pytest.raises(xgrad.GraphError) as info:
        y.backward()
    msg = str(info.value)
    assert "non-scalar" in msg and "(2, 3)" in msg and "gradient" in msg
    with pytest.raises(xgrad.GraphError, match=r"\(2, 3\)"):
        xgrad.grad(y, [y])


def test_gradient_of_the_wrong_shape(backend):
    y = f64(np.ones((2, 3)), backend, requires_grad=True) * 2.0
    with pytest.raises(xgrad.ShapeError) as info:
        y.backward(gradient=f64(np.ones((3, 2)), backend))
    msg = str(info.value)
    assert "gradient" in msg and "(3, 2)" in msg and "(2, 3)" in msg


def test_backward_through_a_freed_graph(backend):
    x = f64([1.0, 2.0], backend, requires_grad=True)
    h = xgrad.tanh(x)
    loss = xgrad.sum(h * h)
    loss.backward()
    with pytest.raises(xgrad.GraphError) as info:
        loss.backward()
    assert "second time" in str(info.value) and "retain_graph=True" in str(info.value)
    with pytest.raises(xgrad.GraphError, match="retain_graph=True"):
        xgrad.grad(loss, x)
    with pytest.raises(xgrad.GraphError, match="retain_graph=True"):  # through an inner freed node
        xgrad.sum(h * 3.0).backward()


def test_backward_of_a_tensor_that_needs_no_grad():
    with pytest.raises(xgrad.GraphError, match="does not require grad"):
        xgrad.sum(f64([1.0]) * 2.0).backward()


def test_unknown_backend_in_process(monkeypatch):
    monkeypatch.setenv("XGRAD_BACKEND", "no_such_backend")
    monkeypatch.setattr(xgrad.backends, "_current", None)
    with pytest.raises(xgrad.BackendUnavailableError) as info:
        xgrad.zeros(2)
    msg = str(info.value)
    assert "'no_such_backend'" in msg
    for known in ("numpy", "torch", "cupy", "array_api_strict"):
        assert known in msg
    with pytest.raises(xgrad.BackendUnavailableError, match="known backends"):
        xgrad.use_backend("no_such_backend")


def test_unknown_backend_from_the_environment():
    env = dict(os.environ, XGRAD_BACKEND="nonsense")
    code = "import xgrad\ntry:\n    xgrad.ones(3)\nexcept xgrad.BackendUnavailableError as e:\n    print('ERR', e)\n"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ERR unknown xgrad backend 'nonsense'")
    assert "numpy" in out.stdout and "array_api_strict" in out.stdout and "XGRAD_BACKEND" in out.stdout


def test_backend_that_cannot_load(monkeypatch):
    """CuPy missing (simulated, so this also runs where CuPy is installed): the error says what and how."""
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` now raises ImportError
    monkeypatch.delitem(xgrad.backends._LOADED, "cupy", raising=False)
    with pytest.raises(xgrad.BackendUnavailableError) as info:
        xgrad.get_backend("cupy")
    msg = str(info.value)
    assert "cupy" in msg and "not installed" in msg and 'pip install "xgrad[cuda12]"' in msg
    assert "cannot load" in xgrad.available_backends()["cupy"]


def test_real_cupy_status_is_reported():
    status = xgrad.available_backends()["cupy"]
    if status is None:
        pytest.skip("cupy loads here")
    assert "cupy" in status and ("pip install" in status or "GPU" in status or "CUDA" in status)


def test_torch_that_cannot_load(monkeypatch):
    from xgrad.backends import torch as torch_backend

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(xgrad.BackendUnavailableError, match="PyTorch is not installed.*pip install torch"):
        torch_backend.load()


def test_cross_entropy_label_out_of_range(backend):
    z = f64(np.zeros((2, 3)), backend, requires_grad=True)
    with pytest.raises(xgrad.InputError, match=r"\[0, 3\)"):
        # at the call, or, where the backend checks labels on the device (CuPy), at the first read
        F.cross_entropy(z, xgrad.tensor(np.array([0, 3]), backend=backend)).item()


def test_labels_and_indices_out_of_range_are_index_errors_as_in_torch(backend):
    """PyTorch raises IndexError for a target or an embedding index out of range; xgrad's LabelError is
    that and an InputError (ValueError) at once, so either except clause catches it."""
    z = f64(np.zeros((2, 3)), backend, requires_grad=True)
    bad = xgrad.tensor(np.array([0, 3]), backend=backend)
    for call in (lambda: F.cross_entropy(z, bad).item(), lambda: F.nll_loss(z, bad).item(),
                 lambda: F.embedding(bad, f64(np.zeros((3, 2)), backend)).sum().item()):
        for catch in (IndexError, ValueError, xgrad.InputError, xgrad.LabelError):
            with pytest.raises(catch, match=r"\[0, 3\)"):
                call()


def test_linear_names_in_features_and_refuses_mixed_dtypes_as_torch():
    from xgrad import nn

    with pytest.raises(xgrad.ShapeError, match=r"64 features on its last axis.*takes 16; set in_features to 64"):
        nn.Linear(16, 3)(xgrad.randn(5, 64))
    with pytest.raises(xgrad.DTypeError, match=r"input float64 and weight float32 and bias float32 differ"):
        nn.Linear(16, 3, dtype="float32")(xgrad.randn(5, 16, dtype="float64"))  # torch: a RuntimeError too


def test_cross_entropy_says_class_labels_must_be_integers():
    logits = xgrad.randn(4, 3)
    for target in (xgrad.tensor([True, False, True, False]), xgrad.tensor([0.0, 1.0, 2.0, 1.0])):
        with pytest.raises(xgrad.DTypeError, match=r"shape of class labels but dtype .*must be integers"):
            F.cross_entropy(logits, target)


def test_an_unusable_device_is_refused_when_chosen_not_at_the_next_op():
    before = xgrad.current_backend()
    with pytest.raises(xgrad.InputError, match=r"xgrad.use_backend: device 'cuda:7' is not usable with backend 'numpy'"):
        xgrad.use_backend("numpy", device="cuda:7")
    assert xgrad.current_backend() is before  # the choice was not made
