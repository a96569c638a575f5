"""xgrad: reverse-mode autograd on any array-API library (NumPy, CuPy, PyTorch, array-api-strict)."""

from .tensor import Tensor
from .errors import (BackendMismatchError, BackendUnavailableError, DTypeError, GraphError, InputError,
                     LabelError, ShapeError, XgradError)
from .backends import (available_backends, current_backend, get_backend, known_backends, register_backend,
                       use_backend)
from .backends.checks import check_pending
from .autograd import enable_grad, grad, is_grad_enabled, no_grad
from .creation import (arange, as_tensor, eye, full, get_default_dtype, manual_seed, ones, rand, randn,
                       randperm, set_default_dtype, tensor, zeros)
from .creation import full_like, ones_like, zeros_like
from .function import Context, Function
from .compile import compile
from .ops import (bitwise_and, bitwise_invert, bitwise_or, bitwise_xor)
from .ops import (abs, add, all, any, argmax, argmin, astype, broadcast_to, clip, concat, cos, divide, equal, exp,
                  expand_dims, expm1, flip, getitem, greater, greater_equal, index_add, isfinite, isnan, less,
                  less_equal, log, log1p, logical_and, logical_not, logical_or, logsumexp, matmul,
                  matrix_transpose, max, maximum, mean, min, minimum, multiply, negative, not_equal,
                  permute_dims, pow, reshape, sigmoid, sign, sin, sqrt, square, squeeze, stack, subtract,
                  sum, take, take_along_axis, tanh, to, var, where)
from .ops import (argsort, broadcast_arrays, chunk, count_nonzero, cumprod, cumsum, cumulative_prod, cumulative_sum,
                  diff, gather, isin, moveaxis, nonzero, prod, repeat, roll, scatter, scatter_add, searchsorted, sort,
                  split, std, tile, topk, unique_all, unique_counts, unique_inverse, unique_values, unstack)
from .ops.sorting import ValuesIndices
from .ops import conj, einsum, real, tensordot, tril, triu, vecdot
from .ops import (acos, acosh, allclose, asin, asinh, atan, atan2, atanh, bitwise_left_shift, bitwise_right_shift,
                  ceil, clamp, copysign, cosh, floor, floor_divide, hypot, imag, isclose, isinf, log2, log10,
                  logaddexp, logical_xor, nextafter, positive, reciprocal, remainder, round, signbit, sinh,
                  tan, trunc)
from .ops import methods as _methods

_methods.attach()  # Tensor's operators and computing methods

from . import checkpoint, data, nn, optim, training  # noqa: E402  (the training layer, on top of the core)
from . import fft, linalg  # noqa: E402  (the standard's extensions)
from .porting import cat, from_numpy  # noqa: E402
from .serialization import load, save  # noqa: E402
from .porting import missing as _missing  # noqa: E402


def __getattr__(name: str) -> None:  # only for names not defined above: PyTorch's spellings get a hint
    raise _missing(name)

# ---- the array-API namespace (2024.12): dtypes, constants, inspection, data-type and creation functions
import math as _math  # noqa: E402

from .backends.dtypes import DTYPES as _DTYPES, DType  # noqa: E402
from .creation import empty, empty_like, linspace  # noqa: E402
from .array_api import (__array_namespace_info__, can_cast, finfo, from_dlpack, iinfo, isdtype,  # noqa: E402
                        meshgrid, result_type)
from .ops import asarray, tril, triu  # noqa: E402
from . import special  # noqa: E402  (scipy.special finds xgrad's special functions here)

__array_api_version__ = "2024.12"
bool = _DTYPES["bool"]  # noqa: A001  (the standard's name; Python's bool stays builtins.bool)
int8, int16, int32, int64 = _DTYPES["int8"], _DTYPES["int16"], _DTYPES["int32"], _DTYPES["int64"]
uint8, uint16, uint32, uint64 = _DTYPES["uint8"], _DTYPES["uint16"], _DTYPES["uint32"], _DTYPES["uint64"]
float16, bfloat16, float32, float64 = _DTYPES["float16"], _DTYPES["bfloat16"], _DTYPES["float32"], _DTYPES["float64"]
complex64, complex128 = _DTYPES["complex64"], _DTYPES["complex128"]
bool_ = bool
e, pi, inf, nan = _math.e, _math.pi, _math.inf, _math.nan
newaxis = None

__version__ = "0.1.0"

from .anomaly import AnomalyError, detect_anomaly  # noqa: E402  (debugging tools)
from .function import once_differentiable  # noqa: E402
from .gradcheck import GradcheckError, gradgradcheck  # noqa: E402
from .gradcheck import gradcheck  # noqa: E402,F811  (the function; the module stays importable as xgrad.gradcheck's home)
from . import utils  # noqa: E402  (activation checkpointing: xgrad.utils.checkpoint)
from .amp import GradScaler, autocast  # noqa: E402  (mixed precision)
from . import viz  # noqa: E402  (graph pictures)
from .memory import memory_report  # noqa: E402

_PUBLIC_MODULES = {"nn", "optim", "data", "checkpoint", "training", "plotting", "reference", "errors", "utils", "viz",
                   "distributed", "fft", "linalg"}


def __dir__() -> list[str]:
    """dir(xgrad) and tab completion: the public API; the engine's own modules (tensor.py, ops/, ...) are left
    out (they stay importable)."""
    return sorted(n for n, v in globals().items()
                  if not n.startswith("_") and (not isinstance(v, type(_methods)) or n in _PUBLIC_MODULES))
