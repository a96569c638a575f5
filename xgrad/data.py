"""Toy data sets (two moons, XOR, spirals, Gaussian blobs), their registry, and a seeded mini-batch iterator.

The points are drawn on the host with NumPy's seeded generators (so a seed gives the same data on
every backend) and then moved to the chosen backend and device as xgrad Tensors: ``X`` of the requested
floating dtype, ``y`` int64 class labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from . import distributed
from .backends import Backend, current_device, get_backend
from .creation import as_tensor, get_default_dtype
from .ops import getitem
from .tensor import Tensor, new

__all__ = ["two_moons", "make_moons", "xor", "spirals", "gaussian_blobs", "DataLoader", "TensorDataset", "batches",
           "Dataset", "DATASETS", "get_dataset", "load_dataset", "DistributedSampler", "ShardedDataLoader",
           "digits"]


def __dir__() -> list[str]:  # dir() and tab completion list the public names, not this module's imports
    return sorted(__all__)


BackendLike = Union[str, Backend, None]  # a backend's name, a Backend, or None for the current one


def _place(X: np.ndarray, y: np.ndarray, backend: BackendLike, device: Any,
           dtype: str | None) -> tuple[Tensor, Tensor]:
    b = get_backend(backend)
    if device is None and backend is None:
        device = current_device()
    Xa = b.asarray(np.ascontiguousarray(X), dtype=dtype or get_default_dtype(), device=device)
    ya = b.asarray(np.ascontiguousarray(y, dtype=np.int64), dtype="int64", device=device)
    return new(Xa, b), new(ya, b)


def _check_n(n: int, minimum: int = 2) -> int:
    if int(n) != n or n < minimum:
        raise ValueError(f"n_samples must be an integer >= {minimum}, got {n}")
    return int(n)


def two_moons(n_samples: int = 1000, noise: float | None = 0.2, seed: int = 0, shuffle: bool = True,
              backend: BackendLike = None, device: Any = None, dtype: str | None = None) -> tuple[Tensor, Tensor]:
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


def xor(n_samples: int = 200, noise: float | None = 0.05, seed: int = 0, backend: BackendLike = None,
        device: Any = None, dtype: str | None = None) -> tuple[Tensor, Tensor]:
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


def spirals(n_samples: int = 1000, n_classes: int = 2, noise: float = 0.2, turns: float = 1.5, seed: int = 0,
            backend: BackendLike = None, device: Any = None, dtype: str | None = None) -> tuple[Tensor, Tensor]:
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


def gaussian_blobs(n_samples: int = 600, centers: int | Sequence[Sequence[float]] | np.ndarray = 3,
                   n_features: int = 2, std: float = 1.0, box: tuple[float, float] = (-10.0, 10.0), seed: int = 0,
                   backend: BackendLike = None, device: Any = None,
                   dtype: str | None = None) -> tuple[Tensor, Tensor]:
    """Isotropic Gaussian clusters; ``centers`` is a count (placed uniformly in ``box``) or an array."""
    n = _check_n(n_samples, 1)
    rng = np.random.default_rng(seed)
    if isinstance(centers, int):
        centers = rng.uniform(box[0], box[1], size=(centers, n_features))
    means = np.asarray(centers, dtype=np.float64)
    y = np.arange(n) % len(means)
    rng.shuffle(y)
    X = means[y] + rng.normal(scale=std, size=(n, means.shape[1]))
    return _place(X, y, backend, device, dtype)


DIGITS_SEED = 0  # the fixed train/test split of the digits: a permutation from this seed
DIGITS_TEST = 360  # images held out for testing (20% of 1797)


def digits(n_samples: int | None = None, noise: float | None = None, seed: int = 0, split: str = "train",
           backend: BackendLike = None, device: Any = None, dtype: str | None = None) -> tuple[Tensor, Tensor]:
    """scikit-learn's 8x8 handwritten digits (1797 images, 10 classes; shipped with scikit-learn, no
    download) as images ``X`` (N, 1, 8, 8) scaled to [0, 1] and labels ``y``.

    The split is fixed, whatever ``seed``: a permutation drawn with ``DIGITS_SEED`` puts 360 images in
    ``split="test"`` and the other 1437 in ``"train"`` (``"all"``: every image, in the original order).
    ``n_samples`` may only be None or the split's size, ``noise`` only None or 0 (the set is what it is)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("the digits data set comes with scikit-learn, which is not installed; "
                          "pip install \"xgrad[datasets]\" (or scikit-learn)") from None
    if split not in ("train", "test", "all"):
        raise ValueError(f"digits: split must be 'train', 'test' or 'all', not {split!r}")
    if noise:
        raise ValueError(f"digits takes no noise (got {noise}): the images are used as they are")
    d = load_digits()
    X, y = d.images.reshape(-1, 1, 8, 8) / 16.0, d.target
    if split != "all":
        order = np.random.default_rng(DIGITS_SEED).permutation(len(y))
        idx = order[:DIGITS_TEST] if split == "test" else order[DIGITS_TEST:]
        X, y = X[idx], y[idx]
    if n_samples is not None and n_samples != len(y):
        raise ValueError(f"digits has a fixed {split} split of {len(y)} images; n_samples must be {len(y)} "
                         f"(or None), not {n_samples}")
    return _place(X, y, backend, device, dtype)


