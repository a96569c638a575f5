"""Porting a PyTorch training script: the same source runs on torch and, with only its imports changed,
on xgrad, and gives the same losses for 20 Adam steps (float64), across a save/load round trip of the
model's and the optimizer's state_dicts. Also the PyTorch spellings xgrad answers: save/load, size(),
cat, from_numpy, TensorDataset/DataLoader."""

import io

import numpy as np
import pytest
import torch

import xgrad
from xgrad import data

# A typical script: Module subclass, Sequential, BatchNorm, LayerNorm, GELU, CrossEntropyLoss, Adam,
# TensorDataset/DataLoader, torch.save/torch.load of state_dicts, eval under no_grad.
SCRIPT = '''
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(4, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 32), nn.GELU())
        self.norm = nn.LayerNorm(32)
        self.head = nn.Linear(32, 3)

    def forward(self, x):
        return self.head(self.norm(self.features(x)))


def train(model, opt, loader, loss_fn, steps, losses):
    model.train()
    while True:
        for xb, yb in loader:
            if len(losses) == steps:
                return
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())


def main(X, y, init, path):
    torch.set_default_dtype(torch.float64)
    model = Net()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in init.items()})
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    dataset = TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    loader = DataLoader(dataset, batch_size=16, shuffle=False, drop_last=True)
    losses = []
    train(model, opt, loader, loss_fn, 12, losses)
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)
    checkpoint = torch.load(path)
    model = Net()
    model.load_state_dict(checkpoint["model"])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    opt.load_state_dict(checkpoint["optimizer"])
    train(model, opt, loader, loss_fn, 20, losses)
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(X))
        accuracy = (logits.argmax(1) == torch.from_numpy(y)).sum().item() / y.shape[0]
    return losses, accuracy, logits.numpy(), model.features[1].running_var.numpy()
'''

# the listed differences (README, "Porting from PyTorch"): the imports
PORTED = (SCRIPT.replace("import torch\n", "import xgrad as torch\n")
          .replace("from torch import nn", "from xgrad import nn")
          .replace("from torch.utils.data import", "from xgrad.data import"))


def _run(source, *args):
    namespace = {}
    exec(compile(source, "<script>", "exec"), namespace)
    return namespace["main"](*args)


def _problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 4))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)
    torch.manual_seed(0)
    ns = {}
    exec(compile(SCRIPT, "<script>", "exec"), ns)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        init = {k: v.detach().numpy().copy() for k, v in ns["Net"]().state_dict().items()}
    finally:
        torch.set_default_dtype(old)
    return X, y, init


def test_ported_script_gives_torchs_losses_for_20_steps_across_save_and_load(tmp_path):
    X, y, init = _problem()
    assert sum(1 for a, b in zip(SCRIPT.splitlines(), PORTED.splitlines()) if a != b) == 3  # imports only
    old_torch, old_xgrad = torch.get_default_dtype(), xgrad.get_default_dtype()
    try:
        theirs = _run(SCRIPT, X, y, init, str(tmp_path / "torch.pt"))
        ours = _run(PORTED, X, y, init, str(tmp_path / "xgrad.pt"))
    finally:
        torch.set_default_dtype(old_torch)
        xgrad.set_default_dtype(old_xgrad)
    assert len(ours[0]) == len(theirs[0]) == 20
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10, atol=0)
    assert ours[0][-1] < 0.7 * ours[0][0]  # it learns
    assert ours[1] == theirs[1]
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ours[3], theirs[3], rtol=1e-10)  # BatchNorm's running statistics


def test_save_load_round_trips_a_state_dict_on_every_backend(tmp_path, backend):
    """A state_dict holds the backend's own arrays (torch.Tensor on torch): saved and loaded back there."""
    m = xgrad.nn.Sequential(xgrad.nn.Linear(3, 2, dtype="float64", backend=backend),
                            xgrad.nn.BatchNorm1d(2, dtype="float64", backend=backend))
    m(xgrad.randn(4, 3, dtype="float64", backend=backend))
    xgrad.save({"model": m.state_dict()}, tmp_path / "m.npz")
    back = xgrad.load(tmp_path / "m.npz", backend=backend)["model"]
    for k, v in m.state_dict().items():
        got, want = xgrad.backends.to_host(back[k]), xgrad.backends.to_host(v)
        assert got.dtype == want.dtype and np.array_equal(got, want), k


