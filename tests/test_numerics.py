"""PyTorch's numbers at the edges, on every backend: NaN through activations and selections, pow and var
where their formulas divide by zero, result dtypes of integer and mixed tensors, bitwise operators,
cross-entropy's class axis, loss shapes, and indices that mix ints with arrays. Each value, gradient and
dtype is compared with torch (float64 unless the dtype is what is tested); where PyTorch has no number
xgrad raises a clear error."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

import xgrad
import xgrad.nn.functional as F

from op_table import _mixed_forms

NAN, INF = float("nan"), float("inf")

# NaN and infinities are the point here: NumPy's notes about them are expected
pytestmark = [pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:var\\(\\)")]


def same(got, want, exact=False):
    """Equal to torch's values: NaN where torch has NaN, the same infinities, else within 1e-15."""
    got = got.detach().numpy() if isinstance(got, xgrad.Tensor) else np.asarray(got)
    want = want.detach().numpy(force=True) if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    if exact:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0, equal_nan=True)


def grads(f, f_torch, values, backend, v=None):
    """(xgrad's output, its gradients) and torch's, for f of float64 leaves holding ``values``."""
    xs = [xgrad.tensor(np.asarray(a, dtype=np.float64), dtype="float64", requires_grad=True, backend=backend)
          for a in values]
    ts = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in values]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's divide-by-zero notes: the values are asked
        out, tout = f(*xs), f_torch(*ts)
        v = np.ones(tuple(tout.shape)) if v is None else v
        xgrad.sum(out * xgrad.tensor(v, dtype="float64", backend=backend)).backward()
    (tout * torch.tensor(v)).sum().backward()
    return (out, [x.grad for x in xs]), (tout, [t.grad for t in ts])


def check(f, f_torch, values, backend):
    (out, gs), (tout, tgs) = grads(f, f_torch, values, backend)
    same(out, tout)
    for g, tg in zip(gs, tgs):
        same(g, tg)


# ---- NaN, as PyTorch: through activations, selections and clipping ------------------------------
EDGES = [NAN, -1.0, -0.0, 0.0, 2.0, INF, -INF]


@pytest.mark.parametrize("name, f, f_torch", [
    ("relu", F.relu, tF.relu),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: tF.leaky_relu(x, 0.2)),
    ("maximum", lambda x: xgrad.maximum(x, 0.0 * x), lambda x: torch.maximum(x, 0.0 * x)),
    ("minimum", lambda x: xgrad.minimum(x, 0.0 * x), lambda x: torch.minimum(x, 0.0 * x)),
    ("clip", lambda x: xgrad.clip(x, -0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5)),
    ("clip_min", lambda x: xgrad.clip(x, min=0.0), lambda x: torch.clamp(x, min=0.0)),
    ("clip_max", lambda x: xgrad.clip(x, max=0.0), lambda x: torch.clamp(x, max=0.0)),
    ("clip_nan_bound", lambda x: xgrad.clip(x, min=NAN), lambda x: torch.clamp(x, min=NAN)),
    ("clip_min_above_max", lambda x: xgrad.clip(x, 0.5, -0.5), lambda x: torch.clamp(x, 0.5, -0.5)),
    ("abs", xgrad.abs, torch.abs),
    ("max", xgrad.max, torch.amax),
    ("softplus", F.softplus, tF.softplus),
    ("sigmoid", xgrad.sigmoid, torch.sigmoid),
])
def test_nan_and_infinities_follow_torch(name, f, f_torch, backend):
    values = [EDGES[:-2]] if name in ("softplus", "sigmoid", "max") else [EDGES]
    check(f, f_torch, values, backend)


def test_relu_keeps_nan_and_the_sign_of_zero(backend):
    x = xgrad.tensor([NAN, -0.0, -3.0], dtype="float64", backend=backend)
    out = F.relu(x).numpy()
    assert np.isnan(out[0]) and out[1] == 0 and np.signbit(out[1]) and out[2] == 0 and not np.signbit(out[2])


