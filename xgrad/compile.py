"""``xgrad.compile``: trace a function once per input signature, then replay it as straight-line array code.

    step = xgrad.compile(train_step)   # forward, backward and optimizer update together
    for x, y in batches:
        loss = step(x, y)

The first call with a new signature runs eagerly (``warmup``: optimizers create their state then),
the next one traces: every forward op, every VJP rule the backward runs and every update becomes one
line of a generated Python function over raw arrays, with no Tensor or graph objects. Later calls run
that function. Results equal eager results bit for bit: the same array functions run on the same
values in the same order; only work whose result nothing uses is dropped.

A replay gives eager's numbers or does not run. What the trace read is checked before its first
step, and a failed check traces again (``_Stale``; the README lists exactly what is checked):
  * the signature: shapes, dtypes, backends and devices of Tensor arguments, values of the others,
    grad mode, the current backend, device and default dtype;
  * the Tensors it read: each array's type, shape, dtype and device, ``requires_grad``, and the
    ``.grad`` of existing tensors (None or not; read anew at each replay);
  * the Python state it read: the function's closure cells and the globals its code names (by
    identity, or by value for numbers and strings), the attributes of every ``nn.Module`` (one counter
    tells whether any changed), optimizers' hyper-parameters, parameter lists and state dicts.
Python control flow on array values and values read on the host (``.item()``, ``float(t)``) are
guards inside the replay (``_Diverged``). The replay runs them before anything it writes (state
updates follow the last guard), so a replay that stops has changed nothing; the random numbers it
drew are handed to the new trace, which uses them instead of drawing again. A function that writes
into an existing array before such a guard depends on it cannot be replayed (``TraceError``). After
``max_retraces`` traces of one signature it runs eagerly, with a warning.

Returned Tensors are detached results: call backward inside the compiled function. A trace that
stores a Tensor it made anywhere but in a ``.grad`` (a list, an attribute, optimizer state created
during the trace) is not replayed: the next call traces again.

On CuPy the generated function is the unit a CUDA graph can capture: it launches the same kernels,
in the same order, on buffers of fixed shapes.
"""

from __future__ import annotations

import dis
import functools
import gc
import os
import sys
import types
import warnings
import weakref
from typing import Any, Callable

from . import _state, backends as _backends, creation as _creation, fusion, graphs, hooks, observe, passes, tracing
from .backends import fused as _fused
from .errors import GraphError
from .ops import Op
from .tensor import Tensor, new, written
from .tracing import Slot, Trace, TraceError

__all__ = ["compile", "CompiledFunction", "TraceError"]


MAX_SIGNATURES = 64  # input signatures a compiled function keeps plans for (the oldest go first)


class _Stale(Exception):
    """A check before the replay's first step failed: nothing was done; another plan or a trace runs."""


class _Diverged(Exception):
    """A value guard failed during a replay (nothing written yet); ``args[0]``, if any: the random
    arrays drawn before it, in order."""


def compile(fn: Callable[..., Any] | None = None, *, warmup: int = 1,
            max_retraces: int = 8, fuse: bool | None = None, cuda_graph: bool | None = None) -> Any:
    """Compile ``fn`` (usable as ``@xgrad.compile`` or ``@xgrad.compile(warmup=0)``).

    ``fuse``: run chains of elementwise steps as one kernel where the backend generates one
    (``xgrad/fusion.py``; ``Backend.fused_elementwise``). None, the default, takes the backend's
    ``fuse_by_default``: off on every backend for now. CuPy builds a ``cupy.ElementwiseKernel`` per
    chain, but that path has not yet run on a GPU: it stays off there until it has (pass
    ``fuse=True`` to try it); NumPy and the other backends have no fused kernels, so ``fuse=True``
    changes nothing on them.

    ``cuda_graph``: record each replay plan's array work once into a CUDA graph and launch the
    recording at later calls (``xgrad/graphs.py``; ``Backend.capture_graph``: CuPy, torch on CUDA).
    None takes the backend's ``graph_by_default``, off everywhere until the GPU tests have run. With a
    graph, results are copies, gradients are the graph's arrays (a gradient kept past the next call
    makes that call run without the graph), and state the function gives new arrays is updated in
    place. A backend without graphs, or a step that reads values on the host, runs plain replays (with
    a warning when ``cuda_graph=True``)."""
    if fn is None:
        return lambda f: CompiledFunction(f, warmup=warmup, max_retraces=max_retraces, fuse=fuse,
                                          cuda_graph=cuda_graph)
    return CompiledFunction(fn, warmup=warmup, max_retraces=max_retraces, fuse=fuse, cuda_graph=cuda_graph)


