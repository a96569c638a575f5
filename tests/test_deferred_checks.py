"""Checks a backend defers to the device (``deferred_checks``): a step never waits for the device to
validate class labels; a bad label raises at the next read of values, eager or compiled, and never
lets a value computed from it reach the user. Run on CPU backends with the attribute set (CuPy sets it);
the NumPy default still raises at once."""

import numpy as np
import pytest

import xgrad
from xgrad import nn, optim, training
from xgrad.backends import checks
from xgrad.nn import functional as F

GOOD = [0, 2, 1, 2]
BAD = [0, 2, 5, 1]  # 5 is outside [0, 3)


@pytest.fixture(params=["numpy", "torch"])
def deferred(request):
    """A backend that defers its checks (set on the instance, removed after)."""
    status = xgrad.available_backends().get(request.param)
    if status is not None:
        pytest.skip(f"{request.param} unavailable here: {status}")
    b = xgrad.get_backend(request.param)
    b.deferred_checks = True
    checks.pending.clear()
    yield request.param
    del b.deferred_checks
    checks.pending.clear()


def _logits(backend, requires_grad=True):
    z = np.random.default_rng(0).normal(size=(4, 3))
    return xgrad.tensor(z, backend=backend, requires_grad=requires_grad)


def _labels(values, backend):
    return xgrad.tensor(np.array(values), backend=backend)


LATE = r"class labels must lie in \[0, 3\) for 3 classes; got labels from 0 to 5 \(raised at {}: an earlier " \
       r"xgrad.cross_entropy call"


def test_numpy_default_raises_at_the_call_and_leaves_nothing_pending():
    z = _logits("numpy")
    with pytest.raises(xgrad.InputError, match=r"xgrad.cross_entropy: class labels must lie in \[0, 3\) for 3 "
                                               r"classes; got labels from 0 to 5$"):
        F.cross_entropy(z, _labels(BAD, "numpy"))
    with pytest.raises(xgrad.InputError, match=r"got labels from -1 to 2$"):
        F.cross_entropy(z, _labels([0, -1, 2, 1], "numpy"))
    assert checks.pending == []


def test_a_deferred_bad_label_raises_at_the_first_read_naming_the_op(deferred):
    z = _logits(deferred)
    loss = F.cross_entropy(z, _labels(BAD, deferred))  # no error yet: nothing waited for the device
    loss.backward()
    assert len(checks.pending) == 1
    with pytest.raises(xgrad.InputError, match=LATE.format(r"\.item\(\)")):
        loss.item()
    assert checks.pending == []  # raised once: an unrelated later read passes
    good = F.cross_entropy(z, _labels(GOOD, deferred))
    zn = z.detach().numpy()
    logp = zn - np.log(np.exp(zn).sum(axis=1, keepdims=True))
    assert good.item() == pytest.approx(-logp[np.arange(4), GOOD].mean(), rel=1e-12)


@pytest.mark.parametrize("read, where", [
    (lambda t: t.item(), r"\.item\(\)"), (lambda t: t.detach().numpy(), r"\.numpy\(\)"),
    (lambda t: t.tolist(), r"\.tolist\(\)"), (float, r"float\(\)"), (int, r"int\(\)"), (bool, r"bool\(\)"),
    (lambda t: xgrad.backends.to_host(t.detach().data), r"xgrad.backends.to_host\(\)"),
    (lambda t: xgrad.check_pending(), r"xgrad.check_pending\(\)"),
])
def test_every_read_of_values_raises_a_pending_failure(deferred, read, where):
    loss = F.cross_entropy(_logits(deferred, requires_grad=False), _labels(BAD, deferred))
    with pytest.raises(xgrad.InputError, match=LATE.format(where)):
        read(loss)


def test_repr_withholds_values_and_keeps_the_error_for_the_next_read(deferred):
    loss = F.cross_entropy(_logits(deferred, requires_grad=False), _labels(BAD, deferred))
    text = repr(loss)
    assert text.startswith("tensor(<values withheld: xgrad.cross_entropy: class labels must lie in [0, 3)")
    with pytest.raises(xgrad.InputError, match=LATE.format(r"\.item\(\)")):
        loss.item()


def test_gradients_from_a_bad_label_are_not_read_silently(deferred):
    z = _logits(deferred)
    with xgrad.no_grad():
        F.cross_entropy(z, _labels([0, -1, 2, 1], deferred))  # no_grad: checked all the same
    with pytest.raises(xgrad.InputError, match=r"got labels from -1 to 2 \(raised at \.numpy\(\)"):
        z.detach().numpy()
    F.cross_entropy(z, _labels(BAD, deferred)).backward()
    with pytest.raises(xgrad.InputError, match=LATE.format(r"\.numpy\(\)")):
        z.grad.numpy()


