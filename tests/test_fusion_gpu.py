"""Elementwise fusion on a GPU: CuPy's generated kernels against the unfused code. Skipped, with CuPy's
reason, where CuPy sees no device. Times nothing.

Tolerance: the kernels compute each node as its own CuPy kernel would (the same CUDA functions, no
FMA contraction), so equal results are expected; the tests allow float64 1e-15 and float32 1e-6 of
the largest magnitude (relative), and require NaN in exactly the same places."""

import numpy as np
import pytest

import xgrad
from xgrad.backends import fused, get_backend
from test_fusion import _mlp_step  # the CPU tests' training step

REASON = xgrad.available_backends().get("cupy")
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"cupy unavailable here: {REASON}")

RTOL = {"float64": 1e-15, "float32": 1e-6}


def assert_close(a, b, dtype):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert (np.isnan(a) == np.isnan(b)).all()
    finite = ~np.isnan(b)
    scale = max(float(np.max(np.abs(b[finite]), initial=0.0)), np.finfo(b.dtype).tiny)
    diff = np.abs(np.where(finite, a, 0) - np.where(finite, b, 0))
    assert float(diff.max(initial=0.0)) <= RTOL[dtype] * scale


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_fused_compiled_steps_on_cupy_equal_unfused_ones(dtype, activation):
    import xgrad.nn.functional as F

    with xgrad.use_backend("cupy"):
        plan, losses, weights = _mlp_step(True, dtype, getattr(F, activation))
        ref_plan, ref_losses, ref_weights = _mlp_step(False, dtype, getattr(F, activation))
    assert len(plan.fused) >= 3 and ref_plan.fused == []
    assert_close(np.array(losses, dtype=dtype), np.array(ref_losses, dtype=dtype), dtype)
    for w, r in zip(weights, ref_weights):
        assert_close(w, r, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_kernel_keeps_numpys_nan_inf_and_signed_zero_rules(dtype):
    import cupy

    from xgrad.backends.fused import Group, Node

    backend = get_backend("cupy")
    group = Group(steps=(0, 1, 2, 3, 4), inputs=((0, dtype), (1, dtype)),
                  nodes=(Node("maximum", ("x0", "x1"), dtype), Node("less", ("x0", 0), "bool"),
                         Node("where", ("t1", 0.5, "t0"), dtype), Node("multiply", ("t2", "t2"), dtype),
                         Node("subtract", (1, "t3"), dtype)),
                  outputs=(("t0", 2), ("t4", 6)), shape=(8,), dtype=dtype)
    x = cupy.asarray(np.array([np.nan, 1.0, -0.0, 0.0, np.inf, -np.inf, 2.0, -3.0], dtype=dtype))
    y = cupy.asarray(np.array([0.0, np.nan, 0.0, -0.0, 1.0, np.nan, 1e300 if dtype == "float64" else 3e38,
                               -3.0], dtype=dtype))
    got = backend.fused_elementwise(group)(x, y)
    want = fused.interpret(group, fused.functions(backend.rule_namespace))(x, y)
    for a, b in zip(got, want):
        assert_close(cupy.asnumpy(a), cupy.asnumpy(b), dtype)
    numpy_max = np.maximum(cupy.asnumpy(x), cupy.asnumpy(y))  # of -0.0 and 0.0, NumPy keeps the first
    assert np.signbit(cupy.asnumpy(got[0])[2:4]).tolist() == np.signbit(numpy_max[2:4]).tolist()
