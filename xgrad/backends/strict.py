"""array-api-strict: the standard and nothing more. The test suite runs on it to prove the engine uses
only the array-API standard."""

from ..errors import BackendUnavailableError
from .base import Backend


class StrictBackend(Backend):
    name = "array_api_strict"
    mutable = True

    def __init__(self, device=None):
        import array_api_strict
        from array_api_strict._array_object import Array

        self._array_type = Array
        super().__init__(array_api_strict, default_device=device)

    def is_array(self, obj):
        return isinstance(obj, self._array_type)

    def to_numpy(self, a):
        import numpy as np

        return np.asarray(a._array) if hasattr(a, "_array") else np.asarray(a)

    def getitem(self, a, index):
        try:
            return a[index]
        except IndexError:
            full = self._integer_index(a.shape, index)
            if full is None:
                raise
            return a[full]

    def _integer_index(self, shape, index):
        """``index`` (integer and boolean arrays with full slices and Ellipsis, anywhere) rewritten as one
        integer array per axis, the one array form array-api-strict accepts, with NumPy's (and
        PyTorch's) placement of the arrays' axes: where the arrays sit on adjacent axes, there; else
        first. None for other forms (xgrad.getitem applies ints, None and partial slices before)."""
        xp = self.namespace
        parts = []
        for p in (index if isinstance(index, tuple) else (index,)):
            if self.is_array(p) and p.dtype == xp.bool:
                parts.extend(xp.nonzero(p))  # a k-D mask: k integer arrays on adjacent axes
            elif self.is_array(p) and xp.isdtype(p.dtype, "integral"):
                parts.append(p)
            elif p is Ellipsis or (isinstance(p, slice) and p == slice(None)):
                parts.append(p)
            else:
                return None
        dots = [k for k, p in enumerate(parts) if p is Ellipsis]  # by identity: arrays do not compare
        if len(dots) > 1 or len(parts) - len(dots) > len(shape):
            return None
        fill = [slice(None)] * (len(shape) - len(parts) + len(dots))
        if dots:
            parts[dots[0]:dots[0] + 1] = fill
        else:
            parts += fill
        arrays = [i for i, p in enumerate(parts) if self.is_array(p)]
        if not arrays:
            return None
        b = max(parts[i].ndim for i in arrays)
        rest = [i for i in range(len(shape)) if i not in arrays]
        adjacent = arrays == list(range(arrays[0], arrays[-1] + 1))
        start = sum(1 for i in rest if i < arrays[0]) if adjacent else 0  # where the arrays' axes go
        order = rest[:start] + [None] + rest[start:]  # output axes: None stands for the b array axes
        total = len(rest) + b
        full = []
        for i, p in enumerate(parts):
            if self.is_array(p):
                full.append(xp.reshape(p, (1,) * (start + b - p.ndim) + tuple(p.shape) + (1,) * (total - start - b)))
            else:
                at = order.index(i)
                if at > start:  # past the array axes
                    at += b - 1
                axis = xp.arange(shape[i], device=self.device(parts[arrays[0]]))
                full.append(xp.reshape(axis, (1,) * at + (shape[i],) + (1,) * (total - at - 1)))
        return tuple(full)

    def dtype_name(self, dtype):
        return str(dtype).rsplit(".", 1)[-1]


def load(device=None):
    try:
        return StrictBackend(device)
    except ImportError as e:
        raise BackendUnavailableError(
            f"backend 'array_api_strict' cannot load: {e}. Install it with "
            f"`pip install array-api-strict` (or `pip install \"xgrad[test]\"`).") from e