@dataclass(frozen=True)
class Dataset:
    """A registered data set: its generator, its classes and features, its default size and noise.

    ``load`` takes ``n_samples``, ``seed``, ``backend``, ``device``, ``dtype`` and, under the keyword
    ``noise_arg``, the noise level; it returns ``(X, y)``.
    """

    name: str
    load: Callable[..., tuple[Tensor, Tensor]]
    n_classes: int
    n_features: int
    n_samples: int
    noise: float
    noise_arg: str = "noise"
    aliases: tuple[str, ...] = ()
    test_split: bool = False  # ``load`` takes split="train"/"test": a fixed held-out test set
    image_shape: tuple[int, ...] | None = None  # X is (N, *image_shape) images, not (N, n_features) points


DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset("moons", two_moons, n_classes=2, n_features=2, n_samples=1000, noise=0.2, aliases=("two_moons",)),
    Dataset("xor", xor, n_classes=2, n_features=2, n_samples=200, noise=0.05),
    Dataset("spirals", spirals, n_classes=2, n_features=2, n_samples=1000, noise=0.2),
    Dataset("blobs", gaussian_blobs, n_classes=3, n_features=2, n_samples=1000, noise=1.0, noise_arg="std",
            aliases=("gaussian_blobs",)),
    Dataset("digits", digits, n_classes=10, n_features=64, n_samples=1437, noise=0.0, test_split=True,
            image_shape=(1, 8, 8)),
)}


def get_dataset(name: str) -> Dataset:
    """The registry entry called ``name`` (or one of its aliases; case and ``-``/``_`` do not matter)."""
    key = str(name).lower().replace("-", "_")
    for d in DATASETS.values():
        if key == d.name or key in d.aliases:
            return d
    raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")


def load_dataset(name: str, n_samples: int | None = None, noise: float | None = None, seed: int = 0,
                 backend: BackendLike = None, device: Any = None,
                 dtype: str | None = None, split: str | None = None) -> tuple[Tensor, Tensor]:
    """A registered data set by name; ``n_samples`` and ``noise`` default to its entry's; ``split``
    ("train", "test") for a set with a fixed test split (``test_split``)."""
    d = get_dataset(name)
    kw: dict[str, Any] = {"n_samples": d.n_samples if n_samples is None else n_samples,
                          d.noise_arg: d.noise if noise is None else noise}
    if split is not None:
        if not d.test_split:
            raise ValueError(f"{d.name} has no fixed train/test split; split={split!r} applies to "
                             + ", ".join(n for n, e in DATASETS.items() if e.test_split))
        kw["split"] = split
        if split != "train" and n_samples is None:
            kw["n_samples"] = None
    return d.load(seed=seed, backend=backend, device=device, dtype=dtype, **kw)


