"""Parameter initialisers, as in ``torch.nn.init``. Each fills a tensor in place (its array is replaced on
backends whose arrays are immutable) from the backend's seeded generator (``xgrad.manual_seed``)."""

import math

__all__ = ["calculate_gain", "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_",
           "uniform_", "normal_", "zeros_", "ones_", "constant_"]


def _fans(t):
    shape = t.shape
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a tensor of at least 2 dimensions, got shape {shape}")
    receptive = 1
    for s in shape[2:]:
        receptive *= s
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table)."""
    if nonlinearity in ("linear", "sigmoid", "identity") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}")


def _fill(t, data):
    b = t._backend
    if b.mutable:
        try:
            t.data[...] = data
            return t
        except (TypeError, ValueError, RuntimeError):
            pass
    t.data = data
    return t


def uniform_(t, a=0.0, b=1.0):
    be = t._backend
    return _fill(t, be.uniform(t.shape, a, b, dtype=t.dtype, device=be.device(t.data)))


def normal_(t, mean=0.0, std=1.0):
    be = t._backend
    return _fill(t, be.normal(t.shape, mean, std, dtype=t.dtype, device=be.device(t.data)))


def constant_(t, value):
    xp = t._backend.xp
    return _fill(t, xp.full_like(t.data, value))


def zeros_(t):
    return constant_(t, 0.0)


def ones_(t):
    return constant_(t, 1.0)


def kaiming_uniform_(t, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """U(-bound, bound), bound = gain * sqrt(3 / fan). With a=sqrt(5) (nn.Linear's default) bound = 1/sqrt(fan_in)."""
    fan_in, fan_out = _fans(t)
    fan = fan_in if mode == "fan_in" else fan_out
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(t, -bound, bound)


def kaiming_normal_(t, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    fan_in, fan_out = _fans(t)
    fan = fan_in if mode == "fan_in" else fan_out
    return normal_(t, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def xavier_uniform_(t, gain=1.0):
    fan_in, fan_out = _fans(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound)


def xavier_normal_(t, gain=1.0):
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))
