"""CUDA-graph replay (``xgrad.compile(fn, cuda_graph=True)``, ``xgrad/graphs.py``), checked on the CPU
with an emulated graph (``graph_emulation.py``: it fails where a real graph would read or write other
arrays than it recorded): the same numbers as eager, bit for bit; no result, gradient or parameter a
user holds is overwritten behind their back; steps a graph cannot hold run plain replays and say why.
Real graphs (CuPy, torch on CUDA): ``test_graphs_gpu.py``."""

import warnings

import numpy as np
import pytest

import xgrad
from xgrad import nn, optim
from xgrad.backends import checks
from xgrad.nn import functional as F

from graph_emulation import EmulatedGraphs


@pytest.fixture(params=["numpy", "torch"])
def graphs(request):
    """(backend name, the emulated graphs it records with)."""
    status = xgrad.available_backends().get(request.param)
    if status is not None:
        pytest.skip(f"{request.param} unavailable here: {status}")
    b = xgrad.get_backend(request.param)
    emulated = EmulatedGraphs()
    b.capture_graph = emulated
    yield request.param, emulated
    del b.capture_graph


def _model(backend, dropout=0.3, seed=0):
    xgrad.manual_seed(seed)
    m = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Dropout(dropout), nn.Linear(8, 3))
    return m.to(backend=backend, dtype="float64")


def _step(m, opt):
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def _batches(backend, steps=8, seed=1, labels=None):
    rng = np.random.default_rng(seed)
    for i in range(steps):
        y = rng.integers(0, 3, 16) if labels is None or i not in labels else np.array(labels[i])
        yield xgrad.tensor(rng.standard_normal((16, 2)), backend=backend), xgrad.tensor(y, backend=backend)


def _train(backend, how, make_opt=lambda ps: optim.Adam(ps, lr=1e-2), steps=8, dropout=0.3, each=None):
    """Losses (floats) and final parameters (NumPy) of ``steps`` steps: eager, "plain" or "graph"."""
    m = _model(backend, dropout)
    opt = make_opt(m.parameters())
    step = _step(m, opt)
    if how != "eager":
        step = xgrad.compile(step, cuda_graph=how == "graph")
    losses = []
    for i, (x, y) in enumerate(_batches(backend, steps)):
        losses.append(step(x, y))
        if each is not None:
            each(i, m, step)
    return [float(v) for v in losses], [p.detach().numpy().copy() for p in m.parameters()], step


def _plan(step):
    (plans,) = step._plans.values()
    return plans[0]


@pytest.mark.parametrize("make_opt", [lambda ps: optim.Adam(ps, lr=1e-2),
                                      lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)],
                         ids=["adam", "sgd-nesterov"])
def test_graph_steps_equal_eager_bit_for_bit_with_dropout(graphs, make_opt):
    backend, emulated = graphs
    eager_losses, eager_params, _ = _train(backend, "eager", make_opt)
    losses, params, step = _train(backend, "graph", make_opt)
    assert losses == eager_losses
    for a, b in zip(params, eager_params):
        np.testing.assert_array_equal(a, b)
    g = _plan(step).graph
    # call 1 eager (warm-up), call 2 traced, then one recording and a launch per call
    assert (g.captures, g.launches, g.fallbacks, g.disabled) == (1, 6, 0, None)
    assert emulated.launches == 6


@pytest.mark.parametrize("what", ["tensor", "array", "both"])
def test_a_gradient_kept_past_the_next_call_keeps_its_values(graphs, what):
    backend, _ = graphs
    kept = {}

    def keep(i, m, step):
        if i == 4:
            g = m[0].weight.grad
            kept["copy"] = g.detach().numpy().copy()
            if what in ("tensor", "both"):
                kept["tensor"] = g
            if what in ("array", "both"):
                kept["array"] = g.data

    losses, params, step = _train(backend, "graph", each=keep)
    eager_losses, eager_params, _ = _train(backend, "eager")
    assert losses == eager_losses
    if "tensor" in kept:
        np.testing.assert_array_equal(kept["tensor"].detach().numpy(), kept["copy"])
    if "array" in kept:
        np.testing.assert_array_equal(xgrad.backends.to_host(kept["array"]), kept["copy"])
    g = _plan(step).graph
    assert g.fallbacks == 3 and g.launches == 3  # calls 6-8 ran plain while the gradient was held


