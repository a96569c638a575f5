"""Linear algebra and FFT beyond the op table: complex gradients against torch (PyTorch's conjugate
Wirtinger convention, with a complex upstream gradient), compiled replays of linalg/fft code, and the
cases where xgrad refuses rather than give a number PyTorch would not."""

import numpy as np
import pytest
import torch

import xgrad
from xgrad import fft as xfft, linalg as xla
from xgrad.errors import DTypeError, ShapeError

RTOL = 1e-12


def _host(t):
    return np.asarray(t.detach().numpy())


def _rel(got, want):
    want = np.asarray(want)
    scale = np.max(np.abs(want)) if want.size else 0.0
    diff = np.max(np.abs(np.asarray(got) - want)) if want.size else 0.0
    return diff / scale if scale > 0 else diff


def _complex(rng, shape):
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


def _check(backend, f_x, f_t, arrays, seed=0):
    """Forward values and gradients (for a random upstream gradient of the output's dtype) of xgrad and
    torch agree to RTOL."""
    rng = np.random.default_rng(seed)
    xs = [xgrad.tensor(a, backend=backend, requires_grad=True) for a in arrays]
    out = f_x(*xs)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ref = f_t(*ts)
    assert tuple(out.shape) == tuple(ref.shape)
    assert _rel(_host(out), ref.detach().resolve_conj().numpy()) <= RTOL, "forward"
    v = _complex(rng, ref.shape) if ref.is_complex() else rng.normal(size=ref.shape)
    ours = xgrad.grad(out, xs, grad_outputs=[xgrad.tensor(v, backend=backend)])
    theirs = torch.autograd.grad(ref, ts, grad_outputs=torch.tensor(v))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        a = _host(a)
        assert a.shape == arrays[i].shape and np.iscomplexobj(a) == np.iscomplexobj(arrays[i]), f"input {i}"
        assert _rel(a, b.resolve_conj().numpy()) <= RTOL, f"input {i}: gradient differs from torch"


FFT_1D = [
    ("fft", {}), ("fft", {"n": 7, "norm": "ortho"}), ("fft", {"n": 3, "axis": 0}),
    ("ifft", {}), ("ifft", {"n": 8, "norm": "forward"}),
    ("hfft", {}), ("hfft", {"n": 9, "norm": "ortho"}), ("irfft", {}), ("irfft", {"n": 9}), ("irfft", {"n": 4, "axis": 0}),
]


@pytest.mark.parametrize("name,kw", FFT_1D, ids=lambda v: str(v))
def test_complex_input_fft_gradients_match_torch(backend, name, kw):
    x = _complex(np.random.default_rng(1), (3, 6))
    tkw = {("dim" if k == "axis" else k): v for k, v in kw.items()}
    _check(backend, lambda t: getattr(xfft, name)(t, **kw), lambda t: getattr(torch.fft, name)(t, **tkw), [x])


@pytest.mark.parametrize("name,kw", [("fft", {}), ("fft", {"n": 9}), ("ifft", {"norm": "ortho"}), ("rfft", {}),
                                     ("rfft", {"n": 5, "norm": "forward"}), ("ihfft", {}), ("ihfft", {"n": 8}),
                                     ("irfft", {}), ("hfft", {"n": 4})], ids=lambda v: str(v))
def test_real_input_with_complex_output_gradients_match_torch(backend, name, kw):
    x = np.random.default_rng(2).normal(size=(2, 6))
    _check(backend, lambda t: getattr(xfft, name)(t, **kw), lambda t: getattr(torch.fft, name)(t, **kw), [x])


@pytest.mark.parametrize("name", ["fftn", "ifftn", "irfftn"])
@pytest.mark.parametrize("s,axes", [(None, None), ((4, 3), (0, 2)), (None, (-1, 0)), ((5,), None)])
def test_complex_nd_fft_gradients_match_torch(backend, name, s, axes):
    x = _complex(np.random.default_rng(3), (3, 2, 4))
    _check(backend, lambda t: getattr(xfft, name)(t, s=s, axes=axes),
           lambda t: getattr(torch.fft, name)(t, s=s, dim=axes), [x])


def test_rfftn_gradient_matches_torch(backend):
    x = np.random.default_rng(4).normal(size=(3, 2, 5))
    _check(backend, lambda t: xfft.rfftn(t, s=(4, 6), axes=(0, 2)), lambda t: torch.fft.rfftn(t, s=(4, 6), dim=(0, 2)), [x])


