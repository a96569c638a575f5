"""NumPy on the CPU: the default backend."""

import operator

import array_api_compat.numpy as _xp
import numpy as np

from . import windows
from .allocator import keep_freed_memory
from .base import Backend


class NumpyBackend(Backend):
    name = "numpy"

    slow_dtypes = frozenset({"float16"})  # no half-precision math on the CPU: every op converts, ~20x slower
    # one BLAS thread for `xgrad train`: on small models a BLAS thread pool costs more than it saves, and
    # on a shared machine a second thread stalls every matmul (the digits CNN: 25 -> 157 steps/s)
    default_threads = 1

    def set_threads(self, n):
        """Limit NumPy's BLAS to ``n`` threads (through threadpoolctl, the `cli` extra); False without it."""
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return False
        threadpool_limits(limits=n, user_api="blas")
        return True

    def __init__(self, device=None):
        keep_freed_memory()  # eager code frees an array per op: keep that memory for the next step
        self._eyes = {}
        self._aranges = {}
        super().__init__(_xp, default_device=None)
        self.out_ufuncs = {operator.add: np.add, operator.sub: np.subtract, operator.mul: np.multiply,
                           operator.truediv: np.true_divide}

    def fast_paths(self):
        # NumPy's own functions (or the ufunc reductions beneath np.sum/np.max, which skip a Python
        # layer) where array-api-compat wraps them in Python for cases float math never meets. Each
        # returns bit-for-bit what the standard's function returns.
        return {"permute_dims": np.transpose, "matrix_transpose": _matrix_transpose, "matmul": np.matmul,
                "sign": np.sign, "zeros_like": np.zeros_like, "ones_like": _ones_like,
                "broadcast_to": _broadcast_to, "sum": _sum, "max": _max, "min": _min, "mean": _mean,
                "take_along_axis": self._take_along_axis, "expand_dims": _expand_dims, "squeeze": _squeeze,
                "where": _where}

    def einsum(self, subscripts, *operands):
        return np.einsum(subscripts, *operands)

    def writable(self, a):
        return isinstance(a, np.ndarray) and a.flags.writeable

    def is_array(self, obj):
        return isinstance(obj, np.ndarray)

    def owns(self, a):
        return type(a) is np.ndarray and a.base is None

    def asarray(self, obj, dtype=None, device=None, copy=None):
        if device not in (None, "cpu"):
            raise ValueError(f"backend 'numpy' has only the device 'cpu', not {device!r}")
        dtype = self.dtype(dtype) if dtype is not None else None
        if copy is False:  # NumPy raises ValueError where a copy is needed
            return np.asarray(obj, dtype=dtype, copy=False)
        return np.array(obj, dtype=dtype, copy=True) if copy else np.asarray(obj, dtype=dtype)

    def to_numpy(self, a):
        return np.asarray(a)

    def device(self, a):
        return "cpu"

    def scatter_add(self, like, index, values):
        out = np.zeros_like(like, dtype=values.dtype)
        np.add.at(out, index, values)
        return out

    def _take_along_axis(self, a, indices, /, *, axis=-1):
        """One entry per row of a 2-D array (cross-entropy's label pick) by fancy indexing; a cached
        row range. np.take_along_axis spends microseconds in Python building the same index."""
        n = a.shape[0]
        if a.ndim != 2 or axis not in (-1, 1) or indices.shape != (n, 1):
            return np.take_along_axis(a, indices, axis=axis)
        rows = self._aranges.get(n)
        if rows is None:
            rows = self._aranges[n] = np.arange(n)
        return a[rows, indices[:, 0]][:, None]

    def check_labels(self, labels, num_classes, caller="cross_entropy", what=None):
        # one reduction, not two: seen as unsigned, a negative label is larger than any class count
        if not self.defers(labels) and labels.dtype.kind == "i" and labels.size and \
                _max_reduce(labels.view(f"u{labels.dtype.itemsize}"), axis=None) < num_classes:
            return labels
        return super().check_labels(labels, num_classes, caller, what)

    def onehot(self, labels, num_classes, dtype):
        # labels lie in [0, C) (check_labels)
        if num_classes <= 1024:  # rows of a cached identity: one take, no Python loop
            key = (num_classes, dtype)
            eye = self._eyes.get(key)
            if eye is None:
                eye = self._eyes[key] = np.eye(num_classes, dtype=dtype)
            return eye.take(labels, axis=0)
        out = np.zeros(labels.shape + (num_classes,), dtype=dtype)
        np.put_along_axis(out, labels[..., None], 1, axis=-1)
        return out

    def unfold(self, a, kernel_size, dilation, padding, stride):
        """``windows.unfold`` as one strided view of every block (``sliding_window_view``) and one copy
        into column order; the same numbers (each column entry is a copy of one input entry)."""
        n, c = a.shape[:2]
        (kh, kw), (dh, dw), (sh, sw) = kernel_size, dilation, stride
        a = windows.zero_pad(np, a, padding)
        if a.shape[2] < dh * (kh - 1) + 1 or a.shape[3] < dw * (kw - 1) + 1:
            return windows.unfold(np, a, kernel_size, dilation, (0, 0), stride)  # no block fits: empty
        view = np.lib.stride_tricks.sliding_window_view(a, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
        view = view[:, :, ::sh, ::sw, ::dh, ::dw]  # (n, c, ho, wo, kh, kw)
        ho, wo = view.shape[2:4]
        return view.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo)

    def fold(self, cols, output_size, kernel_size, dilation, padding, stride):
        """``windows.fold`` with the channels last while the taps are added (rows of W*C contiguous
        entries, not W: ~3x faster on small images), in the same tap order, so the same numbers."""
        (h, w), (kh, kw), (dh, dw), (ph, pw), (sh, sw) = output_size, kernel_size, dilation, padding, stride
        ho, wo = windows.blocks(h, kh, dh, ph, sh), windows.blocks(w, kw, dw, pw, sw)
        n, c = cols.shape[0], cols.shape[1] // (kh * kw)
        parts = np.ascontiguousarray(cols.reshape(n, c, kh, kw, ho, wo).transpose(0, 2, 3, 4, 5, 1))
        out = np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=cols.dtype)
        for i in range(kh):
            for j in range(kw):
                out[:, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw, :] += parts[:, i, j]
        return np.ascontiguousarray(out[:, ph:ph + h, pw:pw + w, :].transpose(0, 3, 1, 2))


    # convolution with the channels last (groups=1) where that gives longer contiguous runs (kw*C > Wo:
    # many channels, small images): the columns are (N*Ho*Wo, kh*kw*C), copied from the padded NHWC
    # input in runs of kw*C entries (not Wo, as the (N, C*kh*kw, L) layout of windows.py), and each
    # product is one large matmul, not one per sample: ~2x faster on the digits CNN's 4x4 layer. Same
    # sums as windows.py, in another order: equal to rounding.
    @staticmethod
    def _channels_last(a, weight, ho, wo):
        return (a.dtype == weight.dtype and a.dtype.kind == "f" and weight.shape[3] * weight.shape[1] > wo
                and ho * wo > 0)

    def conv2d_forward(self, x, weight, stride, padding, dilation, groups):
        n, c, h, w = x.shape
        o, _, kh, kw = weight.shape
        ho, wo = windows.blocks(h, kh, dilation[0], padding[0], stride[0]), windows.blocks(w, kw, dilation[1],
                                                                                         padding[1], stride[1])
        if groups != 1 or not self._channels_last(x, weight, ho, wo):
            return super().conv2d_forward(x, weight, stride, padding, dilation, groups)
        cols = self._nhwc_cols(x, (kh, kw), stride, padding, dilation, ho, wo)
        out = cols @ weight.transpose(2, 3, 1, 0).reshape(kh * kw * c, o)  # (N*Ho*Wo, O)
        return np.ascontiguousarray(out.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)), cols

    @staticmethod
    def _nhwc_cols(x, kernel_size, stride, padding, dilation, ho, wo):
        """(N*Ho*Wo, kh*kw*C): row (n, p, q) holds block (p, q) of sample n, taps major, channels minor."""
        n, c, h, w = x.shape
        (kh, kw), (ph, pw), (dh, dw), (sh, sw) = kernel_size, padding, dilation, stride
        padded = np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=x.dtype)
        padded[:, ph:ph + h, pw:pw + w, :] = x.transpose(0, 2, 3, 1)
        view = np.lib.stride_tricks.sliding_window_view(padded, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(1, 2))
        cols = np.empty((n, ho, wo, kh, kw, c), dtype=x.dtype)
        np.copyto(cols, view[:, ::sh, ::sw, :, ::dh, ::dw].transpose(0, 1, 2, 4, 5, 3))  # one copy, runs of C
        return cols.reshape(n * ho * wo, kh * kw * c)

    def conv2d_grad_weight(self, g, x, saved, weight_shape, stride, padding, dilation, groups):
        if groups != 1 or saved is None or saved.ndim != 2:
            return super().conv2d_grad_weight(g, x, saved, weight_shape, stride, padding, dilation, groups)
        o, c, kh, kw = weight_shape
        g2 = g.transpose(0, 2, 3, 1).reshape(-1, o)  # (N*Ho*Wo, O)
        return np.ascontiguousarray((g2.T @ saved).reshape(o, kh, kw, c).transpose(0, 3, 1, 2))

    def conv2d_grad_input(self, g, weight, input_shape, stride, padding, dilation, groups):
        ho, wo = g.shape[2:]
        if groups != 1 or not self._channels_last(g, weight, ho, wo):
            return super().conv2d_grad_input(g, weight, input_shape, stride, padding, dilation, groups)
        n, c, h, w = input_shape
        o, _, kh, kw = weight.shape
        (ph, pw), (dh, dw), (sh, sw) = padding, dilation, stride
        g2 = g.transpose(0, 2, 3, 1).reshape(-1, o)  # (N*Ho*Wo, O)
        # one (N*Ho*Wo, C) block per tap, each contiguous, added where the tap's entries came from
        taps = np.matmul(g2, weight.transpose(2, 3, 0, 1).reshape(kh * kw, o, c))
        out = np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=g.dtype)
        for i in range(kh):
            for j in range(kw):
                out[:, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw] += \
                    taps[i * kw + j].reshape(n, ho, wo, c)
        return np.ascontiguousarray(out[:, ph:ph + h, pw:pw + w].transpose(0, 3, 1, 2))


