"""Data-parallel training: one model replicated on every MPI rank, gradients averaged during backward.

``DistributedDataParallel(model)`` broadcasts rank 0's parameters and buffers, then averages each
parameter's gradient over the ranks. Parameters are grouped into buckets (about ``bucket_cap_mb`` each,
in reverse registration order: roughly the order backward finishes them); a post-accumulate gradient
hook starts a bucket's non-blocking allreduce as soon as its last gradient is final, so communication
overlaps the rest of backward, and the last one waits for all buckets, so when ``loss.backward()``
returns every ``.grad`` holds the average. ``no_sync()`` accumulates locally for gradient accumulation.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator

from .. import distributed
from ..autograd import no_grad
from ..tensor import Tensor
from .modules import Module

__all__ = ["DistributedDataParallel"]


class _Bucket:
    def __init__(self, params: list[tuple[str, Tensor]]) -> None:
        self.names = [n for n, _ in params]
        self.params = [p for _, p in params]
        self.ready: set[int] = set()
        self.work: distributed.Work | None = None


class DistributedDataParallel(Module):
    """Wraps ``module`` (``ddp(x)`` calls it); see the module docstring.

    ``comm_wait_seconds`` accumulates the time backward spent waiting for reductions after its last
    gradient was final (the part of communication not hidden behind computation)."""

    _buckets: list[_Bucket]
    _bucket_of: dict[int, _Bucket]
    _sync: bool
    _started: int
    _handles: list[Any]
    comm_wait_seconds: float

    def __init__(self, module: Module, bucket_cap_mb: float = 25.0) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps an xgrad.nn.Module, got {type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self.module = module
        job = distributed.init()
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        state = list(module.state_dict().items())
        if job.comm is not None:  # every rank raises if they differ, so none waits
            distributed._same_everywhere(job, "DistributedDataParallel", [
                (n, tuple(a.shape), str(a.dtype)) for n, a in state])
        self._broadcast_state(module)
        object.__setattr__(self, "_buckets", self._make_buckets(named, bucket_cap_mb * 2**20))
        object.__setattr__(self, "_bucket_of", {id(p): b for b in self._buckets for p in b.params})
        object.__setattr__(self, "_sync", True)
        object.__setattr__(self, "_started", 0)
        object.__setattr__(self, "comm_wait_seconds", 0.0)
        object.__setattr__(self, "_handles", [p.register_post_accumulate_grad_hook(self._grad_ready)
                                              for _, p in named])

    # ---- set-up --------------------------------------------------------------------------------
    @staticmethod
    def _broadcast_state(module: Module) -> None:
        """Rank 0's parameters and buffers, copied to every rank."""
        tensors = dict(module.named_parameters())
        named_buffers = getattr(module, "named_buffers", None)
        if named_buffers is not None:
            tensors.update(named_buffers())
        unknown = [name for name in module.state_dict() if name not in tensors]
        if unknown:
            raise TypeError(f"DistributedDataParallel: state entries {unknown} are neither parameters nor "
                            "buffers of the module; they cannot be broadcast from rank 0")
        with no_grad():
            for t in tensors.values():
                distributed.broadcast(t, 0)

    @staticmethod
    def _make_buckets(named: list[tuple[str, Tensor]], cap: float) -> list[_Bucket]:
        buckets: list[_Bucket] = []
        current: list[tuple[str, Tensor]] = []
        size, dtype = 0, None
        for name, p in reversed(named):
            nbytes = p.data.dtype.itemsize * max(1, _numel(p))
            if current and (size + nbytes > cap or p.data.dtype != dtype):
                buckets.append(_Bucket(current))
                current, size = [], 0
            current.append((name, p))
            size += nbytes
            dtype = p.data.dtype
        if current:
            buckets.append(_Bucket(current))
        return buckets

    # ---- calling -------------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        self._check_previous_backward()
        return self.module(*args, **kwargs)

    def _check_previous_backward(self) -> None:
        """A backward that gave gradients to some parameters but not all left their buckets unreduced:
        the ranks' gradients would differ silently. Say so (as PyTorch does) instead."""
        partial = [b for b in self._buckets if b.ready and b.work is None]
        if partial:
            missing = [n for b in partial for n, p in zip(b.names, b.params) if id(p) not in b.ready]
            for b in self._buckets:
                if b.work is not None:  # started on every rank that got this far: finish it
                    b.work.wait()
                b.ready.clear()
                b.work = None
            object.__setattr__(self, "_started", 0)
            raise distributed.DistributedError(
                "DistributedDataParallel: the previous backward gave no gradient to parameter(s) "
                f"{', '.join(missing[:8])}{', ...' if len(missing) > 8 else ''}, so gradients were not averaged "
                "over the ranks. Use every parameter in the loss, or set requires_grad=False on unused ones "
                "before wrapping the model.")

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backwards inside accumulate gradients locally; the first backward after it averages the sum."""
        object.__setattr__(self, "_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "_sync", True)

    # ---- the hook ------------------------------------------------------------------------------
    def _grad_ready(self, p: Tensor) -> None:
        if not self._sync:
            return
        bucket = self._bucket_of[id(p)]
        bucket.ready.add(id(p))
        if len(bucket.ready) < len(bucket.params):
            return
        grads = [q.grad for q in bucket.params]
        bucket.work = distributed.all_reduce_arrays(grads, average=True)  # type: ignore[arg-type]
        object.__setattr__(self, "_started", self._started + 1)
        for b in self._buckets:  # let MPI progress the reductions already in flight
            if b.work is not None and b is not bucket:
                b.work.test()
        if self._started == len(self._buckets):
            start = time.perf_counter()
            for b in self._buckets:  # in bucket order: the same on every rank
                assert b.work is not None
                b.work.wait()
                b.work = None
                b.ready.clear()
            object.__setattr__(self, "_started", 0)
            object.__setattr__(self, "comm_wait_seconds", self.comm_wait_seconds + time.perf_counter() - start)

    def extra_repr(self) -> str:
        return f"world_size={distributed.world_size()}, buckets={len(self._buckets)}"


def _numel(p: Tensor) -> int:
    n = 1
    for s in p.shape:
        n *= int(s)
    return n


def __dir__() -> list[str]:  # dir() and tab completion list the public names, not this module's imports
    return sorted(__all__)
