"""Losses with PyTorch's names, options and defaults.

``cross_entropy`` without options runs the fused op of ``xgrad.ops.nn`` (one graph node); with a class
``weight``, ``label_smoothing`` or labels equal to ``ignore_index`` it is computed from ``log_softmax``
and ``nll_loss`` as PyTorch does. The other losses are compositions of differentiable ops, so their
gradients (and second derivatives) come from the ops' rules. Shapes are checked: a loss never
broadcasts its target silently.
"""

from __future__ import annotations

from typing import Any

from .. import ops
from ..creation import tensor
from ..errors import InputError, LabelError, ShapeError
from ..ops import nn as _nn
from ..ops._core import broadcast_shapes
from ..ops.elementwise import dtype_info
from ..tensor import Tensor
from .functional_activations import log_softmax

__all__ = ["cross_entropy", "nll_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "kl_div", "cosine_similarity", "mse_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(name: str, reduction: str, extra: tuple[str, ...] = ()) -> None:
    if reduction not in _REDUCTIONS + extra:
        raise InputError(f"xgrad.nn.functional.{name}: reduction must be one of {_REDUCTIONS + extra}, "
                         f"not {reduction!r}")


def _legacy(name: str, size_average: Any, reduce: Any) -> None:
    if size_average is not None or reduce is not None:
        raise InputError(f"xgrad.nn.functional.{name}: size_average and reduce are deprecated in PyTorch and "
                         "not supported; use reduction='mean', 'sum' or 'none'")


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return ops.mean(losses)
    if reduction == "sum":
        return ops.sum(losses)
    return losses


def _as_tensor_like(x: Any, like: Tensor) -> Tensor:
    """``x`` as a Tensor on ``like``'s backend (targets given as arrays or lists)."""
    if isinstance(x, Tensor):
        return x
    return tensor(x, backend=like._backend, device=like.device)


def _is_integer(t: Tensor) -> bool:
    return dtype_info(t.dtype)[2] in "iu"


def _class_axis(input: Tensor) -> int:
    return 0 if input.ndim == 1 else 1


def _check_weight(name: str, weight: Tensor | None, classes: int) -> None:
    if weight is not None and tuple(weight.shape) != (classes,):
        raise ShapeError(f"xgrad.nn.functional.{name}: weight of shape {tuple(weight.shape)} must have one "
                         f"entry per class, shape ({classes},)")


def nll_loss(input: Tensor, target: Any, weight: Tensor | None = None, size_average: Any = None,
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer class labels under log-probabilities ``input`` (classes on axis
    1: ``(N, C)``, ``(N, C, d1, ...)``, or ``(C,)`` with a 0-d target). With ``weight`` each sample
    counts ``weight[label]``; the mean divides by the sum of those weights. Labels equal to
    ``ignore_index`` contribute nothing (and do not count in the mean); other labels outside [0, C)
    are an error."""
    _legacy("nll_loss", size_average, reduce)
    _check_reduction("nll_loss", reduction)
    target = _as_tensor_like(target, input)
    if not _is_integer(target):
        raise InputError(f"xgrad.nn.functional.nll_loss: target must hold integer class labels, got dtype "
                         f"{dtype_info(target.dtype)[1]}")
    if input.ndim == 0:
        raise ShapeError("xgrad.nn.functional.nll_loss: input must have a class axis, got a 0-d tensor")
    axis = _class_axis(input)
    classes = input.shape[axis]
    expected = tuple(input.shape[:axis] + input.shape[axis + 1:])
    if tuple(target.shape) != expected:
        raise ShapeError(f"xgrad.nn.functional.nll_loss: target of shape {tuple(target.shape)} does not fit "
                         f"input of shape {tuple(input.shape)}; it needs the input's shape without the class "
                         f"axis {axis}: {expected}")
    _check_weight("nll_loss", weight, classes)
    valid = ops.not_equal(target, ignore_index)
    safe = ops.where(valid, target, 0)
    if input._backend.defers(safe.data):  # checked on the device, raised at the next read of values
        safe = ops.check_labels(safe, classes, caller="nn.functional.nll_loss")
    elif bool(ops.any((safe < 0) | (safe >= classes))):
        bad = ops.where(valid, target, 0).numpy()
        raise LabelError(f"xgrad.nn.functional.nll_loss: class labels must lie in [0, {classes}) or equal "
                         f"ignore_index={ignore_index}; got labels from {bad.min()} to {bad.max()}")
    picked = ops.squeeze(ops.take_along_axis(input, ops.expand_dims(safe, axis=axis), axis=axis), axis)
    if weight is not None:
        w = ops.where(valid, ops.reshape(ops.take(weight, ops.reshape(safe, (-1,)), axis=0), tuple(safe.shape)), 0.0)
    else:
        w = ops.astype(valid, input.dtype)
    losses = ops.where(valid, ops.negative(picked) * w, 0.0)
    if reduction == "mean":
        return ops.sum(losses) / ops.sum(w)
    return _reduce(losses, reduction)


def cross_entropy(input: Tensor, target: Any, weight: Tensor | None = None, size_average: Any = None,
                  ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy from logits with the classes on axis 1, as in PyTorch: ``target`` holds
    integer labels (the logits' shape without the class axis) or class probabilities (the logits' shape).
    ``weight`` rescales each class, ``ignore_index`` drops labels, ``label_smoothing`` mixes the target
    with the uniform distribution; means are PyTorch's (weighted by the labels' weights)."""
    if weight is None and label_smoothing == 0.0 and size_average is None and reduce is None and \
            isinstance(input, Tensor) and input._backend.defers(input.data):
        # labels checked on the device (a GPU): the fused op looks for ignore_index there too, without waiting
        return _nn.cross_entropy(input, target, reduction=reduction, ignore_index=ignore_index)
    if weight is None and label_smoothing == 0.0 and ignore_index < 0 and size_average is None and reduce is None:
        # the common case, on the fused op with nothing checked here: a label equal to a negative
        # ignore_index lies outside [0, C), which the fused op refuses; only then is the general path taken
        try:
            return _nn.cross_entropy(input, target, reduction=reduction)
        except InputError:
            if not (isinstance(input, Tensor) and input.ndim and _has_label(_as_tensor_like(target, input), ignore_index)):
                raise
    _legacy("cross_entropy", size_average, reduce)
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise InputError(f"xgrad.nn.functional.cross_entropy: label_smoothing must lie in [0, 1], got "
                         f"{label_smoothing}")
    target = _as_tensor_like(target, input)
    labels = _is_integer(target)
    if input.ndim == 0:
        raise ShapeError("xgrad.nn.functional.cross_entropy: input must have a class axis, got a 0-d tensor")
    axis = _class_axis(input)
    classes = input.shape[axis]
    # an ignore_index in [0, C) is a valid class to the fused op: look for it
    if weight is None and label_smoothing == 0.0 and not (labels and _has_label(target, ignore_index)):
        return _nn.cross_entropy(input, target, reduction=reduction)
    _check_weight("cross_entropy", weight, classes)
    logp = log_softmax(input, axis=axis)
    wshape = tuple(classes if i == axis else 1 for i in range(input.ndim))
    if not labels:  # probabilities
        if tuple(target.shape) != tuple(input.shape):
            raise ShapeError(f"xgrad.nn.functional.cross_entropy: probability targets of shape "
                             f"{tuple(target.shape)} must match the logits' shape {tuple(input.shape)}")
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / classes
        terms = logp * target
        if weight is not None:
            terms = terms * ops.reshape(weight, wshape)
        if reduction == "none":
            return ops.negative(ops.sum(terms, axis=axis))
        total = ops.negative(ops.sum(terms))
        return total / (input.size // classes) if reduction == "mean" else total
    nll = nll_loss(logp, target, weight=weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0.0:
        return nll
    # PyTorch: (1 - eps) nll + eps/C * (the loss against the uniform distribution, class-weighted)
    valid = ops.not_equal(target, ignore_index)
    terms = logp if weight is None else logp * ops.reshape(weight, wshape)
    smooth = ops.where(valid, ops.negative(ops.sum(terms, axis=axis)), 0.0)
    if reduction == "mean":
        if weight is None:
            smooth = ops.sum(smooth) / ops.sum(ops.astype(valid, input.dtype))
        else:
            safe = ops.where(valid, target, 0)
            if input._backend.defers(safe.data):  # nll_loss checked them on the device: clipped here too
                safe = ops.check_labels(safe, classes, caller="nn.functional.nll_loss")
            w = ops.where(valid, ops.reshape(ops.take(weight, ops.reshape(safe, (-1,)), axis=0), tuple(safe.shape)),
                          0.0)
            smooth = ops.sum(smooth) / ops.sum(w)
    elif reduction == "sum":
        smooth = ops.sum(smooth)
    return ops.multiply(nll, 1 - label_smoothing) + ops.multiply(smooth, label_smoothing / classes)


def _has_label(target: Tensor, label: int) -> bool:
    return _is_integer(target) and bool(ops.any(ops.equal(target, label)))


def _pair(name: str, input: Any, target: Any) -> tuple[Tensor, Tensor]:
    if not isinstance(input, Tensor):
        raise InputError(f"xgrad.nn.functional.{name}: input must be a Tensor, got {type(input).__name__}")
    target = _as_tensor_like(target, input)
    if tuple(input.shape) != tuple(target.shape):
        raise ShapeError(f"xgrad.nn.functional.{name}: target shape {tuple(target.shape)} differs from input "
                         f"shape {tuple(input.shape)}; the loss compares them element by element and does not "
                         f"broadcast. Reshape one to the other's shape, e.g. target.reshape({tuple(input.shape)}).")
    return input, target


def mse_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Mean (or summed) squared error between ``input`` and a ``target`` of the same shape (or a number)."""
    _legacy("mse_loss", size_average, reduce)
    return _nn.mse_loss(input, target, reduction=reduction)


def l1_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """|input - target|, reduced."""
    _legacy("l1_loss", size_average, reduce)
    _check_reduction("l1_loss", reduction)
    input, target = _pair("l1_loss", input, target)
    return _reduce(ops.abs(input - target), reduction)


def smooth_l1_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, |d| - beta/2 elsewhere (d = input - target); beta = 0 is l1_loss."""
    _legacy("smooth_l1_loss", size_average, reduce)
    _check_reduction("smooth_l1_loss", reduction)
    if beta < 0:
        raise InputError(f"xgrad.nn.functional.smooth_l1_loss: beta must not be negative, got {beta}")
    input, target = _pair("smooth_l1_loss", input, target)
    d = input - target
    z = ops.abs(d)
    if beta == 0:
        return _reduce(z, reduction)
    return _reduce(ops.where(z < beta, 0.5 * d * d / beta, z - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, delta (|d| - delta/2) elsewhere (d = input - target)."""
    _check_reduction("huber_loss", reduction)
    if delta <= 0:
        raise InputError(f"xgrad.nn.functional.huber_loss: delta must be positive, got {delta}")
    input, target = _pair("huber_loss", input, target)
    d = input - target
    z = ops.abs(d)
    return _reduce(ops.where(z < delta, 0.5 * d * d, delta * (z - 0.5 * delta)), reduction)


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None, size_average: Any = None,
                         reduce: Any = None, reduction: str = "mean") -> Tensor:
    """-w (y log(x) + (1 - y) log(1 - x)) for probabilities x in [0, 1], each log clamped at -100 as in
    PyTorch (so x = 0 or 1 gives a finite loss)."""
    _legacy("binary_cross_entropy", size_average, reduce)
    _check_reduction("binary_cross_entropy", reduction)
    input, target = _pair("binary_cross_entropy", input, target)
    probs = input.detach()
    if bool(ops.any(ops.logical_or(ops.less(probs, 0), ops.greater(probs, 1)))):
        raise InputError("xgrad.nn.functional.binary_cross_entropy: input holds values outside [0, 1]; it takes "
                         "probabilities (apply sigmoid first, or use binary_cross_entropy_with_logits on logits)")
    log_x = ops.clip(ops.log(input), min=-100.0)
    log_1mx = ops.clip(ops.log1p(ops.negative(input)), min=-100.0)
    losses = (target - 1) * log_1mx - target * log_x
    if weight is not None:
        losses = losses * _as_tensor_like(weight, input)
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None, size_average: Any = None,
                                     reduce: Any = None, reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    """Sigmoid and binary cross-entropy in one stable expression; ``weight`` rescales each element,
    ``pos_weight`` the positive term (per class, broadcast over the last axis), as in PyTorch."""
    _legacy("binary_cross_entropy_with_logits", size_average, reduce)
    if weight is None and pos_weight is None:
        return _nn.binary_cross_entropy_with_logits(input, target, reduction=reduction)
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    input, target = _pair("binary_cross_entropy_with_logits", input, target)
    # log(1 + e^-x) + max(-x, 0) = -log sigmoid(x), without overflow
    neg_log_sig = ops.log1p(ops.exp(ops.negative(ops.abs(input)))) + ops.where(ops.less(input, 0), ops.negative(input), 0.0)
    if pos_weight is not None:
        log_weight = ops.subtract(_as_tensor_like(pos_weight, input), 1) * target + 1
        losses = (1 - target) * input + log_weight * neg_log_sig
    else:
        losses = (1 - target) * input + neg_log_sig
    if weight is not None:
        losses = losses * _as_tensor_like(weight, input)
    return _reduce(losses, reduction)


def kl_div(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise: target (log target - input), or exp(t) (t - input) with
    ``log_target``. ``"batchmean"`` divides the sum by the batch size (the true KL divergence);
    ``"mean"``, PyTorch's default, by the number of elements."""
    _legacy("kl_div", size_average, reduce)
    _check_reduction("kl_div", reduction, ("batchmean",))
    input, target = _pair("kl_div", input, target)
    if log_target:
        pointwise = ops.exp(target) * (target - input)
    else:
        # xlogy(t, t) - t input: 0 log 0 is 0
        nonzero = ops.not_equal(target, 0)
        safe = ops.where(nonzero, target, 1.0)
        pointwise = ops.where(nonzero, target * ops.log(safe), 0.0) - target * input
    if reduction == "batchmean":
        total = ops.sum(pointwise)
        return total / input.shape[0] if input.ndim else total
    return _reduce(pointwise, reduction)


def _norm(x: Tensor, axis: int, eps: float) -> Tensor:
    """||x|| along ``axis`` (kept), raised to at least ``eps`` without changing the gradient (PyTorch clamps
    under no_grad); a zero vector's norm has gradient 0, as PyTorch's."""
    sq = ops.sum(ops.multiply(x, x), axis=axis, keepdims=True)
    nonzero = ops.greater(sq, 0)
    n = ops.where(nonzero, ops.sqrt(ops.where(nonzero, sq, 1.0)), 0.0)
    return n + (ops.clip(n.detach(), min=eps) - n.detach())


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1/|x1| * x2/|x2|) along ``dim`` (the inputs broadcast), each norm at least ``eps``: PyTorch's
    formula, which normalises first so the result stays in [-1, 1]."""
    x2 = _as_tensor_like(x2, x1)
    shape = _broadcast(x1, x2)
    if not shape:
        raise ShapeError("xgrad.nn.functional.cosine_similarity: needs at least one dimension, got 0-d inputs")
    if not -len(shape) <= dim < len(shape):
        raise ShapeError(f"xgrad.nn.functional.cosine_similarity: dim {dim} is out of range for shape {shape}")
    a, b = ops.broadcast_to(x1, shape), ops.broadcast_to(x2, shape)
    return ops.sum((a / _norm(a, dim, eps)) * (b / _norm(b, dim, eps)), axis=dim)


def _broadcast(x1: Tensor, x2: Tensor) -> tuple[int, ...]:
    shape = broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    if shape is None:
        raise ShapeError(f"xgrad.nn.functional.cosine_similarity: shapes {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)} do not broadcast")
    return shape
