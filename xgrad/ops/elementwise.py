"""Elementwise ops: arithmetic, transcendental functions, activations, comparisons, bitwise ops, where.

Result dtypes follow PyTorch's promotion, not the array-API standard's (which leaves mixed kinds
undefined) or NumPy's: an integer or bool tensor with a Python float, and true division or a
floating function (exp, tanh, ...) of integer tensors, give ``xgrad.get_default_dtype()``; an integer
tensor with a float tensor gives that float dtype; a 0-d tensor or a Python number does not widen a
tensor of its own kind (float32 tensor * float64 0-d tensor is float32). The forwards cast their
inputs to that dtype (``_operands``, ``_floating``) where the library would pick another or refuse.
"""

import cmath as _cmath
import math as _math
from typing import Any

from ..creation import get_default_dtype
from ..errors import DTypeError
from ..tensor import Tensor
from ._core import op

# ---- dtypes: PyTorch's promotion rules -------------------------------------------------------

_SCALARS = (bool, int, float)
_INFO: dict = {}  # id(dtype) -> (dtype, name, kind): kind "b", "i", "u", "f", "c" or "?"
_FLOATS: dict = {}  # id(dtype) -> dtype, for the floating dtypes met (a fast test in hot forwards)
_CACHE_LIMIT = 256  # array_api_strict makes a dtype object per array: the caches start over past this


def dtype_info(dtype):
    """``(dtype, name, kind)`` of a dtype of any backend: name like ``"float32"``, kind one of
    ``"b"`` (bool), ``"i"``, ``"u"``, ``"f"``, ``"c"`` (complex) or ``"?"``. By identity, never by
    comparing dtypes of two libraries."""
    found = _INFO.get(id(dtype))
    if found is not None and found[0] is dtype:
        return found
    name = str(dtype).rsplit(".", 1)[-1]
    kind = ("b" if name == "bool" else "u" if name.startswith("uint") else "i" if name.startswith("int")
            else "f" if name in ("float16", "float32", "float64", "bfloat16") else
            "c" if name.startswith("complex") else "?")
    found = (dtype, name, kind)
    if len(_INFO) >= _CACHE_LIMIT:
        _INFO.clear()
        _FLOATS.clear()
    _INFO[id(dtype)] = found  # the cache keeps the dtype alive, so its id is not reused meanwhile
    if kind == "f":
        _FLOATS[id(dtype)] = dtype
    return found


_BITS = {"bool": 1, "int8": 8, "int16": 16, "int32": 32, "int64": 64, "uint8": 8, "uint16": 16,
         "uint32": 32, "uint64": 64, "float16": 16, "bfloat16": 16, "float32": 32, "float64": 64}


def _kind(name):
    return "b" if name == "bool" else "u" if name.startswith("uint") else "i" if name.startswith("int") \
        else "f"


def _promote_names(a, b):
    """torch.promote_types on real dtype names (None: absent)."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    ka, kb = _kind(a), _kind(b)
    if ka == "b":
        return b
    if kb == "b":
        return a
    if ka == "f" and kb == "f":
        if {a, b} == {"float16", "bfloat16"}:
            return "float32"
        return a if _BITS[a] >= _BITS[b] else b
    if ka == "f":
        return a
    if kb == "f":
        return b
    if ka == kb:
        return a if _BITS[a] >= _BITS[b] else b
    unsigned, signed = (a, b) if ka == "u" else (b, a)
    if _BITS[signed] > _BITS[unsigned]:
        return signed
    return f"int{min(2 * _BITS[unsigned], 64)}"


def _combine(higher, lower):
    """torch's combine_categories: a lower tier (0-d tensors, then Python numbers) changes the
    result only when its kind is higher."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    kh = _kind(higher)
    if kh == "f":
        return higher
    if kh == "b" or _kind(lower) == "f":
        return _promote_names(higher, lower)
    return higher


