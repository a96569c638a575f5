"""The one table of Tensor operators and methods that compute: each is an op (or autograd) call.

``xgrad/tensor.py`` defines what a Tensor is; this module gives it ``+``, ``@``, ``sum``,
``backward``, ``to`` and the rest, in one place, when ``xgrad`` is imported.
"""

from __future__ import annotations

from typing import Any, Callable

import operator

import xgrad as _xgrad  # the package (being imported): Tensor.__array_namespace__ returns it

from .. import _state, autograd, inplace
from ..backends import known_backends
from ..errors import BackendMismatchError, DTypeError, GraphError
from ..tensor import Tensor
from ._core import Op
from .assign import record_setitem
from .indexing import _unwrap
from .sorting import ValuesIndices
from . import all as _all, any as _any
from .. import ops as _m
from . import (abs, add, argmax, argmin, argsort, astype, chunk, count_nonzero, cumulative_prod,
               cumulative_sum, diff, flip, gather, maximum, minimum, moveaxis, nonzero, prod, repeat, roll, scatter,
               scatter_add, split, stack, std, take_along_axis, tile, topk, unstack, bitwise_and, bitwise_invert, bitwise_or, bitwise_xor, clip, cos, divide,
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


_UNSET: Any = object()  # an argument not given (None is a value: "all axes")


def _either(name: str, torch_value: Any, torch_name: str, value: Any, value_name: str, default: Any) -> Any:
    """A method argument given under PyTorch's name (``dim``, ``keepdim``) or the standard's and NumPy's
    (``axis``, ``keepdims``): one of them, or ``default``."""
    if torch_value is not _UNSET:
        if value is not _UNSET:
            raise TypeError(f"{name}(): {torch_name}= and {value_name}= name the same argument; give one of them")
        return torch_value
    return default if value is _UNSET else value


def _reduction(f: Any) -> Callable[..., Tensor]:
    """``t.sum(dim, keepdim)`` and friends, also as ``t.sum(axis=..., keepdims=...)``; ``dtype=`` casts
    the result (``sum`` and ``prod`` compute in it). NumPy's ``np.sum(t)``, ``np.mean(t)`` call them with
    ``dtype`` and ``out``, so they get a differentiable Tensor back; ``out=`` arrays are refused: they
    would drop the graph."""
    def method(self: Tensor, dim: Any = _UNSET, keepdim: Any = _UNSET, dtype: Any = None, out: Any = None, *,
               axis: Any = _UNSET, keepdims: Any = _UNSET, correction: Any = None, ddof: Any = None) -> Tensor:
        if out is not None:
            raise TypeError(f"{f.name}: out= is not supported on xgrad tensors (the result is a new tensor)")
        if correction is not None or ddof is not None:
            raise TypeError(f"{f.name}() takes no correction (ddof); only var and std do")
        # (inline rather than _either: t.sum() is on the hot path of training loops)
        if axis is _UNSET:
            axis = None if dim is _UNSET else dim
        elif dim is not _UNSET:
            raise TypeError(f"{f.name}(): dim= and axis= name the same argument; give one of them")
        if keepdims is _UNSET:
            keepdims = False if keepdim is _UNSET else keepdim
        elif keepdim is not _UNSET:
            raise TypeError(f"{f.name}(): keepdim= and keepdims= name the same argument; give one of them")
        if dtype is None:
            return f(self, axis=axis, keepdims=keepdims)
        if f is sum or f is prod:  # these compute in dtype
            return f(self, axis=axis, dtype=dtype, keepdims=keepdims)
        return astype(f(self, axis=axis, keepdims=keepdims), self._backend.dtype(dtype))
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


def _inplace_as(name: str, fn: Callable[[Any, Any], Tensor]) -> Callable[..., Tensor]:
    """``t op= v`` computed by xgrad's out-of-place function ``fn`` (its semantics and errors: floor
    division by an integer zero raises, infinities as the op defines them), then written into ``t``. The
    result must keep ``t``'s dtype, as in PyTorch (an int tensor ``//=`` a float is refused, not truncated)."""
    def method(self: Tensor, other: Any) -> Tensor:
        _check_inplace(self, name, (other,))
        with autograd.no_grad():
            result = fn(self, other)
        if result.dtype != self.dtype:
            raise DTypeError(f"{name}: the result of {fn.__name__} is {result.dtype}, which cannot be written into "
                             f"a {self.dtype} tensor in place; write it out of place (t = xgrad.{fn.__name__}(t, v))")
        return inplace.update_(self, inplace.assign, result.data)
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
    """``t[index] = value``: in place under no_grad or on tensors outside any graph; where a gradient
    must flow (``t`` is in a graph, or ``value`` requires grad), recorded as an op that ``t`` becomes
    the result of (``xgrad/ops/assign.py``), as PyTorch records it."""
    if _state.mode.grad_enabled and (self.requires_grad or (type(value) is Tensor and value.requires_grad)) \
            and not (self.requires_grad and self.is_leaf):
        if type(value) is Tensor and value._backend is not self._backend:
            _array(self, value)  # raises the backend mismatch
        record_setitem(self, _unwrap(index, self._backend), value)
        return
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
    # (as PyTorch's: the tensor itself where it has the dtype already, so writes reach it)
    "float": lambda self: astype(self, self._backend.dtype("float32"), copy=False),
    "double": lambda self: astype(self, self._backend.dtype("float64"), copy=False),
    # transposes and shapes
    "T": property(lambda self: permute_dims(self, tuple(range(self.ndim))[::-1])),
    "mT": property(matrix_transpose),
    "reshape": lambda self, *shape: reshape(self, _shape_args(shape)),
    "view": lambda self, *shape: reshape(self, _shape_args(shape)),
    "permute": lambda self, *axes: permute_dims(self, _shape_args(axes)),
    "flatten": lambda self: reshape(self, (-1,)),
    # reductions, sorting and the dim=/axis= methods: METHODS.update at the end
    # elementwise
    "exp": exp, "log": log, "sqrt": sqrt, "abs": abs, "sin": sin, "cos": cos, "tanh": tanh,
    "sigmoid": sigmoid, "relu": relu,
    "clip": lambda self, min=None, max=None: clip(self, min=min, max=max),
    "clamp": lambda self, min=None, max=None: clip(self, min=min, max=max),
    "matmul": matmul,
    "numel": lambda self: int(self.size),  # PyTorch's name for the number of elements
    # the array-API standard's array object
    "__array_namespace__": lambda self, /, *, api_version=None: _namespace(api_version),
    "to_device": lambda self, device, /, *, stream=None: to(self, device=device),
    "__ipow__": _inplace_as("pow_", pow), "__iand__": _inplace_as("bitwise_and_", bitwise_and),
    "__ior__": _inplace_as("bitwise_or_", bitwise_or), "__ixor__": _inplace_as("bitwise_xor_", bitwise_xor),
    # elementwise functions, as torch.Tensor's methods (clamp/clip above take tensor bounds too)
    "floor": _m.floor, "ceil": _m.ceil, "trunc": _m.trunc,
    "round": lambda self, decimals=0: _m.round(self, decimals=decimals),
    "sign": _m.sign, "signbit": _m.signbit, "positive": _m.positive, "neg": negative, "negative": negative,
    "square": _m.square, "reciprocal": _m.reciprocal, "expm1": _m.expm1, "log1p": _m.log1p, "log2": _m.log2,
    "log10": _m.log10, "tan": _m.tan, "sinh": _m.sinh, "cosh": _m.cosh,
    "asin": _m.asin, "acos": _m.acos, "atan": _m.atan, "asinh": _m.asinh, "acosh": _m.acosh, "atanh": _m.atanh,
    "arcsin": _m.asin, "arccos": _m.acos, "arctan": _m.atan, "arcsinh": _m.asinh, "arccosh": _m.acosh,
    "arctanh": _m.atanh, "atan2": _m.atan2, "arctan2": _m.atan2, "hypot": _m.hypot, "copysign": _m.copysign,
    "logaddexp": _m.logaddexp, "nextafter": _m.nextafter, "remainder": _m.remainder,
    "floor_divide": _m.floor_divide, "maximum": _m.maximum, "minimum": _m.minimum,
    "isnan": _m.isnan, "isinf": _m.isinf, "isfinite": _m.isfinite,
    "isclose": _m.isclose, "allclose": _m.allclose,
    "logical_and": _m.logical_and, "logical_or": _m.logical_or, "logical_xor": _m.logical_xor,
    "logical_not": _m.logical_not, "bitwise_not": bitwise_invert,
    "bitwise_left_shift": _m.bitwise_left_shift, "bitwise_right_shift": _m.bitwise_right_shift,
    "conj": _m.conj, "real": property(lambda self: _m.real(self) if "complex" in str(self.data.dtype) else self), "imag": property(_m.imag),
    # //, %, <<, >> (as torch: floor division, the remainder with the divisor's sign, shifts)
    "__floordiv__": _m.floor_divide, "__rfloordiv__": _reflected(_m.floor_divide),
    "__mod__": _m.remainder, "__rmod__": _reflected(_m.remainder),
    "__lshift__": _m.bitwise_left_shift, "__rlshift__": _reflected(_m.bitwise_left_shift),
    "__rshift__": _m.bitwise_right_shift, "__rrshift__": _reflected(_m.bitwise_right_shift),
    "__ifloordiv__": _inplace_as("floor_divide_", _m.floor_divide),
    "__imod__": _inplace_as("remainder_", _m.remainder),
    "__ilshift__": _inplace_as("bitwise_left_shift_", _m.bitwise_left_shift),
    "__irshift__": _inplace_as("bitwise_right_shift_", _m.bitwise_right_shift),
}

