"""The benchmark runner and report (bench/): what a reader of the results is told. No timing here."""

import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(ROOT)
    import bench.report
    import bench.run

    return bench


def _doc(rows, env=None, commit_info=None, busy_limit=1.25):
    """A pytest-benchmark JSON document holding ``rows``: (op, dtype, engine, role, flops, median, q1, q3)."""
    xb = {"cpu_model": "test CPU", "usable_cores": 2, "torch_threads": 1, "busy_limit": busy_limit,
          "env": dict(env or {}), "blas": [{"internal_api": "openblas", "version": "0.3", "num_threads": 1}]}
    benchmarks = []
    for op, dtype, engine, role, flops, med, q1, q3 in rows:
        params = {"batch": 64, "widths": [2, 32, 32, 2]} if op == "mlp_step" else {"n": int(flops)}
        benchmarks.append({"fullname": f"bench/test_ops.py::test_op[{op}-{dtype}-{flops}-{engine}]",
                           "stats": {"median": med, "q1": q1, "q3": q3, "iqr": q3 - q1, "rounds": 9},
                           "extra_info": {"op": op, "engine": engine, "role": role, "library": "numpy",
                                          "device": "cpu", "dtype": dtype, "params": params,
                                          "label": f"n{flops}", "flops": flops,
                                          "reference": op == "mlp_step" and flops == 1e5,
                                          "other_cpu_cores": 0.1, "contended": False}})
    return {"machine_info": {"xgrad_bench": xb}, "commit_info": commit_info or {}, "benchmarks": benchmarks,
            "datetime": "2026-11-29T00:00:00"}


