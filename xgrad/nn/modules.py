"""Module, Parameter, Linear, Sequential, MLP, activation modules and Dropout."""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Callable, Iterator, Mapping, Sequence

from .. import observe
from ..backends import Backend, placement, to_host
from ..creation import get_default_dtype, tensor
from ..errors import ShapeError, XgradError
from ..inplace import zero_grads
from ..ops import to
from ..tensor import Tensor, new
from . import functional as F
from . import init

__all__ = ["Module", "Parameter", "is_parameter", "ModuleError", "Linear", "Sequential", "MLP", "Tanh", "ReLU",
           "Sigmoid", "GELU", "LeakyReLU", "Identity", "Dropout", "ACTIVATIONS"]


def Parameter(data: Any, requires_grad: bool = True, backend: str | Backend | None = None, device: Any = None,
              dtype: Any = None) -> Tensor:  # noqa: N802  (PyTorch's name)
    """A tensor for a Module to learn: ``data`` (a Tensor, whose array is shared unless ``backend``,
    ``device`` or ``dtype`` asks for a copy, or anything ``xgrad.tensor`` takes) as a leaf with
    ``requires_grad``. A plain Tensor: the engine's hot paths test ``type(t) is Tensor``."""
    if isinstance(data, Tensor):
        t = data.detach()
        if backend is not None or device is not None or dtype is not None:
            t = to(t, backend=backend, device=device, dtype=dtype)
    else:
        t = tensor(data, dtype=dtype, backend=backend, device=device)
    return t.requires_grad_(True) if requires_grad else t


def is_parameter(value: Any) -> bool:
    """Whether ``value`` is what a Module registers as a parameter and an optimizer accepts: a leaf
    Tensor that requires grad (``Parameter(...)`` makes one)."""
    return type(value) is Tensor and value.requires_grad and value._op is None


class ModuleError(XgradError, AttributeError):
    """A Module subclass assigned an attribute before calling ``super().__init__()``."""


