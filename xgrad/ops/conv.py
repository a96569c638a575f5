"""Convolutions and padding, as in ``torch.nn.functional``: ``unfold``/``fold`` (sliding blocks and
their adjoint), ``conv2d``, ``conv1d``, ``conv_transpose2d`` and ``pad``.

A convolution is ``unfold`` (every kernel-sized block of the input as a column, ``xp.unfold``) and one
matmul with the weight; its input gradient is the weight's transpose times the output gradient, added
back block by block with ``xp.fold``; its weight gradient is the output gradient times the columns
(saved by the forward). All of it is written once on the standard (``backends/windows.py``) and reached
through the rule namespace (``xp.conv2d_forward`` and its gradients); a backend may supply faster ones
with the same numbers to rounding.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..backends.windows import blocks
from ..errors import DTypeError, InputError, ShapeError
from ..tensor import Tensor
from . import shape as _shape
from ._core import op
from .elementwise import add as _add
from .indexing import take as _take
from .linalg import matmul as _matmul

Pair = tuple[int, int]


# ---- arguments ----------------------------------------------------------------------------------------
def pair(name: str, what: str, v: Any, n: int = 2) -> tuple[int, ...]:
    """``v`` (an int or a sequence of ``n`` ints) as an n-tuple, as PyTorch's ``_pair``."""
    t = (v,) * n if isinstance(v, int) and not isinstance(v, bool) else tuple(v) if isinstance(v, (tuple, list)) else None
    if t is None or len(t) != n or not all(isinstance(i, int) and not isinstance(i, bool) for i in t):
        raise InputError(f"xgrad.nn.functional.{name}: {what} must be an int or {n} ints, got {v!r}")
    return t


def _positive(name: str, what: str, t: tuple[int, ...], minimum: int = 1) -> tuple[int, ...]:
    if any(i < minimum for i in t):
        raise InputError(f"xgrad.nn.functional.{name}: {what} must be >= {minimum}, got {t}")
    return t


def _describe(t: Any) -> str:
    return f"shape {tuple(t.shape)} {t._backend.dtype_name(t.dtype)}" if isinstance(t, Tensor) else repr(t)


def _check_float(name: str, *tensors: Any) -> None:
    """Convolution inputs and weights share one floating dtype (PyTorch refuses mixed ones too)."""
    ts = [t for t in tensors if t is not None]
    for t in ts:
        if not isinstance(t, Tensor):
            raise InputError(f"xgrad.nn.functional.{name}: expected Tensors, got {type(t).__name__}")
        if not t._backend.is_floating(t.dtype):
            raise DTypeError(f"xgrad.nn.functional.{name}: needs floating tensors, got {_describe(t)}; "
                             "cast with .to('float32') or .to('float64')")
    if len({str(t.dtype) for t in ts}) > 1:
        raise DTypeError(f"xgrad.nn.functional.{name}: input, weight and bias must share a dtype, got "
                         + ", ".join(_describe(t) for t in ts) + "; cast one with .to(dtype)")


def _batched(name: str, x: Tensor, ndim: int, what: str) -> tuple[Tensor, bool]:
    """``x`` with a batch axis (PyTorch also takes unbatched inputs, one dimension fewer)."""
    if x.ndim == ndim:
        return x, False
    if x.ndim == ndim - 1:
        return _shape.expand_dims(x, axis=0), True
    raise ShapeError(f"xgrad.nn.functional.{name}: expected a {ndim}-D input {what} (or {ndim - 1}-D "
                     f"unbatched), got {_describe(x)}")


# ---- unfold and fold ---------------------------------------------------------------------------------
@op(name="unfold")
def _unfold(xp, a, kernel_size, dilation, padding, stride):
    return xp.unfold(a, kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)


@op(name="fold")
def _fold(xp, cols, output_size, kernel_size, dilation, padding, stride):
    return xp.fold(cols, output_size=output_size, kernel_size=kernel_size, dilation=dilation, padding=padding,
                   stride=stride)


# each is the other's adjoint (both are linear)
_unfold.defvjp(lambda xp, g, out, a, kernel_size, dilation, padding, stride: xp.fold(
    g, output_size=tuple(a.shape[2:]), kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride))
_fold.defvjp(lambda xp, g, out, cols, output_size, kernel_size, dilation, padding, stride: xp.unfold(
    g, kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride))


