"""``xgrad.linalg``: the array-API standard's linear-algebra extension, differentiable (PyTorch's gradients).

Multi-output functions return named tuples (``eigh``: eigenvalues, eigenvectors; ``svd``: U, S, Vh;
``qr``: Q, R; ``slogdet``: sign, logabsdet). ``matrix_rank`` and ``slogdet``'s sign have no gradient.
"""

from .ops.linalg import (cholesky, cross, det, diagonal, eigh, eigvalsh, inv, matmul, matrix_norm, matrix_power,
                         matrix_rank, matrix_transpose, outer, pinv, qr, slogdet, solve, svd, svdvals, tensordot,
                         trace, vecdot, vector_norm)

__all__ = ["cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "matmul", "matrix_norm",
           "matrix_power", "matrix_rank", "matrix_transpose", "outer", "pinv", "qr", "slogdet", "solve", "svd",
           "svdvals", "tensordot", "trace", "vecdot", "vector_norm"]