def test_nan_in_either_input_of_maximum_and_minimum(backend):
    a, b = [NAN, 1.0, NAN, 2.0, 3.0], [2.0, NAN, NAN, 2.0, 1.0]
    for f, ft in [(xgrad.maximum, torch.maximum), (xgrad.minimum, torch.minimum)]:
        check(f, ft, [a, b], backend)


def test_sign_of_nan_is_zero(backend):
    x = xgrad.tensor([NAN, -2.0, -0.0, 0.0, 3.0], dtype="float64", backend=backend)
    same(xgrad.sign(x), torch.sign(torch.tensor([NAN, -2.0, -0.0, 0.0, 3.0], dtype=torch.float64)))


# ---- pow and var where their formulas divide by zero ---------------------------------------------
BASES = [0.0, -0.0, 1.0, -2.0, 2.0, -0.5, 3.0]


@pytest.mark.parametrize("name, f", [
    ("x**0", lambda x: x ** 0), ("x**0.0", lambda x: x ** 0.0), ("x**x", lambda x: x ** x),
    ("x**1", lambda x: x ** 1), ("x**2", lambda x: x ** 2), ("x**3", lambda x: x ** 3), ("x**-1", lambda x: x ** -1),
    ("x**0.5", lambda x: x ** 0.5), ("x**1.5", lambda x: x ** 1.5), ("x**nan", lambda x: x ** NAN),
    ("0.0**x", lambda x: 0.0 ** x), ("-0.0**x", lambda x: (-0.0) ** x), ("0**x", lambda x: 0 ** x),
    ("-2.0**x", lambda x: (-2.0) ** x), ("2.0**x", lambda x: 2.0 ** x), ("1.0**x", lambda x: 1.0 ** x),
    ("nan**x", lambda x: NAN ** x), ("inf**x", lambda x: INF ** x),
])
def test_pow_at_zero_and_negative_bases_follows_torch(name, f, backend):
    check(f, f, [BASES], backend)


def test_pow_of_two_tensors_at_zero_and_negative_bases(backend):
    a = [0.0, 0.0, 0.0, -2.0, -2.0, 0.0, -0.0, -0.0, 2.0, 0.0]
    b = [0.0, 2.0, -1.0, 2.0, 0.5, 0.5, 0.5, 3.0, 0.0, NAN]
    check(lambda x, y: x ** y, lambda x, y: x ** y, [a, b], backend)


def test_pow_second_order_at_zero_exponent(backend):
    x = xgrad.tensor([0.0, 2.0, -1.0], dtype="float64", requires_grad=True, backend=backend)
    (g,) = xgrad.grad(xgrad.sum(x ** 0), [x], create_graph=True)
    same(g, np.zeros(3))
    t = torch.tensor([0.0, 2.0, -1.0], dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad((t ** t).sum(), [t], create_graph=True)
    (g,) = xgrad.grad(xgrad.sum(x ** x), [x], create_graph=True)
    same(g, tg)


@pytest.mark.parametrize("n, correction", [(1, 1), (1, 2), (2, 2), (3, 5), (2, 3), (3, 1), (4, 0)])
@pytest.mark.parametrize("axis", [None, 0])
def test_var_without_degrees_of_freedom_follows_torch(n, correction, axis, backend):
    values = np.arange(n, dtype=np.float64) * 0.5 + 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch and NumPy both warn that there is no degree of freedom
        check(lambda x: xgrad.var(x, axis=axis, correction=correction),
              lambda x: torch.var(x, dim=axis, correction=correction), [values], backend)


def test_var_of_one_element_per_row(backend):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda x: xgrad.var(x, axis=1, correction=1), lambda x: torch.var(x, dim=1, correction=1),
              [[[1.0], [2.0]]], backend)


