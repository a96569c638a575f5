"""Toy data sets (two moons, XOR, spirals, Gaussian blobs) and a seeded mini-batch iterator.

The points are drawn on the host with NumPy's seeded generators (so a seed gives the same data on
every backend) and then moved to the chosen backend and device as xgrad Tensors: ``X`` of the requested
floating dtype, ``y`` int64 class labels.
"""

import math

import numpy as np

from .backends import current_device, get_backend
from .creation import get_default_dtype
from .tensor import Tensor

__all__ = ["two_moons", "make_moons", "xor", "spirals", "gaussian_blobs", "DataLoader", "batches", "DATASETS",
           "load_dataset"]


def _place(X, y, backend, device, dtype):
    b = get_backend(backend)
    if device is None and backend is None:
        device = current_device()
    Xa = b.asarray(np.ascontiguousarray(X), dtype=dtype or get_default_dtype(), device=device)
    ya = b.asarray(np.ascontiguousarray(y, dtype=np.int64), dtype="int64", device=device)
    return Tensor._wrap(Xa, b), Tensor._wrap(ya, b)


def _check_n(n, minimum=2):
    if int(n) != n or n < minimum:
        raise ValueError(f"n_samples must be an integer >= {minimum}, got {n}")
    return int(n)


def two_moons(n_samples=1000, noise=0.2, seed=0, shuffle=True, backend=None, device=None, dtype=None):
    """Two interleaving half circles; the algorithm of ``sklearn.datasets.make_moons`` (same seed, same
    points: ``np.random.RandomState(seed)`` shuffles, then adds Gaussian noise of std ``noise``)."""
    n = _check_n(n_samples)
    if noise is not None and noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    rs = np.random.RandomState(seed)
    n_out = n // 2
    n_in = n - n_out
    outer_x = np.cos(np.linspace(0, np.pi, n_out))
    outer_y = np.sin(np.linspace(0, np.pi, n_out))
    inner_x = 1 - np.cos(np.linspace(0, np.pi, n_in))
    inner_y = 1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5
    X = np.vstack([np.append(outer_x, inner_x), np.append(outer_y, inner_y)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    if shuffle:
        idx = np.arange(n)
        rs.shuffle(idx)
        X, y = X[idx], y[idx]
    if noise is not None:
        X = X + rs.normal(scale=noise, size=X.shape)
    return _place(X, y, backend, device, dtype)


make_moons = two_moons


def xor(n_samples=200, noise=0.05, seed=0, backend=None, device=None, dtype=None):
    """Points uniform in the square [-1, 1]^2, class 1 where the two coordinates have different signs
    (the XOR of the quadrants); Gaussian noise of std ``noise`` is then added to the points, so a few
    near the axes land on the other side."""
    n = _check_n(n_samples, 4)
    if noise is not None and noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64)
    if noise:
        X = X + rng.normal(scale=noise, size=X.shape)
    return _place(X, y, backend, device, dtype)


def spirals(n_samples=1000, n_classes=2, noise=0.2, turns=1.5, seed=0, backend=None, device=None, dtype=None):
    """``n_classes`` interleaved Archimedean spiral arms (as in CS231n's spiral data)."""
    n = _check_n(n_samples, n_classes)
    if int(n_classes) < 2:
        raise ValueError(f"spirals needs n_classes >= 2, got {n_classes}")
    rng = np.random.default_rng(seed)
    k = np.arange(n) % n_classes
    per = np.bincount(k, minlength=n_classes)
    r = np.concatenate([np.linspace(0.0, 1.0, m) for m in per])
    k = np.concatenate([np.full(m, c) for c, m in enumerate(per)])
    theta = r * turns * 2 * math.pi + k * 2 * math.pi / n_classes + rng.normal(scale=noise, size=n)
    X = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)
    perm = rng.permutation(n)
    return _place(X[perm], k[perm], backend, device, dtype)


def gaussian_blobs(n_samples=600, centers=3, n_features=2, std=1.0, box=(-10.0, 10.0), seed=0, backend=None,
                   device=None, dtype=None):
    """Isotropic Gaussian clusters; ``centers`` is a count (placed uniformly in ``box``) or an array."""
    n = _check_n(n_samples, 1)
    rng = np.random.default_rng(seed)
    if isinstance(centers, int):
        centers = rng.uniform(box[0], box[1], size=(centers, n_features))
    centers = np.asarray(centers, dtype=np.float64)
    c = len(centers)
    y = np.arange(n) % c
    rng.shuffle(y)
    X = centers[y] + rng.normal(scale=std, size=(n, centers.shape[1]))
    return _place(X, y, backend, device, dtype)


DATASETS = {"moons": two_moons, "two_moons": two_moons, "xor": xor, "spirals": spirals, "blobs": gaussian_blobs,
            "gaussian_blobs": gaussian_blobs}


def load_dataset(name, n_samples=None, noise=None, seed=0, backend=None, device=None, dtype=None):
    """A built-in data set by name (``moons``, ``xor``, ``spirals``, ``blobs``)."""
    key = str(name).lower().replace("-", "_")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from moons, xor, spirals, blobs")
    kw = {"seed": seed, "backend": backend, "device": device, "dtype": dtype}
    if n_samples is not None:
        kw["n_samples"] = n_samples
    if noise is not None:
        kw["std" if DATASETS[key] is gaussian_blobs else "noise"] = noise
    return DATASETS[key](**kw)


class DataLoader:
    """Mini-batches of ``(X, y)`` tensors that share their first axis.

    Each pass (``for xb, yb in loader``) draws a fresh order from a host generator seeded once with
    ``seed``, so the sequence of batches is the same on every backend and can be replayed elsewhere
    (``loader.epoch_indices()`` gives the NumPy index arrays). ``drop_last`` drops a short final batch.
    """

    def __init__(self, *tensors, batch_size=64, shuffle=True, drop_last=False, seed=0):
        if not tensors:
            raise ValueError("DataLoader needs at least one tensor")
        n = tensors[0].shape[0]
        for t in tensors[1:]:
            if t.shape[0] != n:
                raise ValueError(f"DataLoader: tensors have different lengths {[t.shape[0] for t in tensors]}")
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        self.tensors, self.n = tensors, n
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), bool(shuffle), bool(drop_last)
        self._rng = np.random.default_rng(seed)

    def __len__(self):
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def epoch_indices(self):
        """The index arrays (NumPy, host) of the next pass; advances the generator."""
        order = self._rng.permutation(self.n) if self.shuffle else np.arange(self.n)
        stop = len(self) * self.batch_size
        return [order[i:min(i + self.batch_size, self.n)] for i in range(0, min(stop, self.n), self.batch_size)]

    def __iter__(self):
        parts = self.epoch_indices()
        tensors = self.tensors
        b = tensors[0]._backend
        if not self.shuffle:
            for idx in parts:
                sl = slice(int(idx[0]), int(idx[-1]) + 1)
                yield tuple(Tensor._wrap(t.data[sl, ...], b) for t in tensors)
            return
        dev = b.device(tensors[0].data)
        order = b.asarray(np.concatenate(parts), dtype="int64", device=dev)
        xp = b.xp
        start = 0
        for idx in parts:
            sel = order[start:start + len(idx)]
            start += len(idx)
            yield tuple(Tensor._wrap(xp.take(t.data, sel, axis=0), b) for t in tensors)


def batches(X, y, batch_size=64, shuffle=True, drop_last=False, seed=0):
    """A :class:`DataLoader` over ``(X, y)``."""
    return DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed)
