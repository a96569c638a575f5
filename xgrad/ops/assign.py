"""``t[index] = value`` on a tensor in a graph: recorded as an out-of-place op, then ``t`` becomes its
result (``record_setitem``). The gradient flows to ``value`` (``g[index]``) and, through the positions
left unchanged, to ``t``'s old value (``g`` with zeros at ``index``), as in PyTorch."""

from __future__ import annotations

from typing import Any

from .. import observe
from ..errors import GraphError
from ..tensor import Tensor, new, written
from ._core import apply, op


@op
def _setitem(xp, a, value, index):
    out = xp.asarray(a, copy=True)
    out[index] = value
    return out


def _zero_at(xp, g, index):
    h = xp.asarray(g, copy=True)
    h[index] = 0
    return h


_setitem.defvjp(lambda xp, g, out, a, value, index: _zero_at(xp, g, index),
                lambda xp, g, out, a, value, index: xp.getitem(g, index))


def recordable(t: Tensor) -> bool:
    """Whether ``t[index] = value`` can be recorded: ``t`` is made by an op that is no view (or is a
    leaf that needs no gradient), and nothing shares its array (no view, no ``detach()``, no earlier
    write: its version was never started), so replacing its array changes no other tensor's values."""
    return (t._version is None and not observe.watching
            and (t._op is None or not getattr(t._op, "views", False))
            and not (t._op is None and t.requires_grad))


def record_setitem(t: Tensor, index: Any, value: Any) -> None:
    """``t[index] = value`` as a graph node: ``t`` becomes the result of ``_setitem`` applied to its old
    value (a new Tensor object holding ``t``'s previous place in the graph). Ops recorded earlier with
    ``t`` as an input see its version bumped, so a backward through them refuses instead of routing
    their gradient into the new value."""
    if not recordable(t):
        raise GraphError(
            f"__setitem__: this write to a tensor of shape {t.shape} would need to be recorded in the "
            "graph, and it cannot be: the tensor shares its array (a view, a detach()ed copy, an earlier "
            "write), is a leaf that requires grad, or xgrad.compile is tracing. Write it out of place "
            "(xgrad.where, xgrad.concat, ...) or clone it first with xgrad.asarray(t, copy=True)")
    old = new(t._data, t._backend)
    old.requires_grad = t.requires_grad
    old._op, old._parents, old._args, old._kw = t._op, t._parents, t._args, t._kw
    if t._op is not None:
        old._seq = t._seq
    written(t)  # ops recorded with `t` as an input refuse to backward from now on
    out = apply(_setitem, (old, value), {"index": index})
    t._data, t.requires_grad = out._data, out.requires_grad
    t._op, t._parents, t._args, t._kw = out._op, out._parents, out._args, out._kw
    if out._op is not None:
        t._seq = out._seq
