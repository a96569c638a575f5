"""Op-table cases of linear algebra (``xgrad.linalg``, tensordot, vecdot) and the FFT (``xgrad.fft``).

Inputs are kept well conditioned inside each case, from the drawn matrix ``x``: a multiple of the identity
added (inv, solve, det), ``x x^T + n I`` (cholesky), symmetric with eigenvalues spread apart (eigh), singular
values spread apart (svd, pinv). Outputs defined up to sign (eigenvectors, singular vectors) enter as
squares, so both libraries agree whatever signs they pick. The FFT cases end in real tensors (real parts,
round trips, hfft); complex gradients are checked against torch in ``test_linalg_fft.py``.
"""

import numpy as np
import hypothesis.strategies as st

import xgrad
from xgrad import fft as xfft, linalg as xla

from op_table import Case, away, normal, shape, _torch

INF = float("inf")


def _t():
    return _torch()


def _la():
    return _torch().linalg


def _flat(lib, *parts):
    """One 1-D tensor of several outputs (xgrad or torch)."""
    if lib is xgrad:
        return xgrad.concat([xgrad.reshape(p, (-1,)) for p in parts], axis=0)
    return _torch().cat([p.reshape(-1) for p in parts])


def _batch(draw):
    return tuple(draw(st.lists(st.integers(1, 2), max_size=1)))


def _shifted(draw, rng, shift=4.0):
    """A square matrix (maybe batched) and ``shift * I`` to add: well conditioned."""
    n = draw(st.integers(1, 4))
    return [normal(rng, _batch(draw) + (n, n))], {"shift": shift * np.eye(n)}


def _spread(draw, rng, square=False):
    """A matrix and a rectangular diagonal of spread values to add: distinct, well separated singular
    values (or eigenvalues, once symmetrised)."""
    m = draw(st.integers(1, 4))
    n = m if square else draw(st.integers(1, 4))
    spread = np.zeros((m, n))
    for i in range(min(m, n)):
        spread[i, i] = 10.0 * (i + 1)
    return [normal(rng, _batch(draw) + (m, n))], {"spread": spread}


def _tensordot(draw, rng):
    a, b, c, d = (draw(st.integers(1, 3)) for _ in range(4))
    form = draw(st.sampled_from(["2", "1", "0", "pairs"]))
    if form == "2":
        return [normal(rng, (a, b, c)), normal(rng, (b, c, d))], {"axes": 2}
    if form == "1":
        return [normal(rng, (a, b)), normal(rng, (b, d))], {"axes": 1}
    if form == "0":
        return [normal(rng, (a,)), normal(rng, (b, c))], {"axes": 0}
    return [normal(rng, (b, a, c)), normal(rng, (c, d, b))], {"axes": ((0, 2), (2, 0))}


def _vecdot(draw, rng):
    k = draw(st.integers(1, 4))
    lead = draw(st.sampled_from([((), ()), ((2,), ()), ((1,), (3,)), ((2, 1), (1, 3))]))
    axis = draw(st.sampled_from([-1, -2])) if lead[0] and lead[1] else -1
    sa, sb = lead[0] + (k,), lead[1] + (k,)
    if axis == -2:
        sa, sb = lead[0][:-1] + (k, lead[0][-1]), lead[1][:-1] + (k, lead[1][-1])
    return [normal(rng, sa), normal(rng, sb)], {"axis": axis}


def _solve(draw, rng):
    n = draw(st.integers(1, 4))
    form = draw(st.sampled_from(["vector", "matrix", "batched", "batched_vector", "broadcast"]))
    a = (2,) + (n, n) if form in ("batched", "batched_vector") else (n, n)
    b = {"vector": (n,), "matrix": (n, 3), "batched": (2, n, 2), "batched_vector": (n,), "broadcast": (2, n, 1)}[form]
    return [normal(rng, a), normal(rng, b)], {"shift": 4.0 * np.eye(n)}


def _cholesky(draw, rng):
    n = draw(st.integers(1, 4))
    return [normal(rng, _batch(draw) + (n, n))], {"eye": n * np.eye(n), "upper": draw(st.booleans())}


def _spd(lib, c, x):
    return x @ x.mT + c["eye"]


def _qr(draw, rng):
    m, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return [normal(rng, _batch(draw) + (m, n))], {}


def _sym(c, x):
    return (x + x.mT) / 2 + c["spread"]


