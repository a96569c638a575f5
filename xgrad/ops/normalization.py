"""Batch normalisation in training mode as two ops: ``batch_stats`` (each channel's mean and biased
variance, no gradient) and ``batch_norm_training``, which normalises with them and whose input gradient
is the closed form through the batch statistics:

    dx = rstd * w * (g - mean(g) - xhat * mean(g * xhat)),   dw = sum(g * xhat),   db = sum(g)

(means and sums per channel, over every axis but 1). As a composition of mean, var, subtract, divide,
... the same step took ~25 ops and their rules; here it is two ops and three rules. The statistics are
an input so that ``nn.functional.batch_norm`` can update the running statistics from them; the input
rule does not treat them as constants: it uses the saved ``xhat``, or, under ``create_graph``, computes
the statistics again from ``x`` with differentiable ops, so second derivatives are right too.

Sums over the channel axis's complement are matrix-vector products with ones (``_channel_sum``): on
small images NumPy's strided reduction over axes (0, 2, 3) is several times slower.
"""

from __future__ import annotations

import math

from ._core import op


def _channel_sum(xp, a):
    """(N, C, ...) -> (C,): the sum over every axis but 1."""
    n, c = a.shape[0], a.shape[1]
    rows = xp.reshape(a, (n * c, -1))
    # columns of ones made from the arrays themselves: their backend, device and dtype, also under
    # create_graph (where xp is xgrad and the arrays Tensors)
    per_row = xp.matmul(rows, xp.matrix_transpose(xp.ones_like(rows[:1, :])))  # (N*C, 1)
    per_sample = xp.reshape(per_row, (n, c))
    return xp.reshape(xp.matmul(xp.matrix_transpose(xp.ones_like(per_sample[:, :1])), per_sample), (c,))


def _count(x):
    """Values per channel."""
    return math.prod(x.shape) // x.shape[1]


def _per_channel(xp, v, x):
    """A (C,) vector shaped to broadcast against (N, C, ...)."""
    return xp.reshape(v, (1, x.shape[1]) + (1,) * (x.ndim - 2))


def _stats(xp, x):
    """(mean, biased variance) per channel, each (C,); two passes (no cancellation in E[x^2] - E[x]^2)."""
    count = _count(x)
    mean = _channel_sum(xp, x) / count
    d = x - _per_channel(xp, mean, x)
    return mean, _channel_sum(xp, d * d) / count


@op(name="batch_stats")
def batch_stats(xp, x):
    """Each channel's mean and biased variance of (N, C, ...) input, stacked: shape (2, C). Not
    differentiable: ``batch_norm_training`` differentiates through the statistics itself."""
    return xp.stack(_stats(xp, x), axis=0)


@op(name="batch_norm_training", saves=True)
def batch_norm_training(xp, x, stats, weight, bias, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias per channel, ``stats = batch_stats(x)``; ``weight``
    and ``bias`` (C,) or None."""
    mean, var = stats[0, ...], stats[1, ...]
    xhat = (x - _per_channel(xp, mean, x)) * _per_channel(xp, 1 / xp.sqrt(var + eps), x)
    out = xhat
    if weight is not None:
        out = out * _per_channel(xp, weight, x)
    if bias is not None:
        out = out + _per_channel(xp, bias, x)
    return out, xhat


def _xhat(xp, x, stats, eps, saved):
    """The normalised input and 1/sqrt(var + eps): saved by the forward, or (create_graph) computed
    again from ``x`` itself, so that the statistics' dependence on ``x`` is differentiated too."""
    if saved is not None:
        return saved, 1 / xp.sqrt(stats[1, ...] + eps)
    mean, var = _stats(xp, x)
    rstd = 1 / xp.sqrt(var + eps)
    return (x - _per_channel(xp, mean, x)) * _per_channel(xp, rstd, x), rstd


def _grad_x(xp, g, out, x, stats, weight, bias, eps=1e-5, saved=None):
    xhat, rstd = _xhat(xp, x, stats, eps, saved)
    count = _count(x)
    scale = rstd if weight is None else rstd * weight
    mean_g = _channel_sum(xp, g) / count
    mean_gx = _channel_sum(xp, g * xhat) / count
    return _per_channel(xp, scale, x) * (g - _per_channel(xp, mean_g, x) - xhat * _per_channel(xp, mean_gx, x))


def _grad_weight(xp, g, out, x, stats, weight, bias, eps=1e-5, saved=None):
    return _channel_sum(xp, g * _xhat(xp, x, stats, eps, saved)[0])


def _grad_bias(xp, g, out, x, stats, weight, bias, eps=1e-5, saved=None):
    return _channel_sum(xp, g)


batch_norm_training.defvjp(_grad_x, None, _grad_weight, _grad_bias)
