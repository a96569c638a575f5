"""The `xgrad` command, end to end in subprocesses (numpy backend), and its error handling."""

import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, env=None, cwd=None):
    e = dict(os.environ)
    e.pop("XGRAD_BACKEND", None)
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    e["MPLBACKEND"] = "Agg"
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "xgrad", *args], capture_output=True, text=True, env=e,
                          cwd=cwd or ROOT, timeout=300)


def test_train_end_to_end(tmp_path):
    png, ck = tmp_path / "out.png", tmp_path / "model.npz"
    r = run("train", "--epochs", "5", "--plot", str(png), "--save", str(ck))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "moons (1000 points, noise 0.2), MLP 2-32-32-2 tanh, sgd lr 0.05, batch 64, 5 epochs, float64 on numpy" \
        in out
    assert "final: accuracy" in out and "loss" in out and "wall-clock" in out and "steps 80" in out
    assert "steps/s" in out
    assert "train" in r.stderr and "epoch" in r.stderr  # the tqdm bar
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    with np.load(ck) as z:
        assert z["model/0.weight"].shape == (32, 2)
    import xgrad
    from xgrad import checkpoint, nn

    m = nn.MLP((2, 32, 32, 2), dtype="float64")
    extra = checkpoint.load(ck, m)
    assert extra["sizes"] == [2, 32, 32, 2] and extra["epochs"] == 5
    assert abs(xgrad.training.evaluate(m, *xgrad.data.two_moons(seed=42, dtype="float64"))[0]
               - extra["accuracy"]) < 1e-12


def test_train_options_and_backend_from_environment():
    r = run("train", "--dataset", "xor", "--sizes", "2,8,2", "--activation", "relu", "--optimizer", "adam",
            "--lr", "0.01", "--batch-size", "50", "--epochs", "3", "--dtype", "float32", "--seed", "1",
            "--no-progress", env={"XGRAD_BACKEND": "array_api_strict"})
    assert r.returncode == 0, r.stderr
    assert "xor (200 points), MLP 2-8-2 relu, adam lr 0.01, batch 50, 3 epochs, float32 on array_api_strict" \
        in r.stdout
    assert "steps 12" in r.stdout and r.stderr == ""


