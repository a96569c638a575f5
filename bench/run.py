"""Re-run a suite and its report in one command:

    python -m bench.run cpu            # -> bench/results/cpu/{cpu.json, report.md, *.png}
    python -m bench.run gpu --out DIR  # the GPU suite (on a machine with CuPy + CUDA)
    python -m bench.run quick --out /tmp/quick

On a shared machine other processes steal the cores and stall multi-threaded kernels (torch's intra-op
pool, BLAS) by whole scheduler slices. So the runner waits (a while) for the machine to go quiet before
starting, and afterwards re-runs the cases that were measured while other processes kept more than
the cores the benchmark does not need busy (recorded per case by bench/conftest.py); the report merges the JSONs, later runs
replacing earlier ones case by case.

In the results folder it replaces only its own outputs (SUITE.json, SUITE-rerunN.json, the report's
files); other files there are left alone.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _busy_others(seconds=2.0):
    """Cores' worth of CPU that other processes use right now (this process sleeps meanwhile)."""
    def read():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:8]]
        return (v[0] + v[1] + v[2] + v[5] + v[6]) / os.sysconf("SC_CLK_TCK"), time.perf_counter()
    try:
        a = read()
        time.sleep(seconds)
        b = read()
        return (b[0] - a[0]) / (b[1] - a[1])
    except (OSError, ValueError):
        return 0.0


def wait_quiet(limit, max_wait):
    t0 = time.time()
    while True:
        busy = _busy_others()
        if busy <= limit or time.time() - t0 > max_wait:
            print(f"[bench.run] other processes use {busy:.2f} cores"
                  + ("" if busy <= limit else f" (still above {limit} after {max_wait:.0f} s; going on)"), flush=True)
            return
        time.sleep(3)


def pytest(args):
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"] + args
    print("[bench.run]", " ".join(cmd[:12]) + (" ..." if len(cmd) > 12 else ""), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def contended(path):
    """Node ids of the CPU cases that bench/conftest.py marked as measured under contention."""
    with open(path) as f:
        doc = json.load(f)
    return [b["fullname"] for b in doc.get("benchmarks", []) if (b.get("extra_info") or {}).get("contended")]


def own_outputs(out, suite):
    """The JSON files an earlier run of ``suite`` left in ``out`` (``SUITE.json``, ``SUITE-rerunN.json``):
    removed before a new run, so no stale re-run is mistaken for part of it. Nothing else is removed."""
    pattern = re.compile(re.escape(suite) + r"(-rerun\d+)?\.json")
    return sorted(name for name in os.listdir(out) if pattern.fullmatch(name))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.run", description="run a benchmark suite, then its report")
    p.add_argument("suite", choices=("cpu", "gpu", "quick"))
    p.add_argument("--out", help="results folder (default bench/results/SUITE)")
    p.add_argument("--threads", type=int, default=None,
                   help="pin torch, OpenMP and BLAS to this many threads (default: the libraries' own defaults)")
    p.add_argument("--reruns", type=int, default=2, help="re-run passes for contended cases (0: none)")
    p.add_argument("--wait", type=float, default=120, help="seconds to wait for a quiet machine before each pass")
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    a = p.parse_args(argv)
    out = os.path.abspath(a.out or os.path.join(HERE, "results", a.suite))
    os.makedirs(out, exist_ok=True)
    marker = {"cpu": "cpu", "gpu": "gpu", "quick": "quick"}[a.suite]
    device = "gpu" if a.suite == "gpu" else "cpu"
    for old in own_outputs(out, a.suite):
        os.remove(os.path.join(out, old))
    jsons = [os.path.join(out, f"{a.suite}.json")]
    if a.threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XGRAD_BENCH_THREADS"):
            os.environ[var] = str(a.threads)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quiet = max(0.5, cores - (a.threads or cores) + 0.25)
    if device == "cpu":
        wait_quiet(quiet, a.wait)
    t0 = time.time()
    rc = pytest(["bench", "-m", marker, f"--benchmark-json={jsons[0]}"] + a.pytest_args)
    print(f"[bench.run] suite took {time.time() - t0:.0f} s (rc {rc})", flush=True)
    if rc not in (0, 5) or not os.path.exists(jsons[0]):
        return rc
    for i in range(1, a.reruns + 1 if device == "cpu" else 1):
        ids = contended(jsons[-1])
        if not ids:
            break
        print(f"[bench.run] re-running {len(ids)} cases measured under contention (pass {i})", flush=True)
        wait_quiet(quiet, a.wait)
        path = os.path.join(out, f"{a.suite}-rerun{i}.json")
        if pytest(ids + [f"--benchmark-json={path}"] + a.pytest_args) != 0 or not os.path.exists(path):
            break
        jsons.append(path)
    from .report import report

    path, _ = report([os.path.relpath(j, ROOT) for j in jsons], os.path.relpath(out, ROOT))
    print(f"[bench.run] wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
