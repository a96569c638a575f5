"""Updating a tensor's array: in place where the backend allows, with a new array otherwise.

Tensor's in-place methods (``add_``, ``+=``, ``t[i] = v``, ...), optimizers, clipping, ``zero_grad``
and ``xgrad.nn.init`` all write through ``update_`` / ``setitem_``, which assign the result back to
``t.data`` either way (so ``xgrad.compile`` sees every write) and note it in the tensor's version
(so backward refuses to use values changed after they were saved).
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Iterable

from . import observe
from .tensor import Tensor, written

__all__ = ["update_", "setitem_", "assign", "zero_grads"]

InPlaceOp = Callable[[Any, Any], Any]


def assign(a: Any, value: Any) -> Any:
    """``a[...] = value``, returning ``a``: plain assignment as an in-place operator, for ``update_``."""
    a[...] = value
    return a


_OUT_OF_PLACE: dict[InPlaceOp, InPlaceOp] = {
    operator.iadd: operator.add, operator.isub: operator.sub, operator.imul: operator.mul,
    operator.itruediv: operator.truediv}


def update_(t: Tensor, op: InPlaceOp, value: Any) -> Tensor:
    """``t.data = op(t.data, value)`` for ``op`` one of ``operator.iadd``, ``isub``, ``imul``,
    ``itruediv`` or ``assign`` (whose ``value`` is a Python scalar or an array of ``t``'s shape).

    The result goes into ``t``'s own array where the backend's arrays are mutable and this one is
    writable (a NumPy broadcast view is not), into a new array otherwise. Either way it is assigned
    back to ``t.data``, as ``t.data -= value`` does, and the write is noted in ``t``'s version, so a
    graph that saved the old values refuses to backward. Returns ``t``."""
    written(t)
    a = t.data
    b = t._backend
    if b.mutable and b.writable(observe.actual(a)):  # not a read-only view, not a NumPy scalar
        result = op(a, value)  # errors (shapes, dtypes) are the caller's
        if result is not a and not (observe.adopts(b, result) and tuple(result.shape) == tuple(a.shape)):
            # e.g. another library's array on the right made a new array: never a silent replacement
            raise TypeError(f"update_: {getattr(op, '__name__', op)} of a {type(a).__name__} of shape "
                            f"{tuple(a.shape)} with a {type(value).__name__} gave a new "
                            f"{type(result).__name__} instead of updating it in place; pass a value of the "
                            f"tensor's backend ({b.name!r}) and a shape that broadcasts to the tensor's")
        t.data = result
        return t
    if op is assign and not b.is_array(value) and not observe.adopts(b, value):
        t.data = b.xp.full_like(a, value)
    elif op is assign:
        t.data = b.xp.astype(b.xp.broadcast_to(value, tuple(a.shape)), a.dtype)
    else:
        t.data = _OUT_OF_PLACE[op](a, value)
    return t


def setitem_(t: Tensor, index: Any, value: Any) -> Tensor:
    """``t[index] = value`` in ``t``'s own array where it is writable, else in a copy that replaces it;
    the write is noted in ``t``'s version."""
    written(t)
    a = t.data
    b = t._backend
    if not (b.mutable and b.writable(observe.actual(a))):
        a = b.xp.asarray(a, copy=True)
    a[index] = value
    t.data = a
    return t


def zero_grads(params: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Drop the gradients of ``params`` (``set_to_none``) or fill them with zeros in place."""
    for p in params:
        g = p.grad
        if g is not None:
            if set_to_none:
                p.grad = None
            else:
                update_(g, assign, 0)
