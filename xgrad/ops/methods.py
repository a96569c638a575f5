"""The one table of Tensor operators and methods that compute: each is an op (or autograd) call.

``xgrad/tensor.py`` defines what a Tensor is; this module gives it ``+``, ``@``, ``sum``,
``backward``, ``to`` and the rest, in one place, when ``xgrad`` is imported.
"""

from __future__ import annotations

from typing import Any, Callable

import operator

from .. import _state, autograd, inplace
from ..backends import known_backends
from ..errors import BackendMismatchError, GraphError
from ..tensor import Tensor
from .indexing import _unwrap
from . import (abs, add, argmax, astype, bitwise_and, bitwise_invert, bitwise_or, bitwise_xor, clip, cos, divide,
               equal, exp, expand_dims, getitem, greater,
               greater_equal, less, less_equal, log, log_softmax,
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


def _reduction(f: Any) -> Callable[..., Tensor]:
    """``t.sum(axis, keepdims)`` and friends (``t.var`` also takes ``correction``). NumPy's ``np.sum(t)``,
    ``np.var(t)`` call them with ``dtype``, ``out`` (and ``ddof``), so they get a differentiable Tensor
    back; ``out=`` arrays are refused: they would drop the graph."""
    def method(self: Tensor, axis: Any = None, keepdims: bool = False, dtype: Any = None, out: Any = None,
               correction: float | None = None, ddof: float | None = None) -> Tensor:
        if out is not None:
            raise TypeError(f"{f.name}: out= is not supported on xgrad tensors (the result is a new tensor)")
        if ddof is not None:  # NumPy's name for it
            correction = ddof
        if correction is not None and f is not var:
            raise TypeError(f"{f.name}() takes no correction (ddof); only var does")
        extra = {} if correction is None else {"correction": correction}
        result = f(self, axis=axis, keepdims=keepdims, **extra)
        return result if dtype is None else astype(result, self._backend.dtype(dtype))
    method.__name__ = f.name
    return method


def _backward(self: Tensor, gradient: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
    """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
    autograd.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)


def _check_inplace(t: Tensor, name: str, values: tuple) -> None:
    """In-place changes are checked, never recorded: refused where they would have to be."""
    if not _state.mode.grad_enabled:
        return
    if t.requires_grad and t.is_leaf:
        raise GraphError(
            f"{name}: a leaf tensor that requires grad (shape {t.shape}) cannot be changed in place while "
            "gradients are recorded; do it under `with xgrad.no_grad():` (as optimizers do)")
    if t.requires_grad or any(type(v) is Tensor and v.requires_grad for v in values):
        raise GraphError(
            f"{name}: in-place changes are not recorded in the graph, and this one would need to be (the "
            f"tensor of shape {t.shape} {'is part of a graph' if t.requires_grad else 'gets a value that requires grad'}); "
            "write it out of place (t = t + v), or under xgrad.no_grad() if no gradient should flow through it")


def _array(t: Tensor, value: Any) -> Any:
    """``value`` as something ``t``'s array can be combined with in place: a raw array of ``t``'s backend
    or a Python scalar."""
    if type(value) is Tensor:
        if value._backend is not t._backend:
            raise BackendMismatchError(
                f"in-place update of a tensor on {t.backend!r} with one on {value.backend!r}; move it with "
                f".to({t.backend!r}) first")
        return value.data
    if type(value) in (int, float, bool) or t._backend.is_array(value):
        return value
    return t._backend.asarray(value)


def _inplace(name: str, op: Callable[[Any, Any], Any]) -> Callable[..., Tensor]:
    def method(self: Tensor, other: Any) -> Tensor:
        _check_inplace(self, name, (other,))
        return inplace.update_(self, op, _array(self, other))
    method.__name__ = name
    return method


def _fill_(self: Tensor, value: Any) -> Tensor:
    """Every element set to ``value``, in place."""
    _check_inplace(self, "fill_", (value,))
    return inplace.update_(self, inplace.assign, _array(self, value))


def _copy_(self: Tensor, src: Any) -> Tensor:
    """The values of ``src`` (broadcast to this tensor's shape, cast to its dtype), in place."""
    _check_inplace(self, "copy_", (src,))
    return inplace.update_(self, inplace.assign, _array(self, src))


def _clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Values limited to [min, max], in place."""
    _check_inplace(self, "clamp_", (min, max))
    a = self.data
    return inplace.update_(self, inplace.assign, self._backend.xp.clip(a, _array(self, min) if min is not None
                                                                       else None,
                                                                       _array(self, max) if max is not None
                                                                       else None))


def _setitem(self: Tensor, index: Any, value: Any) -> None:
    """``t[index] = value``, in place (not recorded: under no_grad, or on tensors outside any graph)."""
    _check_inplace(self, "__setitem__", (value,))
    inplace.setitem_(self, _unwrap(index, self._backend), _array(self, value))


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
    # bitwise on integer tensors, logical on bool tensors (as in PyTorch)
    "__invert__": bitwise_invert, "__and__": bitwise_and, "__rand__": _reflected(bitwise_and),
    "__or__": bitwise_or, "__ror__": _reflected(bitwise_or), "__xor__": bitwise_xor,
    "__rxor__": _reflected(bitwise_xor),
    "__getitem__": getitem,
    # in place: checked (a version bump; refused where a gradient would have to be recorded)
    "__iadd__": _inplace("add_", operator.iadd), "__isub__": _inplace("sub_", operator.isub),
    "__imul__": _inplace("mul_", operator.imul), "__itruediv__": _inplace("div_", operator.itruediv),
    "add_": _inplace("add_", operator.iadd), "sub_": _inplace("sub_", operator.isub),
    "mul_": _inplace("mul_", operator.imul), "div_": _inplace("div_", operator.itruediv),
    "fill_": _fill_, "zero_": lambda self: _fill_(self, 0), "copy_": _copy_, "clamp_": _clamp_,
    "__setitem__": _setitem,
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
    "sum": _reduction(sum), "mean": _reduction(mean), "max": _reduction(max), "min": _reduction(min),
    "var": _reduction(var),
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
    "numel": lambda self: int(self.size),  # PyTorch's name for the number of elements
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

