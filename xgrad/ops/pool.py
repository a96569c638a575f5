"""Pooling and resampling, as in ``torch.nn.functional``: ``max_pool2d``, ``avg_pool2d``,
``adaptive_avg_pool2d`` and ``interpolate`` (nearest, linear/bilinear, ``align_corners``).

Max pooling takes each window's maximum over the kernel's taps (strided slices) and sends the gradient
to the first maximal entry, as PyTorch. Average pooling sums the windows of ``xp.unfold``
(``ops/conv.py``) and divides by PyTorch's divisor; adaptive pooling and bilinear interpolation are matrices applied along the height and width.
"""

from __future__ import annotations

import math
import struct
from typing import Any, Sequence

from ..backends.windows import _tap, blocks
from ..creation import tensor as _tensor
from ..errors import InputError, ShapeError
from ..tensor import Tensor
from . import reduction as _red, shape as _shape
from ._core import op
from .conv import _batched, _check_float, _describe, _pad_constant, _positive, _unfold, pair
from .elementwise import divide as _divide
from .indexing import take as _take
from .linalg import matmul as _matmul, matrix_transpose as _matrix_transpose


def _pool_args(name: str, kernel_size: Any, stride: Any, padding: Any, dilation: Any) -> tuple[tuple[int, ...], ...]:
    k = _positive(name, "kernel_size", pair(name, "kernel_size", kernel_size))
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else \
        _positive(name, "stride", pair(name, "stride", stride))
    p = _positive(name, "padding", pair(name, "padding", padding), 0)
    d = _positive(name, "dilation", pair(name, "dilation", dilation))
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise InputError(f"xgrad.nn.functional.{name}: padding {p} must be at most half the kernel size {k}, "
                         "as in PyTorch")
    return k, s, p, d


def _pooled(name: str, size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> tuple[int, int]:
    """(output length, extra padding at the end) along one axis, with PyTorch's ceil_mode rule: a last
    window may stick out past the padding only if it starts inside the input or the left padding."""
    span = size + 2 * p - d * (k - 1) - 1
    if span < 0:
        raise ShapeError(f"xgrad.nn.functional.{name}: the window {k} (dilation {d}) is larger than the input "
                         f"axis of {size} padded by {p}")
    n = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (n - 1) * s >= size + p:
        n -= 1
    extra = max((n - 1) * s + d * (k - 1) + 1 - (size + 2 * p), 0)
    return n, extra


# ---- max_pool2d -----------------------------------------------------------------------------------------
# Each window's maximum is found tap by tap: tap (i, j) is the strided slice of the (-inf padded) input
# that every window reads at offset (i, j), so a few elementwise passes over output-sized arrays per tap
# give the whole output and the winning tap (no window copy, no reduction over a short last axis).
def _tiled(kernel_size, stride, dilation):
    """Windows that tile the input without overlap or gaps: the taps' gradients interleave by a reshape."""
    return tuple(kernel_size) == tuple(stride) and tuple(dilation) == (1, 1)


def _max_taps(xp, x, kernel_size, stride, padding, dilation, extra, out_size, fill=-math.inf):
    """The kh*kw taps of ``x`` padded with ``fill``, in PyTorch's window order (row by row), each
    (N, C, Ho, Wo)."""
    (ph, pw), (eh, ew), (kh, kw), (ho, wo), (dh, dw), (sh, sw) = padding, extra, kernel_size, out_size, dilation, \
        stride
    if ph or pw or eh or ew:
        x = _pad_constant.forward(xp, x, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)), fill)
    return [x[:, :, _tap(i, dh, sh, ho), _tap(j, dw, sw, wo)] for i in range(kh) for j in range(kw)]


def _max_and_index(xp, x, kernel_size, stride, padding, dilation, extra, out_size):
    """Each window's maximum and the tap it came from (as a float of x's dtype: 0, 1, ...), by PyTorch's
    rule: scanning the window's entries inside the input row by row, an entry replaces the maximum if it
    is larger or NaN (so the first of equal maxima wins, a NaN beats everything, and the last NaN wins
    over earlier ones). Padding (-inf) is never picked over an entry of the input, -inf included."""
    args = (kernel_size, stride, padding, dilation, extra, out_size)
    taps = _max_taps(xp, x, *args)
    padded = any(padding) or any(extra)
    # where padding is read: each tap's (1, 1, Ho, Wo) mask of positions inside the input
    inside = [t > 0 for t in _max_taps(xp, xp.ones_like(x[:1, :1, ...]), *args, fill=0.0)] if padded else None
    best, index = taps[0], xp.zeros_like(taps[0])
    found = inside[0] if padded else None  # whether `best` is an entry of the input yet
    for k, t in enumerate(taps[1:], start=1):
        wins = (t > best) | xp.isnan(t)
        if padded:
            wins = wins | (inside[k] & ~found)
            found = found | inside[k]
        best = xp.where(wins, t, best)
        index = xp.where(wins, float(k), index)
    return best, index


