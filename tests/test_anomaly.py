"""detect_anomaly: the first NaN/Inf is reported at the op and the line that made it, in forward and in
backward; nothing is recorded or checked outside it, and it is per thread."""

import math
import threading

import pytest

import xgrad
from xgrad import anomaly

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


def _leaf(values, backend=None):
    return xgrad.tensor(values, dtype="float64", backend=backend, requires_grad=True)


def test_a_planted_nan_in_forward_is_reported_at_its_op_and_line(backend):
    x = _leaf([1.0, -1.0], backend)
    with xgrad.detect_anomaly():
        y = x * 2.0
        with pytest.raises(anomaly.AnomalyError) as info:
            xgrad.sqrt(y)  # the planted NaN: sqrt(-2)
    message = str(info.value)
    assert "xgrad.sqrt returned NaN" in message and "shape (2,)" in message
    assert "test_anomaly.py" in message and "xgrad.sqrt(y)  # the planted NaN" in message


def test_a_nan_made_in_backward_names_the_op_and_where_it_was_called():
    x = _leaf([0.0, 4.0])
    with xgrad.detect_anomaly():
        y = xgrad.sqrt(x)  # finite forward; its gradient 1/(2 sqrt(0)) is Inf
        loss = (y * 0.0).sum()  # 0 * Inf: the gradient reaching x would be NaN
        with pytest.raises(anomaly.AnomalyError) as info:
            loss.backward()
    message = str(info.value)
    assert "backward of xgrad.sqrt" in message and "gradient of its input 0 (shape (2,))" in message
    assert "y = xgrad.sqrt(x)  # finite forward" in message


def test_a_decorated_function_checks_and_an_undecorated_one_does_not():
    @xgrad.detect_anomaly()
    def checked(x):
        return xgrad.log(x)

    x = xgrad.tensor([-1.0], dtype="float64")
    with pytest.raises(FloatingPointError, match="xgrad.log returned NaN"):
        checked(x)
    assert math.isnan(xgrad.log(x).item())  # outside: PyTorch's number, no check


def test_without_detect_anomaly_nothing_is_recorded():
    x = _leaf([1.0])
    y = x * 2.0
    assert anomaly.creation_site(y) is None
    with xgrad.detect_anomaly(check_nan=False):
        z = x * 3.0
    assert "z = x * 3.0" in anomaly.creation_site(z)
    assert xgrad._state.engaged == 0 and xgrad._state.mode.anomaly is None


def test_check_nan_false_records_lines_but_lets_nan_through():
    with xgrad.detect_anomaly(check_nan=False):
        assert math.isnan(xgrad.log(xgrad.tensor([-1.0], dtype="float64")).item())


def test_an_error_in_backward_says_where_the_failing_op_was_called():
    x = _leaf([1.0, 2.0])
    with xgrad.detect_anomaly(check_nan=False):
        y = xgrad.exp(x)
        loss = y.sum()
        with xgrad.no_grad():
            x.add_(1.0)  # in place after exp saved x: backward refuses
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    told = str(info.value) + "".join(getattr(info.value, "__notes__", []))
    assert "xgrad.detect_anomaly: raised in the backward of xgrad.exp created at" in told
    assert "y = xgrad.exp(x)" in told


def test_detect_anomaly_is_per_thread():
    seen = {}
    inside = threading.Event()
    done = threading.Event()

    def other():
        inside.wait()
        seen["other"] = math.isnan(xgrad.log(xgrad.tensor([-1.0], dtype="float64")).item())
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with xgrad.detect_anomaly():
        inside.set()
        done.wait()
        with pytest.raises(anomaly.AnomalyError):
            xgrad.log(xgrad.tensor([-1.0], dtype="float64"))
    t.join()
    assert seen == {"other": True}


def test_a_compiled_function_refuses_to_run_under_detect_anomaly():
    f = xgrad.compile(lambda x: (x * 2.0).sum(), warmup=0)
    x = xgrad.tensor([1.0], dtype="float64")
    f(x)
    with xgrad.detect_anomaly(), pytest.raises(RuntimeError, match="detect_anomaly"):
        f(x)
    assert f(x).item() == 2.0


def test_detect_anomaly_entered_inside_a_compiled_function_is_refused():
    def f(x):
        with xgrad.detect_anomaly():
            return (x * 2.0).sum()

    with pytest.raises(RuntimeError, match="inside a function being compiled"):
        xgrad.compile(f, warmup=0)(xgrad.tensor([1.0], dtype="float64"))
