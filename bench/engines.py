"""The engines a benchmark case runs on: a registry, so torch.compile, xgrad.compile or another peer is
one more entry.

Each engine turns the host NumPy inputs of a case (``cases.make_data``) into its own arrays and returns a
``Case``: ``call()`` is the timed unit (forward + backward, and the SGD update for a training step; on a
GPU it ends with a device synchronize) and ``result()`` reads the gradients (or updated parameters) back
as NumPy arrays so engines can be checked against each other.

Roles: ``xgrad`` (the engine under test), ``torch`` (the peer the crossover is computed against),
``floor`` (the raw array library with hand-derived gradients, no autograd), ``peer`` (anything else).
"""

import os
from dataclasses import dataclass, field


@dataclass
class Case:
    call: callable
    result: callable


@dataclass
class Engine:
    name: str
    device: str          # "cpu" or "gpu": which suite (marker) it belongs to
    role: str            # "xgrad", "torch", "floor" or "peer"
    library: str         # the array library underneath, for the report
    factory: callable = field(repr=False)  # () -> implementation with build(op, data)
    ops: tuple = None    # None: every op kind
    _impl: object = field(default=None, repr=False)
    _reason: str = field(default=None, repr=False)

    def unavailable(self):
        """None when the engine can run here, else why not (the skip reason)."""
        self._load()
        return self._reason

    def build(self, op, data):
        self._load()
        return self._impl.build(op, data)

    def _load(self):
        if self._impl is None and self._reason is None:
            try:
                self._impl = self.factory()
            except Unavailable as e:
                self._reason = f"{self.name}: {e}"


class Unavailable(Exception):
    pass


# ---------------------------------------------------------------------------------------------------
# What xgrad and PyTorch eager share: single ops timed as forward + backward through autograd
class AutogradEngine:
    def build(self, op, d):
        """One op's timed forward + backward from a fixed upstream gradient (the same for both
        autograd engines; subclasses supply _t, _np, _tanh, _sum_axis1, _cross_entropy, _mlp)."""
        sync = self.sync
        if op == "mlp_step":
            return self._mlp(d)
        if op == "cnn_epoch":
            return self._cnn(d)
        if op == "tanh":
            x, g = self._t(d["x"], True), self._t(d["g"])
            ins, fn = (x,), lambda: self._tanh(x)
        elif op == "bias_add":
            x, b, g = self._t(d["x"], True), self._t(d["b"], True), self._t(d["g"])
            ins, fn = (x, b), lambda: x + b
        elif op == "matmul":
            a, b, g = self._t(d["a"], True), self._t(d["b"], True), self._t(d["g"])
            ins, fn = (a, b), lambda: a @ b
        elif op == "sum_axis":
            x, g = self._t(d["x"], True), self._t(d["g"])
            ins, fn = (x,), lambda: self._sum_axis1(x)
        elif op == "cross_entropy":
            z, y = self._t(d["z"], True), self._t(d["y"])
            ins, g = (z,), None
            fn = lambda: self._cross_entropy(z, y)  # noqa: E731
        elif op == "conv2d":
            x, w, b, g = self._t(d["x"], True), self._t(d["w"], True), self._t(d["b"], True), self._t(d["g"])
            ins, fn = (x, w, b), lambda: self._conv2d(x, w, b)
        else:
            raise KeyError(op)

        def call():
            for t in ins:
                t.grad = None
            fn().backward(g)
            sync()

        return Case(call, lambda: [self._np(t.grad) for t in ins])


