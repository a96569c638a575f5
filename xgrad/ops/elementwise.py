"""Elementwise ops: arithmetic, transcendental functions, activations, comparisons, where."""

import math as _math

from ._core import op

# ---- arithmetic ------------------------------------------------------------------------------


@op
def add(xp, a, b):
    return a + b


add.defvjp(lambda xp, g, out, a, b: g,
           lambda xp, g, out, a, b: g)


@op
def subtract(xp, a, b):
    return a - b


subtract.defvjp(lambda xp, g, out, a, b: g,
                lambda xp, g, out, a, b: -g)


@op
def multiply(xp, a, b):
    return a * b


multiply.defvjp(lambda xp, g, out, a, b: g * b,
                lambda xp, g, out, a, b: g * a)


@op
def divide(xp, a, b):
    return a / b


divide.defvjp(lambda xp, g, out, a, b: g / b,
              lambda xp, g, out, a, b: -g * out / b)


@op
def negative(xp, a):
    return -a


negative.defvjp(lambda xp, g, out, a: -g)


@op
def pow(xp, a, b):
    return a ** b


# d(a^b)/da = b a^(b-1); d(a^b)/db = a^b log a (the rule for b is only asked when b needs a gradient)
pow.defvjp(lambda xp, g, out, a, b: g * b * a ** (b - 1),
           lambda xp, g, out, a, b: g * out * (_math.log(a) if type(a) in (int, float) else xp.log(a)))


@op
def square(xp, a):
    return a * a


square.defvjp(lambda xp, g, out, a: g * 2 * a)


@op
def exp(xp, a):
    return xp.exp(a)


exp.defvjp(lambda xp, g, out, a: g * out)


@op
def log(xp, a):
    return xp.log(a)


log.defvjp(lambda xp, g, out, a: g / a)


@op
def sqrt(xp, a):
    return xp.sqrt(a)


sqrt.defvjp(lambda xp, g, out, a: g / (2 * out))


@op
def abs(xp, a):
    return xp.abs(a)


abs.defvjp(lambda xp, g, out, a: g * xp.sign(a))


@op
def sin(xp, a):
    return xp.sin(a)


sin.defvjp(lambda xp, g, out, a: g * xp.cos(a))


@op
def cos(xp, a):
    return xp.cos(a)


cos.defvjp(lambda xp, g, out, a: -g * xp.sin(a))


@op
def tanh(xp, a):
    return xp.tanh(a)


tanh.defvjp(lambda xp, g, out, a: g * (1 - out * out))


@op
def log1p(xp, a):
    return xp.log1p(a)


log1p.defvjp(lambda xp, g, out, a: g / (1 + a))


@op
def expm1(xp, a):
    return xp.expm1(a)


expm1.defvjp(lambda xp, g, out, a: g * (out + 1))


# ---- activations -----------------------------------------------------------------------------


def _sigmoid(xp, a):
    # exp(-|a|) never overflows; pick the algebraically equal form that keeps it in (0, 1]
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1 / (1 + e), e / (1 + e))


sigmoid = op(_sigmoid, name="sigmoid")


sigmoid.defvjp(lambda xp, g, out, a: g * out * (1 - out))


@op
def relu(xp, a):
    return xp.where(a > 0, a, 0.0)


relu.defvjp(lambda xp, g, out, a: xp.where(a > 0, g, 0.0))


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
def maximum(xp, a, b):
    return xp.maximum(a, b)


# ties split the gradient evenly, as PyTorch does
maximum.defvjp(lambda xp, g, out, a, b: xp.where(a > b, g, xp.where(a == b, g / 2, 0.0)),
               lambda xp, g, out, a, b: xp.where(b > a, g, xp.where(a == b, g / 2, 0.0)))


@op
def minimum(xp, a, b):
    return xp.minimum(a, b)


minimum.defvjp(lambda xp, g, out, a, b: xp.where(a < b, g, xp.where(a == b, g / 2, 0.0)),
               lambda xp, g, out, a, b: xp.where(b < a, g, xp.where(a == b, g / 2, 0.0)))


@op
def clip(xp, a, min=None, max=None):
    return xp.clip(a, min, max)


def _clip_vjp(xp, g, out, a, min=None, max=None):
    inside = g
    if min is not None:
        inside = xp.where(a >= min, inside, 0.0)
    if max is not None:
        inside = xp.where(a <= max, inside, 0.0)
    return inside


clip.defvjp(_clip_vjp)


@op
def where(xp, condition, a, b):
    return xp.where(condition, a, b)


where.defvjp(None,
             lambda xp, g, out, c, a, b: xp.where(c, g, 0.0),
             lambda xp, g, out, c, a, b: xp.where(c, 0.0, g))


@op
def astype(xp, a, dtype):
    return xp.astype(a, dtype)


astype.defvjp(lambda xp, g, out, a, dtype: xp.astype(g, a.dtype))


# ---- not differentiable: comparisons, sign, constants like an input ---------------------------


sign = op(lambda xp, a: xp.sign(a), name="sign")
equal = op(lambda xp, a, b: a == b, name="equal")
not_equal = op(lambda xp, a, b: a != b, name="not_equal")
less = op(lambda xp, a, b: a < b, name="less")
less_equal = op(lambda xp, a, b: a <= b, name="less_equal")
greater = op(lambda xp, a, b: a > b, name="greater")
greater_equal = op(lambda xp, a, b: a >= b, name="greater_equal")
logical_not = op(lambda xp, a: xp.logical_not(a), name="logical_not")
logical_and = op(lambda xp, a, b: xp.logical_and(a, b), name="logical_and")
logical_or = op(lambda xp, a, b: xp.logical_or(a, b), name="logical_or")
isfinite = op(lambda xp, a: xp.isfinite(a), name="isfinite")
isnan = op(lambda xp, a: xp.isnan(a), name="isnan")
all = op(lambda xp, a, axis=None, keepdims=False: xp.all(a, axis=axis, keepdims=keepdims), name="all")
any = op(lambda xp, a, axis=None, keepdims=False: xp.any(a, axis=axis, keepdims=keepdims), name="any")
zeros_like = op(lambda xp, a, dtype=None: xp.zeros_like(a, dtype=dtype), name="zeros_like")
ones_like = op(lambda xp, a, dtype=None: xp.ones_like(a, dtype=dtype), name="ones_like")
full_like = op(lambda xp, a, fill_value, dtype=None: xp.full_like(a, fill_value, dtype=dtype), name="full_like")
onehot = op(lambda xp, labels, num_classes, dtype: xp.onehot(labels, num_classes, dtype), name="onehot")
