"""Making tensors: from data, filled, ranges, identity, and seeded random numbers."""

from __future__ import annotations

from typing import Any

from . import _state, backends as _backends, observe
from .backends import Backend, manual_seed, placement
from .tensor import Tensor, new

__all__ = ["tensor", "as_tensor", "zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "arange", "eye",
           "rand", "randn", "randperm", "manual_seed", "set_default_dtype", "get_default_dtype"]

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


def _has_complex(data):
    if isinstance(data, complex):
        return True
    if isinstance(data, (list, tuple)):
        return any(_has_complex(d) for d in data)
    return False


# the complex dtype Python complex numbers get, by default float dtype (PyTorch's)
_COMPLEX_OF = {"float32": "complex64", "float64": "complex128", "float16": "complex64", "bfloat16": "complex64"}


def _has_float(data):
    if isinstance(data, float):
        return True
    if isinstance(data, (list, tuple)):
        return any(_has_float(d) for d in data)
    return False


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, backend: str | Backend | None = None,
           device: Any = None) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (Python numbers, nested lists, or any array; arrays
    keep their dtype): later writes to ``data`` do not reach it."""
    return _leaf(data, dtype, requires_grad, backend, device, copy=True)


def as_tensor(data: Any, dtype: Any = None, requires_grad: bool = False, backend: str | Backend | None = None,
              device: Any = None) -> Tensor:
    """Like ``tensor``, but sharing ``data``'s memory where no conversion is needed (an array of the
    backend, of the dtype and device asked): writes to ``data`` then change the tensor, untracked."""
    return _leaf(data, dtype, requires_grad, backend, device, copy=None)


def _leaf(data: Any, dtype: Any, requires_grad: bool, backend: str | Backend | None, device: Any,
          copy: bool | None) -> Tensor:
    source = data if isinstance(data, Tensor) else None
    if source is not None:
        if backend is None:  # a tensor stays on its backend unless one is named
            backend = source._backend
        data = data.data if _backends.get_backend(backend) is data._backend else data.detach().numpy()
    b, device = placement(backend, device)
    if dtype is None and _has_float(data):
        dtype = _COMPLEX_OF[_default_dtype] if _has_complex(data) else _default_dtype
    elif dtype is None and _has_complex(data):
        dtype = _COMPLEX_OF[_default_dtype]
    if source is not None and copy is None and dtype is None and device is None and source._backend is b:
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


def _filled(fn_name, shape, dtype, requires_grad, backend, device, *extra):
    b, device = placement(backend, device)
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)
    dt = b.dtype(dtype or _default_dtype)
    data = getattr(b.xp, fn_name)(shape, *extra, dtype=dt, device=device)
    t = new(data, b)
    return t.requires_grad_(True) if requires_grad else t


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False, backend: str | Backend | None = None,
          device: Any = None) -> Tensor:
    return _filled("zeros", shape, dtype, requires_grad, backend, device)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False, backend: str | Backend | None = None,
         device: Any = None) -> Tensor:
    return _filled("ones", shape, dtype, requires_grad, backend, device)


def full(shape: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False, backend: str | Backend | None = None,
         device: Any = None) -> Tensor:
    return _filled("full", (shape,) if not isinstance(shape, int) else ((shape,),), dtype, requires_grad,
                   backend, device, fill_value)


def _like(x, fn_name, dtype, requires_grad, *extra):
    b = x._backend
    data = getattr(b.xp, fn_name)(x.data, *extra, dtype=b.dtype(dtype) if dtype is not None else None)
    t = new(data, b)
    return t.requires_grad_(True) if requires_grad else t


def zeros_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(x, "zeros_like", dtype, requires_grad)


def ones_like(x: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(x, "ones_like", dtype, requires_grad)


def full_like(x: Tensor, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(x, "full_like", dtype, requires_grad, fill_value)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None, requires_grad: bool = False,
           backend: str | Backend | None = None, device: Any = None) -> Tensor:
    b, device = placement(backend, device)
    if dtype is None and any(isinstance(v, float) for v in (start, stop, step)):
        dtype = _default_dtype
    data = b.xp.arange(start, stop, step, dtype=b.dtype(dtype) if dtype else None,
                       device=device)
    t = new(data, b)
    return t.requires_grad_(True) if requires_grad else t


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False, backend: str | Backend | None = None,
        device: Any = None) -> Tensor:
    b, device = placement(backend, device)
    data = b.xp.eye(n, m, dtype=b.dtype(dtype or _default_dtype),
                    device=device)
    t = new(data, b)
    return t.requires_grad_(True) if requires_grad else t


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
