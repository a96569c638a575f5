"""Indexing: ``t[...]`` with basic and integer-array indices; its gradient is a scatter-add."""

from ._core import apply, op
from .. import _state


def _unwrap(index, backend):
    """Raw arrays of ``backend`` for Tensor (or other libraries') index arrays, and a trailing Ellipsis
    (array-api-strict wants every axis accounted for; ``x[i]`` and ``x[i, ...]`` are the same)."""
    Tensor = _state.Tensor
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for i in parts:
        if isinstance(i, Tensor):
            i = i.data
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


def getitem(x, index):
    """``x[index]``: basic indices (ints, slices, None, ...) and integer or boolean arrays."""
    return apply(_getitem, (x,), {"index": _unwrap(index, x._backend)})


def index_add(like, index, values):
    """Zeros shaped like ``like`` with ``values`` added at ``[index]`` (repeated indices accumulate)."""
    Tensor = _state.Tensor
    backend = like._backend if isinstance(like, Tensor) else values._backend
    if isinstance(like, Tensor):  # only its shape, dtype and device matter: never a gradient path
        like = like.detach()
    return apply(_index_add, (like, values), {"index": _unwrap(index, backend)})