_matrix_transpose = operator.attrgetter("mT")
_add_reduce = np.add.reduce
_max_reduce = np.maximum.reduce
_min_reduce = np.minimum.reduce


def _sum(a, /, *, axis=None, dtype=None, keepdims=False):
    return _add_reduce(a, axis=axis, dtype=dtype, keepdims=keepdims)  # what np.sum calls


def _max(a, /, *, axis=None, keepdims=False):
    return _max_reduce(a, axis=axis, keepdims=keepdims)


def _min(a, /, *, axis=None, keepdims=False):
    return _min_reduce(a, axis=axis, keepdims=keepdims)


def _mean(a, /, *, axis=None, keepdims=False):
    if a.dtype.kind not in "fc" or a.dtype.itemsize < 4:
        return np.mean(a, axis=axis, keepdims=keepdims)
    total = _add_reduce(a, axis=axis, keepdims=keepdims)
    count = a.size if axis is None else _count(a.shape, axis)
    return total / count


def _expand_dims(a, /, *, axis=0):
    if axis == -1:  # a new last axis: a view by indexing (np.expand_dims spends ~2 us in Python)
        return a[..., None]
    return np.expand_dims(a, axis)


def _squeeze(a, /, axis):
    if axis == -1 and a.ndim and a.shape[-1] == 1:
        return a[..., 0]
    return np.squeeze(a, axis=axis)  # raises NumPy's error for an axis whose length is not 1


