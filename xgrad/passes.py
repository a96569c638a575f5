"""The compiler's passes over a recorded tape (``xgrad.compile``).

A tape is ``Trace.entries`` (see ``xgrad.tracing``): steps ``out = fn(*args, **kw)`` whose array values
are ``Slot`` objects. Each pass is a function of the tape and returns what it decided; none reads a
Tensor, calls a backend or changes its arguments, so each can be run on a tape written by hand:

    folded = fold_constants(entries, values, roots)          # slots fixed for every replay
    live, needed = eliminate_dead(entries, roots, folded)    # the steps a replay must run
    live, start = schedule(live)                             # value guards first: a failed one changed nothing
    inplace = plan_buffers(live, updates, roots, values, start=start)  # updates written into the old array
    source, names = emit(live, loads, stores, outputs, inplace, folded)

A step may return a view of an array it reads (share its memory) unless it is an operator or a call of a
function in ``fresh``; the passes follow such views wherever a step writes into an array (``mutates``).

Sets and keys of slots hold their indices (``roots``, ``needed``, ``folded``, ``Update.buffer``: ints
only there). A value in the replay's code (an argument, an output, a stored value) is a ``Slot`` or a
constant, so the Python int 3 is a constant, never slot 3.
"""

import math
import operator
from typing import Any, Callable, Collection, Iterable, Mapping, NamedTuple, Sequence

from .errors import InputError
from .tracing import Entry, Slot

__all__ = ["slots", "reads", "root_slots", "mutates", "draws", "fold_constants", "eliminate_dead", "schedule",
           "writes_to_inputs", "Update", "InPlace", "plan_buffers", "Store", "emit"]


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


def mutates(e: Entry) -> int | None:
    """The slot step ``e`` writes into (``a[i] = v``, ``a += b``, an in-place method), or None."""
    if e.kind in ("setitem", "inplace") or (e.kind == "method" and e.effect):
        return e.args[0].index
    return None


def draws(e: Entry) -> bool:
    """Whether step ``e`` draws random numbers (a call with an effect)."""
    return e.kind == "call" and e.effect


def _memory(entries: Sequence[Entry], fresh: Collection[Any]) -> tuple[dict[int, int], dict[int, frozenset[int]]]:
    """(slot -> the index of the step making it, slot -> the slots whose memory it may share).

    A slot no step makes (an input) shares only its own memory; so does the result of an operator or of
    a function in ``fresh``; any other result may be a view of the arrays its step reads."""
    producer: dict[int, int] = {}
    bases: dict[int, frozenset[int]] = {}
    for i, e in enumerate(entries):
        outs = slots(e.out)
        if not outs:
            continue
        if e.kind == "op" or (e.kind == "call" and e.fn in fresh):
            for s in outs:
                bases[s] = frozenset((s,))
        else:
            shared = frozenset().union(*(bases.get(r, frozenset((r,))) for r in reads(e)))
            for s in outs:
                bases[s] = shared | {s}
        for s in outs:
            producer[s] = i
    return producer, bases


def _memory_of(bases: Mapping[int, frozenset[int]], slot_list: Iterable[int]) -> set[int]:
    out: set[int] = set()
    for s in slot_list:
        out |= bases.get(s, {s})
    return out