@op(name="max_pool2d", saves=True)
def _max_pool2d(xp, x, kernel_size, stride, padding, dilation, extra, out_size):
    out, index = _max_and_index(xp, x, kernel_size, stride, padding, dilation, extra, out_size)
    if kernel_size == (1, 1):
        out = xp.asarray(out, copy=True)  # never a view of the input
    return out, index


def _max_pool2d_grad(xp, g, out, x, kernel_size, stride, padding, dilation, extra, out_size, saved=None):
    n, c, h, w = x.shape
    (kh, kw), (ho, wo), (ph, pw) = kernel_size, out_size, padding
    padded = (h + 2 * ph + extra[0], w + 2 * pw + extra[1])
    index = saved if saved is not None else \
        _max_and_index(xp, x, kernel_size, stride, padding, dilation, extra, out_size)[1]
    zero = xp.zeros_like(g)
    parts = [xp.where(index == float(k), g, zero) for k in range(kh * kw)]  # each tap's share
    if _tiled(kernel_size, stride, dilation):
        gwin = xp.reshape(xp.stack(parts, axis=-1), (n, c, ho, wo, kh, kw))
        gpad = xp.reshape(xp.permute_dims(gwin, (0, 1, 2, 4, 3, 5)), (n, c, ho * kh, wo * kw))
        if (ho * kh, wo * kw) != padded:  # rows and columns no window reached get zeros
            gpad = _pad_constant.forward(xp, gpad, ((0, 0), (0, 0), (0, padded[0] - ho * kh),
                                                    (0, padded[1] - wo * kw)), 0.0)
    else:
        gcols = xp.reshape(xp.stack(parts, axis=2), (n, c * kh * kw, ho * wo))
        gpad = xp.fold(gcols, output_size=padded, kernel_size=kernel_size, dilation=dilation, padding=(0, 0),
                       stride=stride)
    if padded == (h, w):
        return gpad
    return gpad[:, :, ph:ph + h, pw:pw + w]


_max_pool2d.defvjp(_max_pool2d_grad)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """The maximum of each window of (N, C, H, W) (or (C, H, W)), as ``torch.nn.functional.max_pool2d``
    (``stride`` defaults to ``kernel_size``; padding counts as -inf); the gradient goes to each window's
    first maximal entry."""
    if return_indices:
        raise InputError("xgrad.nn.functional.max_pool2d: return_indices=True is not supported")
    x, unbatched = _batched("max_pool2d", input, 4, "(N, C, H, W)")
    _check_float("max_pool2d", x)
    k, s, p, d = _pool_args("max_pool2d", kernel_size, stride, padding, dilation)
    (ho, eh), (wo, ew) = (_pooled("max_pool2d", x.shape[2 + ax], k[ax], s[ax], p[ax], d[ax], ceil_mode)
                          for ax in (0, 1))
    out = _max_pool2d(x, kernel_size=k, stride=s, padding=p, dilation=d, extra=(eh, ew), out_size=(ho, wo))
    return _shape.squeeze(out, 0) if unbatched else out


