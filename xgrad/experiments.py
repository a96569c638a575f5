"""The reference experiments, reproduced against PyTorch (used by ``xgrad verify`` and the tests).

1. Gradients of the 2-32-32-2 tanh MLP's cross-entropy on one mini-batch: xgrad against torch.autograd
   (max |ours - torch| per parameter, float64) and against central finite differences.
2. Training from identical weights and identical mini-batches with both engines: accuracy, loss, time.
3. Both decision boundaries side by side (``plot_boundaries``).

This is verification code, not engine code: it uses NumPy and imports torch when called.
"""

import time

import numpy as np

from . import creation
from .autograd import no_grad
from .data import DataLoader, load_dataset
from .nn import MLP, Linear, functional as F
from .optim import OPTIMIZERS
from .training import fit

__all__ = ["REFERENCE", "reference_model", "torch_model_like", "gradient_table", "finite_difference_table",
           "train_torch", "compare_training", "plot_boundaries", "plot_training"]

# Experiment 2's settings: two moons (1000 points, noise 0.2), 2-32-32-2 tanh, SGD lr 0.05, batch 64, 200 epochs.
REFERENCE = dict(dataset="moons", n_samples=1000, noise=0.2, sizes=(2, 32, 32, 2), activation="tanh",
                 optimizer="sgd", lr=0.05, batch_size=64, epochs=200, seed=42, dtype="float64")


def reference_model(sizes=REFERENCE["sizes"], activation="tanh", seed=REFERENCE["seed"], backend=None, device=None,
                    dtype="float64"):
    """A freshly initialised MLP (PyTorch's default init) from ``seed``."""
    creation.manual_seed(seed)
    return MLP(sizes, activation=activation, backend=backend, device=device, dtype=dtype)


_TORCH_ACT = {"Tanh": "Tanh", "ReLU": "ReLU", "Sigmoid": "Sigmoid", "Identity": "Identity"}


def torch_model_like(model, device="cpu", dtype="float64"):
    """A ``torch.nn.Sequential`` with the same layers and a copy of ``model``'s weights."""
    import torch

    layers = []
    for m in model:
        kind = type(m).__name__
        if isinstance(m, Linear):
            layers.append(torch.nn.Linear(m.in_features, m.out_features, bias=m.bias is not None))
        elif kind == "GELU":
            layers.append(torch.nn.GELU(approximate="tanh"))
        elif kind == "LeakyReLU":
            layers.append(torch.nn.LeakyReLU(m.negative_slope))
        elif kind == "Dropout":
            layers.append(torch.nn.Dropout(m.p))
        elif kind in _TORCH_ACT:
            layers.append(getattr(torch.nn, _TORCH_ACT[kind])())
        else:
            raise TypeError(f"no torch counterpart for layer {kind}")
    tm = torch.nn.Sequential(*layers).to(device=device, dtype=getattr(torch, dtype))
    with torch.no_grad():
        tm.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float64)) for k, v in _host_state(model).items()})
    return tm


def _host_state(model):
    return {k: p.numpy() for k, p in model.named_parameters()}


def _first_batch(X, y, batch_size, seed):
    idx = DataLoader(X, y, batch_size=batch_size, seed=seed).epoch_indices()[0]
    return idx


def gradient_table(model, X, y, batch_size=64, seed=0):
    """Experiment 1a: ``[(name, shape, max |ours - torch|)]`` for the loss on the first mini-batch."""
    import torch

    idx = _first_batch(X, y, batch_size, seed)
    Xh, yh = X.numpy()[idx], y.numpy()[idx]
    b = X._backend
    xb = creation.tensor(Xh, backend=b, device=b.device(X.data))
    yb = creation.tensor(yh, backend=b, device=b.device(y.data))
    model.zero_grad()
    F.cross_entropy(model(xb), yb).backward()
    tm = torch_model_like(model)
    tm.zero_grad()
    torch.nn.functional.cross_entropy(tm(torch.from_numpy(Xh).double()), torch.from_numpy(yh)).backward()
    theirs = dict(tm.named_parameters())
    rows = []
    for name, p in model.named_parameters():
        diff = float(np.max(np.abs(p.grad.numpy() - theirs[name].grad.numpy())))
        rows.append((name, p.shape, diff))
    model.zero_grad()
    return rows