class Module:
    """Base class of layers and models. Assigning a parameter (``is_parameter``) or a Module to an
    attribute registers it."""

    _parameters: OrderedDict[str, Tensor | None]
    _modules: OrderedDict[str, Module]
    _buffers: OrderedDict[str, Tensor | None]
    _non_persistent: set[str]
    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())  # name -> Tensor (running statistics, ...)
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "training", True)
        observe.track(self)  # xgrad.compile checks modules' attributes: every change below is counted

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise ModuleError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, modules = self._parameters, self._modules
        if name in self._buffers and (value is None or isinstance(value, Tensor)) and not is_parameter(value):
            self._buffers[name] = value
            params.pop(name, None)
            modules.pop(name, None)
        elif is_parameter(value):
            self._buffers.pop(name, None)
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            self._buffers.pop(name, None)
            modules[name] = value
        else:
            self._buffers.pop(name, None)
            if name in params and value is None:
                params[name] = None
            else:
                params.pop(name, None)
                modules.pop(name, None)
        if name not in self.__dict__ or self.__dict__[name] is not value:
            observe.changed()
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers.pop(name, None)
        object.__delattr__(self, name)
        observe.changed()

    def register_parameter(self, name: str, value: Tensor | None) -> None:
        self._parameters[name] = value
        object.__setattr__(self, name, value)
        observe.changed()

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor the module keeps but does not learn (running statistics): in ``state_dict`` unless
        ``persistent=False``, moved by ``to()``, never given to an optimizer."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer({name!r}): expects a Tensor or None, got {type(tensor).__name__}")
        self._parameters.pop(name, None)
        self._buffers[name] = tensor
        (self._non_persistent.add if not persistent else self._non_persistent.discard)(name)
        object.__setattr__(self, name, tensor)
        observe.changed()

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        for mod_name, m in (self.named_modules(prefix) if recurse else [(prefix, self)]):
            for name, b in m._buffers.items():
                if b is not None:
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def add_module(self, name: str, module: Module) -> None:
        self._modules[name] = module
        object.__setattr__(self, name, module)
        observe.changed()

    # ---- calling -----------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ---- walking the tree --------------------------------------------------------------------
    def children(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def named_children(self) -> Iterator[tuple[str, Module]]:
        return iter(self._modules.items())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        seen = set()
        for mod_name, m in (self.named_modules(prefix) if recurse else [(prefix, self)]):
            for name, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    # ---- modes and gradients -----------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            if m.training is not bool(mode):
                object.__setattr__(m, "training", bool(mode))
                observe.changed()
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient, or (``set_to_none=False``) zero it in place."""
        zero_grads(self.parameters(), set_to_none)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    # ---- state -------------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, Any]:
        """``{name: array}`` (the raw backend arrays, not copies) of the parameters and persistent buffers,
        names and order as in PyTorch (``0.weight``, ``1.running_mean``, ...)."""
        return OrderedDict((name, t.data) for name, t in self._state_tensors())

    def _state_tensors(self) -> list[tuple[str, Tensor]]:
        """Each module's parameters, then its persistent buffers, module by module (PyTorch's order)."""
        out, seen = [], set()
        for mod_name, m in self.named_modules():
            for name, t in list(m._parameters.items()) + [(k, b) for k, b in m._buffers.items()
                                                          if k not in m._non_persistent]:
                if t is not None and id(t) not in seen:
                    seen.add(id(t))
                    out.append((f"{mod_name}.{name}" if mod_name else name, t))
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> tuple[list[str], list[str]]:
        """Copy values into the parameters; accepts arrays of any backend's library, NumPy arrays or Tensors.

        Raises a ShapeError naming every missing, unexpected or mis-shaped entry (``strict=False`` skips
        missing and unexpected names but still refuses wrong shapes). Returns (missing, unexpected)."""
        own = dict(self._state_tensors())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        wrong = []
        for k, p in own.items():
            if k in state_dict:
                shape = tuple(state_dict[k].shape)
                if shape != p.shape:
                    wrong.append(f"{k}: checkpoint {shape} vs model {p.shape}")
        problems = []
        if strict and missing:
            problems.append("missing " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected " + ", ".join(unexpected))
        if wrong:
            problems.append("shape mismatch " + "; ".join(wrong))
        if problems:
            raise ShapeError(f"load_state_dict into {type(self).__name__}: " + " | ".join(problems))
        for k, p in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            b = p._backend
            if isinstance(v, Tensor) and v._backend is b:
                v = v.data
            elif not b.is_array(v):
                v = to_host(v)
            p.data = b.xp.asarray(b.asarray(v, dtype=p.dtype, device=p.device), copy=True)  # never shared
        return missing, unexpected

    # ---- moving ------------------------------------------------------------------------------
    def to(self, *args: Any, backend: str | Backend | None = None, device: Any = None, dtype: Any = None) -> Module:
        """Move every parameter (in place: the same Tensor objects, new arrays); gradients are dropped."""
        for p in self.parameters():
            moved = p.detach().to(*args, backend=backend, device=device, dtype=dtype)
            p.data = moved.data
            p._backend = moved._backend
            if p.grad is not None:
                p.grad = None
        for b in self.buffers():  # a dtype applies to floating buffers only (num_batches_tracked stays int64)
            floating = b._backend.is_floating(b.dtype)
            moved = b.to(*(args if floating else [a for a in args if not _is_dtype(a)]), backend=backend,
                         device=device, dtype=dtype if floating else None)
            b.data = moved.data
            b._backend = moved._backend
        return self

    def double(self) -> Module:
        return self.to(dtype="float64")

    def float(self) -> Module:
        return self.to(dtype="float32")

    # ---- printing ----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


_DTYPES = {"float16", "bfloat16", "float32", "float64", "complex64", "complex128", "bool", "int8", "int16", "int32",
           "int64", "uint8", "uint16", "uint32", "uint64"}


def _is_dtype(a: Any) -> bool:
    """Whether a positional argument of ``to()`` names a dtype (not a backend or a device)."""
    return str(a).rsplit(".", 1)[-1] in _DTYPES


def _zeros_parameter(shape: tuple[int, ...], backend: str | Backend | None, device: Any, dtype: Any) -> Tensor:
    """A parameter of zeros where ``backends.placement`` puts it, in ``dtype`` (or the default dtype)."""
    b, device = placement(backend, device)
    return new(b.xp.zeros(shape, dtype=b.dtype(dtype or get_default_dtype()), device=device), b).requires_grad_(True)


class Linear(Module):
    """``y = x @ weight.T + bias``; weight (out_features, in_features) as in PyTorch, and PyTorch's default
    init: weight kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)), bias U(-1/sqrt(in), 1/sqrt(in))."""

    weight: Tensor
    bias: Tensor | None

    def __init__(self, in_features: int, out_features: int, bias: bool = True, backend: str | Backend | None = None,
                 device: Any = None, dtype: Any = None):
        super().__init__()
        if int(in_features) <= 0 or int(out_features) <= 0:
            raise ValueError(f"Linear needs positive sizes, got in_features={in_features}, "
                             f"out_features={out_features}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = _zeros_parameter((self.out_features, self.in_features), backend, device, dtype)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if bias:
            bound = 1.0 / math.sqrt(self.in_features)
            self.bias = init.uniform_(_zeros_parameter((self.out_features,), backend, device, dtype), -bound, bound)
        else:
            self.bias = None

    def forward(self, x: Tensor) -> Tensor:
        return F._linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class _Activation(Module):
    """A module that applies ``fn``, an elementwise function of the input alone."""

    fn: Callable[[Tensor], Tensor]

    def forward(self, x: Tensor) -> Tensor:
        return type(self).fn(x)


class Tanh(_Activation):
    fn = staticmethod(F.tanh)


class ReLU(_Activation):
    fn = staticmethod(F.relu)


class Sigmoid(_Activation):
    fn = staticmethod(F.sigmoid)


class GELU(Module):
    """GELU: the exact erf form by default, as PyTorch's; ``approximate="tanh"`` for the tanh form."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', not {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Identity(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, negative_slope=self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Dropout(Module):
    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must lie in [0, 1], got {p}")
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Sequential(Module):
    """Modules applied in order; named ``0``, ``1``, ... as in PyTorch (so state_dict names match)."""

    _layers: tuple[Module, ...]

    def __init__(self, *modules: Any):
        """``Sequential(m0, m1, ...)``, or ``Sequential({name: module, ...})`` to name them."""
        super().__init__()
        first = modules[0] if len(modules) == 1 else None
        named = first.items() if isinstance(first, Mapping) else enumerate(modules)
        for name, m in named:
            self.add_module(str(name), m)
        object.__setattr__(self, "_layers", tuple(self._modules.values()))

    def add_module(self, name: str, module: Module) -> None:
        super().add_module(name, module)
        object.__setattr__(self, "_layers", tuple(self._modules.values()))

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self._modules)), module)
        return self

    def forward(self, x: Any) -> Any:
        for m in self._layers:
            x = m(x)
        return x

    def __getitem__(self, i: int | slice) -> Module:
        if isinstance(i, slice):
            return Sequential(*self._layers[i])
        return self._layers[i]

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)


