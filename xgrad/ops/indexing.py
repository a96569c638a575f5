"""Indexing: ``t[...]`` with basic and integer-array indices (gradient: a scatter-add), take,
take_along_axis, and PyTorch's gather, scatter and scatter_add."""

from typing import Any

from ..errors import DTypeError, InputError, ShapeError
from ..tensor import Tensor, new
from ._core import apply, op
from .elementwise import (add, any as _any, full_like, greater, greater_equal, less, logical_or, ones_like,
                          subtract, where)
from .reduction import cumulative_sum


def _unwrap(index, backend):
    """Raw arrays of ``backend`` for Tensor (or other libraries') index arrays, and a trailing Ellipsis
    (array-api-strict wants every axis accounted for; ``x[i]`` and ``x[i, ...]`` are the same)."""
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for i in parts:
        if isinstance(i, Tensor):  # a copy: an in-place write to the index tensor never reaches backward
            i = i._backend.xp.asarray(i.data, copy=True)
        elif type(i) is list or (hasattr(i, "__array__") and not backend.is_array(i)):
            i = backend.asarray(i)
        out.append(i)
    if all(type(i) in (int, slice) or i is None for i in out):  # basic: say "the other axes in full"
        out.append(Ellipsis)
    return tuple(out)


@op
def _getitem(xp, a, index):
    return xp.getitem(a, index)


_getitem.defvjp(lambda xp, g, out, a, index: xp.index_add(a, index, g))


@op
def _index_add(xp, like, values, index):
    return xp.index_add(like, index, values)


# index_add is linear in its values; its gradient reads the same positions back
_index_add.defvjp(None, lambda xp, g, out, like, values, index: xp.getitem(g, index))


def _is_array(i):
    return not (i is None or i is Ellipsis or type(i) in (int, slice, bool))


def _torch_order(parts):
    """PyTorch's meaning of an index with arrays, as indexings that NumPy and the array-API libraries
    read alike (one or two index tuples, applied in turn); None when ``parts`` already means it.

    PyTorch applies the ints (and 0-d integer tensors), slices and None first, then the arrays at the
    axes that are left; NumPy counts ints as array indices, so ``x[1, :, idx]`` puts the array's axis
    first there and in place in PyTorch. The first tuple has each array replaced by full slices over
    its axes, the second the arrays on the result and full slices elsewhere."""
    if not any(_is_array(i) and not i.ndim and "bool" not in str(i.dtype) for i in parts):
        if not any(type(i) is int or i is None or (type(i) is slice and i != slice(None)) for i in parts):
            return None  # only arrays, full slices and Ellipsis: NumPy's rule is PyTorch's
    else:  # 0-d integer arrays select, as ints
        parts = tuple(int(i) if _is_array(i) and not i.ndim and "bool" not in str(i.dtype) else i for i in parts)
        if not any(_is_array(i) for i in parts):
            return (parts if any(i is Ellipsis for i in parts) else parts + (Ellipsis,)),
    first, second = [], []
    for i in parts:
        if _is_array(i):
            first.extend([slice(None)] * (i.ndim if "bool" in str(i.dtype) else 1))
            second.append(i)
        elif type(i) is int:
            first.append(i)
        elif i is Ellipsis:
            first.append(i)
            second.append(i)
        else:  # a slice or None: applied by the first indexing, the axis is whole in the second
            first.append(i)
            second.append(slice(None))
    if Ellipsis not in first:
        first.append(Ellipsis)
        second.append(Ellipsis)
    return tuple(first), tuple(second)


