"""The Backend protocol: what the array-API standard lacks, supplied once per array library.

A backend owns its library's array-API namespace (from array-api-compat, untouched) and builds from it
the rule namespace ``xp`` that ops, VJP rules and library code compute with: the names of
``namespace.py``, some behind the library's faster functions, plus what the standard lacks
(``getitem``, ``index_add``, ``onehot``, ``check_labels``). Random numbers, devices and host transfer
are methods.
"""

import sys as _sys

import array_api_compat as _compat
import numpy as _np  # host-side RNG shared by the CPU backends, so one seed gives the same values

from .. import observe
from . import checks, einsum as _einsum
from ..errors import InputError, LabelError
from . import special, windows
from .dtypes import DTYPES, DType, name_of
from .namespace import FFT, LINALG, STANDARD, RuleNamespace


class Backend:
    """Base class. Subclasses set ``name``, pass their library's namespace, and override what their
    library does faster (``fast_paths``) or lacks."""

    name = "?"
    mutable = True  # arrays accept in-place writes (optimizer updates, out= buffers)
    out_ufuncs: dict | None = None  # {operator.add: ufunc with out=, ...} where the library has them (xgrad.compile)
    # value checks (class labels) run on the device and report at the next read of values (checks.py)
    # instead of waiting for the device; settable per instance
    deferred_checks = False

    def defers(self, a):
        """Whether checks of the values of ``a`` are deferred (``deferred_checks``; a device array)."""
        return self.deferred_checks

    def writable(self, a):
        """Whether results may be written into ``a`` in place."""
        return self.mutable

    def __init__(self, namespace, default_device=None):
        self.default_device = default_device
        self.namespace = namespace  # the library's array-API namespace, untouched
        functions = {name: getattr(namespace, name) for name in STANDARD}
        functions.update(self.fast_paths())
        functions.update(getitem=self.getitem, index_add=self.index_add, onehot=self.onehot,
                         check_labels=self.check_labels, erf=self.erf,
                         einsum=self.einsum, unfold=self.unfold, fold=self.fold,
                         conv2d_forward=self.conv2d_forward, conv2d_grad_input=self.conv2d_grad_input,
                         conv2d_grad_weight=self.conv2d_grad_weight)
        self.rule_namespace = RuleNamespace(functions, f"backend {self.name!r}", self.extensions())
        self._rng = _np.random.default_rng(0)
        # the library's dtype objects and xgrad's, both ways (Tensor.dtype, and dtypes given to xgrad)
        info = namespace.__array_namespace_info__()
        self.native_dtypes = {name: d for name, d in info.dtypes().items() if name in DTYPES}
        for name in ("float16", "bfloat16"):  # beyond the standard, where the library has them
            d = getattr(namespace, name, None)
            if isinstance(d, type) and issubclass(d, _np.generic):  # NumPy's scalar type: its dtype
                d = _np.dtype(d)
            if d is not None:
                self.native_dtypes[name] = d
        self._xdtypes = {d: DTYPES[name] for name, d in self.native_dtypes.items()}

    @property
    def xp(self):
        """The rule namespace to compute with: ``rule_namespace``, or what this thread's observer gives
        instead (``xgrad.compile`` gives a recording one)."""
        if observe.watching:
            return observe.namespace(self)
        return self.rule_namespace

    def fast_paths(self):
        """``{standard name: function}``: this library's faster functions, equal bit for bit."""
        return {}

    def extensions(self):
        """``{"linalg": {name: function}, "fft": {...}}``: the standard's extensions, from the library's
        ``linalg`` and ``fft`` namespaces. A backend whose library lacks one of them supplies it here."""
        return {"linalg": {name: getattr(self.namespace.linalg, name) for name in LINALG},
                "fft": {name: getattr(self.namespace.fft, name) for name in FFT}}

    # ---- conversion and devices ------------------------------------------------------------
    def asarray(self, obj, dtype=None, device=None, copy=None):
        """An array of this backend from Python data, NumPy arrays or another array-API array; with
        ``copy=True`` never memory shared with ``obj`` (None: shared where no conversion is needed)."""
        xp = self.namespace
        if dtype is not None:
            dtype = self.dtype(dtype)
        if device is None:
            device = self.default_device
        if not isinstance(obj, (int, float, bool, list, tuple)) and hasattr(obj, "__array__") and \
                not self.is_array(obj):
            obj = _np.asarray(obj)
        return xp.asarray(obj, dtype=dtype, device=device, copy=copy)

    def is_array(self, obj):
        """Whether ``obj`` is an array of this library."""
        raise NotImplementedError

    def owns(self, a):
        """Whether ``a`` is surely no view of another array (False when the library cannot tell)."""
        return False

    def to_numpy(self, a):
        """A host NumPy copy of ``a``."""
        return _np.asarray(a)

    def device(self, a):
        """The device ``a`` lives on."""
        return _compat.device(a)

    def synchronize(self):
        """Wait for queued device work to finish; a no-op on the CPU."""

    def dtype(self, name):
        """The library's dtype object for an xgrad dtype, a name like ``"float32"`` or another
        library's dtype (a dtype of its own comes back unchanged)."""
        if type(name) is DType or isinstance(name, str):
            found = self.native_dtypes.get(str(name))
            if found is None:
                raise TypeError(f"unknown dtype {str(name)!r} for backend {self.name!r} (it has "
                                f"{', '.join(self.native_dtypes)})")
            return found
        if name in self._xdtypes:
            return name
        standard = name_of(name)
        if standard is not None and standard in self.native_dtypes:
            return self.native_dtypes[standard]
        return name

    def xdtype(self, native):
        """The xgrad dtype of the library's dtype ``native`` (``Tensor.dtype``)."""
        found = self._xdtypes.get(native)
        if found is None:
            name = name_of(native)
            if name is None:
                raise TypeError(f"backend {self.name!r}: dtype {native!r} is none of xgrad's dtypes")
            found = DTYPES[name]
        return found

    def dtype_name(self, dtype):
        return str(dtype).rsplit(".", 1)[-1]

    def is_floating(self, dtype):
        if type(dtype) is DType:  # xgrad's (Tensor.dtype)
            return dtype.kind in "fc"
        return self.namespace.isdtype(self.dtype(dtype), ("real floating", "complex floating"))

    # ---- random numbers ---------------------------------------------------------------------
    def manual_seed(self, seed):
        self._rng = _np.random.default_rng(seed)

    def get_rng_state(self):
        """The random generator's state (for ``set_rng_state``: activation checkpointing replays draws)."""
        return self._rng.bit_generator.state

    def set_rng_state(self, state):
        self._rng.bit_generator.state = state

    def uniform(self, shape, low, high, dtype, device=None):
        return self.asarray(self._rng.uniform(low, high, size=shape), dtype=dtype, device=device)

    def normal(self, shape, mean, std, dtype, device=None):
        return self.asarray(self._rng.normal(mean, std, size=shape), dtype=dtype, device=device)

    def permutation(self, n, device=None):
        return self.asarray(self._rng.permutation(n), dtype=self.namespace.int64, device=device)

    # ---- what the standard lacks -----------------------------------------------------------
    def getitem(self, a, index):
        """``a[index]``; a backend whose arrays lack some indexing form overrides this."""
        return a[index]

    def index_add(self, like, index, values):
        """Zeros shaped like ``like`` with ``values`` added at ``like[index]``; repeated indices accumulate."""
        if is_basic_index(index):  # no position repeats: a plain write does it
            out = self.namespace.zeros_like(like, dtype=values.dtype)
            if isinstance(index, tuple) and any(i is None for i in index):  # new axes: size 1, drop them
                index = tuple(i for i in index if i is not None)
                values = self.namespace.reshape(values, out[index].shape)
            out[index] = values
            return out
        return self.scatter_add(like, index, values)

    def scatter_add(self, like, index, values):
        """``index_add`` for integer-array and boolean indices.

        Generic version, pure array-API: map the index to flat positions, then add with a one-hot
        product. Backends with a scatter-add of their own override this.
        """
        xp = self.namespace
        size = 1
        for s in like.shape:
            size *= s
        positions = xp.reshape(self.getitem(xp.reshape(xp.arange(size, device=self.device(like)), like.shape), index),
                               (-1,))
        hits = xp.astype(positions[:, None] == xp.arange(size, device=self.device(like))[None, :], values.dtype)
        flat = xp.reshape(values, (1, -1)) @ hits
        return xp.reshape(flat, like.shape)

    def einsum(self, subscripts, *operands):
        """Einstein summation (``"bij,bjk->bik"``, ellipses, implicit output); generic version in array-API
        functions (``backends/einsum.py``), for libraries without an einsum of their own."""
        return _einsum.einsum(self.namespace, subscripts, *operands)

    def check_labels(self, labels, num_classes, caller="cross_entropy", what=None):
        """``labels`` to index with: integer class labels outside [0, num_classes) are an InputError
        naming ``caller`` (and, for indices, ``what`` they index: ``checks.label_message``). Checked at once; where this backend defers checks (``defers``), the smallest
        and largest label are left pending on the device (``checks.py``) and the labels come back
        clipped into [0, num_classes), so nothing reads out of bounds before the error is raised at the
        next read of values."""
        if 0 in labels.shape:
            return labels
        xp = self.rule_namespace
        lo, hi = xp.min(labels), xp.max(labels)
        if self.defers(labels):
            checks.defer(self, checks.LabelRange(caller, num_classes, what), lo, hi)
            return self._clip_labels(labels, num_classes)
        if lo < 0 or hi >= num_classes:
            raise LabelError(checks.label_message(caller, num_classes, int(lo), int(hi), what=what))
        return labels

    def _clip_labels(self, labels, num_classes):
        """``labels`` clipped into [0, num_classes), on the device, without waiting for it."""
        return self.rule_namespace.clip(labels, 0, num_classes - 1)

    def onehot(self, labels, num_classes, dtype):
        """``(..., C)`` one-hot rows of integer ``labels``, which must lie in [0, C): pass user labels
        through ``check_labels`` first."""
        return self._onehot(labels, num_classes, dtype)

    def _onehot(self, labels, num_classes, dtype):
        xp = self.namespace
        classes = xp.arange(num_classes, device=self.device(labels))
        return xp.astype(labels[..., None] == classes, dtype)

    def unfold(self, a, kernel_size, dilation, padding, stride):
        """Sliding blocks of ``a`` (N, C, H, W) as columns (N, C*kh*kw, L); see ``windows.py``."""
        return windows.unfold(self.namespace, a, kernel_size, dilation, padding, stride)

    def fold(self, cols, output_size, kernel_size, dilation, padding, stride):
        """The adjoint of ``unfold``: columns added back into (N, C, H, W); see ``windows.py``."""
        return windows.fold(self.namespace, cols, output_size, kernel_size, dilation, padding, stride)

    def conv2d_forward(self, x, weight, stride, padding, dilation, groups):
        """Cross-correlation (no bias) -> (out, saved); see ``windows.py``."""
        return windows.conv2d_forward(self.rule_namespace, x, weight, stride, padding, dilation, groups)

    def conv2d_grad_input(self, g, weight, input_shape, stride, padding, dilation, groups):
        """The input gradient of ``conv2d_forward``; see ``windows.py``."""
        return windows.conv2d_grad_input(self.rule_namespace, g, weight, input_shape, stride, padding, dilation,
                                         groups)

    def conv2d_grad_weight(self, g, x, saved, weight_shape, stride, padding, dilation, groups):
        """The weight gradient of ``conv2d_forward`` (``saved`` its second result, or None); see ``windows.py``."""
        return windows.conv2d_grad_weight(self.rule_namespace, g, x, saved, weight_shape, stride, padding, dilation,
                                          groups)

    # elementwise fusion (xgrad.compile(fuse=...), xgrad/fusion.py)
    fuse_by_default = False  # whether xgrad.compile fuses when not told (fuse=None)

    def fused_elementwise(self, group):
        """A function of ``group``'s input arrays computing it as one kernel (``backends/fused.py``:
        ``group.outputs`` one array, or a tuple of several), or None to run its steps one by one, as
        here: a library without generated kernels gains nothing from fusing."""
        return None

    # CUDA-graph replay (xgrad.compile(cuda_graph=...), xgrad/graphs.py)
    graph_by_default = False  # whether xgrad.compile records graphs when not told (cuda_graph=None)

    def records_graphs(self, device=None):
        """Whether ``capture_graph`` can record on ``device`` (None: the default device)."""
        return False

    def capture_graph(self, body, device):
        """Record the kernels ``body(None)`` launches on ``device`` into one CUDA graph, without running
        them, and return a function that launches the recording (the arrays ``body`` allocates while
        recorded stay the graph's); NotImplementedError, saying why, where there is none."""
        raise NotImplementedError(f"backend {self.name!r} has no CUDA graphs")

    def graph_functions(self):
        """{id(function): replacement} for the functions a recording cannot call (CuPy: cuBLAS's matmul)."""
        return {}

    def owner(self, a):
        """The array whose memory ``a`` is (itself, or the base of a view)."""
        base = getattr(a, "base", None)
        while base is not None and self.is_array(base):
            a, base = base, getattr(base, "base", None)
        return a

    def address(self, a):
        """Where ``a``'s memory is, where an array object can change it (torch's ``set_``); else None."""
        return None

    def unshared(self, holder, key, others):
        """Whether ``holder[key]``, or memory it shares, is referenced from nowhere but ``holder`` and
        ``others`` more references (CPython reference counts; a view holds its base)."""
        return _sys.getrefcount(holder[key]) <= others + 2  # (+ the argument of getrefcount)

    def erf(self, x):
        """The error function, elementwise (the standard lacks it): fdlibm's algorithm in standard
        functions (``special.py``); a library with its own overrides this."""
        return special.erf(self.namespace, x)

    def __repr__(self):
        return f"<xgrad backend {self.name}>"

    # CPU threads and slow dtypes, for the command line (``xgrad train --threads``, its dtype note)
    default_threads: int | None = None  # threads to ask for when the user names none (None: the library's own)
    slow_dtypes: frozenset = frozenset()  # dtypes the library emulates in software, many times slower

    def set_threads(self, n):
        """Let the library's CPU kernels use ``n`` threads; False where this backend has no such setting."""
        return False


def is_basic_index(index):
    """Whether ``index`` holds only ints, slices, None and Ellipsis (no arrays)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice)) or i is None or i is Ellipsis for i in parts)