def test_verify_end_to_end(tmp_path):
    r = run("verify", "--epochs", "5", "--out-dir", str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    for title in ("Experiment 1a: gradients vs torch.autograd", "Experiment 1b: gradients vs central finite",
                  "Experiment 2: training from identical weights", "Experiment 3: decision boundaries"):
        assert title in out
    for name in ("0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"):
        assert out.count(f"\n{name} ") == 2
    assert "xgrad (numpy/cpu)" in out and "torch 2." in out
    assert "verify: all gradient checks passed" in out
    assert (tmp_path / "verify_boundaries.png").stat().st_size > 20_000


def test_verify_exits_nonzero_when_a_gradient_check_fails(tmp_path, monkeypatch, capsys):
    from xgrad import cli, reference

    real = reference.gradient_table

    def off(*a, **k):
        rows = real(*a, **k)
        return [(n, s, d + 1e-6 * (i == 2)) for i, (n, s, d) in enumerate(rows)]

    monkeypatch.setattr(reference, "gradient_table", off)
    assert cli.main(["verify", "--no-train", "--out-dir", str(tmp_path)]) == cli.EXIT_CHECK_FAILED
    assert "FAILED" in capsys.readouterr().out


def test_train_plot_imports_no_torch(tmp_path):
    png = tmp_path / "p.png"
    code = ("import sys\nfrom xgrad import cli\n"
            f"rc = cli.main(['train', '--epochs', '2', '--no-progress', '--plot', {str(png)!r}])\n"
            "print(rc, 'torch' in sys.modules, 'matplotlib' in sys.modules)")
    e = {k: v for k, v in os.environ.items() if k != "XGRAD_BACKEND"}
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "0 False True"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dataset_choices_and_defaults_come_from_the_registry(monkeypatch, capsys):
    from xgrad import cli, data

    for name in data.DATASETS:
        assert cli.build_parser().parse_args(["train", "--dataset", name]).dataset == name
    with pytest.raises(cli.UsageError, match="invalid choice: 'three'"):
        cli.build_parser().parse_args(["train", "--dataset", "three"])
    three = data.Dataset("three", data.gaussian_blobs, n_classes=3, n_features=2, n_samples=90, noise=0.5,
                         noise_arg="std")
    monkeypatch.setitem(data.DATASETS, "three", three)
    assert cli.build_parser().parse_args(["train", "--dataset", "three"]).dataset == "three"
    assert cli.main(["train", "--dataset", "three", "--sizes", "2,8,2"]) == 2
    assert "at least 3 outputs for three (3 classes)" in capsys.readouterr().err
    assert cli.main(["train", "--dataset", "three", "--sizes", "2,8,3", "--epochs", "1", "--batch-size", "30",
                     "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "three (90 points), MLP 2-8-3 tanh" in out and "steps 3" in out


def test_no_bench_subcommand_and_no_bench_imports(capsys):
    import ast
    import pathlib

    import xgrad
    from xgrad import cli

    assert cli.main(["bench"]) == 2
    assert "invalid choice: 'bench'" in capsys.readouterr().err
    for path in pathlib.Path(xgrad.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            assert not any(n.split(".")[0] == "bench" for n in names), f"{path} imports bench"


def test_verify_passes_torch_threads_on(tmp_path, monkeypatch, capsys):
    from xgrad import cli, reference

    seen = []
    real = reference.train_torch

    def spy(*a, **k):
        seen.append(k["threads"])
        return real(*a, **k)

    monkeypatch.setattr(reference, "train_torch", spy)
    assert cli.main(["verify", "--epochs", "1", "--torch-threads", "2", "--out-dir", str(tmp_path)]) == 0
    assert seen == [2] and "(cpu, 2 thread(s))" in capsys.readouterr().out


def test_info():
    r = run("info")
    assert r.returncode == 0, r.stderr
    assert "xgrad 0.1.0" in r.stdout and "numpy" in r.stdout
    assert "array_api_strict  ok" in r.stdout
    assert "cupy" in r.stdout  # loads, or says why not
    assert "host memory: " in r.stdout
    off = run("info", env={"XGRAD_KEEP_FREED_MEMORY": "0"})
    assert "host memory: the C library's default" in off.stdout


@pytest.mark.parametrize("args,needle", [
    (["train", "--dataset", "circles"], "invalid choice: 'circles'"),
    (["train", "--lr", "-0.1"], "--lr: expected a positive number"),
    (["train", "--epochs", "0"], "--epochs: expected a positive integer"),
    # before: a traceback and exit code 1 (what `xgrad verify` means by "a gradient check failed"), or
    # training on NaN with exit code 0
    (["train", "--samples", "1"], "--samples 1 for moons: n_samples must be an integer >= 2"),
    (["train", "--dataset", "xor", "--samples", "3"], "--samples 3 for xor"),
    (["train", "--samples", "0"], "--samples: expected a positive integer"),
    (["train", "--momentum", "-5"], "--momentum: expected a finite number >= 0"),
    (["train", "--momentum", "nan"], "--momentum: expected a finite number >= 0"),
    (["train", "--optimizer", "adam", "--momentum", "0.9"], "--momentum applies to --optimizer sgd only"),
    (["train", "--seed", "-1"], "--seed: expected a seed from 0 to 2**32 - 1"),
    (["train", "--seed", str(2**32)], "--seed: expected a seed from 0 to 2**32 - 1"),
    (["verify", "--seed", "-1"], "--seed: expected a seed from 0 to 2**32 - 1"),
    (["train", "--noise", "nan"], "--noise: expected a finite number >= 0"),
    (["train", "--noise", "inf"], "--noise: expected a finite number >= 0"),
    (["train", "--noise", "-0.1"], "--noise: expected a finite number >= 0"),
    (["train", "--lr", "nan"], "--lr: expected a positive number"),
    (["train", "--lr", "0"], "--lr: expected a positive number"),
    (["train", "--lr", "1e999"], "--lr: expected a positive number"),
    (["train", "--batch-size", "0"], "--batch-size: expected a positive integer"),
    (["train", "--batch-size", "-3"], "--batch-size: expected a positive integer"),
    (["train", "--sizes", "2,0,2"], "--sizes: expected at least two positive layer sizes"),
    (["verify", "--torch-threads", "0"], "--torch-threads: expected a positive integer"),
    (["train", "--sizes", "2,a,2"], "--sizes: expected comma-separated layer sizes"),
    (["train", "--sizes", "3,8,2"], "--sizes must start with 2"),
    (["train", "--dtype", "int8"], "invalid choice: 'int8'"),
    (["train", "--backend", "nosuch"], "unknown xgrad backend 'nosuch'"),
    (["train", "--plot", "/nonexistent-dir/x.png"], "folder '/nonexistent-dir' does not exist"),
    (["train", "--plot", "plot.jpg"], "ends in .png"),
    (["train", "--save", "/nonexistent-dir/c.npz"], "cannot write checkpoint"),
    (["verify", "--out-dir", "/nonexistent-dir"], "--out-dir '/nonexistent-dir' does not exist"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_errors_are_one_line_exit_2(args, needle, capsys):
    from xgrad import cli

    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("xgrad") and "error" in err, err
    assert needle.replace("ends in", "ending in") in err or needle in err, err


def test_unwritable_folder(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    from xgrad import cli

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    assert cli.main(["train", "--plot", str(ro / "x.png")]) == 2
    assert "not writable" in capsys.readouterr().err


def test_console_script_and_bad_backend_env():
    r = run("train", "--epochs", "1", env={"XGRAD_BACKEND": "nosuch"})
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "unknown xgrad backend 'nosuch'" in r.stderr
    exe = os.path.join(os.path.dirname(sys.executable), "xgrad")
    if not os.path.exists(exe):
        pytest.skip("the xgrad console script is not installed in this environment")
    r = subprocess.run([exe, "info"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "backends:" in r.stdout


def _failing_plot(*args, **kwargs):
    raise OSError(28, "No space left on device")


def test_a_failed_plot_keeps_the_checkpoint(tmp_path, monkeypatch, capsys):
    # before: the plot was written first, so its failure lost the trained model (no checkpoint)
    from xgrad import checkpoint, cli, nn, plotting

    png, ck = tmp_path / "p.png", tmp_path / "c.npz"
    monkeypatch.setattr(plotting, "plot_training", _failing_plot)
    assert cli.main(["train", "--epochs", "2", "--no-progress", "--plot", str(png), "--save", str(ck)]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("xgrad: error: could not write the plot"), err
    assert "No space left on device" in err and f"the checkpoint {str(ck)!r} is saved" in err
    assert f"checkpoint: {ck}" in out and not png.exists()
    assert checkpoint.load(ck, nn.MLP((2, 32, 32, 2), dtype="float64"))["epochs"] == 2


def test_an_unexpected_xgrad_error_in_training_is_one_line_not_exit_1(monkeypatch, capsys):
    from xgrad import cli, optim
    from xgrad.errors import GraphError

    steps = []

    def failing_step(self):
        steps.append(1)
        if len(steps) == 20:
            raise GraphError("something went wrong\nwith more detail on a second line")

    monkeypatch.setattr(optim.SGD, "step", failing_step)
    rc = cli.main(["train", "--epochs", "3"])  # with the progress bar
    err = capsys.readouterr().err
    assert rc == cli.EXIT_USAGE != cli.EXIT_CHECK_FAILED
    assert err.splitlines()[-1] == "xgrad: error: GraphError: something went wrong", err
    assert "Traceback" not in err and "second line" not in err


def test_bench_runner_replaces_only_its_own_outputs(tmp_path, monkeypatch):
    # before: `python -m bench.run --out DIR` deleted every *.json in DIR
    monkeypatch.syspath_prepend(ROOT)
    import json

    import bench.report
    from bench import run

    keep = ["results.json", "gpu_step.json", "cpu-notes.json", "cpu-rerun.json", "quick.json.bak", "notes.md"]
    stale = ["cpu.json", "cpu-rerun1.json", "cpu-rerun12.json"]
    for name in keep + stale:
        (tmp_path / name).write_text("{}")
    assert run.own_outputs(str(tmp_path), "cpu") == sorted(stale)
    assert run.own_outputs(str(tmp_path), "quick") == []

    def fake_pytest(args):  # the suite's run: writes its JSON, measures nothing
        path = next(a.split("=", 1)[1] for a in args if a.startswith("--benchmark-json="))
        with open(path, "w") as f:
            json.dump({"benchmarks": []}, f)
        return 0

    monkeypatch.setattr(run, "pytest", fake_pytest)
    monkeypatch.setattr(run, "wait_quiet", lambda limit, max_wait: None)
    monkeypatch.setattr(bench.report, "report", lambda paths, out_dir: (os.path.join(out_dir, "report.md"), None))
    assert run.main(["cpu", "--out", str(tmp_path)]) == 0
    assert sorted(os.listdir(tmp_path)) == sorted(keep + ["cpu.json"])
    assert json.loads((tmp_path / "cpu.json").read_text()) == {"benchmarks": []}


_BLOCK = """
import sys
class Blocker:  # as if these packages were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Blocker())
from xgrad.cli import main
sys.exit(main({args!r}))
"""


def run_without(blocked, *args):
    e = dict(os.environ)
    e.pop("XGRAD_BACKEND", None)
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    code = _BLOCK.format(blocked=set(blocked), args=list(args))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, cwd=ROOT, timeout=300)


def test_train_without_tqdm_trains_without_a_bar_and_says_how_to_get_one():
    r = run_without({"tqdm"}, "train", "--epochs", "2")
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == ('xgrad: note: no progress bar: tqdm is not installed (pip install "xgrad[cli]"); '
                                "training without one")
    assert "final: accuracy" in r.stdout and "steps 32" in r.stdout


def test_plot_without_matplotlib_is_one_line_naming_the_extra_before_training(tmp_path):
    png = tmp_path / "out.png"
    r = run_without({"matplotlib"}, "train", "--epochs", "2", "--plot", str(png))
    assert r.returncode == 2
    assert r.stderr.strip() == 'xgrad: error: --plot needs matplotlib, which is not installed: pip install "xgrad[cli]"'
    assert r.stdout == "" and not png.exists()  # refused before any training
    r = run_without({"matplotlib"}, "verify", "--epochs", "1", "--out-dir", str(tmp_path))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert 'pip install "xgrad[cli]"' in r.stderr and "Traceback" not in r.stderr


def test_fit_with_progress_but_without_tqdm_names_the_extra():
    e = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    code = _BLOCK.split("from xgrad.cli")[0].format(blocked={"tqdm"}) + (
        "import xgrad\nfrom xgrad import data, nn, optim, training\n"
        "X, y = data.xor(40, seed=0)\nm = nn.MLP([2, 4, 2])\n"
        "try:\n    training.fit(m, X, y, optim.SGD(m.parameters(), lr=0.1), epochs=1, progress=True)\n"
        "except ImportError as e:\n    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, cwd=ROOT, timeout=300)
    assert r.stdout.strip() == ('fit(progress=True) shows a tqdm bar, and tqdm is not installed: '
                                'pip install "xgrad[cli]" (or pass progress=False)'), r.stderr


def test_metrics_are_labelled_running_means_and_final_evaluation():
    r = run("train", "--epochs", "2")
    assert r.returncode == 0, r.stderr
    assert "loss (epoch mean)=" in r.stderr and "acc (epoch mean)=" in r.stderr  # on the bar
    final = next(line for line in r.stdout.splitlines() if line.startswith("final:"))
    assert "(whole training set, after training)" in final


def test_digits_mlp_mistakes_are_refused_before_training_with_the_way_out():
    r = run("train", "--dataset", "digits")
    assert r.returncode == 2 and "--sizes must start with 64" in r.stderr and "--model cnn" in r.stderr
    r = run("train", "--dataset", "digits", "--sizes", "64,32,10", "--plot", "m.png", "--epochs", "1")
    assert r.returncode == 2 and "decision boundary in the plane; digits is 64-D" in r.stderr
    assert "final:" not in r.stdout  # refused up front, not after training


def test_threads_option_and_the_default_of_one_thread():
    pytest.importorskip("torch")
    pytest.importorskip("threadpoolctl")
    r = run("train", "--epochs", "1", "--no-progress", "--backend", "torch")
    assert r.returncode == 0, r.stderr
    assert "float64 on torch/cpu (1 thread), seed 42" in r.stdout
    r = run("train", "--epochs", "1", "--no-progress", "--backend", "torch", "--threads", "2")
    assert "float64 on torch/cpu (2 threads), seed 42" in r.stdout and r.stderr == ""
    r = run("train", "--epochs", "1", "--no-progress")  # NumPy's BLAS, through threadpoolctl
    assert r.returncode == 0 and "float64 on numpy/cpu (1 thread), seed 42" in r.stdout
    r = run("train", "--epochs", "1", "--no-progress", "--threads", "2")
    assert r.returncode == 0 and "float64 on numpy/cpu (2 threads), seed 42" in r.stdout and r.stderr == ""
    r = run("train", "--threads", "0")
    assert r.returncode == 2 and "expected a positive integer" in r.stderr


def test_cnn_training_takes_threads_too():
    pytest.importorskip("sklearn")
    pytest.importorskip("threadpoolctl")
    r = run("train", "--dataset", "digits", "--model", "cnn", "--epochs", "1", "--no-progress", "--threads", "2")
    assert r.returncode == 0, r.stderr
    assert "float64 on numpy/cpu (2 threads), seed 42" in r.stdout


def test_backend_thread_settings_are_applied(monkeypatch):
    torch = pytest.importorskip("torch")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from xgrad import get_backend

    before = torch.get_num_threads()
    try:
        assert get_backend("torch").set_threads(1) is True and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    was = {p["filepath"]: p["num_threads"] for p in blas}
    try:
        assert get_backend("numpy").set_threads(1) is True
        assert all(p["num_threads"] == 1 for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas")
    finally:
        threadpoolctl.threadpool_limits(limits=max(was.values(), default=1), user_api="blas")
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # not installed: no setting, no error
    assert get_backend("numpy").set_threads(1) is False


def test_threads_without_threadpoolctl_get_a_note_naming_the_extra():
    r = run_without(["threadpoolctl"], "train", "--epochs", "1", "--no-progress", "--threads", "2")
    assert r.returncode == 0, r.stderr
    assert "float64 on numpy/cpu, seed 42" in r.stdout
    assert "xgrad: note: --threads 2 has no effect on the numpy backend" in r.stderr and "xgrad[cli]" in r.stderr


def test_a_dtype_emulated_in_software_gets_a_note():
    r = run("train", "--epochs", "1", "--no-progress", "--dtype", "float16")
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == ("xgrad: note: float16 on the numpy backend is emulated in software: expect "
                                "training many times slower than float32")
    r = run("train", "--epochs", "1", "--no-progress", "--dtype", "float32")
    assert r.returncode == 0 and r.stderr == ""


def test_info_says_where_the_default_backend_comes_from():
    r = run("info")
    assert r.returncode == 0, r.stderr
    backends = r.stdout.split("backends:")[1].split("devices:")[0]
    assert "  numpy             ok (the default: XGRAD_BACKEND is not set)\n" in backends
    r = run("info", env={"XGRAD_BACKEND": "array_api_strict"})
    backends = r.stdout.split("backends:")[1].split("devices:")[0]
    lines = {x.split()[0]: x for x in backends.splitlines() if x.strip()}
    assert lines["array_api_strict"].endswith("ok (the default: XGRAD_BACKEND)")
    assert lines["numpy"].endswith(" ok")


def test_train_digits_cnn_end_to_end(tmp_path):
    pytest.importorskip("sklearn")
    png, ck = tmp_path / "digits.png", tmp_path / "cnn.npz"
    r = run("train", "--dataset", "digits", "--model", "cnn", "--epochs", "2", "--plot", str(png), "--save", str(ck))
    assert r.returncode == 0, r.stderr
    assert ("digits (1437 train / 360 test images 1x8x8), CNN (6,138 parameters), adam lr 0.003, batch 64, "
            "2 epochs, float64 on numpy") in r.stdout
    assert "steps 46" in r.stdout and "test: accuracy" in r.stdout and "(360 held-out images)" in r.stdout
    assert "epoch" in r.stderr  # the tqdm bar
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    import xgrad
    from xgrad import checkpoint, models

    m = models.CNN(dtype="float64")
    extra = checkpoint.load(ck, m)
    acc = xgrad.training.evaluate(m, *xgrad.data.load_dataset("digits", split="test", dtype="float64"))[0]
    test_line = [ln for ln in r.stdout.splitlines() if ln.startswith("test:")][0]
    assert abs(acc - extra["test_accuracy"]) < 1e-12 and f"{100 * acc:.2f}%" in test_line


@pytest.mark.parametrize("args,needle", [
    (["train", "--model", "cnn"], "--model cnn needs an image data set (digits), not moons"),
    (["train", "--dataset", "digits", "--model", "cnn", "--sizes", "64,10"], "--sizes applies to --model mlp only"),
    (["train", "--dataset", "digits", "--model", "cnn", "--noise", "0.1"], "--noise applies to --model mlp only"),
    (["train", "--dataset", "digits", "--model", "cnn", "--optimizer", "adam", "--momentum", "0.9"],
     "--momentum applies to --optimizer sgd only"),
    (["train", "--model", "resnet"], "invalid choice: 'resnet'"),
])
def test_cnn_option_errors_are_one_line_exit_2(args, needle, capsys):
    from xgrad import cli

    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err, err


def test_cuda_graph_asks_for_compile_and_a_backend_that_records_graphs(capsys):
    from xgrad import cli
    assert cli.main(["train", "--cuda-graph", "--epochs", "1"]) == 2
    assert "--cuda-graph records the compiled step: add --compile" in capsys.readouterr().err
    assert cli.main(["train", "--compile", "--cuda-graph", "--epochs", "1"]) == 2
    assert "on its default device has no CUDA graphs" in capsys.readouterr().err
    assert cli.main(["train", "--dataset", "digits", "--model", "cnn", "--cuda-graph", "--epochs", "1"]) == 2
    assert "add --compile" in capsys.readouterr().err