_BASIC = frozenset((int, slice, bool, type(None), type(Ellipsis)))


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` with PyTorch's meaning: basic indices (ints, slices, None, ...) and integer or
    boolean arrays; where ints (or partial slices, None) mix with arrays, the ints select first and the
    arrays' axes stay where PyTorch puts them (see ``_torch_order``)."""
    parts = _unwrap(index, x._backend)
    for i in parts:
        if type(i) not in _BASIC:
            break
    else:  # no array: NumPy's meaning is PyTorch's
        return apply(_getitem, (x,), {"index": parts})
    steps = _torch_order(parts)
    if steps is None:
        return apply(_getitem, (x,), {"index": parts})
    for step in steps:
        x = apply(_getitem, (x,), {"index": step})
    return x


def index_add(like: Any, index: Any, values: Any) -> Tensor:
    """Zeros shaped like ``like`` with ``values`` added at ``[index]`` (repeated indices accumulate)."""
    backend = like._backend if isinstance(like, Tensor) else values._backend
    if isinstance(like, Tensor):  # only its shape, dtype and device matter: never a gradient path
        like = like.detach()
    return apply(_index_add, (like, values), {"index": _unwrap(index, backend)})


@op
def take_along_axis(xp, x, indices, /, *, axis=-1):
    """The entries of ``x`` at ``indices`` along ``axis`` (``indices`` has ``x``'s number of dimensions);
    the gradient adds up at repeated indices."""
    return xp.take_along_axis(x, indices, axis=axis)


def _take_along_axis_vjp(xp, g, out, a, indices, axis=-1):
    # each picked entry sends its gradient back where it came from, repeats adding up: with the axis
    # moved last, grad[..., c] = sum over picks k of g[..., k] * (indices[..., k] == c)
    ax = axis % a.ndim
    order = tuple(i for i in range(a.ndim) if i != ax) + (ax,)
    back = tuple(order.index(i) for i in range(a.ndim))
    hits = xp.onehot(xp.permute_dims(indices, order), a.shape[ax], g.dtype)  # (..., K, C)
    grad = xp.sum(hits * xp.expand_dims(xp.permute_dims(g, order), axis=-1), axis=-2)
    return xp.permute_dims(grad, back)


take_along_axis.defvjp(_take_along_axis_vjp, None)


@op
def take(xp, x, indices, /, *, axis=None):
    """The entries of ``x`` at the integer ``indices`` along ``axis`` (1-D ``x`` when axis is None); the
    gradient adds up at repeated indices."""
    return xp.take(x, indices, axis=axis)


def _take_vjp(xp, g, out, a, indices, axis=None):
    # the picked entries' gradients go back to their positions, repeats adding up; with the axis moved
    # first, that is index_add along the first axis
    ax = 0 if axis is None else axis % a.ndim
    order = (ax,) + tuple(i for i in range(a.ndim) if i != ax)
    back = tuple(order.index(i) for i in range(a.ndim))
    return xp.permute_dims(xp.index_add(xp.permute_dims(a, order), (indices,), xp.permute_dims(g, order)), back)


take.defvjp(_take_vjp, None)


# ---- PyTorch's gather / scatter along a dimension ----------------------------------------------


def _index_tensor(name, input, index):
    """``index`` as an integer Tensor on ``input``'s backend, checked against ``input`` as PyTorch checks
    it: as many dimensions, no longer than ``input`` on the other dimensions."""
    if type(index) is not Tensor:
        index = new(input._backend.asarray(index), input._backend)
    if index.ndim != input.ndim:
        raise ShapeError(f"xgrad.{name}: index has {index.ndim} dimensions (shape {tuple(index.shape)}) and input "
                         f"{input.ndim} (shape {tuple(input.shape)}); they must have as many")
    if "int" not in str(index.dtype):
        raise DTypeError(f"xgrad.{name}: index must be an integer tensor, got {index.dtype}")
    return index


def _positions(name, input, dim, index, src_shape=None):
    """The positions ``scatter``/``gather`` touch, as one integer tensor per axis shaped like ``index``:
    ``index`` itself along ``dim``, each entry's own coordinate along the others. Out-of-range or
    negative indices are an error (NumPy would wrap negative ones around; PyTorch refuses them)."""
    ax = dim % input.ndim
    for d in range(input.ndim):
        if d != ax and index.shape[d] > input.shape[d] or (src_shape is not None and index.shape[d] > src_shape[d]):
            raise ShapeError(f"xgrad.{name}: index shape {tuple(index.shape)} is larger than input shape "
                             f"{tuple(input.shape)}{'' if src_shape is None else f' or src shape {src_shape}'} "
                             f"in dimension {d}")
    n = input.shape[ax]
    if index.size and bool(_any(logical_or(less(index, 0), greater_equal(index, n)))):
        raise InputError(f"xgrad.{name}: index values must lie in [0, {n}) for dimension {dim} of input shape "
                         f"{tuple(input.shape)}")
    ones = ones_like(index)
    return tuple(index if d == ax else subtract(cumulative_sum(ones, axis=d), 1) for d in range(input.ndim))


def _leading(t, shape):
    """``t``'s leading block of ``shape`` (PyTorch reads only the part of ``input``/``src`` that ``index``
    covers)."""
    if tuple(t.shape) == tuple(shape):
        return t
    return getitem(t, tuple(slice(0, s) for s in shape))


def gather(input: Tensor, dim: int, index: Any) -> Tensor:
    """PyTorch's ``gather``: ``out[i][j] = input[index[i][j]][j]`` for ``dim=0`` (and so on), with
    ``index`` as many-dimensional as ``input`` and no longer than it on the other dimensions. The
    gradient adds up at repeated indices."""
    index = _index_tensor("gather", input, index)
    _positions("gather", input, dim, index)  # the checks
    ax = dim % input.ndim
    shape = tuple(s if d == ax else index.shape[d] for d, s in enumerate(input.shape))
    return take_along_axis(_leading(input, shape), index, axis=ax)


def scatter_add(input: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    """PyTorch's ``scatter_add``: ``input`` with ``src[i][j]`` added at ``[index[i][j]][j]`` for
    ``dim=0`` (and so on); repeated indices add up. Differentiable in ``input`` and ``src``."""
    index = _index_tensor("scatter_add", input, index)
    positions = _positions("scatter_add", input, dim, index, tuple(src.shape))
    return add(input, index_add(input, positions, _leading(src, index.shape)))


def scatter(input: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    """PyTorch's ``scatter``: ``input`` with ``src[i][j]`` (or the number ``src``) written at
    ``[index[i][j]][j]`` for ``dim=0`` (and so on). The gradient reaches ``src`` at the written
    positions and ``input`` everywhere else. Two writes to one position are an error: which one lands
    is unspecified (in PyTorch too); ``scatter_add`` adds them up."""
    index = _index_tensor("scatter", input, index)
    if type(src) is Tensor:
        if src.dtype != input.dtype:
            raise DTypeError(f"xgrad.scatter: src has dtype {src.dtype} and input {input.dtype}; cast one "
                             "(PyTorch refuses the mix too)")
        positions = _positions("scatter", input, dim, index, tuple(src.shape))
        values = _leading(src, index.shape)
    else:
        positions = _positions("scatter", input, dim, index)
        values = full_like(getitem(input.detach(), positions), src)
    written = index_add(input.detach(), positions, ones_like(values))
    if bool(_any(greater(written, 1))):
        raise InputError(f"xgrad.scatter: index (shape {tuple(index.shape)}) writes twice to one position of "
                         f"dimension {dim}; which value would land there is unspecified (in PyTorch too). Use "
                         "scatter_add to add them up")
    return where(greater(written, 0), index_add(input, positions, values), input)
