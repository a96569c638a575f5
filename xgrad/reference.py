"""The reference experiments against PyTorch (used by ``xgrad verify`` and the tests).

1. Gradients of the 2-32-32-2 tanh MLP's cross-entropy on one mini-batch: xgrad against torch.autograd
   (max |ours - torch| per parameter, float64) and against central finite differences.
2. Training from identical weights and identical mini-batches with both engines: accuracy, loss, time.

This is verification code, not engine code: it uses NumPy and imports torch inside the functions that
need it. The pictures are in :mod:`xgrad.plotting`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from . import autograd, creation
from .data import BackendLike, DataLoader, load_dataset
from .gradcheck import numerical_grad
from .nn import (GELU, MLP, Dropout, Identity, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh,
                 functional as F)
from .optim import OPTIMIZERS, Optimizer
from .plotting import Predictor
from .tensor import Tensor
from .training import TrainResult, fit

if TYPE_CHECKING:
    import torch

__all__ = ["ReferenceRun", "REFERENCE", "reference_data", "reference_model", "torch_model_like", "torch_predictor",
           "gradient_table", "finite_difference_table", "TorchResult", "train_torch", "compare_training"]


@dataclass(frozen=True)
class ReferenceRun:
    """The settings of the reference run (Experiment 2)."""

    dataset: str = "moons"
    n_samples: int = 1000
    noise: float = 0.2
    sizes: tuple[int, ...] = (2, 32, 32, 2)
    activation: str = "tanh"
    optimizer: str = "sgd"
    lr: float = 0.05
    batch_size: int = 64
    epochs: int = 200
    seed: int = 42
    dtype: str = "float64"


REFERENCE = ReferenceRun()

GradientRow = tuple[str, tuple[int, ...], float]  # (parameter name, shape, max abs difference)


class TorchResult(NamedTuple):
    """What :func:`train_torch` measured (the PyTorch side of Experiment 2)."""

    accuracy: float
    loss: float
    seconds: float
    steps: int
    losses: list[float]


def reference_data(seed: int = REFERENCE.seed, backend: BackendLike = None, device: Any = None,
                   dtype: str = "float64") -> tuple[Tensor, Tensor]:
    """The reference run's two moons (1000 points, noise 0.2)."""
    return load_dataset(REFERENCE.dataset, n_samples=REFERENCE.n_samples, noise=REFERENCE.noise, seed=seed,
                        backend=backend, device=device, dtype=dtype)


def reference_model(sizes: tuple[int, ...] = REFERENCE.sizes, activation: str = REFERENCE.activation,
                    seed: int = REFERENCE.seed, backend: BackendLike = None, device: Any = None,
                    dtype: str = "float64") -> MLP:
    """A freshly initialised MLP (PyTorch's default init) from ``seed``."""
    creation.manual_seed(seed)
    return MLP(sizes, activation=activation, backend=backend, device=device, dtype=dtype)


_SAME_IN_TORCH = (Tanh, ReLU, Sigmoid, Identity)  # torch.nn has them under the same name, without arguments


def torch_model_like(model: Sequential, device: str = "cpu", dtype: str = "float64") -> torch.nn.Sequential:
    """A ``torch.nn.Sequential`` with the same layers and a copy of ``model``'s weights."""
    import torch

    layers: list[torch.nn.Module] = []
    for m in model:
        if isinstance(m, Linear):
            layers.append(torch.nn.Linear(m.in_features, m.out_features, bias=m.bias is not None))
        elif isinstance(m, GELU):
            layers.append(torch.nn.GELU(approximate=m.approximate))
        elif isinstance(m, LeakyReLU):
            layers.append(torch.nn.LeakyReLU(m.negative_slope))
        elif isinstance(m, Dropout):
            layers.append(torch.nn.Dropout(m.p))
        elif isinstance(m, _SAME_IN_TORCH):
            layers.append(getattr(torch.nn, type(m).__name__)())
        else:
            raise TypeError(f"no torch counterpart for layer {type(m).__name__}")
    tm = torch.nn.Sequential(*layers).to(device=device, dtype=getattr(torch, dtype))
    with torch.no_grad():
        tm.load_state_dict({k: torch.from_numpy(np.array(p.detach().numpy(), dtype=np.float64))
                            for k, p in model.named_parameters()})
    return tm