# ---------------------------------------------------------------------------------------------------
# xgrad
class XgradEngine(AutogradEngine):
    def __init__(self, backend, compiled=False, cuda_graph=False):
        import xgrad
        import xgrad.nn.functional  # noqa: F401  (xgrad/__init__ does not import nn)

        try:
            self.b = xgrad.get_backend(backend)
        except xgrad.BackendUnavailableError as e:
            raise Unavailable(str(e).split(". ")[0]) from e
        self.xgrad = xgrad
        self.F = xgrad.nn.functional
        self.compiled = compiled
        self.cuda_graph = cuda_graph  # xgrad.compile(cuda_graph=True): the compiled step recorded as a CUDA graph
        self.sync = self.b.synchronize
        self.backend = backend

    def _t(self, a, grad=False):
        return self.xgrad.tensor(self.b.asarray(a.copy()), requires_grad=grad, backend=self.backend)

    def _np(self, t):
        return self.b.to_numpy(t.data)

    def _tanh(self, x):
        return self.xgrad.tanh(x)

    def _sum_axis1(self, x):
        return self.xgrad.sum(x, axis=1)

    def _cross_entropy(self, z, y):
        return self.F.cross_entropy(z, y)

    def _conv2d(self, x, w, b):
        return self.F.conv2d(x, w, b, padding=1)

    def _mlp(self, d):
        xg, F, sync = self.xgrad, self.F, self.sync
        x, y, lr = self._t(d["x"]), self._t(d["y"]), d["lr"]
        # weights stored (out, in) as nn.Linear stores them; each layer is one fused linear op
        layers = [(self._t(W.T, True), self._t(b, True)) for W, b in zip(d["Ws"], d["bs"])]
        params = [p for layer in layers for p in layer]
        last = len(layers) - 1

        def step(x, y):
            for p in params:
                p.grad = None
            h = x
            for i, (W, b) in enumerate(layers):
                h = F.linear(h, W, b)
                if i < last:
                    h = xg.tanh(h)
            loss = F.cross_entropy(h, y)
            loss.backward()
            with xg.no_grad():
                for p in params:
                    p.data -= lr * p.grad.data
            return loss

        if self.compiled:  # xgrad.compile: trace once, replay on arrays
            step = xg.compile(step, cuda_graph=self.cuda_graph or None)

        def call():
            step(x, y)
            sync()

        return Case(call, lambda: [a for W, b in layers for a in (self._np(W).T, self._np(b))])


    def _cnn(self, d):
        """An epoch of the digits CNN as a user writes it: models.CNN, Adam, cross-entropy, batches
        gathered from the data by a fixed order (the same batches as torch's)."""
        xg, F, sync = self.xgrad, self.F, self.sync
        from xgrad.models import CNN

        model = CNN(dropout=d["dropout"], backend=self.backend, dtype=str(d["x"].dtype))
        model.load_state_dict({"conv1.weight": d["w1"], "conv2.weight": d["w2"], "fc.weight": d["fc_w"],
                               "fc.bias": d["fc_b"]}, strict=False)
        X, Y = self._t(d["x"]), self._t(d["y"])
        order, B = d["order"], d["batch"]
        batches = [self._t(order[i:i + B]) for i in range(0, len(order), B)]
        opt = xg.optim.Adam(model.parameters(), lr=d["lr"])

        def step(xb, yb):
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            return loss

        if self.compiled:
            step = xg.compile(step)

        def call():
            model.train()
            for idx in batches:
                step(xg.take(X, idx, axis=0), xg.take(Y, idx, axis=0))
            sync()

        return Case(call, lambda: [self._np(p) for p in model.parameters()])

