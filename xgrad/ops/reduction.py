"""Reductions over an axis (or all axes): sum, prod, mean, max, min, var, std, logsumexp, argmax, argmin;
and the cumulative ones, cumulative_sum and cumulative_prod. Signatures are the array-API standard's."""

import math as _math
from typing import Any

from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
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


def _dtype(xp, dtype):
    """The library's dtype for a ``dtype=`` argument (a name, an xgrad, NumPy or backend dtype)."""
    return None if dtype is None else dtype_object(xp, dtype_info(dtype)[1])


def _in_dtype(xp, grad, x):
    """A gradient computed in the result's dtype (``dtype=`` given), cast back to the input's."""
    return grad if grad.dtype == x.dtype else xp.astype(grad, x.dtype)


@op
def sum(xp, x, /, *, axis=None, dtype=None, keepdims=False):
    """The sum of ``x`` over ``axis`` (all axes when None), in ``dtype`` if given; bool entries are
    counted in int64, as in PyTorch."""
    if dtype is None:
        if id(x.dtype) not in _FLOATS and dtype_info(x.dtype)[2] == "b":
            x = xp.astype(x, dtype_object(xp, "int64"))  # array-api-strict refuses to sum bools
        return xp.sum(x, axis=axis, keepdims=keepdims)
    return xp.sum(x, axis=axis, dtype=_dtype(xp, dtype), keepdims=keepdims)


def _sum_vjp(xp, g, out, x, axis=None, dtype=None, keepdims=False):
    grad = xp.broadcast_to(_expand(xp, g, x.shape, axis, keepdims), x.shape)
    return grad if dtype is None else _in_dtype(xp, grad, x)


sum.defvjp(_sum_vjp)


@op
def mean(xp, x, /, *, axis=None, keepdims=False):
    """The arithmetic mean of ``x`` over ``axis`` (all axes when None)."""
    if id(x.dtype) not in _FLOATS and dtype_info(x.dtype)[2] in "biu":
        # PyTorch refuses too (NumPy would give float64, array-api-strict refuses)
        raise DTypeError(f"xgrad.mean: the mean of an integer or bool tensor ({dtype_info(x.dtype)[1]}) is not "
                         "defined, as in PyTorch; cast it first, e.g. t.to(xgrad.get_default_dtype())")
    return xp.mean(x, axis=axis, keepdims=keepdims)


mean.defvjp(lambda xp, g, out, a, axis=None, keepdims=False:
            xp.broadcast_to(_expand(xp, g, a.shape, axis, keepdims) / _count(a.shape, axis), a.shape))


def _extreme_vjp(xp, g, out, a, axis=None, keepdims=False):
    # the gradient is shared evenly among the entries that attain the extreme (as torch.amax does)
    hit = xp.astype(a == _expand(xp, out, a.shape, axis, keepdims), a.dtype)
    count = xp.sum(hit, axis=axis, keepdims=True)
    return hit * (_expand(xp, g, a.shape, axis, keepdims) / count)


@op
def max(xp, x, /, *, axis=None, keepdims=False):
    """The largest entry over ``axis``; tied entries share the gradient evenly (as torch.amax)."""
    return xp.max(x, axis=axis, keepdims=keepdims)


max.defvjp(_extreme_vjp)


@op
def min(xp, x, /, *, axis=None, keepdims=False):
    """The smallest entry over ``axis``; tied entries share the gradient evenly (as torch.amin)."""
    return xp.min(x, axis=axis, keepdims=keepdims)


min.defvjp(_extreme_vjp)


@op
def argmax(xp, x, /, *, axis=None, keepdims=False):
    """The index of the largest entry over ``axis`` (of the flattened ``x`` when None); the first one
    among ties. Not differentiable."""
    return xp.argmax(x, axis=axis, keepdims=keepdims)


@op
def argmin(xp, x, /, *, axis=None, keepdims=False):
    """The index of the smallest entry over ``axis`` (of the flattened ``x`` when None); the first one
    among ties. Not differentiable."""
    return xp.argmin(x, axis=axis, keepdims=keepdims)


