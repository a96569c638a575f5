"""Pictures of the graph: ``to_dot(tensor)`` gives Graphviz DOT text; ``render`` turns it into SVG/PNG.

    print(xgrad.viz.to_dot(loss))                  # paste into any Graphviz viewer
    xgrad.viz.render(loss, "graph.svg")            # needs the graphviz package and program

Boxes are tensors: an op's output shows the op, its shape and dtype; a leaf that requires grad (a
parameter) is filled, other leaves are dashed. Edges run from inputs to outputs. A graph already freed
by a backward shows its nodes as ``freed``.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from .tensor import Tensor

__all__ = ["to_dot", "render"]


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def _label(t: Tensor, names: dict[int, str]) -> str:
    shape = "x".join(map(str, t.shape)) or "scalar"
    dtype = t._backend.dtype_name(t.dtype)
    head = names.get(id(t))
    if t._op is not None:
        what = t._op.name
        return f"{what}\\n{shape} {dtype}" + (f"\\n{head}" if head else "")
    kind = "requires_grad" if t.requires_grad else "constant"
    return f"{head or 'leaf'}\\n{shape} {dtype}\\n{kind}"


def to_dot(tensors: Tensor | Sequence[Tensor], params: dict[str, Tensor] | None = None) -> str:
    """The graph behind ``tensors`` (a Tensor or several) as Graphviz DOT text. ``params`` (say
    ``dict(model.named_parameters())``) names the leaves it contains."""
    roots = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    names = {id(t): n for n, t in (params or {}).items()}
    ids: dict[int, str] = {}
    lines = ["digraph xgrad {", "  rankdir=BT;", '  node [shape=box, fontname="Helvetica", fontsize=10];']
    edges: list[tuple[Tensor, Tensor]] = []
    stack = list(roots)
    while stack:
        t = stack.pop()
        if id(t) in ids:
            continue
        node = ids[id(t)] = f"t{len(ids)}"
        if t._op is not None:
            style = 'style="rounded"'
        elif t.requires_grad:
            style = 'style="filled", fillcolor="lightblue"'
        else:
            style = 'style="dashed"'
        if any(t is r for r in roots):
            style += ', penwidth=2'
        lines.append(f"  {node} [label={_quote(_label(t, names))}, {style}];")
        for p in t._parents or ():
            if isinstance(p, Tensor):
                stack.append(p)
                edges.append((p, t))
    for p, t in edges:
        lines.append(f"  {ids[id(p)]} -> {ids[id(t)]};")
    lines.append("}")
    return "\n".join(lines)


def render(tensors: Tensor | Sequence[Tensor], path: str, params: dict[str, Tensor] | None = None) -> str:
    """Write the graph as a picture to ``path`` (the format from its ending: .svg, .png, .pdf) and return
    the path. Needs the ``graphviz`` Python package (``pip install 'xgrad[viz]'``) and the Graphviz
    program ``dot`` (``apt install graphviz``, ``brew install graphviz`` or ``conda install graphviz``)."""
    stem, ext = os.path.splitext(path)
    fmt = ext.lstrip(".").lower()
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"xgrad.viz.render: {path!r} must end in .svg, .png or .pdf")
    try:
        import graphviz
    except ImportError:
        raise ImportError("xgrad.viz.render needs the graphviz Python package: pip install 'xgrad[viz]' "
                          "(and the Graphviz program: apt install graphviz / brew install graphviz). "
                          "xgrad.viz.to_dot(...) gives the DOT text without either.") from None
    source = graphviz.Source(to_dot(tensors, params))
    try:
        return source.render(filename=stem, format=fmt, cleanup=True)
    except graphviz.ExecutableNotFound:
        raise RuntimeError("xgrad.viz.render: the Graphviz program 'dot' is not installed or not on PATH; "
                           "install it (apt install graphviz, brew install graphviz, conda install graphviz, "
                           "or https://graphviz.org/download/), or use xgrad.viz.to_dot(...) for the DOT "
                           "text") from None


def __dir__() -> list[str]:  # dir() and tab completion list the public names, not this module's imports
    return sorted(__all__)
