"""A lean training loop for classifiers (used by ``xgrad train``, ``xgrad verify`` and the tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import distributed
from .amp import GradScaler, autocast
from .backends import checks
from .autograd import no_grad
from .compile import compile as compile_step
from .data import DataLoader
from .nn import Module, functional as F
from .nn.parallel import DistributedDataParallel
from .optim import LRScheduler, Optimizer
from .tensor import Tensor, new

__all__ = ["fit", "evaluate", "predict", "TrainResult"]


def __dir__() -> list[str]:  # dir() and tab completion list the public names, not this module's imports
    return sorted(__all__)


LossFn = Callable[[Tensor, Tensor], Tensor]  # (logits, labels) -> scalar loss


@dataclass
class TrainResult:
    """What :func:`fit` measured: per-epoch mean loss and accuracy, final full-data accuracy and loss,
    wall-clock seconds of the training loop and optimizer steps taken."""

    losses: list[float]
    accuracies: list[float]
    accuracy: float
    loss: float
    seconds: float
    steps: int

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else float("inf")

    def __repr__(self) -> str:
        return (f"TrainResult(accuracy={self.accuracy:.4f}, loss={self.loss:.4f}, seconds={self.seconds:.3f}, "
                f"steps={self.steps}, steps_per_second={self.steps_per_second:.0f})")


def evaluate(model: Module, X: Tensor, y: Tensor, loss_fn: LossFn = F.cross_entropy) -> tuple[float, float]:
    """(accuracy in [0, 1], mean loss) of ``model`` on the whole of ``X, y``, without a graph."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            logits = model(X)
            loss = float(loss_fn(logits, y))
            b = logits._backend
            xp = b.xp
            correct = int(xp.sum(xp.astype(xp.argmax(logits.data, axis=-1) == y.data, b.dtype("int64"))))
    finally:
        model.train(was_training)
    return correct / y.shape[0], loss


def predict(model: Module, X: Tensor) -> Any:
    """Class predictions (a raw backend integer array)."""
    with no_grad():
        logits = model(X)
    return logits._backend.xp.argmax(logits.data, axis=-1)


def fit(model: Module, X: Tensor, y: Tensor, optimizer: Optimizer, epochs: int = 200, batch_size: int = 64,
        seed: int = 0, shuffle: bool = True, drop_last: bool = False, loss_fn: LossFn = F.cross_entropy,
        scheduler: LRScheduler | None = None, progress: bool = False,
        on_epoch: Callable[[int, float, float], Any] | None = None, loader: DataLoader | None = None,
        compile: bool = False, amp: str | None = None, cuda_graph: bool | None = None) -> TrainResult:
    """Train ``model`` on ``X, y`` with mini-batches; returns a :class:`TrainResult`.

    The batch order comes from ``DataLoader(X, y, batch_size, shuffle, drop_last, seed)`` (pass ``loader``
    to use another). ``scheduler`` (if any) steps once per epoch. ``progress=True`` shows a tqdm bar with
    the epoch's running means of loss and accuracy over its batches. Per-epoch loss and accuracy are
    accumulated on the device and read back once per epoch, with the checks a backend deferred (class
    labels on a GPU: ``xgrad.check_pending``), so a step waits for the device nowhere. ``compile=True`` runs each step through
    :func:`xgrad.compile` (the same numbers, bit for bit, with the per-op overhead paid once per batch shape);
    ``cuda_graph`` is passed to it (a CUDA graph per batch shape on CuPy or torch on CUDA).
    ``amp="float16"`` (or ``"bfloat16"``) runs forward and loss under :class:`xgrad.autocast` with a :class:`xgrad.GradScaler`.
    """
    if amp is not None and compile:
        raise ValueError("fit: amp and compile cannot be combined (a compiled replay would not cast)")
    scaler = GradScaler() if amp is not None else None

    def step(xb: Tensor, yb: Tensor) -> tuple[Tensor, Tensor]:
        if scaler is not None:
            with autocast(dtype=amp):  # type: ignore[arg-type]
                logits = model(xb)
                loss = loss_fn(logits, yb)
            optimizer.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            return loss, logits
        logits = model(xb)
        loss = loss_fn(logits, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, logits

    if cuda_graph and not compile:
        raise ValueError("fit: cuda_graph=True needs compile=True (a CUDA graph records a compiled step)")
    if compile:
        step = compile_step(step, cuda_graph=cuda_graph)
    if loader is None:
        loader = DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed)
    b = X._backend
    xp = b.xp
    int64 = b.dtype("int64")
    # data-parallel: each rank sees its shard; the epoch's figures are summed over the ranks
    shared = isinstance(model, DistributedDataParallel) and distributed.world_size() > 1
    epochs_iter = range(int(epochs))
    bar = None
    if progress:
        try:
            from tqdm import tqdm
        except ImportError:
            raise ImportError('fit(progress=True) shows a tqdm bar, and tqdm is not installed: '
                              'pip install "xgrad[cli]" (or pass progress=False)') from None
        bar = tqdm(epochs_iter, desc="train", unit="epoch", leave=True, dynamic_ncols=True)
        epochs_iter = bar
    losses, accs = [], []
    steps = 0
    model.train()
    b.synchronize()
    start = time.perf_counter()
    for epoch in epochs_iter:
        loss_sum: Any = None  # device scalars, read back once per epoch
        correct: Any = None
        n_seen = 0
        for xb, yb in loader:
            n_seen += yb.shape[0]
            loss, logits = step(xb, yb)
            steps += 1
            part = loss.data * yb.shape[0]
            hits = xp.sum(xp.astype(xp.argmax(logits.data, axis=-1) == yb.data, int64))
            loss_sum = part if loss_sum is None else loss_sum + part
            correct = hits if correct is None else correct + hits
        if scheduler is not None:
            scheduler.step()
        if checks.pending:  # labels the backend checked on the device during the epoch: read with the totals
            checks.raise_pending(f"the end of epoch {epoch + 1} in fit")
        totals = [float(loss_sum), int(correct), n_seen]
        if shared:
            summed = distributed.all_reduce(new(b.asarray(totals, dtype=b.dtype("float64")), b), op="sum")
            totals = b.to_numpy(summed.data).tolist()
        losses.append(totals[0] / totals[2])
        accs.append(totals[1] / totals[2])
        if bar is not None:
            # running means over the epoch's batches (the weights change within it), not an evaluation
            bar.set_postfix({"loss (epoch mean)": f"{losses[-1]:.4f}", "acc (epoch mean)": f"{100 * accs[-1]:.1f}%"},
                            refresh=False)
        if on_epoch is not None:
            on_epoch(epoch, losses[-1], accs[-1])
    b.synchronize()
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()
    final_accuracy, final_loss = evaluate(model, X, y, loss_fn)
    return TrainResult(losses, accs, final_accuracy, final_loss, seconds, steps)
