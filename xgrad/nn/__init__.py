"""Neural-network building blocks: Module, Parameter, Linear, Sequential, MLP, activations, Dropout,
``xgrad.nn.init`` and ``xgrad.nn.functional``."""

from . import functional, init
from .modules import (ACTIVATIONS, GELU, MLP, Dropout, Identity, LeakyReLU, Linear, Module, Parameter, ReLU,
                      Sequential, Sigmoid, Tanh)

__all__ = ["functional", "init", "Module", "Parameter", "Linear", "Sequential", "MLP", "Tanh", "ReLU", "Sigmoid",
           "GELU", "LeakyReLU", "Identity", "Dropout", "ACTIVATIONS"]