def result_name(*operands, true_divide=False):
    """The name of PyTorch's result dtype for ``operands`` (arrays and Python numbers), or None when
    a complex or unknown dtype is involved (the library decides then)."""
    dims = zeros = wrapped = None
    for x in operands:
        t = type(x)
        if t is bool or t is int or t is float:
            wrapped = _promote_names(wrapped, "bool" if t is bool else "int64" if t is int else get_default_dtype())
        elif x is None:
            continue
        elif hasattr(x, "dtype"):
            _, name, kind = dtype_info(x.dtype)
            if kind in "c?":
                return None
            if x.ndim:
                dims = _promote_names(dims, name)
            else:
                zeros = _promote_names(zeros, name)
        else:
            return None  # complex numbers and the like: the library decides
    name = _combine(dims, _combine(zeros, wrapped))
    if true_divide and name is not None and _kind(name) != "f":
        return get_default_dtype()
    return name


_DTYPES: dict = {}  # id(namespace) -> (namespace, {name: dtype})


def dtype_object(xp, name):
    """The dtype called ``name`` of the library behind ``xp`` (its array-API inspection table)."""
    found = _DTYPES.get(id(xp))
    if found is None or found[0] is not xp:
        found = (xp, dict(xp.__array_namespace_info__().dtypes()))
        if len(_DTYPES) >= _CACHE_LIMIT:  # a namespace per xgrad.compile trace: start over
            _DTYPES.clear()
        _DTYPES[id(xp)] = found
    try:
        return found[1][name]
    except KeyError:
        raise DTypeError(f"xgrad: the result dtype {name} (PyTorch's promotion; the default dtype is "
                         f"{get_default_dtype()}) is not a dtype this backend's library offers; cast the "
                         "inputs explicitly with .to(dtype)") from None


def _cast(xp, x, name):
    """``x`` (an array or a Python number) as an operand of dtype ``name``."""
    t = type(x)
    if t is bool:
        return x if name == "bool" else float(x) if _kind(name) == "f" else int(x)
    if t is int or t is float or x is None:
        return x
    if dtype_info(x.dtype)[1] == name:
        return x
    return xp.astype(x, dtype_object(xp, name))


def _promote(xp, operands, true_divide=False):
    name = result_name(*operands, true_divide=true_divide)
    if name is None:
        return operands
    return tuple(_cast(xp, x, name) for x in operands)


_NUMBERS = (bool, int, float, complex)


def _operands(xp, a, b):
    """``a`` and ``b`` cast to PyTorch's result dtype where the library would pick another one (or
    refuse to mix them, as array-api-strict does). Cheap when nothing needs casting."""
    ta, tb = type(a), type(b)
    if ta is float or ta is int:
        if tb in _NUMBERS or id(b.dtype) in _FLOATS or (ta is int and dtype_info(b.dtype)[2] in "iu"):
            return a, b
    elif tb is float or tb is int:
        if ta in _NUMBERS or id(a.dtype) in _FLOATS or (tb is int and dtype_info(a.dtype)[2] in "iu"):
            return a, b
    elif ta not in _NUMBERS and tb not in _NUMBERS and a.dtype is b.dtype:
        return a, b
    return _promote(xp, (a, b))


def _quotient_operands(xp, a, b):
    """Like ``_operands``, for true division: integer and bool inputs give the default float dtype."""
    ta, tb = type(a), type(b)
    if ta is float or ta is int:
        if tb in _NUMBERS or id(b.dtype) in _FLOATS:
            return a, b
    elif tb is float or tb is int:
        if ta in _NUMBERS or id(a.dtype) in _FLOATS:
            return a, b
    elif ta not in _NUMBERS and tb not in _NUMBERS and a.dtype is b.dtype and id(a.dtype) in _FLOATS:
        return a, b
    return _promote(xp, (a, b), true_divide=True)


def _floating(xp, a):
    """``a`` itself when it is floating (or complex); integer and bool arrays as the default float
    dtype, as PyTorch's floating functions (exp, tanh, ...) take them."""
    if type(a) in _NUMBERS or dtype_info(a.dtype)[2] not in "biu":
        return a
    return xp.astype(a, dtype_object(xp, get_default_dtype()))


def _like(xp, x, g):
    """An operand ``x`` of a VJP rule in ``g``'s dtype (integer operands are cast: a float32
    gradient times an int64 tensor stays float32, as in PyTorch)."""
    if type(x) in _NUMBERS or x.dtype is g.dtype:
        return x
    return xp.astype(x, g.dtype)


