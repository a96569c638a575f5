"""PyTorch tensors used as plain arrays (no torch autograd), on the CPU or a CUDA device."""

import sys as _sys

from ..errors import BackendUnavailableError
from .base import Backend


class TorchBackend(Backend):
    name = "torch"

    def __init__(self, device=None):
        import array_api_compat.torch as xp
        import torch

        self._torch = torch
        super().__init__(xp, default_device=torch.device(device) if device is not None else None)

    # CUDA graphs (xgrad/graphs.py): torch.cuda.graph records on a side stream into a private memory pool
    def records_graphs(self, device=None):
        device = device if device is not None else self.default_device
        return device is not None and self._torch.device(device).type == "cuda"

    def capture_graph(self, body, device):
        torch = self._torch
        dev = torch.device(device) if device is not None else torch.device("cpu")
        if dev.type != "cuda":
            raise NotImplementedError(f"backend 'torch' records CUDA graphs on CUDA devices, not on {dev}")
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.device(dev), torch.cuda.graph(graph):
                body(None)
        except Exception as e:
            raise NotImplementedError(f"torch could not record the step ({type(e).__name__}: {e})") from e
        return graph.replay

    def unshared(self, holder, key, others):
        # a view of a torch tensor holds its storage, not the Python object: count both
        if not super().unshared(holder, key, others):
            return False
        if not self.is_array(holder[key]):
            return True
        count = getattr(self._torch._C, "_storage_Use_Count", None)
        if count is None:  # (a private function: where it is gone, assume shared, and run without the graph)
            return False
        if self._storage_base is None:  # (the storage objects held in locals while counted)
            alone = self._torch.zeros(1)
            storage = alone.untyped_storage()
            self._storage_base = (count(storage._cdata), _sys.getrefcount(storage))
        storage = holder[key].untyped_storage()  # (one Python object per storage: a user may hold it)
        return count(storage._cdata) <= self._storage_base[0] and _sys.getrefcount(storage) <= self._storage_base[1]

    _storage_base = None

    def owner(self, a):
        return a._base if self.is_array(a) and a._base is not None else a

    def address(self, a):
        return a.data_ptr() if self.is_array(a) else None

    def is_array(self, obj):
        return isinstance(obj, self._torch.Tensor)

    def defers(self, a):
        # on a GPU a check read at once waits for the device: deferred (checks.py); on the CPU when set
        return self.deferred_checks or a.device.type != "cpu"

    def owns(self, a):
        return isinstance(a, self._torch.Tensor) and a._base is None

    def asarray(self, obj, dtype=None, device=None, copy=None):
        a = super().asarray(obj, dtype=dtype, device=device, copy=copy)
        return a.detach() if a.requires_grad else a

    def to_numpy(self, a):
        return a.detach().cpu().resolve_conj().resolve_neg().numpy()  # (torch.conj gives lazy views)

    def synchronize(self):
        if self._torch.cuda.is_available() and self._torch.cuda.is_initialized():
            self._torch.cuda.synchronize()

    def einsum(self, subscripts, *operands):
        return self._torch.einsum(subscripts, *operands)

    def scatter_add(self, like, index, values):
        torch = self._torch
        out = torch.zeros_like(like, dtype=values.dtype)
        idx = index if isinstance(index, tuple) else (index,)
        if all(isinstance(i, torch.Tensor) and not i.dtype == torch.bool for i in idx):
            return out.index_put_(idx, values, accumulate=True)
        return super().scatter_add(like, index, values)

    # one thread: on small models torch's intra-op pool costs more than it saves (and stalls a whole
    # scheduler slice whenever another process holds a core)
    default_threads = 1

    def set_threads(self, n):
        self._torch.set_num_threads(n)
        return True

    def erf(self, x):
        return self._torch.special.erf(x)

    # torch's own convolution (oneDNN on the CPU, cuDNN on a GPU) behind the rule namespace's conv2d trio;
    # the same sums as windows.py in another order: equal to rounding (tests/test_conv.py)
    def _native_conv(self, a):
        return a.dtype in (self._torch.float32, self._torch.float64) or a.is_cuda

    def conv2d_forward(self, x, weight, stride, padding, dilation, groups):
        if not self._native_conv(x):
            return super().conv2d_forward(x, weight, stride, padding, dilation, groups)
        return self._torch.nn.functional.conv2d(x, weight, None, stride, padding, dilation, groups), None

    def conv2d_grad_input(self, g, weight, input_shape, stride, padding, dilation, groups):
        if not self._native_conv(g):
            return super().conv2d_grad_input(g, weight, input_shape, stride, padding, dilation, groups)
        return self._torch.nn.grad.conv2d_input(tuple(input_shape), weight, g, stride, padding, dilation, groups)

    def conv2d_grad_weight(self, g, x, saved, weight_shape, stride, padding, dilation, groups):
        if not self._native_conv(g) or saved is not None:  # (saved: columns of the generic forward)
            return super().conv2d_grad_weight(g, x, saved, weight_shape, stride, padding, dilation, groups)
        return self._torch.nn.grad.conv2d_weight(x, tuple(weight_shape), g, stride, padding, dilation, groups)

    def _onehot(self, labels, num_classes, dtype):
        out = self._torch.zeros(labels.shape + (num_classes,), dtype=dtype, device=labels.device)
        return out.scatter_(-1, labels[..., None].long(), 1)


def load(device=None):
    try:
        import torch  # noqa: F401
    except ImportError as e:
        raise BackendUnavailableError(
            "backend 'torch' cannot load: PyTorch is not installed. Install it with "
            "`pip install torch --index-url https://download.pytorch.org/whl/cpu` (CPU only, no CUDA packages) "
            "or a CUDA build from pytorch.org.") from e
    return TorchBackend(device)
