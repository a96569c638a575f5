"""The compiler's passes over a recorded tape (``xgrad.compile``).

A tape is ``Trace.entries`` (see ``xgrad.tracing``): steps ``out = fn(*args, **kw)`` whose array values
are ``Slot`` objects. Each pass is a function of the tape and returns what it decided; none reads a
Tensor, calls a backend or changes its arguments, so each can be run on a tape written by hand:

    folded = fold_constants(entries, values, roots)          # slots fixed for every replay
    live, needed = eliminate_dead(entries, roots, folded)    # the steps a replay must run
    inplace = plan_buffers(live, updates, roots, values)     # updates written into the old array
    source, names = emit(live, loads, stores, outputs, inplace, folded)

Sets and keys of slots hold their indices (``roots``, ``needed``, ``folded``, ``Update.buffer``: ints
only there). A value in the replay's code (an argument, an output, a stored value) is a ``Slot`` or a
constant, so the Python int 3 is a constant, never slot 3.
"""

import math
import operator
from typing import Any, Callable, Collection, Iterable, Mapping, NamedTuple, Sequence

from .tracing import Entry, Slot

__all__ = ["slots", "reads", "root_slots", "fold_constants", "eliminate_dead", "Update", "InPlace",
           "plan_buffers", "Store", "emit"]


def slots(x: object) -> tuple[int, ...]:
    """The indices of the slots in ``x``: a ``Slot``, or tuples, lists and slices holding some."""
    if type(x) is Slot:
        return (x.index,)
    if type(x) is tuple or type(x) is list:
        out: tuple[int, ...] = ()
        for i in x:
            out += slots(i)
        return out
    if type(x) is slice:
        return slots((x.start, x.stop, x.step))
    return ()


def reads(e: Entry) -> tuple[int, ...]:
    """The slots step ``e`` reads (its arguments and keyword values)."""
    return slots(e.args) + slots(tuple(e.kw.values()))


def root_slots(values: Iterable[object]) -> set[int]:
    """The slots among ``values`` (what leaves a replay); every other value is a constant."""
    return {v.index for v in values if type(v) is Slot}


def fold_constants(entries: Sequence[Entry], values: Sequence[Any], roots: Collection[int],
                   shape_only: Collection[Any] = ()) -> dict[int, Any]:
    """The slots whose value is the same in every replay: slot -> its value in ``values``.

    A step folds (it ran once, during the trace, and is not replayed) when every slot it reads is
    folded, or when ``fn`` is in ``shape_only`` (its result depends on shapes and dtypes, which the
    signature fixes). Never folded: steps with effects (random draws), guards, ``setitem`` and the
    arrays it writes into, and ``roots``, the slots that leave the replay."""
    mutated = {e.args[0].index for e in entries if e.kind == "setitem"}
    folded: dict[int, Any] = {}
    for e in entries:
        if e.effect or e.kind in ("setitem", "guard", "static") or e.out is None:
            continue
        outs = slots(e.out)
        if any(s in mutated or s in roots for s in outs):
            continue
        if e.fn in shape_only or all(s in folded for s in reads(e)):
            for s in outs:
                folded[s] = values[s]
    return folded


def eliminate_dead(entries: Sequence[Entry], roots: Collection[int],
                   folded: Mapping[int, Any]) -> tuple[list[Entry], set[int]]:
    """The steps a replay runs, in tape order, and the slots it needs (``roots`` and what they read).

    Kept: steps with effects (random draws, guards), steps whose result is needed, and ``setitem``
    into a needed array. Dropped: the rest, and the steps whose results are all folded."""
    needed = set(roots)
    live = []
    for e in reversed(entries):
        outs = slots(e.out)
        if outs and all(s in folded for s in outs):
            continue
        if e.kind == "setitem":
            keep = e.args[0].index in needed
        else:
            keep = e.effect or any(s in needed for s in outs)
        if keep:
            live.append(e)
            needed.update(reads(e))
    live.reverse()
    return live, needed