@op
def var(xp, x, /, *, axis=None, correction=0.0, keepdims=False):
    """The variance over ``axis``: the sum of squared deviations from the mean divided by N - correction
    (0: the population variance, the standard's default; 1: the sample variance, PyTorch's)."""
    return xp.var(x, axis=axis, correction=correction, keepdims=keepdims)


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


@op
def std(xp, x, /, *, axis=None, correction=0.0, keepdims=False):
    """The standard deviation over ``axis``: the square root of ``var`` with the same ``correction``
    (0, the standard's default; PyTorch's ``torch.std`` defaults to 1)."""
    return xp.std(x, axis=axis, correction=correction, keepdims=keepdims)


def _std_vjp(xp, g, out, x, axis=None, correction=0.0, keepdims=False):
    # PyTorch's rule: var's gradient scaled by d sqrt(v)/dv = 1 / (2 std), and 0 where std is 0 (all
    # entries equal: a kink, where PyTorch picks 0); nan stays nan (no degrees of freedom left)
    zero = out == 0
    scaled = xp.where(zero, 0.0, g / (2 * xp.where(zero, 1.0, out)))
    return _var_vjp(xp, scaled, out, x, axis=axis, correction=correction, keepdims=keepdims)


std.defvjp(_std_vjp)


@op
def prod(xp, x, /, *, axis=None, dtype=None, keepdims=False):
    """The product of ``x`` over ``axis`` (all axes when None), in ``dtype`` if given."""
    return xp.prod(x, axis=axis, dtype=_dtype(xp, dtype), keepdims=keepdims)


def _prod_vjp(xp, g, out, x, axis=None, dtype=None, keepdims=False):
    # d prod / d x_i is the product of the other entries, computed without dividing by x_i (which may
    # be 0, once or more): the product of the entries before i times that of those after it, i.e. an
    # exclusive cumulative product from each side, with the reduced axes moved last and flattened
    g = _in_dtype(xp, _expand(xp, g, x.shape, axis, keepdims), x)
    if x.ndim == 0:
        return g
    reduced = _axes(x.ndim, axis)
    order = tuple(i for i in range(x.ndim) if i not in reduced) + reduced
    moved = xp.permute_dims(x, order)
    n = _count(x.shape, axis)
    flat = xp.reshape(moved, moved.shape[:x.ndim - len(reduced)] + (n,))
    left = xp.cumulative_prod(flat, axis=-1, include_initial=True)[..., :-1]
    right = xp.flip(xp.cumulative_prod(xp.flip(flat, axis=-1), axis=-1, include_initial=True)[..., :-1], axis=-1)
    others = xp.permute_dims(xp.reshape(left * right, moved.shape), tuple(order.index(i) for i in range(x.ndim)))
    return g * others


prod.defvjp(_prod_vjp)


def _cumulative_axis(name, x, axis):
    """The axis a cumulative op runs along: ``axis``, which may be left out for 1-D inputs only."""
    if x.ndim == 0:  # the libraries disagree on the result's shape (() or (1,)): refused
        raise ShapeError(f"xgrad.{name}: the input is 0-d; give it an axis first (reshape it to (1,))")
    if axis is None:
        if x.ndim > 1:
            raise ShapeError(f"xgrad.{name}: an input of shape {tuple(x.shape)} has more than one axis; say "
                             "which one to accumulate along with axis=")
        return 0
    return axis % x.ndim


def _along(ndim, axis, index):
    """An index applying ``index`` (a slice) to ``axis`` and taking the other axes whole."""
    return (slice(None),) * axis + (index, Ellipsis)


def _reverse_cumsum(xp, v, axis):
    """``r[i] = sum(v[i:])`` along ``axis``."""
    return xp.flip(xp.cumulative_sum(xp.flip(v, axis=axis), axis=axis), axis=axis)


@op
def cumulative_sum(xp, x, /, *, axis=None, dtype=None, include_initial=False):
    """Running sums along ``axis`` (optional for 1-D ``x``); with ``include_initial`` the first entry is
    the empty sum 0 and the result one longer."""
    _cumulative_axis("cumulative_sum", x, axis)
    return xp.cumulative_sum(x, axis=axis, dtype=_dtype(xp, dtype), include_initial=include_initial)


