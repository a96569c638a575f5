"""Checkpoints: round trips, NumPy-readable files, atomic writes, clear errors."""

import os

import numpy as np
import pytest

import xgrad
from xgrad import checkpoint, data, nn, optim
from xgrad.checkpoint import CheckpointError
from xgrad.nn import functional as F


def _trained(steps=3, sizes=(2, 8, 2), opt_cls=optim.Adam):
    X, y = data.two_moons(64, seed=0, dtype="float64")
    xgrad.manual_seed(0)
    m = nn.MLP(sizes, dtype="float64")
    opt = opt_cls(m.parameters(), lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(m(X), y).backward()
        opt.step()
    return m, opt, X, y


def _steps(m, opt, X, y, n=3):
    for _ in range(n):
        opt.zero_grad()
        F.cross_entropy(m(X), y).backward()
        opt.step()


@pytest.mark.parametrize("opt_cls", [optim.Adam, optim.AdamW, lambda ps, lr: optim.SGD(ps, lr=lr, momentum=0.9)])
def test_round_trip_resumes_identically(tmp_path, opt_cls):
    m, opt, X, y = _trained(opt_cls=opt_cls)
    path = tmp_path / "ck.npz"
    checkpoint.save(path, m, opt, extra={"epoch": 3, "note": "hi"})
    xgrad.manual_seed(99)
    m2 = nn.MLP((2, 8, 2), dtype="float64")
    opt2 = opt_cls(m2.parameters(), lr=0.5)
    assert checkpoint.load(path, m2, opt2) == {"epoch": 3, "note": "hi"}
    _steps(m, opt, X, y)
    _steps(m2, opt2, X, y)
    for p, q in zip(m.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_file_is_plain_numpy(tmp_path):
    m, opt, _, _ = _trained()
    path = tmp_path / "ck.npz"
    checkpoint.save(path, m, opt)
    with np.load(path, allow_pickle=False) as z:
        assert "model/0.weight" in z.files and z["model/0.weight"].shape == (8, 2)
        assert "optim/0/exp_avg" in z.files
        np.testing.assert_array_equal(z["model/2.bias"], m.state_dict()["2.bias"])


def test_model_only_and_other_backend(tmp_path):
    m, _, _, _ = _trained()
    path = tmp_path / "m.npz"
    checkpoint.save(path, m)
    m2 = nn.MLP((2, 8, 2), backend="array_api_strict", dtype="float64")
    checkpoint.load(path, m2)
    for p, q in zip(m.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    with pytest.raises(CheckpointError, match="no optimizer state"):
        checkpoint.load(path, m2, optim.SGD(m2.parameters(), lr=0.1))


def test_to_host_takes_tensors_and_arrays_of_every_backend(backend):
    from xgrad.backends import to_host

    t = xgrad.tensor([[1.0, 2.0]], dtype="float64", backend=backend)
    for obj in (t, t.data):
        host = to_host(obj)
        assert type(host) is np.ndarray and host.dtype == np.float64
        np.testing.assert_array_equal(host, [[1.0, 2.0]])
    np.testing.assert_array_equal(to_host([1, 2]), [1, 2])


def test_to_host_loads_the_backend_of_a_foreign_array(monkeypatch):
    torch = pytest.importorskip("torch")
    from xgrad import backends

    monkeypatch.delitem(backends._LOADED, "torch", raising=False)
    host = backends.to_host(torch.ones(2, requires_grad=True))
    assert type(host) is np.ndarray and host.tolist() == [1.0, 1.0]


def test_truncated_file_gives_a_clear_error(tmp_path):
    m, opt, _, _ = _trained()
    path = tmp_path / "ck.npz"
    checkpoint.save(path, m, opt)
    raw = path.read_bytes()
    for cut in (len(raw) // 2, len(raw) - 30, 10, 0):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(raw[:cut])
        with pytest.raises(CheckpointError, match="truncated or corrupt"):
            checkpoint.load(bad, m)
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.load(tmp_path / "nope.npz", m)
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(CheckpointError, match="not an xgrad checkpoint"):
        checkpoint.load(tmp_path / "other.npz", m)


def test_mismatch_names_and_shapes(tmp_path):
    m, opt, _, _ = _trained()
    path = tmp_path / "ck.npz"
    checkpoint.save(path, m, opt)
    with pytest.raises(CheckpointError) as e:
        checkpoint.load(path, nn.MLP((2, 9, 2), dtype="float64"))
    assert "0.weight: checkpoint (8, 2) vs model (9, 2)" in str(e.value)
    with pytest.raises(CheckpointError) as e:
        checkpoint.load(path, nn.MLP((2, 8, 8, 2), dtype="float64"))
    assert "missing 4.weight, 4.bias" in str(e.value)
    with pytest.raises(CheckpointError, match="holds Adam state, not SGD"):
        m2 = nn.MLP((2, 8, 2), dtype="float64")
        checkpoint.load(path, m2, optim.SGD(m2.parameters(), lr=0.1))


def test_atomic_write_keeps_the_old_file_on_a_crash(tmp_path, monkeypatch):
    m, opt, _, _ = _trained()
    path = tmp_path / "ck.npz"
    checkpoint.save(path, m, opt, extra={"v": 1})
    before = path.read_bytes()

    def crash(f, **arrays):
        f.write(b"partial garbage")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(checkpoint.np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(path, m, opt, extra={"v": 2})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ck.npz"]  # no temporary file left behind
    monkeypatch.undo()
    assert checkpoint.load(path, m, opt) == {"v": 1}
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.save(tmp_path / "no" / "dir.npz", m)
