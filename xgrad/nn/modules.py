"""Module, Parameter, Linear, Sequential, MLP, activation modules and Dropout."""

import math
from collections import OrderedDict

from ..backends import current_device, get_backend
from ..creation import get_default_dtype
from ..errors import ShapeError, XgradError
from ..tensor import Tensor
from . import functional as F
from . import init

__all__ = ["Module", "Parameter", "Linear", "Sequential", "MLP", "Tanh", "ReLU", "Sigmoid", "GELU", "LeakyReLU",
           "Identity", "Dropout", "ACTIVATIONS"]


class _ParameterMeta(type):
    def __instancecheck__(cls, obj):
        return type(obj) is Tensor and obj.requires_grad and obj._op is None


class Parameter(metaclass=_ParameterMeta):
    """A leaf tensor that requires a gradient; a Module registers every one assigned to it.

    ``Parameter(data)`` returns a plain :class:`xgrad.Tensor` (the engine's hot paths test ``type(t) is
    Tensor``), so ``isinstance(p, Parameter)`` means "a leaf tensor that requires grad".
    """

    def __new__(cls, data, requires_grad=True, backend=None, device=None, dtype=None):
        if isinstance(data, Tensor):
            t = Tensor._wrap(data.data, data._backend) if backend is None else data.to(backend=backend).detach()
        else:
            from ..creation import tensor

            t = tensor(data, dtype=dtype, backend=backend, device=device)
        if requires_grad:
            t.requires_grad_(True)
        return t


def _is_param(value):
    return type(value) is Tensor and value.requires_grad and value._op is None


