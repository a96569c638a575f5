"""The op table the generic gradient tests read: one entry per op (and per form worth its own line).

Each ``Case`` draws its inputs with Hypothesis (shapes, including broadcasting ones, and a seed for the
values) and says how to compute the op with xgrad and with torch:

- ``make(draw, rng) -> (arrays, consts)``: float64 NumPy arrays for the differentiable inputs, kept in
  the op's domain and away from kinks; ``consts``: parameters (axis, reduction, ...) and non-differentiable
  arrays (labels, conditions, index arrays), which the test turns into tensors of each library.
- ``xg(c, *tensors)`` / ``th(c, *tensors)``: the op, in xgrad and in torch.
"""

from dataclasses import dataclass

import numpy as np
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st

import xgrad
import xgrad.nn.functional as F


@dataclass
class Case:
    name: str
    make: object
    xg: object
    th: object
    second_order: object = True  # or a string: why grad-of-grad is skipped

    def __repr__(self):
        return self.name


def _tF():
    import torch.nn.functional as tF

    return tF


def _torch():
    import torch

    return torch


# ---- values in each op's domain -----------------------------------------------------------------
def normal(rng, shape):
    return rng.normal(size=shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, size=shape)


def away(*points, gap=0.05):
    """Normal values at least ``gap`` from each kink in ``points`` (where the derivative jumps)."""
    def values(rng, shape):
        x = rng.normal(size=shape)
        for p in points:
            d = x - p
            x = np.where(np.abs(d) < gap, p + np.where(d < 0, -gap, gap) + d, x)
        return x
    return values


def distinct_pair(rng, shapes):
    """Two arrays whose broadcast entries never tie (maximum/minimum have kinks at ties)."""
    while True:
        a, b = rng.normal(size=shapes[0]), rng.normal(size=shapes[1])
        if np.all(np.abs(a - b) > 1e-3):
            return a, b


# ---- shapes -----------------------------------------------------------------------------------
def shape(min_dims=0, max_dims=3, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def broadcasting(n=2, max_dims=3):
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=max_dims, max_side=3)


# ---- case builders ----------------------------------------------------------------------------
def unary(name, xg, th, domain=normal, min_dims=0):
    def make(draw, rng):
        return [domain(rng, draw(shape(min_dims)))], {}
    return Case(name, make, lambda c, x: xg(x), lambda c, x: th(x))


def binary(name, xg, th, domain_a=normal, domain_b=normal):
    def make(draw, rng):
        sa, sb = draw(broadcasting()).input_shapes
        return [domain_a(rng, sa), domain_b(rng, sb)], {}
    return Case(name, make, lambda c, a, b: xg(a, b), lambda c, a, b: th(a, b))


def reduction(name, xg, th, correction=False):
    def make(draw, rng):
        s = draw(shape(1))
        axes = [None] + list(range(-len(s), len(s))) + ([(0, len(s) - 1)] if len(s) > 1 else [])
        axis = draw(st.sampled_from(axes))
        c = {"axis": axis, "keepdims": draw(st.booleans()),
             "dim": tuple(range(len(s))) if axis is None else axis}
        if correction:
            count = int(np.prod([s[a] for a in (range(len(s)) if axis is None else np.atleast_1d(axis))]))
            c["correction"] = draw(st.sampled_from([0, 1])) if count > 1 else 0
        return [normal(rng, s)], c
    return Case(name, make, xg, th)


def _take(draw, rng):
    s = draw(shape(1))
    axis = draw(st.integers(-len(s), len(s) - 1))
    indices = rng.integers(0, s[axis], size=draw(st.integers(1, 5)))  # repeats included
    return [normal(rng, s)], {"indices": indices, "axis": axis}


def _take_along_axis(draw, rng):
    s = draw(shape(1))
    axis = draw(st.integers(-len(s), len(s) - 1))
    picks = list(s)
    picks[axis] = draw(st.integers(1, 4))
    return [normal(rng, s)], {"indices": rng.integers(0, s[axis], size=picks), "axis": axis}


def _ce_labels(draw, rng):
    n, k = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    labels = rng.integers(0, k, size=n)
    return [normal(rng, (n, k))], {"labels": labels, "reduction": draw(st.sampled_from(["mean", "sum", "none"]))}


def _ce_probs(draw, rng):
    n, k = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    p = rng.uniform(0.1, 1.0, size=(n, k))
    return [normal(rng, (n, k)), p / p.sum(-1, keepdims=True)], \
        {"reduction": draw(st.sampled_from(["mean", "sum", "none"]))}


