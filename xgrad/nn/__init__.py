"""Neural-network building blocks: Module, Parameter (and is_parameter), Linear, Sequential, MLP,
activations, Dropout, ``xgrad.nn.init`` and ``xgrad.nn.functional``."""

from . import functional, init
from .modules import (ACTIVATIONS, GELU, MLP, Dropout, Identity, LeakyReLU, Linear, Module, ModuleError, Parameter,
                      ReLU, Sequential, Sigmoid, Tanh, is_parameter)

__all__ = ["functional", "init", "Module", "ModuleError", "Parameter", "is_parameter", "Linear", "Sequential", "MLP",
           "Tanh", "ReLU", "Sigmoid", "GELU", "LeakyReLU", "Identity", "Dropout", "ACTIVATIONS"]

from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, ConvTranspose2d, MaxPool2d  # noqa: E402

__all__ += ["Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]
