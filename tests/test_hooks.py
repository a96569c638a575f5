"""Tensor hooks, post-accumulate hooks and module hooks: what they see, what they change, when they run,
and that a compiled function never skips one silently."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import xgrad
from xgrad import hooks, nn


def _leaf(values, backend):
    return xgrad.tensor(values, dtype="float64", backend=backend, requires_grad=True)


def test_a_hook_that_doubles_a_gradient_doubles_it_and_remove_undoes_it(backend):
    x = _leaf([1.0, -2.0, 3.0], backend)
    handle = x.register_hook(lambda g: g * 2)
    (x * x).sum().backward()
    np.testing.assert_allclose(xgrad.to(x.grad, backend="numpy").numpy(), [4.0, -8.0, 12.0])
    handle.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(xgrad.to(x.grad, backend="numpy").numpy(), [2.0, -4.0, 6.0])
    assert not hooks.of(x).grad and not hooks.of(x).counts.counted  # backward's fast path again


def test_a_hook_on_a_non_leaf_sees_its_whole_gradient_and_its_replacement_flows_on():
    x = _leaf([1.0, 2.0], None)
    y = x * 3.0
    seen = []

    def hook(g):
        seen.append(g.tolist())
        return g + 1.0

    y.register_hook(hook)
    (y.sum() * 2.0 + (y * y).sum()).backward()
    # dL/dy = 2 + 2y = [8, 14], seen once as a whole; the replacement [9, 15] reaches x times 3
    assert seen == [[8.0, 14.0]]
    assert x.grad.tolist() == [27.0, 45.0]


def test_hooks_run_in_registration_order_and_chain():
    x = _leaf([1.0], None)
    x.register_hook(lambda g: g + 1.0)
    x.register_hook(lambda g: g * 10.0)
    (x * 1.0).sum().backward()
    assert x.grad.tolist() == [20.0]


def test_grad_returns_what_the_hooks_made_and_leaves_dot_grad_alone():
    x = _leaf([1.0, 2.0], None)
    x.register_hook(lambda g: -g)
    (gx,) = xgrad.grad((x * x).sum(), [x])
    assert gx.tolist() == [-2.0, -4.0]
    assert x.grad is None


def test_a_hook_returning_a_wrong_shape_is_refused():
    x = _leaf([1.0, 2.0], None)
    x.register_hook(lambda g: g.sum())
    with pytest.raises(ValueError, match="shape"):
        (x * x).sum().backward()


def test_a_hook_whose_closure_holds_its_tensor_dies_with_it():
    import gc
    import weakref

    gc.collect()
    live = hooks.live
    x = _leaf([1.0], None)
    x.register_hook(lambda g: g * x)  # the closure refers to x itself
    x.register_post_accumulate_grad_hook(lambda t: x)
    assert hooks.live == live + 1
    ref = weakref.ref(x)
    del x
    gc.collect()
    assert ref() is None and hooks.live == live  # backward is back to its fast path


def test_hooks_need_a_tensor_that_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        xgrad.tensor([1.0]).register_hook(lambda g: g)
    x = _leaf([1.0], None)
    with pytest.raises(RuntimeError, match="leaf"):
        (x * 2.0).register_post_accumulate_grad_hook(lambda t: None)


def test_post_accumulate_hooks_fire_once_per_leaf_per_backward_after_the_gradient_is_final(backend):
    # w is used by the newest and by an old node, b only by new ones: b is final first
    w = _leaf([1.0, 2.0], backend)
    b = _leaf([0.5], backend)
    x = xgrad.tensor([3.0, 4.0], dtype="float64", backend=backend)
    log = []
    for name, t in (("w", w), ("b", b)):
        t.register_post_accumulate_grad_hook(
            lambda t, name=name: log.append((name, xgrad.to(t.grad, backend="numpy").numpy().tolist())))
    hidden = w * x  # oldest node using w
    loss = (hidden.sum() + b).sum() * 2.0 + (w * w).sum() + (b * b).sum()
    loss.backward()
    assert log == [("b", [3.0]), ("w", [8.0, 12.0])]  # d/db = 2 + 2b, d/dw = 2x + 2w: the final values
    loss2 = (w * x).sum() + b.sum()
    loss2.backward()  # accumulates: hooks see the sum of both backward passes, once each
    assert log[2:] == [("b", [4.0]), ("w", [11.0, 16.0])]  # b's only user is newer than w's


def test_post_accumulate_hooks_fire_when_the_gradient_is_final_not_at_the_end():
    a = _leaf([1.0], None)
    b = _leaf([2.0], None)
    order = []
    a.register_post_accumulate_grad_hook(lambda t: order.append(("a", b.grad)))
    b.register_post_accumulate_grad_hook(lambda t: order.append(("b", a.grad is not None)))
    # b's only user is the oldest node; a's only user is the newest: a is final (and hooked) before b
    loss = (b * 3.0).sum() + (a * 5.0).sum()
    loss.backward()
    assert order == [("a", None), ("b", True)]


def test_post_accumulate_hooks_are_not_called_by_grad():
    x = _leaf([1.0], None)
    called = []
    x.register_post_accumulate_grad_hook(called.append)
    xgrad.grad((x * x).sum(), [x])
    assert called == []


def test_hooks_registered_in_threads_belong_to_their_tensors():
    results = {}

    def work(k):
        x = _leaf([1.0, 2.0], None)
        x.register_hook(lambda g: g * k)
        for _ in range(20):
            x.grad = None
            (x * x).sum().backward()
        results[k] = x.grad.tolist()

    threads = [threading.Thread(target=work, args=(k,)) for k in (1.0, 2.0, 3.0, 4.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {k: [2.0 * k, 4.0 * k] for k in (1.0, 2.0, 3.0, 4.0)}


def test_module_forward_pre_and_forward_hooks_see_and_replace_values():
    lin = nn.Linear(2, 1, dtype="float64")
    seen = []
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 2.0,))
    fwd = lin.register_forward_hook(lambda m, args, out: seen.append((args[0].tolist(), out.shape)) or out + 1.0)
    x = xgrad.tensor([[1.0, 1.0]], dtype="float64")
    plain = (x * 2.0) @ xgrad.matrix_transpose(lin.weight) + lin.bias
    out = lin(x)
    assert seen == [([[2.0, 2.0]], (1, 1))]
    assert out.tolist() == [[plain.item() + 1.0]]
    pre.remove()
    fwd.remove()
    assert lin(x).tolist() == (x @ xgrad.matrix_transpose(lin.weight) + lin.bias).tolist()
    assert len(seen) == 1


def test_full_backward_hook_gets_input_and_output_gradients_and_may_replace_the_input_ones():
    lin = nn.Linear(3, 2, dtype="float64")
    x = xgrad.tensor(np.arange(6.0).reshape(2, 3), dtype="float64", requires_grad=True)
    got = []

    def hook(module, grad_input, grad_output):
        got.append((module, [g.numpy().copy() for g in grad_input], [g.numpy().copy() for g in grad_output]))
        return (grad_input[0] * 0.5,)

    handle = lin.register_full_backward_hook(hook)
    w = lin.weight.detach().numpy()
    (lin(x) * 3.0).sum().backward()
    assert len(got) == 1 and got[0][0] is lin
    np.testing.assert_allclose(got[0][2][0], np.full((2, 2), 3.0))
    np.testing.assert_allclose(got[0][1][0], np.full((2, 2), 3.0) @ w)
    np.testing.assert_allclose(x.grad.numpy(), 0.5 * np.full((2, 2), 3.0) @ w)  # the replacement
    np.testing.assert_allclose(lin.weight.grad.numpy(), np.full((2, 2), 3.0).T @ np.arange(6.0).reshape(2, 3))
    handle.remove()
    x.grad = None
    (lin(x) * 3.0).sum().backward()
    assert len(got) == 1
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 2), 3.0) @ w)


def test_full_backward_hook_on_an_input_without_grad_gets_none():
    lin = nn.Linear(3, 2, dtype="float64")
    got = []
    lin.register_full_backward_hook(lambda m, gi, go: got.append((gi, go[0].shape)))
    lin(xgrad.ones((4, 3), dtype="float64")).sum().backward()
    assert got == [((None,), (4, 2))]


def test_a_compiled_function_refuses_a_tensor_hook_it_would_skip():
    w = _leaf([1.0, 2.0], None)
    calls = []
    w.register_hook(lambda g: calls.append(1))

    def step(x):
        w.grad = None
        loss = (w * x).sum()
        loss.backward()
        return loss

    compiled = xgrad.compile(step, warmup=0)
    with pytest.raises(RuntimeError, match="replay would skip it"):
        compiled(xgrad.tensor([1.0, 1.0], dtype="float64"))


def test_a_hook_registered_after_compiling_makes_the_replay_trace_again_and_refuse():
    w = _leaf([1.0, 2.0], None)

    def step(x):
        w.grad = None
        loss = (w * x).sum()
        loss.backward()
        return loss

    compiled = xgrad.compile(step, warmup=0)
    x = xgrad.tensor([1.0, 1.0], dtype="float64")
    compiled(x)
    compiled(x)  # a replay
    handle = w.register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="replay would skip it"):
        compiled(x)
    handle.remove()
    assert compiled(x).item() == 3.0


def test_a_module_hook_registered_after_compiling_is_not_skipped():
    lin = nn.Linear(2, 1, dtype="float64")
    step = xgrad.compile(lambda x: lin(x).sum(), warmup=0)
    x = xgrad.tensor([[1.0, 2.0]], dtype="float64")
    step(x)
    step(x)
    lin.register_forward_hook(lambda m, a, o: o * 0.0)
    with pytest.raises(RuntimeError, match="module hook"):
        step(x)


def test_a_tensor_with_hooks_collected_while_the_hooks_lock_is_held_does_not_deadlock():
    # the cyclic collector runs at any allocation, also inside the hooks' locked sections; a dying
    # tensor's callback takes the lock again (run in a subprocess: a deadlock fails, not hangs, the test)
    script = (
        "import gc, numpy as np, xgrad\n"
        "from xgrad import hooks\n"
        "x = xgrad.tensor(np.ones(2), requires_grad=True)\n"
        "cycle = [x]\n"
        "x.register_hook(lambda g, cycle=cycle: g)\n"
        "del x, cycle\n"
        "with hooks._lock:\n"
        "    gc.collect()\n"
        "print('collected')\n")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "collected", done.stderr
