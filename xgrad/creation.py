"""Making tensors: from data, filled, ranges, identity, and seeded random numbers."""

from __future__ import annotations

from typing import Any

from . import _state, backends as _backends, observe
from .backends import Backend, manual_seed, placement
from .tensor import Tensor, new

__all__ = ["tensor", "as_tensor", "zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "arange", "eye",
           "rand", "randn", "randperm", "manual_seed", "set_default_dtype", "get_default_dtype", "empty",
           "empty_like", "linspace", "default_complex_dtype"]

_default_dtype = "float32"  # as in PyTorch; xgrad.set_default_dtype("float64") for float64 everywhere


def set_default_dtype(dtype: Any) -> None:
    """The floating dtype of tensors made from Python floats or by zeros/ones/rand/... ("float32" or "float64")."""
    global _default_dtype
    name = str(dtype).rsplit(".", 1)[-1]
    if name not in ("float16", "float32", "float64", "bfloat16"):
        raise TypeError(f"set_default_dtype takes a floating dtype, not {dtype!r}")
    _default_dtype = name


def get_default_dtype() -> str:
    return _default_dtype


def _python_dtype(data):
    """The default dtype Python data takes: complex, else float (the default ones), else None (the
    library decides: int64 for ints, bool for bools, and NumPy scalars keep their dtype, as in PyTorch)."""
    if type(data) is complex:  # exactly: NumPy's float64 and complex128 are subclasses of float and complex
        return default_complex_dtype()
    if type(data) is float:
        return _default_dtype
    if isinstance(data, (list, tuple)):
        found = None
        for d in data:
            kind = _python_dtype(d)
            if kind is not None and kind.startswith("complex"):
                return kind
            found = found or kind
        return found
    return None


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, backend: str | Backend | None = None,
           device: Any = None) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (Python numbers, nested lists, or any array; arrays
    keep their dtype): later writes to ``data`` do not reach it."""
    return _leaf(data, dtype, requires_grad, backend, device, copy=True)


def as_tensor(data: Any, dtype: Any = None, requires_grad: bool = False, backend: str | Backend | None = None,
              device: Any = None, copy: bool | None = None) -> Tensor:
    """Like ``tensor``, but sharing ``data``'s memory where no conversion is needed (an array of the
    backend, of the dtype and device asked): writes to ``data`` then change the tensor, untracked.
    ``copy=True`` always copies; ``copy=False`` raises ValueError where a copy is needed."""
    return _leaf(data, dtype, requires_grad, backend, device, copy=copy)


def _leaf(data: Any, dtype: Any, requires_grad: bool, backend: str | Backend | None, device: Any,
          copy: bool | None) -> Tensor:
    source = data if isinstance(data, Tensor) else None
    if source is not None:
        if backend is None:  # a tensor stays on its backend unless one is named
            backend = source._backend
        data = data.data if _backends.get_backend(backend) is data._backend else data.detach().numpy()
    b, device = placement(backend, device)
    if dtype is None:
        dtype = _python_dtype(data)
    if source is not None and not copy and dtype is None and device is None and source._backend is b:
        t = new(source.data, b)  # as_tensor of a tensor: the same array
    elif observe.adopts(b, data):  # an array xgrad.compile is tracing: copied by a recorded call
        t = new(b.xp.asarray(data, dtype=b.dtype(dtype) if dtype is not None else None, copy=copy), b)
    else:
        t = new(b.asarray(data, dtype=dtype, device=device, copy=copy), b)
    if source is not None and t._data is source._data:  # shares the array: and so its version
        if source._version is None:
            source._version = [0]
        t._version = source._version
    if requires_grad:
        t.requires_grad_(True)
    elif not _state.complex_seen and "complex" in str(t._data.dtype):
        _state.complex_seen = True  # it may be marked requires_grad later: ops check their inputs
    return t


def _shape(shape, sizes, fn):
    """The standard's ``shape`` (an int or a tuple), or PyTorch's sizes (``zeros(2, 3)``)."""
    if sizes:
        return (shape,) + sizes if isinstance(shape, int) else _bad_shape(fn, (shape,) + sizes)
    if isinstance(shape, int):
        return (shape,)
    if isinstance(shape, (tuple, list)) and all(isinstance(s, int) for s in shape):
        return tuple(shape)
    return _bad_shape(fn, shape)


def _bad_shape(fn, shape):
    raise TypeError(f"xgrad.{fn}: the shape must be an int or a tuple of ints, got {shape!r}")


def _scalar_dtype(value):
    """The default dtype for a Python scalar, as PyTorch and the standard take it."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, complex):
        return default_complex_dtype()
    return _default_dtype


def default_complex_dtype() -> str:
    """The complex dtype that goes with the default float dtype (complex64 with float32, as in PyTorch)."""
    return "complex128" if _default_dtype == "float64" else "complex64"


def _made(data, b, requires_grad):
    t = new(data, b)
    return t.requires_grad_(True) if requires_grad else t


def zeros(shape: Any, *sizes: int, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          backend: str | Backend | None = None) -> Tensor:
    """A tensor of ``shape`` filled with zeros; dtype: the default float dtype unless given.
    ``zeros((2, 3))`` and ``zeros(2, 3)`` alike."""
    b, device = placement(backend, device)
    return _made(b.xp.zeros(_shape(shape, sizes, "zeros"), dtype=b.dtype(dtype or _default_dtype), device=device),
                 b, requires_grad)


