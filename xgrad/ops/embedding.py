"""Embedding lookup: rows of a weight matrix picked by integer indices (gradient: a scatter-add of the
rows' gradients, repeated indices accumulating; the ``padding_idx`` row gets none)."""

from ._core import op


@op
def embedding(xp, weight, indices, padding_idx=None):
    rows = xp.take(weight, xp.reshape(indices, (-1,)), axis=0)
    return xp.reshape(rows, tuple(indices.shape) + (weight.shape[1],))


def _embedding_vjp(xp, g, out, weight, indices, padding_idx=None):
    flat = xp.reshape(indices, (-1,))
    rows = xp.reshape(g, (-1, weight.shape[1]))
    if padding_idx is not None:  # the padding row is a constant: its lookups send no gradient
        rows = xp.where(xp.expand_dims(flat == padding_idx, axis=1), 0.0, rows)
    return xp.index_add(weight, (flat,), rows)


embedding.defvjp(_embedding_vjp, None)