def _numerical_grad(f, inputs, eps=1e-6):
    try:
        from .gradcheck import numerical_grad
    except ImportError:  # the shared helper is not there: the same central differences, locally
        numerical_grad = None
    if numerical_grad is not None:
        return numerical_grad(f, inputs, eps=eps)
    out = []
    for i, x in enumerate(inputs):
        base = x.numpy().astype(np.float64)
        g = np.zeros(base.shape)
        for j in np.ndindex(*base.shape):
            vals = []
            for sign in (1, -1):
                v = base.copy()
                v[j] += sign * eps
                args = [creation.tensor(v, backend=x._backend) if k == i else a for k, a in enumerate(inputs)]
                with no_grad():
                    vals.append(float(f(*args)))
            g[j] = (vals[0] - vals[1]) / (2 * eps)
        out.append(g)
    return out


def _functional(model):
    """``f(x, y, *params) -> loss`` for a Sequential of Linear and parameter-free layers."""
    def f(xb, yb, *params):
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


def finite_difference_table(model, X, y, batch_size=64, seed=0, eps=1e-6):
    """Experiment 1b: ``[(name, shape, max |analytic - central difference|)]`` on the first mini-batch."""
    idx = _first_batch(X, y, batch_size, seed)
    b = X._backend
    xb = creation.tensor(X.numpy()[idx], backend=b, device=b.device(X.data))
    yb = creation.tensor(y.numpy()[idx], backend=b, device=b.device(y.data))
    names, params = zip(*model.named_parameters())
    f = _functional(model)
    model.zero_grad()
    f(xb, yb, *params).backward()
    analytic = [p.grad.numpy() for p in params]
    model.zero_grad()
    numeric = _numerical_grad(lambda *ps: f(xb, yb, *ps), list(params), eps=eps)
    return [(n, p.shape, float(np.max(np.abs(a - g)))) for n, p, a, g in zip(names, params, analytic, numeric)]


def train_torch(tmodel, X, y, optimizer="sgd", lr=0.05, epochs=200, batch_size=64, seed=0, device="cpu",
                threads=1):
    """Train a torch model with the same mini-batches as :func:`xgrad.training.fit` (same seed). Returns
    (accuracy, loss, seconds, steps, per-epoch losses).

    ``threads``: torch's intra-op CPU threads during the run (None: leave torch's setting). The default
    is 1: at these sizes extra threads only add synchronisation (on a 2-core machine two threads made
    PyTorch about 5x slower per step), and xgrad's NumPy backend runs these ops on one thread too."""
    import torch

    previous = torch.get_num_threads()
    if threads is not None and device == "cpu":
        torch.set_num_threads(int(threads))
    try:
        return _train_torch(torch, tmodel, X, y, optimizer, lr, epochs, batch_size, seed, device)
    finally:
        torch.set_num_threads(previous)


def _train_torch(torch, tmodel, X, y, optimizer, lr, epochs, batch_size, seed, device):

    Xh, yh = X.numpy().astype(np.float64), y.numpy().astype(np.int64)
    Xt = torch.from_numpy(Xh).to(device)
    yt = torch.from_numpy(yh).to(device)
    opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[optimizer](
        tmodel.parameters(), lr=lr)
    loader = DataLoader(X, y, batch_size=batch_size, seed=seed)
    plans = [[torch.from_numpy(i).to(device) for i in loader.epoch_indices()] for _ in range(epochs)]
    n = len(yh)
    losses = []
    steps = 0
    tmodel.train()
    if device != "cpu":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for plan in plans:
        loss_sum = correct = None
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
        int(correct)
    if device != "cpu":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        logits = tmodel(Xt)
        loss = float(torch.nn.functional.cross_entropy(logits, yt))
        acc = float((logits.argmax(-1) == yt).double().mean())
    return acc, loss, seconds, steps, losses


