"""Moving a tensor to another backend, device or dtype, with the gradient moved back; ``asarray``."""

from __future__ import annotations

from typing import Any

from .. import _state, creation
from ..backends import get_backend
from ..tensor import Tensor, new
from ._core import Op
from .elementwise import astype


class _Transfer(Op):
    """Records where a tensor came from, so its gradient goes back there."""

    __slots__ = ("source", "source_device", "target")
    custom = True

    def __init__(self, source, source_device, target):
        super().__init__("to", None)
        self.vjps = ()
        self.source = source
        self.source_device = source_device
        self.target = target

    def rules(self, xp, g, out, args, kw, needs):
        if isinstance(g, Tensor):
            return [to(g, backend=self.source, device=self.source_device)]
        return [_move(g, self.target, self.source, self.source_device)]


def _move(a, src, dst, device):
    """The array ``a`` of backend ``src`` as an array of ``dst`` on ``device`` (a copy when either changes)."""
    if src is dst:
        return dst.asarray(a, device=device) if device is not None else a
    return dst.asarray(src.to_numpy(a), device=device)


def to(x: Tensor, backend: Any = None, device: Any = None, dtype: Any = None) -> Tensor:
    """``x`` on another backend and/or device and/or dtype (a copy when anything changes)."""
    src = x._backend
    dst = get_backend(backend) if backend is not None else src
    if dst is not src or (device is not None and str(device) != str(src.device(x.data))):
        data = _move(x.data, src, dst, device)
        if x.requires_grad and _state.mode.grad_enabled:
            x = new(data, dst, _Transfer(src, src.device(x.data), dst), (x,), (x.data,), {})
        else:
            x = new(data, dst)
    if dtype is not None:
        dtype = x._backend.dtype(dtype)
        if dtype != x.dtype:
            x = astype(x, dtype)
    return x


def asarray(obj: Any, /, *, dtype: Any = None, device: Any = None, copy: bool | None = None) -> Tensor:
    """The standard's ``asarray`` on xgrad: a Tensor stays itself, its graph kept (converted with ``to``
    where dtype or device differ); other data becomes a new leaf."""
    if isinstance(obj, Tensor):
        return to(obj, device=device, dtype=dtype)
    return creation.tensor(obj, dtype=dtype, device=device)
