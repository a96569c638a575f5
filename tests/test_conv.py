"""Convolutions, pooling, padding and resampling beyond the op table: the backends' sliding windows
against the standard-only ones and torch, PyTorch's tie and rounding rules, unbatched inputs, modules
with PyTorch's init and padding modes, clear errors, and compile."""

import math

import numpy as np
import pytest
import torch

import xgrad
from xgrad import nn
from xgrad.backends import windows
import xgrad.nn.functional as F

tF = torch.nn.functional

WINDOWS = [((3, 3), (1, 1), (1, 1), (1, 1), 8, 8), ((2, 3), (2, 1), (0, 2), (2, 3), 7, 9),
           ((1, 1), (1, 1), (0, 0), (1, 1), 3, 4), ((3, 2), (1, 2), (1, 0), (3, 1), 5, 6),
           ((2, 2), (1, 1), (0, 0), (2, 2), 4, 6)]


@pytest.mark.parametrize("k, d, p, s, h, w", WINDOWS)
def test_backend_windows_equal_the_standard_ones_and_torch(backend, k, d, p, s, h, w):
    b = xgrad.get_backend(backend)
    x = np.random.default_rng(0).normal(size=(2, 3, h, w))
    want = tF.unfold(torch.tensor(x), k, d, p, s).numpy()
    got = b.to_numpy(b.xp.unfold(b.asarray(x), kernel_size=k, dilation=d, padding=p, stride=s))
    generic = b.to_numpy(windows.unfold(b.namespace, b.asarray(x), k, d, p, s))
    assert np.array_equal(got, want) and np.array_equal(generic, want)  # copies of entries: exact
    folded = b.to_numpy(b.xp.fold(b.asarray(want), output_size=(h, w), kernel_size=k, dilation=d, padding=p,
                                  stride=s))
    generic = b.to_numpy(windows.fold(b.namespace, b.asarray(want), (h, w), k, d, p, s))
    assert np.array_equal(folded, generic)
    assert np.max(np.abs(folded - tF.fold(torch.tensor(want), (h, w), k, d, p, s).numpy())) <= 1e-15


@pytest.mark.parametrize("k, d, p, s, h, w", WINDOWS)
@pytest.mark.parametrize("channels", [1, 6])
def test_backend_convolution_equals_the_generic_one_and_torch(backend, k, d, p, s, h, w, channels):
    """A backend's own convolution (NumPy: channels last, for many channels on small images; torch's
    native) gives the generic unfold-and-matmul numbers to rounding, forward and both gradients."""
    b = xgrad.get_backend(backend)
    rng = np.random.default_rng(1)
    x, wt = rng.normal(size=(3, channels, h, w)), rng.normal(size=(4, channels) + k)
    args = (s, p, d, 1)
    out, saved = b.conv2d_forward(b.asarray(x), b.asarray(wt), *args)
    ref, _ = windows.conv2d_forward(b.rule_namespace, b.asarray(x), b.asarray(wt), *args)
    want = tF.conv2d(torch.tensor(x), torch.tensor(wt), None, s, p, d).numpy()
    g = rng.normal(size=want.shape)
    gx = b.to_numpy(b.conv2d_grad_input(b.asarray(g), b.asarray(wt), x.shape, *args))
    gw = b.to_numpy(b.conv2d_grad_weight(b.asarray(g), b.asarray(x), saved, wt.shape, *args))
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(wt, requires_grad=True)
    tF.conv2d(tx, tw, None, s, p, d).backward(torch.tensor(g))
    for got, generic, torch_value in ((b.to_numpy(out), b.to_numpy(ref), want), (gx, None, tx.grad.numpy()),
                                      (gw, None, tw.grad.numpy())):
        assert np.max(np.abs(got - torch_value)) <= 1e-12
        if generic is not None:
            assert np.max(np.abs(got - generic)) <= 1e-12


