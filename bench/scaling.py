"""Data-parallel scaling over MPI: training throughput of 1 process against N, on the same global batch.

    python -m bench.scaling                       # 64-1024-1024-10 MLP, global batch 4096, float32, 1 and 2 processes
    python -m bench.scaling --procs 1,2,4 --steps 40 --out bench/results/distributed

Each process uses one BLAS thread. Every step (forward, backward with the gradient allreduce, SGD
update) is timed between barriers on rank 0; the report gives the median step time with its
interquartile range, samples per second, the speed-up over one process, and the time backward waited
for communication after its last gradient (the allreduce time not hidden behind computation). The
first ``--warmup`` steps are not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def worker(args: argparse.Namespace) -> None:
    import numpy as np

    import xgrad
    import xgrad.distributed as dist
    import xgrad.nn.functional as F
    from xgrad.nn.parallel import DistributedDataParallel

    dist.init()
    r, W = dist.rank(), dist.world_size()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.batch % W:
        raise SystemExit(f"--batch {args.batch} is not divisible by {W} processes")
    local = args.batch // W
    xgrad.manual_seed(0)
    model = DistributedDataParallel(xgrad.nn.MLP(sizes, activation="relu", dtype="float32"),
                                    bucket_cap_mb=args.bucket_mb)
    opt = xgrad.optim.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(r)
    X = xgrad.tensor(rng.normal(size=(local, sizes[0])), dtype="float32")
    y = xgrad.tensor(rng.integers(0, sizes[-1], size=local), dtype="int64")
    times, waits = [], []
    for step in range(args.warmup + args.steps):
        dist.barrier()
        wait0 = model.comm_wait_seconds
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        dist.barrier()
        if step >= args.warmup:
            times.append(time.perf_counter() - t0)
            waits.append(model.comm_wait_seconds - wait0)
    grads = [p.grad for p in model.parameters()]
    alone = []  # the same reduction, blocking, with nothing to overlap: what the wait is compared with
    for _ in range(10):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce_arrays(grads, async_op=False).wait()
        alone.append(time.perf_counter() - t0)
    if r == 0:
        print("RESULT " + json.dumps({"procs": W, "times": times, "waits": waits, "alone": alone,
                                       "buckets": len(model._buckets)}), flush=True)


def _quartiles(v: list[float]) -> tuple[float, float, float]:
    import numpy as np

    q = np.percentile(v, [25, 50, 75])
    return float(q[0]), float(q[1]), float(q[2])


def _commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return sha + (" (DIRTY TREE: not a committed state)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="64,1024,1024,10")
    p.add_argument("--batch", type=int, default=4096, help="global batch (split over the processes)")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--procs", default="1,2", help="process counts to compare (default 1,2)")
    p.add_argument("--bucket-mb", type=float, default=25.0, help="DistributedDataParallel's bucket_cap_mb")
    p.add_argument("--out", default=None, help="folder for report.md and scaling-<bucket>mb.json")
    p.add_argument("--append", action="store_true", help="add to the folder's report.md instead of replacing it")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if mpiexec is None:
        raise SystemExit("bench.scaling needs mpiexec: pip install mpich mpi4py (the 'distributed' extra)")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("XGRAD_BACKEND", None)
    results = []
    for n in [int(s) for s in args.procs.split(",")]:
        print(f"bench.scaling: {n} process(es), {args.warmup} + {args.steps} steps ...", file=sys.stderr, flush=True)
        cmd = [mpiexec, "-n", str(n), sys.executable, "-m", "bench.scaling", "--worker", "--sizes", args.sizes,
               "--batch", str(args.batch), "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--bucket-mb", str(args.bucket_mb)]
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        line = [s for s in out.stdout.splitlines() if s.startswith("RESULT ")]
        if out.returncode or not line:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr[-2000:]}")
        results.append(json.loads(line[0][len("RESULT "):]))
    base = _quartiles(results[0]["times"])[1] if results[0]["procs"] == 1 else None
    rows = []
    for res in results:
        q1, med, q3 = _quartiles(res["times"])
        wq = _quartiles(res["waits"])
        aq = _quartiles(res["alone"])
        speed = f"{base / med:.2f}x" if base else "-"
        rows.append(f"| {res['procs']} | {1e3 * med:.1f} | {1e3 * q1:.1f}–{1e3 * q3:.1f} | {args.batch / med:,.0f} | "
                    f"{speed} | {1e3 * wq[1]:.2f} ({100 * wq[1] / med:.1f}% of the step) | {1e3 * aq[1]:.2f} | "
                    f"{res['buckets']} |")
    report = "\n".join([
        "# Data-parallel scaling (MPI)", "",
        f"MLP {args.sizes.replace(',', '-')} (ReLU), float32, global batch {args.batch}, SGD; "
        f"{args.steps} timed steps after {args.warmup} warm-up, one BLAS thread per process, buckets of "
        f"{args.bucket_mb:g} MB. The wait is what backward spent in reductions after its last gradient; "
        "'allreduce alone' is the same reduction run blocking with nothing to overlap.",
        f"Machine: {platform.node()}, {os.cpu_count()} cores, {platform.processor() or platform.machine()}; "
        f"commit {_commit()}; command: `python -m bench.scaling --procs {args.procs} --bucket-mb {args.bucket_mb:g}`.",
        "", "| processes | step median (ms) | IQR (ms) | samples/s | speed-up | comm wait after backward, median (ms) | "
        "allreduce alone, median (ms) | buckets |",
        "|---|---|---|---|---|---|---|---|", *rows, ""])
    print(report)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "report.md"), "a" if args.append else "w") as f:
            f.write(report)
        name = f"scaling-{args.bucket_mb:g}mb.json"
        with open(os.path.join(args.out, name), "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
