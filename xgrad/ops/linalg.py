"""Linear algebra: matmul (1-D, 2-D, batched, broadcasting), matrix_transpose, and the standard's ``linalg``
extension (``xgrad.linalg``): decompositions, solves, norms and products, with PyTorch's gradients.

Decompositions with several outputs (eigh, svd, qr, slogdet) are one op per output, each of which runs the
decomposition (so a call that uses two outputs factors twice) and saves the rest for its rule. Gradients of
eigenvectors and singular vectors are those of PyTorch: defined for distinct eigen/singular values (equal
ones give inf or nan, as in PyTorch). Complex inputs: matmul, vecdot, tensordot and the products built on
them have complex gradients (conjugate Wirtinger, as PyTorch); the decompositions, solves and norms compute
complex forwards but refuse a complex gradient.
"""

import builtins
from collections import namedtuple

from ..creation import eye as _eye, ones_like as _ones_like
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from ._core import broadcast_shapes, op
from .elementwise import abs, dtype_info, where
from .indexing import getitem
from .reduction import max, min, sum
from .shape import expand_dims, permute_dims, reshape, stack
from .transfer import asarray


def _complex(a):
    return dtype_info(a.dtype)[2] == "c"


def _fit(xp, grad, a):
    """``grad`` for input ``a``: its real part when ``a`` is real and ``grad`` complex (as PyTorch)."""
    return xp.real(grad) if _complex(grad) and not _complex(a) else grad


def _real_only(name, *arrays):
    if any(_complex(a) for a in arrays):
        raise DTypeError(f"xgrad.linalg.{name}: gradients of complex inputs are not supported for {name} "
                         "(matmul, vecdot, tensordot, einsum and the fft functions have them); detach the input or "
                         "compute with real and imaginary parts")


def _tensor(x):
    """A tensor for an array-like argument of a composite function (an op converts its own)."""
    return x if isinstance(x, Tensor) else asarray(x)


def _mT(xp, a):
    return xp.matrix_transpose(a)


def _eye_like(xp, m):
    """Identity matrices shaped like ``m`` (..., n, n), in its dtype and on its device."""
    return xp.tril(xp.triu(xp.ones_like(m)))


def _square(name, a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"xgrad.linalg.{name}: needs square matrices (shape (..., n, n)), got shape "
                         f"{tuple(a.shape)}")


# ---- matmul and matrix_transpose ----------------------------------------------------------------
@op
def matmul(xp, x1, x2, /):
    """The matrix product (1-D operands as vectors, batch axes broadcast); complex gradients as PyTorch."""
    return xp.matmul(x1, x2)


def _check(a, b):
    if a.ndim == 0 or b.ndim == 0:
        return "matmul needs inputs of at least one dimension, got a 0-d (scalar) input; use * instead"
    k_a = a.shape[-1]
    k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if k_a != k_b:
        return (f"inner dimensions differ: {tuple(a.shape)} @ {tuple(b.shape)} contracts {k_a} with {k_b}; "
                "the last axis of the first input must equal the second-to-last axis of the second")
    if broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2])) is None:
        return (f"batch dimensions {tuple(a.shape[:-2])} and {tuple(b.shape[:-2])} do not broadcast")
    return None


matmul.check = _check


def _matmul_grad_a(xp, g, out, a, b):
    # complex: the adjoint of a -> a @ b is g -> g @ conj(b)^T
    bc = xp.conj(b) if _complex(b) else b
    if a.ndim > 1 and b.ndim > 1:  # the common case first
        grad = xp.matmul(g, xp.matrix_transpose(bc))
    elif b.ndim == 1:
        grad = g * bc if a.ndim == 1 else xp.expand_dims(g, axis=-1) * bc  # outer product over the last axis
    else:
        grad = xp.squeeze(xp.matmul(xp.expand_dims(g, axis=-2), xp.matrix_transpose(bc)), axis=-2)
    return _fit(xp, grad, a)


