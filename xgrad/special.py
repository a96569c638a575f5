"""Special functions where SciPy looks for them on an array namespace (``xp.special``): with
``SCIPY_ARRAY_API=1``, ``scipy.special.expit`` and ``scipy.special.entr`` (so ``scipy.stats.entropy``) on
xgrad tensors call these, so the result keeps its gradient."""

from typing import Any

from .ops import full_like, log, sigmoid as expit, where

__all__ = ["expit", "entr"]


def entr(x: Any, /) -> Any:
    """``-x log(x)`` for ``x > 0``, 0 at 0 and ``-inf`` for ``x < 0``, as ``scipy.special.entr``. Gradient
    ``-(log(x) + 1)`` where ``x > 0`` and 0 elsewhere (the log is taken of a safe value, so no NaN reaches
    the gradient through the branch not taken)."""
    pos = x > 0
    safe = where(pos, x, full_like(x, 1.0))
    rest = where(x == 0, full_like(x, 0.0), full_like(x, -float("inf")))
    return where(pos, -safe * log(safe), rest)


def __dir__() -> list[str]:  # dir() and tab completion list the public names, not this module's imports
    return sorted(__all__)
