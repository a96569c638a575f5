"""Sliding windows over the last two axes, written once on the array-API standard: ``unfold`` (im2col:
every kernel-sized block of a zero-padded (N, C, H, W) array as a column) and ``fold`` (col2im: its
adjoint, the columns added back where they came from). Convolution and pooling ops are built on the
two, and so is the generic convolution below (``conv2d_forward`` and its two gradients: ``unfold``
and one matmul each way); a backend may replace any of them with faster functions of its own that give
the same numbers to rounding.

Column layout, as PyTorch's ``F.unfold``: ``cols[n, (c * kh + i) * kw + j, p * Wo + q]`` is
``padded[n, c, p * sh + i * dh, q * sw + j * dw]``.
"""

from __future__ import annotations

from typing import Any

Pair = tuple[int, int]


def blocks(size: int, kernel: int, dilation: int, padding: int, stride: int) -> int:
    """How many kernel positions fit along one axis of length ``size`` padded by ``padding`` each side."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _tap(i: int, d: int, s: int, n: int) -> slice:
    """The positions that kernel tap ``i`` visits along an axis: i*d, i*d + s, ... (``n`` of them)."""
    return slice(i * d, i * d + s * (n - 1) + 1, s)


def zero_pad(xp: Any, a: Any, padding: Pair) -> Any:
    """``a`` (N, C, H, W) with ``padding`` zero rows and columns on each side."""
    ph, pw = padding
    if not ph and not pw:
        return a
    n, c, h, w = a.shape
    out = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=a.dtype, device=a.device)
    out[:, :, ph:ph + h, pw:pw + w] = a
    return out


def unfold(xp: Any, a: Any, kernel_size: Pair, dilation: Pair, padding: Pair, stride: Pair) -> Any:
    """(N, C, H, W) -> (N, C*kh*kw, Ho*Wo): one strided slice per kernel tap, stacked."""
    n, c, h, w = a.shape
    (kh, kw), (dh, dw), (sh, sw) = kernel_size, dilation, stride
    ho, wo = blocks(h, kh, dh, padding[0], sh), blocks(w, kw, dw, padding[1], sw)
    a = zero_pad(xp, a, padding)
    taps = [a[:, :, _tap(i, dh, sh, ho), _tap(j, dw, sw, wo)] for i in range(kh) for j in range(kw)]
    return xp.reshape(xp.stack(taps, axis=2), (n, c * kh * kw, ho * wo))


def fold(xp: Any, cols: Any, output_size: Pair, kernel_size: Pair, dilation: Pair, padding: Pair,
         stride: Pair) -> Any:
    """(N, C*kh*kw, Ho*Wo) -> (N, C, H, W): each column added at its block's place (overlaps sum, in
    kernel-tap order), the padding cut off."""
    (h, w), (kh, kw), (dh, dw), (ph, pw), (sh, sw) = output_size, kernel_size, dilation, padding, stride
    ho, wo = blocks(h, kh, dh, ph, sh), blocks(w, kw, dw, pw, sw)
    n = cols.shape[0]
    c = cols.shape[1] // (kh * kw)
    parts = xp.reshape(cols, (n, c, kh, kw, ho, wo))
    out = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype, device=cols.device)
    for i in range(kh):
        for j in range(kw):
            out[:, :, _tap(i, dh, sh, ho), _tap(j, dw, sw, wo)] += parts[:, :, i, j, :, :]
    return out[:, :, ph:ph + h, pw:pw + w] if ph or pw else out


# ---- convolution as unfold + matmul ----------------------------------------------------------------------
def _contract(xp: Any, w: Any, cols: Any, groups: int) -> Any:
    """(O, C/G, kh, kw) weight with (N, C*kh*kw, L) columns -> (N, O, L), each group on its own channels."""
    o = w.shape[0]
    n, ck, length = cols.shape
    if groups == 1:
        return xp.matmul(xp.reshape(w, (o, ck)), cols)
    out = xp.matmul(xp.reshape(w, (groups, o // groups, ck // groups)),
                    xp.reshape(cols, (n, groups, ck // groups, length)))
    return xp.reshape(out, (n, o, length))


def conv2d_forward(xp: Any, x: Any, weight: Any, stride: Pair, padding: Pair, dilation: Pair,
                   groups: int) -> tuple[Any, Any]:
    """Cross-correlation of ``x`` (N, C, H, W) with ``weight`` (O, C/groups, kh, kw), no bias: (out
    (N, O, Ho, Wo), saved), ``saved`` being what ``conv2d_grad_weight`` takes back (here the columns)."""
    n, _, h, w = x.shape
    o, _, kh, kw = weight.shape
    cols = xp.unfold(x, kernel_size=(kh, kw), dilation=dilation, padding=padding, stride=stride)
    ho, wo = blocks(h, kh, dilation[0], padding[0], stride[0]), blocks(w, kw, dilation[1], padding[1], stride[1])
    return xp.reshape(_contract(xp, weight, cols, groups), (n, o, ho, wo)), cols


def conv2d_grad_input(xp: Any, g: Any, weight: Any, input_shape: tuple[int, ...], stride: Pair, padding: Pair,
                      dilation: Pair, groups: int) -> Any:
    """The gradient of ``conv2d_forward`` to its input: the weight's transpose times ``g``, added back
    block by block (``fold``)."""
    n, c, h, w = input_shape
    o, cg, kh, kw = weight.shape
    g3 = xp.reshape(g, (n, o, -1))
    if groups == 1:
        gcols = xp.matmul(xp.matrix_transpose(xp.reshape(weight, (o, cg * kh * kw))), g3)
    else:
        wt = xp.matrix_transpose(xp.reshape(weight, (groups, o // groups, cg * kh * kw)))
        gcols = xp.reshape(xp.matmul(wt, xp.reshape(g3, (n, groups, o // groups, -1))), (n, c * kh * kw, -1))
    return xp.fold(gcols, output_size=(h, w), kernel_size=(kh, kw), dilation=dilation, padding=padding,
                   stride=stride)


def conv2d_grad_weight(xp: Any, g: Any, x: Any, saved: Any, weight_shape: tuple[int, ...], stride: Pair,
                       padding: Pair, dilation: Pair, groups: int) -> Any:
    """The gradient of ``conv2d_forward`` to its weight: ``g`` times the columns, summed over the batch
    (``saved`` the forward's columns, or None: unfolded again from ``x``)."""
    n = x.shape[0]
    o, cg, kh, kw = weight_shape
    cols = saved if saved is not None else xp.unfold(x, kernel_size=(kh, kw), dilation=dilation, padding=padding,
                                                     stride=stride)
    length = cols.shape[2]
    # the sum over the batch of g_n @ cols_n^T (a batched matmul: no transposed copy of the columns)
    gm = xp.reshape(g, (n, groups, o // groups, length))
    cm = xp.reshape(cols, (n, groups, cg * kh * kw, length))
    return xp.reshape(xp.sum(xp.matmul(gm, xp.matrix_transpose(cm)), axis=0), tuple(weight_shape))