API_VERSIONS = ("2021.12", "2022.12", "2023.12", "2024.12")


def _namespace(api_version: str | None) -> Any:
    """The ``xgrad`` module: the array-API namespace of every Tensor (``array_api_compat.array_namespace``
    and SciPy find it through ``__array_namespace__``)."""
    if api_version is not None and api_version not in API_VERSIONS:
        raise ValueError(f"xgrad implements the array API {', '.join(API_VERSIONS)}, not {api_version!r}")
    return _xgrad


def attach() -> None:
    """Put every entry of ``METHODS`` on Tensor (ops are plain objects, not functions: wrap them so
    they bind ``self`` like methods)."""
    for name, f in METHODS.items():
        if isinstance(f, Op) or (not isinstance(f, property) and not callable(getattr(f, "__get__", None))):
            f = _as_method(f)
        setattr(Tensor, name, f)


def _as_method(o: Any) -> Callable[..., Tensor]:
    def method(self: Tensor, *args: Any, **kw: Any) -> Tensor:
        return o(self, *args, **kw)
    method.__name__ = getattr(o, "name", "method")
    return method



# ---- PyTorch's tensor methods of the statistics, sorting and manipulation kind ------------------
# Each takes PyTorch's argument names (dim, keepdim) and the standard's (axis, keepdims), never both.
# Where PyTorch's method means something else than the standard function of the same name, the
# method is PyTorch's: t.repeat tiles, t.var/t.std default to correction=1, t.sort and t.max(dim)
# return (values, indices), t.nonzero() is one (count, ndim) tensor.


