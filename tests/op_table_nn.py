"""Op-table cases of one op family (see `op_table.py` for `Case` and the value/shape helpers)."""

import hypothesis.strategies as st
import numpy as np

import xgrad.nn.functional as F
from op_table import Case, _tF, normal


# ==== convolutions, pooling, padding, resampling (branch nn-conv) ==========================================
def _conv2d(draw, rng):
    """Input (N, C, H, W), weight (O, C/groups, kh, kw), bias or not; stride, padding (ints, 'valid',
    'same'), dilation and groups drawn so the kernel fits."""
    groups = draw(st.sampled_from([1, 1, 2]))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    form = draw(st.sampled_from(["ints", "ints", "same", "valid"]))
    if form == "same":
        stride, padding = (1, 1), "same"
    else:
        stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        padding = (draw(st.integers(0, 2)), draw(st.integers(0, 1))) if form == "ints" else "valid"
    h = draw(st.integers(dh * (kh - 1) + 1, dh * (kh - 1) + 4))
    w = draw(st.integers(dw * (kw - 1) + 1, dw * (kw - 1) + 4))
    arrays = [normal(rng, (draw(st.integers(1, 2)), c, h, w)), normal(rng, (o, c // groups, kh, kw))]
    if draw(st.booleans()):
        arrays.append(normal(rng, (o,)))
    return arrays, {"stride": stride, "padding": padding, "dilation": (dh, dw), "groups": groups}


def _conv1d(draw, rng):
    groups = draw(st.sampled_from([1, 2]))
    c, o, k, d = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2)), draw(st.integers(1, 4)), \
        draw(st.integers(1, 2))
    same = draw(st.booleans())
    stride, padding = (1, "same") if same else (draw(st.integers(1, 3)), draw(st.integers(0, 2)))
    length = draw(st.integers(d * (k - 1) + 1, d * (k - 1) + 5))
    arrays = [normal(rng, (draw(st.integers(1, 2)), c, length)), normal(rng, (o, c // groups, k)), normal(rng, (o,))]
    return arrays, {"stride": stride, "padding": padding, "dilation": d, "groups": groups}


def _conv_transpose2d(draw, rng):
    groups = draw(st.sampled_from([1, 1, 2]))
    c, og = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, (kh - 1) * dilation[0] // 2)), draw(st.integers(0, (kw - 1) * dilation[1] // 2)))
    # output_padding below max(stride, dilation), as PyTorch requires
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    x = normal(rng, (draw(st.integers(1, 2)), c, draw(st.integers(1, 3)), draw(st.integers(1, 3))))
    return [x, normal(rng, (c, og, kh, kw)), normal(rng, (groups * og,))], \
        {"stride": stride, "padding": padding, "output_padding": output_padding, "dilation": dilation,
         "groups": groups}


def _distinct(rng, shape):
    """Values without ties, so the maximum of every window is unique (max pooling has a kink at ties)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 + rng.uniform(0, 0.02, size=n)).reshape(shape) - n * 0.05


def _max_pool2d(draw, rng):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = tuple(draw(st.integers(0, ki // 2)) if di == 1 else 0 for ki, di in zip(k, d))
    # (dilation with padding can make a window of padding only: -inf in both libraries, untestable here)
    h, w = (draw(st.integers(max(di * (ki - 1) + 1 - 2 * pi, 1), 6)) for ki, di, pi in zip(k, d, p))
    x = _distinct(rng, (draw(st.integers(1, 2)), draw(st.integers(1, 2)), h, w))
    return [x], {"kernel_size": k, "stride": s, "padding": p, "dilation": d, "ceil_mode": draw(st.booleans())}


def _avg_pool2d(draw, rng):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    h, w = (draw(st.integers(max(ki - 2 * pi, 1), 6)) for ki, pi in zip(k, p))
    x = normal(rng, (draw(st.integers(1, 2)), draw(st.integers(1, 2)), h, w))
    return [x], {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": draw(st.booleans()),
                 "count_include_pad": draw(st.booleans()),
                 "divisor_override": draw(st.sampled_from([None, None, 3]))}


def _adaptive(draw, rng):
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    size = (draw(st.integers(1, 5)), draw(st.sampled_from([None, 1, 2, 3, 4])))
    return [normal(rng, (draw(st.integers(1, 2)), 2, h, w))], {"output_size": size}


def _pad(draw, rng):
    mode = draw(st.sampled_from(["constant", "constant", "reflect", "replicate", "circular"]))
    if mode == "constant":
        ndim = draw(st.integers(1, 4))
        k = draw(st.integers(1, min(ndim, 2)))
    else:  # PyTorch's other modes pad the last axis of a 2-D/3-D input, the last two of a 3-D/4-D one
        k = draw(st.integers(1, 2))
        ndim = draw(st.integers(k + 1, k + 2))
    shape = tuple(draw(st.integers(2, 4)) for _ in range(ndim))
    amounts = []
    for ax in reversed(range(ndim - k, ndim)):
        limit = shape[ax] - 1 if mode == "reflect" else shape[ax]
        low = -(shape[ax] // 2) if mode == "constant" else 0  # constant mode crops with negative amounts
        amounts += [draw(st.integers(low, limit)), draw(st.integers(low, limit))]
    value = draw(st.sampled_from([None, 1.5])) if mode == "constant" else None
    return [normal(rng, shape)], {"pad": tuple(amounts), "mode": mode, "value": value}


def _interpolate(draw, rng):
    mode = draw(st.sampled_from(["nearest", "bilinear", "linear"]))
    ndim = 3 if mode == "linear" else draw(st.integers(3, 4)) if mode == "nearest" else 4
    spatial = tuple(draw(st.integers(1, 5)) for _ in range(ndim - 2))
    c = {"mode": mode, "align_corners": draw(st.sampled_from([None, True, False])) if mode != "nearest" else None}
    if draw(st.booleans()):
        c["size"] = tuple(draw(st.integers(1, 8)) for _ in spatial)
    else:
        c["scale_factor"] = draw(st.sampled_from([0.5, 1.5, 2.0, 2.5, 3.0]))
        if any(int(s * c["scale_factor"]) < 1 for s in spatial):
            c["scale_factor"] = 2.0
    return [normal(rng, (draw(st.integers(1, 2)), 2) + spatial)], c


def _unfold(draw, rng):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 1)))
    s = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    h, w = (draw(st.integers(max(di * (ki - 1) + 1 - 2 * pi, 1), 6)) for ki, di, pi in zip(k, d, p))
    return [normal(rng, (draw(st.integers(1, 2)), draw(st.integers(1, 2)), h, w))], \
        {"kernel_size": k, "dilation": d, "padding": p, "stride": s}


def _fold(draw, rng):
    (x,), c = _unfold(draw, rng)
    n, ch, h, w = x.shape
    hb = (h + 2 * c["padding"][0] - c["dilation"][0] * (c["kernel_size"][0] - 1) - 1) // c["stride"][0] + 1
    wb = (w + 2 * c["padding"][1] - c["dilation"][1] * (c["kernel_size"][1] - 1) - 1) // c["stride"][1] + 1
    cols = normal(rng, (n, ch * c["kernel_size"][0] * c["kernel_size"][1], hb * wb))
    return [cols], dict(c, output_size=(h, w))


def _kw(c, *names):
    return {k: c[k] for k in names if k in c}


_CONV = ("stride", "padding", "dilation", "groups")
_POOL = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
_AVG = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")
_INTERP = ("size", "scale_factor", "mode", "align_corners")
_WINDOW = ("kernel_size", "dilation", "padding", "stride")

CONV_CASES = [
    Case("conv2d", _conv2d, lambda c, x, w, *b: F.conv2d(x, w, *b, **_kw(c, *_CONV)),
         lambda c, x, w, *b: _tF().conv2d(x, w, *b, **_kw(c, *_CONV))),
    Case("conv1d", _conv1d, lambda c, x, w, b: F.conv1d(x, w, b, **_kw(c, *_CONV)),
         lambda c, x, w, b: _tF().conv1d(x, w, b, **_kw(c, *_CONV))),
    Case("conv_transpose2d", _conv_transpose2d,
         lambda c, x, w, b: F.conv_transpose2d(x, w, b, **_kw(c, "output_padding", *_CONV)),
         lambda c, x, w, b: _tF().conv_transpose2d(x, w, b, **_kw(c, "output_padding", *_CONV))),
    Case("max_pool2d", _max_pool2d, lambda c, x: F.max_pool2d(x, **_kw(c, *_POOL)),
         lambda c, x: _tF().max_pool2d(x, **_kw(c, *_POOL))),
    Case("avg_pool2d", _avg_pool2d, lambda c, x: F.avg_pool2d(x, **_kw(c, *_AVG)),
         lambda c, x: _tF().avg_pool2d(x, **_kw(c, *_AVG))),
    Case("adaptive_avg_pool2d", _adaptive, lambda c, x: F.adaptive_avg_pool2d(x, c["output_size"]),
         lambda c, x: _tF().adaptive_avg_pool2d(x, c["output_size"])),
    Case("pad", _pad, lambda c, x: F.pad(x, c["pad"], mode=c["mode"], value=c["value"]),
         lambda c, x: _tF().pad(x, c["pad"], mode=c["mode"], value=c["value"])),
    Case("interpolate", _interpolate, lambda c, x: F.interpolate(x, **_kw(c, *_INTERP)),
         lambda c, x: _tF().interpolate(x, **_kw(c, *_INTERP))),
    Case("unfold", _unfold, lambda c, x: F.unfold(x, **_kw(c, *_WINDOW)),
         lambda c, x: _tF().unfold(x, **_kw(c, *_WINDOW))),
    Case("fold", _fold, lambda c, x: F.fold(x, c["output_size"], **_kw(c, *_WINDOW)),
         lambda c, x: _tF().fold(x, c["output_size"], **_kw(c, *_WINDOW))),
]
# ==== end of the nn-conv block ===============================================================================

CASES: list = CONV_CASES + []