def _matrix_power(draw, rng):
    arrays, c = _shifted(draw, rng, shift=2.0)
    c["n"] = draw(st.sampled_from([-3, -2, -1, 1, 2, 3, 4]))  # n = 0: test_linalg_fft.py
    return arrays, c


def _vector_norm(draw, rng):
    s = draw(shape(1, 3))
    axes = [None] + list(range(-len(s), len(s))) + ([(0, len(s) - 1)] if len(s) > 1 else [])
    return [away(0.0, gap=0.1)(rng, s)], {"axis": draw(st.sampled_from(axes)), "keepdims": draw(st.booleans()),
                                           "ord": draw(st.sampled_from([2, 1, INF, -INF, 3, 1.5, 0.5]))}  # 0: test_linalg_fft.py


def _matrix_norm(draw, rng):
    arrays, c = _spread(draw, rng)
    c["ord"] = draw(st.sampled_from(["fro", "nuc", 1, -1, 2, -2, INF, -INF]))
    c["keepdims"] = draw(st.booleans())
    return arrays, c


def _cross(draw, rng):
    lead = draw(st.sampled_from([((), ()), ((2,), (1,)), ((1, 2), (3, 1))]))
    axis = draw(st.sampled_from([-1, 0])) if not lead[0] and not lead[1] else -1
    return [normal(rng, lead[0] + (3,)), normal(rng, lead[1] + (3,))], {"axis": axis}


def _offset_matrix(draw, rng):
    n, m = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return [normal(rng, _batch(draw) + (n, m))], {"offset": draw(st.integers(-n, m))}


_EINSUM = [("ij,jk->ik", [(2, 3), (3, 4)]), ("ii->i", [(3, 3)]), ("ii", [(4, 4)]), ("ij->", [(2, 3)]),
           ("bij,bjk", [(2, 2, 3), (2, 3, 2)]), ("...ij,jk->...ik", [(2, 1, 3), (3, 2)]),
           ("iij,k->jk", [(3, 3, 2), (4,)]), ("i,j", [(2,), (3,)]), ("ij,ij,j->i", [(2, 3), (2, 3), (3,)]),
           ("ij->ji", [(2, 3)]), ("...i,...i->...", [(3, 4), (1, 4)]), ("jii->ij", [(2, 3, 3)])]


def _einsum(draw, rng):
    equation, shapes = draw(st.sampled_from(_EINSUM))
    return [normal(rng, s) for s in shapes], {"equation": equation}


# ---- FFT ------------------------------------------------------------------------------------------
_NORMS = st.sampled_from(["backward", "ortho", "forward"])


def _signal(draw, rng):
    s = draw(shape(1, 3, 5))
    axis = draw(st.integers(-len(s), len(s) - 1))
    return [normal(rng, s)], {"axis": axis, "n": draw(st.sampled_from([None, 1, 2, 3, 5, 8])), "norm": draw(_NORMS)}


def _signal_nd(draw, rng):
    s = draw(shape(1, 3, 5))
    k = draw(st.integers(1, len(s)))
    axes = tuple(draw(st.permutations(range(len(s)))))[:k]
    lengths = tuple(draw(st.sampled_from([None, 2, 3, 4])) or s[a] for a in axes)
    return [normal(rng, s)], {"axes": axes, "s": lengths if draw(st.booleans()) else None, "lengths": lengths,
                              "norm": draw(_NORMS)}


def _half_spectrum(draw, rng):
    """A signal read as a half spectrum: irfft's default length 2 (m - 1) needs m >= 2."""
    arrays, c = _signal(draw, rng)
    if c["n"] is None and arrays[0].shape[c["axis"]] == 1:
        c["n"] = 3
    return arrays, c


def _fft_kw(c):
    return {"n": c["n"], "axis": c["axis"], "norm": c["norm"]}


def _tfft(name, c, x, **kw):
    return getattr(_torch().fft, name)(x, **kw)


def _round_trip(draw, rng):
    arrays, c = _signal(draw, rng)
    c["m"] = draw(st.sampled_from([None, 1, 2, 3, 4, 7]))
    if c["m"] is None and (c["n"] or arrays[0].shape[c["axis"]]) < 2:  # a half spectrum of one entry
        c["m"] = 2
    return arrays, c


