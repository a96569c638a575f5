"""Activation functions beyond relu/sigmoid/tanh, as PyTorch computes them, and ``erf``.

Each is one fused op with its VJP written against ``xp``; the formulas (and the sides of each kink
that get the gradient) follow ATen's CPU kernels, so values and gradients agree with torch to rounding.
Branches that ``where`` discards are evaluated on clipped values, so they never overflow.
"""

from ._core import op
from .elementwise import _sigmoid

_SQRT1_2 = 0.7071067811865476  # 1/sqrt(2)
_2_SQRTPI = 1.1283791670955126  # 2/sqrt(pi)
_GELU_ALPHA = _2_SQRTPI * _SQRT1_2 * 0.5  # the normal pdf's 1/sqrt(2 pi)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@op
def erf(xp, a):
    return xp.erf(a)


erf.defvjp(lambda xp, g, out, a: g * (_2_SQRTPI * xp.exp(-(a * a))))


@op
def gelu_erf(xp, a):
    """GELU, exact: a/2 (1 + erf(a/sqrt(2))) (PyTorch's default, ``approximate="none"``)."""
    return a * 0.5 * (1 + xp.erf(a * _SQRT1_2))


def _gelu_erf_vjp(xp, g, out, a):
    cdf = 0.5 * (1 + xp.erf(a * _SQRT1_2))
    pdf = _GELU_ALPHA * xp.exp(a * a * -0.5)
    return g * (cdf + a * pdf)


gelu_erf.defvjp(_gelu_erf_vjp)


@op
def silu(xp, a):
    return a * _sigmoid(xp, a)


def _silu_vjp(xp, g, out, a):
    s = _sigmoid(xp, a)
    return g * (s * (1 + a * (1 - s)))


silu.defvjp(_silu_vjp)


def _negative(xp, a):
    """a where a <= 0, else 0: the argument of the exponential branches (never overflows)."""
    return xp.where(a > 0, 0.0, a)


@op
def elu(xp, a, alpha=1.0, scale=1.0, input_scale=1.0):
    """ATen's elu: scale a for a > 0, alpha scale (exp(input_scale a) - 1) otherwise (selu and celu
    are this with other constants)."""
    return xp.where(a > 0, a * scale, xp.expm1(_negative(xp, a) * input_scale) * (alpha * scale))


def _elu_vjp(xp, g, out, a, alpha=1.0, scale=1.0, input_scale=1.0):
    # ATen's test, a <= 0 for the exponential piece: a NaN input takes the linear one (a finite slope)
    return xp.where(a <= 0, g * (input_scale * alpha * scale) * xp.exp(_negative(xp, a) * input_scale), g * scale)


elu.defvjp(_elu_vjp)


def selu(a):
    return elu(a, alpha=_SELU_ALPHA, scale=_SELU_SCALE)


def celu(a, alpha=1.0):
    return elu(a, alpha=alpha, input_scale=1.0 / alpha)


@op
def softplus_beta(xp, a, beta=1.0, threshold=20.0):
    """PyTorch's softplus: log(1 + exp(beta a)) / beta, and a itself where beta a > threshold."""
    z = a * beta
    return xp.where(z > threshold, a, xp.log1p(xp.exp(xp.where(z > threshold, 0.0, z))) / beta)


def _softplus_vjp(xp, g, out, a, beta=1.0, threshold=20.0):
    z = a * beta
    e = xp.exp(xp.where(z > threshold, 0.0, z))
    return xp.where(z > threshold, g, g * e / (e + 1))


softplus_beta.defvjp(_softplus_vjp)


def _softplus1(xp, a):
    """log(1 + e^a) as torch's mish computes it (no threshold); a large a is returned as a."""
    return xp.where(a > 20.0, a, xp.log1p(xp.exp(xp.where(a > 20.0, 0.0, a))))


@op
def mish(xp, a):
    return a * xp.tanh(_softplus1(xp, a))


def _mish_vjp(xp, g, out, a):
    t = xp.tanh(_softplus1(xp, a))
    return g * (t + a * _sigmoid(xp, a) * (1 - t * t))


mish.defvjp(_mish_vjp)


@op
def hardswish(xp, a):
    return a * xp.clip(a + 3, 0.0, 6.0) / 6


# PyTorch's: 0 at and below -3, 1 at and above 3 (the middle piece's slope only strictly inside)
hardswish.defvjp(lambda xp, g, out, a: xp.where(a <= -3, 0.0, xp.where(a < 3, g * (a / 3 + 0.5), g)))


@op
def hardsigmoid(xp, a):
    return xp.clip(a + 3, 0.0, 6.0) / 6


# PyTorch's backward multiplies by 1/6 rounded to float32 (its kernel's constant), in every dtype
_ONE_SIXTH_F32 = 0.1666666716337204

hardsigmoid.defvjp(lambda xp, g, out, a: xp.where((a > -3) & (a < 3), g * _ONE_SIXTH_F32, 0.0))


@op
def hardtanh(xp, a, min_val=-1.0, max_val=1.0):
    return xp.clip(a, min_val, max_val)


hardtanh.defvjp(lambda xp, g, out, a, min_val=-1.0, max_val=1.0: xp.where((a <= min_val) | (a >= max_val), 0.0, g))


@op
def logsigmoid(xp, a):
    # -log(1 + e^-a) = min(a, 0) - log1p(e^-|a|), ATen's form
    return xp.where(a < 0, a, 0.0) - xp.log1p(xp.exp(-xp.abs(a)))


logsigmoid.defvjp(lambda xp, g, out, a: g * _sigmoid(xp, -a))


@op
def softsign(xp, a):
    return a / (1 + xp.abs(a))


def _softsign_vjp(xp, g, out, a):
    d = 1 + xp.abs(a)
    return g / (d * d)


softsign.defvjp(_softsign_vjp)


@op
def tanhshrink(xp, a):
    return a - xp.tanh(a)


def _tanhshrink_vjp(xp, g, out, a):
    t = xp.tanh(a)
    return g * (t * t)


tanhshrink.defvjp(_tanhshrink_vjp)

__all__ = ["erf", "gelu_erf", "silu", "elu", "selu", "celu", "softplus_beta", "mish", "hardswish", "hardsigmoid",
           "hardtanh", "logsigmoid", "softsign", "tanhshrink"]
