"""xgrad's dtype objects: one per dtype of the array-API standard, the same on every backend.

``Tensor.dtype`` is one of these (``xgrad.float64``, ...), whatever library holds the array, so
``t.dtype == xgrad.float64`` holds on NumPy, CuPy, torch and array-api-strict alike. A dtype compares
equal to its name (``"float64"``) and to the libraries' own dtype of that name (``numpy.float64``,
``numpy.dtype("float64")``, ``torch.float64``, ``array_api_strict.float64``), so code written against
a library's dtypes keeps working; it hashes as its name. Each ``Backend`` turns a library dtype into
an xgrad dtype (``Backend.xdtype``) and back (``Backend.dtype``): the one place dtypes cross over.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DType", "DTYPES", "by_name", "name_of"]

_KINDS = {"bool": ("b", 8), "int8": ("i", 8), "int16": ("i", 16), "int32": ("i", 32), "int64": ("i", 64),
          "uint8": ("u", 8), "uint16": ("u", 16), "uint32": ("u", 32), "uint64": ("u", 64),
          "float16": ("f", 16), "bfloat16": ("f", 16), "float32": ("f", 32), "float64": ("f", 64),
          "complex64": ("c", 64), "complex128": ("c", 128)}

# the modules whose dtype objects print as "<module>.<name>" (torch.float64, array_api_strict.float64)
_LIBRARY_PREFIXES = ("torch", "array_api_strict")


class DType:
    """A dtype of the array-API standard (or float16/bfloat16): ``name``, ``kind`` (one of "b", "i",
    "u", "f", "c") and ``bits``. One object per name: compare with ``==`` (identity holds too)."""

    __slots__ = ("name", "kind", "bits")
    name: str
    kind: str
    bits: int

    def __init__(self, name: str):
        self.name = name
        self.kind, self.bits = _KINDS[name]

    def __eq__(self, other: Any) -> Any:
        if other is self:
            return True
        if type(other) is DType:
            return False  # one object per name
        if type(other) is str:
            return other == self.name
        name = name_of(other)
        return NotImplemented if name is None else name == self.name

    def __ne__(self, other: Any) -> Any:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"xgrad.{self.name}"

    def __str__(self) -> str:
        return self.name

    def __reduce__(self) -> Any:  # pickles as the singleton of its name
        return by_name, (self.name,)


DTYPES: dict[str, DType] = {name: DType(name) for name in _KINDS}


def by_name(name: str) -> DType:
    """The xgrad dtype called ``name`` ("float64", ...); TypeError for an unknown name."""
    try:
        return DTYPES[name]
    except KeyError:
        raise TypeError(f"xgrad: unknown dtype {name!r}; the dtypes are {', '.join(DTYPES)}") from None


def name_of(dtype: Any) -> str | None:
    """The standard name of ``dtype`` (an xgrad dtype, a name, or a NumPy, CuPy, torch or
    array-api-strict dtype), or None when it is none of these."""
    if type(dtype) is DType:
        return dtype.name
    if type(dtype) is str:
        return dtype if dtype in DTYPES else None
    if isinstance(dtype, type):  # numpy.float64 and the other NumPy scalar types
        name = getattr(dtype, "__name__", None)
        return name if type(dtype).__module__ == "builtins" and dtype.__module__ == "numpy" and \
            name in DTYPES else None
    text = str(dtype)
    head, _, tail = text.rpartition(".")
    if tail not in DTYPES:
        return None
    if head:  # torch.float64, array_api_strict.float64
        return tail if head in _LIBRARY_PREFIXES else None
    # numpy.dtype("float64") prints as its bare name; other objects that do are not dtypes
    return tail if type(dtype).__module__.split(".")[0] in ("numpy", "cupy") else None