def _ce_nd(probs):
    """Logits (N, C, d1, ...) with the classes on axis 1, as PyTorch takes them."""
    def make(draw, rng):
        n, k = draw(st.integers(1, 3)), draw(st.integers(2, 4))
        rest = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
        logits = normal(rng, (n, k) + rest)
        reduction = draw(st.sampled_from(["mean", "sum", "none"]))
        if probs:
            p = rng.uniform(0.1, 1.0, size=(n, k) + rest)
            return [logits, p / p.sum(1, keepdims=True)], {"reduction": reduction}
        return [logits], {"labels": rng.integers(0, k, size=(n,) + rest), "reduction": reduction}
    return make


def _pair_same_shape(target_domain=normal):
    def make(draw, rng):
        s = draw(shape(0))
        return [normal(rng, s), target_domain(rng, s)], {"reduction": draw(st.sampled_from(["mean", "sum", "none"]))}
    return make


def _matmul_shapes(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    kind = draw(st.sampled_from(["1d@1d", "1d@2d", "2d@1d", "2d@2d", "batched", "broadcast", "1d@batched",
                                 "batched@1d"]))
    if kind == "1d@1d":
        return (k,), (k,)
    if kind == "1d@2d":
        return (k,), (k, m)
    if kind == "2d@1d":
        return (n, k), (k,)
    if kind == "2d@2d":
        return (n, k), (k, m)
    if kind == "batched":
        b = draw(st.integers(1, 3))
        return (b, n, k), (b, k, m)
    if kind == "1d@batched":
        return (k,), (draw(st.integers(1, 3)), k, m)
    if kind == "batched@1d":
        return (draw(st.integers(1, 3)), n, k), (k,)
    ba, bb = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=2, max_side=3)).input_shapes
    return ba + (n, k), bb + (k, m)


def _reshape(draw, rng):
    s = draw(shape(1))
    size = int(np.prod(s))
    new = draw(st.sampled_from([(-1,), tuple(reversed(s)), (1,) + s, (size, 1)]))
    return [normal(rng, s)], {"shape": new}


def _permute(draw, rng):
    s = draw(shape(1))
    return [normal(rng, s)], {"axes": tuple(draw(st.permutations(range(len(s)))))}


def _broadcast_to(draw, rng):
    target = draw(shape(1))
    src = tuple(d if draw(st.booleans()) else 1 for d in target)[draw(st.integers(0, len(target))):]
    return [normal(rng, src)], {"shape": target}


def _expand_dims(draw, rng):
    s = draw(shape(0))
    return [normal(rng, s)], {"axis": draw(st.integers(-len(s) - 1, len(s)))}


def _squeeze(draw, rng):
    s = draw(shape(0))
    axis = draw(st.integers(0, len(s)))
    return [normal(rng, s[:axis] + (1,) + s[axis:])], {"axis": axis}


def _concat(draw, rng):
    s = draw(shape(1))
    axis = draw(st.integers(-len(s), len(s) - 1))
    parts = []
    for _ in range(draw(st.integers(2, 3))):
        t = list(s)
        t[axis] = draw(st.integers(1, 3))
        parts.append(normal(rng, tuple(t)))
    return parts, {"axis": axis}


def _stack(draw, rng):
    s = draw(shape(0))
    return [normal(rng, s) for _ in range(draw(st.integers(2, 3)))], {"axis": draw(st.integers(-len(s) - 1, len(s)))}


_BASIC = [(1,), (slice(1, None),), (slice(None, None, 2),), (Ellipsis, -1), (None, slice(None)),
          (slice(0, 1), Ellipsis), (-1, slice(None, None, 2))]


def _getitem_basic(draw, rng):
    s = draw(shape(2, 3, 4).filter(lambda t: t[0] >= 2))
    return [normal(rng, s)], {"index": draw(st.sampled_from(_BASIC))}


def _getitem_array(draw, rng):
    s = draw(shape(1, 3, 4).filter(lambda t: t[0] >= 2))
    form = draw(st.sampled_from(["1d", "2d", "pair"] if len(s) > 1 else ["1d", "2d"]))
    if form == "pair":
        k = draw(st.integers(2, 5))
        i, j = rng.integers(0, s[0], size=k), rng.integers(0, s[1], size=k)
        i[-1], j[-1] = i[0], j[0]  # a repeated position: its gradient must accumulate
        return [normal(rng, s)], {"idx": i, "idx2": j}
    k = draw(st.integers(2, 6))
    idx = rng.integers(0, s[0], size=k)
    idx[-1] = idx[0]
    if form == "2d":
        idx = np.concatenate([idx, idx])[:4].reshape(2, 2)
    return [normal(rng, s)], {"idx": idx}