def fold_constants(entries: Sequence[Entry], values: Sequence[Any], roots: Collection[int],
                   shape_only: Collection[Any] = (), fresh: Collection[Any] = ()) -> dict[int, Any]:
    """The slots whose value is the same in every replay: slot -> its value in ``values``.

    A step folds (it ran once, during the trace, and is not replayed) when every slot it reads is
    folded, or when ``fn`` is in ``shape_only`` (its result depends on shapes and dtypes, which the
    signature fixes). Never folded: steps with effects (random draws, writes), guards, checks (a replay
    checks its own values), the arrays a step writes into (and what shares their memory), ``roots``,
    the slots that leave the replay, and what they may be views of (a user may write into a result: a
    folded array would carry that into later replays). A ``shape_only`` call folds only when the values
    it reads besides a ``*_like`` function's first argument are folded too (``full_like(x, v)`` reads
    ``v``'s value). Functions in ``shape_only`` make new arrays, as do those in ``fresh``."""
    _, bases = _memory(entries, set(fresh) | set(shape_only))
    written = _memory_of(bases, [t for t in map(mutates, entries) if t is not None])
    leaving = _memory_of(bases, roots)
    folded: dict[int, Any] = {}
    for e in entries:
        if e.effect or e.kind == "guard" or e.kind == "check" or e.out is None:
            continue
        outs = slots(e.out)
        if any(s in leaving or not written.isdisjoint(bases.get(s, (s,))) for s in outs):
            continue
        if e.fn in shape_only:
            like = getattr(e.fn, "__name__", "").endswith("_like")
            values_read = slots(e.args[1:] if like else e.args) + slots(tuple(e.kw.values()))
            if all(s in folded for s in values_read):
                for s in outs:
                    folded[s] = values[s]
        elif all(s in folded for s in reads(e)):
            for s in outs:
                folded[s] = values[s]
    return folded


def eliminate_dead(entries: Sequence[Entry], roots: Collection[int], folded: Mapping[int, Any],
                   fresh: Collection[Any] = ()) -> tuple[list[Entry], set[int]]:
    """The steps a replay runs, in tape order, and the slots it needs (``roots`` and what they read).

    Kept: random draws, guards and checks (a check whose result nothing uses still raises), steps whose
    result is needed, and writes into memory that is read
    later, leaves the replay, or belongs to an input (an existing tensor's array). Dropped: the rest,
    and the steps whose results are all folded."""
    producer, bases = _memory(entries, fresh)
    needed = set(roots)
    needed_memory = _memory_of(bases, needed)
    live = []
    for e in reversed(entries):
        outs = slots(e.out)
        if outs and all(s in folded for s in outs):
            continue
        target = mutates(e)
        if target is not None:
            memory = bases.get(target, {target})
            keep = not needed_memory.isdisjoint(memory) or any(m not in producer for m in memory)
        else:
            keep = e.effect or e.kind == "check" or any(s in needed for s in outs)
        if keep:
            live.append(e)
            needed.update(reads(e))
            needed_memory |= _memory_of(bases, reads(e))
    live.reverse()
    return live, needed


def schedule(live: Sequence[Entry], fresh: Collection[Any] = ()) -> tuple[list[Entry], int]:
    """``live`` reordered so that value guards and checks run as early as their inputs allow, and the length of the
    first part: the guards and every step they depend on, in tape order; the other steps follow, in
    tape order. A replay that stops at a guard has then made no write its guards do not need.

    A step depends on the steps making what it reads, on earlier writes into memory it reads, and, when
    it writes, on earlier steps reading or writing that memory; a random draw on the earlier draws (a
    replay draws the same numbers in the same order)."""
    guards = [i for i, e in enumerate(live) if e.kind == "guard" or e.kind == "check"]
    if not guards:
        return list(live), 0
    producer, bases = _memory(live, fresh)
    touched = [_memory_of(bases, reads(e)) for e in live]
    writes = [(i, bases.get(t, {t})) for i, t in enumerate(map(mutates, live)) if t is not None]
    random = [i for i, e in enumerate(live) if draws(e)]
    first: set[int] = set()
    todo = list(guards)
    while todo:
        i = todo.pop()
        if i in first:
            continue
        first.add(i)
        e = live[i]
        todo += [producer[s] for s in reads(e) if s in producer]
        todo += [j for j, memory in writes if j < i and not memory.isdisjoint(touched[i])]
        target = mutates(e)
        if target is not None:
            memory = bases.get(target, {target})
            todo += [j for j in range(i) if not touched[j].isdisjoint(memory)]
        if draws(e):
            todo += [j for j in random if j < i]
    order = sorted(first)
    return [live[i] for i in order] + [e for i, e in enumerate(live) if i not in first], len(order)


