"""The rest of the array-API standard's elementwise functions: inverse and hyperbolic trigonometry,
logarithms of other bases, rounding, floor division and remainder, two-argument functions (atan2,
hypot, copysign, logaddexp, nextafter), complex parts, and tests (isinf, signbit, isclose).

Each is an op: the standard's signature, the backend's forward (so every special case of the standard,
nan, inf and signed zeros, comes from the library), and VJP rules that give PyTorch's gradients.
Floating functions of integer tensors give the default float dtype, as in PyTorch. Rounding, sign and
floor division are differentiable with a zero gradient (as ``torch.floor`` and ``torch.div(...,
rounding_mode="floor")``); comparisons and tests return bool tensors and are not differentiable.
"""

import math as _math
from typing import Any

from ..errors import DivisionByZeroError, DTypeError
from ..tensor import Tensor
from ._core import op
from .elementwise import all as _all
from .elementwise import (_FLOATS, _conj, _floating, _like, _operands, _quotient_operands, dtype_info,
                          dtype_object, is_complex, result_name)

_PY_NUMBERS = (bool, int, float, complex)
_LN2 = _math.log(2.0)
_LN10 = _math.log(10.0)


def _float(xp, x):
    """``x`` as a floating array (integer and bool tensors as the default float dtype)."""
    if id(getattr(x, "dtype", None)) not in _FLOATS:
        return _floating(xp, x)
    return x


def _zero(xp, g, out, *args, **kw):
    """The gradient of a piecewise-constant function (floor, round, floor division): zero, as PyTorch."""
    return xp.zeros_like(g)


def _fresh(xp, out, x):
    """``out``, or a copy where the library handed back the input itself (floor of an integer array):
    a result never shares its input's memory unseen."""
    return xp.asarray(out, copy=True) if out is x else out


# ---- trigonometric and hyperbolic ------------------------------------------------------------------


@op
def acos(xp, x, /):
    """The inverse cosine, elementwise."""
    return xp.acos(_float(xp, x))


acos.defvjp(lambda xp, g, out, x: -g / xp.sqrt(1 - x * x))


@op
def asin(xp, x, /):
    """The inverse sine, elementwise."""
    return xp.asin(_float(xp, x))


asin.defvjp(lambda xp, g, out, x: g / xp.sqrt(1 - x * x))


@op
def atan(xp, x, /):
    """The inverse tangent, elementwise."""
    return xp.atan(_float(xp, x))


atan.defvjp(lambda xp, g, out, x: g / (1 + x * x))


@op
def acosh(xp, x, /):
    """The inverse hyperbolic cosine, elementwise."""
    return xp.acosh(_float(xp, x))


acosh.defvjp(lambda xp, g, out, x: g / xp.sqrt(x * x - 1))


@op
def asinh(xp, x, /):
    """The inverse hyperbolic sine, elementwise."""
    return xp.asinh(_float(xp, x))


asinh.defvjp(lambda xp, g, out, x: g / xp.sqrt(x * x + 1))


@op
def atanh(xp, x, /):
    """The inverse hyperbolic tangent, elementwise."""
    return xp.atanh(_float(xp, x))


atanh.defvjp(lambda xp, g, out, x: g / (1 - x * x))


@op
def tan(xp, x, /):
    """The tangent, elementwise."""
    return xp.tan(_float(xp, x))


tan.defvjp(lambda xp, g, out, x: g * (1 + out * out))


@op
def sinh(xp, x, /):
    """The hyperbolic sine, elementwise."""
    return xp.sinh(_float(xp, x))


sinh.defvjp(lambda xp, g, out, x: g * xp.cosh(x))


@op
def cosh(xp, x, /):
    """The hyperbolic cosine, elementwise."""
    return xp.cosh(_float(xp, x))


cosh.defvjp(lambda xp, g, out, x: g * xp.sinh(x))


@op
def atan2(xp, x1, x2, /):
    """The angle of the point (x2, x1), in (-pi, pi], elementwise (the quadrant from both signs)."""
    return xp.atan2(*_quotient_operands(xp, x1, x2))


# PyTorch's: d/dx1 = x2 / (x1^2 + x2^2), d/dx2 = -x1 / (x1^2 + x2^2); 0 at the origin (0/0 there)
def _atan2_denominator(xp, a, b):
    r2 = a * a + b * b
    return xp.where(r2 == 0, xp.ones_like(r2), r2)


atan2.defvjp(lambda xp, g, out, a, b: g * _like(xp, b, g) / _atan2_denominator(xp, a, b),
             lambda xp, g, out, a, b: -g * _like(xp, a, g) / _atan2_denominator(xp, a, b))


@op
def hypot(xp, x1, x2, /):
    """sqrt(x1^2 + x2^2), elementwise, without overflow or underflow in the squares."""
    return xp.hypot(*_quotient_operands(xp, x1, x2))


