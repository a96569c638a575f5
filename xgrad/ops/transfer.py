"""Moving a tensor to another backend, device or dtype, with the gradient moved back."""

from ._core import Op
from .. import _state


class _Transfer(Op):
    """Records where a tensor came from, so its gradient goes back there."""

    __slots__ = ("source", "source_device")

    def __init__(self, source, source_device):
        super().__init__("to", None)
        self.vjps = ()
        self.source = source
        self.source_device = source_device

    custom = True

    def rules(self, xp, g, out, args, kw, needs):
        if isinstance(g, _state.Tensor):
            return [to(g, backend=self.source, device=self.source_device)]
        return [_move(g, out_backend_of(g, kw), self.source, self.source_device)]


def out_backend_of(g, kw):
    return kw["backend"]


def _move(a, src, dst, device):
    if src is dst:
        return dst.xp.to_device(a, device) if device is not None else a
    return dst.asarray(src.to_numpy(a), device=device)


def to(x, backend=None, device=None, dtype=None):
    """``x`` on another backend and/or device and/or dtype (a copy when anything changes)."""
    from ..backends import get_backend
    from .elementwise import astype

    src = x._backend
    dst = get_backend(backend) if backend is not None else src
    if dst is not src or (device is not None and str(device) != str(src.device(x.data))):
        data = _move(x.data, src, dst, device)
        t = _state.Tensor._wrap(data, dst)
        if x.requires_grad and _state.grad_enabled:
            t.requires_grad = True
            t._op = _Transfer(src, src.device(x.data))
            t._seq = _state.next_seq()
            t._parents = (x,)
            t._args = (x.data,)
            t._kw = {"backend": dst}
        x = t
    if dtype is not None:
        dtype = x._backend.dtype(dtype)
        if dtype != x.dtype:
            x = astype(x, dtype)
    return x
