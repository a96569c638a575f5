"""Tensor: an array of some array-API library, plus what backward needs to reach its inputs."""

from . import _state
from .errors import DTypeError


class Tensor:
    """An n-dimensional array that records the ops made from it when it requires a gradient.

    ``data`` is the raw array (a NumPy, CuPy, torch or array-api-strict array), kept for interop.
    A tensor made by an op that needs gradients holds the op (``_op``), its inputs (``_parents``,
    Tensors or constants), the raw arrays the op saw (``_args``) and the op's parameters (``_kw``).
    """

    __slots__ = ("data", "grad", "requires_grad", "_backend", "_op", "_parents", "_args", "_kw", "_seq",
                 "__weakref__")
    __array_priority__ = 1000  # NumPy defers `ndarray op Tensor` to the Tensor's reflected operator

    def __init__(self, data, requires_grad=False, backend=None):
        from .backends import get_backend

        backend = get_backend(backend)
        self._backend = backend  # set first: xgrad.compile's tracer reads it as "made now"
        self.data = data if backend.is_array(data) else backend.asarray(data)
        self.grad = None
        self._op = self._parents = self._args = self._kw = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ---- what it is -------------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return self._backend.device(self.data)

    @property
    def backend(self):
        """The name of the backend this tensor's array belongs to."""
        return self._backend.name

    @property
    def array(self):
        """The raw array (same as ``.data``)."""
        return self.data

    @property
    def is_leaf(self):
        return self._op is None

    @property
    def size(self):
        n = 1
        for s in self.data.shape:
            n *= s
        return n

    def __len__(self):
        return self.data.shape[0]

    def __repr__(self):
        body = repr(self.numpy()).replace("array(", "tensor(", 1) if self.size <= 100 else \
            f"tensor(shape={self.shape}"
        if body.endswith(")"):
            body = body[:-1]
        extras = [f"backend={self.backend!r}"]
        if self.requires_grad:
            extras.append("requires_grad=True" if self.is_leaf else f"grad_fn={self._op.name}")
        return f"{body}, {', '.join(extras)})"

    # ---- gradients --------------------------------------------------------------------------
    def requires_grad_(self, requires_grad=True):
        """Mark a leaf as needing a gradient (floating-point tensors only)."""
        if requires_grad and not self._backend.is_floating(self.data.dtype):
            raise DTypeError(
                f"requires_grad needs a floating-point tensor, got {self._backend.dtype_name(self.dtype)} "
                f"of shape {self.shape}; cast first, e.g. t.to('float64').requires_grad_()")
        if not self.is_leaf and not requires_grad:
            raise ValueError("requires_grad_(False) is only allowed on leaves; use .detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, gradient=None, retain_graph=False, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        _autograd.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    def detach(self):
        """The same array, cut off from the graph."""
        return Tensor._wrap(self.data, self._backend)

    def zero_(self):
        """Fill with zeros (replaces the array; other holders of the old array keep their values)."""
        self.data = self._backend.xp.zeros_like(self.data)
        return self

    @staticmethod
    def _wrap(data, backend, requires_grad=False):
        t = Tensor.__new__(Tensor)
        t._backend = backend
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._op = t._parents = t._args = t._kw = None
        return t

    # ---- host transfer and conversion -------------------------------------------------------
    def numpy(self):
        """A host NumPy copy of the values."""
        return self._backend.to_numpy(self.data)

    def item(self):
        if getattr(self.data, "_is_tracer", False):  # inside xgrad.compile: a guarded Python value
            to_numpy = self._backend.to_numpy
            return self.data.guarded(lambda a: to_numpy(a).item())
        return self.numpy().item()

    def tolist(self):
        return self.numpy().tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        return bool(self.item())

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def to(self, *args, backend=None, device=None, dtype=None):
        """A copy on another backend, device or dtype: ``t.to("torch")``, ``t.to("float32")``,
        ``t.to(device="cuda:0")``. Differentiable for dtype changes on the same backend."""
        from .backends import known_backends

        for a in args:
            text = str(a)
            if text in known_backends() or text in ("np", "strict", "cp", "pytorch"):
                backend = a
            elif text.rsplit(".", 1)[-1] in _DTYPE_NAMES:
                dtype = text.rsplit(".", 1)[-1]
            else:
                device = a
        return _ops.to(self, backend=backend, device=device, dtype=dtype)

    def astype(self, dtype):
        return _ops.astype(self, self._backend.dtype(dtype))

    def float(self):
        return self.astype("float32")

    def double(self):
        return self.astype("float64")

    # ---- operators --------------------------------------------------------------------------
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.subtract(self, other)

    def __rsub__(self, other):
        return _ops.subtract(other, self)

    def __mul__(self, other):
        return _ops.multiply(self, other)

    def __rmul__(self, other):
        return _ops.multiply(other, self)

    def __truediv__(self, other):
        return _ops.divide(self, other)

    def __rtruediv__(self, other):
        return _ops.divide(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __eq__(self, other):
        return _ops.equal(self, other)

    def __ne__(self, other):
        return _ops.not_equal(self, other)

    def __lt__(self, other):
        return _ops.less(self, other)

    def __le__(self, other):
        return _ops.less_equal(self, other)

    def __gt__(self, other):
        return _ops.greater(self, other)

    def __ge__(self, other):
        return _ops.greater_equal(self, other)

    def __invert__(self):
        return _ops.logical_not(self)

    def __and__(self, other):
        return _ops.logical_and(self, other)

    def __or__(self, other):
        return _ops.logical_or(self, other)

    __hash__ = object.__hash__  # identity: tensors are graph nodes and dictionary keys

    def __init_subclass__(cls, **kwargs):
        # the engine's hot paths test `type(t) is Tensor`; a subclass would silently get no gradient
        raise TypeError("xgrad.Tensor cannot be subclassed; wrap a Tensor in your own class instead "
                        "(xgrad.nn.Parameter(...) returns a plain Tensor)")

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def __setitem__(self, index, value):
        raise TypeError("xgrad tensors do not support item assignment; build the value with "
                        "xgrad.where / xgrad.concat, or write into t.data under xgrad.no_grad()")

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # ---- methods a PyTorch user expects ---------------------------------------------------
    @property
    def T(self):
        return _ops.permute_dims(self, tuple(range(self.ndim))[::-1])

    @property
    def mT(self):
        return _ops.matrix_transpose(self)

    def sum(self, axis=None, keepdims=False):
        return _ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _ops.min(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, correction=0.0, keepdims=False):
        return _ops.var(self, axis=axis, correction=correction, keepdims=keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        return _ops.logsumexp(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return _ops.argmax(self, axis=axis, keepdims=keepdims)

    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def abs(self):
        return _ops.abs(self)

    def sin(self):
        return _ops.sin(self)

    def cos(self):
        return _ops.cos(self)

    def tanh(self):
        return _ops.tanh(self)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def relu(self):
        return _ops.relu(self)

    def clip(self, min=None, max=None):
        return _ops.clip(self, min=min, max=max)

    clamp = clip

    def matmul(self, other):
        return _ops.matmul(self, other)

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return _ops.reshape(self, tuple(shape))

    view = reshape

    def permute(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return _ops.permute_dims(self, tuple(axes))

    def squeeze(self, axis):
        return _ops.squeeze(self, axis)

    def unsqueeze(self, axis):
        return _ops.expand_dims(self, axis=axis)

    def flatten(self):
        return _ops.reshape(self, (-1,))

    def softmax(self, axis=-1):
        return _ops.softmax(self, axis=axis)

    def log_softmax(self, axis=-1):
        return _ops.log_softmax(self, axis=axis)


_DTYPE_NAMES = {"float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64", "uint8",
                "bool", "complex64", "complex128"}

_state.Tensor = Tensor

from . import autograd as _autograd, ops as _ops  # noqa: E402  (they need Tensor defined first)