class CompiledFunction:
    """A function with replay plans per input signature (newest first; each checks what it assumes)."""

    def __init__(self, fn: Callable[..., Any], warmup: int = 1, max_retraces: int = 8, fuse: bool | None = None,
                 cuda_graph: bool | None = None):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.fuse = fuse
        self.cuda_graph = cuda_graph
        self._said: set[str] = set()  # why no graph runs, said once each (cuda_graph=True)
        self.warmup = warmup
        self.max_retraces = max_retraces
        self._plans: dict[tuple, list[_Plan]] = {}  # signature -> replay plans, once traced
        self._calls: dict[tuple, int] = {}  # signature -> eager calls so far
        self._retraces: dict[tuple, int] = {}
        self._eager: set[tuple] = set()  # signatures that gave up on tracing

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if observe.current() is not None:  # called inside another's trace: run eagerly, so it is recorded
            return self.fn(*args, **kwargs)
        if _state.engaged and (_state.mode.autocast is not None or _state.mode.anomaly is not None):
            raise TraceError(
                f"xgrad.compile({getattr(self.fn, '__name__', self.fn)}): called inside "
                f"{'xgrad.autocast' if _state.mode.autocast is not None else 'xgrad.detect_anomaly'}; a "
                "compiled replay would not apply it (no casts, no checks). Call the function without "
                "xgrad.compile there, or leave the context")
        sig = _signature(args, kwargs)
        plans = self._plans.get(sig)
        drawn: list | tuple = ()
        if plans is not None:
            inputs = _inputs(args, kwargs)
            for plan in plans:
                try:
                    return plan.run(inputs)
                except _Stale:
                    continue
                except _Diverged as failed:
                    plans.remove(plan)
                    drawn = plan.drawn(failed)
                    break
            if sig not in self._eager:
                self._retrace(sig)
        if sig in self._eager:
            return _eagerly(self.fn, args, kwargs, drawn)
        if plans is None and sig not in self._calls:
            self._new_signature(sig)
        calls = self._calls.get(sig, 0)
        if calls < self.warmup:
            self._calls[sig] = calls + 1
            return self.fn(*args, **kwargs)
        result, plan = _trace(self.fn, args, kwargs, drawn, self.fuse, self.cuda_graph, self._say)
        plans = self._plans.setdefault(sig, [])
        if plan is not None:
            plans.insert(0, plan)
        return result

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        """``@xgrad.compile`` on a method: bound to ``obj``, an argument like any other (held by identity
        in the signature; the attributes its code names are checked)."""
        return self if obj is None else types.MethodType(self, obj)

    def _new_signature(self, sig: tuple) -> None:
        """Note a signature seen first now; past ``MAX_SIGNATURES``, forget the oldest (its plans and the
        objects its key holds: models made anew each epoch and passed as arguments would pile up)."""
        self._calls.setdefault(sig, 0)
        while len(self._calls) > MAX_SIGNATURES:
            old = next(iter(self._calls))
            for table in (self._calls, self._plans, self._retraces):
                table.pop(old, None)
            self._eager.discard(old)

    def _say(self, reason: str) -> None:
        """Warn, once per reason, that a step asked to run as a CUDA graph runs without one."""
        if reason not in self._said:
            self._said.add(reason)
            warnings.warn(f"xgrad.compile(cuda_graph=True): {getattr(self.fn, '__name__', self.fn)} runs without a "
                          f"CUDA graph: {reason}", RuntimeWarning, stacklevel=_outside_xgrad())

    def _retrace(self, sig: tuple) -> None:
        n = self._retraces[sig] = self._retraces.get(sig, 0) + 1
        if n > self.max_retraces:
            warnings.warn(f"xgrad.compile({getattr(self.fn, '__name__', self.fn)}): traced {n} times for one "
                          "signature (Python control flow on changing values, a changing hyper-parameter or "
                          "Python value, or tensors stored outside the function); running it eagerly from now "
                          "on", RuntimeWarning)
            self._eager.add(sig)
            del self._plans[sig]

    def plan(self, *args: Any, **kwargs: Any) -> _Plan | None:
        """The newest replay plan for these arguments' signature (None before it is traced)."""
        plans = self._plans.get(_signature(args, kwargs))
        return plans[0] if plans else None


def _outside_xgrad() -> int:
    """The ``stacklevel`` of the innermost caller outside xgrad (and its generated code)."""
    level, f = 2, sys._getframe(2)  # type: int, types.FrameType | None
    while f is not None and (f.f_code.co_filename.startswith(_PACKAGE) or f.f_code.co_filename == "<string>"):
        level, f = level + 1, f.f_back
    return level


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _inputs(args: tuple, kwargs: dict) -> tuple:
    """A call's arguments as a replay takes them: the positional ones, then the keyword ones by name."""
    return args + tuple(kwargs[k] for k in sorted(kwargs)) if kwargs else args


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
    if _plain(a):
        return _value_key(a)
    if getattr(a, "shape", None) == () and hasattr(a, "dtype") and hasattr(a, "tobytes"):
        return (type(a), str(a.dtype), a.tobytes())  # a NumPy scalar: its bits (-0.0 is not 0.0)
    return (type(a), a)


def _signature(args, kwargs):
    sig = tuple(map(_key, args))
    if kwargs:
        sig += tuple(sorted((k, _key(v)) for k, v in kwargs.items()))
    return sig + (_state.mode.grad_enabled, _backends.current_backend(), _backends.current_device(),
                  _creation._default_dtype)


class _Predrawn(observe.Observer):
    """Eager code that uses, first, the random numbers an aborted replay drew."""

    def __init__(self, drawn):
        self.drawn = drawn

    def random(self, backend, kind, args, kw):
        if self.drawn:
            return self.drawn.pop(0)[1]
        return getattr(backend, kind)(*args, **kw)


def _eagerly(fn, args, kwargs, drawn):
    if not drawn:
        return fn(*args, **kwargs)
    with observe.observing(_Predrawn(list(drawn))):
        return fn(*args, **kwargs)


def _trace(fn, args, kwargs, drawn=(), fuse=None, cuda_graph=None, say=None):
    """Run ``fn`` once while recording; return its (real) result and the replay plan (None when the
    function kept a tensor it made somewhere a replay would not update)."""
    outside = _Outside(fn, args, kwargs)  # before the call: what a replay must find unchanged
    start_seq = _state.next_seq()  # a tensor whose version passes it was written in place (tensor.written)
    trace = Trace()
    trace.predrawn = list(drawn)
    for b in _backends.loaded_backends():
        _shape_only(b)
    arg_slots = []
    inputs = _inputs(args, kwargs)
    arg_index: dict[int, int] = {}  # id of a Tensor argument -> its place in a replay's A
    with tracing.recording(trace):
        for i, a in enumerate(inputs):
            if isinstance(a, Tensor):
                arg_index.setdefault(id(a), i)
                value = a.data  # the observer makes it an input of the tape (once per tensor)
                arg_slots.append((i, value._slot))
        try:
            out = fn(*args, **kwargs)
            if trace.predrawn:
                raise TraceError("xgrad.compile: internal error: the new trace drew fewer random numbers than "
                                 "the replay it replaces")
            plan = _Plan(trace, arg_slots, arg_index, out, outside, start_seq, fuse, cuda_graph, say)
        finally:
            tracing.concretize(trace)
    kind, values = _Plan._outputs(out, _raw)  # detached results, as every replay returns
    del out
    plan.arm()
    kept = _kept_elsewhere(trace)
    trace.release()
    return _build(kind, values), (None if kept else plan)


