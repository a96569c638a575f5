"""In-place changes: they update the tensor itself, they are noted in its version, and a backward that
would read values changed after they were saved refuses (as PyTorch's version counters do)."""

import numpy as np
import pytest

import xgrad
from xgrad import nn, optim


def leaf(values, backend, requires_grad=True):
    return xgrad.tensor(values, dtype="float64", backend=backend, requires_grad=requires_grad)


def test_augmented_update_under_no_grad_changes_the_parameter_itself(backend):
    p = leaf([1.0, 2.0], backend)
    xgrad.sum(p * p).backward()
    before = p
    with xgrad.no_grad():
        p -= 0.25 * p.grad  # the idiom of every tutorial: must not rebind p to a new tensor
    assert p is before and p.requires_grad and p.is_leaf
    assert p.detach().numpy().tolist() == [0.5, 1.0]


@pytest.mark.parametrize("op", ["__iadd__", "__isub__", "__imul__", "__itruediv__", "add_", "sub_", "mul_", "div_"])
def test_in_place_arithmetic_matches_out_of_place(backend, op):
    import torch

    a = xgrad.tensor([[1.0, -2.0], [3.0, 4.0]], dtype="float64", backend=backend)
    kept = a.data
    out = getattr(a, op)(xgrad.tensor([2.0, 0.5], dtype="float64", backend=backend))
    t = torch.tensor([[1.0, -2.0], [3.0, 4.0]], dtype=torch.float64)
    getattr(t, op)(torch.tensor([2.0, 0.5], dtype=torch.float64))
    assert out is a and np.array_equal(a.numpy(), t.numpy())
    if backend == "numpy":
        assert a.data is kept  # written into the same buffer


def test_fill_zero_copy_clamp_and_item_assignment(backend):
    a = xgrad.tensor([[1.0, -2.0], [3.0, 4.0]], dtype="float64", backend=backend)
    a.clamp_(-1.0, 2.0)
    assert a.numpy().tolist() == [[1.0, -1.0], [2.0, 2.0]]
    a[0, 1] = 7.0
    a[1] = xgrad.tensor([5.0, 6.0], dtype="float64", backend=backend)
    assert a.numpy().tolist() == [[1.0, 7.0], [5.0, 6.0]]
    a.copy_(xgrad.tensor([0.5, 1.5], dtype="float64", backend=backend))  # broadcast along the rows
    assert a.numpy().tolist() == [[0.5, 1.5], [0.5, 1.5]]
    a.fill_(3.0)
    assert a.numpy().tolist() == [[3.0, 3.0], [3.0, 3.0]]
    a.zero_()
    assert a.numpy().tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_in_place_on_a_leaf_that_requires_grad_is_refused_while_recording(backend):
    p = leaf([1.0, 2.0], backend)
    for change in (lambda: p.add_(1.0), lambda: p.__iadd__(1.0), lambda: p.zero_(),
                   lambda: p.__setitem__(0, 5.0), lambda: p.copy_(xgrad.ones(2, dtype="float64", backend=backend))):
        with pytest.raises(xgrad.GraphError, match="leaf tensor that requires grad") as e:
            change()
        assert isinstance(e.value, RuntimeError)
    assert p.detach().numpy().tolist() == [1.0, 2.0]


def test_in_place_that_would_need_recording_is_refused(backend):
    w = leaf([1.0, 2.0], backend)
    h = w * 2.0
    with pytest.raises(xgrad.GraphError, match="out of place"):
        h += 1.0  # part of a graph
    total = xgrad.zeros(2, dtype="float64", backend=backend)
    with pytest.raises(xgrad.GraphError, match="value that requires grad"):
        total += w  # would need a gradient to flow through the write


