"""Ready-made models for the ``xgrad train --model`` choices beyond the MLP: a small CNN for images."""

from __future__ import annotations

from typing import Any

from .backends import Backend
from .nn import BatchNorm2d, Conv2d, Dropout, Linear, MaxPool2d, Module, functional as F
from .tensor import Tensor

__all__ = ["CNN"]


class CNN(Module):
    """Two 3x3 convolutions (padding 1, no bias: BatchNorm follows), each followed by BatchNorm2d, ReLU and
    2x2 max pooling, then dropout and a linear layer: (N, C, H, W) images to (N, classes) logits, H and W
    divisible by 4.

    ``CNN(in_channels=1, image_size=(8, 8), classes=10)`` is the digits model: 1 -> 16 -> 32 channels,
    8x8 -> 4x4 -> 2x2, 128 features, dropout 0.25, 10 logits (6,138 parameters)."""

    def __init__(self, in_channels: int = 1, image_size: tuple[int, int] = (8, 8), classes: int = 10,
                 channels: tuple[int, int] = (16, 32), dropout: float = 0.25, backend: str | Backend | None = None,
                 device: Any = None, dtype: Any = None):
        super().__init__()
        h, w = image_size
        if h % 4 or w % 4:
            raise ValueError(f"CNN: image_size {image_size} must be divisible by 4 (two 2x2 poolings)")
        place = {"backend": backend, "device": device, "dtype": dtype}
        self.conv1 = Conv2d(in_channels, channels[0], 3, padding=1, bias=False, **place)
        self.bn1 = BatchNorm2d(channels[0], **place)
        self.conv2 = Conv2d(channels[0], channels[1], 3, padding=1, bias=False, **place)
        self.bn2 = BatchNorm2d(channels[1], **place)
        self.pool = MaxPool2d(2)
        self.dropout = Dropout(dropout)
        self.fc = Linear(channels[1] * (h // 4) * (w // 4), classes, **place)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        return self.fc(self.dropout(x.reshape((x.shape[0], -1))))
