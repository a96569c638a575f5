"""Checks of values that run on the device and report later: no host synchronisation inside a step.

Asking whether some class label lies outside [0, C) needs the answer on the host; on a GPU that waits
for the device. A backend with ``deferred_checks`` (CuPy; settable on any backend instance, which is how
the CPU tests run it) computes what a check needs on the device instead (``defer``: a few 0-d arrays and
a verdict) and leaves it pending here. ``raise_pending(where)`` reads every pending check at once (one
stack and one transfer per device) and raises the first failure's error, saying where it was found and
that the op ran earlier. The engine calls it wherever values reach the user: ``Tensor.item()``,
``.numpy()``, ``.tolist()``, ``float()``/``int()``/``bool()``, ``backends.to_host``, the host reads of a
compiled function, ``fit``'s end of epoch; users call ``xgrad.check_pending()``.

The pending list is one per process, not per thread: a value computed in one thread and read in another
is still checked. A failure is raised once; the checks read with it are dropped, so an exception
never leaves them to fail an unrelated later read.
"""

from __future__ import annotations

import threading
from typing import Any

from ..errors import LabelError

__all__ = ["LabelRange", "defer", "pending", "raise_pending", "check_pending", "label_message"]

pending: list[_Pending] = []
"""The checks not read yet, oldest first (hot paths test this list before calling ``raise_pending``)."""

_lock = threading.Lock()
COMPACT_AT = 256  # pending checks with one verdict are folded into one on the device past this many


class _Pending:
    __slots__ = ("backend", "verdict", "values", "calls")

    def __init__(self, backend: Any, verdict: Any, values: tuple, calls: int) -> None:
        self.backend = backend
        self.verdict = verdict
        self.values = values  # 0-d arrays of one dtype, on the device
        self.calls = calls  # how many checks were folded into this one

    def group(self) -> tuple:
        """What may be stacked with it: same backend, device and dtype."""
        v = self.values[0]
        return (id(self.backend), str(self.backend.device(v)), str(v.dtype))


class LabelRange:
    """The verdict of a class-label check: ``values`` are the labels' smallest and largest value, which
    must lie in [0, num_classes) (indices into ``num_classes`` rows where ``what`` says what they index).
    Checks with equal verdicts fold by min and max (``merge``)."""

    __slots__ = ("op", "num_classes", "what")
    merge = ("min", "max")

    def __init__(self, op: str, num_classes: int, what: str | None = None) -> None:
        self.op = op
        self.num_classes = int(num_classes)
        self.what = what

    def _key(self) -> tuple:
        return (self.op, self.num_classes, self.what)

    def __eq__(self, other: object) -> bool:
        return type(other) is LabelRange and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def error(self, values: list, calls: int) -> str | None:
        """The message for the host ``values`` of ``calls`` checks, or None when they pass."""
        lo, hi = values
        if 0 <= lo and hi < self.num_classes:
            return None
        return label_message(self.op, self.num_classes, lo, hi, calls, self.what)


def label_message(op: str, num_classes: int, lo: Any, hi: Any, calls: int = 1, what: str | None = None) -> str:
    """The error text for class labels outside [0, num_classes) (``lo``, ``hi``: their extremes), or
    for indices, where ``what`` says what they index ("num_classes=10", "5 embeddings")."""
    over = f" over {calls} calls" if calls > 1 else ""
    if what is not None:
        return f"xgrad.{op}: indices must lie in [0, {num_classes}) ({what}); got values from {lo} to {hi}{over}"
    return (f"xgrad.{op}: class labels must lie in [0, {num_classes}) for {num_classes} classes; got labels "
            f"from {lo} to {hi}{over}")


def defer(backend: Any, verdict: Any, *values: Any) -> None:
    """Leave a check pending: ``values`` (0-d arrays of one dtype on ``backend``'s device) are read at
    the next ``raise_pending``, where ``verdict.error(host values, calls)`` says whether they failed."""
    with _lock:
        pending.append(_Pending(backend, verdict, values, 1))
        if len(pending) >= COMPACT_AT:
            _compact()


def _compact() -> None:
    """Fold pending checks with equal verdicts (and backend, device, dtype) into one each, on the
    device: a loop that never reads a value keeps a bounded list."""
    groups: dict[tuple, list[_Pending]] = {}
    for p in pending:
        groups.setdefault(p.group() + (p.verdict,), []).append(p)
    folded = []
    for same in groups.values():
        if len(same) == 1:
            folded.append(same[0])
            continue
        first = same[0]
        ns = first.backend.namespace
        values = tuple(getattr(ns, how)(ns.stack([p.values[i] for p in same]))
                       for i, how in enumerate(first.verdict.merge))
        folded.append(_Pending(first.backend, first.verdict, values, sum(p.calls for p in same)))
    pending[:] = folded


def raise_pending(where: str, keep: bool = False) -> None:
    """Read every pending check (one transfer per device) and raise the first failure's LabelError (an InputError),
    naming ``where`` it was found ("raised at .item()"). The checks read are dropped, or, with ``keep``,
    the failed ones stay pending (a ``repr`` that withholds values leaves the error to the next read)."""
    with _lock:
        taken = pending[:]
        pending.clear()
    if not taken:
        return
    groups: dict[tuple, list[int]] = {}
    for k, p in enumerate(taken):
        groups.setdefault(p.group(), []).append(k)
    host: list[Any] = [None] * len(taken)
    for ks in groups.values():
        b = taken[ks[0]].backend
        flat = b.to_numpy(b.namespace.stack([v for k in ks for v in taken[k].values])).tolist()
        at = 0
        for k in ks:
            n = len(taken[k].values)
            host[k], at = flat[at:at + n], at + n
    failed = [(p, message) for p, message in ((p, p.verdict.error(host[k], p.calls)) for k, p in enumerate(taken))
              if message is not None]
    if not failed:
        return
    if keep:
        with _lock:
            pending[:0] = [p for p, _ in failed]
    p, message = failed[0]
    raise LabelError(
        f"{message} (raised at {where}: an earlier xgrad.{p.verdict.op} call had labels out of range; backend "
        f"{p.backend.name!r} checks them on the device without waiting and reports at the next read of values; "
        "call xgrad.check_pending() after a call to check it there)")


def check_pending() -> None:
    """Raise now the error of any check a backend deferred (``deferred_checks``: CuPy, a GPU), instead
    of at the next read of a value; a host synchronisation on a GPU. Nothing pending: returns."""
    if pending:
        raise_pending("xgrad.check_pending()")