# ---------------------------------------------------------------------------------------------------
# PyTorch eager
class TorchEngine(AutogradEngine):
    def __init__(self, device):
        try:
            import torch
        except ImportError as e:
            raise Unavailable("PyTorch is not installed (pip install torch)") from e
        if device == "cuda" and not torch.cuda.is_available():
            raise Unavailable("PyTorch has no CUDA device here (CPU-only build or no GPU)")
        self.torch = torch
        self.device = device
        self.sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def _t(self, a, grad=False):
        t = self.torch.from_numpy(a.copy()).to(self.device)
        return t.requires_grad_(True) if grad else t

    @staticmethod
    def _np(t):
        return t.detach().cpu().numpy()

    def _tanh(self, x):
        return self.torch.tanh(x)

    def _sum_axis1(self, x):
        return self.torch.sum(x, dim=1)

    def _cross_entropy(self, z, y):
        return self.torch.nn.functional.cross_entropy(z, y)

    def _conv2d(self, x, w, b):
        return self.torch.nn.functional.conv2d(x, w, b, padding=1)

    def _mlp_parts(self, d):
        """The reference MLP as a PyTorch user writes it (nn.Sequential of Linear and Tanh, SGD) on the
        case's weights: (model, optimizer, x, y, loss function, result reader)."""
        torch, nn = self.torch, self.torch.nn
        x, y = self._t(d["x"]), self._t(d["y"])
        mods = []
        for i, (W, b) in enumerate(zip(d["Ws"], d["bs"])):
            lin = nn.Linear(W.shape[0], W.shape[1], dtype=getattr(torch, str(W.dtype)), device=self.device)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            mods.append(lin)
            if i < len(d["Ws"]) - 1:
                mods.append(nn.Tanh())
        model = nn.Sequential(*mods)
        opt = torch.optim.SGD(model.parameters(), lr=d["lr"])

        def result():
            return [a for m in mods if isinstance(m, nn.Linear) for a in (self._np(m.weight).T, self._np(m.bias))]

        return model, opt, x, y, nn.functional.cross_entropy, result

    def _mlp(self, d):
        model, opt, x, y, loss_fn, result = self._mlp_parts(d)
        sync = self.sync

        def call():
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            sync()

        return Case(call, result)


    def _cnn(self, d):
        """The digits CNN as a PyTorch user writes it (nn.Sequential, Adam with its defaults), on the
        same weights and batches as xgrad's."""
        torch, sync = self.torch, self.sync
        nn = torch.nn
        dt = getattr(torch, str(d["x"].dtype))
        model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(d["dropout"]),
                              nn.Linear(128, 10)).to(device=self.device, dtype=dt)
        with torch.no_grad():
            for i, key in ((0, "w1"), (4, "w2")):
                model[i].weight.copy_(torch.from_numpy(d[key]))
            model[10].weight.copy_(torch.from_numpy(d["fc_w"]))
            model[10].bias.copy_(torch.from_numpy(d["fc_b"]))
        X, Y = self._t(d["x"]), self._t(d["y"])
        order, B = d["order"], d["batch"]
        batches = [self._t(order[i:i + B]) for i in range(0, len(order), B)]
        opt = torch.optim.Adam(model.parameters(), lr=d["lr"])
        loss_fn = nn.functional.cross_entropy

        def call():
            model.train()
            for idx in batches:
                opt.zero_grad()
                loss = loss_fn(model(X[idx]), Y[idx])
                loss.backward()
                opt.step()
            sync()

        return Case(call, lambda: [self._np(p) for p in model.parameters()])

class _TorchPeakEngine(TorchEngine):
    """PyTorch at its fastest for a small training step, on CUDA (the reference MLP step only)."""

    def __init__(self):
        super().__init__("cuda")

    @staticmethod
    def _step(model, opt, loss_fn, x, y):
        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return step

    def _warmed(self, model, run, times=3, side=True):
        """Call ``run`` a few times (on a side stream, as PyTorch's CUDA-graph docs do before a capture;
        torch.compile's graphs warm up on the current one), then put the weights back: the timed calls
        start from the case's weights, as every engine's do."""
        torch = self.torch
        saved = [p.detach().clone() for p in model.parameters()]
        stream = torch.cuda.Stream() if side else torch.cuda.current_stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(times):
                run()
        torch.cuda.current_stream().wait_stream(stream)
        with torch.no_grad():
            for p, v in zip(model.parameters(), saved):
                p.copy_(v)
        torch.cuda.synchronize()


