"""Shape ops (the standard's manipulation functions): reshape, permute_dims, moveaxis, broadcast_to,
broadcast_arrays, expand_dims, squeeze, flip, roll, repeat, tile, concat, stack, unstack, and diff; and
PyTorch's split and chunk."""

from typing import Any, Sequence

from ..errors import InputError, ShapeError
from ..tensor import Tensor
from ._core import Op, apply, broadcast_shapes, op
from .elementwise import not_equal, subtract
from .indexing import _take_vjp, getitem


@op
def reshape(xp, x, /, shape, *, copy=None):
    """``x`` with a new shape of the same size (one entry may be -1). ``copy=True`` always copies;
    ``copy=False`` never does (an error where a view is impossible); None copies only where needed."""
    return xp.reshape(x, shape) if copy is None else xp.reshape(x, shape, copy=copy)


reshape.defvjp(lambda xp, g, out, x, shape, copy=None: xp.reshape(g, x.shape))


def _check_reshape(x, shape, copy=None):
    size = 1
    for d in x.shape:
        size *= d
    known = 1
    for d in shape:
        known *= d if d != -1 else 1
    if (-1 in shape and (known == 0 or size % known)) or (-1 not in shape and known != size):
        return f"cannot reshape shape {tuple(x.shape)} (size {size}) to {tuple(shape)}"
    if copy is False:
        return (f"copy=False, but the entries of shape {tuple(x.shape)} are not laid out so that a view of shape "
                f"{tuple(shape)} can hold them; leave copy=None to copy where needed")
    return None


reshape.check = _check_reshape


@op
def permute_dims(xp, x, /, axes):
    """``x`` with its axes reordered: axis i of the result is axis ``axes[i]`` of ``x``."""
    return xp.permute_dims(x, axes)


def _inverse(axes):
    inv = [0] * len(axes)
    for i, ax in enumerate(axes):
        inv[ax % len(axes)] = i
    return tuple(inv)


permute_dims.defvjp(lambda xp, g, out, a, axes: xp.permute_dims(g, _inverse(axes)))


@op
def broadcast_to(xp, x, /, shape):
    """``x`` repeated along new leading axes and axes of length 1 to ``shape`` (a read-only view)."""
    return xp.broadcast_to(x, shape)


# the engine sums a gradient back to its input's shape, so the rule passes g through
broadcast_to.defvjp(lambda xp, g, out, a, shape: g)


@op
def expand_dims(xp, x, /, axis=0):
    """``x`` with a new axis of length 1 at ``axis``."""
    return xp.expand_dims(x, axis=axis)


expand_dims.defvjp(lambda xp, g, out, a, axis=0: xp.reshape(g, a.shape))


@op
def squeeze(xp, x, /, axis):
    """``x`` without the axes ``axis`` (an int or a tuple), each of which must have length 1."""
    return xp.squeeze(x, axis=axis)


squeeze.defvjp(lambda xp, g, out, a, axis: xp.reshape(g, a.shape))


@op
def flip(xp, x, /, *, axis=None):
    """``x`` with the order of its entries reversed along ``axis`` (every axis when None)."""
    return xp.flip(x, axis=axis)


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


def concat(arrays: Sequence[Any], /, *, axis: int | None = 0) -> Tensor:
    """Join tensors along an existing axis (``axis=None``: their flattened entries, one after another)."""
    if axis is None:
        arrays, axis = [reshape(a, (-1,)) for a in arrays], 0
    return apply(_concat, tuple(arrays), {"axis": axis})


