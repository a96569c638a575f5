"""``xgrad.memory_report()``: what xgrad tensors hold now, to find leaks (a loss kept with its graph,
``retain_graph=True`` left on, a list of outputs that still require grad).

It walks Python's garbage-collector list once when called (nothing is tracked while tensors are made,
so it costs nothing otherwise): live tensors and the bytes of their distinct arrays, per backend and
device, and the graphs still held, largest first (nodes, the bytes of the arrays they keep for
backward, the tensor holding each).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

from .anomaly import creation_site
from .tensor import Tensor

__all__ = ["memory_report", "MemoryReport", "HeldGraph"]


def _nbytes(a: Any) -> int:
    n = getattr(a, "nbytes", None)
    if isinstance(n, int):
        return n
    size = 1
    for s in a.shape:
        size *= int(s)
    itemsize = getattr(a.dtype, "itemsize", None)
    return size * (itemsize if isinstance(itemsize, int) else 8)


@dataclass(frozen=True)
class HeldGraph:
    """A graph reachable from a live tensor that nothing newer uses: ``root`` holds it."""

    root: Tensor
    nodes: int
    bytes: int  # of the distinct arrays its nodes keep (outputs and inputs saved for backward)
    site: str | None  # where the root was made, when made under detect_anomaly

    def describe(self) -> str:
        where = f", made at {self.site}" if self.site else ""
        return (f"{self.nodes} nodes, {self.bytes / 1e6:.3f} MB, held by a {self.root._op.name} output of shape "
                f"{self.root.shape} on {self.root.backend}{where}")


@dataclass
class MemoryReport:
    by_device: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    """(backend, device) -> {"tensors": live Tensors, "arrays": distinct arrays, "bytes": their bytes}"""
    graphs: list[HeldGraph] = field(default_factory=list)  # largest first

    @property
    def largest_graph(self) -> HeldGraph | None:
        return self.graphs[0] if self.graphs else None

    def __str__(self) -> str:
        lines = ["backend/device          tensors   arrays        bytes"]
        for (b, d), row in sorted(self.by_device.items()):
            lines.append(f"{b + '/' + d:<22} {row['tensors']:>8} {row['arrays']:>8} {row['bytes']:>12,}")
        if self.graphs:
            lines.append(f"graphs held: {len(self.graphs)}; largest: {self.graphs[0].describe()}")
        else:
            lines.append("graphs held: none")
        return "\n".join(lines)


def memory_report() -> MemoryReport:
    """Live xgrad tensors and bytes per backend and device, and the graphs still held (largest first)."""
    gc.collect()
    tensors = [o for o in gc.get_objects() if type(o) is Tensor]
    report = MemoryReport()
    seen_arrays: set[int] = set()
    for t in tensors:
        key = (t._backend.name, str(t._backend.device(t._data)))
        row = report.by_device.setdefault(key, {"tensors": 0, "arrays": 0, "bytes": 0})
        row["tensors"] += 1
        if id(t._data) not in seen_arrays:
            seen_arrays.add(id(t._data))
            row["arrays"] += 1
            row["bytes"] += _nbytes(t._data)
    nodes = [t for t in tensors if t._op is not None and t._parents]  # recorded and not freed
    used = {id(p) for t in nodes for p in t._parents if type(p) is Tensor}
    for root in (t for t in nodes if id(t) not in used):
        report.graphs.append(_measure(root))
    report.graphs.sort(key=lambda g: (g.bytes, g.nodes), reverse=True)
    return report


def _measure(root: Tensor) -> HeldGraph:
    count = 0
    arrays: dict[int, Any] = {}
    seen: set[int] = set()
    stack = [root]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        count += 1
        arrays[id(t._data)] = t._data
        for a in t._args or ():
            if hasattr(a, "shape") and hasattr(a, "dtype"):
                arrays[id(a)] = a
        for p in t._parents or ():
            if type(p) is Tensor and p._op is not None and p._parents:
                stack.append(p)
    return HeldGraph(root, count, sum(_nbytes(a) for a in arrays.values()), creation_site(root))
