"""The ``xgrad`` command: ``xgrad train``, ``xgrad verify``, ``xgrad info``."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NoReturn

from . import __version__, creation, plotting, reference
from .backends import Backend, available_backends, get_backend
from .backends.allocator import keep_freed_memory
from .checkpoint import save
from . import distributed
from .data import DATASETS, DistributedSampler, ShardedDataLoader, load_dataset
from .errors import BackendUnavailableError, XgradError
from .nn import ACTIVATIONS, MLP
from .nn.parallel import DistributedDataParallel
from .nn.utils import grad_report
from .optim import OPTIMIZERS
from .models import CNN
from .training import evaluate, fit, predict

EXIT_USAGE = 2  # bad option values, unknown data set, unwritable output path, missing dependency
EXIT_CHECK_FAILED = 1  # `xgrad verify`: a gradient check failed

# tolerances of `xgrad verify` (float64)
TORCH_TOL = 1e-10
FD_TOL = 1e-6

DEFAULT_DATASET = "moons"  # the reference run's


class UsageError(ValueError):
    """A problem with what the user asked for: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


# ---- option parsing ----------------------------------------------------------------------------------
def _checked(convert: Callable[[str], Any], ok: Callable[[Any], bool], what: str) -> Callable[[str], Any]:
    """An argparse type: ``convert(text)``, refused unless ``ok`` of it; ``what`` says what it takes."""
    def parse(text: str) -> Any:
        try:
            v = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not ok(v):  # nan fails every comparison
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v
    return parse


_positive_int = _checked(int, lambda v: v > 0, "a positive integer")
_positive_float = _checked(float, lambda v: 0 < v < float("inf"), "a positive number")
_nonnegative_float = _checked(float, lambda v: 0 <= v < float("inf"), "a finite number >= 0")
_seed = _checked(int, lambda v: 0 <= v < 2**32, "a seed from 0 to 2**32 - 1")


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer sizes like 2,32,32,2, got {text!r}") \
            from None
    if len(sizes) < 2 or any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError(f"expected at least two positive layer sizes like 2,32,32,2, got {text!r}")
    return sizes


def _default_backend() -> str:
    return os.environ.get("XGRAD_BACKEND", "").strip() or "numpy"