def _cumsum_vjp(xp, g, out, x, axis=None, dtype=None, include_initial=False):
    ax = _cumulative_axis("cumulative_sum", x, axis)
    if include_initial:  # out[0] is the empty sum: no input reaches it
        g = g[_along(x.ndim, ax, slice(1, None))]
    # x[i] is in every running sum from i on
    return _in_dtype(xp, _reverse_cumsum(xp, g, ax), x)


cumulative_sum.defvjp(_cumsum_vjp)


@op
def cumulative_prod(xp, x, /, *, axis=None, dtype=None, include_initial=False):
    """Running products along ``axis`` (optional for 1-D ``x``); with ``include_initial`` the first entry
    is the empty product 1 and the result one longer."""
    _cumulative_axis("cumulative_prod", x, axis)
    return xp.cumulative_prod(x, axis=axis, dtype=_dtype(xp, dtype), include_initial=include_initial)


def _cumprod_vjp(xp, g, out, x, axis=None, dtype=None, include_initial=False):
    ax = _cumulative_axis("cumulative_prod", x, axis)
    if include_initial:  # out[0] is the empty product: no input reaches it
        g = g[_along(x.ndim, ax, slice(1, None))]
        out = out[_along(x.ndim, ax, slice(1, None))]
    g, out = _in_dtype(xp, g, x), _in_dtype(xp, out, x)
    if isinstance(x, Tensor) and bool(xp.any(x == 0)):  # create_graph: a formula differentiable at zeros
        return _cumprod_vjp_exact(xp, g, x, ax)
    # grad[i] = sum over k >= i of g[k] * (the product of x[:k + 1] without x[i]). Before the first zero
    # that product is out[k] / x[i]; at the first zero z it is prod(x[:z]) * prod(x[z + 1:k + 1]); after
    # it, every such product holds x[z] = 0 (as PyTorch's rule, exact with any number of zeros)
    zeros = xp.cumulative_sum(xp.astype(x == 0, x.dtype), axis=ax)  # zeros among x[:i + 1]
    before = zeros == 0
    first = xp.logical_and(zeros == 1, x == 0)
    lead = xp.cumulative_prod(xp.where(before, x, 1.0), axis=ax)  # at z: prod(x[:z])
    rest = xp.cumulative_prod(xp.where(xp.logical_or(before, first), 1.0, x), axis=ax)  # at k >= z: prod(x[z+1:k+1])
    at_first = xp.where(first, lead * _reverse_cumsum(xp, g * rest, ax), 0.0)
    return xp.where(before, _reverse_cumsum(xp, g * out, ax) / xp.where(before, x, 1.0), at_first)


def _cumprod_vjp_exact(xp, g, x, ax):
    """The gradient as a sum of products that never divides, so its own derivative is right where ``x``
    has zeros (one cumulative product per position: only used under create_graph=True with zeros)."""
    position = xp.cumulative_sum(xp.ones_like(x), axis=ax) - 1
    parts = []
    for i in range(x.shape[ax]):
        without = xp.cumulative_prod(xp.where(position == i, 1.0, x), axis=ax)  # prod of x[:k + 1] but x[i]
        parts.append(xp.sum(xp.where(position >= i, g * without, 0.0), axis=ax))
    return xp.stack(parts, axis=ax)


cumulative_prod.defvjp(_cumprod_vjp)


def cumsum(input: Any, dim: int, *, dtype: Any = None) -> Tensor:
    """PyTorch's ``cumsum``: ``cumulative_sum(input, axis=dim, dtype=dtype)``."""
    return cumulative_sum(input, axis=dim, dtype=dtype)


def cumprod(input: Any, dim: int, *, dtype: Any = None) -> Tensor:
    """PyTorch's ``cumprod``: ``cumulative_prod(input, axis=dim, dtype=dtype)``."""
    return cumulative_prod(input, axis=dim, dtype=dtype)
