"""Op-table cases of the namespace core: triangles (tril, triu), and meshgrid."""

from hypothesis import strategies as st

import xgrad
from op_table import Case, _torch, normal, shape


def _triangle(draw, rng):
    return [normal(rng, draw(shape(2)))], {"k": draw(st.integers(-3, 3))}


def _meshgrid(draw, rng):
    n = draw(st.integers(1, 3))
    return [normal(rng, (draw(st.integers(1, 4)),)) for _ in range(n)], {"indexing": draw(st.sampled_from(["xy", "ij"]))}


def _sum_of_grids(c, *xs, lib):
    grids = lib.meshgrid(*xs, indexing=c["indexing"])
    out = grids[0]
    for i, g in enumerate(grids[1:], 2):
        out = out + i * g * g  # distinct weights, so each input's gradient is checked on its own
    return out


CASES: list = [
    Case("tril", _triangle, lambda c, x: xgrad.tril(x, k=c["k"]), lambda c, x: _torch().tril(x, diagonal=c["k"])),
    Case("triu", _triangle, lambda c, x: xgrad.triu(x, k=c["k"]), lambda c, x: _torch().triu(x, diagonal=c["k"])),
    Case("meshgrid", _meshgrid, lambda c, *xs: _sum_of_grids(c, *xs, lib=xgrad),
         lambda c, *xs: _sum_of_grids(c, *xs, lib=_torch())),
]
