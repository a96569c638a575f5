"""Activation checkpointing: trade compute for memory by recomputing a function's inside in backward.

    y = xgrad.utils.checkpoint(block, x)          # block's intermediate arrays are not kept
    y = xgrad.utils.checkpoint_sequential(model, 4, x)   # a Sequential in 4 segments

The function runs once in forward; its graph is dropped right away and only its inputs and outputs
stay. Backward runs it again (with the random generators as they were, so dropout draws the same
masks) and differentiates that run. Parameters and other tensors the function reads from outside
(a module's weights, a closure's tensor) get their gradients as usual, also through ``xgrad.grad``.
The function must compute the same thing when run again: no in-place changes of its inputs, no
Python state that changes between the two runs.
"""

from __future__ import annotations

from typing import Any, Callable

from . import _state, observe
from .autograd import enable_grad, grad
from .backends import Backend
from .errors import GraphError
from .function import Function
from .tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


def _outside_tensors(outs: list[Tensor], inside: set[int], start: int) -> list[Tensor]:
    """The tensors the graph of ``outs`` reaches that were not made in this run (recorded from sequence
    number ``start`` on) and are not its inputs (ids in ``inside``): parameters and closures."""
    found: dict[int, Tensor] = {}
    seen: set[int] = set()
    stack = [o for o in outs if o._op is not None]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        for p in n._parents or ():
            if type(p) is not Tensor or not p.requires_grad or id(p) in inside:
                continue
            if p._op is None or p._seq < start:
                found.setdefault(id(p), p)
            elif id(p) not in seen:
                stack.append(p)
    return list(found.values())


class _Checkpoint(Function):
    """Inputs: the run's description, then the function's tensor inputs, then the outside tensors.
    Outputs: the function's tensor outputs, computed already (``plan.outs``)."""

    @staticmethod
    def forward(ctx: Any, plan: _Plan, *tensors: Tensor) -> Any:
        ctx.plan = plan
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(*tensors[:plan.n_inputs])  # an in-place change before backward is refused
        outs = plan.outs
        assert outs is not None
        plan.outs = None  # the node keeps no extra reference to them
        for o, differentiable in zip(outs, plan.differentiable):
            if not differentiable:
                ctx.mark_non_differentiable(o)
        return tuple(outs) if len(outs) > 1 else outs[0]

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        plan: _Plan = ctx.plan
        if any(isinstance(g, Tensor) and g.requires_grad for g in grads) or _state.mode.grad_enabled:
            raise GraphError("xgrad.utils.checkpoint: a second derivative (create_graph=True) through a "
                             "checkpointed function is not supported; call the function without checkpoint")
        inputs = [t.detach().requires_grad_(t.requires_grad) for t in ctx.saved_tensors]
        now = plan.swap_rng(plan.rng)  # the generators as the first run found them: same dropout masks
        try:
            with enable_grad():
                outs = plan.run(inputs)
        finally:
            plan.swap_rng(now)
        pairs = [(o, g) for o, g in zip(outs, grads) if o.requires_grad and g is not None]
        wanted = [t for t in inputs if t.requires_grad] + plan.outside
        found = list(grad([o for o, _ in pairs], wanted, grad_outputs=[g for _, g in pairs],
                          retain_graph=plan.retain, allow_unused=True)) if pairs and wanted else []
        it = iter(found)
        result: list[Any] = [None]  # for plan
        result += [next(it) if t.requires_grad else None for t in inputs]
        result += [next(it) for _ in plan.outside]
        return tuple(result)


