"""NumPy on the CPU: the default backend."""

import array_api_compat.numpy as _xp
import numpy as np

from .base import Backend


class NumpyBackend(Backend):
    name = "numpy"

    def __init__(self, device=None):
        super().__init__(_xp, default_device=None)
        # Fast paths: NumPy's own functions where array-api-compat wraps them in Python only to
        # smooth over integer dtypes or copy flags that float math never meets.
        self.xp.permute_dims = np.transpose
        self.xp.matrix_transpose = lambda a: np.swapaxes(a, -1, -2)

    def is_array(self, obj):
        return isinstance(obj, np.ndarray)

    def asarray(self, obj, dtype=None, device=None):
        if device not in (None, "cpu"):
            raise ValueError(f"backend 'numpy' has only the device 'cpu', not {device!r}")
        return np.asarray(obj, dtype=self.dtype(dtype) if dtype is not None else None)

    def to_numpy(self, a):
        return np.asarray(a)

    def device(self, a):
        return "cpu"

    def scatter_add(self, like, index, values):
        out = np.zeros_like(like, dtype=values.dtype)
        np.add.at(out, index, values)
        return out

    def onehot(self, labels, num_classes, dtype):
        out = np.zeros(labels.shape + (num_classes,), dtype=dtype)
        np.put_along_axis(out, labels[..., None], 1, axis=-1)
        return out


def load(device=None):
    return NumpyBackend(device)
