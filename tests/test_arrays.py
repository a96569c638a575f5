"""The standard's statistics, manipulation, sorting, searching and set functions, and PyTorch's tensor
functions of that kind, where the generic op-table test does not reach: ties, zeros, non-differentiable
results, errors, dtypes, signatures, and the Tensor methods' PyTorch meanings."""

import inspect

import numpy as np
import pytest
import torch

import xgrad
from xgrad.gradcheck import numerical_grad


def t64(values, backend=None, requires_grad=False):
    return xgrad.tensor(np.asarray(values, dtype=np.float64), dtype="float64", backend=backend,
                        requires_grad=requires_grad)


def th64(values):
    return torch.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def np_(t):
    return t.detach().numpy() if isinstance(t, xgrad.Tensor) else t.detach().numpy()


# ---- gradients at zeros and ties, as PyTorch ------------------------------------------------------


@pytest.mark.parametrize("values", [[2.0, 0.0, 3.0, -1.5], [0.0, 2.0, 0.0, 5.0], [0.0, 0.0, 0.0, 1.0]],
                         ids=["one_zero", "two_zeros", "three_zeros"])
def test_prod_gradient_with_zeros_is_pytorchs(values, backend):
    x = t64(values, backend, requires_grad=True)
    xgrad.prod(x).backward()
    xt = th64(values)
    torch.prod(xt).backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    # the product of the other entries: one zero gives it to the zero alone, two or more give 0
    expected = [np.prod(np.delete(values, i)) for i in range(len(values))]
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_prod_second_derivative_with_zeros_is_pytorchs(backend):
    values = [[0.0, 2.0, 3.0], [1.5, 0.0, 0.0]]
    x = t64(values, backend, requires_grad=True)
    (g,) = xgrad.grad(xgrad.sum(xgrad.prod(x, axis=1) * t64([1.0, -2.0], backend)), [x], create_graph=True)
    (h,) = xgrad.grad(xgrad.sum(g * t64([[0.5, 1.0, -1.0], [2.0, 1.0, 3.0]], backend)), [x])
    xt = th64(values)
    (gt,) = torch.autograd.grad((torch.prod(xt, 1) * torch.tensor([1.0, -2.0], dtype=torch.float64)).sum(), xt,
                                create_graph=True)
    (ht,) = torch.autograd.grad((gt * torch.tensor([[0.5, 1.0, -1.0], [2.0, 1.0, 3.0]], dtype=torch.float64)).sum(), xt)
    np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=0, atol=1e-14)
    assert np.abs(h.numpy()).sum() > 0  # the zeros do not wipe out the second derivative


def test_cumulative_prod_second_derivative_with_zeros_is_exact(backend):
    # the gradient's own derivative at the zeros: checked against PyTorch and central differences
    values = [2.0, 0.0, 3.0, 0.0, 5.0]
    g, w = [1.0, 2.0, 3.0, 4.0, 5.0], [0.3, -0.2, 0.5, 0.7, 1.1]
    x = t64(values, backend, requires_grad=True)
    (gx,) = xgrad.grad(xgrad.sum(xgrad.cumulative_prod(x) * t64(g, backend)), [x], create_graph=True)
    np.testing.assert_array_equal(gx.detach().numpy(), [1.0, 22.0, 0.0, 0.0, 0.0])
    (h,) = xgrad.grad(xgrad.sum(gx * t64(w, backend)), [x])
    xt = th64(values)
    (gt,) = torch.autograd.grad((torch.cumprod(xt, 0) * torch.tensor(g, dtype=torch.float64)).sum(), xt,
                                create_graph=True)
    (ht,) = torch.autograd.grad((gt * torch.tensor(w, dtype=torch.float64)).sum(), xt)
    np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(h.numpy(), [-2.2, 128.1, -1.2, -34.8, 0.0], rtol=0, atol=1e-12)


def test_std_gradient_where_every_entry_is_equal_is_pytorchs(backend):
    for values, correction, axis in [([[1.5], [2.0]], 0, 1), ([2.0, 2.0, 2.0], 1, None), ([1.5], 1, None)]:
        x = t64(values, backend, requires_grad=True)
        xgrad.sum(xgrad.std(x, axis=axis, correction=correction)).backward()
        xt = th64(values)
        torch.std(xt, dim=axis, correction=correction).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())  # 0 where std is 0; nan stays nan


