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
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


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
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
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


def test_extra_keeps_arrays_and_tensors_as_arrays(tmp_path, backend):
    # before: arrays and tensors in extra were stored as their repr strings
    path = tmp_path / "ck.npz"
    w = np.arange(6.0).reshape(2, 3)
    t = xgrad.tensor([[1.5, -2.0]], dtype="float32", backend=backend, requires_grad=True)
    extra = {"w": w, "t": t, "nested": [1, ("a", np.int8(-3), np.arange(3, dtype=np.int16)), None],
             "step": np.int64(7), "c": np.complex64(1 + 2j), "nan": float("nan"), "shape": (2, 3), "empty": ()}
    checkpoint.save(path, extra=extra)
    got = checkpoint.load(path)
    assert set(got) == set(extra)
    for key, want in (("w", w), ("t", t.detach().numpy()), ("c", np.asarray(extra["c"]))):
        assert type(got[key]) is np.ndarray and got[key].dtype == want.dtype
        np.testing.assert_array_equal(got[key], want)
    assert got["nested"][:1] == [1] and got["nested"][2] is None
    a, s, ints = got["nested"][1]
    assert type(got["nested"][1]) is tuple and a == "a" and s == -3
    assert ints.dtype == np.int16 and ints.tolist() == [0, 1, 2]
    assert got["step"] == 7 and np.isnan(got["nan"]) and got["shape"] == (2, 3) and got["empty"] == ()
    with np.load(path, allow_pickle=False) as z:  # plain arrays in the archive, readable without xgrad
        np.testing.assert_array_equal(z["extra/0"], w)
    checkpoint.save(path, extra=t)  # an array as the whole extra
    np.testing.assert_array_equal(checkpoint.load(path), t.detach().numpy())


@pytest.mark.parametrize("bad,needle", [
    ({"when": __import__("datetime").date(2024, 1, 1)}, r"extra\['when'\] is a date"),
    ({"ids": {1, 2}}, r"extra\['ids'\] is a set"),
    ({"table": {1: "a"}}, r"extra\['table'\] has the key 1 of type int"),
    ({"path": __import__("pathlib").Path("x")}, r"extra\['path'\] is a \w*Path"),
    ({"deep": [0, {"f": print}]}, r"extra\['deep'\]\[1\]\['f'\] is a builtin_function_or_method"),
    ({"objs": np.array([None, 1], dtype=object)}, r"extra\['objs'\] is an array of Python objects"),
    ({"masked": np.ma.masked_array([1.0, 2.0], mask=[0, 1])}, r"extra\['masked'\] is a masked array"),
])
def test_extra_refuses_what_it_cannot_store_faithfully(tmp_path, bad, needle):
    m, _, _, _ = _trained()
    path = tmp_path / "ck.npz"
    checkpoint.save(path, m, extra={"v": 1})
    before = path.read_bytes()
    with pytest.raises(TypeError, match=needle):
        checkpoint.save(path, m, extra=bad)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ck.npz"]


def test_a_failed_write_or_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    m, _, _, _ = _trained()
    path = tmp_path / "ck.npz"
    checkpoint.save(path, m)

    def disk_full(f, **arrays):
        f.write(b"partial")
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as mp:
        mp.setattr(checkpoint.np, "savez", disk_full)
        with pytest.raises(OSError, match="No space left"):
            checkpoint.save(path, m)
    with monkeypatch.context() as mp:
        mp.setattr(checkpoint.os, "replace", lambda a, b: (_ for _ in ()).throw(PermissionError("denied")))
        with pytest.raises(PermissionError):
            checkpoint.save(path, m)
    assert os.listdir(tmp_path) == ["ck.npz"]


def test_temporary_files_of_killed_saves_are_removed_by_the_next_save(tmp_path):
    import signal
    import subprocess
    import sys

    path = tmp_path / "ck.npz"
    checkpoint.save(path, extra={"v": 1})
    killed = ("import os, signal\nfrom xgrad import checkpoint\n"
              "def die(f, **arrays):\n    f.write(b'partial'); f.flush(); os.kill(os.getpid(), signal.SIGKILL)\n"
              f"checkpoint.np.savez = die\ncheckpoint.save({str(path)!r}, extra={{'v': 2}})\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, "-c", killed], env=dict(os.environ, PYTHONPATH=root))
    assert proc.wait(timeout=120) == -signal.SIGKILL
    left = [n for n in os.listdir(tmp_path) if n != "ck.npz"]
    assert len(left) == 1 and left[0].startswith(f".tmp-ck.npz-{proc.pid}-")  # the killed save's
    (tmp_path / ".tmp-ck.npz-abcd1234").write_bytes(b"x")  # an older xgrad's name, without a pid
    running = tmp_path / f".tmp-ck.npz-{os.getppid()}-abcd1234"  # a live process may still be writing it
    other = tmp_path / ".tmp-other.npz-999999999-abcd1234"  # a save to another path
    for f in (running, other):
        f.write_bytes(b"x")
    checkpoint.save(path, extra={"v": 3})
    assert sorted(os.listdir(tmp_path)) == sorted(["ck.npz", running.name, other.name])
    assert checkpoint.load(path) == {"v": 3}


@pytest.mark.skipif(os.name != "posix", reason="file modes and umask are POSIX")
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_checkpoint_gets_the_mode_the_umask_gives(tmp_path, umask):
    # a checkpoint is an ordinary output file: readable by whoever the user's umask lets read it
    old = os.umask(umask)
    try:
        path = checkpoint.save(tmp_path / "ck.npz", extra={"v": 1})
        plain = tmp_path / "plain.txt"
        plain.write_text("x")  # what open() gives under the same umask
    finally:
        os.umask(old)
    mode = os.stat(path).st_mode & 0o777
    assert mode == 0o666 & ~umask == os.stat(plain).st_mode & 0o777
    assert checkpoint.load(path) == {"v": 1}
