"""Special functions where SciPy looks for them on an array namespace (``xp.special``): with
``SCIPY_ARRAY_API=1``, ``scipy.special.expit`` on xgrad tensors calls ``xgrad.special.expit``, so the
result keeps its gradient."""

from .ops import sigmoid as expit

__all__ = ["expit"]
