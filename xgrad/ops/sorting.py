"""Sorting, searching and sets: sort, argsort, topk, searchsorted, nonzero, count_nonzero, isin and the
unique functions, with the array-API standard's signatures (``topk`` has PyTorch's).

Only values are differentiable: ``sort`` and ``topk`` send each output's gradient back to the entry it
came from (a scatter through the permutation, as PyTorch). Indices, counts and masks are integer or bool
tensors without a gradient. The unique functions' values have no gradient (nor in PyTorch): a backward
that reaches them raises instead of dropping the gradient.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import _state
from ..errors import GraphError, InputError, ShapeError
from ..tensor import Tensor
from ._core import op
from .elementwise import any as _any
from .indexing import getitem, take_along_axis


def _check_axis(name, x):
    if x.ndim == 0:  # the libraries disagree on the result's shape (() or (1,)): refused
        raise ShapeError(f"xgrad.{name}: the input is 0-d; give it an axis first (reshape it to (1,))")


@op(saves=True)
def sort(xp, x, /, *, axis=-1, descending=False, stable=True):
    """``x`` sorted along ``axis`` (ascending unless ``descending``). Sorting is always stable here, so
    tied entries keep their order and each gets back the gradient of the position it moved to (as
    PyTorch's ``sort(stable=True)``)."""
    _check_axis("sort", x)
    order = xp.argsort(x, axis=axis, descending=descending, stable=True)
    return xp.take_along_axis(x, order, axis=axis), order


def _sort_vjp(xp, g, out, x, axis=-1, descending=False, stable=True, saved=None):
    # out = x[order] along the axis, so x's gradient is g put back where each entry came from:
    # g[inverse(order)]
    order = saved if saved is not None else xp.argsort(x, axis=axis, descending=descending, stable=True)
    return xp.take_along_axis(g, xp.argsort(order, axis=axis), axis=axis)


sort.defvjp(_sort_vjp)


@op
def argsort(xp, x, /, *, axis=-1, descending=False, stable=True):
    """The indices that sort ``x`` along ``axis`` (always stable here: ties keep their order)."""
    _check_axis("argsort", x)
    return xp.argsort(x, axis=axis, descending=descending, stable=True)


class ValuesIndices(NamedTuple):
    """``values`` and ``indices``: what ``topk`` and the Tensor methods ``sort``, ``max(dim)`` and
    ``min(dim)`` return (PyTorch's ``torch.return_types``)."""
    values: Tensor
    indices: Tensor


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
    """The ``k`` largest (or smallest) entries along ``dim`` and their indices, largest first (PyTorch's
    ``torch.topk``; the result is sorted whatever ``sorted`` says). The gradient goes to the entries
    picked. Where tied values decide which entries are picked or in which order, PyTorch's choice is
    unspecified: with a gradient to compute, that is an error rather than a silent difference."""
    ndim = input.ndim
    if ndim == 0:
        raise ShapeError("xgrad.topk: the input is 0-d; give it at least one axis")
    ax = dim % ndim
    n = input.shape[ax]
    if not 0 <= k <= n:
        raise InputError(f"xgrad.topk: k={k} is out of range for dimension {dim} of size {n} "
                         f"(input shape {tuple(input.shape)}); k must lie in [0, {n}]")
    order = argsort(input, axis=ax, descending=largest)
    head = (slice(None),) * ax + (slice(0, k),)
    indices = getitem(order, head)
    values = take_along_axis(input, indices, axis=ax)
    if input.requires_grad and k and _state.mode.grad_enabled:
        ranked = take_along_axis(input.detach(), getitem(order, (slice(None),) * ax + (slice(0, min(k + 1, n)),)),
                                 axis=ax)
        first = getitem(ranked, (slice(None),) * ax + (slice(0, -1),))
        second = getitem(ranked, (slice(None),) * ax + (slice(1, None),))
        if bool(_any(first == second)):
            raise InputError(f"xgrad.topk: tied values among the {k} {'largest' if largest else 'smallest'} "
                             f"entries along dimension {dim} (input shape {tuple(input.shape)}); which tied "
                             "entry gets which gradient is unspecified in PyTorch, so xgrad will not pick one. "
                             "Break the ties, or call topk on input.detach() and gather with the indices")
    return ValuesIndices(values, indices)


@op
def searchsorted(xp, x1, x2, /, *, side="left", sorter=None):
    """Where each entry of ``x2`` would go in the sorted 1-D ``x1`` (``sorter``: indices sorting it);
    ``side="right"`` puts an entry after the equal ones. Not differentiable."""
    if type(x2) in (int, float, bool):
        x2 = xp.asarray(x2, dtype=x1.dtype, device=x1.device)
    return xp.searchsorted(x1, x2, side=side, sorter=sorter)


searchsorted.check = lambda x1, x2, side="left", sorter=None: (
    f"x1 must be 1-D (got shape {tuple(x1.shape)})" if getattr(x1, "ndim", 1) != 1 else None)


@op
def count_nonzero(xp, x, /, *, axis=None, keepdims=False):
    """How many entries of ``x`` are not zero over ``axis`` (all axes when None)."""
    return xp.count_nonzero(x, axis=axis, keepdims=keepdims)


@op
def _nonzero(xp, x):
    return xp.stack(xp.nonzero(x), axis=0)


def nonzero(x: Tensor, /) -> tuple[Tensor, ...]:
    """The indices of the non-zero entries of ``x``: one integer tensor per axis, in row-major order."""
    if x.ndim == 0:
        raise ShapeError("xgrad.nonzero: the input is 0-d; the standard defines nonzero for arrays with "
                         "at least one axis (reshape it to (1,) first)")
    rows = _nonzero(x)
    return tuple(getitem(rows, i) for i in range(x.ndim))


@op
def isin(xp, x1, x2, /, *, invert=False):
    """Whether each entry of ``x1`` is among the entries of ``x2`` (the opposite with ``invert``)."""
    found = xp.isin(x1, x2)
    # negated here: array-api-strict 2.6 ignores invert=
    return xp.logical_not(found) if invert else found


isin.check = lambda x1, x2, invert=False: None  # the two need not broadcast: a failure is about dtypes


# ---- sets ------------------------------------------------------------------------------------


def _no_gradient(xp, g, out, x):
    raise GraphError("xgrad.unique_values (or unique_all/_counts/_inverse): the unique values have no "
                     "gradient (nor in PyTorch: where entries repeat, unique is not differentiable); call it "
                     "on x.detach(), or index x with the returned indices to keep a gradient")


@op
def unique_values(xp, x, /):
    """The distinct values of ``x``, sorted, as a 1-D tensor. No gradient: a backward through them raises."""
    return xp.unique_values(x)


unique_values.defvjp(_no_gradient)


@op
def _unique_part(xp, x, part):
    """One non-differentiable part of unique_all, from unique_counts and unique_inverse (which every
    library has; PyTorch lacks unique_all's first-occurrence indices)."""
    if part == "counts":
        return xp.unique_counts(x).counts
    inverse = xp.unique_inverse(x).inverse_indices
    if part == "inverse_indices":
        return inverse
    # the first occurrence of value k: the first of the positions with inverse k, in a stable order of them
    order = xp.argsort(xp.reshape(inverse, (-1,)), stable=True)
    starts = xp.cumulative_sum(xp.unique_counts(x).counts, include_initial=True)[:-1]
    return xp.take(order, starts)


class UniqueAllResult(NamedTuple):
    values: Tensor
    indices: Tensor
    inverse_indices: Tensor
    counts: Tensor


class UniqueCountsResult(NamedTuple):
    values: Tensor
    counts: Tensor


class UniqueInverseResult(NamedTuple):
    values: Tensor
    inverse_indices: Tensor


def unique_all(x: Tensor, /) -> UniqueAllResult:
    """The distinct values of ``x`` (sorted), the index of each one's first occurrence in the flattened
    ``x``, each entry's index into the values (shaped like ``x``) and each value's count."""
    return UniqueAllResult(unique_values(x), _unique_part(x, "indices"), _unique_part(x, "inverse_indices"),
                           _unique_part(x, "counts"))


def unique_counts(x: Tensor, /) -> UniqueCountsResult:
    """The distinct values of ``x`` (sorted) and how often each occurs."""
    return UniqueCountsResult(unique_values(x), _unique_part(x, "counts"))


def unique_inverse(x: Tensor, /) -> UniqueInverseResult:
    """The distinct values of ``x`` (sorted) and each entry's index into them (shaped like ``x``)."""
    return UniqueInverseResult(unique_values(x), _unique_part(x, "inverse_indices"))
