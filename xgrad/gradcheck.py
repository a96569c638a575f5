"""Verification helpers: xgrad's gradients against central finite differences and against torch.autograd.

All comparisons are made on host NumPy float64 copies. The quantity differentiated is always the scalar
``sum(f(*inputs) * grad_output)`` (``grad_output`` defaults to ones), so ``f`` may return a tensor of any
shape. Errors are *normwise relative*: ``max|got - want| / max|want|`` (the plain ``max|got - want|``
when ``want`` is all zeros).

    from xgrad.gradcheck import gradcheck, compare_with_torch
    x = xgrad.tensor(np.random.rand(3, 4), requires_grad=True)          # float64
    gradcheck(lambda x: xgrad.tanh(x), [x])                              # raises GradcheckError if off
    compare_with_torch(lambda x: xgrad.tanh(x), lambda x: torch.tanh(x), [x])   # -> [max rel diff]

This module is a verification helper, not part of the engine: it may use NumPy, and imports torch only
inside the functions that need it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import autograd
from .backends import to_host
from .tensor import Tensor, new

__all__ = ["GradcheckError", "max_rel_diff", "analytic_grad", "numerical_grad", "gradcheck", "torch_grad",
           "compare_with_torch"]


def __dir__() -> list[str]:  # dir() and tab completion list the public names, not this module's imports
    return sorted(__all__)


class GradcheckError(AssertionError):
    """Gradients that disagree with their reference by more than the tolerance."""


def _host(x: Any) -> np.ndarray:
    """A float64 NumPy copy of a Tensor, a torch tensor or any array."""
    return np.asarray(to_host(x), dtype=np.float64)


def _like(x: Tensor, values: Any) -> Tensor:
    """A new leaf tensor on ``x``'s backend and device holding ``values`` in ``x``'s dtype."""
    b = x._backend
    return new(b.asarray(np.asarray(values), dtype=x.dtype, device=x.device), b)


def _seed_for(out: Tensor, grad_output: Any) -> Tensor:
    if grad_output is None:
        return new(out._backend.xp.ones_like(out.data), out._backend)
    if isinstance(grad_output, Tensor):
        return grad_output
    return _like(out, _host(grad_output))


def max_rel_diff(got: Any, want: Any) -> float:
    """``max|got - want| / max|want|`` over all entries (absolute difference when ``want`` is all zero)."""
    got, want = _host(got), _host(want)
    if got.shape != want.shape:
        raise GradcheckError(f"shapes differ: {got.shape} vs {want.shape}")
    if got.size == 0:
        return 0.0
    diff = float(np.max(np.abs(got - want)))
    scale = float(np.max(np.abs(want)))
    return diff / scale if scale > 0 else diff


def analytic_grad(f: Callable[..., Tensor], inputs: Sequence[Tensor], grad_output: Any = None) -> list[np.ndarray]:
    """xgrad's gradients of ``sum(f(*inputs) * grad_output)`` w.r.t. each input, as float64 NumPy arrays.

    ``inputs`` are floating-point Tensors with ``requires_grad=True``; an input ``f`` does not use gets
    zeros. No ``.grad`` is touched (this uses ``xgrad.grad``).
    """
    out = f(*inputs)
    grads = autograd.grad(out, list(inputs), grad_outputs=[_seed_for(out, grad_output)], allow_unused=True)
    return [np.zeros(x.shape) if g is None else _host(g) for x, g in zip(inputs, grads)]


def numerical_grad(f: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6,
                   grad_output: Any = None) -> list[np.ndarray]:
    """Central finite differences of ``sum(f(*inputs) * grad_output)`` w.r.t. each input (float64 NumPy).

    Each entry of each input is moved by ``+eps`` and ``-eps`` in turn (``2 * size`` evaluations of ``f``,
    under ``no_grad``) on the input's own backend; use float64 inputs, small shapes, and values away
    from kinks (relu at 0, ties in max) where the derivative does not exist.
    """
    inputs = list(inputs)
    hosts = [_host(x) for x in inputs]
    w = None if grad_output is None else _host(grad_output)

    def objective(values: list[np.ndarray]) -> float:
        with autograd.no_grad():
            out = _host(f(*[_like(x, v) for x, v in zip(inputs, values)]))
        return float(np.sum(out if w is None else out * w))

    grads = []
    for i, base in enumerate(hosts):
        g = np.zeros(base.shape)
        for j in np.ndindex(*base.shape):
            values = list(hosts)
            plus, minus = base.copy(), base.copy()
            plus[j] += eps
            minus[j] -= eps
            values[i] = plus
            up = objective(values)
            values[i] = minus
            g[j] = (up - objective(values)) / (2 * eps)
        grads.append(g)
    return grads


def gradcheck(f: Callable[..., Tensor], inputs: Sequence[Tensor], rtol: float = 1e-6, atol: float = 0.0,
              eps: float = 1e-6, grad_output: Any = None) -> float:
    """Check xgrad's gradients of ``f`` against central finite differences.

    Passes when, for every input, ``max|analytic - numeric| <= atol + rtol * max|numeric|``. Returns the
    worst normwise relative difference (a float, for reports); raises ``GradcheckError`` naming the
    input and the sizes of the disagreement otherwise.
    """
    analytic = analytic_grad(f, inputs, grad_output)
    numeric = numerical_grad(f, inputs, eps=eps, grad_output=grad_output)
    return _check("finite differences", analytic, numeric, rtol, atol)


def _check(what: str, got: Sequence[np.ndarray], want: Sequence[np.ndarray], rtol: float, atol: float) -> float:
    worst = 0.0
    for i, (a, n) in enumerate(zip(got, want)):
        diff = float(np.max(np.abs(a - n))) if a.size else 0.0
        scale = float(np.max(np.abs(n))) if n.size else 0.0
        if diff > atol + rtol * scale:
            raise GradcheckError(
                f"gradient of input {i} (shape {a.shape}) differs from {what}: max abs diff {diff:.3e}, "
                f"max abs reference {scale:.3e}, allowed {atol + rtol * scale:.3e}")
        worst = max(worst, max_rel_diff(a, n))
    return worst


def torch_grad(f_torch: Callable[..., Any], arrays: Sequence[Any], grad_output: Any = None) -> list[np.ndarray]:
    """torch.autograd's gradients of ``sum(f_torch(*tensors) * grad_output)``, as float64 NumPy arrays.

    ``arrays`` (NumPy arrays or xgrad Tensors) become float64 CPU torch leaves.
    """
    import torch

    leaves = [torch.tensor(_host(a), dtype=torch.float64, requires_grad=True) for a in arrays]
    out = f_torch(*leaves)
    seed = torch.ones_like(out) if grad_output is None else torch.tensor(_host(grad_output), dtype=out.dtype)
    grads = torch.autograd.grad(out, leaves, grad_outputs=seed, allow_unused=True)
    return [np.zeros(a.shape) if g is None else _host(g) for a, g in zip(leaves, grads)]


def compare_with_torch(f: Callable[..., Tensor], f_torch: Callable[..., Any], inputs: Sequence[Tensor],
                       grad_output: Any = None, rtol: float | None = None) -> list[float]:
    """Max normwise relative difference, per input, between xgrad's and torch.autograd's gradients.

    ``f`` takes xgrad Tensors (``inputs``, float64, requires_grad=True); ``f_torch`` is the same function
    written with torch and gets torch tensors holding the same values. Returns a list of floats; with
    ``rtol`` given, raises ``GradcheckError`` when any input differs by more.
    """
    ours = analytic_grad(f, inputs, grad_output)
    theirs = torch_grad(f_torch, inputs, grad_output)
    if rtol is not None:
        _check("torch.autograd", ours, theirs, rtol, 0.0)
    return [max_rel_diff(a, b) for a, b in zip(ours, theirs)]
