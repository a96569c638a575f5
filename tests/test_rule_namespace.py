"""The rule namespace contract: every backend's ``xp`` and xgrad's own namespace provide exactly the
names of ``xgrad/backends/namespace.py``, and the op library and library code use no other."""

import pathlib
import re

import pytest

import xgrad
from xgrad.backends.namespace import ALL_NAMES, EXTENSIONS, FFT, LINALG, NAMES, STANDARD, SUBNAMESPACES, names
from xgrad.ops import grad_namespace

PACKAGE = pathlib.Path(xgrad.__file__).parent


def test_backend_rule_namespace_is_exactly_the_contract(backend):
    b = xgrad.get_backend(backend)
    assert names(b.rule_namespace) == set(ALL_NAMES)
    assert b.xp is b.rule_namespace  # no observer: the namespace itself


def test_xgrad_namespace_is_exactly_the_contract():
    assert names(grad_namespace) == set(ALL_NAMES)


def test_extensions_are_the_standard_linalg_and_fft_names():
    assert set(SUBNAMESPACES) == {"linalg", "fft"}
    assert {f"linalg.{n}" for n in LINALG} | {f"fft.{n}" for n in FFT} == ALL_NAMES - NAMES
    assert {"linalg.inv", "linalg.svd", "fft.rfft", "fft.ifftshift"} <= ALL_NAMES


def test_xgrad_extensions_are_the_public_linalg_and_fft_functions():
    for name in LINALG:
        assert getattr(grad_namespace.linalg, name) is getattr(xgrad.linalg, name), name
    for name in FFT:
        assert getattr(grad_namespace.fft, name) is getattr(xgrad.fft, name), name


def test_standard_names_come_from_the_standard_namespace_or_a_fast_path(backend):
    b = xgrad.get_backend(backend)
    fast = b.fast_paths()
    for name in STANDARD:
        expected = fast.get(name, getattr(b.namespace, name))
        assert getattr(b.rule_namespace, name) == expected, name


def test_extension_names_come_from_the_library_extensions(backend):
    b = xgrad.get_backend(backend)
    for ext, ext_names in SUBNAMESPACES.items():
        for name in ext_names:
            assert getattr(getattr(b.rule_namespace, ext), name) == getattr(getattr(b.namespace, ext), name), name


def test_a_name_outside_the_contract_is_a_clear_error(backend):
    b = xgrad.get_backend(backend)
    with pytest.raises(AttributeError, match="not in xgrad's rule namespace.*namespace.py"):
        b.xp.einsum_path
    with pytest.raises(AttributeError, match="not in xgrad's rule namespace.*extension 'linalg'.*namespace.py"):
        b.xp.linalg.lstsq


def test_fast_paths_agree_with_the_standard_functions():
    import numpy as np

    b = xgrad.get_backend("numpy")
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 3))
    labels = np.array([[0], [2], [1], [2], [0]])
    std = b.namespace
    for name, args, kw in [("sum", (a,), {"axis": 0}), ("max", (a,), {"axis": -1, "keepdims": True}),
                           ("min", (a,), {}), ("mean", (a,), {"axis": 1}), ("permute_dims", (a, (1, 0)), {}),
                           ("matrix_transpose", (a,), {}), ("broadcast_to", (a[:1], (5, 3)), {}),
                           ("take_along_axis", (a, labels), {"axis": -1}), ("ones_like", (a[0, 0],), {}),
                           ("expand_dims", (a,), {"axis": -1}), ("expand_dims", (a,), {"axis": 0}),
                           ("squeeze", (a[:, :1],), {"axis": -1}), ("squeeze", (a[:1],), {"axis": 0})]:
        got, want = getattr(b.xp, name)(*args, **kw), getattr(std, name)(*args, **kw)
        assert got.shape == want.shape and np.array_equal(got, want), name


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_numpy_where_gives_np_wheres_bits_with_nan_signed_zeros_and_scalars(dtype):
    """NumPy's where is a branch-free bitwise select on large float arrays: the same bits as np.where."""
    import numpy as np

    b = xgrad.get_backend("numpy")
    rng = np.random.default_rng(0)
    x, g = (rng.normal(size=(64, 16, 8, 8)).astype(dtype) for _ in range(2))
    x.flat[::7], x.flat[::11], g.flat[::13], g.flat[::17] = np.nan, -0.0, np.inf, -np.inf
    for cond, a, c in [(x < 0, 0, x), (x <= 0, 0.0, g), (x > 0, x, -0.0), (x < 0, g, x), (x == x, g[:1], x),
                       (x < 0, x.astype("float64"), g), (x[:2] < 0, x[:2], g[:2])]:
        got, want = b.xp.where(cond, a, c), np.where(cond, a, c)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got.view(np.uint8), want.view(np.uint8))


def _used_names(path):
    """The xp names a file uses, an extension's as ``"linalg.inv"``."""
    return set(re.findall(r"\bxp\.((?:linalg|fft)\.[A-Za-z_]\w*|[A-Za-z_]\w*)", path.read_text())) - set(SUBNAMESPACES)


def test_used_names_reads_extension_calls(tmp_path):
    f = tmp_path / "rules.py"
    f.write_text("y = xp.linalg.solve(a, xp.matmul(b, c)) + xp.fft.rfft(d)")
    assert _used_names(f) == {"linalg.solve", "matmul", "fft.rfft"}


@pytest.mark.parametrize("path", sorted((PACKAGE / "ops").glob("*.py")) + [
    PACKAGE / name for name in ("autograd.py", "creation.py", "optim.py", "training.py", "data.py", "tensor.py")
] + sorted((PACKAGE / "nn").glob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_library_code_uses_only_contract_names(path):
    unknown = _used_names(path) - set(ALL_NAMES)
    assert not unknown, f"{path.name} uses xp names outside the rule namespace: {sorted(unknown)}"


def test_extensions_are_supplied_by_every_backend_class():
    from xgrad.backends.base import Backend

    for name in EXTENSIONS:
        assert callable(getattr(Backend, name))
