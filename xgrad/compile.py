"""``xgrad.compile``: trace a function once per input signature, then replay it as straight-line array code.

    step = xgrad.compile(train_step)   # forward, backward and optimizer update together
    for x, y in batches:
        loss = step(x, y)

The first call with a new signature runs eagerly (``warmup``: optimizers create their state then),
the next one traces: every forward op, every VJP rule the backward runs and every update becomes one
line of a generated Python function over raw arrays, with no Tensor or graph objects. Later calls run
that function. Results equal eager results bit for bit: the same array functions run on the same
values in the same order; only work whose result nothing uses is dropped.

What the trace assumes, as torch.compile and jax.jit do:
  * Shapes, dtypes, backends and devices of Tensor arguments, and the values of other arguments,
    form the signature; a new signature traces again.
  * Python control flow that depends on array values is recorded as a guard: a call whose value
    differs stops and traces again (after ``max_retraces`` it runs eagerly for good, with a warning).
  * State lives in Tensors (parameters, gradients, optimizer buffers): the replay reads the Tensors
    it read during the trace and writes the ones written. Raw arrays and Python numbers read from
    elsewhere are constants of the trace (xgrad's optimizers guard their hyper-parameters).
  * Returned Tensors are detached results: call backward inside the compiled function.

On CuPy the generated function is the unit a CUDA graph can capture: it launches the same kernels,
in the same order, on buffers of fixed shapes.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable

from . import _state, backends as _backends, observe, passes, tracing
from .errors import GraphError
from .ops import Op
from .tensor import Tensor, new
from .tracing import Slot, Trace, TraceError

__all__ = ["compile", "CompiledFunction", "TraceError"]


class _Diverged(Exception):
    """A guard failed during a replay: the function must be traced again."""


def compile(fn: Callable[..., Any] | None = None, *, warmup: int = 1,
            max_retraces: int = 8) -> Any:
    """Compile ``fn`` (usable as ``@xgrad.compile`` or ``@xgrad.compile(warmup=0)``)."""
    if fn is None:
        return lambda f: CompiledFunction(f, warmup=warmup, max_retraces=max_retraces)
    return CompiledFunction(fn, warmup=warmup, max_retraces=max_retraces)


class CompiledFunction:
    """A function with one replay plan per input signature."""

    def __init__(self, fn: Callable[..., Any], warmup: int = 1, max_retraces: int = 8):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.warmup = warmup
        self.max_retraces = max_retraces
        self._plans: dict[tuple, _Plan] = {}  # signature -> replay plan
        self._calls: dict[tuple, int] = {}  # signature -> eager calls so far
        self._retraces: dict[tuple, int] = {}
        self._eager: set[tuple] = set()  # signatures that gave up on tracing

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if observe.current() is not None:  # called inside another's trace: run eagerly, so it is recorded
            return self.fn(*args, **kwargs)
        sig = _signature(args, kwargs)
        plan = self._plans.get(sig)
        if plan is not None:
            try:
                return plan.run(args)
            except _Diverged:
                del self._plans[sig]
                n = self._retraces[sig] = self._retraces.get(sig, 0) + 1
                if n > self.max_retraces:
                    warnings.warn(f"xgrad.compile({self.fn.__name__}): guards failed {n} times for one "
                                  "signature (Python control flow on changing values, or a changing "
                                  "hyper-parameter); running it eagerly from now on", RuntimeWarning)
                    self._eager.add(sig)
        if sig in self._eager:
            return self.fn(*args, **kwargs)
        calls = self._calls.get(sig, 0)
        if calls < self.warmup:
            self._calls[sig] = calls + 1
            return self.fn(*args, **kwargs)
        result, plan = _trace(self.fn, args, kwargs)
        self._plans[sig] = plan
        return result

    def plan(self, *args: Any, **kwargs: Any) -> _Plan | None:
        """The replay plan for these arguments' signature (None before it is traced)."""
        return self._plans.get(_signature(args, kwargs))


def _key(a):
    if isinstance(a, Tensor):
        d = a.data
        b = a._backend
        # the backend's name comes before the dtype, so dtypes of two libraries are never compared
        return (b.name, d.shape, d.dtype, str(b.device(d)), a.requires_grad)
    try:
        hash(a)
    except TypeError:
        raise TypeError(f"xgrad.compile: argument of type {type(a).__name__} is neither a Tensor nor a "
                        "hashable value; pass arrays as xgrad tensors") from None
    return (type(a), a)


