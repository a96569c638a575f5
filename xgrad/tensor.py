"""Tensor: an array of some array-API library, plus what backward needs to reach its inputs.

A leaf module: it knows backends, grad mode and the observer, never ops or autograd. Operators and
methods that compute (``+``, ``sum``, ``backward``, ...) are attached by the one table in
``xgrad/ops/methods.py``. Every Tensor is made by ``new`` (``Tensor(...)`` calls it too), so a new
field is one edit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from . import _state, hooks, observe
from .backends import Backend, checks, get_backend
from .backends.dtypes import DType
from .errors import DTypeError, GraphError, InputError, ShapeError

__all__ = ["Tensor", "new", "written"]


class Tensor:
    """An n-dimensional array that records the ops made from it when it requires a gradient.

    ``data`` is the raw array (a NumPy, CuPy, torch or array-api-strict array), kept for interop.
    A tensor made by an op that needs gradients holds the op (``_op``), its inputs (``_parents``,
    Tensors or constants), the raw arrays the op saw (``_args``), the op's parameters (``_kw``) and
    its place in the recording order (``_seq``). ``_version`` remembers in-place writes to the array,
    so a backward that would read changed values refuses (see ``written``).
    """

    __slots__ = ("_data", "_grad", "requires_grad", "_backend", "_op", "_parents", "_args", "_kw", "_seq",
                 "_version", "_hooks", "__weakref__")
    __array_priority__ = 1000  # NumPy defers `ndarray op Tensor` to the Tensor's reflected operator
    _data: Any
    _grad: Tensor | None
    requires_grad: bool
    _backend: Backend
    _op: Any  # the Op that made it, None for a leaf
    _parents: Any
    _args: Any
    _kw: Any
    _seq: int
    _version: list[int] | None  # [seq of the last in-place write], shared with tensors on the same array
    _hooks: hooks.TensorHooks  # set by the first register_*hook only (an unset slot costs nothing)

    if TYPE_CHECKING:  # for type checkers: the methods xgrad/ops/methods.py attaches
        def __getattr__(self, name: str) -> Any: ...

    def __new__(cls, data: Any, requires_grad: bool = False, backend: str | Backend | None = None) -> Tensor:
        b = get_backend(backend)
        t = new(data if b.is_array(data) or observe.adopts(b, data) else b.asarray(data), b)
        return t.requires_grad_(True) if requires_grad else t

    # ---- the array and the gradient: read and written through the observer when one watches ----
    @property
    def data(self) -> Any:
        """The raw array of the library. The engine does not track what is done to it: writing into it
        (``t.data[...] = v``) changes values a recorded graph may have saved without any check. Use the
        in-place methods (``add_``, ``copy_``, ``t[i] = v``, ...) instead: they are checked."""
        if observe.watching:
            obs = observe.current()
            if obs is not None:
                return obs.read(self, self._data)
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        if observe.watching:
            obs = observe.current()
            if obs is not None:
                obs.write(self, value)
                return
        self._data = value

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient (a Tensor), or None."""
        if observe.watching:
            obs = observe.current()
            if obs is not None:
                return obs.grad(self, self._grad)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None and type(value) is Tensor and (value.data.dtype != self.data.dtype
                                                            or value.data.shape != self.data.shape):
            error = DTypeError if value.data.dtype != self.data.dtype else ShapeError
            raise error(
                f"assigning .grad of {value._backend.dtype_name(value.dtype)} and shape {value.shape} to a "
                f"tensor of {self._backend.dtype_name(self.dtype)} and shape {self.shape}: a gradient has its "
                "tensor's dtype and shape (as in PyTorch); cast or reshape it first")
        if observe.watching:
            obs = observe.current()
            if obs is not None:
                obs.set_grad(self, value)
                return
        self._grad = value

    # ---- what it is -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> DType:
        """xgrad's dtype object (``xgrad.float64``, ...) on every backend; it compares equal to its name
        and to the library's dtype (``numpy.float64``, ``torch.float64``). ``t.data.dtype`` is the
        library's own."""
        return self._backend.xdtype(self.data.dtype)

    @property
    def device(self) -> Any:
        return self._backend.device(self.data)

    @property
    def backend(self) -> str:
        """The name of the backend this tensor's array belongs to."""
        return self._backend.name

    @property
    def array(self) -> Any:
        """The raw array (same as ``.data``)."""
        return self.data

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    @property
    def size(self) -> Size:
        """The number of elements, an int (the array-API standard's ``size``); calling it gives PyTorch's
        ``size()``: ``t.size()`` is the shape, ``t.size(d)`` one dimension."""
        shape = self.data.shape
        return Size(shape_size(shape), shape)

    def __len__(self) -> int:
        return self.data.shape[0]

    def __repr__(self) -> str:
        if self.size <= 100 and checks.pending:  # a failed deferred check: values withheld, error kept
            try:
                checks.raise_pending("repr()", keep=True)
            except InputError as e:
                return f"tensor(<values withheld: {str(e).partition(' (raised at')[0]}>, backend={self.backend!r})"
        body = repr(self._host("repr()")).replace("array(", "tensor(", 1) if self.size <= 100 else \
            f"tensor(shape={self.shape}"
        if body.endswith(")"):
            body = body[:-1]
        extras = [f"backend={self.backend!r}"]
        if self.requires_grad:
            extras.append("requires_grad=True" if self.is_leaf else f"grad_fn={self._op.name}")
        return f"{body}, {', '.join(extras)})"

    # ---- gradients --------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark a leaf as needing a gradient (floating-point tensors only)."""
        if requires_grad and not self._backend.is_floating(self.data.dtype):
            raise DTypeError(
                f"requires_grad needs a floating-point tensor, got {self._backend.dtype_name(self.dtype)} "
                f"of shape {self.shape}; cast first, e.g. t.to('float64').requires_grad_()")
        if not self.is_leaf and not requires_grad:
            raise ValueError("requires_grad_(False) is only allowed on leaves; use .detach() instead")
        if requires_grad and not _state.complex_seen and "complex" in str(self.data.dtype):
            _state.complex_seen = True  # ops without complex rules now check their inputs too
        self.requires_grad = bool(requires_grad)
        return self

    def register_hook(self, fn: Any) -> hooks.RemovableHandle:
        """Call ``fn(grad)`` in every backward once this tensor's gradient is complete; a Tensor it
        returns replaces the gradient (for the tensor's inputs, or the ``.grad`` of a leaf). Returns a
        handle: ``handle.remove()`` takes the hook away."""
        if not self.requires_grad:
            raise GraphError(f"register_hook on a tensor that does not require grad (shape {self.shape}): "
                             "no gradient will reach it; call requires_grad_() on the leaf first")
        return hooks.add(self, "grad", fn)

    def register_post_accumulate_grad_hook(self, fn: Any) -> hooks.RemovableHandle:
        """Call ``fn(tensor)`` in every backward as soon as this leaf's ``.grad`` is final (its last
        contribution accumulated): where a data-parallel trainer starts sending it. Leaves only."""
        if not self.requires_grad or self._op is not None:
            raise GraphError(f"register_post_accumulate_grad_hook needs a leaf that requires grad (shape "
                             f"{self.shape}, {'a non-leaf' if self._op is not None else 'no requires_grad'}); "
                             "use register_hook on a non-leaf")
        return hooks.add(self, "post", fn)

    def detach(self) -> Tensor:
        """The same array, cut off from the graph (in-place writes to either are seen by both)."""
        d = new(self.data, self._backend)
        if self._version is None:
            self._version = [0]
        d._version = self._version
        return d

    # ---- host transfer and conversion -------------------------------------------------------
    def numpy(self) -> Any:
        """The values as a NumPy array: the tensor's own memory where its array is on the host (NumPy,
        torch on the CPU), so writes to it change the tensor untracked; a host copy otherwise. Refused
        for a tensor that requires grad, as in PyTorch: NumPy would drop the gradient without a word
        (call ``t.detach().numpy()``)."""
        if self.requires_grad:
            raise GraphError(
                f"numpy() of a tensor that requires grad (shape {self.shape}): NumPy cannot carry its gradient. "
                "Call t.detach().numpy() for the values.")
        return self._host(".numpy()")

    def _host(self, where: str, keep: bool = False) -> Any:
        """The values on the host, read at ``where`` (".item()"): checks a backend deferred raise first
        (with ``keep``, a failure stays pending: NumPy catches what ``__float__`` raises and reads the
        values again through ``__array__``, which must raise it too)."""
        if checks.pending:
            checks.raise_pending(where, keep=keep)
        return observe.to_host(self._backend, self.data)

    def item(self) -> Any:
        return self._host(".item()").item()

    def tolist(self) -> Any:
        return self._host(".tolist()").tolist()

    def __float__(self) -> float:
        return float(self._host("float()", keep=True).item())

    def __int__(self) -> int:
        return int(self._host("int()", keep=True).item())

    def __bool__(self) -> bool:
        return bool(self._host("bool()", keep=True).item())

    def __complex__(self) -> complex:
        return complex(self._host("complex()", keep=True).item())

    def __index__(self) -> int:
        """A one-element integer tensor as a Python int (for indexing and ``range``)."""
        if self.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, not {self.dtype} "
                            f"(shape {self.shape}); cast with .astype(xgrad.int64) first")
        return int(self._host("an index", keep=True).item())

    # ---- DLPack: what another library's from_dlpack(t) reads -------------------------------
    def __dlpack__(self, *, stream: Any = None, max_version: Any = None, dl_device: Any = None,
                   copy: bool | None = None) -> Any:
        """The array's DLPack capsule (shared memory). Refused for a tensor that requires grad, as
        ``numpy()`` is: the other library would drop the gradient without a word."""
        if self.requires_grad:
            raise GraphError(
                f"__dlpack__ of a tensor that requires grad (shape {self.shape}): the other library cannot "
                "carry its gradient. Pass t.detach() for the values.")
        if checks.pending:  # another library reads the values (torch.tensor(t), from_dlpack)
            checks.raise_pending("__dlpack__")
        given = {"stream": stream, "max_version": max_version, "dl_device": dl_device, "copy": copy}
        return self.data.__dlpack__(**{k: v for k, v in given.items() if v is not None})

    def __dlpack_device__(self) -> Any:
        return self.data.__dlpack_device__()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Any:
        # np.exp(t), np.sum(t), SciPy: refused when t requires grad (numpy() says why), never a silent loss
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    __hash__ = object.__hash__  # identity: tensors are graph nodes and dictionary keys

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # the engine's hot paths test `type(t) is Tensor`; a subclass would silently get no gradient
        raise TypeError("xgrad.Tensor cannot be subclassed; wrap a Tensor in your own class instead "
                        "(xgrad.nn.Parameter(...) returns a plain Tensor)")

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]  # type: ignore[index]  # __getitem__ comes from xgrad/ops/methods.py


