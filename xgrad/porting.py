"""PyTorch spellings: the few that xgrad provides under PyTorch's name (``cat``, ``from_numpy``) and, for
the others, the xgrad spelling to use instead, given by ``xgrad.<torch name>`` as an AttributeError."""

from __future__ import annotations

from typing import Any, Sequence

from .creation import as_tensor
from .ops import concat
from .tensor import Tensor

__all__ = ["cat", "from_numpy", "TORCH_SPELLINGS", "missing"]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """``torch.cat``: the standard's ``concat(tensors, axis=dim)``."""
    return concat(tuple(tensors), axis=dim)


def from_numpy(a: Any) -> Tensor:
    """``torch.from_numpy``: a tensor sharing the NumPy array's memory where the backend allows
    (``xgrad.as_tensor``); on NumPy and on torch's CPU writes to either are seen by the other."""
    return as_tensor(a)


# torch's top-level name -> what to write in xgrad
TORCH_SPELLINGS = {
    "unsqueeze": "xgrad.expand_dims(x, axis=d) or x.unsqueeze(d)",
    "transpose": "xgrad.permute_dims(x, axes) or xgrad.matrix_transpose(x) (x.T, x.mT)",
    "t": "xgrad.matrix_transpose(x) or x.T",
    "mm": "xgrad.matmul(a, b) or a @ b",
    "bmm": "xgrad.matmul(a, b) or a @ b",
    "clamp": "xgrad.clip(x, min, max) or x.clamp(min, max)",
    "sub": "xgrad.subtract", "mul": "xgrad.multiply", "div": "xgrad.divide", "neg": "xgrad.negative",
    "gt": "xgrad.greater", "lt": "xgrad.less", "ge": "xgrad.greater_equal", "le": "xgrad.less_equal",
    "eq": "xgrad.equal", "ne": "xgrad.not_equal",
    "numel": "x.numel() or x.size (an int)",
    "from_dlpack": "xgrad.as_tensor(array)",
    "FloatTensor": "xgrad.tensor(data, dtype='float32')",
    "DoubleTensor": "xgrad.tensor(data, dtype='float64')",
    "LongTensor": "xgrad.tensor(data, dtype='int64')",
    "float": "the dtype name 'float32' (or xgrad.float32)", "double": "'float64' (xgrad.float64)",
    "long": "'int64' (xgrad.int64)", "bool": "'bool' (xgrad.bool_)",
    "utils": "xgrad.data (TensorDataset, DataLoader)",
    "Generator": "numpy.random.default_rng(seed) as DataLoader(generator=...), xgrad.manual_seed for the rest",
    "device": "a device string ('cpu', 'cuda:0') with a backend: xgrad.use_backend('torch', device=...)",
    "set_grad_enabled": "xgrad.no_grad() / xgrad.enable_grad()",
    "inference_mode": "xgrad.no_grad()",
}


def missing(name: str) -> AttributeError:
    """The error for ``xgrad.<name>``: names the xgrad spelling of a PyTorch function where there is one."""
    if name in TORCH_SPELLINGS:
        return AttributeError(f"module 'xgrad' has no attribute {name!r}: PyTorch's torch.{name} is "
                              f"{TORCH_SPELLINGS[name]} in xgrad (README: Porting from PyTorch)")
    return AttributeError(f"module 'xgrad' has no attribute {name!r}")
