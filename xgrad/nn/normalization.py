"""Normalisation layers: LayerNorm, BatchNorm1d/2d (running statistics as buffers), GroupNorm.

Parameters and buffers are created as PyTorch creates them (weight ones, bias zeros, running_mean
zeros, running_var ones, num_batches_tracked 0 as int64), so state_dicts copy either way."""

from __future__ import annotations

from typing import Any, Sequence

from ..backends import Backend, placement
from ..creation import get_default_dtype
from ..errors import InputError, ShapeError
from ..inplace import update_, assign
from ..ops import astype, divide
from ..tensor import Tensor, new
from . import functional as F
from . import init
from .modules import Module, _zeros_parameter

__all__ = ["LayerNorm", "BatchNorm1d", "BatchNorm2d", "GroupNorm"]


def _affine(module: Module, shape: tuple[int, ...], on: bool, bias: bool, backend: Any, device: Any,
            dtype: Any) -> None:
    """``module.weight`` (ones) and ``module.bias`` (zeros) of ``shape``, or None."""
    if on:
        module.weight = init.ones_(_zeros_parameter(shape, backend, device, dtype))
        module.bias = _zeros_parameter(shape, backend, device, dtype) if bias else None
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _buffer(shape: tuple[int, ...], fill: float, backend: Any, device: Any, dtype: Any) -> Tensor:
    b, device = placement(backend, device)
    return new(b.xp.full(shape, fill, dtype=b.dtype(dtype or get_default_dtype()), device=device), b)


class LayerNorm(Module):
    weight: Tensor | None
    bias: Tensor | None

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, backend: str | Backend | None = None, device: Any = None, dtype: Any = None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        _affine(self, self.normalized_shape, self.elementwise_affine, bias, backend, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class _BatchNorm(Module):
    """Batch normalisation over axis 1. Training uses the batch's statistics and (with
    ``track_running_stats``) updates ``running_mean``/``running_var`` in place: by ``momentum``, or, with
    ``momentum=None``, as a cumulative average over ``num_batches_tracked`` batches. Evaluation uses the
    running statistics."""

    weight: Tensor | None
    bias: Tensor | None
    running_mean: Tensor | None
    running_var: Tensor | None
    num_batches_tracked: Tensor | None
    dims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, backend: str | Backend | None = None, device: Any = None,
                 dtype: Any = None):
        super().__init__()
        if int(num_features) < 1:
            raise InputError(f"{type(self).__name__}: num_features must be positive, got {num_features}")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        _affine(self, (self.num_features,), self.affine, True, backend, device, dtype)
        if self.track_running_stats:
            self.register_buffer("running_mean", _buffer((self.num_features,), 0.0, backend, device, dtype))
            self.register_buffer("running_var", _buffer((self.num_features,), 1.0, backend, device, dtype))
            self.register_buffer("num_batches_tracked", _buffer((), 0, backend, device, "int64"))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self.dims:
            raise ShapeError(f"{type(self).__name__}: expects {' or '.join(f'{d}-D' for d in self.dims)} input, got "
                             f"shape {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ShapeError(f"{type(self).__name__}({self.num_features}): input has {x.shape[1]} channels on axis 1 "
                             f"(shape {tuple(x.shape)})")
        factor: float | Tensor = 0.0 if self.momentum is None else self.momentum
        counter = self.num_batches_tracked
        if self.training and counter is not None:
            update_(counter, assign, counter.data + 1)
            if self.momentum is None and self.running_mean is not None:
                # cumulative moving average: 1/n as a tensor, never read on the host (xgrad.compile replays it)
                factor = divide(1.0, astype(counter, self.running_mean.dtype))
        # without running statistics, evaluation normalises with the batch's too (as PyTorch does)
        batch_stats = self.training or not self.track_running_stats
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, batch_stats, factor,
                            self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """BatchNorm over (N, C) or (N, C, L) input."""
    dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """BatchNorm over (N, C, H, W) input."""
    dims = (4,)


class GroupNorm(Module):
    weight: Tensor | None
    bias: Tensor | None

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 backend: str | Backend | None = None, device: Any = None, dtype: Any = None):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise InputError(f"GroupNorm: num_channels {num_channels} must be divisible by num_groups {num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = int(num_groups), int(num_channels), float(eps), affine
        _affine(self, (self.num_channels,), self.affine, True, backend, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
