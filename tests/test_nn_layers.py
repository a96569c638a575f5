"""The nn layers a user ports from PyTorch: erf and GELU's exact form, normalisation layers and their
running statistics, embeddings, one-hot, dropout variants, loss and activation modules, containers,
checked against torch (float64) and against what each must refuse."""

import math

import numpy as np
import pytest
import torch

import xgrad
from xgrad import nn
from xgrad.nn import functional as F

tnn, tF = torch.nn, torch.nn.functional


def _copy_weights(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


# ---- erf and GELU -------------------------------------------------------------------------------
def _erf_points():
    rng = np.random.default_rng(0)
    scales = (1e-300, 1e-8, 0.3, 1.0, 2.0, 4.0, 8.0)
    edges = [0.0, -0.0, 0.84375, 1.25, 1 / 0.35, 6.0, -6.0, 5.999999, 28.0, 1e300, 5e-324, -1e-310]
    return np.concatenate([rng.normal(size=4000) * s for s in scales] + [np.array(edges)])


def test_erf_is_within_one_ulp_of_libm_on_every_backend(backend):
    x = _erf_points()
    ours = xgrad.ops.erf(xgrad.tensor(x, backend=backend)).numpy()
    libm = np.array([math.erf(v) for v in x])
    ulps = np.abs(ours - libm) / np.spacing(np.abs(libm))
    assert ulps.max() <= 1.0
    assert np.abs(ours - torch.erf(torch.from_numpy(x)).numpy()).max() <= 2.3e-16
    special = xgrad.ops.erf(xgrad.tensor([np.inf, -np.inf, np.nan, -0.0], backend=backend)).numpy()
    assert special[0] == 1.0 and special[1] == -1.0 and np.isnan(special[2]) and np.signbit(special[3])


def test_erf_keeps_float32():
    x = np.linspace(-4, 4, 101, dtype=np.float32)
    out = xgrad.ops.erf(xgrad.tensor(x))
    assert out.numpy().dtype == np.float32
    np.testing.assert_allclose(out.numpy(), torch.erf(torch.from_numpy(x)).numpy(), rtol=0, atol=1.2e-7)


def test_gelu_default_is_pytorchs_exact_form_and_tanh_is_asked_for():
    x = np.linspace(-5, 5, 41)
    exact = tF.gelu(torch.from_numpy(x)).numpy()
    tanh = tF.gelu(torch.from_numpy(x), approximate="tanh").numpy()
    assert np.abs(exact - tanh).max() > 1e-4  # the two forms really differ
    # absolute: in the far negative tail both libraries compute 1 + erf(x/sqrt(2)) ~ 0 (or 1 + tanh), a
    # cancellation that turns one ulp of erf (fdlibm's against torch's vectorised one) into ~1e-10 of
    # the tiny result
    np.testing.assert_allclose(F.gelu(xgrad.tensor(x)).numpy(), exact, rtol=0, atol=3e-16)
    np.testing.assert_allclose(nn.GELU()(xgrad.tensor(x)).numpy(), exact, rtol=0, atol=3e-16)
    np.testing.assert_allclose(F.gelu(xgrad.tensor(x), approximate="tanh").numpy(), tanh, rtol=0, atol=3e-16)
    np.testing.assert_allclose(nn.GELU(approximate="tanh")(xgrad.tensor(x)).numpy(), tanh, rtol=0, atol=3e-16)
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(xgrad.tensor(x), approximate="erf")


def test_activations_survive_extreme_inputs_like_torch():
    x = np.array([-1000.0, -50.0, -20.5, 0.0, 20.5, 50.0, 700.0, 1000.0])
    for name in ["silu", "elu", "selu", "celu", "mish", "logsigmoid", "softplus", "softsign", "tanhshrink", "gelu"]:
        with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow, even where discarded
            ours = getattr(F, name)(xgrad.tensor(x, requires_grad=True))
            ours.sum().backward()
        t = torch.tensor(x, requires_grad=True)
        theirs = getattr(tF, name)(t)
        theirs.sum().backward()
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-15, atol=0, err_msg=name)