def test_a_view_of_a_kept_gradient_keeps_its_values(graphs):
    backend, _ = graphs
    kept = {}

    def keep(i, m, step):
        if i == 3:
            kept["view"] = m[3].weight.grad.data[1:]  # a view of the graph's array, nothing else kept
            kept["copy"] = xgrad.backends.to_host(kept["view"]).copy()

    _train(backend, "graph", each=keep)
    np.testing.assert_array_equal(xgrad.backends.to_host(kept["view"]), kept["copy"])


def test_results_are_copies_the_next_call_does_not_change(graphs):
    backend, _ = graphs
    m = _model(backend)
    step = xgrad.compile(_step(m, optim.Adam(m.parameters(), lr=1e-2)), cuda_graph=True)
    losses = [step(x, y) for x, y in _batches(backend, 6)]
    values = [float(v) for v in losses]
    assert len(set(values)) == 6
    assert values == _train(backend, "eager", steps=6)[0]


def test_a_parameter_given_a_new_array_is_recorded_again(graphs):
    backend, emulated = graphs

    def replace(i, m, step):
        if i in (3, 5):
            p = m[0].bias
            p.data = p.data * 1  # a new array (same values), as loading a checkpoint would give

    losses, params, step = _train(backend, "graph", each=replace)
    eager_losses, eager_params, _ = _train(backend, "eager", each=replace)
    assert losses == eager_losses
    for a, b in zip(params, eager_params):
        np.testing.assert_array_equal(a, b)
    assert _plan(step).graph.captures == 3 and emulated.captures == 3


def test_state_given_new_arrays_is_written_back_and_saved_graphs_stay_right(graphs):
    backend, _ = graphs
    ws = {}
    for how in ("eager", "graph"):
        m = _model(backend, dropout=0.0)

        def step(x, y, m=m):
            for p in m.parameters():
                p.grad = None
            F.cross_entropy(m(x), y).backward()
            with xgrad.no_grad():
                for p in m.parameters():
                    p.data = p.data - 0.1 * p.grad.data  # a new array each step (not an in-place update)

        run = step if how == "eager" else xgrad.compile(step, cuda_graph=True)
        for x, y in _batches(backend, 6):
            run(x, y)
        ws[how] = [p.detach().numpy().copy() for p in m.parameters()]
        if how == "graph":
            g = _plan(run).graph
            assert (g.captures, g.launches, g.fallbacks) == (1, 4, 0)
            w = m[0].weight
            before = w.detach().numpy().copy()
            saved = (w * w).sum()  # its backward reads w's values: those of now
            x, y = next(_batches(backend, 1, seed=9))
            run(x, y)  # gives w new values
            w.grad = None
            try:
                saved.backward()
            except xgrad.GraphError:
                pass  # the graph wrote into the array the backward saved: it refuses
            else:  # or the call ran without the graph, leaving that array as it was
                np.testing.assert_array_equal(w.grad.detach().numpy(), 2 * before)
    for a, b in zip(ws["graph"], ws["eager"]):
        np.testing.assert_array_equal(a, b)