def test_a_clean_deferred_run_raises_nothing_and_equals_the_checked_run(deferred):
    z = _logits(deferred)
    loss = F.cross_entropy(z, _labels(GOOD, deferred), reduction="sum")
    loss.backward()
    checked = _logits(deferred)
    xgrad.get_backend(deferred).deferred_checks = False
    checked_loss = F.cross_entropy(checked, _labels(GOOD, deferred), reduction="sum")
    checked_loss.backward()
    xgrad.get_backend(deferred).deferred_checks = True
    assert loss.item() == checked_loss.item()  # bit for bit
    np.testing.assert_array_equal(z.grad.numpy(), checked.grad.numpy())
    for _ in range(2 * checks.COMPACT_AT + 10):  # a loop that never reads keeps a bounded list
        F.cross_entropy(z, _labels(GOOD, deferred))
    assert 0 < len(checks.pending) < checks.COMPACT_AT
    xgrad.check_pending()
    assert checks.pending == []


def test_folded_checks_still_report_the_extremes_of_every_call(deferred):
    z = _logits(deferred, requires_grad=False)
    for _ in range(checks.COMPACT_AT + 1):
        F.cross_entropy(z, _labels(GOOD, deferred))
    F.cross_entropy(z, _labels(BAD, deferred))
    for _ in range(checks.COMPACT_AT):
        F.cross_entropy(z, _labels(GOOD, deferred))
    with pytest.raises(xgrad.InputError, match=r"got labels from 0 to 5 over \d+ calls \(raised at "):
        xgrad.check_pending()


def test_an_exception_mid_step_leaves_an_error_that_still_names_the_op(deferred):
    z = _logits(deferred)
    with pytest.raises(xgrad.ShapeError):
        F.cross_entropy(z, _labels(BAD, deferred))
        xgrad.ones((2,), backend=deferred) + xgrad.ones((3,), backend=deferred)  # the step fails for another reason
    later = xgrad.ones((2,), backend=deferred).sum()
    with pytest.raises(xgrad.InputError, match=LATE.format(r"\.item\(\)")):
        later.item()


