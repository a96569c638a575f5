"""A fused elementwise group: the small IR ``xgrad.compile`` hands a backend, and its interpreter.

``xgrad/fusion.py`` finds chains of elementwise steps in a compiled step's tape (``g * (1 - out * out)``)
and describes each as a ``Group``: the arrays it reads (``x0``, ``x1``, ...), one ``Node`` per step in
tape order (``t0``, ``t1``, ...), and which nodes leave the group. A backend may run a group as one
kernel (``Backend.fused_elementwise``); ``interpret`` runs it step by step with the same functions
the tape called, so it gives the unfused replay's numbers bit for bit.

The operations, with the tape functions that become them (``tape_functions``):
  * operators ``+ - * / **`` (add, subtract, multiply, divide, pow), unary ``-`` (negative), ``abs``;
  * comparisons ``< <= > >= == !=`` (less, less_equal, greater, greater_equal, equal, not_equal);
  * the rule namespace's abs, exp, expm1, log, log1p, sqrt, tanh, sin, cos, maximum, minimum, where.
Types: every array a node reads has the group's dtype (float32 or float64), and so has its result,
except that a comparison's result is bool and ``where``'s condition is bool; Python ints and floats
among the arguments are constants, cast to the group's dtype as NumPy 2 and the array API do (a
Python scalar never promotes an array). Shapes: every input broadcasts to the group's shape, which
every node's result has.
"""

import operator
from typing import Any, Callable, NamedTuple

__all__ = ["Node", "Group", "ARITY", "COMPARISONS", "OPERATORS", "NAMESPACE_OPS", "tape_functions",
           "functions", "interpret"]

OPERATORS: dict[Callable[..., Any], str] = {
    operator.add: "add", operator.sub: "subtract", operator.mul: "multiply", operator.truediv: "divide",
    operator.pow: "pow", operator.neg: "negative", operator.abs: "abs", operator.lt: "less",
    operator.le: "less_equal", operator.gt: "greater", operator.ge: "greater_equal", operator.eq: "equal",
    operator.ne: "not_equal"}
"""The Python operators a tape records (``Entry.kind == "op"``) that fuse, by IR name."""

NAMESPACE_OPS = ("abs", "exp", "expm1", "log", "log1p", "sqrt", "tanh", "sin", "cos", "maximum", "minimum",
                 "where")
"""The rule namespace's functions that fuse (IR name = their name)."""

COMPARISONS = frozenset({"less", "less_equal", "greater", "greater_equal", "equal", "not_equal"})

ARITY = {name: 2 for name in ("add", "subtract", "multiply", "divide", "pow", "maximum", "minimum")}
ARITY.update({name: 2 for name in COMPARISONS})
ARITY.update({name: 1 for name in ("negative", "abs", "exp", "expm1", "log", "log1p", "sqrt", "tanh", "sin",
                                   "cos")})
ARITY["where"] = 3


class Node(NamedTuple):
    """``t<k> = op(*args)``: each argument a name (``"x0"``: an input, ``"t2"``: an earlier node) or a
    Python int or float constant."""

    op: str
    args: tuple
    dtype: str  # the group's dtype, or "bool" for a comparison


class Group(NamedTuple):
    """One fused chain: ``steps`` (indices into the replay's steps) become one call reading the
    ``inputs`` slots (as ``x0``, ``x1``, ...) and returning the slots of ``outputs`` (one array, or a
    tuple of them when there are several)."""

    steps: tuple[int, ...]
    inputs: tuple[tuple[int, str], ...]  # (slot, dtype name): x0, x1, ...
    nodes: tuple[Node, ...]  # t0, t1, ... in tape order
    outputs: tuple[tuple[str, int], ...]  # (node name, the slot it stands for)
    shape: tuple[int, ...]
    dtype: str  # "float32" or "float64"


def tape_functions(xp: Any) -> dict[Any, str]:
    """Tape function -> IR op name: the operators, and ``xp``'s functions of ``NAMESPACE_OPS``."""
    found = dict(OPERATORS)
    for name in NAMESPACE_OPS:
        fn = getattr(xp, name, None)
        if fn is not None:
            found[fn] = name
    return found


def functions(xp: Any) -> dict[str, Callable[..., Any]]:
    """IR op name -> the function the unfused replay calls for it (operators, ``xp``'s functions)."""
    found: dict[str, Callable[..., Any]] = {}
    for fn, name in OPERATORS.items():
        found[name] = fn
    for name in NAMESPACE_OPS:
        found[name] = getattr(xp, name)
    return found


def interpret(group: Group, table: dict[str, Callable[..., Any]]) -> Callable[..., Any]:
    """A function of the group's input arrays that computes its nodes one by one with ``table``
    (``functions(xp)``): the unfused steps' calls, in their order, on the same values."""
    nodes = group.nodes
    outputs = [int(name[1:]) for name, _ in group.outputs]
    calls = [(table[n.op], n.args) for n in nodes]
    single = len(outputs) == 1

    def run(*arrays: Any) -> Any:
        env = {f"x{k}": a for k, a in enumerate(arrays)}
        made: list[Any] = []
        for fn, args in calls:
            value = fn(*[env[a] if type(a) is str else a for a in args])
            env[f"t{len(made)}"] = value
            made.append(value)
        return made[outputs[0]] if single else tuple(made[k] for k in outputs)

    return run