def _signature(args, kwargs):
    sig = tuple(map(_key, args))
    if kwargs:
        sig += tuple(sorted((k, _key(v)) for k, v in kwargs.items()))
    return sig + (_state.mode.grad_enabled, _backends.current_backend(), _backends.current_device())


def _trace(fn, args, kwargs):
    """Run ``fn`` once while recording; return its (real) result and the replay plan."""
    trace = Trace()
    for b in _backends.loaded_backends():
        _shape_only(b)
    arg_slots = []
    with tracing.recording(trace):
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                value = a.data  # the observer makes it an input of the tape (once per tensor)
                arg_slots.append((i, value._slot))
        try:
            out = fn(*args, **kwargs)
            plan = _Plan(trace, arg_slots, out)
        finally:
            tracing.concretize(trace)
    for t, array in plan.kept_buffers:  # as the replays will: the new values in the old buffers
        array[...] = t.data
        t.data = array
    kind, values = _Plan._outputs(out, _raw)  # detached results, as every replay returns
    return _build(kind, values), plan


def _raw(t):
    """A tensor's array as it is, seen by no observer (after the trace)."""
    return t._data


class _Plan:
    """The generated replay of one trace, and what it reads and writes.

    Tensors stay here: they become globals of the replay (``t_in0``, ``t_w0``, ``t_g0``) and their
    arrays Slots or constants, and the passes (``xgrad.passes``) decide over the tape alone."""

    def __init__(self, trace, arg_slots, out):
        raw = trace.array_of  # a Tensor's array inside the trace; the passes see Slots and arrays, never a Tensor
        g = {"_Diverged": _Diverged, "_wrap": new, "slice": slice}
        self.out_kind, out_arrays = self._outputs(out, raw)
        outputs = [_value(a) for a in out_arrays]
        writes = self._writes(trace, arg_slots, g)
        # the replay runs with no observer: it reads and writes the Tensors' fields directly
        stores = [passes.Store(f"{name}._data", _value(raw(t))) for name, t in writes]
        stores += self._grad_stores(trace, raw, g)
        roots = passes.root_slots([s.value for s in stores] + outputs)  # slots that leave the replay

        folded = passes.fold_constants(trace.entries, trace.values, roots, _SHAPE_ONLY)
        live, needed = passes.eliminate_dead(trace.entries, roots, folded)
        self.steps = len(live)
        self.folded = len(folded)

        # buffer reuse: an update of state written straight into the state's own array
        updates = self._updates(trace, raw, writes)
        inplace = passes.plan_buffers(live, [u for _, u in updates], roots, trace.values, _FRESH)
        written_into = {p.buffer for p in inplace.values()}
        self.kept_buffers = [(t, trace.values[u.buffer]) for t, u in updates if u.buffer in written_into]

        self.source, names = passes.emit(live, self._loads(trace, arg_slots, needed, g), stores, outputs,
                                         inplace, folded)
        g.update(names)
        namespace = dict(g)
        exec(self.source, namespace)  # noqa: S102 - code generated from the recorded tape
        self._replay = namespace["replay"]

    @staticmethod
    def _writes(trace: Trace, arg_slots: list[tuple[int, int]], g: dict[str, Any]) -> list[tuple[str, Any]]:
        """(global name, tensor) of each tensor from before the trace whose array the function replaced."""
        arg_set = {s for _, s in arg_slots}
        if any(slot in arg_set for t, slot in trace.inputs.values() if id(t) in trace.written):
            raise TraceError("xgrad.compile: the function assigns to the data of one of its arguments; "
                             "return the new value instead")
        writes = []
        for k, t in enumerate(trace.written.values()):
            g[f"t_w{k}"] = t
            writes.append((f"t_w{k}", t))
        return writes

    @staticmethod
    def _grad_stores(trace: Trace, raw: Callable[[Any], Any], g: dict[str, Any]) -> list[passes.Store]:
        """The ``.grad`` each tensor from before the trace has after it: None, a new array, or a Tensor."""
        stores = []
        for k, t in enumerate(trace.grad_written.values()):
            name = f"t_g{k}"
            g[name] = t
            grad = t.grad
            if grad is not None and id(grad) in trace.born:
                g[f"b_g{k}"] = grad._backend
                stores.append(passes.Store(f"{name}._grad", _value(raw(grad)), f"_wrap({{}}, b_g{k})"))
            else:
                stores.append(passes.Store(f"{name}._grad", grad))
        return stores

    @staticmethod
    def _updates(trace: Trace, raw: Callable[[Any], Any],
                 writes: list[tuple[str, Any]]) -> list[tuple[Any, passes.Update]]:
        """(tensor, Update) for each replaced array that was read, on a backend with out= ufuncs."""
        updates = []
        for _, t in writes:
            entry, array = trace.inputs.get(id(t)), raw(t)
            ufuncs = getattr(t._backend, "out_ufuncs", None)
            if entry is None or entry[1] is None or type(array) is not tracing.Tracer or not ufuncs:
                continue
            if t._backend.writable(trace.values[entry[1]]):
                updates.append((t, passes.Update(entry[1], array._slot, ufuncs)))
        return updates

    @staticmethod
    def _loads(trace: Trace, arg_slots: list[tuple[int, int]], needed: set[int],
               g: dict[str, Any]) -> list[tuple[str, int]]:
        """(expression, slot): where the replay reads each array it needs, arguments first."""
        loads = [(f"A[{i}]._data", slot) for i, slot in arg_slots if slot in needed]
        arg_set = {s for _, s in arg_slots}
        for k, (t, slot) in enumerate(trace.inputs.values()):
            if slot is not None and slot in needed and slot not in arg_set:
                g[f"t_in{k}"] = t
                loads.append((f"t_in{k}._data", slot))
        return loads

    @staticmethod
    def _outputs(out, raw):
        """The structure of ``out`` and the list of arrays (Tracers or real arrays) its Tensors hold."""
        values = []

        def spec(o):
            if isinstance(o, Tensor):
                values.append(raw(o))
                return ("T", len(values) - 1, o._backend, o.requires_grad)
            if isinstance(o, (tuple, list)):
                return (type(o), [spec(i) for i in o])
            if isinstance(o, dict):
                return (dict, {k: spec(v) for k, v in o.items()})
            return ("C", o)

        return spec(out), values

    def run(self, args):
        values = self._replay(args)
        return _build(self.out_kind, values)