def _add_placement(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default=None,
                   help="numpy, torch, cupy or array_api_strict (default: $XGRAD_BACKEND, else numpy)")
    p.add_argument("--device", default=None, help="device for the backend, e.g. cuda:0 (default: the backend's)")
    p.add_argument("--seed", type=_seed, default=42,
                   help="seed of the data, the initial weights and the batches (0 to 2**32 - 1)")


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``xgrad`` command; ``--dataset`` choices and defaults come from the data-set registry."""
    parser = _Parser(prog="xgrad", description="xgrad: reverse-mode autograd on the Python array-API standard.")
    parser.add_argument("--version", action="version", version=f"xgrad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{train,verify,info}", parser_class=_Parser)

    t = sub.add_parser("train", help="train an MLP on a built-in data set",
                       description="Train an MLP classifier on a built-in 2-D data set. The defaults are the "
                                   "reference run: two moons (1000 points, noise 0.2), 2-32-32-2 tanh, SGD lr "
                                   "0.05, batch 64, 200 epochs, float64.")
    names = sorted(DATASETS)
    t.add_argument("--dataset", default=DEFAULT_DATASET, choices=names,
                   help=f"data set (default: {DEFAULT_DATASET})")
    t.add_argument("--samples", type=_positive_int, default=None,
                   help="number of points (default: the data set's: "
                        + ", ".join(f"{n} {DATASETS[n].n_samples}" for n in names) + ")")
    t.add_argument("--noise", type=_nonnegative_float, default=None,
                   help="noise level (default: the data set's: "
                        + ", ".join(f"{n} {DATASETS[n].noise:g}" for n in names) + ")")
    t.add_argument("--sizes", type=_sizes, default=(2, 32, 32, 2), help="layer sizes (default: 2,32,32,2)")
    t.add_argument("--activation", default="tanh", choices=sorted(set(ACTIVATIONS) - {"leakyrelu"}),
                   help="activation between layers (default: tanh)")
    t.add_argument("--model", default="mlp", choices=sorted(MODEL_DEFAULTS),
                   help="mlp, or cnn for an image data set (digits) (default: mlp)")
    t.add_argument("--optimizer", default=None, choices=sorted(OPTIMIZERS),
                   help="optimizer (default: sgd for mlp, adam for cnn)")
    t.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default: 0.05 for mlp, 0.003 for cnn)")
    t.add_argument("--momentum", type=_nonnegative_float, default=0.0,
                   help="SGD momentum (--optimizer sgd only; default: 0)")
    t.add_argument("--batch-size", type=_positive_int, default=64, help="mini-batch size (default: 64)")
    t.add_argument("--epochs", type=_positive_int, default=None, help="epochs (default: 200 for mlp, 30 for cnn)")
    t.add_argument("--dtype", default="float64", choices=("float64", "float32", "float16"),
                   help="floating dtype (default: float64)")
    _add_placement(t)
    t.add_argument("--plot", metavar="FILE.png", default=None, help="write the decision boundary and loss curve")
    t.add_argument("--save", metavar="CKPT", default=None, help="save model and optimizer state (.npz)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--threads", type=_positive_int, default=None,
                   help="CPU threads of the backend's library (default: 1 on numpy and torch, fastest for small "
                        "models; the library's own elsewhere)")
    t.add_argument("--compile", action="store_true",
                   help="run each training step through xgrad.compile (same results, less overhead per step)")
    t.add_argument("--cuda-graph", action="store_true",
                   help="with --compile on cupy or torch on CUDA: record each step once as a CUDA graph and "
                        "launch it with one call (results equal to rounding: CuPy's graph matmul sums in its own order)")
    t.add_argument("--amp", nargs="?", const="float16", default=None, choices=("float16", "bfloat16"),
                   help="mixed precision: autocast (default float16) and dynamic loss scaling")
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel over the processes of `mpiexec -n N xgrad train --distributed`: "
                        "--batch-size is the global batch, split over the ranks (needs the 'distributed' extra)")
    t.add_argument("--grad-report", type=_positive_int, default=None, metavar="N",
                   help="print the per-parameter gradient-flow table every N epochs")

    v = sub.add_parser("verify", help="reproduce the reference experiments against PyTorch",
                       description="Experiment 1: per-parameter gradients of the 2-32-32-2 tanh MLP against "
                                   "torch.autograd and central finite differences (float64, one mini-batch). "
                                   "Experiment 2: training from identical weights and mini-batches with both "
                                   "engines. Experiment 3: both decision boundaries side by side (PNG). Exits 1 "
                                   "if a gradient check fails.")
    v.add_argument("--out-dir", default=".", help="folder for verify_boundaries.png (default: .)")
    v.add_argument("--epochs", type=_positive_int, default=200, help="training epochs (default: 200)")
    v.add_argument("--torch-threads", type=_positive_int, default=1,
                   help="PyTorch CPU threads during the timed run (default: 1)")
    v.add_argument("--no-train", action="store_true", help="skip Experiments 2 and 3")
    _add_placement(v)

    sub.add_parser("info", help="versions, backends that load here (and why others don't), devices")
    return parser


# ---- helpers -------------------------------------------------------------------------------------------
CLI_EXTRA = 'pip install "xgrad[cli]"'


def _has_module(name: str) -> bool:
    """Whether the optional package ``name`` (tqdm, matplotlib) imports here."""
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def _note(text: str) -> None:
    print(f"xgrad: note: {text}", file=sys.stderr, flush=True)


def _dist_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _check_writable(path: str, what: str) -> None:
    """Fail early (before any training) if ``path`` cannot be written."""
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        raise UsageError(f"{what} {path!r} is a folder; give a file name")
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {what} {path!r}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"cannot write {what} {path!r}: folder {folder!r} is not writable")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise UsageError(f"cannot write {what} {path!r}: the file is not writable")


def _backend(args: argparse.Namespace) -> Backend:
    name = args.backend or _default_backend()
    if args.device is None and args.backend is None:  # XGRAD_DEVICE goes with XGRAD_BACKEND
        args.device = os.environ.get("XGRAD_DEVICE", "").strip() or None
    try:
        b = get_backend(name)
        if args.device is not None:  # fail now if the device does not exist
            b.asarray([0.0], device=args.device)
    except BackendUnavailableError as e:
        raise UsageError(str(e).splitlines()[0]) from None
    except Exception as e:
        raise UsageError(f"device {args.device!r} is not usable with backend {name!r}: {e}") from None
    return b


def _where(b: Backend, device: Any) -> str:
    if device is not None:
        return f"{b.name}/{device}"
    dev = b.default_device
    if dev is None:
        try:
            dev = b.device(b.asarray([0.0]))
        except Exception:
            dev = "default"
    if hasattr(dev, "id") and not isinstance(dev, str):  # a CuPy Device
        dev = f"cuda:{dev.id}"
    return f"{b.name}/{dev}"


_quiet = False  # a data-parallel rank other than 0 prints nothing


def _out(*lines: str) -> None:
    if _quiet:
        return
    for line in lines:
        print(line, flush=True)


# ---- xgrad train ---------------------------------------------------------------------------------------
def _has_dtype(b: Backend, name: str) -> bool:
    try:
        b.dtype(name)
    except Exception:
        return False
    return True


def _check_cuda_graph(args: argparse.Namespace, b: Backend) -> None:
    if args.cuda_graph and not args.compile:
        raise UsageError("--cuda-graph records the compiled step: add --compile")
    if args.cuda_graph and not b.records_graphs(args.device):
        raise UsageError(f"--cuda-graph: backend {b.name} on {args.device or 'its default device'} has no CUDA "
                         "graphs (use --backend cupy, or --backend torch --device cuda)")


def cmd_train(args: argparse.Namespace) -> int:
    """``xgrad train``: train an MLP on a registered data set (torch is never imported)."""
    for path, what in ((args.plot, "plot"), (args.save, "checkpoint")):
        if path is not None:
            _check_writable(path, what)
    if args.plot is not None and not args.plot.lower().endswith(".png"):
        raise UsageError(f"--plot writes a PNG; give a file name ending in .png, not {args.plot!r}")
    if args.plot is not None and not _has_module("matplotlib"):
        raise UsageError(f"--plot needs matplotlib, which is not installed: {CLI_EXTRA}")
    progress = not args.no_progress
    if progress and not _has_module("tqdm"):
        _note(f"no progress bar: tqdm is not installed ({CLI_EXTRA}); training without one")
        progress = False
        args.no_progress = True
    for k, v in MODEL_DEFAULTS[args.model].items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.model == "cnn":
        return _train_cnn(args)
    b = _backend(args)
    threads = _threads(args, b)
    _slow_dtype_note(args, b)
    ds = DATASETS[args.dataset]
    if args.sizes[0] != ds.n_features:
        hint = " (or train the image model: --model cnn)" if ds.image_shape is not None else ""
        raise UsageError(f"--sizes must start with {ds.n_features} ({ds.name} is {ds.n_features}-D), "
                         f"got {','.join(map(str, args.sizes))}{hint}")
    if args.plot is not None and ds.n_features != 2:
        raise UsageError(f"--plot draws the MLP's decision boundary in the plane; {ds.name} is {ds.n_features}-D"
                         + (" (--model cnn --plot draws its loss curves and confusion matrix)"
                            if ds.image_shape is not None else ""))
    if args.sizes[-1] < ds.n_classes:
        raise UsageError(f"--sizes must end with at least {ds.n_classes} outputs for {ds.name} "
                         f"({ds.n_classes} classes), got {args.sizes[-1]}")
    if args.amp and (args.compile or args.dtype == "float16"):
        raise UsageError("--amp keeps float32/float64 weights and cannot be compiled: drop --compile and "
                         "--dtype float16")
    _check_cuda_graph(args, b)
    if args.amp and not _has_dtype(b, args.amp):
        raise UsageError(f"--amp {args.amp}: the {b.name} backend has no {args.amp} (NumPy has float16, torch "
                         "float16 and bfloat16)")
    if args.momentum and args.optimizer != "sgd":
        raise UsageError(f"--momentum applies to --optimizer sgd only, not {args.optimizer}")
    rank, ranks = 0, 1
    if args.distributed:
        rank, ranks = distributed.init().rank, distributed.world_size()
        if args.batch_size % ranks:
            raise UsageError(f"--batch-size {args.batch_size} is the global batch: it must be divisible by the "
                             f"{ranks} processes")
        if args.compile:
            raise UsageError("--distributed cannot be compiled: its gradient hooks run MPI calls (drop --compile)")
        global _quiet
        _quiet = rank != 0  # one voice: rank 0's
    samples = args.samples or ds.n_samples
    try:
        X, y = load_dataset(ds.name, n_samples=samples, noise=args.noise, seed=args.seed, backend=b,
                            device=args.device, dtype=args.dtype)
    except ValueError as e:  # what the data set's generator refuses, e.g. too few points for its classes
        raise UsageError(f"--samples {samples} for {ds.name}: {e}") from None
    if ds.image_shape is not None:  # images as flat feature vectors for the MLP
        X = X.reshape((X.shape[0], ds.n_features))
    creation.manual_seed(args.seed)
    model = MLP(args.sizes, activation=args.activation, backend=b, device=args.device, dtype=args.dtype)
    kw = {"lr": args.lr}
    if args.optimizer == "sgd" and args.momentum:
        kw["momentum"] = args.momentum
    opt = OPTIMIZERS[args.optimizer](model.parameters(), **kw)
    # the header names the noise when it was given, and for the reference run's data set
    shown = args.noise if args.noise is not None else ds.noise if ds.name == DEFAULT_DATASET else None
    noise = "" if shown is None else f", noise {shown}"
    _out(f"xgrad {__version__} train: {args.dataset} ({samples} points{noise}), MLP "
         f"{'-'.join(map(str, args.sizes))} {args.activation}, {args.optimizer} lr {args.lr:g}, batch "
         f"{args.batch_size}, {_epochs(args.epochs)}, {args.dtype} on {_where(b, args.device)}"
         + _threads_shown(threads) + f", seed {args.seed}")
    every = args.grad_report

    def report(epoch: int, loss: float, acc: float) -> None:
        if every and (epoch + 1) % every == 0:
            _out(f"epoch {epoch + 1}: loss {loss:.4f}, gradient flow of the last step:\n{grad_report(model)}")

    loader = None
    if args.distributed:
        model = DistributedDataParallel(model)  # type: ignore[assignment]
        loader = ShardedDataLoader(X, y, batch_size=args.batch_size // ranks,
                                   sampler=DistributedSampler(X.shape[0], seed=args.seed))
        _out(f"data-parallel over {ranks} MPI process(es) ({distributed.mpi_library() or 'no MPI'}): "
             f"{args.batch_size // ranks} samples per process per step")
    r = fit(model, X, y, opt, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
            progress=progress and rank == 0, compile=args.compile, amp=args.amp, cuda_graph=args.cuda_graph or None,
            on_epoch=report, loader=loader)
    # the bar showed running means over each epoch's batches; this is the trained model on all the data
    _out(f"final: accuracy {100 * r.accuracy:.2f}%  loss {r.loss:.4f} (whole training set, after training)  "
         f"wall-clock {r.seconds:.3f} s  steps {r.steps}  steps/s {r.steps_per_second:,.0f}")
    if rank != 0:  # the model is the same on every rank: rank 0 writes the files
        return 0
    if args.save:  # before the plot: a plot that fails must not lose the trained model
        save(args.save, model, opt, extra={"sizes": list(args.sizes), "activation": args.activation,
                                           "dataset": args.dataset, "epochs": args.epochs, "seed": args.seed,
                                           "accuracy": r.accuracy, "loss": r.loss})
        _out(f"checkpoint: {args.save}")
    if args.plot:
        _write_plot(args, lambda: plotting.plot_training(args.plot, model, X, y, r.losses, r.accuracies,
                                                         title=f"xgrad {args.dataset} {100 * r.accuracy:.1f}%"))
    return 0


def _write_plot(args: argparse.Namespace, draw: Callable[[], Any]) -> None:
    """Run ``draw`` (which writes ``args.plot``); a failure is one line that says the checkpoint is kept."""
    try:
        draw()
    except Exception as e:
        kept = f" (the checkpoint {args.save!r} is saved)" if args.save else ""
        raise UsageError(f"could not write the plot {args.plot!r}: {type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''}{kept}") from None
    _out(f"plot: {args.plot}")


MODEL_DEFAULTS: dict[str, dict[str, Any]] = {"mlp": {"optimizer": "sgd", "lr": 0.05, "epochs": 200},
                                             "cnn": {"optimizer": "adam", "lr": 0.003, "epochs": 30}}


def _threads(args: argparse.Namespace, b: Backend) -> int | None:
    """Apply ``--threads`` (or the backend's default) to the backend's library; the count, or None where
    it cannot be set (then not shown in the header)."""
    threads = args.threads or b.default_threads
    if threads is not None and not b.set_threads(threads):
        threads = None
    if args.threads is not None and threads is None:
        why = (f"NumPy's BLAS threads are set through threadpoolctl, which is not installed ({CLI_EXTRA}); or set "
               "OMP_NUM_THREADS / OPENBLAS_NUM_THREADS before starting") if b.name == "numpy" else \
            "its library has no thread setting"
        _note(f"--threads {args.threads} has no effect on the {b.name} backend: {why}")
    return threads


def _epochs(n: int) -> str:
    return f"{n} epoch{'s' if n != 1 else ''}"


def _slow_dtype_note(args: argparse.Namespace, b: Backend) -> None:
    if args.dtype in b.slow_dtypes:
        _note(f"{args.dtype} on the {b.name} backend is emulated in software: expect training many times "
              "slower than float32")


def _threads_shown(threads: int | None) -> str:
    return f" ({threads} thread{'s' if threads > 1 else ''})" if threads is not None else ""


def _train_cnn(args: argparse.Namespace) -> int:
    """``xgrad train --model cnn``: the small CNN (``models.CNN``) on an image data set with a fixed test
    split; prints train and test accuracy; ``--plot``: loss curves and the test confusion matrix."""
    ds = DATASETS[args.dataset]
    if ds.image_shape is None or not ds.test_split:
        images = ", ".join(n for n, d in DATASETS.items() if d.image_shape is not None)
        raise UsageError(f"--model cnn needs an image data set ({images}), not {ds.name}")
    for option, given in (("--sizes", args.sizes != (2, 32, 32, 2)), ("--activation", args.activation != "tanh"),
                          ("--samples", args.samples is not None), ("--noise", args.noise is not None),
                          ("--distributed", args.distributed), ("--amp", args.amp is not None),
                          ("--grad-report", args.grad_report is not None)):
        if given:
            raise UsageError(f"{option} applies to --model mlp only (the digits CNN has fixed layers and data)")
    if args.momentum and args.optimizer != "sgd":
        raise UsageError(f"--momentum applies to --optimizer sgd only, not {args.optimizer}")
    b = _backend(args)
    _check_cuda_graph(args, b)
    threads = _threads(args, b)
    _slow_dtype_note(args, b)
    try:
        X, y = load_dataset(ds.name, seed=args.seed, backend=b, device=args.device, dtype=args.dtype)
        Xt, yt = load_dataset(ds.name, split="test", seed=args.seed, backend=b, device=args.device, dtype=args.dtype)
    except ImportError as e:
        raise UsageError(str(e)) from None
    creation.manual_seed(args.seed)
    c, h, w = ds.image_shape
    model = CNN(in_channels=c, image_size=(h, w), classes=ds.n_classes, backend=b, device=args.device,
                dtype=args.dtype)
    kw: dict[str, Any] = {"lr": args.lr}
    if args.optimizer == "sgd" and args.momentum:
        kw["momentum"] = args.momentum
    opt = OPTIMIZERS[args.optimizer](model.parameters(), **kw)
    n_params = sum(p.size for p in model.parameters())
    _out(f"xgrad {__version__} train: {ds.name} ({X.shape[0]} train / {Xt.shape[0]} test images "
         f"{'x'.join(map(str, ds.image_shape))}), CNN ({n_params:,} parameters), {args.optimizer} lr {args.lr:g}, "
         f"batch {args.batch_size}, {_epochs(args.epochs)}, {args.dtype} on {_where(b, args.device)}"
         f"{_threads_shown(threads)}, seed {args.seed}")
    test_losses: list[float] = []
    test_accs: list[float] = []

    def on_epoch(epoch: int, loss: float, acc: float) -> None:
        a, l_ = evaluate(model, Xt, yt)
        test_accs.append(a)
        test_losses.append(l_)

    r = fit(model, X, y, opt, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
            progress=not args.no_progress, compile=args.compile, cuda_graph=args.cuda_graph or None,
            on_epoch=on_epoch if args.plot else None)
    test_acc, test_loss = evaluate(model, Xt, yt)
    _out(f"final: train accuracy {100 * r.accuracy:.2f}%  loss {r.loss:.4f}  wall-clock {r.seconds:.3f} s  "
         f"steps {r.steps}  steps/s {r.steps_per_second:,.0f}",
         f"test: accuracy {100 * test_acc:.2f}%  loss {test_loss:.4f}  ({Xt.shape[0]} held-out images)")
    if args.save:
        save(args.save, model, opt, extra={"model": "cnn", "dataset": ds.name, "epochs": args.epochs,
                                           "seed": args.seed, "accuracy": r.accuracy, "test_accuracy": test_acc})
        _out(f"checkpoint: {args.save}")
    if args.plot:
        pred = predict(model, Xt)
        _write_plot(args, lambda: plotting.plot_classifier(
            args.plot, r.losses, test_losses, r.accuracies, test_accs,
            plotting.confusion_matrix(yt.numpy(), b.to_numpy(pred), ds.n_classes),
            title=f"xgrad {ds.name} CNN: test accuracy {100 * test_acc:.1f}%"))
    return 0


# ---- xgrad verify --------------------------------------------------------------------------------------
def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(header, widths))
    out = [title, line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return out


def cmd_verify(args: argparse.Namespace) -> int:
    """``xgrad verify``: the reference experiments against PyTorch; 1 if a gradient check fails."""
    try:
        import torch
    except ImportError:
        raise UsageError("xgrad verify compares against PyTorch, which is not installed: pip install torch "
                         "--index-url https://download.pytorch.org/whl/cpu (CPU only), or pip install "
                         "\"xgrad[torch]\"") from None

    out_dir = os.path.abspath(args.out_dir)
    png = os.path.join(out_dir, "verify_boundaries.png")
    if not args.no_train:
        if not _has_module("matplotlib"):
            raise UsageError(f"xgrad verify draws a figure with matplotlib, which is not installed: {CLI_EXTRA} "
                             "(or --no-train)")
        if not os.path.isdir(out_dir):
            raise UsageError(f"--out-dir {out_dir!r} does not exist")
        _check_writable(png, "figure")
    b = _backend(args)
    ref = reference.REFERENCE
    X, y = reference.reference_data(seed=args.seed, backend=b, device=args.device)
    _out(f"xgrad {__version__} verify on {_where(b, args.device)}, float64, torch {torch.__version__}, "
         f"seed {args.seed}", "")
    model = reference.reference_model(seed=args.seed, backend=b, device=args.device)
    failed = False

    net = f"{'-'.join(map(str, ref.sizes))} {ref.activation} MLP"
    checks = [
        (reference.gradient_table, TORCH_TOL, "max |xgrad - torch|",
         f"Experiment 1a: gradients vs torch.autograd ({net}, cross-entropy, one batch of {ref.batch_size})"),
        (reference.finite_difference_table, FD_TOL, "max |analytic - numeric|",
         "Experiment 1b: gradients vs central finite differences (eps 1e-6)"),
    ]
    for table, tol, column, title in checks:
        rows = table(model, X, y, batch_size=ref.batch_size, seed=args.seed)
        worst = max(r[2] for r in rows)
        failed |= worst > tol
        _out(*_table(title, ("parameter", "shape", column),
                     [(n, "x".join(map(str, s)), f"{d:.1e}") for n, s, d in rows]))
        _out(f"max {worst:.1e} (tolerance {tol:.0e}): {'OK' if worst <= tol else 'FAILED'}", "")

    if not args.no_train:
        gpu = b.name == "cupy" or (args.device is not None and "cuda" in str(args.device))
        tdev = "cuda" if gpu and torch.cuda.is_available() else "cpu"
        model, r, tmodel, (tacc, tloss, tsec, tsteps, _) = reference.compare_training(
            X, y, sizes=ref.sizes, epochs=args.epochs, batch_size=ref.batch_size, lr=ref.lr, seed=args.seed,
            backend=b, device=args.device, torch_device=tdev, torch_threads=args.torch_threads)
        threads = f", {args.torch_threads} thread(s)" if tdev == "cpu" else ""
        _out(*_table(f"Experiment 2: training from identical weights and mini-batches (two moons {ref.n_samples} "
                     f"points noise {ref.noise}, SGD lr {ref.lr}, batch {ref.batch_size}, {args.epochs} epochs)",
                     ("engine", "accuracy", "loss", "wall-clock", "steps/s"),
                     [(f"xgrad ({_where(b, args.device)})", f"{100 * r.accuracy:.2f}%", f"{r.loss:.4f}",
                       f"{r.seconds:.2f} s", f"{r.steps_per_second:,.0f}"),
                      (f"torch {torch.__version__} ({tdev}{threads})", f"{100 * tacc:.2f}%", f"{tloss:.4f}",
                       f"{tsec:.2f} s", f"{tsteps / tsec:,.0f}")]))
        _out(f"speed-up {tsec / r.seconds:.2f}x; |accuracy difference| {100 * abs(r.accuracy - tacc):.2f} points, "
             f"|loss difference| {abs(r.loss - tloss):.1e}", "")
        plotting.plot_boundaries(png, X, y, plotting.xgrad_predictor(model, X),
                                 reference.torch_predictor(tmodel),
                                 titles=(f"xgrad ({b.name}) {100 * r.accuracy:.1f}%", f"PyTorch {100 * tacc:.1f}%"))
        _out(f"Experiment 3: decision boundaries side by side: {png}")
    _out("verify: " + ("FAILED (a gradient check is over its tolerance)" if failed else "all gradient checks passed"))
    return EXIT_CHECK_FAILED if failed else 0


# ---- xgrad info ----------------------------------------------------------------------------------------
def cmd_info(args: argparse.Namespace) -> int:
    """``xgrad info``: versions, backends, devices."""
    _out(f"xgrad {__version__}  (python {platform.python_version()}, {platform.system()} {platform.machine()})")
    for dist in ("numpy", "array-api-compat", "array-api-strict", "torch", "cupy-cuda12x", "cupy-cuda13x", "cupy",
                 "tqdm", "matplotlib", "threadpoolctl", "scikit-learn", "mpi4py", "graphviz"):
        v = _dist_version(dist)
        if v is not None:
            _out(f"  {dist:17s} {v}")
    _out("", "backends:")
    current = _default_backend()
    source = "XGRAD_BACKEND" if os.environ.get("XGRAD_BACKEND", "").strip() else "XGRAD_BACKEND is not set"
    for name, why in available_backends().items():
        mark = f" (the default: {source})" if name == current else ""
        _out(f"  {name:17s} " + ("ok" + mark if why is None else "unavailable: " + why.splitlines()[0]))
    _out("", "host memory: " + ("freed memory kept for reuse (glibc malloc thresholds raised; "
                                "XGRAD_KEEP_FREED_MEMORY=0 turns it off)" if keep_freed_memory() else
                                "the C library's default (XGRAD_KEEP_FREED_MEMORY=0, or not glibc)"))
    mpi = distributed.mpi_library()
    _out("", "distributed: " + (f"{mpi}; {distributed.transport()}" if mpi else
                                "mpi4py not installed (pip install \"xgrad[distributed]\")"))
    _out("", "devices:")
    _out("  cpu")
    try:
        import torch

        if torch.cuda.is_available():
            for i in range(torch.cuda.device_count()):
                _out(f"  cuda:{i} (torch) {torch.cuda.get_device_name(i)}")
        else:
            _out("  torch: no CUDA device" + (" (CPU-only build)" if torch.version.cuda is None else ""))
    except ImportError:
        pass
    try:
        import cupy

        n = cupy.cuda.runtime.getDeviceCount()
        for i in range(n):
            name = cupy.cuda.runtime.getDeviceProperties(i)["name"]
            name = name.decode() if isinstance(name, bytes) else name
            _out(f"  cuda:{i} (cupy) {name}")
    except Exception as e:
        if type(e).__name__ != "ModuleNotFoundError":
            _out(f"  cupy: no usable GPU ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"train": cmd_train, "verify": cmd_verify,
                                                            "info": cmd_info}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xgrad`` command; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        return COMMANDS[args.command](args)
    except UsageError as e:
        print(f"xgrad: error: {e}" if not str(e).startswith("xgrad") else f"{e}".replace(": ", ": error: ", 1),
              file=sys.stderr)
        return EXIT_USAGE
    except (XgradError, OSError) as e:
        print(f"xgrad: error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("xgrad: interrupted", file=sys.stderr)
        return 130