def _var_method(f: Any) -> Callable[..., Tensor]:
    def method(self: Tensor, dim: Any = _UNSET, *, correction: float | None = None, keepdim: Any = _UNSET,
               unbiased: bool | None = None, axis: Any = _UNSET, keepdims: Any = _UNSET, ddof: float | None = None,
               dtype: Any = None, out: Any = None) -> Tensor:
        if out is not None:
            raise TypeError(f"{f.name}: out= is not supported on xgrad tensors (the result is a new tensor)")
        given = [c for c in (correction, ddof, None if unbiased is None else int(unbiased)) if c is not None]
        if len(given) > 1:
            raise TypeError(f"{f.name}(): give one of correction=, unbiased= and ddof=")
        result = f(self, axis=_either(f.name, dim, "dim", axis, "axis", None),
                   correction=given[0] if given else 1,
                   keepdims=_either(f.name, keepdim, "keepdim", keepdims, "keepdims", False))
        return result if dtype is None else astype(result, self._backend.dtype(dtype))
    method.__name__ = f.name
    method.__doc__ = (f"PyTorch's ``Tensor.{f.name}``: ``correction`` defaults to 1 (the sample estimate). "
                      f"NumPy's ``np.{f.name}(t)`` passes ``ddof`` (0 by default) and gets NumPy's number.")
    return method