hypot.defvjp(lambda xp, g, out, a, b: g * _like(xp, a, g) / out,
             lambda xp, g, out, a, b: g * _like(xp, b, g) / out)


# ---- logarithms and exponentials ------------------------------------------------------------------


@op
def log2(xp, x, /):
    """The base-2 logarithm, elementwise."""
    return xp.log2(_float(xp, x))


log2.defvjp(lambda xp, g, out, x: g / (x * _LN2))


@op
def log10(xp, x, /):
    """The base-10 logarithm, elementwise."""
    return xp.log10(_float(xp, x))


log10.defvjp(lambda xp, g, out, x: g / (x * _LN10))


@op
def logaddexp(xp, x1, x2, /):
    """log(exp(x1) + exp(x2)), elementwise, without overflow."""
    return xp.logaddexp(*_quotient_operands(xp, x1, x2))


# PyTorch's: 1 / (1 + exp(x2 - x1)) and 1 / (1 + exp(x1 - x2))
logaddexp.defvjp(lambda xp, g, out, a, b: g / (1 + xp.exp(b - a)),
                 lambda xp, g, out, a, b: g / (1 + xp.exp(a - b)))


@op
def reciprocal(xp, x, /):
    """1 / x, elementwise."""
    return 1 / _float(xp, x)


reciprocal.defvjp(lambda xp, g, out, x: -g * (out * out))


# ---- signs, rounding, division ---------------------------------------------------------------------


@op
def positive(xp, x, /):
    """+x: a copy of x."""
    return xp.asarray(x, copy=True)


positive.defvjp(lambda xp, g, out, x: g)


@op
def copysign(xp, x1, x2, /):
    """|x1| with the sign bit of x2, elementwise."""
    return xp.copysign(*_quotient_operands(xp, x1, x2))


# PyTorch's: the gradient of x1 is copysign(x1, x2) / x1 (so +-1), and 0 where x1 is 0; x2 gets 0
copysign.defvjp(lambda xp, g, out, a, b: g * (xp.sign(a) * xp.sign(out)), _zero)


@op
def floor(xp, x, /):
    """The largest integer <= x, elementwise (integer tensors unchanged). Zero gradient."""
    return _fresh(xp, xp.floor(x), x)


@op
def ceil(xp, x, /):
    """The smallest integer >= x, elementwise (integer tensors unchanged). Zero gradient."""
    return _fresh(xp, xp.ceil(x), x)


@op
def trunc(xp, x, /):
    """x rounded towards zero, elementwise (integer tensors unchanged). Zero gradient."""
    return _fresh(xp, xp.trunc(x), x)


@op
def round(xp, x, /, *, decimals=0):
    """x rounded to the nearest integer, halves to even (complex: each part); with ``decimals`` (as
    ``torch.round``) to that many decimal places, through x * 10**decimals. Zero gradient."""
    if decimals == 0:
        return _fresh(xp, xp.round(x), x)
    if decimals > 0:
        scale = 10.0 ** decimals
        return xp.round(x * scale) / scale
    scale = 10.0 ** -decimals
    return xp.round(x / scale) * scale


for _o in (floor, ceil, trunc, round):
    _o.defvjp(_zero)


def _integer_divisor(xp, name, x1, x2):
    """PyTorch's ZeroDivisionError for an integer division by zero (NumPy would give 0 with a warning,
    the standard leaves it undefined); floating division gives the standard's inf and nan."""
    kinds = [("i" if type(v) is int else "b" if type(v) is bool else "f") if type(v) in _PY_NUMBERS
             else dtype_info(v.dtype)[2] for v in (x1, x2)]
    if not all(k in "biu" for k in kinds):
        return
    if (type(x2) in _PY_NUMBERS and x2 == 0) or (type(x2) not in _PY_NUMBERS and bool(xp.any(x2 == 0))):
        raise DivisionByZeroError(f"xgrad.{name}: integer division by zero (the divisor x2 holds a 0), as "
                                  "PyTorch refuses; use floating tensors for inf/nan results")


@op
def floor_divide(xp, x1, x2, /):
    """floor(x1 / x2), elementwise, as Python's ``//`` (integers stay integers). Zero gradient."""
    x1, x2 = _operands(xp, x1, x2)
    _integer_divisor(xp, "floor_divide", x1, x2)
    return xp.floor_divide(x1, x2)


floor_divide.defvjp(_zero, _zero)


@op
def remainder(xp, x1, x2, /):
    """x1 - floor(x1 / x2) * x2, elementwise: the sign of x2, as Python's ``%`` (and ``torch.remainder``)."""
    x1, x2 = _operands(xp, x1, x2)
    _integer_divisor(xp, "remainder", x1, x2)
    return xp.remainder(x1, x2)


