"""The rule namespace: the one list of array functions xgrad's ops, VJP rules and library code compute with.

Every backend's ``xp`` provides exactly these names: the array-API standard's functions (some behind a
faster implementation of the backend's own, equal bit for bit), the few things the standard lacks, and
the standard's ``linalg`` and ``fft`` extensions as ``xp.linalg`` and ``xp.fft``.
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
    # statistics, manipulation, sorting, searching and sets
    "prod", "std", "cumulative_sum", "cumulative_prod", "moveaxis", "repeat", "roll", "tile",
    "sort", "argsort", "searchsorted", "count_nonzero", "nonzero", "isin",
    "unique_counts", "unique_inverse", "unique_values",
    # complex numbers (the VJP rules of linear maps on complex arrays take adjoints)
    "conj", "real",
    # triangles (masks in the linalg rules)
    "tril", "triu",
    # creation functions of xgrad's namespace
    "linspace",
    # elementwise: the rest of the standard's (xgrad/ops/math.py)
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_left_shift", "bitwise_right_shift",
    "ceil", "copysign", "cosh", "floor", "floor_divide", "hypot", "imag", "isinf", "log2", "log10",
    "logaddexp", "logical_xor", "nextafter", "remainder", "round", "signbit", "sinh", "tan", "trunc",
)
"""Array-API standard functions, with the standard's signatures."""

LINALG = (
    "cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "matmul", "matrix_norm", "matrix_power",
    "matrix_rank", "matrix_transpose", "outer", "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "tensordot",
    "trace", "vecdot", "vector_norm",
)
"""The standard's ``linalg`` extension, as ``xp.linalg.<name>``."""

FFT = (
    "fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft", "ihfft", "fftfreq", "rfftfreq",
    "fftshift", "ifftshift",
)
"""The standard's ``fft`` extension, as ``xp.fft.<name>``."""

EXTENSIONS = (
    "getitem",  # getitem(a, index): a[index], also the integer-array forms a library lacks
    "index_add",  # index_add(like, index, values): zeros like `like` with values added at [index]
    "onehot",  # onehot(labels, num_classes, dtype): one-hot rows of labels in [0, C) (from check_labels)
    # check_labels(labels, num_classes, caller="cross_entropy", what=None): labels to index with; labels
    # outside [0, C) are an InputError, at once or, where the backend defers checks, at the next read of
    # values (``what``: what indices index, for their error text)
    "check_labels",
    "unfold",  # unfold(a, kernel_size, dilation, padding, stride): (N, C, H, W) -> sliding blocks (N, C*kh*kw, L)
    "fold",  # fold(cols, output_size, kernel_size, dilation, padding, stride): unfold's adjoint, overlaps summed
    # conv2d_forward(x, weight, stride, padding, dilation, groups): cross-correlation, no bias -> (out, saved)
    "conv2d_forward",
    # conv2d_grad_input(g, weight, input_shape, stride, padding, dilation, groups): its input gradient
    "conv2d_grad_input",
    # conv2d_grad_weight(g, x, saved, weight_shape, stride, padding, dilation, groups): its weight gradient,
    # `saved` the forward's (opaque: the backend's own layout) or None (recompute from x)
    "conv2d_grad_weight",
    "erf",  # erf(x): the error function, elementwise (GELU's exact form)
    "einsum",  # einsum(subscripts, *operands): Einstein summation as in torch.einsum / numpy.einsum
)
"""What the standard lacks and the rules need: every backend supplies these (see Backend)."""

NAMES = frozenset(STANDARD + EXTENSIONS)
"""The functions at the top level of a rule namespace."""

SUBNAMESPACES = {"linalg": frozenset(LINALG), "fft": frozenset(FFT)}
"""The extension namespaces of a rule namespace (``xp.linalg``, ``xp.fft``) and their functions."""


class RuleNamespace:
    """Exactly the functions of ``NAMES`` as attributes, and the extensions of ``SUBNAMESPACES``
    (``linalg``, ``fft``) as rule namespaces of their own.

    Built once per backend, so each function keeps one identity (``xgrad.compile`` recognises
    functions by identity)."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]], owner: str,
                 extensions: Mapping[str, Mapping[str, Callable[..., Any]]] | None = None,
                 contract: frozenset[str] = NAMES):
        missing = sorted(contract - set(functions))
        extra = sorted(set(functions) - contract)
        if missing or extra:
            raise TypeError(f"rule namespace of {owner}: missing {missing}, not in the contract {extra} "
                            "(the contract is xgrad/backends/namespace.py)")
        self.__dict__.update(functions)
        self._owner = owner
        if contract is NAMES:
            extensions = extensions or {}
            for ext, ext_names in SUBNAMESPACES.items():
                self.__dict__[ext] = RuleNamespace(extensions.get(ext, {}), f"{owner}, extension {ext!r}",
                                                   contract=ext_names)

    def __repr__(self) -> str:
        return f"<xgrad rule namespace of {self._owner}>"

    def __getattr__(self, name: str) -> Any:  # only reached for names that are not there
        raise AttributeError(f"{name!r} is not in xgrad's rule namespace ({self._owner}); rules and library "
                             "code may use only the names listed in xgrad/backends/namespace.py")


def names(ns: Any) -> set[str]:
    """The function names a namespace object provides (for the contract test); an extension's as
    ``"linalg.inv"``."""
    found = {k for k, v in vars(ns).items() if (not k.startswith("_") or k in NAMES) and callable(v)}
    for ext in SUBNAMESPACES:
        sub = vars(ns).get(ext)
        if sub is not None and not callable(sub):  # (xp.fft.fft is a function, xp.fft a namespace)
            found |= {f"{ext}.{k}" for k in names(sub)}
    return found


ALL_NAMES = NAMES | {f"{ext}.{k}" for ext, ext_names in SUBNAMESPACES.items() for k in ext_names}
"""Every name of the contract, an extension's as ``"linalg.inv"`` (what ``names`` returns)."""