def _raw(t):
    """A tensor's array as it is, seen by no observer (after the trace)."""
    return t._data


def _kept_elsewhere(trace: Trace) -> bool:
    """Whether a tensor made during the trace is still referenced after it from anywhere but the
    ``.grad`` of an existing tensor (or the graph of such a gradient): a replay would not update it."""
    alive = [weakref.ref(t) for t in trace.keep]
    trace.keep = []
    expected = set()
    todo = [g for g in trace.grads.values() if g is not None]
    while todo:
        t = todo.pop()
        if id(t) not in expected:
            expected.add(id(t))
            todo += [p for p in (t._parents or ()) if type(p) is Tensor]

    def kept():
        return any(t is not None and id(t) not in expected for t in (r() for r in alive))

    return kept() and (gc.collect() >= 0) and kept()  # collected, a reference cycle is no reference


# ---- what a trace read besides arrays --------------------------------------------------------------

_MISSING = object()


def _plain(v):
    """Whether ``v`` is compared by value: numbers, strings, None, and tuples of them."""
    if type(v) in (int, float, complex, bool, str, bytes, type(None)):
        return True
    return type(v) in (tuple, frozenset) and all(map(_plain, v))


def _same(a, b):
    """``a`` stands for ``b`` (checked after ``a is b`` failed): equal plain values of one type."""
    return type(a) is type(b) and _plain(b) and _value_key(a) == _value_key(b)


def _value_key(v):
    """A plain value as a key that tells apart what ``==`` does not: -0.0 from 0.0, 2 from 2.0 inside a
    tuple (NaN equals NaN here: the same bits give the same numbers)."""
    t = type(v)
    if t is float:
        return (t, v.hex())
    if t is complex:
        return (t, v.real.hex(), v.imag.hex())
    if t is tuple:
        return (t, tuple(map(_value_key, v)))
    if t is frozenset:
        return (t, frozenset(map(_value_key, v)))
    return (t, v)


def _is_optimizer(v):
    return isinstance(getattr(v, "param_groups", None), list) and isinstance(getattr(v, "state", None), dict)


class _Outside:
    """What the function reads besides arrays, as it is when the trace starts: its closure cells, the
    globals its code (and code nested in it) names, the attributes of a bound method's ``self`` that
    the code names, the optimizers among those values and among the arguments, and the attributes of
    every live ``nn.Module`` (with ``observe.state_version``, which counts their changes)."""

    def __init__(self, fn: Any, args: tuple, kwargs: dict) -> None:
        self.values: list[tuple[Any, Any, Any]] = []  # (holder, key, value): ``holder[key]`` or a cell's contents
        self.version = observe.state_version
        self.hooks_version = hooks.version  # a tensor hook registered later: trace again (and meet it)
        # every live module, held weakly with its attributes (a plan holding them strongly kept every model
        # ever made alive: each trace saw the ones before it)
        self.modules = [(weakref.ref(m), _snapshot(m.__dict__)) for m in observe.tracked()]
        self.named: list[Any] = []  # attributes the code names of a module it reads them from
        args, kwargs = tuple(args), dict(kwargs)
        while isinstance(fn, functools.partial):  # what a partial binds is read like arguments
            self.values += [(fn.args, i, a) for i, a in enumerate(fn.args)]
            self.values += [(fn.keywords, k, v) for k, v in fn.keywords.items()]
            args, kwargs = fn.args + args, dict(fn.keywords, **kwargs)
            fn = fn.func
        owner = None
        if isinstance(fn, types.MethodType):
            owner, fn = fn.__self__, fn.__func__
        elif not isinstance(fn, types.FunctionType):  # a callable object: its __call__, if written in Python
            call = getattr(type(fn), "__call__", None)
            owner, fn = fn, (call if isinstance(call, types.FunctionType) else None)
        if fn is not None:
            names = self._read_by(fn, owner)
            # an object passed as an argument is read like ``self``: the attributes the code names
            for a in list(args) + list(kwargs.values()):
                if not isinstance(a, Tensor) and not _plain(a) and not _is_optimizer(a):
                    self._attributes(a, names)
        found = {id(v): v for v in list(args) + list(kwargs.values()) + [v for _, _, v in self.values] + self.named
                 if _is_optimizer(v)}
        # (optimizer, its param_groups list, the group dicts, its state dict, the number of entries, and
        # each entry: (parameter, its state dict, that dict's items))
        self.optimizers = [(o, o.param_groups, list(o.param_groups), o.state, len(o.state),
                            [(p, d, list(d.items())) for p, d in o.state.items() if isinstance(d, dict)])
                           for o in found.values()]

    def _read_by(self, fn, owner):
        """The closure cells of ``fn``, the globals and the attributes of ``owner`` its code names."""
        names, global_names = set(), set()
        codes = [fn.__code__]
        while codes:
            code = codes.pop()
            names.update(code.co_names)
            global_names.update(i.argval for i in dis.get_instructions(code)
                                if i.opname in ("LOAD_GLOBAL", "LOAD_NAME"))
            codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
        for cell in fn.__closure__ or ():
            try:
                self.values.append((cell, "", cell.cell_contents))
            except ValueError:  # an empty cell
                pass
        for name in sorted(global_names):
            value = fn.__globals__.get(name, _MISSING)
            if value is not _MISSING:
                self.values.append((fn.__globals__, name, value))
        self._attributes(owner, names)
        return names

    def _attributes(self, owner: Any, names: set[str]) -> None:
        """The attributes of ``owner`` that ``names`` name (a module's are checked with the modules;
        the optimizers among them are noted)."""
        attrs = getattr(owner, "__dict__", None)
        if not isinstance(attrs, dict):
            return
        if any(owner is m() for m, _ in self.modules):
            self.named += [attrs[name] for name in sorted(names) if name in attrs]
        else:
            self.values += [(attrs, name, attrs[name]) for name in sorted(names) if name in attrs]

    def unchanged_modules(self, version: list) -> None:
        """After ``observe.state_version`` moved: whether every module is as when traced (then the
        replay keeps the new count), else ``_Stale``."""
        for ref, saved in self.modules:
            m = ref()
            if m is not None and not _unchanged(m.__dict__, saved):  # (a module gone is read by no replay)
                raise _Stale
        version[0] = observe.state_version


