"""Elementwise functions beyond the gradient table: integer and bool inputs, special values (nan, inf,
signed zeros) as the standard and PyTorch give them, result dtypes, clip's bounds at ties, isclose and
allclose, and the Tensor methods."""

import numpy as np
import pytest
import torch

import xgrad

SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 3.0, 1e300])

UNARY = ["acos", "acosh", "asin", "asinh", "atan", "atanh", "tan", "sinh", "cosh", "log2", "log10", "reciprocal",
         "floor", "ceil", "trunc", "round", "sign", "signbit", "isinf", "isnan", "isfinite", "positive", "expm1",
         "log1p", "square", "sqrt", "exp", "log", "abs", "sin", "cos", "tanh"]
BINARY = ["atan2", "copysign", "hypot", "logaddexp", "nextafter", "floor_divide", "maximum", "minimum", "divide"]
# one ulp apart from torch's libm on a few inputs
ULP = {"acosh", "asinh", "atanh"}


def _same(ours, theirs, exact=True):
    """Equal values, nan where the other has nan, and the same sign on zero results."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    if ours.dtype == bool:
        np.testing.assert_array_equal(ours, theirs)
        return
    nan = np.isnan(theirs)
    np.testing.assert_array_equal(np.isnan(ours), nan)
    if exact:
        np.testing.assert_array_equal(ours[~nan], theirs[~nan])
    else:
        np.testing.assert_allclose(ours[~nan], theirs[~nan], rtol=4e-16, atol=0)
    zero = theirs == 0
    np.testing.assert_array_equal(np.signbit(ours[zero]), np.signbit(theirs[zero]))


@pytest.mark.parametrize("name", UNARY)
def test_unary_special_values_match_torch(name, backend):
    with np.errstate(all="ignore"):
        ours = getattr(xgrad, name)(xgrad.tensor(SPECIAL, dtype="float64", backend=backend)).numpy()
    _same(ours, getattr(torch, name)(torch.tensor(SPECIAL)).numpy(), exact=name not in ULP)


@pytest.mark.parametrize("name", BINARY)
def test_binary_special_values_match_torch(name, backend):
    a, b = (v.ravel() for v in np.meshgrid(SPECIAL, SPECIAL))
    with np.errstate(all="ignore"):
        ours = getattr(xgrad, name)(xgrad.tensor(a, dtype="float64", backend=backend),
                                    xgrad.tensor(b, dtype="float64", backend=backend)).numpy()
    theirs = getattr(torch, {"divide": "div"}.get(name, name))(torch.tensor(a), torch.tensor(b)).numpy()
    _same(ours, theirs, exact=name != "atan2")


@pytest.mark.parametrize("backend_name", ["numpy", "array_api_strict"])
def test_remainder_has_the_sign_of_the_divisor_and_the_standards_zeros(backend_name):
    a, b = (v.ravel() for v in np.meshgrid(SPECIAL, SPECIAL))
    with np.errstate(all="ignore"):
        ours = xgrad.remainder(xgrad.tensor(a, dtype="float64", backend=backend_name),
                               xgrad.tensor(b, dtype="float64", backend=backend_name)).numpy()
    finite = np.isfinite(a) & np.isfinite(b) & (b != 0)
    expected = np.array([x % y for x, y in zip(a[finite], b[finite])])  # Python's %
    _same(ours[finite], expected)
    # the standard: -0 % (positive) is +0 (torch.remainder gives -0 there; the torch backend keeps torch's)
    assert not np.signbit(ours[(a == 0) & np.signbit(a) & (b == 1.0)]).any()


def test_round_is_half_to_even_and_takes_decimals_as_torch(backend):
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 1.25, 1.35, -7.45, 1234.5678])
    t = xgrad.tensor(x, dtype="float64", backend=backend)
    _same(xgrad.round(t).numpy(), torch.round(torch.tensor(x)).numpy())
    for decimals in (1, 2, -1, -2):
        _same(xgrad.round(t, decimals=decimals).numpy(), torch.round(torch.tensor(x), decimals=decimals).numpy())
    assert xgrad.round(t).numpy()[3] == 0 and np.signbit(xgrad.round(t).numpy()[3])  # -0.5 -> -0.0


def test_integer_division_shifts_and_logic_match_torch(backend):
    rng = np.random.default_rng(0)
    a = rng.integers(-50, 50, size=40)
    b = rng.integers(1, 9, size=40) * rng.choice([-1, 1], size=40)
    s = rng.integers(0, 6, size=40)
    ta, tb, ts = (torch.tensor(v) for v in (a, b, s))
    xa, xb, xs = (xgrad.tensor(v, backend=backend) for v in (a, b, s))
    for ours, theirs in [(xgrad.floor_divide(xa, xb), torch.floor_divide(ta, tb)),
                         (xgrad.remainder(xa, xb), torch.remainder(ta, tb)),
                         (xgrad.remainder(xa, 7), torch.remainder(ta, 7)),
                         (xgrad.bitwise_left_shift(xa, xs), torch.bitwise_left_shift(ta, ts)),
                         (xgrad.bitwise_right_shift(xa, xs), torch.bitwise_right_shift(ta, ts)),
                         (xgrad.logical_xor(xa > 0, xb > 0), torch.logical_xor(ta > 0, tb > 0)),
                         (xgrad.signbit(xa), torch.signbit(ta)), (xgrad.isinf(xa), torch.isinf(ta))]:
        assert str(ours.dtype).rsplit(".", 1)[-1] == str(theirs.dtype).rsplit(".", 1)[-1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "round", "positive", "conj", "real"])
def test_integer_input_gives_an_integer_copy(name, backend):
    i = xgrad.tensor([3, -2, 7], backend=backend)
    out = getattr(xgrad, name)(i)
    assert str(out.dtype).endswith("int64")
    with xgrad.no_grad():
        out[0] = 100  # a copy: the input is unchanged
    np.testing.assert_array_equal(i.numpy(), [3, -2, 7])


@pytest.mark.parametrize("name", ["acos", "asinh", "tan", "cosh", "log2", "log10", "reciprocal", "atan2", "hypot",
                                  "copysign", "logaddexp"])
def test_floating_functions_of_integers_give_the_default_dtype_as_torch(name, backend):
    i = np.array([1, 0, -1] if name == "acos" else [1, 2, 3])
    args = (i,) if name not in ("atan2", "hypot", "copysign", "logaddexp") else (i, i[::-1].copy())
    ours = getattr(xgrad, name)(*(xgrad.tensor(a, backend=backend) for a in args))
    assert str(ours.dtype).endswith("float32")
    # (torch refuses integers in hypot and logaddexp: given floats there)
    theirs = getattr(torch, name)(*(torch.tensor(a if name not in ("hypot", "logaddexp") else a * 1.0) for a in args))
    np.testing.assert_allclose(ours.numpy(), theirs.float().numpy(), rtol=1e-6)


def test_clip_with_tensor_bounds_at_ties_and_crossed_bounds_matches_torch(backend):
    # ties with each bound, a crossed pair (lo > hi: the result is hi), lo == hi, nan in x
    x = np.array([0.5, 1.0, -1.0, 3.0, -5.0, 0.2, 0.7, np.nan])
    lo = np.array([0.5, 0.0, -1.0, 4.0, 4.0, 0.2, 0.7, 0.0])
    hi = np.array([1.0, 1.0, 0.0, 2.0, 2.0, 0.2, 0.7, 1.0])
    xs = [xgrad.tensor(v, dtype="float64", requires_grad=True, backend=backend) for v in (x, lo, hi)]
    ts = [torch.tensor(v, requires_grad=True) for v in (x, lo, hi)]
    out, tout = xgrad.clip(*xs), torch.clamp(*ts)
    _same(out.detach().numpy(), tout.detach().numpy())
    g = np.arange(1.0, 9.0)
    out.backward(xgrad.tensor(g, dtype="float64", backend=backend))
    tout.backward(torch.tensor(g))
    for a, b in zip(xs, ts):
        _same(a.grad.numpy(), b.grad.numpy())


def test_clip_bounds_changed_in_place_after_the_call(backend):
    """A bound without gradient is taken as it was; one that requires grad is an input: a change is caught."""
    x = xgrad.tensor([0.1, 0.9], dtype="float64", requires_grad=True, backend=backend)
    hi = xgrad.tensor([0.5, 1.0], dtype="float64", backend=backend)
    y = xgrad.clamp(x, max=hi)
    hi.fill_(0.0)
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    hi = xgrad.tensor([0.5, 1.0], dtype="float64", requires_grad=True, backend=backend)
    y = xgrad.clamp(x, max=hi)
    with xgrad.no_grad():
        hi.mul_(0.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_clip_with_number_bounds_keeps_torchs_dtype_and_crossed_bounds(backend):
    i = xgrad.tensor([1, 5, 9], backend=backend)
    assert str(xgrad.clip(i, 2, 6).dtype).endswith("int64")
    np.testing.assert_array_equal(xgrad.clip(i, 2, 6).numpy(), [2, 5, 6])
    np.testing.assert_array_equal(xgrad.clip(i, 6, 2).numpy(), [2, 2, 2])  # min > max: max, as torch
    np.testing.assert_array_equal(xgrad.clip(i, xgrad.tensor([6, 6, 6], backend=backend), 2).numpy(), [2, 2, 2])


def test_isclose_and_allclose_match_torch(backend):
    a = np.array([1.0, 1.0 + 1e-6, 1.0 + 1e-4, np.inf, -np.inf, np.inf, np.nan, 0.0, 1e-9])
    b = np.array([1.0, 1.0, 1.0, np.inf, np.inf, 1e308, np.nan, 1e-9, 0.0])
    xa, xb = (xgrad.tensor(v, dtype="float64", backend=backend) for v in (a, b))
    ta, tb = torch.tensor(a), torch.tensor(b)
    for kw in ({}, {"equal_nan": True}, {"rtol": 1e-3, "atol": 0.0}, {"rtol": 0.0, "atol": 1e-8}):
        np.testing.assert_array_equal(xgrad.isclose(xa, xb, **kw).numpy(), torch.isclose(ta, tb, **kw).numpy())
        assert xgrad.allclose(xa[:2], xb[:2], **kw) == torch.allclose(ta[:2], tb[:2], **kw)
        assert xgrad.allclose(xa, xb, **kw) == torch.allclose(ta, tb, **kw)
    assert xa[:2].allclose(xb[:2]) is True
    np.testing.assert_array_equal(xgrad.isclose(xgrad.tensor([1, 2], backend=backend), 2).numpy(), [False, True])


def test_isclose_is_not_differentiable():
    x = xgrad.tensor([1.0], requires_grad=True)
    assert not xgrad.isclose(x, x).requires_grad


def test_zero_gradient_functions_give_zeros_not_none():
    x = xgrad.tensor([0.3, -1.7], dtype="float64", requires_grad=True)
    for f in (xgrad.floor, xgrad.ceil, xgrad.round, xgrad.trunc, xgrad.sign, lambda t: xgrad.floor_divide(t, 0.5)):
        x.grad = None
        y = f(x)
        assert y.requires_grad  # as torch: the result is part of the graph
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_tensor_methods_of_elementwise_functions():
    x = xgrad.tensor([0.25, -1.5], dtype="float64", requires_grad=True)
    tx = torch.tensor([0.25, -1.5], dtype=torch.float64, requires_grad=True)
    y = x.floor() + x.ceil() + x.round(decimals=1) + x.trunc() + x.sinh() * x.cosh() + x.atan2(x + 2.0) \
        + x.hypot(x) + x.logaddexp(x) + x.clamp(-1.0, 0.0) + x.remainder(0.7) + x.square().reciprocal() + x.arctan()
    ty = tx.floor() + tx.ceil() + tx.round(decimals=1) + tx.trunc() + tx.sinh() * tx.cosh() + tx.atan2(tx + 2.0) \
        + tx.hypot(tx) + tx.logaddexp(tx) + tx.clamp(-1.0, 0.0) + tx.remainder(0.7) + tx.square().reciprocal() \
        + tx.arctan()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-14)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-14)
    z = xgrad.tensor([1 + 2j], dtype="complex128")
    assert z.real.item() == 1.0 and z.imag.item() == 2.0 and z.conj().item() == 1 - 2j
    assert x.signbit().tolist() == [False, True] and x.isinf().tolist() == [False, False]


def test_integer_division_by_zero_is_an_error_as_in_torch(backend):
    i = xgrad.tensor([3, -4], backend=backend)
    for f in (xgrad.floor_divide, xgrad.remainder):
        for divisor in (xgrad.tensor([2, 0], backend=backend), 0):
            with pytest.raises(ZeroDivisionError, match=rf"xgrad\.{f.name}: integer division by zero"):
                f(i, divisor)
    # floating division by zero: the standard's values, as torch's
    x = xgrad.tensor([3.0, -4.0, 0.0], dtype="float64", backend=backend)
    with np.errstate(all="ignore"):
        _same(xgrad.floor_divide(x, 0.0).numpy(),
              torch.floor_divide(torch.tensor([3.0, -4.0, 0.0], dtype=torch.float64), 0.0).numpy())


def test_floordiv_mod_and_shift_operators_match_torch(backend):
    i, s = np.array([7, -7, 12, -1]), np.array([2, 3, 1, 4])
    x = np.array([7.5, -7.5, 0.25, -3.0])
    xi, xs = (xgrad.tensor(v, backend=backend) for v in (i, s))
    xx = xgrad.tensor(x, dtype="float64", backend=backend)
    ti, ts, tx = torch.tensor(i), torch.tensor(s), torch.tensor(x)
    pairs = [(xi // xs, ti // ts), (xi % xs, ti % ts), (xi << xs, ti << ts), (xi >> xs, ti >> ts), (xi // 3, ti // 3),
             (20 // xs, 20 // ts), (20 % xs, 20 % ts), (1 << xs, 1 << ts), (xx // 2.0, tx // 2.0),
             (xx % -2.0, tx % -2.0), (5.0 % xx, 5.0 % tx)]
    for ours, theirs in pairs:
        assert str(ours.dtype).rsplit(".", 1)[-1] == str(theirs.dtype).rsplit(".", 1)[-1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for op in ("__ifloordiv__", "__imod__", "__ilshift__", "__irshift__"):
        ours, theirs = xgrad.tensor(i, backend=backend), torch.tensor(i)
        assert getattr(ours, op)(xs) is ours  # in place: the same tensor
        getattr(theirs, op)(ts)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


STANDARD_ELEMENTWISE = (
    "abs acos acosh add asin asinh atan atan2 atanh bitwise_and bitwise_left_shift bitwise_invert bitwise_or "
    "bitwise_right_shift bitwise_xor ceil clip conj copysign cos cosh divide equal exp expm1 floor floor_divide "
    "greater greater_equal hypot imag isfinite isinf isnan less less_equal log log1p log2 log10 logaddexp "
    "logical_and logical_not logical_or logical_xor maximum minimum multiply negative nextafter not_equal "
    "positive pow real reciprocal remainder round sign signbit sin sinh square sqrt subtract tan tanh trunc").split()


@pytest.mark.parametrize("name", STANDARD_ELEMENTWISE)
def test_every_standard_elementwise_function_takes_its_arguments_positionally(name):
    import inspect

    f = getattr(xgrad, name)
    forward = getattr(f, "forward", f)  # an op: its forward(xp, ...); clip: a function
    params = list(inspect.signature(forward).parameters.values())
    if params and params[0].name == "xp":
        params = params[1:]
    positional = [p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_ONLY]
    expected = ["x"] if name in ("clip",) else None
    if expected is None:
        expected = ["x1", "x2"] if name in ("add", "atan2", "bitwise_and", "bitwise_left_shift", "bitwise_or",
                                           "bitwise_right_shift", "bitwise_xor", "copysign", "divide", "equal",
                                           "floor_divide", "greater", "greater_equal", "hypot", "less",
                                           "less_equal", "logaddexp", "logical_and", "logical_or", "logical_xor",
                                           "maximum", "minimum", "multiply", "nextafter", "not_equal", "pow",
                                           "remainder", "subtract") else ["x"]
    assert positional == expected
