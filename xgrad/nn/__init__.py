"""Neural-network building blocks: Module, Parameter (and is_parameter), Linear, Sequential, MLP,
activations, Dropout, ``xgrad.nn.init`` and ``xgrad.nn.functional``."""

from . import functional, init
from .modules import (ACTIVATIONS, GELU, MLP, Dropout, Identity, LeakyReLU, Linear, Module, ModuleError, Parameter,
                      ReLU, Sequential, Sigmoid, Tanh, is_parameter)

__all__ = ["functional", "init", "Module", "ModuleError", "Parameter", "is_parameter", "Linear", "Sequential", "MLP",
           "Tanh", "ReLU", "Sigmoid", "GELU", "LeakyReLU", "Identity", "Dropout", "ACTIVATIONS", "utils"]

from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, ConvTranspose2d, MaxPool2d  # noqa: E402

__all__ += ["Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]
from .activation import (CELU, ELU, GLU, SELU, Hardsigmoid, Hardswish, Hardtanh, LogSigmoid, LogSoftmax, Mish,  # noqa: E402
                         ReLU6, SiLU, Softmax, Softplus, Softsign, Tanhshrink)
from .container import ModuleDict, ModuleList  # noqa: E402
from .dropout import AlphaDropout, Dropout1d, Dropout2d  # noqa: E402
from .flatten import Flatten, Unflatten  # noqa: E402
from .loss import (BCELoss, BCEWithLogitsLoss, CosineSimilarity, CrossEntropyLoss, HuberLoss, KLDivLoss,  # noqa: E402
                   L1Loss, MSELoss, NLLLoss, SmoothL1Loss)
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm  # noqa: E402
from .sparse import Embedding  # noqa: E402

__all__ += ["SiLU", "ELU", "SELU", "CELU", "Mish", "Hardswish", "Hardsigmoid", "Hardtanh", "ReLU6", "LogSigmoid",
            "Softplus", "Softsign", "Tanhshrink", "GLU", "Softmax", "LogSoftmax", "ModuleList", "ModuleDict",
            "Dropout1d", "Dropout2d", "AlphaDropout", "Flatten", "Unflatten", "CrossEntropyLoss", "NLLLoss", "MSELoss",
            "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "CosineSimilarity",
            "LayerNorm", "BatchNorm1d", "BatchNorm2d", "GroupNorm", "Embedding"]

from . import utils  # noqa: E402  (grad_report)


def __dir__() -> list[str]:  # dir() and tab completion list the public names, not this module's imports
    return sorted(__all__)
