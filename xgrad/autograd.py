"""Reverse mode: ordering the graph, calling the VJP rules, accumulating gradients, freeing the graph."""

from __future__ import annotations

import functools
import inspect
from heapq import heappop, heappush
from typing import Any, Callable, Sequence, TypeVar

from . import _state, hooks, observe
from .errors import BackendMismatchError, GraphError, ShapeError
from .ops import grad_namespace
from .tensor import Tensor, new

F = TypeVar("F", bound=Callable[..., Any])


class _GradMode:
    """Base of no_grad / enable_grad: a context manager and a decorator. Grad mode is per thread; each
    exit restores exactly what its own entry found (contexts nest within a thread, so a per-thread
    stack holds those values, also for one instance entered in several threads)."""

    enabled = True

    def __enter__(self) -> None:
        mode = _state.mode
        mode.saved.append(mode.grad_enabled)
        mode.grad_enabled = self.enabled

    def __exit__(self, *exc: Any) -> None:
        mode = _state.mode
        mode.grad_enabled = mode.saved.pop()

    def __call__(self, fn: F) -> F:
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def generator(*args: Any, **kwargs: Any) -> Any:
                # the body runs piecewise, while the caller iterates: the mode holds for each piece only
                gen = fn(*args, **kwargs)
                sent = None
                while True:
                    with type(self)():
                        try:
                            item = gen.send(sent)
                        except StopIteration as stop:
                            return stop.value
                    sent = yield item
            return generator  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Ops inside record no graph (inference, optimizer updates)."""

    enabled = False


class enable_grad(_GradMode):
    """Ops inside record the graph again, also within ``no_grad``."""

    enabled = True


def is_grad_enabled() -> bool:
    return _state.mode.grad_enabled


class _FreedOp:
    """Stands in for the op of a tensor whose graph was freed by a backward without retain_graph."""

    name = "freed"
    vjps = None
    custom = True

    def rules(self, *args):
        raise GraphError(
            "Trying to backward through the graph a second time (or to read gradients through it after "
            "it was freed). The first backward freed it; pass retain_graph=True to the first .backward() "
            "or xgrad.grad() call if you need to go through it again.")


_FREED = _FreedOp()


def _unbroadcast(xp, g, shape):
    """Sum ``g`` over the axes broadcasting added or stretched, back to ``shape``."""
    lead = g.ndim - len(shape)
    if lead == 1 and g.shape[1:] == shape:  # the common case: a bias added to a batch
        return xp.sum(g, axis=0)
    if lead:
        g = xp.sum(g, axis=tuple(range(lead)) if lead > 1 else 0)
    stretched = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    if stretched:
        g = xp.sum(g, axis=stretched, keepdims=True)
    return g


def _seed(t, gradient, create_graph):
    """The gradient backward starts from: ``gradient``, or 1 for a scalar output."""
    if gradient is None:
        if t.data.ndim != 0 and t.size != 1:
            raise GraphError(
                f"backward() of a non-scalar tensor of shape {t.shape} needs `gradient` (a tensor of that "
                "shape holding d(loss)/d(this tensor)), or reduce it to a scalar first, e.g. t.sum().backward()")
        if "complex" in str(t.data.dtype):
            raise GraphError(
                "backward() of a complex scalar needs `gradient`: the seed 1 is implicit for real outputs only "
                "(as in PyTorch); pass gradient=..., or take a real part first, e.g. t.real.backward()")
        g = t._backend.xp.ones_like(t.data)
    else:
        b = t._backend
        if isinstance(gradient, Tensor):
            if gradient._backend is not b or str(gradient.device) != str(t.device):
                raise BackendMismatchError(
                    f"backward(): `gradient` lives on {gradient.backend}/{gradient.device}, the tensor on "
                    f"{t.backend}/{t.device}; move it with .to(...) first")
            g = gradient.data if create_graph else b.xp.asarray(gradient.data, copy=True)  # never the caller's
        else:
            g = b.asarray(gradient, dtype=t.data.dtype, device=b.device(t.data))
        if tuple(g.shape) != t.shape:
            raise ShapeError(f"backward(): `gradient` has shape {tuple(g.shape)} but the tensor has shape "
                             f"{t.shape}; they must match")
        if g.dtype != t.data.dtype:  # the gradient of a tensor has the tensor's dtype, as in PyTorch
            g = b.xp.astype(g, t.data.dtype)
            gradient = new(g, b)
    if create_graph:
        return gradient if isinstance(gradient, Tensor) else new(g, t._backend)
    return g


def _changed(o: Any, t: Tensor, what: str) -> GraphError:
    return GraphError(
        f"backward through {o.name}: {what} of shape {t.shape} was modified in place after {o.name} "
        "used it (by an in-place method, an optimizer step or an init function), so its gradient would "
        "be computed from the new values. Change it only after backward (e.g. optimizer.step() after "
        "loss.backward()), or compute out of place (t = t + v).")


def run_backward(roots, seeds, retain_graph=False, create_graph=False, capture=None):
    """Propagate ``seeds`` (one per root) back through the graph.

    Tensors are visited newest first (by their op's sequence number), which is a topological order,
    so each rule runs once with its fully accumulated gradient; a heap holds the frontier, and no
    recursion is involved. With ``capture`` (a list of tensors) the gradients of those tensors are
    returned and no ``.grad`` is touched; otherwise leaf gradients accumulate into ``.grad``.

    Tensor hooks (``register_hook``) run on a tensor's complete gradient before it is used; a leaf with
    a post-accumulate hook gets its ``.grad`` as soon as the last node using it has run, and then its
    hook. With no hook registered anywhere, and no ``detect_anomaly`` in this thread, neither costs more
    than a test of a local per node.
    """
    grads = {}  # tensor -> gradient so far
    heap = []  # (-seq, tensor) of non-leaf tensors holding a gradient
    leaves = []
    for r, s in zip(roots, seeds):
        if not r.requires_grad:
            continue
        if r in grads:
            grads[r] = grads[r] + s
            continue
        grads[r] = s
        if r._op is None:
            leaves.append(r)
        else:
            heappush(heap, (-r._seq, r))
    wanted = captured = None
    if capture is not None:
        wanted = {c: i for i, c in enumerate(capture)}
        captured = [None] * len(capture)
    hooked = hooks.live > 0  # any tensor with a hook, anywhere
    finals = _last_users(roots) if hooked and capture is None and hooks.live_post else None
    anomaly = _state.mode.anomaly if _state.engaged else None
    mode = _state.mode  # this thread's: backward switches recording off for itself only
    previous_mode = mode.grad_enabled
    mode.grad_enabled = bool(create_graph)
    watched = observe.watching  # arrays and namespaces through the observer only when one watches
    given = set()  # ids of the arrays given to leaves as their .grad in this backward
    t = None
    try:
        while heap:
            t = heappop(heap)[1]
            g = grads.pop(t)
            if hooked:
                g = _run_grad_hooks(t, g)
            if wanted is not None and t in wanted:
                captured[wanted[t]] = g
            o = t._op
            parents = t._parents
            seq = t._seq  # an array written in place after the op saw it: its rules would read new values
            v = t._version
            if v is not None and v[0] > seq:
                raise _changed(o, t, "its output")
            for p in parents:
                if type(p) is Tensor:
                    v = p._version
                    if v is not None and v[0] > seq:
                        raise _changed(o, p, "an input")
            if create_graph:
                xp = grad_namespace
                out = t
                args = [p if type(p) is Tensor else r for p, r in zip(parents, t._args)]
                kw = t._kw
                if "saved" in kw:  # residuals are raw arrays: recompute from differentiable inputs
                    kw = {k: v for k, v in kw.items() if k != "saved"}
            elif not watched:
                xp = t._backend.rule_namespace
                out = t._data
                args = t._args
                kw = t._kw
            else:
                xp = t._backend.xp
                out = t.data
                args = t._args
                kw = t._kw
            if not retain_graph:
                t._op = _FREED
                t._parents = ()
                t._args = t._kw = None
            if o.custom:
                computed = o.rules(xp, g, out, args, kw, [type(p) is Tensor and p.requires_grad for p in parents])
            else:
                computed = None
                vjps = o.vjps
            for i, p in enumerate(parents):
                if type(p) is not Tensor or not p.requires_grad:
                    continue
                gp = vjps[i](xp, g, out, *args, **kw) if computed is None else computed[i]
                if gp is None:
                    continue
                if anomaly is not None:
                    anomaly.check_gradient(o, t, i, p, gp)
                shape = p._data.shape
                if gp.shape != shape:
                    gp = _unbroadcast(xp, gp, shape)
                prev = grads.get(p)
                if prev is not None:
                    grads[p] = prev + gp
                    continue
                grads[p] = gp
                if p._op is None:
                    leaves.append(p)
                else:
                    heappush(heap, (-p._seq, p))
            if finals is not None:
                done = finals.pop(seq, None)
                if done is not None:  # t was the last node using these leaves: their .grad is final now
                    for p in done:
                        gp = grads.pop(p, None)
                        if gp is not None:
                            _accumulate(p, _run_grad_hooks(p, gp), create_graph, watched, given)
                            _run_post_accumulate_hooks(p)
        t = None
        for t in leaves:
            g = grads.pop(t, None)
            if g is None:  # given its .grad early (post-accumulate hooks)
                continue
            if hooked:
                g = _run_grad_hooks(t, g)
            if wanted is not None:
                if t in wanted:
                    captured[wanted[t]] = g
                continue
            _accumulate(t, g, create_graph, watched, given)
            if finals is not None:
                _run_post_accumulate_hooks(t)
    except Exception as e:
        if anomaly is not None and t is not None:
            anomaly.annotate(e, t)
        raise
    finally:
        mode.grad_enabled = previous_mode
    return captured


def _accumulate(t, g, create_graph, watched, given):
    """Add ``g`` to leaf ``t``'s ``.grad`` (a new ``.grad`` tensor the first time)."""
    if create_graph:
        if g.dtype != t.dtype:
            g = grad_namespace.astype(g, t.dtype)
        t.grad = g if t.grad is None else t.grad + g
        return
    b = t._backend
    dtype = t._data.dtype
    if g.dtype is not dtype and g.dtype != dtype:  # .grad always has its tensor's dtype (a float32 leaf used
        g = b.xp.astype(g, dtype)  # with float64 values, say)
    old = t._grad if not watched else t.grad
    if old is not None:  # accumulate into the same .grad tensor, as PyTorch (a new array)
        if not watched:
            old._data = old._data + g
        else:
            old.data = old.data + g
        return
    if id(g) in given or not b.owns(g):
        # a rule passed the array on (add's to both inputs, the seed, a reshape's view):
        # each .grad gets its own, so an in-place change of one never reaches another
        g = b.xp.asarray(g, copy=True)
    given.add(id(g))
    if not watched:  # the fields directly: nothing observes them
        t._grad = new(g, b)
    else:
        t.grad = new(g, b)


def _last_users(roots):
    """{sequence number of a node: the leaves with a post-accumulate hook whose last (oldest) user in
    the graph below ``roots`` it is}. Backward visits nodes newest first, so once that node has run,
    nothing else adds to those leaves' gradients."""
    last: dict = {}
    seen = set()
    stack = [r for r in roots if r.requires_grad and r._op is not None]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        for p in n._parents or ():
            if type(p) is Tensor and p.requires_grad:
                if p._op is None:
                    state = hooks.of(p)
                    if state is not None and state.post and last.get(p, n._seq) >= n._seq:
                        last[p] = n._seq
                elif p not in seen:
                    stack.append(p)
    finals: dict = {}
    for leaf, seq in last.items():
        finals.setdefault(seq, []).append(leaf)
    return finals


def _tell_observer(what: str, t: Tensor) -> None:
    """A hook is about to run: an observer (``xgrad.compile`` while recording) may refuse it."""
    if observe.watching:
        obs = observe.current()
        if obs is not None:
            obs.hook(what, t)


def _run_grad_hooks(t, g):
    """``g`` after ``t``'s ``register_hook`` functions (each may return a replacement gradient)."""
    state = hooks.of(t)
    fns = hooks.snapshot(state.grad if state is not None else None)
    if not fns:
        return g
    _tell_observer("a tensor hook (register_hook)", t)
    raw = not isinstance(g, Tensor)
    gt = new(g, t._backend) if raw else g
    for fn in fns:
        r = fn(gt)
        if r is None:
            continue
        if not isinstance(r, Tensor):
            raise TypeError(f"a hook registered with register_hook on a tensor of shape {t.shape} returned "
                            f"{type(r).__name__}; return a Tensor (the new gradient) or None")
        if r.shape != t.shape or r._backend is not t._backend:
            raise ShapeError(
                f"a hook registered with register_hook returned a gradient of shape {r.shape} on "
                f"{r.backend} for a tensor of shape {t.shape} on {t.backend}; it must match the tensor")
        gt = r
    return gt.data if raw else gt


def _run_post_accumulate_hooks(t):
    state = hooks.of(t)
    fns = hooks.snapshot(state.post if state is not None else None)
    if fns:
        _tell_observer("a post-accumulate-grad hook", t)
    for fn in fns:
        fn(t)


def backward(tensor: Tensor, gradient: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
    """``tensor.backward(...)``: accumulate into the ``.grad`` of every leaf the tensor depends on."""
    if not tensor.requires_grad:
        raise GraphError(
            f"backward() of a tensor that does not require grad (shape {tensor.shape}): none of its inputs "
            "has requires_grad=True, or it was made under xgrad.no_grad()")
    if tensor._op is _FREED:
        _FREED.rules()
    retain_graph = retain_graph or create_graph
    run_backward([tensor], [_seed(tensor, gradient, create_graph)], retain_graph, create_graph)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> Any:
    """The gradients of ``outputs`` with respect to ``inputs``, returned as a tuple, one per input (also
    for a single input Tensor, as ``torch.autograd.grad``); no ``.grad`` is touched."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
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
            _FREED.rules()
    if retain_graph is None:
        retain_graph = create_graph
    seeds = [_seed(o, g, create_graph) for o, g in zip(outputs, grad_outputs)]
    distinct = list({id(t): t for t in inputs}.values())  # an input listed twice gets its gradient twice
    by_id = {id(t): g for t, g in zip(distinct, run_backward(outputs, seeds, retain_graph, create_graph,
                                                            capture=distinct))}
    found = [by_id[id(t)] for t in inputs]
    result: list[Tensor | None] = []
    for i, (t, g) in enumerate(zip(inputs, found)):
        if g is None:
            if not allow_unused:
                raise GraphError(
                    f"xgrad.grad: input {i} (shape {t.shape}) was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it")
            result.append(None)
        else:
            result.append(g if isinstance(g, Tensor) else new(g, t._backend))
    return tuple(result)