def test_optimizer_step_between_forward_and_backward_is_an_error(backend):
    w = leaf([0.5, -1.0], backend)
    x = xgrad.tensor([[1.0, 2.0]], dtype="float64", backend=backend)
    opt = optim.SGD([w], lr=0.1)
    w.grad = xgrad.ones(2, dtype="float64", backend=backend)
    loss = xgrad.sum(xgrad.tanh(x * w))
    opt.step()  # changes w, which tanh(x * w)'s backward needs
    with pytest.raises(xgrad.GraphError, match="modified in place"):
        loss.backward()


def test_init_after_forward_and_writes_through_a_detached_view_are_caught(backend):
    lin = nn.Linear(2, 1, dtype="float64", backend=backend)
    x = xgrad.tensor([[1.0, 2.0]], dtype="float64", backend=backend)
    loss = xgrad.sum(lin(x) * lin(x))
    nn.init.constant_(lin.weight, 0.5)
    with pytest.raises(xgrad.GraphError, match="modified in place"):
        loss.backward()

    w = leaf([1.0, 2.0], backend)
    loss = xgrad.sum(w * w)
    view = w.detach()  # shares w's array, and its version
    view[0] = 100.0
    with pytest.raises(xgrad.GraphError, match="modified in place"):
        loss.backward()


def test_an_output_changed_under_no_grad_is_caught(backend):
    x = leaf([0.5, 1.0], backend)
    y = xgrad.tanh(x)  # tanh's backward reads its output
    with xgrad.no_grad():
        y.mul_(2.0)
    with pytest.raises(xgrad.GraphError, match="its output"):
        xgrad.sum(y).backward()


def test_the_usual_order_trains_and_matches_torch(backend):
    import torch

    w = leaf([0.5, -1.0], backend)
    wt = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    x = [[1.0, 2.0], [-0.5, 0.25]]
    opt, opt_t = optim.SGD([w], lr=0.1, momentum=0.9), torch.optim.SGD([wt], lr=0.1, momentum=0.9)
    for _ in range(3):
        loss = xgrad.sum(xgrad.tanh(xgrad.tensor(x, dtype="float64", backend=backend) @ w))
        opt.zero_grad()
        loss.backward()
        opt.step()
        lt = torch.tanh(torch.tensor(x, dtype=torch.float64) @ wt).sum()
        opt_t.zero_grad()
        lt.backward()
        opt_t.step()
    np.testing.assert_allclose(w.detach().numpy(), wt.detach().numpy(), rtol=0, atol=1e-15)


