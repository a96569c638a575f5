"""Shape ops: reshape, permute_dims, broadcast_to, expand_dims, squeeze, concat, stack."""

from typing import Any, Sequence

from ..tensor import Tensor
from ._core import apply, op


@op
def reshape(xp, a, shape):
    return xp.reshape(a, shape)


reshape.defvjp(lambda xp, g, out, a, shape: xp.reshape(g, a.shape))


@op
def permute_dims(xp, a, axes):
    return xp.permute_dims(a, axes)


def _inverse(axes):
    inv = [0] * len(axes)
    for i, ax in enumerate(axes):
        inv[ax % len(axes)] = i
    return tuple(inv)


permute_dims.defvjp(lambda xp, g, out, a, axes: xp.permute_dims(g, _inverse(axes)))


@op
def broadcast_to(xp, a, shape):
    return xp.broadcast_to(a, shape)


# the engine sums a gradient back to its input's shape, so the rule passes g through
broadcast_to.defvjp(lambda xp, g, out, a, shape: g)


@op
def expand_dims(xp, a, axis=0):
    return xp.expand_dims(a, axis=axis)


expand_dims.defvjp(lambda xp, g, out, a, axis=0: xp.reshape(g, a.shape))


@op
def squeeze(xp, a, axis):
    return xp.squeeze(a, axis=axis)


squeeze.defvjp(lambda xp, g, out, a, axis: xp.reshape(g, a.shape))


@op
def flip(xp, a, axis=None):
    return xp.flip(a, axis=axis)


flip.defvjp(lambda xp, g, out, a, axis=None: xp.flip(g, axis=axis))


def _slice_of(ndim, axis, start, stop):
    return (slice(None),) * (axis % ndim) + (slice(start, stop), Ellipsis)


@op
def _concat(xp, *arrays, axis=0):
    return xp.concat(arrays, axis=axis)


def _concat_vjp(i):
    def rule(xp, g, out, *arrays, axis=0):
        ax = axis % g.ndim
        start = 0
        for a in arrays[:i]:
            start += a.shape[ax]
        return g[_slice_of(g.ndim, ax, start, start + arrays[i].shape[ax])]
    return rule


class _Variadic:
    """Rules for ops taking any number of arrays (concat, stack): one rule built per position."""

    def __init__(self, make):
        self._make = make
        self._rules = {}

    def __getitem__(self, i):
        if i not in self._rules:
            self._rules[i] = self._make(i)
        return self._rules[i]


_concat.vjps = _Variadic(_concat_vjp)


def _check_concat(*arrays, axis=0):
    shapes = [tuple(a.shape) for a in arrays]
    if len({len(s) for s in shapes}) > 1:
        return f"concat needs inputs of one number of dimensions, got shapes {shapes}"
    rest = {s[:axis % len(s)] + s[axis % len(s) + 1:] for s in shapes} if shapes and shapes[0] else set()
    if len(rest) > 1:
        return f"shapes {shapes} must match on every axis except the concatenation axis {axis}"
    return None


_concat.check = _check_concat


@op
def _stack(xp, *arrays, axis=0):
    return xp.stack(arrays, axis=axis)


def _stack_vjp(i):
    def rule(xp, g, out, *arrays, axis=0):
        return g[(slice(None),) * (axis % g.ndim) + (i, Ellipsis)]
    return rule


_stack.vjps = _Variadic(_stack_vjp)
_stack.check = lambda *arrays, axis=0: (
    None if len({tuple(a.shape) for a in arrays}) <= 1 else
    f"stack needs inputs of one shape, got shapes {[tuple(a.shape) for a in arrays]}")


def concat(arrays: Sequence[Any], /, *, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return apply(_concat, tuple(arrays), {"axis": axis})


def stack(arrays: Sequence[Any], /, *, axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    return apply(_stack, tuple(arrays), {"axis": axis})


