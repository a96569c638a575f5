"""CUDA-graph replay of a compiled plan (``xgrad.compile(fn, cuda_graph=True)``).

A CUDA graph records the kernels of one run and launches them all again with one call: the same
kernels on the same memory. A compiled plan (``compile.py``) is split here into

  * the **body**: the plan's array steps, reading its inputs from fixed buffers (``S``: the
    arguments and what the host part computed; ``K``: the arrays of the tensors it loads, parameters
    and optimizer state) and leaving every array the host part needs in ``R``. The backend records
    it once (``Backend.capture_graph``); each call launches the recording.
  * the **host part**, generated like a plain replay: its checks of what the trace assumed (the same
    prologue and loads), then the steps a graph cannot hold, run as they are: random draws (from the
    backend's generator, so the numbers are eager's, in eager's order) and deferred label checks (with
    what they need); then copies of the arguments and those results into ``S``, the launch, and the
    stores, reading ``R``.

What a graph changes, and how no wrong number gets through:
  * A launch reads the arrays the recording read. Every loaded tensor must hold the array it held at
    the capture (checked, as a plain replay checks); a tensor the function gave a new array gets the
    new values written into its old one inside the graph (``K[i][...] = v``), and its version moves, so
    an autograd graph that saved the old values refuses to backward.
  * A launch writes the arrays the recording allocated. Results are handed out as copies; gradients
    are handed out as the graph's own arrays (no copy per parameter), so before each launch the
    previous call's gradient arrays must be referenced by nothing but their ``.grad``
    (``Backend.unshared``): a gradient the user kept runs the call as a plain replay instead.
  * Anything that would read a value on the host inside the body (a guard: ``.item()``, Python control
    flow on an array) makes the plan ineligible; so does a function reading the gradients the previous
    call left (accumulation). An ineligible plan, a backend without graphs and a capture the library
    refuses all run plain replays: the same numbers, without the graph.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Sequence

from . import passes
from .tracing import Slot

__all__ = ["GraphReplay", "split", "PLAIN"]

PLAIN = object()
"""What the host part returns when this call must run as a plain replay (before it changed anything)."""

MAX_CAPTURES = 4  # captures of one plan (each after a loaded tensor got another array) before giving up


class Split:
    """The host part's and the body's sources, and what the bookkeeping needs."""

    def __init__(self) -> None:
        self.pre: list[Any] = []  # the steps the host part runs (draws, checks and what they read)
        self.body: list[Any] = []  # the steps the graph holds
        self.body_inplace: dict[int, passes.InPlace] = {}
        self.made: set[int] = set()  # the slots the body's steps make
        self.read: list[int] = []  # the slots they read (buffers written into included), in order


def split(live: Sequence[Any], inplace: dict[int, passes.InPlace], loaded: dict[int, int]) -> Split | str:
    """Split the steps of a plan: those the host part runs before the launch, and the body; or the
    reason the plan cannot be a graph. ``loaded``: slot of each loaded tensor's array -> its index in
    ``K``."""
    for e in live:
        if e.kind == "guard":
            return ("the function reads a value on the host (.item(), float(t), Python control flow on an "
                    "array): a graph would replay the value it read once")
    producer = {}
    for n, e in enumerate(live):
        for s in passes.slots(e.out):
            producer[s] = n
    pre: set[int] = set()

    def pull(n: int) -> str | None:  # step n and what it reads into the host part, or why not
        if n in pre:
            return None
        e = live[n]
        if n in inplace or passes.mutates(e) is not None:
            return "a label check reads a value written in place"
        for s in passes.reads(e):
            if s in loaded:
                return "a label check reads a parameter or optimizer state"
            if s in producer:
                why = pull(producer[s])
                if why is not None:
                    return why
        pre.add(n)
        return None

    for n, e in enumerate(live):
        if passes.draws(e) or e.kind == "check":
            why = pull(n)
            if why is not None:
                return why + " (it would run before the graph)"
    out = Split()
    for n, e in enumerate(live):
        if n in pre:
            out.pre.append(e)
        else:
            if n in inplace:
                out.body_inplace[len(out.body)] = inplace[n]
                out.read.append(inplace[n].buffer)
            out.body.append(e)
            out.made.update(passes.slots(e.out))
            out.read += passes.reads(e)
    return out


class GraphReplay:
    """One plan's graph: the static buffers, the capture, the launches, and the checks before them.

    ``S`` (inputs), ``R`` (results) and ``K`` (the plan's loaded arrays, ``_Plan._seen``) are the lists
    the generated code reads and writes; ``body`` the generated function of the graph's steps."""

    def __init__(self, backend: Any, device: Any, body: Callable[[Any], Any], S: list, R: list, K: list,
                 owners: list, stored: dict[int, Any], written: list[int], changed: set[int], args: list[int],
                 say: Callable[[str], None] | None):
        self.backend = backend
        self.device = device
        self.body = body
        self.S, self.R, self.K = S, R, K
        self.owners = owners  # the tensors whose .grad the body computes (R[k] for owners[k])
        self.handed: list[Any] = [None] * len(owners)  # the gradient Tensors stored last (their arrays: R)
        self.stored = stored  # R index -> the tensor given that array (its new .data)
        self.written = written  # K indices of the loaded arrays the body writes new values into
        self.changed = changed  # K indices of every loaded array the body writes into (these and in place)
        self.args = args  # places in A of the Tensor arguments the host part copies into S
        self.say = say  # cuda_graph=True: says why when no graph runs (once per reason)
        self.launch_fn: Callable[[], None] | None = None
        self.recorded: list[Any] = []  # the arrays of K when recorded (weak references: _weak)
        self.addresses: list[Any] = []  # and their memory, where arrays can change it (torch's set_)
        self.invalid = False  # a loaded tensor holds another array than the recording read
        self.disabled: str | None = None  # why this plan runs plain replays from now on
        self.captures = self.launches = self.fallbacks = 0

    def ready(self, A: Any) -> bool:
        """Whether this call (arguments ``A``) can launch (else it runs as a plain replay): enabled, the
        loaded arrays those of the recording (or none recorded yet), no array a launch overwrites kept
        outside, and no argument sharing memory with an array the body writes into (the body reads its
        copy, made before the writes)."""
        if self.disabled is not None:
            return False
        K, recorded = self.K, self.recorded
        if self.launch_fn is not None and (any(K[i] is not recorded[i]() for i in range(len(K))) or
                                           list(map(self.backend.address, K)) != self.addresses):
            self.invalid = True  # (a plain replay gave a loaded tensor a new array, or its memory moved)
        if self.invalid:  # record again, with the new arrays (this call: plain)
            self.invalid = False
            self.launch_fn = None
            if self.captures >= MAX_CAPTURES:
                self._disable(f"its tensors were given new arrays {self.captures} times (a graph reads fixed "
                              "arrays: update parameters in place, as optimizers do)")
            self.fallbacks += 1
            return False
        if not self._unshared() or self._aliased(A):
            self.fallbacks += 1
            return False
        return True

    def _aliased(self, A: Any) -> bool:
        owner, K = self.backend.owner, self.K
        written = {id(owner(K[i])) for i in self.changed}
        return any(id(owner(A[p]._data)) in written for p in self.args)

    def _unshared(self) -> bool:
        """Nothing outside refers to the arrays a launch overwrites: the gradients and new arrays the
        last call handed out, and the loaded arrays it writes new values into. (Indexing, not loop
        variables: a local would be one more reference.)"""
        unshared, handed, R, owners, K = self.backend.unshared, self.handed, self.R, self.owners, self.K
        for k in range(len(handed)):
            if R[k] is None:  # (nothing recorded yet)
                continue
            if handed[k] is not None and handed[k]._data is not R[k]:
                handed[k] = None  # (its array was replaced since: only R may still hold the graph's)
            if handed[k] is None:
                if not unshared(R, k, 0):
                    return False
            # a gradient Tensor: held by this list (and its owner's .grad, if still); its array by R and it
            elif not (unshared(R, k, 1) and unshared(handed, k, 1 if owners[k]._grad is handed[k] else 0)):
                return False
        for k, t in self.stored.items():  # a new array given to a tensor: held by R and (if still) the tensor
            if not unshared(R, k, 1 if t._data is R[k] else 0):
                return False
        # a loaded array written into: held by K, its tensor and the host part's local
        return all(unshared(K, i, 2) for i in self.written)

    def launch(self) -> None:
        """Launch the recording (recording it first where there is none). A capture the backend refuses
        runs the body directly, once, and this plan runs plain replays from then on."""
        if self.launch_fn is None:
            try:
                self.recorded = [_weak(a) for a in self.K]
                self.addresses = list(map(self.backend.address, self.K))
                self.launch_fn = self.backend.capture_graph(self.body, self.device)
            except NotImplementedError as e:
                self._disable(str(e))
                self.body(None)
                return
            self.captures += 1
        self.launch_fn()
        self.launches += 1

    def hand(self, k: int, t: Any) -> Any:
        """Remember gradient Tensor ``t`` (wrapping ``R[k]``) as handed out; return it."""
        self.handed[k] = t
        return t

    def _disable(self, why: str) -> None:
        self.disabled = why
        self.launch_fn = None
        if self.say is not None:
            self.say(why)


def _weak(a: Any) -> Callable[[], Any]:
    """A weak reference to ``a`` where its type takes one (references are counted: ``Backend.unshared``);
    else a strong one, which makes ``unshared`` see one holder too many: the call runs without the graph."""
    try:
        return weakref.ref(a)
    except TypeError:
        return lambda: a


def static_inputs(parts: Split, loaded: dict[int, int], folded: dict[int, Any],
                  wanted: Sequence[int]) -> tuple[list[int], list[int]]:
    """(slots the body reads that the host part provides, in order; slots of ``wanted`` the body makes)."""
    made = parts.made
    static = [s for s in dict.fromkeys(parts.read + list(wanted))
              if s not in made and s not in loaded and s not in folded]
    return static, [s for s in dict.fromkeys(wanted) if s in made]


def body_source(parts: Split, static: list[int], results: list[int], loaded: dict[int, int],
                writebacks: list[tuple[int, Any]], folded: dict[int, Any]) -> tuple[str, dict[str, Any]]:
    """The source of the body (``def replay(A)``, called with None): its loads from ``S`` and ``K``,
    its steps, the new values written back into loaded arrays (``writebacks``: (K index, Slot or
    constant)), and the results into ``R``."""
    made = parts.made
    read = set(parts.read)
    read.update(results)
    read.update(v.index for _, v in writebacks if type(v) is Slot)
    loads = [(f"S[{k}]", s) for k, s in enumerate(static)]
    loads += [(f"K[{i}]", s) for s, i in loaded.items() if s in read and s not in made]
    stores = [passes.Store(f"K[{i}][...]", v) for i, v in writebacks]
    stores += [passes.Store(f"R[{k}]", Slot(s)) for k, s in enumerate(results)]
    return passes.emit(parts.body, loads, stores, (), parts.body_inplace, folded)
