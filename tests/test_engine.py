"""The engine: graph order, accumulation, freeing, grad modes, xgrad.grad, Function, memory, transfers,
creation and seeding. Tests that do not take ``backend`` run on the default (XGRAD_BACKEND) backend."""

import gc
import math
import tracemalloc

import numpy as np
import pytest

import xgrad
import xgrad.nn.functional as F


def leaf(values, backend=None, dtype="float64"):
    return xgrad.tensor(np.asarray(values, dtype=np.float64), dtype=dtype, requires_grad=True, backend=backend)


def close(t, want, rtol=1e-12):
    got = t.detach().numpy() if isinstance(t, xgrad.Tensor) else np.asarray(t)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0)


# ---- graph order and accumulation --------------------------------------------------------------
def test_chain_of_100000_ops_backpropagates():
    x = leaf(1.0)
    c = 1.00001
    y = x
    for _ in range(100_000):
        y = y * c
    y.backward()  # a recursive topological sort would raise RecursionError here
    close(x.grad, c ** 100_000, rtol=1e-9)
    assert abs(x.grad.item() - math.e) < 1e-4


def test_deep_chain_with_create_graph():
    x = leaf(0.5)
    y = x
    for _ in range(5_000):
        y = y * 1.0 + 0.0
    (g,) = xgrad.grad(xgrad.sum(y * y), x, create_graph=True)
    close(g, 1.0)
    close(xgrad.grad(g, x)[0], 2.0)


def test_tensor_used_several_times_accumulates(backend):
    a = np.array([0.3, -1.2, 2.0])
    x = leaf(a, backend)
    y = x * x + x * 3.0 + xgrad.sin(x)
    xgrad.sum(y).backward()
    close(x.grad, 2 * a + 3 + np.cos(a))
    # an intermediate used twice: z = h*h + h with h = tanh(x)
    x2 = leaf(a, backend)
    h = xgrad.tanh(x2)
    xgrad.sum(h * h + h).backward()
    th = np.tanh(a)
    close(x2.grad, (2 * th + 1) * (1 - th * th))


def test_leaf_grad_accumulates_until_zeroed(backend):
    a = np.array([1.0, 2.0, -3.0])
    x = leaf(a, backend)
    for expected in (1, 2, 3):
        xgrad.sum(x * x).backward()
        close(x.grad, expected * 2 * a)
    x.grad.zero_()
    close(x.grad, 0 * a)
    xgrad.sum(x * x).backward()
    close(x.grad, 2 * a)
    x.grad = None
    xgrad.sum(x * 5.0).backward()
    close(x.grad, 5.0 + 0 * a)


def test_graph_is_freed_after_backward(backend):
    x = leaf([1.0, 2.0], backend)
    y = xgrad.sum(xgrad.exp(x))
    y.backward()
    with pytest.raises(xgrad.GraphError, match="second time") as info:
        y.backward()
    assert "retain_graph=True" in str(info.value)
    # the intermediate nodes are released too (they hold no parents or saved arrays any more)
    assert y._parents in ((), None) and y._args is None


def test_retain_graph_allows_a_second_backward(backend):
    a = np.array([1.0, 2.0])
    x = leaf(a, backend)
    y = xgrad.sum(xgrad.exp(x))
    y.backward(retain_graph=True)
    y.backward()
    close(x.grad, 2 * np.exp(a))


def test_implicit_gradient_only_for_scalars(backend):
    x = leaf([[1.0, 2.0], [3.0, 4.0]], backend)
    y = x * x
    with pytest.raises(xgrad.GraphError, match=r"non-scalar.*\(2, 2\)"):
        y.backward()
    y.backward(gradient=xgrad.tensor(np.array([[1.0, 0.0], [2.0, 1.0]]), backend=backend))
    close(x.grad, [[2.0, 0.0], [12.0, 8.0]])


# ---- grad modes ---------------------------------------------------------------------------------
def test_no_grad_and_enable_grad_as_context_managers():
    x = leaf([1.0])
    with xgrad.no_grad():
        assert not xgrad.is_grad_enabled()
        y = x * 2.0
        with xgrad.enable_grad():
            assert xgrad.is_grad_enabled()
            z = x * 2.0
        assert not xgrad.is_grad_enabled()
    assert xgrad.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and not z.is_leaf


def test_grad_modes_as_decorators_and_restored_after_errors():
    @xgrad.no_grad()
    def infer(t):
        return t * 3.0, xgrad.is_grad_enabled()

    @xgrad.enable_grad()
    def train(t):
        return t * 3.0

    x = leaf([1.0])
    y, enabled = infer(x)
    assert not enabled and not y.requires_grad
    with xgrad.no_grad():
        assert train(x).requires_grad
    with pytest.raises(ZeroDivisionError):
        with xgrad.no_grad():
            1 / 0
    assert xgrad.is_grad_enabled()