def _matmul_grad_b(xp, g, out, a, b):
    ac = xp.conj(a) if _complex(a) else a
    if a.ndim > 1 and b.ndim > 1:
        grad = xp.matmul(xp.matrix_transpose(ac), g)
    elif a.ndim == 1:
        # g has shape (..., m): the gradient of b (..., k, m) is the outer product a (k) x g (m)
        grad = g * ac if b.ndim == 1 else xp.expand_dims(ac, axis=-1) * xp.expand_dims(g, axis=-2)
    else:
        grad = xp.squeeze(xp.matmul(xp.matrix_transpose(ac), xp.expand_dims(g, axis=-1)), axis=-1)
    return _fit(xp, grad, b)


matmul.defvjp(_matmul_grad_a, _matmul_grad_b)


@op
def matrix_transpose(xp, x, /):
    """The last two axes swapped."""
    return xp.matrix_transpose(x)


matrix_transpose.defvjp(lambda xp, g, out, a: xp.matrix_transpose(g))


# ---- products built on matmul -------------------------------------------------------------------
@op
def vecdot(xp, x1, x2, /, *, axis=-1):
    """sum(conj(x1) * x2) over ``axis`` (broadcasting the other axes)."""
    return xp.linalg.vecdot(x1, x2, axis=axis)


def _vecdot_check(x1, x2, axis=-1):
    if x1.ndim == 0 or x2.ndim == 0:
        return "vecdot needs inputs of at least one dimension"
    if x1.shape[axis] != x2.shape[axis]:
        return f"the vectors on axis {axis} differ in length: {x1.shape[axis]} and {x2.shape[axis]}"
    return None


vecdot.check = _vecdot_check


def _vecdot_expand(xp, g, axis, ndim):
    # the output lost ``axis`` of the broadcast inputs: put it back as a length-1 axis
    return xp.expand_dims(g, axis=axis if axis >= 0 else ndim + axis)


def _vecdot_grad_x1(xp, g, out, x1, x2, axis=-1):
    ge = _vecdot_expand(xp, g, axis, builtins.max(x1.ndim, x2.ndim))
    grad = x2 * xp.conj(ge) if _complex(ge) else x2 * ge  # out is antilinear in x1
    return _fit(xp, grad, x1)


def _vecdot_grad_x2(xp, g, out, x1, x2, axis=-1):
    ge = _vecdot_expand(xp, g, axis, builtins.max(x1.ndim, x2.ndim))
    return _fit(xp, x1 * ge, x2)


vecdot.defvjp(_vecdot_grad_x1, _vecdot_grad_x2)


def tensordot(x1, x2, /, *, axes=2):
    """Contract the last ``axes`` axes of ``x1`` with the first of ``x2`` (an int), or the axes listed in
    ``axes = (axes of x1, axes of x2)``; built from permute_dims, reshape and matmul (complex too)."""
    x1, x2 = _tensor(x1), _tensor(x2)
    if isinstance(axes, int):
        if axes < 0 or axes > x1.ndim or axes > x2.ndim:
            raise ShapeError(f"xgrad.tensordot: axes={axes} must lie in [0, min(ndim)] for inputs of shapes "
                             f"{tuple(x1.shape)} and {tuple(x2.shape)}")
        a1, a2 = list(range(x1.ndim - axes, x1.ndim)), list(range(axes))
    else:
        a1, a2 = [a % x1.ndim for a in axes[0]], [a % x2.ndim for a in axes[1]]
    if len(a1) != len(a2) or any(x1.shape[i] != x2.shape[j] for i, j in zip(a1, a2)):
        raise ShapeError(f"xgrad.tensordot: the contracted axes {a1} of shape {tuple(x1.shape)} and {a2} of shape "
                         f"{tuple(x2.shape)} differ in length")
    free1 = [i for i in range(x1.ndim) if i not in a1]
    free2 = [i for i in range(x2.ndim) if i not in a2]
    k = 1
    for i in a1:
        k *= x1.shape[i]
    left = reshape(permute_dims(x1, tuple(free1 + a1)), (-1, k))
    right = reshape(permute_dims(x2, tuple(a2 + free2)), (k, -1))
    return reshape(matmul(left, right), tuple(x1.shape[i] for i in free1) + tuple(x2.shape[i] for i in free2))


