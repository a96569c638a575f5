"""Mixed precision: ``autocast`` runs matrix products in float16/bfloat16 and keeps numerically touchy
ops in float32; ``GradScaler`` scales the loss so small float16 gradients do not underflow, and skips
the steps whose gradients overflowed.

    scaler = xgrad.GradScaler()
    for xb, yb in loader:
        with xgrad.autocast(dtype="float16"):
            loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)      # unscales; skipped when a gradient is Inf/NaN
        scaler.update()             # shrinks the scale after an overflow, grows it after a good run

The op lists follow PyTorch's autocast: the ops in ``LOWER_PRECISION`` get their floating inputs cast
to the autocast dtype, those in ``FLOAT32`` get float16/bfloat16 inputs cast to float32, every other
op runs in the dtypes it is given (mixed inputs promote, as the array-API standard says). Casts are
the differentiable ``astype`` op, so gradients reach float32 parameters in float32. Per thread; a
compiled function refuses to run inside autocast (its replay would not cast).
"""

from __future__ import annotations

import functools
import math
import threading
from typing import Any, Callable, TypeVar

from . import _state, observe
from .autograd import no_grad
from .errors import DTypeError
from .ops import astype, isfinite, multiply
from .tensor import Tensor, new

__all__ = ["autocast", "GradScaler", "LOWER_PRECISION", "FLOAT32"]

F = TypeVar("F", bound=Callable[..., Any])

LOWER_PRECISION = frozenset({
    "matmul", "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "bmm", "baddbmm", "addmm", "prelu", "scaled_dot_product_attention",
})
"""Ops that run in the autocast dtype (PyTorch's lower-precision list, by xgrad op name)."""

FLOAT32 = frozenset({
    # reductions and the functions whose range float16 cannot hold
    "sum", "mean", "var", "prod", "cumsum", "cumprod", "logsumexp", "norm", "exp", "expm1", "log", "log1p",
    "log2", "log10", "pow", "reciprocal", "rsqrt", "softplus", "cosh", "sinh", "tan", "acos", "asin",
    # softmax, normalization and losses
    "softmax", "log_softmax", "layer_norm", "group_norm", "batch_norm", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "l1_loss", "smooth_l1_loss",
    "huber_loss", "kl_div",
})
"""Ops that run in float32 when given float16/bfloat16 (PyTorch's float32 list, by xgrad op name)."""

_LOW_NAMES = ("float16", "bfloat16")


class _Autocast:
    """One open ``autocast``: the op call asks it to cast each op's inputs (see ``ops/_core.py``)."""

    def __init__(self, dtype: str):
        self.dtype = dtype

    def cast_inputs(self, o: Any, args: tuple) -> tuple:
        name = o.name
        if name in LOWER_PRECISION:
            target = self.dtype
            wanted = ("float32", "float64")  # PyTorch casts float32 (and float64) inputs down
        elif name in FLOAT32:
            target = "float32"
            wanted = _LOW_NAMES
        else:
            return args
        out = []
        for a in args:
            if type(a) is Tensor and a._backend.dtype_name(a.dtype) in wanted:
                a = astype(a, _dtype(a, target))
            out.append(a)
        return tuple(out)


def _dtype(t: Tensor, name: str) -> Any:
    try:
        return t._backend.dtype(name)
    except Exception as e:
        raise DTypeError(f"xgrad.autocast: the {t.backend} backend has no {name} ({type(e).__name__}: {e}); "
                         "use another dtype (NumPy has float16 only, torch both float16 and bfloat16) "
                         "or another backend") from None


class _Stack(threading.local):
    def __init__(self) -> None:
        self.saved: list[Any] = []


_stack = _Stack()


class autocast:
    """Context manager and decorator: ops in ``LOWER_PRECISION`` run in ``dtype`` ("float16" or
    "bfloat16"), ops in ``FLOAT32`` in float32, in this thread. ``enabled=False`` switches an outer
    autocast off inside."""

    def __init__(self, dtype: str = "float16", enabled: bool = True):
        if dtype not in _LOW_NAMES:
            raise DTypeError(f"xgrad.autocast: dtype must be 'float16' or 'bfloat16', got {dtype!r}")
        self.dtype = dtype
        self.enabled = enabled

    def __enter__(self) -> autocast:
        if observe.current() is not None:
            raise RuntimeError(f"xgrad.autocast inside a function being compiled (xgrad.compile): its replays "
                               "would run without it. Enter it outside, and call the function uncompiled there")
        mode = _state.mode
        _stack.saved.append(mode.autocast)
        mode.autocast = _Autocast(self.dtype) if self.enabled else None
        _state.engage(1)
        return self

    def __exit__(self, *exc: Any) -> None:
        _state.mode.autocast = _stack.saved.pop()
        _state.engage(-1)

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with autocast(self.dtype, self.enabled):
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]


