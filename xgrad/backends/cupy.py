"""CuPy on an NVIDIA GPU."""

import functools
import operator
import warnings

from ..errors import BackendUnavailableError
from . import cuda_source, gemm
from .base import Backend


class CupyBackend(Backend):
    name = "cupy"
    deferred_checks = True  # a check read at once would wait for the GPU (checks.py)

    def __init__(self, device=None):
        import array_api_compat.cupy as xp
        import cupy
        import cupyx

        self._cp = cupy
        self._cupyx = cupyx
        dev = _device_index(device)
        super().__init__(xp, default_device=cupy.cuda.Device(dev) if dev is not None else None)
        self._rngs = {}
        self._seed = 0
        self.out_ufuncs = {operator.add: cupy.add, operator.sub: cupy.subtract, operator.mul: cupy.multiply,
                           operator.truediv: cupy.true_divide}
        self._kernels = {}  # generated source -> its cupy.ElementwiseKernel

    def fused_elementwise(self, group):
        """One ``cupy.ElementwiseKernel`` per fused group (``cuda_source.py``), cached by its source,
        without FMA contraction (``cuda_source.OPTIONS``). CuPy compiles a kernel at its first call:
        that call is made here, on one-element arrays, so a source the compiler rejects leaves the
        group unfused (None, with a warning) instead of failing in the middle of a replay."""
        source = cuda_source.kernel_source(group)
        if source in self._kernels:
            return self._kernels[source]
        in_params, out_params, operation, name = source
        kernel = self._cp.ElementwiseKernel(in_params, out_params, operation, name, options=cuda_source.OPTIONS)
        try:
            kernel(*[self._cp.zeros(1, dtype=dtype) for _, dtype in group.inputs])
        except self._cp.cuda.compiler.CompileException as e:
            warnings.warn(f"xgrad.compile: the fused kernel {name} did not compile ({e}); its "
                          f"{len(group.nodes)} steps run one by one", RuntimeWarning)
            kernel = None
        self._kernels[source] = kernel
        return kernel

    # CUDA graphs (xgrad/graphs.py): a stream capture into a private memory pool
    def records_graphs(self, device=None):
        return not self._cp.cuda.runtime.is_hip

    def capture_graph(self, body, device):
        """Record ``body(None)`` by stream capture on a stream of its own, its arrays allocated from a
        memory pool nothing else uses (a graph writes the same memory at every launch); CuPy refuses
        cuBLAS, cuRAND and cuSOLVER calls while capturing, so matmul runs ``gemm.py``'s kernel there
        (``graph_functions``). A failed recording raises NotImplementedError with CuPy's reason."""
        cp = self._cp
        if cp.cuda.runtime.is_hip:
            raise NotImplementedError("CuPy on ROCm: xgrad records CUDA graphs on NVIDIA GPUs only")
        gemm.compile_kernels(cp)  # (compiled now: not while recording)
        stream = cp.cuda.Stream(non_blocking=True)
        pool = cp.cuda.MemoryPool()
        with self._dev(device), cp.cuda.using_allocator(pool.malloc), stream:
            stream.begin_capture()
            try:
                body(None)
            except Exception as e:
                try:
                    stream.end_capture()
                except Exception:  # noqa: S110 - the capture is invalid already; the first error says why
                    pass
                raise NotImplementedError(f"CuPy could not record the step ({type(e).__name__}: {e})") from e
            graph = stream.end_capture()

        def launch(graph=graph, pool=pool, stream=stream):  # (the graph keeps its pool and stream alive)
            graph.launch()

        return launch

    def graph_functions(self):
        graph_matmul = functools.partial(gemm.matmul, self._cp)
        return {id(f): graph_matmul for f in (self._cp.matmul, self.namespace.matmul, self.rule_namespace.matmul)}

    def fast_paths(self):
        # as on NumPy: CuPy's own functions where the compat layer only adds Python
        return {"permute_dims": self._cp.transpose, "matrix_transpose": self._matrix_transpose}

    def _matrix_transpose(self, a):
        return self._cp.swapaxes(a, -1, -2)

    def is_array(self, obj):
        return isinstance(obj, self._cp.ndarray)

    def owns(self, a):
        return isinstance(a, self._cp.ndarray) and a.base is None

    def asarray(self, obj, dtype=None, device=None, copy=None):
        cp = self._cp
        if isinstance(device, str):
            device = cp.cuda.Device(_device_index(device))
        device = device if device is not None else self.default_device
        dtype = self.dtype(dtype) if dtype is not None else None
        make = cp.array if copy else cp.asarray
        if device is None:
            return make(obj, dtype=dtype)
        with device:
            return make(obj, dtype=dtype)

    def to_numpy(self, a):
        return self._cp.asnumpy(a)

    def device(self, a):
        return a.device

    def synchronize(self):
        self._cp.cuda.get_current_stream().synchronize()

    def manual_seed(self, seed):
        self._seed = seed
        self._rngs = {}

    def get_rng_state(self):
        raise NotImplementedError(
            "the cupy backend cannot save its random generators' state yet: xgrad.utils.checkpoint on cupy "
            "needs preserve_rng_state=False (correct only when the checkpointed function draws no random numbers)")

    def set_rng_state(self, state):
        self.get_rng_state()

    def _generator(self):  # not `_rng`: the base class keeps its host generator under that name
        dev = self._cp.cuda.Device().id
        if dev not in self._rngs:
            self._rngs[dev] = self._cp.random.default_rng(self._seed)
        return self._rngs[dev]

    def uniform(self, shape, low, high, dtype, device=None):
        with self._dev(device):
            return self._generator().uniform(low, high, size=shape).astype(self.dtype(dtype), copy=False)

    def normal(self, shape, mean, std, dtype, device=None):
        with self._dev(device):
            return (self._generator().standard_normal(size=shape) * std + mean).astype(self.dtype(dtype), copy=False)

    def permutation(self, n, device=None):
        with self._dev(device):
            return self._generator().permutation(n)

    def _dev(self, device):
        cp = self._cp
        if device is None:
            return self.default_device or cp.cuda.Device()
        return device if isinstance(device, cp.cuda.Device) else cp.cuda.Device(_device_index(device))

    def einsum(self, subscripts, *operands):
        return self._cp.einsum(subscripts, *operands)

    def scatter_add(self, like, index, values):
        out = self._cp.zeros_like(like, dtype=values.dtype)
        self._cupyx.scatter_add(out, index, values)
        return out

    def _onehot(self, labels, num_classes, dtype):
        return (labels[..., None] == self._cp.arange(num_classes)).astype(dtype)

    def _clip_labels(self, labels, num_classes):
        # CuPy's own kernel: the array-API compat clip selects with boolean masks, which wait for the GPU
        return self._cp.clip(labels, 0, num_classes - 1)


def _device_index(device):
    if device is None:
        return None
    if isinstance(device, int):
        return device
    text = str(device)
    if text in ("cuda", "gpu"):
        return 0
    for prefix in ("cuda:", "gpu:"):
        if text.startswith(prefix):
            return int(text[len(prefix):])
    if text.isdigit():
        return int(text)
    raise ValueError(f"backend 'cupy' takes devices like 'cuda:0' or 0, not {device!r}")


def load(device=None):
    try:
        import cupy
    except ImportError as e:
        raise BackendUnavailableError(
            "backend 'cupy' cannot load: CuPy is not installed. Install it with "
            "`pip install \"xgrad[cuda12]\"` or `pip install \"xgrad[cuda13]\"` to match your CUDA driver.") from e
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDA driver or runtime missing
        raise BackendUnavailableError(
            f"backend 'cupy' cannot load: CuPy is installed but CUDA is not usable here ({e}). "
            "It needs an NVIDIA GPU and driver.") from e
    if n == 0:
        raise BackendUnavailableError("backend 'cupy' cannot load: no NVIDIA GPU is visible.")
    return CupyBackend(device)
