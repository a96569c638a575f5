"""``xgrad.save`` / ``xgrad.load``: PyTorch's ``torch.save(obj, f)`` / ``torch.load(f)`` for state_dicts,
optimizer states and containers of them, without pickle.

The file is a NumPy ``.npz`` archive (``numpy.load(f)`` reads it; nothing in it is executed on load):
every tensor or array is one entry (``0``, ``1``, ...), and ``__meta__`` holds the container structure
as JSON: dicts (string or integer keys, order kept; an OrderedDict comes back as one), lists, tuples,
None, bools, ints, floats and strings. Tensors come back as Tensors (dtype and shape kept, gradients not
saved), arrays as arrays of the backend loaded onto. Anything else (a Module, a function, an object)
is refused with a TypeError naming where it sits: save its ``state_dict()`` instead. A path is written
atomically (temporary file, fsync, rename); a file object is written as is.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np

from .backends import Backend, loaded_backends, placement, to_host
from .checkpoint import CheckpointError, write_npz
from .tensor import Tensor, new

__all__ = ["save", "load"]

FORMAT = "xgrad-save-1"


def _encode(v: Any, where: str, arrays: dict[str, np.ndarray]) -> Any:
    if v is None or type(v) in (bool, int, str):
        return v
    if type(v) is float:
        return {"float": repr(v)}  # repr round-trips exactly, nan and inf included
    if isinstance(v, np.generic) and v.dtype.kind in "biuf":
        return _encode(v.item(), where, arrays)
    if isinstance(v, (dict, OrderedDict)):
        items = []
        for k, x in v.items():
            if type(k) not in (str, int):
                raise TypeError(f"xgrad.save: {where} has the key {k!r} of type {type(k).__name__}; keys must be "
                                "str or int")
            items.append([k, _encode(x, f"{where}[{k!r}]", arrays)])
        return {"dict": items, "ordered": isinstance(v, OrderedDict)}
    if type(v) in (list, tuple):
        return {type(v).__name__: [_encode(x, f"{where}[{i}]", arrays) for i, x in enumerate(v)]}
    if isinstance(v, Tensor) or isinstance(v, np.ndarray) or _is_backend_array(v):
        host = np.asarray(to_host(v.detach().data if isinstance(v, Tensor) else v))
        if host.dtype.hasobject:
            raise TypeError(f"xgrad.save: {where} is an array of Python objects, which cannot be saved without pickle")
        key = str(len(arrays))
        arrays[key] = host
        return {"tensor" if isinstance(v, Tensor) else "array": key}
    raise TypeError(f"xgrad.save: {where} is a {type(v).__name__}, which xgrad.save cannot store without pickle; "
                    "it stores tensors, arrays, dicts, lists, tuples, None, bool, int, float and str (save a "
                    "module's or optimizer's state_dict(), not the object)")


def _is_backend_array(v: Any) -> bool:
    """An array of a backend's library (a state_dict's buffer on torch is a torch.Tensor, on CuPy a
    cupy.ndarray), or another array-API array."""
    if hasattr(v, "shape") and hasattr(v, "dtype") and hasattr(v, "__array_namespace__"):
        return True
    return any(b.is_array(v) for b in loaded_backends())


def save(obj: Any, f: str | os.PathLike[str] | io.IOBase, **unsupported: Any) -> None:
    """Write ``obj`` (a state_dict, an optimizer's state_dict, or dicts/lists of them) to ``f``, a path or
    a binary file object."""
    if unsupported:
        raise TypeError(f"xgrad.save: unsupported arguments {sorted(unsupported)} (there is no pickle protocol)")
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, "obj", arrays)
    arrays["__meta__"] = np.array(json.dumps({"format": FORMAT, "tree": tree}))
    if isinstance(f, (str, os.PathLike)):
        write_npz(os.fspath(f), arrays)
    else:
        np.savez(f, **arrays)  # type: ignore[arg-type]


def _decode(v: Any, arrays: dict[str, np.ndarray], b: Backend, device: Any) -> Any:
    if not isinstance(v, dict):
        return v
    if "float" in v:
        return float(v["float"])
    if "dict" in v:
        pairs = [(k, _decode(x, arrays, b, device)) for k, x in v["dict"]]
        return OrderedDict(pairs) if v.get("ordered") else dict(pairs)
    if "list" in v:
        return [_decode(x, arrays, b, device) for x in v["list"]]
    if "tuple" in v:
        return tuple(_decode(x, arrays, b, device) for x in v["tuple"])
    kind = "tensor" if "tensor" in v else "array"
    host = arrays[v[kind]]
    a = b.asarray(host, dtype=host.dtype.name, device=device, copy=True)
    return new(a, b) if kind == "tensor" else a


def load(f: str | os.PathLike[str] | io.IOBase, map_location: Any = None, *, backend: str | Backend | None = None,
         device: Any = None, weights_only: bool = True) -> Any:
    """What :func:`save` wrote, with tensors and arrays on ``backend`` (default: the current one) and
    ``device`` (``map_location`` is PyTorch's name for it). ``weights_only`` is accepted for PyTorch's
    sake; nothing else can be loaded (there is no pickle)."""
    if map_location is not None and device is not None:
        raise TypeError("xgrad.load: give map_location or device, not both")
    b, device = placement(backend, device if device is not None else map_location)
    name = f if not hasattr(f, "read") else getattr(f, "name", "<file object>")
    try:
        with np.load(f, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("__meta__")))
    except FileNotFoundError:
        raise CheckpointError(f"xgrad.load: {name!r} does not exist") from None
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError) as e:
        raise CheckpointError(f"xgrad.load: {name!r} is not a file written by xgrad.save (or it is truncated): "
                              f"{type(e).__name__}: {e}") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"xgrad.load: {name!r} has format {meta.get('format')!r}, expected {FORMAT!r} "
                              "(a model checkpoint of xgrad.checkpoint.save is read with xgrad.checkpoint.load)")
    return _decode(meta["tree"], arrays, b, device)
