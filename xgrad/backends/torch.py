"""PyTorch tensors used as plain arrays (no torch autograd), on the CPU or a CUDA device."""

from ..errors import BackendUnavailableError
from .base import Backend


class TorchBackend(Backend):
    name = "torch"

    def __init__(self, device=None):
        import array_api_compat.torch as xp
        import torch

        self._torch = torch
        super().__init__(xp, default_device=torch.device(device) if device is not None else None)

    def is_array(self, obj):
        return isinstance(obj, self._torch.Tensor)

    def owns(self, a):
        return isinstance(a, self._torch.Tensor) and a._base is None

    def asarray(self, obj, dtype=None, device=None, copy=None):
        a = super().asarray(obj, dtype=dtype, device=device, copy=copy)
        return a.detach() if a.requires_grad else a

    def to_numpy(self, a):
        return a.detach().cpu().numpy()

    def synchronize(self):
        if self._torch.cuda.is_available() and self._torch.cuda.is_initialized():
            self._torch.cuda.synchronize()

    def scatter_add(self, like, index, values):
        torch = self._torch
        out = torch.zeros_like(like, dtype=values.dtype)
        idx = index if isinstance(index, tuple) else (index,)
        if all(isinstance(i, torch.Tensor) and not i.dtype == torch.bool for i in idx):
            return out.index_put_(idx, values, accumulate=True)
        return super().scatter_add(like, index, values)

    def erf(self, x):
        return self._torch.special.erf(x)

    def _onehot(self, labels, num_classes, dtype):
        out = self._torch.zeros(labels.shape + (num_classes,), dtype=dtype, device=labels.device)
        return out.scatter_(-1, labels[..., None].long(), 1)


def load(device=None):
    try:
        import torch  # noqa: F401
    except ImportError as e:
        raise BackendUnavailableError(
            "backend 'torch' cannot load: PyTorch is not installed. Install it with "
            "`pip install torch==2.13.0` (CPU) or a CUDA build from pytorch.org.") from e
    return TorchBackend(device)
