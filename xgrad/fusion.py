"""Elementwise fusion, a pass of ``xgrad.compile``: chains of elementwise steps become one call.

    groups = find_groups(live, values, roots, ops, fresh, inplace)   # what may fuse (backends/fused.py's IR)
    live, inplace, fused = fuse(live, groups, backend.fused_elementwise, inplace)

Like ``passes.py``, a function of the tape: it reads the trace-time values' shapes and dtypes only,
and calls no backend (``fuse`` calls the ``build`` it is given). A group is a set of elementwise
steps (``classify``) of one dtype and result shape, joined through the values one makes and another
reads, grown greedily in tape order. It runs where its last step ran, so a step joins only if that
move changes nothing: no outside step reads a value of the group before that point, and nothing
writes into memory the group reads (``passes._memory``: views included) in between. A value of the
group that is read outside it, leaves the replay or is written into is one of its outputs; the rest
never exist as arrays. Random draws, guards, writes, views and ``out=`` updates (``inplace``) never
fuse.
"""

import math
from typing import Any, Callable, Collection, Mapping, Sequence

from .backends.fused import ARITY, COMPARISONS, Group, Node
from .passes import InPlace, _memory, _memory_of, mutates, reads
from .tracing import Entry, Slot

__all__ = ["MAX_STEPS", "classify", "find_groups", "fuse"]

MAX_STEPS = 64  # steps per group: a kernel's size and compile time stay small, and growing a group costs O(size)
_FLOATS = ("float32", "float64")  # float16 is left alone: half arithmetic differs between libraries


def _dtype_name(dtype: Any) -> str:
    return str(dtype).rsplit(".", 1)[-1]  # numpy's "float64", torch's "torch.float64"


def _broadcasts(shape: tuple, to: tuple) -> bool:
    """Whether an array of ``shape`` broadcasts to ``to`` (without changing ``to``)."""
    return len(shape) <= len(to) and all(a == b or a == 1 for a, b in zip(reversed(shape), reversed(to)))


_LARGEST = {"float32": 3.4028234663852886e38, "float64": 1.7976931348623157e308}


def _constant(x: Any, dtype: str) -> bool:
    """A Python int or float that is a finite number of ``dtype`` (bools are not numbers here)."""
    if type(x) is int:
        return abs(x) <= 2 ** 53 and abs(x) <= _LARGEST[dtype]  # exact as a double, then rounded as NumPy does
    return type(x) is float and math.isfinite(x) and abs(x) <= _LARGEST[dtype]


def classify(e: Entry, values: Sequence[Any], ops: Mapping[Any, str]) -> tuple[str, str] | None:
    """``(IR op, group dtype)`` if step ``e`` may join a fused group, else None.

    ``ops`` maps tape functions to IR names (``fused.tape_functions``). The step must read at least
    one array, every array of the group's dtype (float32 or float64; ``where``'s condition bool) and
    broadcasting to the result's shape; its other arguments Python ints and floats; its result of the
    group's dtype (bool for a comparison). No keywords, no effects."""
    if e.kind not in ("op", "call") or e.effect or e.kw or type(e.out) is not Slot:
        return None
    try:
        name = ops.get(e.fn)
    except TypeError:  # an unhashable callable
        return None
    if name is None or len(e.args) != ARITY[name]:
        return None
    out = values[e.out.index]
    shape = tuple(out.shape)
    types: dict[int, str] = {}
    for k, a in enumerate(e.args):
        if type(a) is Slot:
            v = values[a.index]
            if not _broadcasts(tuple(v.shape), shape):
                return None
            types[k] = _dtype_name(v.dtype)
    result = _dtype_name(out.dtype)
    if name == "where":
        if types.get(0) != "bool" or not (1 in types or 2 in types):
            return None
        operands, dtype = [t for k, t in types.items() if k], result
    else:
        if not types:
            return None
        operands = list(types.values())
        dtype = operands[0]
        if result != ("bool" if name in COMPARISONS else dtype):
            return None
    if dtype not in _FLOATS or any(t != dtype for t in operands):
        return None
    if not all(_constant(a, dtype) for a in e.args if type(a) is not Slot):
        return None
    return name, dtype