def test_fftshift_of_complex_gradient_matches_torch(backend):
    x = _complex(np.random.default_rng(5), (3, 4))
    _check(backend, lambda t: xfft.fftshift(xfft.fft(t)), lambda t: torch.fft.fftshift(torch.fft.fft(t)), [x])


def test_complex_matmul_and_sum_gradients_match_torch(backend):
    rng = np.random.default_rng(6)
    a, b = _complex(rng, (2, 3, 4)), _complex(rng, (4, 2))
    _check(backend, lambda x, y: x @ y, lambda x, y: x @ y, [a, b])
    _check(backend, lambda x, y: xgrad.sum(x @ y, axis=1), lambda x, y: (x @ y).sum(1), [a, b])
    v, w = _complex(rng, (4,)), _complex(rng, (4,))
    _check(backend, lambda x, y: x @ y, lambda x, y: x @ y, [v, w])
    _check(backend, lambda x, y: x @ y, lambda x, y: x @ y, [v, b])
    _check(backend, lambda x, y: x @ y, lambda x, y: x @ y, [a, w])


def test_complex_vecdot_conjugates_its_first_input_with_torch_gradients(backend):
    rng = np.random.default_rng(7)
    a, b = _complex(rng, (2, 5)), _complex(rng, (3, 1, 5))
    _check(backend, lambda x, y: xgrad.vecdot(x, y), lambda x, y: torch.linalg.vecdot(x, y), [a, b])
    _check(backend, lambda x, y: xgrad.tensordot(x, y, axes=1), lambda x, y: torch.tensordot(x, y, dims=1),
           [a, _complex(rng, (5, 2))])


@pytest.mark.parametrize("equation,shapes", [("ij,jk->ik", [(2, 3), (3, 4)]), ("ii->i", [(3, 3)]),
                                             ("bij,bj->bi", [(2, 3, 4), (2, 4)]), ("ij,j->", [(2, 3), (3,)])])
def test_complex_einsum_gradients_match_torch(backend, equation, shapes):
    rng = np.random.default_rng(14)
    arrays = [_complex(rng, s) for s in shapes]
    _check(backend, lambda *xs: xgrad.einsum(equation, *xs), lambda *xs: torch.einsum(equation, *xs), arrays)


def test_einsum_subscripts_are_checked():
    x = xgrad.tensor(np.ones((2, 3)))
    with pytest.raises(ShapeError, match="einsum.*name 2 axes, the operand has 3.*operand shapes"):
        xgrad.einsum("ij->i", xgrad.tensor(np.ones((2, 3, 4))))
    with pytest.raises(ShapeError, match="2 operands, 1 given"):
        xgrad.einsum("ij,jk->ik", x)
    with pytest.raises(ShapeError, match="output letter 'z'"):
        xgrad.einsum("ij->z", x)


def test_real_input_to_a_complex_product_gets_a_real_gradient(backend):
    # x is real, the product complex: x's gradient is the real part of the complex one (as torch)
    rng = np.random.default_rng(8)
    x, z = rng.normal(size=(3, 4)), _complex(rng, (4, 2))
    _check(backend, lambda a, b: xfft.ifft(xfft.fft(a)) @ b, lambda a, b: torch.fft.ifft(torch.fft.fft(a)) @ b, [x, z])
    _check(backend, lambda a, b: xgrad.vecdot(xfft.rfft(a), b[:3, :1].mT),
           lambda a, b: torch.linalg.vecdot(torch.fft.rfft(a), b[:3, :1].mT), [x, z])


def test_compiled_linalg_and_fft_replay_equals_eager(backend):
    rng = np.random.default_rng(9)
    a = xgrad.tensor(rng.normal(size=(3, 3)) + 4 * np.eye(3), backend=backend, requires_grad=True)
    x = xgrad.tensor(rng.normal(size=(3, 8)), backend=backend)

    def step(x):
        s = xla.solve(a, x) + xla.inv(a) @ x
        loss = xgrad.sum(xfft.irfft(xfft.rfft(s) * 0.5, n=8) ** 2) + xla.slogdet(a).logabsdet
        a.grad = None
        loss.backward()
        return loss, a.grad

    want_loss, want_grad = step(x)
    want_loss, want_grad = _host(want_loss), _host(want_grad)
    compiled = xgrad.compile(step, warmup=0)
    for _ in range(2):  # traced, then replayed
        loss, g = compiled(x)
        assert np.array_equal(_host(loss), want_loss) and np.array_equal(_host(g), want_grad)


