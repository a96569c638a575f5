"""Neural-network functions: activations and losses (the ops live in xgrad.ops)."""

from ..ops import (binary_cross_entropy_with_logits, cross_entropy, gelu, leaky_relu, log_softmax, mse_loss,
                   relu, sigmoid, softmax, softplus, tanh)

__all__ = ["binary_cross_entropy_with_logits", "cross_entropy", "gelu", "leaky_relu", "log_softmax", "mse_loss",
           "relu", "sigmoid", "softmax", "softplus", "tanh"]
