"""xgrad.compile: replays equal eager runs bit for bit, retrace when they must, and refuse what they cannot do."""

import weakref

import numpy as np
import pytest

import xgrad
from xgrad.nn.functional import cross_entropy
from xgrad.tracing import TraceError

SIZES = [2, 16, 16, 3]


def _params(backend, seed=1):
    rng = np.random.default_rng(seed)
    ps = []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        ps.append(xgrad.tensor(rng.uniform(-0.5, 0.5, (a, b)), requires_grad=True, backend=backend))
        ps.append(xgrad.tensor(rng.uniform(-0.5, 0.5, (b,)), requires_grad=True, backend=backend))
    return ps


def _step_fn(params, lr=0.1):
    """A whole training step: forward, backward, SGD update, gradients cleared."""

    def step(x, y):
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i + 2 < len(params):
                h = xgrad.tanh(h)
        loss = cross_entropy(h, y)
        loss.backward()
        with xgrad.no_grad():
            for p in params:
                p.data = p.data - lr * p.grad.data
                p.grad = None
        return loss

    return step


def _batches(backend, n=24, steps=6, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        yield (xgrad.tensor(rng.normal(size=(n, 2)), backend=backend),
               xgrad.tensor(rng.integers(0, 3, size=n), backend=backend))


def test_compiled_training_equals_eager_bit_for_bit(backend):
    eager_params, compiled_params = _params(backend), _params(backend)
    eager, compiled = _step_fn(eager_params), xgrad.compile(_step_fn(compiled_params))
    for x, y in _batches(backend):
        le, lc = eager(x, y), compiled(x, y)
        assert le.item() == lc.item()
        for a, b in zip(eager_params, compiled_params):
            assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    plan = compiled.plan(x, y)
    assert plan is not None and plan.steps > 20
    assert "_Diverged" not in plan.source or "raise _Diverged" in plan.source


def test_replay_has_no_tensor_objects_and_drops_dead_work():
    params = _params("numpy")
    base = _step_fn(params)

    def step(x, y):
        xgrad.exp(x).sum()  # result unused: nothing of it may survive in the replay
        return base(x, y)

    compiled = xgrad.compile(step, warmup=0)
    x, y = next(_batches("numpy"))
    compiled(x, y)
    plan = compiled.plan(x, y)
    assert "exp" not in plan.source.replace("expand", "")
    assert "Tensor" not in plan.source


def test_parameter_arrays_are_updated_in_place_on_numpy():
    params = _params("numpy")
    compiled = xgrad.compile(_step_fn(params), warmup=0)
    batches = list(_batches("numpy"))
    compiled(*batches[0])
    arrays = [weakref.ref(p.data) for p in params]  # (weak: an array someone holds is not written into)
    compiled(*batches[1])
    assert all(p.data is a() for p, a in zip(params, arrays))  # same buffers, new values
    assert "out=" in compiled.plan(*batches[1]).source


def test_an_array_the_user_holds_keeps_its_values_though_updates_reuse_buffers():
    params, eager_params = _params("numpy"), _params("numpy")
    compiled, eager = xgrad.compile(_step_fn(params), warmup=0), _step_fn(eager_params)
    batches = list(_batches("numpy"))
    for x, y in batches[:2]:
        compiled(x, y)
        eager(x, y)
    held = [p.data for p in params]  # the step gives each parameter a new array: these keep their values
    before = [a.copy() for a in held]
    for x, y in batches[2:]:
        compiled(x, y)
        eager(x, y)
    for a, b in zip(held, before):
        np.testing.assert_array_equal(a, b)
    for p, q in zip(params, eager_params):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_new_shapes_retrace():
    params = _params("numpy")
    eager_params = _params("numpy")
    compiled, eager = xgrad.compile(_step_fn(params), warmup=0), _step_fn(eager_params)
    for n in (8, 8, 5, 5, 8):
        x, y = next(_batches("numpy", n=n, seed=n))
        assert compiled(x, y).item() == eager(x, y).item()
    assert len(compiled._plans) == 2


def test_value_dependent_control_flow_is_guarded():
    def f(x):
        if (x.sum() > 0).item():  # Python control flow on a value: a guard in the replay
            return x * 2
        return x - 1

    compiled = xgrad.compile(f, warmup=0)
    for values in ([1.0, 2.0], [3.0, 4.0], [-5.0, 1.0], [2.0, 2.0]):
        x = xgrad.tensor(values, dtype="float64")
        assert np.array_equal(compiled(x).numpy(), f(x).numpy())
    assert compiled._retraces  # the sign flip forced a retrace


def test_learning_rate_given_as_argument_is_part_of_the_signature():
    params, eager_params = _params("numpy"), _params("numpy")

    def step(x, y, lr):
        return _step_fn(params, lr)(x, y)

    compiled = xgrad.compile(step, warmup=0)
    for i, (x, y) in enumerate(_batches("numpy")):
        lr = 0.1 if i < 3 else 0.01
        assert compiled(x, y, lr).item() == _step_fn(eager_params, lr)(x, y).item()
    assert len(compiled._plans) == 2


def test_random_numbers_are_drawn_anew_on_every_replay():
    def noisy(x):
        return x + xgrad.rand(*x.shape, dtype="float64")

    compiled = xgrad.compile(noisy, warmup=0)
    x = xgrad.zeros(4, dtype="float64")
    xgrad.manual_seed(3)
    got = [compiled(x).numpy() for _ in range(3)]
    xgrad.manual_seed(3)
    want = [noisy(x).numpy() for _ in range(3)]
    for a, b in zip(got, want):
        assert np.array_equal(a, b)
    assert not np.array_equal(got[0], got[1])


def test_numpy_ufuncs_on_traced_arrays_are_recorded():
    def f(x):
        return xgrad.tensor(np.tanh(x.data) + 1)

    compiled = xgrad.compile(f, warmup=0)
    for v in ([0.5, 1.0], [2.0, -1.0]):
        x = xgrad.tensor(v, dtype="float64")
        assert np.array_equal(compiled(x).numpy(), np.tanh(v) + 1)


def test_raw_numpy_functions_inside_a_compiled_function_are_refused():
    def bad(x):
        return xgrad.tensor(np.linalg.norm(x.data))

    compiled = xgrad.compile(bad, warmup=0)
    with pytest.raises(TraceError, match="outside the backend namespace"):
        compiled(xgrad.ones(3))


def test_unhashable_arguments_are_refused():
    compiled = xgrad.compile(lambda x, opts: x, warmup=0)
    with pytest.raises(TypeError, match="neither a Tensor nor a hashable value"):
        compiled(xgrad.ones(2), [1, 2])


def test_warmup_runs_eagerly_first():
    calls = []

    def f(x):
        calls.append(1)
        return x * 3

    compiled = xgrad.compile(f, warmup=2)
    x = xgrad.ones(2)
    for _ in range(5):
        assert np.array_equal(compiled(x).numpy(), [3.0, 3.0])
    assert len(calls) == 3  # two eager warm-up calls, one trace, then replays only


def _module_step(model, opt, schedule=None):
    def step(x, y):
        opt.zero_grad()
        loss = cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


@pytest.mark.parametrize("make_opt", [
    lambda ps: xgrad.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda ps: xgrad.optim.Adam(ps, lr=1e-2),
    lambda ps: xgrad.optim.AdamW(ps, lr=1e-2),
], ids=["sgd-nesterov", "adam", "adamw"])
def test_compiled_module_and_optimizer_step_equals_eager(backend, make_opt):
    models = []
    for _ in range(2):
        xgrad.manual_seed(0)
        m = xgrad.nn.MLP([2, 16, 3], activation="tanh", dropout=0.2, backend=backend, dtype="float64")
        models.append((m, make_opt(m.parameters())))
    eager = _module_step(*models[0])
    compiled = xgrad.compile(_module_step(*models[1]))
    for i, (x, y) in enumerate(_batches(backend, steps=5)):
        xgrad.manual_seed(100 + i)  # dropout masks: the same draws in both runs
        le = eager(x, y)
        xgrad.manual_seed(100 + i)
        lc = compiled(x, y)
        assert le.item() == lc.item()
        for a, b in zip(models[0][0].parameters(), models[1][0].parameters()):
            assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    assert len(compiled._plans) == 1 and not compiled._retraces


def test_scheduler_changing_the_learning_rate_retraces():
    runs = []
    for compiled in (False, True):
        xgrad.manual_seed(0)
        model = xgrad.nn.MLP([2, 8, 3], backend="numpy", dtype="float64")
        opt = xgrad.optim.SGD(model.parameters(), lr=0.5)
        sched = xgrad.optim.StepLR(opt, step_size=2, gamma=0.5)
        step = _module_step(model, opt)
        step = xgrad.compile(step) if compiled else step
        losses = []
        for x, y in _batches("numpy", steps=6):
            losses.append(step(x, y).item())
            sched.step()
        runs.append((losses, step))
    assert runs[0][0] == runs[1][0]
    assert runs[1][1]._retraces  # each learning-rate change failed a guard and retraced


def test_fit_with_compile_matches_eager_fit():
    from xgrad.training import fit

    X, y = xgrad.data.two_moons(200, noise=0.2, seed=1, dtype="float64")
    results = []
    for compiled in (False, True):
        xgrad.manual_seed(5)
        model = xgrad.nn.MLP([2, 8, 2], dtype="float64")
        opt = xgrad.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
        results.append(fit(model, X, y, opt, epochs=3, batch_size=64, seed=2, compile=compiled))
    assert results[0].losses == results[1].losses
    assert results[0].accuracy == results[1].accuracy and results[0].loss == results[1].loss


def test_compiled_function_called_inside_another_runs_as_part_of_its_trace(backend):
    w = xgrad.tensor([[0.5, -1.0], [2.0, 0.25]], dtype="float64", backend=backend, requires_grad=True)

    def layer(h):
        return xgrad.tanh(h @ w)

    def make_step(inner):
        def step(x):
            loss = xgrad.sum(inner(x) * x)
            w.grad = None
            loss.backward()
            return loss, w.grad
        return step

    outer = xgrad.compile(make_step(xgrad.compile(layer, warmup=0)), warmup=0)
    x = xgrad.tensor([[1.0, 2.0]], dtype="float64", backend=backend)
    expected_loss, expected_grad = make_step(layer)(x)
    for _ in range(3):  # trace, then replays
        loss, grad = outer(x)
        assert float(loss) == float(expected_loss)
        assert np.array_equal(grad.numpy(), expected_grad.numpy())


def test_results_carry_no_graph_and_a_backward_through_them_is_an_error():
    w = xgrad.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    f = xgrad.compile(lambda x: x * w, warmup=0)
    x = xgrad.tensor([3.0, 4.0], dtype="float64")
    for _ in range(2):  # the traced call, then a replay: the same kind of result
        out = f(x)
        assert out.detach().numpy().tolist() == [3.0, 8.0]
        w.grad = None
        # a gradient path through the compiled result, beside one that does not go through it
        loss = xgrad.sum(out) + xgrad.sum(w * w)
        with pytest.raises(xgrad.GraphError, match="compile"):
            loss.backward()  # never a silently partial gradient
    assert xgrad.compile(lambda x: x * 2.0, warmup=0)(x).requires_grad is False  # no graph inside: a plain result


def test_host_values_read_inside_a_compiled_function_are_guarded(backend):
    scale = xgrad.tensor([2.0], dtype="float64", backend=backend)

    def f(x):
        return x * float(scale.numpy()[0])  # a host value: the replay must notice when it changes

    g = xgrad.compile(f, warmup=0)
    x = xgrad.tensor([1.0, 3.0], dtype="float64", backend=backend)
    assert g(x).numpy().tolist() == [2.0, 6.0]
    assert g(x).numpy().tolist() == [2.0, 6.0]
    scale.data = xgrad.tensor([5.0], dtype="float64", backend=backend).data
    assert g(x).numpy().tolist() == [5.0, 15.0]


def test_an_error_while_tracing_leaves_tensors_and_the_engine_as_they_were(backend):
    from xgrad import observe

    w = xgrad.tensor([1.0, 2.0], dtype="float64", backend=backend, requires_grad=True)
    before = w.detach().numpy().tolist()

    def f(x):
        y = x * w
        raise RuntimeError("user error inside the function")

    g = xgrad.compile(f, warmup=0)
    with pytest.raises(RuntimeError, match="user error"):
        g(xgrad.tensor([3.0, 4.0], dtype="float64", backend=backend))
    assert observe.current() is None and observe.watching == 0
    assert xgrad.get_backend(backend).is_array(w.data) and w.detach().numpy().tolist() == before
    assert xgrad.sum(w * w).detach().numpy().item() == 5.0  # the engine works eagerly again


def test_other_threads_see_tensors_unchanged_while_a_trace_runs(backend):
    import threading

    w = xgrad.tensor([1.0, 2.0], dtype="float64", backend=backend, requires_grad=True)
    reading, done = threading.Event(), threading.Event()
    seen = {}

    def other_thread():
        reading.wait(10)
        seen["array"] = xgrad.get_backend(backend).is_array(w.data)
        seen["sum"] = float(xgrad.sum(w * 2.0))
        seen["grad"] = w.grad
        done.set()

    def step(x):
        loss = xgrad.sum(w * x)
        w.grad = None
        loss.backward()
        with xgrad.no_grad():
            w.data = w.data - 0.5 * w.grad.data  # written inside the trace, not yet outside it
        reading.set()
        done.wait(10)
        return loss

    thread = threading.Thread(target=other_thread)
    thread.start()
    xgrad.compile(step, warmup=0)(xgrad.tensor([3.0, 4.0], dtype="float64", backend=backend))
    thread.join()
    assert seen == {"array": True, "sum": 6.0, "grad": None}
    assert w.detach().numpy().tolist() == [-0.5, 0.0] and w.grad.detach().numpy().tolist() == [3.0, 4.0]  # after the trace