def _value(array: Any) -> Any:
    """A traced array as its Slot; a real array (or any other value) is a constant of the replay."""
    return Slot(array._slot) if type(array) is tracing.Tracer else array


class _NoGraph(Op):
    """The op of a compiled function's result that required a gradient inside the function: the replay
    keeps no graph, so a backward through it would silently lose gradients; it raises instead."""

    custom = True

    def __init__(self):
        super().__init__("compiled", None)
        self.vjps = ()

    def rules(self, xp, g, out, args, kw, needs):
        raise GraphError(
            "backward() reached a result of an xgrad.compile'd function: compiled functions return results "
            "without their graph, so no gradient can flow back through them. Call backward inside the "
            "compiled function (compile the whole training step), or do not compile this function.")


_NO_GRAPH = _NoGraph()


def _build(kind, values):
    tag = kind[0]
    if tag == "T":
        if kind[3]:  # it had a graph inside the function: a backward that reaches it must not pass silently
            return new(values[kind[1]], kind[2], _NO_GRAPH, (), (), {})
        return new(values[kind[1]], kind[2])
    if tag == "C":
        return kind[1]
    if tag is dict:
        return {k: _build(v, values) for k, v in kind[1].items()}
    return tag(_build(v, values) for v in kind[1])


# shape-only functions: their results depend on their inputs' shapes and dtypes, never on values
_SHAPE_ONLY: set[object] = set()


# functions that always return a new array (never a view of an input)
_FRESH: set[object] = set()
_FRESH_NAMES = ("tanh", "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "abs", "sign", "matmul", "sum",
                "mean", "max", "min", "var", "where", "maximum", "minimum", "clip", "onehot", "index_add",
                "concat", "stack", "logical_not", "logical_and", "logical_or", "isfinite", "isnan")


def _shape_only(backend):
    for name in ("zeros_like", "ones_like", "empty_like", "full_like", "zeros", "ones", "full", "eye", "arange"):
        f = getattr(backend.xp, name, None)
        if f is not None:
            _SHAPE_ONLY.add(f)
            _FRESH.add(f)
    for name in _FRESH_NAMES:
        f = getattr(backend.xp, name, None)
        if f is not None:
            _FRESH.add(f)

