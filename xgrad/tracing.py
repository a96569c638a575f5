"""Recording what a function does to arrays, for ``xgrad.compile``.

While a trace is active, the arrays inside Tensors are ``Tracer`` objects: each wraps the real array
of this run and records every operator, indexing and ``xp`` call made on it, in order, as a tape of
array-level steps. The forward functions and VJP rules are plain ``xp`` code, so the same rules that
run eagerly are what the tape holds; no Tensor or graph object appears in it.

Tensors that existed before the trace and are read inside it (parameters, optimizer state, the
arguments) become the tape's inputs; those written inside it (updated parameters, new ``.grad``)
become its outputs. Converting a traced value to a Python number (``bool``, ``int``, ``float``, an
index) or to host values (``.item()``, ``.numpy()``) records a guard: a replay whose value differs stops
and retraces. In-place writes (``a[i] = v``, ``a += b``, in-place methods) are steps that mutate their
first argument. The trace also notes what the function read outside arrays: the hyper-parameters read
through ``observe.static`` and the ``.grad`` of existing tensors, for ``xgrad.compile``'s guards.
"""

import operator
import types

import numpy as np

from . import observe
from .backends import checks
from .errors import TraceError  # (defined with the other errors; importable from here, as before)
from .backends.namespace import SUBNAMESPACES

# namespace members that describe dtypes or devices rather than compute arrays: called directly
_PASS_THROUGH = {"isdtype", "result_type", "finfo", "iinfo", "can_cast", "device", "__array_namespace_info__"}
# namespace members that check values (and may leave the check pending on the device): "check" steps,
# run by every replay, never folded into a constant of the trace
_CHECKS = {"check_labels"}