class Update(NamedTuple):
    """A tensor whose array the replay replaces: could the new array be computed into the old one?"""

    buffer: int  # the slot of the tensor's old array, writable
    result: int  # the slot of its new array
    ufuncs: Mapping[Any, Any]  # operator -> the backend's function taking out= (operator.sub -> np.subtract)


class InPlace(NamedTuple):
    """A step emitted as ``ufunc(a, b, out=buffer)``."""

    ufunc: Callable[..., Any]
    buffer: int


def plan_buffers(live: Sequence[Entry], updates: Iterable[Update], roots: Collection[int],
                 values: Sequence[Any], fresh: Collection[Any] = ()) -> dict[int, InPlace]:
    """The updates whose new array is computed into the old one: index of the step in ``live`` -> how.

    An update qualifies when the step making its result is a binary operator with an ``out=`` ufunc,
    the two arrays agree in shape and dtype (``values``), and neither the old array nor a view of it
    is read after that step or leaves the replay (``roots``). A step may return a view of what it
    reads unless it is an operator or a call of a function in ``fresh``. A step writes into one
    buffer at most: of two updates with the same result, the first is taken."""
    producer = {}
    last_read = {}
    aliases = {}  # slot -> the slots it may be a view of
    for i, e in enumerate(live):
        for s in reads(e):
            last_read[s] = i
        for s in slots(e.out):
            producer[s] = i
            if not (e.kind == "op" or (e.kind == "call" and e.fn in fresh)):
                aliases[s] = set(slots(e.args))

    def used_after(slot: int, i: int) -> bool:
        if last_read.get(slot, -1) > i or slot in roots:
            return True
        return any(slot in of and used_after(view, i) for view, of in aliases.items())

    found: dict[int, InPlace] = {}
    for u in updates:
        step = producer.get(u.result)
        if step is None or step in found:
            continue
        e = live[step]
        old, new = values[u.buffer], values[u.result]
        if (e.kind == "op" and e.fn in u.ufuncs and len(e.args) == 2 and not used_after(u.buffer, step)
                and tuple(old.shape) == tuple(new.shape) and old.dtype == new.dtype):
            found[step] = InPlace(u.ufuncs[e.fn], u.buffer)
    return found


class Store(NamedTuple):
    """A line ``target = template.format(value)`` after the steps (``t_w0.data = v5``)."""

    target: str  # source text, a name the caller puts in the replay's globals
    value: Any  # a Slot or a constant
    template: str = "{}"


def emit(live: Sequence[Entry], loads: Sequence[tuple[str, int]], stores: Sequence[Store],
         outputs: Sequence[Any], inplace: Mapping[int, InPlace],
         folded: Mapping[int, Any]) -> tuple[str, dict[str, Any]]:
    """The source of ``def replay(A)``, and the globals it needs besides those the caller provides.

    The function reads each ``(expression, slot)`` of ``loads`` into ``v<slot>``, runs ``live`` (the
    steps of ``inplace`` with ``out=``), makes the ``stores`` and returns the tuple of ``outputs``
    (Slots or constants). A temporary is deleted right after its last use, as hand-written code frees
    it. Folded slots, constants and the functions called are globals named here (``v3``, ``c0``,
    ``f2``, ``u_add``); ``_Diverged`` (raised when a guard fails) and the names in ``loads`` and
    ``stores`` are the caller's."""
    names = _Names()
    for s, value in folded.items():
        names.globals[f"v{s}"] = value
    roots = root_slots([st.value for st in stores] + list(outputs))
    last_use = {}
    for n, e in enumerate(live):
        for s in reads(e) + slots(e.out):
            last_use[s] = n
        if n in inplace:  # the buffer written into is used here too
            last_use[inplace[n].buffer] = n
    for s in roots:
        last_use[s] = len(live)
    dead_after: dict[int, list[str]] = {}
    for s, n in last_use.items():
        if s not in folded and n < len(live):
            dead_after.setdefault(n, []).append(f"v{s}")

    lines = ["def replay(A):"]
    lines += [f"    v{slot} = {expression}" for expression, slot in loads]
    for n, e in enumerate(live):
        if n in inplace:
            key = f"u_{inplace[n].ufunc.__name__}"
            names.globals[key] = inplace[n].ufunc
            a, b = (names.src(x) for x in e.args)
            lines.append(f"    {names.src(e.out)} = {key}({a}, {b}, out=v{inplace[n].buffer})")
        else:
            lines.append("    " + _step(n, e, names))
        if n in dead_after:
            lines.append(f"    del {', '.join(sorted(dead_after[n]))}")
    lines += [f"    {st.target} = {st.template.format(names.src(st.value))}" for st in stores]
    lines.append("    return (" + "".join(names.src(v) + ", " for v in outputs) + ")")
    return "\n".join(lines), names.globals


