"""Custom ops from a forward and a backward written by the user, as torch.autograd.Function."""

from __future__ import annotations

from typing import Any

from . import _state
from .ops._core import Op
from .errors import GraphError
from .tensor import Tensor, new


class Context:
    """What ``forward`` leaves for ``backward``: saved tensors and any attributes set on it."""

    def __init__(self) -> None:
        self.saved_tensors: tuple = ()
        self.needs_input_grad: tuple[bool, ...] = ()
        self._versions: list[tuple[Tensor, list[int], int]] = []

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep ``tensors`` for backward; an in-place write to one of them before then is an error there."""
        self.saved_tensors = tensors
        self._versions = []
        for t in tensors:
            if isinstance(t, Tensor):
                if t._version is None:
                    t._version = [0]
                self._versions.append((t, t._version, t._version[0]))

    def _check_saved(self, name: str) -> None:
        for t, cell, seen in self._versions:
            if cell[0] != seen:
                raise GraphError(
                    f"backward through {name}: a tensor of shape {t.shape} saved with save_for_backward was "
                    "modified in place after it was saved, so backward would read the new values. Change it "
                    "only after backward, or save a copy.")


class _FunctionOp(Op):
    __slots__ = ("fn", "ctx")

    def __init__(self, fn, ctx):
        super().__init__(fn.__name__, None)
        self.vjps = ()
        self.fn = fn
        self.ctx = ctx

    custom = True

    def rules(self, xp, g, out, args, kw, needs):
        self.ctx._check_saved(self.name)
        made_here = not isinstance(g, Tensor)
        backend = kw["backend"]
        grads = self.fn.backward(self.ctx, new(g, backend) if made_here else g)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) != len(needs):
            raise ValueError(f"{self.name}.backward returned {len(grads)} gradients for {len(needs)} inputs")
        if made_here:
            return [gr.data if isinstance(gr, Tensor) else gr for gr in grads]
        return list(grads)


class Function:
    """Subclass with ``forward(ctx, *inputs)`` and ``backward(ctx, *grads)`` static methods; call ``.apply``.

    ``forward`` runs on Tensors without recording a graph; ``backward`` gets the upstream gradient as a
    Tensor and returns one gradient (or None) per input of ``forward``.
    """

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> Tensor:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, *grads: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        ctx = Context()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        mode = _state.mode
        previous = mode.grad_enabled
        mode.grad_enabled = False
        try:
            out = cls.forward(ctx, *args, **kwargs)
        finally:
            mode.grad_enabled = previous
        if not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return one xgrad Tensor, got {type(out).__name__}")
        if any(ctx.needs_input_grad) and mode.grad_enabled:
            raw = tuple(a.data if isinstance(a, Tensor) else a for a in args)
            out = new(out.data, out._backend, _FunctionOp(cls, ctx), args, raw, {"backend": out._backend})
        return out
