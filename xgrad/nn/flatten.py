"""Flatten and Unflatten: reshape modules with PyTorch's defaults (Flatten keeps the batch axis)."""

from __future__ import annotations

from typing import Sequence

from ..errors import ShapeError
from ..ops import reshape
from ..tensor import Tensor
from .modules import Module

__all__ = ["Flatten", "Unflatten"]


def _axis(dim: int, ndim: int, who: str, shape: tuple[int, ...]) -> int:
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise ShapeError(f"{who}: dim {dim} is out of range for input of shape {shape}")
    return dim % max(ndim, 1)


class Flatten(Module):
    """Merge axes ``start_dim`` to ``end_dim`` (default: all but the first) into one."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x: Tensor) -> Tensor:
        shape = tuple(x.shape)
        if not shape:
            return reshape(x, (1,))
        start = _axis(self.start_dim, len(shape), "Flatten", shape)
        end = _axis(self.end_dim, len(shape), "Flatten", shape)
        if start > end:
            raise ShapeError(f"Flatten: start_dim {self.start_dim} comes after end_dim {self.end_dim} for shape {shape}")
        merged = 1
        for s in shape[start:end + 1]:
            merged *= s
        return reshape(x, shape[:start] + (merged,) + shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size`` (one entry may be -1)."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]):
        super().__init__()
        self.dim, self.unflattened_size = int(dim), tuple(int(s) for s in unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        shape = tuple(x.shape)
        d = _axis(self.dim, len(shape), "Unflatten", shape)
        sizes = self.unflattened_size
        known = 1
        for s in sizes:
            known *= s if s != -1 else 1
        if sizes.count(-1) > 1 or (-1 not in sizes and known != shape[d]) or (-1 in sizes and shape[d] % known):
            raise ShapeError(f"Unflatten: cannot split axis {self.dim} of size {shape[d]} (input shape {shape}) "
                             f"into {sizes}")
        return reshape(x, shape[:d] + sizes + shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
