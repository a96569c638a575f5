"""xgrad.gradcheck / gradgradcheck for users' functions, and the Function features they check:
several outputs, needs_input_grad, mark_non_differentiable, once_differentiable."""

import re

import numpy as np
import pytest

import xgrad
from xgrad import Function


def _leaf(values, backend=None):
    return xgrad.tensor(np.asarray(values, dtype=np.float64), dtype="float64", backend=backend,
                        requires_grad=True)


A = np.array([[1.0, 2.0, 0.0], [-1.0, 0.5, 3.0], [0.0, 4.0, 1.0]])  # not symmetric


class Apply(Function):
    """y = A x, with backward A^T g (right) or A g (the planted transposed-Jacobian bug)."""

    transposed_bug = False

    @staticmethod
    def forward(ctx, a, x):
        ctx.save_for_backward(a)
        return a @ x

    @classmethod
    def make(cls, bug):
        class Applied(cls):
            @staticmethod
            def backward(ctx, g):
                (a,) = ctx.saved_tensors
                m = a if bug else xgrad.matrix_transpose(a)
                return None, m @ g
        return Applied


def test_gradcheck_passes_a_correct_custom_function(backend):
    a = xgrad.tensor(A, dtype="float64", backend=backend)
    x = _leaf([0.3, -0.2, 0.7], backend)
    assert xgrad.gradcheck(lambda x: Apply.make(bug=False).apply(a, x), [x])


def test_gradcheck_catches_a_transposed_jacobian_and_says_where(backend):
    a = xgrad.tensor(A, dtype="float64", backend=backend)
    x = _leaf([0.3, -0.2, 0.7], backend)
    with pytest.raises(xgrad.GradcheckError) as info:
        xgrad.gradcheck(lambda x: Apply.make(bug=True).apply(a, x), [x])
    message = str(info.value)
    # the worst violation: d y_1 / d x_0 is A[1, 0] = -1 (tolerance 1e-5 + 1e-3), the bug gives A[0, 1] = 2
    assert "input 0" in message and "input element (0,), output element (1,)" in message
    assert re.search(r"analytical 2\.0, numerical -(0\.999999|1\.000000)", message)
    assert not xgrad.gradcheck(lambda x: Apply.make(bug=True).apply(a, x), [x], raise_exception=False)


class SinCos(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xgrad.sin(x), xgrad.cos(x)

    @staticmethod
    def backward(ctx, gs, gc):
        (x,) = ctx.saved_tensors
        return gs * xgrad.cos(x) - gc * xgrad.sin(x)


def test_a_function_with_two_outputs_runs_backward_once_with_both_gradients():
    x = _leaf([0.1, 1.2])
    s, c = SinCos.apply(x)
    (s * 2.0 + c * 3.0).sum().backward()
    xs = np.array([0.1, 1.2])
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(xs) - 3 * np.sin(xs), rtol=1e-14)
    x.grad = None
    s, c = SinCos.apply(x)
    c.sum().backward()  # no gradient reached s: backward gets zeros for it
    np.testing.assert_allclose(x.grad.numpy(), -np.sin(xs), rtol=1e-14)
    assert xgrad.gradcheck(SinCos.apply, [_leaf([0.1, 1.2])])
    assert xgrad.gradgradcheck(SinCos.apply, [_leaf([0.1, 1.2])])


def test_gradcheck_checks_every_output_of_a_function_with_several():
    class Wrong(SinCos):
        @staticmethod
        def backward(ctx, gs, gc):
            (x,) = ctx.saved_tensors
            return gs * xgrad.cos(x) + gc * xgrad.sin(x)  # wrong sign for the second output

    with pytest.raises(xgrad.GradcheckError, match="output 1"):
        xgrad.gradcheck(Wrong.apply, [_leaf([0.1, 1.2])])


def test_needs_input_grad_and_mark_non_differentiable():
    seen = []

    class MaxWithIndex(Function):
        @staticmethod
        def forward(ctx, x, w):
            seen.append(ctx.needs_input_grad)
            i = xgrad.argmax(x * w)
            ctx.mark_non_differentiable(i)
            ctx.save_for_backward(x, w)
            return xgrad.max(x * w), i

        @staticmethod
        def backward(ctx, g, gi):
            x, w = ctx.saved_tensors
            assert gi.tolist() == 0  # the index output gets zeros
            k = int(xgrad.argmax(x * w).item())
            onehot = xgrad.tensor(np.eye(x.shape[0])[k], dtype="float64")
            gx = g * w * onehot if ctx.needs_input_grad[0] else None
            gw = g * x * onehot if ctx.needs_input_grad[1] else None
            return gx, gw

    x = _leaf([1.0, 3.0, 2.0])
    w = xgrad.tensor([1.0, 1.0, 2.0], dtype="float64")
    m, i = MaxWithIndex.apply(x, w)
    assert seen == [(True, False)]
    assert not i.requires_grad and i.item() == 2
    m.backward()
    assert x.grad.tolist() == [0.0, 0.0, 2.0]


def test_once_differentiable_refuses_a_second_derivative_instead_of_giving_zero():
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @xgrad.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2.0 * x

    x = _leaf([3.0])
    (gx,) = xgrad.grad(Square.apply(x).sum(), [x], create_graph=True)
    assert gx.tolist() == [6.0]
    with pytest.raises(RuntimeError, match="once_differentiable"):
        gx.sum().backward()
    x2 = _leaf([3.0])
    Square.apply(x2).sum().backward()  # a first derivative is fine
    assert x2.grad.tolist() == [6.0]


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class BadSquare(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2.0 * x.detach() * 1.0 + 0.0 * x * x  # right value, wrong derivative of it

    x = _leaf([0.5, -1.5])
    assert xgrad.gradcheck(BadSquare.apply, [x])
    with pytest.raises(xgrad.GradcheckError):
        xgrad.gradgradcheck(BadSquare.apply, [x])


def test_gradcheck_wants_float64():
    x = xgrad.tensor([1.0], dtype="float32", requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        xgrad.gradcheck(xgrad.exp, [x])
