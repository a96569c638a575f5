"""Communication between processes started by ``mpiexec``, over MPI (mpi4py): the collectives a
data-parallel trainer needs, on tensors of any backend.

``init()`` joins the MPI job (or, without mpi4py or outside ``mpiexec``, a job of one process, where
every collective returns its input). Arrays travel through host NumPy buffers: NumPy and torch-CPU
tensors are read in place; CuPy arrays are staged through the host (CUDA-aware MPI and NCCL are not
used: see ``transport()``). Reductions have a fixed order for a given world size and message size
(MPI's algorithm does not depend on timing), and every rank ends with the same bits.

After ``init()`` in a job of several processes, an exception that reaches the top of any rank aborts
the whole job (``MPI_Abort``) after printing the traceback with the rank, so the other ranks never
wait forever for a rank that is gone.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any, Callable, Sequence

import numpy as np

from . import inplace
from .tensor import Tensor, new

__all__ = ["init", "is_initialized", "rank", "world_size", "barrier", "all_reduce", "broadcast",
           "all_gather", "all_reduce_arrays", "transport", "mpi_library", "Work", "DistributedError"]


class DistributedError(RuntimeError):
    """Ranks disagree (parameter shapes, dtypes), or a collective was used wrongly."""


_OPS = ("sum", "mean", "max", "min")


class _Job:
    """The MPI communicator (or none, for a job of one process) and what is known about it."""

    def __init__(self, comm: Any, mpi: Any) -> None:
        self.comm, self.mpi = comm, mpi
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()


_job: _Job | None = None


def init() -> _Job:
    """Join the MPI job this process was started in (idempotent). Without mpi4py, or started without
    ``mpiexec``, the job has one process. Returns the job (``.rank``, ``.size``, ``.comm``)."""
    global _job
    if _job is not None:
        return _job
    try:
        from mpi4py import MPI
    except ImportError:
        _job = _Job(None, None)
        return _job
    comm = MPI.COMM_WORLD
    _job = _Job(comm, MPI)
    if _job.size > 1:
        _abort_on_uncaught_exception(_job)
    return _job


def _abort_on_uncaught_exception(job: _Job) -> None:
    """An exception that ends one rank ends the job: the other ranks would wait in their next
    collective forever. The traceback is printed first, prefixed with the rank."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(f"xgrad.distributed: rank {job.rank} of {job.size} raised, aborting the job:\n{text}")
        sys.stderr.flush()
        if kind is KeyboardInterrupt:
            previous(kind, value, tb)
        job.comm.Abort(1)

    sys.excepthook = hook


def is_initialized() -> bool:
    return _job is not None


def _get() -> _Job:
    return _job if _job is not None else init()


def rank() -> int:
    """This process's rank, 0 .. world_size() - 1."""
    return _get().rank


def world_size() -> int:
    """The number of processes in the job."""
    return _get().size


def barrier() -> None:
    """Wait until every rank has called ``barrier()``."""
    job = _get()
    if job.comm is not None:
        job.comm.Barrier()


def mpi_library() -> str | None:
    """The MPI library's version line (``None`` without mpi4py)."""
    try:
        from mpi4py import MPI
    except ImportError:
        return None
    return " ".join(str(MPI.Get_library_version()).split()[:3])  # e.g. "MPICH Version: 5.0.2"


def transport(t: Tensor | None = None) -> str:
    """How tensors of ``t``'s backend (default: every backend) travel between ranks."""
    if t is not None and t._backend.name == "cupy":
        return "host staging (device -> host NumPy buffer -> MPI -> device)"
    return "host NumPy buffers (in place for NumPy and torch-CPU tensors)"