def compare_training(X, y, sizes=REFERENCE["sizes"], activation="tanh", optimizer="sgd", lr=0.05, epochs=200,
                     batch_size=64, seed=REFERENCE["seed"], backend=None, device=None, torch_device="cpu",
                     progress=False):
    """Experiment 2: train xgrad and torch from the same initial weights on the same mini-batches.
    Returns (xgrad model, xgrad TrainResult, torch model, torch (acc, loss, seconds, steps, losses))."""
    model = reference_model(sizes, activation, seed, backend=backend, device=device, dtype="float64")
    tmodel = torch_model_like(model, device=torch_device)
    opt = OPTIMIZERS[optimizer](model.parameters(), lr=lr)
    result = fit(model, X, y, opt, epochs=epochs, batch_size=batch_size, seed=seed, progress=progress)
    theirs = train_torch(tmodel, X, y, optimizer, lr, epochs, batch_size, seed, device=torch_device)
    return model, result, tmodel, theirs


def reference_data(seed=REFERENCE["seed"], backend=None, device=None, dtype="float64"):
    return load_dataset("moons", n_samples=REFERENCE["n_samples"], noise=REFERENCE["noise"], seed=seed,
                        backend=backend, device=device, dtype=dtype)


# ---- pictures (matplotlib, Agg) -------------------------------------------------------------------------
def _grid(Xh, steps=200):
    pad = 0.5
    x0, x1 = Xh[:, 0].min() - pad, Xh[:, 0].max() + pad
    y0, y1 = Xh[:, 1].min() - pad, Xh[:, 1].max() + pad
    gx, gy = np.meshgrid(np.linspace(x0, x1, steps), np.linspace(y0, y1, steps))
    return gx, gy, np.stack([gx.ravel(), gy.ravel()], axis=1)


def _xgrad_predict(model, pts, like):
    b = like._backend
    t = creation.tensor(pts, dtype=like.dtype, backend=b, device=b.device(like.data))
    with no_grad():
        logits = model(t).numpy()
    return logits.argmax(-1)


def _draw_boundary(ax, gx, gy, pred, Xh, yh, title):
    ax.contourf(gx, gy, pred.reshape(gx.shape), levels=[-0.5, 0.5, 1.5] if pred.max() <= 1 else None,
                cmap="RdBu", alpha=0.35)
    ax.scatter(Xh[:, 0], Xh[:, 1], c=yh, cmap="RdBu", s=8, edgecolors="k", linewidths=0.2)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_training(path, model, X, y, losses, accuracies=None, title="xgrad"):
    """Decision boundary (left) and per-epoch loss curve (right) to ``path`` (PNG)."""
    plt = _pyplot()
    Xh, yh = X.numpy(), y.numpy()
    gx, gy, pts = _grid(Xh)
    pred = _xgrad_predict(model, pts, X)
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


def plot_boundaries(path, model, tmodel, X, y, titles=("xgrad", "PyTorch")):
    """Experiment 3: both engines' decision boundaries side by side (PNG)."""
    import torch

    plt = _pyplot()
    Xh, yh = X.numpy(), y.numpy()
    gx, gy, pts = _grid(Xh)
    ours = _xgrad_predict(model, pts, X)
    dev = next(tmodel.parameters()).device
    with torch.no_grad():
        theirs = tmodel(torch.from_numpy(pts).to(dev, torch.float64)).argmax(-1).cpu().numpy()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
    _draw_boundary(axes[0], gx, gy, ours, Xh, yh, titles[0])
    _draw_boundary(axes[1], gx, gy, theirs, Xh, yh, titles[1])
    fig.suptitle(f"decision boundaries (grid points classified differently: {int((ours != theirs).sum())} "
                 f"of {ours.size})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