# ---- avg_pool2d -----------------------------------------------------------------------------------------
def _divisors(size: int, k: int, s: int, p: int, n: int, include_pad: bool) -> list[int]:
    """PyTorch's divisor for each window along one axis: the window clipped to the padded input
    (``count_include_pad``) or to the input itself."""
    out = []
    for i in range(n):
        start = i * s - p
        end = min(start + k, size + p)
        if not include_pad:
            end = min(end, size)
            start = max(start, 0)
        out.append(end - start)
    return out


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """The mean of each window of (N, C, H, W) (or (C, H, W)), as ``torch.nn.functional.avg_pool2d``:
    zero padding, counted in the divisor when ``count_include_pad``; ``divisor_override`` replaces it."""
    x, unbatched = _batched("avg_pool2d", input, 4, "(N, C, H, W)")
    _check_float("avg_pool2d", x)
    k, s, p, d = _pool_args("avg_pool2d", kernel_size, stride, padding, 1)
    if divisor_override is not None and (isinstance(divisor_override, bool) or not isinstance(divisor_override, int)
                                         or divisor_override == 0):
        raise InputError(f"xgrad.nn.functional.avg_pool2d: divisor_override must be a nonzero int, got "
                         f"{divisor_override!r}")
    n, c, h, w = x.shape
    (ho, eh), (wo, ew) = (_pooled("avg_pool2d", x.shape[2 + ax], k[ax], s[ax], p[ax], 1, ceil_mode) for ax in (0, 1))
    if eh or ew:
        x = _pad_constant(x, pads=((0, 0), (0, 0), (0, eh), (0, ew)), value=0.0)
    cols = _unfold(x, kernel_size=k, dilation=(1, 1), padding=p, stride=s)
    sums = _shape.reshape(_red.sum(_shape.reshape(cols, (n, c, k[0] * k[1], ho * wo)), axis=2), (n, c, ho, wo))
    if divisor_override is not None:
        out = _divide(sums, float(divisor_override))
    else:
        dh = _divisors(h, k[0], s[0], p[0], ho, count_include_pad)
        dw = _divisors(w, k[1], s[1], p[1], wo, count_include_pad)
        if len(set(dh)) == 1 and len(set(dw)) == 1:
            out = _divide(sums, float(dh[0] * dw[0]))
        else:
            div = _tensor([[float(a * b) for b in dw] for a in dh], dtype=x.dtype, backend=x._backend, device=x.device)
            out = _divide(sums, div)
    return _shape.squeeze(out, 0) if unbatched else out


# ---- adaptive_avg_pool2d and interpolate: a matrix along each axis -----------------------------------
def _along(x: Tensor, rows: list[list[float]], axis: int) -> Tensor:
    """``x`` with the (out, in) matrix ``rows`` applied along ``axis`` (-2: height, -1: width)."""
    m = _tensor(rows, dtype=x.dtype, backend=x._backend, device=x.device)
    if axis == -1:
        return _matmul(x, _matrix_transpose(m))
    return _matmul(m, x)


