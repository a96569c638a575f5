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

__all__ = ["Predictor", "decision_grid", "xgrad_predictor", "plot_training", "plot_boundaries", "class_colors",
           "confusion_matrix", "plot_classifier"]


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


def class_colors(n: int) -> list[Any]:
    """``n`` distinct colours (RGBA), one per class, none pale: matplotlib's qualitative tab10 up to 10
    classes, tab20 up to 20, beyond that evenly spaced hues, alternately bright and dark so that
    neighbouring classes differ."""
    from matplotlib import colormaps
    from matplotlib.colors import hsv_to_rgb

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [colormaps["tab20"](i) for i in range(n)]
    return [(*hsv_to_rgb((i / n, 0.85, 0.8 if i % 2 == 0 else 0.5)), 1.0) for i in range(n)]


def _draw_boundary(ax: Any, gx: np.ndarray, gy: np.ndarray, pred: np.ndarray, Xh: np.ndarray, yh: np.ndarray,
                   title: str, n_classes: int) -> None:
    """Predicted regions (light) and the points (dark-edged), one colour per class, with a class legend."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    colors = class_colors(n_classes)
    cmap = ListedColormap(colors)
    norm = BoundaryNorm(np.arange(n_classes + 1) - 0.5, n_classes)
    ax.contourf(gx, gy, pred.reshape(gx.shape), levels=np.arange(n_classes + 1) - 0.5, cmap=cmap, norm=norm,
                alpha=0.25)
    for k in range(n_classes):
        on = yh == k
        ax.scatter(Xh[on, 0], Xh[on, 1], color=colors[k], s=9, edgecolors="k", linewidths=0.25, label=f"class {k}")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("feature 1")
    ax.set_ylabel("feature 2")
    where = dict(loc="best") if n_classes <= 4 else dict(loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside
    ax.legend(fontsize=7, ncol=1 if n_classes <= 12 else 2, markerscale=1.5, framealpha=0.85,
              title="points (regions: prediction)", title_fontsize=7, **where)


def _n_classes(*labels: np.ndarray) -> int:
    return int(max(int(np.max(v)) for v in labels if np.size(v))) + 1


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
    n_classes = _n_classes(yh, pred)
    fig, (a, c) = plt.subplots(1, 2, figsize=(11, 4.6))
    _draw_boundary(a, gx, gy, pred, Xh, yh, f"{title}: decision boundary", n_classes)
    lines = c.plot(np.arange(1, len(losses) + 1), losses, color="C0", label="loss (log scale, left)")
    c.set_xlabel("epoch")
    c.xaxis.get_major_locator().set_params(integer=True)  # whole epochs only
    c.set_ylabel("training loss (cross-entropy, nats)", color="C0")
    c.set_yscale("log")
    c.grid(alpha=0.3)
    if accuracies is not None:
        c2 = c.twinx()
        lines += c2.plot(np.arange(1, len(accuracies) + 1), 100 * np.asarray(accuracies), color="C1",
                         label="accuracy (%, right)")
        c2.set_ylabel("training accuracy (%)", color="C1")
    c.legend(handles=lines, fontsize=8, loc="center right")
    c.set_title("training curves: each epoch's running mean over its batches", fontsize=10)
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
    n_classes = _n_classes(yh, ours, theirs)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    _draw_boundary(axes[0], gx, gy, ours, Xh, yh, titles[0], n_classes)
    _draw_boundary(axes[1], gx, gy, theirs, Xh, yh, titles[1], n_classes)
    fig.suptitle(f"decision boundaries (grid points classified differently: {int((ours != theirs).sum())} "
                 f"of {ours.size})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n_classes, n_classes)`` counts: row = true class, column = predicted class."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(labels, dtype=np.int64), np.asarray(predictions, dtype=np.int64)), 1)
    return m


def plot_classifier(path: str, losses: Sequence[float], test_losses: Sequence[float], accuracies: Sequence[float],
                    test_accuracies: Sequence[float], confusion: np.ndarray, title: str = "xgrad") -> str:
    """Per-epoch train and test loss and accuracy (left) and the test confusion matrix (right), to
    ``path`` (PNG): for data sets with a held-out test split (``xgrad train --model cnn``)."""
    plt = _pyplot()
    fig, (a, c) = plt.subplots(1, 2, figsize=(11, 4.6))
    epochs = np.arange(1, len(losses) + 1)
    a.plot(epochs, losses, color="C0", label="train loss (running mean over the epoch's batches)")
    if len(test_losses):
        a.plot(np.arange(1, len(test_losses) + 1), test_losses, color="C0", ls="--", label="test loss")
    a.set_xlabel("epoch")
    a.xaxis.get_major_locator().set_params(integer=True)  # whole epochs only
    a.set_ylabel("mean loss")
    a.set_yscale("log")
    a.grid(alpha=0.3)
    a2 = a.twinx()
    a2.plot(epochs, 100 * np.asarray(accuracies), color="C1", label="train accuracy (running mean)")
    if len(test_accuracies):
        a2.plot(np.arange(1, len(test_accuracies) + 1), 100 * np.asarray(test_accuracies), color="C1", ls="--",
                label="test accuracy")
    a2.set_ylabel("accuracy (%)")
    lines = a.get_lines() + a2.get_lines()
    a.legend(lines, [ln.get_label() for ln in lines], loc="center right", fontsize=8)
    a.set_title("loss and accuracy", fontsize=10)
    k = confusion.shape[0]
    c.imshow(confusion, cmap="Blues")
    for i in range(k):
        for j in range(k):
            if confusion[i, j]:
                c.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=7,
                       color="white" if confusion[i, j] > confusion.max() / 2 else "black")
    c.set_xticks(range(k))
    c.set_yticks(range(k))
    c.set_xlabel("predicted class")
    c.set_ylabel("true class")
    c.set_title(f"test confusion matrix ({int(np.trace(confusion))}/{int(confusion.sum())} right)", fontsize=10)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
