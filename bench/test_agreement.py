"""Not a timing: checks that the engines of the harness compute the same thing from the same inputs
(xgrad vs the hand-derived floor vs PyTorch), so the timings compare like with like. Three calls each
(three SGD steps for mlp_step; gradients are overwritten, not accumulated, for the single ops)."""

import numpy as np
import pytest

from . import cases, engines

_SMALL = {"tanh": dict(n=64), "bias_add": dict(n=8, m=5), "matmul": dict(m=4, k=6, n=3),
          "sum_axis": dict(n=7, m=5), "cross_entropy": dict(n=9, c=4),
          "mlp_step": dict(batch=16, widths=(2, 8, 8, 3)), "conv2d": dict(n=3, c=2, o=4, hw=5),
          "cnn_epoch": dict(samples=70, batch=32, dropout=0.0)}  # no dropout: the engines draw other masks


def _params():
    out = []
    for device in ("cpu", "gpu"):
        for op in cases.OPS:
            for dtype in cases.DTYPES:
                out.append(pytest.param(device, op, dtype, marks=[getattr(pytest.mark, device), pytest.mark.quick],
                                        id=f"{device}-{op}-{dtype}"))
    return out


@pytest.mark.parametrize("device,op,dtype", _params())
def test_engines_agree(device, op, dtype):
    present = [e for e in engines.selected() if e.device == device and (e.ops is None or op in e.ops)
               and not e.unavailable()]
    if len(present) < 2:
        pytest.skip(f"fewer than two {device} engines available here")
    if op == "cnn_epoch" and dtype == "float32":
        pytest.skip("Adam divides by sqrt(v): float32 rounding in near-zero gradients flips steps of lr, and the "
                    "epochs drift apart; the float64 case checks that the engines compute the same epoch")
    data = cases.make_data(op, _SMALL[op], dtype)
    results = {}
    for e in present:
        try:
            case = e.build(op, data)
        except engines.Unavailable:  # (an engine that finds out only when building, e.g. torch.compile)
            continue
        for _ in range(3):  # several calls: a compiled engine warms up, traces, then replays
            case.call()
        results[e.name] = case.result()
    ref_name = next(iter(results))
    rtol = 1e-4 if dtype == "float32" else 1e-10
    for name, res in results.items():
        assert len(res) == len(results[ref_name])
        for a, b in zip(res, results[ref_name]):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg=f"{name} vs {ref_name}")
