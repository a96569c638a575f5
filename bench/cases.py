"""What is measured: the op kinds, the size sweeps, the quick subset, and the (seeded) input data that
every engine starts from. Engines convert the same NumPy arrays, so all start from identical values."""

import numpy as np

from . import flops as _flops

DTYPES = ("float32", "float64")

# Size sweeps. FLOPs per op (forward + backward, see flops.py) span about 1e2 up to 1e9 where memory
# allows: matmul reaches ~1.6e9; elementwise/reduction sweeps stop at a few 1e7 (tens of millions of
# elements, hundreds of MB per float64 array with the backward temporaries).
_SQUARES = (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
SIZES = {
    "cpu": {
        "tanh": [dict(n=n) for n in (32, 256, 2048, 16384, 131072, 1048576, 8388608)],
        "bias_add": [dict(n=s, m=s) for s in _SQUARES],
        "matmul": [dict(m=s, k=s, n=s) for s in (3, 6, 12, 24, 48, 96, 192, 384, 640)],
        "sum_axis": [dict(n=s, m=s) for s in (10,) + _SQUARES[1:]],
        "cross_entropy": [dict(n=s, c=s) for s in (4,) + _SQUARES[:-1]],
        "mlp_step": [
            dict(batch=64, widths=(2, 32, 32, 2)),        # the reference two-moons step
            dict(batch=512, widths=(2, 32, 32, 2)),
            dict(batch=64, widths=(16, 128, 128, 10)),
            dict(batch=512, widths=(16, 128, 128, 10)),
            dict(batch=256, widths=(64, 512, 512, 10)),
            dict(batch=512, widths=(256, 1024, 1024, 10)),
        ],
        # 3x3 convolutions, padding 1 (the output keeps H x W); the digits CNN's two layers at batch 64
        "conv2d": [dict(n=1, c=1, o=2, hw=4), dict(n=4, c=2, o=4, hw=8), dict(n=64, c=1, o=16, hw=8),
                   dict(n=64, c=16, o=32, hw=4), dict(n=16, c=16, o=32, hw=16), dict(n=16, c=32, o=32, hw=32)],
        # one training epoch of the digits CNN (xgrad.models.CNN, Adam, dropout 0.25): 1437 8x8 images
        # (the digits training split's size; random pixels, as the timing does not depend on them)
        "cnn_epoch": [dict(samples=1437, batch=64)],
    },
}
# On the GPU the crossover sits at larger sizes: extend the sweeps (still cheap there).
SIZES["gpu"] = {
    "tanh": SIZES["cpu"]["tanh"] + [dict(n=n) for n in (33554432,)],
    "bias_add": SIZES["cpu"]["bias_add"] + [dict(n=8192, m=8192)],
    "matmul": SIZES["cpu"]["matmul"] + [dict(m=s, k=s, n=s) for s in (1024, 2048, 4096)],
    "sum_axis": SIZES["cpu"]["sum_axis"] + [dict(n=8192, m=8192)],
    "cross_entropy": SIZES["cpu"]["cross_entropy"] + [dict(n=s, c=s) for s in (4096, 8192)],
    "mlp_step": SIZES["cpu"]["mlp_step"] + [dict(batch=4096, widths=(256, 4096, 4096, 10))],
    "conv2d": SIZES["cpu"]["conv2d"] + [dict(n=64, c=64, o=64, hw=32)],
    "cnn_epoch": SIZES["cpu"]["cnn_epoch"],
}
OPS = tuple(SIZES["cpu"])

REFERENCE = dict(op="mlp_step", batch=64, widths=(2, 32, 32, 2))


def is_reference(op, params):
    return op == REFERENCE["op"] and params == {k: v for k, v in REFERENCE.items() if k != "op"}


DIGITS_CONV = ({"n": 64, "c": 1, "o": 16, "hw": 8}, {"n": 64, "c": 16, "o": 32, "hw": 4})  # the CNN's layers


def is_quick(op, params, dtype):
    """The quick subset: the reference training step in both dtypes, and for each op kind its smallest
    size and one near 1e6 FLOPs, in float64."""
    if is_reference(op, params) or op == "conv2d" and params in DIGITS_CONV or op == "cnn_epoch":
        return True
    if dtype != "float64" or op == "mlp_step":
        return False
    sizes = SIZES["cpu"][op]
    if params == sizes[0]:
        return True
    near = min(sizes, key=lambda p: abs(np.log10(_flops.flops(op, **p)["total"]) - 6))
    return params == near


def label(op, params):
    if op == "mlp_step":
        return "-".join(map(str, params["widths"])) + f"-b{params['batch']}"
    if op == "conv2d":
        p = params
        return f"b{p['n']}-{p['c']}to{p['o']}-{p['hw']}x{p['hw']}"
    if op == "cnn_epoch":
        return f"digits-{params['samples']}-b{params['batch']}"
    return "x".join(f"{k}{v}" for k, v in params.items())


def make_data(op, params, dtype, seed=0):
    """Host NumPy inputs for one case: every engine converts these same arrays."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)

    def normal(*shape):
        return rng.standard_normal(shape).astype(dt)

    if op == "tanh":
        n = params["n"]
        return dict(x=normal(n), g=normal(n))
    if op == "bias_add":
        n, m = params["n"], params["m"]
        return dict(x=normal(n, m), b=normal(m), g=normal(n, m))
    if op == "matmul":
        m, k, n = params["m"], params["k"], params["n"]
        return dict(a=normal(m, k), b=normal(k, n), g=normal(m, n))
    if op == "sum_axis":
        n, m = params["n"], params["m"]
        return dict(x=normal(n, m), g=normal(n))
    if op == "cross_entropy":
        n, c = params["n"], params["c"]
        return dict(z=normal(n, c), y=rng.integers(0, c, size=n).astype(np.int64))
    if op == "conv2d":
        n, c, o, hw = params["n"], params["c"], params["o"], params["hw"]
        bound = 1.0 / np.sqrt(c * 9)  # nn.Conv2d's default init range
        return dict(x=normal(n, c, hw, hw), w=rng.uniform(-bound, bound, size=(o, c, 3, 3)).astype(dt),
                    b=rng.uniform(-bound, bound, size=o).astype(dt), g=normal(n, o, hw, hw))
    if op == "mlp_step":
        B, widths = params["batch"], params["widths"]
        Ws, bs = [], []
        for a, b in zip(widths[:-1], widths[1:]):
            bound = 1.0 / np.sqrt(a)  # nn.Linear's default init range
            Ws.append(rng.uniform(-bound, bound, size=(a, b)).astype(dt))
            bs.append(rng.uniform(-bound, bound, size=(b,)).astype(dt))
        return dict(x=normal(B, widths[0]), y=rng.integers(0, widths[-1], size=B).astype(np.int64),
                    Ws=Ws, bs=bs, lr=0.01)
    if op == "cnn_epoch":  # the CNN's initial weights (nn.Conv2d/nn.Linear init ranges) and a batch order
        n = params["samples"]

        def uniform(fan_in, *shape):
            return rng.uniform(-1 / np.sqrt(fan_in), 1 / np.sqrt(fan_in), size=shape).astype(dt)
        return dict(x=normal(n, 1, 8, 8), y=rng.integers(0, 10, size=n).astype(np.int64),
                    w1=uniform(9, 16, 1, 3, 3), w2=uniform(144, 32, 16, 3, 3), fc_w=uniform(128, 10, 128),
                    fc_b=uniform(128, 10), order=rng.permutation(n).astype(np.int64), batch=params["batch"],
                    lr=3e-3, dropout=params.get("dropout", 0.25))
    raise KeyError(op)
