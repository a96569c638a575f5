"""Op-table cases of the elementwise functions (see `op_table.py` for `Case` and the value/shape helpers).

Values stay inside each function's domain and away from its kinks and jumps (integers for floor, halves
for round, multiples of the divisor for floor_divide/remainder, ties for clip's bounds), so torch's
gradient, ours and central finite differences are the same number."""

import numpy as np
import hypothesis.strategies as st

import xgrad
from op_table import Case, _torch, away, broadcasting, normal, positive, shape


def uniform(lo, hi):
    return lambda rng, s: rng.uniform(lo, hi, size=s)


def off_grid(step=1.0, offset=0.0, gap=0.05, scale=2.0):
    """Normal values (times ``scale``) at least ``gap`` from every point offset + k * step."""
    def values(rng, s):
        x = rng.normal(scale=scale, size=s)
        k = np.round((x - offset) / step) * step + offset
        d = x - k
        return np.where(np.abs(d) < gap, k + np.where(d < 0, -gap, gap), x)
    return values


def _t(name):
    return lambda *a, **k: getattr(_torch(), name)(*a, **k)


_CONSTANT = "a zero gradient does not depend on the input (torch's grad-of-grad refuses it too)"


def unary(name, xg, th, domain=normal, second_order=True):
    def make(draw, rng):
        return [domain(rng, draw(shape(0)))], {}
    return Case(name, make, lambda c, x: xg(x), lambda c, x: th(x), second_order)


def binary(name, xg, th, domain_a=normal, domain_b=normal):
    def make(draw, rng):
        sa, sb = draw(broadcasting()).input_shapes
        return [domain_a(rng, sa), domain_b(rng, sb)], {}
    return Case(name, make, lambda c, a, b: xg(a, b), lambda c, a, b: th(a, b))


def _division(draw, rng):
    """x1 and a nonzero x2 of one shape, with x1 / x2 at least 0.05 from every integer."""
    s = draw(shape(0))
    b = rng.uniform(0.5, 2.0, size=s) * rng.choice([-1.0, 1.0], size=s)
    q = off_grid(gap=0.05)(rng, s)
    return [q * b, b], {}


def _distinct(n, gap=0.05, full_first=False):
    """``n`` broadcasting arrays whose broadcast entries differ pairwise by more than ``gap`` (with
    ``full_first``, the first has the broadcast shape: torch.clamp's backward needs that)."""
    def make(draw, rng):
        drawn = draw(broadcasting(n))
        shapes = drawn.input_shapes
        if full_first:
            shapes = (drawn.result_shape,) + tuple(shapes[1:])
        while True:
            arrays = [rng.normal(size=s) for s in shapes]
            full = np.broadcast_arrays(*arrays)
            if all(np.all(np.abs(full[i] - full[j]) > gap) for i in range(n) for j in range(i + 1, n)):
                return arrays, {}
    return make


def _round_decimals(draw, rng):
    decimals = draw(st.sampled_from([1, 2, -1]))
    scale = 10.0 ** -decimals
    return [off_grid(step=scale, offset=scale / 2, gap=scale / 20, scale=2.0 if decimals > 0 else 30.0)(
        rng, draw(shape(0)))], {"decimals": decimals}


CASES: list = [
    # floating functions
    unary("acos", xgrad.acos, _t("acos"), domain=uniform(-0.9, 0.9)),
    unary("asin", xgrad.asin, _t("asin"), domain=uniform(-0.9, 0.9)),
    unary("atan", xgrad.atan, _t("atan")),
    unary("acosh", xgrad.acosh, _t("acosh"), domain=uniform(1.1, 3.0)),
    unary("asinh", xgrad.asinh, _t("asinh")),
    unary("atanh", xgrad.atanh, _t("atanh"), domain=uniform(-0.9, 0.9)),
    unary("tan", xgrad.tan, _t("tan"), domain=uniform(-1.2, 1.2)),
    unary("sinh", xgrad.sinh, _t("sinh")),
    unary("cosh", xgrad.cosh, _t("cosh")),
    unary("log2", xgrad.log2, _t("log2"), domain=positive),
    unary("log10", xgrad.log10, _t("log10"), domain=positive),
    unary("log1p", xgrad.log1p, _t("log1p"), domain=positive),
    unary("expm1", xgrad.expm1, _t("expm1")),
    unary("square", xgrad.square, _t("square")),
    unary("reciprocal", xgrad.reciprocal, _t("reciprocal"), domain=away(0.0, gap=0.3)),
    unary("positive", xgrad.positive, _t("positive")),
    unary("conj_real", xgrad.conj, _t("conj")),
    unary("real_of_real", xgrad.real, _t("real")),
    binary("atan2", xgrad.atan2, _t("atan2"), domain_a=away(0.0, gap=0.2), domain_b=away(0.0, gap=0.2)),
    binary("hypot", xgrad.hypot, _t("hypot"), domain_a=away(0.0, gap=0.2), domain_b=away(0.0, gap=0.2)),
    binary("copysign", xgrad.copysign, _t("copysign"), domain_a=away(0.0), domain_b=away(0.0)),
    binary("logaddexp", xgrad.logaddexp, _t("logaddexp")),
    Case("nextafter", _distinct(2), lambda c, a, b: xgrad.nextafter(a, b), lambda c, a, b: _torch().nextafter(a, b)),
    # piecewise constant: zero gradients (torch.floor_divide has no derivative; torch.div's floor mode is 0)
    unary("sign", xgrad.sign, _t("sign"), domain=away(0.0), second_order=_CONSTANT),
    unary("floor", xgrad.floor, _t("floor"), domain=off_grid(), second_order=_CONSTANT),
    unary("ceil", xgrad.ceil, _t("ceil"), domain=off_grid(), second_order=_CONSTANT),
    unary("trunc", xgrad.trunc, _t("trunc"), domain=off_grid(), second_order=_CONSTANT),
    unary("round", xgrad.round, _t("round"), domain=off_grid(offset=0.5), second_order=_CONSTANT),
    Case("round_decimals", _round_decimals, lambda c, x: xgrad.round(x, decimals=c["decimals"]),
         lambda c, x: _torch().round(x, decimals=c["decimals"]), _CONSTANT),
    Case("floor_divide", _division, lambda c, a, b: xgrad.floor_divide(a, b),
         lambda c, a, b: _torch().div(a, b, rounding_mode="floor"), _CONSTANT),
    Case("remainder", _division, lambda c, a, b: xgrad.remainder(a, b), lambda c, a, b: _torch().remainder(a, b)),
    # clip / clamp with tensor bounds: gradients reach the bounds (lo > hi happens too: the result is hi)
    Case("clip_tensor_bounds", _distinct(3, full_first=True), lambda c, x, lo, hi: xgrad.clip(x, lo, hi),
         lambda c, x, lo, hi: _torch().clamp(x, lo, hi)),
    Case("clamp_tensor_min", _distinct(2, full_first=True), lambda c, x, lo: xgrad.clamp(x, min=lo),
         lambda c, x, lo: _torch().clamp(x, min=lo)),
    Case("clamp_tensor_max", _distinct(2, full_first=True), lambda c, x, hi: x.clamp(max=hi),
         lambda c, x, hi: _torch().clamp(x, max=hi)),
    Case("clip_number_and_tensor", _distinct(2, full_first=True), lambda c, x, hi: xgrad.clip(x, -0.25, hi),
         lambda c, x, hi: _torch().clamp(x, _torch().full_like(x, -0.25), hi)),
]