def writes_to_inputs(entries: Sequence[Entry], fresh: Collection[Any] = ()) -> list[Entry]:
    """The steps of ``entries`` that write into an input's memory (an existing tensor's array)."""
    producer, bases = _memory(entries, fresh)
    found = []
    for e in entries:
        target = mutates(e)
        if target is not None and any(m not in producer for m in bases.get(target, {target})):
            found.append(e)
    return found


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
                 values: Sequence[Any], fresh: Collection[Any] = (), start: int = 0) -> dict[int, InPlace]:
    """The updates whose new array is computed into the old one: index of the step in ``live`` -> how.

    An update qualifies when the step making its result is a binary operator with an ``out=`` ufunc,
    comes at ``start`` or later (after the value guards: a replay that stops writes nothing), the two
    arrays agree in shape and dtype (``values``), and neither the old array nor a view of it is read
    after that step or leaves the replay (``roots``). A step writes into one buffer at most: of two
    updates with the same result, the first is taken."""
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
        if step is None or step < start or step in found:
            continue
        e = live[step]
        old, new = values[u.buffer], values[u.result]
        if (e.kind == "op" and e.fn in u.ufuncs and len(e.args) == 2 and not used_after(u.buffer, step)
                and tuple(old.shape) == tuple(new.shape) and old.dtype == new.dtype):
            found[step] = InPlace(u.ufuncs[e.fn], u.buffer)
    return found


class Store(NamedTuple):
    """A line ``target = template.format(value)`` after the steps (``t_w0.data = v5``); a template
    without ``{}`` is the value's source text itself (``Store("t0._grad", None, "t1")``)."""

    target: str  # source text, a name the caller puts in the replay's globals
    value: Any  # a Slot or a constant
    template: str = "{}"


def emit(live: Sequence[Entry], loads: Sequence[tuple[str, int]], stores: Sequence[Store],
         outputs: Sequence[Any], inplace: Mapping[int, InPlace], folded: Mapping[int, Any],
         prologue: Sequence[str] = (), checks: Sequence[str] = (),
         result: str | None = None) -> tuple[str, dict[str, Any]]:
    """The source of ``def replay(A)``, and the globals it needs besides those the caller provides.

    The function runs the ``prologue`` lines (the caller's checks of what it may assume), reads each
    ``(expression, slot)`` of ``loads`` into ``v<slot>``, runs the ``checks`` lines, then ``live`` (the
    steps of ``inplace`` with ``out=``), makes the ``stores`` and returns the tuple of ``outputs``
    (Slots or constants), or ``result`` (source text) where given. A temporary is deleted right after its last use, as hand-written code frees
    it. Folded slots, constants and the functions called are globals named here (``v3``, ``c0``,
    ``f2``, ``u_add``); ``_Diverged`` (raised when a guard fails, with the random numbers drawn before
    it, if any) and the names in ``prologue``, ``loads``, ``checks`` and ``stores`` are the caller's."""
    names = _Names()
    for s, value in folded.items():
        names.globals[f"v{s}"] = value
    roots = root_slots([st.value for st in stores] + list(outputs))
    last_use = {}
    drawn: list[int] = []  # the slots of the random draws so far: a failed guard hands them back
    for n, e in enumerate(live):
        for s in reads(e) + slots(e.out):
            last_use[s] = n
        if n in inplace:  # the buffer written into is used here too
            last_use[inplace[n].buffer] = n
        if e.kind == "guard":
            last_use.update((s, n) for s in drawn)
        elif draws(e):
            drawn += slots(e.out)
    for s in roots:
        last_use[s] = len(live)
    dead_after: dict[int, list[str]] = {}
    for s, n in last_use.items():
        if s not in folded and n < len(live):
            dead_after.setdefault(n, []).append(f"v{s}")

    lines = ["def replay(A):"]
    lines += [f"    {line}" for line in prologue]
    lines += [f"    v{slot} = {expression}" for expression, slot in loads]
    lines += [f"    {line}" for line in checks]
    drawn = []
    for n, e in enumerate(live):
        if n in inplace:
            key = f"u_{inplace[n].ufunc.__name__}"
            names.globals[key] = inplace[n].ufunc
            a, b = (names.src(x) for x in e.args)
            lines.append(f"    {names.src(e.out)} = {key}({a}, {b}, out=v{inplace[n].buffer})")
        elif e.kind == "guard":
            handed = f"(({''.join(f'v{s}, ' for s in drawn)}))" if drawn else ""
            value = f"{names.function(f'guard{n}', e.fn)}({names.src(e.args[0])})"
            if type(e.out) in (bool, int, str) or e.out is None:
                lines.append(f"    if {value} != {names.const(e.out)}: raise _Diverged{handed}")
            else:  # floats, and what holds them: -0.0 is not 0.0 here (== says it is)
                lines.append(f"    if not {names.function('_same_value', same_value)}({value}, "
                             f"{names.const(e.out)}): raise _Diverged{handed}")
        elif e.kind == "check":
            # a check that fails here (one not deferred to a device) stops the replay as a failed guard
            # does: the call runs again eagerly, where the function's own handling of the error applies
            handed = f"(({''.join(f'v{s}, ' for s in drawn)}))" if drawn else ""
            names.globals["_InputError"] = InputError
            lines += ["    try:", "        " + _step(n, e, names), "    except _InputError:",
                      f"        raise _Diverged{handed}"]
        else:
            lines.append("    " + _step(n, e, names))
            if draws(e):
                drawn += slots(e.out)
        if n in dead_after:
            lines.append(f"    del {', '.join(sorted(dead_after[n]))}")
    lines += [f"    {st.target} = {st.template.format(names.src(st.value))}" for st in stores]
    lines.append("    return " + (result if result is not None else
                                      "(" + "".join(names.src(v) + ", " for v in outputs) + ")"))
    return "\n".join(lines), names.globals