def test_activation_modules_match_torch():
    x = np.random.default_rng(1).normal(size=(3, 4)) * 3
    pairs = [(nn.SiLU(), tnn.SiLU()), (nn.ELU(0.5), tnn.ELU(0.5)), (nn.SELU(), tnn.SELU()), (nn.CELU(2.0), tnn.CELU(2.0)),
             (nn.Mish(), tnn.Mish()), (nn.Hardswish(), tnn.Hardswish()), (nn.Hardsigmoid(), tnn.Hardsigmoid()),
             (nn.Hardtanh(-2.0, 1.5), tnn.Hardtanh(-2.0, 1.5)), (nn.ReLU6(), tnn.ReLU6()),
             (nn.LogSigmoid(), tnn.LogSigmoid()), (nn.Softplus(2.0, 3.0), tnn.Softplus(2.0, 3.0)),
             (nn.Softsign(), tnn.Softsign()), (nn.Tanhshrink(), tnn.Tanhshrink()), (nn.GLU(), tnn.GLU()),
             (nn.Softmax(dim=0), tnn.Softmax(dim=0)), (nn.LogSoftmax(dim=1), tnn.LogSoftmax(dim=1))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours(xgrad.tensor(x)).numpy(), theirs(torch.from_numpy(x)).numpy(), rtol=1e-15,
                                   atol=1e-16, err_msg=type(ours).__name__)


def test_inplace_activations_are_refused_not_silently_out_of_place():
    x = xgrad.tensor([1.0, -1.0])
    with pytest.raises(ValueError, match="inplace"):
        F.silu(x, inplace=True)
    with pytest.raises(ValueError, match="inplace"):
        nn.Hardtanh(inplace=True)
    with pytest.raises(ValueError, match="inplace"):
        nn.Dropout2d(inplace=True)


def test_softmax_without_dim_on_3d_input_is_an_error_not_a_guess():
    with pytest.raises(ValueError, match="dim="):
        F.softmax(xgrad.ones(2, 3, 4))
    np.testing.assert_allclose(F.softmax(xgrad.tensor([[1.0, 2.0]])).numpy(),
                               tF.softmax(torch.tensor([[1.0, 2.0]], dtype=torch.float64), dim=1).numpy())


# ---- normalisation ------------------------------------------------------------------------------
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("kind,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)), ("BatchNorm2d", (4, 3, 2, 2))])
def test_batchnorm_training_and_running_statistics_match_torch(kind, shape, momentum):
    ours = getattr(nn, kind)(3, momentum=momentum, dtype="float64")
    theirs = getattr(tnn, kind)(3, momentum=momentum).double()
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.uniform_(-0.5, 0.5)
    _copy_weights(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(3)
    for step in range(4):
        x = rng.normal(size=shape) * (step + 1) + step
        xo, xt = xgrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yo, yt = ours(xo), theirs(xt)
        np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=0, atol=1e-13)
        v = rng.normal(size=shape)
        (yo * xgrad.tensor(v)).sum().backward()
        (yt * torch.from_numpy(v)).sum().backward()
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=0, atol=1e-12)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(np.asarray(ours.state_dict()[k]), v.numpy(), rtol=1e-14, atol=1e-15, err_msg=k)
    assert int(ours.num_batches_tracked.item()) == 4 and ours.num_batches_tracked.numpy().dtype == np.int64
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=0, atol=1e-12)
    ours.eval(), theirs.eval()
    x = rng.normal(size=shape)
    np.testing.assert_allclose(ours(xgrad.tensor(x)).detach().numpy(), theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=0, atol=1e-13)
    assert int(ours.num_batches_tracked.item()) == 4  # evaluation leaves the statistics alone


