"""CUDA C for a fused elementwise group (``backends/fused.py``): the strings of a
``cupy.ElementwiseKernel(in_params, out_params, operation, name)``. Plain strings, no CuPy: the
generated code is tested on any machine.

Each node is one C expression with the semantics of the NumPy/CuPy ufunc it replaces:
  * ``+ - * /``, comparisons: IEEE operations in the group's type (``double``/``float``), NaN
    compares false; ``pow`` is C's ``pow`` (CuPy's ``power``); ``abs`` is ``fabs``; the functions
    exp, expm1, log, log1p, sqrt, tanh, sin, cos are CUDA's of the same name (float overloads for
    float32, as CuPy's own ufuncs call them);
  * ``maximum``/``minimum`` as NumPy's loops: ``(a >= b || isnan(a)) ? a : b``, so a NaN in either
    argument propagates, and of two equal values (``-0.0`` and ``0.0``) the first is kept;
  * ``where``: ``c ? a : b``, the selected value's bits.
Constants are literals of the group's type: a float64 constant is the Python float's shortest
``repr`` (which reads back to the same double), a float32 one that double rounded to float32 first,
as NumPy casts a Python scalar, then written with ``f``. Temporaries are ``const`` locals, one per
node, so each node rounds once as its own kernel would; the kernel is meant to be compiled without
contracting ``a * b + c`` into one fused multiply-add (``OPTIONS``), which would round once where the
unfused code rounds twice.
"""

import math
import struct

from .fused import Group

__all__ = ["CTYPES", "OPTIONS", "kernel_source", "literal"]

CTYPES = {"float64": "double", "float32": "float", "bool": "bool"}
OPTIONS = ("--fmad=false",)  # no contraction into FMA: each node rounds as the unfused kernels do

_INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "less": "<", "less_equal": "<=",
          "greater": ">", "greater_equal": ">=", "equal": "==", "not_equal": "!="}
_CALL = {"exp": "exp", "expm1": "expm1", "log": "log", "log1p": "log1p", "sqrt": "sqrt", "tanh": "tanh",
         "sin": "sin", "cos": "cos", "abs": "fabs", "pow": "pow"}


def literal(value: float | int, dtype: str) -> str:
    """``value`` as a C literal of the group's ``dtype`` (finite values of its range only)."""
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"no literal for the non-finite constant {value!r}")
    if dtype == "float32":
        try:
            x = struct.unpack("f", struct.pack("f", x))[0]  # rounded to float32, as NumPy casts the scalar
        except OverflowError:
            x = math.inf
        if not math.isfinite(x):
            raise ValueError(f"no float32 literal for {value!r}: out of range")
        return _decimal(x) + "f"
    return _decimal(x)


def _decimal(x: float) -> str:
    text = repr(x)
    return text if any(c in text for c in ".en") else text + ".0"


def _expression(op: str, args: list[str]) -> str:
    if op in _INFIX:
        return f"({args[0]} {_INFIX[op]} {args[1]})"
    if op == "negative":
        return f"(-{args[0]})"
    if op == "maximum":
        return f"(({args[0]} >= {args[1]} || isnan({args[0]})) ? {args[0]} : {args[1]})"
    if op == "minimum":
        return f"(({args[0]} <= {args[1]} || isnan({args[0]})) ? {args[0]} : {args[1]})"
    if op == "where":
        return f"({args[0]} ? {args[1]} : {args[2]})"
    return f"{_CALL[op]}({', '.join(args)})"


def kernel_source(group: Group) -> tuple[str, str, str, str]:
    """``(in_params, out_params, operation, name)`` of the ElementwiseKernel computing ``group``."""
    in_params = ", ".join(f"{dtype} x{k}" for k, (_, dtype) in enumerate(group.inputs))
    node_types = {f"t{k}": n.dtype for k, n in enumerate(group.nodes)}
    out_params = ", ".join(f"{node_types[name]} y{k}" for k, (name, _) in enumerate(group.outputs))
    lines = []
    for k, n in enumerate(group.nodes):
        # a comparison's constants take its operands' type, the group's; so do arithmetic's
        args = [a if type(a) is str else literal(a, group.dtype) for a in n.args]
        lines.append(f"const {CTYPES[n.dtype]} t{k} = {_expression(n.op, args)};")
    lines += [f"y{k} = {name};" for k, (name, _) in enumerate(group.outputs)]
    ops = []
    for n in group.nodes:
        if n.op not in ops:
            ops.append(n.op)
    name = "xgrad_fused_" + "_".join(ops[:4]) + ("_etc" if len(ops) > 4 else "")
    return in_params, out_params, "\n".join(lines), name