@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_labels_to_ignore_are_found_on_the_device_as_pytorch_ignores_them(deferred, ignore_index, reduction):
    torch = pytest.importorskip("torch")
    z = np.random.default_rng(1).normal(size=(5, 3, 2))
    y = np.array([[0, ignore_index], [2, 1], [ignore_index, 0], [1, 2], [2, 2]])
    ours = xgrad.tensor(z, backend=deferred, requires_grad=True)
    loss = F.cross_entropy(ours, _labels(y, deferred), reduction=reduction, ignore_index=ignore_index)
    loss.sum().backward()
    assert len(checks.pending) == 1  # checked on the device, read below
    theirs = torch.tensor(z, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(theirs, torch.from_numpy(y), reduction=reduction, ignore_index=ignore_index)
    ref.sum().backward()
    np.testing.assert_allclose(loss.detach().numpy(), ref.detach().numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-14, atol=1e-15)


def test_weighted_and_smoothed_losses_defer_their_label_check_too(deferred):
    z = _logits(deferred)
    weight = xgrad.tensor([1.0, 2.0, 0.5], backend=deferred, dtype="float64")
    loss = F.cross_entropy(z, _labels(BAD, deferred), weight=weight, label_smoothing=0.1)
    with pytest.raises(xgrad.InputError, match=r"xgrad.nn.functional.nll_loss: class labels must lie in \[0, 3\) .*"
                                               r"from 0 to 5 \(raised at \.item\(\)"):
        loss.item()
    good = F.cross_entropy(z, _labels([0, -100, 2, 1], deferred), weight=weight, label_smoothing=0.1)
    assert np.isfinite(good.item())



def test_torch_defers_checks_of_arrays_on_a_gpu_only():
    torch = pytest.importorskip("torch")
    b = xgrad.get_backend("torch")
    assert not b.defers(torch.zeros(2, dtype=torch.int64))
    assert b.defers(torch.zeros(2, dtype=torch.int64, device="meta"))  # any device but the CPU


def _train_step(backend):
    xgrad.manual_seed(0)
    model = nn.Linear(3, 3, backend=backend, dtype="float64")
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return model, step


@pytest.mark.parametrize("compiled", [False, True])
def test_a_bad_label_in_a_later_step_raises_eager_and_compiled(deferred, compiled):
    model, step = _train_step(deferred)
    if compiled:
        step = xgrad.compile(step)
    x = _logits(deferred, requires_grad=False)
    losses = [step(x, _labels(GOOD, deferred)) for _ in range(3)]  # eager warm-up, trace, replay
    assert [loss.item() for loss in losses] == sorted((loss.item() for loss in losses), reverse=True)
    bad = step(x, _labels(BAD, deferred))  # a replay: the check runs again, on this call's labels
    with pytest.raises(xgrad.InputError, match=LATE.format(r"\.item\(\)")):
        bad.item()
    after = step(x, _labels(GOOD, deferred))  # later steps go on, each checked
    assert len(checks.pending) == 1
    assert after.item() < losses[-1].item()


def test_a_bad_label_in_the_first_compiled_step_raises(deferred):
    _, step = _train_step(deferred)
    step = xgrad.compile(step, warmup=0)  # the first call traces
    x = _logits(deferred, requires_grad=False)
    loss = step(x, _labels(BAD, deferred))
    with pytest.raises(xgrad.InputError, match=LATE.format(r"float\(\)")):
        float(loss)


def test_a_compiled_evaluation_checks_the_labels_of_every_replay(deferred):
    @xgrad.compile(warmup=0)
    def evaluate(z, y):
        with xgrad.no_grad():  # the one-hot rows are unused here: the check must still run
            return F.cross_entropy(z, y)

    z = _logits(deferred, requires_grad=False)
    first = evaluate(z, _labels(GOOD, deferred)).item()
    assert evaluate(z, _labels(GOOD, deferred)).item() == first  # a replay
    out = evaluate(z, _labels(BAD, deferred))
    with pytest.raises(xgrad.InputError, match=LATE.format(r"\.item\(\)")):
        out.item()


def test_labels_made_inside_a_compiled_function_are_checked_on_every_replay(deferred):
    @xgrad.compile(warmup=0)
    def evaluate(z):
        y = xgrad.tensor(np.array(BAD), backend=deferred)  # a constant of the trace: its check is not folded
        with xgrad.no_grad():
            return F.cross_entropy(z, y)

    z = _logits(deferred, requires_grad=False)
    for _ in range(3):  # the trace, then replays
        out = evaluate(z)
        with pytest.raises(xgrad.InputError, match=LATE.format(r"\.item\(\)")):
            out.item()


def test_a_host_read_inside_a_compiled_replay_raises_before_the_value_is_used(deferred):
    @xgrad.compile(warmup=0)
    def loss_value(z, y):
        with xgrad.no_grad():
            return F.cross_entropy(z, y).item()  # a Python number: a replay returns the guarded value

    z = _logits(deferred, requires_grad=False)
    good = loss_value(z, _labels(GOOD, deferred))
    assert loss_value(z, _labels(GOOD, deferred)) == good
    with pytest.raises(xgrad.InputError, match=LATE.format("a value read on the host inside a compiled function")):
        loss_value(z, _labels(BAD, deferred))


def test_numpy_compiled_evaluation_refuses_a_negative_label_in_a_replay():
    @xgrad.compile(warmup=0)
    def evaluate(z, y):
        with xgrad.no_grad():
            return F.cross_entropy(z, y)

    z = _logits("numpy", requires_grad=False)
    evaluate(z, _labels(GOOD, "numpy"))
    with pytest.raises(xgrad.InputError, match=r"got labels from -1 to 2$"):
        evaluate(z, _labels([0, -1, 2, 1], "numpy"))  # indexing would wrap -1 around without a word


def test_a_compiled_step_takes_ignored_labels_and_refuses_bad_ones_in_later_batches_as_eager(backend):
    """A replay whose label check fails runs the step again eagerly: an ignore_index label (-100) that
    the trace never saw gives eager's loss, a label out of range eager's error; never a different number."""
    z = xgrad.tensor(np.random.default_rng(2).normal(size=(4, 3)), backend=backend)
    step = xgrad.compile(lambda a, y: F.cross_entropy(a, y), warmup=0)
    for labels in ([0, 1, 2, 1], [0, 1, 2, 1], [0, 1, 2, -100], [0, 1, 2, 1], [2, -100, -100, 0], [0, 1, 2, 1]):
        y = xgrad.tensor(labels, backend=backend)
        assert float(step(z, y)) == float(F.cross_entropy(z, y)), labels
    for bad in ([0, 1, 3, 1], [0, -1, 2, 1]):
        with pytest.raises(xgrad.InputError, match="class labels must lie in"):
            step(z, xgrad.tensor(bad, backend=backend))
    assert float(step(z, xgrad.tensor([0, 1, 2, 1], backend=backend))) == \
        float(F.cross_entropy(z, xgrad.tensor([0, 1, 2, 1], backend=backend)))


@pytest.mark.gpu
@pytest.mark.filterwarnings("ignore:cupyx.allow_synchronize")  # deprecated by CuPy, still what detects a sync
def test_a_gpu_step_never_waits_for_the_device():
    cupyx = pytest.importorskip("cupyx", reason="CuPy is not installed: the GPU check needs it")
    status = xgrad.available_backends().get("cupy")
    if status is not None:
        pytest.skip(f"cupy backend unavailable here (no GPU?): {status}")
    if not hasattr(cupyx, "allow_synchronize"):
        pytest.skip("this CuPy has no cupyx.allow_synchronize to detect a host synchronisation with")
    x = _logits("cupy", requires_grad=False)
    good, bad = _labels(GOOD, "cupy"), _labels(BAD, "cupy")
    _, eager = _train_step("cupy")
    _, compiled = _train_step("cupy")
    compiled = xgrad.compile(compiled)
    checks.pending.clear()
    with cupyx.allow_synchronize(False):  # a host synchronisation in a step raises here
        losses = [eager(x, good), eager(x, bad)] + [compiled(x, good) for _ in range(3)] + [compiled(x, bad)]
    with pytest.raises(xgrad.InputError, match=LATE.format(r"\.item\(\)")):
        losses[0].item()
    values = [loss.item() for loss in losses[2:5]]
    assert values == sorted(values, reverse=True)


def test_fit_reads_values_once_per_epoch_and_raises_there(deferred, monkeypatch):
    X = _logits(deferred, requires_grad=False)
    xgrad.manual_seed(0)
    model = nn.Linear(3, 3, backend=deferred, dtype="float64")
    reads = []
    real = checks.raise_pending

    def counting(where, keep=False):
        reads.append(where)
        real(where, keep)

    monkeypatch.setattr(checks, "raise_pending", counting)
    training.fit(model, X, _labels(GOOD, deferred), optim.SGD(model.parameters(), lr=0.1), epochs=3, batch_size=2)
    assert reads == ["the end of epoch 1 in fit", "the end of epoch 2 in fit", "the end of epoch 3 in fit",
                     "float()"]  # two steps an epoch, then the final evaluation
    with pytest.raises(xgrad.InputError, match=r"from 1 to 5 \(raised at the end of epoch 1 in fit: "):  # batch [5, 1]
        training.fit(model, X, _labels(BAD, deferred), optim.SGD(model.parameters(), lr=0.1), epochs=3,
                     batch_size=2, shuffle=False)


def test_one_hot_and_embedding_indices_are_checked_on_the_device_too(deferred):
    bad = _labels(BAD, deferred)
    hot = F.one_hot(bad, num_classes=3)  # no error yet; the indices were clipped, nothing read out of bounds
    assert tuple(hot.shape) == (4, 3)
    with pytest.raises(xgrad.LabelError, match=r"xgrad.nn.functional.one_hot: indices must lie in \[0, 3\) "
                                               r"\(num_classes=3\); got values from 0 to 5 \(raised at "
                                               r"xgrad.check_pending\(\)"):
        xgrad.check_pending()
    weight = xgrad.tensor(np.ones((3, 2)), backend=deferred, requires_grad=True)
    rows = F.embedding(bad, weight)
    with pytest.raises(xgrad.LabelError, match=r"nn.functional.embedding: indices must lie in \[0, 3\) \(3 "
                                               r"embeddings\); got values from 0 to 5 \(raised at \.item\(\)"):
        rows.sum().item()
    assert checks.pending == []


def test_a_deferred_failure_numpy_swallows_at_float_is_raised_at_its_fallback(deferred):
    # np.float64(t) calls float(t), catches its error and reads the values through __array__ instead
    loss = F.cross_entropy(_logits(deferred, requires_grad=False), _labels(BAD, deferred))
    with pytest.raises(xgrad.LabelError, match="got labels from 0 to 5"):
        np.float64(loss)
    assert checks.pending == []


def test_all_ignored_labels_give_zero_gradients_when_checked_on_the_device(deferred):
    z = _logits(deferred)
    loss = F.cross_entropy(z, _labels([-100] * 4, deferred), ignore_index=-100)
    loss.backward()
    np.testing.assert_array_equal(z.grad.detach().numpy(), np.zeros((4, 3)))