# ---- arrays <-> host buffers ----------------------------------------------------------------------
def _wire_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype a buffer travels in: float16/bfloat16 have no MPI type, they are summed in float32."""
    return np.dtype(np.float32) if dtype.itemsize < 4 and dtype.kind in "fV" else dtype


def _host(t: Tensor) -> np.ndarray:
    a = np.ascontiguousarray(t._backend.to_numpy(t.data))
    return a.astype(_wire_dtype(a.dtype), copy=False)


def _write(t: Tensor, host: np.ndarray) -> None:
    """Put ``host`` (a NumPy array of ``t``'s shape) into ``t``'s array, in place where possible."""
    b = t._backend
    value = b.asarray(host.reshape(t.shape), dtype=t.data.dtype, device=b.device(t.data))
    inplace.update_(t, inplace.assign, value)


def _mpi_op(job: _Job, op: str) -> Any:
    if op not in _OPS:
        raise ValueError(f"xgrad.distributed: op must be one of {_OPS}, got {op!r}")
    return {"sum": job.mpi.SUM, "mean": job.mpi.SUM, "max": job.mpi.MAX, "min": job.mpi.MIN}[op]


def _check_tensor(what: str, t: Any) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"xgrad.distributed.{what}: expected an xgrad Tensor, got {type(t).__name__}")
    return t


# ---- collectives -------------------------------------------------------------------------------
def all_reduce(t: Tensor, op: str = "sum") -> Tensor:
    """Reduce ``t`` over all ranks (``"sum"``, ``"mean"``, ``"max"``, ``"min"``) and write the result into
    ``t`` on every rank, in place (a write: graphs that saved ``t`` refuse to backward). Returns ``t``."""
    _check_tensor("all_reduce", t)
    job = _get()
    if op not in _OPS:
        raise ValueError(f"xgrad.distributed.all_reduce: op must be one of {_OPS}, got {op!r}")
    if job.comm is None:
        return t
    buf = _host(t).copy()
    job.comm.Allreduce(job.mpi.IN_PLACE, buf, op=_mpi_op(job, op))
    if op == "mean":
        buf /= job.size
    _write(t, buf)
    return t


def broadcast(t: Tensor, src: int = 0) -> Tensor:
    """Copy rank ``src``'s ``t`` into ``t`` on every other rank (in place). Returns ``t``."""
    _check_tensor("broadcast", t)
    job = _get()
    if not 0 <= src < job.size:
        raise ValueError(f"xgrad.distributed.broadcast: src {src} is not a rank of a job of {job.size}")
    if job.comm is None:
        return t
    buf = _host(t).copy()
    job.comm.Bcast(buf, root=src)
    if job.rank != src:
        _write(t, buf)
    return t


def all_gather(t: Tensor) -> list[Tensor]:
    """Every rank's ``t`` (same shape and dtype on all ranks), as new tensors in rank order."""
    _check_tensor("all_gather", t)
    job = _get()
    if job.comm is not None:
        _same_everywhere(job, "all_gather", [("tensor", tuple(t.shape), str(t.data.dtype))])
    mine = _host(t)
    out = np.empty((job.size,) + mine.shape, dtype=mine.dtype)
    if job.comm is None:
        out[0] = mine
    else:
        job.comm.Allgather(mine, out)
    b = t._backend
    return [new(b.asarray(out[r], dtype=t.data.dtype, device=b.device(t.data), copy=True), b)
            for r in range(job.size)]


def _same_everywhere(job: _Job, what: str, items: Sequence[tuple[str, tuple[int, ...], str]]) -> None:
    """Raise on every rank (so none waits) if ``items`` (name, shape, dtype) differ between ranks."""
    everyone = job.comm.allgather(list(items))
    for r, theirs in enumerate(everyone):
        if theirs != list(items) and r != job.rank:
            ours = dict((n, (s, d)) for n, s, d in items)
            other = dict((n, (s, d)) for n, s, d in theirs)
            diffs = [f"{n}: rank {job.rank} {ours.get(n)} vs rank {r} {other.get(n)}"
                     for n in sorted(set(ours) | set(other)) if ours.get(n) != other.get(n)]
            if len(theirs) != len(items):
                diffs.insert(0, f"rank {job.rank} has {len(items)} tensors, rank {r} has {len(theirs)}")
            raise DistributedError(f"xgrad.distributed.{what}: ranks disagree on tensor shapes or dtypes: "
                                   + "; ".join(diffs[:8]) + ("; ..." if len(diffs) > 8 else "")
                                   + ". Every rank must build the same model (same sizes, dtype, backend).")


# ---- non-blocking reductions of several arrays (what DistributedDataParallel's buckets use) ---------
class Work:
    """A reduction in flight: ``wait()`` finishes it and writes the results into the tensors."""

    def __init__(self, job: _Job, tensors: list[Tensor], buf: np.ndarray, offsets: list[int],
                 request: Any, scale: float) -> None:
        self._job, self._tensors, self._buf, self._offsets = job, tensors, buf, offsets
        self._request, self._scale, self.done = request, scale, False

    def test(self) -> bool:
        """Let MPI progress the reduction; True once it has completed (results not yet written)."""
        return True if self._request is None else bool(self._request.Test())

    def wait(self) -> None:
        if self.done:
            return
        if self._request is not None:
            self._request.Wait()
        buf = self._buf
        if self._scale != 1.0:
            buf *= self._scale
        for t, start, stop in zip(self._tensors, self._offsets, self._offsets[1:]):
            _write(t, buf[start:stop])
        self.done = True


def all_reduce_arrays(tensors: Sequence[Tensor], average: bool = True, async_op: bool = True) -> Work:
    """Sum (or average) several tensors over all ranks as one flat buffer, started now (non-blocking
    ``Iallreduce`` when ``async_op``); ``Work.wait()`` writes the results into the tensors in place."""
    job = _get()
    tensors = [_check_tensor("all_reduce_arrays", t) for t in tensors]
    hosts = [_host(t).ravel() for t in tensors]
    dtypes = {h.dtype for h in hosts}
    if len(dtypes) > 1:
        raise TypeError(f"xgrad.distributed.all_reduce_arrays: one buffer holds one dtype, got {sorted(map(str, dtypes))}; "
                        "reduce tensors of each dtype separately")
    offsets = [0]
    for h in hosts:
        offsets.append(offsets[-1] + h.size)
    buf = np.empty(offsets[-1], dtype=hosts[0].dtype if hosts else np.float64)
    for h, start, stop in zip(hosts, offsets, offsets[1:]):
        buf[start:stop] = h
    scale = 1.0 / job.size if average else 1.0
    request = None
    if job.comm is not None:
        if async_op:
            request = job.comm.Iallreduce(job.mpi.IN_PLACE, buf, op=job.mpi.SUM)
        else:
            job.comm.Allreduce(job.mpi.IN_PLACE, buf, op=job.mpi.SUM)
    return Work(job, list(tensors), buf, offsets, request, scale)


def __dir__() -> list[str]:  # dir() and tab completion list the public names, not this module's imports
    return sorted(__all__)