# PyTorch's: 1 for x1 and -floor(x1 / x2) for x2
remainder.defvjp(lambda xp, g, out, a, b: g,
                 lambda xp, g, out, a, b: -g * xp.floor_divide(_like(xp, a, g), _like(xp, b, g)))


@op
def nextafter(xp, x1, x2, /):
    """The next floating-point value after x1 towards x2, elementwise."""
    return xp.nextafter(*_operands(xp, x1, x2))


# PyTorch's: x1 gets the gradient except where x1 == x2 (there the result is x2); x2 gets none
nextafter.defvjp(lambda xp, g, out, a, b: xp.where(a == b, 0.0, g), _zero)


# ---- complex numbers -------------------------------------------------------------------------------


@op
def conj(xp, x, /):
    """The complex conjugate, elementwise (a copy for real tensors)."""
    return xp.conj(x) if is_complex(x) else xp.asarray(x, copy=True)


conj.defvjp(lambda xp, g, out, x: _conj(xp, g))


@op
def real(xp, x, /):
    """The real part, elementwise (a copy for real tensors)."""
    return xp.real(x) if is_complex(x) else xp.asarray(x, copy=True)


# PyTorch's: a real gradient g of Re z is g + 0i for z
real.defvjp(lambda xp, g, out, x: xp.astype(g, x.dtype) if is_complex(x) else g)


@op
def imag(xp, x, /):
    """The imaginary part of a complex tensor, elementwise (PyTorch refuses real tensors, and so does
    xgrad)."""
    if not is_complex(x):
        raise DTypeError(f"xgrad.imag: takes a complex tensor, got {dtype_info(x.dtype)[1] if hasattr(x, 'dtype') else type(x).__name__}; "
                         "a real tensor has no imaginary part (use xgrad.zeros_like for zeros)")
    return xp.imag(x)


# PyTorch's: a real gradient g of Im z is 0 + gi for z
imag.defvjp(lambda xp, g, out, x: xp.astype(g, x.dtype) * 1j)

for _o in (positive, conj, real, imag):
    _o.complex_grad = True
for _o in (real, imag):  # NumPy's real and imag of a complex array are views of it
    _o.views = True


# ---- not differentiable: tests, shifts, logical xor ----------------------------------------------------


@op
def isinf(xp, x, /):
    """Whether x is +inf or -inf (complex: either part), elementwise; a bool tensor."""
    return xp.isinf(x)


@op
def signbit(xp, x, /):
    """Whether the sign bit of x is set (also for -0.0 and nan with the sign bit), elementwise."""
    return xp.signbit(_float(xp, x))


@op
def logical_xor(xp, x1, x2, /):
    """Exactly one of x1 and x2 is true, elementwise; a bool tensor."""
    return xp.logical_xor(x1, x2)


@op
def bitwise_left_shift(xp, x1, x2, /):
    """x1 shifted left by x2 bits, elementwise (integer tensors)."""
    return xp.bitwise_left_shift(*_operands(xp, x1, x2))


@op
def bitwise_right_shift(xp, x1, x2, /):
    """x1 shifted right by x2 bits (arithmetic for signed integers), elementwise (integer tensors)."""
    return xp.bitwise_right_shift(*_operands(xp, x1, x2))


@op(name="isclose")
def _isclose(xp, a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _operands(xp, a, b)
    if not is_complex(a) and not is_complex(b):
        name = result_name(a, b)
        if name is not None and name not in ("float16", "bfloat16", "float32", "float64"):
            a, b = _cast_float(xp, a), _cast_float(xp, b)  # integers: compared as floats, as NumPy does
    if type(a) in _PY_NUMBERS:  # a number beside an array: an array of its dtype
        a = xp.full_like(b, a)
    if type(b) in _PY_NUMBERS:
        b = xp.full_like(a, b)
    close = a == b  # also equal infinities
    finite = xp.logical_and(xp.isfinite(a), xp.isfinite(b))
    fa, fb = xp.where(finite, a, 0), xp.where(finite, b, 0)  # no inf - inf (nor its warning) below
    close = xp.logical_or(close, xp.logical_and(finite, xp.abs(fa - fb) <= atol + rtol * xp.abs(fb)))
    if equal_nan:
        close = xp.logical_or(close, xp.logical_and(xp.isnan(a), xp.isnan(b)))
    return close


def _cast_float(xp, x):
    if type(x) in (bool, int):
        return float(x)
    return xp.astype(x, dtype_object(xp, "float64"))


def isclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """Whether |input - other| <= atol + rtol * |other|, elementwise, as ``torch.isclose`` and
    ``numpy.isclose``; equal infinities are close, nan is close to nan only with ``equal_nan``. A bool
    tensor; not differentiable."""
    return _isclose(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether every element of ``input`` is close to ``other`` (see ``isclose``): a Python bool."""
    return bool(_all(_isclose(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan)))