def test_sort_gives_tied_entries_the_gradient_of_their_stable_position(backend):
    values, g = [3.0, 1.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0, 5.0]
    for descending in (False, True):
        x = t64(values, backend, requires_grad=True)
        xgrad.sum(xgrad.sort(x, descending=descending) * t64(g, backend)).backward()
        xt = th64(values)
        (torch.sort(xt, descending=descending, stable=True).values * torch.tensor(g, dtype=torch.float64)).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
        values_t, indices_t = torch.sort(xt.detach(), descending=descending, stable=True)
        np.testing.assert_array_equal(xgrad.argsort(x, descending=descending).numpy(), indices_t.numpy())


def test_max_over_a_dim_gives_the_gradient_to_the_first_tied_entry_as_pytorch(backend):
    values = [[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, -1.0, 2.0]]
    x = t64(values, backend, requires_grad=True)
    found = x.max(dim=1)
    xt = th64(values)
    found_t = xt.max(dim=1)
    np.testing.assert_array_equal(found.indices.numpy(), found_t.indices.numpy())
    found.values.sum().backward()
    found_t.values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    # over all entries (and the standard's max over an axis) the tied entries share it, as torch.amax
    y = t64(values, backend, requires_grad=True)
    y.max(axis=1).sum().backward()
    yt = th64(values)
    torch.amax(yt, dim=1).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), yt.grad.numpy())


def test_topk_refuses_ties_that_decide_the_gradient_but_not_without_one(backend):
    x = t64([[3.0, 1.0, 3.0, 3.0]], backend, requires_grad=True)
    with pytest.raises(xgrad.InputError, match="tied values.*topk|topk.*tied"):
        xgrad.topk(x, 2)
    found = xgrad.topk(x.detach(), 2)  # no gradient wanted: any pick of tied entries is the same values
    np.testing.assert_array_equal(found.values.numpy(), [[3.0, 3.0]])
    with xgrad.no_grad():
        assert xgrad.topk(x, 2).values.numpy().tolist() == [[3.0, 3.0]]
    # ties outside the picked ones and their neighbour do not matter
    y = t64([[5.0, 1.0, 1.0, 4.0]], backend, requires_grad=True)
    top = y.topk(2)
    assert top.indices.numpy().tolist() == [[0, 3]]
    with pytest.raises(xgrad.InputError, match="k=5 is out of range"):
        xgrad.topk(y, 5)


def test_unique_values_refuse_a_backward_instead_of_dropping_the_gradient(backend):
    x = t64([2.0, 1.0, 2.0], backend, requires_grad=True)
    for found in (xgrad.unique_values(x), xgrad.unique_all(x).values, xgrad.unique_counts(x).values,
                  xgrad.unique_inverse(x).values):
        with pytest.raises(xgrad.GraphError, match="no gradient"):
            (xgrad.sum(found) + xgrad.sum(x)).backward()
    assert not xgrad.unique_values(x.detach()).requires_grad


# ---- non-differentiable results: the same numbers as NumPy and PyTorch ------------------------------


