"""Op-table cases of one op family (see `op_table.py` for `Case` and the value/shape helpers)."""

import numpy as np
import hypothesis.strategies as st

import xgrad
import xgrad.nn.functional as F
from op_table import Case, normal, positive, away, shape, _torch, _tF

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

CASES: list = list(CONV_CASES)  # the nn-conv block first, then the cases below


# ---- activations --------------------------------------------------------------------------------
def _act(name, xg, th, domain=normal, min_dims=0):
    def make(draw, rng):
        return [domain(rng, draw(shape(min_dims)))], {}
    return Case(name, make, lambda c, x: xg(x), lambda c, x: th(x))


def _scaled(scale, *kinks):
    """Normal values times ``scale`` (so both sides of far kinks are reached), away from ``kinks``."""
    base = away(*[k / scale for k in kinks]) if kinks else normal

    def values(rng, s):
        return base(rng, s) * scale
    return values


def _glu(draw, rng):
    s = list(draw(shape(1)))
    dim = draw(st.integers(-len(s), len(s) - 1))
    s[dim] = 2 * draw(st.integers(1, 3))
    return [normal(rng, tuple(s))], {"dim": dim}


# ---- losses -------------------------------------------------------------------------------------
_REDUCTION = st.sampled_from(["mean", "sum", "none"])


def _class_problem(draw, rng):
    """Logits (N, C) or (N, C, d) or (C,), integer labels with some equal to ignore_index, a class weight."""
    k = draw(st.integers(2, 4))
    form = draw(st.sampled_from(["2d", "nd", "1d"]))
    if form == "1d":
        logits_shape, label_shape = (k,), ()
    elif form == "2d":
        n = draw(st.integers(1, 5))
        logits_shape, label_shape = (n, k), (n,)
    else:
        n, d = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        logits_shape, label_shape = (n, k, d), (n, d)
    labels = rng.integers(0, k, size=label_shape)
    ignore = draw(st.sampled_from([-100, 1]))
    if labels.size > 1:  # one ignored label, and at least one that counts
        flat = labels.reshape(-1)
        flat[0] = ignore
        if flat[1] == ignore:
            flat[1] = 0
    elif labels.size and labels.reshape(-1)[0] == ignore:  # a lone label that counts (all ignored gives nan)
        labels = np.zeros_like(labels)
    c = {"labels": labels, "ignore_index": ignore, "reduction": draw(_REDUCTION),
         "weight": rng.uniform(0.5, 2.0, size=k) if draw(st.booleans()) else None,
         "label_smoothing": draw(st.sampled_from([0.0, 0.0, 0.1, 0.3]))}
    return [normal(rng, logits_shape)], c


def _probs_problem(draw, rng):
    n, k = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    p = rng.uniform(0.1, 1.0, size=(n, k))
    return [normal(rng, (n, k)), p / p.sum(-1, keepdims=True)], {
        "reduction": draw(_REDUCTION), "weight": rng.uniform(0.5, 2.0, size=k) if draw(st.booleans()) else None,
        "label_smoothing": draw(st.sampled_from([0.0, 0.2]))}


def _ce_kw(c):
    return {"weight": c["weight"], "reduction": c["reduction"], "label_smoothing": c["label_smoothing"]}


def _pair(target=normal, gap=None, min_dims=0):
    """(input, target) of one shape; with ``gap``, |input - target| kept that far from the kinks given."""
    def make(draw, rng):
        s = draw(shape(min_dims))
        t = target(rng, s)
        if gap is None:
            x = normal(rng, s)
        else:
            kinks, width = gap
            x = t + away(*kinks, *[-k for k in kinks], gap=width)(rng, s)
        return [x, t], {"reduction": draw(_REDUCTION)}
    return make


def _bce(draw, rng):
    s = draw(shape(0))
    c = {"reduction": draw(_REDUCTION), "weight": rng.uniform(0.5, 2.0, size=s) if draw(st.booleans()) else None}
    return [rng.uniform(0.1, 0.9, size=s), rng.uniform(0.0, 1.0, size=s)], c


def _bce_logits(draw, rng):
    s = draw(shape(1))
    c = {"reduction": draw(_REDUCTION), "weight": rng.uniform(0.5, 2.0, size=s) if draw(st.booleans()) else None,
         "pos_weight": rng.uniform(0.5, 3.0, size=s[-1:]) if draw(st.booleans()) else None}
    return [normal(rng, s), rng.uniform(0.0, 1.0, size=s)], c


def _kl(draw, rng):
    s = draw(shape(1))
    log_target = draw(st.booleans())
    t = normal(rng, s) if log_target else positive(rng, s)
    return [normal(rng, s), t], {"reduction": draw(st.sampled_from(["mean", "sum", "none", "batchmean"])),
                                 "log_target": log_target}