# ---- complex gradients -------------------------------------------------------------------------
# PyTorch's convention: the gradient of a real loss L with respect to a complex z is dL/dRe z + i dL/dIm z
# (twice the conjugate Wirtinger derivative), so a holomorphic f's rule is g * conj(f'(z)), and a real
# input that meets complex values gets the real part of its gradient. For real arrays these cost a test.


def _conj(xp, x):
    """conj(x) for a complex array or number; ``x`` itself when it is real."""
    t = type(x)
    if t is complex:
        return x.conjugate()
    if t in _SCALARS or id(x.dtype) in _FLOATS or dtype_info(x.dtype)[2] != "c":
        return x
    return xp.conj(x)


def _real_for(xp, grad, x):
    """``grad`` as the gradient of input ``x``: its real part where ``x`` is real and ``grad`` complex."""
    if type(x) in _NUMBERS or grad.dtype is x.dtype or id(grad.dtype) in _FLOATS:
        return grad
    if dtype_info(grad.dtype)[2] == "c" and dtype_info(x.dtype)[2] != "c":
        return xp.real(grad)
    return grad


def is_complex(x):
    """Whether ``x`` is a complex array (or Tensor, or Python complex number)."""
    if type(x) is complex:
        return True
    return type(x) not in _SCALARS and x is not None and dtype_info(x.dtype)[2] == "c"


# ---- arithmetic ------------------------------------------------------------------------------
# The forwards test inline (a call costs as much as the test) whether their operands may need a cast:
# a float array with a Python number, or two arrays of one dtype, need none.


@op
def add(xp, x1, x2, /):
    """x1 + x2, elementwise (broadcast; PyTorch's result dtype)."""
    if (id(getattr(x1, "dtype", None)) not in _FLOATS if type(x2) is float or type(x2) is int
            else getattr(x1, "dtype", None) is not getattr(x2, "dtype", 0)):  # else nothing to cast
        x1, x2 = _operands(xp, x1, x2)
    return x1 + x2


# (each rule tests first whether the gradient is real: then every input is, and the real formula holds)
add.defvjp(lambda xp, g, out, a, b: g if id(g.dtype) in _FLOATS else _real_for(xp, g, a),
           lambda xp, g, out, a, b: g if id(g.dtype) in _FLOATS else _real_for(xp, g, b))


@op
def subtract(xp, x1, x2, /):
    """x1 - x2, elementwise (broadcast; PyTorch's result dtype)."""
    if (id(getattr(x1, "dtype", None)) not in _FLOATS if type(x2) is float or type(x2) is int
            else getattr(x1, "dtype", None) is not getattr(x2, "dtype", 0)):  # else nothing to cast
        x1, x2 = _operands(xp, x1, x2)
    return x1 - x2


subtract.defvjp(lambda xp, g, out, a, b: g if id(g.dtype) in _FLOATS else _real_for(xp, g, a),
                lambda xp, g, out, a, b: -g if id(g.dtype) in _FLOATS else _real_for(xp, -g, b))


@op
def multiply(xp, x1, x2, /):
    """x1 * x2, elementwise (broadcast; PyTorch's result dtype)."""
    if (id(getattr(x1, "dtype", None)) not in _FLOATS if type(x2) is float or type(x2) is int
            else getattr(x1, "dtype", None) is not getattr(x2, "dtype", 0)):  # else nothing to cast
        x1, x2 = _operands(xp, x1, x2)
    return x1 * x2


def _product_grad(xp, g, other, x):
    """g * conj(other), as the gradient of the input ``x`` (complex values)."""
    return _real_for(xp, g * _conj(xp, _like(xp, other, g)), x)


multiply.defvjp(lambda xp, g, out, a, b: g * _like(xp, b, g) if id(g.dtype) in _FLOATS else _product_grad(xp, g, b, a),
                lambda xp, g, out, a, b: g * _like(xp, a, g) if id(g.dtype) in _FLOATS else _product_grad(xp, g, a, b))


