"""Einstein summation: parsing a subscripts string (torch's and NumPy's forms), and a pure array-API
``einsum`` for libraries without one (array-api-strict).

``parse`` turns ``"bij,bjk->bik"`` (or ``"...ij,jk"``: ellipses, and an implicit output made of the letters
that occur once, in alphabetical order after the ellipsis axes) into one list of letters per operand and one
for the output, with each ellipsis written out as letters of its own.
"""

from __future__ import annotations

import string
from typing import Any, Sequence


def parse(subscripts: str, ndims: Sequence[int]) -> tuple[list[list[str]], list[str]]:
    """``(letters of each operand, letters of the output)`` for operands of ``ndims`` dimensions."""
    text = subscripts.replace(" ", "")
    lhs, arrow, rhs = text.partition("->")
    parts = lhs.split(",")
    if len(parts) != len(ndims):
        raise ValueError(f"einsum: {subscripts!r} names {len(parts)} operands, {len(ndims)} given")
    used = set(text) - set(".,->")
    if not all(c in string.ascii_letters for c in used):
        raise ValueError(f"einsum: subscripts are letters, '...', ',' and '->'; got {subscripts!r}")
    spare = [c for c in string.ascii_letters if c not in used]
    explicit = [p.replace("...", "") for p in parts]
    ell = max((n - len(e) for p, e, n in zip(parts, explicit, ndims) if "..." in p), default=0)
    ell_letters = spare[:ell]
    ins = []
    for p, e, n in zip(parts, explicit, ndims):
        if "..." in p:
            k = n - len(e)
            if k < 0:
                raise ValueError(f"einsum: operand subscripts {p!r} name more axes than its {n}")
            head, _, tail = p.partition("...")
            ins.append(list(head) + ell_letters[ell - k:] + list(tail))
        else:
            if len(p) != n:
                raise ValueError(f"einsum: operand subscripts {p!r} name {len(p)} axes, the operand has {n}")
            ins.append(list(p))
    if arrow:
        head, dots, tail = rhs.partition("...")
        out = list(head) + (ell_letters if dots else []) + list(tail)
        for c in out:
            if c not in lhs and c not in ell_letters:
                raise ValueError(f"einsum: output letter {c!r} of {subscripts!r} is no operand's")
        if len(set(out)) != len(out):
            raise ValueError(f"einsum: output subscripts of {subscripts!r} repeat a letter")
    else:
        counts: dict[str, int] = {}
        for s in explicit:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell_letters + sorted(c for c, k in counts.items() if k == 1)
    return ins, out


def diagonals(xp: Any, a: Any, letters: list[str]) -> tuple[Any, list[str]]:
    """``a`` with each letter repeated in ``letters`` reduced to its diagonal (one axis, last)."""
    letters = list(letters)
    while len(set(letters)) != len(letters):
        c = next(c for c in letters if letters.count(c) > 1)
        p = letters.index(c)
        q = letters.index(c, p + 1)
        rest = [i for i in range(a.ndim) if i not in (p, q)]
        a = xp.permute_dims(a, tuple(rest + [p, q]))
        n = a.shape[-1]
        a = xp.reshape(a, tuple(a.shape[:-2]) + (n * n,))[..., ::n + 1]
        letters = [letters[i] for i in rest] + [c]
    return a, letters


def einsum(xp: Any, subscripts: str, *operands: Any) -> Any:
    """Einstein summation with array-API functions only: diagonals, then one broadcast product summed over
    the letters not in the output (memory: the product of all sizes; for small problems and tests)."""
    ins, out = parse(subscripts, [a.ndim for a in operands])
    arrays, subs = [], []
    for a, s in zip(operands, ins):
        a, s = diagonals(xp, a, s)
        arrays.append(a)
        subs.append(s)
    letters = list(out) + sorted({c for s in subs for c in s} - set(out))
    product = None
    for a, s in zip(arrays, subs):
        a = xp.permute_dims(a, tuple(sorted(range(len(s)), key=lambda i: letters.index(s[i]))))
        shape = [1] * len(letters)
        for c, size in zip(sorted(s, key=letters.index), a.shape):
            shape[letters.index(c)] = size
        a = xp.reshape(a, tuple(shape))
        product = a if product is None else product * a
    summed = tuple(range(len(out), len(letters)))
    return xp.sum(product, axis=summed) if summed else product
