"""Custom ops from a forward and a backward written by the user, as torch.autograd.Function."""

from __future__ import annotations

import functools
from typing import Any, Callable

from . import _state
from .ops._core import Op
from .errors import GraphError
from .tensor import Tensor, new

__all__ = ["Context", "Function", "once_differentiable"]


class Context:
    """What ``forward`` leaves for ``backward``: saved tensors and any attributes set on it.

    ``needs_input_grad`` holds, per input of ``forward``, whether it needs a gradient (backward may
    skip the others and return None for them)."""

    def __init__(self) -> None:
        self.saved_tensors: tuple = ()
        self.needs_input_grad: tuple[bool, ...] = ()
        self.materialize_grads = True
        self._versions: list[tuple[Tensor, list[int], int]] = []
        self._non_differentiable: set[int] = set()

    def _saved_outputs(self, returned: dict[int, Any]) -> None:
        """Saved tensors that ``forward`` returned become the outputs as returned (with their graph, as
        in PyTorch): a second derivative through a backward that reads them (``g * y`` of exp) then
        counts their dependence on the input too."""
        self.saved_tensors = tuple(returned.get(id(t), t) for t in self.saved_tensors)

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep ``tensors`` for backward; an in-place write to one of them before then is an error there."""
        self.saved_tensors = tensors
        self._versions = []
        for t in tensors:
            if isinstance(t, Tensor):
                if t._version is None:
                    t._version = [0]
                self._versions.append((t, t._version, t._version[0]))

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        """Outputs of ``forward`` that get no gradient (indices, masks): they come out as tensors that
        do not require grad, and backward receives zeros for them."""
        self._non_differentiable.update(id(o) for o in outputs)

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward gets None instead of zeros for outputs no gradient reached."""
        self.materialize_grads = bool(value)

    def _check_saved(self, name: str) -> None:
        for t, cell, seen in self._versions:
            if cell[0] != seen:
                raise GraphError(
                    f"backward through {name}: a tensor of shape {t.shape} saved with save_for_backward was "
                    "modified in place after it was saved, so backward would read the new values. Change it "
                    "only after backward, or save a copy.")


class _Grads:
    """The gradients of the outputs of a Function with several outputs, as they reach their joint node:
    one slot per output (None where none arrived yet). ``shape`` is the joint node's, so the engine
    neither reshapes nor sums it; ``+`` adds slot by slot."""

    __slots__ = ("slots", "shape")

    def __init__(self, slots: list, shape: Any):
        self.slots = slots
        self.shape = shape

    def __add__(self, other: _Grads) -> _Grads:
        return _Grads([a if b is None else b if a is None else a + b for a, b in zip(self.slots, other.slots)],
                      self.shape)


class _Pick(Op):
    """Output ``i`` of a Function with several outputs: its gradient goes to slot ``i`` of the joint node."""

    __slots__ = ("index", "count")
    custom = True

    def __init__(self, name, index, count):
        super().__init__(f"{name}[{index}]", None)
        self.vjps = ()
        self.index = index
        self.count = count

    def rules(self, xp, g, out, args, kw, needs):
        slots: list = [None] * self.count
        slots[self.index] = g
        return [_Grads(slots, tuple(args[0].shape))]


class _FunctionOp(Op):
    __slots__ = ("fn", "ctx", "outputs")

    def __init__(self, fn, ctx, outputs=None):
        super().__init__(fn.__name__, None)
        self.vjps = ()
        self.fn = fn
        self.ctx = ctx
        self.outputs = outputs  # for several outputs: (shape, dtype) of each, to make zeros for missing ones

    custom = True

    def rules(self, xp, g, out, args, kw, needs):
        self.ctx._check_saved(self.name)
        backend = kw["backend"]
        if self.outputs is None:
            gs = [g]
        else:
            gs = list(g.slots)
            if self.ctx.materialize_grads:
                gs = [xp.zeros(shape, dtype=dtype) if gi is None else gi
                      for gi, (shape, dtype) in zip(gs, self.outputs)]
        made_here = not any(isinstance(gi, Tensor) for gi in gs)
        if made_here:
            gs = [None if gi is None else new(gi, backend) for gi in gs]
        grads = self.fn.backward(self.ctx, *gs)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) != len(needs):
            raise ValueError(f"{self.name}.backward returned {len(grads)} gradients for {len(needs)} inputs")
        for i, (gr, p) in enumerate(zip(grads, args)):
            if gr is not None and needs[i] and tuple(gr.shape) != tuple(p.shape):
                raise ValueError(f"{self.name}.backward returned a gradient of shape {tuple(gr.shape)} for "
                                 f"input {i} of shape {tuple(p.shape)}; they must match")
        if made_here:
            return [gr.data if isinstance(gr, Tensor) else gr for gr in grads]
        return list(grads)