def _mixed_forms(I, J, M, T0):
    """Indices mixing ints, slices, None, Ellipsis and arrays, on a (4, 3, 6, 5) tensor: PyTorch applies
    the ints first, so the arrays' axes stay in place where NumPy would move them first."""
    S = slice(None)
    return [(1, S, slice(0, None, 2), I), (S, I, S, 0), (0, S, I), (I, S, J), (None, 0, S, I), (1, Ellipsis, I),
            (I, 0, J), (slice(1, None), I), (-1, I, J), (S, M), (0, M), (I, None, J), (S, S, I, J),
            (T0, S, I), (1, S, slice(3, 5), I), (I, slice(0, 3), J)]


def _getitem_mixed(draw, rng):
    k = draw(st.integers(1, 4))
    i, j = rng.integers(0, 3, size=k), rng.integers(0, 3, size=k)
    i[-1] = i[0]  # a repeated position: its gradient must accumulate
    return [normal(rng, (4, 3, 6, 5))], {"I": i, "J": j, "M": np.array([True, False, True]), "T0": np.array(2),
                                        "form": draw(st.integers(0, len(_mixed_forms(*[None] * 4)) - 1))}


def _mixed_index(c, x):
    return x[_mixed_forms(c["I"], c["J"], c["M"], c["T0"])[c["form"]]]


def _bitwise(draw, rng):
    s = draw(shape(1))
    return [normal(rng, s), normal(rng, s)], {"i": rng.integers(-8, 8, size=s), "m": rng.uniform(size=s) > 0.5}


def _bitwise_mask(c):
    """&, |, ^, ~ on integer tensors (bitwise, with Python ints too) and bool tensors (logical)."""
    i, m = c["i"], c["m"]
    bits = ((i & 5) ^ (3 | i)) + (~i & 0x1337) - (6 ^ i) + (i | 1)
    return ((bits & 2) == 2) ^ (m | ~m & (i > 0)) & ~(m ^ (i < -3))


def _int_float(draw, rng):
    s = draw(shape(1))
    return [normal(rng, s)], {"i": rng.integers(-6, 7, size=s)}


def _where(draw, rng):
    sc, sa, sb = draw(broadcasting(3)).input_shapes
    return [normal(rng, sa), normal(rng, sb)], {"cond": np.asarray(rng.uniform(size=sc) > 0.5)}


def _dim(c):
    return c["dim"]


def _t(name):
    return lambda *a, **k: getattr(_torch(), name)(*a, **k)


def _indexed(c, x):
    if "idx2" in c:
        return x[c["idx"], c["idx2"]]
    return x[c["idx"]]