def _cosine(draw, rng):
    s = list(draw(shape(1)))
    dim = draw(st.integers(-len(s), len(s) - 1))
    s[dim] = max(s[dim], 2)  # one element along dim gives +-1, a constant whose gradient is rounding noise
    s = tuple(s)
    s2 = tuple(1 if draw(st.booleans()) and i != dim % len(s) else d for i, d in enumerate(s))
    return [normal(rng, s), normal(rng, s2)], {"dim": dim}


# ---- embedding and normalisation ----------------------------------------------------------------
def _embedding(draw, rng):
    v, d = draw(st.integers(2, 6)), draw(st.integers(1, 4))
    idx = rng.integers(0, v, size=draw(shape(0, 2)))
    if idx.size:
        idx.reshape(-1)[-1] = idx.reshape(-1)[0]  # a repeated row: its gradient must accumulate
    return [normal(rng, (v, d))], {"idx": idx}


def _layer_norm(draw, rng):
    # at least 3 values per normalised group: with 1 or 2 the gradient is rounding noise (it sums to 0)
    s = draw(shape(1, 3).filter(lambda t: t[-1] >= 3))
    k = draw(st.integers(1, len(s)))
    tail = s[len(s) - k:]
    affine = draw(st.booleans())
    arrays = [normal(rng, s)] + ([normal(rng, tail), normal(rng, tail)] if affine else [])
    return arrays, {"shape": tail}


def _norm_input(draw, rng, min_spatial=0):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    spatial = tuple(draw(st.lists(st.integers(1, 3), min_size=min_spatial, max_size=2)))
    if n * int(np.prod(spatial)) < 3:  # 3 values per channel at least (see _layer_norm)
        n = 3
    return (n, c) + spatial


def _batch_norm(draw, rng):
    s = _norm_input(draw, rng)
    c = s[1]
    training = draw(st.booleans())
    return [normal(rng, s), normal(rng, (c,)), normal(rng, (c,))], {
        "training": training, "momentum": draw(st.sampled_from([0.1, 0.5])),
        "running_mean": normal(rng, (c,)), "running_var": positive(rng, (c,))}


def _group_norm(draw, rng):
    n, g, per = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    spatial = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    if per * int(np.prod(spatial)) < 3:
        spatial = spatial + (3,)
    s = (n, g * per) + spatial
    return [normal(rng, s), normal(rng, (g * per,)), normal(rng, (g * per,))], {"groups": g}


def _bn_xg(c, x, w, b):
    # the running statistics are copies: batch_norm updates them in place on every call
    rm, rv = xgrad.tensor(c["running_mean"]), xgrad.tensor(c["running_var"])
    return F.batch_norm(x, rm, rv, w, b, training=c["training"], momentum=c["momentum"])


def _bn_th(c, x, w, b):
    rm, rv = c["running_mean"].clone(), c["running_var"].clone()
    return _tF().batch_norm(x, rm, rv, w, b, training=c["training"], momentum=c["momentum"])