def outer(x1, x2, /):
    """The outer product of two 1-D tensors."""
    x1, x2 = _tensor(x1), _tensor(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ShapeError(f"xgrad.linalg.outer: needs two 1-D tensors, got shapes {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)}")
    return matmul(reshape(x1, (-1, 1)), reshape(x2, (1, -1)))


def _along(x, axis, index):
    """x[..., index, ...] with ``index`` on ``axis``."""
    axis = axis % x.ndim
    return getitem(x, (slice(None),) * axis + (index, Ellipsis))


def cross(x1, x2, /, *, axis=-1):
    """The cross product of 3-vectors on ``axis`` (the other axes broadcast)."""
    x1, x2 = _tensor(x1), _tensor(x2)
    if x1.ndim == 0 or x2.ndim == 0 or x1.shape[axis] != 3 or x2.shape[axis] != 3:
        raise ShapeError(f"xgrad.linalg.cross: needs vectors of length 3 on axis {axis}, got shapes "
                         f"{tuple(x1.shape)} and {tuple(x2.shape)}")
    a = [_along(x1, axis, i) for i in range(3)]
    b = [_along(x2, axis, i) for i in range(3)]
    parts = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    return stack(parts, axis=axis if axis >= 0 else builtins.max(x1.ndim, x2.ndim) + axis)


def diagonal(x, /, *, offset=0):
    """The diagonals of the last two axes (``offset`` > 0: above the main one, < 0: below)."""
    x = _tensor(x)
    n, m = x.shape[-2], x.shape[-1]
    count = builtins.max(0, builtins.min(n + builtins.min(offset, 0), m - builtins.max(offset, 0)))
    start = offset if offset >= 0 else -offset * m
    # entry (i, i + offset) of an (n, m) matrix sits at i * (m + 1) + start of its flattened rows
    flat = reshape(x, tuple(x.shape[:-2]) + (n * m,))
    if count == 0:
        return getitem(flat, (Ellipsis, slice(0, 0)))
    return getitem(flat, (Ellipsis, slice(start, start + (count - 1) * (m + 1) + 1, m + 1)))


def trace(x, /, *, offset=0, dtype=None):
    """The sum of the diagonal of the last two axes."""
    d = diagonal(x, offset=offset)
    out = sum(d, axis=-1)
    return out if dtype is None else out.to(dtype)


# ---- inverses, solves, determinants -------------------------------------------------------------
@op
def inv(xp, x, /):
    """The inverse of each square matrix on the last two axes."""
    return xp.linalg.inv(x)


def _inv_grad(xp, g, out, x):
    _real_only("inv", x)
    t = _mT(xp, out)
    return -xp.matmul(t, xp.matmul(g, t))


inv.defvjp(_inv_grad)


@op(name="solve")
def _solve(xp, x1, x2):
    return xp.linalg.solve(x1, x2)


def _solve_grad_x1(xp, g, out, x1, x2):
    _real_only("solve", x1, x2)
    if x2.ndim == 1:  # out = A^-1 b: a stack of vectors
        gb = xp.squeeze(xp.linalg.solve(_mT(xp, x1), xp.expand_dims(g, axis=-1)), axis=-1)
        return -xp.expand_dims(gb, axis=-1) * xp.expand_dims(out, axis=-2)
    return -xp.matmul(xp.linalg.solve(_mT(xp, x1), g), _mT(xp, out))


def _solve_grad_x2(xp, g, out, x1, x2):
    _real_only("solve", x1, x2)
    if x2.ndim == 1:
        return xp.squeeze(xp.linalg.solve(_mT(xp, x1), xp.expand_dims(g, axis=-1)), axis=-1)
    return xp.linalg.solve(_mT(xp, x1), g)


_solve.defvjp(_solve_grad_x1, _solve_grad_x2)


def solve(x1, x2, /):
    """The solution ``x`` of ``x1 @ x = x2`` (``x2`` 1-D: a vector; else a stack of matrices)."""
    s1, s2 = tuple(getattr(x1, "shape", ())), tuple(getattr(x2, "shape", ()))
    if len(s2) >= 2 and len(s2) == len(s1) - 1 and s2 == s1[:-1]:
        # PyTorch reads this x2 as a stack of vectors, the standard as matrices: the results differ
        raise ShapeError(f"xgrad.linalg.solve: x2 of shape {s2} against x1 of shape {s1} is ambiguous: the "
                         "array-API standard treats it as a stack of matrices, PyTorch as a stack of vectors. "
                         "Write x2[..., None] (vectors, then [..., 0] on the result) or give x2 the full batch "
                         "shape of matrices")
    return _solve(x1, x2)


@op
def det(xp, x, /):
    """The determinant of each square matrix on the last two axes."""
    return xp.linalg.det(x)


def _det_grad(xp, g, out, x):
    _real_only("det", x)
    scale = xp.expand_dims(xp.expand_dims(g * out, axis=-1), axis=-1)
    return scale * _mT(xp, xp.linalg.inv(x))


det.defvjp(_det_grad)

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])

