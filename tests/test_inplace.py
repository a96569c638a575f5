"""xgrad.inplace.update_: in place where the backend allows, a new array otherwise; same numbers either way,
and always a write to ``t.data`` that an observer (xgrad.compile) sees."""

import operator

import numpy as np
import pytest

import xgrad
from xgrad import observe
from xgrad.inplace import assign, update_, zero_grads

START = np.array([1.0, -2.0, 4.0])
OTHER = np.array([0.5, 0.25, -8.0])
CASES = [(operator.iadd, OTHER, START + OTHER), (operator.isub, OTHER, START - OTHER),
         (operator.imul, OTHER, START * OTHER), (operator.itruediv, OTHER, START / OTHER),
         (operator.imul, 3.0, START * 3.0), (assign, OTHER, OTHER), (assign, 7.0, np.full(3, 7.0))]


def _start(b):
    return xgrad.tensor(START.copy(), dtype="float64", backend=b)  # a copy: NumPy tensors wrap their input


def _operand(value, b):
    return b.asarray(value, dtype="float64") if isinstance(value, np.ndarray) else value


@pytest.mark.parametrize("op,value,want", CASES)
def test_update_writes_into_the_same_array(backend, op, value, want):
    b = xgrad.get_backend(backend)
    t = _start(b)
    array = t.data
    assert update_(t, op, _operand(value, b)) is t
    assert t.data is array
    np.testing.assert_array_equal(t.numpy(), want)


@pytest.mark.parametrize("op,value,want", CASES)
def test_update_replaces_the_array_where_arrays_are_immutable(backend, op, value, want, monkeypatch):
    b = xgrad.get_backend(backend)
    monkeypatch.setattr(b, "mutable", False)
    t = _start(b)
    old = t.data
    update_(t, op, _operand(value, b))
    assert t.data is not old and t.dtype == old.dtype
    np.testing.assert_array_equal(b.to_numpy(old), START)  # the old array is untouched
    np.testing.assert_array_equal(t.numpy(), want)


def test_update_replaces_a_read_only_array():
    t = xgrad.tensor([0.0, 0.0], dtype="float64", backend="numpy")  # NumPy's read-only broadcast views
    t.data = np.broadcast_to(np.ones(1), (2,))
    update_(t, operator.iadd, 1.0)
    np.testing.assert_array_equal(t.numpy(), [2.0, 2.0])
    update_(t, assign, 5.0)
    assert t.data.flags.writeable  # the replacement is a new, writable array: the next update is in place
    kept = t.data
    update_(t, operator.isub, 1.0)
    assert t.data is kept and t.numpy().tolist() == [4.0, 4.0]


def test_update_raises_real_errors(backend):
    t = xgrad.tensor([1.0, 2.0], dtype="float64", backend=backend)
    with pytest.raises((ValueError, RuntimeError)):
        update_(t, operator.iadd, xgrad.ones((3, 2), dtype="float64", backend=backend).data)  # a shape change
    assert t.shape == (2,)
    if backend != "numpy":  # another library's array: never a silent replacement by a new array
        with pytest.raises((TypeError, ValueError, RuntimeError)):
            update_(t, operator.iadd, np.ones((3, 2)))
        assert t.shape == (2,) and xgrad.get_backend(backend).is_array(t.data)


class _Writes(observe.Observer):
    def __init__(self):
        self.writes = []

    def write(self, tensor, array):
        self.writes.append((tensor, array))
        super().write(tensor, array)


def test_update_assigns_back_to_data_so_observers_see_the_write(backend):
    b = xgrad.get_backend(backend)
    t = _start(b)
    obs = _Writes()
    with observe.observing(obs):
        update_(t, operator.isub, 1.0)
        update_(t, assign, 0.0)
    assert [w[0] for w in obs.writes] == [t, t]
    assert obs.writes[-1][1] is t.data


def test_zero_grads_skips_missing_gradients():
    a, c = xgrad.tensor([1.0], requires_grad=True), xgrad.tensor([2.0], requires_grad=True)
    (a * 3).sum().backward()
    zero_grads([a, c], set_to_none=False)
    assert a.grad.numpy().tolist() == [0.0] and c.grad is None
    zero_grads([a, c])
    assert a.grad is None


def test_floor_division_and_bitwise_in_place_use_xgrad_semantics_and_keep_the_dtype():
    t = xgrad.tensor([7, 8])
    t //= 2
    assert t.numpy().tolist() == [3, 4]
    with pytest.raises(ZeroDivisionError, match="floor_divide"):  # NumPy would write 0 silently
        t //= 0
    with pytest.raises(TypeError, match="cannot be written into a int64 tensor in place"):
        t //= 1.5  # PyTorch refuses too; NumPy would truncate
    s = xgrad.tensor(3)  # 0-d: NumPy holds it as a scalar that cannot be updated in place
    s |= 4
    assert s.item() == 7