CASES += [
    _act("erf", xgrad.ops.erf, lambda x: _torch().erf(x)),
    _act("gelu_exact", F.gelu, lambda x: _tF().gelu(x)),
    _act("silu", F.silu, lambda x: _tF().silu(x)),
    _act("elu", F.elu, lambda x: _tF().elu(x), domain=away(0.0)),
    _act("elu_alpha", lambda x: F.elu(x, alpha=0.7), lambda x: _tF().elu(x, alpha=0.7), domain=away(0.0)),
    _act("selu", F.selu, lambda x: _tF().selu(x), domain=away(0.0)),
    _act("celu", lambda x: F.celu(x, alpha=1.5), lambda x: _tF().celu(x, alpha=1.5), domain=away(0.0)),
    _act("mish", F.mish, lambda x: _tF().mish(x)),
    _act("hardswish", F.hardswish, lambda x: _tF().hardswish(x), domain=_scaled(3.0, -3.0, 3.0)),
    Case("hardsigmoid", lambda d, r: ([_scaled(3.0, -3.0, 3.0)(r, d(shape(0)))], {}),
         lambda c, x: F.hardsigmoid(x), lambda c, x: _tF().hardsigmoid(x),
         second_order="torch has no derivative of hardsigmoid_backward"),
    _act("hardtanh", F.hardtanh, lambda x: _tF().hardtanh(x), domain=away(-1.0, 1.0)),
    _act("hardtanh_bounds", lambda x: F.hardtanh(x, -0.5, 2.0), lambda x: _tF().hardtanh(x, -0.5, 2.0),
         domain=away(-0.5, 2.0)),
    _act("relu6", F.relu6, lambda x: _tF().relu6(x), domain=_scaled(4.0, 0.0, 6.0)),
    _act("logsigmoid", F.logsigmoid, lambda x: _tF().logsigmoid(x), domain=_scaled(5.0)),
    _act("softplus_default", F.softplus, lambda x: _tF().softplus(x), domain=_scaled(15.0, 20.0)),
    _act("softplus_beta_threshold", lambda x: F.softplus(x, beta=2.0, threshold=1.5),
         lambda x: _tF().softplus(x, beta=2.0, threshold=1.5), domain=away(0.75)),
    _act("softsign", F.softsign, lambda x: _tF().softsign(x), domain=away(0.0)),
    _act("tanhshrink", F.tanhshrink, lambda x: _tF().tanhshrink(x)),
    Case("glu", _glu, lambda c, x: F.glu(x, dim=c["dim"]), lambda c, x: _tF().glu(x, dim=c["dim"])),
    Case("softmax_dim", lambda d, r: ([normal(r, (2, 3, 4))], {"dim": d(st.integers(-3, 2))}),
         lambda c, x: F.softmax(x, dim=c["dim"]), lambda c, x: _tF().softmax(x, dim=c["dim"])),
    # losses
    Case("nll_loss", _class_problem,
         lambda c, z: F.nll_loss(F.log_softmax(z, dim=0 if z.ndim == 1 else 1), c["labels"], weight=c["weight"],
                                 ignore_index=c["ignore_index"], reduction=c["reduction"]),
         lambda c, z: _tF().nll_loss(_tF().log_softmax(z, dim=0 if z.ndim == 1 else 1), c["labels"],
                                     weight=c["weight"], ignore_index=c["ignore_index"], reduction=c["reduction"])),
    Case("cross_entropy_options", _class_problem,
         lambda c, z: F.cross_entropy(z, c["labels"], ignore_index=c["ignore_index"], **_ce_kw(c)),
         lambda c, z: _tF().cross_entropy(z, c["labels"], ignore_index=c["ignore_index"], **_ce_kw(c))),
    Case("cross_entropy_probs_options", _probs_problem,
         lambda c, z, p: F.cross_entropy(z, p, **_ce_kw(c)),
         lambda c, z, p: _tF().cross_entropy(z, p, **_ce_kw(c))),
    Case("l1_loss", _pair(gap=((0.0,), 0.05)),
         lambda c, a, b: F.l1_loss(a, b, reduction=c["reduction"]),
         lambda c, a, b: _tF().l1_loss(a, b, reduction=c["reduction"])),
    Case("smooth_l1_loss", _pair(gap=((0.0, 0.5), 0.05)),
         lambda c, a, b: F.smooth_l1_loss(a, b, reduction=c["reduction"], beta=0.5),
         lambda c, a, b: _tF().smooth_l1_loss(a, b, reduction=c["reduction"], beta=0.5)),
    Case("huber_loss", _pair(gap=((0.0, 0.7), 0.05)),
         lambda c, a, b: F.huber_loss(a, b, reduction=c["reduction"], delta=0.7),
         lambda c, a, b: _tF().huber_loss(a, b, reduction=c["reduction"], delta=0.7)),
    Case("binary_cross_entropy", _bce,
         lambda c, x, y: F.binary_cross_entropy(x, y, weight=c["weight"], reduction=c["reduction"]),
         lambda c, x, y: _tF().binary_cross_entropy(x, y, weight=c["weight"], reduction=c["reduction"]),
         second_order="torch's double backward adds 1e-12 to x and 1 - x (1e-11 off the exact derivative, which "
                      "xgrad gives: tests/test_nn_layers.py checks it against the formula)"),
    Case("bce_with_logits_weights", _bce_logits,
         lambda c, z, y: F.binary_cross_entropy_with_logits(z, y, weight=c["weight"], pos_weight=c["pos_weight"],
                                                             reduction=c["reduction"]),
         lambda c, z, y: _tF().binary_cross_entropy_with_logits(z, y, weight=c["weight"], pos_weight=c["pos_weight"],
                                                                 reduction=c["reduction"])),
    Case("kl_div", _kl,
         lambda c, x, t: F.kl_div(x, t, reduction=c["reduction"], log_target=c["log_target"]),
         lambda c, x, t: _tF().kl_div(x, t, reduction=c["reduction"], log_target=c["log_target"])),
    Case("cosine_similarity", _cosine,
         lambda c, a, b: F.cosine_similarity(a, b, dim=c["dim"]),
         lambda c, a, b: _tF().cosine_similarity(a, b, dim=c["dim"])),
    # embedding and normalisation
    Case("embedding", _embedding,
         lambda c, w: F.embedding(c["idx"], w), lambda c, w: _tF().embedding(c["idx"], w)),
    Case("layer_norm", _layer_norm,
         lambda c, x, *wb: F.layer_norm(x, c["shape"], *wb),
         lambda c, x, *wb: _tF().layer_norm(x, c["shape"], *wb)),
    Case("batch_norm", _batch_norm, _bn_xg, _bn_th),
    Case("group_norm", _group_norm,
         lambda c, x, w, b: F.group_norm(x, c["groups"], w, b),
         lambda c, x, w, b: _tF().group_norm(x, c["groups"], w, b)),
]
