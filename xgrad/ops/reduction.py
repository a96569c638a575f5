"""Reductions over an axis (or all axes): sum, mean, max, min, var, logsumexp, argmax, argmin."""

from ._core import op


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
    return xp.sum(a, axis=axis, keepdims=keepdims)


sum.defvjp(lambda xp, g, out, a, axis=None, keepdims=False:
           xp.broadcast_to(_expand(xp, g, a.shape, axis, keepdims), a.shape))


@op
def mean(xp, a, axis=None, keepdims=False):
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
    return _expand(xp, g, a.shape, axis, keepdims) * centred * (2 / (_count(a.shape, axis) - correction))


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
