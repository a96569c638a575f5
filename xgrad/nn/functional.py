"""Neural-network functions: activations and losses (the ops live in xgrad.ops), plus ``linear`` (one
fused op: x @ W.T + b) and ``dropout``."""

from __future__ import annotations

from ..errors import DTypeError
from ..observe import draw
from ..ops import leaky_relu, relu, sigmoid, tanh
from ..ops import multiply as _multiply
from ..ops.conv import conv1d, conv2d, conv_transpose2d, fold, pad, unfold
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, interpolate, max_pool2d
from ..ops._core import op as _op
from ..tensor import Tensor

__all__ = ["binary_cross_entropy_with_logits", "cross_entropy", "dropout", "gelu", "leaky_relu", "linear",
           "log_softmax", "mse_loss", "relu", "sigmoid", "softmax", "softplus", "tanh"]
__all__ += ["conv1d", "conv2d", "conv_transpose2d", "unfold", "fold", "pad", "max_pool2d", "avg_pool2d",
            "adaptive_avg_pool2d", "interpolate"]


def __dir__() -> list[str]:  # dir() and tab completion list the public names, not this module's imports
    return sorted(__all__)


@_op(name="linear")
def _linear(xp, x, weight, bias):
    if x.dtype != weight.dtype or bias is not None and bias.dtype != weight.dtype:
        # PyTorch refuses too; promoting would silently compute in another precision than the layer's
        def name(a):  # "float32", whatever the library's dtype object prints ("torch.float32", ...)
            return str(a.dtype).rsplit(".", 1)[-1]
        raise DTypeError(f"xgrad.nn.functional.linear: input {name(x)} and weight {name(weight)}"
                         + (f" and bias {name(bias)}" if bias is not None else "") + " differ; cast the input "
                         "with .to(dtype) (or the layer with .to(dtype)) so they share one dtype")
    y = xp.matmul(x, xp.matrix_transpose(weight))
    return y if bias is None else y + bias


def _linear_check(x, weight, bias=None):
    """Why ``linear`` failed, from the shapes: in_features is the usual mistake (a flatten's size)."""
    if weight.ndim != 2:
        return f"the weight must be 2-D (out_features, in_features), got shape {tuple(weight.shape)}"
    features = x.shape[-1] if x.ndim else None
    if features != weight.shape[1]:
        return (f"the input has {features} features on its last axis, shape {tuple(x.shape)}, but the weight "
                f"(out_features, in_features) = {tuple(weight.shape)} takes {weight.shape[1]}; set in_features to "
                f"{features} (after a flatten: channels x height x width)")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        return f"the bias must have shape ({weight.shape[0]},), one per output feature, got {tuple(bias.shape)}"
    return None


_linear.check = _linear_check


def _linear_grad_x(xp, g, out, x, weight, bias):
    return xp.matmul(g, weight)


def _linear_grad_w(xp, g, out, x, weight, bias):
    if x.ndim == 2:
        return xp.matmul(xp.matrix_transpose(g), x)
    if x.ndim == 1:
        return xp.reshape(g, (-1, 1)) * xp.reshape(x, (1, -1))
    g2 = xp.reshape(g, (-1, g.shape[-1]))
    return xp.matmul(xp.matrix_transpose(g2), xp.reshape(x, (-1, x.shape[-1])))


def _linear_grad_b(xp, g, out, x, weight, bias):
    if g.ndim == 1:
        return g
    return xp.sum(g, axis=tuple(range(g.ndim - 1)))


_linear.defvjp(_linear_grad_x, _linear_grad_w, _linear_grad_b)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` as one op (one graph node, three matmul-sized kernels in backward).
    ``weight`` has shape (out_features, in_features), as in PyTorch."""
    return _linear(x, weight, bias)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (identity when not training).
    The mask comes from the backend's seeded generator (``xgrad.manual_seed``)."""
    if not training or p == 0.0:
        return x
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must lie in [0, 1], got {p}")
    b = x._backend
    if p == 1.0:
        return _multiply(x, 0.0)
    u = draw(b, "uniform", x.shape, 0.0, 1.0, dtype=x.data.dtype, device=x.device)
    mask = b.xp.astype(u >= p, x.data.dtype) * (1.0 / (1.0 - p))
    return _multiply(x, mask)


# PyTorch's signatures over the ops (dim=, approximate=, beta/threshold, weight=, ignore_index=, ...)
from .functional_activations import (celu, elu, gelu, glu, hardsigmoid, hardswish, hardtanh,  # noqa: E402
                                     log_softmax, logsigmoid, mish, relu6, selu, silu, softmax, softplus, softsign,
                                     tanhshrink)
from .functional_layers import (alpha_dropout, batch_norm, dropout1d, dropout2d, embedding, group_norm,  # noqa: E402
                                layer_norm, one_hot)
from .functional_losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cosine_similarity,  # noqa: E402
                                cross_entropy, huber_loss, kl_div, l1_loss, mse_loss, nll_loss, smooth_l1_loss)

__all__ += ["celu", "elu", "glu", "hardsigmoid", "hardswish", "hardtanh", "logsigmoid", "mish", "relu6", "selu",
            "silu", "softsign", "tanhshrink", "alpha_dropout", "batch_norm", "dropout1d", "dropout2d", "embedding",
            "group_norm", "layer_norm", "one_hot", "binary_cross_entropy", "cosine_similarity", "huber_loss",
            "kl_div", "l1_loss", "nll_loss", "smooth_l1_loss"]
