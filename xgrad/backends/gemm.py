"""A matrix product CuPy can record into a CUDA graph (``cupy.py``: ``graph_functions``).

CuPy refuses cuBLAS calls during a stream capture, so a recorded step computes its matrix products
with this kernel instead: 16x16 tiles through shared memory, each output element one thread summing
over k in order (one rounding per fused multiply-add, as cuBLAS's kernels also use). Operands may be
strided views (a transpose costs nothing). Its sums are in another order than cuBLAS's, so a graph
step's numbers equal the eager step's to rounding, not bit for bit. Shapes other than two matrices of
one floating dtype go to ``cupy.matmul`` (which a recording refuses: that step runs without a graph).
"""

from __future__ import annotations

from typing import Any

TILE = 16

_SOURCE = r"""
typedef %(T)s T;
extern "C" __global__ void xgrad_gemm_%(T)s(const T* __restrict__ A, const T* __restrict__ B,
        T* __restrict__ C, const int M, const int N, const int K,
        const long long sam, const long long sak, const long long sbk, const long long sbn) {
    __shared__ T As[%(tile)d][%(tile)d + 1];
    __shared__ T Bs[%(tile)d][%(tile)d + 1];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int row = blockIdx.y * %(tile)d + ty, col = blockIdx.x * %(tile)d + tx;
    T acc = 0;
    for (int k0 = 0; k0 < K; k0 += %(tile)d) {
        As[ty][tx] = (row < M && k0 + tx < K) ? A[row * sam + (k0 + tx) * sak] : (T)0;
        Bs[ty][tx] = (k0 + ty < K && col < N) ? B[(k0 + ty) * sbk + col * sbn] : (T)0;
        __syncthreads();
        #pragma unroll
        for (int k = 0; k < %(tile)d; ++k) acc += As[ty][k] * Bs[k][tx];
        __syncthreads();
    }
    if (row < M && col < N) C[(long long)row * N + col] = acc;
}
"""

_kernels: dict[str, Any] = {}


def _kernel(cp: Any, dtype: Any) -> Any:
    name = {"float32": "float", "float64": "double"}[str(dtype)]
    if name not in _kernels:
        _kernels[name] = cp.RawKernel(_SOURCE % {"T": name, "tile": TILE}, f"xgrad_gemm_{name}")
    return _kernels[name]


def compile_kernels(cp: Any) -> None:
    """Compile both kernels now (a recording must not wait for the compiler)."""
    for dtype in ("float32", "float64"):
        kernel = _kernel(cp, dtype)
        if hasattr(kernel, "compile"):  # (CuPy >= 10; older ones compile at the first launch)
            kernel.compile()


def matmul(cp: Any, a: Any, b: Any) -> Any:
    """``a @ b`` for two matrices of one dtype, float32 or float64; anything else: ``cupy.matmul``."""
    if not (a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype and str(a.dtype) in ("float32", "float64")
            and a.shape[1] == b.shape[0]):
        return cp.matmul(a, b)
    M, K = a.shape
    N = b.shape[1]
    out = cp.empty((M, N), dtype=a.dtype)
    if M == 0 or N == 0:
        return out
    if K == 0:
        out.fill(0)
        return out
    size = a.itemsize
    grid = ((N + TILE - 1) // TILE, (M + TILE - 1) // TILE)
    _kernel(cp, a.dtype)(grid, (TILE, TILE), (a, b, out, cp.int32(M), cp.int32(N), cp.int32(K),
                                             cp.int64(a.strides[0] // size), cp.int64(a.strides[1] // size),
                                             cp.int64(b.strides[0] // size), cp.int64(b.strides[1] // size)))
    return out