class _Names:
    """Source text for the values of a tape, and the globals that text refers to."""

    def __init__(self) -> None:
        self.globals: dict[str, Any] = {}
        self._consts: dict[int, str] = {}

    def const(self, value: Any) -> str:
        """A literal where the value has an exact one, else a global ``c<n>``."""
        if value is None or value is Ellipsis or type(value) in (bool, int, str):
            return repr(value)
        if type(value) is float and math.isfinite(value):
            return repr(value)
        key = id(value)
        if key not in self._consts:
            self._consts[key] = f"c{len(self._consts)}"
            self.globals[self._consts[key]] = value
        return self._consts[key]

    def src(self, x: Any) -> str:
        if type(x) is Slot:
            return f"v{x.index}"
        if type(x) is tuple:
            return "(" + "".join(self.src(i) + ", " for i in x) + ")"
        if type(x) is list:
            return "[" + ", ".join(self.src(i) for i in x) + "]"
        if type(x) is slice:
            return f"slice({self.src(x.start)}, {self.src(x.stop)}, {self.src(x.step)})"
        return self.const(x)

    def function(self, name: str, fn: Any) -> str:
        self.globals[name] = fn
        return name


def _step(n: int, e: Entry, names: _Names) -> str:
    """The line of source for step ``n`` of the replay."""
    src = names.src
    out = e.out
    if out is None:
        target = "_"
    else:
        target = "".join(src(o) + ", " for o in out) if type(out) is tuple else src(out)
    args = [src(a) for a in e.args]
    kw = "".join(f", {k}={src(v)}" for k, v in e.kw.items())
    if e.kind == "op":
        sym = _INFIX.get(e.fn)
        if sym is not None and len(args) == 2:
            return f"{target} = {args[0]} {sym} {args[1]}"
        return f"{target} = {_PREFIX[e.fn]}({args[0]})"
    if e.kind == "getitem":
        return f"{target} = {args[0]}[{args[1]}]"
    if e.kind == "setitem":
        return f"{args[0]}[{args[1]}] = {args[2]}"
    if e.kind == "method":
        if e.fn == "__getattribute__":
            return f"{target} = {args[0]}.{e.args[1]}"
        return f"{target} = {args[0]}.{e.fn}({', '.join(args[1:])}{kw})"
    if e.kind == "guard":
        return f"if {names.function(f'guard{n}', e.fn)}({args[0]}) != {names.const(e.out)}: raise _Diverged"
    if e.kind == "static":
        return f"if {names.const(e.args[0])}[{src(e.args[1])}] != {names.const(e.out)}: raise _Diverged"
    return f"{target} = {names.function(f'f{n}', e.fn)}({', '.join(args)}{kw})"


_INFIX = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/", operator.floordiv: "//",
          operator.mod: "%", operator.pow: "**", operator.matmul: "@", operator.and_: "&", operator.or_: "|",
          operator.xor: "^", operator.lt: "<", operator.le: "<=", operator.gt: ">", operator.ge: ">=",
          operator.eq: "==", operator.ne: "!="}
_PREFIX = {operator.neg: "-", operator.abs: "abs", operator.invert: "~"}  # emitted as f"{prefix}({arg})"