def torch_predictor(tmodel: torch.nn.Module) -> Predictor:
    """A :data:`xgrad.plotting.Predictor` for a float64 torch model (on its own device)."""
    import torch

    dev = next(tmodel.parameters()).device

    def predict(points: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return tmodel(torch.from_numpy(points).to(dev, torch.float64)).argmax(-1).cpu().numpy()

    return predict


def _first_batch(X: Tensor, y: Tensor, batch_size: int, seed: int) -> tuple[Tensor, Tensor]:
    """The first mini-batch :func:`xgrad.training.fit` would take (same seed), on ``X``'s device."""
    idx = DataLoader(X, y, batch_size=batch_size, shuffle=True, seed=seed).epoch_indices()[0]
    xb = creation.tensor(X.numpy()[idx], backend=X.backend, device=X.device)
    yb = creation.tensor(y.numpy()[idx], backend=y.backend, device=y.device)
    return xb, yb


def gradient_table(model: Sequential, X: Tensor, y: Tensor, batch_size: int = 64,
                   seed: int = 0) -> list[GradientRow]:
    """Experiment 1a: ``[(name, shape, max |ours - torch|)]`` for the loss on the first mini-batch."""
    import torch

    xb, yb = _first_batch(X, y, batch_size, seed)
    names, params = zip(*model.named_parameters())
    ours = autograd.grad(F.cross_entropy(model(xb), yb), list(params))
    tm = torch_model_like(model)
    torch.nn.functional.cross_entropy(tm(torch.from_numpy(xb.numpy()).double()),
                                      torch.from_numpy(yb.numpy())).backward()
    theirs = {name: p.grad.numpy() for name, p in tm.named_parameters() if p.grad is not None}
    return [(n, p.shape, float(np.max(np.abs(g.numpy() - theirs[n])))) for n, p, g in zip(names, params, ours)]


def _functional(model: Sequential) -> Any:
    """``f(x, y, *params) -> loss`` for a Sequential of Linear and parameter-free layers."""
    def f(xb: Tensor, yb: Tensor, *params: Tensor) -> Tensor:
        it = iter(params)
        h = xb
        for m in model:
            if isinstance(m, Linear):
                w = next(it)
                bias = next(it) if m.bias is not None else None
                h = F.linear(h, w, bias)
            else:
                h = m(h)
        return F.cross_entropy(h, yb)
    return f


def finite_difference_table(model: Sequential, X: Tensor, y: Tensor, batch_size: int = 64, seed: int = 0,
                            eps: float = 1e-6) -> list[GradientRow]:
    """Experiment 1b: ``[(name, shape, max |analytic - central difference|)]`` on the first mini-batch."""
    xb, yb = _first_batch(X, y, batch_size, seed)
    names, params = zip(*model.named_parameters())
    f = _functional(model)
    analytic = [g.numpy() for g in autograd.grad(f(xb, yb, *params), list(params))]
    numeric = numerical_grad(lambda *ps: f(xb, yb, *ps), list(params), eps=eps)
    return [(n, p.shape, float(np.max(np.abs(a - g)))) for n, p, a, g in zip(names, params, analytic, numeric)]


def train_torch(tmodel: torch.nn.Module, X: Tensor, y: Tensor, optimizer: str = "sgd", lr: float = 0.05,
                epochs: int = 200, batch_size: int = 64, seed: int = 0, device: str = "cpu",
                threads: int | None = 1) -> TorchResult:
    """Train a torch model with the same mini-batches as :func:`xgrad.training.fit` (same seed).

    ``threads``: torch's intra-op CPU threads during the run (None: leave torch's setting). The default
    is 1: at these sizes extra threads only add synchronisation (on a 2-core machine two threads made
    PyTorch about 5x slower per step), and xgrad's NumPy backend runs these ops on one thread too."""
    import torch

    previous = torch.get_num_threads()
    if threads is not None and device == "cpu":
        torch.set_num_threads(int(threads))
    try:
        return _train_torch(tmodel, X, y, optimizer, lr, epochs, batch_size, seed, device)
    finally:
        torch.set_num_threads(previous)


def _train_torch(tmodel: torch.nn.Module, X: Tensor, y: Tensor, optimizer: str, lr: float, epochs: int,
                 batch_size: int, seed: int, device: str) -> TorchResult:
    import torch

    Xt = torch.from_numpy(X.numpy().astype(np.float64)).to(device)
    yt = torch.from_numpy(y.numpy().astype(np.int64)).to(device)
    opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[optimizer](
        tmodel.parameters(), lr=lr)
    loader = DataLoader(X, y, batch_size=batch_size, shuffle=True, seed=seed)
    plans = [[torch.from_numpy(i).to(device) for i in loader.epoch_indices()] for _ in range(epochs)]
    n = len(yt)
    losses = []
    steps = 0
    tmodel.train()
    if device != "cpu":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for plan in plans:
        loss_sum: Any = None  # device scalars, summed without a host sync
        correct: Any = None
        for idx in plan:
            xb, yb = Xt[idx], yt[idx]
            logits = tmodel(xb)
            loss = torch.nn.functional.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
            with torch.no_grad():
                part = loss.detach() * len(idx)
                hits = (logits.argmax(-1) == yb).sum()
            loss_sum = part if loss_sum is None else loss_sum + part
            correct = hits if correct is None else correct + hits
        losses.append(float(loss_sum) / n)
        int(correct)  # read back once per epoch, as fit() does
    if device != "cpu":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        logits = tmodel(Xt)
        final_loss = float(torch.nn.functional.cross_entropy(logits, yt))
        acc = float((logits.argmax(-1) == yt).double().mean())
    return TorchResult(acc, final_loss, seconds, steps, losses)


def compare_training(X: Tensor, y: Tensor, sizes: tuple[int, ...] = REFERENCE.sizes,
                     activation: str = REFERENCE.activation, optimizer: str = REFERENCE.optimizer,
                     lr: float = REFERENCE.lr, epochs: int = REFERENCE.epochs, batch_size: int = REFERENCE.batch_size,
                     seed: int = REFERENCE.seed, backend: BackendLike = None, device: Any = None,
                     torch_device: str = "cpu", torch_threads: int | None = 1,
                     progress: bool = False) -> tuple[MLP, TrainResult, torch.nn.Sequential, TorchResult]:
    """Experiment 2: train xgrad and torch from the same initial weights on the same mini-batches
    (``torch_threads`` as in :func:`train_torch`). Returns (xgrad model, xgrad TrainResult, torch model,
    TorchResult)."""
    model = reference_model(sizes, activation, seed, backend=backend, device=device, dtype="float64")
    tmodel = torch_model_like(model, device=torch_device)
    make: Callable[..., Optimizer] = OPTIMIZERS[optimizer]
    opt = make(model.parameters(), lr=lr)
    result = fit(model, X, y, opt, epochs=epochs, batch_size=batch_size, seed=seed, progress=progress)
    theirs = train_torch(tmodel, X, y, optimizer, lr, epochs, batch_size, seed, device=torch_device,
                         threads=torch_threads)
    return model, result, tmodel, theirs