def test_conv2d_matches_torch_in_float32_and_unbatched():
    rng = np.random.default_rng(1)
    x, w, bias = rng.normal(size=(3, 4, 7, 6)), rng.normal(size=(6, 2, 3, 2)), rng.normal(size=6)
    for dtype, tol in (("float32", 1e-5), ("float64", 1e-13)):
        got = F.conv2d(xgrad.tensor(x, dtype=dtype), xgrad.tensor(w, dtype=dtype), xgrad.tensor(bias, dtype=dtype),
                       stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
        t = lambda a: torch.tensor(a, dtype=getattr(torch, dtype))  # noqa: E731
        want = tF.conv2d(t(x), t(w), t(bias), stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
        assert got._backend.dtype_name(got.dtype) == dtype
        assert np.max(np.abs(got.numpy() - want.numpy())) <= tol * np.max(np.abs(want.numpy()))
    one = F.conv2d(xgrad.tensor(x[0]), xgrad.tensor(w), padding="same", groups=2)
    assert one.shape == (6, 7, 6)
    assert np.array_equal(one.numpy(), F.conv2d(xgrad.tensor(x[:1]), xgrad.tensor(w), padding="same",
                                                groups=2).numpy()[0])


def test_max_pool_sends_the_gradient_of_a_tie_to_the_first_maximum_as_torch():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1:3, 1:3] = 1.0  # windows with several equal maxima
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=2, ceil_mode=True,
                                                                                    stride=3)):
        xt = xgrad.tensor(x, requires_grad=True)
        F.max_pool2d(xt, **kw).sum().backward()
        tt = torch.tensor(x, requires_grad=True)
        tF.max_pool2d(tt, **kw).sum().backward()
        assert np.array_equal(xt.grad.numpy(), tt.grad.numpy()), kw


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                                dict(kernel_size=2, stride=1, dilation=2), dict(kernel_size=1)])
def test_max_pool_propagates_nan_and_its_gradient_as_torch(kw):
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = x[0, 0, 2, 2] = np.nan
    x[0, 0, 3, 3] = -0.0
    xt, tt = xgrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    got, want = F.max_pool2d(xt, **kw), tF.max_pool2d(tt, **kw)
    assert np.array_equal(got.detach().numpy(), want.detach().numpy(), equal_nan=True)
    assert np.array_equal(np.signbit(got.detach().numpy()), np.signbit(want.detach().numpy()))
    g = np.random.default_rng(0).normal(size=want.shape)
    got.backward(xgrad.tensor(g))
    want.backward(torch.tensor(g))
    # the entry PyTorch picks (the first maximum; the last NaN of a window with NaNs) gets the gradient
    # (overlapping windows add up in another order: rounding)
    assert np.array_equal(xt.grad.numpy() != 0, tt.grad.numpy() != 0)
    np.testing.assert_allclose(xt.grad.numpy(), tt.grad.numpy(), rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=3, stride=1, padding=1),
                                dict(kernel_size=(2, 3), stride=1, padding=(1, 1), dilation=2),
                                dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)])
def test_max_pool_never_sends_a_gradient_into_the_padding_when_inputs_are_minus_infinity(kw):
    """Windows whose entries are all -inf (masked activations) pass their gradient to the first of them,
    as PyTorch's kernel does; the -inf padding never wins over them."""
    rng = np.random.default_rng(5)
    for x in (np.full((1, 2, 4, 5), -np.inf), np.where(rng.uniform(size=(1, 2, 4, 5)) < 0.6, -np.inf,
                                                       rng.normal(size=(1, 2, 4, 5)))):
        xt, tt = xgrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        got, want = F.max_pool2d(xt, **kw), tF.max_pool2d(tt, **kw)
        assert np.array_equal(got.detach().numpy(), want.detach().numpy())
        g = rng.normal(size=want.shape)
        got.backward(xgrad.tensor(g))
        want.backward(torch.tensor(g))
        np.testing.assert_allclose(xt.grad.numpy(), tt.grad.numpy(), rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 9, 13, 17, 31])
def test_nearest_interpolation_picks_torchs_pixels(size):
    x = np.arange(2.0 * 11 * 23).reshape(1, 2, 11, 23)
    for kw in (dict(size=(size, 2 * size + 1)), dict(scale_factor=size / 7), dict(scale_factor=(size / 3, 0.7))):
        got = F.interpolate(xgrad.tensor(x), mode="nearest", **kw).numpy()
        want = tF.interpolate(torch.tensor(x), mode="nearest", **kw).numpy()
        assert np.array_equal(got, want), kw