@op
def divide(xp, x1, x2, /):
    """x1 / x2, elementwise; integer inputs give the default float dtype, as in PyTorch."""
    if (id(getattr(x1, "dtype", None)) not in _FLOATS if type(x2) is float or type(x2) is int
            else getattr(x1, "dtype", None) is not getattr(x2, "dtype", 0) or id(x1.dtype) not in _FLOATS):
        x1, x2 = _quotient_operands(xp, x1, x2)
    return x1 / x2


divide.defvjp(lambda xp, g, out, a, b: g / _like(xp, b, g) if id(g.dtype) in _FLOATS
              else _real_for(xp, g / _conj(xp, _like(xp, b, g)), a),
              lambda xp, g, out, a, b: -g * out / _like(xp, b, g) if id(g.dtype) in _FLOATS
              else _real_for(xp, -g * _conj(xp, out) / _conj(xp, _like(xp, b, g)), b))


@op
def negative(xp, x, /):
    """-x, elementwise."""
    return -x


negative.defvjp(lambda xp, g, out, a: -g)


def _power(xp, a, b):
    """``a ** b`` as PyTorch computes it for a float tensor and these numbers: by products, sqrt and
    reciprocals (so (-0.0) ** -0.5 is -inf as 1/sqrt(-0.0), not pow's inf), else pow."""
    if type(b) is float or type(b) is int:
        if b == 2:
            return a * a
        if b == 0.5 or b == -0.5 or b == -1 or b == 3 or b == -2:
            if type(a) in _NUMBERS or id(a.dtype) in _FLOATS or dtype_info(a.dtype)[2] == "f":
                if b == 0.5:
                    return xp.sqrt(a)
                if b == -0.5:
                    return 1 / xp.sqrt(a)
                if b == -1:
                    return 1 / a
                return a * a * a if b == 3 else 1 / (a * a)
    return a ** b


@op
def pow(xp, x1, x2, /):
    """x1 ** x2, elementwise. The gradient is 0 where the exponent is 0, and for the exponent where the
    base is 0 and the exponent >= 0 (PyTorch's)."""
    if (id(getattr(x1, "dtype", None)) not in _FLOATS if type(x2) is float or type(x2) is int
            else getattr(x1, "dtype", None) is not getattr(x2, "dtype", 0)):  # else nothing to cast
        x1, x2 = _operands(xp, x1, x2)
    return _power(xp, x1, x2)


def _pow_grad_base(xp, g, out, a, b):
    # PyTorch's: b a^(b-1) (conjugated for complex values), and 0 wherever the exponent is 0 (also at
    # a = 0, where b a^(b-1) is 0 * inf)
    if type(b) in _NUMBERS:
        if b == 0:
            return _real_for(xp, xp.zeros_like(g), a)
        return _real_for(xp, g * _conj(xp, b * _power(xp, a, b - 1)), a)
    b = _like(xp, b, g)
    return _real_for(xp, xp.where(b == 0, 0.0, g * _conj(xp, b * a ** (b - 1))), a)


def _log_of_number(c):
    """log of a Python number with IEEE values instead of math's errors: log 0 = -inf, log(<0) = nan."""
    c = float(c)
    if c > 0:
        return _math.log(c)
    return -_math.inf if c == 0 else _math.nan  # also nan for nan


def _pow_grad_exponent(xp, g, out, a, b):
    # PyTorch's: a^b log a (conjugated for complex values), and 0 where a = 0 and b >= 0 (the limit
    # from a > 0; for a complex b: Re b >= 0 and Im b = 0); a negative real base gives nan (log of a
    # negative number), never an error
    nonneg = xp.logical_and(xp.imag(b) == 0, xp.real(b) >= 0) if is_complex(b) else b >= 0
    if type(a) in _NUMBERS:
        log_a = _cmath.log(a) if type(a) is complex and a != 0 else _log_of_number(a.real if type(a) is complex else a)
        if a == 0:
            return _real_for(xp, g * _conj(xp, xp.where(nonneg, 0.0, out * log_a)), b)
        return _real_for(xp, g * _conj(xp, out * log_a), b)
    a = _like(xp, a, g)
    return _real_for(xp, g * _conj(xp, xp.where(xp.logical_and(a == 0, nonneg), 0.0, out * xp.log(a))), b)


# the rule for b is only asked when b needs a gradient
pow.defvjp(_pow_grad_base, _pow_grad_exponent)


