"""Run a benchmark suite and its report in one command:

    python -m bench.run cpu --threads 1          # -> bench/results/cpu/{cpu.json, report.md, *.png}
    python -m bench.run quick --threads 1 --out /tmp/quick
    python -m bench.run gpu                      # on a machine with CuPy + CUDA
    python -m bench.run cpu --threads 1 -- -k "mlp_step"     # after --: arguments for pytest

Options may come before or after the suite's name. Steps, each announced on the terminal:

1. The tree: results are tied to the git commit they were measured at. A run from a tree with
   uncommitted changes, or outside git, is refused when it would write into ``bench/results/`` (the
   committed results) unless ``--allow-dirty``; elsewhere it runs. Either way the report then says so in
   large type.
2. A short wait (``--wait``, 20 s) for other processes to go quiet, with the CPU load printed as it goes.
3. The suite, under pytest-benchmark. ``bench/conftest.py`` records per case how many cores other
   processes kept busy; above the contention threshold (the cores the benchmark's own threads do not
   need, at least 0.5) the case is marked contended.
4. Up to ``--reruns`` passes over the contended cases; later runs replace earlier ones case by case.
5. The report (``bench/report.py``): report.md and PNGs.

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
RESULTS = os.path.join(HERE, "results")


def say(text):
    print(f"[bench.run] {text}", flush=True)


def cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def busy_limit(threads):
    """The contention threshold: other processes may keep this many cores busy (those the benchmark's
    ``threads`` do not need, at least 0.5). bench/conftest.py applies the same rule per case."""
    n = cores()
    return max(0.5, n - min(threads or n, n) + 0.25)


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
        return None


def wait_quiet(limit, max_wait):
    """Wait up to ``max_wait`` seconds until other processes use at most ``limit`` cores, saying so."""
    t0 = time.time()
    while True:
        busy = _busy_others()
        if busy is None:
            say("cannot read the CPU load here (/proc/stat); not waiting")
            return
        waited = time.time() - t0
        if busy <= limit:
            say(f"other processes use {busy:.2f} cores (threshold {limit:.2f}): starting")
            return
        if waited >= max_wait:
            say(f"other processes still use {busy:.2f} cores (threshold {limit:.2f}) after {waited:.0f} s: "
                "starting anyway; cases measured under contention are marked and re-run")
            return
        say(f"waiting for a quiet machine: other processes use {busy:.2f} cores (threshold {limit:.2f}), "
            f"{waited:.0f} of {max_wait:.0f} s")
        time.sleep(1)


def tree_state():
    """(commit, state) of the checkout: state "clean", "dirty: <changed paths>" or "unknown: <why>"."""
    def git(*args):
        return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True, timeout=60)
    try:
        head = git("rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"unknown: git cannot run ({e})"
    if head.returncode != 0:
        return None, "unknown: not a git checkout"
    commit = head.stdout.strip()
    status = git("status", "--porcelain")
    if status.returncode != 0:
        return commit, "unknown: git status failed"
    changed = [line[3:] for line in status.stdout.splitlines() if line.strip()]
    if changed:
        more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        return commit, "dirty: " + ", ".join(changed[:5]) + more
    return commit, "clean"


def pytest(args):
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"] + args
    say(" ".join(cmd[1:9]) + (" ..." if len(cmd) > 9 else ""))
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


def parse(argv):
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if "--" in argv:  # everything after -- goes to pytest
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    p = argparse.ArgumentParser(prog="python -m bench.run", description="run a benchmark suite, then its report",
                                epilog="Arguments after -- go to pytest, e.g. -- -k mlp_step.")
    p.add_argument("suite", choices=("cpu", "gpu", "quick"))
    p.add_argument("--out", help="results folder (default bench/results/SUITE)")
    p.add_argument("--threads", type=int, default=None,
                   help="pin torch, OpenMP and BLAS to this many threads (default: the libraries' own); "
                        "1 on a shared machine")
    p.add_argument("--reruns", type=int, default=2, help="re-run passes for contended cases (default 2; 0: none)")
    p.add_argument("--wait", type=float, default=20,
                   help="seconds to wait for a quiet machine before each pass (default 20)")
    p.add_argument("--allow-dirty", action="store_true",
                   help="write into bench/results/ from a tree with uncommitted changes (the report says so)")
    a = p.parse_args(argv)
    a.pytest_args = extra
    return a


def main(argv=None):
    a = parse(argv)
    out = os.path.abspath(a.out or os.path.join(RESULTS, a.suite))
    device = "gpu" if a.suite == "gpu" else "cpu"
    commit, state = tree_state()
    committed = os.path.commonpath([out, RESULTS]) == RESULTS
    if state != "clean":
        if committed and not a.allow_dirty:
            say(f"refusing to write {os.path.relpath(out, ROOT)}: the tree is {state}. Commit first (the "
                "committed results name the commit they were measured at), write elsewhere with --out, or pass "
                "--allow-dirty (the report then says so in large type).")
            return 2
        say(f"the tree is {state}: the report will say so")
    else:
        say(f"tree clean at commit {commit[:10]}")
    os.environ["XGRAD_BENCH_COMMIT"] = commit or "unknown"
    os.environ["XGRAD_BENCH_TREE"] = state
    os.makedirs(out, exist_ok=True)
    for old in own_outputs(out, a.suite):
        os.remove(os.path.join(out, old))
    jsons = [os.path.join(out, f"{a.suite}.json")]
    if a.threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XGRAD_BENCH_THREADS"):
            os.environ[var] = str(a.threads)
    limit = busy_limit(a.threads)
    pinned = f"pinned to {a.threads}" if a.threads else "not pinned (the libraries' own defaults)"
    say(f"threads: {pinned} (torch, OpenMP, BLAS); {cores()} cores; a case "
        f"counts as contended when other processes keep more than {limit:.2f} cores busy during it")
    if device == "cpu" and a.wait > 0:
        wait_quiet(limit, a.wait)
    t0 = time.time()
    rc = pytest(["bench", "-m", a.suite, f"--benchmark-json={jsons[0]}"] + a.pytest_args)
    say(f"suite took {time.time() - t0:.0f} s (pytest exit code {rc})")
    if rc not in (0, 5) or not os.path.exists(jsons[0]):
        return rc
    for i in range(1, a.reruns + 1 if device == "cpu" else 1):
        ids = contended(jsons[-1])
        if not ids:
            say("no case was measured under contention")
            break
        say(f"re-running {len(ids)} cases measured under contention (pass {i} of {a.reruns})")
        if a.wait > 0:
            wait_quiet(limit, a.wait)
        path = os.path.join(out, f"{a.suite}-rerun{i}.json")
        if pytest(ids + [f"--benchmark-json={path}"] + a.pytest_args) != 0 or not os.path.exists(path):
            break
        jsons.append(path)
    from .report import report

    def shown(p):  # paths in the report: relative to the checkout where inside it
        return os.path.relpath(p, ROOT) if os.path.commonpath([p, ROOT]) == ROOT else p

    path, _ = report([shown(j) for j in jsons], shown(out))
    say(f"wrote {path} (total {time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