def test_each_gradient_has_its_own_array(backend):
    import torch

    a, b, c = leaf([1.0, 2.0], backend), leaf([3.0, 4.0], backend), leaf([0.5, 0.25], backend)
    xgrad.sum((a + b) * c).backward()  # add passes one gradient on to both inputs
    a.grad.mul_(10.0)
    assert b.grad.tolist() == [0.5, 0.25]  # untouched by the change to a.grad
    a.grad.zero_()
    xgrad.sum((a + b) * c).backward()
    optim.clip_grad_norm_([a, b], 0.1)
    at, bt, ct = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in ([1.0, 2.0], [3.0, 4.0], [0.5, 0.25]))
    ((at + bt) * ct).sum().backward()
    at.grad.mul_(10.0)
    at.grad.zero_()
    ((at + bt) * ct).sum().backward()
    torch.nn.utils.clip_grad_norm_([at, bt], 0.1)
    np.testing.assert_allclose(a.grad.numpy(), at.grad.numpy(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(b.grad.numpy(), bt.grad.numpy(), rtol=0, atol=1e-15)

    x = leaf([1.0, 2.0], backend)
    seed = xgrad.tensor([1.0, 1.0], dtype="float64", backend=backend)
    (x + 0.0).backward(seed)
    seed.fill_(7.0)  # the caller's gradient= tensor is not x.grad
    assert x.grad.tolist() == [1.0, 1.0]


def test_accumulation_keeps_the_grad_tensor(backend):
    w = leaf([1.0, 2.0], backend)
    xgrad.sum(w * 3.0).backward()
    held = w.grad
    xgrad.sum(w * 3.0).backward()
    assert w.grad is held and held.tolist() == [6.0, 6.0]


@pytest.mark.parametrize("make", [lambda x: x[1:3], lambda x: x.reshape(2, 2), lambda x: x.reshape(2, 2).T,
                                  lambda x: xgrad.as_tensor(x)], ids=["slice", "reshape", "transpose", "as_tensor"])
def test_writes_through_views_are_caught(backend, make):
    w = leaf([0.0, 1.0, 2.0, 3.0], backend)
    x = xgrad.tensor([0.0, 1.0, 2.0, 3.0], dtype="float64", backend=backend)
    loss = xgrad.sum(w * x)
    view = make(x)
    view += 100.0  # x's memory, which w's gradient needs
    with pytest.raises(xgrad.GraphError, match="modified in place"):
        loss.backward()
    v = make(x)
    u = xgrad.ones(*v.shape, dtype="float64", backend=backend, requires_grad=True)
    loss = xgrad.sum(u * v)  # the other way round: u's gradient needs the view, and the base is written
    x += 1.0
    with pytest.raises(xgrad.GraphError, match="modified in place"):
        loss.backward()


def test_a_copy_made_by_indexing_is_not_a_view():
    x = xgrad.tensor([1.0, 2.0, 3.0], dtype="float64", backend="numpy")
    w = leaf([1.0, 1.0], "numpy")
    picked = x[xgrad.tensor([0, 2], backend="numpy")]  # integer-array indexing copies on NumPy
    loss = xgrad.sum(w * picked)
    x += 100.0  # not the memory backward reads
    loss.backward()
    assert w.grad.tolist() == [1.0, 3.0]


def test_index_tensors_and_tensor_parameters_are_taken_as_they_were(backend):
    x = leaf([1.0, 2.0, 3.0], backend)
    idx = xgrad.tensor([0, 2, 2], backend=backend)
    y = xgrad.sum(x[idx] * xgrad.tensor([1.0, 4.0, 6.0], dtype="float64", backend=backend))
    idx.fill_(1)  # after the op: backward still scatters to the positions the forward read
    y.backward()
    assert x.grad.tolist() == [1.0, 0.0, 10.0]
    z = leaf([-1.0, 0.5, 2.0], backend)
    lo = xgrad.tensor([0.0, 0.0, 0.0], dtype="float64", backend=backend)
    y = xgrad.sum(xgrad.clip(z, min=lo))
    lo.fill_(-5.0)
    y.backward()
    assert z.grad.tolist() == [0.0, 1.0, 1.0]


def test_a_tensor_saved_by_a_function_and_changed_is_caught(backend):
    s = xgrad.tensor([2.0, 3.0], dtype="float64", backend=backend)  # saved, but not an input

    class Scale(xgrad.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(s)
            return x * s

        @staticmethod
        def backward(ctx, g):
            (saved,) = ctx.saved_tensors
            return g * saved

    x = leaf([1.0, 2.0], backend)
    y = xgrad.sum(Scale.apply(x))
    s.fill_(100.0)
    with pytest.raises(xgrad.GraphError, match="save_for_backward"):
        y.backward()


def test_no_grad_on_a_generator_holds_inside_it():
    w = xgrad.tensor([1.0, 2.0], dtype="float64", requires_grad=True)

    @xgrad.no_grad()
    def targets():
        yield w * 2.0
        yield w * 3.0

    made = list(targets())
    assert not any(t.requires_grad for t in made) and xgrad.is_grad_enabled()
    xgrad.sum((w * 3.0 - made[0]) ** 2).backward()
    assert w.grad.tolist() == [6.0, 12.0]  # as torch: the target carries no gradient


def test_in_place_on_a_zero_dimensional_result():
    s = xgrad.sum(xgrad.tensor([1.0, 2.0], dtype="float64"))
    s += 1.0
    assert float(s) == 4.0
