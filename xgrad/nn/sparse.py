"""Embedding: a lookup table of learned vectors (PyTorch's ``nn.Embedding``)."""

from __future__ import annotations

from typing import Any

from ..backends import Backend
from ..errors import InputError
from ..tensor import Tensor
from ..autograd import no_grad
from . import functional as F
from . import init
from .modules import Module, Parameter, _zeros_parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """``num_embeddings`` vectors of size ``embedding_dim``, initialised N(0, 1) as in PyTorch, with the
    ``padding_idx`` row zero and never updated by gradients."""

    weight: Tensor

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Tensor | None = None, _freeze: bool = False,
                 backend: str | Backend | None = None, device: Any = None, dtype: Any = None):
        super().__init__()
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise InputError("Embedding: max_norm, scale_grad_by_freq and sparse are not supported")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise InputError(f"Embedding: padding_idx {padding_idx} must lie in [-{num_embeddings}, "
                                 f"{num_embeddings})")
            padding_idx = padding_idx % self.num_embeddings
        self.padding_idx = padding_idx
        if _weight is not None:
            if tuple(_weight.shape) != (self.num_embeddings, self.embedding_dim):
                raise InputError(f"Embedding: _weight of shape {tuple(_weight.shape)} is not "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)
        else:
            self.weight = init.normal_(_zeros_parameter((self.num_embeddings, self.embedding_dim), backend, device,
                                                        dtype))
            if padding_idx is not None:
                with no_grad():
                    self.weight[padding_idx] = 0.0

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None) -> "Embedding":
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx=padding_idx, _weight=embeddings, _freeze=freeze)

    def forward(self, input: Any) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
