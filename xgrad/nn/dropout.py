"""Channel-wise and alpha dropout modules (``Dropout`` itself is in ``modules.py``)."""

from __future__ import annotations

from ..errors import InputError
from ..tensor import Tensor
from . import functional as F
from .modules import Module

__all__ = ["Dropout1d", "Dropout2d", "AlphaDropout"]


class _DropoutNd(Module):
    name = ""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise InputError(f"{type(self).__name__}: dropout probability must lie in [0, 1], got {p}")
        if inplace:
            raise InputError(f"{type(self).__name__}: inplace=True is not supported; the module returns a new tensor")
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        return getattr(F, self.name)(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout1d(_DropoutNd):
    """Zeroes whole channels of (N, C, L) or (C, L) input while training."""
    name = "dropout1d"


class Dropout2d(_DropoutNd):
    """Zeroes whole channels of (N, C, H, W) input while training."""
    name = "dropout2d"


class AlphaDropout(_DropoutNd):
    """Dropout that keeps SELU's mean and variance, while training."""
    name = "alpha_dropout"