@pytest.mark.parametrize("align_corners", [False, True])
def test_bilinear_interpolation_matches_torch_on_many_sizes(align_corners):
    x = np.random.default_rng(2).normal(size=(2, 3, 5, 7))
    for kw in (dict(size=(11, 3)), dict(size=(1, 1)), dict(scale_factor=2.5), dict(scale_factor=(0.6, 1.3)),
               dict(scale_factor=1.7, recompute_scale_factor=True)):
        got = F.interpolate(xgrad.tensor(x), mode="bilinear", align_corners=align_corners, **kw).numpy()
        want = tF.interpolate(torch.tensor(x), mode="bilinear", align_corners=align_corners, **kw).numpy()
        assert got.shape == want.shape and np.max(np.abs(got - want)) <= 1e-14, kw


def test_conv_modules_have_torchs_shapes_init_and_outputs():
    xgrad.manual_seed(0)
    rng = np.random.default_rng(3)
    cases = [(nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect", dtype="float64"),
              torch.nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect", dtype=torch.float64), (2, 3, 6, 5)),
             (nn.Conv2d(4, 6, (2, 3), padding="same", padding_mode="circular", groups=2, dtype="float64"),
              torch.nn.Conv2d(4, 6, (2, 3), padding="same", padding_mode="circular", groups=2, dtype=torch.float64),
              (2, 4, 5, 5)),
             (nn.Conv1d(2, 4, 4, stride=2, padding=3, padding_mode="replicate", dtype="float64"),
              torch.nn.Conv1d(2, 4, 4, stride=2, padding=3, padding_mode="replicate", dtype=torch.float64), (3, 2, 9)),
             (nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dtype="float64"),
              torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2,
                                       dtype=torch.float64), (2, 4, 3, 4))]
    for ours, theirs, shape in cases:
        assert ours.weight.shape == tuple(theirs.weight.shape) and ours.bias.shape == tuple(theirs.bias.shape)
        fan_in = theirs.weight.shape[1] * math.prod(theirs.weight.shape[2:])
        bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) and the bias: U(-1/sqrt(fan_in), ...)
        w, b = ours.weight.detach().numpy(), ours.bias.detach().numpy()
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.5 * bound and np.abs(b).max() <= bound
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(w))
            theirs.bias.copy_(torch.tensor(b))
        x = rng.normal(size=shape)
        got, want = ours(xgrad.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy()
        assert got.shape == want.shape and np.max(np.abs(got - want)) <= 1e-13, type(ours).__name__
    x = rng.normal(size=(2, 3, 7, 5))
    for ours, theirs in ((nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
                         (nn.AvgPool2d(2, 1, 1, count_include_pad=False), torch.nn.AvgPool2d(2, 1, 1, count_include_pad=False)),
                         (nn.AdaptiveAvgPool2d((3, None)), torch.nn.AdaptiveAvgPool2d((3, None)))):
        got, want = ours(xgrad.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy()
        assert got.shape == want.shape and np.max(np.abs(got - want)) <= 1e-15, type(ours).__name__


@pytest.mark.parametrize("call, error, match", [
    (lambda x, w: F.conv2d(x, w[:, :2]), xgrad.ShapeError, r"conv2d: the input shape \(2, 3, 6, 6\).*3 channels.*expects 2"),
    (lambda x, w: F.conv2d(x, w.to("float32")), xgrad.DTypeError, "conv2d: input, weight and bias must share a dtype"),
    (lambda x, w: F.conv2d(x, w, padding="same", stride=2), xgrad.InputError, "'same' needs stride 1"),
    (lambda x, w: F.conv2d(x, w, padding="full"), xgrad.InputError, "'valid' or 'same'"),
    (lambda x, w: F.conv2d(x, w, groups=2), xgrad.ShapeError, "groups=2"),
    (lambda x, w: F.conv2d(x[:, :, :1, :1], w), xgrad.ShapeError, "larger than the input"),
    (lambda x, w: F.conv2d(x, w, xgrad.zeros(5, dtype="float64")), xgrad.ShapeError, r"bias .* must have shape \(4,\)"),
    (lambda x, w: F.conv2d(x[0, 0], w), xgrad.ShapeError, r"expected a 4-D input"),
    (lambda x, w: F.max_pool2d(x, 2, padding=2), xgrad.InputError, "at most half the kernel size"),
    (lambda x, w: F.max_pool2d(x, 2, return_indices=True), xgrad.InputError, "return_indices"),
    (lambda x, w: F.interpolate(x, scale_factor=2, align_corners=True), xgrad.InputError, "linear modes only"),
    (lambda x, w: F.interpolate(x, size=3, mode="bicubic"), xgrad.InputError, "mode must be"),
    (lambda x, w: F.pad(x, (1, 6), mode="reflect"), xgrad.ShapeError, r"reflect padding \(1, 6\)"),
    (lambda x, w: F.pad(x, (1, 2, 3)), xgrad.InputError, "even number"),
    (lambda x, w: F.fold(x.reshape((2, 27, 4)), (6, 6), 3), xgrad.ShapeError, "does not fit output_size"),
])
def test_bad_arguments_are_clear_errors(call, error, match):
    x = xgrad.randn(2, 3, 6, 6, dtype="float64")
    w = xgrad.randn(4, 3, 3, 3, dtype="float64")
    with pytest.raises(error, match=match):
        call(x, w)


def test_compiled_cnn_steps_equal_eager_ones_bit_for_bit(backend):
    """A CNN step with BatchNorm, max and average pooling, compiled, on every backend (the torch backend's
    convolution saves nothing for its backward: the replay must cope with that None)."""
    rng = np.random.default_rng(4)
    X = xgrad.tensor(rng.uniform(size=(32, 1, 8, 8)), dtype="float64", backend=backend)
    y = xgrad.tensor(rng.integers(0, 10, size=32), backend=backend)
    place = dict(dtype="float64", backend=backend)

    def run(compiled):
        xgrad.manual_seed(1)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, **place), nn.BatchNorm2d(4, **place), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, **place), nn.AvgPool2d(2))
        head = nn.Linear(4, 10, **place)
        opt = xgrad.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=0.01)

        def step(xb, yb):
            loss = F.cross_entropy(head(model(xb).reshape((xb.shape[0], -1))), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        step = xgrad.compile(step) if compiled else step
        losses = [float(step(X[i:i + 8], y[i:i + 8])) for i in range(0, 32, 8)]
        return losses, [p.detach().numpy().copy() for p in model.parameters()]

    (a, pa), (b, pb) = run(False), run(True)
    assert a == b and all(np.array_equal(u, v) for u, v in zip(pa, pb))


def _torch_cnn(model):
    """PyTorch's twin of ``models.CNN`` with the same weights (float64)."""
    class Twin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(1, 16, 3, padding=1, bias=False, dtype=torch.float64)
            self.bn1 = torch.nn.BatchNorm2d(16, dtype=torch.float64)
            self.conv2 = torch.nn.Conv2d(16, 32, 3, padding=1, bias=False, dtype=torch.float64)
            self.bn2 = torch.nn.BatchNorm2d(32, dtype=torch.float64)
            self.fc = torch.nn.Linear(128, 10, dtype=torch.float64)

        def forward(self, x):
            x = tF.max_pool2d(tF.relu(self.bn1(self.conv1(x))), 2)
            x = tF.max_pool2d(tF.relu(self.bn2(self.conv2(x))), 2)
            return self.fc(x.flatten(1))

    twin = Twin()
    with torch.no_grad():
        for name, p in model.named_parameters():
            twin.get_parameter(name).copy_(torch.tensor(p.detach().numpy()))
    return twin


def test_digits_cnn_gradients_equal_torchs_on_one_batch():
    pytest.importorskip("sklearn")
    from xgrad import data, models

    X, y = data.load_dataset("digits", dtype="float64")
    xb, yb = X[:64], y[:64]
    xgrad.manual_seed(0)
    model = models.CNN(dtype="float64")
    twin = _torch_cnn(model)
    model.train()
    model.dropout.eval()  # dropout masks cannot be shared: the rest trains (BatchNorm uses batch statistics)
    loss = F.cross_entropy(model(xb), yb)
    loss.backward()
    tloss = tF.cross_entropy(twin(torch.tensor(xb.numpy())), torch.tensor(yb.numpy()))
    tloss.backward()
    assert abs(float(loss) - tloss.item()) <= 1e-14
    names = [n for n, _ in model.named_parameters()]
    assert names == ["conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight", "bn2.bias", "fc.weight",
                     "fc.bias"]
    for name, p in model.named_parameters():
        diff = np.max(np.abs(p.grad.numpy() - twin.get_parameter(name).grad.numpy()))
        assert diff <= 1e-12, (name, diff)
    # and the running statistics moved as torch's did
    assert np.max(np.abs(model.bn2.running_var.numpy() - twin.bn2.running_var.numpy())) <= 1e-14
