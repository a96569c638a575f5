"""The package's structure: an import graph without cycles or lazy imports of its own modules, a
Tensor module that knows no op, and tracing that watches the engine without patching it."""

import ast
import pathlib

import pytest

import xgrad

PACKAGE = pathlib.Path(xgrad.__file__).parent


def _module_name(path):
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module, node):
    """The xgrad modules an ImportFrom/Import node names (submodules included), or []."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "xgrad"]
    if node.level:
        base = module.split(".")
        is_package = (PACKAGE.parent / pathlib.Path(*base) / "__init__.py").exists()
        base = base[:len(base) - node.level + (1 if is_package else 0)]
        target = ".".join(base + ([node.module] if node.module else []))
    elif node.module and node.module.split(".")[0] == "xgrad":
        target = node.module
    else:
        return []
    found = []
    for alias in node.names:  # `from . import x`: x is a submodule, or a name the package defines
        sub = f"{target}.{alias.name}"
        path = PACKAGE.parent / pathlib.Path(*sub.split("."))
        if path.with_suffix(".py").exists() or (path / "__init__.py").exists():
            found.append(sub)
        elif target not in found:
            found.append(target)
    return found


def _imports():
    """module -> (module-level xgrad imports, imports of xgrad inside functions)."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        tree = ast.parse(path.read_text())
        top, lazy = set(), []
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                top.update(_resolve(module, node))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)) and _resolve(module, inner):
                        lazy.append(f"{module}:{inner.lineno}")
        # importing a.b.c runs the package a.b first, unless a.b is the importer's own package (being
        # imported already) or the root package (it imports everything, last)
        own = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
        for m in list(top):
            parts = m.split(".")
            top.update(p for p in (".".join(parts[:i]) for i in range(2, len(parts))) if p not in own)
        top.discard(module)
        top.discard("xgrad")
        out[module] = (top, lazy)
    return out


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, result = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                result.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return result


def test_module_level_imports_have_no_cycle():
    graph = {m: top for m, (top, _) in _imports().items()}
    assert _cycles(graph) == []


# the layers of docs/ARCHITECTURE.md: a module imports its own layer or lower ones only
LAYERS = {
    "xgrad.errors": 0, "xgrad._state": 0, "xgrad.observe": 0,
    "xgrad.backends": 1,
    "xgrad.tensor": 2,
    "xgrad.ops": 3, "xgrad.creation": 3, "xgrad.inplace": 3,
    "xgrad.autograd": 4, "xgrad.function": 4, "xgrad.ops.methods": 4,
    "xgrad.tracing": 5, "xgrad.passes": 5, "xgrad.fusion": 5, "xgrad.graphs": 5, "xgrad.compile": 5,
    "xgrad.nn": 6, "xgrad.optim": 6, "xgrad.data": 6, "xgrad.checkpoint": 6,
    "xgrad.training": 6, "xgrad.distributed": 6, "xgrad.models": 6,
    "xgrad.gradcheck": 7, "xgrad.reference": 7, "xgrad.plotting": 7, "xgrad.cli": 7, "xgrad.__main__": 7,
    "xgrad.hooks": 0, "xgrad.anomaly": 4, "xgrad.amp": 6, "xgrad.utils": 6, "xgrad.viz": 7, "xgrad.memory": 7,
    "xgrad.serialization": 6, "xgrad.porting": 6,
    "xgrad.ops.sorting": 3,
    "xgrad.linalg": 3, "xgrad.fft": 3,
    "xgrad.array_api": 3, "xgrad.special": 3,
    "xgrad.ops.math": 3,
}


def _layer(module):
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        if name in LAYERS:
            return LAYERS[name]
    raise KeyError(f"{module} has no layer: add it to LAYERS and docs/ARCHITECTURE.md")


def test_modules_import_only_their_layer_or_lower_ones():
    upward = [(m, t) for m, (top, _) in _imports().items() if m != "xgrad"
              for t in top if _layer(t) > _layer(m)]
    assert upward == []


def test_no_module_imports_xgrad_lazily():
    lazy = [site for _, (_, sites) in _imports().items() for site in sites]
    assert lazy == []


def test_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_tensor_module_knows_no_op_autograd_or_tracing():
    top, _ = _imports()["xgrad.tensor"]
    assert not {m for m in top if m.startswith(("xgrad.ops", "xgrad.autograd", "xgrad.tracing", "xgrad.compile"))}


def test_only_the_compiler_mentions_tracers():
    allowed = {"tracing.py", "compile.py", "passes.py"}
    bad = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
           if p.name not in allowed and ("tracer" in p.read_text().lower())]
    assert bad == []


def _snapshot():
    snap = {"Tensor": dict(xgrad.Tensor.__dict__)}
    for b in xgrad.backends.loaded_backends():
        snap[b.name] = (dict(vars(b)), dict(vars(type(b))), dict(vars(b.rule_namespace)))
    return snap


def test_tracing_patches_no_class_and_no_backend(backend):
    xgrad.get_backend(backend)
    before = _snapshot()
    seen = []
    w = xgrad.tensor([[0.5, -1.0], [2.0, 0.25]], dtype="float64", backend=backend, requires_grad=True)

    def step(x):
        seen.append(_snapshot())
        loss = xgrad.sum(xgrad.tanh(x @ w))
        w.grad = None
        loss.backward()
        with xgrad.no_grad():
            w.data = w.data - 0.1 * w.grad.data
        return loss

    compiled = xgrad.compile(step, warmup=0)
    x = xgrad.tensor([[1.0, 2.0]], dtype="float64", backend=backend)
    compiled(x)  # traced
    compiled(x)  # replayed
    assert len(seen) == 1
    assert seen[0] == before
    assert _snapshot() == before


def test_observers_are_per_thread():
    import threading

    from xgrad import observe

    class Counting(observe.Observer):
        made = 0

        def created(self, tensor):
            Counting.made += 1

    other_made = []

    def other_thread():
        a = xgrad.tensor([1.0, 2.0])
        other_made.append(xgrad.sum(a * a))

    with observe.observing(Counting()):
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        xgrad.tensor([1.0]) + 1.0
    assert other_made and Counting.made == 2  # the tensor and the sum of this thread; none of the other's
    assert observe.current() is None and observe.watching == 0


def test_observing_twice_in_one_thread_is_an_error():
    from xgrad import observe

    with observe.observing(observe.Observer()):
        with pytest.raises(RuntimeError, match="already observed"):
            with observe.observing(observe.Observer()):
                pass
    assert observe.watching == 0
