"""Sliding windows over the last two axes, written once on the array-API standard: ``unfold`` (im2col:
every kernel-sized block of a zero-padded (N, C, H, W) array as a column) and ``fold`` (col2im: its
adjoint, the columns added back where they came from). Convolution and pooling ops are built on the
two; a backend may replace them with faster functions of its own that return the same numbers.

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
