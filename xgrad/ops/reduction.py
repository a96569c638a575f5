"""Reductions over an axis (or all axes): sum, mean, max, min, var, logsumexp, argmax, argmin."""

import math as _math

from ..errors import DTypeError
from ._core import op
from .elementwise import _FLOATS, dtype_info, dtype_object


def _axes(ndim, axis):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % ndim for a in axis)) if ndim else ()


def _count(shape, axis):
    n = 1
    for a in _axes(len(shape), axis):
        n *= shape[a]
    return n


def _expand(xp, g, shape, axis, keepdims):
    """``g`` (a reduction's gradient) reshaped so it broadcasts against the input's ``shape``."""
    if keepdims or not shape:
        return g
    axes = _axes(len(shape), axis)
    return xp.reshape(g, tuple(1 if i in axes else s for i, s in enumerate(shape)))


@op
def sum(xp, a, axis=None, keepdims=False):
    if id(a.dtype) not in _FLOATS and dtype_info(a.dtype)[2] == "b":
        a = xp.astype(a, dtype_object(xp, "int64"))  # a count, as in PyTorch (array-api-strict refuses bool)
    return xp.sum(a, axis=axis, keepdims=keepdims)


sum.defvjp(lambda xp, g, out, a, axis=None, keepdims=False:
           xp.broadcast_to(_expand(xp, g, a.shape, axis, keepdims), a.shape))


@op
def mean(xp, a, axis=None, keepdims=False):
    if id(a.dtype) not in _FLOATS and dtype_info(a.dtype)[2] in "biu":
        # PyTorch refuses too (NumPy would give float64, array-api-strict refuses)
        raise DTypeError(f"xgrad.mean: the mean of an integer or bool tensor ({dtype_info(a.dtype)[1]}) is not "
                         "defined, as in PyTorch; cast it first, e.g. t.to(xgrad.get_default_dtype())")
    return xp.mean(a, axis=axis, keepdims=keepdims)


mean.defvjp(lambda xp, g, out, a, axis=None, keepdims=False:
            xp.broadcast_to(_expand(xp, g, a.shape, axis, keepdims) / _count(a.shape, axis), a.shape))


def _extreme_vjp(xp, g, out, a, axis=None, keepdims=False):
    # the gradient is shared evenly among the entries that attain the extreme (as torch.amax does)
    hit = xp.astype(a == _expand(xp, out, a.shape, axis, keepdims), a.dtype)
    count = xp.sum(hit, axis=axis, keepdims=True)
    return hit * (_expand(xp, g, a.shape, axis, keepdims) / count)


@op
def max(xp, a, axis=None, keepdims=False):
    return xp.max(a, axis=axis, keepdims=keepdims)


max.defvjp(_extreme_vjp)


@op
def min(xp, a, axis=None, keepdims=False):
    return xp.min(a, axis=axis, keepdims=keepdims)


min.defvjp(_extreme_vjp)


argmax = op(lambda xp, a, axis=None, keepdims=False: xp.argmax(a, axis=axis, keepdims=keepdims), name="argmax")
argmin = op(lambda xp, a, axis=None, keepdims=False: xp.argmin(a, axis=axis, keepdims=keepdims), name="argmin")


@op
def var(xp, a, axis=None, correction=0.0, keepdims=False):
    return xp.var(a, axis=axis, correction=correction, keepdims=keepdims)


def _var_vjp(xp, g, out, a, axis=None, correction=0.0, keepdims=False):
    centred = a - xp.mean(a, axis=axis, keepdims=True)
    dof = _count(a.shape, axis) - correction
    if dof > 0:
        return _expand(xp, g, a.shape, axis, keepdims) * centred * (2 / dof)
    # no degrees of freedom left (one element with correction=1): PyTorch's values, not an error. Over
    # all axes it gives nan where a equals the mean and inf elsewhere; over named axes 2/dof * centred
    # with 2/0 = inf (inf * 0 = nan)
    if axis is None or a.ndim == 0:
        return _expand(xp, g, a.shape, axis, keepdims) * xp.where(centred == 0, _math.nan, xp.full_like(centred, _math.inf))
    return _expand(xp, g, a.shape, axis, keepdims) * centred * (2 / dof if dof else _math.inf)


var.defvjp(_var_vjp)


@op
def logsumexp(xp, a, axis=None, keepdims=False):
    """log(sum(exp(a))) over ``axis``, computed from the shifted values so it never overflows."""
    m = xp.max(a, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0.0)
    s = xp.log(xp.sum(xp.exp(a - m), axis=axis, keepdims=True)) + m
    return s if keepdims else xp.reshape(s, tuple(d for i, d in enumerate(a.shape)
                                                  if i not in _axes(a.ndim, axis)))


logsumexp.defvjp(lambda xp, g, out, a, axis=None, keepdims=False:
                 _expand(xp, g, a.shape, axis, keepdims) * xp.exp(a - _expand(xp, out, a.shape, axis, keepdims)))
