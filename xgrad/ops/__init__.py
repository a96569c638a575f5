"""The op library. Every op is a forward plus VJP rules written against ``xp`` only; names follow the
array-API standard. ``grad_namespace`` is xgrad itself seen as the rule namespace
(``xgrad/backends/namespace.py``): the VJP rules run on it, with Tensors, when ``create_graph=True``,
which is how gradients become differentiable."""

from typing import Any, Callable

from .. import creation as _creation
from ..backends import current_backend as _current_backend
from ..backends import windows as _windows
from ..backends.namespace import NAMES as _RULE_NAMES, SUBNAMESPACES as _EXTENSIONS, RuleNamespace as _RuleNamespace
from ._core import Op, apply, op
from .elementwise import (abs, add, all, any, astype, bitwise_and, bitwise_invert, bitwise_or, bitwise_xor,
                          check_labels, clip,
                          cos, divide, equal, exp, expm1, full_like, gelu,
                          greater, greater_equal, isfinite, isnan, leaky_relu, less, less_equal, log, log1p,
                          logical_and, logical_not, logical_or, maximum, minimum, multiply, negative,
                          not_equal, ones_like, onehot, pow, relu, sigmoid, sign, sin, softplus, sqrt,
                          square, subtract, tanh, where, zeros_like)
from .einsum import _einsum, einsum
from .indexing import _getitem, _index_add, getitem, index_add, take, take_along_axis
from .linalg import matmul, matrix_transpose, tensordot, vecdot
from . import fft as _fft, linalg as _linalg
from .nn import (binary_cross_entropy_with_logits, cross_entropy, log_softmax, mse_loss, softmax)
from .reduction import argmax, argmin, logsumexp, max, mean, min, sum, var
from .shape import broadcast_to, concat, expand_dims, flip, permute_dims, reshape, squeeze, stack
from .transfer import asarray, to
from .conv import conv1d, conv2d, conv_transpose2d, fold, pad, unfold
from .pool import adaptive_avg_pool2d, avg_pool2d, interpolate, max_pool2d
from .activations import (celu, elu, erf, gelu_erf, hardsigmoid, hardswish, hardtanh, logsigmoid, mish, selu, silu,
                          softplus_beta, softsign, tanhshrink)
from .embedding import embedding
from .indexing import gather, scatter, scatter_add
from .reduction import cumprod, cumsum, cumulative_prod, cumulative_sum, prod, std
from .shape import (broadcast_arrays, chunk, diff, moveaxis, repeat, roll, split, tile, unstack, _moveaxis)
from .sorting import (argsort, count_nonzero, isin, nonzero, searchsorted, sort, topk, unique_all, unique_counts,
                      unique_inverse, unique_values)
from .triangle import tril, triu
from .elementwise import _astype, clamp
from .shape import _concat, _stack
from .math import (acos, acosh, allclose, asin, asinh, atan, atan2, atanh, bitwise_left_shift, bitwise_right_shift,
                   ceil, conj, copysign, cosh, floor, floor_divide, hypot, imag, isclose, isinf, log2, log10,
                   logaddexp, logical_xor, nextafter, positive, real, reciprocal, remainder, round, signbit, sinh,
                   tan, trunc)

def _namespace_info() -> Any:
    """The array-API inspection object of the current backend's library (its dtypes by name). Only
    forwards use it, and they run on a backend's namespace; it is here so the names agree."""
    return _current_backend().namespace.__array_namespace_info__()


def _on_xgrad(generic: Callable[..., Any]) -> Callable[..., Any]:
    """A generic rule-namespace function of ``backends/windows.py`` computing with xgrad's own ops (so
    its result is differentiable again: second order through a convolution)."""
    def run(*args: Any, **kw: Any) -> Any:
        return generic(grad_namespace, *args, **kw)
    run.__name__ = generic.__name__
    return run


_CREATION: dict[str, Callable[..., Any]] = {"zeros": _creation.zeros, "ones": _creation.ones, "full": _creation.full,
             "arange": _creation.arange, "eye": _creation.eye, "__array_namespace_info__": _namespace_info,
             "linspace": _creation.linspace}
_CREATION.update({f.__name__: _on_xgrad(f) for f in (_windows.conv2d_forward, _windows.conv2d_grad_input,
                                                      _windows.conv2d_grad_weight)})

# the extensions xp.linalg and xp.fft: the public functions of xgrad.linalg and xgrad.fft
_EXTENSION_MODULES = {"linalg": _linalg, "fft": _fft}
# a contract name xgrad does not supply (no op of that name here) is reported as missing by _RuleNamespace
grad_namespace = _RuleNamespace({name: _CREATION.get(name) or globals()[name] for name in _RULE_NAMES
                                 if name in _CREATION or name in globals()}, "xgrad",
                                {ext: {name: getattr(_EXTENSION_MODULES[ext], name) for name in names
                                       if hasattr(_EXTENSION_MODULES[ext], name)}
                                 for ext, names in _EXTENSIONS.items()})

# ops whose result may share its input's memory: the two share one version counter
for _o in (reshape, permute_dims, matrix_transpose, expand_dims, squeeze, broadcast_to, flip, _getitem,
           _moveaxis, check_labels):
    _o.views = True

# ops whose rules give PyTorch's gradient for complex inputs too (the others refuse complex inputs that
# need a gradient): linear in their input with real coefficients, or written for complex values
for _o in (add, subtract, multiply, divide, negative, pow, square, exp, log, sqrt, abs, where, _astype,
           sum, mean, reshape, permute_dims, matrix_transpose, expand_dims, squeeze, broadcast_to, flip,
           _concat, _stack, _getitem, _index_add, matmul, vecdot, _einsum,
           _fft._fftn, _fft._ifftn, _fft._rfft, _fft._irfft):
    _o.complex_grad = True