def same_value(a: Any, b: Any) -> bool:
    """Whether a guard's value now, ``a``, is its value when traced, ``b``: equal, with 0.0 and -0.0
    told apart (``==`` says they are equal; ``copysign`` and division do not)."""
    if type(a) is float and type(b) is float:
        return a == b and (a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b))
    if type(a) is complex and type(b) is complex:
        return same_value(a.real, b.real) and same_value(a.imag, b.imag)
    if type(a) in (tuple, list):
        return type(a) is type(b) and len(a) == len(b) and all(map(same_value, a, b))
    return type(a) is type(b) and a == b


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
        # (a tuple result's non-array members, e.g. a None, are not slots: assigned to "_")
        target = "".join((src(o) if o is not None else "_") + ", " for o in out) if type(out) is tuple else src(out)
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
    if e.kind == "inplace":
        return f"{args[0]} {_INFIX[_INPLACE[e.fn]]}= {args[1]}"
    if e.kind == "method":
        if e.fn == "__getattribute__":
            return f"{target} = {args[0]}.{e.args[1]}"
        return f"{target} = {args[0]}.{e.fn}({', '.join(args[1:] + [f'{k}={src(v)}' for k, v in e.kw.items()])})"
    return f"{target} = {names.function(f'f{n}', e.fn)}({', '.join(args)}{kw})"


_INFIX = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/", operator.floordiv: "//",
          operator.mod: "%", operator.pow: "**", operator.matmul: "@", operator.and_: "&", operator.or_: "|",
          operator.xor: "^", operator.lt: "<", operator.le: "<=", operator.gt: ">", operator.ge: ">=",
          operator.eq: "==", operator.ne: "!="}
_INPLACE = {operator.iadd: operator.add, operator.isub: operator.sub, operator.imul: operator.mul,
            operator.itruediv: operator.truediv, operator.ifloordiv: operator.floordiv, operator.imod: operator.mod,
            operator.ipow: operator.pow, operator.iand: operator.and_, operator.ior: operator.or_,
            operator.ixor: operator.xor}  # emitted as f"{a} {infix}= {b}"
_PREFIX = {operator.neg: "-", operator.abs: "abs", operator.invert: "~"}  # emitted as f"{prefix}({arg})"