def test_complex_gradient_of_a_decomposition_is_refused(backend):
    z = xgrad.tensor(_complex(np.random.default_rng(10), (3, 3)) + 4 * np.eye(3), backend=backend, requires_grad=True)
    with pytest.raises(DTypeError, match=r"xgrad\.inv.*complex"):  # at the call: before any graph is built
        xla.inv(z)
    with xgrad.no_grad():
        assert xla.inv(z).shape == (3, 3)


def test_slogdet_of_a_complex_input_that_requires_grad_is_refused():
    # its complex sign has a gradient in torch; xgrad would drop it, so it refuses
    z = xgrad.tensor(_complex(np.random.default_rng(17), (2, 2)), requires_grad=True)
    with pytest.raises(DTypeError, match="slogdet.*complex"):
        xla.slogdet(z)
    sign, logabsdet = xla.slogdet(z.detach())
    assert np.allclose(_host(sign), np.linalg.slogdet(_host(z))[0])


def test_solve_refuses_the_shapes_torch_reads_as_vectors():
    a = xgrad.tensor(np.eye(3)[None].repeat(3, 0) * 2.0)
    with pytest.raises(ShapeError, match="ambiguous.*x2\\[..., None\\]"):
        xla.solve(a, xgrad.tensor(np.ones((3, 3))))
    x = xla.solve(a, xgrad.tensor(np.ones((3, 3, 1))))  # explicit matrices: the standard and torch agree
    assert np.allclose(_host(x), 0.5)


def test_qr_complete_with_more_rows_has_no_gradient():
    x = xgrad.tensor(np.random.default_rng(11).normal(size=(4, 2)), requires_grad=True)
    q, r = xla.qr(x, mode="complete")
    assert q.shape == (4, 4) and r.shape == (4, 2)
    with pytest.raises(DTypeError, match="mode='complete'"):
        xgrad.sum(q).backward()


def test_matrix_power_zero_is_the_identity_with_zero_gradient(backend):
    x = xgrad.tensor(np.random.default_rng(12).normal(size=(2, 3, 3)), backend=backend, requires_grad=True)
    y = xla.matrix_power(x, 0)
    assert np.array_equal(_host(y), np.broadcast_to(np.eye(3), (2, 3, 3)))
    (g,) = xgrad.grad(xgrad.sum(y * 3.0), [x])
    assert np.array_equal(_host(g), np.zeros((2, 3, 3)))


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_eigenvector_gradient_of_equal_eigenvalues_is_not_finite_as_in_torch():
    a = np.diag([1.0, 1.0, 2.0])
    x = xgrad.tensor(a, requires_grad=True)
    (g,) = xgrad.grad(xgrad.sum(xla.eigh(x).eigenvectors[:, 0] ** 3), [x])
    t = torch.tensor(a, requires_grad=True)
    (tg,) = torch.autograd.grad((torch.linalg.eigh(t).eigenvectors[:, 0] ** 3).sum(), [t])
    assert not np.all(np.isfinite(_host(g))) and not torch.all(torch.isfinite(tg))


def test_rfft_refuses_complex_input():
    with pytest.raises(DTypeError, match="xgrad.fft.rfft: needs a real input"):
        xfft.rfft(xgrad.tensor(np.ones(4) + 1j))


def test_fft_arguments_are_checked():
    x = xgrad.tensor(np.ones((2, 4)))
    with pytest.raises(ValueError, match="norm must be"):
        xfft.fft(x, norm="unitary")
    with pytest.raises(ShapeError, match="axis 2 is out of range"):
        xfft.fft(x, axis=2)
    with pytest.raises(ShapeError, match="positive"):
        xfft.fft(x, n=0)


@pytest.mark.parametrize("name", ["fftfreq", "rfftfreq"])
def test_frequencies_match_torch(backend, name):
    with xgrad.use_backend(backend):
        f = getattr(xfft, name)(7, d=0.25, dtype="float64")
    assert f.backend == xgrad.get_backend(backend).name and not f.requires_grad
    assert np.array_equal(_host(f), getattr(torch.fft, name)(7, d=0.25, dtype=torch.float64).numpy())
    assert _host(getattr(xfft, name)(6)).dtype == np.dtype(xgrad.get_default_dtype())


