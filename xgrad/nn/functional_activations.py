"""Activation functions with PyTorch's names, arguments and defaults (the ops live in xgrad.ops).

``inplace=True`` is refused: xgrad's activations never write into their input, and code that relies on
the input being changed would silently go wrong."""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from ..ops import activations as _act
from ..ops import gelu as _gelu_tanh, getitem, log_softmax as _log_softmax, multiply, sigmoid
from ..ops import softmax as _softmax
from ..tensor import Tensor

__all__ = ["gelu", "silu", "elu", "selu", "celu", "mish", "hardswish", "hardsigmoid", "hardtanh", "relu6",
           "logsigmoid", "softplus", "softsign", "tanhshrink", "glu", "softmax", "log_softmax"]


def _no_inplace(name: str, inplace: bool) -> None:
    if inplace:
        raise InputError(f"xgrad.nn.functional.{name}: inplace=True is not supported (xgrad never changes an "
                         f"activation's input); write y = F.{name}(x) and use y")


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU: ``"none"`` (PyTorch's default) is the exact x/2 (1 + erf(x/sqrt(2))); ``"tanh"`` the tanh
    approximation x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate == "none":
        return _act.gelu_erf(input)
    if approximate == "tanh":
        return _gelu_tanh(input)
    raise InputError(f"xgrad.nn.functional.gelu: approximate must be 'none' or 'tanh', not {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x sigmoid(x)."""
    _no_inplace("silu", inplace)
    return _act.silu(input)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise."""
    _no_inplace("elu", inplace)
    return _act.elu(input, alpha=float(alpha))


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale elu(x, alpha) with Klambauer et al.'s alpha 1.6733 and scale 1.0507."""
    _no_inplace("selu", inplace)
    return _act.selu(input)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (exp(x/alpha) - 1))."""
    _no_inplace("celu", inplace)
    if alpha == 0:
        raise InputError("xgrad.nn.functional.celu: alpha must not be 0 (x/alpha)")
    return _act.celu(input, alpha=float(alpha))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    _no_inplace("mish", inplace)
    return _act.mish(input)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6."""
    _no_inplace("hardswish", inplace)
    return _act.hardswish(input)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    _no_inplace("hardsigmoid", inplace)
    return _act.hardsigmoid(input)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]; gradient 0 at and beyond the bounds, as in PyTorch."""
    _no_inplace("hardtanh", inplace)
    if min_val > max_val:
        raise InputError(f"xgrad.nn.functional.hardtanh: min_val {min_val} is greater than max_val {max_val}")
    return _act.hardtanh(input, min_val=float(min_val), max_val=float(max_val))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6)."""
    _no_inplace("relu6", inplace)
    return _act.hardtanh(input, min_val=0.0, max_val=6.0)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), computed without overflow."""
    return _act.logsigmoid(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold (PyTorch's linear tail)."""
    if beta == 0:
        raise InputError("xgrad.nn.functional.softplus: beta must not be 0")
    return _act.softplus_beta(input, beta=float(beta), threshold=float(threshold))


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return _act.softsign(input)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return _act.tanhshrink(input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """The gated linear unit: a sigmoid(b), with a and b the two halves of ``input`` along ``dim``."""
    shape = tuple(input.shape)
    if not shape:
        raise InputError("xgrad.nn.functional.glu: needs at least one dimension, got a 0-d tensor")
    axis = dim + len(shape) if dim < 0 else dim
    if not 0 <= axis < len(shape):
        raise InputError(f"xgrad.nn.functional.glu: dim {dim} is out of range for shape {shape}")
    if shape[axis] % 2:
        raise InputError(f"xgrad.nn.functional.glu: the halved dimension {dim} of shape {shape} has odd size "
                         f"{shape[axis]}; it must be even")
    half = shape[axis] // 2
    before = (slice(None),) * axis
    a = getitem(input, before + (slice(0, half),))
    b = getitem(input, before + (slice(half, None),))
    return multiply(a, sigmoid(b))


def _axis(name: str, input: Tensor, dim: Any, axis: Any) -> int:
    if dim is not None and axis is not None and dim != axis:
        raise InputError(f"xgrad.nn.functional.{name}: dim={dim} and axis={axis} disagree; give one")
    a = dim if dim is not None else axis
    if a is None and getattr(input, "ndim", 0) > 2:
        # PyTorch's implicit choice (deprecated) would be axis 0 for 3-D input, 1 above: no guess here
        raise InputError(f"xgrad.nn.functional.{name}: give dim= for {input.ndim}-D input (shape "
                         f"{tuple(input.shape)}); without it only 1-D and 2-D inputs use the last axis")
    return -1 if a is None else a


def softmax(input: Tensor, dim: int | None = None, axis: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (PyTorch's name) or ``axis`` (the standard's); default the last."""
    return _softmax(input, axis=_axis("softmax", input, dim, axis))


def log_softmax(input: Tensor, dim: int | None = None, axis: int | None = None) -> Tensor:
    """x - logsumexp(x) along ``dim`` or ``axis``; default the last."""
    return _log_softmax(input, axis=_axis("log_softmax", input, dim, axis))