def test_save_load_round_trips_nested_state_without_pickle(tmp_path):
    m = xgrad.nn.Sequential(xgrad.nn.Linear(3, 2, dtype="float64"), xgrad.nn.BatchNorm1d(2, dtype="float64"))
    opt = xgrad.optim.Adam(m.parameters(), lr=0.1)
    m(xgrad.randn(4, 3, dtype="float64")).sum().backward()
    opt.step()
    obj = {"model": m.state_dict(), "optim": opt.state_dict(), "epoch": 3, "best": float("nan"),
           "history": [0.5, (1, "a")], "note": None, "ids": np.arange(3), "t": xgrad.tensor([1.5, 2.5])}
    path = tmp_path / "state.pt"
    xgrad.save(obj, path)
    with np.load(path, allow_pickle=False) as z:  # a plain .npz, readable without xgrad or pickle
        assert "__meta__" in z.files
    back = xgrad.load(path)
    assert list(back["model"]) == list(m.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias",
                                                             "1.running_mean", "1.running_var",
                                                             "1.num_batches_tracked"]
    for k, v in m.state_dict().items():
        assert back["model"][k].dtype == v.dtype
        np.testing.assert_array_equal(np.asarray(back["model"][k]), np.asarray(v))
    assert back["epoch"] == 3 and np.isnan(back["best"]) and back["history"] == [0.5, (1, "a")]
    assert back["note"] is None and isinstance(back["t"], xgrad.Tensor)
    np.testing.assert_array_equal(back["t"].numpy(), [1.5, 2.5])
    np.testing.assert_array_equal(back["ids"], np.arange(3))
    assert set(back["optim"]["state"]) == {0, 1, 2, 3}  # integer keys stay integers
    m2 = xgrad.nn.Sequential(xgrad.nn.Linear(3, 2, dtype="float64"), xgrad.nn.BatchNorm1d(2, dtype="float64"))
    m2.load_state_dict(back["model"])
    opt2 = xgrad.optim.Adam(m2.parameters(), lr=0.1)
    opt2.load_state_dict(back["optim"])
    buf = io.BytesIO()  # a file object works too
    xgrad.save(m.state_dict(), buf)
    buf.seek(0)
    assert list(xgrad.load(buf)) == list(m.state_dict())


def test_save_refuses_objects_it_cannot_store_faithfully(tmp_path):
    with pytest.raises(TypeError, match="state_dict"):
        xgrad.save({"model": xgrad.nn.Linear(2, 2)}, tmp_path / "m.pt")
    with pytest.raises(TypeError, match="keys must be"):
        xgrad.save({(1, 2): 3}, tmp_path / "m.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a file written by xgrad.save"):
        xgrad.load(tmp_path / "bad.pt")


def test_size_is_the_standards_int_and_pytorchs_call():
    t = xgrad.ones(2, 3, 4)
    assert t.size == 24 and isinstance(t.size, int) and t.numel() == 24
    assert t.size() == (2, 3, 4) and t.size(0) == 2 and t.size(-1) == 4
    with pytest.raises(IndexError, match="out of range"):
        t.size(3)


def test_cat_from_numpy_and_hints_for_pytorch_spellings():
    a = np.array([1.0, 2.0])
    t = xgrad.from_numpy(a)
    a[0] = 5.0  # shares memory, as torch.from_numpy
    assert t.numpy()[0] == 5.0
    np.testing.assert_array_equal(xgrad.cat([t, xgrad.tensor([3.0], dtype="float64")], dim=0).numpy(), [5, 2, 3])
    with pytest.raises(AttributeError, match="expand_dims"):
        xgrad.unsqueeze
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'$"):
        xgrad.no_such_name


def test_dataloader_defaults_and_forms_follow_pytorch():
    X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    loader = data.DataLoader(data.TensorDataset(X, y), batch_size=2)
    batches = list(loader)
    assert len(loader) == 3 and [b[1].numpy().tolist() for b in batches] == [[0, 1], [2, 3], [4]]  # no shuffle
    assert len(list(data.DataLoader(data.TensorDataset(X, y)))) == 5  # batch_size=1
    single = next(iter(data.DataLoader(X, batch_size=4)))  # one tensor: batches, not 1-tuples
    assert isinstance(single, xgrad.Tensor) and single.shape == (4, 2)
    orders = [[b[1].numpy().tolist() for b in data.DataLoader(X, y, batch_size=5, shuffle=True, generator=g)]
              for g in (np.random.default_rng(7), 7)]
    assert orders[0] == orders[1] and sorted(orders[0][0]) == [0, 1, 2, 3, 4]
    assert len(data.DataLoader(X, y, batch_size=2, drop_last=True)) == 2
    assert data.TensorDataset(X, y)[1][1].item() == 1
    with pytest.raises(TypeError, match="torch.Generator"):
        data.DataLoader(X, generator=torch.Generator())
    with pytest.raises(TypeError, match="num_workers"):
        data.DataLoader(X, num_workers=2)
    assert len(data.DataLoader(X, batch_size=2, num_workers=0, pin_memory=True)) == 3  # no effect here
    with pytest.raises(ValueError, match="same size"):
        data.TensorDataset(X, y[:3])