@pytest.mark.parametrize("affine", ["none", "weight", "both"])
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (3, 2, 3, 4)])
def test_batchnorm_training_gradients_and_second_derivatives_match_torch(backend, affine, shape):
    """Training-mode batch norm is one op with a closed-form gradient through the batch statistics:
    its first and second derivatives equal torch's, with or without weight and bias."""
    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=shape) * 2 + 1] + [rng.normal(size=shape[1]) for _ in range(
        {"none": 0, "weight": 1, "both": 2}[affine])]
    up = rng.normal(size=shape)
    xs = [xgrad.tensor(a, requires_grad=True, backend=backend) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_x = F.batch_norm(xs[0], None, None, *xs[1:], training=True)
    out_t = torch.nn.functional.batch_norm(ts[0], None, None, *ts[1:], training=True)
    gx = xgrad.grad((out_x * xgrad.tensor(up, backend=backend)).sum(), xs, create_graph=True)
    gt = torch.autograd.grad((out_t * torch.tensor(up)).sum(), ts, create_graph=True)
    for a, b in zip(gx, gt):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-11, atol=1e-12)
    # second order: d/d(inputs) of the sum of squared first gradients
    # (the bias's is zero: its first gradient, sum(up), depends on nothing; either library may say "unused")
    gg_x = xgrad.grad(sum((g * g).sum() for g in gx), xs, allow_unused=True)
    gg_t = torch.autograd.grad(sum((g * g).sum() for g in gt), ts, allow_unused=True)
    for a, b, x in zip(gg_x, gg_t, arrays):
        a = np.zeros_like(x) if a is None else a.numpy()
        b = np.zeros_like(x) if b is None else b.numpy()
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-11)


def test_batchnorm_without_running_stats_uses_batch_statistics_in_eval_too():
    ours, theirs = nn.BatchNorm1d(2, track_running_stats=False, dtype="float64"), tnn.BatchNorm1d(2, track_running_stats=False).double()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]
    x = np.random.default_rng(0).normal(size=(5, 2))
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(xgrad.tensor(x)).detach().numpy(), theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-14)


def test_batchnorm_refuses_one_value_per_channel_and_wrong_channels():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(xgrad.ones(1, 3))
    with pytest.raises(ValueError, match="channels"):
        nn.BatchNorm2d(3)(xgrad.ones(2, 4, 2, 2))
    with pytest.raises(ValueError, match="4-D"):
        nn.BatchNorm2d(3)(xgrad.ones(2, 3))


def test_batchnorm_refuses_integer_input_and_no_features_as_torch_does():
    with pytest.raises(xgrad.DTypeError, match="needs a floating input, got int64"):
        nn.BatchNorm1d(3)(xgrad.tensor([[1, 2, 3], [4, 5, 6]]))
    with pytest.raises(xgrad.InputError, match="num_features must be positive"):
        nn.BatchNorm2d(0)


def test_batchnorm_state_dict_round_trips_buffers_and_moves_with_to():
    m = nn.BatchNorm1d(2, dtype="float64")
    m(xgrad.tensor(np.random.default_rng(0).normal(size=(4, 2))))
    m2 = nn.BatchNorm1d(2, dtype="float64")
    m2.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(m2.running_var.numpy(), m.running_var.numpy())
    assert int(m2.num_batches_tracked.item()) == 1
    m2.to("float32")
    assert m2.running_mean.numpy().dtype == np.float32 and m2.num_batches_tracked.numpy().dtype == np.int64
    assert [n for n, _ in m2.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert len(list(m2.parameters())) == 2  # buffers are not parameters
    m2.running_mean = xgrad.tensor([5.0, 6.0], dtype="float32")  # assigning a tensor replaces the buffer
    np.testing.assert_array_equal(np.asarray(m2.state_dict()["running_mean"]), [5.0, 6.0])
    m2.running_mean = xgrad.nn.Parameter(xgrad.zeros(2))  # a parameter now, not also a buffer
    assert list(m2.state_dict()).count("running_mean") == 1 and len(list(m2.parameters())) == 3


def test_layernorm_and_groupnorm_modules_match_torch():
    rng = np.random.default_rng(4)
    for ours, theirs, shape in [(nn.LayerNorm((3, 4), dtype="float64"), tnn.LayerNorm((3, 4)).double(), (2, 3, 4)),
                                (nn.LayerNorm(5, elementwise_affine=False, dtype="float64"),
                                 tnn.LayerNorm(5, elementwise_affine=False).double(), (3, 5)),
                                (nn.GroupNorm(2, 4, dtype="float64"), tnn.GroupNorm(2, 4).double(), (2, 4, 3))]:
        with torch.no_grad():
            for p in theirs.parameters():
                p.uniform_(0.5, 1.5)
        _copy_weights(ours, theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        x = rng.normal(size=shape)
        xo, xt = xgrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yo, yt = ours(xo), theirs(xt)
        np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=0, atol=1e-14)
        (yo * yo * yo).sum().backward()
        (yt * yt * yt).sum().backward()
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=0, atol=1e-12)
        for (n, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=0, atol=1e-12, err_msg=n)


