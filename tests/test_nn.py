"""xgrad.nn: modules, init, the fused linear op, and the reference training runs (two moons vs PyTorch,
XOR, overfitting a tiny subset)."""

import math

import numpy as np
import pytest

import xgrad
from xgrad import data, nn, optim
from xgrad.nn import functional as F
from xgrad.training import evaluate, fit

torch = pytest.importorskip("torch")


# ---- modules -----------------------------------------------------------------------------------
def test_linear_shapes_init_and_torch_names():
    xgrad.manual_seed(0)
    lin = nn.Linear(20, 7, dtype="float64")
    assert lin.weight.shape == (7, 20) and lin.bias.shape == (7,)
    bound = 1 / math.sqrt(20)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.8 * bound  # uniform over the whole range, not a narrower one
    m = nn.MLP([2, 32, 32, 2], dtype="float64")
    tm = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(),
                             torch.nn.Linear(32, 2))
    ours = m.state_dict()
    theirs = tm.state_dict()
    assert list(ours) == list(theirs)
    assert all(tuple(ours[k].shape) == tuple(theirs[k].shape) for k in ours)


def test_weights_copy_both_ways_and_outputs_agree():
    xgrad.manual_seed(1)
    m = nn.MLP([3, 16, 4], activation="relu", dtype="float64")
    tm = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)).double()
    tm.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in m.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(m(xgrad.tensor(x)).detach().numpy(), tm(torch.from_numpy(x)).detach().numpy(), atol=1e-14)
    tm2 = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)).double()
    m.load_state_dict(tm2.state_dict())  # torch tensors straight in
    np.testing.assert_allclose(m(xgrad.tensor(x)).detach().numpy(), tm2(torch.from_numpy(x)).detach().numpy(), atol=1e-14)


@pytest.mark.parametrize("act,tact", [("tanh", torch.nn.Tanh()), ("relu", torch.nn.ReLU()),
                                      ("sigmoid", torch.nn.Sigmoid()),
                                      ("gelu", torch.nn.GELU()),  # the exact (erf) form, PyTorch's default
                                      ("leaky_relu", torch.nn.LeakyReLU())])
