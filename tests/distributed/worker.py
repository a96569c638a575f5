"""Run by tests/test_distributed.py under ``mpiexec -n N``: ``python worker.py SCENARIO BACKEND``.
Prints ``OK <rank> ...`` lines the test reads; any failure raises (and aborts the job)."""

import os
import signal
import sys
import time

import numpy as np

import xgrad
import xgrad.distributed as dist
import xgrad.nn.functional as F
from xgrad.nn.parallel import DistributedDataParallel

scenario, backend = sys.argv[1], sys.argv[2]
xgrad.use_backend(backend)
dist.init()
r, W = dist.rank(), dist.world_size()


def model(seed, sizes=(4, 16, 16, 3)):
    xgrad.manual_seed(seed)
    return xgrad.nn.MLP(list(sizes), activation="tanh", dtype="float64")


def params(m):
    return [p.detach().numpy().copy() for p in m.parameters()]


def data(n=W * 8 * 50, seed=7):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)), rng.integers(0, 3, size=n)


if scenario == "collectives":
    t = xgrad.tensor(np.arange(6.0).reshape(2, 3) * (r + 1), dtype="float64")
    dist.all_reduce(t)
    assert np.array_equal(t.numpy(), np.arange(6.0).reshape(2, 3) * sum(range(1, W + 1))), t.numpy()
    m = xgrad.tensor([float(r)], dtype="float32")
    dist.all_reduce(m, op="max")
    assert m.item() == W - 1
    mean = xgrad.tensor([float(r)], dtype="float64")
    dist.all_reduce(mean, op="mean")
    assert mean.item() == sum(range(W)) / W
    b = xgrad.tensor(np.full(4, float(r)), dtype="float64")
    dist.broadcast(b, src=W - 1)
    assert np.array_equal(b.numpy(), np.full(4, W - 1.0))
    g = dist.all_gather(xgrad.tensor([r, 10 * r], dtype="int64"))
    assert [x.numpy().tolist() for x in g] == [[q, 10 * q] for q in range(W)]
    print(f"OK {r} collectives", flush=True)

elif scenario == "train":  # data-parallel steps equal one process on the same global batches
    X, y = data()
    local = 8  # samples per rank per step; the global batch is W * local
    ddp = DistributedDataParallel(model(seed=100 + r), bucket_cap_mb=0.0005)  # rank 0's weights everywhere
    opt = xgrad.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    ref = model(seed=100)
    ref_opt = xgrad.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    for step in range(50):
        g = slice(step * W * local, (step + 1) * W * local)
        mine = slice(step * W * local + r * local, step * W * local + (r + 1) * local)
        loss = F.cross_entropy(ddp(xgrad.tensor(X[mine])), xgrad.tensor(y[mine]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        ref_loss = F.cross_entropy(ref(xgrad.tensor(X[g])), xgrad.tensor(y[g]))
        ref_opt.zero_grad()
        ref_loss.backward()
        ref_opt.step()
    err = max(float(np.max(np.abs(a - b))) for a, b in zip(params(ddp.module), params(ref)))
    assert err <= 1e-12, err
    # every rank holds the same bits
    for p in ddp.parameters():
        copies = dist.all_gather(p.detach())
        assert all(np.array_equal(c.numpy(), copies[0].numpy()) for c in copies)
    print(f"OK {r} train maxdiff {err:.3g} buckets {len(ddp._buckets)}", flush=True)

elif scenario == "no_sync":  # two accumulated micro-batches per rank equal one big single-process batch
    X, y = data()
    ddp = DistributedDataParallel(model(seed=5))
    ref = model(seed=5)
    local = 6
    halves = [slice(r * 2 * local, r * 2 * local + local), slice(r * 2 * local + local, (r + 1) * 2 * local)]
    with ddp.no_sync():
        (F.cross_entropy(ddp(xgrad.tensor(X[halves[0]])), xgrad.tensor(y[halves[0]])) / 2).backward()
    mid = [p.grad.numpy().copy() for p in ddp.parameters()]
    (F.cross_entropy(ddp(xgrad.tensor(X[halves[1]])), xgrad.tensor(y[halves[1]])) / 2).backward()
    full = slice(0, W * 2 * local)
    F.cross_entropy(ref(xgrad.tensor(X[full])), xgrad.tensor(y[full])).backward()
    err = max(float(np.max(np.abs(p.grad.numpy() - q.grad.numpy())))
              for p, q in zip(ddp.module.parameters(), ref.parameters()))
    assert err <= 1e-12, err
    if W > 1:  # inside no_sync nothing was averaged: the ranks' gradients still differed
        firsts = dist.all_gather(xgrad.tensor(mid[0]))
        assert not np.array_equal(firsts[0].numpy(), firsts[1].numpy())
    print(f"OK {r} no_sync maxdiff {err:.3g}", flush=True)

elif scenario == "mismatch":  # rank 1 builds a different model: every rank must raise, none hang
    sizes = (4, 16, 3) if r == 1 else (4, 8, 3)
    try:
        DistributedDataParallel(model(0, sizes))
    except dist.DistributedError as e:
        print(f"OK {r} mismatch: {e}")
        sys.exit(0)
    raise AssertionError("no error for different models")

elif scenario == "unused":  # a parameter without gradient: a clear error, never unaveraged gradients
    ddp = DistributedDataParallel(model(0))
    first = next(iter(ddp.module.parameters()))
    (first.sum() * 0 + first.sum()).backward()  # only the first layer's weight gets a gradient
    try:
        ddp(xgrad.zeros((2, 4), dtype="float64"))
    except dist.DistributedError as e:
        print(f"OK {r} unused: {e}")
        sys.exit(0)
    raise AssertionError("no error for unused parameters")

elif scenario == "raise":  # one rank raises: the job ends with its traceback, the rank named
    if r == 1:
        raise ValueError("planted failure on rank 1")
    dist.barrier()  # would wait forever without the abort
    time.sleep(120)

elif scenario == "kill":  # one rank dies without a word: the job must still end
    if r == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    dist.barrier()
    time.sleep(120)

else:
    raise SystemExit(f"unknown scenario {scenario}")
