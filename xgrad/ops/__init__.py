"""The op library. Every op is a forward plus VJP rules written against ``xp`` only; names follow the
array-API standard. ``grad_namespace`` is xgrad itself seen as the rule namespace
(``xgrad/backends/namespace.py``): the VJP rules run on it, with Tensors, when ``create_graph=True``,
which is how gradients become differentiable."""

from typing import Any, Callable

from .. import creation as _creation
from ..backends import current_backend as _current_backend
from ..backends.namespace import NAMES as _RULE_NAMES, RuleNamespace as _RuleNamespace
from ._core import Op, apply, op
from .elementwise import (abs, add, all, any, astype, bitwise_and, bitwise_invert, bitwise_or, bitwise_xor, clip,
                          cos, divide, equal, exp, expm1, full_like, gelu,
                          greater, greater_equal, isfinite, isnan, leaky_relu, less, less_equal, log, log1p,
                          logical_and, logical_not, logical_or, maximum, minimum, multiply, negative,
                          not_equal, ones_like, onehot, pow, relu, sigmoid, sign, sin, softplus, sqrt,
                          square, subtract, tanh, where, zeros_like)
from .indexing import _getitem, getitem, index_add, take, take_along_axis
from .linalg import matmul, matrix_transpose
from .nn import (binary_cross_entropy_with_logits, cross_entropy, log_softmax, mse_loss, softmax)
from .reduction import argmax, argmin, logsumexp, max, mean, min, sum, var
from .shape import broadcast_to, concat, expand_dims, flip, permute_dims, reshape, squeeze, stack
from .transfer import asarray, to
from .conv import conv1d, conv2d, conv_transpose2d, fold, pad, unfold
from .pool import adaptive_avg_pool2d, avg_pool2d, interpolate, max_pool2d
from .activations import (celu, elu, erf, gelu_erf, hardsigmoid, hardswish, hardtanh, logsigmoid, mish, selu, silu,
                          softplus_beta, softsign, tanhshrink)
from .embedding import embedding

def _namespace_info() -> Any:
    """The array-API inspection object of the current backend's library (its dtypes by name). Only
    forwards use it, and they run on a backend's namespace; it is here so the names agree."""
    return _current_backend().namespace.__array_namespace_info__()


_CREATION: dict[str, Callable[..., Any]] = {"zeros": _creation.zeros, "ones": _creation.ones, "full": _creation.full,
             "arange": _creation.arange, "eye": _creation.eye, "__array_namespace_info__": _namespace_info}

# a contract name xgrad does not supply (no op of that name here) is reported as missing by _RuleNamespace
grad_namespace = _RuleNamespace({name: _CREATION.get(name) or globals()[name] for name in _RULE_NAMES
                                 if name in _CREATION or name in globals()}, "xgrad")

# ops whose result may share its input's memory: the two share one version counter
for _o in (reshape, permute_dims, matrix_transpose, expand_dims, squeeze, broadcast_to, flip, _getitem):
    _o.views = True
