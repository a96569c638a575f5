"""Checkpoints: a model's parameters and an optimizer's state in one ``.npz`` file.

The file is a plain NumPy archive (``numpy.load(path)`` reads it, no pickle): parameters under
``model/<name>`` (PyTorch's names and shapes), optimizer tensors under ``optim/<index>/<key>``, and a JSON
string ``__meta__`` with the format version, the optimizer's class, hyper-parameters and scalar state, and
the ``extra`` value. ``extra`` holds None, bools, ints, floats, strings, lists, tuples, dicts with string
keys, and arrays and tensors of any backend: arrays are stored as arrays (``extra/<n>``, their places in
``__meta__``) and load back as NumPy arrays; anything else is refused with a TypeError.

It is written to a temporary file in the same folder (``.tmp-<name>-<pid>-<random>``), flushed to disk
and renamed over the target (``os.replace``), so a crash mid-save leaves the previous file intact. A
failed save removes its temporary file; one left by a killed process is removed by the next save to
the same path.
"""

from __future__ import annotations

import json
import os
import re
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


_PLAIN = (bool, int, float, str, type(None))


def _pack(v: Any, path: list[Any], arrays: dict[str, Any], places: dict[str, list[list[Any]]]) -> Any:
    """``v`` (the ``extra`` value at ``path``) as JSON. Arrays go to ``arrays`` as ``extra/<n>`` (a null
    stands in their place); the places of arrays and tuples are listed in ``places``."""
    if type(v) in _PLAIN:
        return v
    if isinstance(v, np.generic) and type(v.item()) in _PLAIN:  # a NumPy scalar whose value JSON keeps exactly
        return v.item()
    if type(v) in (list, tuple):
        if type(v) is tuple:
            places["tuples"].append(path)
        return [_pack(x, path + [i], arrays, places) for i, x in enumerate(v)]
    where = "extra" + "".join(f"[{k!r}]" for k in path)
    if type(v) is dict and all(type(k) is str for k in v):
        return {k: _pack(x, path + [k], arrays, places) for k, x in v.items()}
    if type(v) is dict:
        k = next(k for k in v if type(k) is not str)
        raise TypeError(f"checkpoint.save: {where} has the key {k!r} of type {type(k).__name__}; the keys "
                        "of extra's dicts must be strings")
    if hasattr(v, "shape") and hasattr(v, "dtype"):  # a Tensor, or an array of any library
        if isinstance(v, np.ma.MaskedArray):
            raise TypeError(f"checkpoint.save: {where} is a masked array; its mask would be lost: store "
                            "its .data and .mask")
        try:
            host = to_host(v)
        except Exception as e:
            raise TypeError(f"checkpoint.save: {where} ({type(v).__name__}) cannot be copied to a NumPy "
                            f"array: {type(e).__name__}: {e}") from None
        if host.dtype.hasobject:
            raise TypeError(f"checkpoint.save: {where} is an array of Python objects, which a checkpoint "
                            "cannot store without pickle")
        arrays[f"extra/{len(places['arrays'])}"] = host
        places["arrays"].append(path)
        return None
    raise TypeError(f"checkpoint.save: {where} is a {type(v).__name__}, which a checkpoint cannot store "
                    "faithfully; extra holds None, bool, int, float, str, lists, tuples, dicts with str "
                    "keys, and arrays or tensors")


def _unpack(meta: dict[str, Any], arrays: dict[str, np.ndarray], path: str) -> Any:
    """The ``extra`` value saved by :func:`_pack`: arrays put back in their places, tuples made again."""
    extra = meta.get("extra")
    for n, at in enumerate(meta.get("extra_arrays", [])):
        if f"extra/{n}" not in arrays:
            raise CheckpointError(f"checkpoint {path!r} lacks the array extra/{n} that its metadata lists")
        extra = _put(extra, at, arrays[f"extra/{n}"])
    for at in sorted(meta.get("extra_tuples", []), key=len, reverse=True):  # inner tuples first
        extra = _put(extra, at, tuple(_get(extra, at)))
    return extra


def _get(root: Any, at: list[Any]) -> Any:
    for k in at:
        root = root[k]
    return root


def _put(root: Any, at: list[Any], value: Any) -> Any:
    """``root`` with ``value`` at ``at`` (``value`` itself when ``at`` is empty)."""
    if not at:
        return value
    _get(root, at[:-1])[at[-1]] = value
    return root


def save(path: str | os.PathLike[str], model: Module | None = None, optimizer: Optimizer | None = None,
         extra: Any = None) -> str:
    """Write ``model`` (its state_dict), ``optimizer`` (its state) and ``extra`` to ``path`` atomically.

    ``extra`` is any value made of the kinds the module's doc lists (a TypeError names the first part
    that is not); :func:`load` returns it."""
    path = os.fspath(path)
    arrays: dict[str, Any] = {}
    places: dict[str, list[list[Any]]] = {"arrays": [], "tuples": []}
    meta: dict[str, Any] = {"format": FORMAT, "extra": _pack(extra, [], arrays, places),
                            "extra_arrays": places["arrays"], "extra_tuples": places["tuples"]}
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
    return write_npz(path, arrays)


def write_npz(path: str, arrays: dict[str, Any]) -> str:
    """``numpy.savez(path, **arrays)`` atomically: a temporary file in the same folder, flushed to disk and
    renamed over ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CheckpointError(f"cannot save checkpoint to {path!r}: folder {folder!r} does not exist")
    prefix = f".tmp-{os.path.basename(path)}-"
    _remove_stale(folder, prefix)
    fd, tmp = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}-", dir=folder)
    _writing.add(tmp)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    finally:
        _writing.discard(tmp)
    return path


_writing: set[str] = set()  # temporary files this process's saves are writing now


def _remove_stale(folder: str, prefix: str) -> None:
    """Remove the temporary files of saves to the same path whose process is gone (killed mid-save)."""
    pattern = re.compile(re.escape(prefix) + r"(?:(\d+)-)?[a-z0-9_]+")  # no pid: an older xgrad's
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        m = pattern.fullmatch(name)
        tmp = os.path.join(folder, name)
        if m and tmp not in _writing and not _running(m[1]):
            _unlink(tmp)


def _running(pid: str | None) -> bool:
    """Whether process ``pid`` (of a temporary file's name) may still be writing it."""
    if pid is None or int(pid) == os.getpid():
        return False  # this process's saves in flight are in _writing
    if os.name != "posix":
        return True  # no harmless liveness test: leave the file
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # alive, another user's
    return True


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


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
    return _unpack(meta, arrays, os.fspath(path))