# ---- embedding, one_hot -------------------------------------------------------------------------
def test_embedding_padding_row_gets_no_gradient_as_in_torch():
    theirs = tnn.Embedding(5, 3, padding_idx=1).double()
    ours = nn.Embedding(5, 3, padding_idx=1, dtype="float64")
    assert np.all(ours.weight.detach().numpy()[1] == 0)  # initialised zero, as torch does
    _copy_weights(ours, theirs)
    idx = np.array([[1, 2, 1], [4, 2, 0]])
    yo, yt = ours(xgrad.tensor(idx)), theirs(torch.from_numpy(idx))
    np.testing.assert_array_equal(yo.detach().numpy(), yt.detach().numpy())
    v = np.random.default_rng(0).normal(size=yo.shape)
    (yo * xgrad.tensor(v)).sum().backward()
    (yt * torch.from_numpy(v)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=0, atol=1e-15)
    assert np.all(ours.weight.grad.numpy()[1] == 0) and np.any(ours.weight.grad.numpy()[2] != 0)


def test_embedding_refuses_indices_out_of_range_instead_of_wrapping():
    w = xgrad.ones(4, 2)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        F.embedding(xgrad.tensor([0, -1]), w)  # -1 would silently pick the last row
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        F.embedding(xgrad.tensor([4]), w)
    with pytest.raises(ValueError, match="integers"):
        F.embedding(xgrad.tensor([0.0]), w)


def test_one_hot_matches_torch_and_refuses_bad_labels():
    labels = np.array([[0, 3], [2, 1]])
    for n in (-1, 6):
        ours = F.one_hot(xgrad.tensor(labels), n).numpy()
        theirs = tF.one_hot(torch.from_numpy(labels), n).numpy()
        assert ours.dtype == np.int64 and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ValueError, match="one_hot"):
        F.one_hot(xgrad.tensor([0, -1]), 3)
    with pytest.raises(ValueError, match="one_hot"):
        F.one_hot(xgrad.tensor([3]), 3)


# ---- dropout variants ---------------------------------------------------------------------------
@pytest.mark.parametrize("fn,shape,channel_axes", [(F.dropout1d, (8, 6, 5), 2), (F.dropout2d, (8, 6, 3, 4), 2),
                                                   (F.dropout1d, (40, 5), 1)])
def test_channel_dropout_zeroes_whole_channels_and_scales_the_rest(fn, shape, channel_axes):
    xgrad.manual_seed(0)
    x = np.random.default_rng(0).uniform(1, 2, size=shape)
    y = fn(xgrad.tensor(x), p=0.25).numpy()
    per_channel = y.reshape(shape[:channel_axes] + (-1,))
    dropped = np.all(per_channel == 0, axis=-1)
    kept = np.all(per_channel != 0, axis=-1)
    assert np.all(dropped | kept)  # never part of a channel
    assert 0 < dropped.mean() < 0.5
    np.testing.assert_allclose(y.reshape(per_channel.shape)[kept], (x.reshape(per_channel.shape) / 0.75)[kept])
    np.testing.assert_array_equal(fn(xgrad.tensor(x), p=0.25, training=False).numpy(), x)
    assert np.all(fn(xgrad.tensor(x), p=1.0).numpy() == 0)


def test_alpha_dropout_sets_dropped_values_to_the_selu_saturation_and_keeps_moments():
    xgrad.manual_seed(0)
    x = np.random.default_rng(0).normal(size=200_000)
    y = F.alpha_dropout(xgrad.tensor(x), p=0.2, training=True).numpy()
    a = 1 / math.sqrt((1.7580993408473766 ** 2 * 0.2 + 1) * 0.8)
    b = 1.7580993408473766 * a * 0.2
    dropped = np.isclose(y, -1.7580993408473766 * a + b, rtol=0, atol=1e-15)
    np.testing.assert_allclose(y[~dropped], x[~dropped] * a + b, rtol=1e-14)
    assert abs(dropped.mean() - 0.2) < 0.005
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01
    np.testing.assert_array_equal(F.alpha_dropout(xgrad.tensor(x), p=0.2).numpy(), x)  # training=False by default