def _extreme(f: Any, pick: Any, elementwise: Any) -> Callable[..., Any]:
    def method(self: Tensor, dim: Any = _UNSET, keepdim: Any = _UNSET, *, axis: Any = _UNSET,
               keepdims: Any = _UNSET, out: Any = None) -> Any:
        if out is not None:
            raise TypeError(f"{f.name}: out= is not supported on xgrad tensors (the result is a new tensor)")
        if type(dim) is Tensor:
            return elementwise(self, dim)
        keep = _either(f.name, keepdim, "keepdim", keepdims, "keepdims", False)
        if dim is _UNSET or dim is None or isinstance(dim, tuple):
            return f(self, axis=_either(f.name, dim, "dim", axis, "axis", None), keepdims=keep)
        if axis is not _UNSET:
            raise TypeError(f"{f.name}(): dim= and axis= name the same argument; give one of them")
        indices = pick(self, axis=dim, keepdims=True)
        values = take_along_axis(self, indices, axis=dim)
        if not keep:
            indices, values = squeeze(indices, dim), squeeze(values, dim)
        return ValuesIndices(values, indices)
    method.__name__ = f.name
    method.__doc__ = (f"PyTorch's ``Tensor.{f.name}``: ``t.{f.name}()`` over all entries (ties share the "
                      f"gradient), ``t.{f.name}(dim)`` the values and indices along ``dim`` (the first among "
                      f"ties, which gets the gradient), ``t.{f.name}(other)`` elementwise; "
                      f"``t.{f.name}(axis=...)`` is the standard's ``{f.name}`` (a tensor).")
    return method


def _dims(name: str, dims: tuple, dim: Any, axis: Any, default: Any = None) -> Any:
    """``t.flip(0, 1)``, ``t.flip((0, 1))``, ``t.flip(dims=...)``, ``t.flip(axis=...)`` alike."""
    if dims:
        if dim is not _UNSET or axis is not _UNSET:
            raise TypeError(f"{name}(): the dimensions are given twice")
        return dims[0] if len(dims) == 1 else tuple(dims)
    return _either(name, dim, "dims", axis, "axis", default)


def _squeeze(self: Tensor, dim: Any = _UNSET, *, axis: Any = _UNSET) -> Tensor:
    """Without the axes ``dim`` of length 1 (PyTorch's: every axis of length 1 when none is named, and a
    named axis of another length stays); ``axis=``: the standard's (an axis of another length is an error)."""
    d = _either("squeeze", dim, "dim", axis, "axis", None)
    if d is None:
        d = tuple(i for i, n in enumerate(self.shape) if n == 1)
    elif dim is not _UNSET:
        d = tuple(i for i in ((d,) if isinstance(d, int) else d) if self.shape[i] == 1)
    return squeeze(self, d) if d != () else self


def _sort(self: Tensor, dim: Any = _UNSET, descending: bool = False, stable: bool = False, *,
          axis: Any = _UNSET) -> ValuesIndices:
    """PyTorch's ``Tensor.sort``: the sorted values and the indices they came from; ties keep their
    order (always stable)."""
    d = _either("sort", dim, "dim", axis, "axis", -1)
    indices = argsort(self, axis=d, descending=descending)
    return ValuesIndices(take_along_axis(self, indices, axis=d), indices)


def _nonzero(self: Tensor, *, as_tuple: bool = False) -> Any:
    """PyTorch's ``Tensor.nonzero``: the indices of the non-zero entries as the rows of one (count, ndim)
    tensor, or one tensor per axis with ``as_tuple=True`` (the standard's ``xgrad.nonzero``)."""
    found = nonzero(self)
    return found if as_tuple else stack(found, axis=1)


def _cumulative(f: Any) -> Callable[..., Tensor]:
    def method(self: Tensor, dim: Any = _UNSET, *, dtype: Any = None, axis: Any = _UNSET) -> Tensor:
        return f(self, axis=_either(f.name, dim, "dim", axis, "axis", None), dtype=dtype)
    method.__name__ = f.name
    return method