def _shifts(draw, rng):
    s = draw(shape(1, 3, 5))
    return [normal(rng, s)], {"axes": draw(st.sampled_from([None, -1, (0,), tuple(range(len(s)))]))}


CASES = [
    # products
    Case("tensordot", _tensordot, lambda c, a, b: xgrad.tensordot(a, b, axes=c["axes"]),
         lambda c, a, b: _t().tensordot(a, b, dims=c["axes"])),
    Case("vecdot", _vecdot, lambda c, a, b: xgrad.vecdot(a, b, axis=c["axis"]),
         lambda c, a, b: _la().vecdot(a, b, dim=c["axis"])),
    Case("einsum", _einsum, lambda c, *xs: xgrad.einsum(c["equation"], *xs),
         lambda c, *xs: _t().einsum(c["equation"], *xs)),
    Case("linalg_outer", lambda d, r: ([normal(r, (d(st.integers(1, 4)),)), normal(r, (d(st.integers(1, 4)),))], {}),
         lambda c, a, b: xla.outer(a, b), lambda c, a, b: _t().outer(a, b)),
    Case("linalg_cross", _cross, lambda c, a, b: xla.cross(a, b, axis=c["axis"]),
         lambda c, a, b: _la().cross(a, b, dim=c["axis"])),
    Case("linalg_diagonal", _offset_matrix, lambda c, x: xla.diagonal(x, offset=c["offset"]),
         lambda c, x: _t().diagonal(x, offset=c["offset"], dim1=-2, dim2=-1)),
    Case("tril", _offset_matrix, lambda c, x: xgrad.tril(x, k=c["offset"]), lambda c, x: _t().tril(x, c["offset"])),
    Case("triu", _offset_matrix, lambda c, x: xgrad.triu(x, k=c["offset"]), lambda c, x: _t().triu(x, c["offset"])),
    Case("linalg_trace", _offset_matrix, lambda c, x: xla.trace(x, offset=c["offset"]),
         lambda c, x: _t().diagonal(x, offset=c["offset"], dim1=-2, dim2=-1).sum(-1)),
    # inverses and determinants
    Case("linalg_inv", _shifted, lambda c, x: xla.inv(x + c["shift"]), lambda c, x: _la().inv(x + c["shift"])),
    Case("linalg_solve", _solve, lambda c, a, b: xla.solve(a + c["shift"], b),
         lambda c, a, b: _la().solve(a + c["shift"], b)),
    Case("linalg_det", _shifted, lambda c, x: xla.det(x + c["shift"]), lambda c, x: _la().det(x + c["shift"])),
    Case("linalg_slogdet", _shifted, lambda c, x: xla.slogdet(x + c["shift"]).logabsdet,
         lambda c, x: _la().slogdet(x + c["shift"]).logabsdet),
    Case("linalg_matrix_power", _matrix_power, lambda c, x: xla.matrix_power(x + c["shift"], c["n"]),
         lambda c, x: _la().matrix_power(x + c["shift"], c["n"])),
    Case("linalg_pinv", _spread, lambda c, x: xla.pinv(x + c["spread"]), lambda c, x: _la().pinv(x + c["spread"])),
    # decompositions
    Case("linalg_cholesky", _cholesky, lambda c, x: xla.cholesky(_spd(xgrad, c, x), upper=c["upper"]),
         lambda c, x: _la().cholesky(_spd(None, c, x), upper=c["upper"])),
    Case("linalg_qr", _qr, lambda c, x: _flat(xgrad, *xla.qr(x)), lambda c, x: _flat(None, *_la().qr(x))),
    Case("linalg_eigh", lambda d, r: _spread(d, r, square=True),
         lambda c, x: _flat(xgrad, *(lambda w, v: (w, v * v))(*xla.eigh(_sym(c, x)))),
         lambda c, x: _flat(None, *(lambda w, v: (w, v * v))(*_la().eigh(_sym(c, x))))),
    Case("linalg_eigvalsh", lambda d, r: _spread(d, r, square=True), lambda c, x: xla.eigvalsh(_sym(c, x)),
         lambda c, x: _la().eigvalsh(_sym(c, x))),
    Case("linalg_svd", _spread,
         lambda c, x: _flat(xgrad, *(lambda u, s, vh: (u * u, s, vh * vh))(*xla.svd(x + c["spread"], full_matrices=False))),
         lambda c, x: _flat(None, *(lambda u, s, vh: (u * u, s, vh * vh))(*_la().svd(x + c["spread"], full_matrices=False)))),
    Case("linalg_svdvals", _spread, lambda c, x: xla.svdvals(x + c["spread"]), lambda c, x: _la().svdvals(x + c["spread"])),
    # norms
    Case("linalg_vector_norm", _vector_norm,
         lambda c, x: xla.vector_norm(x, axis=c["axis"], keepdims=c["keepdims"], ord=c["ord"]),
         lambda c, x: _la().vector_norm(x, ord=c["ord"], dim=c["axis"], keepdim=c["keepdims"])),
    Case("linalg_matrix_norm", _matrix_norm,
         lambda c, x: xla.matrix_norm(x + c["spread"], keepdims=c["keepdims"], ord=c["ord"]),
         lambda c, x: _la().matrix_norm(x + c["spread"], ord=c["ord"], keepdim=c["keepdims"])),
    # FFT (real results: real parts, round trips and hfft)
    Case("fft_real_part", _signal, lambda c, x: xgrad.real(xfft.fft(x, **_fft_kw(c))),
         lambda c, x: _tfft("fft", c, x, n=c["n"], dim=c["axis"], norm=c["norm"]).real),
    Case("ifft_real_part", _signal, lambda c, x: xgrad.real(xfft.ifft(x, **_fft_kw(c))),
         lambda c, x: _tfft("ifft", c, x, n=c["n"], dim=c["axis"], norm=c["norm"]).real),
    Case("fftn_real_part", _signal_nd, lambda c, x: xgrad.real(xfft.fftn(x, s=c["s"], axes=c["axes"], norm=c["norm"])),
         lambda c, x: _tfft("fftn", c, x, s=c["s"], dim=c["axes"], norm=c["norm"]).real),
    Case("ifftn_real_part", _signal_nd, lambda c, x: xgrad.real(xfft.ifftn(x, s=c["s"], axes=c["axes"], norm=c["norm"])),
         lambda c, x: _tfft("ifftn", c, x, s=c["s"], dim=c["axes"], norm=c["norm"]).real),
    Case("rfft_irfft", _round_trip,
         lambda c, x: xfft.irfft(xfft.rfft(x, **_fft_kw(c)), n=c["m"], axis=c["axis"], norm=c["norm"]),
         lambda c, x: _t().fft.irfft(_tfft("rfft", c, x, n=c["n"], dim=c["axis"], norm=c["norm"]), n=c["m"],
                                     dim=c["axis"], norm=c["norm"])),
    Case("rfft_real_part", _signal, lambda c, x: xgrad.real(xfft.rfft(x, **_fft_kw(c))),
         lambda c, x: _tfft("rfft", c, x, n=c["n"], dim=c["axis"], norm=c["norm"]).real),
    Case("irfft", _half_spectrum, lambda c, x: xfft.irfft(x, **_fft_kw(c)),
         lambda c, x: _tfft("irfft", c, x, n=c["n"], dim=c["axis"], norm=c["norm"])),
    Case("rfftn_irfftn", _signal_nd,
         lambda c, x: xfft.irfftn(xfft.rfftn(x, s=c["s"], axes=c["axes"], norm=c["norm"]), s=c["lengths"],
                                  axes=c["axes"], norm=c["norm"]),
         lambda c, x: _t().fft.irfftn(_tfft("rfftn", c, x, s=c["s"], dim=c["axes"], norm=c["norm"]), s=c["lengths"],
                                      dim=c["axes"], norm=c["norm"])),
    Case("hfft", _half_spectrum, lambda c, x: xfft.hfft(x, **_fft_kw(c)),
         lambda c, x: _tfft("hfft", c, x, n=c["n"], dim=c["axis"], norm=c["norm"])),
    Case("ihfft_real_part", _signal, lambda c, x: xgrad.real(xfft.ihfft(x, **_fft_kw(c))),
         lambda c, x: _tfft("ihfft", c, x, n=c["n"], dim=c["axis"], norm=c["norm"]).real),
    Case("fftshift", _shifts, lambda c, x: xfft.fftshift(x, axes=c["axes"]),
         lambda c, x: _t().fft.fftshift(x, dim=c["axes"])),
    Case("ifftshift", _shifts, lambda c, x: xfft.ifftshift(x, axes=c["axes"]),
         lambda c, x: _t().fft.ifftshift(x, dim=c["axes"])),
]