OPS = [
    # arithmetic, with broadcasting and Python scalars
    binary("add", lambda a, b: a + b, lambda a, b: a + b),
    binary("sub", lambda a, b: xgrad.subtract(a, b), lambda a, b: a - b),
    binary("mul", lambda a, b: a * b, lambda a, b: a * b),
    binary("div", lambda a, b: a / b, lambda a, b: a / b, domain_b=positive),
    binary("pow", lambda a, b: a ** b, lambda a, b: a ** b, domain_a=positive),
    unary("neg", lambda x: -x, lambda x: -x),
    unary("scalar_ops", lambda x: (2.5 + x) * 3.0 - 1.5 / x - (1.0 - x) / 2.0, lambda x: (2.5 + x) * 3.0 - 1.5 / x - (1.0 - x) / 2.0,
          domain=positive),
    unary("pow_scalar", lambda x: x ** 3 + x ** 0.5, lambda x: x ** 3 + x ** 0.5, domain=positive),
    unary("rpow_scalar", lambda x: 2.0 ** x, lambda x: 2.0 ** x),
    # elementwise functions and activations
    unary("exp", xgrad.exp, _t("exp")),
    unary("log", xgrad.log, _t("log"), domain=positive),
    unary("sqrt", xgrad.sqrt, _t("sqrt"), domain=positive),
    unary("abs", xgrad.abs, _t("abs"), domain=away(0.0)),
    unary("sin", xgrad.sin, _t("sin")),
    unary("cos", xgrad.cos, _t("cos")),
    unary("tanh", xgrad.tanh, _t("tanh")),
    unary("sigmoid", xgrad.sigmoid, _t("sigmoid")),
    unary("relu", F.relu, lambda x: _tF().relu(x), domain=away(0.0)),
    unary("leaky_relu", F.leaky_relu, lambda x: _tF().leaky_relu(x), domain=away(0.0)),
    unary("leaky_relu_0.2", lambda x: F.leaky_relu(x, negative_slope=0.2),
          lambda x: _tF().leaky_relu(x, negative_slope=0.2), domain=away(0.0)),
    unary("gelu", lambda x: F.gelu(x, approximate="tanh"), lambda x: _tF().gelu(x, approximate="tanh")),
    unary("softplus", F.softplus, lambda x: _tF().softplus(x)),
    Case("maximum", lambda d, r: (list(distinct_pair(r, d(broadcasting()).input_shapes)), {}),
         lambda c, a, b: xgrad.maximum(a, b), lambda c, a, b: _torch().maximum(a, b)),
    Case("minimum", lambda d, r: (list(distinct_pair(r, d(broadcasting()).input_shapes)), {}),
         lambda c, a, b: xgrad.minimum(a, b), lambda c, a, b: _torch().minimum(a, b)),
    unary("clip", lambda x: xgrad.clip(x, -0.5, 0.5), lambda x: _torch().clamp(x, -0.5, 0.5), domain=away(-0.5, 0.5)),
    unary("clip_min", lambda x: xgrad.clip(x, min=0.25), lambda x: _torch().clamp(x, min=0.25), domain=away(0.25)),
    Case("where", _where, lambda c, a, b: xgrad.where(c["cond"], a, b), lambda c, a, b: _torch().where(c["cond"], a, b)),
    # integer and bool tensors: bitwise ops and PyTorch's result dtypes (int / int and int * float give
    # the default float dtype, float32 here: a float64 quotient would differ from torch's beyond 1e-12)
    Case("bitwise", _bitwise, lambda c, a, b: xgrad.where(_bitwise_mask(c), a, b * 2.0),
         lambda c, a, b: _torch().where(_bitwise_mask(c), a, b * 2.0)),
    Case("int_float", _int_float, lambda c, x: x * c["i"] + c["i"] / 3 + c["i"] * 0.1 - 2.0 ** c["i"],
         lambda c, x: x * c["i"] + c["i"] / 3 + c["i"] * 0.1 - 2.0 ** c["i"]),
    # reductions
    reduction("sum", lambda c, x: xgrad.sum(x, axis=c["axis"], keepdims=c["keepdims"]),
              lambda c, x: _torch().sum(x, dim=_dim(c), keepdim=c["keepdims"])),
    reduction("mean", lambda c, x: xgrad.mean(x, axis=c["axis"], keepdims=c["keepdims"]),
              lambda c, x: _torch().mean(x, dim=_dim(c), keepdim=c["keepdims"])),
    reduction("max", lambda c, x: xgrad.max(x, axis=c["axis"], keepdims=c["keepdims"]),
              lambda c, x: _torch().amax(x, dim=_dim(c), keepdim=c["keepdims"])),
    reduction("min", lambda c, x: xgrad.min(x, axis=c["axis"], keepdims=c["keepdims"]),
              lambda c, x: _torch().amin(x, dim=_dim(c), keepdim=c["keepdims"])),
    reduction("var", lambda c, x: xgrad.var(x, axis=c["axis"], correction=c["correction"], keepdims=c["keepdims"]),
              lambda c, x: _torch().var(x, dim=_dim(c), correction=c["correction"], keepdim=c["keepdims"]),
              correction=True),
    reduction("logsumexp", lambda c, x: xgrad.logsumexp(x, axis=c["axis"], keepdims=c["keepdims"]),
              lambda c, x: _torch().logsumexp(x, dim=_dim(c), keepdim=c["keepdims"])),
    # linear algebra and shapes
    Case("matmul", lambda d, r: ([normal(r, s) for s in _matmul_shapes(d)], {}),
         lambda c, a, b: a @ b, lambda c, a, b: a @ b),
    Case("matrix_transpose", lambda d, r: ([normal(r, d(shape(2)))], {}),
         lambda c, x: xgrad.matrix_transpose(x), lambda c, x: x.mT),
    Case("permute_dims", _permute, lambda c, x: xgrad.permute_dims(x, c["axes"]),
         lambda c, x: x.permute(c["axes"])),
    Case("reshape", _reshape, lambda c, x: xgrad.reshape(x, c["shape"]), lambda c, x: x.reshape(c["shape"])),
    Case("broadcast_to", _broadcast_to, lambda c, x: xgrad.broadcast_to(x, c["shape"]),
         lambda c, x: x.broadcast_to(c["shape"])),
    Case("expand_dims", _expand_dims, lambda c, x: xgrad.expand_dims(x, axis=c["axis"]),
         lambda c, x: x.unsqueeze(c["axis"])),
    Case("squeeze", _squeeze, lambda c, x: xgrad.squeeze(x, c["axis"]), lambda c, x: x.squeeze(c["axis"])),
    Case("concat", _concat, lambda c, *xs: xgrad.concat(xs, axis=c["axis"]),
         lambda c, *xs: _torch().cat(xs, dim=c["axis"])),
    Case("stack", _stack, lambda c, *xs: xgrad.stack(xs, axis=c["axis"]),
         lambda c, *xs: _torch().stack(xs, dim=c["axis"])),
    Case("getitem_basic", _getitem_basic, lambda c, x: x[c["index"]], lambda c, x: x[c["index"]]),
    Case("getitem_array", _getitem_array, _indexed, _indexed),
    Case("getitem_mixed", _getitem_mixed, _mixed_index, _mixed_index),
    Case("take", _take, lambda c, x: xgrad.take(x, c["indices"], axis=c["axis"]),
         lambda c, x: _torch().index_select(x, c["axis"], c["indices"])),
    Case("take_along_axis", _take_along_axis,
         lambda c, x: xgrad.take_along_axis(x, c["indices"], axis=c["axis"]),
         lambda c, x: _torch().take_along_dim(x, c["indices"], dim=c["axis"])),
    # neural-network functions
    Case("softmax", lambda d, r: ([normal(r, s := d(shape(1)))], {"axis": d(st.integers(-len(s), len(s) - 1))}),
         lambda c, x: F.softmax(x, axis=c["axis"]), lambda c, x: _tF().softmax(x, dim=c["axis"])),
    Case("log_softmax", lambda d, r: ([normal(r, s := d(shape(1)))], {"axis": d(st.integers(-len(s), len(s) - 1))}),
         lambda c, x: F.log_softmax(x, axis=c["axis"]), lambda c, x: _tF().log_softmax(x, dim=c["axis"])),
    Case("cross_entropy_labels", _ce_labels,
         lambda c, z: F.cross_entropy(z, c["labels"], reduction=c["reduction"]),
         lambda c, z: _tF().cross_entropy(z, c["labels"], reduction=c["reduction"])),
    Case("cross_entropy_probs", _ce_probs,
         lambda c, z, p: F.cross_entropy(z, p, reduction=c["reduction"]),
         lambda c, z, p: _tF().cross_entropy(z, p, reduction=c["reduction"])),
    Case("cross_entropy_labels_nd", _ce_nd(False),
         lambda c, z: F.cross_entropy(z, c["labels"], reduction=c["reduction"]),
         lambda c, z: _tF().cross_entropy(z, c["labels"], reduction=c["reduction"])),
    Case("cross_entropy_probs_nd", _ce_nd(True),
         lambda c, z, p: F.cross_entropy(z, p, reduction=c["reduction"]),
         lambda c, z, p: _tF().cross_entropy(z, p, reduction=c["reduction"])),
    Case("mse_loss", _pair_same_shape(),
         lambda c, a, b: F.mse_loss(a, b, reduction=c["reduction"]),
         lambda c, a, b: _tF().mse_loss(a, b, reduction=c["reduction"])),
    Case("bce_with_logits", _pair_same_shape(lambda r, s: r.uniform(size=s)),
         lambda c, z, y: F.binary_cross_entropy_with_logits(z, y, reduction=c["reduction"]),
         lambda c, z, y: _tF().binary_cross_entropy_with_logits(z, y, reduction=c["reduction"])),
]

# further op families, one module each; imported here, at the end, because they use the helpers above
import op_table_arrays  # noqa: E402
import op_table_elementwise  # noqa: E402
import op_table_linalg  # noqa: E402
import op_table_nn  # noqa: E402

OPS += op_table_elementwise.CASES + op_table_arrays.CASES + op_table_linalg.CASES + op_table_nn.CASES

OPS_BY_NAME = {c.name: c for c in OPS}

# the ops a user of the first release relies on: each must have a line (checked by a test)
REQUIRED = ["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid",
            "relu", "leaky_relu", "gelu", "softplus", "maximum", "minimum", "clip", "where", "sum", "mean", "max",
            "min", "var", "logsumexp", "matmul", "matrix_transpose", "permute_dims", "reshape", "broadcast_to",
            "expand_dims", "squeeze", "concat", "stack", "getitem_basic", "getitem_array", "softmax",
            "log_softmax", "cross_entropy_labels", "cross_entropy_probs", "mse_loss", "bce_with_logits"]