def _adaptive_rows(size: int, n: int) -> list[list[float]]:
    """Row i averages positions floor(i*size/n) .. ceil((i+1)*size/n) - 1, as PyTorch."""
    rows = []
    for i in range(n):
        start, end = (i * size) // n, -(-((i + 1) * size) // n)
        rows.append([1.0 / (end - start) if start <= j < end else 0.0 for j in range(size)])
    return rows


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling of (N, C, H, W) (or (C, H, W)) to ``output_size`` (an int, a pair, None keeps an
    axis), with PyTorch's windows: row i covers floor(i*H/h) to ceil((i+1)*H/h)."""
    x, unbatched = _batched("adaptive_avg_pool2d", input, 4, "(N, C, H, W)")
    _check_float("adaptive_avg_pool2d", x)
    size = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(size) != 2 or not all(v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0) for v in size):
        raise InputError(f"xgrad.nn.functional.adaptive_avg_pool2d: output_size must be a positive int or two "
                         f"(None keeps an axis), got {output_size!r}")
    h, w = x.shape[2:]
    oh, ow = (h if size[0] is None else size[0]), (w if size[1] is None else size[1])
    if h == 0 or w == 0:
        raise ShapeError(f"xgrad.nn.functional.adaptive_avg_pool2d: empty input {_describe(input)}")
    if (oh, ow) == (1, 1):
        out = _red.mean(x, axis=(2, 3), keepdims=True)
    elif h % oh == 0 and w % ow == 0:  # equal windows that tile the input
        out = avg_pool2d(x, (h // oh, w // ow))
    else:
        out = x
        if oh != h:
            out = _along(out, _adaptive_rows(h, oh), -2)
        if ow != w:
            out = _along(out, _adaptive_rows(w, ow), -1)
    return _shape.squeeze(out, 0) if unbatched else out


def _f32(v: float) -> float:
    """``v`` rounded to float32 (PyTorch computes nearest-neighbour indices in float)."""
    return struct.unpack("f", struct.pack("f", v))[0]


def _nearest_indices(size: int, n: int, scale: float | None) -> list[int]:
    """PyTorch's nearest source index: floor(i * s) in float32, s = 1/scale_factor or size/n."""
    if n == size:
        return list(range(n))
    if n == 2 * size:
        return [i >> 1 for i in range(n)]
    s = _f32(1.0 / scale) if scale is not None and scale > 0 else _f32(_f32(size) / _f32(n))
    return [min(int(math.floor(_f32(_f32(i) * s))), size - 1) for i in range(n)]


def _linear_rows(size: int, n: int, scale: float | None, align_corners: bool) -> list[list[float]]:
    """PyTorch's linear interpolation weights as an (n, size) matrix: source position
    i*(size-1)/(n-1) (align_corners) or (i+0.5)*s-0.5 clamped at 0, s = 1/scale_factor or size/n."""
    if align_corners:
        ratio = (size - 1) / (n - 1) if n > 1 else 0.0
    else:
        ratio = 1.0 / scale if scale is not None and scale > 0 else size / n
    rows = []
    for i in range(n):
        row = [0.0] * size
        if n == size:
            row[i] = 1.0
        else:
            src = ratio * i if align_corners else max(ratio * (i + 0.5) - 0.5, 0.0)
            i0 = min(int(math.floor(src)), size - 1)
            lam = min(max(src - i0, 0.0), 1.0)
            i1 = i0 + (1 if i0 < size - 1 else 0)
            row[i0] += 1.0 - lam
            row[i1] += lam
        rows.append(row)
    return rows


_LINEAR = {"linear": 3, "bilinear": 4}


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resample (N, C, W) or (N, C, H, W) to ``size`` or by ``scale_factor``, as
    ``torch.nn.functional.interpolate`` with ``mode`` ``"nearest"``, ``"linear"`` (3-D) or ``"bilinear"``
    (4-D); ``align_corners`` for the linear modes only."""
    name = "interpolate"
    if mode not in ("nearest",) + tuple(_LINEAR):
        raise InputError(f"xgrad.nn.functional.{name}: mode must be 'nearest', 'linear' or 'bilinear', not {mode!r}")
    if antialias:
        raise InputError(f"xgrad.nn.functional.{name}: antialias=True is not supported")
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        raise ShapeError(f"xgrad.nn.functional.{name}: expected a 3-D (N, C, W) or 4-D (N, C, H, W) Tensor, got "
                         f"{_describe(input)}")
    if mode in _LINEAR and input.ndim != _LINEAR[mode]:
        raise ShapeError(f"xgrad.nn.functional.{name}: mode {mode!r} needs a {_LINEAR[mode]}-D input, got "
                         f"{_describe(input)}")
    if mode == "nearest" and align_corners is not None:
        raise InputError(f"xgrad.nn.functional.{name}: align_corners applies to the linear modes only, not "
                         "'nearest'")
    _check_float(name, input)
    k = input.ndim - 2
    spatial = tuple(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise InputError(f"xgrad.nn.functional.{name}: give exactly one of size and scale_factor")
    scales: Sequence[float | None]
    if size is not None:
        if recompute_scale_factor:
            raise InputError(f"xgrad.nn.functional.{name}: recompute_scale_factor applies to scale_factor only")
        out = pair(name, "size", size, k)
        _positive(name, "size", out)
        scales = (None,) * k
    else:
        sf = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * k
        if len(sf) != k or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in sf):
            raise InputError(f"xgrad.nn.functional.{name}: scale_factor must be a positive number or {k}, got "
                             f"{scale_factor!r}")
        out = tuple(int(math.floor(float(n) * float(f))) for n, f in zip(spatial, sf))
        _positive(name, "the output size from scale_factor", out)
        scales = (None,) * k if recompute_scale_factor else tuple(float(f) for f in sf)
    x = input
    for ax in range(k):
        axis = 2 + ax
        n, s = out[ax], scales[ax]
        if mode == "nearest":
            if n != spatial[ax]:
                idx = x._backend.asarray(_nearest_indices(spatial[ax], n, s), dtype="int64", device=x.device)
                x = _take(x, idx, axis=axis)
        elif n != spatial[ax]:
            rows = _linear_rows(spatial[ax], n, s, bool(align_corners))
            x = _along(x, rows, -1 if axis == x.ndim - 1 else -2)
    return x
