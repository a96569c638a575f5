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
        """``index`` (leading integer arrays, then only Ellipsis or full slices) rewritten as one integer
        array per axis, the one integer-array form array-api-strict accepts; None for other forms."""
        xp = self.namespace
        parts = index if isinstance(index, tuple) else (index,)
        k = 0
        while k < len(parts) and self.is_array(parts[k]) and xp.isdtype(parts[k].dtype, "integral"):
            k += 1
        if k == 0 or not all(p is Ellipsis or (isinstance(p, slice) and p == slice(None)) for p in parts[k:]):
            return None
        arrays, rest = parts[:k], len(shape) - k
        b = max(a.ndim for a in arrays)
        full = [xp.reshape(a, (1,) * (b - a.ndim) + tuple(a.shape) + (1,) * rest) for a in arrays]
        for j in range(rest):
            d = shape[k + j]
            axis = xp.arange(d, device=self.device(arrays[0]))
            full.append(xp.reshape(axis, (1,) * (b + j) + (d,) + (1,) * (rest - j - 1)))
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