class Slot:
    """A value in the tape: ``index`` into the replay's variables."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


class Entry:
    """One step of the tape: ``out = fn(*args, **kw)``; ``kind`` says how to emit it.

    Kinds: "call", "op" (binary/unary operator), "getitem", "method", "guard" (a value that must not
    change), "check" (a call that checks values, ``backends/checks.py``: replayed every time, never
    folded), and the writes into ``args[0]``: "setitem", "inplace" (``a += b``) and "method" with
    ``effect`` (an in-place method). A "call" with ``effect`` draws random numbers."""

    __slots__ = ("kind", "fn", "args", "kw", "out", "effect")

    def __init__(self, kind, fn, args, kw, out, effect=False):
        self.kind = kind
        self.fn = fn
        self.args = args
        self.kw = kw
        self.out = out  # Slot, tuple of Slots, or None
        self.effect = effect  # kept even when its output is unused (random numbers, guards, writes)


class Trace:
    """The tape being recorded, and the Tensors it reads and writes."""

    def __init__(self):
        self.entries = []
        self.values = []  # trace-time value of each slot
        self.inputs = {}  # id(tensor) -> (tensor, slot): pre-existing tensors whose data the tape reads
        self.born = set()  # ids of tensors made during the trace
        self.written = {}  # id(tensor) -> tensor: pre-existing tensors whose data was replaced
        self.grad_written = {}  # id(tensor) -> tensor: pre-existing tensors whose grad was assigned
        # what the traced function sees of pre-existing tensors, kept here and not in the tensors, so
        # other threads see them unchanged until the trace ends (then ``concretize`` writes them)
        self.arrays = {}  # id(tensor) -> its array (a Tracer) inside the trace
        self.grads = {}  # id(tensor) -> its grad inside the trace
        self.keep = []  # every tensor made during the trace
        self.statics = []  # (container, key, value): hyper-parameters read through observe.static
        self.grad_reads = {}  # id(tensor) -> (tensor, its grad then): existing .grad read before any assignment
        self.grad_of = {}  # id(grad tensor) -> the existing tensor whose .grad it was when read
        self.predrawn = []  # (fn, array): random numbers an aborted replay drew, to be used again in order
        self.busy = False
        self.closed = False  # set by concretize: a Tracer used after the trace is an error

    def release(self):
        """Drop everything recorded (after the plan is built): the trace and its Tracers form reference
        cycles, which would keep every array and tensor it saw (the gradients it read, say) alive until
        the cyclic collector runs."""
        for box in (self.entries, self.values, self.keep, self.statics, self.predrawn):
            box.clear()
        for table in (self.inputs, self.written, self.grad_written, self.arrays, self.grads, self.grad_reads,
                      self.grad_of):
            table.clear()
        self.born.clear()

    def array_of(self, tensor):
        """``tensor``'s array as the traced function sees it."""
        return self.arrays.get(id(tensor), tensor._data)

    def new(self, value):
        self.values.append(value)
        return Tracer(self, len(self.values) - 1, value)

    def record(self, kind, fn, args, kw, effect=False):
        """Run ``fn`` on the real values of ``args`` and append the step; returns the traced result."""
        self.check_open()
        self.busy = True  # the step is one unit: namespace calls made inside it are not recorded
        try:
            real_args = _real(args)
            real_kw = {k: _real(v) for k, v in kw.items()}
            if kind == "method":
                out = getattr(real_args[0], fn)(*real_args[1:], **real_kw)
            else:
                out = fn(*real_args, **real_kw)
        finally:
            self.busy = False
        if kind == "setitem" or (kind in ("method", "inplace") and (out is None or out is real_args[0])):
            # a write into args[0] (``a[i] = v``, ``a += b``, ``a.fill(0)``): no new value
            self.entries.append(Entry(kind, fn, _encode(args), {k: _encode(v) for k, v in kw.items()}, None, True))
            return None if out is None else args[0]
        if kind == "inplace":  # the library made a new array (``a += b`` then rebinds ``a``): a plain call
            kind = "call"
        return self.append(kind, fn, args, kw, out, effect)

    def check_open(self):
        if self.closed:
            raise TraceError("xgrad.compile: an array traced inside a compiled function was used after the "
                             "function returned (kept in a variable, list or attribute outside it); return it "
                             "as a Tensor instead")

    def append(self, kind, fn, args, kw, out, effect=False):
        """Append the step ``out = fn(*args, **kw)`` whose real result is ``out``; returns the traced result.
        A result whose shape depends on values (boolean-mask indexing, ``nonzero``, ``unique_*``) gets a
        guard on its shape: a replay assumes every shape it saw."""
        result, out_spec = self._wrap(out)
        self.entries.append(Entry(kind, fn, _encode(args), {k: _encode(v) for k, v in kw.items()}, out_spec, effect))
        if _shape_from_values(kind, fn, args, kw):
            for t in (result if isinstance(result, tuple) else (result,)):
                if type(t) is Tracer:
                    self.entries.append(Entry("guard", _shape_of, (Slot(t._slot),), {}, tuple(t._value.shape),
                                              effect=True))
        return result

    def _wrap(self, out):
        if isinstance(out, tuple):
            pairs = [self._wrap(o) for o in out]
            traced = tuple(p[0] for p in pairs)
            if hasattr(out, "_fields"):  # a named tuple (``unique_counts``): its fields, traced
                traced = type(out)(*traced)
            return traced, tuple(p[1] for p in pairs)
        if hasattr(out, "dtype") and hasattr(out, "shape"):
            t = self.new(out)
            return t, Slot(t._slot)
        return out, None  # a Python value (shape arithmetic and the like): not data

    def guard(self, tracer, convert):
        """``convert(tracer)`` as a Python value, with a guard that a replay gives the same value."""
        self.check_open()
        convert = _Checked(convert)
        value = convert(tracer._value)
        self.entries.append(Entry("guard", convert, (Slot(tracer._slot),), {}, value, effect=True))
        return value


# functions whose results' shapes depend on the values they read (by name: every backend's)
_VALUE_SHAPED = frozenset({"nonzero", "argwhere", "flatnonzero", "unique", "unique_all", "unique_counts",
                           "unique_inverse", "unique_values", "extract", "compress", "repeat", "where",
                           "masked_select", "boolean_mask"})


def _shape_of(a):
    return tuple(a.shape)


def _shape_from_values(kind, fn, args, kw):
    """Whether the step's result shape may depend on the values of its arrays: indexing by a traced
    boolean array, or a function of ``_VALUE_SHAPED`` given a traced array (``where`` and ``repeat`` only
    in their value-shaped forms: one argument, an array of repeats)."""
    name = fn if kind == "method" else getattr(fn, "__name__", "")
    if kind == "getitem" or name == "getitem":  # (``a[mask]``, or the rule namespace's ``getitem(a, mask)``)
        return len(args) > 1 and any(type(i) is Tracer and _is_bool(i) for i in _flat(args[1]))
    if name not in _VALUE_SHAPED:
        return False
    if name == "where":
        return len(args) + len(kw) == 1
    if name == "repeat":
        repeats = args[1] if len(args) > 1 else kw.get("repeats")
        return type(repeats) is Tracer
    return any(type(a) is Tracer for a in _flat(args))


