"""Pictures of trained classifiers (matplotlib, Agg): decision boundaries and training curves.

Used by ``xgrad train --plot`` and ``xgrad verify``. It imports matplotlib when called and never imports
torch: a model from another engine comes in as a :data:`Predictor`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import creation
from .autograd import no_grad
from .nn import Module
from .tensor import Tensor

__all__ = ["Predictor", "decision_grid", "xgrad_predictor", "plot_training", "plot_boundaries"]


def __dir__() -> list[str]:  # dir() and tab completion list the public names, not this module's imports
    return sorted(__all__)


Predictor = Callable[[np.ndarray], np.ndarray]
"""Host float64 points ``(n, 2)`` in, host class labels ``(n,)`` out."""


def decision_grid(Xh: np.ndarray, steps: int = 200, pad: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(gx, gy, points)``: a ``steps`` x ``steps`` mesh over the 2-D points ``Xh`` (plus ``pad``) and its
    points as an ``(steps**2, 2)`` array."""
    x0, x1 = Xh[:, 0].min() - pad, Xh[:, 0].max() + pad
    y0, y1 = Xh[:, 1].min() - pad, Xh[:, 1].max() + pad
    gx, gy = np.meshgrid(np.linspace(x0, x1, steps), np.linspace(y0, y1, steps))
    return gx, gy, np.stack([gx.ravel(), gy.ravel()], axis=1)


def xgrad_predictor(model: Module, like: Tensor) -> Predictor:
    """A :data:`Predictor` for an xgrad ``model``: points go to ``like``'s backend, device and dtype."""
    def predict(points: np.ndarray) -> np.ndarray:
        t = creation.tensor(points, dtype=like.dtype, backend=like.backend, device=like.device)
        with no_grad():
            logits = model(t).numpy()
        return logits.argmax(-1)

    return predict


def _draw_boundary(ax: Any, gx: np.ndarray, gy: np.ndarray, pred: np.ndarray, Xh: np.ndarray, yh: np.ndarray,
                   title: str) -> None:
    ax.contourf(gx, gy, pred.reshape(gx.shape), levels=[-0.5, 0.5, 1.5] if pred.max() <= 1 else None,
                cmap="RdBu", alpha=0.35)
    ax.scatter(Xh[:, 0], Xh[:, 1], c=yh, cmap="RdBu", s=8, edgecolors="k", linewidths=0.2)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_training(path: str, model: Module, X: Tensor, y: Tensor, losses: Sequence[float],
                  accuracies: Sequence[float] | None = None, title: str = "xgrad") -> str:
    """Decision boundary (left) and per-epoch loss and accuracy curves (right) to ``path`` (PNG)."""
    plt = _pyplot()
    Xh, yh = X.numpy(), y.numpy()
    gx, gy, pts = decision_grid(Xh)
    pred = xgrad_predictor(model, X)(pts)
    fig, (a, c) = plt.subplots(1, 2, figsize=(10, 4.2))
    _draw_boundary(a, gx, gy, pred, Xh, yh, f"{title}: decision boundary")
    c.plot(np.arange(1, len(losses) + 1), losses, color="C0", label="loss")
    c.set_xlabel("epoch")
    c.set_ylabel("mean training loss", color="C0")
    c.set_yscale("log")
    c.grid(alpha=0.3)
    if accuracies is not None:
        c2 = c.twinx()
        c2.plot(np.arange(1, len(accuracies) + 1), 100 * np.asarray(accuracies), color="C1", label="accuracy")
        c2.set_ylabel("training accuracy (%)", color="C1")
    c.set_title("training curve", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_boundaries(path: str, X: Tensor, y: Tensor, left: Predictor, right: Predictor,
                    titles: tuple[str, str] = ("xgrad", "PyTorch")) -> str:
    """Two classifiers' decision boundaries side by side (PNG), titled with how many grid points they
    classify differently."""
    plt = _pyplot()
    Xh, yh = X.numpy(), y.numpy()
    gx, gy, pts = decision_grid(Xh)
    ours, theirs = left(pts), right(pts)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
    _draw_boundary(axes[0], gx, gy, ours, Xh, yh, titles[0])
    _draw_boundary(axes[1], gx, gy, theirs, Xh, yh, titles[1])
    fig.suptitle(f"decision boundaries (grid points classified differently: {int((ours != theirs).sum())} "
                 f"of {ours.size})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
