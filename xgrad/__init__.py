"""xgrad: reverse-mode autograd on any array-API library (NumPy, CuPy, PyTorch, array-api-strict)."""

from .tensor import Tensor
from .errors import (BackendMismatchError, BackendUnavailableError, DTypeError, GraphError, InputError,
                     ShapeError, XgradError)
from .backends import (available_backends, current_backend, get_backend, known_backends, register_backend,
                       use_backend)
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
from .ops import methods as _methods

_methods.attach()  # Tensor's operators and computing methods

from . import checkpoint, data, nn, optim, training  # noqa: E402  (the training layer, on top of the core)
from .porting import cat, from_numpy  # noqa: E402
from .serialization import load, save  # noqa: E402
from .porting import missing as _missing  # noqa: E402


def __getattr__(name: str) -> None:  # only for names not defined above: PyTorch's spellings get a hint
    raise _missing(name)

float16, float32, float64 = "float16", "float32", "float64"
int32, int64, bool_ = "int32", "int64", "bool"

__version__ = "0.1.0"
