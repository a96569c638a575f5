"""Backend registry and selection.

The current backend comes from, in order: ``use_backend(...)`` (setter or context manager), the
``XGRAD_BACKEND`` environment variable (with ``XGRAD_DEVICE``), and ``numpy``. Third parties register
a backend with ``register_backend(name, loader)`` or an entry point in the group ``xgrad.backends``
whose object is a loader: a callable ``loader(device=None) -> Backend``.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Callable, Union

import numpy as np

from ..errors import BackendUnavailableError, InputError
from ..observe import refuse_while_recorded
from . import checks
from .base import Backend

Loader = Union[str, Callable[..., Backend]]  # a loader, or "module:function" naming one

_LOADERS: dict[str, Loader] = {
    "numpy": "xgrad.backends.numpy:load",
    "cupy": "xgrad.backends.cupy:load",
    "torch": "xgrad.backends.torch:load",
    "array_api_strict": "xgrad.backends.strict:load",
}
_ALIASES = {"np": "numpy", "strict": "array_api_strict", "array-api-strict": "array_api_strict",
            "pytorch": "torch", "cp": "cupy"}
_LOADED: dict[str, Backend] = {}
_current: tuple[Backend, Any] | None = None  # (backend, device) once chosen
_seed: int | None = None  # the last manual_seed, applied to backends loaded later too

__all__ = ["Backend", "register_backend", "available_backends", "known_backends", "get_backend",
           "loaded_backends", "placement", "current_backend", "current_device", "use_backend", "manual_seed",
           "to_host"]


def register_backend(name: str, loader: Loader) -> None:
    """Make ``loader(device=None) -> Backend`` (or a ``"module:function"`` string) known as ``name``."""
    _LOADERS[name] = loader
    _LOADED.pop(name, None)


def _entry_points():
    from importlib.metadata import entry_points

    for ep in entry_points(group="xgrad.backends"):
        _LOADERS.setdefault(ep.name, ep.value)


def known_backends() -> list[str]:
    """Names of every registered backend, loadable here or not."""
    _entry_points()
    return sorted(_LOADERS)


def available_backends() -> dict[str, str | None]:
    """``{name: None or the reason it cannot load}`` for every known backend."""
    out: dict[str, str | None] = {}
    for name in known_backends():
        try:
            get_backend(name)
            out[name] = None
        except BackendUnavailableError as e:
            out[name] = str(e)
    return out


def get_backend(name: str | Backend | None = None) -> Backend:
    """The backend called ``name`` (loaded once), or the current one when ``name`` is None."""
    if name is None:
        return current_backend()
    if isinstance(name, Backend):
        return name
    name = _ALIASES.get(name, name)
    backend = _LOADED.get(name)
    if backend is not None:
        return backend
    if name not in _LOADERS:
        _entry_points()
    if name not in _LOADERS:
        raise BackendUnavailableError(
            f"unknown xgrad backend {name!r}; known backends: {', '.join(known_backends())}. "
            "Set XGRAD_BACKEND to one of them or register a new one with xgrad.register_backend().")
    loader = _LOADERS[name]
    if isinstance(loader, str):
        module, _, attr = loader.partition(":")
        loader = getattr(importlib.import_module(module), attr)
    backend = loader()
    if _seed is not None:
        backend.manual_seed(_seed)
    _LOADED[name] = backend
    return backend


def placement(backend: str | Backend | None = None, device: Any = None) -> tuple[Backend, Any]:
    """Where a new array goes: ``(Backend, device)``. The backend named, else the current one; the
    device named, else the current device (when no backend was named), else the backend's default."""
    b = get_backend(backend)
    if device is None and backend is None:
        device = current_device()
    return b, device if device is not None else b.default_device


def loaded_backends() -> list[Backend]:
    """The backends loaded so far in this process."""
    return list(_LOADED.values())


def manual_seed(seed: int) -> None:
    """Seed the random numbers of every loaded backend (and of backends loaded later)."""
    refuse_while_recorded("xgrad.manual_seed()", "Seed outside the compiled function, before calling it.")
    global _seed
    _seed = int(seed)
    for b in _LOADED.values():
        b.manual_seed(_seed)


def _usable(b: Backend, device: Any, where: str) -> Any:
    """``device``, checked now: an array is made there (a device the library cannot use is an error
    here, naming it, not a library error at the next op)."""
    if device is not None:
        try:
            b.asarray([0.0], device=device)
        except Exception as e:
            raise InputError(f"{where}: device {device!r} is not usable with backend {b.name!r} "
                             f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    return device


def _from_environment():
    name = os.environ.get("XGRAD_BACKEND", "").strip() or "numpy"
    device = os.environ.get("XGRAD_DEVICE", "").strip() or None
    b = get_backend(name)
    return b, _usable(b, device, "XGRAD_DEVICE")


def current_backend() -> Backend:
    """The backend new tensors are made on when no backend is named."""
    global _current
    if _current is None:
        _current = _from_environment()
    return _current[0]


def current_device() -> Any:
    """The device new tensors are made on when none is named (None: the backend's default)."""
    current_backend()
    assert _current is not None
    return _current[1]


class use_backend:
    """Select the backend (and device) for new tensors.

    ``xgrad.use_backend("cupy")`` sets it; ``with xgrad.use_backend("torch", device="cuda:0"):`` sets
    it for a block and restores the previous choice after.
    """

    def __init__(self, name: str | Backend, device: Any = None):
        global _current
        current_backend()
        self._previous = _current
        self.backend = get_backend(name)
        _current = (self.backend, _usable(self.backend, device, "xgrad.use_backend"))

    def __enter__(self) -> Backend:
        return self.backend

    def __exit__(self, *exc: Any) -> None:
        global _current
        _current = self._previous


def to_host(obj: Any) -> np.ndarray:
    """A NumPy array of the values of ``obj``: a Tensor, an array of any backend's library (its backend
    is loaded if it is not yet), or anything ``numpy.asarray`` takes. Arrays on a device or of another
    library are copied; a NumPy array may come back as itself. Checks a backend deferred raise first."""
    if isinstance(getattr(obj, "_backend", None), Backend):  # a Tensor
        return obj.detach().numpy()
    if checks.pending:
        checks.raise_pending("xgrad.backends.to_host()")
    backends = list(_LOADED.values())
    library = type(obj).__module__.partition(".")[0]
    if library in _LOADERS and library not in _LOADED:
        backends.append(get_backend(library))
    for b in backends:
        if b.is_array(obj):
            return b.to_numpy(obj)
    return np.asarray(obj)
