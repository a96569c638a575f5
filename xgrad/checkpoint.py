"""Checkpoints: a model's parameters and an optimizer's state in one ``.npz`` file.

The file is a plain NumPy archive (``numpy.load(path)`` reads it, no pickle): parameters under
``model/<name>`` (PyTorch's names and shapes), optimizer tensors under ``optim/<index>/<key>``, and a JSON
string ``__meta__`` with the format version, the optimizer's class, hyper-parameters and scalar state, and
any ``extra`` values. It is written to a temporary file in the same folder, flushed to disk and renamed
over the target (``os.replace``), so a crash mid-save leaves the previous file intact.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import TYPE_CHECKING, Any

import numpy as np

from .backends import to_host
from .errors import ShapeError, XgradError

if TYPE_CHECKING:
    from .nn import Module
    from .optim import Optimizer

__all__ = ["save", "load", "read", "CheckpointError"]

FORMAT = "xgrad-checkpoint-1"


class CheckpointError(XgradError, ValueError):
    """A checkpoint file that cannot be read or does not fit the model/optimizer."""


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    if isinstance(v, np.generic):
        return v.item()
    return str(v)


def save(path: str | os.PathLike[str], model: Module | None = None, optimizer: Optimizer | None = None,
         extra: Any = None) -> str:
    """Write ``model`` (its state_dict) and ``optimizer`` (its state) to ``path`` atomically."""
    path = os.fspath(path)
    arrays: dict[str, Any] = {}
    meta: dict[str, Any] = {"format": FORMAT, "extra": _jsonable(extra) if extra is not None else None}
    if model is not None:
        sd = model.state_dict()
        meta["model"] = list(sd)
        for name, a in sd.items():
            arrays[f"model/{name}"] = to_host(a)
    if optimizer is not None:
        st = optimizer.state_dict()
        scalars: dict[str, dict[str, Any]] = {}
        for i, s in st["state"].items():
            for k, v in s.items():
                if hasattr(v, "shape") and tuple(v.shape) != ():
                    arrays[f"optim/{i}/{k}"] = to_host(v)
                else:
                    scalars.setdefault(str(i), {})[k] = float(to_host(v)) if hasattr(v, "shape") else v
        meta["optimizer"] = {"class": type(optimizer).__name__,
                             "param_groups": [{k: _jsonable(v) for k, v in g.items()} for g in st["param_groups"]],
                             "scalars": scalars}
    arrays["__meta__"] = np.array(json.dumps(meta))
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CheckpointError(f"cannot save checkpoint to {path!r}: folder {folder!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(path) + "-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(meta, arrays)`` of a checkpoint: the JSON metadata and ``{key: numpy array}``."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"checkpoint {path!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError, zipfile.LargeZipFile) as e:
        size = os.path.getsize(path)
        raise CheckpointError(f"checkpoint {path!r} ({size} bytes) is truncated or corrupt, or not an .npz "
                              f"file: {type(e).__name__}: {e}") from None
    if "__meta__" not in arrays:
        raise CheckpointError(f"{path!r} is a NumPy archive but not an xgrad checkpoint (no __meta__ entry)")
    try:
        meta = json.loads(str(arrays.pop("__meta__")))
    except ValueError as e:
        raise CheckpointError(f"checkpoint {path!r} has unreadable metadata: {e}") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path!r} has format {meta.get('format')!r}, expected {FORMAT!r}")
    return meta, arrays


def load(path: str | os.PathLike[str], model: Module | None = None, optimizer: Optimizer | None = None,
         strict: bool = True) -> Any:
    """Restore ``model`` and ``optimizer`` from ``path``; returns the saved ``extra``.

    Names and shapes are checked before anything is copied; a mismatch raises a CheckpointError that
    lists the missing, unexpected and mis-shaped entries."""
    meta, arrays = read(path)
    if model is not None:
        sd = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
        try:
            model.load_state_dict(sd, strict=strict)
        except ShapeError as e:
            raise CheckpointError(f"checkpoint {os.fspath(path)!r} does not fit the model: {e}") from None
    if optimizer is not None:
        om = meta.get("optimizer")
        if om is None:
            raise CheckpointError(f"checkpoint {os.fspath(path)!r} holds no optimizer state")
        if om["class"] != type(optimizer).__name__:
            raise CheckpointError(f"checkpoint {os.fspath(path)!r} holds {om['class']} state, not "
                                  f"{type(optimizer).__name__}")
        state: dict[int, dict[str, Any]] = {}
        for k, v in arrays.items():
            if k.startswith("optim/"):
                _, i, key = k.split("/", 2)
                state.setdefault(int(i), {})[key] = v
        for i, s in om["scalars"].items():
            state.setdefault(int(i), {}).update(s)
        groups = []
        for g in om["param_groups"]:
            g = dict(g)
            if "betas" in g:
                g["betas"] = tuple(g["betas"])
            groups.append(g)
        try:
            optimizer.load_state_dict({"state": state, "param_groups": groups})
        except ValueError as e:
            raise CheckpointError(f"checkpoint {os.fspath(path)!r} does not fit the optimizer: {e}") from None
    return meta.get("extra")