_slogdet_sign = op(lambda xp, x: xp.linalg.slogdet(x)[0], name="slogdet_sign")  # no gradient (as PyTorch)


@op(name="slogdet_logabsdet")
def _slogdet_logabsdet(xp, x):
    return xp.linalg.slogdet(x)[1]


def _logabsdet_grad(xp, g, out, x):
    _real_only("slogdet", x)
    return xp.expand_dims(xp.expand_dims(g, axis=-1), axis=-1) * _mT(xp, xp.linalg.inv(x))


_slogdet_logabsdet.defvjp(_logabsdet_grad)


def slogdet(x, /):
    """``(sign, logabsdet)`` of the determinant; only ``logabsdet`` has a gradient (as in PyTorch for real
    input: there the sign is piecewise constant)."""
    x = _tensor(x)
    if x.requires_grad and _complex(x):  # a complex sign has a gradient in PyTorch: refuse, never drop it
        _real_only("slogdet", x)
    return SlogdetResult(_slogdet_sign(x), _slogdet_logabsdet(x))


# ---- decompositions -----------------------------------------------------------------------------
@op
def cholesky(xp, x, /, *, upper=False):
    """The Cholesky factor of symmetric positive-definite matrices: lower ``L`` with ``x = L L^T``
    (``upper=True``: ``U`` with ``x = U^T U``). Only the lower triangle of ``x`` is read."""
    return xp.linalg.cholesky(x, upper=upper)


def _cholesky_grad(xp, g, out, x, upper=False):
    # PyTorch's rule: gA = L^-T Phi(L^T gL) L^-1, Phi(P) = (P + strictly-lower(P)^T) / 2 on tril(P)
    _real_only("cholesky", x)
    L, gL = (_mT(xp, out), _mT(xp, g)) if upper else (out, g)
    n = L.shape[-1]
    P = xp.tril(xp.matmul(_mT(xp, L), gL))
    P = 0.5 * (P + _mT(xp, xp.tril(P, k=-1)))
    Linv = xp.linalg.inv(L)
    return xp.matmul(_mT(xp, Linv), xp.matmul(P, Linv))


cholesky.defvjp(_cholesky_grad)

QRResult = namedtuple("QRResult", ["Q", "R"])


def _qr_parts(xp, x, mode, saved):
    return saved if saved is not None else tuple(xp.linalg.qr(x, mode=mode))


@op(name="qr_Q", saves=True)
def _qr_q(xp, x, mode="reduced"):
    q, r = xp.linalg.qr(x, mode=mode)
    return q, (q, r)


@op(name="qr_R", saves=True)
def _qr_r(xp, x, mode="reduced"):
    q, r = xp.linalg.qr(x, mode=mode)
    return r, (q, r)


def _qr_grad(xp, x, Q, R, gQ, gR):
    """For m >= n (reduced): gA = (gQ + Q copyltu(M)) R^-T, M = R gR^T - gQ^T Q, copyltu(M) the symmetric
    matrix with M's lower triangle. For m < n, A = [X Y] with X = Q R_X and R_Y = Q^T Y: Y gets Q gR_Y,
    X the square rule with gQ + Y gR_Y^T. (gQ or gR None: that output is not used.)"""
    m, n = x.shape[-2], x.shape[-1]
    if m < n:
        Y = x[..., m:]
        if gR is None:
            return xp.concat([_qr_grad(xp, x[..., :m], Q, R[..., :m], gQ, None), xp.zeros_like(Y)], axis=-1)
        gRY = gR[..., m:]
        gQX = xp.matmul(Y, _mT(xp, gRY))
        gX = _qr_grad(xp, x[..., :m], Q, R[..., :m], gQX if gQ is None else gQ + gQX, gR[..., :m])
        return xp.concat([gX, xp.matmul(Q, gRY)], axis=-1)
    if gR is None:
        M = -xp.matmul(_mT(xp, gQ), Q)
    else:
        M = xp.matmul(R, _mT(xp, gR))
        if gQ is not None:
            M = M - xp.matmul(_mT(xp, gQ), Q)
    k = M.shape[-1]
    low = xp.tril(M)
    sym = low + _mT(xp, xp.tril(low, k=-1))
    gA = xp.matmul(Q, sym)
    if gQ is not None:
        gA = gA + gQ
    return _mT(xp, xp.linalg.solve(R, _mT(xp, gA)))  # gA R^-T