@op
def square(xp, x, /):
    """x * x, elementwise."""
    return x * x


square.defvjp(lambda xp, g, out, a: g * 2 * (a if id(g.dtype) in _FLOATS else _conj(xp, a)))


# ---- floating functions (integer inputs are taken as the default float dtype, as in PyTorch) ------


@op
def exp(xp, x, /):
    """e ** x, elementwise."""
    if id(getattr(x, "dtype", None)) not in _FLOATS:
        x = _floating(xp, x)
    return xp.exp(x)


exp.defvjp(lambda xp, g, out, a: g * (out if id(g.dtype) in _FLOATS else _conj(xp, out)))


@op
def log(xp, x, /):
    """The natural logarithm, elementwise."""
    if id(getattr(x, "dtype", None)) not in _FLOATS:
        x = _floating(xp, x)
    return xp.log(x)


log.defvjp(lambda xp, g, out, a: g / (a if id(g.dtype) in _FLOATS else _conj(xp, a)))


@op
def sqrt(xp, x, /):
    """The square root, elementwise (principal branch for complex x)."""
    if id(getattr(x, "dtype", None)) not in _FLOATS:
        x = _floating(xp, x)
    return xp.sqrt(x)


sqrt.defvjp(lambda xp, g, out, a: g / (2 * (out if id(g.dtype) in _FLOATS else _conj(xp, out))))


def _sign(xp, a):
    # PyTorch's sign(nan) is 0 (the standard's is nan)
    s = xp.sign(a)
    return xp.where(xp.isnan(s), 0.0, s) if id(a.dtype) in _FLOATS or dtype_info(a.dtype)[2] == "f" else s


@op
def abs(xp, x, /):
    """|x|, elementwise (the modulus for complex x; its gradient is g * x / |x|, 0 at 0, as PyTorch)."""
    return xp.abs(x)


abs.defvjp(lambda xp, g, out, a: g * _sign(xp, a))  # complex a: g z/|z|, as PyTorch's sgn


@op
def sin(xp, x, /):
    """The sine, elementwise."""
    if id(getattr(x, "dtype", None)) not in _FLOATS:
        x = _floating(xp, x)
    return xp.sin(x)


sin.defvjp(lambda xp, g, out, a: g * xp.cos(a))


@op
def cos(xp, x, /):
    """The cosine, elementwise."""
    if id(getattr(x, "dtype", None)) not in _FLOATS:
        x = _floating(xp, x)
    return xp.cos(x)


cos.defvjp(lambda xp, g, out, a: -g * xp.sin(a))


@op
def tanh(xp, x, /):
    """The hyperbolic tangent, elementwise."""
    if id(getattr(x, "dtype", None)) not in _FLOATS:
        x = _floating(xp, x)
    return xp.tanh(x)


tanh.defvjp(lambda xp, g, out, a: g * (1 - out * out))


@op
def log1p(xp, x, /):
    """log(1 + x), elementwise, accurate near 0."""
    if id(getattr(x, "dtype", None)) not in _FLOATS:
        x = _floating(xp, x)
    return xp.log1p(x)


log1p.defvjp(lambda xp, g, out, a: g / (1 + a))


@op
def expm1(xp, x, /):
    """e ** x - 1, elementwise, accurate near 0."""
    if id(getattr(x, "dtype", None)) not in _FLOATS:
        x = _floating(xp, x)
    return xp.expm1(x)


expm1.defvjp(lambda xp, g, out, a: g * (out + 1))


# ---- activations -----------------------------------------------------------------------------


def _sigmoid(xp, a):
    # exp(-|a|) never overflows; pick the algebraically equal form that keeps it in (0, 1]
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1 / (1 + e), e / (1 + e))


@op
def sigmoid(xp, a):
    if id(getattr(a, "dtype", None)) not in _FLOATS:
        a = _floating(xp, a)
    return _sigmoid(xp, a)


sigmoid.defvjp(lambda xp, g, out, a: g * out * (1 - out))


@op
def relu(xp, a):
    # PyTorch's: a where a is not negative, so nan stays nan (and -0.0 stays -0.0)
    return xp.where(a < 0, 0, a)