# ---- xgrad.grad ----------------------------------------------------------------------------------
def test_grad_returns_gradients_without_touching_dot_grad(backend):
    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    x, w = leaf(a, backend), leaf(b, backend)
    gx, gw = xgrad.grad(xgrad.sum(x * w), [x, w])
    close(gx, b)
    close(gw, a)
    assert x.grad is None and w.grad is None
    single = xgrad.grad(xgrad.sum(x * x), x)  # a tuple for one input too, as torch.autograd.grad
    assert type(single) is tuple and len(single) == 1
    close(single[0], 2 * a)
    twice = xgrad.grad(xgrad.sum(x * w), [x, w, x], allow_unused=True)  # an input listed twice: both get it
    close(twice[0], b)
    close(twice[2], b)


def test_grad_allow_unused(backend):
    x, unused = leaf([1.0, 2.0], backend), leaf([5.0], backend)
    with pytest.raises(xgrad.GraphError, match="allow_unused=True"):
        xgrad.grad(xgrad.sum(x * x), [x, unused])
    gx, gu = xgrad.grad(xgrad.sum(x * x), [x, unused], allow_unused=True)
    close(gx, [2.0, 4.0])
    assert gu is None


def test_grad_with_grad_outputs_and_several_outputs(backend):
    a = np.array([1.0, 2.0, 3.0])
    x = leaf(a, backend)
    y1, y2 = x * x, xgrad.sum(x * 4.0)
    v = xgrad.tensor(np.array([1.0, -1.0, 0.5]), backend=backend)
    (g,) = xgrad.grad([y1, y2], [x], grad_outputs=[v, None])
    close(g, 2 * a * np.array([1.0, -1.0, 0.5]) + 4.0)


# ---- custom ops ---------------------------------------------------------------------------------
class Cube(xgrad.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3.0 * ctx.scale * x * x, None


def test_function_custom_op(backend):
    a = np.array([1.0, -2.0, 0.5])
    x = leaf(a, backend)
    y = Cube.apply(x, 2.0)
    assert y.requires_grad and not y.is_leaf
    close(y, 2 * a ** 3)
    xgrad.sum(xgrad.sin(y)).backward()
    close(x.grad, np.cos(2 * a ** 3) * 6 * a * a)
    with xgrad.no_grad():
        assert not Cube.apply(x, 2.0).requires_grad


def test_function_custom_op_is_differentiable_twice(backend):
    a = np.array([1.0, -2.0])
    x = leaf(a, backend)
    (g,) = xgrad.grad(xgrad.sum(Cube.apply(x, 1.0)), x, create_graph=True)
    close(g, 3 * a * a)
    close(xgrad.grad(xgrad.sum(g), x)[0], 6 * a)


# ---- memory: training leaves no tensors behind -----------------------------------------------------
def _live_tensors():
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is xgrad.Tensor)


def test_10000_training_steps_leave_no_growth_in_live_tensors():
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(16, 2))
    ys = (xs[:, 0] * xs[:, 1] > 0).astype(np.int64)
    x, y = xgrad.tensor(xs), xgrad.tensor(ys)
    params = [leaf(rng.normal(size=(2, 8)) * 0.5), leaf(np.zeros(8)), leaf(rng.normal(size=(8, 2)) * 0.5),
              leaf(np.zeros(2))]

    def step():
        w1, b1, w2, b2 = params
        loss = F.cross_entropy(xgrad.tanh(x @ w1 + b1) @ w2 + b2, y)
        loss.backward()
        with xgrad.no_grad():
            for p in params:
                p.data = (p - 0.1 * p.grad).data
                p.grad = None
        return loss.item()

    first = step()
    for _ in range(200):
        step()
    tracemalloc.start()
    before = _live_tensors()
    mem_before = tracemalloc.get_traced_memory()[0]
    for _ in range(10_000 - 201):
        last = step()
    after = _live_tensors()
    mem_after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert after <= before, f"live tensors grew from {before} to {after}"
    assert mem_after - mem_before < 256 * 1024, f"traced memory grew by {mem_after - mem_before} bytes"
    assert last < 0.5 * first  # it trained


def test_backward_releases_intermediate_tensors():
    x = leaf(np.ones(4))
    base = _live_tensors()
    y = x
    for _ in range(50):
        y = xgrad.tanh(y)
    assert _live_tensors() >= base + 50
    xgrad.sum(y).backward()
    del y
    assert _live_tensors() <= base + 1  # x.grad is the only new tensor


