"""Tensor hooks: kept on the tensor, counted here, so a backward without hooks pays one test.

``Tensor.register_hook(fn)`` and ``Tensor.register_post_accumulate_grad_hook(fn)`` store ``fn`` in the
tensor's ``_hooks`` slot (left unset, and free, on every tensor without hooks), so a hook lives exactly
as long as its tensor, even when its closure refers to the tensor. ``live`` counts the tensors that have
hooks now; backward tests it once per call and only then looks at tensors' slots (``xgrad/autograd.py``
runs the hooks). ``version`` counts registrations and removals, so a compiled replay
(``xgrad.compile``) sees with one comparison that a hook came or went and traces again instead of
skipping it.

This module imports nothing from xgrad.
"""

from __future__ import annotations

import functools
import itertools
import threading
import weakref
from typing import Any, Callable

__all__ = ["RemovableHandle", "TensorHooks", "add", "add_to", "snapshot", "of", "live", "version"]

# re-entrant: a tensor with hooks that dies while this thread holds the lock (the cyclic collector runs
# at any allocation) calls ``_died``, which takes it again; a plain Lock deadlocked there
_lock = threading.RLock()
_keys = itertools.count()

live = 0
"""How many tensors have at least one hook now (of either kind)."""

live_post = 0
"""How many tensors have at least one post-accumulate hook now."""

version = 0
"""Bumped by every registration and removal of a tensor hook."""

_watch: dict[int, weakref.ref] = {}  # id(state) -> weak reference to the tensor, whose death ends the count


class TensorHooks:
    """What a tensor's ``_hooks`` slot holds: its hooks by kind, in registration order."""

    __slots__ = ("grad", "post", "counts")

    def __init__(self, counts: _Counts) -> None:
        self.grad: dict[int, Callable[..., Any]] = {}
        self.post: dict[int, Callable[..., Any]] = {}
        self.counts = counts  # whether ``live``/``live_post`` count this tensor


class _Counts:
    """The counting state of one tensor's hooks, shared with the weak reference's callback (which must
    not hold the hooks themselves: their closures may hold the tensor)."""

    __slots__ = ("counted", "counted_post")

    def __init__(self) -> None:
        self.counted = False
        self.counted_post = False


def _recount(state: TensorHooks, counts: _Counts) -> None:
    """Bring ``live``/``live_post`` in line with ``state`` (called under the lock)."""
    global live, live_post
    has, has_post = bool(state.grad or state.post), bool(state.post)
    live += has - counts.counted
    live_post += has_post - counts.counted_post
    counts.counted, counts.counted_post = has, has_post


def _died(counts: _Counts, ref: weakref.ref) -> None:
    global live, live_post, version
    with _lock:
        live -= counts.counted
        live_post -= counts.counted_post
        counts.counted = counts.counted_post = False
        _watch.pop(id(ref), None)
        version += 1


def of(tensor: Any) -> TensorHooks | None:
    """The hooks of ``tensor``, or None."""
    return getattr(tensor, "_hooks", None)


class RemovableHandle:
    """What a ``register_*hook`` returns: ``handle.remove()`` takes the hook away (also as ``with``)."""

    def __init__(self, table: dict, key: int, on_change: Callable[[], None] | None = None):
        self._table = table
        self._key = key
        self._on_change = on_change

    def remove(self) -> None:
        """Remove the hook (a second call does nothing)."""
        with _lock:
            self._table.pop(self._key, None)
        if self._on_change is not None:
            self._on_change()

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def add(tensor: Any, kind: str, fn: Callable[..., Any]) -> RemovableHandle:
    """Register ``fn`` as a ``kind`` ("grad" or "post") hook of ``tensor``; thread-safe."""
    global version
    if not callable(fn):
        raise TypeError(f"a hook must be callable, got {type(fn).__name__}")
    key = next(_keys)
    with _lock:
        state = of(tensor)
        if state is None:
            counts = _Counts()
            ref = weakref.ref(tensor, functools.partial(_died, counts))
            _watch[id(ref)] = ref
            state = tensor._hooks = TensorHooks(counts)
        counts = state.counts
        getattr(state, kind)[key] = fn
        _recount(state, counts)
        version += 1

    def changed() -> None:
        global version
        with _lock:
            _recount(state, counts)
            version += 1

    return RemovableHandle(getattr(state, kind), key, on_change=changed)


def add_to(hooks: dict, fn: Callable[..., Any], on_change: Callable[[], None] | None = None) -> RemovableHandle:
    """Register ``fn`` in a plain dict of hooks (a module's); thread-safe."""
    if not callable(fn):
        raise TypeError(f"a hook must be callable, got {type(fn).__name__}")
    key = next(_keys)
    with _lock:
        hooks[key] = fn
    if on_change is not None:
        on_change()
    return RemovableHandle(hooks, key, on_change=on_change)


def snapshot(hooks: dict | None) -> list[Callable[..., Any]]:
    """The hooks of ``hooks`` now, in registration order (a copy: another thread may add or remove)."""
    if not hooks:
        return []
    with _lock:
        return list(hooks.values())