def test_linalg_results_match_torch_on_the_standard_signatures():
    rng = np.random.default_rng(13)
    a = rng.normal(size=(4, 3))
    x = xgrad.tensor(a)
    assert xla.matrix_rank(x).item() == 3
    assert np.allclose(_host(xla.pinv(x)), np.linalg.pinv(a), rtol=1e-12, atol=1e-14)
    s = a[:3] @ a[:3].T + 3 * np.eye(3)
    assert np.allclose(_host(xla.cholesky(xgrad.tensor(s), upper=True)), torch.linalg.cholesky(torch.tensor(s), upper=True).numpy())
    assert np.allclose(_host(xla.trace(x, offset=1)), np.trace(a, offset=1))
    assert np.allclose(_host(xla.vector_norm(x, ord=3, axis=0, keepdims=True)),
                       torch.linalg.vector_norm(torch.tensor(a), ord=3, dim=0, keepdim=True).numpy())


def test_zero_norm_has_zero_gradient_as_in_torch(backend):
    a = np.array([[0.0, 2.0, -1.0], [0.0, 0.0, 0.0]])
    x = xgrad.tensor(a, backend=backend, requires_grad=True)
    for ord in (0, 2, 1, 3):
        (g,) = xgrad.grad(xgrad.sum(xla.vector_norm(x, axis=-1, ord=ord)), [x])
        t = torch.tensor(a, requires_grad=True)
        (tg,) = torch.autograd.grad(torch.linalg.vector_norm(t, ord=ord, dim=-1).sum(), [t], allow_unused=True)
        assert np.array_equal(_host(g), np.zeros_like(a) if tg is None else tg.numpy()), ord


@pytest.mark.parametrize("shape", [(4, 2), (2, 4)])
def test_svd_full_matrices_gradients_match_torch(backend, shape):
    # the extra columns of U (rows of Vh) are not unique: torch gives them no gradient, and so does xgrad
    a = np.random.default_rng(15).normal(size=shape)
    a[0, 0] += 5.0  # distinct singular values
    for k in range(3):
        _check(backend, lambda x: xla.svd(x, full_matrices=True)[k] ** 2,
               lambda x: torch.linalg.svd(x, full_matrices=True)[k] ** 2, [a], seed=k)


def test_eigh_and_cholesky_read_the_lower_triangle_and_return_torchs_gradient(backend):
    rng = np.random.default_rng(16)
    m = rng.normal(size=(3, 3))
    s = m @ m.T + 3 * np.eye(3)
    s[0, 2] += 1.0  # not symmetric: the libraries read the lower triangle
    _check(backend, lambda x: xla.eigvalsh(x), lambda x: torch.linalg.eigvalsh(x), [s])
    _check(backend, lambda x: xla.cholesky(x), lambda x: torch.linalg.cholesky(x), [s])


def test_real_and_conj_of_complex_tensors_have_torch_gradients(backend):
    rng = np.random.default_rng(18)
    z, w = _complex(rng, (3, 4)), _complex(rng, (4, 2))
    _check(backend, lambda a: xgrad.real(xfft.fft(a)), lambda a: torch.fft.fft(a).real, [z])
    _check(backend, lambda a, b: xgrad.conj(a) @ b, lambda a, b: a.conj() @ b, [z, w])
    _check(backend, lambda a: xgrad.real(a @ xgrad.conj(a).mT), lambda a: (a @ a.conj().mT).real, [z])


def test_einsum_of_one_tensor_twice_accumulates_its_gradient(backend):
    x = np.random.default_rng(19).normal(size=(3, 4))
    _check(backend, lambda a: xgrad.einsum("ij,kj->ik", a, a), lambda a: torch.einsum("ij,kj->ik", a, a), [x])


def test_complex_cross_product_gradients_match_torch(backend):
    rng = np.random.default_rng(11)
    a, b = _complex(rng, (2, 3)), _complex(rng, (2, 3))
    _check(backend, lambda x, y: xla.cross(x, y), lambda x, y: torch.linalg.cross(x, y), [a, b])