class Function:
    """Subclass with ``forward(ctx, *inputs)`` and ``backward(ctx, *grads)`` static methods; call ``.apply``.

    ``forward`` runs on Tensors without recording a graph and returns one Tensor or a tuple of them;
    ``backward`` gets one gradient per output (a Tensor; zeros for an output no gradient reached) and
    returns one gradient (or None) per input of ``forward``.
    """

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, *grads: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        ctx = Context()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        mode = _state.mode
        previous = mode.grad_enabled
        mode.grad_enabled = False
        try:
            out = cls.forward(ctx, *args, **kwargs)
        finally:
            mode.grad_enabled = previous
        several = isinstance(out, tuple)
        outs = out if several else (out,)
        if not outs or not all(isinstance(o, Tensor) for o in outs):
            got = ", ".join(type(o).__name__ for o in outs) or "an empty tuple"
            raise TypeError(f"{cls.__name__}.forward must return an xgrad Tensor or a tuple of them, got {got}")
        if not (any(ctx.needs_input_grad) and mode.grad_enabled):
            return out
        raw = tuple(a.data if isinstance(a, Tensor) else a for a in args)
        backend = outs[0]._backend
        kw = {"backend": backend}
        nd = ctx._non_differentiable
        if not several:
            if id(out) in nd:
                return new(out.data, out._backend)
            result = new(out.data, out._backend, _FunctionOp(cls, ctx), args, raw, kw)
            ctx._saved_outputs({id(out): result})
            return result
        # several outputs: one joint node runs backward once, with every output's gradient; each output
        # is a node of its own that hands its gradient to the joint node
        op = _FunctionOp(cls, ctx, [(tuple(o.shape), o.data.dtype) for o in outs])
        joint = new(outs[0].data, backend, op, args, raw, kw)
        n = len(outs)
        results = tuple(new(o.data, o._backend) if id(o) in nd else
                        new(o.data, o._backend, _Pick(cls.__name__, i, n), (joint,), (joint._data,), {})
                        for i, o in enumerate(outs))
        ctx._saved_outputs({id(o): r for o, r in zip(outs, results)})
        return results


class _OnceOp(Op):
    """The node of a gradient computed by a ``once_differentiable`` backward: differentiating it raises."""

    custom = True

    def __init__(self, name):
        super().__init__(name, None)
        self.vjps = ()

    def rules(self, xp, g, out, args, kw, needs):
        raise GraphError(
            f"double backward through {self.name}: its backward is marked @once_differentiable, so its "
            "gradients cannot be differentiated again (create_graph=True). Write a backward made of "
            "differentiable xgrad ops and drop the decorator")


def once_differentiable(backward: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a Function's ``backward`` that is not itself differentiable (it computes on raw arrays,
    say): it runs without recording, and a second-order gradient through it raises instead of being
    silently zero."""

    @functools.wraps(backward)
    def wrapper(ctx: Context, *grads: Any) -> Any:
        # what a second derivative would flow through: the incoming gradients and the saved tensors
        # (PyTorch looks at the gradients only, so d/dx of a gradient computed from a saved x comes out
        # silently zero there; here it raises)
        carriers = tuple(t for t in (*grads, *ctx.saved_tensors) if isinstance(t, Tensor) and t.requires_grad)
        mode = _state.mode
        previous = mode.grad_enabled
        mode.grad_enabled = False
        try:
            result = backward(ctx, *grads)
        finally:
            mode.grad_enabled = previous
        if not carriers or not previous:  # a plain backward (grad mode off) or nothing to differentiate
            return result
        op = _OnceOp(getattr(backward, "__qualname__", "backward"))
        one = not isinstance(result, tuple)
        wrapped = tuple(new(r.data, r._backend, op, carriers, tuple(c.data for c in carriers), {})
                        if isinstance(r, Tensor) else r for r in ((result,) if one else result))
        return wrapped[0] if one else wrapped

    return wrapper
