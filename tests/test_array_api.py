"""xgrad as an array-API namespace: its dtypes, inspection, data-type and creation functions, on every
backend."""

import pickle

import numpy as np
import pytest

import xgrad
from xgrad.backends.dtypes import DType

STANDARD = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32",
            "float64", "complex64", "complex128"]


def test_every_standard_dtype_is_a_module_attribute_that_equals_its_name():
    assert xgrad.__array_api_version__ == "2024.12"
    for name in STANDARD:
        d = getattr(xgrad, name)
        assert type(d) is DType and d == name and str(d) == name and repr(d) == f"xgrad.{name}"
        assert hash(d) == hash(name) and pickle.loads(pickle.dumps(d)) is d
    assert xgrad.float32 != xgrad.float64 and xgrad.int64 != "float64" and xgrad.float64 != "float"
    assert len({getattr(xgrad, n) for n in STANDARD}) == len(STANDARD)


def test_tensor_dtype_is_xgrad_dtype_equal_to_the_librarys(backend):
    b = xgrad.get_backend(backend)
    for name in ("float32", "float64", "int64", "bool", "complex128"):
        t = xgrad.zeros(3, dtype=name, backend=backend)
        assert t.dtype is getattr(xgrad, name)
        assert t.dtype == b.dtype(name) and t.dtype == name
        # array-api-strict's dtypes answer False to anything not theirs; the others defer to xgrad's
        assert (b.dtype(name) == t.dtype) is (backend != "array_api_strict")
        assert t.data.dtype == b.dtype(name)  # the raw array keeps the library's dtype
    t = xgrad.zeros(2, dtype="float64", backend=backend)
    assert t.dtype != b.dtype("float32") and not (t.dtype == "int64")


def test_xgrad_dtypes_compare_with_numpy_and_torch_dtypes():
    import torch

    assert xgrad.float64 == np.float64 and np.float64 == xgrad.float64
    assert xgrad.float64 == np.dtype("float64") and np.dtype("float64") == xgrad.float64
    assert xgrad.bool == np.bool_ and xgrad.bool == torch.bool and torch.int8 == xgrad.int8
    assert xgrad.float64 != np.float32 and xgrad.float32 != torch.float64
    assert xgrad.float64 != object() and xgrad.float64 != 64 and xgrad.float64 != np.dtype("<U7")


@pytest.mark.parametrize("name", ["float32", "float64", "int32", "bool", "complex64"])
def test_dtypes_given_as_xgrad_dtypes_reach_the_library(backend, name):
    d = getattr(xgrad, name)
    x = xgrad.ones((2, 2), dtype="float64", backend=backend)
    for t in (xgrad.zeros((2,), dtype=d, backend=backend), xgrad.ones(2, dtype=d, backend=backend),
              xgrad.full((2,), 1, dtype=d, backend=backend), xgrad.astype(x, d), x.astype(d), x.to(d),
              xgrad.tensor([1, 0], dtype=d, backend=backend), xgrad.zeros_like(x, dtype=d),
              xgrad.empty((1, 2), dtype=d, backend=backend), xgrad.eye(2, dtype=d, backend=backend),
              xgrad.ops.zeros_like(x, dtype=d), xgrad.ops.full_like(x, 1, dtype=d)):  # ops: dtype= keyword
        assert t.dtype is d, t


def test_a_dtype_the_backend_lacks_is_a_clear_error():
    x = xgrad.ones(2, dtype="float64", backend="numpy")
    with pytest.raises(TypeError, match="unknown dtype 'bfloat16' for backend 'numpy'"):
        xgrad.ops.zeros_like(x, dtype=xgrad.bfloat16)


def test_a_gradient_through_astype_to_an_xgrad_dtype(backend):
    x = xgrad.tensor([1.5, -2.0], dtype=xgrad.float64, backend=backend, requires_grad=True)
    y = xgrad.astype(x, xgrad.float32)
    assert y.dtype == xgrad.float32
    (y * y).sum().backward()
    assert x.grad.dtype is xgrad.float64 and x.grad.tolist() == [3.0, -4.0]


