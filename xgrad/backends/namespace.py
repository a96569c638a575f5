"""The rule namespace: the one list of array functions xgrad's ops, VJP rules and library code compute with.

Every backend's ``xp`` provides exactly these names: the array-API standard's functions (some behind a
faster implementation of the backend's own, equal bit for bit) and the few things the standard lacks.
xgrad's own namespace (``xgrad.ops.grad_namespace``), on which the same VJP rules run with Tensors
under ``create_graph=True``, provides exactly the same names; ``tests/test_rule_namespace.py`` checks
both. A rule that needs a new function adds its name here, and the test says who must supply it.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

STANDARD = (
    # elementwise
    "abs", "cos", "exp", "expm1", "log", "log1p", "sign", "sin", "sqrt", "tanh",
    "maximum", "minimum", "clip", "where", "isfinite", "isnan",
    "logical_and", "logical_not", "logical_or",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_invert",
    # reductions and searching
    "sum", "mean", "max", "min", "var", "all", "any", "argmax", "argmin",
    # shapes and linear algebra
    "reshape", "permute_dims", "broadcast_to", "expand_dims", "squeeze", "flip", "concat", "stack",
    "matmul", "matrix_transpose", "take", "take_along_axis", "astype",
    # creation
    "asarray", "zeros", "ones", "full", "arange", "eye", "zeros_like", "ones_like", "full_like",
    # inspection: the dtype objects by name (forwards cast to PyTorch's result dtype with them)
    "__array_namespace_info__",
)
"""Array-API standard functions, with the standard's signatures."""

EXTENSIONS = (
    "getitem",  # getitem(a, index): a[index], also the integer-array forms a library lacks
    "index_add",  # index_add(like, index, values): zeros like `like` with values added at [index]
    "onehot",  # onehot(labels, num_classes, dtype): one-hot rows; labels outside [0, C) are an error
    "unfold",  # unfold(a, kernel_size, dilation, padding, stride): (N, C, H, W) -> sliding blocks (N, C*kh*kw, L)
    "fold",  # fold(cols, output_size, kernel_size, dilation, padding, stride): unfold's adjoint, overlaps summed
    "erf",  # erf(x): the error function, elementwise (GELU's exact form)
)
"""What the standard lacks and the rules need: every backend supplies these (see Backend)."""

NAMES = frozenset(STANDARD + EXTENSIONS)


class RuleNamespace:
    """Exactly the functions of ``NAMES``, as attributes.

    Built once per backend, so each function keeps one identity (``xgrad.compile`` recognises
    functions by identity)."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]], owner: str):
        missing = sorted(NAMES - set(functions))
        extra = sorted(set(functions) - NAMES)
        if missing or extra:
            raise TypeError(f"rule namespace of {owner}: missing {missing}, not in the contract {extra} "
                            "(the contract is xgrad/backends/namespace.py)")
        self.__dict__.update(functions)
        self._owner = owner

    def __repr__(self) -> str:
        return f"<xgrad rule namespace of {self._owner}>"

    def __getattr__(self, name: str) -> Any:  # only reached for names that are not there
        raise AttributeError(f"{name!r} is not in xgrad's rule namespace ({self._owner}); rules and library "
                             "code may use only the names listed in xgrad/backends/namespace.py")


def names(ns: Any) -> set[str]:
    """The function names a namespace object provides (for the contract test)."""
    return {k for k, v in vars(ns).items() if (not k.startswith("_") or k in NAMES) and callable(v)}