def _qr_check(x, mode):
    _real_only("qr", x)
    if mode == "complete" and x.shape[-2] > x.shape[-1]:
        raise DTypeError("xgrad.linalg.qr: mode='complete' with more rows than columns has no gradient "
                         "(Q's extra columns are not unique; PyTorch refuses too): use mode='reduced'")


def _qr_q_grad(xp, g, out, x, mode="reduced", saved=None):
    _qr_check(x, mode)
    Q, R = _qr_parts(xp, x, mode, saved)
    return _qr_grad(xp, x, Q, R, g, None)


def _qr_r_grad(xp, g, out, x, mode="reduced", saved=None):
    _qr_check(x, mode)
    Q, R = _qr_parts(xp, x, mode, saved)
    return _qr_grad(xp, x, Q, R, None, g)


_qr_q.defvjp(_qr_q_grad)
_qr_r.defvjp(_qr_r_grad)


def qr(x, /, *, mode="reduced"):
    """``(Q, R)`` with ``x = Q @ R``, ``Q`` orthonormal columns, ``R`` upper triangular."""
    if mode not in ("reduced", "complete"):
        raise ShapeError(f"xgrad.linalg.qr: mode must be 'reduced' or 'complete', not {mode!r}")
    return QRResult(_qr_q(x, mode=mode), _qr_r(x, mode=mode))


EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])


@op(saves=True)
def eigvalsh(xp, x, /):
    """The eigenvalues of symmetric matrices, ascending (only the lower triangle is read)."""
    w, v = xp.linalg.eigh(x)
    return w, v


def _eigvalsh_grad(xp, g, out, x, saved=None):
    # gA = V diag(g) V^T
    _real_only("eigh", x)
    v = saved if saved is not None else xp.linalg.eigh(x)[1]
    return xp.matmul(v * xp.expand_dims(g, axis=-2), _mT(xp, v))


eigvalsh.defvjp(_eigvalsh_grad)


@op(name="eigh_eigenvectors", saves=True)
def _eigh_vectors(xp, x):
    w, v = xp.linalg.eigh(x)
    return v, w


def _eigh_vectors_grad(xp, g, out, x, saved=None):
    # PyTorch's rule: gA = V (skew(V^T gV) / E) V^T, skew(K) = (K - K^T) / 2, E_ij = w_j - w_i off the
    # diagonal (equal eigenvalues divide by zero, as in PyTorch) and 1 on it
    _real_only("eigh", x)
    w = saved if saved is not None else xp.linalg.eigh(x)[0]
    v = out
    k = xp.matmul(_mT(xp, v), g)
    skew = 0.5 * (k - _mT(xp, k))
    e = xp.expand_dims(w, axis=-2) - xp.expand_dims(w, axis=-1)
    e = e + _eye_like(xp, e)
    return xp.matmul(v, xp.matmul(skew / e, _mT(xp, v)))


_eigh_vectors.defvjp(_eigh_vectors_grad)


def eigh(x, /):
    """``(eigenvalues, eigenvectors)`` of symmetric matrices (ascending). Only the lower triangle is
    read by the library; give symmetric input. Eigenvector gradients need distinct eigenvalues."""
    return EighResult(eigvalsh(x), _eigh_vectors(x))


SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


def _svd_parts(xp, x, saved):
    return saved if saved is not None else tuple(xp.linalg.svd(x, full_matrices=False))


def _reduced_svd(xp, x):
    u, s, vh = xp.linalg.svd(x, full_matrices=False)
    return u, s, vh


@op(name="svd_U", saves=True)
def _svd_u(xp, x, full_matrices=True):
    parts = _reduced_svd(xp, x)
    return (xp.linalg.svd(x, full_matrices=True)[0] if full_matrices else parts[0]), parts