def test_astype_copy_false_returns_the_tensor_itself_only_when_nothing_changes():
    x = xgrad.tensor([1.0, 2.0], dtype="float64")
    assert xgrad.astype(x, xgrad.float64, copy=False) is x
    y = xgrad.astype(x, xgrad.float64)
    assert y is not x and y.data is not x.data
    assert xgrad.astype(x, "float32", copy=False).dtype == xgrad.float32


def test_isdtype_kinds():
    assert xgrad.isdtype(xgrad.int8, "signed integer") and not xgrad.isdtype(xgrad.uint8, "signed integer")
    assert xgrad.isdtype(xgrad.uint64, "integral") and xgrad.isdtype(xgrad.complex64, "complex floating")
    assert xgrad.isdtype(xgrad.float32, ("integral", "real floating")) and not xgrad.isdtype(xgrad.bool, "numeric")
    assert xgrad.isdtype(np.float64, xgrad.float64) and not xgrad.isdtype(xgrad.float64, xgrad.float32)
    with pytest.raises(ValueError, match="unknown kind 'floating'"):
        xgrad.isdtype(xgrad.float32, "floating")
    with pytest.raises(TypeError, match="not a dtype"):
        xgrad.isdtype("float", "numeric")


def test_finfo_and_iinfo_match_numpy(backend):
    for name in ("float32", "float64"):
        f, want = xgrad.finfo(getattr(xgrad, name)), np.finfo(name)
        assert (f.bits, f.eps, f.max, f.min, f.smallest_normal) == (
            want.bits, float(want.eps), float(want.max), float(want.min), float(want.smallest_normal))
        assert f.dtype is getattr(xgrad, name)
    assert xgrad.finfo(xgrad.complex64).dtype is xgrad.float32 and xgrad.finfo(xgrad.complex64).bits == 32
    assert xgrad.finfo(xgrad.zeros(2, dtype="float64", backend=backend)).eps == np.finfo(np.float64).eps
    i = xgrad.iinfo(xgrad.uint8)
    assert (i.bits, i.min, i.max, i.dtype) == (8, 0, 255, xgrad.uint8)
    assert xgrad.iinfo(xgrad.int64).min == -2 ** 63
    with pytest.raises(TypeError, match="iinfo"):
        xgrad.finfo(xgrad.int32)
    with pytest.raises(TypeError, match="finfo"):
        xgrad.iinfo(xgrad.float32)


def test_result_type_follows_the_standard_and_pytorch_where_it_is_open():
    import torch

    R = xgrad.result_type
    assert R(xgrad.int8, xgrad.uint8) is xgrad.int16 and R(xgrad.uint8, xgrad.int16) is xgrad.int16
    assert R(xgrad.float32, xgrad.complex64) is xgrad.complex64
    assert R(xgrad.float64, xgrad.complex64) is xgrad.complex128
    assert R(xgrad.float32, xgrad.float64, xgrad.float32) is xgrad.float64
    assert R(xgrad.zeros(2, dtype="int32"), 1) is xgrad.int32 and R(xgrad.float32, 1.5) is xgrad.float32
    assert R(xgrad.float32, 1j) is xgrad.complex64
    # mixed kinds: PyTorch's answer, which is what xgrad's ops give
    names = ["bool", "int8", "uint8", "int16", "int32", "int64", "float32", "float64"]
    for a in names:
        for b in names:
            want = str(torch.promote_types(getattr(torch, a), getattr(torch, b))).rsplit(".", 1)[-1]
            assert R(getattr(xgrad, a), getattr(xgrad, b)) == want, (a, b)
    i, f = xgrad.tensor([1, 2]), xgrad.tensor([1.0], dtype="float64")
    assert (i + f).dtype is R(i, f)
    with pytest.raises(TypeError, match="uint64"):
        R(xgrad.uint64, xgrad.int64)
    with pytest.raises(ValueError, match="at least one"):
        R(1, 2.0)


def test_can_cast_by_promotion():
    assert xgrad.can_cast(xgrad.int8, xgrad.int16) and not xgrad.can_cast(xgrad.int16, xgrad.int8)
    assert xgrad.can_cast(xgrad.uint8, xgrad.int16) and not xgrad.can_cast(xgrad.int8, xgrad.uint16)
    assert xgrad.can_cast(xgrad.float32, xgrad.complex128) and not xgrad.can_cast(xgrad.complex64, xgrad.float64)
    assert not xgrad.can_cast(xgrad.int32, xgrad.float64) and not xgrad.can_cast(xgrad.bool, xgrad.int8)
    assert not xgrad.can_cast(xgrad.uint64, xgrad.int64)
    assert xgrad.can_cast(xgrad.zeros(2, dtype="float32"), xgrad.float64)