def stack(arrays: Sequence[Any], /, *, axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    return apply(_stack, tuple(arrays), {"axis": axis})


def _as_tuple(axes):
    return tuple(axes) if isinstance(axes, (tuple, list)) else axes


@op
def _moveaxis(xp, x, source, destination):
    return xp.moveaxis(x, source, destination)


_moveaxis.defvjp(lambda xp, g, out, x, source, destination: xp.moveaxis(g, destination, source))


def moveaxis(x: Any, source: int | tuple[int, ...], destination: int | tuple[int, ...], /) -> Tensor:
    """``x`` with axis ``source`` moved to position ``destination`` (ints, or tuples of one length), the
    other axes in their order."""
    return _moveaxis(x, _as_tuple(source), _as_tuple(destination))


@op
def repeat(xp, x, repeats, /, *, axis=None):
    """Each entry of ``x`` repeated ``repeats`` times (an int, or one count per entry along ``axis``),
    consecutively along ``axis`` (along the flattened ``x`` when None), as ``torch.repeat_interleave``.
    (PyTorch's ``Tensor.repeat`` is ``tile``: so is ``Tensor.repeat`` here.)"""
    return xp.repeat(x, repeats, axis=axis)


def _repeat_vjp(xp, g, out, x, repeats, axis=None):
    flat = x if axis is not None else xp.reshape(x, (-1,))
    ax = 0 if axis is None else axis % x.ndim
    if getattr(repeats, "ndim", 1) == 0:  # a 0-d array: one count for all
        repeats = int(repeats)
    if isinstance(repeats, int):  # each entry became `repeats` neighbours: their gradients add up
        shape = tuple(flat.shape)
        split = shape[:ax] + (shape[ax], repeats) + shape[ax + 1:]
        return xp.reshape(xp.sum(xp.reshape(g, split), axis=ax + 1), x.shape)
    # entry i became repeats[i] neighbours: the result is take(x, [0]*repeats[0] + [1]*repeats[1] + ...)
    # and the gradient is take's, a scatter-add of g to those positions
    positions = xp.repeat(xp.cumulative_sum(xp.ones_like(repeats)) - 1, repeats)
    return xp.reshape(_take_vjp(xp, g, out, flat, positions, axis=ax), x.shape)


repeat.defvjp(_repeat_vjp, None)


@op
def roll(xp, x, /, shift, *, axis=None):
    """``x`` shifted by ``shift`` places along ``axis`` (ints or tuples; over the flattened ``x`` when
    None), entries pushed past the end coming back at the start."""
    return xp.roll(x, shift, axis=axis)


def _negated(shift):
    return tuple(-s for s in shift) if isinstance(shift, (tuple, list)) else -shift


roll.defvjp(lambda xp, g, out, x, shift, axis=None: xp.roll(g, _negated(shift), axis=axis))


@op
def _tile(xp, x, *, repetitions):
    return xp.tile(x, repetitions)


def _tile_vjp(xp, g, out, x, repetitions):
    # with both padded to one length by leading 1s, axis i of the result is repetitions[i] copies of
    # axis i of x, one after another: split it into (copies, length) and add the copies up
    nd = max(len(repetitions), x.ndim)
    reps = (1,) * (nd - len(repetitions)) + repetitions
    shape = (1,) * (nd - x.ndim) + tuple(x.shape)
    split = tuple(d for pair in zip(reps, shape) for d in pair)
    return xp.reshape(xp.sum(xp.reshape(g, split), axis=tuple(range(0, 2 * nd, 2))), x.shape)


_tile.defvjp(_tile_vjp)


def tile(x: Any, repetitions: Sequence[int], /) -> Tensor:
    """``x`` repeated ``repetitions[i]`` times along each axis i, as whole blocks (NumPy's and
    PyTorch's ``tile``; PyTorch's ``Tensor.repeat``)."""
    return _tile(x, repetitions=tuple(int(r) for r in repetitions))


def unstack(x: Tensor, /, *, axis: int = 0) -> tuple[Tensor, ...]:
    """The slices of ``x`` along ``axis``, as a tuple (PyTorch's ``unbind``)."""
    if x.ndim == 0:
        raise ShapeError("xgrad.unstack: the input is 0-d; it has no axis to unstack along")
    lead = (slice(None),) * (axis % x.ndim)
    return tuple(getitem(x, lead + (i,)) for i in range(x.shape[axis]))


def broadcast_arrays(*arrays: Any) -> list[Tensor]:
    """The tensors broadcast to their common shape (read-only views)."""
    shapes = [tuple(a.shape) for a in arrays]
    target = broadcast_shapes(*shapes)
    if target is None:
        raise ShapeError(f"xgrad.broadcast_arrays: shapes {' and '.join(map(str, shapes))} do not broadcast; "
                         "trailing dimensions must match or be 1")
    return [broadcast_to(a, target) for a in arrays]


def diff(x: Tensor, /, *, axis: int = -1, n: int = 1, prepend: Any = None, append: Any = None) -> Tensor:
    """The ``n``-th forward difference ``x[i + 1] - x[i]`` along ``axis``, of ``x`` with ``prepend`` and
    ``append`` joined before and after it along that axis (bool tensors: ``x[i + 1] != x[i]``, as NumPy
    and PyTorch). Gradients flow to ``prepend`` and ``append`` too."""
    if type(n) is not int or n < 0:
        raise InputError(f"xgrad.diff: n must be a non-negative int, got {n!r}")
    if x.ndim == 0:
        raise ShapeError("xgrad.diff: the input is 0-d; it has no axis to difference along")
    if n == 0:  # x itself, without prepend and append (as NumPy and PyTorch)
        return x
    if prepend is not None or append is not None:
        x = concat([p for p in (prepend, x, append) if p is not None], axis=axis)
    lead = (slice(None),) * (axis % x.ndim)
    for _ in range(n):
        if x.shape[axis] == 0:  # nothing left to difference: every further result is empty too
            break
        later, earlier = getitem(x, lead + (slice(1, None),)), getitem(x, lead + (slice(None, -1),))
        x = not_equal(later, earlier) if str(x.dtype).endswith("bool") else subtract(later, earlier)
    return x


def split(tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """PyTorch's ``split``: pieces of ``split_size`` along ``dim`` (the last one may be shorter), or of
    the lengths in ``sections``, which must add up to the axis' length."""
    n = tensor.shape[dim]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0 and n:
            raise InputError(f"xgrad.split: split_size must be positive, got {size}")
        sizes = [min(size, n - start) for start in range(0, n, size)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise InputError(f"xgrad.split: sections {sizes} must be non-negative and add up to {n}, the "
                             f"length of dimension {dim} of shape {tuple(tensor.shape)}")
    lead = (slice(None),) * (dim % tensor.ndim)
    pieces, start = [], 0
    for s in sizes:
        # (an empty piece as [0:0]: some libraries refuse a start at the axis' end)
        pieces.append(getitem(tensor, lead + (slice(start, start + s) if s else slice(0, 0),)))
        start += s
    return tuple(pieces)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """PyTorch's ``chunk``: ``input`` split into pieces of ceil(length / chunks) along ``dim`` (so there
    may be fewer than ``chunks`` of them)."""
    if type(chunks) is not int or chunks <= 0:
        raise InputError(f"xgrad.chunk: chunks must be a positive int, got {chunks!r}")
    n = input.shape[dim]
    return split(input, max(-(-n // chunks), 1), dim)