class TorchCudaGraphEngine(_TorchPeakEngine):
    """The whole step (forward, backward, SGD update) captured once in a ``torch.cuda.CUDAGraph`` and
    replayed, PyTorch's "whole-network capture". The graph reads its batch from static buffers: each
    call copies the batch in, as a training loop does (xgrad's graph copies its arguments the same way)."""

    def build(self, op, d):
        torch = self.torch
        model, opt, x, y, loss_fn, result = self._mlp_parts(d)
        sx, sy = x.clone(), y.clone()
        self._warmed(model, self._step(model, opt, loss_fn, sx, sy))
        graph = torch.cuda.CUDAGraph()
        opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph):
            step_loss = loss_fn(model(sx), sy)
            step_loss.backward()
            opt.step()

        def call():
            sx.copy_(x)
            sy.copy_(y)
            graph.replay()
            torch.cuda.synchronize()

        return Case(call, result)


class TorchCompileEngine(_TorchPeakEngine):
    """The step through ``torch.compile(mode="reduce-overhead")`` (Inductor kernels replayed as CUDA
    graphs); compiled in ``build``, outside the timing."""

    def build(self, op, d):
        torch = self.torch
        model, opt, x, y, loss_fn, result = self._mlp_parts(d)
        compiled = torch.compile(self._step(model, opt, loss_fn, x, y), mode="reduce-overhead")
        try:
            self._warmed(model, compiled, times=4, side=False)
        except Exception as e:  # no Triton, an unsupported GPU, ...: the case is skipped with the reason
            raise Unavailable(f"torch.compile(mode='reduce-overhead') failed here: {type(e).__name__}: {e}") from e

        def call():
            compiled()
            torch.cuda.synchronize()

        return Case(call, result)