# ---- result dtypes: PyTorch's promotion --------------------------------------------------------
def _operands(lib, backend):
    if lib == "torch":
        mk = torch.tensor
        return {"i": mk([1, 2, -3]), "i32": mk([1, 2, 3], dtype=torch.int32), "u8": mk([1, 2, 200], dtype=torch.uint8),
                "b": mk([True, False, True]), "f32": mk([0.5, 2.0, -3.0], dtype=torch.float32),
                "f64": mk([0.25, 1.5, 2.0], dtype=torch.float64), "f64_0d": mk(1.25, dtype=torch.float64),
                "i_0d": mk(3), "f32_0d": mk(2.5, dtype=torch.float32)}
    mk = lambda v, dtype=None: xgrad.tensor(np.asarray(v, dtype=dtype), backend=backend)  # noqa: E731
    return {"i": mk([1, 2, -3]), "i32": mk([1, 2, 3], np.int32), "u8": mk([1, 2, 200], np.uint8),
            "b": mk([True, False, True]), "f32": mk([0.5, 2.0, -3.0], np.float32),
            "f64": mk([0.25, 1.5, 2.0], np.float64), "f64_0d": mk(1.25, np.float64), "i_0d": mk(3),
            "f32_0d": mk(2.5, np.float32)}


EXPRESSIONS = {
    "int / int": lambda o, m: o["i"] / o["i"], "int32 / int32": lambda o, m: o["i32"] / o["i32"],
    "int / 2": lambda o, m: o["i"] / 2, "2 / int": lambda o, m: 2 / o["i"], "bool / bool": lambda o, m: o["b"] / o["i"],
    "int * 1.5": lambda o, m: o["i"] * 1.5, "int + 0.5": lambda o, m: o["i"] + 0.5, "1.5 - int": lambda o, m: 1.5 - o["i"],
    "int32 * 1.5": lambda o, m: o["i32"] * 1.5, "bool * 1.5": lambda o, m: o["b"] * 1.5, "bool + 1": lambda o, m: o["b"] + 1,
    "int ** 2": lambda o, m: o["i"] ** 2, "int ** 0.5": lambda o, m: o["i32"] ** 0.5, "2.0 ** int": lambda o, m: 2.0 ** o["i"],
    "int * float32": lambda o, m: o["i"] * o["f32"], "int32 + float64": lambda o, m: o["i32"] + o["f64"],
    "uint8 + int32": lambda o, m: o["u8"] + o["i32"], "uint8 + 1": lambda o, m: o["u8"] + 1,
    "float32 * float64 0-d": lambda o, m: o["f32"] * o["f64_0d"], "int * float64 0-d": lambda o, m: o["i"] * o["f64_0d"],
    "float32 * int 0-d": lambda o, m: o["f32"] * o["i_0d"], "int 0-d * 1.5": lambda o, m: o["i_0d"] * 1.5,
    "float32 0-d + float64 0-d": lambda o, m: o["f32_0d"] + o["f64_0d"], "float32 / 3": lambda o, m: o["f32"] / 3,
    "maximum(int, float32)": lambda o, m: m.maximum(o["i"], o["f32"]),
    "where(int, 0.5)": lambda o, m: m.where(o["b"], o["i"], 0.5),
    "where(1.0, 0.0)": lambda o, m: m.where(o["b"], 1.0, 0.0), "where(1, 0)": lambda o, m: m.where(o["b"], 1, 0),
    "clip(int, 0.5)": lambda o, m: m.clip(o["i"], min=0.5) if m is xgrad else torch.clamp(o["i"], min=0.5),
    "exp(int)": lambda o, m: m.exp(o["i"]), "sqrt(int32)": lambda o, m: m.sqrt(o["i32"]),
    "tanh(bool)": lambda o, m: m.tanh(o["b"]), "sigmoid(int)": lambda o, m: m.sigmoid(o["i"]),
    "int < 0.5": lambda o, m: o["i"] < 0.5, "int == float32": lambda o, m: o["i"] == o["f32"],
}


@pytest.mark.parametrize("default", ["float32", "float64"])
@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_result_dtypes_follow_torch(name, default, backend):
    xgrad.set_default_dtype(default)
    before = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, default))
    try:
        want = EXPRESSIONS[name](_operands("torch", backend), torch)
    finally:
        torch.set_default_dtype(before)
    got = EXPRESSIONS[name](_operands("xgrad", backend), xgrad)
    assert got.backend == xgrad.get_backend(backend).name
    assert xgrad.get_backend(backend).dtype_name(got.dtype) == str(want.dtype).rsplit(".", 1)[-1], name
    if name.split("(")[0] in ("exp", "sqrt", "tanh", "sigmoid"):  # libraries' exp and tanh differ in the last bit
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=4 * np.finfo(got.numpy().dtype).eps)
    else:  # arithmetic is correctly rounded: the same dtype gives the same bits
        same(got, want, exact=True)