def test_sets_and_searching_agree_with_numpy(backend):
    a = np.array([[3.0, 1.0, 3.0], [0.0, 1.0, 7.0]])
    x = t64(a, backend)
    found = xgrad.unique_all(x)
    values, indices, inverse, counts = np.unique(a, return_index=True, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(found.values.numpy(), values)
    np.testing.assert_array_equal(found.indices.numpy(), indices)
    np.testing.assert_array_equal(found.inverse_indices.numpy(), inverse.reshape(a.shape))
    np.testing.assert_array_equal(found.counts.numpy(), counts)
    np.testing.assert_array_equal(xgrad.unique_counts(x).counts.numpy(), counts)
    np.testing.assert_array_equal(xgrad.unique_inverse(x).inverse_indices.numpy(), inverse.reshape(a.shape))
    rows, cols = xgrad.nonzero(x)
    np.testing.assert_array_equal(rows.numpy(), np.nonzero(a)[0])
    np.testing.assert_array_equal(cols.numpy(), np.nonzero(a)[1])
    np.testing.assert_array_equal(x.nonzero().numpy(), torch.nonzero(torch.tensor(a)).numpy())  # (count, ndim)
    assert xgrad.count_nonzero(x).numpy() == 5
    np.testing.assert_array_equal(xgrad.count_nonzero(x, axis=1, keepdims=True).numpy(), [[3], [2]])
    i = xgrad.tensor(a.astype(np.int64), backend=backend)
    np.testing.assert_array_equal(xgrad.isin(i, xgrad.tensor([1, 7], backend=backend)).numpy(), np.isin(a, [1, 7]))
    np.testing.assert_array_equal(xgrad.isin(i, xgrad.tensor([1, 7], backend=backend), invert=True).numpy(),
                                  ~np.isin(a, [1, 7]))
    if backend != "array_api_strict":  # which takes integers only (the standard leaves floats optional)
        np.testing.assert_array_equal(xgrad.isin(x, t64([1.0, 7.0], backend)).numpy(), np.isin(a, [1.0, 7.0]))
    s = t64([1.0, 2.0, 2.0, 5.0], backend)
    v = t64([2.0, 0.0, 6.0], backend)
    np.testing.assert_array_equal(xgrad.searchsorted(s, v).numpy(), [1, 0, 4])
    np.testing.assert_array_equal(xgrad.searchsorted(s, v, side="right").numpy(), [3, 0, 4])
    assert int(xgrad.searchsorted(s, 2.0, side="right")) == 3
    order = xgrad.tensor([1, 2, 0], backend=backend)  # sorts [5, 1, 3]
    np.testing.assert_array_equal(xgrad.searchsorted(t64([5.0, 1.0, 3.0], backend), t64([2.0, 4.0], backend),
                                                     sorter=order).numpy(), [1, 2])
    with pytest.raises(xgrad.ShapeError, match="0-d"):
        xgrad.nonzero(t64(1.0, backend))


def test_argsort_is_stable_in_both_directions(backend):
    a = [2.0, 1.0, 2.0, 1.0, 3.0]
    x = t64(a, backend)
    assert xgrad.argsort(x).numpy().tolist() == [1, 3, 0, 2, 4]
    assert xgrad.argsort(x, descending=True).numpy().tolist() == [4, 0, 2, 1, 3]  # ties keep their order
    assert x.argsort(dim=0, descending=True).numpy().tolist() == [4, 0, 2, 1, 3]
    indices = x.sort(descending=True).indices
    assert indices.numpy().tolist() == torch.sort(torch.tensor(a), descending=True, stable=True).indices.tolist()


# ---- PyTorch's gather and scatter ---------------------------------------------------------------


def test_scatter_refuses_two_writes_to_one_position(backend):
    x = t64(np.zeros((2, 3)), backend)
    src = t64(np.ones((1, 3)), backend)
    with pytest.raises(xgrad.InputError, match="writes twice.*scatter_add"):
        xgrad.scatter(x, 1, np.array([[0, 2, 0]]), src)
    out = xgrad.scatter_add(x, 1, np.array([[0, 2, 0]]), src)  # repeats add up
    np.testing.assert_array_equal(out.numpy(), [[2.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    filled = x.scatter(0, np.array([[1, 0, 1]]), value=7.0)
    np.testing.assert_array_equal(filled.numpy(), [[0.0, 7.0, 0.0], [7.0, 0.0, 7.0]])


def test_gather_refuses_indices_pytorch_refuses(backend):
    x = t64(np.arange(6.0).reshape(2, 3), backend)
    with pytest.raises(xgrad.InputError, match=r"\[0, 3\)"):
        xgrad.gather(x, 1, np.array([[-1], [0]]))  # NumPy would wrap around silently
    with pytest.raises(xgrad.InputError, match=r"\[0, 3\)"):
        x.gather(1, np.array([[3], [0]]))
    with pytest.raises(xgrad.ShapeError, match="dimensions"):
        xgrad.gather(x, 1, np.array([0, 1]))
    with pytest.raises(xgrad.ShapeError, match="larger"):
        xgrad.gather(x, 1, np.zeros((3, 1), dtype=np.int64))
    np.testing.assert_array_equal(xgrad.gather(x, 1, np.array([[2, 0]])).numpy(), [[2.0, 0.0]])  # a smaller index


def test_scatter_add_with_a_larger_src_uses_its_leading_block(backend):
    # PyTorch computes this forward but its backward refuses it; the gradient here is checked by
    # central differences: zero on the part of src that index does not cover
    rng = np.random.default_rng(0)
    index = np.array([[0, 1], [1, 1]])
    x, src = t64(rng.normal(size=(2, 3)), backend, True), t64(rng.normal(size=(3, 3)), backend, True)
    out = xgrad.scatter_add(x, 1, index, src)
    ref = torch.scatter_add(torch.tensor(x.detach().numpy()), 1, torch.tensor(index), torch.tensor(src.detach().numpy()))
    np.testing.assert_allclose(out.detach().numpy(), ref.numpy(), rtol=0, atol=1e-15)
    v = rng.normal(size=(2, 3))
    xgrad.sum(out * t64(v, backend)).backward()
    fx, fs = numerical_grad(lambda a, b: xgrad.scatter_add(a, 1, index, b), [x, src], eps=1e-6, grad_output=v)
    np.testing.assert_allclose(x.grad.numpy(), fx, atol=1e-8)
    np.testing.assert_allclose(src.grad.numpy(), fs, atol=1e-8)
    assert np.all(src.grad.numpy()[2] == 0) and np.all(src.grad.numpy()[:, 2] == 0)


# ---- Tensor methods: PyTorch's names and meanings, and the standard's ------------------------------


def test_methods_take_dim_or_axis_but_not_both(backend):
    x = t64(np.arange(6.0).reshape(2, 3), backend)
    for name in ("sum", "mean", "prod", "max", "min", "var", "std", "argmax", "argmin", "all", "any", "logsumexp"):
        by_dim = getattr(x, name)(dim=1, keepdim=True)
        by_axis = getattr(x, name)(axis=1, keepdims=True)
        if isinstance(by_dim, tuple):  # t.max(dim) is (values, indices), as in PyTorch
            by_dim = by_dim.values
        np.testing.assert_array_equal(by_dim.numpy(), by_axis.numpy())
        with pytest.raises(TypeError, match="dim= and axis="):
            getattr(x, name)(dim=1, axis=1)
        with pytest.raises(TypeError, match="keepdim= and keepdims="):
            getattr(x, name)(1, keepdim=True, keepdims=True)
    with pytest.raises(TypeError, match="dim= and axis="):
        x.cumsum(dim=0, axis=0)


def test_methods_with_pytorchs_meaning(backend):
    a = np.array([[1.0, -2.0, 4.0], [0.5, 3.0, 3.0]])
    x, xt = t64(a, backend), torch.tensor(a)
    assert float(x.var()) == pytest.approx(float(xt.var()), abs=1e-15)  # correction=1 by default
    assert float(x.std()) == pytest.approx(float(xt.std()), abs=1e-15)
    np.testing.assert_allclose(x.std(dim=0, unbiased=False).numpy(), xt.std(dim=0, unbiased=False).numpy(), atol=1e-15)
    np.testing.assert_allclose(np.var(x).numpy(), np.var(a), atol=1e-15)  # NumPy passes ddof=0: NumPy's number
    np.testing.assert_array_equal(x.repeat(2, 1).numpy(), xt.repeat(2, 1).numpy())  # PyTorch's repeat tiles
    np.testing.assert_array_equal(x.repeat_interleave(2, dim=1).numpy(), xt.repeat_interleave(2, dim=1).numpy())
    np.testing.assert_array_equal(xgrad.repeat(x, 2, axis=1).numpy(), np.repeat(a, 2, axis=1))  # the standard's
    np.testing.assert_array_equal(x.max(t64(np.ones((2, 3)), backend)).numpy(), np.maximum(a, 1.0))
    np.testing.assert_array_equal(x.cumsum(1).numpy(), xt.cumsum(1).numpy())
    np.testing.assert_array_equal(x.cumprod(dim=0).numpy(), xt.cumprod(dim=0).numpy())
    np.testing.assert_array_equal(x.roll(1, 0).numpy(), xt.roll(1, 0).numpy())
    np.testing.assert_array_equal(x.flip(0, 1).numpy(), xt.flip(0, 1).numpy())
    np.testing.assert_array_equal(x.diff(dim=0).numpy(), xt.diff(dim=0).numpy())
    np.testing.assert_array_equal(x.movedim(0, 1).numpy(), xt.movedim(0, 1).numpy())
    assert [p.shape for p in x.split(2, dim=1)] == [tuple(p.shape) for p in xt.split(2, dim=1)]
    assert [p.shape for p in x.chunk(3, dim=1)] == [tuple(p.shape) for p in xt.chunk(3, dim=1)]
    assert [p.numpy().tolist() for p in x.unbind(1)] == [p.tolist() for p in xt.unbind(1)]
    y = t64(np.zeros((2, 1, 3, 1)), backend)
    assert y.squeeze().shape == (2, 3) and y.squeeze(0).shape == (2, 1, 3, 1) and y.squeeze(1).shape == (2, 3, 1)
    assert y.unsqueeze(dim=0).shape == (1, 2, 1, 3, 1)
    with pytest.raises(Exception):
        y.squeeze(axis=0)  # the standard's squeeze: an axis whose length is not 1 is an error


# ---- dtypes, signatures and the standard's options --------------------------------------------------


def test_sum_and_prod_compute_in_the_dtype_asked(backend):
    x = xgrad.tensor([1.5, 2.0, 4.0], dtype="float32", backend=backend, requires_grad=True)
    for f, tf in ((xgrad.sum, torch.sum), (xgrad.prod, torch.prod)):
        out = f(x, dtype="float64")
        assert xgrad.get_backend(backend).dtype_name(out.dtype) == "float64"
        out.backward()
        xt = torch.tensor([1.5, 2.0, 4.0], requires_grad=True)
        tf(xt, dtype=torch.float64).backward()
        assert x.grad.dtype == x.dtype  # the gradient in the input's dtype
        np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
        x.grad = None
    i = xgrad.tensor([1, 2, 3], dtype="int32", backend=backend)
    assert xgrad.get_backend(backend).dtype_name(xgrad.sum(i, dtype="int64").dtype) == "int64"
    assert int(xgrad.prod(i)) == 6


def _parameters(f):
    """``f``'s parameters as the standard writes them (an op's forward without its leading ``xp``)."""
    params = list(inspect.signature(getattr(f, "__wrapped__", f)).parameters.values())
    if params and params[0].name == "xp":
        params = params[1:]
    return [(p.name, p.kind.name) for p in params]


P, K, PK = "POSITIONAL_ONLY", "KEYWORD_ONLY", "POSITIONAL_OR_KEYWORD"


@pytest.mark.parametrize("name, expected", [
    ("sum", [("x", P), ("axis", K), ("dtype", K), ("keepdims", K)]),
    ("prod", [("x", P), ("axis", K), ("dtype", K), ("keepdims", K)]),
    ("mean", [("x", P), ("axis", K), ("keepdims", K)]),
    ("max", [("x", P), ("axis", K), ("keepdims", K)]),
    ("min", [("x", P), ("axis", K), ("keepdims", K)]),
    ("var", [("x", P), ("axis", K), ("correction", K), ("keepdims", K)]),
    ("std", [("x", P), ("axis", K), ("correction", K), ("keepdims", K)]),
    ("argmax", [("x", P), ("axis", K), ("keepdims", K)]),
    ("cumulative_sum", [("x", P), ("axis", K), ("dtype", K), ("include_initial", K)]),
    ("cumulative_prod", [("x", P), ("axis", K), ("dtype", K), ("include_initial", K)]),
    ("sort", [("x", P), ("axis", K), ("descending", K), ("stable", K)]),
    ("argsort", [("x", P), ("axis", K), ("descending", K), ("stable", K)]),
    ("searchsorted", [("x1", P), ("x2", P), ("side", K), ("sorter", K)]),
    ("count_nonzero", [("x", P), ("axis", K), ("keepdims", K)]),
    ("nonzero", [("x", P)]),
    ("unique_values", [("x", P)]), ("unique_all", [("x", P)]),
    ("isin", [("x1", P), ("x2", P), ("invert", K)]),
    ("reshape", [("x", P), ("shape", PK), ("copy", K)]),
    ("flip", [("x", P), ("axis", K)]),
    ("expand_dims", [("x", P), ("axis", PK)]),
    ("squeeze", [("x", P), ("axis", PK)]),
    ("permute_dims", [("x", P), ("axes", PK)]),
    ("moveaxis", [("x", P), ("source", P), ("destination", P)]),
    ("repeat", [("x", P), ("repeats", P), ("axis", K)]),
    ("roll", [("x", P), ("shift", PK), ("axis", K)]),
    ("tile", [("x", P), ("repetitions", P)]),
    ("unstack", [("x", P), ("axis", K)]),
    ("concat", [("arrays", P), ("axis", K)]),
    ("stack", [("arrays", P), ("axis", K)]),
    ("diff", [("x", P), ("axis", K), ("n", K), ("prepend", K), ("append", K)]),
])
def test_signatures_are_the_standards(name, expected):
    assert _parameters(getattr(xgrad, name)) == expected


def test_reshape_copy_and_concat_of_flattened_arrays(backend):
    x = t64(np.arange(6.0).reshape(2, 3), backend)
    copied = xgrad.reshape(x, (3, 2), copy=True)
    assert copied.numpy().tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    with xgrad.no_grad():
        x[0, 0] = 9.0
    assert float(copied[0, 0]) == 0.0  # its own memory
    with pytest.raises(xgrad.ShapeError, match="copy=False"):
        xgrad.reshape(x.T, (6,), copy=False)  # no view of that shape exists
    with pytest.raises(xgrad.ShapeError, match="cannot reshape"):
        xgrad.reshape(x, (4, 2))
    y = t64([7.0, 8.0], backend)
    assert xgrad.concat([x, y], axis=None).numpy().tolist() == [9.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 8.0]
    with pytest.raises(xgrad.ShapeError, match="axis="):
        xgrad.cumulative_sum(x)  # more than one axis: the standard wants it named
    for f in (xgrad.cumulative_sum, xgrad.cumulative_prod, xgrad.sort, xgrad.argsort):
        with pytest.raises(xgrad.ShapeError, match="0-d"):  # the libraries disagree on the result's shape
            f(t64(2.0, backend))
    np.testing.assert_array_equal(xgrad.cumulative_sum(y, include_initial=True).numpy(), [0.0, 7.0, 15.0])
    np.testing.assert_array_equal(xgrad.cumulative_prod(y, include_initial=True).numpy(), [1.0, 7.0, 56.0])


def test_repeat_with_a_tensor_of_counts_and_diff_of_bools(backend):
    x = t64([1.0, 2.0, 3.0], backend, requires_grad=True)
    counts = xgrad.tensor([2, 0, 3], backend=backend)
    out = xgrad.repeat(x, counts)
    assert out.detach().numpy().tolist() == [1.0, 1.0, 3.0, 3.0, 3.0]
    xgrad.sum(out * t64([1.0, 2.0, 3.0, 4.0, 5.0], backend)).backward()
    assert x.grad.numpy().tolist() == [3.0, 0.0, 12.0]
    flags = xgrad.tensor([True, True, False, True], backend=backend)
    assert xgrad.diff(flags).numpy().tolist() == torch.diff(torch.tensor([True, True, False, True])).tolist()


def test_broadcast_arrays_and_unstack(backend):
    a, b = t64(np.ones((3, 1)), backend), t64([1.0, 2.0], backend)
    out = xgrad.broadcast_arrays(a, b)
    assert isinstance(out, list) and [o.shape for o in out] == [(3, 2), (3, 2)]
    with pytest.raises(xgrad.ShapeError, match="do not broadcast"):
        xgrad.broadcast_arrays(t64(np.ones(3), backend), b)
    rows = xgrad.unstack(t64(np.arange(6.0).reshape(2, 3), backend), axis=1)
    assert isinstance(rows, tuple) and [r.numpy().tolist() for r in rows] == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]


def test_compiled_step_with_sorting_and_cumulative_ops_equals_eager():
    w = xgrad.tensor(np.array([0.5, -1.5, 2.0, 0.25]), dtype="float64", requires_grad=True)

    def step(x):
        loss = xgrad.sum(xgrad.sort(x * w) * xgrad.cumulative_prod(w)) + xgrad.prod(w) + xgrad.std(x * w)
        w.grad = None
        loss.backward()
        return loss, w.grad

    x = xgrad.tensor(np.array([1.0, 2.0, -3.0, 0.5]), dtype="float64")
    eager_loss, eager_grad = step(x)
    eager = (float(eager_loss), eager_grad.numpy().copy())
    compiled = xgrad.compile(step, warmup=0)
    for _ in range(3):
        loss, grad = compiled(x)
        assert float(loss) == eager[0]
        np.testing.assert_array_equal(grad.numpy(), eager[1])
