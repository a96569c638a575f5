"""The errors xgrad raises. Each names the op and the shapes, dtypes, backends or devices involved."""


class XgradError(Exception):
    """Base class of every error xgrad raises on purpose."""


class ShapeError(XgradError, ValueError):
    """Shapes that do not fit together (broadcasting, matmul, a gradient of the wrong shape)."""


class DTypeError(XgradError, TypeError):
    """A dtype an op cannot take (requires_grad on integers, mixed kinds on a strict backend)."""


class BackendMismatchError(XgradError, ValueError):
    """Tensors of two backends or two devices met in one op."""


class BackendUnavailableError(XgradError, ImportError):
    """A backend that is unknown or cannot load here."""


class GraphError(XgradError, RuntimeError):
    """Misuse of the graph: backward through a freed graph, implicit gradient of a non-scalar."""


class TraceError(XgradError, RuntimeError):
    """A function ``xgrad.compile`` cannot trace or replay as written (it hands a traced array to code
    outside ``xp``, or does inside what its replays would skip)."""


class InputError(XgradError, ValueError):
    """A value an op cannot take (a class label out of range, an unknown reduction)."""


class LabelError(InputError, IndexError):
    """A class label or an index out of range: an InputError, and an IndexError as PyTorch raises there
    (``except IndexError`` in ported code catches it)."""


class ArgumentError(XgradError, TypeError):
    """A call an op does not take: too many positional arguments, an unknown keyword (options of the
    array-API standard's functions are keyword-only)."""


class DivisionByZeroError(XgradError, ZeroDivisionError):
    """Integer floor division or remainder by zero (PyTorch raises; NumPy would give 0 silently)."""
