"""Gradient-flow report: per parameter, the gradient's norm, the parameter's norm, their ratio and a
status, to find layers whose gradients vanish, explode, are NaN or never arrive.

    report = xgrad.nn.utils.grad_report(model)     # after loss.backward()
    print(report)                                  # a table
    report.rows[0].status, report.ok               # as data
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..autograd import no_grad
from ..ops import astype, sqrt, square, sum as _sum
from ..tensor import Tensor

__all__ = ["grad_report", "GradReport", "GradRow", "STATUSES"]

STATUSES = ("OK", "VANISHING", "EXPLODING", "NO GRAD", "NaN")


@dataclass(frozen=True)
class GradRow:
    """One parameter's line: ``ratio`` is grad_norm / param_norm (inf for a zero parameter)."""

    name: str
    shape: tuple[int, ...]
    grad_norm: float | None
    param_norm: float
    ratio: float | None
    status: str


@dataclass(frozen=True)
class GradReport:
    rows: list[GradRow]
    vanishing: float
    exploding: float

    @property
    def ok(self) -> bool:
        """Whether every parameter's status is OK."""
        return all(r.status == "OK" for r in self.rows)

    def by_status(self, status: str) -> list[str]:
        """The names of the parameters with ``status``."""
        return [r.name for r in self.rows if r.status == status]

    def table(self) -> str:
        header = ("parameter", "shape", "grad norm", "param norm", "grad/param", "status")
        lines = [(r.name, "x".join(map(str, r.shape)) or "scalar", _num(r.grad_norm), _num(r.param_norm),
                  _num(r.ratio), r.status) for r in self.rows]
        widths = [max(len(h), *(len(row[i]) for row in lines)) if lines else len(h) for i, h in enumerate(header)]
        out = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(), "  ".join("-" * w for w in widths)]
        out += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in lines]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.table()


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.3e}"


def _norm(t: Tensor) -> float:
    with no_grad():
        t = astype(t, "float64")  # float16 squares overflow
        return float(sqrt(_sum(square(t))))


def grad_report(model: Any, vanishing: float = 1e-7, exploding: float = 1e3) -> GradReport:
    """The gradient flow of ``model`` (a Module, or an iterable of (name, Tensor) pairs) after a backward.

    Status per parameter: ``NO GRAD`` (``.grad`` is None: the parameter did not reach the loss),
    ``NaN`` (its gradient holds NaN or Inf), ``VANISHING`` (gradient norm below ``vanishing``),
    ``EXPLODING`` (gradient norm above ``exploding``), ``OK`` otherwise."""
    pairs = list(model.named_parameters()) if hasattr(model, "named_parameters") else list(model)
    rows = []
    for name, p in pairs:
        param_norm = _norm(p.detach())
        g = p.grad
        if g is None:
            rows.append(GradRow(name, tuple(p.shape), None, param_norm, None, "NO GRAD"))
            continue
        grad_norm = _norm(g)
        if not math.isfinite(grad_norm):
            status = "NaN"
        elif grad_norm < vanishing:
            status = "VANISHING"
        elif grad_norm > exploding:
            status = "EXPLODING"
        else:
            status = "OK"
        ratio = grad_norm / param_norm if param_norm > 0 else math.inf
        rows.append(GradRow(name, tuple(p.shape), grad_norm, param_norm, ratio, status))
    return GradReport(rows, vanishing, exploding)


def __dir__() -> list[str]:  # dir() and tab completion list the public names, not this module's imports
    return sorted(__all__)