# ---- transfers --------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["numpy", "torch", "array_api_strict"])
def test_to_another_backend_carries_gradient_back(backend, target):
    a = np.array([1.0, -2.0, 3.0])
    x = leaf(a, backend)
    y = x.to(target)
    assert y.backend == xgrad.get_backend(target).name
    close(y, a)
    xgrad.sum(y * y * 2.0).backward()
    assert x.grad.backend == x.backend
    close(x.grad, 4 * a)


def test_to_dtype_is_differentiable(backend):
    x = leaf([1.5, 2.5], backend)
    y = x.to("float32")
    assert "float32" in str(y.dtype)
    xgrad.sum(y * y).backward()
    assert "float64" in str(x.grad.dtype)
    close(x.grad, [3.0, 5.0], rtol=1e-6)


# ---- creation and seeding ----------------------------------------------------------------------
def test_creation_functions(backend):
    kw = {"backend": backend, "dtype": "float64"}
    assert xgrad.zeros(2, 3, **kw).shape == (2, 3)
    close(xgrad.zeros((2, 3), **kw), np.zeros((2, 3)))
    close(xgrad.ones(4, **kw), np.ones(4))
    close(xgrad.full((2, 2), 7.5, **kw), np.full((2, 2), 7.5))
    close(xgrad.arange(5, backend=backend), np.arange(5))
    close(xgrad.arange(0.0, 1.0, 0.25, **kw), np.arange(0.0, 1.0, 0.25))
    close(xgrad.eye(3, **kw), np.eye(3))
    x = xgrad.tensor([[1.0, 2.0]], **kw)
    close(xgrad.zeros_like(x), [[0.0, 0.0]])
    close(xgrad.ones_like(x), [[1.0, 1.0]])
    r, n = xgrad.rand(1000, **kw), xgrad.randn(1000, **kw)
    assert r.shape == (1000,) and r.numpy().min() >= 0 and r.numpy().max() < 1
    assert abs(n.numpy().mean()) < 0.2 and 0.8 < n.numpy().std() < 1.2
    for t in (r, n, xgrad.zeros(1, **kw), xgrad.eye(2, **kw)):
        assert t.backend == xgrad.get_backend(backend).name and "float64" in str(t.dtype)
        assert t.is_leaf and not t.requires_grad
    assert xgrad.ones(2, backend=backend, requires_grad=True).requires_grad
    assert "float32" in str(xgrad.zeros(2, backend=backend).dtype)  # the default dtype, as in PyTorch


def test_manual_seed_reproducibility(backend):
    xgrad.manual_seed(123)
    a = xgrad.randn(5, backend=backend, dtype="float64").numpy()
    b = xgrad.rand(3, backend=backend, dtype="float64").numpy()
    xgrad.manual_seed(123)
    np.testing.assert_array_equal(xgrad.randn(5, backend=backend, dtype="float64").numpy(), a)
    np.testing.assert_array_equal(xgrad.rand(3, backend=backend, dtype="float64").numpy(), b)
    xgrad.manual_seed(124)
    assert not np.array_equal(xgrad.randn(5, backend=backend, dtype="float64").numpy(), a)


def test_use_backend_context_and_default():
    default = xgrad.current_backend().name
    with xgrad.use_backend("numpy"):
        assert xgrad.zeros(1).backend == "numpy"
    assert xgrad.current_backend().name == default
    assert xgrad.zeros(1).backend == default


# ---- numerics at the edges: huge inputs -------------------------------------------------------------------
def test_sigmoid_and_cross_entropy_are_stable_for_huge_inputs(backend):
    x = leaf([-1000.0, -30.0, 0.0, 30.0, 1000.0], backend)
    s = xgrad.sigmoid(x)
    with np.errstate(over="ignore"):  # the NumPy reference overflows to inf and gives exactly 0 there
        close(s, 1 / (1 + np.exp(-np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0]))), rtol=1e-15)
    xgrad.sum(s).backward()
    assert np.all(np.isfinite(x.grad.numpy()))
    z = leaf([[1e4, 0.0, -1e4], [0.0, 2e4, 1e4]], backend)
    loss = F.cross_entropy(z, xgrad.tensor(np.array([0, 2]), backend=backend))
    close(loss, (0.0 + 1e4) / 2)
    loss.backward()
    close(z.grad, [[0.0, 0.0, 0.0], [0.0, 0.5, -0.5]], rtol=1e-12)


