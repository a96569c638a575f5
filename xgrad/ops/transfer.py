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
    """``obj`` (a Tensor, Python numbers or nested lists, an array of any library) as a Tensor.

    A Tensor keeps its graph: it comes back as itself where dtype and device already fit and ``copy``
    is not True, as a differentiable copy otherwise. Other data becomes a new leaf on the current
    backend, sharing ``obj``'s memory where possible unless ``copy=True``. ``copy=False`` raises
    ValueError where a copy cannot be avoided."""
    if isinstance(obj, Tensor):
        moved = to(obj, device=device)
        native = moved._backend.dtype(dtype) if dtype is not None else moved.data.dtype
        if moved is obj and native == obj.data.dtype and not copy:
            return obj
        if copy is False:
            raise ValueError(f"xgrad.asarray(copy=False): a tensor on {obj.backend}/{obj.device} of dtype "
                             f"{obj.dtype} cannot become {dtype or obj.dtype} on {device or obj.device} "
                             "without a copy; pass copy=None to allow one")
        return astype(moved, native)  # a new array, the gradient cast back
    return creation.as_tensor(obj, dtype=dtype, device=device, copy=copy)
