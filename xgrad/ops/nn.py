"""Neural-network ops, fused where that is what makes them stable: softmax, log_softmax,
cross_entropy, binary_cross_entropy_with_logits, mse_loss."""

from typing import Any

from ..errors import InputError, ShapeError
from ..tensor import Tensor
from . import elementwise, reduction as red
from ._core import op


def _log_softmax(xp, z, axis):
    m = xp.max(z, axis=axis, keepdims=True)
    shifted = z - m
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


@op
def softmax(xp, z, axis=-1):
    e = xp.exp(z - xp.max(z, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


softmax.defvjp(lambda xp, g, out, z, axis=-1: out * (g - xp.sum(g * out, axis=axis, keepdims=True)))


@op
def log_softmax(xp, z, axis=-1):
    return _log_softmax(xp, z, axis)


log_softmax.defvjp(lambda xp, g, out, z, axis=-1: g - xp.exp(out) * xp.sum(g, axis=axis, keepdims=True))


_REDUCTIONS = ("mean", "sum", "none")


def _reduce(xp, losses, reduction):
    if reduction == "mean":
        return xp.mean(losses)
    if reduction == "sum":
        return xp.sum(losses)
    return losses


def _size(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _per_sample(xp, g, losses_shape, reduction):
    """The upstream gradient of each per-sample loss, with a trailing axis for the classes."""
    if reduction == "none":
        return xp.expand_dims(g, axis=-1)
    if reduction == "mean":
        return g / _size(losses_shape)
    return g


def _check_reduction(name, reduction):
    if reduction not in _REDUCTIONS:
        raise InputError(f"xgrad.nn.functional.{name}: reduction must be one of {_REDUCTIONS}, "
                         f"not {reduction!r}")


_INTEGER_DTYPES: dict = {}  # id(dtype) -> (dtype, whether it is an integer dtype), asked on every cross_entropy


def _integer_labels(xp, target):
    dtype = target.dtype
    found = _INTEGER_DTYPES.get(id(dtype))  # by identity: dtypes of two libraries must not be compared
    if found is None:
        found = _INTEGER_DTYPES[id(dtype)] = (dtype, "int" in str(dtype))
    return found[1]


@op(saves=True)
def cross_entropy(xp, logits, target, reduction="mean"):
    """Softmax cross-entropy from logits ``(..., C)``; ``target`` holds integer class labels ``(...)``
    or class probabilities ``(..., C)``. Saves softmax(z) - p for the backward pass."""
    _check_reduction("cross_entropy", reduction)
    shifted = logits - xp.max(logits, axis=-1, keepdims=True)
    e = xp.exp(shifted)
    total = xp.sum(e, axis=-1, keepdims=True)
    if _integer_labels(xp, target):
        if tuple(target.shape) != tuple(logits.shape[:-1]):
            raise ShapeError(
                f"xgrad.cross_entropy: integer labels of shape {tuple(target.shape)} do not match logits "
                f"of shape {tuple(logits.shape)}; labels need the logits' shape without the class axis")
        hot = xp.onehot(target, logits.shape[-1], e.dtype)  # checks the labels lie in [0, C)
        # -log softmax at each row's label, log(total) - shifted[label] (equal to -(shifted - log(total))
        # bit for bit); picked, not a product with the one-hot rows, which would turn a -inf logit
        # elsewhere in the row into NaN
        picked = xp.squeeze(xp.take_along_axis(shifted, xp.expand_dims(target, axis=-1), axis=-1), axis=-1)
        losses = xp.squeeze(xp.log(total), axis=-1) - picked
        return _reduce(xp, losses, reduction), e / total - hot
    if tuple(target.shape) != tuple(logits.shape):
        raise ShapeError(
            f"xgrad.cross_entropy: probability targets of shape {tuple(target.shape)} must match the "
            f"logits' shape {tuple(logits.shape)}")
    logp = shifted - xp.log(total)
    losses = -xp.sum(target * logp, axis=-1)
    return _reduce(xp, losses, reduction), logp


# labels and logits differ in shape by design: a failure is not a broadcasting problem
cross_entropy.check = lambda logits, target, reduction="mean": None


def _ce_grad_logits(xp, g, out, logits, target, reduction="mean", saved=None):
    # d/dz of -sum(p log softmax(z)) is softmax(z) sum(p) - p; for labels p is one-hot and sums to 1
    gs = _per_sample(xp, g, logits.shape[:-1], reduction)
    if _integer_labels(xp, target):
        if saved is not None:
            return saved * gs
        probs = xp.exp(_log_softmax(xp, logits, -1))
        return (probs - xp.onehot(target, logits.shape[-1], probs.dtype)) * gs
    probs = xp.exp(saved if saved is not None else _log_softmax(xp, logits, -1))
    return (probs * xp.sum(target, axis=-1, keepdims=True) - target) * gs


def _ce_grad_target(xp, g, out, logits, target, reduction="mean", saved=None):
    logp = saved if saved is not None else _log_softmax(xp, logits, -1)
    return -logp * _per_sample(xp, g, logits.shape[:-1], reduction)


cross_entropy.defvjp(_ce_grad_logits, _ce_grad_target)


@op
def binary_cross_entropy_with_logits(xp, logits, target, reduction="mean"):
    """Sigmoid + binary cross-entropy in one stable expression: max(z, 0) - z y + log(1 + e^-|z|)."""
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    losses = xp.where(logits > 0, logits, 0.0) - logits * target + xp.log1p(xp.exp(-xp.abs(logits)))
    return _reduce(xp, losses, reduction)


def _bce_scale(xp, g, shape, reduction):
    if reduction == "mean":
        return g / _size(shape)
    return g


def _bce_grad_logits(xp, g, out, logits, target, reduction="mean"):
    e = xp.exp(-xp.abs(logits))
    sig = xp.where(logits >= 0, 1 / (1 + e), e / (1 + e))
    return (sig - target) * _bce_scale(xp, g, logits.shape, reduction)


binary_cross_entropy_with_logits.defvjp(
    _bce_grad_logits,
    lambda xp, g, out, logits, target, reduction="mean": -logits * _bce_scale(xp, g, logits.shape, reduction))


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or summed) squared error."""
    _check_reduction("mse_loss", reduction)
    d = elementwise.subtract(input, target)
    sq = elementwise.multiply(d, d)
    if reduction == "mean":
        return red.mean(sq)
    if reduction == "sum":
        return red.sum(sq)
    return sq
