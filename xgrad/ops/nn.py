"""Neural-network ops, fused where that is what makes them stable: softmax, log_softmax,
cross_entropy, binary_cross_entropy_with_logits, mse_loss."""

from typing import Any

from ..errors import DTypeError, InputError, ShapeError
from ..tensor import Tensor
from . import elementwise, reduction as red
from ._core import broadcast_shapes, op
from .elementwise import dtype_info


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


def _integer_labels(xp, target):
    return dtype_info(target.dtype)[2] in "iu"


def _classes_last(xp, a):
    """(N, C, d1, ...) -> (N, d1, ..., C): PyTorch's class axis 1 moved where the fused code wants it."""
    return xp.permute_dims(a, (0,) + tuple(range(2, a.ndim)) + (1,))


def _classes_back(xp, a):
    """(N, d1, ..., C) -> (N, C, d1, ...)."""
    n = a.ndim
    return xp.permute_dims(a, (0, n - 1) + tuple(range(1, n - 1)))


@op(saves=True)
def cross_entropy(xp, logits, target, reduction="mean", ignore_index=None):
    """Softmax cross-entropy from logits with the classes on axis 1, as in PyTorch: ``(N, C)``,
    ``(N, C, d1, ...)`` or unbatched ``(C,)``; ``target`` holds integer class labels (the logits' shape
    without the class axis) or class probabilities (the logits' shape). Labels equal to ``ignore_index``
    (None: none) count for nothing: a loss of 0, left out of the mean. Saves softmax(z) - p (classes
    last; 0 for ignored labels) for the backward pass."""
    _check_reduction("cross_entropy", reduction)
    labels = _integer_labels(xp, target)
    moved = logits.ndim > 2  # (N, C, d1, ...): the classes are moved last
    if labels:
        if tuple(target.shape) != (tuple(logits.shape[:1] + logits.shape[2:]) if moved else tuple(logits.shape[:-1])):
            raise ShapeError(
                f"xgrad.cross_entropy: integer labels of shape {tuple(target.shape)} do not match logits "
                f"of shape {tuple(logits.shape)}; labels need the logits' shape without the class axis "
                "(axis 1, as in PyTorch; the only axis of 1-D logits)")
    elif tuple(target.shape) != tuple(logits.shape):
        if tuple(target.shape) == (tuple(logits.shape[:1] + logits.shape[2:]) if moved else tuple(logits.shape[:-1])):
            raise DTypeError(
                f"xgrad.cross_entropy: targets of shape {tuple(target.shape)} have the shape of class labels but "
                f"dtype {target.dtype}; class labels must be integers (cast with .astype('int64')), probability "
                f"targets need the logits' shape {tuple(logits.shape)}")
        raise ShapeError(
            f"xgrad.cross_entropy: probability targets of shape {tuple(target.shape)} must match the "
            f"logits' shape {tuple(logits.shape)}")
    if moved:
        logits = _classes_last(xp, logits)
        if not labels:
            target = _classes_last(xp, target)
    keep = None
    if labels:
        if ignore_index is not None:
            keep = target != ignore_index
            target = xp.where(keep, target, xp.zeros_like(target))
        # labels outside [0, C) are an InputError: here, or at the next read of values where the backend
        # checks on the device (then the labels come back clipped: nothing reads out of bounds)
        target = xp.check_labels(target, logits.shape[-1])
    shifted = logits - xp.max(logits, axis=-1, keepdims=True)
    e = xp.exp(shifted)
    total = xp.sum(e, axis=-1, keepdims=True)
    if labels:
        hot = xp.onehot(target, logits.shape[-1], e.dtype)
        # -log softmax at each row's label, log(total) - shifted[label] (equal to -(shifted - log(total))
        # bit for bit); picked, not a product with the one-hot rows, which would turn a -inf logit
        # elsewhere in the row into NaN
        picked = xp.squeeze(xp.take_along_axis(shifted, xp.expand_dims(target, axis=-1), axis=-1), axis=-1)
        losses = xp.squeeze(xp.log(total), axis=-1) - picked
        if keep is None:
            return _reduce(xp, losses, reduction), e / total - hot
        losses = xp.where(keep, losses, xp.zeros_like(losses))
        kept = xp.astype(keep, e.dtype)
        residual = (e / total - hot) * xp.expand_dims(kept, axis=-1)
        if reduction == "mean":  # over the labels that count (none: 0/0, NaN, as PyTorch)
            return xp.sum(losses) / xp.sum(kept), residual
        return _reduce(xp, losses, reduction), residual
    logp = shifted - xp.log(total)
    losses = -xp.sum(target * logp, axis=-1)
    return _reduce(xp, losses, reduction), logp