def _params(optimizer: Any) -> list[Tensor]:
    return [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]


class GradScaler:
    """Dynamic loss scaling, as ``torch.amp.GradScaler``: ``scale(loss)`` multiplies by the scale;
    ``unscale_(opt)`` divides the gradients by it and notes Inf/NaN; ``step(opt)`` skips the step when
    there were any; ``update()`` multiplies the scale by ``backoff_factor`` after such a step and by
    ``growth_factor`` after ``growth_interval`` good steps in a row."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        if growth_factor <= 1.0 or not 0.0 < backoff_factor < 1.0 or growth_interval < 1:
            raise ValueError("GradScaler: growth_factor must be > 1, backoff_factor in (0, 1), growth_interval >= 1")
        self._scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._enabled = enabled
        self._per_optimizer: dict[int, dict[str, Any]] = {}  # id(optimizer) -> {"unscaled", "found_inf", "stepped"}

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def scale(self, outputs: Any) -> Any:
        """``outputs`` (a Tensor, or a list/tuple of them) times the current scale."""
        observe.refuse_while_recorded("GradScaler.scale()", "A GradScaler keeps its scale in Python and "
                                      "changes it after steps: run the step uncompiled.")
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return multiply(outputs, self._scale)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise TypeError(f"GradScaler.scale takes a Tensor or a list/tuple of Tensors, got {type(outputs).__name__}")

    def _state_of(self, optimizer: Any) -> dict[str, Any]:
        return self._per_optimizer.setdefault(id(optimizer), {"unscaled": False, "found_inf": False,
                                                              "stepped": False})

    def unscale_(self, optimizer: Any) -> None:
        """Divide ``optimizer``'s gradients by the scale (once per step) and note whether any holds
        Inf/NaN. Call it before gradient clipping, so the clip sees the true gradients."""
        if not self._enabled:
            return
        state = self._state_of(optimizer)
        if state["unscaled"]:
            raise RuntimeError("GradScaler.unscale_ was already called for this optimizer since the last update()")
        if state["stepped"]:
            raise RuntimeError("GradScaler.unscale_ after step(): call update() first")
        inv = 1.0 / self._scale
        found = False
        with no_grad():
            for p in _params(optimizer):
                g: Any = p.grad
                found = found or not _all_finite(g)
                p.grad = new(multiply(g, inv).data, g._backend)  # the gradient's dtype is kept (a Python float)
        state["unscaled"] = True
        state["found_inf"] = found

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """``optimizer.step()`` unless the gradients held Inf/NaN (then nothing changes); returns what
        ``step`` returned, or None when skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        state = self._state_of(optimizer)
        if state["stepped"]:
            raise RuntimeError("GradScaler.step was already called for this optimizer since the last update()")
        if not state["unscaled"]:
            self.unscale_(optimizer)
        state["stepped"] = True
        if state["found_inf"]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: float | None = None) -> None:
        """Adjust the scale from this step's outcome (or set it to ``new_scale``)."""
        observe.refuse_while_recorded("GradScaler.update()", "A GradScaler keeps its scale in Python and "
                                      "changes it after steps: run the step uncompiled.")
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale)
        elif self._per_optimizer:
            if any(s["found_inf"] for s in self._per_optimizer.values()):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = self._scale * self._growth_factor
                    if math.isfinite(grown):
                        self._scale = grown
                    self._growth_tracker = 0
        else:
            raise RuntimeError("GradScaler.update() with no unscale_/step since the last update: nothing to learn from")
        self._per_optimizer = {}

    def state_dict(self) -> dict[str, Any]:
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker} \
            if self._enabled else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            raise RuntimeError("GradScaler.load_state_dict: the state is empty (saved from a disabled scaler?)")
        self._scale = float(state["scale"])
        self._growth_factor = float(state["growth_factor"])
        self._backoff_factor = float(state["backoff_factor"])
        self._growth_interval = int(state["growth_interval"])
        self._growth_tracker = int(state["_growth_tracker"])


def _all_finite(t: Tensor) -> bool:
    """Whether every entry of ``t`` is finite (one value read back to the host)."""
    return bool(t._backend.xp.all(isfinite(t).data))
