"""Grad mode is per thread: models trained in several threads, beside an evaluator under no_grad, end
exactly where their single-threaded runs end."""

import threading

import numpy as np
import pytest

import xgrad
from xgrad import nn, optim
from xgrad.nn import functional as F


def _problem(seed):
    rng = np.random.default_rng(seed)
    X = xgrad.tensor(rng.normal(size=(32, 2)), dtype="float64")
    y = xgrad.tensor(rng.integers(0, 2, 32))
    xgrad.manual_seed(seed)
    model = nn.MLP([2, 8, 2], activation="tanh", dtype="float64")
    return model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9), X, y


def _train(model, opt, X, y, steps, errors):
    try:
        for _ in range(steps):
            loss = F.cross_entropy(model(X), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    except Exception as e:  # reported by the test, not lost in the thread
        errors.append(e)


def _weights(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_four_trainers_and_a_no_grad_evaluator_match_their_single_threaded_runs():
    steps = 300
    expected = []
    for seed in range(4):
        model, opt, X, y = _problem(seed)
        _train(model, opt, X, y, steps, [])
        expected.append(_weights(model))

    runs = [_problem(seed) for seed in range(4)]
    errors, stop = [], threading.Event()

    def evaluate():
        model, _, X, _ = _problem(99)
        while not stop.is_set():
            with xgrad.no_grad():
                out = model(X)
            if out.requires_grad:
                errors.append(AssertionError("a no_grad forward recorded a graph"))

    evaluator = threading.Thread(target=evaluate)
    trainers = [threading.Thread(target=_train, args=(*run, steps, errors)) for run in runs]
    evaluator.start()
    for t in trainers:
        t.start()
    for t in trainers:
        t.join()
    stop.set()
    evaluator.join()
    assert errors == []
    for (model, *_), want in zip(runs, expected):
        for got, w in zip(_weights(model), want):
            np.testing.assert_allclose(got, w, rtol=0, atol=1e-12)


def test_grad_mode_is_per_thread_and_restored_exactly():
    seen = {}
    entered, release = threading.Event(), threading.Event()

    def other():
        with xgrad.no_grad():
            entered.set()
            release.wait(10)
        seen["after"] = xgrad.is_grad_enabled()

    t = threading.Thread(target=other)
    t.start()
    entered.wait(10)
    assert xgrad.is_grad_enabled()  # the other thread's no_grad is its own
    w = xgrad.tensor([1.0], requires_grad=True)
    assert (w * 2.0).requires_grad
    release.set()
    t.join()
    assert seen["after"] is True


def test_one_no_grad_object_entered_in_two_threads_restores_each():
    ng = xgrad.no_grad()
    inside, release = threading.Barrier(2), threading.Event()
    results = []

    def worker(start_enabled):
        with (xgrad.enable_grad() if start_enabled else xgrad.no_grad()):
            with ng:
                inside.wait(10)
                release.wait(10)
            results.append((start_enabled, xgrad.is_grad_enabled()))

    threads = [threading.Thread(target=worker, args=(flag,)) for flag in (True, False)]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join()
    assert sorted(results) == [(False, False), (True, True)]


def test_backward_leaves_other_threads_recording():
    w = xgrad.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    recorded = []
    go = threading.Event()

    def other():
        go.wait(10)
        for _ in range(200):
            recorded.append((w * 3.0).requires_grad)

    t = threading.Thread(target=other)
    t.start()
    go.set()
    for _ in range(200):
        w.grad = None
        xgrad.sum(xgrad.tanh(w * w)).backward()
    t.join()
    assert all(recorded) and len(recorded) == 200


@pytest.mark.parametrize("n", [3])
def test_decorated_functions_use_their_own_mode(n):
    @xgrad.no_grad()
    def f(x):
        return x * 2.0, xgrad.is_grad_enabled()

    w = xgrad.tensor([1.0], requires_grad=True)
    for _ in range(n):
        out, enabled = f(w)
        assert not out.requires_grad and not enabled and xgrad.is_grad_enabled()
