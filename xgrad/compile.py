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

import functools
import math
import operator
import warnings

from . import _state, backends as _backends, tracing
from .tracing import Slot, Trace, TraceError

__all__ = ["compile", "CompiledFunction", "TraceError"]


class _Diverged(Exception):
    """A guard failed during a replay: the function must be traced again."""


def compile(fn=None, *, warmup=1, max_retraces=8):
    """Compile ``fn`` (usable as ``@xgrad.compile`` or ``@xgrad.compile(warmup=0)``)."""
    if fn is None:
        return lambda f: CompiledFunction(f, warmup=warmup, max_retraces=max_retraces)
    return CompiledFunction(fn, warmup=warmup, max_retraces=max_retraces)


class CompiledFunction:
    """A function with one replay plan per input signature."""

    def __init__(self, fn, warmup=1, max_retraces=8):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.warmup = warmup
        self.max_retraces = max_retraces
        self._plans = {}  # signature -> _Plan
        self._calls = {}  # signature -> eager calls so far
        self._retraces = {}
        self._eager = set()  # signatures that gave up on tracing

    def __call__(self, *args, **kwargs):
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

    def plan(self, *args, **kwargs):
        """The replay plan for these arguments' signature (None before it is traced)."""
        return self._plans.get(_signature(args, kwargs))


def _key(a):
    if isinstance(a, _state.Tensor):
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
    return sig + (_state.grad_enabled, _backends.current_backend(), _backends.current_device())


def _trace(fn, args, kwargs):
    """Run ``fn`` once while recording; return its (real) result and the replay plan."""
    from .backends import _LOADED

    Tensor = _state.Tensor
    trace = Trace()
    for b in _LOADED.values():
        _shape_only(b)
    rec = tracing.recording(trace, list(_LOADED.values()))
    arg_slots = []
    with rec:
        data = rec._members["data"]
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                value = data.__get__(a)
                if type(value) is tracing.Tracer:  # the same tensor passed twice
                    arg_slots.append((i, value._slot))
                    continue
                tracer = trace.new(value)
                trace.inputs[id(a)] = (a, tracer._slot)
                data.__set__(a, tracer)
                arg_slots.append((i, tracer._slot))
        try:
            out = fn(*args, **kwargs)
            plan = _Plan(trace, rec._members, arg_slots, out)
        finally:
            tracing.concretize(trace, rec._members)
    for t, array in plan.kept_buffers:  # as the replays will: the new values in the old buffers
        array[...] = t.data
        t.data = array
    return out, plan