# ---------------------------------------------------------------------------------------------------
# The floor: the raw array library, the same math, gradients derived by hand, no autograd
class FloorEngine:
    def __init__(self, library):
        if library == "numpy":
            import numpy as xp

            self.sync = lambda: None
            self.to_np = xp.asarray
        else:
            try:
                import cupy as xp

                if xp.cuda.runtime.getDeviceCount() == 0:
                    raise Unavailable("no NVIDIA GPU is visible to CuPy")
            except ImportError as e:
                raise Unavailable("CuPy is not installed (pip install cupy-cuda12x or cupy-cuda13x)") from e
            except xp.cuda.runtime.CUDARuntimeError as e:
                raise Unavailable(f"CuPy cannot use CUDA here ({e})") from e
            self.sync = xp.cuda.get_current_stream().synchronize
            self.to_np = xp.asnumpy
        self.xp = xp

    def build(self, op, d):
        xp, sync = self.xp, self.sync
        d = {k: (xp.array(v, copy=True) if hasattr(v, "shape") else v) for k, v in d.items()}
        out = {}
        if op == "tanh":
            x, g = d["x"], d["g"]

            def call():
                y = xp.tanh(x)
                out["x"] = g * (1 - y * y)
                sync()
            names = ("x",)
        elif op == "bias_add":
            x, b, g = d["x"], d["b"], d["g"]

            def call():
                y = x + b  # noqa: F841  (the forward is part of the timed unit)
                out["x"] = g
                out["b"] = xp.sum(g, axis=0)
                sync()
            names = ("x", "b")
        elif op == "matmul":
            a, b, g = d["a"], d["b"], d["g"]

            def call():
                y = a @ b  # noqa: F841
                out["a"] = g @ b.T
                out["b"] = a.T @ g
                sync()
            names = ("a", "b")
        elif op == "sum_axis":
            x, g = d["x"], d["g"]

            def call():
                y = xp.sum(x, axis=1)  # noqa: F841
                out["x"] = xp.broadcast_to(g[:, None], x.shape)
                sync()
            names = ("x",)
        elif op == "cross_entropy":
            z, y = d["z"], d["y"]
            n = z.shape[0]
            rows = xp.arange(n)

            def call():
                m = xp.max(z, axis=1, keepdims=True)
                s = z - m
                e = xp.exp(s)
                se = xp.sum(e, axis=1, keepdims=True)
                loss = xp.mean(xp.log(se[:, 0]) - s[rows, y])  # noqa: F841
                p = e / se
                p[rows, y] -= 1
                p /= n
                out["z"] = p
                sync()
            names = ("z",)
        elif op == "mlp_step":
            return self._mlp(d)
        elif op == "conv2d":
            x, w, b, g = d["x"], d["w"], d["b"], d["g"]
            n, c, h, wd = x.shape
            o = w.shape[0]
            taps = [(i, j) for i in range(3) for j in range(3)]

            def call():  # im2col by the nine shifted views of the zero-padded input, one matmul each way
                xp_ = xp.zeros((n, c, h + 2, wd + 2), dtype=x.dtype)
                xp_[:, :, 1:-1, 1:-1] = x
                cols = xp.stack([xp_[:, :, i:i + h, j:j + wd] for i, j in taps], axis=2).reshape(n, c * 9, h * wd)
                y = (w.reshape(o, c * 9) @ cols).reshape(n, o, h, wd) + b[:, None, None]  # noqa: F841
                g3 = g.reshape(n, o, h * wd)
                out["w"] = xp.tensordot(g3, cols, axes=([0, 2], [0, 2])).reshape(w.shape)
                out["b"] = g.sum(axis=(0, 2, 3))
                gcols = (w.reshape(o, c * 9).T @ g3).reshape(n, c, 9, h, wd)
                gx = xp.zeros_like(xp_)
                for t, (i, j) in enumerate(taps):
                    gx[:, :, i:i + h, j:j + wd] += gcols[:, :, t]
                out["x"] = gx[:, :, 1:-1, 1:-1]
                sync()
            names = ("x", "w", "b")
        else:
            raise KeyError(op)
        return Case(call, lambda: [self.to_np(out[k]) for k in names])

    def _mlp(self, d):
        xp, sync = self.xp, self.sync
        x, y, lr = d["x"], d["y"], d["lr"]
        Ws, bs = [xp.array(W, copy=True) for W in d["Ws"]], [xp.array(b, copy=True) for b in d["bs"]]
        B = x.shape[0]
        rows = xp.arange(B)
        L = len(Ws)

        def call():
            hs = [x]
            h = x
            for i in range(L):
                z = h @ Ws[i] + bs[i]
                if i < L - 1:
                    h = xp.tanh(z)
                    hs.append(h)
            m = xp.max(z, axis=1, keepdims=True)
            s = z - m
            e = xp.exp(s)
            se = xp.sum(e, axis=1, keepdims=True)
            loss = xp.mean(xp.log(se[:, 0]) - s[rows, y])  # noqa: F841
            dz = e / se
            dz[rows, y] -= 1
            dz /= B
            for i in range(L - 1, -1, -1):
                gW = hs[i].T @ dz
                gb = xp.sum(dz, axis=0)
                if i > 0:
                    dh = dz @ Ws[i].T
                    dz = dh * (1 - hs[i] * hs[i])
                Ws[i] -= lr * gW
                bs[i] -= lr * gb
            sync()

        def result():
            out = []
            for W, b in zip(Ws, bs):
                out += [self.to_np(W), self.to_np(b)]
            return out

        return Case(call, result)


