"""Optimizers (SGD, Adam, AdamW), gradient clipping and learning-rate schedulers.

The update rules follow ``torch.optim`` (single-tensor code path) operation for operation, so a run
matches PyTorch step for step in float64. Every update goes through ``xgrad.inplace.update_``: into the
parameter's own array where the backend allows, into a new array otherwise.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Iterable, Mapping, Sequence

from .backends import to_host
from .creation import tensor
from .errors import InputError
from .inplace import update_, zero_grads
from .nn import is_parameter
from .observe import refuse_while_recorded, static
from .tensor import Tensor, new

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "clip_grad_norm_", "clip_grad_value_", "LRScheduler",
           "StepLR", "CosineAnnealingLR", "CyclicLR", "OPTIMIZERS", "SCHEDULERS"]


def __dir__() -> list[str]:  # dir() and tab completion list the public names, not this module's imports
    return sorted(__all__)


ParamGroup = dict[str, Any]
Params = Iterable[Tensor] | Iterable[ParamGroup]


class Optimizer:
    """Holds ``param_groups`` (dicts with ``params`` and hyper-parameters) and per-parameter ``state``.

    State arrays live in Tensors, so ``xgrad.compile`` sees them read and written."""

    def __init__(self, params: Params, defaults: Mapping[str, Any]):
        self.defaults = dict(defaults)
        items: list[Any] = list(params)
        if not items:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        groups: list[Mapping[str, Any]] = items if isinstance(items[0], dict) else [{"params": items}]
        self.param_groups: list[ParamGroup] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: Mapping[str, Any]) -> None:
        group = dict(group)
        ps = group["params"]
        group["params"] = [ps] if isinstance(ps, Tensor) else list(ps)
        for p in group["params"]:
            if not is_parameter(p):
                got = f"one of shape {p.shape}" if isinstance(p, Tensor) else f"a {type(p).__name__}"
                raise ValueError(f"{type(self).__name__}: can only optimize leaf tensors that require grad "
                                 f"(got {got})")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check(group)
        self.param_groups.append(group)

    def _check(self, group: ParamGroup) -> None:
        if group.get("lr", 0.0) < 0:
            raise ValueError(f"invalid learning rate {group['lr']}")

    def zero_grad(self, set_to_none: bool = True) -> None:
        zero_grads(self._params(), set_to_none)

    def step(self) -> None:
        raise NotImplementedError

    # ---- state -------------------------------------------------------------------------------
    def _params(self) -> list[Tensor]:
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {name: array or number}}, "param_groups": [{hyper-parameters, "params": [index]}]}``
        (the layout of torch.optim's state_dict)."""
        index = {id(p): i for i, p in enumerate(self._params())}
        state = {index[id(p)]: {k: v.data if isinstance(v, Tensor) else v for k, v in s.items()}
                 for p, s in ((p, self.state.get(p)) for p in self._params()) if s}
        groups = []
        for g in self.param_groups:
            d = {k: v for k, v in g.items() if k != "params"}
            d["params"] = [index[id(p)] for p in g["params"]]
            groups.append(d)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyper-parameters and state saved by ``state_dict`` (arrays of any backend, copied)."""
        params = self._params()
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved optimizer has "
                             f"{[len(g['params']) for g in groups]} parameters per group, this one "
                             f"{[len(g['params']) for g in self.param_groups]}")
        for saved, group in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = v
        self.state = {}
        for i, s in state_dict["state"].items():
            p = params[int(i)]
            b = p._backend
            loaded: dict[str, Any] = {}
            for k, v in s.items():
                if hasattr(v, "shape") and tuple(v.shape) != ():
                    if tuple(v.shape) != p.shape:
                        raise ValueError(f"{type(self).__name__}.load_state_dict: state {k!r} of parameter {i} "
                                         f"has shape {tuple(v.shape)}, the parameter {p.shape}")
                    if not b.is_array(v):
                        v = to_host(v)
                    a = b.asarray(v, dtype=p.dtype, device=p.device)
                    loaded[k] = new(b.xp.asarray(a, copy=True), b)  # never share the caller's memory
                elif k == "step":
                    loaded[k] = _step_counter(p, float(v))
                else:
                    loaded[k] = float(v)
            self.state[p] = loaded

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        return "\n".join(lines) + "\n)"


def _step_counter(p: Tensor, value: float = 0.0) -> Tensor:
    """A 0-d Tensor counting steps (an array, not a Python int, so compiled steps need no retrace)."""
    b = p._backend
    return new(b.xp.asarray(value, dtype=p.data.dtype, device=p.device), b)


def _hyper(group: ParamGroup, *keys: str) -> list[Any]:
    """Hyper-parameters of a group; inside xgrad.compile each is guarded (a scheduler's change retraces)."""
    return [static(group, k) for k in keys]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (heavy-ball or Nesterov), dampening and L2
    weight decay, as ``torch.optim.SGD``."""

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _check(self, group: ParamGroup) -> None:
        super()._check(group)
        if group["momentum"] < 0 or group["weight_decay"] < 0:
            raise ValueError(f"invalid momentum {group['momentum']} or weight_decay {group['weight_decay']}")

    def step(self) -> None:
        state = self.state
        for group in self.param_groups:
            lr, mom, damp, wd, nesterov, maximize = _hyper(
                group, "lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                d = g.data
                if maximize:
                    d = -d
                if wd != 0:
                    d = d + wd * p.data
                if mom != 0:
                    st = state.get(p)
                    if st is None:
                        buf = new(p._backend.xp.asarray(d, copy=True), p._backend)
                        state[p] = {"momentum_buffer": buf}
                    else:
                        buf = st["momentum_buffer"]
                        update_(buf, operator.imul, mom)
                        update_(buf, operator.iadd, (1 - damp) * d if damp else d)
                    d = d + mom * buf.data if nesterov else buf.data
                update_(p, operator.isub, lr * d)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction and optional L2 weight decay, as ``torch.optim.Adam``."""

    _decoupled = False

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, maximize: bool = False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _check(self, group: ParamGroup) -> None:
        super()._check(group)
        b1, b2 = group["betas"]
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0) or group["eps"] < 0:
            raise ValueError(f"invalid betas {group['betas']} or eps {group['eps']}")

    def step(self) -> None:
        state = self.state
        decoupled = self._decoupled
        for group in self.param_groups:
            lr, (b1, b2), eps, wd, maximize = _hyper(group, "lr", "betas", "eps", "weight_decay", "maximize")
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                b = p._backend
                xp = b.xp
                d = g.data
                if maximize:
                    d = -d
                if wd != 0:
                    if decoupled:
                        update_(p, operator.imul, 1 - lr * wd)
                    else:
                        d = d + wd * p.data
                st = state.get(p)
                if st is None:
                    st = state[p] = {"step": _step_counter(p), "exp_avg": new(xp.zeros_like(p.data), b),
                                     "exp_avg_sq": new(xp.zeros_like(p.data), b)}
                steps, m, v = st["step"], st["exp_avg"], st["exp_avg_sq"]
                update_(steps, operator.iadd, 1)
                t = steps.data
                update_(m, operator.iadd, (d - m.data) * (1 - b1))
                update_(v, operator.imul, b2)
                update_(v, operator.iadd, (1 - b2) * (d * d))
                # bias corrections from the step counter as 0-d arrays (torch.optim computes the same
                # numbers from a Python float: pow and sqrt are correctly rounded either way)
                step_size = lr / (1 - b1 ** t)
                denom = xp.sqrt(v.data) / xp.sqrt(1 - b2 ** t) + eps
                update_(p, operator.isub, step_size * (m.data / denom))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``."""

    _decoupled = True

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, maximize: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


# ---- gradient clipping ---------------------------------------------------------------------------
def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    """The gradients of ``parameters`` that have one."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [g for g in (p.grad for p in parameters) if g is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together so that their joint ``norm_type`` norm is at most ``max_norm``
    (coefficient ``max_norm / (norm + 1e-6)``, clamped to 1, as PyTorch). Returns the norm before clipping
    as a 0-d Tensor; a non-finite norm with ``error_if_nonfinite`` is an InputError."""
    grads = _grads(parameters)
    if not grads:
        return tensor(0.0)
    b = grads[0]._backend
    xp = b.xp
    norm_type = float(norm_type)
    if norm_type in (math.inf, -math.inf):  # the largest (or, for -inf, the smallest) magnitude
        extreme, pairwise = (xp.max, xp.maximum) if norm_type > 0 else (xp.min, xp.minimum)
        norms = [extreme(xp.abs(g.data)) for g in grads]
        total = norms[0]
        for n in norms[1:]:
            total = pairwise(total, n)
    else:
        total = None
        for g in grads:
            part = xp.sum(xp.abs(g.data) ** norm_type) if norm_type != 2.0 else xp.sum(g.data * g.data)
            total = part if total is None else total + part
        total = total ** (1.0 / norm_type) if norm_type != 2.0 else xp.sqrt(total)
    if error_if_nonfinite and not bool(xp.all(xp.isfinite(total))):
        raise InputError(f"clip_grad_norm_: the total gradient norm is {float(total)}; pass "
                         "error_if_nonfinite=False to clip anyway")
    coef = xp.clip(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        update_(g, operator.imul, xp.astype(coef, g.data.dtype))
    return new(total, b)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient element to [-clip_value, clip_value]."""
    v = float(clip_value)
    for g in _grads(parameters):
        g.data = g._backend.xp.clip(g.data, min=-v, max=v)