relu.defvjp(lambda xp, g, out, a: xp.where(a <= 0, 0.0, g))


@op
def leaky_relu(xp, a, negative_slope=0.01):
    return xp.where(a > 0, a, a * negative_slope)


leaky_relu.defvjp(lambda xp, g, out, a, negative_slope=0.01: xp.where(a > 0, g, g * negative_slope))

_GELU_C = 0.7978845608028654  # sqrt(2 / pi)


@op
def gelu(xp, a):
    """GELU, tanh form: a/2 (1 + tanh(sqrt(2/pi) (a + 0.044715 a^3))) (PyTorch's approximate='tanh')."""
    return 0.5 * a * (1 + xp.tanh(_GELU_C * (a + 0.044715 * a * a * a)))


def _gelu_vjp(xp, g, out, a):
    t = xp.tanh(_GELU_C * (a + 0.044715 * a * a * a))
    return g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * a * a))


gelu.defvjp(_gelu_vjp)


@op
def softplus(xp, a):
    # log(1 + e^a) = max(a, 0) + log1p(e^-|a|): no overflow for large |a|
    return xp.where(a > 0, a, 0.0) + xp.log1p(xp.exp(-xp.abs(a)))


softplus.defvjp(lambda xp, g, out, a: g * _sigmoid(xp, a))


# ---- two-input selection ---------------------------------------------------------------------


@op
def maximum(xp, x1, x2, /):
    """The larger of x1 and x2, elementwise (nan if either is nan); ties split the gradient evenly."""
    x1, x2 = _operands(xp, x1, x2)
    return xp.maximum(x1, x2)


# as PyTorch: ties split the gradient evenly, and where either input is nan (so is the result) both
# get the full gradient
maximum.defvjp(lambda xp, g, out, a, b: xp.where(a < b, 0.0, xp.where(a == b, g / 2, g)),
               lambda xp, g, out, a, b: xp.where(a > b, 0.0, xp.where(a == b, g / 2, g)))


@op
def minimum(xp, x1, x2, /):
    """The smaller of x1 and x2, elementwise (nan if either is nan); ties split the gradient evenly."""
    x1, x2 = _operands(xp, x1, x2)
    return xp.minimum(x1, x2)


minimum.defvjp(lambda xp, g, out, a, b: xp.where(a > b, 0.0, xp.where(a == b, g / 2, g)),
               lambda xp, g, out, a, b: xp.where(a < b, 0.0, xp.where(a == b, g / 2, g)))


@op(name="clip")
def _clip_numbers(xp, a, min=None, max=None):
    if id(a.dtype) not in _FLOATS and (type(min) in _NUMBERS or type(max) in _NUMBERS):
        name = result_name(a, min, max)
        if name is not None:
            a = _cast(xp, a, name)
    if min is not None and max is not None and type(min) in _NUMBERS and type(max) in _NUMBERS and min > max:
        # PyTorch's clamp is min(max(a, lo), hi): every value is hi (the standard leaves this undefined)
        return xp.clip(xp.clip(a, min, None), None, max)
    return xp.clip(a, min, max)


def _clip_vjp(xp, g, out, a, min=None, max=None):
    # PyTorch's: the gradient passes where min <= a <= max (not at nan)
    inside = g
    if min is not None:
        inside = xp.where(a >= min, inside, 0.0)
    if max is not None:
        inside = xp.where(a <= max, inside, 0.0)
    return inside


_clip_numbers.defvjp(_clip_vjp)


@op(name="clip")
def _clip_arrays(xp, x, lo, hi):
    # PyTorch's clamp with tensor bounds: min(max(x, lo), hi), broadcast together, in the promoted dtype;
    # where lo > hi the result is hi, and a nan anywhere gives nan
    name = result_name(x, lo, hi)
    if name is not None:
        x, lo, hi = _cast(xp, x, name), _cast(xp, lo, name), _cast(xp, hi, name)
    out = x if lo is None else xp.maximum(x, lo)
    return out if hi is None else xp.minimum(out, hi)


def _bounds_like(xp, g, *arrays):
    """The operands in the gradient's (the result's) dtype, so they compare on every backend."""
    return tuple(v if v is None else _like(xp, v, g) for v in arrays)


