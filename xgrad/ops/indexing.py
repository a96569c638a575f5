"""Indexing: ``t[...]`` with basic and integer-array indices; its gradient is a scatter-add."""

from ._core import apply, op
from .. import _state


def _unwrap(index):
    Tensor = _state.Tensor
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index.data if isinstance(index, Tensor) else index


@op
def _getitem(xp, a, index):
    return a[index]


_getitem.defvjp(lambda xp, g, out, a, index: xp.index_add(a, index, g))


@op
def _index_add(xp, like, values, index):
    return xp.index_add(like, index, values)


# index_add is linear in its values; its gradient reads the same positions back
_index_add.defvjp(None, lambda xp, g, out, like, values, index: g[index])


def getitem(x, index):
    """``x[index]``: basic indices (ints, slices, None, ...) and integer or boolean arrays."""
    return apply(_getitem, (x,), {"index": _unwrap(index)})


def index_add(like, index, values):
    """Zeros shaped like ``like`` with ``values`` added at ``[index]`` (repeated indices accumulate)."""
    return apply(_index_add, (like, values), {"index": _unwrap(index)})