class _Plan:
    """The generated replay of one trace, and what it reads and writes."""

    def __init__(self, trace, members, arg_slots, out):
        data = members["data"]
        Tensor = _state.Tensor
        self.kept_buffers = []  # (tensor, array) updated in place by the replay
        g = {"_Diverged": _Diverged, "_wrap": Tensor._wrap, "slice": slice}
        self._globals = g
        consts = {}

        def const(value):
            if value is None or value is Ellipsis or type(value) in (bool, int, str):
                return repr(value)
            if type(value) is float and math.isfinite(value):
                return repr(value)
            key = id(value)
            if key not in consts:
                consts[key] = f"c{len(consts)}"
                g[consts[key]] = value
            return consts[key]

        def src(x):
            if type(x) is Slot:
                return f"v{x.index}"
            if type(x) is tuple:
                return "(" + "".join(src(i) + ", " for i in x) + ")"
            if type(x) is list:
                return "[" + ", ".join(src(i) for i in x) + "]"
            if type(x) is slice:
                return f"slice({src(x.start)}, {src(x.stop)}, {src(x.step)})"
            return const(x)

        # --- what the replay must produce --------------------------------------------------
        roots = set()  # slots that leave the replay (outputs, written data and grads)
        writes = []  # (global name of the tensor, the tensor, its final array: a Tracer or a real array)
        arg_ids = {id(t) for t, slot in trace.inputs.values() if any(slot == s for _, s in arg_slots)}
        for k, t in enumerate(trace.written.values()):
            if id(t) in arg_ids:
                raise TraceError("xgrad.compile: the function assigns to the data of one of its arguments; "
                                 "return the new value instead")
            g[f"t_w{k}"] = t
            writes.append((f"t_w{k}", t, data.__get__(t)))
        grad_lines = []
        for k, t in enumerate(trace.grad_written.values()):
            name = f"t_g{k}"
            g[name] = t
            grad = t.grad
            if grad is None:
                grad_lines.append((f"{name}.grad = None", None))
            elif id(grad) in trace.born:
                value = data.__get__(grad)
                g[f"b_g{k}"] = grad._backend
                slot = value._slot if type(value) is tracing.Tracer else None
                grad_lines.append((f"{name}.grad = _wrap({{}}, b_g{k})", slot if slot is not None else value))
            else:
                grad_lines.append((f"{name}.grad = {const(grad)}", None))
        self.out_kind, outputs = self._outputs(out, data)
        for value in [w[2] for w in writes] + [v for _, v in grad_lines] + outputs:
            if type(value) is tracing.Tracer:
                roots.add(value._slot)
            elif type(value) is int:
                roots.add(value)

        # --- constant folding: steps whose inputs are all fixed run once, now --------------------
        mutated = {e.args[0].index for e in trace.entries if e.kind == "setitem"}
        folded = {}
        for e in trace.entries:
            if e.effect or e.kind in ("setitem", "guard", "static") or e.out is None:
                continue
            outs = _slots(e.out)
            if any(s in mutated or s in roots for s in outs):
                continue
            ins = _slots(e.args) + _slots(tuple(e.kw.values()))
            if e.fn in _SHAPE_ONLY or all(s in folded for s in ins):
                for s in outs:
                    folded[s] = trace.values[s]
        for s, value in folded.items():
            g[f"v{s}"] = value  # a folded slot is a global of the replay

        # --- dead-code elimination: keep what outputs, writes, guards and effects need ------------
        needed = set(roots)
        live = []
        for e in reversed(trace.entries):
            outs = _slots(e.out)
            if outs and all(s in folded for s in outs):
                continue
            keep = e.effect and e.kind != "setitem"
            if e.kind == "setitem":
                keep = e.args[0].index in needed
            if keep or any(s in needed for s in outs):
                live.append(e)
                needed.update(_slots(e.args))
                needed.update(_slots(tuple(e.kw.values())))
        live.reverse()
        self.steps = len(live)
        self.folded = len(folded)

        # --- buffer reuse: an update of state written straight into the state's own array -----------
        inplace = self._inplace_updates(trace, live, writes, outputs, grad_lines)

        # --- the generated function --------------------------------------------------------------
        lines = ["def replay(A):"]
        for i, slot in arg_slots:
            if slot in needed:
                lines.append(f"    v{slot} = A[{i}].data")
        for k, (t, slot) in enumerate(trace.inputs.values()):
            if slot is not None and slot in needed and all(slot != s for _, s in arg_slots):
                g[f"t_in{k}"] = t
                lines.append(f"    v{slot} = t_in{k}.data")
        # an intermediate is dropped right after its last use, as hand-written code frees temporaries
        last_use = {}
        for n, e in enumerate(live):
            for s in _slots(e.args) + _slots(tuple(e.kw.values())) + _slots(e.out):
                last_use[s] = n
            if id(e) in inplace:  # the buffer written into is used here too
                last_use[inplace[id(e)][1]] = n
        for s in roots:
            last_use[s] = len(live)
        dead_after = {}
        for s, n in last_use.items():
            if s not in folded and n < len(live):
                dead_after.setdefault(n, []).append(f"v{s}")
        for n, e in enumerate(live):
            if id(e) in inplace:
                ufunc_name, target = inplace[id(e)]
                a, b = (src(x) for x in e.args)
                lines.append(f"    {src(e.out)} = {ufunc_name}({a}, {b}, out=v{target})")
            else:
                lines.append("    " + self._emit(n, e, src, const, g))
            if n in dead_after:
                lines.append(f"    del {', '.join(sorted(dead_after[n]))}")
        for name, t, value in writes:
            lines.append(f"    {name}.data = {src(Slot(value._slot)) if type(value) is tracing.Tracer else const(value)}")
        for template, value in grad_lines:
            if "{}" in template:
                value = src(Slot(value)) if type(value) is int else const(value)
                template = template.format(value)
            lines.append("    " + template)
        exprs = [src(Slot(v._slot)) if type(v) is tracing.Tracer else const(v) for v in outputs]
        lines.append("    return (" + "".join(x + ", " for x in exprs) + ")")
        self.source = "\n".join(lines)
        namespace = dict(g)
        exec(self.source, namespace)  # noqa: S102 - code generated above from the recorded tape
        self._replay = namespace["replay"]

    def _inplace_updates(self, trace, live, writes, outputs, grad_lines):
        """Steps whose result replaces a tensor's array and may be computed into that array (``out=``).

        Allowed where the backend's operator has an ``out=`` ufunc, neither the old array nor any view
        of it is read by a later step or leaves the replay, and shapes and dtypes agree."""
        found = {}
        producer = {}
        for i, e in enumerate(live):
            for s in _slots(e.out):
                producer[s] = i
        last_read = {}
        for i, e in enumerate(live):
            for s in _slots(e.args) + _slots(tuple(e.kw.values())):
                last_read[s] = i
        # a step that may return a view (reshape, transpose, indexing, anything not known to allocate)
        # makes its result an alias of its inputs; an alias read after the update blocks it
        aliases = {}
        for e in live:
            if e.kind == "op" or (e.kind == "call" and e.fn in _FRESH):
                continue
            ins = _slots(e.args)
            for s in _slots(e.out):
                aliases[s] = set(ins)
        def read_after(slot, i):
            if last_read.get(slot, -1) > i:
                return True
            return any(slot in srcs and read_after(view, i) for view, srcs in aliases.items())
        escaping = {v._slot for v in outputs if type(v) is tracing.Tracer}
        escaping.update(v for _, v in grad_lines if type(v) is int)
        for name, t, new in writes:
            entry = trace.inputs.get(id(t))
            if entry is None or entry[1] is None or type(new) is not tracing.Tracer:
                continue
            old_slot, new_slot = entry[1], new._slot
            ufuncs = getattr(t._backend, "out_ufuncs", None)
            i = producer.get(new_slot)
            if not ufuncs or i is None:
                continue
            e = live[i]
            old, value = trace.values[old_slot], trace.values[new_slot]
            if (e.kind != "op" or e.fn not in ufuncs or len(e.args) != 2 or read_after(old_slot, i)
                    or old_slot in escaping or tuple(old.shape) != tuple(value.shape) or old.dtype != value.dtype
                    or not t._backend.writable(old)):
                continue
            key = f"u_{ufuncs[e.fn].__name__}"
            self._globals[key] = ufuncs[e.fn]
            found[id(e)] = (key, old_slot)
            self.kept_buffers.append((t, old))
        return found

    @staticmethod
    def _emit(n, e, src, const, g):
        out = e.out
        target = ("".join(src(o) + ", " for o in out) if type(out) is tuple else src(out)) if out is not None \
            else "_"
        args = [src(a) for a in e.args]
        kw = "".join(f", {k}={src(v)}" for k, v in e.kw.items())
        if e.kind == "op":
            sym = _INFIX.get(e.fn)
            if sym is not None and len(args) == 2:
                return f"{target} = {args[0]} {sym} {args[1]}"
            return f"{target} = {_PREFIX[e.fn]}({args[0]})"
        if e.kind == "getitem":
            return f"{target} = {args[0]}[{args[1]}]"
        if e.kind == "setitem":
            return f"{args[0]}[{args[1]}] = {args[2]}"
        if e.kind == "method":
            if e.fn == "__getattribute__":
                return f"{target} = {args[0]}.{e.args[1]}"
            return f"{target} = {args[0]}.{e.fn}({', '.join(args[1:])}{kw})"
        if e.kind == "guard":
            name = f"guard{n}"
            g[name] = e.fn
            return f"if {name}({args[0]}) != {const(e.out)}: raise _Diverged"
        if e.kind == "static":
            return f"if {const(e.args[0])}[{src(e.args[1])}] != {const(e.out)}: raise _Diverged"
        name = f"f{n}"
        g[name] = e.fn
        return f"{target} = {name}({', '.join(args)}{kw})"

    def _outputs(self, out, data):
        """The structure of ``out`` and the list of values (Tracers or arrays) its Tensors hold."""
        Tensor = _state.Tensor
        values = []

        def spec(o):
            if isinstance(o, Tensor):
                values.append(data.__get__(o))
                return ("T", len(values) - 1, o._backend)
            if isinstance(o, (tuple, list)):
                return (type(o), [spec(i) for i in o])
            if isinstance(o, dict):
                return (dict, {k: spec(v) for k, v in o.items()})
            return ("C", o)

        return spec(out), values

    def run(self, args):
        values = self._replay(args)
        return _build(self.out_kind, values)


def _build(kind, values):
    tag = kind[0]
    if tag == "T":
        return _state.Tensor._wrap(values[kind[1]], kind[2])
    if tag == "C":
        return kind[1]
    if tag is dict:
        return {k: _build(v, values) for k, v in kind[1].items()}
    return tag(_build(v, values) for v in kind[1])


def _slots(x):
    if type(x) is Slot:
        return (x.index,)
    if type(x) in (tuple, list):
        out = ()
        for i in x:
            out += _slots(i)
        return out
    if type(x) is slice:
        return _slots((x.start, x.stop, x.step))
    return ()


_INFIX = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/", operator.floordiv: "//",
          operator.mod: "%", operator.pow: "**", operator.matmul: "@", operator.and_: "&", operator.or_: "|",
          operator.xor: "^", operator.lt: "<", operator.le: "<=", operator.gt: ">", operator.ge: ">=",
          operator.eq: "==", operator.ne: "!="}
# shape-only functions: their results depend on their inputs' shapes and dtypes, never on values
_SHAPE_ONLY = set()


# functions that always return a new array (never a view of an input)
_FRESH = set()
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


_PREFIX = {operator.neg: "-", operator.abs: "abs", operator.invert: "~"}  # emitted as f"{prefix}({arg})"
