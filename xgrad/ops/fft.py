"""The standard's ``fft`` extension (``xgrad.fft``), with PyTorch's gradients, complex ones included.

Four ops do the transforms, each over axes whose lengths are already what the transform takes:
``_fftn`` and ``_ifftn`` (complex to complex), ``_rfft`` (real to half spectrum) and ``_irfft`` (half
spectrum to real, of a given length). Everything else is built from them with differentiable ops:
padding or trimming to ``n``/``s`` (slices and zeros), the n-dimensional real transforms (one real
transform on the last axis, complex ones on the others), ``hfft``/``ihfft`` (conjugates of the real
transforms) and the shifts. Gradients follow PyTorch: for a complex input, the conjugate Wirtinger
derivative (the adjoint of each linear transform); for a real input, its real part.

The adjoint of a transform with normalisation ``norm`` is the opposite transform with the swapped one
("backward" <-> "forward", "ortho" stays). irfft's adjoint counts each spectrum entry other than the
first and, for even n, the last twice: both it and its mirror image enter the real signal.
"""

from ..backends import placement
from ..creation import get_default_dtype, zeros
from ..errors import DTypeError, InputError, ShapeError
from ..tensor import Tensor, new
from ._core import op
from .elementwise import dtype_info, dtype_object
from .math import conj
from .indexing import getitem
from .shape import concat
from .transfer import asarray

_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}
_COMPLEX = {"float32": "complex64", "float64": "complex128", "complex64": "complex64",
            "complex128": "complex128"}


def _is_complex(a):
    return dtype_info(a.dtype)[2] == "c"


def _as_complex(xp, a):
    """``a`` as a complex array (array-api-strict's complex transforms refuse real input)."""
    if _is_complex(a):
        return a
    name = _COMPLEX.get(dtype_info(a.dtype)[1], "complex128")
    return xp.astype(a, dtype_object(xp, name))


def _fit(xp, grad, a):
    """The gradient of a real input is the real part (as PyTorch)."""
    return grad if _is_complex(a) else xp.real(grad)


def _axis_slice(axis, part):
    return (slice(None),) * axis + (part, Ellipsis)


# ---- the four transforms ----------------------------------------------------------------------
@op(name="fftn")
def _fftn(xp, x, axes, norm):
    return xp.fft.fftn(_as_complex(xp, x), axes=axes, norm=norm)


@op(name="ifftn")
def _ifftn(xp, x, axes, norm):
    return xp.fft.ifftn(_as_complex(xp, x), axes=axes, norm=norm)


_fftn.defvjp(lambda xp, g, out, x, axes, norm: _fit(xp, xp.fft.ifftn(g, axes=axes, norm=_SWAP[norm]), x))
_ifftn.defvjp(lambda xp, g, out, x, axes, norm: _fit(xp, xp.fft.fftn(g, axes=axes, norm=_SWAP[norm]), x))


@op(name="rfft")
def _rfft(xp, x, axis, norm):
    return xp.fft.rfft(x, axis=axis, norm=norm)


def _rfft_grad(xp, g, out, x, axis, norm):
    # the half spectrum is the first n//2 + 1 entries of the full one: pad g with zeros, then the adjoint
    n, h = x.shape[axis], g.shape[axis]
    if n > h:
        g = xp.concat([g, xp.zeros_like(g[_axis_slice(axis, slice(0, n - h))])], axis=axis)
    return xp.real(xp.fft.ifftn(g, axes=(axis,), norm=_SWAP[norm]))


_rfft.defvjp(_rfft_grad)


@op(name="irfft")
def _irfft(xp, x, n, axis, norm):
    return xp.fft.irfft(_as_complex(xp, x), n=n, axis=axis, norm=norm)


def _irfft_grad(xp, g, out, x, n, axis, norm):
    # PyTorch's rule: rfft of g with the swapped norm, entries 1 .. n - h doubled (their mirror images)
    gi = xp.fft.rfft(g, axis=axis, norm=_SWAP[norm])
    h = gi.shape[axis]
    twice = n - h
    if twice > 0:
        parts = [gi[_axis_slice(axis, slice(0, 1))], 2 * gi[_axis_slice(axis, slice(1, 1 + twice))]]
        if 1 + twice < h:
            parts.append(gi[_axis_slice(axis, slice(1 + twice, h))])
        gi = xp.concat(parts, axis=axis)
    return _fit(xp, gi, x)