class TensorDataset:
    """Tensors (or arrays, made tensors on the current backend) that share their first axis; item ``i``
    is the tuple of their ``i``-th rows, as in ``torch.utils.data.TensorDataset``."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(_as_tensor(t, "TensorDataset") for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: tensors need one first dimension of the same size, got shapes "
                             f"{[tuple(t.shape) for t in self.tensors]}")

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, i: Any) -> tuple[Tensor, ...]:
        return tuple(getitem(t, i) for t in self.tensors)


def _as_tensor(t: Any, who: str) -> Tensor:
    if isinstance(t, Tensor):
        return t
    if hasattr(t, "shape") and hasattr(t, "dtype"):  # an array of some library: shared where possible
        return as_tensor(t)
    raise TypeError(f"{who}: expects tensors or arrays, got {type(t).__name__}")


class DataLoader:
    """Mini-batches of tensors that share their first axis: ``DataLoader(TensorDataset(X, y), batch_size=32,
    shuffle=True)`` as in PyTorch, or ``DataLoader(X, y, ...)`` with tensors or arrays directly. Defaults are
    PyTorch's (``batch_size=1``, ``shuffle=False``, ``drop_last=False``). One tensor gives batches, several
    give tuples of batches.

    Each pass draws a fresh order from a host NumPy generator: ``generator`` (a ``numpy.random.Generator``
    or an int seed) or ``seed`` (default 0), so the sequence of batches is the same on every backend and
    can be replayed elsewhere (``loader.epoch_indices()`` gives the NumPy index arrays). The order differs
    from PyTorch's for the same seed: its generator is not NumPy's. The data stay on their device: a pass
    copies its order there once and gathers each batch there (``xp.take`` with a slice of it), so a step
    copies nothing from the host.
    """

    def __init__(self, *data: Any, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 seed: int | None = None, generator: Any = None, **unsupported: Any) -> None:
        # PyTorch's settings that change nothing here are accepted: no worker processes, no pinned memory
        unsupported.pop("pin_memory", None)
        if unsupported.get("num_workers", 0) == 0:
            unsupported.pop("num_workers", None)
        if unsupported:
            raise TypeError(f"DataLoader: unsupported arguments {sorted(unsupported)}; xgrad's DataLoader takes "
                            "batch_size, shuffle, drop_last, generator (or seed), and no worker processes")
        if not data:
            raise ValueError("DataLoader needs a TensorDataset or at least one tensor")
        if len(data) == 1 and isinstance(data[0], TensorDataset):
            tensors, self.single = data[0].tensors, False
        else:
            tensors, self.single = tuple(_as_tensor(t, "DataLoader") for t in data), len(data) == 1
        n = tensors[0].shape[0]
        for t in tensors[1:]:
            if t.shape[0] != n:
                raise ValueError(f"DataLoader: tensors have different lengths {[t.shape[0] for t in tensors]}")
        if int(batch_size) != batch_size or int(batch_size) <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        self.tensors, self.n = tensors, n
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), bool(shuffle), bool(drop_last)
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: give generator or seed, not both")
        if isinstance(generator, np.random.Generator):
            self._rng = generator
        elif generator is None:
            self._rng = np.random.default_rng(0 if seed is None else seed)
        elif isinstance(generator, (int, np.integer)):
            self._rng = np.random.default_rng(int(generator))
        else:
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator or an int seed, got "
                            f"{type(generator).__name__} (a torch.Generator cannot drive xgrad's shuffling)")

    def __len__(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def epoch_indices(self) -> list[np.ndarray]:
        """The index arrays (NumPy, host) of the next pass; advances the generator when shuffling."""
        order = self._rng.permutation(self.n) if self.shuffle else np.arange(self.n)
        stop = len(self) * self.batch_size
        return [order[i:min(i + self.batch_size, self.n)] for i in range(0, min(stop, self.n), self.batch_size)]

    def __iter__(self) -> Iterator[Any]:
        for batch in self._batches():
            yield batch[0] if self.single else batch

    def _batches(self) -> Iterator[tuple[Tensor, ...]]:
        parts = self.epoch_indices()
        tensors = self.tensors
        b = tensors[0]._backend
        if not self.shuffle:
            for idx in parts:
                sl = slice(int(idx[0]), int(idx[-1]) + 1)
                yield tuple(new(t.data[sl, ...], b) for t in tensors)
            return
        dev = b.device(tensors[0].data)
        order = b.asarray(np.concatenate(parts), dtype="int64", device=dev)
        xp = b.xp
        start = 0
        for idx in parts:
            sel = order[start:start + len(idx)]
            start += len(idx)
            yield tuple(new(xp.take(t.data, sel, axis=0), b) for t in tensors)


def batches(X: Tensor, y: Tensor, batch_size: int = 64, shuffle: bool = True, drop_last: bool = False,
            seed: int = 0) -> DataLoader:
    """A :class:`DataLoader` over ``(X, y)``, shuffled by default (each pass a new order from ``seed``)."""
    return DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed)


class DistributedSampler:
    """The indices of one rank's shard of a data set of ``n`` samples, as PyTorch's sampler of that name:
    each epoch (``set_epoch``) a permutation seeded with ``seed + epoch``, the same on every rank;
    padded by repeating its start to a multiple of ``num_replicas`` (or, with ``drop_last``, cut to one),
    so every rank gets ``len(self)`` indices and the shards are disjoint apart from the padding.
    ``rank``/``num_replicas`` default to those of ``xgrad.distributed``. The permutation comes from
    NumPy's generator, not torch's: shards equal torch's only without shuffling."""

    def __init__(self, n: int, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False) -> None:
        num_replicas = distributed.world_size() if num_replicas is None else int(num_replicas)
        rank = distributed.rank() if rank is None else int(rank)
        n = int(n)
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank {rank} is not in [0, num_replicas={num_replicas})")
        if n < 1 or (drop_last and n < num_replicas):
            raise ValueError(f"DistributedSampler: {n} samples cannot be shared by {num_replicas} ranks"
                             f"{' with drop_last' if drop_last else ''}")
        self.n, self.num_replicas, self.rank = n, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), bool(drop_last), 0
        self.num_samples = n // num_replicas if drop_last else -(-n // num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch (NumPy int64, host)."""
        order = (np.random.default_rng(self.seed + self.epoch).permutation(self.n) if self.shuffle
                 else np.arange(self.n))
        if self.total_size > self.n:
            order = np.resize(order, self.total_size)  # repeats from the start, as PyTorch pads
        return order[:self.total_size][self.rank::self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples


class ShardedDataLoader(DataLoader):
    """Mini-batches of this rank's shard: a :class:`DistributedSampler` over the rows of ``tensors``
    (reshuffled each pass, ``set_epoch`` called for you), cut into batches of ``batch_size``, the
    per-rank batch. What ``xgrad train --distributed`` feeds each rank."""

    def __init__(self, *tensors: Tensor, batch_size: int = 64, sampler: DistributedSampler | None = None,
                 seed: int = 0) -> None:
        super().__init__(*tensors, batch_size=batch_size, shuffle=True, drop_last=False, seed=seed)
        self.sampler = sampler if sampler is not None else DistributedSampler(self.n, seed=seed)
        self._epoch = 0

    def __len__(self) -> int:
        return -(-len(self.sampler) // self.batch_size)

    def epoch_indices(self) -> list[np.ndarray]:
        self.sampler.set_epoch(self._epoch)
        self._epoch += 1
        order = self.sampler.indices()
        return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