ACTIVATIONS: dict[str, type[Module]] = {"tanh": Tanh, "relu": ReLU, "sigmoid": Sigmoid, "gelu": GELU,
                                        "leaky_relu": LeakyReLU, "leakyrelu": LeakyReLU, "identity": Identity}


class MLP(Sequential):
    """``sizes = (in, h1, ..., out)``: Linear layers with ``activation`` between them (none after the last).

    Layers are named as in ``torch.nn.Sequential(Linear, Tanh, Linear, ...)``: ``0.weight``, ``2.weight``, ...
    """

    def __init__(self, sizes: Sequence[int], activation: str | type[Module] | Module = "tanh", dropout: float = 0.0,
                 bias: bool = True, backend: str | Backend | None = None, device: Any = None, dtype: Any = None):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or any(s <= 0 for s in sizes):
            raise ValueError(f"MLP sizes must be at least two positive integers, got {sizes}")
        if isinstance(activation, str):
            if activation.lower() not in ACTIVATIONS:
                raise ValueError(f"unknown activation {activation!r}; choose from "
                                 f"{', '.join(sorted(set(ACTIVATIONS) - {'leakyrelu'}))}")
            make: Callable[[], Module] = ACTIVATIONS[activation.lower()]
        elif isinstance(activation, type):
            make = activation
        else:
            module = activation
            make = lambda: module  # noqa: E731  (one module instance, shared by every hidden layer)
        layers: list[Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(a, b, bias=bias, backend=backend, device=device, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(make())
                if dropout:
                    layers.append(Dropout(dropout))
        super().__init__(*layers)
        object.__setattr__(self, "sizes", tuple(sizes))
