"""The op library. Every op is a forward plus VJP rules written against ``xp`` only; names follow the
array-API standard. ``grad_namespace`` is xgrad itself seen as an array namespace: the VJP rules run
on it (with Tensors) when ``create_graph=True``, which is how gradients become differentiable."""

import types

from ._core import Op, apply, op
from .elementwise import (abs, add, astype, clip, cos, divide, equal, exp, expm1, full_like, gelu, greater,
                          greater_equal, isfinite, isnan, leaky_relu, less, less_equal, log, log1p,
                          logical_and, logical_not, logical_or, maximum, minimum, multiply, negative,
                          not_equal, ones_like, onehot, pow, relu, sigmoid, sign, sin, softplus, sqrt,
                          square, subtract, tanh, where, zeros_like)
from .indexing import getitem, index_add
from .linalg import matmul, matrix_transpose
from .nn import (binary_cross_entropy_with_logits, cross_entropy, log_softmax, mse_loss, softmax)
from .reduction import logsumexp, max, mean, min, sum, var
from .shape import broadcast_to, concat, expand_dims, flip, permute_dims, reshape, squeeze, stack
from .transfer import to

argmax = op(lambda xp, a, axis=None, keepdims=False: xp.argmax(a, axis=axis, keepdims=keepdims), name="argmax")
argmin = op(lambda xp, a, axis=None, keepdims=False: xp.argmin(a, axis=axis, keepdims=keepdims), name="argmin")

grad_namespace = types.SimpleNamespace(**{
    name: value for name, value in globals().items()
    if not name.startswith("_") and (isinstance(value, Op) or callable(value)) and name not in ("op", "apply", "Op")
})
