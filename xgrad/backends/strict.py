"""array-api-strict: the standard and nothing more. The test suite runs on it to prove the engine uses
only the array-API standard."""

from .base import Backend


class StrictBackend(Backend):
    name = "array_api_strict"
    mutable = True

    def __init__(self, device=None):
        import array_api_strict

        self._mod = array_api_strict
        super().__init__(array_api_strict, default_device=device)

    def is_array(self, obj):
        return isinstance(obj, self._mod.Array)

    def to_numpy(self, a):
        import numpy as np

        return np.asarray(a._array) if hasattr(a, "_array") else np.asarray(a)

    def dtype_name(self, dtype):
        return str(dtype).rsplit(".", 1)[-1]


def load(device=None):
    try:
        return StrictBackend(device)
    except ImportError as e:
        from ..errors import BackendUnavailableError

        raise BackendUnavailableError(
            f"backend 'array_api_strict' cannot load: {e}. Install it with "
            f"`pip install array-api-strict` (or `pip install \"xgrad[test]\"`).") from e
