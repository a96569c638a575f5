"""Verification helpers: xgrad's gradients against central finite differences and against torch.autograd.

All comparisons are made on host NumPy float64 copies. The quantity differentiated is always the scalar
``sum(f(*inputs) * grad_output)`` (``grad_output`` defaults to ones), so ``f`` may return a tensor of any
shape. Errors are *normwise relative*: ``max|got - want| / max|want|`` (the plain ``max|got - want|``
when ``want`` is all zeros).

    from xgrad.gradcheck import gradcheck, compare_with_torch
    x = xgrad.tensor(np.random.rand(3, 4), requires_grad=True)          # float64
    gradcheck(lambda x: xgrad.tanh(x), [x])                              # raises GradcheckError if off
                                                                         # (also xgrad.gradcheck)
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
from .errors import DTypeError
from .tensor import Tensor, new

__all__ = ["GradcheckError", "max_rel_diff", "analytic_grad", "numerical_grad", "gradcheck", "gradgradcheck",
           "torch_grad", "compare_with_torch"]


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


def _as_outputs(out: Any) -> tuple:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _floating(t: Any) -> bool:
    return isinstance(t, Tensor) and t._backend.is_floating(t.dtype)


def _jacobians_numerical(fn: Callable[..., Any], inputs: list, diff: list[int], eps: float,
                         graph: bool) -> list[list[np.ndarray]]:
    """J[k][i] (output k's size x input i's size) by central differences, each input entry moved by
    +-eps on its own backend. ``graph``: evaluate with grad mode on and inputs that require grad (the
    function itself calls backward, as gradgradcheck's does)."""
    hosts = [_host(x) if isinstance(x, Tensor) else None for x in inputs]

    def evaluate(i: int, values: np.ndarray) -> list[np.ndarray]:
        args = list(inputs)
        moved = _like(inputs[i], values)
        if graph and inputs[i].requires_grad:
            moved.requires_grad_()
        args[i] = moved
        if graph:
            args = [a.detach().requires_grad_() if isinstance(a, Tensor) and a.requires_grad and j != i else a
                    for j, a in enumerate(args)]
            outs = _as_outputs(fn(*args))
        else:
            with autograd.no_grad():
                outs = _as_outputs(fn(*args))
        return [_host(o).ravel() if _floating(o) else np.zeros(0) for o in outs]

    columns: list[list[list[np.ndarray]]] = []  # [input][entry] -> per output
    for i in diff:
        base = hosts[i]
        assert base is not None
        cols = []
        for j in np.ndindex(*base.shape):
            plus, minus = base.copy(), base.copy()
            plus[j] += eps
            minus[j] -= eps
            up, down = evaluate(i, plus), evaluate(i, minus)
            cols.append([(u - d) / (2 * eps) for u, d in zip(up, down)])
        columns.append(cols)
    n_out = len(columns[0][0]) if columns and columns[0] else 0
    return [[np.stack([c[k] for c in cols], axis=1) if cols else np.zeros((0, 0)) for cols in columns]
            for k in range(n_out)]


def _jacobians_analytical(outs: tuple, inputs: list, diff: list[int]) -> list[list[np.ndarray]]:
    """J[k][i] from xgrad's backward: one ``xgrad.grad`` per output entry (a one-hot seed)."""
    result = []
    for o in outs:
        sizes = [int(np.prod(inputs[i].shape)) for i in diff]
        if not _floating(o):
            result.append([np.zeros((0, n)) for n in sizes])
            continue
        n_o = int(np.prod(o.shape))
        rows = [np.zeros((n_o, n)) for n in sizes]
        if o.requires_grad:
            for r in range(n_o):
                seed = np.zeros(n_o)
                seed[r] = 1.0
                gs = autograd.grad(o, [inputs[i] for i in diff], grad_outputs=[_like(o, seed.reshape(o.shape))],
                                   retain_graph=True, allow_unused=True)
                for m, g in enumerate(gs):
                    if g is not None:
                        rows[m][r] = _host(g).ravel()
        result.append(rows)
    return result


def gradcheck(fn: Callable[..., Any], inputs: Any, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, _graph: bool = False) -> bool:
    """Check the gradients of ``fn`` (ops, a custom ``Function``) against central finite differences.

    ``inputs``: a Tensor or a sequence; the float64 Tensors with ``requires_grad=True`` are checked.
    ``fn`` returns a Tensor or a tuple of them (non-floating outputs are skipped). Every entry of every
    Jacobian must satisfy ``|analytical - numerical| <= atol + rtol * |numerical|``, as in
    ``torch.autograd.gradcheck``. Returns True; otherwise raises ``GradcheckError`` (or returns False
    with ``raise_exception=False``) naming the output, the input, the element, and both values.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck: no input requires grad; mark the inputs to check with requires_grad=True")
    for i in diff:
        if inputs[i]._backend.dtype_name(inputs[i].dtype) != "float64":
            raise DTypeError(f"gradcheck: input {i} is {inputs[i]._backend.dtype_name(inputs[i].dtype)}; finite "
                             "differences need float64 inputs (cast with .to('float64'))")
    outs = _as_outputs(fn(*inputs))
    analytical = _jacobians_analytical(outs, inputs, diff)
    numerical = _jacobians_numerical(fn, inputs, diff, eps, _graph)
    for k, (a_rows, n_rows) in enumerate(zip(analytical, numerical)):
        for m, (a, n) in enumerate(zip(a_rows, n_rows)):
            if a.size == 0:
                continue
            excess = np.abs(a - n) - (atol + rtol * np.abs(n))  # > 0: outside the tolerance
            bad = excess > 0
            if not bad.any():
                continue
            r, c = np.unravel_index(int(np.argmax(excess)), a.shape)  # the worst violation
            i = diff[m]
            in_index = np.unravel_index(c, inputs[i].shape) if inputs[i].shape else ()
            out_shape = tuple(outs[k].shape)
            out_index = np.unravel_index(r, out_shape) if out_shape else ()
            message = (
                f"gradcheck: the Jacobian of output {k} (shape {out_shape}) with respect to input {i} "
                f"(shape {tuple(inputs[i].shape)}) is wrong at input element {tuple(map(int, in_index))}, "
                f"output element {tuple(map(int, out_index))}: analytical {float(a[r, c])!r}, numerical {float(n[r, c])!r} "
                f"(allowed difference {atol + rtol * abs(n[r, c]):.3g}; {int(bad.sum())} of {a.size} entries "
                "differ). The backward of an op or custom Function on that path is wrong (a transposed or "
                "missing term?).")
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def gradgradcheck(fn: Callable[..., Any], inputs: Any, grad_outputs: Any = None, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check second derivatives: ``gradcheck`` of the map (inputs, grad_outputs) -> the gradients of
    ``sum(fn(inputs) * grad_outputs)`` with respect to the inputs, computed with ``create_graph=True``.
    ``grad_outputs`` (one per output) default to fixed random float64 values."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outs = [o for o in _as_outputs(fn(*inputs)) if _floating(o)]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [_like(o, rng.standard_normal(tuple(o.shape))).requires_grad_() for o in outs]
    else:
        grad_outputs = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
    n = len(inputs)

    def first_derivatives(*args: Any) -> tuple:
        xs, seeds = args[:n], args[n:]
        got = [o for o in _as_outputs(fn(*xs)) if _floating(o)]
        pairs = [(o, s) for o, s in zip(got, seeds) if o.requires_grad]
        grads = autograd.grad([o for o, _ in pairs], [xs[i] for i in diff], grad_outputs=[s for _, s in pairs],
                              create_graph=True, allow_unused=True)
        return tuple(new(xs[i]._backend.xp.zeros_like(xs[i].data), xs[i]._backend) if g is None else g
                     for i, g in zip(diff, grads))

    return gradcheck(first_derivatives, [*inputs, *grad_outputs], eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, _graph=True)


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