def _is_bool(t):
    return str(t._value.dtype).rsplit(".", 1)[-1] == "bool"  # ("bool"; torch: "torch.bool")


def _flat(x):
    if type(x) in (tuple, list):
        for i in x:
            yield from _flat(i)
    else:
        yield x


def _real(x):
    if type(x) is Tracer:
        return x._value
    if type(x) is tuple:
        return tuple(_real(i) for i in x)
    if type(x) is list:
        return [_real(i) for i in x]
    if type(x) is slice and (type(x.start) is Tracer or type(x.stop) is Tracer or type(x.step) is Tracer):
        return slice(_real(x.start), _real(x.stop), _real(x.step))
    return x


def _encode(x):
    if type(x) is Tracer:
        return Slot(x._slot)
    if type(x) is tuple:
        return tuple(_encode(i) for i in x)
    if type(x) is list:
        return [_encode(i) for i in x]
    return x


def _binary(fn, reflected=False):
    if reflected:
        return lambda self, other: self._trace.record("op", fn, (other, self), {})
    return lambda self, other: self._trace.record("op", fn, (self, other), {})


def _inplace(fn):
    """``a += b`` on a traced array: written into ``a`` where the library does so, as eagerly."""
    return lambda self, other: self._trace.record("inplace", fn, (self, other), {})


class Tracer:
    """A real array of this run, standing in for the array of every later replay."""

    __slots__ = ("_trace", "_slot", "_value")
    _is_tracer = True

    def __init__(self, trace, slot, value):
        self._trace = trace
        self._slot = slot
        self._value = value

    # metadata is static for a trace: the input signature fixes shapes, dtypes and devices (a result shaped
    # by values, ``a[mask]`` or ``nonzero``, has its shape guarded: ``Trace.append``)
    @property
    def shape(self):
        return self._value.shape

    @property
    def ndim(self):
        return self._value.ndim

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def device(self):
        return self._value.device

    @property
    def size(self):
        n = 1
        for s in self._value.shape:
            n *= s
        return n

    @property
    def T(self):
        return self._trace.record("method", "__getattribute__", (self, "T"), {})

    @property
    def mT(self):
        return self._trace.record("method", "__getattribute__", (self, "mT"), {})

    def __len__(self):
        return self._value.shape[0]

    def __getattr__(self, name):
        if name.startswith("__"):  # no __array_interface__ and the like: they would leak the real array
            raise AttributeError(name)
        attr = getattr(self._value, name)
        if not callable(attr):
            return attr
        return lambda *args, **kw: self._trace.record("method", name, (self,) + args, kw)

    __add__, __radd__ = _binary(operator.add), _binary(operator.add, True)
    __sub__, __rsub__ = _binary(operator.sub), _binary(operator.sub, True)
    __mul__, __rmul__ = _binary(operator.mul), _binary(operator.mul, True)
    __truediv__, __rtruediv__ = _binary(operator.truediv), _binary(operator.truediv, True)
    __floordiv__, __rfloordiv__ = _binary(operator.floordiv), _binary(operator.floordiv, True)
    __mod__, __rmod__ = _binary(operator.mod), _binary(operator.mod, True)
    __pow__, __rpow__ = _binary(operator.pow), _binary(operator.pow, True)
    __matmul__, __rmatmul__ = _binary(operator.matmul), _binary(operator.matmul, True)
    __and__, __rand__ = _binary(operator.and_), _binary(operator.and_, True)
    __or__, __ror__ = _binary(operator.or_), _binary(operator.or_, True)
    __xor__, __rxor__ = _binary(operator.xor), _binary(operator.xor, True)
    __lt__, __le__ = _binary(operator.lt), _binary(operator.le)
    __gt__, __ge__ = _binary(operator.gt), _binary(operator.ge)
    __eq__, __ne__ = _binary(operator.eq), _binary(operator.ne)
    __hash__ = object.__hash__
    __iadd__, __isub__ = _inplace(operator.iadd), _inplace(operator.isub)
    __imul__, __itruediv__ = _inplace(operator.imul), _inplace(operator.itruediv)
    __ifloordiv__, __imod__ = _inplace(operator.ifloordiv), _inplace(operator.imod)
    __ipow__, __iand__ = _inplace(operator.ipow), _inplace(operator.iand)
    __ior__, __ixor__ = _inplace(operator.ior), _inplace(operator.ixor)

    def __neg__(self):
        return self._trace.record("op", operator.neg, (self,), {})

    def __pos__(self):
        return self

    def __abs__(self):
        return self._trace.record("op", operator.abs, (self,), {})

    def __invert__(self):
        return self._trace.record("op", operator.invert, (self,), {})

    def __getitem__(self, index):
        return self._trace.record("getitem", operator.getitem, (self, index), {})

    def __setitem__(self, index, value):
        self._trace.record("setitem", operator.setitem, (self, index, value), {})

    def __bool__(self):
        return self._trace.guard(self, bool)

    def __int__(self):
        return self._trace.guard(self, int)

    def __float__(self):
        return self._trace.guard(self, float)

    def __index__(self):
        return self._trace.guard(self, operator.index)

    def item(self):
        return self._trace.guard(self, lambda a: a.item())

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """A NumPy ufunc (or `ndarray op Tracer`) applied to a traced array: recorded like any call."""
        if method != "__call__" or "out" in kwargs:
            raise TraceError(f"xgrad.compile: numpy.{ufunc.__name__}.{method} with out= or a ufunc method "
                             "cannot be traced; use xgrad ops or backend.xp functions")
        return self._trace.record("call", ufunc, inputs, kwargs)

    def __array__(self, *args, **kwargs):
        raise TraceError(
            "xgrad.compile: a traced array reached a function outside the backend namespace (a raw NumPy "
            "or library call). Inside a compiled function, compute with xgrad ops or backend.xp.")

    def __repr__(self):
        return f"Tracer(slot={self._slot}, shape={tuple(self.shape)})"