def test_mlp_activations_match_torch_forward_and_backward(act, tact):
    xgrad.manual_seed(2)
    m = nn.MLP([3, 8, 8, 2], activation=act, dtype="float64")
    tm = torch.nn.Sequential(torch.nn.Linear(3, 8), tact, torch.nn.Linear(8, 8), tact, torch.nn.Linear(8, 2)).double()
    tm.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()})
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 3)), rng.integers(0, 2, 10)
    F.cross_entropy(m(xgrad.tensor(x)), xgrad.tensor(y)).backward()
    torch.nn.functional.cross_entropy(tm(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    for (name, p), (tname, tp) in zip(m.named_parameters(), tm.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), atol=1e-14, rtol=0)


def test_module_registration_tree_and_modes():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Dropout(0.5))
            self.head = nn.Linear(4, 3, bias=False)
            self.scale = xgrad.nn.Parameter([1.0, 2.0, 3.0])
            self.note = "not a parameter"

        def forward(self, x):
            return self.head(self.body(x)) * self.scale

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "head.weight"]
    assert nn.is_parameter(net.scale) and not nn.is_parameter(xgrad.tensor([1.0]))
    assert [type(c).__name__ for c in net.children()] == ["Sequential", "Linear"]
    assert net.num_parameters() == 3 + 8 + 4 + 12
    assert net.training and net.body[2].training
    net.eval()
    assert not net.body[2].training
    x = xgrad.randn(6, 2)
    np.testing.assert_array_equal(net(x).detach().numpy(), net(x).detach().numpy())  # dropout off in eval
    net.train()
    out = net(x).sum()
    out.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(abs(p.grad).sum()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    text = repr(net)
    assert "(body): Sequential(" in text and "Linear(in_features=4, out_features=3, bias=False)" in text
    assert "Dropout(p=0.5)" in text


def test_parameter_is_a_plain_leaf_tensor_sharing_the_array(backend):
    src = xgrad.tensor([1.0, 2.0], dtype="float64", backend=backend)
    p = nn.Parameter(src)
    assert type(p) is xgrad.Tensor and p is not src and p.data is src.data
    assert p.requires_grad and p.is_leaf and not src.requires_grad
    assert nn.is_parameter(p) and not nn.is_parameter(src)
    frozen = nn.Parameter([1.0], requires_grad=False, backend=backend)
    assert not frozen.requires_grad and not nn.is_parameter(frozen)
    assert not nn.is_parameter(p * 2)  # made by an op: not a leaf
    assert not nn.is_parameter(np.ones(2)) and not nn.is_parameter(None)


def test_parameter_converts_on_request():
    src = xgrad.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    p = nn.Parameter(src, dtype="float32")
    assert p.dtype == src._backend.dtype("float32") and p.data is not src.data and nn.is_parameter(p)
    q = nn.Parameter(src, backend="torch")
    assert q.backend == "torch" and nn.is_parameter(q)
    np.testing.assert_array_equal(q.detach().numpy(), [1.0, 2.0])
    with pytest.raises(xgrad.DTypeError):
        nn.Parameter([1, 2])  # integers cannot require grad


def test_module_registers_parameters_only():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter([1.0])
            self.buffer = xgrad.tensor([1.0])  # no grad: not registered
            self.derived = self.w * 2  # not a leaf: not registered

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["w"]
    net.w = None  # a registered name may be cleared
    assert list(net.parameters()) == [] and "w" in net._parameters

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter([1.0])

    with pytest.raises(nn.ModuleError, match=r"call super\(\)\.__init__\(\)") as e:
        Early()
    assert isinstance(e.value, AttributeError)


def test_zero_grad_without_none_zeroes_in_place_even_read_only_grads():
    net = nn.Linear(3, 2, dtype="float64", backend="numpy")  # NumPy's read-only broadcast views
    net(xgrad.ones(4, 3, dtype="float64", backend="numpy")).sum().backward()
    w, b = net.weight, net.bias
    kept = w.grad.data
    b.grad.data = np.broadcast_to(np.ones(1), (2,))  # a read-only view, as backward may leave
    net.zero_grad(set_to_none=False)
    assert w.grad.data is kept and not kept.any()  # zeroed in place
    assert b.grad.data.flags.writeable and not b.grad.numpy().any()  # replaced by zeros
    net.zero_grad()
    assert w.grad is None and b.grad is None


def test_state_dict_round_trip_and_mismatch_messages():
    xgrad.manual_seed(3)
    a = nn.MLP([2, 5, 3], dtype="float64")
    xgrad.manual_seed(4)
    b = nn.MLP([2, 5, 3], dtype="float64")
    sd = {k: np.array(v) for k, v in a.state_dict().items()}
    b.load_state_dict(sd)
    for (k, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    sd["0.weight"][0, 0] += 1  # a copy was loaded, not a view
    assert dict(b.named_parameters())["0.weight"].detach().numpy()[0, 0] != sd["0.weight"][0, 0]
    bad = dict(sd)
    bad["0.weight"] = np.zeros((4, 2))
    del bad["2.bias"]
    bad["extra"] = np.zeros(1)
    with pytest.raises(xgrad.ShapeError) as e:
        b.load_state_dict(bad)
    msg = str(e.value)
    assert "missing 2.bias" in msg and "unexpected extra" in msg and "0.weight: checkpoint (4, 2) vs model (5, 2)" in msg


def test_dropout_is_seeded_and_scales():
    x = xgrad.ones(1000, 50, dtype="float64")
    d = nn.Dropout(0.3)
    xgrad.manual_seed(7)
    a = d(x).numpy()
    xgrad.manual_seed(7)
    b = d(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, 1 / 0.7}
    assert abs((a == 0).mean() - 0.3) < 0.01
    assert d.eval()(x) is x


def test_init_functions():
    xgrad.manual_seed(0)
    t = xgrad.zeros(300, 200, dtype="float64")
    nn.init.xavier_uniform_(t)
    bound = math.sqrt(6 / 500)
    assert np.abs(t.numpy()).max() <= bound and np.abs(t.numpy()).max() > 0.95 * bound
    nn.init.kaiming_uniform_(t, nonlinearity="relu")
    assert np.abs(t.numpy()).max() <= math.sqrt(6 / 200)
    nn.init.normal_(t, 1.0, 0.5)
    assert abs(t.numpy().mean() - 1.0) < 0.01 and abs(t.numpy().std() - 0.5) < 0.01
    nn.init.zeros_(t)
    assert not t.numpy().any()


def test_fused_linear_gradients_nd_no_bias_and_double_backward():
    from xgrad.gradcheck import compare_with_torch, gradcheck

    rng = np.random.default_rng(0)
    x = xgrad.tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    w = xgrad.tensor(rng.normal(size=(5, 4)), requires_grad=True)
    b = xgrad.tensor(rng.normal(size=(5,)), requires_grad=True)
    gradcheck(lambda x, w, b: F.linear(x, w, b), [x, w, b])
    gradcheck(lambda x, w: F.linear(x, w), [x, w])
    gradcheck(lambda x, w, b: F.linear(x[0, 0], w, b), [x, w, b])
    assert max(compare_with_torch(lambda x, w, b: F.linear(x, w, b), torch.nn.functional.linear, [x, w, b])) < 1e-13
    # second order: d/dw of |d loss/dx|^2 through the fused rule
    (gx,) = xgrad.grad(F.linear(x, w, b).tanh().sum(), [x], create_graph=True)
    (gw,) = xgrad.grad((gx * gx).sum(), [w])
    xt, wt, bt = (torch.tensor(t.detach().numpy(), requires_grad=True) for t in (x, w, b))
    (gxt,) = torch.autograd.grad(torch.nn.functional.linear(xt, wt, bt).tanh().sum(), [xt], create_graph=True)
    (gwt,) = torch.autograd.grad((gxt * gxt).sum(), [wt])
    np.testing.assert_allclose(gw.numpy(), gwt.numpy(), atol=1e-12)


def test_mlp_trains_on_every_backend(backend):
    X, y = data.two_moons(200, seed=0, backend=backend, dtype="float64")
    xgrad.manual_seed(0)
    m = nn.MLP([2, 16, 2], backend=backend, dtype="float64")
    assert all(p.backend == xgrad.get_backend(backend).name for p in m.parameters())
    r = fit(m, X, y, optim.SGD(m.parameters(), lr=0.1, momentum=0.9), epochs=20, batch_size=32, seed=0)
    assert r.accuracy > 0.8 and r.steps == 20 * 7


def test_bad_sizes_and_activation():
    with pytest.raises(ValueError, match="at least two positive"):
        nn.MLP([2])
    with pytest.raises(ValueError, match="unknown activation"):
        nn.MLP([2, 3], activation="swish")


# ---- the reference runs --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference_run():
    """Experiment 2, run once: two moons 1000 points noise 0.2, 2-32-32-2 tanh, SGD lr 0.05, batch 64,
    200 epochs, float64, numpy; and PyTorch from the same weights on the same mini-batches."""
    from xgrad import reference as E

    X, y = E.reference_data(backend="numpy")
    model, result, tmodel, theirs = E.compare_training(X, y, backend="numpy")
    return result, theirs


def test_two_moons_reference_accuracy(reference_run):
    result, _ = reference_run
    assert result.steps == 200 * 16
    assert result.accuracy >= 0.965, result
    assert result.loss <= 0.09, result


def test_two_moons_matches_pytorch(reference_run):
    result, (tacc, tloss, tsec, tsteps, tlosses) = reference_run
    assert tsteps == result.steps
    assert abs(result.accuracy - tacc) <= 0.01
    assert abs(result.loss - tloss) <= 0.01
    # same weights, same batches, float64: the curves agree far beyond the tolerance asked for
    np.testing.assert_allclose(result.losses, tlosses, atol=1e-9)


def test_xor_relu_2_8_2():
    X, y = data.xor(200, seed=0, dtype="float64")
    xgrad.manual_seed(0)
    m = nn.MLP([2, 8, 2], activation="relu", dtype="float64")
    opt = optim.SGD(m.parameters(), lr=0.5)
    for _ in range(3000):
        opt.zero_grad()
        F.cross_entropy(m(X), y).backward()
        opt.step()
    acc, loss = evaluate(m, X, y)
    assert acc >= 0.90, (acc, loss)


def test_overfit_tiny_subset():
    X, y = data.two_moons(1000, seed=42, dtype="float64")
    Xs, ys = xgrad.tensor(X.numpy()[:100]), xgrad.tensor(y.numpy()[:100])
    xgrad.manual_seed(0)
    m = nn.MLP([2, 32, 32, 2], dtype="float64")
    opt = optim.Adam(m.parameters(), lr=0.01)
    r = fit(m, Xs, ys, opt, epochs=1000, batch_size=100, seed=0)  # full batch
    assert r.accuracy == 1.0 and r.loss < 0.01, r


def test_nn_and_optim_import_no_array_library():
    import ast
    import pathlib

    root = pathlib.Path(xgrad.__file__).parent
    for path in [root / "optim.py", *sorted((root / "nn").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            assert not any(n.split(".")[0] in ("numpy", "cupy", "torch") for n in names), (path, names)