def _warned(step, x, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        step(x, y)
    return [str(w.message) for w in caught if "cuda_graph" in str(w.message)]


def test_a_host_read_in_the_step_runs_plain_replays_and_says_why(graphs):
    backend, emulated = graphs
    m = _model(backend, dropout=0.0)
    opt = optim.SGD(m.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(m(x), y)
        if loss.item() > 100:  # a guard: a graph would replay the branch it took once
            loss = loss * 0.5
        loss.backward()
        opt.step()
        return loss

    compiled = xgrad.compile(step, cuda_graph=True)
    batches = list(_batches(backend, 5))
    compiled(*batches[0])
    messages = _warned(compiled, *batches[1])  # the trace
    assert any("reads a value on the host" in m for m in messages)
    for x, y in batches[2:]:
        compiled(x, y)
    assert _plan(compiled).graph is None and emulated.captures == 0


def test_gradient_accumulation_runs_plain_replays(graphs):
    backend, emulated = graphs
    m = _model(backend, dropout=0.0)

    def accumulate(x, y):  # no zero_grad: reads the gradients the last call left
        F.cross_entropy(m(x), y).backward()

    compiled = xgrad.compile(accumulate, cuda_graph=True)
    batches = list(_batches(backend, 5))
    compiled(*batches[0])
    assert any("accumulation" in m for m in _warned(compiled, *batches[1]))  # the trace
    compiled(*batches[2])
    grads = [p.grad.detach().numpy().copy() for p in m.parameters()]
    m2 = _model(backend, dropout=0.0)
    for x, y in batches[:3]:
        F.cross_entropy(m2(x), y).backward()
    for a, p in zip(grads, m2.parameters()):
        np.testing.assert_array_equal(a, p.grad.detach().numpy())
    assert emulated.captures == 0


def test_a_backend_without_graphs_warns_once_and_replays_plainly():
    m = _model("numpy")
    step = xgrad.compile(_step(m, optim.Adam(m.parameters(), lr=1e-2)), cuda_graph=True)
    batches = list(_batches("numpy", 6))
    messages = []
    for x, y in batches:
        messages += _warned(step, x, y)
    assert len(messages) == 1 and "backend 'numpy' has no CUDA graphs" in messages[0]
    assert _plan(step).graph.disabled is not None
    assert [float(step(x, y)) for x, y in []] == []
    m2 = _model("numpy")
    assert float(_step(m2, optim.Adam(m2.parameters(), lr=1e-2))(*batches[0])) == \
        _train("numpy", "eager", steps=1)[0][0]


def test_graphs_are_off_unless_asked_for():
    m = _model("numpy")
    step = xgrad.compile(_step(m, optim.Adam(m.parameters(), lr=1e-2)))
    for x, y in _batches("numpy", 3):
        step(x, y)
    assert _plan(step).graph is None and not xgrad.get_backend("numpy").graph_by_default


def test_bad_labels_in_a_graph_replay_raise_as_in_eager(graphs):
    backend, _ = graphs
    m = _model(backend)
    step = xgrad.compile(_step(m, optim.Adam(m.parameters(), lr=1e-2)), cuda_graph=True)
    batches = list(_batches(backend, 6, labels={4: [0, 1, 2, 7] * 4}))
    for x, y in batches[:4]:
        step(x, y)
    before = [p.detach().numpy().copy() for p in m.parameters()]
    with pytest.raises(xgrad.LabelError, match=r"got labels from 0 to 7"):
        step(*batches[4])
    for a, p in zip(before, m.parameters()):  # nothing was updated
        np.testing.assert_array_equal(a, p.detach().numpy())


def test_deferred_bad_labels_in_a_graph_replay_report_at_the_next_read(graphs):
    backend, _ = graphs
    b = xgrad.get_backend(backend)
    b.deferred_checks = True
    checks.pending.clear()
    try:
        m = _model(backend)
        step = xgrad.compile(_step(m, optim.Adam(m.parameters(), lr=1e-2)), cuda_graph=True)
        batches = list(_batches(backend, 6, labels={4: [0, 1, 2, 7] * 4}))
        for x, y in batches[:4]:
            step(x, y)
        assert _plan(step).graph.launches == 2
        loss = step(*batches[4])  # launched: the check's verdict waits on the device
        with pytest.raises(xgrad.LabelError, match=r"got labels from 0 to 7 \(raised at \.item\(\)"):
            loss.item()
    finally:
        del b.deferred_checks
        checks.pending.clear()


def test_a_changed_learning_rate_traces_and_records_again(graphs):
    backend, emulated = graphs

    def decay(i, m, step):
        if i == 4:
            step.__wrapped__.opt.param_groups[0]["lr"] *= 0.5

    def train(how):
        m = _model(backend)
        opt = optim.Adam(m.parameters(), lr=1e-2)
        fn = _step(m, opt)
        fn.opt = opt
        step = fn if how == "eager" else xgrad.compile(fn, cuda_graph=True)
        out = []
        for i, (x, y) in enumerate(_batches(backend, 8)):
            out.append(float(step(x, y)))
            if i == 4:
                opt.param_groups[0]["lr"] *= 0.5
        return out
    assert train("graph") == train("eager")
    assert emulated.captures == 2


def test_fit_with_recorded_steps_equals_fit_without(graphs):
    backend, emulated = graphs
    X, y = xgrad.data.load_dataset("moons", n_samples=150, seed=3, backend=backend, dtype="float64")
    results = {}
    for how in ("eager", "graph"):
        m = _model(backend)
        opt = optim.Adam(m.parameters(), lr=1e-2)
        r = xgrad.training.fit(m, X, y, opt, epochs=3, batch_size=32, seed=5, compile=how == "graph",
                               cuda_graph=how == "graph")
        results[how] = (r.loss, r.accuracy, r.history if hasattr(r, "history") else None,
                        [p.detach().numpy().copy() for p in m.parameters()])
    assert results["graph"][:3] == results["eager"][:3]
    for a, b in zip(results["graph"][3], results["eager"][3]):
        np.testing.assert_array_equal(a, b)
    assert emulated.captures == 2 and emulated.launches == 3 * 5 - 4  # two batch shapes (32 and 22)


def test_fit_refuses_cuda_graph_without_compile():
    m = _model("numpy")
    X, y = xgrad.data.load_dataset("moons", n_samples=40, seed=3)
    with pytest.raises(ValueError, match="cuda_graph=True needs compile=True"):
        xgrad.training.fit(m, X, y, optim.SGD(m.parameters(), lr=0.1), epochs=1, cuda_graph=True)


def test_returning_a_parameter_updated_in_place_keeps_the_graph(graphs):
    backend, _ = graphs
    outs = {}
    for how in ("eager", "graph"):
        m = _model(backend, dropout=0.0)
        opt = optim.Adam(m.parameters(), lr=1e-2)
        inner = _step(m, opt)

        def step(x, y, inner=inner, m=m):
            return inner(x, y), m[0].weight  # the weight after its in-place update

        run = step if how == "eager" else xgrad.compile(step, cuda_graph=True)
        outs[how] = [(float(loss), w.detach().numpy().copy()) for loss, w in
                     (run(x, y) for x, y in _batches(backend, 6))]
        if how == "graph":
            g = _plan(run).graph
            assert (g.launches, g.fallbacks) == (4, 0)
    for (la, wa), (lb, wb) in zip(outs["graph"], outs["eager"]):
        assert la == lb
        np.testing.assert_array_equal(wa, wb)


def test_an_argument_sharing_memory_with_an_updated_parameter_is_read_after_the_update(graphs):
    backend, _ = graphs
    outs = {}
    for how in ("eager", "graph"):
        w = xgrad.tensor(np.array([1.0, 2.0]), backend=backend, requires_grad=True)
        opt = optim.SGD([w], lr=0.1)

        def step(v, w=w, opt=opt):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()  # w in place: v, the same memory, sees it
            return v * 1

        run = step if how == "eager" else xgrad.compile(step, cuda_graph=True)
        outs[how] = [run(w.detach()).numpy().tolist() for _ in range(6)]  # v: w's own array
    assert outs["graph"] == outs["eager"]


def test_a_tensor_given_a_new_array_each_call_never_overwrites_the_arrays_handed_out(graphs):
    backend, _ = graphs
    held, snapshots = [], []
    ema = xgrad.tensor(np.zeros(3), backend=backend)

    def step(x):
        with xgrad.no_grad():
            ema.data = 0.5 * ema.data + x.data  # a new array each call

    run = xgrad.compile(step, cuda_graph=True)
    for i in range(6):
        run(xgrad.tensor(np.full(3, float(i)), backend=backend))
        held.append(ema.data)  # kept, as a user keeping a history would
        snapshots.append(xgrad.backends.to_host(ema.data).copy())
    for a, s in zip(held, snapshots):
        np.testing.assert_array_equal(xgrad.backends.to_host(a), s)