def _held(v: Any) -> Callable[[], Any]:
    """``v`` as a snapshot keeps it: weakly where its type allows (a plan must not keep models alive)."""
    try:
        return weakref.ref(v)
    except TypeError:
        return lambda: v


def _snapshot(attrs: dict) -> dict:
    """A module's attributes: plain values by value, dicts (``_parameters``, ``_modules``) one level
    deep, everything else by (weak) identity."""
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        if _plain(v):
            out[k] = ("value", v)
        elif type(v) is dict:
            out[k] = ("dict", {kk: ("value", vv) if _plain(vv) else ("object", _held(vv)) for kk, vv in v.items()})
        else:
            out[k] = ("object", _held(v))
    return out


def _unchanged(attrs: dict, saved: dict) -> bool:
    if len(attrs) != len(saved):
        return False
    for k, (kind, v) in saved.items():
        w = attrs.get(k, _MISSING)
        if kind == "value":
            if not _same(w, v):
                return False
        elif kind == "object":
            if w is not v():
                return False
        elif type(w) is not dict or not _unchanged(w, v):
            return False
    return True


class _Source:
    """Source lines of a replay's checks (``prologue``: before anything; ``checks``: after the loads)
    and the globals they name."""

    def __init__(self, g: dict[str, Any]):
        self.g = g
        self.prologue: list[str] = []
        self.checks: list[str] = []
        self._names: dict[int, str] = {}

    def name(self, value: Any, prefix: str = "k") -> str:
        key = id(value)
        if key not in self._names:
            self._names[key] = f"{prefix}{len(self._names)}"
            self.g[self._names[key]] = value
        return self._names[key]

    def same(self, expression: str, value: Any) -> None:
        """A check that ``expression`` is still ``value`` (or an equal number or string)."""
        k = self.name(value)
        self.prologue.append(f"if {expression} is not {k} and not _same({expression}, {k}): raise _Stale")