class _Plan:
    """How to run the checkpointed function again: the call with its non-tensor arguments, the
    generators' states before the first run, and the outside tensors found in its graph."""

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict, preserve_rng_state: bool):
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.slots = [i for i, a in enumerate(args) if type(a) is Tensor]
        self.n_inputs = len(self.slots)
        self.backends: list[Backend] = []
        if preserve_rng_state:
            for a in args:
                if type(a) is Tensor and all(a._backend is not b for b in self.backends):
                    self.backends.append(a._backend)
        self.rng = [b.get_rng_state() for b in self.backends]
        self.outs: list[Tensor] | None = None
        self.differentiable: list[bool] = []
        self.outside: list[Tensor] = []
        self.retain = False
        self.single = True

    def swap_rng(self, states: list[Any]) -> list[Any]:
        """Set the generators to ``states``; return the states they had."""
        before = [b.get_rng_state() for b in self.backends]
        for b, s in zip(self.backends, states):
            b.set_rng_state(s)
        return before

    def run(self, inputs: list[Tensor]) -> list[Tensor]:
        args = list(self.args)
        for i, t in zip(self.slots, inputs):
            args[i] = t
        out = self.fn(*args, **self.kwargs)
        outs = list(out) if isinstance(out, tuple) else [out]
        if not outs or not all(type(o) is Tensor for o in outs):
            raise TypeError("xgrad.utils.checkpoint: the function must return a Tensor or a tuple of Tensors, "
                            f"got {type(out).__name__}")
        self.single = not isinstance(out, tuple)
        return outs


def checkpoint(fn: Callable[..., Any], *args: Any, preserve_rng_state: bool = True, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` without keeping its intermediate arrays for backward: backward runs it
    again. Returns what ``fn`` returns (a Tensor or a tuple of Tensors). ``preserve_rng_state``: the
    second run sees the random generators of the tensors' backends as the first did (dropout)."""
    if not _state.mode.grad_enabled:
        return fn(*args, **kwargs)
    plan = _Plan(fn, args, kwargs, preserve_rng_state)
    start = _state.next_seq()
    inputs = [args[i].detach().requires_grad_(args[i].requires_grad) for i in plan.slots]
    with enable_grad():
        outs = plan.run(inputs)
    if observe.current() is not None and [b.get_rng_state() for b in plan.backends] != plan.rng:
        # xgrad.compile is recording: a replay would not restore the generators for the second run, so
        # its dropout masks would differ from the first run's
        raise GraphError("xgrad.utils.checkpoint: the checkpointed function draws random numbers inside "
                         "xgrad.compile, whose replay cannot give the recomputation the same draws; call "
                         "checkpoint outside the compiled function, or compile without checkpoint")
    plan.outside = _outside_tensors(outs, {id(t) for t in inputs}, start)
    # a non-leaf from outside: the second run differentiates into the caller's graph, which must survive
    plan.retain = any(t._op is not None for t in plan.outside)
    if not any(o.requires_grad for o in outs):  # nothing to differentiate: a plain call
        return outs[0] if plan.single else tuple(outs)
    plan.differentiable = [o.requires_grad for o in outs]
    plan.outs = [o.detach() for o in outs]  # the first run's graph is dropped here
    del outs
    result = _Checkpoint.apply(plan, *(args[i] for i in plan.slots), *plan.outside)
    if plan.single and isinstance(result, tuple):
        return result[0]
    return result


def checkpoint_sequential(seq: Any, segments: int, x: Tensor, preserve_rng_state: bool = True) -> Any:
    """Run the modules of ``seq`` (a ``Sequential`` or a list of callables) on ``x`` in ``segments``
    pieces, each but the last checkpointed: only the tensors between pieces are kept."""
    modules = list(seq)
    if not 1 <= segments <= max(len(modules), 1):
        raise ValueError(f"checkpoint_sequential: segments must lie in [1, {len(modules)}] for "
                         f"{len(modules)} modules, got {segments}")
    size = -(-len(modules) // segments)
    pieces = [modules[i:i + size] for i in range(0, len(modules), size)]

    def run(part: list, t: Tensor) -> Tensor:
        for m in part:
            t = m(t)
        return t

    for part in pieces[:-1]:
        x = checkpoint(lambda t, part=part: run(part, t), x, preserve_rng_state=preserve_rng_state)
    return run(pieces[-1], x)


def __dir__() -> list[str]:  # dir() and tab completion list the public names, not this module's imports
    return sorted(__all__)