def test_namespace_info_describes_the_current_backend(backend):
    with xgrad.use_backend(backend):
        info = xgrad.__array_namespace_info__()
        assert info.capabilities()["boolean indexing"] is True
        assert info.default_dtypes() == {"real floating": xgrad.float32, "complex floating": xgrad.complex64,
                                         "integral": xgrad.int64, "indexing": xgrad.int64}
        assert info.dtypes(kind="integral")["int64"] is xgrad.int64
        assert set(info.dtypes(kind="real floating")) == {"float32", "float64"}
        assert str(info.default_device()) in {str(d) for d in info.devices()}
        assert str(xgrad.zeros(2).device) == str(info.default_device())
        xgrad.set_default_dtype("float64")
        assert info.default_dtypes()["complex floating"] is xgrad.complex128
        assert xgrad.asarray([1.0]).dtype is xgrad.float64 and xgrad.asarray(1j).dtype is xgrad.complex128


def test_creation_functions_take_the_standards_signatures(backend):
    with xgrad.use_backend(backend):
        assert xgrad.zeros((2, 3)).shape == (2, 3) and xgrad.zeros(2, 3).shape == (2, 3)
        assert xgrad.zeros(shape=(4,)).shape == (4,) and xgrad.ones(()).shape == ()
        assert xgrad.full((2,), True).dtype is xgrad.bool and xgrad.full(2, 3).dtype is xgrad.int64
        assert xgrad.full((1,), 2.5).dtype is xgrad.float32 and xgrad.full((1,), 1j).dtype is xgrad.complex64
        assert xgrad.eye(3, 4, k=1).tolist() == [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
        assert xgrad.linspace(0, 1, 5, dtype="float64").tolist() == [0, 0.25, 0.5, 0.75, 1]
        assert xgrad.linspace(0, 1, 4, endpoint=False, dtype="float64").tolist() == [0, 0.25, 0.5, 0.75]
        x = xgrad.arange(6, dtype="float64")
        assert xgrad.full_like(x, 7).tolist() == [7.0] * 6 and xgrad.empty_like(x).shape == (6,)
        with pytest.raises(TypeError, match="shape must be an int or a tuple"):
            xgrad.zeros(2.5)


def test_asarray_copy_semantics(backend):
    b = xgrad.get_backend(backend)
    with xgrad.use_backend(backend):
        raw = b.asarray([1.0, 2.0], dtype="float64")
        shared = xgrad.asarray(raw)
        assert shared.data is raw or backend == "array_api_strict"
        copied = xgrad.asarray(raw, copy=True)
        assert copied.data is not raw
        x = xgrad.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
        assert xgrad.asarray(x) is x and xgrad.asarray(x, copy=False) is x
        y = xgrad.asarray(x, copy=True)
        assert y is not x and y.data is not x.data
        (y * 3).sum().backward()  # a copy keeps the graph
        assert x.grad.tolist() == [3.0, 3.0]
        with pytest.raises(ValueError, match="copy=False"):
            xgrad.asarray(x, dtype=xgrad.float32, copy=False)
        with pytest.raises(ValueError):
            xgrad.asarray([1.0, 2.0], copy=False)


def test_tril_triu_and_their_gradients(backend):
    a = np.arange(12.0).reshape(3, 4)
    x = xgrad.tensor(a, backend=backend, requires_grad=True)
    for fn, ref in ((xgrad.tril, np.tril), (xgrad.triu, np.triu)):
        for k in (-1, 0, 2):
            assert np.array_equal(fn(x, k=k).detach().numpy(), ref(a, k=k))
            x.grad = None
            (fn(x, k=k) * x).sum().backward()
            assert np.array_equal(x.grad.numpy(), 2 * ref(a, k=k))


def test_meshgrid_grids_and_gradients(backend):
    a = xgrad.tensor([1.0, 2.0, 3.0], backend=backend, requires_grad=True)
    b = xgrad.tensor([10.0, 20.0], backend=backend, requires_grad=True)
    for indexing in ("xy", "ij"):
        ga, gb = xgrad.meshgrid(a, b, indexing=indexing)
        wa, wb = np.meshgrid([1.0, 2.0, 3.0], [10.0, 20.0], indexing=indexing)
        assert np.array_equal(ga.detach().numpy(), wa) and np.array_equal(gb.detach().numpy(), wb)
    a.grad = b.grad = None
    ga, gb = xgrad.meshgrid(a, b)
    (ga * gb).sum().backward()
    assert a.grad.tolist() == [30.0, 30.0, 30.0] and b.grad.tolist() == [6.0, 6.0]
    with pytest.raises(ValueError, match="indexing"):
        xgrad.meshgrid(a, b, indexing="xz")


def test_from_dlpack_shares_memory_with_a_numpy_array():
    a = np.arange(4.0)
    with xgrad.use_backend("numpy"):
        t = xgrad.from_dlpack(a)
    a[0] = 9.0
    assert t.tolist() == [9.0, 1.0, 2.0, 3.0] and t.dtype is xgrad.float64


def test_constants():
    import math

    assert (xgrad.e, xgrad.pi, xgrad.inf) == (math.e, math.pi, math.inf) and math.isnan(xgrad.nan)
    assert xgrad.newaxis is None


# ---- Tensor as the standard's array object ---------------------------------------------------


def test_array_namespace_of_a_tensor_is_xgrad(backend):
    import array_api_compat

    t = xgrad.ones(2, backend=backend)
    assert t.__array_namespace__() is xgrad and t.__array_namespace__(api_version="2024.12") is xgrad
    assert array_api_compat.array_namespace(t) is xgrad
    assert array_api_compat.array_namespace(t, xgrad.zeros(1, backend=backend)) is xgrad
    with pytest.raises(ValueError, match="not '1999.01'"):
        t.__array_namespace__(api_version="1999.01")


def test_python_scalar_conversions(backend):
    i = xgrad.tensor(2, backend=backend)
    assert [10, 20, 30][i] == 30 and list(range(i)) == [0, 1] and int(i) == 2
    assert complex(xgrad.tensor(1.5, backend=backend)) == 1.5 + 0j and float(i) == 2.0
    with pytest.raises(TypeError, match="only integer tensors"):
        [1, 2][xgrad.tensor(1.0, backend=backend)]
    with pytest.raises(TypeError, match="only integer tensors"):
        [1, 2][xgrad.tensor(True, backend=backend)]


def test_in_place_power_and_bitwise_operators(backend):
    t = xgrad.tensor([1, 2, 3], backend=backend)
    data = t.data
    t **= 2
    t &= 6
    t |= 1
    t ^= 8
    assert t.tolist() == [9, 13, 9] and (t.data is data or not xgrad.get_backend(backend).mutable)
    x = xgrad.tensor([1.0, 2.0], backend=backend, requires_grad=True)
    y = x * 1
    with pytest.raises(xgrad.GraphError):
        y **= 2


def test_to_device_keeps_the_gradient(backend):
    x = xgrad.tensor([1.0, 2.0], dtype="float64", backend=backend, requires_grad=True)
    y = x.to_device(x.device)
    assert str(y.device) == str(x.device)
    (y * y).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_dlpack_shares_memory_and_refuses_a_tensor_that_requires_grad():
    t = xgrad.tensor([1.0, 2.0], dtype="float64", backend="numpy")
    a = np.from_dlpack(t)
    t.data[0] = 5.0
    assert a.tolist() == [5.0, 2.0] and t.__dlpack_device__() == a.__dlpack_device__()
    with pytest.raises(xgrad.GraphError, match="detach"):
        np.from_dlpack(xgrad.tensor([1.0], requires_grad=True))


def test_ops_show_the_forwards_signature_without_xp_and_a_docstring():
    import inspect
    import pydoc

    assert str(inspect.signature(xgrad.tril)) == "(x, /, *, k=0)"
    sig = inspect.signature(xgrad.sum)
    assert "xp" not in sig.parameters and {"axis", "keepdims"} <= set(sig.parameters)
    assert xgrad.tril.__name__ == "tril" and "lower triangle" in xgrad.tril.__doc__
    text = pydoc.render_doc(xgrad.tril, renderer=pydoc.plaintext)
    assert "tril(x, /, *, k=0)" in text and "lower triangle" in text
    text = pydoc.render_doc(xgrad.exp, renderer=pydoc.plaintext)
    assert "exp(" in text and "xp" not in text.split("exp(", 1)[1].split(")")[0]

    class Holder:  # an op kept as a class attribute is not bound like a method
        f = xgrad.tril

    assert Holder().f is xgrad.tril
    def plain(f):  # the signature without annotations
        sig = inspect.signature(f)
        return str(sig.replace(parameters=[p.replace(annotation=p.empty) for p in sig.parameters.values()],
                               return_annotation=sig.empty))

    assert plain(xgrad.zeros).startswith("(shape, *sizes, dtype=None, device=None")
    assert plain(xgrad.astype) == "(x, dtype, /, *, copy=True, device=None)"
    assert plain(xgrad.linspace).startswith("(start, stop, /, num, *, dtype=None, device=None, endpoint=True")


# ---- t[index] = value where a gradient must flow ------------------------------------------------


def _pair(values, backend):
    import torch

    return (xgrad.tensor(values, dtype="float64", backend=backend, requires_grad=True),
            torch.tensor(values, dtype=torch.float64, requires_grad=True))


def test_setitem_on_a_tensor_in_a_graph_is_recorded_as_pytorch_records_it(backend):
    (x, tx), (v, tv) = _pair([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], backend), _pair([7.0, 8.0], backend)
    results = []
    W = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    weights = (xgrad.tensor(W, dtype="float64", backend=backend), _torch_module().tensor(W, dtype=tx.dtype))
    for lib, a, b, w in ((xgrad, x, v, weights[0]), (_torch_module(), tx, tv, weights[1])):
        t = a * a
        t[:, 1] = b * 3.0  # a value that requires grad, into a tensor in the graph
        t = lib.asarray(t, copy=True)  # a second recorded write goes into a copy (see below)
        t[0, 0] = 0.5  # a constant
        (t * w).sum().backward()
        results.append((t.detach().numpy().tolist(), a.grad.numpy().tolist(), b.grad.numpy().tolist()))
    assert results[0] == results[1]
    assert results[0][1] == [[0.0, 0.0, 18.0], [32.0, 0.0, 72.0]]


def _torch_module():
    import torch

    return torch


def test_setitem_of_a_value_that_requires_grad_into_a_plain_tensor(backend):
    x = xgrad.tensor([1.0, 2.0], dtype="float64", backend=backend, requires_grad=True)
    z = xgrad.zeros(3, dtype="float64", backend=backend)
    z[1:] = x * x
    assert z.requires_grad and z.tolist() == [0.0, 1.0, 4.0]
    (z * xgrad.tensor([5.0, 6.0, 7.0], dtype="float64", backend=backend)).sum().backward()
    assert x.grad.tolist() == [12.0, 28.0]


def test_recorded_setitem_never_reroutes_or_desynchronises_a_gradient(backend):
    x = xgrad.tensor([1.0, 2.0, 3.0], dtype="float64", backend=backend, requires_grad=True)
    t = x * 2.0
    y = t * t  # recorded before the write: its backward would read the old t
    t[0] = 10.0
    with pytest.raises(xgrad.GraphError):
        y.sum().backward()
    u = x * 2.0
    view = u[0:2]  # shares u's array: replacing u's array would leave it stale
    with pytest.raises(xgrad.GraphError, match="shares its array"):
        u[2] = 0.0
    assert view.tolist() == [2.0, 4.0]
    w = x * 1.0
    w[0] = 0.0
    with pytest.raises(xgrad.GraphError, match="earlier write"):
        w[1] = 0.0


def test_numpy_scalars_keep_their_dtype_as_in_pytorch():
    # np.float64 is a Python float and np.complex128 a complex: taking the default dtype would round them
    assert xgrad.tensor(np.float64(1.1)).dtype == xgrad.float64
    assert xgrad.tensor(np.complex128(1.1 + 2j)).dtype == xgrad.complex128
    assert xgrad.tensor(np.float64(1.1)).item() == 1.1
    assert xgrad.tensor(1.1).dtype == xgrad.get_default_dtype()