_alloc = object.__new__


def new(data: Any, backend: Backend, op: Any = None, parents: Any = None, args: Any = None,
        kw: Any = None) -> Tensor:
    """The one constructor: a Tensor holding the array ``data`` of ``backend``.

    With ``op`` it is a node of the graph: made by ``op`` from ``parents`` (Tensors or constants),
    whose raw arrays were ``args``, with parameters ``kw``; it requires a gradient and gets the next
    sequence number. Without, it is a leaf that requires none."""
    t = _alloc(Tensor)
    t._backend = backend
    t._data = data
    t._grad = None
    t._version = None
    if op is None:
        t.requires_grad = False
        t._op = t._parents = t._args = t._kw = None
    else:
        t.requires_grad = True
        t._op = op
        t._seq = _state.next_seq()
        t._parents = parents
        t._args = args
        t._kw = kw
    if observe.watching:
        obs = observe.current()
        if obs is not None:
            obs.created(t)
    return t


def written(t: Tensor) -> None:
    """Note an in-place write to ``t``'s array: a recorded op that saved it before now refuses to run
    its backward, which would read the new values."""
    cell = t._version
    if cell is None:
        cell = t._version = [0]
    cell[0] = _state.next_seq()  # later than every op recorded so far


class Size(int):
    """A tensor's number of elements (an int: the standard's ``t.size``) that, called, answers as PyTorch's
    ``t.size()`` (the shape tuple) and ``t.size(dim)`` (one dimension). Both spellings work, so code
    written for either reads the number it expects: an int is never mistaken for a shape, and a shape
    comparison (``t.size() == (2, 3)``) compares the shape."""

    _shape: tuple[int, ...]

    def __new__(cls, n: int, shape: tuple[int, ...]) -> Size:
        s = super().__new__(cls, n)
        s._shape = tuple(shape)
        return s

    def __call__(self, dim: int | None = None) -> Any:
        if dim is None:
            return self._shape
        if not -len(self._shape) <= dim < len(self._shape):
            raise IndexError(f"size({dim}): dimension out of range for a {len(self._shape)}-D tensor of shape "
                             f"{self._shape}")
        return self._shape[dim]


def shape_size(shape: tuple[int, ...]) -> int:
    """The number of elements of an array of ``shape``."""
    n = 1
    for s in shape:
        n *= s
    return n