# ---- learning-rate schedulers ----------------------------------------------------------------------
class LRScheduler:
    """Sets each group's ``lr`` from the epoch counter; call ``step()`` after ``optimizer.step()``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        self.optimizer = optimizer
        if last_epoch == -1:
            for g in optimizer.param_groups:
                g.setdefault("initial_lr", g["lr"])
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    def get_lr(self) -> list[float]:
        raise NotImplementedError

    def step(self) -> None:
        refuse_while_recorded(f"{type(self).__name__}.step()", "Call it outside the compiled function, after "
                              "each call (a changed learning rate makes the next call trace again).")
        self._step_count += 1
        self.last_epoch += 1
        lrs = self.get_lr()
        for g, lr in zip(self.optimizer.param_groups, lrs):
            g["lr"] = lr
        self._last_lr = list(lrs)

    def get_last_lr(self) -> list[float]:
        return self._last_lr

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.__dict__.update(state)


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        if int(step_size) <= 0:
            raise ValueError(f"StepLR step_size must be a positive integer, got {step_size}")
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [g["lr"] for g in groups]
        return [g["lr"] * self.gamma for g in groups]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base rate to ``eta_min`` over ``T_max`` epochs (SGDR without restarts),
    in PyTorch's recursive form so that runs match it step for step."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max, self.eta_min = int(T_max), float(eta_min)
        if self.T_max <= 0:
            raise ValueError(f"CosineAnnealingLR T_max must be positive, got {T_max}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        e, T, lo = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if e == 0:
            return [g["lr"] for g in groups]
        if self._step_count == 1 and e > 0:
            return [lo + (base - lo) * (1 + math.cos(e * math.pi / T)) / 2 for base in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:
            return [g["lr"] + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base, g in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (g["lr"] - lo) + lo
                for g in groups]


def _per_group(value: float | Sequence[float], n: int) -> list[float]:
    """One float per parameter group: a sequence as given, a single value repeated."""
    return [float(v) for v in value] if isinstance(value, (list, tuple)) else [float(value)] * n  # type: ignore[arg-type]


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith 2015): the rate moves linearly from ``base_lr`` up to ``max_lr`` over
    ``step_size_up`` steps and back down over ``step_size_down``. ``mode`` "triangular" (constant
    amplitude), "triangular2" (amplitude halved every cycle) or "exp_range" (scaled by gamma**step).
    Call ``step()`` after every batch. As in PyTorch, ``cycle_momentum=True`` (the default) also cycles
    the momentum (SGD's ``momentum``, Adam's first beta) inversely, from ``max_momentum`` down to
    ``base_momentum`` and back; ``cycle_momentum=False`` leaves it alone."""

    def __init__(self, optimizer: Optimizer, base_lr: float | Sequence[float], max_lr: float | Sequence[float],
                 step_size_up: float = 2000, step_size_down: float | None = None, mode: str = "triangular",
                 gamma: float = 1.0, cycle_momentum: bool = True, base_momentum: float | Sequence[float] = 0.8,
                 max_momentum: float | Sequence[float] = 0.9, last_epoch: int = -1):
        n = len(optimizer.param_groups)
        base = list(base_lr) if isinstance(base_lr, (list, tuple)) else [base_lr] * n
        self.max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * n
        if mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"CyclicLR mode must be triangular, triangular2 or exp_range, not {mode!r}")
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        if up <= 0 or down <= 0:
            raise ValueError("CyclicLR step sizes must be positive")
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode, self.gamma = mode, float(gamma)
        if last_epoch == -1:
            for lr, g in zip(base, optimizer.param_groups):
                g["lr"] = lr
                g["initial_lr"] = lr
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"CyclicLR: {type(optimizer).__name__} has no momentum or betas to cycle; pass "
                                 "cycle_momentum=False (PyTorch refuses too)")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group(base_momentum, n)
            self.max_momentums = _per_group(max_momentum, n)
            if last_epoch == -1:
                for m, g in zip(self.max_momentums, optimizer.param_groups):
                    self._set_momentum(g, m)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base

    def _set_momentum(self, group: dict, m: float) -> None:
        if self.use_beta1:
            group["betas"] = (m, *group["betas"][1:])
        else:
            group["momentum"] = m

    def _scale(self, cycle: int) -> float:
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (cycle - 1))
        return self.gamma ** self.last_epoch

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale = x / self.step_ratio
        else:
            scale = (x - 1) / (self.step_ratio - 1)
        s = self._scale(cycle)
        if self.cycle_momentum:  # down while the rate goes up (PyTorch's CyclicLR)
            for b, m, g in zip(self.base_momentums, self.max_momentums, self.optimizer.param_groups):
                self._set_momentum(g, m - (m - b) * scale * s)
        return [b + (m - b) * scale * s for b, m in zip(self.base_lrs, self.max_lrs)]


SCHEDULERS: dict[str, type[LRScheduler]] = {"step": StepLR, "cosine": CosineAnnealingLR, "cyclic": CyclicLR}
