"""matmul (1-D, 2-D, batched, broadcasting) and matrix_transpose."""

from ._core import broadcast_shapes, op


@op
def matmul(xp, a, b):
    return xp.matmul(a, b)


def _check(a, b):
    if a.ndim == 0 or b.ndim == 0:
        return "matmul needs inputs of at least one dimension, got a 0-d (scalar) input; use * instead"
    k_a = a.shape[-1]
    k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if k_a != k_b:
        return (f"inner dimensions differ: {tuple(a.shape)} @ {tuple(b.shape)} contracts {k_a} with {k_b}; "
                "the last axis of the first input must equal the second-to-last axis of the second")
    if broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2])) is None:
        return (f"batch dimensions {tuple(a.shape[:-2])} and {tuple(b.shape[:-2])} do not broadcast")
    return None


matmul.check = _check


def _matmul_grad_a(xp, g, out, a, b):
    if a.ndim > 1 and b.ndim > 1:  # the common case first
        return xp.matmul(g, xp.matrix_transpose(b))
    if b.ndim == 1:
        if a.ndim == 1:
            return g * b
        return xp.expand_dims(g, axis=-1) * b  # outer product over the last axis
    return xp.squeeze(xp.matmul(xp.expand_dims(g, axis=-2), xp.matrix_transpose(b)), axis=-2)


def _matmul_grad_b(xp, g, out, a, b):
    if a.ndim > 1 and b.ndim > 1:
        return xp.matmul(xp.matrix_transpose(a), g)
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        # g has shape (..., m): the gradient of b (..., k, m) is the outer product a (k) x g (m)
        return xp.expand_dims(a, axis=-1) * xp.expand_dims(g, axis=-2)
    return xp.squeeze(xp.matmul(xp.matrix_transpose(a), xp.expand_dims(g, axis=-1)), axis=-1)


matmul.defvjp(_matmul_grad_a, _matmul_grad_b)


@op
def matrix_transpose(xp, a):
    return xp.matrix_transpose(a)


matrix_transpose.defvjp(lambda xp, g, out, a: xp.matrix_transpose(g))
