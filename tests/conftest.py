"""Shared fixtures: the ``backend`` parametrization over every backend xgrad knows, and state hygiene.

Tests that take a ``backend`` argument run once per known backend; one that cannot load here (cupy
without a GPU) is skipped with the reason xgrad gives. Tests that do not name a backend use xgrad's
current one, i.e. ``XGRAD_BACKEND`` when it is set (``XGRAD_BACKEND=array_api_strict pytest tests``).
"""

import os

import pytest

import xgrad
import xgrad.backends
import xgrad.creation
from xgrad import _state

try:
    from hypothesis import HealthCheck, settings

    settings.register_profile("xgrad", max_examples=10, deadline=None, derandomize=True,
                              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "xgrad"))
except ImportError:  # pragma: no cover
    pass

_STANDARD = ["numpy", "torch", "array_api_strict", "cupy"]


def _backend_params():
    status = xgrad.available_backends()
    names = _STANDARD + [n for n in sorted(status) if n not in _STANDARD]
    params = []
    for name in names:
        reason = status.get(name, f"backend {name!r} is not registered")
        marks = [pytest.mark.skip(reason=f"{name} unavailable here: {reason}")] if reason else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


BACKEND_PARAMS = _backend_params()


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKEND_PARAMS)


def pytest_report_header(config):
    current = os.environ.get("XGRAD_BACKEND") or "numpy (default)"
    return [f"xgrad default backend: {current}; backends: "
            + ", ".join(f"{n}={'ok' if r is None else 'unavailable'}" for n, r in xgrad.available_backends().items())]


@pytest.fixture(autouse=True)
def _restore_xgrad_state():
    """Each test starts from, and leaves behind, the process's default xgrad state."""
    current = xgrad.backends._current
    dtype = xgrad.get_default_dtype()
    grad_enabled = _state.mode.grad_enabled
    yield
    xgrad.backends._current = current
    xgrad.set_default_dtype(dtype)
    _state.mode.grad_enabled = grad_enabled
    xgrad.backends.checks.pending.clear()  # a check a backend deferred (CuPy) and no read raised


@pytest.fixture
def default_backend():
    """The name of the backend tests run on when they do not choose one (XGRAD_BACKEND or numpy)."""
    return xgrad.current_backend().name
