"""``xgrad.detect_anomaly()``: find the first op whose output or gradient holds NaN or Inf.

Inside the context (or a function decorated with it), in this thread only, every op call records the
line of user code that made it, and (with ``check_nan=True``, the default) its output is checked for
NaN/Inf; backward checks every gradient a rule returns. The first bad value raises ``AnomalyError``
naming the op, the shapes and that line. Outside it nothing is recorded: the engine tests one integer
per op call (``_state.engaged``).

    with xgrad.detect_anomaly():
        loss = model(x).sum()
        loss.backward()     # AnomalyError: backward of xgrad.log ... created at train.py:42
"""

from __future__ import annotations

import functools
import linecache
import os
import sys
import threading
import weakref
from typing import Any, Callable, TypeVar

from . import _state, observe
from .errors import XgradError
from .tensor import Tensor

__all__ = ["detect_anomaly", "AnomalyError", "creation_site"]

F = TypeVar("F", bound=Callable[..., Any])

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_lock = threading.Lock()
_sites: dict[int, tuple[weakref.ref, str, str]] = {}  # id(tensor) -> (ref, op name, user code line)


class AnomalyError(XgradError, FloatingPointError):
    """An op's output or gradient held NaN or Inf under ``detect_anomaly``."""


def _user_line() -> str:
    """``file:line in function: code`` of the innermost caller outside the xgrad package."""
    f: Any = sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_PACKAGE):
        f = f.f_back
    if f is None:
        return "an unknown place"
    code = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
    return f"{f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}" + (f": {code}" if code else "")


def creation_site(t: Tensor) -> str | None:
    """Where ``t`` was made by an op under ``detect_anomaly`` (``file:line in function: code``), or None."""
    entry = _sites.get(id(t))
    if entry is None or entry[0]() is not t:
        return None
    return entry[2]


def _remember(t: Tensor, name: str, site: str) -> None:
    key = id(t)

    def gone(ref: weakref.ref, key: int = key) -> None:
        with _lock:
            if _sites.get(key, (None,))[0] is ref:
                del _sites[key]

    with _lock:
        _sites[key] = (weakref.ref(t, gone), name, site)


def _bad(backend: Any, a: Any) -> str | None:
    """'NaN', 'Inf' or None for a floating-point array of ``backend``."""
    if not hasattr(a, "dtype") or not backend.is_floating(a.dtype):
        return None
    xp = backend.rule_namespace
    if bool(xp.all(xp.isfinite(a))):
        return None
    return "NaN" if bool(xp.any(xp.isnan(a))) else "Inf"


def _shape(a: Any) -> tuple:
    return tuple(a.shape)


class _Anomaly:
    """The settings of one open ``detect_anomaly``; the engine calls these methods while it is on."""

    def __init__(self, check_nan: bool):
        self.check_nan = check_nan

    site = staticmethod(_user_line)

    def forward(self, o: Any, args: tuple, t: Tensor, site: str) -> None:
        if t._op is not None:
            _remember(t, o.name, site)
        if not self.check_nan:
            return
        bad = _bad(t._backend, t._data)
        if bad is None:
            return
        inputs = ", ".join(f"{_shape(a)} {t._backend.dtype_name(a.dtype)}" if isinstance(a, Tensor)
                           else type(a).__name__ for a in args)
        given = [i for i, a in enumerate(args) if isinstance(a, Tensor) and _bad(a._backend, a._data)]
        cause = (f"; input {given[0]} already held NaN/Inf (made outside detect_anomaly or by a "
                 "creation function)" if given else "")
        raise AnomalyError(
            f"detect_anomaly: xgrad.{o.name} returned {bad} in its output of shape {_shape(t._data)} "
            f"(inputs: {inputs}){cause}; called at {site}")

    def check_gradient(self, o: Any, t: Tensor, i: int, p: Tensor, g: Any) -> None:
        if not self.check_nan:
            return
        data = g._data if isinstance(g, Tensor) else g
        bad = _bad(p._backend, data)
        if bad is None:
            return
        site = creation_site(t)
        where = f"created at {site}" if site else "created outside detect_anomaly (no line recorded)"
        raise AnomalyError(
            f"detect_anomaly: the backward of xgrad.{o.name} (output shape {t.shape}) returned {bad} in the "
            f"gradient of its input {i} (shape {p.shape}); that {o.name} was {where}")

    @staticmethod
    def annotate(e: BaseException, t: Tensor) -> None:
        """Add to an error raised in backward where the node being differentiated was created."""
        entry = _sites.get(id(t))
        if entry is not None and entry[0]() is t and not isinstance(e, AnomalyError):
            _note(e, f"xgrad.detect_anomaly: raised in the backward of xgrad.{entry[1]} created at {entry[2]}")

    @staticmethod
    def annotate_forward(e: BaseException, o: Any, site: str) -> None:
        if not isinstance(e, AnomalyError):
            _note(e, f"xgrad.detect_anomaly: xgrad.{o.name} called at {site}")


def _note(e: BaseException, text: str) -> None:
    """Add ``text`` to the error: a note (Python 3.11+), or a line of its message before."""
    add = getattr(e, "add_note", None)
    if add is not None:
        add(text)
    elif e.args and isinstance(e.args[0], str):
        e.args = (f"{e.args[0]}\n{text}", *e.args[1:])


class _Stack(threading.local):
    def __init__(self) -> None:
        self.saved: list[Any] = []


_stack = _Stack()


class detect_anomaly:
    """Context manager and decorator: NaN/Inf in an op's output or in a gradient raises ``AnomalyError``
    naming the op, the shapes and the line that called it (this thread only). ``check_nan=False``
    records the lines only (errors raised in backward then say which op's backward failed, and where
    that op was called). Slow: for debugging."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self) -> detect_anomaly:
        if observe.current() is not None:
            raise RuntimeError(f"xgrad.detect_anomaly inside a function being compiled (xgrad.compile): its replays "
                               "would run without it. Enter it outside, and call the function uncompiled there")
        mode = _state.mode
        _stack.saved.append(mode.anomaly)
        mode.anomaly = _Anomaly(self.check_nan)
        _state.engage(1)
        return self

    def __exit__(self, *exc: Any) -> None:
        _state.mode.anomaly = _stack.saved.pop()
        _state.engage(-1)

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
