"""How an op is declared and applied: one forward and one VJP rule per input, written with ``xp``.

    @op
    def tanh(xp, x):
        return xp.tanh(x)

    tanh.defvjp(lambda xp, g, out, x: g * (1 - out * out))

A rule gets the namespace ``xp``, the upstream gradient ``g``, the op's output ``out``, the op's inputs
and its keyword parameters. During a plain backward these are raw arrays and the backend's namespace;
with ``create_graph=True`` they are xgrad Tensors and xgrad's own namespace, so the same rule builds a
differentiable graph. Gradients whose shape differs from their input's are summed back by the engine.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from .. import _state, observe
from ..backends import current_backend
from ..backends.dtypes import DType
from ..errors import ArgumentError, BackendMismatchError, DTypeError, ShapeError, XgradError
from ..tensor import Tensor, new


class Op:
    """A named forward function and its per-input VJP rules.

    To help(), inspect and IDEs an op is the function it stands for: its signature is the forward's
    without ``xp``, its ``__name__`` the op's name and its ``__doc__`` the forward's docstring (an op's
    ``__doc__``, this class's and its subclasses' included, is the op's own: see ``_OP_DOC``)."""

    __slots__ = ("name", "forward", "vjps", "check", "saves", "views", "complex_grad", "__wrapped__", "_doc", "__name__",
                 "__qualname__")
    __wrapped__: Callable[..., Any]  # the forward, for help() and introspection
    custom = False  # True for ops whose backward computes all input gradients at once (see rules)

    def __init__(self, name, forward, saves=False):
        self.name = self.__name__ = self.__qualname__ = name
        self._doc = _docstring(name, forward)
        self.forward = forward
        self.vjps = None  # None: not differentiable (comparisons, sign, ...)
        self.check = None  # optional: explains a failed forward from the inputs' shapes
        # saves=True: forward returns (out, residual); the rules get the residual as `saved=` in a
        # plain backward (it is dropped under create_graph, where rules recompute it differentiably)
        self.saves = saves
        # views=True: the result may share its first input's memory (reshape, indexing, ...): the two
        # share one version, so an in-place write through either is seen by backward through both
        self.views = False
        # complex_grad=True: the rules give PyTorch's gradient for complex inputs (the conjugate
        # Wirtinger derivative); otherwise a complex input that needs a gradient is refused at the call
        self.complex_grad = False

    def defvjp(self, *rules):
        """One rule per positional input; None for an input that never gets a gradient."""
        self.vjps = rules
        return self

    def rules(self, xp, g, out, args, kw, needs):
        """For ``custom`` ops: every needed input gradient at once, a list with None where not needed."""
        raise NotImplementedError

    def __repr__(self):
        return f"<xgrad op {self.name}>"

    def __get__(self, obj, objtype=None):
        """An op kept as a class attribute stays the op (as a staticmethod would); having ``__get__``
        also makes help() and pydoc show an op as the function it stands for."""
        return self

    @property
    def __signature__(self) -> inspect.Signature | None:
        """The forward's signature without ``xp``: what a caller passes (``xgrad.sum(x, axis=...)``)."""
        if self.forward is None:
            return None
        sig = inspect.signature(self.forward)
        return sig.replace(parameters=list(sig.parameters.values())[1:])


    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__doc__ = _OP_DOC  # type: ignore[assignment]


_OP_DOC = property(lambda self: self._doc, doc="The op's docstring (its forward's).")
Op.__doc__ = _OP_DOC  # type: ignore[assignment]  # an op's own docstring, not the class's


def _docstring(name, forward):
    doc = getattr(forward, "__doc__", None)
    if doc:
        return doc
    return (f"xgrad.{name}: the array-API standard's ``{name}`` on xgrad tensors (arrays of the tensors' "
            "backend); its gradient, where it has one, is checked against PyTorch's in the op table.")


def op(forward: Callable[..., Any] | None = None, *, name: str | None = None, saves: bool = False) -> Any:
    """Declare an op from its forward ``forward(xp, *arrays, **params)``."""
    if forward is None:
        return lambda f: op(f, name=name, saves=saves)
    o = Op(name or forward.__name__, forward, saves)
    o.__wrapped__ = forward
    return o


def _call(o: Op, *args: Any, **kw: Any) -> Tensor:
    """Run ``o`` on Tensors and constants; record it in the graph when a gradient is needed.

    This is ``Op.__call__`` (defined here, next to the helpers it uses; one call level less per op)."""
    if _state.engaged:  # some thread has autocast or detect_anomaly on
        mode = _state.mode
        if mode.autocast is not None or mode.anomaly is not None:
            return _engaged(mode, o, args, kw)
    backend, raw, needs_grad = _inputs(o, args)
    if kw:
        kw = _own_params(kw)
    try:
        out = o.forward(backend.rule_namespace if not observe.watching else backend.xp, *raw, **kw)
    except XgradError:
        raise
    except Exception as e:
        native = _native_dtypes(kw, backend)  # the library refused an xgrad dtype: give it its own
        if native is not None:
            return _call(o, *args, **native)
        raise _explain(o, args, raw, kw, backend, e) from e
    if o.saves:  # forward returned (out, residual): the rules get the residual as `saved=`
        out, saved = out
        kw = dict(kw, saved=saved)
    if needs_grad and _state.mode.grad_enabled and o.vjps is not None and not _integral(out.dtype):
        if id(out.dtype) not in _REAL or (_state.complex_seen and not o.complex_grad):
            _check_complex(o, args, raw, out)
        t = new(out, backend, o, args, raw, kw)
    else:
        t = new(out, backend)
    if o.views and type(args[0]) is Tensor and not backend.owns(out):  # a view (or the library can't tell)
        src = args[0]
        cell = src._version
        if cell is None:
            cell = src._version = [0]
        t._version = cell
    return t


Op.__call__ = _call  # type: ignore[method-assign]


def _engaged(mode, o, args, kw):
    """``o(*args, **kw)`` under this thread's autocast (which may cast the inputs first) and
    detect_anomaly (which records where the op was called and checks its output). Both are objects
    with those methods, set on ``_state.mode`` by ``xgrad/amp.py`` and ``xgrad/anomaly.py``; the calls
    they make themselves (casts) run plain."""
    cast, anomaly = mode.autocast, mode.anomaly
    mode.autocast = mode.anomaly = None
    try:
        if cast is not None:
            args = cast.cast_inputs(o, args)
        if anomaly is None:
            return _call(o, *args, **kw)
        site = anomaly.site()
        try:
            t = _call(o, *args, **kw)
        except Exception as e:
            anomaly.annotate_forward(e, o, site)
            raise
    finally:
        mode.autocast, mode.anomaly = cast, anomaly
    anomaly.forward(o, args, t, site)
    return t


def apply(o: Op, args: tuple, kw: dict) -> Tensor:
    """``o(*args, **kw)``, for callers holding the arguments as a tuple and a dict."""
    return _call(o, *args, **kw)


def _inputs(o, args):
    """(the backend of the Tensor arguments, their raw arrays with constants as they are, whether any
    needs a gradient). Two backends are an error; lists and other libraries' arrays are converted."""
    backend = None
    needs_grad = False
    raw = []
    foreign = False  # a constant that may be an array of another library, or a list
    watched = observe.watching  # reads go through the observer (Tensor.data) only when one watches
    for a in args:
        if type(a) is Tensor:
            b = a._backend
            if backend is None:
                backend = b
            elif b is not backend:
                raise BackendMismatchError(
                    f"xgrad.{o.name}: inputs live on two backends, {backend.name!r} and {b.name!r} "
                    f"({_describe(args)}). Move one with .to({backend.name!r}) first.")
            raw.append(a._data if not watched else a.data)
            needs_grad = needs_grad or a.requires_grad
        else:
            raw.append(a)
            foreign = foreign or type(a) not in _CONSTANTS
    if backend is None:
        backend = current_backend()
    elif foreign:
        _convert_constants(backend, raw)
    return backend, raw, needs_grad


_REAL: dict = {}  # id(dtype) -> dtype, for the real dtypes met (array_api_strict: one per array)


_INTEGRAL: dict = {}  # id(dtype) -> (dtype, whether integer or bool): results that carry no gradient


def _integral(dtype: Any) -> bool:
    """Whether results of ``dtype`` (integer or bool) carry no gradient: as in PyTorch, a cast to an
    integer and a rounding to one cut the graph (their derivative is zero almost everywhere)."""
    found = _INTEGRAL.get(id(dtype))
    if found is None:
        if len(_INTEGRAL) >= 256:
            _INTEGRAL.clear()
        name = str(dtype).rsplit(".", 1)[-1]
        found = _INTEGRAL[id(dtype)] = (dtype, "int" in name or name == "bool")  # (kept alive: ids not reused)
    return found[1]


def _check_complex(o, args, raw, out):
    """A clear error, instead of a wrong gradient, when ``o``'s rules are real-only and a complex array
    (its result, or an input once complex tensors exist) would need one. A complex result of an op with
    complex rules notes that complex tensors now need gradients."""
    if _is_complex(out.dtype):
        if not o.complex_grad:
            _refuse(o, args)
        _state.complex_seen = True
    if _state.complex_seen and not o.complex_grad:
        for a in raw:
            d = getattr(a, "dtype", None)
            if d is not None and _is_complex(d):
                _refuse(o, args)


def _is_complex(dtype):
    if id(dtype) in _REAL:
        return False
    if "complex" in str(dtype):
        return True
    if len(_REAL) >= 256:
        _REAL.clear()
    _REAL[id(dtype)] = dtype  # kept alive, so its id is not reused meanwhile
    return False


def _refuse(o, args):
    raise DTypeError(
        f"xgrad.{o.name}: gradients for complex inputs are not supported by this op ({_describe(args)}). "
        "Complex gradients (PyTorch's convention) exist for add, subtract, multiply, divide, negative, "
        "conj, real, imag, abs, exp, log, sqrt, square, pow, where, sum, mean, reshape and the other shape "
        "ops; compute under xgrad.no_grad() or on .detach()ed tensors if no gradient is needed.")


def _own_params(kw):
    """Tensors given as parameters (clip's bounds, say) as copies of their arrays: an in-place write to
    them after the op never reaches its backward."""
    for v in kw.values():
        if type(v) is Tensor:
            return {k: (v._backend.xp.asarray(v.data, copy=True) if type(v) is Tensor else v)
                    for k, v in kw.items()}
    return kw


def _native_dtypes(kw, backend):
    """``kw`` with xgrad dtypes (``dtype=xgrad.float32``) as the library's, or None when it has none.
    Called only after a forward failed, so the op call itself spends nothing on it."""
    if not any(type(v) is DType for v in kw.values()):
        return None
    return {k: backend.dtype(v) if type(v) is DType else v for k, v in kw.items()}


def _convert_constants(backend, raw):
    """Lists and other libraries' arrays in ``raw`` become arrays of ``backend``, in place; parameters
    (shapes, axes, dtypes, strings) stay as they are."""
    for i, a in enumerate(raw):
        if type(a) is DType:  # xgrad.float32 given to an op: the library's dtype
            raw[i] = backend.dtype(a)
        elif type(a) is list or (hasattr(type(a), "__array__") and not backend.is_array(a)
                               and not observe.adopts(backend, a)):
            raw[i] = backend.asarray(a)


_CONSTANTS = (int, float, bool, complex, type(None), tuple, str)


def _describe(args):
    parts = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            parts.append(f"arg {i}: shape {tuple(a.shape)} {a._backend.dtype_name(a.dtype)} "
                         f"on {a._backend.name}/{a.device}")
        elif hasattr(a, "shape"):
            parts.append(f"arg {i}: {type(a).__name__} shape {tuple(a.shape)} dtype {a.dtype}")
        else:
            parts.append(f"arg {i}: {type(a).__name__} {a!r}")
    return "; ".join(parts)


def broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    """The broadcast of ``shapes``, or None when they do not broadcast."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(-ndim, 0):
        size = 1
        for s in shapes:
            if len(s) >= -i:
                d = s[i]
                if d != 1:
                    if size not in (1, d):
                        return None
                    size = d
        out.append(size)
    return tuple(out)


def _explain(o, args, raw, kw, backend, error):
    """Turn an exception from deep inside an array library into an xgrad error that says what to do."""
    what = _describe(args)
    devices = {str(backend.device(a)) for a in raw if backend.is_array(a)}
    if len(devices) > 1:
        return BackendMismatchError(
            f"xgrad.{o.name}: inputs live on different devices {sorted(devices)} ({what}). "
            "Move them to one device with .to(device=...) first.")
    shapes = [tuple(a.shape) for a in raw if hasattr(a, "shape")]
    if o.check is not None:
        problem = o.check(*raw, **kw)
        if problem:
            return ShapeError(f"xgrad.{o.name}: {problem} ({what}).")
    elif len(shapes) > 1 and broadcast_shapes(*shapes) is None:
        return ShapeError(f"xgrad.{o.name}: shapes {' and '.join(map(str, shapes))} do not broadcast "
                          f"({what}). Reshape or expand one so trailing dimensions match or are 1.")
    if isinstance(error, TypeError) and _bad_call(o, len(raw), kw):
        return ArgumentError(f"xgrad.{o.name}: {error}; it is called as {o.name}{_signature(o)} (the array-API "
                             "standard's signature: options after * by keyword)")
    dtypes = {str(a.dtype) for a in raw if hasattr(a, "dtype")}
    if isinstance(error, TypeError) or len(dtypes) > 1:
        return DTypeError(f"xgrad.{o.name}: {error} ({what}). Cast with .to(dtype) or xgrad.astype "
                          "so the inputs share a dtype the op accepts.")
    return XgradError(f"xgrad.{o.name} failed on backend {backend.name!r}: {type(error).__name__}: "
                      f"{error} ({what}).")


def _forward_parameters(o):
    """The parameters of ``o``'s forward after ``xp``, or None where they cannot be read."""
    try:
        return list(inspect.signature(o.forward).parameters.values())[1:]
    except (TypeError, ValueError):
        return None


def _bad_call(o, n_positional, kw):
    """Whether ``o``'s forward cannot take ``n_positional`` arguments and the keywords ``kw``."""
    params = _forward_parameters(o)
    if params is None:
        return False
    try:
        inspect.Signature(params).bind(*range(n_positional), **kw)
    except TypeError:
        return True
    return False


def _signature(o):
    params = _forward_parameters(o)
    return str(inspect.Signature(params)) if params is not None else "(...)"
