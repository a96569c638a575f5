"""xgrad as an array-API namespace (2024.12): the inspection object, the data-type functions
(``finfo``, ``iinfo``, ``isdtype``, ``result_type``, ``can_cast``), ``meshgrid`` and ``from_dlpack``.

Dtypes are xgrad's own (``xgrad/backends/dtypes.py``); the functions take them, their names, the
libraries' dtypes and Tensors alike. Promotion is the standard's table, which PyTorch's agrees with
wherever the standard defines one; where the standard leaves it open (an integer with a float dtype,
bool with a number) it is PyTorch's, which is what xgrad's ops compute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .backends import current_backend, current_device
from .backends.dtypes import DTYPES, DType, by_name, name_of
from .creation import default_complex_dtype, get_default_dtype
from .ops import broadcast_to, reshape
from .ops.transfer import asarray
from .tensor import Tensor, new

__all__ = ["finfo", "iinfo", "isdtype", "result_type", "can_cast", "meshgrid", "from_dlpack", "Info",
           "__array_namespace_info__", "STANDARD_DTYPES"]

STANDARD_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32",
                   "float64", "complex64", "complex128")
"""The dtypes of the standard (float16 and bfloat16 exist too, where a backend has them)."""

_KINDS = {"bool": "b", "signed integer": "i", "unsigned integer": "u", "integral": "iu",
          "real floating": "f", "complex floating": "c", "numeric": "iufc"}


def _dtype(x: Any, fn: str) -> DType:
    """The xgrad dtype of ``x``: a dtype of any kind, a name, or a Tensor (its dtype)."""
    if type(x) is Tensor:
        return x.dtype
    name = name_of(x)
    if name is None:
        raise TypeError(f"xgrad.{fn}: {x!r} is not a dtype or a tensor (use e.g. xgrad.float32)")
    return DTYPES[name]


def isdtype(dtype: Any, kind: Any) -> bool:
    """Whether ``dtype`` is of ``kind``: a dtype, one of "bool", "signed integer", "unsigned integer",
    "integral", "real floating", "complex floating", "numeric", or a tuple of these."""
    d = _dtype(dtype, "isdtype")
    if isinstance(kind, tuple):
        return any(isdtype(d, k) for k in kind)
    if isinstance(kind, str):
        if kind not in _KINDS:
            raise ValueError(f"xgrad.isdtype: unknown kind {kind!r}; the kinds are {', '.join(_KINDS)}")
        return d.kind in _KINDS[kind]
    return d == _dtype(kind, "isdtype")


@dataclass(frozen=True)
class finfo_object:
    """Machine limits of a floating dtype (``xgrad.finfo``)."""
    bits: int
    eps: float
    max: float
    min: float
    smallest_normal: float
    dtype: DType


@dataclass(frozen=True)
class iinfo_object:
    """Machine limits of an integer dtype (``xgrad.iinfo``)."""
    bits: int
    max: int
    min: int
    dtype: DType


def _backend_of(x: Any) -> Any:
    return x._backend if type(x) is Tensor else current_backend()


def finfo(type: Any, /) -> finfo_object:
    """Limits of a floating or complex dtype (or a tensor's): ``bits``, ``eps``, ``max``, ``min``,
    ``smallest_normal``, ``dtype``. For a complex dtype, those of its real and imaginary parts."""
    d = _dtype(type, "finfo")
    if d.kind not in "fc":
        raise TypeError(f"xgrad.finfo: {d} is not a floating-point dtype; use xgrad.iinfo for integers")
    b = _backend_of(type)
    info = b.namespace.finfo(b.dtype(d))
    real = DTYPES["float32" if d.name == "complex64" else "float64"] if d.kind == "c" else d
    return finfo_object(int(info.bits), float(info.eps), float(info.max), float(info.min),
                        float(info.smallest_normal), real)


def iinfo(type: Any, /) -> iinfo_object:
    """Limits of an integer dtype (or a tensor's): ``bits``, ``max``, ``min``, ``dtype``."""
    d = _dtype(type, "iinfo")
    if d.kind not in "iu":
        raise TypeError(f"xgrad.iinfo: {d} is not an integer dtype; use xgrad.finfo for floating dtypes")
    b = _backend_of(type)
    info = b.namespace.iinfo(b.dtype(d))
    return iinfo_object(int(info.bits), int(info.max), int(info.min), d)


def _promote(a: DType, b: DType, fn: str, standard_only: bool = False) -> DType | None:
    """The dtype two dtypes promote to. With ``standard_only``, None where the standard defines no
    promotion (mixed kinds); otherwise PyTorch's result there."""
    if a is b:
        return a
    ka, kb = a.kind, b.kind
    if ka in "fc" and kb in "fc":
        if ka == kb == "f":
            return DTYPES["float32"] if {a.name, b.name} == {"float16", "bfloat16"} else a if a.bits >= b.bits else b
        bits = max(a.bits if ka == "f" else a.bits // 2, b.bits if kb == "f" else b.bits // 2)
        return DTYPES["complex128" if bits > 32 else "complex64"]
    if ka in "iu" and kb in "iu":
        if ka == kb:
            return a if a.bits >= b.bits else b
        unsigned, signed = (a, b) if ka == "u" else (b, a)
        if signed.bits > unsigned.bits:
            return signed
        if unsigned.bits == 64:
            raise TypeError(f"xgrad.{fn}: no integer dtype holds both {a} and {b} (the standard leaves "
                            "uint64 with a signed dtype undefined); cast one explicitly")
        return DTYPES[f"int{2 * unsigned.bits}"]
    if standard_only:
        return None
    if ka == "b":  # PyTorch: bool with a number is the number's dtype; an integer with a float, the float
        return b
    if kb == "b":
        return a
    return a if ka in "fc" else b


def _with_scalar(d: DType, s: Any) -> DType:
    """The dtype of ``d`` combined with a Python scalar (the scalar does not widen ``d``'s kind)."""
    if isinstance(s, bool):
        return d
    if isinstance(s, int):
        return DTYPES["int64"] if d.kind == "b" else d
    if isinstance(s, float):
        return d if d.kind in "fc" else by_name(get_default_dtype())
    if d.kind == "c":
        return d
    if d.kind == "f":
        return DTYPES["complex128" if d.bits > 32 else "complex64"]
    return by_name(default_complex_dtype())


def result_type(*arrays_and_dtypes: Any) -> DType:
    """The dtype the arguments (tensors, dtypes, Python scalars) promote to: the standard's table, and
    PyTorch's result where the standard leaves one open (an integer with a float dtype gives the
    float). Python scalars do not widen a dtype of their kind. Note: xgrad's ops, as PyTorch's, also
    let a 0-d tensor not widen a tensor of its kind (float32 tensor * float64 0-d tensor is float32);
    ``result_type`` treats every tensor alike, as the standard does."""
    dtypes = [_dtype(a, "result_type") for a in arrays_and_dtypes
              if not isinstance(a, (bool, int, float, complex))]
    if not dtypes:
        raise ValueError("xgrad.result_type: needs at least one tensor or dtype (Python scalars alone have "
                         "no dtype of their own)")
    d = dtypes[0]
    for e in dtypes[1:]:
        d = _promote(d, e, "result_type")  # type: ignore[assignment]
    for s in arrays_and_dtypes:
        if isinstance(s, (bool, int, float, complex)):
            d = _with_scalar(d, s)
    return d


def can_cast(from_: Any, to: Any, /) -> bool:
    """Whether ``from_`` (a dtype or a tensor) casts to ``to`` by the standard's promotion rules: within
    a kind to a wider dtype, integers to wider integers of the other signedness, real to complex."""
    a, b = _dtype(from_, "can_cast"), _dtype(to, "can_cast")
    try:
        return _promote(a, b, "can_cast", standard_only=True) is b
    except TypeError:
        return False


def meshgrid(*arrays: Tensor, indexing: str = "xy") -> list[Tensor]:
    """Coordinate grids from 1-D tensors, as NumPy's (``indexing="xy"``: the first two axes swapped,
    or "ij"). Differentiable: each grid is a broadcast of its input."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"xgrad.meshgrid: indexing must be 'xy' or 'ij', not {indexing!r}")
    sizes = [a.shape[0] if a.ndim == 1 else -1 for a in arrays]
    if -1 in sizes:
        raise ValueError(f"xgrad.meshgrid: takes 1-D tensors, got shapes {[a.shape for a in arrays]}")
    n = len(arrays)
    if indexing == "xy" and n > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, a in enumerate(arrays):
        axis = (1 if i == 0 else 0 if i == 1 else i) if indexing == "xy" and n > 1 else i
        shape = [1] * n
        shape[axis] = a.shape[0]
        out.append(broadcast_to(reshape(a, tuple(shape)), tuple(sizes)))
    return out


def from_dlpack(x: Any, /, *, device: Any = None, copy: bool | None = None) -> Tensor:
    """A Tensor of the current backend from any object with ``__dlpack__`` (sharing its memory where
    the library can, unless ``copy=True``). A Tensor is taken as ``asarray`` takes it."""
    if type(x) is Tensor:
        return asarray(x, device=device, copy=copy)
    b = current_backend()
    kw: dict[str, Any] = {}
    if device is not None:
        kw["device"] = device
    if copy is not None:
        kw["copy"] = copy
    return new(b.namespace.from_dlpack(x, **kw), b)


class Info:
    """The standard's inspection object (``xgrad.__array_namespace_info__()``) for the current backend."""

    def capabilities(self) -> dict[str, Any]:
        """What the namespace supports: boolean indexing, data-dependent shapes, max dimensions."""
        return dict(current_backend().namespace.__array_namespace_info__().capabilities())

    def default_device(self) -> Any:
        """Where new tensors go when no device is named."""
        b = current_backend()
        device = current_device() or b.default_device
        return device if device is not None else b.namespace.__array_namespace_info__().default_device()

    def devices(self) -> list[Any]:
        """The devices of the current backend."""
        return list(current_backend().namespace.__array_namespace_info__().devices())

    def default_dtypes(self, *, device: Any = None) -> dict[str, DType]:
        """The dtypes new tensors get: "real floating" (``xgrad.get_default_dtype()``), "complex
        floating", "integral" and "indexing"."""
        return {"real floating": by_name(get_default_dtype()),
                "complex floating": by_name(default_complex_dtype()),
                "integral": DTYPES["int64"], "indexing": DTYPES["int64"]}

    def dtypes(self, *, device: Any = None, kind: Any = None) -> dict[str, DType]:
        """The standard's dtypes the current backend has, by name; ``kind`` as in ``isdtype``."""
        have = current_backend().native_dtypes
        return {name: DTYPES[name] for name in STANDARD_DTYPES
                if name in have and (kind is None or isdtype(DTYPES[name], kind))}


def __array_namespace_info__() -> Info:
    """The standard's inspection object for the current backend."""
    return Info()
