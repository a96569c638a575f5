"""Embedding, one-hot, normalisation and dropout variants with PyTorch's names, arguments and defaults.

Layer and group norm, and batch norm in evaluation, are compositions of differentiable ops (mean,
var, sqrt, ...), so their gradients and second derivatives come from the ops' rules; batch norm in
training is one op with a closed-form gradient (``ops/normalization.py``). ``batch_norm`` updates the
running statistics in place, outside the graph, as PyTorch does.
"""

from __future__ import annotations

from typing import Any, Sequence

from .. import ops
from ..autograd import no_grad
from ..errors import DTypeError, InputError, ShapeError
from ..observe import draw
from ..ops import embedding as _embedding
from ..ops.normalization import batch_norm_training as _batch_norm_training, batch_stats as _batch_stats
from ..tensor import Tensor, new
from .functional_losses import _as_tensor_like, _is_integer

__all__ = ["embedding", "one_hot", "layer_norm", "batch_norm", "group_norm", "dropout1d", "dropout2d",
           "alpha_dropout"]


def _checked_indices(name: str, indices: Tensor, size: int, what: str) -> Tensor:
    """``indices`` to index ``size`` rows with: values outside [0, size) are a LabelError, at once or,
    where the backend defers checks (a GPU), at the next read of values (the indices come back
    clipped, so nothing reads out of bounds meanwhile)."""
    if not _is_integer(indices):
        raise InputError(f"xgrad.nn.functional.{name}: indices must be integers, got dtype "
                         f"{indices._backend.dtype_name(indices.dtype)}")
    return ops.check_labels(indices, size, caller=f"nn.functional.{name}", what=what)


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) at the integer ``input`` indices: shape
    ``input.shape + (embedding_dim,)``. The ``padding_idx`` row receives no gradient."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise InputError("xgrad.nn.functional.embedding: max_norm, scale_grad_by_freq and sparse are not "
                         "supported; renormalise the weight yourself under no_grad if you need max_norm")
    if weight.ndim != 2:
        raise ShapeError(f"xgrad.nn.functional.embedding: weight must be 2-D (num_embeddings, embedding_dim), "
                         f"got shape {tuple(weight.shape)}")
    input = _as_tensor_like(input, weight)
    rows = weight.shape[0]
    padding_idx = _padding_index(padding_idx, rows)
    input = _checked_indices("embedding", input, rows, f"{rows} embeddings")
    return _embedding(weight, input, padding_idx=padding_idx)


def _padding_index(padding_idx: int | None, rows: int) -> int | None:
    if padding_idx is None:
        return None
    if not -rows <= padding_idx < rows:
        raise InputError(f"xgrad.nn.functional.embedding: padding_idx {padding_idx} must lie in [-{rows}, {rows})")
    return padding_idx + rows if padding_idx < 0 else int(padding_idx)


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows, shape ``tensor.shape + (num_classes,)``; ``num_classes=-1`` takes the largest
    label plus one. Labels outside [0, num_classes) are an error."""
    if not isinstance(tensor, Tensor):
        raise InputError(f"xgrad.nn.functional.one_hot: expects an integer Tensor, got {type(tensor).__name__}")
    if not _is_integer(tensor):
        raise InputError(f"xgrad.nn.functional.one_hot: expects integer class labels, got dtype "
                         f"{tensor._backend.dtype_name(tensor.dtype)}")
    if num_classes == -1:
        if not tensor.size:
            raise InputError("xgrad.nn.functional.one_hot: cannot infer num_classes from an empty tensor; pass it")
        num_classes = int(ops.max(tensor).item()) + 1
    if num_classes < 1:
        raise InputError(f"xgrad.nn.functional.one_hot: num_classes must be positive, got {num_classes}")
    tensor = _checked_indices("one_hot", tensor, num_classes, f"num_classes={num_classes}")
    b = tensor._backend
    return new(b.xp.onehot(tensor.detach().data, num_classes, b.dtype("int64")), b)


def _normalized_axes(name: str, input: Tensor, normalized_shape: Any) -> tuple[int, ...]:
    shape = (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(int(s) for s in normalized_shape)
    if not shape or tuple(input.shape[-len(shape):]) != shape or input.ndim < len(shape):
        raise ShapeError(f"xgrad.nn.functional.{name}: normalized_shape {shape} must equal the last dimensions "
                         f"of the input, shape {tuple(input.shape)}")
    return tuple(range(input.ndim - len(shape), input.ndim))


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) over the last ``len(normalized_shape)`` axes (biased variance), then
    ``weight`` and ``bias`` of shape ``normalized_shape``."""
    axes = _normalized_axes("layer_norm", input, normalized_shape)
    mean = ops.mean(input, axis=axes, keepdims=True)
    var = ops.var(input, axis=axes, correction=0, keepdims=True)
    out = (input - mean) / ops.sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _channel_shape(input: Tensor) -> tuple[int, ...]:
    """Where a per-channel vector broadcasts against ``input`` (N, C, ...): (C, 1, ..., 1)."""
    return (input.shape[1],) + (1,) * (input.ndim - 2)