# ---- losses -------------------------------------------------------------------------------------
def test_cross_entropy_ignores_pytorchs_default_ignore_index():
    z = np.random.default_rng(0).normal(size=(4, 3))
    y = np.array([0, -100, 2, -100])
    for reduction in ("mean", "sum", "none"):
        ours = F.cross_entropy(xgrad.tensor(z), xgrad.tensor(y), reduction=reduction).numpy()
        theirs = tF.cross_entropy(torch.from_numpy(z), torch.from_numpy(y), reduction=reduction).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-15, atol=1e-16)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.cross_entropy(xgrad.tensor(z), xgrad.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="nll_loss"):
        F.cross_entropy(xgrad.tensor(z), xgrad.tensor([0, -100, -1, 2]))


def test_binary_cross_entropy_second_derivative_is_exact_and_input_is_checked():
    x = xgrad.tensor([0.2, 0.6], dtype="float64", requires_grad=True)
    y = np.array([0.7, 0.1])
    (g,) = xgrad.grad(F.binary_cross_entropy(x, xgrad.tensor(y), reduction="sum"), [x], create_graph=True)
    (h,) = xgrad.grad(g.sum(), [x])
    xv = np.array([0.2, 0.6])
    np.testing.assert_allclose(g.detach().numpy(), (xv - y) / (xv * (1 - xv)), rtol=1e-15)
    np.testing.assert_allclose(h.numpy(), y / xv ** 2 + (1 - y) / (1 - xv) ** 2, rtol=1e-14)
    with pytest.raises(ValueError, match="outside \\[0, 1\\]"):
        F.binary_cross_entropy(xgrad.tensor([1.5]), xgrad.tensor([1.0]))
    # log clamped at -100, as torch: a certain wrong answer costs 100, not inf
    assert F.binary_cross_entropy(xgrad.tensor([0.0]), xgrad.tensor([1.0])).item() == 100.0


def test_loss_modules_match_torch():
    rng = np.random.default_rng(5)
    z, labels = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    p, t = rng.uniform(0.1, 0.9, size=(6, 4)), rng.uniform(size=(6, 4))
    w = rng.uniform(0.5, 2, size=4)
    cases = [
        (nn.CrossEntropyLoss(weight=xgrad.tensor(w), label_smoothing=0.1),
         tnn.CrossEntropyLoss(weight=torch.from_numpy(w), label_smoothing=0.1), z, labels),
        (nn.CrossEntropyLoss(), tnn.CrossEntropyLoss(), z, labels),
        (nn.NLLLoss(reduction="sum"), tnn.NLLLoss(reduction="sum"), np.log(p), labels),
        (nn.MSELoss(), tnn.MSELoss(), a, b), (nn.L1Loss(reduction="sum"), tnn.L1Loss(reduction="sum"), a, b),
        (nn.SmoothL1Loss(beta=0.5), tnn.SmoothL1Loss(beta=0.5), a, b), (nn.HuberLoss(delta=0.3), tnn.HuberLoss(delta=0.3), a, b),
        (nn.BCELoss(), tnn.BCELoss(), p, t),
        (nn.BCEWithLogitsLoss(pos_weight=xgrad.tensor(w)), tnn.BCEWithLogitsLoss(pos_weight=torch.from_numpy(w)), a, t),
        (nn.KLDivLoss(reduction="batchmean"), tnn.KLDivLoss(reduction="batchmean"), np.log(p), t),
        (nn.KLDivLoss(log_target=True), tnn.KLDivLoss(log_target=True), a, b),
    ]
    for ours, theirs, x, y in cases:
        xo = xgrad.tensor(x, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        lo, lt = ours(xo, xgrad.tensor(y)), theirs(xt, torch.from_numpy(y))
        lo.backward(), lt.backward()
        np.testing.assert_allclose(lo.item(), lt.item(), rtol=1e-14, err_msg=type(ours).__name__)
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-15, err_msg=type(ours).__name__)
    assert list(nn.CrossEntropyLoss(weight=xgrad.tensor(w)).state_dict()) == ["weight"]
    np.testing.assert_allclose(nn.CosineSimilarity(dim=1)(xgrad.tensor(a), xgrad.tensor(b)).numpy(),
                               tnn.CosineSimilarity(dim=1)(torch.from_numpy(a), torch.from_numpy(b)).numpy(), rtol=1e-14)