def _reduce(f: Any) -> Callable[..., Tensor]:
    def method(self: Tensor, dim: Any = _UNSET, keepdim: Any = _UNSET, *, axis: Any = _UNSET,
               keepdims: Any = _UNSET, out: Any = None) -> Tensor:
        if out is not None:
            raise TypeError(f"{f.name}: out= is not supported on xgrad tensors (the result is a new tensor)")
        return f(self, axis=_either(f.name, dim, "dim", axis, "axis", None),
                 keepdims=_either(f.name, keepdim, "keepdim", keepdims, "keepdims", False))
    method.__name__ = f.name
    return method


def _one_axis(name: str, f: Any, default: Any) -> Callable[..., Tensor]:
    def method(self: Tensor, dim: Any = _UNSET, *, axis: Any = _UNSET) -> Tensor:
        return f(self, axis=_either(name, dim, "dim", axis, "axis", default))
    method.__name__ = name
    return method


def _unsqueeze(self: Tensor, dim: Any = _UNSET, *, axis: Any = _UNSET) -> Tensor:
    d = _either("unsqueeze", dim, "dim", axis, "axis", _UNSET)
    if d is _UNSET:
        raise TypeError("unsqueeze() needs the position of the new axis (dim=)")
    return expand_dims(self, axis=d)


def _flip(self: Tensor, *dims: Any, axis: Any = _UNSET, **kw: Any) -> Tensor:
    if set(kw) - {"dims"}:
        raise TypeError(f"flip() got unexpected arguments {sorted(set(kw) - {'dims'})}")
    return flip(self, axis=_dims("flip", dims, kw.get("dims", _UNSET), axis))


METHODS.update({
    "sum": _reduction(sum), "mean": _reduction(mean), "prod": _reduction(prod),
    "var": _var_method(var), "std": _var_method(std),
    "max": _extreme(max, argmax, maximum), "min": _extreme(min, argmin, minimum),
    "argmax": _reduce(argmax), "argmin": _reduce(argmin), "all": _reduce(_all), "any": _reduce(_any),
    "logsumexp": _reduce(logsumexp),
    "count_nonzero": lambda self, dim=_UNSET, *, axis=_UNSET, keepdims=False: count_nonzero(
        self, axis=_either("count_nonzero", dim, "dim", axis, "axis", None), keepdims=keepdims),
    "softmax": _one_axis("softmax", softmax, -1), "log_softmax": _one_axis("log_softmax", log_softmax, -1),
    "cumsum": _cumulative(cumulative_sum), "cumprod": _cumulative(cumulative_prod),
    "squeeze": _squeeze, "unsqueeze": _unsqueeze, "flip": _flip,
    "sort": _sort,
    "argsort": lambda self, dim=_UNSET, descending=False, stable=False, *, axis=_UNSET: argsort(
        self, axis=_either("argsort", dim, "dim", axis, "axis", -1), descending=descending),
    "topk": lambda self, k, dim=-1, largest=True, sorted=True: topk(self, k, dim, largest, sorted),
    "nonzero": _nonzero,
    "gather": lambda self, dim, index: gather(self, dim, index),
    "scatter": lambda self, dim, index, src=None, *, value=None: scatter(self, dim, index,
                                                                          value if src is None else src),
    "scatter_add": lambda self, dim, index, src: scatter_add(self, dim, index, src),
    "split": lambda self, split_size, dim=0: split(self, split_size, dim),
    "chunk": lambda self, chunks, dim=0: chunk(self, chunks, dim),
    "unbind": lambda self, dim=0: unstack(self, axis=dim),
    "repeat": lambda self, *sizes: tile(self, _shape_args(sizes)),
    "tile": lambda self, *dims: tile(self, _shape_args(dims)),
    "repeat_interleave": lambda self, repeats, dim=None: repeat(self, repeats, axis=dim),
    "roll": lambda self, shifts, dims=None: roll(self, shifts, axis=dims),
    "diff": lambda self, n=1, dim=-1, prepend=None, append=None: diff(self, axis=dim, n=n, prepend=prepend,
                                                                      append=append),
    "movedim": lambda self, source, destination: moveaxis(self, source, destination),
    "moveaxis": lambda self, source, destination: moveaxis(self, source, destination),
})
