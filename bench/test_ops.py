"""The benchmark cases: every op kind x size x dtype x engine. One timed call is forward + backward
(+ the SGD update for mlp_step), ending with a device synchronize on the GPU.

Cases are ordered so that the engines of one (op, dtype, size) run back to back: on a noisy machine
they see the same conditions, and their ratio is what the report quotes.
"""

import pytest

from . import cases, engines, flops


def _params():
    out = []
    for device in ("cpu", "gpu"):
        for op in cases.OPS:
            for dtype in cases.DTYPES:
                for size in cases.SIZES[device][op]:
                    for eng in engines.selected():
                        if eng.device != device or (eng.ops is not None and op not in eng.ops):
                            continue
                        marks = [getattr(pytest.mark, device)]
                        if device == "cpu" and cases.is_quick(op, size, dtype) or \
                                device == "gpu" and cases.is_reference(op, size):
                            marks.append(pytest.mark.quick)
                        out.append(pytest.param(op, size, dtype, eng.name, marks=marks,
                                                id=f"{op}-{dtype}-{cases.label(op, size)}-{eng.name}"))
    return out


@pytest.mark.parametrize("op,size,dtype,engine_name", _params())
def test_op(measure, op, size, dtype, engine_name):
    eng = engines.ENGINES[engine_name]
    reason = eng.unavailable()
    if reason:
        pytest.skip(reason)
    data = cases.make_data(op, size, dtype)
    try:
        case = eng.build(op, data)
    except engines.Unavailable as e:
        pytest.skip(f"{eng.name}: {e}")
    f = flops.flops(op, **size)
    measure(case, eng.device, {
        "op": op, "engine": eng.name, "role": eng.role, "library": eng.library, "device": eng.device,
        "dtype": dtype, "params": {k: list(v) if isinstance(v, tuple) else v for k, v in size.items()},
        "label": cases.label(op, size), "flops": f["total"], "flops_forward": f["forward"],
        "flops_backward": f["backward"], "reference": cases.is_reference(op, size),
    })
