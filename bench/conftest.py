"""pytest configuration of the benchmark suite: markers, machine description, and the timing helper.

The suite is not collected by the default ``pytest`` run (pyproject's testpaths is ``tests``); run it
with ``pytest bench -m cpu`` / ``-m gpu`` / ``-m quick`` (see bench/README.md).
"""

import math
import os
import platform
import time

import pytest

# Timing policy. Each case: one warm-up call (outside the timing; it also compiles GPU kernels), a short
# calibration, then ``benchmark.pedantic`` with enough iterations per round that a round lasts at least
# ROUND_S, and as many rounds as fit in BUDGET_S (between MIN_ROUNDS and MAX_ROUNDS). Medians are quoted.
# XGRAD_BENCH_BUDGET scales the per-case budget (e.g. 3 for a quieter, longer run).
_SCALE = float(os.environ.get("XGRAD_BENCH_BUDGET", "1"))
BUDGET_S = {"cpu": 0.6 * _SCALE, "gpu": 0.08 * _SCALE}
ROUND_S = {"cpu": 2e-4, "gpu": 2e-4}
MIN_ROUNDS, MAX_ROUNDS = 7, 1000

# XGRAD_BENCH_THREADS=N pins PyTorch's intra-op pool to N threads here; ``python -m bench.run --threads N``
# also sets OMP/OPENBLAS/MKL_NUM_THREADS before NumPy loads (BLAS reads them only at import).
_THREADS = os.environ.get("XGRAD_BENCH_THREADS", "").strip()
if _THREADS:
    try:
        import torch

        torch.set_num_threads(int(_THREADS))
    except ImportError:
        pass


def pytest_configure(config):
    for line in ("cpu: benchmark cases that run on the CPU",
                 "gpu: cases that need CuPy or CUDA (skipped without a GPU)",
                 "quick: the quick benchmark subset"):
        config.addinivalue_line("markers", line)


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(name):
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return None


def machine_description():
    """CPU, cores, memory, GPU and library versions: stored in the JSON's machine_info["xgrad_bench"]."""
    info = {
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["memory_gib"] = round(pages * size / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    versions = {}
    for mod in ("numpy", "torch", "cupy", "array_api_compat", "xgrad", "pytest_benchmark"):
        try:
            m = __import__(mod)
            versions[mod] = getattr(m, "__version__", None) or _version(mod)
        except Exception:
            versions[mod] = None
    for dist in ("cupy-cuda12x", "cupy-cuda13x"):
        if _version(dist):
            versions[dist] = _version(dist)
    info["versions"] = versions
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["torch_cuda"] = torch.version.cuda
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except Exception:
        pass
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount():
            props = cupy.cuda.runtime.getDeviceProperties(0)
            info["gpu"] = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
            info["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
            info["cuda_driver"] = cupy.cuda.runtime.driverGetVersion()
    except Exception:
        pass
    info.setdefault("gpu", None)
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: p.get(k) for k in ("internal_api", "num_threads", "version")}
                        for p in threadpool_info()]
    except Exception:
        pass
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XGRAD_BENCH_BUDGET",
                "XGRAD_BENCH_THREADS", "XGRAD_BENCH_ENGINES", "XGRAD_BENCH_COMMIT", "XGRAD_BENCH_TREE"):
        if var in os.environ:
            info.setdefault("env", {})[var] = os.environ[var]
    info["busy_limit"] = _busy_limit()
    return info


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["xgrad_bench"] = machine_description()


def _calibrate(call, device):
    """Seconds per call, from a short loop after the warm-up."""
    t0 = time.perf_counter()
    call()
    t = time.perf_counter() - t0
    if t < 0.01:
        n, t0 = 0, time.perf_counter()
        while True:
            call()
            n += 1
            el = time.perf_counter() - t0
            if el > 0.02 and n >= 3:
                break
        t = el / n
    return t


def _cpu_clock():
    """(CPU seconds used by the whole machine, by this process, wall seconds), for contention checks."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
        user, nice, system, idle, iowait, irq, softirq = (int(v) for v in fields[:7])
        machine = (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        machine = float("nan")
    t = os.times()
    return machine, t.user + t.system, time.perf_counter()


def _busy_limit():
    """Other processes may keep this many cores busy before a CPU case counts as contended: the cores
    the benchmark's own threads do not need (at least 0.5)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = int(_THREADS) if _THREADS else cores
    return max(0.5, cores - threads + 0.25)


def _others(before, after):
    """Cores' worth of CPU used by other processes between two _cpu_clock() readings."""
    wall = after[2] - before[2]
    return max(0.0, ((after[0] - before[0]) - (after[1] - before[1])) / wall) if wall > 0 else 0.0


@pytest.fixture
def measure(benchmark):
    """``measure(case, device, extra_info)``: time ``case.call`` with pytest-benchmark."""

    def run(case, device, extra_info):
        benchmark.extra_info.update(extra_info)
        benchmark.group = f"{extra_info['device']} {extra_info['op']} {extra_info['dtype']}"
        if getattr(benchmark, "disabled", False):  # --benchmark-disable: run once, a smoke test
            benchmark(case.call)
            return
        case.call()  # warm-up: caches, allocator pools, CUDA kernel compilation, torch's first call
        t = _calibrate(case.call, device)
        iterations = max(1, math.ceil(ROUND_S[device] / t))
        rounds = int(min(MAX_ROUNDS, max(MIN_ROUNDS, BUDGET_S[device] / (t * iterations))))
        benchmark.extra_info["calibrated_s"] = t
        before = _cpu_clock()
        benchmark.pedantic(case.call, rounds=rounds, iterations=iterations, warmup_rounds=0)
        # On a shared machine other processes competing for the cores stall multi-threaded kernels
        # (torch's intra-op pool, BLAS) by whole scheduler slices; record how busy the others were so the
        # report can flag the cases measured under contention.
        others = _others(before, _cpu_clock())
        benchmark.extra_info["other_cpu_cores"] = round(others, 3)
        benchmark.extra_info["busy_limit"] = _busy_limit()
        benchmark.extra_info["contended"] = device == "cpu" and others > _busy_limit()

    return run