def test_gradient_dtype_with_an_integer_operand(backend):
    x = xgrad.tensor(np.array([0.5, 2.0, -1.0], dtype=np.float32), requires_grad=True, backend=backend)
    i = xgrad.tensor([1, 2, 3], backend=backend)
    xgrad.sum(x * i + x / i + x ** i).backward()
    t = torch.tensor([0.5, 2.0, -1.0], requires_grad=True)
    ti = torch.tensor([1, 2, 3])
    (t * ti + t / ti + t ** ti).sum().backward()
    assert xgrad.get_backend(backend).dtype_name(x.grad.dtype) == "float32"
    same(x.grad, t.grad, exact=True)


def test_mean_of_integers_is_an_error_as_in_torch(backend):
    with pytest.raises(xgrad.DTypeError, match="mean of an integer or bool tensor"):
        xgrad.mean(xgrad.tensor([1, 2, 3], backend=backend))


# ---- bitwise operators ------------------------------------------------------------------------
BITWISE = {
    "i & 0x1337": lambda i, b: i & 0x1337, "i | 4": lambda i, b: i | 4, "i ^ 1": lambda i, b: i ^ 1, "~i": lambda i, b: ~i,
    "3 & i": lambda i, b: 3 & i, "6 | i": lambda i, b: 6 | i, "5 ^ i": lambda i, b: 5 ^ i, "i & i": lambda i, b: i & (i + 3),
    "b & b": lambda i, b: b & ~b, "b | b": lambda i, b: b | b, "b ^ b": lambda i, b: b ^ (i > 0), "~b": lambda i, b: ~b,
    "b & True": lambda i, b: b & True, "b | i": lambda i, b: b | i,
}


@pytest.mark.parametrize("name", list(BITWISE))
def test_bitwise_operators_follow_torch(name, backend):
    values, mask = [0x1337, -5, 12, 0, 255], [True, False, True, True, False]
    got = BITWISE[name](xgrad.tensor(values, backend=backend), xgrad.tensor(mask, backend=backend))
    want = BITWISE[name](torch.tensor(values), torch.tensor(mask))
    assert xgrad.get_backend(backend).dtype_name(got.dtype) == str(want.dtype).rsplit(".", 1)[-1]
    same(got, want, exact=True)


def test_bitwise_functions(backend):
    i = xgrad.tensor([12, 10, -1], backend=backend)
    same(xgrad.bitwise_and(i, 6), np.array([4, 2, 6]), exact=True)
    same(xgrad.bitwise_or(i, 1), np.array([13, 11, -1]), exact=True)
    same(xgrad.bitwise_xor(i, 6), np.array([10, 12, -7]), exact=True)
    same(xgrad.bitwise_invert(i), np.array([-13, -11, 0]), exact=True)


# ---- cross-entropy: PyTorch's class axis 1 ---------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (2, 4, 3, 2), (3,)])
@pytest.mark.parametrize("target", ["labels", "probabilities"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_takes_the_classes_on_axis_1(shape, target, reduction, backend):
    rng = np.random.default_rng(len(shape))
    z = rng.normal(size=shape)
    if target == "labels":
        labels = rng.integers(0, shape[1] if len(shape) > 1 else shape[0], size=shape[:1] + shape[2:] if len(shape) > 1 else ())
        (out, gs), (tout, tgs) = grads(
            lambda x: F.cross_entropy(x, xgrad.tensor(labels, backend=backend), reduction=reduction),
            lambda x: tF.cross_entropy(x, torch.tensor(labels), reduction=reduction), [z], backend,
            v=rng.normal(size=shape[:1] + shape[2:] if len(shape) > 1 and reduction == "none" else ()))
    else:
        p = rng.uniform(0.1, 1.0, size=shape)
        p /= p.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
        (out, gs), (tout, tgs) = grads(
            lambda x, q: F.cross_entropy(x, q, reduction=reduction),
            lambda x, q: tF.cross_entropy(x, q, reduction=reduction), [z, p], backend,
            v=rng.normal(size=shape[:1] + shape[2:] if len(shape) > 1 and reduction == "none" else ()))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-13, atol=1e-15)
    for g, tg in zip(gs, tgs):
        np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-13, atol=1e-15)


