"""Where tensor hooks live: per tensor, outside the Tensor, so a tensor without hooks pays nothing.

``Tensor.register_hook(fn)`` and ``Tensor.register_post_accumulate_grad_hook(fn)`` add ``fn`` to one of
the two tables below, keyed by the tensor's id (a hook dies with its tensor). Backward tests once
per call whether either table holds anything; only then does it look tensors up (``xgrad/autograd.py``
runs the hooks). ``version`` counts registrations and removals, so a compiled replay (``xgrad.compile``)
sees with one comparison that a hook came or went and traces again instead of skipping it.

This module imports nothing from xgrad.
"""

from __future__ import annotations

import functools
import itertools
import threading
import weakref
from typing import Any, Callable

__all__ = ["RemovableHandle", "grad_hooks", "post_accumulate_hooks", "add", "version"]

_lock = threading.Lock()
_keys = itertools.count()

grad_hooks: dict[int, dict] = {}
"""id(tensor) -> {key: fn(grad) -> new grad or None}, in registration order. (By id: a Tensor's ``==``
is elementwise, so it cannot be a weak dictionary key; an entry leaves when its tensor dies.)"""

post_accumulate_hooks: dict[int, dict] = {}
"""id(leaf tensor) -> {key: fn(tensor)}, called once its ``.grad`` is final in a backward."""

_alive: dict[int, weakref.ref] = {}  # id(tensor) -> a weak reference whose callback drops its entries


def _died(ref: weakref.ref, key: int) -> None:
    with _lock:
        if _alive.get(key) is ref:
            del _alive[key]
            grad_hooks.pop(key, None)
            post_accumulate_hooks.pop(key, None)

version = 0
"""Bumped by every registration and removal of a tensor hook."""


class RemovableHandle:
    """What a ``register_*hook`` returns: ``handle.remove()`` takes the hook away (also as ``with``)."""

    def __init__(self, table: Any, key: int, owner: Any = None, on_change: Callable[[], None] | None = None):
        self._table = table  # a module's dict of hooks, or one of the two tables above
        self._owner = id(owner) if owner is not None else None  # the tensor's id, for those tables
        self._key = key
        self._on_change = on_change

    def remove(self) -> None:
        """Remove the hook (a second call does nothing)."""
        global version
        with _lock:
            if self._owner is not None:
                table = self._table
                hooks = table.get(self._owner)
                if hooks is not None and self._key in hooks:
                    del hooks[self._key]
                    if not hooks:  # the tensor has no hook left: backward takes its fast path again
                        del table[self._owner]
                version += 1
            else:
                self._table.pop(self._key, None)
        if self._on_change is not None:
            self._on_change()

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def add(table: dict, tensor: Any, fn: Callable[..., Any]) -> RemovableHandle:
    """Register ``fn`` for ``tensor`` in ``table`` (one of the two above); thread-safe."""
    global version
    if not callable(fn):
        raise TypeError(f"a hook must be callable, got {type(fn).__name__}")
    key = next(_keys)
    tid = id(tensor)
    with _lock:
        if tid not in _alive:
            _alive[tid] = weakref.ref(tensor, functools.partial(_died, key=tid))
        hooks = table.get(tid)
        if hooks is None:
            hooks = table[tid] = {}
        hooks[key] = fn
        version += 1
    return RemovableHandle(table, key, owner=tensor)


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