# labels and logits differ in shape by design: a failure is not a broadcasting problem
cross_entropy.check = lambda logits, target, reduction="mean", ignore_index=None: None


def _ce_grad_logits(xp, g, out, logits, target, reduction="mean", ignore_index=None, saved=None):
    # d/dz of -sum(p log softmax(z)) is softmax(z) sum(p) - p; for labels p is one-hot and sums to 1
    moved = logits.ndim > 2
    labels = _integer_labels(xp, target)
    if moved:
        logits = _classes_last(xp, logits)
        if not labels:
            target = _classes_last(xp, target)
    kept = None
    if labels and ignore_index is not None:
        keep = target != ignore_index
        kept = xp.astype(keep, logits.dtype)
        target = xp.where(keep, target, xp.zeros_like(target))
    if kept is not None and reduction == "mean":
        # (every label ignored: the rows are masked to 0 below; a count of 1 keeps 0 * inf out of them)
        count = xp.sum(kept)
        gs = g / xp.maximum(count, xp.ones_like(count))
    else:
        gs = _per_sample(xp, g, logits.shape[:-1], reduction)
    if labels:
        if saved is not None:  # 0 in the rows of ignored labels already
            grad = saved * gs
        else:
            probs = xp.exp(_log_softmax(xp, logits, -1))
            hot = xp.onehot(xp.check_labels(target, logits.shape[-1]), logits.shape[-1], probs.dtype)
            grad = (probs - hot) * gs
            if kept is not None:
                grad = grad * xp.expand_dims(kept, axis=-1)
    else:
        probs = xp.exp(saved if saved is not None else _log_softmax(xp, logits, -1))
        grad = (probs * xp.sum(target, axis=-1, keepdims=True) - target) * gs
    return _classes_back(xp, grad) if moved else grad


def _ce_grad_target(xp, g, out, logits, target, reduction="mean", ignore_index=None, saved=None):
    moved = logits.ndim > 2
    if moved:
        logits = _classes_last(xp, logits)
    logp = saved if saved is not None else _log_softmax(xp, logits, -1)
    grad = -logp * _per_sample(xp, g, logits.shape[:-1], reduction)
    return _classes_back(xp, grad) if moved else grad


cross_entropy.defvjp(_ce_grad_logits, _ce_grad_target)


@op
def binary_cross_entropy_with_logits(xp, logits, target, reduction="mean"):
    """Sigmoid + binary cross-entropy in one stable expression: max(z, 0) - z y + log(1 + e^-|z|)."""
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    _check_same_shape("binary_cross_entropy_with_logits", logits, target)
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


def _shape_of(x):
    if hasattr(x, "shape"):
        return tuple(x.shape)
    if isinstance(x, (list, tuple)):
        return (len(x),) + (_shape_of(x[0]) if len(x) else ())
    return None  # a Python number: it stands for every element


def _check_same_shape(name, input, target):
    """PyTorch's losses compare ``input`` with ``target`` element by element: a target of another shape
    would broadcast to a different loss (PyTorch warns for mse_loss, refuses for the BCE losses)."""
    si, st = _shape_of(input), _shape_of(target)
    if si is not None and st is not None and si != st:
        both = broadcast_shapes(si, st)
        what = f"broadcasting would compare {both} pairs, not {si}" if both is not None else "they do not broadcast"
        raise ShapeError(
            f"xgrad.nn.functional.{name}: target shape {st} differs from input shape {si}; the loss compares "
            f"them element by element and does not broadcast ({what}). Reshape one to the other's shape, "
            f"e.g. target.reshape({si}).")


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or summed) squared error between ``input`` and a ``target`` of the same shape (or a number)."""
    _check_reduction("mse_loss", reduction)
    _check_same_shape("mse_loss", input, target)
    d = elementwise.subtract(input, target)
    sq = elementwise.multiply(d, d)
    if reduction == "mean":
        return red.mean(sq)
    if reduction == "sum":
        return red.sum(sq)
    return sq