def _window_args(name: str, kernel_size: Any, dilation: Any, padding: Any, stride: Any) -> tuple[Pair, ...]:
    return (_positive(name, "kernel_size", pair(name, "kernel_size", kernel_size)),
            _positive(name, "dilation", pair(name, "dilation", dilation)),
            _positive(name, "padding", pair(name, "padding", padding), 0),
            _positive(name, "stride", pair(name, "stride", stride)))  # type: ignore[return-value]


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """Sliding blocks of ``input`` (N, C, H, W) as columns (N, C*kh*kw, L), as ``torch.nn.functional.unfold``
    (im2col); a 3-D input (C, H, W) gives (C*kh*kw, L)."""
    k, d, p, s = _window_args("unfold", kernel_size, dilation, padding, stride)
    x, unbatched = _batched("unfold", input, 4, "(N, C, H, W)")
    for ax in (0, 1):
        if blocks(x.shape[2 + ax], k[ax], d[ax], p[ax], s[ax]) < 1:
            raise ShapeError(f"xgrad.nn.functional.unfold: kernel_size {k} with dilation {d} does not fit into "
                             f"the input {_describe(input)} padded by {p}; use a smaller kernel or more padding")
    out = _unfold(x, kernel_size=k, dilation=d, padding=p, stride=s)
    return _shape.squeeze(out, 0) if unbatched else out


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Tensor:
    """Columns (N, C*kh*kw, L) added back into (N, C, H, W) = ``output_size``, overlaps summed, as
    ``torch.nn.functional.fold`` (col2im, unfold's adjoint); a 2-D input gives (C, H, W)."""
    size = _positive("fold", "output_size", pair("fold", "output_size", output_size))
    k, d, p, s = _window_args("fold", kernel_size, dilation, padding, stride)
    x, unbatched = _batched("fold", input, 3, "(N, C*kh*kw, L)")
    hb, wb = (blocks(size[ax], k[ax], d[ax], p[ax], s[ax]) for ax in (0, 1))
    if x.shape[1] % (k[0] * k[1]) or x.shape[2] != hb * wb or hb < 1 or wb < 1:
        raise ShapeError(f"xgrad.nn.functional.fold: input {_describe(input)} does not fit output_size {size}, "
                         f"kernel_size {k}, dilation {d}, padding {p}, stride {s}: expected (N, C*{k[0] * k[1]}, "
                         f"{max(hb, 0) * max(wb, 0)}) ({max(hb, 0)} x {max(wb, 0)} blocks)")
    out = _fold(x, output_size=size, kernel_size=k, dilation=d, padding=p, stride=s)
    return _shape.squeeze(out, 0) if unbatched else out