@op(saves=True)
def svdvals(xp, x, /):
    """The singular values of each matrix on the last two axes, descending."""
    parts = _reduced_svd(xp, x)
    return parts[1], parts


@op(name="svd_Vh", saves=True)
def _svd_vh(xp, x, full_matrices=True):
    parts = _reduced_svd(xp, x)
    return (xp.linalg.svd(x, full_matrices=True)[2] if full_matrices else parts[2]), parts


def _svd_e(xp, s):
    s2 = s * s
    e = xp.expand_dims(s2, axis=-2) - xp.expand_dims(s2, axis=-1)
    return e + _eye_like(xp, e)


def _svdvals_grad(xp, g, out, x, saved=None):
    _real_only("svd", x)
    u, s, vh = _svd_parts(xp, x, saved)
    return xp.matmul(u * xp.expand_dims(g, axis=-2), vh)


def _svd_u_grad(xp, g, out, x, full_matrices=True, saved=None):
    # PyTorch's rule (reduced SVD; with full_matrices only the first k columns of U count, as in PyTorch):
    # gA = U (skew(U^T gU) / E) S V^T + (I - U U^T) gU S^-1 V^T, E_ij = s_j^2 - s_i^2, skew(K) = K - K^T
    _real_only("svd", x)
    u, s, vh = _svd_parts(xp, x, saved)
    g = g[..., :s.shape[-1]]
    k = xp.matmul(_mT(xp, u), g)
    j = (k - _mT(xp, k)) / _svd_e(xp, s) * xp.expand_dims(s, axis=-2)
    rest = (g - xp.matmul(u, k)) / xp.expand_dims(s, axis=-2)
    return xp.matmul(xp.matmul(u, j) + rest, vh)


def _svd_vh_grad(xp, g, out, x, full_matrices=True, saved=None):
    # gA = U S (skew(V^T gV) / E) V^T + U S^-1 gV^T (I - V V^T), gV = gVh^T
    _real_only("svd", x)
    u, s, vh = _svd_parts(xp, x, saved)
    g = g[..., :s.shape[-1], :]
    k = xp.matmul(vh, _mT(xp, g))  # V^T gV
    j = xp.expand_dims(s, axis=-1) * ((k - _mT(xp, k)) / _svd_e(xp, s))
    rest = (g - xp.matmul(xp.matmul(g, _mT(xp, vh)), vh)) / xp.expand_dims(s, axis=-1)
    return xp.matmul(u, xp.matmul(j, vh) + rest)


svdvals.defvjp(_svdvals_grad)
_svd_u.defvjp(_svd_u_grad)
_svd_vh.defvjp(_svd_vh_grad)


def svd(x, /, *, full_matrices=True):
    """``(U, S, Vh)`` with ``x = U @ diag(S) @ Vh``. Singular-vector gradients need distinct, nonzero
    singular values; with ``full_matrices=True`` the extra columns of U (rows of Vh) get no gradient,
    as in PyTorch."""
    return SVDResult(_svd_u(x, full_matrices=full_matrices), svdvals(x), _svd_vh(x, full_matrices=full_matrices))


# ---- pseudo-inverse, rank, powers ---------------------------------------------------------------
@op
def pinv(xp, x, /, *, rtol=None):
    """The Moore-Penrose pseudo-inverse (singular values below ``rtol`` times the largest count as 0);
    its gradient is that of constant rank, as in PyTorch."""
    return xp.linalg.pinv(x, rtol=rtol)


def _pinv_grad(xp, g, out, x, rtol=None):
    # the derivative of A+ at constant rank (as PyTorch): with P = A+,
    # gA = -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)
    _real_only("pinv", x)
    p, pt, gt = out, _mT(xp, out), _mT(xp, g)
    first = -xp.matmul(pt, xp.matmul(g, pt))
    b = xp.matmul(gt, xp.matmul(p, pt))  # G^T P P^T
    second = b - xp.matmul(x, xp.matmul(p, b))
    c = xp.matmul(xp.matmul(pt, p), gt)  # P^T P G^T
    third = c - xp.matmul(xp.matmul(c, p), x)
    return first + second + third