_irfft.defvjp(_irfft_grad)


# ---- arguments ----------------------------------------------------------------------------------
def _tensor(x, name):
    if isinstance(x, Tensor):
        return x
    if hasattr(x, "shape") or isinstance(x, (list, tuple)):
        return asarray(x)
    raise DTypeError(f"xgrad.fft.{name}: needs a tensor or array, got {type(x).__name__}")


def _norm(norm, name):
    if norm not in _SWAP:
        raise InputError(f"xgrad.fft.{name}: norm must be 'backward', 'ortho' or 'forward', not {norm!r}")
    return norm


def _axis(x, axis, name):
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
        raise ShapeError(f"xgrad.fft.{name}: axis {axis} is out of range for shape {tuple(x.shape)}")
    return axis % x.ndim


def _resize(x, n, axis, name):
    """``x`` trimmed or zero-padded to length ``n`` on ``axis`` (differentiable)."""
    if n is None or n == -1 or n == x.shape[axis]:
        return x
    if not isinstance(n, int) or n < 1:
        raise ShapeError(f"xgrad.fft.{name}: lengths must be positive ints, got {n!r}")
    m = x.shape[axis]
    if n < m:
        return getitem(x, _axis_slice(axis, slice(0, n)))
    shape = list(x.shape)
    shape[axis] = n - m
    pad = zeros(*shape, dtype=x.dtype, backend=x.backend, device=x.device)
    return concat([x, pad], axis=axis)


def _axes_and_lengths(x, s, axes, name):
    if axes is None:
        axes = tuple(range(x.ndim)) if s is None else tuple(range(x.ndim - len(s), x.ndim))
    axes = tuple(_axis(x, a, name) for a in axes)
    if len(set(axes)) != len(axes):
        raise ShapeError(f"xgrad.fft.{name}: repeated axes {axes}")
    if s is None:
        s = tuple(x.shape[a] for a in axes)
    if len(s) != len(axes):
        raise ShapeError(f"xgrad.fft.{name}: s={tuple(s)} and axes={axes} differ in length")
    s = tuple(x.shape[a] if n == -1 else n for a, n in zip(axes, s))
    return s, axes


def _real_input(x, name):
    if _is_complex(x):
        raise DTypeError(f"xgrad.fft.{name}: needs a real input, got {dtype_info(x.dtype)[1]}; use "
                         f"xgrad.fft.{name.replace('r', '', 1)} for complex signals")


# ---- the standard's functions -------------------------------------------------------------------
def fft(x, /, *, n=None, axis=-1, norm="backward"):
    """The 1-D discrete Fourier transform on ``axis`` (``n``: trim or zero-pad the input first)."""
    x = _tensor(x, "fft")
    axis = _axis(x, axis, "fft")
    return _fftn(_resize(x, n, axis, "fft"), axes=(axis,), norm=_norm(norm, "fft"))


def ifft(x, /, *, n=None, axis=-1, norm="backward"):
    """The 1-D inverse discrete Fourier transform on ``axis``."""
    x = _tensor(x, "ifft")
    axis = _axis(x, axis, "ifft")
    return _ifftn(_resize(x, n, axis, "ifft"), axes=(axis,), norm=_norm(norm, "ifft"))


def fftn(x, /, *, s=None, axes=None, norm="backward"):
    """The n-D discrete Fourier transform over ``axes`` (default: all, or the last ``len(s)``)."""
    x = _tensor(x, "fftn")
    s, axes = _axes_and_lengths(x, s, axes, "fftn")
    for n, a in zip(s, axes):
        x = _resize(x, n, a, "fftn")
    return _fftn(x, axes=axes, norm=_norm(norm, "fftn"))


def ifftn(x, /, *, s=None, axes=None, norm="backward"):
    """The n-D inverse discrete Fourier transform over ``axes``."""
    x = _tensor(x, "ifftn")
    s, axes = _axes_and_lengths(x, s, axes, "ifftn")
    for n, a in zip(s, axes):
        x = _resize(x, n, a, "ifftn")
    return _ifftn(x, axes=axes, norm=_norm(norm, "ifftn"))


def rfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The 1-D transform of a real signal: the ``n//2 + 1`` non-negative frequencies."""
    x = _tensor(x, "rfft")
    _real_input(x, "rfft")
    axis = _axis(x, axis, "rfft")
    return _rfft(_resize(x, n, axis, "rfft"), axis=axis, norm=_norm(norm, "rfft"))


def irfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The real signal of length ``n`` (default ``2 * (m - 1)``) whose half spectrum is ``x``."""
    x = _tensor(x, "irfft")
    axis = _axis(x, axis, "irfft")
    if n is None:
        n = 2 * (x.shape[axis] - 1)
    if not isinstance(n, int) or n < 1:
        raise ShapeError(f"xgrad.fft.irfft: the output length n must be a positive int, got {n!r} (input "
                         f"shape {tuple(x.shape)}, axis {axis})")
    return _irfft(_resize(x, n // 2 + 1, axis, "irfft"), n=n, axis=axis, norm=_norm(norm, "irfft"))


def rfftn(x, /, *, s=None, axes=None, norm="backward"):
    """The n-D transform of a real signal: the half spectrum on the last axis, full on the others."""
    x = _tensor(x, "rfftn")
    _real_input(x, "rfftn")
    s, axes = _axes_and_lengths(x, s, axes, "rfftn")
    out = rfft(x, n=s[-1], axis=axes[-1], norm=norm)
    return fftn(out, s=s[:-1], axes=axes[:-1], norm=norm) if len(axes) > 1 else out


def irfftn(x, /, *, s=None, axes=None, norm="backward"):
    """The inverse of ``rfftn``: complex transforms on all but the last axis, then ``irfft`` on it."""
    x = _tensor(x, "irfftn")
    if s is None:
        s_, axes = _axes_and_lengths(x, None, axes, "irfftn")
        s = s_[:-1] + (2 * (s_[-1] - 1),)
    s, axes = _axes_and_lengths(x, s, axes, "irfftn")
    if len(axes) > 1:
        x = ifftn(x, s=s[:-1], axes=axes[:-1], norm=norm)
    return irfft(x, n=s[-1], axis=axes[-1], norm=norm)


def hfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The real spectrum of a signal with Hermitian symmetry, given by its first half ``x``."""
    return irfft(conj(_tensor(x, "hfft")), n=n, axis=axis, norm=_SWAP[_norm(norm, "hfft")])


def ihfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The inverse of ``hfft``: the half spectrum (conjugated) of a real signal."""
    return conj(rfft(x, n=n, axis=axis, norm=_SWAP[_norm(norm, "ihfft")]))


def _shift(x, axes, name, inverse):
    x = _tensor(x, name)
    if axes is None:
        axes = tuple(range(x.ndim))
    elif isinstance(axes, int):
        axes = (axes,)
    for a in axes:
        a = _axis(x, a, name)
        n = x.shape[a]
        k = n // 2 if inverse else n - n // 2  # the new first entry
        if 0 < k < n:
            x = concat([getitem(x, _axis_slice(a, slice(k, n))), getitem(x, _axis_slice(a, slice(0, k)))],
                       axis=a)
    return x


def fftshift(x, /, *, axes=None):
    """``x`` with the zero frequency moved to the middle of each of ``axes`` (default: all)."""
    return _shift(x, axes, "fftshift", inverse=False)


def ifftshift(x, /, *, axes=None):
    """The inverse of ``fftshift``."""
    return _shift(x, axes, "ifftshift", inverse=True)


def _frequencies(kind, n, d, dtype, device):
    b, device = placement(None, device)
    if not isinstance(n, int) or n < 1:
        raise ShapeError(f"xgrad.fft.{kind}: n must be a positive int, got {n!r}")
    # the default dtype is xgrad's default floating dtype (PyTorch's), not the library's float64
    return new(getattr(b.xp.fft, kind)(n, d=d, dtype=b.dtype(dtype or get_default_dtype()), device=device), b)


def fftfreq(n, /, *, d=1.0, dtype=None, device=None):
    """The sample frequencies of ``fft`` for ``n`` samples spaced ``d`` apart (no gradient)."""
    return _frequencies("fftfreq", n, d, dtype, device)


def rfftfreq(n, /, *, d=1.0, dtype=None, device=None):
    """The sample frequencies of ``rfft`` for ``n`` samples spaced ``d`` apart (no gradient)."""
    return _frequencies("rfftfreq", n, d, dtype, device)
