"""Backend registry and selection.

The current backend comes from, in order: ``use_backend(...)`` (setter or context manager), the
``XGRAD_BACKEND`` environment variable (with ``XGRAD_DEVICE``), and ``numpy``. Third parties register
a backend with ``register_backend(name, loader)`` or an entry point in the group ``xgrad.backends``
whose object is a loader: a callable ``loader(device=None) -> Backend``.
"""

import importlib
import os

from ..errors import BackendUnavailableError
from .base import Backend

_LOADERS = {
    "numpy": "xgrad.backends.numpy:load",
    "cupy": "xgrad.backends.cupy:load",
    "torch": "xgrad.backends.torch:load",
    "array_api_strict": "xgrad.backends.strict:load",
}
_ALIASES = {"np": "numpy", "strict": "array_api_strict", "array-api-strict": "array_api_strict",
            "pytorch": "torch", "cp": "cupy"}
_LOADED = {}
_current = None  # (backend, device) once chosen

__all__ = ["Backend", "register_backend", "available_backends", "known_backends", "get_backend",
           "current_backend", "current_device", "use_backend"]


def register_backend(name, loader):
    """Make ``loader(device=None) -> Backend`` (or a ``"module:function"`` string) known as ``name``."""
    _LOADERS[name] = loader
    _LOADED.pop(name, None)


def _entry_points():
    from importlib.metadata import entry_points

    for ep in entry_points(group="xgrad.backends"):
        _LOADERS.setdefault(ep.name, ep.value)


def known_backends():
    """Names of every registered backend, loadable here or not."""
    _entry_points()
    return sorted(_LOADERS)


def available_backends():
    """``{name: None or the reason it cannot load}`` for every known backend."""
    out = {}
    for name in known_backends():
        try:
            get_backend(name)
            out[name] = None
        except BackendUnavailableError as e:
            out[name] = str(e)
    return out


def get_backend(name=None):
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
    from .. import creation

    if creation._seed is not None:
        backend.manual_seed(creation._seed)
    _LOADED[name] = backend
    return backend


def _from_environment():
    name = os.environ.get("XGRAD_BACKEND", "").strip() or "numpy"
    device = os.environ.get("XGRAD_DEVICE", "").strip() or None
    return get_backend(name), device


def current_backend():
    """The backend new tensors are made on when no backend is named."""
    global _current
    if _current is None:
        _current = _from_environment()
    return _current[0]


def current_device():
    """The device new tensors are made on when none is named (None: the backend's default)."""
    current_backend()
    return _current[1]


class use_backend:
    """Select the backend (and device) for new tensors.

    ``xgrad.use_backend("cupy")`` sets it; ``with xgrad.use_backend("torch", device="cuda:0"):`` sets
    it for a block and restores the previous choice after.
    """

    def __init__(self, name, device=None):
        global _current
        current_backend()
        self._previous = _current
        _current = (get_backend(name), device)

    def __enter__(self):
        return _current[0]

    def __exit__(self, *exc):
        global _current
        _current = self._previous
        return False
