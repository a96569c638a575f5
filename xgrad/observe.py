"""Watching the engine work: one observer per thread, off by default.

The engine tells the current thread's observer when a tensor is made, when a tensor's array or
gradient is read or replaced (the observer decides what this thread sees), which array namespace an op, a VJP rule or an update computes
with, when random numbers are drawn, when an array goes to the host, and when library code reads a
hyper-parameter (``static``). ``xgrad.compile`` is such an observer: it needs nothing else
from the engine, and it patches no class and no backend. With no observer anywhere the engine pays
one test of the module integer ``watching`` per hook. Apart from observers, ``nn.Module`` reports
changes to its attributes (``changed``), so a compiled replay knows with one comparison that no
module changed since it was traced.

This module imports nothing from xgrad, so every layer can call it.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Callable

from .errors import TraceError

__all__ = ["Observer", "observing", "current", "namespace", "draw", "to_host", "adopts", "actual", "static", "watching",
           "track", "tracked", "changed", "state_version"]


class Observer:
    """Base class: every hook passes the value through. Subclasses override what they watch."""

    replayed = False  # a recording (xgrad.compile's trace): its array steps run again, its Python does not

    def created(self, tensor: Any) -> None:
        """A Tensor was made (by an op, a creation function, ``detach``, a gradient, ...)."""

    def read(self, tensor: Any, array: Any) -> Any:
        """``tensor.data`` is being read; returns what the reader sees (normally ``array``)."""
        return array

    def write(self, tensor: Any, array: Any) -> None:
        """``tensor.data = array``: store it (the default does what an unobserved write does)."""
        tensor._data = array

    def grad(self, tensor: Any, grad: Any) -> Any:
        """``tensor.grad`` is being read; returns what the reader sees (normally ``grad``)."""
        return grad

    def set_grad(self, tensor: Any, grad: Any) -> None:
        """``tensor.grad = grad`` (a Tensor or None): store it (the default as an unobserved write)."""
        tensor._grad = grad

    def namespace(self, backend: Any) -> Any:
        """The array namespace the engine computes with on ``backend`` (normally its rule namespace)."""
        return backend.rule_namespace

    def random(self, backend: Any, kind: str, args: tuple, kw: dict) -> Any:
        """Random numbers from ``backend.<kind>(*args, **kw)`` (``uniform``, ``normal``, ``permutation``)."""
        return getattr(backend, kind)(*args, **kw)

    def to_host(self, backend: Any, array: Any) -> Any:
        """A host NumPy copy of ``array`` (the values leave the array world: .numpy(), .item(), ...)."""
        return backend.to_numpy(array)

    def adopts(self, backend: Any, obj: Any) -> bool:
        """Whether ``obj``, not an array of ``backend``, still stands for one (xgrad.compile's arrays do)."""
        return False

    def actual(self, obj: Any) -> Any:
        """The array of this run that ``obj`` stands for (``obj`` itself when it is one)."""
        return obj

    def static(self, container: Any, key: Any, value: Any) -> None:
        """Library code read ``container[key] == value`` as a fixed Python value (a learning rate)."""

    def hook(self, what: str, owner: Any) -> None:
        """A user hook (``what``: a tensor hook, a module hook) is about to run on ``owner``."""


_local = threading.local()
_lock = threading.Lock()
watching = 0
"""How many threads have an observer now. Hot paths test this integer before anything else."""


def refuse_while_recorded(what: str, instead: str) -> None:
    """Raise TraceError where ``what``, a Python side effect of xgrad's own (a scheduler's step, a seed),
    runs inside a function being compiled: its replays would skip it and give other numbers."""
    obs = current()
    if obs is not None and obs.replayed:
        raise TraceError(f"{what} inside a function being compiled (xgrad.compile): its replays would skip it "
                         f"and give other numbers than eager code. {instead}")


def current() -> Observer | None:
    """This thread's observer, or None."""
    if not watching:
        return None
    return getattr(_local, "observer", None)


class observing:
    """``with observing(obs):`` the engine reports to ``obs`` in this thread (one observer at a time)."""

    def __init__(self, observer: Observer):
        self.observer = observer

    def __enter__(self) -> Observer:
        global watching
        if getattr(_local, "observer", None) is not None:
            raise RuntimeError("xgrad: this thread is already observed (a compiled function called another "
                               "while tracing?); compile the outer function only")
        _local.observer = self.observer
        with _lock:
            watching += 1
        return self.observer

    def __exit__(self, *exc: Any) -> None:
        global watching
        _local.observer = None
        with _lock:
            watching -= 1


def namespace(backend: Any) -> Any:
    """The namespace to compute with on ``backend``: its rule namespace, or what this thread's observer
    gives instead (``Backend.xp`` asks this)."""
    obs = current()
    return backend.rule_namespace if obs is None else obs.namespace(backend)


def draw(backend: Any, kind: str, *args: Any, **kw: Any) -> Any:
    """Random numbers from the backend's generator: ``draw(b, "uniform", shape, low, high, dtype=...)``."""
    obs = current()
    if obs is None:
        return getattr(backend, kind)(*args, **kw)
    return obs.random(backend, kind, args, kw)


def to_host(backend: Any, array: Any) -> Any:
    """A host NumPy copy of ``array`` of ``backend``."""
    obs = current()
    return backend.to_numpy(array) if obs is None else obs.to_host(backend, array)


def adopts(backend: Any, obj: Any) -> bool:
    """Whether ``obj``, not an array of ``backend``, stands for one to this thread's observer."""
    obs = current()
    return obs is not None and obs.adopts(backend, obj)


def actual(obj: Any) -> Any:
    """The array of this run that ``obj`` stands for: what to ask a backend about (is it writable?)."""
    obs = current()
    return obj if obs is None else obs.actual(obj)


def static(container: Any, key: Any) -> Any:
    """``container[key]``, a Python value (a learning rate, say) that a compiled function bakes in.

    Library code reads hyper-parameters through this, so a compiled replay checks the value is
    unchanged and retraces when it is not (a scheduler changed the learning rate)."""
    value = container[key]
    obs = current()
    if obs is not None:
        obs.static(container, key, value)
    return value


# ---- objects whose attributes compiled code depends on (nn.Module) -------------------------------------

state_version = 0
"""Counts changes to the attributes of tracked objects: a compiled replay tests it, one comparison."""

_tracked: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def track(obj: Any) -> None:
    """Note ``obj`` (an nn.Module) as an object whose attributes ``xgrad.compile`` checks after a change."""
    _tracked[id(obj)] = obj


def tracked() -> list[Any]:
    """The tracked objects still alive."""
    return list(_tracked.values())


def changed() -> None:
    """A tracked object's attribute changed (a parameter or submodule replaced, train/eval, ...)."""
    global state_version
    state_version += 1