def test_losses_refuse_targets_of_another_shape_and_legacy_arguments():
    x = xgrad.ones(3, 1)
    with pytest.raises(ValueError, match="does not broadcast"):
        F.l1_loss(x, xgrad.ones(3))
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(size_average=False)
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.kl_div(x, x, reduction="avg")


def test_cosine_similarity_of_a_zero_vector_is_zero_with_zero_gradient_like_torch():
    a = xgrad.tensor([[0.0, 0.0], [1.0, 2.0]], dtype="float64", requires_grad=True)
    ta = torch.tensor([[0.0, 0.0], [1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    b = np.array([[1.0, 1.0], [3.0, -1.0]])
    o, t = F.cosine_similarity(a, xgrad.tensor(b)), tF.cosine_similarity(ta, torch.from_numpy(b))
    o.sum().backward(), t.sum().backward()
    np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-14, atol=0)


# ---- containers and reshaping modules -----------------------------------------------------------
class _Net(nn.Module):
    def __init__(self, lib):
        super().__init__()
        kw = {"dtype": "float64"} if lib is nn else {}
        self.blocks = lib.ModuleList([lib.Linear(3, 3, **kw) for _ in range(2)])
        self.heads = lib.ModuleDict({"a": lib.Linear(3, 2, **kw), "b": lib.Sequential(lib.Flatten(), lib.Linear(3, 1, **kw))})


class _TorchNet(tnn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = tnn.ModuleList([tnn.Linear(3, 3) for _ in range(2)])
        self.heads = tnn.ModuleDict({"a": tnn.Linear(3, 2), "b": tnn.Sequential(tnn.Flatten(), tnn.Linear(3, 1))})


def test_module_list_and_dict_register_parameters_under_torchs_names():
    ours, theirs = _Net(nn), _TorchNet().double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _copy_weights(ours, theirs)
    assert len(list(ours.parameters())) == 8 and len(ours.blocks) == 2 and "a" in ours.heads
    ours.blocks.append(nn.Linear(3, 3))
    del ours.blocks[0]
    assert [n.split(".")[1] for n, _ in ours.named_parameters() if n.startswith("blocks")] == ["0", "0", "1", "1"]
    with pytest.raises(TypeError, match="Modules only"):
        ours.blocks.append(lambda x: x)


def test_flatten_and_unflatten_match_torch_shapes():
    x = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)
    for ours, theirs in [(nn.Flatten(), tnn.Flatten()), (nn.Flatten(0, 2), tnn.Flatten(0, 2)),
                         (nn.Unflatten(1, (3, 1)), tnn.Unflatten(1, (3, 1))), (nn.Unflatten(-1, (-1, 5)), tnn.Unflatten(-1, (-1, 5)))]:
        np.testing.assert_array_equal(ours(xgrad.tensor(x)).numpy(), theirs(torch.from_numpy(x)).numpy())
    with pytest.raises(ValueError, match="cannot split"):
        nn.Unflatten(1, (2, 2))(xgrad.tensor(x))


@pytest.mark.parametrize("momentum", [0.1, None])
def test_compiled_batchnorm_training_step_equals_eager_running_statistics_included(momentum):
    def model():
        xgrad.manual_seed(0)
        return nn.Sequential(nn.Linear(4, 8, dtype="float64"), nn.BatchNorm1d(8, momentum=momentum, dtype="float64"))

    def stepper(m, opt):
        def step(x):
            loss = (m(x) ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return step

    eager_model, compiled_model = model(), model()
    eager = stepper(eager_model, xgrad.optim.SGD(eager_model.parameters(), lr=0.1))
    compiled = xgrad.compile(stepper(compiled_model, xgrad.optim.SGD(compiled_model.parameters(), lr=0.1)))
    x = xgrad.tensor(np.random.default_rng(0).normal(size=(16, 4)))
    for _ in range(6):
        assert float(eager(x)) == float(compiled(x))
    for k, v in eager_model.state_dict().items():
        np.testing.assert_array_equal(np.asarray(compiled_model.state_dict()[k]), np.asarray(v), err_msg=k)
    assert int(compiled_model[1].num_batches_tracked.item()) == 6