def tracing_namespace(xp, trace):
    """A namespace with the functions of ``xp`` (a rule namespace), each recording into ``trace``; its
    extensions (``xp.linalg``, ``xp.fft``) likewise."""
    ns = types.SimpleNamespace()
    for name, value in vars(xp).items():
        if callable(value) and not isinstance(value, type) and name not in _PASS_THROUGH:
            value = _recorder(trace, value, kind="check" if name in _CHECKS else "call")
        elif name in SUBNAMESPACES:
            value = tracing_namespace(value, trace)
        setattr(ns, name, value)
    return ns


def _recorder(trace, fn, effect=False, kind="call"):
    def record(*args, **kw):
        if trace.busy:
            return fn(*args, **kw)
        return trace.record(kind, fn, args, kw, effect)
    return record


class TraceObserver(observe.Observer):
    """Records into a Trace what the engine reports: the Tensors made, read and written, every array
    function called through a backend's rule namespace, random draws, host conversions, and guarded
    hyper-parameters."""

    replayed = True

    def __init__(self, trace):
        self.trace = trace
        self._namespaces = {}  # id(backend) -> (backend, its recording namespace)

    def created(self, tensor):
        self.trace.born.add(id(tensor))
        self.trace.keep.append(tensor)

    def read(self, tensor, array):
        trace = self.trace
        key = id(tensor)
        if key in trace.born:
            return array
        seen = trace.arrays.get(key)
        if seen is not None:
            return seen
        # a tensor from before the trace, read for the first time: an input of the tape
        tracer = trace.arrays[key] = trace.new(array)
        trace.inputs[key] = (tensor, tracer._slot)
        return tracer

    def write(self, tensor, array):
        trace = self.trace
        key = id(tensor)
        if key in trace.born:
            tensor._data = array
            return
        if key not in trace.inputs and key not in trace.written:
            trace.inputs[key] = (tensor, None)  # written before read: its old value is not needed
        trace.written[key] = tensor
        trace.arrays[key] = array

    def grad(self, tensor, grad):
        trace = self.trace
        key = id(tensor)
        if key in trace.grads:
            return trace.grads[key]
        if key not in trace.born and key not in trace.grad_reads:
            # an existing tensor's .grad as it was before the call: a replay reads it again (and guards None)
            trace.grad_reads[key] = (tensor, grad)
            if grad is not None:
                trace.grad_of.setdefault(id(grad), tensor)
        return grad

    def set_grad(self, tensor, grad):
        trace = self.trace
        if id(tensor) in trace.born:
            tensor._grad = grad
        else:
            trace.grad_written[id(tensor)] = tensor
            trace.grads[id(tensor)] = grad

    def namespace(self, backend):
        found = self._namespaces.get(id(backend))
        if found is None:
            found = self._namespaces[id(backend)] = (backend, tracing_namespace(backend.rule_namespace, self.trace))
        return found[1]

    def random(self, backend, kind, args, kw):
        fn = getattr(backend, kind)
        trace = self.trace
        if trace.predrawn:  # what an aborted replay already drew: the same numbers, not new ones
            drawn_by, array = trace.predrawn.pop(0)
            if drawn_by != fn:
                raise TraceError("xgrad.compile: internal error: retracing after a failed guard made different "
                                 f"random draws ({fn.__name__}) than the replay it replaces ({drawn_by.__name__})")
            return trace.append("call", fn, args, kw, array, effect=True)
        return trace.record("call", fn, args, kw, effect=True)

    def to_host(self, backend, array):
        if type(array) is not Tracer:
            return backend.to_numpy(array)
        self.trace.check_open()
        # the values leave the tape (.numpy(), .item(), float(t), ...): a replay whose values differ retraces
        host = _HostValues(backend.to_numpy)
        self.trace.entries.append(Entry("guard", host, (Slot(array._slot),), {}, host(array._value), effect=True))
        return backend.to_numpy(array._value)

    def adopts(self, backend, obj):
        return type(obj) is Tracer

    def actual(self, obj):
        return obj._value if type(obj) is Tracer else obj

    def static(self, container, key, value):
        self.trace.statics.append((container, key, value))

    def hook(self, what, owner):
        # a replay runs no Python of the user's: the hook would run once, at this trace, and never again
        raise TraceError(
            f"xgrad.compile: {what} on {type(owner).__name__} {_describe_owner(owner)} runs inside the compiled "
            "function; a compiled replay would skip it. Remove the hook (handle.remove()) while using the "
            "compiled function, or call the function without xgrad.compile")


