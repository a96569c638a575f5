"""The triangles of a matrix (``tril``, ``triu``): the gradient keeps the same triangle of ``g``."""

from ._core import op


@op
def tril(xp, x, /, *, k=0):
    """The lower triangle of each matrix in ``x`` (the last two axes): entries on or below the ``k``-th
    diagonal kept, the others zero. Gradient: ``tril(g, k=k)``."""
    return xp.tril(x, k=k)


tril.defvjp(lambda xp, g, out, x, k=0: xp.tril(g, k=k))


@op
def triu(xp, x, /, *, k=0):
    """The upper triangle of each matrix in ``x`` (the last two axes): entries on or above the ``k``-th
    diagonal kept, the others zero. Gradient: ``triu(g, k=k)``."""
    return xp.triu(x, k=k)


triu.defvjp(lambda xp, g, out, x, k=0: xp.triu(g, k=k))