# PyTorch's clamp_backward_min_max: x gets the gradient where lo <= x <= hi; lo where x < lo (and
# lo < hi); hi where x > hi or hi < lo (there the result is hi whatever x is)
def _clip_grad_x(xp, g, out, x, lo, hi):
    x, lo, hi = _bounds_like(xp, g, x, lo, hi)
    inside = g if lo is None else xp.where(x >= lo, g, 0.0)
    return inside if hi is None else xp.where(x <= hi, inside, 0.0)


def _clip_grad_lo(xp, g, out, x, lo, hi):
    x, lo, hi = _bounds_like(xp, g, x, lo, hi)
    below = x < lo if hi is None else xp.logical_and(x < lo, lo < hi)
    return xp.where(below, g, 0.0)


def _clip_grad_hi(xp, g, out, x, lo, hi):
    x, lo, hi = _bounds_like(xp, g, x, lo, hi)
    above = x > hi if lo is None else xp.logical_or(x > hi, hi < lo)
    return xp.where(above, g, 0.0)


_clip_arrays.defvjp(_clip_grad_x, _clip_grad_lo, _clip_grad_hi)


def clip(x: Any, /, min: Any = None, max: Any = None) -> Tensor:
    """``x`` limited to [min, max] elementwise (PyTorch's ``clamp``). The bounds are numbers, or tensors
    and arrays that broadcast with ``x``; tensor bounds get gradients as in ``torch.clamp``: ``x`` where
    min <= x <= max, ``min`` where x < min, ``max`` where x > max; where min > max the result is max."""
    if type(min) in _NUMBERS_OR_NONE and type(max) in _NUMBERS_OR_NONE:
        return _clip_numbers(x, min=min, max=max)
    return _clip_arrays(x, _taken(min), _taken(max))


def _taken(bound):
    """A tensor bound that needs no gradient as a copy of its array, taken now: an in-place write to it
    after the op does not reach the backward (one that needs a gradient is an input, version-checked)."""
    if type(bound) is Tensor and not bound.requires_grad:
        return bound._backend.xp.asarray(bound.data, copy=True)
    return bound


clamp = clip
_NUMBERS_OR_NONE = (bool, int, float, type(None))


@op
def where(xp, condition, x1, x2, /):
    """``x1`` where ``condition`` is true, ``x2`` elsewhere (arrays or Python numbers, broadcast); the
    gradient goes to the side each entry came from."""
    a, b = x1, x2
    if type(a) in _NUMBERS and type(b) in _NUMBERS:  # PyTorch: floats alone give the default dtype
        name = result_name(a, b)
        if name is not None:
            return xp.where(condition, xp.full_like(condition, a, dtype=dtype_object(xp, name)), b)
    a, b = _operands(xp, a, b)
    return xp.where(condition, a, b)


where.defvjp(None,
             lambda xp, g, out, c, a, b: _real_for(xp, xp.where(c, g, 0.0), a),
             lambda xp, g, out, c, a, b: _real_for(xp, xp.where(c, 0.0, g), b))


@op(name="astype")
def _astype(xp, a, dtype):
    return xp.astype(a, dtype)


_astype.defvjp(lambda xp, g, out, a, dtype: xp.astype(_real_for(xp, g, a), a.dtype))



