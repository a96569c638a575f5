"""Activation modules with PyTorch's names and defaults (ReLU, Tanh, Sigmoid, GELU, LeakyReLU are in
``modules.py``). ``inplace=True`` is refused, as in ``nn.functional``."""

from __future__ import annotations

from ..errors import InputError
from ..tensor import Tensor
from . import functional as F
from .modules import Module

__all__ = ["SiLU", "ELU", "SELU", "CELU", "Mish", "Hardswish", "Hardsigmoid", "Hardtanh", "ReLU6", "LogSigmoid",
           "Softplus", "Softsign", "Tanhshrink", "GLU", "Softmax", "LogSoftmax"]


class _Elementwise(Module):
    """An activation without parameters of its own: ``forward`` is ``F.<name>(x)``."""

    name = ""

    def __init__(self, inplace: bool = False):
        super().__init__()
        if inplace:
            raise InputError(f"{type(self).__name__}: inplace=True is not supported (xgrad never changes an "
                             "activation's input); the module returns a new tensor")

    def forward(self, x: Tensor) -> Tensor:
        return getattr(F, self.name)(x)


class SiLU(_Elementwise):
    name = "silu"


class SELU(_Elementwise):
    name = "selu"


class Mish(_Elementwise):
    name = "mish"


class Hardswish(_Elementwise):
    name = "hardswish"


class Hardsigmoid(_Elementwise):
    name = "hardsigmoid"


class ReLU6(_Elementwise):
    name = "relu6"


class LogSigmoid(_Elementwise):
    name = "logsigmoid"


class Softsign(_Elementwise):
    name = "softsign"


class Tanhshrink(_Elementwise):
    name = "tanhshrink"


class ELU(_Elementwise):
    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        self.alpha = float(alpha)

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, alpha=self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class CELU(_Elementwise):
    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        self.alpha = float(alpha)

    def forward(self, x: Tensor) -> Tensor:
        return F.celu(x, alpha=self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Hardtanh(_Elementwise):
    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        if min_val > max_val:
            raise InputError(f"Hardtanh: min_val {min_val} is greater than max_val {max_val}")
        self.min_val, self.max_val = float(min_val), float(max_val)

    def forward(self, x: Tensor) -> Tensor:
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, beta=self.beta, threshold=self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class GLU(Module):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = int(dim)

    def forward(self, x: Tensor) -> Tensor:
        return F.glu(x, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(Module):
    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, dim=self.dim)
