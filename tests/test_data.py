"""xgrad.data: the generators (seeded, on the chosen backend) and the mini-batch iterator."""

import numpy as np
import pytest

import xgrad
from xgrad import data


def _make_moons_reference(n, noise, seed):
    """sklearn.datasets.make_moons(n, shuffle=True, noise, random_state=seed), step by step."""
    rs = np.random.RandomState(seed)
    n_out, n_in = n // 2, n - n // 2
    X = np.vstack([np.append(np.cos(np.linspace(0, np.pi, n_out)), 1 - np.cos(np.linspace(0, np.pi, n_in))),
                   np.append(np.sin(np.linspace(0, np.pi, n_out)), 1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    idx = np.arange(n)
    rs.shuffle(idx)  # sklearn.utils.shuffle -> resample(replace=False)
    X, y = X[idx], y[idx]
    return X + rs.normal(scale=noise, size=X.shape), y


def test_two_moons_is_make_moons():
    X, y = data.two_moons(1000, noise=0.2, seed=42, dtype="float64")
    Xr, yr = _make_moons_reference(1000, 0.2, 42)
    np.testing.assert_array_equal(X.numpy(), Xr)
    np.testing.assert_array_equal(y.numpy(), yr)
    try:
        from sklearn.datasets import make_moons
    except ImportError:
        return
    Xs, ys = make_moons(1000, noise=0.2, random_state=42)
    np.testing.assert_array_equal(X.numpy(), Xs)
    np.testing.assert_array_equal(y.numpy(), ys)


def test_two_moons_without_noise_lies_on_the_half_circles():
    X, y = data.two_moons(101, noise=0.0, seed=0, dtype="float64")
    Xh, yh = X.numpy(), y.numpy()
    assert (yh == 0).sum() == 50 and (yh == 1).sum() == 51
    np.testing.assert_allclose(np.hypot(*Xh[yh == 0].T), 1.0)
    np.testing.assert_allclose(np.hypot(Xh[yh == 1, 0] - 1, Xh[yh == 1, 1] - 0.5), 1.0)


@pytest.mark.parametrize("make", [data.two_moons, data.xor, data.spirals, data.gaussian_blobs])
def test_generators_are_seeded_and_placed(make, backend):
    X, y = make(seed=3, backend=backend, dtype="float32")
    X2, y2 = make(seed=3, backend=backend, dtype="float32")
    X3, _ = make(seed=4, backend=backend, dtype="float32")
    b = xgrad.get_backend(backend)
    assert X.backend == y.backend == b.name and b.is_array(X.data)
    assert b.dtype_name(X.dtype) == "float32" and b.dtype_name(y.dtype) == "int64"
    assert X.ndim == 2 and X.shape[0] == y.shape[0]
    np.testing.assert_array_equal(X.numpy(), X2.numpy())
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    assert not np.array_equal(X.numpy(), X3.numpy())
    assert len(np.unique(y.numpy())) >= 2


def test_xor_labels_and_class_counts():
    X, y = data.xor(400, noise=0.0, seed=0)
    Xh = X.numpy()
    np.testing.assert_array_equal(y.numpy(), (np.sign(Xh[:, 0]) != np.sign(Xh[:, 1])).astype(int))
    _, y3 = data.spirals(300, n_classes=3, seed=0)
    assert np.bincount(y3.numpy()).tolist() == [100, 100, 100]
    _, yb = data.gaussian_blobs(90, centers=3, seed=0)
    assert np.bincount(yb.numpy()).tolist() == [30, 30, 30]


def test_load_dataset_and_errors():
    X, _ = data.load_dataset("moons", n_samples=50, noise=0.1, seed=0)
    assert X.shape == (50, 2)
    with pytest.raises(ValueError, match="unknown dataset 'circles'"):
        data.load_dataset("circles")
    with pytest.raises(ValueError, match="n_samples"):
        data.two_moons(1)
    with pytest.raises(ValueError, match="noise"):
        data.two_moons(10, noise=-1)


@pytest.mark.parametrize("name", sorted(data.DATASETS))
def test_registry_entries_describe_their_data(name):
    entry = data.DATASETS[name]
    assert entry.name == name
    X, y = data.load_dataset(name, seed=0, dtype="float64")
    features = entry.image_shape or (entry.n_features,)  # images: n_features = the product of image_shape
    assert X.shape == (entry.n_samples,) + features and y.shape == (entry.n_samples,)
    assert int(np.prod(features)) == entry.n_features
    assert sorted(np.unique(y.numpy()).tolist()) == list(range(entry.n_classes))
    if entry.test_split:  # a real data set: no noise to vary
        return
    # the defaults are the entry's, and the noise reaches the generator under its own keyword
    Xd, _ = entry.load(n_samples=entry.n_samples, seed=0, dtype="float64", **{entry.noise_arg: entry.noise})
    np.testing.assert_array_equal(X.numpy(), Xd.numpy())
    Xq, _ = data.load_dataset(name, noise=0.0, seed=0, dtype="float64")
    Xq2, _ = entry.load(n_samples=entry.n_samples, seed=0, dtype="float64", **{entry.noise_arg: 0.0})
    np.testing.assert_array_equal(Xq.numpy(), Xq2.numpy())
    assert not np.array_equal(X.numpy(), Xq.numpy())


def test_dataset_names_and_aliases():
    assert data.get_dataset("two_moons") is data.get_dataset("Two-Moons") is data.DATASETS["moons"]
    assert data.get_dataset("gaussian_blobs") is data.DATASETS["blobs"]
    with pytest.raises(ValueError, match="choose from moons, xor, spirals, blobs"):
        data.get_dataset("circles")


def test_batches_cover_every_sample_once_and_are_seeded(backend):
    X, y = data.two_moons(100, seed=0, backend=backend, dtype="float64")
    ids = xgrad.tensor(np.arange(100), backend=backend)
    loader = data.DataLoader(X, ids, batch_size=32, shuffle=True, seed=5)
    assert len(loader) == 4
    epoch1 = [i.numpy() for _, i in loader]
    epoch2 = [i.numpy() for _, i in loader]
    assert [len(b) for b in epoch1] == [32, 32, 32, 4]
    assert sorted(np.concatenate(epoch1).tolist()) == list(range(100))
    assert not np.array_equal(np.concatenate(epoch1), np.concatenate(epoch2))  # a fresh order each pass
    again = data.DataLoader(X, ids, batch_size=32, shuffle=True, seed=5)
    np.testing.assert_array_equal(np.concatenate([i.numpy() for _, i in again]), np.concatenate(epoch1))
    xb, ib = next(iter(data.DataLoader(X, ids, batch_size=32, shuffle=True, seed=5)))
    np.testing.assert_array_equal(xb.numpy(), X.numpy()[ib.numpy()])  # rows stay paired


def test_shuffled_batches_are_the_host_order_gathered_on_the_device(backend):
    X, y = data.two_moons(100, seed=0, backend=backend, dtype="float64")
    loader = data.DataLoader(X, y, batch_size=32, shuffle=True, seed=7)
    order = data.DataLoader(X, y, batch_size=32, shuffle=True, seed=7)  # the same generator, read on the host
    for _ in range(2):  # two passes: the same sequence, pass after pass
        expected = order.epoch_indices()
        got = list(loader)
        assert len(got) == len(expected) == 4
        for (xb, yb), idx in zip(got, expected):
            assert xb.backend == backend and xb.device == X.device
            np.testing.assert_array_equal(xb.numpy(), X.numpy()[idx])
            np.testing.assert_array_equal(yb.numpy(), y.numpy()[idx])


def test_an_epoch_copies_its_order_to_the_device_once(backend, monkeypatch):
    X, y = data.two_moons(100, seed=0, backend=backend, dtype="float64")
    b = xgrad.get_backend(backend)
    copies = []
    real = b.asarray

    def counting(obj, *args, **kw):
        copies.append(np.asarray(obj).shape if isinstance(obj, np.ndarray) else type(obj).__name__)
        return real(obj, *args, **kw)

    monkeypatch.setattr(b, "asarray", counting)
    for _ in range(3):
        n = sum(1 for _ in data.DataLoader(X, y, batch_size=10, shuffle=True, seed=1))
        assert n == 10
        assert copies == [(100,)]  # the permutation, once: the ten batches are slices of it on the device
        copies.clear()
    assert sum(1 for _ in data.DataLoader(X, y, batch_size=10, shuffle=False)) == 10
    assert copies == []  # in order: views of the data, nothing copied


def test_batches_drop_last_and_no_shuffle():
    X, y = data.two_moons(100, seed=0)
    loader = data.batches(X, y, batch_size=32, drop_last=True, seed=0)
    assert len(loader) == 3 and [xb.shape[0] for xb, _ in loader] == [32, 32, 32]
    plain = data.batches(X, y, batch_size=40, shuffle=False)
    got = [yb.numpy() for _, yb in plain]
    np.testing.assert_array_equal(np.concatenate(got), y.numpy())
    assert [len(g) for g in got] == [40, 40, 20]
    with pytest.raises(ValueError, match="batch_size"):
        data.batches(X, y, batch_size=0)
    with pytest.raises(ValueError, match="different lengths"):
        data.DataLoader(X, y[:10])


def test_digits_have_a_fixed_split_whatever_the_seed():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits

    Xa, ya = data.load_dataset("digits", seed=0, dtype="float64")
    Xb, yb = data.load_dataset("digits", seed=7, dtype="float64")
    Xt, yt = data.load_dataset("digits", split="test", dtype="float64")
    assert np.array_equal(Xa.numpy(), Xb.numpy()) and np.array_equal(ya.numpy(), yb.numpy())
    assert Xa.shape == (1437, 1, 8, 8) and Xt.shape == (360, 1, 8, 8)
    assert float(Xa.numpy().min()) == 0.0 and float(Xa.numpy().max()) == 1.0
    # train and test are disjoint and together are sklearn's images, scaled by 1/16
    d = load_digits()
    both = np.concatenate([Xa.numpy(), Xt.numpy()]).reshape(1797, 64) * 16
    assert sorted(map(bytes, both)) == sorted(map(bytes, d.data.astype(np.float64)))
    assert np.bincount(yt.numpy(), minlength=10).min() >= 25  # every class is tested
    with pytest.raises(ValueError, match="fixed train split of 1437"):
        data.load_dataset("digits", n_samples=500)
    with pytest.raises(ValueError, match="takes no noise"):
        data.load_dataset("digits", noise=0.1)
    with pytest.raises(ValueError, match="no fixed train/test split"):
        data.load_dataset("moons", split="test")
