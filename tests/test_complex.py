"""Complex tensors: forward values of the elementwise functions, and gradients of complex inputs with
PyTorch's convention (``.grad`` of a real loss is dL/dRe z + i dL/dIm z), checked against torch.autograd;
ops without complex rules refuse a complex input that needs a gradient instead of giving a wrong one."""

import numpy as np
import pytest
import torch

import xgrad

RTOL = 1e-12


def _complex(rng, shape):
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


def _loss_xgrad(y, v, w):
    """A real loss of ``y`` that weighs every real and imaginary part (v, w: NumPy arrays)."""
    if "complex" in str(y.dtype):
        return xgrad.sum(xgrad.real(y) * v + xgrad.imag(y) * w)
    return xgrad.sum(y * v)


def _loss_torch(y, v, w):
    if y.is_complex():
        return (y.real * torch.as_tensor(v) + y.imag * torch.as_tensor(w)).sum()
    return (y * torch.as_tensor(v)).sum()


def _close(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
    assert float(np.max(np.abs(a - b), initial=0.0)) <= RTOL * scale


UNARY = {
    "negative": (lambda x: -x, lambda t: -t),
    "conj": (xgrad.conj, torch.conj),
    "real": (xgrad.real, torch.real),
    "imag": (xgrad.imag, torch.imag),
    "abs": (xgrad.abs, torch.abs),
    "exp": (xgrad.exp, torch.exp),
    "log": (xgrad.log, torch.log),
    "sqrt": (xgrad.sqrt, torch.sqrt),
    "square": (xgrad.square, torch.square),
    "positive": (xgrad.positive, torch.positive),
    "pow_int": (lambda x: x ** 3, lambda t: t ** 3),
    "pow_half": (lambda x: x ** 0.5, lambda t: t ** 0.5),
    "sum_axis": (lambda x: xgrad.sum(x, axis=0), lambda t: t.sum(0)),
    "mean": (xgrad.mean, torch.mean),
    "reshape_getitem": (lambda x: xgrad.reshape(x, (-1,))[1:], lambda t: t.reshape(-1)[1:]),
    "shape_ops": (lambda x: xgrad.permute_dims(xgrad.concat([x, xgrad.flip(x, axis=0)], axis=0), (1, 0))[:, 1:]
                  + xgrad.broadcast_to(xgrad.expand_dims(x[0, :1], axis=0), (2, 5)) * xgrad.stack([x[1], x[2]])[:, :1],
                  lambda t: torch.cat([t, t.flip(0)], 0).permute(1, 0)[:, 1:]
                  + t[0, :1].unsqueeze(0).broadcast_to((2, 5)) * torch.stack([t[1], t[2]])[:, :1]),
    "chain": (lambda x: xgrad.exp(x * x) / (x + 2.0) - xgrad.sqrt(xgrad.conj(x)),
              lambda t: torch.exp(t * t) / (t + 2.0) - torch.sqrt(torch.conj(t))),
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_gradient_of_a_complex_input_matches_torch(name, backend):
    f, f_torch = UNARY[name]
    rng = np.random.default_rng(1)
    z = _complex(rng, (3, 2))
    zx = xgrad.tensor(z, dtype="complex128", requires_grad=True, backend=backend)
    zt = torch.tensor(z, requires_grad=True)
    y, yt = f(zx), f_torch(zt)
    _close(y.detach().numpy(), yt.detach().resolve_conj().numpy())
    v, w = rng.normal(size=yt.shape), rng.normal(size=yt.shape)
    _loss_xgrad(y, v, w).backward()
    _loss_torch(yt, v, w).backward()
    _close(zx.grad.numpy(), zt.grad.resolve_conj().numpy())


BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "subtract": (lambda a, b: a - b, lambda a, b: a - b),
    "multiply": (lambda a, b: a * b, lambda a, b: a * b),
    "divide": (lambda a, b: a / b, lambda a, b: a / b),
    "pow": (lambda a, b: a ** b, lambda a, b: a ** b),
    # (torch.where refuses a backward into a real input beside a complex one: cast there, not here)
    "where": (lambda a, b: xgrad.where(_MASK, a, b),
              lambda a, b: torch.where(torch.as_tensor(_MASK), a.to(torch.complex128), b.to(torch.complex128))),
}
_MASK = np.array([[True, False], [False, True], [True, True]])


@pytest.mark.parametrize("kinds", [("c", "c"), ("r", "c"), ("c", "r")], ids="".join)
@pytest.mark.parametrize("name", BINARY)
def test_binary_gradient_with_complex_inputs_matches_torch(name, kinds, backend):
    """A real input that meets a complex one gets the real part of its gradient, as in PyTorch."""
    f, f_torch = BINARY[name]
    rng = np.random.default_rng(2)
    shapes = [(3, 2), (2,)]
    values = [_complex(rng, s) if k == "c" else rng.uniform(0.5, 1.5, size=s) for k, s in zip(kinds, shapes)]
    dtypes = ["complex128" if k == "c" else "float64" for k in kinds]
    xs = [xgrad.tensor(a, dtype=d, requires_grad=True, backend=backend) for a, d in zip(values, dtypes)]
    ts = [torch.tensor(a, requires_grad=True) for a in values]
    y, yt = f(*xs), f_torch(*ts)
    _close(y.detach().numpy(), yt.detach().numpy())
    v, w = rng.normal(size=yt.shape), rng.normal(size=yt.shape)
    _loss_xgrad(y, v, w).backward()
    _loss_torch(yt, v, w).backward()
    for x, t in zip(xs, ts):
        assert x.grad.dtype == x.dtype  # a real input's gradient is real
        _close(x.grad.numpy(), t.grad.resolve_conj().numpy())


def test_complex_number_constants_give_complex_gradients():
    x = xgrad.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    xt = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    xgrad.imag(x * (1 + 2j) + 3j).sum().backward()
    (xt * (1 + 2j) + 3j).imag.sum().backward()
    _close(x.grad.numpy(), xt.grad.numpy())  # [2, 2], real


@pytest.mark.parametrize("f", [xgrad.tanh, xgrad.sin, xgrad.acos, xgrad.sinh, xgrad.tan, xgrad.expm1, xgrad.sign,
                               lambda z: xgrad.linalg.inv(z), lambda z: xgrad.round(z)],
                         ids=["tanh", "sin", "acos", "sinh", "tan", "expm1", "sign", "inv", "round"])
def test_ops_without_complex_rules_refuse_a_complex_input_that_needs_a_gradient(f, backend):
    z = xgrad.tensor([[1 + 2j, 0.5j], [1.0, -1j]], dtype="complex128", requires_grad=True, backend=backend)
    with pytest.raises(TypeError, match=r"xgrad\.\w+: gradients for complex inputs are not supported.*complex128"):
        f(z)
    with xgrad.no_grad():  # no gradient needed: the forward runs
        assert f(z).shape in ((2, 2),)


def test_real_to_complex_and_back_through_astype_matches_torch():
    x = xgrad.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    xt = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    xgrad.abs(xgrad.exp(x.to("complex128") * 1j + x)).sum().backward()
    torch.abs(torch.exp(xt.to(torch.complex128) * 1j + xt)).sum().backward()
    _close(x.grad.numpy(), xt.grad.numpy())


COMPLEX_FUNCTIONS = ["abs", "acos", "acosh", "asin", "asinh", "atan", "atanh", "conj", "cos", "cosh", "exp",
                     "expm1", "imag", "isfinite", "isinf", "isnan", "log", "log1p", "log2", "log10", "negative",
                     "positive", "real", "reciprocal", "round", "sign", "sin", "sinh", "sqrt", "square", "tan",
                     "tanh"]


@pytest.mark.parametrize("name", COMPLEX_FUNCTIONS)
def test_forward_of_complex_inputs_matches_numpy(name, backend):
    """The standard requires these for complex inputs; the values (special ones too) are the library's."""
    z = np.array([1 + 2j, -0.5 + 0.25j, 0j, -2 - 1j, complex(np.inf, 1), complex(np.nan, 0)])
    with np.errstate(all="ignore"):  # 0, inf and nan among the inputs: the library's special values
        y = getattr(xgrad, name)(xgrad.tensor(z, dtype="complex128", backend=backend)).numpy()
    numpy_name = {"acos": "arccos", "acosh": "arccosh", "asin": "arcsin", "asinh": "arcsinh", "atan": "arctan",
                  "atanh": "arctanh"}.get(name, name)
    with np.errstate(all="ignore"):
        expected = getattr(np, numpy_name)(z)
        if name == "sign":
            expected = np.where(z == 0, 0, z / np.abs(z))
        if name == "reciprocal":
            expected = 1 / z
    finite = np.isfinite(z)
    if expected.dtype == bool:
        np.testing.assert_array_equal(y, expected)
    else:
        np.testing.assert_allclose(np.asarray(y)[finite], expected[finite], rtol=1e-14, atol=1e-300)


def test_complex_data_gets_the_complex_of_the_default_dtype(backend):
    backend_name = backend
    assert str(xgrad.tensor([1 + 2j, 3.0], backend=backend_name).dtype).endswith("complex64")  # as torch.tensor
    xgrad.set_default_dtype("float64")
    assert str(xgrad.tensor([[1j], [2]], backend=backend_name).dtype).endswith("complex128")
    assert str(xgrad.tensor([1j], dtype="complex128", backend=backend_name).dtype).endswith("complex128")
    z = xgrad.tensor([1 + 2j], backend=backend_name, requires_grad=True)
    xgrad.abs(z).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), [(1 + 2j) / np.sqrt(5)])


def test_imag_of_a_real_tensor_is_refused_as_in_torch():
    with pytest.raises(TypeError, match=r"xgrad\.imag: takes a complex tensor, got float64"):
        xgrad.imag(xgrad.tensor([1.0], dtype="float64"))


def test_a_real_result_of_complex_inputs_is_refused_where_the_rules_are_real_only(backend):
    """The input is checked too, not only the result (var of a complex tensor is real)."""
    z = xgrad.tensor([1 + 2j, 0.5j, -1.0], dtype="complex128", requires_grad=True, backend=backend)
    # (array-api-strict has no complex var at all: its forward refuses first)
    with pytest.raises(TypeError, match=r"xgrad\.var: (gradients for complex inputs|Only real floating)"):
        xgrad.var(z)
    x = xgrad.tensor([0.5, 1.0], dtype="float64", requires_grad=True, backend=backend)
    with pytest.raises(TypeError, match=r"xgrad\.tanh: gradients for complex inputs"):
        xgrad.tanh(x * 1j)  # complex from a real leaf and a complex number: refused as well