def test_cross_entropy_shape_errors_name_the_class_axis(backend):
    z = xgrad.tensor(np.zeros((2, 3, 5)), dtype="float64", backend=backend)
    with pytest.raises(xgrad.ShapeError, match=r"\(2, 3\).*\(2, 3, 5\).*axis 1"):
        F.cross_entropy(z, xgrad.tensor(np.zeros((2, 3), dtype=np.int64), backend=backend))
    with pytest.raises(xgrad.ShapeError, match=r"\(2, 5, 3\).*\(2, 3, 5\)"):
        F.cross_entropy(z, xgrad.tensor(np.zeros((2, 5, 3)), dtype="float64", backend=backend))


# ---- losses compare input and target element by element ----------------------------------------
@pytest.mark.parametrize("loss", [F.mse_loss, F.binary_cross_entropy_with_logits], ids=["mse_loss", "bce_with_logits"])
def test_losses_refuse_targets_of_another_shape(loss, backend):
    # PyTorch broadcasts them with a warning for mse_loss and refuses for the BCE losses; xgrad refuses both
    x = xgrad.tensor(np.zeros((2, 1)), dtype="float64", requires_grad=True, backend=backend)
    y = xgrad.tensor(np.zeros(2), dtype="float64", backend=backend)
    with pytest.raises(xgrad.ShapeError, match=r"target shape \(2,\) differs from input shape \(2, 1\)") as info:
        loss(x, y)
    assert isinstance(info.value, ValueError) and "(2, 2)" in str(info.value)
    y = np.array([[0.25], [1.0]])
    check(loss, getattr(tF, getattr(loss, "name", None) or loss.__name__), [[[0.5], [-1.0]], y], backend)


# ---- indices that mix ints with arrays: PyTorch's shapes ------------------------------------------
def test_the_reported_index_gives_torchs_shape(backend):
    values = np.arange(2 * 3 * 12 * 5 * 4, dtype=np.float64).reshape(2, 3, 12, 5, 4)
    idx = [0, 2, 4]
    x = xgrad.tensor(values, requires_grad=True, backend=backend)
    y = x[1, :, 3:11:2, xgrad.tensor(idx, backend=backend), 0:2]
    t = torch.tensor(values, requires_grad=True)
    ty = t[1, :, 3:11:2, torch.tensor(idx), 0:2]
    assert y.shape == tuple(ty.shape) == (3, 4, 3, 2)  # NumPy's is (3, 3, 4, 2)
    same(y, ty, exact=True)
    v = np.random.default_rng(0).normal(size=y.shape)
    xgrad.sum(y * xgrad.tensor(v, backend=backend)).backward()
    (ty * torch.tensor(v)).sum().backward()
    same(x.grad, t.grad, exact=True)


@pytest.mark.parametrize("form", range(len(_mixed_forms(None, None, None, None))))
def test_mixed_indices_follow_torch(form, backend):
    rng = np.random.default_rng(form)
    values = rng.normal(size=(4, 3, 6, 5))
    arrays = [np.array([0, 2, 1, 2]), np.array([1, 0, 0, 1]), np.array([True, False, True]), np.array(2)]
    index = _mixed_forms(*[xgrad.tensor(a, backend=backend) for a in arrays])[form]
    t_index = _mixed_forms(*[torch.tensor(a) for a in arrays])[form]
    x = xgrad.tensor(values, requires_grad=True, backend=backend)
    t = torch.tensor(values, requires_grad=True)
    y, ty = x[index], t[t_index]
    assert y.shape == tuple(ty.shape)
    same(y, ty, exact=True)
    v = rng.normal(size=y.shape)
    xgrad.sum(y * xgrad.tensor(v, backend=backend)).backward()
    (ty * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-15, atol=1e-15)