pinv.defvjp(_pinv_grad)

@op
def matrix_rank(xp, x, /, *, rtol=None):
    """The number of singular values above ``rtol`` times the largest (an integer: no gradient)."""
    return xp.linalg.matrix_rank(x, rtol=rtol)


def matrix_power(x, n, /):
    """``x`` multiplied by itself ``n`` times (by squaring); ``n < 0``: powers of ``inv(x)``; ``n = 0``: the
    identity (no gradient reaches ``x``, as in PyTorch)."""
    x = _tensor(x)
    _square("matrix_power", x)
    if not isinstance(n, int):
        raise DTypeError(f"xgrad.linalg.matrix_power: n must be an int, not {type(n).__name__}")
    if n == 0:  # the identity, connected to x with a zero gradient (as in PyTorch)
        e = _eye(x.shape[-1], dtype=x.dtype, backend=x.backend, device=x.device)
        return where(_ones_like(x, dtype="bool"), e, x)
    base = inv(x) if n < 0 else x
    n = -n if n < 0 else n
    result = None
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


# ---- norms ---------------------------------------------------------------------------------------
@op
def vector_norm(xp, x, /, *, axis=None, keepdims=False, ord=2):
    """The ``ord``-norm over ``axis`` (None: all entries); at a zero vector the gradient is 0 (PyTorch's)."""
    return xp.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)


def _norm_expand(xp, t, ndim, axis, keepdims):
    """A norm's output (or gradient) with the reduced axes back as length-1 axes."""
    if keepdims:
        return t
    if axis is None:
        return xp.reshape(t, (1,) * ndim)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in sorted(a % ndim for a in axes):
        t = xp.expand_dims(t, axis=a)
    return t


def _vector_norm_grad(xp, g, out, x, axis=None, keepdims=False, ord=2):
    """PyTorch's subgradients: 0 where the norm is 0; inf norms share g among the extreme entries."""
    _real_only("vector_norm", x)
    g = _norm_expand(xp, g, x.ndim, axis, keepdims)
    n = _norm_expand(xp, out, x.ndim, axis, keepdims)
    zero = n == 0
    if ord == 0:
        return xp.zeros_like(x)
    if ord == 1:
        return xp.sign(x) * g
    if ord == 2:
        return g * xp.where(zero, 0.0, x / xp.where(zero, 1.0, n))
    if ord in (float("inf"), float("-inf")):
        hit = xp.astype(xp.abs(x) == n, x.dtype)
        count = xp.sum(hit, axis=axis, keepdims=True) if axis is not None else xp.sum(hit)
        return xp.sign(x) * hit * (g / count)
    a = xp.abs(x)
    if ord < 1:
        scaled = xp.sign(x) * xp.where(x == 0, 0.0, a ** (ord - 1))
        return scaled * g * n ** (1 - ord)
    scaled = xp.sign(x) * a ** (ord - 1) if ord < 2 else x * a ** (ord - 2)
    return scaled * xp.where(zero, 0.0, g / xp.where(zero, 1.0, n ** (ord - 1)))


vector_norm.defvjp(_vector_norm_grad)


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """Norms of the matrices on the last two axes: 'fro', 'nuc', 1, -1, 2, -2, inf, -inf (2 and 'nuc' from
    the singular values)."""
    x = _tensor(x)
    if x.ndim < 2:
        raise ShapeError(f"xgrad.linalg.matrix_norm: needs a tensor of at least 2 dimensions, got shape "
                         f"{tuple(x.shape)}")
    inf = float("inf")
    if ord == "fro":
        out = vector_norm(x, axis=(-2, -1), ord=2)
    elif ord in ("nuc", 2, -2):
        s = svdvals(x)
        out = sum(s, axis=-1) if ord == "nuc" else max(s, axis=-1) if ord == 2 else min(s, axis=-1)
    elif ord in (1, -1, inf, -inf):
        sums = sum(abs(x), axis=-2 if ord in (1, -1) else -1)
        out = max(sums, axis=-1) if ord in (1, inf) else min(sums, axis=-1)
    else:
        raise ShapeError(f"xgrad.linalg.matrix_norm: ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, "
                         f"not {ord!r}")
    return expand_dims(expand_dims(out, axis=-1), axis=-1) if keepdims else out
