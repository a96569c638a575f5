"""CUDA-graph replay on a GPU (CuPy; torch on CUDA): the recorded step gives eager's numbers (to the
rounding of CuPy's graph matmul, ``backends/gemm.py``), launches without waiting for the device, and
keeps what users hold. Skipped where no GPU is visible; the same rules run on the CPU through an
emulated graph in ``test_graphs.py``."""

import numpy as np
import pytest

import xgrad
from xgrad import nn, optim
from xgrad.backends import checks
from xgrad.nn import functional as F

from test_graphs import _step  # the training step as a user writes it


def _cupy():
    status = xgrad.available_backends().get("cupy")
    if status is not None:
        pytest.skip(f"cupy unavailable here: {status}")
    import cupy
    return cupy


def _torch_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch sees no CUDA device")
    return torch


@pytest.fixture(params=["cupy", "torch-cuda"])
def gpu(request):
    """(backend, device) of a GPU backend."""
    if request.param == "cupy":
        _cupy()
        return "cupy", None
    _torch_cuda()
    return "torch", "cuda"


def _model(backend, device, dtype, dropout=0.2):
    xgrad.manual_seed(0)
    m = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Dropout(dropout), nn.Linear(32, 32), nn.Tanh(),
                      nn.Linear(32, 2))
    return m.to(backend=backend, device=device, dtype=dtype)


def _batches(backend, device, dtype, steps, labels=None):
    rng = np.random.default_rng(1)
    for i in range(steps):
        y = rng.integers(0, 2, 64) if labels is None or i not in labels else np.array(labels[i])
        yield (xgrad.tensor(rng.standard_normal((64, 2)).astype(dtype), backend=backend, device=device),
               xgrad.tensor(y, backend=backend, device=device))


def _train(backend, device, dtype, how, steps=10, dropout=0.0, keep=None):
    m = _model(backend, device, dtype, dropout)
    opt = optim.Adam(m.parameters(), lr=1e-2)

    step = _step(m, opt)

    run = step if how == "eager" else xgrad.compile(step, cuda_graph=how == "graph")
    losses = []
    for i, (x, y) in enumerate(_batches(backend, device, dtype, steps)):
        losses.append(run(x, y))
        if keep is not None:
            keep(i, m)
    return [float(v) for v in losses], [p.detach().numpy() for p in m.parameters()], run


def _graph(run):
    (plans,) = run._plans.values()
    return plans[0].graph


@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-12), ("float32", 2e-5)])
def test_a_recorded_training_step_equals_eager(gpu, dtype, rtol):
    backend, device = gpu
    eager_losses, eager_params, _ = _train(backend, device, dtype, "eager")
    losses, params, run = _train(backend, device, dtype, "graph")
    g = _graph(run)
    assert (g.disabled, g.captures, g.launches, g.fallbacks) == (None, 1, 8, 0)
    np.testing.assert_allclose(losses, eager_losses, rtol=rtol)
    for a, b in zip(params, eager_params):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


def test_dropout_in_a_recorded_step_draws_new_masks_each_call(gpu):
    backend, device = gpu
    eager_losses, _, _ = _train(backend, device, "float64", "eager", dropout=0.5)
    losses, _, run = _train(backend, device, "float64", "graph", dropout=0.5)
    assert _graph(run).launches == 8
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-12)  # the same masks as eager, call by call


def test_recorded_and_eager_steps_never_wait_for_the_device():
    cupy = _cupy()
    import cupyx
    m = _model("cupy", None, "float32")
    opt = optim.Adam(m.parameters(), lr=1e-2)

    step = _step(m, opt)

    run = xgrad.compile(step, cuda_graph=True)
    batches = list(_batches("cupy", None, "float32", 6))
    run(*batches[0])
    run(*batches[1])
    run(*batches[2])  # recorded here
    with cupyx.allow_synchronize(False):
        step(*batches[3])  # eager
        for x, y in batches[4:]:
            run(x, y)  # launches
    assert _graph(run).launches == 3
    cupy.cuda.get_current_stream().synchronize()


def test_a_kept_gradient_keeps_its_values_on_the_gpu(gpu):
    backend, device = gpu
    kept = {}

    def keep(i, m):
        if i == 5:
            kept["grad"], kept["copy"] = m[0].weight.grad, m[0].weight.grad.detach().numpy().copy()

    _, _, run = _train(backend, device, "float64", "graph", keep=keep)
    np.testing.assert_array_equal(kept["grad"].detach().numpy(), kept["copy"])
    assert _graph(run).fallbacks == 4


def test_bad_labels_in_a_recorded_step_raise_at_the_next_read(gpu):
    backend, device = gpu
    checks.pending.clear()
    m = _model(backend, device, "float32")
    opt = optim.SGD(m.parameters(), lr=0.1)

    step = _step(m, opt)

    run = xgrad.compile(step, cuda_graph=True)
    batches = list(_batches(backend, device, "float32", 6, labels={5: [0, 1, 3, 1] * 16}))
    for x, y in batches[:5]:
        run(x, y)
    loss = run(*batches[5])
    with pytest.raises(xgrad.LabelError, match=r"got labels from 0 to 3 \(raised at \.item\(\)"):
        loss.item()
    checks.pending.clear()


def test_the_graph_matmul_equals_cupys():
    cupy = _cupy()
    from xgrad.backends import gemm
    rng = np.random.default_rng(0)
    for dtype, rtol in (("float64", 1e-13), ("float32", 1e-5)):
        for m, k, n in ((64, 2, 32), (64, 32, 32), (17, 33, 5), (1, 1, 1), (3, 0, 4), (100, 300, 70)):
            a = cupy.asarray(rng.standard_normal((m, k)).astype(dtype))
            b = cupy.asarray(rng.standard_normal((n, k)).astype(dtype)).T  # a transposed view
            got = gemm.matmul(cupy, a, b)
            assert got.shape == (m, n) and got.dtype == a.dtype
            np.testing.assert_allclose(cupy.asnumpy(got), cupy.asnumpy(cupy.matmul(a, b)), rtol=rtol,
                                       atol=rtol * max(k, 1))
