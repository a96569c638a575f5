"""The one table of Tensor operators and methods that compute: each is an op (or autograd) call.

``xgrad/tensor.py`` defines what a Tensor is; this module gives it ``+``, ``@``, ``sum``,
``backward``, ``to`` and the rest, in one place, when ``xgrad`` is imported.
"""

from __future__ import annotations

from typing import Any, Callable

from .. import autograd
from ..backends import known_backends
from ..tensor import Tensor
from . import (abs, add, argmax, astype, clip, cos, divide, equal, exp, expand_dims, getitem, greater,
               greater_equal, less, less_equal, log, log_softmax, logical_and, logical_not, logical_or,
               logsumexp, matmul, matrix_transpose, max, mean, min, multiply, negative, not_equal,
               permute_dims, pow, relu, reshape, sigmoid, sin, softmax, sqrt, squeeze, subtract, sum, tanh, to,
               var)


def _reflected(f: Callable[[Any, Any], Tensor]) -> Callable[[Tensor, Any], Tensor]:
    return lambda self, other: f(other, self)


def _shape_args(args: tuple) -> tuple:
    """``t.reshape(2, 3)`` and ``t.reshape((2, 3))`` alike."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


_DTYPE_NAMES = {"float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64", "uint8",
                "bool", "complex64", "complex128"}


def _to(self: Tensor, *args: Any, backend: Any = None, device: Any = None, dtype: Any = None) -> Tensor:
    """A copy on another backend, device or dtype: ``t.to("torch")``, ``t.to("float32")``,
    ``t.to(device="cuda:0")``. Differentiable."""
    for a in args:
        text = str(a)
        if text in known_backends() or text in ("np", "strict", "cp", "pytorch"):
            backend = a
        elif text.rsplit(".", 1)[-1] in _DTYPE_NAMES:
            dtype = text.rsplit(".", 1)[-1]
        else:
            device = a
    return to(self, backend=backend, device=device, dtype=dtype)


def _backward(self: Tensor, gradient: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
    """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
    autograd.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)


METHODS: dict[str, Any] = {
    # operators
    "__add__": add, "__radd__": _reflected(add),
    "__sub__": subtract, "__rsub__": _reflected(subtract),
    "__mul__": multiply, "__rmul__": _reflected(multiply),
    "__truediv__": divide, "__rtruediv__": _reflected(divide),
    "__pow__": pow, "__rpow__": _reflected(pow),
    "__matmul__": matmul, "__rmatmul__": _reflected(matmul),
    "__neg__": negative, "__pos__": lambda self: self, "__abs__": abs,
    "__eq__": equal, "__ne__": not_equal, "__lt__": less, "__le__": less_equal, "__gt__": greater,
    "__ge__": greater_equal,
    "__invert__": logical_not, "__and__": logical_and, "__or__": logical_or,
    "__getitem__": getitem,
    # gradients, conversion
    "backward": _backward,
    "to": _to,
    "astype": lambda self, dtype: astype(self, self._backend.dtype(dtype)),
    "float": lambda self: astype(self, self._backend.dtype("float32")),
    "double": lambda self: astype(self, self._backend.dtype("float64")),
    # transposes and shapes
    "T": property(lambda self: permute_dims(self, tuple(range(self.ndim))[::-1])),
    "mT": property(matrix_transpose),
    "reshape": lambda self, *shape: reshape(self, _shape_args(shape)),
    "view": lambda self, *shape: reshape(self, _shape_args(shape)),
    "permute": lambda self, *axes: permute_dims(self, _shape_args(axes)),
    "squeeze": lambda self, axis: squeeze(self, axis),
    "unsqueeze": lambda self, axis: expand_dims(self, axis=axis),
    "flatten": lambda self: reshape(self, (-1,)),
    # reductions
    "sum": lambda self, axis=None, keepdims=False: sum(self, axis=axis, keepdims=keepdims),
    "mean": lambda self, axis=None, keepdims=False: mean(self, axis=axis, keepdims=keepdims),
    "max": lambda self, axis=None, keepdims=False: max(self, axis=axis, keepdims=keepdims),
    "min": lambda self, axis=None, keepdims=False: min(self, axis=axis, keepdims=keepdims),
    "var": lambda self, axis=None, correction=0.0, keepdims=False: var(self, axis=axis, correction=correction,
                                                                        keepdims=keepdims),
    "logsumexp": lambda self, axis=None, keepdims=False: logsumexp(self, axis=axis, keepdims=keepdims),
    "argmax": lambda self, axis=None, keepdims=False: argmax(self, axis=axis, keepdims=keepdims),
    # elementwise
    "exp": exp, "log": log, "sqrt": sqrt, "abs": abs, "sin": sin, "cos": cos, "tanh": tanh,
    "sigmoid": sigmoid, "relu": relu,
    "clip": lambda self, min=None, max=None: clip(self, min=min, max=max),
    "clamp": lambda self, min=None, max=None: clip(self, min=min, max=max),
    "matmul": matmul,
    "softmax": lambda self, axis=-1: softmax(self, axis=axis),
    "log_softmax": lambda self, axis=-1: log_softmax(self, axis=axis),
}


def attach() -> None:
    """Put every entry of ``METHODS`` on Tensor (ops are plain objects, not functions: wrap them so
    they bind ``self`` like methods)."""
    for name, f in METHODS.items():
        if not isinstance(f, property) and not callable(getattr(f, "__get__", None)):
            f = _as_method(f)
        setattr(Tensor, name, f)


def _as_method(o: Any) -> Callable[..., Tensor]:
    def method(self: Tensor, *args: Any, **kw: Any) -> Tensor:
        return o(self, *args, **kw)
    method.__name__ = getattr(o, "name", "method")
    return method