# ---------------------------------------------------------------------------------------------------
# The NumPy floor, written as tight as we can: every buffer allocated once outside the timed call, ufuncs
# with out=, np.dot into preallocated C-contiguous arrays, the ufunc reductions (np.add.reduce) without
# np.sum's Python layer, label picking by flat indices, and for the training step the SGD learning rate
# folded into the loss gradient (the backward is linear in it), so each update is one subtraction.
# Same math as FloorEngine (bench/test_agreement.py checks the results); 0.6-0.8x its time per step.
class NumpyFloorEngine(FloorEngine):
    def __init__(self):
        super().__init__("numpy")

    def build(self, op, d):
        np = self.xp
        d = {k: (np.array(v, copy=True) if hasattr(v, "shape") else v) for k, v in d.items()}
        out = {}
        if op == "tanh":
            x, g = d["x"], d["g"]
            y, t, gx = np.empty_like(x), np.empty_like(x), np.empty_like(x)

            def call():
                np.tanh(x, out=y)
                np.multiply(y, y, out=t)
                np.subtract(1, t, out=t)
                out["x"] = np.multiply(g, t, out=gx)
            names = ("x",)
        elif op == "bias_add":
            x, b, g = d["x"], d["b"], d["g"]
            y, gb = np.empty_like(x), np.empty_like(b)

            def call():
                np.add(x, b, out=y)
                out["x"] = g
                out["b"] = np.add.reduce(g, axis=0, out=gb)
            names = ("x", "b")
        elif op == "matmul":
            a, b, g = d["a"], d["b"], d["g"]
            y, ga, gb = np.empty_like(g), np.empty_like(a), np.empty_like(b)

            def call():
                np.dot(a, b, out=y)
                out["a"] = np.dot(g, b.T, out=ga)
                out["b"] = np.dot(a.T, g, out=gb)
            names = ("a", "b")
        elif op == "sum_axis":
            x, g = d["x"], d["g"]
            y = np.empty_like(g)

            def call():
                np.add.reduce(x, axis=1, out=y)
                out["x"] = np.broadcast_to(g[:, None], x.shape)
            names = ("x",)
        elif op == "cross_entropy":
            z, y = d["z"], d["y"]
            n, c = z.shape
            flat0, flat = np.arange(n) * c, np.empty(n, np.intp)
            m, se = np.empty((n, 1), z.dtype), np.empty((n, 1), z.dtype)
            s, p = np.empty_like(z), np.empty_like(z)

            def call():
                np.maximum.reduce(z, axis=1, keepdims=True, out=m)
                np.subtract(z, m, out=s)
                np.add(flat0, y, out=flat)
                np.exp(s, out=p)
                np.add.reduce(p, axis=1, keepdims=True, out=se)
                out["loss"] = (np.log(se).sum() - s.take(flat).sum()) / n
                np.multiply(se, n, out=se)
                np.divide(p, se, out=p)
                p.ravel()[flat] -= 1 / n
                out["z"] = p
            names = ("z",)
        elif op == "mlp_step":
            return self._mlp(d)
        elif op == "conv2d" and 3 * d["x"].shape[1] > d["x"].shape[3]:
            return self._conv2d_channels_last(d)
        elif op == "conv2d":  # 3x3, padding 1: im2col by one strided window view, one matmul each way
            x, w, b, g = d["x"], d["w"], d["b"], d["g"]
            n, c, h, wd = x.shape
            o = w.shape[0]
            xpad, gxpad = np.zeros((n, c, h + 2, wd + 2), x.dtype), np.zeros((n, c, h + 2, wd + 2), x.dtype)
            cols = np.empty((n, c, 3, 3, h, wd), x.dtype)
            w2 = w.reshape(o, c * 9)
            w2t = np.ascontiguousarray(w2.T)
            g3 = g.reshape(n, o, h * wd)
            windows = np.lib.stride_tricks.sliding_window_view(xpad, (3, 3), axis=(2, 3))  # a view of xpad

            def call():
                xpad[:, :, 1:-1, 1:-1] = x
                np.copyto(cols, windows.transpose(0, 1, 4, 5, 2, 3))
                c2 = cols.reshape(n, c * 9, h * wd)
                y = np.matmul(w2, c2).reshape(n, o, h, wd)
                y += b[:, None, None]
                out["w"] = np.tensordot(g3, c2, axes=([0, 2], [0, 2])).reshape(w.shape)
                out["b"] = np.add.reduce(g, axis=(0, 2, 3))
                gcols = np.matmul(w2t, g3).reshape(n, c, 3, 3, h, wd)
                gxpad.fill(0)
                for i in range(3):
                    for j in range(3):
                        gxpad[:, :, i:i + h, j:j + wd] += gcols[:, :, i, j]
                out["x"] = gxpad[:, :, 1:-1, 1:-1]
            names = ("x", "w", "b")
        else:
            raise KeyError(op)
        return Case(call, lambda: [np.array(out[k]) for k in names])

    def _conv2d_channels_last(self, d):
        """conv2d with many channels on small images (3*C > W: xgrad's NumPy layout choice too): the
        columns (N*H*W, 9*C) copied from a padded NHWC buffer in runs of 3*C, one matmul each way, the
        nine taps of dx as one batched matmul into contiguous blocks; every buffer preallocated."""
        np = self.xp
        x, w, b, g = d["x"], d["w"], d["b"], d["g"]
        n, c, h, wd = x.shape
        o, m = w.shape[0], n * h * wd
        dt = x.dtype
        xpad, gxpad = np.zeros((n, h + 2, wd + 2, c), dt), np.zeros((n, h + 2, wd + 2, c), dt)
        cols = np.empty((n, h, wd, 3, 3, c), dt)
        cols2 = cols.reshape(m, 9 * c)
        windows = np.lib.stride_tricks.sliding_window_view(xpad, (3, 3), axis=(1, 2)).transpose(0, 1, 2, 4, 5, 3)
        wm = np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(9 * c, o))  # (9C, O): taps major
        wtaps = np.ascontiguousarray(w.transpose(2, 3, 0, 1).reshape(9, o, c))
        y2, g2 = np.empty((m, o), dt), np.empty((n, h, wd, o), dt)
        g2m = g2.reshape(m, o)
        taps = np.empty((9, m, c), dt)
        out = {}

        def call():
            xpad[:, 1:-1, 1:-1, :] = x.transpose(0, 2, 3, 1)
            np.copyto(cols, windows)
            np.matmul(cols2, wm, out=y2)
            np.add(y2, b, out=y2)  # the forward's output is y2 (N, H, W, O): part of the timed unit
            np.copyto(g2, g.transpose(0, 2, 3, 1))
            out["w"] = (g2m.T @ cols2).reshape(o, 3, 3, c).transpose(0, 3, 1, 2)
            out["b"] = np.add.reduce(g2m, axis=0)
            np.matmul(g2m, wtaps, out=taps)
            gxpad.fill(0)
            for t in range(9):
                i, j = divmod(t, 3)
                gxpad[:, i:i + h, j:j + wd, :] += taps[t].reshape(n, h, wd, c)
            out["x"] = gxpad[:, 1:-1, 1:-1, :].transpose(0, 3, 1, 2)
        return Case(call, lambda: [np.array(out[k]) for k in ("x", "w", "b")])

    def _mlp(self, d):
        np = self.xp
        x, y, lr = d["x"], d["y"], d["lr"]
        Ws, bs = [np.array(W, copy=True) for W in d["Ws"]], [np.array(b, copy=True) for b in d["bs"]]
        dt, B, L = x.dtype, x.shape[0], len(Ws)
        widths = [W.shape[1] for W in Ws]
        C = widths[-1]
        H = [x] + [np.empty((B, w), dt) for w in widths[:-1]]  # each layer's input (tanh written in place)
        Z = np.empty((B, C), dt)
        m, se = np.empty((B, 1), dt), np.empty((B, 1), dt)
        DZ = [np.empty((B, w), dt) for w in widths]  # lr * dloss/d(pre-activation) of each layer
        T = [np.empty((B, w), dt) for w in widths[:-1]]
        GW, GB = [np.empty_like(W) for W in Ws], [np.empty_like(b) for b in bs]
        flat0, flat = np.arange(B) * C, np.empty(B, np.intp)
        scale = lr / B
        dot, add, sub, mul = np.dot, np.add, np.subtract, np.multiply
        addr = np.add.reduce
        out = {}

        def call():
            for i in range(L - 1):
                h = H[i + 1]
                dot(H[i], Ws[i], out=h)
                add(h, bs[i], out=h)
                np.tanh(h, out=h)
            dot(H[L - 1], Ws[L - 1], out=Z)
            add(Z, bs[L - 1], out=Z)
            # cross-entropy: mean of log(sum(exp(z - max))) - (z - max)[label]
            np.maximum.reduce(Z, axis=1, keepdims=True, out=m)
            sub(Z, m, out=Z)
            add(flat0, y, out=flat)
            e = DZ[L - 1]
            np.exp(Z, out=e)
            addr(e, axis=1, keepdims=True, out=se)
            out["loss"] = (np.log(se).sum() - Z.take(flat).sum()) / B
            # lr * dloss/dz = lr * (softmax - onehot) / B
            mul(se, 1 / scale, out=se)
            np.divide(e, se, out=e)
            e.ravel()[flat] -= scale
            for i in range(L - 1, -1, -1):
                dz = DZ[i]
                dot(H[i].T, dz, out=GW[i])
                addr(dz, axis=0, out=GB[i])
                if i:  # through tanh: dh * (1 - h^2), with the weights before their update
                    dh, t, h = DZ[i - 1], T[i - 1], H[i]
                    dot(dz, Ws[i].T, out=dh)
                    mul(h, h, out=t)
                    sub(1, t, out=t)
                    mul(dh, t, out=dh)
                sub(Ws[i], GW[i], out=Ws[i])
                sub(bs[i], GB[i], out=bs[i])

        return Case(call, lambda: [np.array(a) for W, b in zip(Ws, bs) for a in (W, b)])