# ---- conv2d -------------------------------------------------------------------------------------------
# The work is the rule namespace's conv2d_forward / conv2d_grad_input / conv2d_grad_weight: unfold and
# one matmul each way, written once in backends/windows.py; a backend may lay the columns out its own
# way (NumPy: channels last), so ``saved`` is opaque here and only handed back to the backend.
@op(name="conv2d", saves=True)
def _conv2d(xp, x, weight, bias, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    out, saved = xp.conv2d_forward(x, weight, stride=stride, padding=padding, dilation=dilation, groups=groups)
    if bias is not None:
        out = out + xp.reshape(bias, (weight.shape[0], 1, 1))
    return out, saved


def _conv2d_grad_x(xp, g, out, x, weight, bias, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                   saved=None):
    return xp.conv2d_grad_input(g, weight, input_shape=tuple(x.shape), stride=stride, padding=padding,
                                dilation=dilation, groups=groups)


def _conv2d_grad_w(xp, g, out, x, weight, bias, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                   saved=None):
    return xp.conv2d_grad_weight(g, x, saved, weight_shape=tuple(weight.shape), stride=stride, padding=padding,
                                 dilation=dilation, groups=groups)


def _conv2d_grad_b(xp, g, out, x, weight, bias, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                   saved=None):
    return xp.sum(g, axis=(0, 2, 3))


_conv2d.defvjp(_conv2d_grad_x, _conv2d_grad_w, _conv2d_grad_b)


def _same_padding(k: Sequence[int], d: Sequence[int]) -> tuple[list[int], list[int]]:
    """PyTorch's padding="same": d*(k-1) in total per axis, the odd one on the right/bottom."""
    total = [di * (ki - 1) for ki, di in zip(k, d)]
    left = [t // 2 for t in total]
    return left, [t - lo for t, lo in zip(total, left)]


def _check_conv(name: str, x: Tensor, weight: Tensor, bias: Tensor | None, groups: int, transposed: bool) -> None:
    _check_float(name, x, weight, bias)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise InputError(f"xgrad.nn.functional.{name}: groups must be a positive int, got {groups!r}")
    c = x.shape[1]
    if transposed:
        if weight.shape[0] != c:
            raise ShapeError(f"xgrad.nn.functional.{name}: the input has {c} channels but the weight "
                             f"{_describe(weight)} expects {weight.shape[0]} (weight is (in, out/groups, kh, kw))")
        out = weight.shape[1] * groups
    else:
        if weight.shape[1] * groups != c:
            raise ShapeError(f"xgrad.nn.functional.{name}: the input {_describe(x)} has {c} channels but the weight "
                             f"{_describe(weight)} with groups={groups} expects {weight.shape[1] * groups} "
                             "(weight is (out, in/groups, kh, kw))")
        out = weight.shape[0]
    if c % groups or weight.shape[0] % groups:
        raise ShapeError(f"xgrad.nn.functional.{name}: groups={groups} must divide the input channels ({c}) and "
                         f"the weight's first axis ({weight.shape[0]})")
    if bias is not None and tuple(bias.shape) != (out,):
        raise ShapeError(f"xgrad.nn.functional.{name}: bias {_describe(bias)} must have shape ({out},), one "
                         "entry per output channel")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation over (N, C, H, W) (or unbatched (C, H, W)) with a weight (O, C/groups, kh, kw),
    as ``torch.nn.functional.conv2d``; ``padding`` is ints, ``"valid"`` or ``"same"`` (stride 1)."""
    x, unbatched = _batched("conv2d", input, 4, "(N, C, H, W)")
    if weight.ndim != 4:
        raise ShapeError(f"xgrad.nn.functional.conv2d: weight must be 4-D (out, in/groups, kh, kw), got "
                         f"{_describe(weight)}")
    _check_conv("conv2d", x, weight, bias, groups, transposed=False)
    s = _positive("conv2d", "stride", pair("conv2d", "stride", stride))
    d = _positive("conv2d", "dilation", pair("conv2d", "dilation", dilation))
    k = tuple(weight.shape[2:])
    if padding == "valid":
        p: tuple[int, ...] = (0, 0)
    elif padding == "same":
        if s != (1, 1):
            raise InputError(f"xgrad.nn.functional.conv2d: padding='same' needs stride 1, got stride {s}")
        left, right = _same_padding(k, d)
        if left != right:  # an odd total: one more on the right/bottom, as PyTorch
            x = pad(x, (left[1], right[1], left[0], right[0]))
            left = [0, 0]
        p = tuple(left)
    elif isinstance(padding, str):
        raise InputError(f"xgrad.nn.functional.conv2d: padding must be ints, 'valid' or 'same', not {padding!r}")
    else:
        p = _positive("conv2d", "padding", pair("conv2d", "padding", padding), 0)
    for ax in (0, 1):
        if blocks(x.shape[2 + ax], k[ax], d[ax], p[ax], s[ax]) < 1:
            raise ShapeError(f"xgrad.nn.functional.conv2d: the kernel {k} (dilation {d}) is larger than the "
                             f"input {_describe(input)} padded by {p}")
    out = _conv2d(x, weight, bias, stride=s, padding=p, dilation=d, groups=groups)
    return _shape.squeeze(out, 0) if unbatched else out


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation over (N, C, L) (or unbatched (C, L)) with a weight (O, C/groups, k), as
    ``torch.nn.functional.conv1d`` (conv2d over a height of 1)."""
    x, unbatched = _batched("conv1d", input, 3, "(N, C, L)")
    if weight.ndim != 3:
        raise ShapeError(f"xgrad.nn.functional.conv1d: weight must be 3-D (out, in/groups, k), got "
                         f"{_describe(weight)}")
    s, d = pair("conv1d", "stride", stride, 1), pair("conv1d", "dilation", dilation, 1)
    p = padding if isinstance(padding, str) else pair("conv1d", "padding", padding, 1)
    p2 = p if isinstance(p, str) else (0, p[0])
    out = conv2d(_shape.expand_dims(x, axis=2), _shape.expand_dims(weight, axis=2), bias, stride=(1, s[0]),
                 padding=p2, dilation=(1, d[0]), groups=groups)
    out = _shape.squeeze(out, 2)
    return _shape.squeeze(out, 0) if unbatched else out


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """The transpose (gradient) of conv2d: (N, C, H, W) with a weight (C, O/groups, kh, kw) to (N, O, H', W'),
    H' = (H-1)*stride - 2*padding + dilation*(kh-1) + output_padding + 1, as
    ``torch.nn.functional.conv_transpose2d``: each input pixel scatters weight-times-value into its block."""
    x, unbatched = _batched("conv_transpose2d", input, 4, "(N, C, H, W)")
    if weight.ndim != 4:
        raise ShapeError(f"xgrad.nn.functional.conv_transpose2d: weight must be 4-D (in, out/groups, kh, kw), "
                         f"got {_describe(weight)}")
    _check_conv("conv_transpose2d", x, weight, bias, groups, transposed=True)
    name = "conv_transpose2d"
    s = _positive(name, "stride", pair(name, "stride", stride))
    d = _positive(name, "dilation", pair(name, "dilation", dilation))
    p = _positive(name, "padding", pair(name, "padding", padding), 0)
    op_ = _positive(name, "output_padding", pair(name, "output_padding", output_padding), 0)
    if any(o >= max(si, di) for o, si, di in zip(op_, s, d)):
        raise InputError(f"xgrad.nn.functional.{name}: output_padding {op_} must be smaller than the stride {s} "
                         f"or the dilation {d}")
    n, c, h, w = x.shape
    cg, og, kh, kw = c // groups, weight.shape[1], weight.shape[2], weight.shape[3]
    size = tuple((hw - 1) * si - 2 * pi + di * (ki - 1) + oi + 1
                 for hw, si, pi, di, ki, oi in zip((h, w), s, p, d, (kh, kw), op_))
    if min(size) < 1:
        raise ShapeError(f"xgrad.nn.functional.{name}: the output would be {size} for input {_describe(input)}; "
                         "use less padding")
    # output_padding of a stride or more adds whole blocks at the end: zero input rows/columns give them
    extra = tuple(oi // si for oi, si in zip(op_, s))
    if any(extra):
        x = pad(x, (0, extra[1], 0, extra[0]))
        h, w = h + extra[0], w + extra[1]
    # columns (N, O*kh*kw, H*W): each group's weight transposed times its channels
    wt = _shape.permute_dims(_shape.reshape(weight, (groups, cg, og * kh * kw)), (0, 2, 1))
    cols = _matmul(wt, _shape.reshape(x, (n, groups, cg, h * w)))
    cols = _shape.reshape(cols, (n, groups * og * kh * kw, h * w))
    out = _fold(cols, output_size=size, kernel_size=(kh, kw), dilation=d, padding=p, stride=s)
    if bias is not None:
        out = _add(out, _shape.reshape(bias, (groups * og, 1, 1)))
    return _shape.squeeze(out, 0) if unbatched else out


# ---- pad ------------------------------------------------------------------------------------------------
def _kept(size, lo, hi):
    """(slice of the input kept, slice of the output it lands in) along one axis padded by lo, hi."""
    start, stop = max(-lo, 0), size - max(-hi, 0)
    return slice(start, stop), slice(max(lo, 0), max(lo, 0) + stop - start)


def _filled(xp, a, ax, n, value):
    """An array like ``a`` but ``n`` long on axis ``ax``, full of ``value`` (made from ``a``, so it has
    its dtype, device and backend, also under ``create_graph`` where ``a`` is a Tensor)."""
    shape = tuple(a.shape[:ax]) + (n,) + tuple(a.shape[ax + 1:])
    if a.shape[ax] == 0:
        return xp.full(shape, value, dtype=a.dtype, device=a.device)
    return xp.broadcast_to(xp.full_like(a[(slice(None),) * ax + (slice(0, 1), ...)], value), shape)


@op(name="pad")
def _pad_constant(xp, a, pads, value=0.0):
    """``a`` with ``pads[ax] = (before, after)`` entries of ``value`` on each axis (negative: cut off)."""
    for ax, (lo, hi) in enumerate(pads):
        if lo < 0 or hi < 0:
            a = a[(slice(None),) * ax + (_kept(a.shape[ax], lo, hi)[0], ...)]
        parts = [_filled(xp, a, ax, n, value) if n > 0 else None for n in (lo, hi)]
        if parts[0] is not None or parts[1] is not None:
            a = xp.concat([p for p in (parts[0], a, parts[1]) if p is not None], axis=ax)
    return a


def _pad_grad(xp, g, out, a, pads, value=0.0):
    kept = [_kept(a.shape[ax], lo, hi) for ax, (lo, hi) in enumerate(pads)]
    piece = g[tuple(k[1] for k in kept)]
    if all(lo >= 0 and hi >= 0 for lo, hi in pads):
        return piece
    return xp.index_add(a, tuple(k[0] for k in kept), piece)  # the cut-off entries get zeros


_pad_constant.defvjp(_pad_grad)
_pad_constant.check = lambda a, pads, value=0.0: None  # one input: a failure is no broadcasting problem


def _source_indices(size: int, lo: int, hi: int, mode: str) -> list[int]:
    """For each position of an axis padded by lo, hi: the input position it copies."""
    out = []
    for i in range(-lo, size + hi):
        if mode == "replicate":
            j = min(max(i, 0), size - 1)
        elif mode == "circular":
            j = i % size
        else:  # reflect: mirrored at the edges, the edge itself not repeated
            j = -i if i < 0 else 2 * (size - 1) - i if i >= size else i
        out.append(j)
    return out


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or, with negative amounts in constant mode, crop) the last ``len(pad) // 2`` axes, as
    ``torch.nn.functional.pad``: ``pad = (left, right, top, bottom, ...)``, last axis first; ``mode``
    ``"constant"`` (``value``, default 0), ``"reflect"``, ``"replicate"`` or ``"circular"``."""
    if not isinstance(input, Tensor):
        raise InputError(f"xgrad.nn.functional.pad: expected a Tensor, got {type(input).__name__}")
    amounts = tuple(pad)
    if len(amounts) % 2 or len(amounts) // 2 > input.ndim or \
            not all(isinstance(i, int) and not isinstance(i, bool) for i in amounts):
        raise InputError(f"xgrad.nn.functional.pad: pad must hold an even number of ints, two per padded axis "
                         f"(last axis first), at most {2 * input.ndim} for {_describe(input)}; got {pad!r}")
    k = len(amounts) // 2
    pads = [(0, 0)] * (input.ndim - k) + [(amounts[2 * i], amounts[2 * i + 1]) for i in reversed(range(k))]
    if mode == "constant":
        for ax, (lo, hi) in enumerate(pads):
            if input.shape[ax] + lo + hi < 0 or (lo < 0 and -lo > input.shape[ax]) or (hi < 0 and -hi > input.shape[ax]):
                raise ShapeError(f"xgrad.nn.functional.pad: padding {(lo, hi)} of axis {ax} would leave a negative "
                                 f"size for {_describe(input)}")
        return _pad_constant(input, pads=tuple(pads), value=0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise InputError(f"xgrad.nn.functional.pad: mode must be 'constant', 'reflect', 'replicate' or "
                         f"'circular', not {mode!r}")
    if value is not None and value != 0:
        raise InputError(f"xgrad.nn.functional.pad: value={value} applies to mode='constant' only, not {mode!r}")
    out = input
    for ax, (lo, hi) in enumerate(pads):
        if not lo and not hi:
            continue
        size = input.shape[ax]
        limit = size - 1 if mode == "reflect" else size
        if lo < 0 or hi < 0 or lo > limit or hi > limit or size == 0:
            raise ShapeError(f"xgrad.nn.functional.pad: {mode} padding {(lo, hi)} of axis {ax} must lie in "
                             f"[0, {limit}] for {_describe(input)} (PyTorch's limit for {mode!r})")
        idx = input._backend.asarray(_source_indices(size, lo, hi, mode), dtype="int64", device=input.device)
        out = _take(out, idx, axis=ax)
    return out