def _affine(out: Tensor, weight: Tensor | None, bias: Tensor | None, shape: tuple[int, ...]) -> Tensor:
    if weight is not None:
        out = out * ops.reshape(weight, shape)
    if bias is not None:
        out = out + ops.reshape(bias, shape)
    return out


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float | Tensor = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (axis 1) of ``(N, C, ...)`` input. Training: with the batch's mean and
    biased variance, and the running statistics (if given) updated in place, outside the graph:
    ``running = (1 - momentum) running + momentum batch`` with the unbiased batch variance, as PyTorch
    does (``momentum`` may be a 0-d tensor: BatchNorm's cumulative average passes 1/n so). Evaluation:
    with the running statistics."""
    if input.ndim < 2:
        raise ShapeError(f"xgrad.nn.functional.batch_norm: input must be (N, C, ...), got shape {tuple(input.shape)}")
    if not input._backend.is_floating(input.dtype):
        raise DTypeError(f"xgrad.nn.functional.batch_norm: needs a floating input, got "
                         f"{input._backend.dtype_name(input.dtype)} (shape {tuple(input.shape)}); cast with "
                         ".to('float32') or .to('float64')")
    channels = input.shape[1]
    for what, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (channels,):
            raise ShapeError(f"xgrad.nn.functional.batch_norm: {what} of shape {tuple(t.shape)} does not fit "
                             f"{channels} channels (input shape {tuple(input.shape)})")
    if training:
        count = input.size // channels
        if count <= 1:
            raise InputError(f"xgrad.nn.functional.batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {tuple(input.shape)}")
        stats = _batch_stats(input)  # (2, C): mean and biased variance, no gradient of their own
        if running_mean is not None or running_var is not None:
            keep = ops.subtract(1, momentum) if isinstance(momentum, Tensor) else 1 - momentum
            with no_grad():
                if running_mean is not None:
                    running_mean.copy_(ops.multiply(stats[0], momentum) + ops.multiply(running_mean, keep))
                if running_var is not None:
                    v = ops.multiply(stats[1], count / (count - 1))
                    running_var.copy_(ops.multiply(v, momentum) + ops.multiply(running_var, keep))
        return _batch_norm_training(input, stats, weight, bias, eps=eps)
    if running_mean is None or running_var is None:
        raise InputError("xgrad.nn.functional.batch_norm: running_mean and running_var are needed when not "
                         "training (or pass training=True to use the batch's statistics)")
    shape = _channel_shape(input)
    mean, var = ops.reshape(running_mean, shape), ops.reshape(running_var, shape)
    return _affine((input - mean) / ops.sqrt(var + eps), weight, bias, shape)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise each sample's channels in ``num_groups`` groups (biased variance over each group's
    channels and positions), then the per-channel ``weight`` and ``bias``."""
    if input.ndim < 2:
        raise ShapeError(f"xgrad.nn.functional.group_norm: input must be (N, C, ...), got shape {tuple(input.shape)}")
    n, channels = input.shape[0], input.shape[1]
    if num_groups <= 0 or channels % num_groups:
        raise InputError(f"xgrad.nn.functional.group_norm: {channels} channels cannot be split into {num_groups} "
                         "groups of equal size")
    grouped = ops.reshape(input, (n, num_groups, -1))
    mean = ops.mean(grouped, axis=-1, keepdims=True)
    var = ops.var(grouped, axis=-1, correction=0, keepdims=True)
    out = ops.reshape((grouped - mean) / ops.sqrt(var + eps), tuple(input.shape))
    return _affine(out, weight, bias, _channel_shape(input))


def _check_p(name: str, p: float, inplace: bool) -> None:
    if not 0.0 <= p <= 1.0:
        raise InputError(f"xgrad.nn.functional.{name}: dropout probability must lie in [0, 1], got {p}")
    if inplace:
        raise InputError(f"xgrad.nn.functional.{name}: inplace=True is not supported; use y = F.{name}(x)")


def _keep_mask(input: Tensor, shape: tuple[int, ...], p: float) -> Any:
    """A 0/1 array of ``shape`` in ``input``'s dtype: 1 with probability 1 - p (the backend's seeded
    generator, as ``dropout``)."""
    b = input._backend
    u = draw(b, "uniform", shape, 0.0, 1.0, dtype=input.dtype, device=input.device)
    return b.xp.astype(u >= p, input.data.dtype)


def _channel_dropout(name: str, input: Tensor, p: float, training: bool, inplace: bool, dims: int) -> Tensor:
    """Zero whole channels: ``dims`` is the number of spatial dimensions (1 or 2)."""
    _check_p(name, p, inplace)
    if input.ndim not in (dims + 1, dims + 2):
        raise ShapeError(f"xgrad.nn.functional.{name}: expects input of {dims + 1} (unbatched) or {dims + 2} "
                         f"dimensions, got shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return ops.multiply(input, 0.0)
    shape = tuple(input.shape[:input.ndim - dims]) + (1,) * dims
    return ops.multiply(input, _keep_mask(input, shape, p) * (1.0 / (1.0 - p)))


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p``, scale the rest by 1/(1-p)."""
    return _channel_dropout("dropout1d", input, p, training, inplace, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) input with probability ``p``, scale the rest by 1/(1-p). A 3-D
    input is taken as (N, C, L), as PyTorch does (with a warning there)."""
    if input.ndim == 3:
        return _channel_dropout("dropout2d", input, p, training, inplace, 1)
    return _channel_dropout("dropout2d", input, p, training, inplace, 2)


_ALPHA = 1.7580993408473766  # SELU's scale * alpha: the value SELU saturates to, negated


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped elements are set to SELU's saturation value and the result is
    rescaled so mean and variance are kept (PyTorch's formula; note its default ``training=False``)."""
    _check_p("alpha_dropout", p, inplace)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return ops.multiply(input, 0.0)
    keep = _keep_mask(input, tuple(input.shape), p)
    a = 1.0 / (((_ALPHA * _ALPHA * p + 1) * (1 - p)) ** 0.5)
    b = (keep - 1) * (_ALPHA * a) + _ALPHA * a * p
    return ops.multiply(input, keep * a) + b