def _describe_owner(owner):
    shape = getattr(owner, "shape", None)
    return f"of shape {tuple(shape)}" if shape is not None else ""


class _Checked:
    """A guard's conversion to a Python value: first, the checks a backend deferred (``checks.py``) raise,
    as at any read of values, in the trace and in every replay."""

    __slots__ = ("convert",)

    def __init__(self, convert):
        self.convert = convert

    def __call__(self, array):
        if checks.pending:
            checks.raise_pending("a value read on the host inside a compiled function")
        return self.convert(array)


class _HostValues:
    """A guard's conversion to host values that compare as a whole (shape, dtype and every value)."""

    def __init__(self, to_numpy):
        self.to_numpy = to_numpy

    def __call__(self, array):
        if checks.pending:
            checks.raise_pending("a value read on the host inside a compiled function")
        return _Values(self.to_numpy(array).copy())  # a copy: the host array may share the array's memory


class _Values:
    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a

    def __eq__(self, other):
        a, b = self.a, other.a
        if a.shape != b.shape or a.dtype != b.dtype or not bool((a == b).all()):
            return False
        # -0.0 and 0.0 are equal to ==, not to copysign or division
        return a.dtype.kind not in "fc" or bool((np.signbit(a.real) == np.signbit(b.real)).all() and
                                                (np.signbit(a.imag) == np.signbit(b.imag)).all())

    def __ne__(self, other):
        return not self == other

    __hash__ = None  # type: ignore[assignment]  # compared, never hashed


def recording(trace):
    """``with recording(trace):`` this thread's ops, rules and Tensor reads/writes go into ``trace``."""
    return observe.observing(TraceObserver(trace))


def concretize(trace):
    """After a trace: the real arrays and gradients the traced call produced, put into the Tensors."""
    def real(v):
        return v._value if type(v) is Tracer else v

    trace.closed = True
    for t in trace.keep:
        t._data = real(t._data)
    for t in list(trace.written.values()):
        t._data = real(trace.arrays[id(t)])
    for t in list(trace.grad_written.values()):
        t._grad = trace.grads[id(t)]
    for t in list(trace.grad_written.values()) + trace.keep:
        g = t._grad
        if g is not None:
            g._data = real(g._data)