def ones(shape: Any, *sizes: int, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         backend: str | Backend | None = None) -> Tensor:
    """A tensor of ``shape`` filled with ones; dtype: the default float dtype unless given.
    ``ones((2, 3))`` and ``ones(2, 3)`` alike."""
    b, device = placement(backend, device)
    return _made(b.xp.ones(_shape(shape, sizes, "ones"), dtype=b.dtype(dtype or _default_dtype), device=device),
                 b, requires_grad)


def empty(shape: Any, *sizes: int, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          backend: str | Backend | None = None) -> Tensor:
    """A tensor of ``shape`` whose values are unspecified by the standard (xgrad fills it with zeros)."""
    return zeros(shape, *sizes, dtype=dtype, device=device, requires_grad=requires_grad, backend=backend)


def full(shape: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         backend: str | Backend | None = None) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value``; dtype: from ``fill_value`` unless given (bool,
    int64, the default float or complex dtype)."""
    b, device = placement(backend, device)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    dt = b.dtype(dtype or _scalar_dtype(fill_value))
    return _made(b.xp.full(_shape(shape, (), "full"), fill_value, dtype=dt, device=device), b, requires_grad)


def _like(x, fn_name, dtype, device, requires_grad, *extra):
    b = x._backend
    data = getattr(b.xp, fn_name)(x.data, *extra, dtype=b.dtype(dtype) if dtype is not None else None,
                                  device=device if device is not None else b.device(x.data))
    return _made(data, b, requires_grad)


def zeros_like(x: Tensor, /, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``x``'s shape, dtype (unless given), backend and device (unless given)."""
    return _like(x, "zeros_like", dtype, device, requires_grad)


def ones_like(x: Tensor, /, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of ``x``'s shape, dtype (unless given), backend and device (unless given)."""
    return _like(x, "ones_like", dtype, device, requires_grad)


def empty_like(x: Tensor, /, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor like ``x`` whose values are unspecified by the standard (xgrad fills it with zeros)."""
    return _like(x, "zeros_like", dtype, device, requires_grad)


def full_like(x: Tensor, /, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    """``fill_value`` in ``x``'s shape, dtype (unless given), backend and device (unless given)."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _like(x, "full_like", dtype, device, requires_grad, fill_value)


def arange(start: Any, /, stop: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False, backend: str | Backend | None = None) -> Tensor:
    """``start, start + step, ...`` up to ``stop`` (excluded); ``arange(n)`` is ``0 .. n-1``. dtype:
    int64 for ints, the default float dtype when any bound is a float, unless given."""
    b, device = placement(backend, device)
    if dtype is None and any(isinstance(v, float) for v in (start, stop, step)):
        dtype = _default_dtype
    data = b.xp.arange(start, stop, step, dtype=b.dtype(dtype) if dtype else None, device=device)
    return _made(data, b, requires_grad)


def eye(n_rows: int, n_cols: int | None = None, /, *, k: int = 0, dtype: Any = None, device: Any = None,
        requires_grad: bool = False, backend: str | Backend | None = None) -> Tensor:
    """An ``n_rows x n_cols`` matrix with ones on the ``k``-th diagonal (0: the main one)."""
    b, device = placement(backend, device)
    data = b.xp.eye(n_rows, n_cols, k=k, dtype=b.dtype(dtype or _default_dtype), device=device)
    return _made(data, b, requires_grad)


def linspace(start: Any, stop: Any, /, num: int, *, dtype: Any = None, device: Any = None,
             endpoint: bool = True, requires_grad: bool = False,
             backend: str | Backend | None = None) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` (included unless ``endpoint=False``);
    dtype: the default float dtype (complex when a bound is complex) unless given."""
    b, device = placement(backend, device)
    if dtype is None:
        dtype = default_complex_dtype() if isinstance(start, complex) or isinstance(stop, complex) \
            else _default_dtype
    data = b.xp.linspace(start, stop, num, dtype=b.dtype(dtype), device=device, endpoint=endpoint)
    return _made(data, b, requires_grad)


def _random(kind, shape, dtype, requires_grad, backend, device, a, c):
    b, device = placement(backend, device)
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)
    data = observe.draw(b, kind, shape, a, c, dtype=b.dtype(dtype or _default_dtype), device=device)
    t = new(data, b)
    return t.requires_grad_(True) if requires_grad else t


def rand(*shape: Any, dtype: Any = None, requires_grad: bool = False, backend: str | Backend | None = None,
         device: Any = None) -> Tensor:
    """Uniform on [0, 1), from the backend's generator (seed it with xgrad.manual_seed)."""
    return _random("uniform", shape, dtype, requires_grad, backend, device, 0.0, 1.0)


def randn(*shape: Any, dtype: Any = None, requires_grad: bool = False, backend: str | Backend | None = None,
          device: Any = None) -> Tensor:
    """Standard normal, from the backend's generator (seed it with xgrad.manual_seed)."""
    return _random("normal", shape, dtype, requires_grad, backend, device, 0.0, 1.0)


def randperm(n: int, backend: str | Backend | None = None, device: Any = None) -> Tensor:
    b, device = placement(backend, device)
    return new(observe.draw(b, "permutation", n, device=device), b)
