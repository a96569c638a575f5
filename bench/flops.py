"""FLOP counts per benchmarked op: the one place they are written down.

Conventions (stated once, used by every engine, table and plot):
- one multiply, add, subtract, divide, compare/max, exp, log or tanh on one element is 1 FLOP;
- views, copies, broadcasts and the identity gradient of an add are 0 FLOPs;
- a timed call is forward + backward (+ the SGD update for a training step), so the x-axis of every
  table and plot, "FLOPs per op", is ``total = forward + backward``.

| op kind        | shapes                      | forward      | backward                        |
|----------------|-----------------------------|--------------|---------------------------------|
| tanh           | x: (n,)                     | n            | 3n   (g * (1 - y*y))            |
| bias_add       | x: (n, m) + b: (m,)         | nm           | nm   (dx = g; db = sum_0 g)     |
| matmul         | (m, k) @ (k, n)             | 2mkn         | 4mkn (g B^T and A^T g)          |
| sum_axis       | x: (n, m), sum over axis 1  | nm           | 0    (broadcast of g)           |
| cross_entropy  | logits (n, c), int labels   | 5nc + 2n     | 3nc  ((softmax - onehot) / n)   |
| mlp_step       | d_in-h-h-d_out, batch B     | see mlp_step_flops                             |
| conv2d         | x (n, c, hw, hw), w (o, c, 3, 3), padding 1 | 18 n o c hw^2 + n o hw^2 | 36 n o c hw^2 + n o hw^2 (dx, dw, db) |
| cnn_epoch      | the digits CNN over `samples` 8x8 images | see cnn_epoch (convolutions and linear layer; the |
|                |                             | elementwise layers, pooling and Adam counted per element)  |
"""


def tanh(n):
    return n, 3 * n


def bias_add(n, m):
    return n * m, n * m


def matmul(m, k, n):
    return 2 * m * k * n, 4 * m * k * n


def sum_axis(n, m):
    return n * m, 0


def cross_entropy(n, c):
    # forward: row max, subtract, exp, row sum, (log per row), subtract, pick label, mean
    return 5 * n * c + 2 * n, 3 * n * c


def mlp_step(batch, widths):
    """Forward, backward and SGD update of a tanh MLP ``widths = (d_in, h1, ..., d_out)`` on one batch
    with softmax cross-entropy. Returns (forward, backward + update)."""
    B = batch
    fwd = bwd = 0
    layers = list(zip(widths[:-1], widths[1:]))
    for i, (a, b) in enumerate(layers):
        fwd += 2 * B * a * b + B * b            # x W + b
        bwd += 2 * B * a * b + B * b            # dW = x^T dz, db = sum_0 dz
        if i > 0:
            bwd += 2 * B * a * b                # dx = dz W^T (not needed for the input layer)
        if i < len(layers) - 1:
            fwd += B * b                        # tanh
            bwd += 3 * B * b                    # dz = dh * (1 - h*h)
        bwd += 2 * (a * b + b)                  # SGD: p -= lr * g
    c = widths[-1]
    f_ce, b_ce = cross_entropy(B, c)
    return fwd + f_ce, bwd + b_ce


def conv2d(n, c, o, hw):
    """3x3 kernel, padding 1: each output entry is a dot product of length 9c; dx and dw cost the same."""
    macs = n * o * c * 9 * hw * hw
    return 2 * macs + n * o * hw * hw, 4 * macs + n * o * hw * hw


def cnn_epoch(samples, batch, dropout=0.25):
    """One epoch of ``xgrad.models.CNN`` (1->16->32 channels, 8x8 -> 4x4 -> 2x2, 10 classes) with Adam:
    the two convolutions and the linear layer as above, BatchNorm 8 / 12 FLOPs per element (forward /
    backward), ReLU, pooling and dropout 1 / 1, cross-entropy as above, Adam 12 per parameter per step."""
    n = samples
    steps = -(-samples // batch)
    c1f, c1b = conv2d(n, 1, 16, 8)
    c1b -= 2 * n * 16 * 1 * 9 * 64  # no input gradient for the first layer
    c2f, c2b = conv2d(n, 16, 32, 4)
    act1, act2 = n * 16 * 64, n * 32 * 16  # entries after each convolution
    fwd = c1f + c2f + 2 * n * 128 * 10 + n * 10 + 8 * (act1 + act2) + 2 * (act1 + act2) + n * 128
    bwd = c1b + c2b + 4 * n * 128 * 10 + n * 10 + 12 * (act1 + act2) + 2 * (act1 + act2) + n * 128
    f_ce, b_ce = cross_entropy(n, 10)
    params = 16 * 9 + 2 * 16 + 32 * 16 * 9 + 2 * 32 + 128 * 10 + 10
    return fwd + f_ce, bwd + b_ce + 12 * params * steps


_TABLE = {"tanh": tanh, "bias_add": bias_add, "matmul": matmul, "sum_axis": sum_axis,
          "cross_entropy": cross_entropy, "mlp_step": mlp_step, "conv2d": conv2d,
          "cnn_epoch": cnn_epoch}


def flops(op, **params):
    """``{"forward": F, "backward": B, "total": F + B}`` for one timed call of ``op``."""
    f, b = _TABLE[op](**params)
    return {"forward": int(f), "backward": int(b), "total": int(f + b)}