_BITS = {2: np.uint16, 4: np.uint32}  # (float64: np.where is as fast)
_SELECT_MIN = 4096  # below this np.where's own loop is as fast


def _where(condition, x1, x2, /):
    """``where`` on floats of one dtype as a bitwise select, ``x2 ^ ((x1 ^ x2) & m)`` with ``m`` all ones
    where ``condition`` holds: the same bits as np.where (a copy of one or the other), without its
    data-dependent branch, which mispredicts on masks like ReLU's (up to ~4x slower on float32)."""
    if type(condition) is np.ndarray and condition.dtype == np.bool_ and condition.size >= _SELECT_MIN:
        dt = x1.dtype if type(x1) is np.ndarray else x2.dtype if type(x2) is np.ndarray else None
        if dt is not None and dt.kind == "f" and dt.itemsize in _BITS and \
                all(type(v) is np.ndarray and v.dtype == dt or type(v) in (int, float) for v in (x1, x2)):
            shape = np.broadcast_shapes(condition.shape, np.shape(x1), np.shape(x2))
            if shape == condition.shape:
                bits = _BITS[dt.itemsize]
                m = condition.astype(bits)
                np.negative(m, out=m)  # 1 -> all ones (unsigned wrap-around)
                a, b = (np.asarray(v, dtype=dt).view(bits) for v in (x1, x2))
                out = np.bitwise_xor(a, b, dtype=bits)  # b ^ ((a ^ b) & m): a where m, else b
                out &= m
                out ^= b
                return out.view(dt)
    return np.where(condition, x1, x2)


def _ones_like(a, /, *, dtype=None, device=None):
    if a.ndim == 0:  # backward's seed for a scalar loss: np.array is a C call, np.ones_like is Python
        return np.array(1, dtype=a.dtype if dtype is None else dtype)
    return np.ones_like(a, dtype=dtype)


def _broadcast_to(a, /, shape):
    """np.broadcast_to's read-only view, built directly for C-contiguous arrays (np.broadcast_to
    spends ~2 us in Python to make the same view)."""
    shape = tuple(shape)
    if a.shape == shape:
        return a
    lead = len(shape) - a.ndim
    if type(a) is not np.ndarray or lead < 0 or not a.flags.c_contiguous:
        return np.broadcast_to(a, shape)
    strides = [0] * lead
    for have, want, stride in zip(a.shape, shape[lead:], a.strides):
        if have == want:
            strides.append(stride)
        elif have == 1:
            strides.append(0)
        else:
            return np.broadcast_to(a, shape)  # raises NumPy's error for shapes that do not broadcast
    view = np.ndarray(shape, a.dtype, a, 0, tuple(strides))
    view.flags.writeable = False
    return view


def _count(shape, axis):
    if isinstance(axis, int):
        return shape[axis]
    n = 1
    for ax in axis:
        n *= shape[ax]
    return n


def load(device=None):
    return NumpyBackend(device)