class _Plan:
    """The generated replay of one trace, and what it reads and writes.

    Tensors stay here: they become globals of the replay (``t0``, ``t1``) and their arrays Slots or
    constants, and the passes (``xgrad.passes``) decide over the tape alone."""

    def __init__(self, trace, arg_slots, arg_index, out, outside, start_seq, fuse=None, cuda_graph=None, say=None):
        raw = trace.array_of  # a Tensor's array inside the trace; the passes see Slots and arrays, never a Tensor
        g = {"_Diverged": _Diverged, "_Stale": _Stale, "_wrap": new, "slice": slice, "_same": _same,
             "_obs": observe, "_hooks": hooks}
        self.out_kind, out_arrays = self._outputs(out, raw)
        outputs = [_value(a) for a in out_arrays]
        src = _Source(g)
        refs, grad_locals = self._refs(trace, src, arg_index)
        writes = self._writes(trace, arg_slots)
        # the replay runs with no observer: it reads and writes the Tensors' fields directly
        data_stores = [passes.Store(f"{refs(t)}._data", _value(raw(t))) for t in writes]
        grad_stores = self._grad_stores(trace, raw, refs, g)
        stores = data_stores + grad_stores
        roots = passes.root_slots([s.value for s in stores] + outputs)  # slots that leave the replay

        folded = passes.fold_constants(trace.entries, trace.values, roots, _SHAPE_ONLY, _FRESH)
        live, needed = passes.eliminate_dead(trace.entries, roots, folded, _FRESH)
        live, start = passes.schedule(live, _FRESH)  # value guards before every write they do not need
        if passes.writes_to_inputs(live[:start], _FRESH):
            raise TraceError(
                "xgrad.compile: the function writes into an existing tensor's array in place (an optimizer "
                "step, t.add_(v), t[i] = v, t.data[...] = v, zero_grad(set_to_none=False)) and then reads a "
                "value that depends on it on the host (.item(), float(t), bool(t), .numpy(), Python control flow on an "
                "array); a replay that finds a different value there must start again and could not undo "
                "the write. Read that value outside the compiled function, or assign a new array instead")
        self.draw_fns = [e.fn for e in live[:start] if passes.draws(e)]
        self.steps = len(live)
        self.folded = len(folded)

        # buffer reuse: an update of state written straight into the state's own array
        updates = self._updates(trace, raw, writes)
        inplace = passes.plan_buffers(live, [u for _, u in updates], roots, trace.values, _FRESH, start)
        written_into = {p.buffer for p in inplace.values()}
        self.kept_buffers = [(t, trace.values[u.buffer]) for t, u in updates if u.buffer in written_into]
        written_into |= {passes.mutates(e) for e in live} - {None}

        self._prologue(trace, outside, refs, grad_locals, src)
        loads = self._loads(trace, arg_slots, needed, refs, src, written_into)
        # where the function gives a tensor a new array and the replay writes into its old one instead,
        # the old one must be the tensor's alone (a user may hold it: eager would leave it as it was)
        for t, _ in self.kept_buffers:
            i = next(k for k, (u, _, _) in enumerate(self._loaded) if u is t)
            src.checks.append(f"if not {src.name(t._backend.unshared, 'held')}({src.name(self._seen, 'K')}, {i}, 2): "
                              "raise _Stale  # (the tensor and this replay's local hold it)")
        stores += self._remember(trace, raw, writes, live, inplace, src)
        version_stores = self._versions(trace, refs, start_seq, g)
        stores += version_stores
        prologue = (["try:"] + ["    " + line for line in src.prologue]
                    + ["except (LookupError, ValueError, AttributeError, TypeError):", "    raise _Stale"]
                    if src.prologue else [])
        # elementwise chains as one kernel each, where the backend makes them (after every decision above:
        # the steps of ``inplace`` stay as they are)
        roots = passes.root_slots([s.value for s in stores] + outputs)
        live, inplace, self.fused = self._fuse(trace, live, roots, inplace, fuse)
        self.source, names = passes.emit(live, loads, stores, outputs, inplace, folded, prologue, src.checks)
        g.update(names)
        namespace = dict(g)
        exec(self.source, namespace)  # noqa: S102 - code generated from the recorded tape
        self._replay = namespace["replay"]
        self.graph: graphs.GraphReplay | None = None
        self.graph_reason: str | None = None  # why there is no graph, where one was asked for
        backend = self._backend_of(trace)
        if cuda_graph or (cuda_graph is None and backend is not None and backend.graph_by_default):
            pieces = (trace, arg_slots, writes, data_stores, grad_stores, version_stores, outputs, live,
                      inplace, folded, loads, prologue, src.checks, refs, g, grad_locals)
            reason = self._graph(backend, pieces, say if cuda_graph else None)
            if reason is not None:
                self.graph_reason = reason
                if cuda_graph and say is not None:
                    say(reason)

    @staticmethod
    def _fuse(trace: Trace, live: list[Any], roots: set[int], inplace: dict[int, passes.InPlace],
              fuse: bool | None) -> tuple[list[Any], dict[int, passes.InPlace], list[_fused.Group]]:
        """The steps with elementwise groups fused (``fusion.py``), when ``fuse`` (or, for None, the
        backend's default) asks for it and every tensor read is of one backend."""
        backend = _Plan._backend_of(trace)
        if fuse is False or backend is None:
            return live, inplace, []
        if fuse is None and not backend.fuse_by_default:
            return live, inplace, []
        ops = _fused.tape_functions(backend.rule_namespace)
        groups = fusion.find_groups(live, trace.values, roots, ops, _FRESH, inplace)
        return fusion.fuse(live, groups, backend.fused_elementwise, inplace)

    @staticmethod
    def _backend_of(trace: Trace) -> Any:
        """The one backend of every tensor the trace read, or None (none, or several)."""
        found = {id(t._backend): t._backend for t, _ in trace.inputs.values()}
        return next(iter(found.values())) if len(found) == 1 else None

    # ---- CUDA-graph replay (graphs.py) ------------------------------------------------------------
    def _graph(self, backend: Any, pieces: tuple, say: Callable[[str], None] | None) -> str | None:
        """Build this plan's graph replay (``self.graph``: the host part ``self._graph_replay`` and the
        body), or return why there is none."""
        (trace, arg_slots, writes, data_stores, grad_stores, version_stores, outputs, live, inplace, folded,
         loads, prologue, checks, refs, g, grad_locals) = pieces
        if backend is None:
            return "it reads tensors of several backends"
        if any(owner is not None for _, owner, _ in self._loaded):
            return ("it reads gradients that were there before the call (accumulation over calls, or a "
                    "gradient read before the backward sets it): a graph would read the arrays it recorded")
        loaded = dict((s, i) for s, i in self._index.items())  # slot -> index in K (self._seen)
        args = {s for _, s in arg_slots}
        parts = graphs.split(live, inplace, loaded)
        if isinstance(parts, str):
            return parts
        into = {live[n].out.index: b.buffer for n, b in inplace.items()}  # results written into a buffer
        slot_of = {id(t): s for t, s in trace.inputs.values() if s in loaded}
        made = parts.made
        results: list[int] = []  # gradients first: handed out as the graph's arrays (GraphReplay.hand)
        owners = []
        for t, st in zip(trace.grad_written.values(), grad_stores):  # (the order _grad_stores made them in)
            if st.value is not None and (type(st.value) is not Slot or st.value.index not in made
                                         or st.value.index in results):
                return "a gradient it stores is not computed in it"
            if st.value is not None:
                results.append(st.value.index)
                owners.append(t)
        writebacks, host_stores, stored_by = [], [], {}
        for t, st in zip(writes, data_stores):
            v, s = st.value, slot_of.get(id(t))
            if s is not None:  # a loaded tensor keeps its array: the new values go into it
                if type(v) is Slot and (v.index == s or into.get(v.index) == s):
                    continue
                writebacks.append((loaded[s], v))
                host_stores.append(passes.Store("_", None, f"_written({refs(t)})"))
            else:
                host_stores.append(st)
                if type(st.value) is Slot:
                    stored_by[st.value.index] = t
        # a result computed into a loaded array (out=) is that array: the host part has it loaded
        outputs = [Slot(into[v.index]) if type(v) is Slot and into.get(v.index) in loaded else v for v in outputs]
        why = self._graph_aliasing(live, parts, args, loaded, writebacks, outputs, host_stores)
        if why is not None:
            return why
        targets = {s for s, i in loaded.items() if any(i == j for j, _ in writebacks)}
        if not all(backend.writable(trace.values[s]) for s in targets):
            return "a tensor it gives a new array holds a read-only array or a scalar (a graph writes in place)"
        wanted = [st.value.index for st in host_stores if type(st.value) is Slot]
        wanted += [v.index for v in outputs if type(v) is Slot]
        wanted += [v.index for _, v in writebacks if type(v) is Slot]
        static, body_results = graphs.static_inputs(parts, loaded, folded, wanted)
        pre_made = {s for e in parts.pre for s in passes.slots(e.out)}
        for s in static:
            if not (s in args or s in pre_made) or not hasattr(trace.values[s], "shape"):
                return "it reads a value that is neither an argument nor a random draw (internal)"
        results += [s for s in body_results if s not in results]
        where = {s: k for k, s in enumerate(results)}
        xp = backend.namespace  # (the library's own: this runs inside the trace)
        S = [xp.empty_like(trace.values[s]) for s in static]
        R: list[Any] = [None] * len(results)
        first = (trace.values[static[0]] if static else self._seen[0] if self._seen else None)
        device = backend.device(first) if first is not None else None

        def src(v: Any, copy: bool = False) -> Any:  # a value as the host part reads it: R[k], or itself
            if type(v) is Slot and v.index in where:
                return f"_copy(R[{where[v.index]}])" if copy else f"R[{where[v.index]}]"
            return v

        stores = [passes.Store(f"S[{k}][...]", Slot(s)) for k, s in enumerate(static)]
        result = [f"o{j}" for j in range(len(outputs))]
        # an array returned as it was before the body writes new values into it: copied before the launch
        early = [j for j, v in enumerate(outputs) if type(v) is Slot and v.index in targets]
        stores += [passes.Store(f"o{j}", None, f"_copy(v{outputs[j].index})") for j in early]
        stores.append(passes.Store("_", None, "_graph.launch()"))
        for st in host_stores:
            v = src(st.value)
            stores.append(passes.Store(st.target, None, st.template.format(v)) if isinstance(v, str) else st)
        for k, st in enumerate(grad_stores):
            if st.value is None:
                stores.append(st)
            else:  # st.template: "_wrap({}, b_gN)"
                stores.append(passes.Store(st.target, None,
                                           f"_graph.hand({where[st.value.index]}, "
                                           f"{st.template.format(src(st.value))})"))
        stores += version_stores
        for j, v in enumerate(outputs):
            if j not in early:
                v = src(v, copy=True)
                stores.append(passes.Store(f"o{j}", None, v) if isinstance(v, str) else passes.Store(f"o{j}", v))
        checks = list(checks)
        if grad_locals:  # the prologue's references to the gradients (GraphReplay counts the others)
            checks.append(f"del {', '.join(sorted(grad_locals.values()))}")
        checks.append("if not _graph.ready(A): return _PLAIN")
        host, host_names = passes.emit(parts.pre, loads, stores, (), {}, folded, prologue, checks,
                                       result="(" + "".join(r + ", " for r in result) + ")")
        body, body_names = graphs.body_source(parts, static, results, loaded, writebacks, folded)
        swap = backend.graph_functions()
        names = dict(g, S=S, R=R, K=self._seen)
        body_ns = dict(names, **{k: swap.get(id(v), v) for k, v in body_names.items()})
        exec(body, body_ns)  # noqa: S102 - code generated from the recorded tape
        stored = {where[s]: t for s, t in stored_by.items() if s in where}
        changed = {i for i, _ in writebacks} | {loaded[ip.buffer] for ip in parts.body_inplace.values()}
        changed |= {loaded[s] for e in parts.body for s in [passes.mutates(e)] if s in loaded}
        self.graph = graph = graphs.GraphReplay(backend, device, body_ns["replay"], S, R, self._seen, owners,
                                                stored, [i for i, _ in writebacks], changed,
                                                [i for i, s in arg_slots if s in static], say)
        host_ns = dict(names, **host_names, _graph=graph, _PLAIN=graphs.PLAIN, _written=written,
                       _copy=functools.partial(xp.asarray, copy=True))
        exec(host, host_ns)  # noqa: S102
        self._graph_replay = host_ns["replay"]
        self.graph_source = (host, body)
        return None

    @staticmethod
    def _graph_aliasing(live: list[Any], parts: Any, args: set[int], loaded: dict[int, int],
                        writebacks: list[tuple[int, Any]], outputs: list[Any],
                        host_stores: list[passes.Store]) -> str | None:
        """Why memory shared between the arrays of a graph step would change its numbers, or None: the
        body writes into copies of the arguments (``S``), and writes new values into loaded arrays that
        views computed from them, or the new values themselves, may share."""
        _, bases = passes._memory(live, _FRESH)

        def memory(s: int) -> frozenset[int]:
            return bases.get(s, frozenset((s,)))

        pre_made = {s for e in parts.pre for s in passes.slots(e.out)}
        for e in parts.body:
            m = passes.mutates(e)
            if m is not None and memory(m) & (args | pre_made):
                return "it writes into an argument's array in place (a graph holds a copy of its arguments)"
        slot_at = {i: s for s, i in loaded.items()}
        targets = {slot_at[i] for i, _ in writebacks}
        for i, v in writebacks:
            if type(v) is Slot and memory(v.index) & targets:
                return "it gives a tensor a view of an array it replaces (a graph writes new values in place)"
        values = [v for v in outputs if type(v) is Slot and v.index not in targets]
        values += [st.value for st in host_stores if type(st.value) is Slot]
        if any(memory(v.index) & targets for v in values):
            return "it returns or stores a view of an array it replaces (a graph writes new values in place)"
        return None

    # ---- naming the tensors -----------------------------------------------------------------------
    @staticmethod
    def _refs(trace: Trace, src: _Source, arg_index: dict[int, int]) -> tuple[Callable[[Tensor], str], dict[int, str]]:
        """The source text for an existing tensor: an argument as the replay gets it (``A[0]``), a
        global (``t0``), or, for a gradient read from an existing tensor, that tensor's ``.grad`` as the
        replay finds it (``r0``, set in the prologue); and those locals, by id of the tensor whose
        ``.grad`` they are."""
        read = [key for key, (_, grad) in trace.grad_reads.items() if grad is not None]
        grad_locals = {key: f"r{k}" for k, key in enumerate(read)}

        def ref(t):
            if id(t) in arg_index:
                return f"A[{arg_index[id(t)]}]"
            owner = trace.grad_of.get(id(t))
            return grad_locals[id(owner)] if owner is not None else src.name(t, "t")
        return ref, grad_locals

    @staticmethod
    def _writes(trace: Trace, arg_slots: list[tuple[int, int]]) -> list[Any]:
        """Each tensor from before the trace whose array the function replaced."""
        arg_set = {s for _, s in arg_slots}
        if any(slot in arg_set for t, slot in trace.inputs.values() if id(t) in trace.written):
            raise TraceError("xgrad.compile: the function assigns to the data of one of its arguments; "
                             "return the new value instead")
        return list(trace.written.values())

    @staticmethod
    def _grad_stores(trace: Trace, raw: Callable[[Any], Any], refs: Callable[[Tensor], str],
                     g: dict[str, Any]) -> list[passes.Store]:
        """The ``.grad`` each tensor from before the trace has after it: None, a new array, or a Tensor."""
        stores = []
        for k, t in enumerate(trace.grad_written.values()):
            grad = t.grad
            if grad is not None and id(grad) in trace.born:
                g[f"b_g{k}"] = grad._backend
                stores.append(passes.Store(f"{refs(t)}._grad", _value(raw(grad)), f"_wrap({{}}, b_g{k})"))
            elif grad is not None:  # an existing tensor: the template is its name
                stores.append(passes.Store(f"{refs(t)}._grad", None, refs(grad)))
            else:
                stores.append(passes.Store(f"{refs(t)}._grad", None))
        return stores

    @staticmethod
    def _updates(trace: Trace, raw: Callable[[Any], Any], writes: list[Any]) -> list[tuple[Any, passes.Update]]:
        """(tensor, Update) for each replaced array that was read, on a backend with out= ufuncs, and
        shared with no other input."""
        updates = []
        for t in writes:
            entry, array = trace.inputs.get(id(t)), raw(t)
            ufuncs = getattr(t._backend, "out_ufuncs", None)
            if entry is None or entry[1] is None or type(array) is not tracing.Tracer or not ufuncs:
                continue
            old = trace.values[entry[1]]
            shared = any(s != entry[1] and trace.values[s] is old for _, s in trace.inputs.values() if s is not None)
            if t._backend.writable(old) and not shared:
                updates.append((t, passes.Update(entry[1], array._slot, ufuncs)))
        return updates

    # ---- what a replay checks first -------------------------------------------------------------------
    def _prologue(self, trace: Trace, outside: _Outside, refs: Callable[[Tensor], str], grad_locals: dict[int, str],
                  src: _Source) -> None:
        """Lines checking, before anything runs, that what the trace read besides arrays is unchanged."""
        for container, key, value in trace.statics:
            src.same(f"{src.name(container)}[{key!r}]", value)
        for holder, key, value in outside.values:
            src.same(f"{src.name(holder)}[{key!r}]" if key != "" else f"{src.name(holder)}.cell_contents", value)
        groups = {id(c): c for c, _, _ in trace.statics if isinstance(c, dict) and isinstance(c.get("params"), list)}
        for opt, param_groups, group_list, state, size, entries in outside.optimizers:
            pg, st = src.name(param_groups), src.name(state)
            same_groups = "".join(f" or {pg}[{i}] is not {src.name(grp)}" for i, grp in enumerate(group_list))
            src.prologue.append(f"if {src.name(opt)}.param_groups is not {pg} or len({pg}) != {len(group_list)}"
                                f"{same_groups} or {src.name(opt)}.state is not {st} or len({st}) != {size}: "
                                "raise _Stale")
            # each parameter's state as traced: the same dict with the same entries (a cleared or
            # reloaded state has new tensors, which the trace's code would not update)
            for p, d, items in entries:
                dn = src.name(d)
                src.prologue.append(f"if {st}.get({src.name(p)}) is not {dn} or len({dn}) != {len(items)}: raise _Stale")
                for k, v in items:
                    src.same(f"{dn}[{k!r}]", v)
            groups.update((id(grp), grp) for grp in group_list if isinstance(grp.get("params"), list))
        for grp in groups.values():
            ps = grp["params"]
            lst = src.name(ps)
            same_params = "".join(f" or {lst}[{i}] is not {src.name(p)}" for i, p in enumerate(ps))
            src.prologue.append(f"if {src.name(grp)}['params'] is not {lst} or len({lst}) != {len(ps)}"
                                f"{same_params}: raise _Stale")
        for key, (t, grad) in trace.grad_reads.items():
            if grad is None:
                src.prologue.append(f"if {refs(t)}._grad is not None: raise _Stale")
            else:
                r = grad_locals[key]
                src.prologue += [f"{r} = {refs(t)}._grad", f"if {r} is None: raise _Stale"]
        src.prologue.append(f"if _hooks.version != {outside.hooks_version}: raise _Stale")
        if outside.modules:
            version = src.name([outside.version], "V")
            src.prologue.append(f"if _obs.state_version != {version}[0]: "
                                f"{src.name(outside.unchanged_modules)}({version})")

    def _loads(self, trace: Trace, arg_slots: list[tuple[int, int]], needed: set[int],
               refs: Callable[[Tensor], str], src: _Source, written_into: set[int]) -> list[tuple[str, int]]:
        """(expression, slot): where the replay reads each array it needs, arguments first; and the
        checks that each existing tensor's array is the one last seen (or one like the trace's) and its
        ``requires_grad`` unchanged."""
        loads = [(f"A[{i}]._data", slot) for i, slot in arg_slots if slot in needed]
        arg_set = {s for _, s in arg_slots}
        self._seen: list[Any] = []  # the array each loaded tensor held when last seen
        self._expect: list[tuple] = []  # what another array must be like
        self._loaded: list[tuple[Any, Any, bool]] = []  # (tensor, the tensor whose .grad it is, written into)
        self._index: dict[int, int] = {}  # slot -> its place in those lists
        seen, fresh = src.name(self._seen, "K"), src.name(self._fresh_array, "_fresh")
        for t, slot in trace.inputs.values():
            if slot is None or slot not in needed or slot in arg_set:
                continue
            i = self._index[slot] = len(self._seen)
            self._seen.append(None)
            self._expect.append(_array_key(trace.values[slot]))
            self._loaded.append((t, trace.grad_of.get(id(t)), slot in written_into))
            loads.append((f"{refs(t)}._data", slot))
            src.checks += [f"if v{slot} is not {seen}[{i}]: {fresh}({i}, v{slot})",
                           f"if {refs(t)}.requires_grad is not {t.requires_grad}: raise _Stale"]
        return loads

    def _remember(self, trace: Trace, raw: Callable[[Any], Any], writes: list[Any], live: list[Any],
                  inplace: dict[int, passes.InPlace], src: _Source) -> list[passes.Store]:
        """Stores noting the new arrays the replay leaves in loaded tensors (the next replay's check of
        them is then one ``is``): those replaced by another array, and new gradients read next time."""
        name = src.name(self._seen, "K")
        into = {live[n].out.index: b.buffer for n, b in inplace.items()}  # results written into a buffer
        slot_of = {id(t): s for t, s in trace.inputs.values() if s in self._index}
        found = []
        for t in writes:
            value = _value(raw(t))
            slot = slot_of.get(id(t))
            if slot is not None and type(value) is Slot and value.index != slot and into.get(value.index) != slot:
                found.append(passes.Store(f"{name}[{self._index[slot]}]", value))
        grads = {id(owner): i for i, (_, owner, _) in enumerate(self._loaded) if owner is not None}
        for t in trace.grad_written.values():
            grad = trace.grads[id(t)]
            if id(t) in grads and grad is not None and id(grad) in trace.born and type(raw(grad)) is tracing.Tracer:
                found.append(passes.Store(f"{name}[{grads[id(t)]}]", _value(raw(grad))))
        return found

    def _versions(self, trace: Trace, refs: Callable[[Tensor], str], start_seq: int,
                  g: dict[str, Any]) -> list[passes.Store]:
        """Stores noting in-place writes in the tensors' versions, as eager code does (``tensor.written``):
        for tensors whose version the traced call moved, and for those the replay updates in place
        (``out=``) where the function assigned a new array, so a graph that saved the old values refuses
        to backward instead of reading the new ones."""
        seen = {id(t): t for t, _ in trace.inputs.values()}
        seen.update(trace.written)
        moved = [t for t in seen.values() if t._version is not None and t._version[0] > start_seq]
        moved += [t for t, _ in self.kept_buffers if not any(t is m for m in moved)]
        self._versioned = [t for t in moved if id(t) not in trace.grad_of]  # arm() gives each a version cell
        if not moved:
            return []
        g["_next_seq"], g["_written"] = _state.next_seq, written
        stores = [passes.Store("_seq", None, "_next_seq()")]
        for t in moved:  # a gradient read anew, or an argument, may have no cell yet: the engine's function makes one
            anew = id(t) in trace.grad_of or refs(t).startswith("A[")
            stores.append(passes.Store("_", None, f"_written({refs(t)})") if anew
                          else passes.Store(f"{refs(t)}._version[0]", None, "_seq"))
        return stores

    def arm(self) -> None:
        """After the trace: the arrays the loaded tensors now hold are the ones the next replay finds."""
        for t in self._versioned:
            if t._version is None:
                t._version = [0]
        for i, (t, owner, _) in enumerate(self._loaded):
            holder = t if owner is None else owner._grad
            self._seen[i] = None if holder is None else holder._data

    def _fresh_array(self, i: int, array: Any) -> None:
        """A loaded tensor holds another array than last seen: like the trace's (and, where the replay
        writes into it, writable and no other loaded tensor's), it is remembered; else ``_Stale``."""
        t, _, written_into = self._loaded[i]
        if self.graph is not None:  # the recording reads the old array: record again
            self.graph.invalid = True
        if _array_key(array) != self._expect[i]:
            raise _Stale
        if written_into and (not t._backend.writable(array) or any(array is a for a in self._seen)):
            raise _Stale
        self._seen[i] = array

    @staticmethod
    def _outputs(out, raw):
        """The structure of ``out`` and the list of arrays (Tracers or real arrays) it holds."""
        values = []

        def spec(o):
            if isinstance(o, Tensor):
                values.append(raw(o))
                return ("T", len(values) - 1, o._backend, o.requires_grad)
            if type(o) is tracing.Tracer:  # a raw array computed inside: the replay's array, not this one
                values.append(o)
                return ("A", len(values) - 1)
            if type(o) in (tuple, list):
                return (type(o), [spec(i) for i in o])
            if isinstance(o, tuple) and hasattr(o, "_fields"):  # a named tuple
                return ("N", type(o), [spec(i) for i in o])
            if type(o) is dict:
                return (dict, {k: spec(v) for k, v in o.items()})
            if _plain(o):
                return ("C", o)
            raise TraceError(f"xgrad.compile: the function returns a {type(o).__name__}; a compiled function "
                             "returns Tensors, arrays, numbers, strings, None, and tuples, lists and dicts of "
                             "them (every other object would be this call's, returned again by each replay)")

        return spec(out), values

    def run(self, args):
        if self.graph is not None and self.graph.disabled is None:
            values = self._graph_replay(args)
            if values is not graphs.PLAIN:
                return _build(self.out_kind, values)
        values = self._replay(args)
        return _build(self.out_kind, values)

    def drawn(self, failed: _Diverged) -> list:
        """(function, array) of each random draw a replay made before the guard that stopped it."""
        arrays = failed.args[0] if failed.args else ()
        return list(zip(self.draw_fns, arrays))


def _array_key(a: Any) -> tuple:
    """What a replay assumes of an array: its type, shape, dtype and device."""
    if not hasattr(a, "shape"):
        return (type(a), a)
    return (type(a), tuple(a.shape), a.dtype, str(getattr(a, "device", None)))


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
    if tag == "A":
        a = values[kind[1]]
        return a._value if type(a) is tracing.Tracer else a
    if tag == "C":
        return kind[1]
    if tag is dict:
        return {k: _build(v, values) for k, v in kind[1].items()}
    if tag == "N":
        return kind[1](*(_build(v, values) for v in kind[2]))
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