class Module:
    """Base class of layers and models. Assigning a Parameter or a Module to an attribute registers it."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise XgradError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, modules = self._parameters, self._modules
        if _is_param(value):
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            modules[name] = value
        else:
            if name in params and value is None:
                params[name] = None
            else:
                params.pop(name, None)
                modules.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name, value):
        self._parameters[name] = value
        object.__setattr__(self, name, value)

    def add_module(self, name, module):
        self._modules[name] = module
        object.__setattr__(self, name, module)

    # ---- calling -----------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- walking the tree --------------------------------------------------------------------
    def children(self):
        return iter(self._modules.values())

    def named_children(self):
        return iter(self._modules.items())

    def named_modules(self, prefix=""):
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix="", recurse=True):
        seen = set()
        for mod_name, m in (self.named_modules(prefix) if recurse else [(prefix, self)]):
            for name, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    # ---- modes and gradients -----------------------------------------------------------------
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data = p._backend.xp.zeros_like(p.grad.data)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

    def num_parameters(self):
        return sum(p.size for p in self.parameters())

    # ---- state -------------------------------------------------------------------------------
    def state_dict(self):
        """``{name: array}`` (the raw backend arrays, not copies), names as in PyTorch (``0.weight``)."""
        return OrderedDict((name, p.data) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict, strict=True):
        """Copy values into the parameters; accepts backend arrays, NumPy arrays, torch tensors or Tensors.

        Raises a ShapeError naming every missing, unexpected or mis-shaped entry (``strict=False`` skips
        missing and unexpected names but still refuses wrong shapes). Returns (missing, unexpected)."""
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        wrong = []
        for k, p in own.items():
            if k in state_dict:
                v = state_dict[k]
                shape = tuple(v.shape)
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
            if isinstance(v, Tensor):
                v = v.data if v._backend is p._backend else v.numpy()
            elif not p._backend.is_array(v):
                v = v.detach().cpu().numpy() if hasattr(v, "detach") else v
            b = p._backend
            if not b.is_array(v) and type(v).__module__.startswith("cupy"):
                v = v.get()
            new = b.asarray(v, dtype=p.dtype, device=b.device(p.data))
            p.data = b.xp.asarray(new, copy=True)  # never share memory with the caller's array
        return missing, unexpected

    # ---- moving ------------------------------------------------------------------------------
    def to(self, *args, backend=None, device=None, dtype=None):
        """Move every parameter (in place: the same Tensor objects, new arrays)."""
        for p in self.parameters():
            moved = p.detach().to(*args, backend=backend, device=device, dtype=dtype)
            p.data = moved.data
            p._backend = moved._backend
            if p.grad is not None:
                p.grad = None
        return self

    def double(self):
        return self.to(dtype="float64")

    def float(self):
        return self.to(dtype="float32")

    # ---- printing ----------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _placement(backend, device, dtype):
    b = get_backend(backend)
    if device is None and backend is None:
        device = current_device()
    return b, device, b.dtype(dtype or get_default_dtype())


class Linear(Module):
    """``y = x @ weight.T + bias``; weight (out_features, in_features) as in PyTorch, and PyTorch's default
    init: weight kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)), bias U(-1/sqrt(in), 1/sqrt(in))."""

    def __init__(self, in_features, out_features, bias=True, backend=None, device=None, dtype=None):
        super().__init__()
        if int(in_features) <= 0 or int(out_features) <= 0:
            raise ValueError(f"Linear needs positive sizes, got in_features={in_features}, "
                             f"out_features={out_features}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        b, device, dt = _placement(backend, device, dtype)
        xp = b.xp
        dev = device if device is not None else b.default_device
        w = Tensor._wrap(xp.empty((self.out_features, self.in_features), dtype=dt, device=dev), b)
        self.weight = w.requires_grad_(True)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if bias:
            bound = 1.0 / math.sqrt(self.in_features)
            bt = Tensor._wrap(xp.empty((self.out_features,), dtype=dt, device=dev), b)
            self.bias = bt.requires_grad_(True)
            init.uniform_(self.bias, -bound, bound)
        else:
            self.bias = None

    def forward(self, x):
        return F._linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class _Activation(Module):
    fn = None

    def forward(self, x):
        return type(self).fn(x)


class Tanh(_Activation):
    fn = staticmethod(F.tanh)


class ReLU(_Activation):
    fn = staticmethod(F.relu)


class Sigmoid(_Activation):
    fn = staticmethod(F.sigmoid)


class GELU(_Activation):
    """GELU in its tanh form (PyTorch's ``GELU(approximate="tanh")``)."""
    fn = staticmethod(F.gelu)


class Identity(Module):
    def forward(self, x):
        return x


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, negative_slope=self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Dropout(Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must lie in [0, 1], got {p}")
        self.p = float(p)

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Sequential(Module):
    """Modules applied in order; named ``0``, ``1``, ... as in PyTorch (so state_dict names match)."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, m in modules[0].items():
                self.add_module(str(name), m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)
        object.__setattr__(self, "_layers", tuple(self._modules.values()))

    def add_module(self, name, module):
        super().add_module(name, module)
        object.__setattr__(self, "_layers", tuple(self._modules.values()))

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def forward(self, x):
        for m in self._layers:
            x = m(x)
        return x

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(*self._layers[i])
        return self._layers[i]

    def __len__(self):
        return len(self._layers)

    def __iter__(self):
        return iter(self._layers)


ACTIVATIONS = {"tanh": Tanh, "relu": ReLU, "sigmoid": Sigmoid, "gelu": GELU, "leaky_relu": LeakyReLU,
               "leakyrelu": LeakyReLU, "identity": Identity}


class MLP(Sequential):
    """``sizes = (in, h1, ..., out)``: Linear layers with ``activation`` between them (none after the last).

    Layers are named as in ``torch.nn.Sequential(Linear, Tanh, Linear, ...)``: ``0.weight``, ``2.weight``, ...
    """

    def __init__(self, sizes, activation="tanh", dropout=0.0, bias=True, backend=None, device=None, dtype=None):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or any(s <= 0 for s in sizes):
            raise ValueError(f"MLP sizes must be at least two positive integers, got {sizes}")
        if isinstance(activation, str):
            if activation.lower() not in ACTIVATIONS:
                raise ValueError(f"unknown activation {activation!r}; choose from "
                                 f"{', '.join(sorted(set(ACTIVATIONS) - {'leakyrelu'}))}")
            make = ACTIVATIONS[activation.lower()]
        elif isinstance(activation, type):
            make = activation
        else:
            make = lambda a=activation: a  # noqa: E731  (a module instance, shared)
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(a, b, bias=bias, backend=backend, device=device, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(make())
                if dropout:
                    layers.append(Dropout(dropout))
        super().__init__(*layers)
        object.__setattr__(self, "sizes", tuple(sizes))
