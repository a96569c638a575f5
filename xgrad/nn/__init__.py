"""Neural-network building blocks: Module, Parameter (and is_parameter), Linear, Sequential, MLP,
activations, Dropout, ``xgrad.nn.init`` and ``xgrad.nn.functional``."""

from . import functional, init
from .modules import (ACTIVATIONS, GELU, MLP, Dropout, Identity, LeakyReLU, Linear, Module, ModuleError, Parameter,
                      ReLU, Sequential, Sigmoid, Tanh, is_parameter)

__all__ = ["functional", "init", "Module", "ModuleError", "Parameter", "is_parameter", "Linear", "Sequential", "MLP",
           "Tanh", "ReLU", "Sigmoid", "GELU", "LeakyReLU", "Identity", "Dropout", "ACTIVATIONS", "utils"]

from . import utils  # noqa: E402  (grad_report)


def __dir__() -> list[str]:  # dir() and tab completion list the public names, not this module's imports
    return sorted(__all__)