def astype(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Tensor:
    """``x`` cast to ``dtype`` (an xgrad dtype like ``xgrad.float32``, its name, or a dtype of the
    backend's library), on ``device`` if given. ``copy=False`` returns ``x`` itself where nothing
    changes; otherwise the result is a new tensor. Differentiable: the gradient is cast back."""
    if type(x) is not Tensor:
        x = Tensor(x)
    if device is not None:
        x = x.to(device=device)  # Tensor.to (xgrad/ops/methods.py): moves the gradient back too
    native = x._backend.dtype(dtype)
    if not copy and native == x.data.dtype:
        return x
    return _astype(x, native)


# ---- not differentiable: comparisons, sign, bitwise, constants like an input -------------------


def _compare(f, name, doc):
    def forward(xp, x1, x2, /):
        x1, x2 = _operands(xp, x1, x2)
        return f(x1, x2)
    forward.__name__ = forward.__qualname__ = name
    forward.__doc__ = doc
    return op(forward, name=name)


@op
def sign(xp, x, /):
    """-1, 0 or 1 by the sign of x (x / |x| for complex x), elementwise; sign(nan) is 0, as in PyTorch.
    Zero gradient."""
    return _sign(xp, x)


sign.defvjp(lambda xp, g, out, a: xp.zeros_like(g))  # PyTorch's: zero (and refused for complex inputs)
equal = _compare(lambda a, b: a == b, "equal", "x1 == x2, elementwise: a bool tensor.")
not_equal = _compare(lambda a, b: a != b, "not_equal", "x1 != x2, elementwise: a bool tensor.")
less = _compare(lambda a, b: a < b, "less", "x1 < x2, elementwise: a bool tensor.")
less_equal = _compare(lambda a, b: a <= b, "less_equal", "x1 <= x2, elementwise: a bool tensor.")
greater = _compare(lambda a, b: a > b, "greater", "x1 > x2, elementwise: a bool tensor.")
greater_equal = _compare(lambda a, b: a >= b, "greater_equal", "x1 >= x2, elementwise: a bool tensor.")


@op
def logical_not(xp, x, /):
    """not x, elementwise: a bool tensor."""
    return xp.logical_not(x)


@op
def logical_and(xp, x1, x2, /):
    """x1 and x2, elementwise: a bool tensor."""
    return xp.logical_and(x1, x2)


@op
def logical_or(xp, x1, x2, /):
    """x1 or x2, elementwise: a bool tensor."""
    return xp.logical_or(x1, x2)


# bitwise on integers, logical on bools (the operators &, |, ^, ~ are these, as in PyTorch)
@op
def bitwise_and(xp, x1, x2, /):
    """x1 & x2, elementwise (integer or bool tensors)."""
    return xp.bitwise_and(*_operands(xp, x1, x2))


@op
def bitwise_or(xp, x1, x2, /):
    """x1 | x2, elementwise (integer or bool tensors)."""
    return xp.bitwise_or(*_operands(xp, x1, x2))


@op
def bitwise_xor(xp, x1, x2, /):
    """x1 ^ x2, elementwise (integer or bool tensors)."""
    return xp.bitwise_xor(*_operands(xp, x1, x2))


@op
def bitwise_invert(xp, x, /):
    """~x, elementwise (integer or bool tensors)."""
    return xp.bitwise_invert(x)


@op
def isfinite(xp, x, /):
    """Whether x is finite (not inf, not nan; complex: both parts), elementwise: a bool tensor."""
    return xp.isfinite(x)


@op
def isnan(xp, x, /):
    """Whether x is nan (complex: either part), elementwise: a bool tensor."""
    return xp.isnan(x)


@op
def all(xp, x, /, *, axis=None, keepdims=False):
    """Whether every entry of ``x`` over ``axis`` (all axes when None) is true (not zero)."""
    return xp.all(x, axis=axis, keepdims=keepdims)


@op
def any(xp, x, /, *, axis=None, keepdims=False):
    """Whether some entry of ``x`` over ``axis`` (all axes when None) is true (not zero)."""
    return xp.any(x, axis=axis, keepdims=keepdims)


zeros_like = op(lambda xp, a, dtype=None: xp.zeros_like(a, dtype=dtype), name="zeros_like")
ones_like = op(lambda xp, a, dtype=None: xp.ones_like(a, dtype=dtype), name="ones_like")
full_like = op(lambda xp, a, fill_value, dtype=None: xp.full_like(a, fill_value, dtype=dtype), name="full_like")


@op
def check_labels(xp, labels, num_classes, caller="cross_entropy", what=None):
    """``labels`` to index with: class labels outside [0, num_classes) are an InputError naming
    ``caller`` (indices: ``what`` they index), at once or, where the backend defers checks, at the next
    read of values."""
    return xp.check_labels(labels, num_classes, caller=caller, what=what)


@op
def onehot(xp, labels, num_classes, dtype):
    """``(..., C)`` one-hot rows of integer ``labels``; labels outside [0, C) are an InputError."""
    return xp.onehot(xp.check_labels(labels, num_classes, caller="onehot"), num_classes, dtype)
