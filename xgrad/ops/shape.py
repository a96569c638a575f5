"""Shape ops: reshape, permute_dims, broadcast_to, expand_dims, squeeze, concat, stack."""

from typing import Any, Sequence

from ..tensor import Tensor
from ._core import Op, apply, op


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


class _Join(Op):
    """concat and stack: any number of inputs, each one's gradient a slice of ``g``.

    One call computes every input's gradient (a ``custom`` op), so a backward over N inputs is linear
    in N; per-input rules would each get all N inputs, and concat's would add up the sizes before its
    input each time (quadratic). ``slices(g, arrays, axis)`` gives each input's index into ``g``."""

    __slots__ = ("slices",)
    custom = True

    def __init__(self, name, forward, slices, check):
        super().__init__(name, forward)
        self.__wrapped__ = forward
        self.vjps = ()  # differentiable: recorded in the graph, gradients from rules()
        self.slices = slices
        self.check = check

    def rules(self, xp, g, out, args, kw, needs):
        return [g[s] if need else None for s, need in zip(self.slices(g, args, kw["axis"]), needs)]


def _concat_slices(g, arrays, axis):
    ax = axis % g.ndim
    lead = (slice(None),) * ax
    start = 0
    for a in arrays:
        stop = start + a.shape[ax]
        yield lead + (slice(start, stop), Ellipsis)
        start = stop


def _stack_slices(g, arrays, axis):
    lead = (slice(None),) * (axis % g.ndim)
    return (lead + (i, Ellipsis) for i in range(len(arrays)))


def _check_concat(*arrays, axis=0):
    shapes = [tuple(a.shape) for a in arrays]
    if len({len(s) for s in shapes}) > 1:
        return f"concat needs inputs of one number of dimensions, got shapes {shapes}"
    rest = {s[:axis % len(s)] + s[axis % len(s) + 1:] for s in shapes} if shapes and shapes[0] else set()
    if len(rest) > 1:
        return f"shapes {shapes} must match on every axis except the concatenation axis {axis}"
    return None


def _check_stack(*arrays, axis=0):
    shapes = [tuple(a.shape) for a in arrays]
    return None if len(set(shapes)) <= 1 else f"stack needs inputs of one shape, got shapes {shapes}"


_concat = _Join("concat", lambda xp, *arrays, axis=0: xp.concat(arrays, axis=axis), _concat_slices, _check_concat)
_stack = _Join("stack", lambda xp, *arrays, axis=0: xp.stack(arrays, axis=axis), _stack_slices, _check_stack)


def concat(arrays: Sequence[Any], /, *, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return apply(_concat, tuple(arrays), {"axis": axis})


def stack(arrays: Sequence[Any], /, *, axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    return apply(_stack, tuple(arrays), {"axis": axis})


