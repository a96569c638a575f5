"""Data-parallel training over MPI: collectives, DistributedDataParallel against one process on the same
global batches, gradient accumulation with no_sync, and what happens when ranks disagree or die.
The multi-process tests run ``tests/distributed/worker.py`` under ``mpiexec`` (skipped without it)."""

import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import xgrad
import xgrad.distributed as dist
from xgrad.data import DistributedSampler

WORKER = os.path.join(os.path.dirname(__file__), "distributed", "worker.py")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _mpiexec():
    exe = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if exe is None:
        pytest.skip("mpiexec not found (pip install mpich mpi4py, or the 'distributed' extra)")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py not installed (pip install mpi4py, or the 'distributed' extra)")
    return exe


def run(n, scenario, backend="numpy", timeout=120):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env.pop("XGRAD_BACKEND", None)
    start = time.monotonic()
    p = subprocess.run([_mpiexec(), "-n", str(n), sys.executable, WORKER, scenario, backend],
                       capture_output=True, text=True, timeout=timeout, env=env)
    return p, time.monotonic() - start


def _ok_lines(p, n):
    # ranks share stdout: their lines may arrive glued together, so split at each "OK <rank> "
    lines = sorted(part.strip() for part in re.split(r"(?=OK \d+ )", p.stdout) if part.startswith("OK "))
    assert p.returncode == 0 and len(lines) == n, f"rc {p.returncode}\n{p.stdout}\n{p.stderr[-3000:]}"
    return lines


@pytest.mark.parametrize("n", [2, 3])
def test_collectives_sum_max_mean_broadcast_gather(n):
    p, _ = run(n, "collectives")
    _ok_lines(p, n)


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("n", [2, 3])
def test_data_parallel_training_equals_one_process_on_the_global_batches(n, lib):
    if lib == "torch":
        pytest.importorskip("torch")
    p, _ = run(n, "train", lib)
    lines = _ok_lines(p, n)
    assert all("buckets" in line for line in lines)
    assert int(lines[0].split()[-1]) > 1, "the test means to cover several buckets"


def test_no_sync_accumulation_equals_one_big_batch():
    p, _ = run(2, "no_sync")
    _ok_lines(p, 2)


def test_different_models_on_two_ranks_raise_on_every_rank_at_wrap_time():
    p, _ = run(2, "mismatch")
    lines = _ok_lines(p, 2)
    assert "rank 0" in lines[0] and "rank 1" in lines[0] and "0.weight" in lines[0]


def test_a_parameter_left_without_gradient_is_an_error_not_a_silent_skip():
    p, _ = run(2, "unused")
    lines = _ok_lines(p, 2)
    assert "no gradient" in lines[0]


def test_a_rank_that_raises_ends_the_job_and_is_named():
    p, seconds = run(2, "raise", timeout=90)
    assert p.returncode != 0
    assert "rank 1 of 2 raised" in p.stderr and "planted failure on rank 1" in p.stderr
    assert seconds < 60


def test_a_rank_that_dies_ends_the_job():
    p, seconds = run(2, "kill", timeout=90)
    assert p.returncode != 0
    assert seconds < 60


# ---- in one process ---------------------------------------------------------------------------------
def test_a_single_process_job_returns_its_inputs():
    dist.init()
    if dist.world_size() != 1:
        pytest.skip("run under mpiexec")
    t = xgrad.tensor([1.0, 2.0])
    assert dist.all_reduce(t) is t and t.numpy().tolist() == [1.0, 2.0]
    assert dist.all_reduce(t, op="mean").numpy().tolist() == [1.0, 2.0]
    assert [g.numpy().tolist() for g in dist.all_gather(t)] == [[1.0, 2.0]]
    with pytest.raises(ValueError, match="op must be one of"):
        dist.all_reduce(t, op="prod")
    with pytest.raises(TypeError, match="xgrad Tensor"):
        dist.all_reduce(np.ones(2))


@pytest.mark.parametrize("n,W,drop_last", [(10, 3, False), (10, 3, True), (9, 3, False), (2, 3, False)])
def test_sampler_shards_are_disjoint_and_cover_the_data_as_pytorch_pads(n, W, drop_last):
    shards = [DistributedSampler(n, W, r, shuffle=True, seed=3, drop_last=drop_last).indices() for r in range(W)]
    assert len({len(s) for s in shards}) == 1
    together = np.concatenate(shards)
    if drop_last:
        assert len(set(together.tolist())) == len(together) == (n // W) * W
    else:
        assert set(together.tolist()) == set(range(n)) and len(together) == -(-n // W) * W


def test_sampler_matches_pytorch_without_shuffling_and_reshuffles_per_epoch():
    torch_data = pytest.importorskip("torch.utils.data")
    for drop_last in (False, True):
        for r in range(3):
            ours = DistributedSampler(10, 3, r, shuffle=False, drop_last=drop_last)
            theirs = torch_data.DistributedSampler(range(10), num_replicas=3, rank=r, shuffle=False,
                                                   drop_last=drop_last)
            assert list(ours) == list(theirs)
    s = DistributedSampler(100, 2, 0, seed=1)
    first = s.indices()
    s.set_epoch(1)
    assert not np.array_equal(first, s.indices())
    s.set_epoch(0)
    assert np.array_equal(first, s.indices())


def test_sampler_refuses_a_rank_outside_the_job():
    with pytest.raises(ValueError, match="rank 3"):
        DistributedSampler(10, 3, 3)


def test_the_command_line_trains_data_parallel_with_one_voice(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    env.pop("XGRAD_BACKEND", None)
    ckpt = tmp_path / "model.npz"
    p = subprocess.run([_mpiexec(), "-n", "2", sys.executable, "-m", "xgrad", "train", "--distributed", "--epochs",
                        "3", "--no-progress", "--save", str(ckpt)], capture_output=True, text=True, timeout=120,
                       env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("final: accuracy") == 1 and "data-parallel over 2 MPI process(es)" in p.stdout
    assert "32 samples per process per step" in p.stdout and ckpt.exists()