def _write(tmp_path, doc, name="cpu.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


CLEAN = {"XGRAD_BENCH_COMMIT": "0123456789abcdef", "XGRAD_BENCH_TREE": "clean", "OMP_NUM_THREADS": "1"}
SWEEP = [("tanh", "float64", "xgrad-numpy", "xgrad", 1e2, 5e-6, 4.5e-6, 5.5e-6),
         ("tanh", "float64", "torch-cpu", "torch", 1e2, 20e-6, 19e-6, 22e-6),
         ("tanh", "float64", "xgrad-numpy", "xgrad", 1e4, 50e-6, 49e-6, 52e-6),
         ("tanh", "float64", "torch-cpu", "torch", 1e4, 30e-6, 29e-6, 31e-6),
         ("tanh", "float64", "xgrad-numpy", "xgrad", 1e6, 900e-6, 890e-6, 950e-6),
         ("tanh", "float64", "torch-cpu", "torch", 1e6, 600e-6, 590e-6, 610e-6),
         ("mlp_step", "float64", "xgrad-numpy", "xgrad", 1e5, 97.6e-6, 95.9e-6, 99.0e-6),
         ("mlp_step", "float64", "torch-cpu", "torch", 1e5, 226e-6, 220e-6, 231e-6),
         ("mlp_step", "float64", "numpy-floor", "floor", 1e5, 60e-6, 59e-6, 61e-6)]


def test_report_gives_spreads_threads_threshold_and_commit(bench, tmp_path):
    path, headline = bench.report.report([_write(tmp_path, _doc(SWEEP, env=CLEAN))], str(tmp_path / "out"),
                                         plots=False)
    md = open(path).read()
    assert "NOT FROM A CLEAN COMMIT" not in md
    assert "- commit: `0123456789`, tree clean" in md
    assert "- threads: torch 1; openblas 0.3 (1 thread); OMP_NUM_THREADS=1" in md
    assert "other processes kept more than 1.25 cores busy" in md
    # the reference step with the quartiles of its rounds beside each median
    assert "| float64 | xgrad-numpy | 97.6 [95.9-99.0] | 226 [220-231] | 60.0 [59.0-61.0] | 1.63 | 2.32 | 3.77 |" in md
    # tanh: xgrad faster at 1e2, slower at 1e4: a crossover from three sizes, with no caveat
    found, xs, r = headline[("cpu", "tanh", "float64")]
    assert len(found) == 1 and 1e2 < found[0][0] < 1e4 and "from two sizes" not in md
    assert "| mlp_step | one size only (xgrad faster at 1.0e5); a crossover needs a sweep |" in md


def test_crossover_from_two_sizes_says_so(bench):
    pts = lambda ts: [(f, t, {}) for f, t in ts]  # noqa: E731
    found, xs, r = bench.report.crossovers(pts([(1e2, 1.0), (1e4, 4.0)]), pts([(1e2, 2.0), (1e4, 2.0)]))
    text = bench.report.describe_crossover(found, xs, r)
    assert text == "**1.0e3** (xgrad faster below) (from two sizes only)"


@pytest.mark.parametrize("env, commit_info, says", [
    ({"XGRAD_BENCH_COMMIT": "abc", "XGRAD_BENCH_TREE": "dirty: xgrad/cli.py"}, {}, "tree dirty: xgrad/cli.py"),
    ({}, {"id": "a990aac8b272", "dirty": True}, "tree dirty: uncommitted changes"),
    ({}, {"id": "unknown"}, "tree unknown: no git commit recorded"),
    ({"XGRAD_BENCH_COMMIT": "94a6dfa"}, {}, "tree unknown: commit stated by XGRAD_BENCH_COMMIT"),
])
def test_results_not_from_a_clean_commit_are_marked_in_large_type(bench, tmp_path, env, commit_info, says):
    path, _ = bench.report.report([_write(tmp_path, _doc(SWEEP, env=env, commit_info=commit_info))],
                                  str(tmp_path / "out"), plots=False)
    md = open(path).read()
    assert md.splitlines()[2] == "# NOT FROM A CLEAN COMMIT"
    assert says in md


def test_runner_accepts_options_in_any_order_and_passes_the_rest_to_pytest(bench):
    a = bench.run.parse(["--threads", "1", "quick", "--wait", "0", "--out", "/tmp/x", "--", "-k", "tanh"])
    b = bench.run.parse(["quick", "--out", "/tmp/x", "--wait", "0", "--threads", "1", "--", "-k", "tanh"])
    assert vars(a) == vars(b)
    assert (a.suite, a.threads, a.wait, a.out, a.pytest_args) == ("quick", 1, 0.0, "/tmp/x", ["-k", "tanh"])
    assert bench.run.parse(["cpu"]).wait == 20  # a short default wait


def test_runner_refuses_to_write_committed_results_from_a_dirty_tree(bench, tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(bench.run, "tree_state", lambda: ("abc", "dirty: xgrad/cli.py"))
    monkeypatch.setattr(bench.run, "pytest", lambda args: calls.append(args) or 0)
    monkeypatch.setattr(bench.run, "RESULTS", str(tmp_path))
    assert bench.run.main(["cpu", "--out", str(tmp_path / "cpu"), "--wait", "0"]) == 2
    out = capsys.readouterr().out
    assert "refusing to write" in out and "dirty: xgrad/cli.py" in out and "--allow-dirty" in out
    assert calls == [] and not (tmp_path / "cpu").exists()


def test_runner_marks_a_dirty_run_elsewhere_and_says_what_it_does(bench, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench.run, "tree_state", lambda: ("abc123", "dirty: notes.txt"))
    monkeypatch.setattr(bench.run, "_busy_others", lambda seconds=2.0: 1.9)  # a busy machine
    monkeypatch.setattr(bench.run.time, "sleep", lambda s: None)
    ticks = iter(range(0, 1000, 5))
    monkeypatch.setattr(bench.run.time, "time", lambda: float(next(ticks)))
    seen = {}

    def fake_pytest(args):
        seen["env"] = {k: os.environ.get(k) for k in ("XGRAD_BENCH_COMMIT", "XGRAD_BENCH_TREE", "OMP_NUM_THREADS")}
        path = next(a.split("=", 1)[1] for a in args if a.startswith("--benchmark-json="))
        with open(path, "w") as f:
            json.dump(_doc(SWEEP, env=seen["env"]), f)
        return 0

    monkeypatch.setattr(bench.run, "pytest", fake_pytest)
    monkeypatch.setattr(bench.report, "report", lambda paths, out_dir: (os.path.join(out_dir, "report.md"), None))
    for var in ("XGRAD_BENCH_COMMIT", "XGRAD_BENCH_TREE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "MKL_NUM_THREADS", "XGRAD_BENCH_THREADS"):
        monkeypatch.delenv(var, raising=False)
    assert bench.run.main(["quick", "--out", str(tmp_path), "--threads", "1", "--wait", "10"]) == 0
    out = capsys.readouterr().out
    assert seen["env"] == {"XGRAD_BENCH_COMMIT": "abc123", "XGRAD_BENCH_TREE": "dirty: notes.txt",
                           "OMP_NUM_THREADS": "1"}
    assert "the tree is dirty: notes.txt: the report will say so" in out
    assert "contended when other processes keep more than" in out
    assert "waiting for a quiet machine: other processes use 1.90 cores" in out  # progress while waiting
    assert "starting anyway" in out


def test_memory_is_compared_with_a_floor_that_allocates_inside_the_step(bench):
    import bench.memory

    ref = bench.memory.SIZES[0]
    floor = bench.memory.peak_bytes("numpy-floor", ref, "float64")
    eager = bench.memory.peak_bytes("xgrad-numpy", ref, "float64")
    # the timed floor preallocates (a few KiB per step); the memory floor holds a step's activations
    assert floor > 64 * 32 * 8 * 2 and 0.5 < eager / floor < 2
