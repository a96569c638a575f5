"""Scaling: the backward of concat and stack is linear in the number of inputs.

Each input's gradient is a slice of the upstream gradient. Before, each input had its own rule that got
all N inputs, and concat's added up the sizes of the inputs before its own: O(N^2) (8,000 scalars took
0.47 s, 100,000 took minutes). Now one call of the op's rules gives all N slices.
"""

import numpy as np
import pytest

import xgrad
from xgrad.ops import shape as shape_ops


def _scalars(n):
    return [xgrad.tensor(float(i), dtype="float64", requires_grad=True) for i in range(n)]


@pytest.mark.parametrize("join", ["stack", "concat"])
def test_one_backward_call_gives_every_input_its_slice(join, monkeypatch):
    """The work of a join's backward is one pass over its N inputs: the rules run once (not once per
    input, each seeing all N inputs) and each input's index into the gradient is produced once."""
    op = getattr(shape_ops, "_" + join)
    calls, produced = [], []
    slices = op.slices

    def counted(g, arrays, axis):
        calls.append(len(arrays))
        for s in slices(g, arrays, axis):
            produced.append(s)
            yield s

    monkeypatch.setattr(op, "slices", counted)
    n = 5_000
    xs = _scalars(n)
    parts = xs if join == "stack" else [xgrad.reshape(x, (1,)) for x in xs]
    getattr(xgrad, join)(parts).sum().backward()
    assert calls == [n] and len(produced) == n
    assert xs[0].grad.item() == 1.0 and xs[-1].grad.item() == 1.0


def test_join_gradients_are_exact_slices_and_skip_inputs_without_grad():
    rng = np.random.default_rng(0)
    sizes = [1, 3, 2, 4]
    xs = [xgrad.tensor(rng.normal(size=(2, k)), requires_grad=(i != 1)) for i, k in enumerate(sizes)]
    w = rng.normal(size=(2, sum(sizes)))
    (xgrad.concat(xs, axis=-1) * xgrad.tensor(w)).sum().backward()
    bounds = np.cumsum([0] + sizes)
    for i, x in enumerate(xs):
        if i == 1:
            assert x.grad is None
        else:
            np.testing.assert_array_equal(x.grad.numpy(), w[:, bounds[i]:bounds[i + 1]])

    ys = [xgrad.tensor(rng.normal(size=(3,)), requires_grad=(i != 0)) for i in range(4)]
    w = rng.normal(size=(3, 4))
    (xgrad.stack(ys, axis=1) * xgrad.tensor(w)).sum().backward()
    assert ys[0].grad is None
    for i, y in enumerate(ys[1:], 1):
        np.testing.assert_array_equal(y.grad.numpy(), w[:, i])