def find_groups(live: Sequence[Entry], values: Sequence[Any], roots: Collection[int], ops: Mapping[Any, str],
                fresh: Collection[Any] = (), inplace: Mapping[int, InPlace] | None = None) -> list[Group]:
    """The fusable groups of ``live`` (two steps or more each), in the order of their last step.

    Greedy, in tape order: an elementwise step joins the groups making its arguments (all of them,
    else the first it can) when the group, run at this step, still gives every value as before
    (``_movable``); otherwise it starts a group of its own."""
    inplace = inplace or {}
    kinds = {}
    for i, e in enumerate(live):
        if i not in inplace:
            found = classify(e, values, ops)
            if found is not None:
                kinds[i] = found + (tuple(values[e.out.index].shape),)
    producer, bases = _memory(live, set(fresh) | set(ops))  # an elementwise result is a new array
    readers: dict[int, list[int]] = {}
    for i, e in enumerate(live):
        for s in dict.fromkeys(reads(e)):
            readers.setdefault(s, []).append(i)
    writes = [(i, bases.get(t, {t})) for i, t in enumerate(map(mutates, live)) if t is not None]
    writes += [(i, bases.get(p.buffer, {p.buffer})) for i, p in inplace.items()]
    written = _memory_of(bases, [s for _, memory in writes for s in memory])

    def movable(steps: list[int]) -> bool:
        """Whether ``steps`` (sorted) may all run at the last one: no other step reads what they make
        before it, and no step writes into memory they read in between."""
        last, inside = steps[-1], set(steps)
        made = {live[i].out.index for i in steps}
        if any(r < last and r not in inside for s in made for r in readers.get(s, ())):
            return False
        memory = _memory_of(bases, [s for i in steps for s in reads(live[i]) if s not in made])
        return not any(steps[0] < i < last and not memory.isdisjoint(m) for i, m in writes)

    group_of: dict[int, int] = {}  # step -> the first step of its group
    members: dict[int, list[int]] = {}
    for j in kinds:
        joined = []
        for s in reads(live[j]):
            i = producer.get(s, -1)
            if i in group_of and kinds[i][1:] == kinds[j][1:] and group_of[i] not in joined:  # dtype, shape
                joined.append(group_of[i])
        for choice in ([joined] if len(joined) > 1 else []) + [[g] for g in joined]:
            steps = sorted([k for g in choice for k in members[g]] + [j])
            if len(steps) <= MAX_STEPS and movable(steps):
                head = steps[0]
                for g in choice:
                    del members[g]
                members[head] = steps
                group_of.update((k, head) for k in steps)
                break
        else:
            members[j] = [j]
            group_of[j] = j
    groups = []
    for steps in members.values():
        if len(steps) > 1:
            group = _group(steps, live, values, kinds, roots, readers, writes, written, bases)
            if group is not None:
                groups.append(group)
    return sorted(groups, key=lambda g: g.steps[-1])


def _group(steps: list[int], live: Sequence[Entry], values: Sequence[Any], kinds: Mapping[int, tuple[str, str, tuple]],
           roots: Collection[int], readers: Mapping[int, list[int]], writes: list[tuple[int, Any]],
           written: Collection[int], bases: Mapping[int, frozenset[int]]) -> Group | None:
    """The IR of one group of steps, or None when running it at its last step would change a value."""
    first, last = steps[0], steps[-1]
    inside = set(steps)
    names: dict[int, str] = {}  # slot -> its name in the group
    inputs: list[tuple[int, str]] = []
    nodes = []
    outputs = []
    for k, i in enumerate(steps):
        e = live[i]
        args: list[Any] = []
        for a in e.args:
            if type(a) is not Slot:
                args.append(a)
                continue
            if a.index not in names:
                names[a.index] = f"x{len(inputs)}"
                inputs.append((a.index, _dtype_name(values[a.index].dtype)))
            args.append(names[a.index])
        op, dtype, _ = kinds[i]
        s = e.out.index
        names[s] = f"t{k}"
        nodes.append(Node(op, tuple(args), "bool" if op in COMPARISONS else dtype))
        outside = [r for r in readers.get(s, []) if r not in inside]
        if s in roots or s in written or outside:
            if any(r < last for r in outside):  # read by an outside step before the group would run
                return None
            outputs.append((f"t{k}", s))
    memory = _memory_of(bases, [s for s, _ in inputs])
    if any(first < i < last and not memory.isdisjoint(m) for i, m in writes):
        return None  # a write between the group's steps into memory it reads
    shape = tuple(values[live[last].out.index].shape)
    return Group(tuple(steps), tuple(inputs), tuple(nodes), tuple(outputs), shape, kinds[last][1])


def fuse(live: Sequence[Entry], groups: Sequence[Group], build: Callable[[Group], Any],
         inplace: Mapping[int, InPlace] | None = None) -> tuple[list[Entry], dict[int, InPlace], list[Group]]:
    """``live`` with each group that ``build`` runs (it returns a function of the group's inputs, or
    None to leave the steps as they are) replaced by one call at its last step; ``inplace`` renumbered
    for the new steps; and the groups fused."""
    replaced: dict[int, Entry] = {}
    dropped: set[int] = set()
    done = []
    for g in groups:
        fn = build(g)
        if fn is None:
            continue
        outs = [Slot(s) for _, s in g.outputs]
        replaced[g.steps[-1]] = Entry("call", fn, tuple(Slot(s) for s, _ in g.inputs), {},
                                      outs[0] if len(outs) == 1 else tuple(outs))
        dropped.update(g.steps[:-1])
        done.append(g)
    steps: list[Entry] = []
    index = {}
    for i, e in enumerate(live):
        if i not in dropped:
            index[i] = len(steps)
            steps.append(replaced.get(i, e))
    return steps, {index[i]: p for i, p in (inplace or {}).items()}, done
