"""Reverse mode: ordering the graph, calling the VJP rules, accumulating gradients, freeing the graph."""

import functools

from . import _state
from .errors import GraphError, ShapeError


class _GradMode:
    """Base of no_grad / enable_grad: a context manager and a decorator."""

    enabled = True

    def __enter__(self):
        self._previous = _state.grad_enabled
        _state.grad_enabled = self.enabled

    def __exit__(self, *exc):
        _state.grad_enabled = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Ops inside record no graph (inference, optimizer updates)."""

    enabled = False


class enable_grad(_GradMode):
    """Ops inside record the graph again, also within ``no_grad``."""

    enabled = True


def is_grad_enabled():
    return _state.grad_enabled


class _FreedOp:
    """Stands in for the op of a tensor whose graph was freed by a backward without retain_graph."""

    name = "freed"

    def backward(self, *args):
        raise GraphError(
            "Trying to backward through the graph a second time (or to read gradients through it after "
            "it was freed). The first backward freed it; pass retain_graph=True to the first .backward() "
            "or xgrad.grad() call if you need to go through it again.")


_FREED = _FreedOp()


def _order(roots):
    """Tensors that need a gradient, reachable from ``roots``, outputs before inputs (no recursion)."""
    Tensor = _state.Tensor
    order = []
    seen = set()
    stack = [(r, False) for r in roots if r.requires_grad]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        if t._parents is not None:
            for p in t._parents:
                if type(p) is Tensor and p.requires_grad and id(p) not in seen:
                    stack.append((p, False))
    order.reverse()
    return order


def _unbroadcast(xp, g, shape):
    """Sum ``g`` over the axes broadcasting added or stretched, back to ``shape``."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1)
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    if lead or tuple(g.shape) != tuple(shape):
        g = xp.reshape(g, shape)
    return g


def _seed(t, gradient, create_graph):
    """The gradient backward starts from: ``gradient``, or 1 for a scalar output."""
    Tensor = _state.Tensor
    if gradient is None:
        if t.data.ndim != 0 and t.size != 1:
            raise GraphError(
                f"backward() of a non-scalar tensor of shape {t.shape} needs `gradient` (a tensor of that "
                "shape holding d(loss)/d(this tensor)), or reduce it to a scalar first, e.g. t.sum().backward()")
        g = t._backend.xp.ones_like(t.data)
    else:
        g = gradient.data if isinstance(gradient, Tensor) else t._backend.asarray(gradient, dtype=t.dtype)
        if tuple(g.shape) != t.shape:
            raise ShapeError(f"backward(): `gradient` has shape {tuple(g.shape)} but the tensor has shape "
                             f"{t.shape}; they must match")
    if create_graph:
        return gradient if isinstance(gradient, Tensor) else Tensor._wrap(g, t._backend)
    return g


def run_backward(roots, seeds, retain_graph=False, create_graph=False, capture=None):
    """Propagate ``seeds`` (one per root) back through the graph.

    With ``capture`` (a list of tensors) the gradients of those tensors are returned and no ``.grad``
    is touched; without it, leaf gradients are accumulated into ``.grad``.
    """
    Tensor = _state.Tensor
    grads = {}
    for r, s in zip(roots, seeds):
        if r.requires_grad:
            grads[r] = grads[r] + s if r in grads else s
    wanted = None if capture is None else {id(c): i for i, c in enumerate(capture)}
    captured = [None] * (0 if capture is None else len(capture))
    order = _order(roots)
    previous_mode = _state.grad_enabled
    _state.grad_enabled = bool(create_graph)
    if create_graph:
        from .ops import grad_namespace as xp_graph
    try:
        for t in order:
            g = grads.pop(t, None)
            if g is None:
                continue
            if wanted is not None and id(t) in wanted:
                captured[wanted[id(t)]] = g
            o = t._op
            if o is None:  # a leaf
                if wanted is None:
                    if create_graph:
                        t.grad = g if t.grad is None else t.grad + g
                    else:
                        t.grad = Tensor._wrap(g, t._backend) if t.grad is None else \
                            Tensor._wrap(t.grad.data + g, t._backend)
                continue
            parents = t._parents
            needs = [type(p) is Tensor and p.requires_grad for p in parents]
            if create_graph:
                xp = xp_graph
                args = [p if type(p) is Tensor else r for p, r in zip(parents, t._args)]
                in_grads = o.backward(xp, g, t, args, t._kw, needs)
            else:
                xp = t._backend.xp
                in_grads = o.backward(xp, g, t.data, t._args, t._kw, needs)
            for p, need, gp in zip(parents, needs, in_grads):
                if not need or gp is None:
                    continue
                if gp.shape != p.data.shape:
                    gp = _unbroadcast(xp, gp, p.data.shape)
                prev = grads.get(p)
                grads[p] = gp if prev is None else prev + gp
            if not retain_graph:
                t._op = _FREED
                t._parents = ()
                t._args = t._kw = None
    finally:
        _state.grad_enabled = previous_mode
    return captured


def backward(tensor, gradient=None, retain_graph=False, create_graph=False):
    """``tensor.backward(...)``: accumulate into the ``.grad`` of every leaf the tensor depends on."""
    if not tensor.requires_grad:
        raise GraphError(
            f"backward() of a tensor that does not require grad (shape {tensor.shape}): none of its inputs "
            "has requires_grad=True, or it was made under xgrad.no_grad()")
    if tensor._op is _FREED:
        _FREED.backward()
    retain_graph = retain_graph or create_graph
    run_backward([tensor], [_seed(tensor, gradient, create_graph)], retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned (no ``.grad`` is touched)."""
    Tensor = _state.Tensor
    single_out = isinstance(outputs, Tensor)
    outputs = [outputs] if single_out else list(outputs)
    single_in = isinstance(inputs, Tensor)
    inputs = [inputs] if single_in else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"xgrad.grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for o in outputs:
        if not o.requires_grad:
            raise GraphError(f"xgrad.grad: an output (shape {o.shape}) does not require grad; "
                             "nothing connects it to the inputs")
        if o._op is _FREED:
            _FREED.backward()
    if retain_graph is None:
        retain_graph = create_graph
    seeds = [_seed(o, g, create_graph) for o, g in zip(outputs, grad_outputs)]
    found = run_backward(outputs, seeds, retain_graph, create_graph, capture=inputs)
    result = []
    for i, (t, g) in enumerate(zip(inputs, found)):
        if g is None:
            if not allow_unused:
                raise GraphError(
                    f"xgrad.grad: input {i} (shape {t.shape}) was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it")
            result.append(None)
        else:
            result.append(g if isinstance(g, Tensor) else Tensor._wrap(g, t._backend))
    return result[0] if single_in else tuple(result)