def test_cross_entropy_with_masked_logits_matches_torch(backend):
    # -inf logits (masked classes) away from the label: the loss and gradient stay finite, as in torch
    import torch

    z = np.array([[0.5, -np.inf, 1.0], [-np.inf, 2.0, 0.0]])
    labels = np.array([0, 1])
    x = xgrad.tensor(z, backend=backend, requires_grad=True)
    loss = xgrad.nn.functional.cross_entropy(x, xgrad.tensor(labels, backend=backend))
    loss.backward()
    zt = torch.tensor(z, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(zt, torch.tensor(labels))
    lt.backward()
    assert abs(float(loss) - lt.item()) < 1e-15
    assert np.allclose(x.grad.numpy(), zt.grad.numpy(), rtol=0, atol=1e-16)


def test_a_function_that_saves_its_output_is_differentiable_twice(backend):
    class Exp(xgrad.Function):  # PyTorch's documentation example
        @staticmethod
        def forward(ctx, x):
            y = xgrad.exp(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    a = np.array([0.5, 1.0])
    x = leaf(a, backend)
    y = Exp.apply(x)
    (g,) = xgrad.grad(xgrad.sum(y * y), x, create_graph=True)  # 2 e^{2x}
    close(g, 2 * np.exp(2 * a))
    (h,) = xgrad.grad(xgrad.sum(g), x)  # 4 e^{2x}: through g and through the saved y
    close(h, 4 * np.exp(2 * a))


def test_casts_to_integer_or_bool_cut_the_graph(backend):
    a = np.array([1.5, 2.7])
    x = leaf(a, backend)
    for kind in ("int64", "bool"):
        c = x.to(kind)
        assert not c.requires_grad  # as in PyTorch: no gradient flows through an integer or bool cast
        y = xgrad.sum(c.to("float64") * x)
        y.backward()
        close(x.grad, np.trunc(a) if kind == "int64" else np.ones(2))
        x.grad = None


def test_gradients_at_the_edges_match_pytorch(backend):
    torch = pytest.importorskip("torch")
    a = np.array([-3.0, 3.0, -3.5, 3.5, 0.0])
    x = leaf(a, backend)
    xgrad.sum(F.hardswish(x)).backward()
    t = torch.tensor(a, requires_grad=True)
    torch.nn.functional.hardswish(t).sum().backward()
    close(x.grad, t.grad.numpy())
    y, z = leaf([0.0, 1.0], backend), leaf([0.0, 2.0], backend)
    xgrad.sum(xgrad.atan2(y, z)).backward()  # 0 at the origin, as PyTorch's (0/0 otherwise)
    close(y.grad, [0.0, 2.0 / 5.0])
    close(z.grad, [0.0, -1.0 / 5.0])


def test_clip_grad_norm_minus_inf_is_the_smallest_magnitude():
    w = leaf([1.0, 2.0, 3.0])
    w.grad = xgrad.tensor(np.array([0.3, -2.0, 1.5]))
    norm = xgrad.optim.clip_grad_norm_([w], max_norm=0.1, norm_type=-math.inf)
    assert float(norm) == 0.3
    close(w.grad, np.array([0.3, -2.0, 1.5]) * 0.1 / (0.3 + 1e-6))


def test_grad_refuses_other_dtypes_shapes_and_an_implicit_complex_seed():
    w = leaf([1.0, 2.0], dtype="float32")
    with pytest.raises(xgrad.DTypeError, match="a gradient has its tensor's dtype and shape"):
        w.grad = xgrad.tensor(np.ones(2))  # float64
    with pytest.raises(xgrad.ShapeError):
        w.grad = xgrad.tensor(np.ones(3, dtype=np.float32))
    z = xgrad.tensor(np.array([1 + 2j]), requires_grad=True)
    with pytest.raises(xgrad.GraphError, match="complex scalar needs `gradient`"):
        xgrad.sum(z * z).backward()


def test_float_and_double_of_a_tensor_of_that_dtype_are_the_tensor():
    x = xgrad.tensor(np.array([1.0, 2.0]))
    assert x.double() is x and x.real is x
    y = xgrad.tensor(np.array([1.0, 2.0], dtype=np.float32))
    assert y.float() is y and y.double() is not y


def test_a_nan_masked_away_after_elu_leaves_finite_gradients(backend):
    # PyTorch's elu family takes the linear piece's slope at a NaN input, so masking the NaN out
    # afterwards (where(isnan(x), 0, elu(x))) leaves every gradient finite
    x = leaf([1.0, float("nan"), -2.0], backend)
    for f in (F.elu, F.selu, F.celu):
        y = f(x)
        xgrad.sum(xgrad.where(xgrad.isnan(x), xgrad.zeros_like(y), y)).backward()
        assert np.isfinite(x.grad.numpy()).all() and x.grad.numpy()[1] == 0.0
        x.grad = None