# ---------------------------------------------------------------------------------------------------
# The registry. Add a peer with one entry, e.g.
#   register(Engine("torch-compile-cpu", "cpu", "peer", "torch", lambda: TorchCompileEngine("cpu")))
ENGINES = {}


def register(engine):
    ENGINES[engine.name] = engine
    return engine


register(Engine("xgrad-numpy", "cpu", "xgrad", "numpy", lambda: XgradEngine("numpy")))
register(Engine("torch-cpu", "cpu", "torch", "torch", lambda: TorchEngine("cpu")))
# the floors are hand-written single ops and the MLP step; a whole CNN epoch has none
FLOOR_OPS = ("tanh", "bias_add", "matmul", "sum_axis", "cross_entropy", "mlp_step", "conv2d")
register(Engine("numpy-floor", "cpu", "floor", "numpy", NumpyFloorEngine, ops=FLOOR_OPS))
register(Engine("xgrad-compiled-numpy", "cpu", "xgrad", "numpy",
                lambda: XgradEngine("numpy", compiled=True), ops=("mlp_step", "cnn_epoch")))
register(Engine("xgrad-cupy", "gpu", "xgrad", "cupy", lambda: XgradEngine("cupy")))
register(Engine("torch-cuda", "gpu", "torch", "torch", lambda: TorchEngine("cuda")))
register(Engine("cupy-floor", "gpu", "floor", "cupy", lambda: FloorEngine("cupy"), ops=FLOOR_OPS))
register(Engine("xgrad-compiled-cupy", "gpu", "xgrad", "cupy",
                lambda: XgradEngine("cupy", compiled=True), ops=("mlp_step", "cnn_epoch")))
# the compiled step recorded once as a CUDA graph (xgrad.compile(cuda_graph=True)), and PyTorch's fastest
# small steps, for the reference step and the step sweep
register(Engine("xgrad-compiled-graph-cupy", "gpu", "xgrad", "cupy",
                lambda: XgradEngine("cupy", compiled=True, cuda_graph=True), ops=("mlp_step",)))
register(Engine("torch-cuda-graph", "gpu", "peer", "torch", TorchCudaGraphEngine, ops=("mlp_step",)))
register(Engine("torch-compile-cuda", "gpu", "peer", "torch", TorchCompileEngine, ops=("mlp_step",)))


def selected():
    """The engines to run: all registered, or the comma-separated names in XGRAD_BENCH_ENGINES."""
    names = os.environ.get("XGRAD_BENCH_ENGINES", "").strip()
    if not names:
        return list(ENGINES.values())
    unknown = [n for n in names.split(",") if n not in ENGINES]
    if unknown:
        raise ValueError(f"XGRAD_BENCH_ENGINES names unknown engines {unknown}; known: {sorted(ENGINES)}")
    return [ENGINES[n] for n in names.split(",")]
