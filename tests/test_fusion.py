"""Elementwise fusion (xgrad/fusion.py, backends/fused.py, backends/cuda_source.py): which steps fuse on
hand-written tapes, the IR's interpreter against the unfused replay (bit for bit), the CUDA source of
the ElementwiseKernel (golden strings), and the wiring through xgrad.compile(fuse=...) and the CuPy
backend's kernel cache, all without a GPU (tests/test_fusion_gpu.py runs the kernels)."""

import operator

import numpy as np
import pytest

import xgrad
import xgrad.nn.functional as F
from xgrad.backends import cuda_source, fused, get_backend
from xgrad.backends.cupy import CupyBackend
from xgrad.backends.fused import Group, Node
from xgrad.fusion import classify, find_groups, fuse
from xgrad.passes import InPlace, emit
from xgrad.tracing import Entry, Slot

S = Slot
OPS = fused.tape_functions(get_backend("numpy").rule_namespace)


def op(fn, args, out):
    return Entry("op", fn, tuple(args), {}, S(out))


def call(fn, args, out, effect=False, **kw):
    return Entry("call", fn, tuple(args), kw, S(out), effect)


def values_for(shapes, dtype=np.float64):
    """Slot values: arrays of ``shapes`` (index = slot), bool where the shape is given as ("b", shape)."""
    rng = np.random.default_rng(0)
    out = []
    for s in shapes:
        if type(s) is tuple and s and s[0] == "b":
            out.append(rng.random(s[1]) < 0.5)
        else:
            out.append(rng.standard_normal(s).astype(dtype))
    return out


def tanh_vjp_tape():
    """v3 = g * (1 - out * out): out = v0, g = v1; v1, v2 scratch."""
    return [op(operator.mul, (S(0), S(0)), 2),
            op(operator.sub, (1, S(2)), 3),
            op(operator.mul, (S(1), S(3)), 4)]


# ---- classify: which steps may fuse -----------------------------------------------------------------

def test_arithmetic_on_one_float_dtype_with_python_scalars_fuses():
    v = values_for([(4, 3), (3,), (4, 3)])
    assert classify(op(operator.mul, (S(0), S(1)), 2), v, OPS) == ("multiply", "float64")
    assert classify(op(operator.sub, (1, S(0)), 2), v, OPS) == ("subtract", "float64")
    assert classify(call(np.tanh, (S(0),), 2), v, OPS) == ("tanh", "float64")


def test_comparisons_give_bool_and_where_takes_a_bool_condition():
    v = values_for([(4,), ("b", (4,)), (4,), (4,)])
    v[2] = v[0] > 0  # the comparison's result: bool
    assert classify(op(operator.gt, (S(0), 0), 2), v, OPS) == ("greater", "float64")
    where = get_backend("numpy").rule_namespace.where
    assert classify(call(where, (S(1), S(0), 0.0), 3), v, OPS) == ("where", "float64")
    assert classify(call(where, (S(0), S(0), S(3)), 3), v, OPS) is None  # a float condition
    assert classify(call(where, (S(1), 0.0, 1.0), 3), v, OPS) is None  # only scalars: their dtype is not the array's


def test_promotion_broadcast_to_a_larger_shape_keywords_and_effects_do_not_fuse():
    v = values_for([(3,), (3,), (2, 3), (3,)])
    v[1] = v[1].astype(np.float32)
    assert classify(op(operator.add, (S(0), S(1)), 3), v, OPS) is None  # float64 + float32
    assert classify(op(operator.add, (S(2), S(0)), 3), v, OPS) is None  # the (2, 3) input does not fit (3,)
    assert classify(call(np.exp, (S(0),), 3, dtype=None), v, OPS) is None  # a keyword
    assert classify(call(np.exp, (S(0),), 3, effect=True), v, OPS) is None
    assert classify(op(operator.add, (S(0), True), 3), v, OPS) is None  # a bool is no number here
    assert classify(op(operator.mul, (S(0), float("inf")), 3), v, OPS) is None  # no finite literal
    assert classify(op(operator.mul, (S(1), 1e300), 1), v, OPS) is None  # no float32 of that size
    assert classify(op(operator.mul, (S(1), 3e38), 1), v, OPS) == ("multiply", "float32")
    ints = values_for([(3,), (3,)])
    ints[0] = np.arange(3)
    assert classify(op(operator.add, (S(0), 1), 1), ints, OPS) is None  # integers are left alone
    assert classify(op(operator.matmul, (S(0), S(0)), 3), v, OPS) is None  # not elementwise


# ---- find_groups --------------------------------------------------------------------------------

def test_the_tanh_vjp_chain_is_one_group_with_its_ir():
    v = values_for([(4, 3)] * 5)
    (g,) = find_groups(tanh_vjp_tape(), v, roots={4}, ops=OPS)
    assert g == Group(steps=(0, 1, 2), inputs=((0, "float64"), (1, "float64")),
                      nodes=(Node("multiply", ("x0", "x0"), "float64"), Node("subtract", (1, "t0"), "float64"),
                             Node("multiply", ("x1", "t1"), "float64")),
                      outputs=(("t2", 4),), shape=(4, 3), dtype="float64")


def test_an_intermediate_that_leaves_the_replay_or_is_read_later_becomes_a_second_output():
    v = values_for([(4, 3)] * 6)
    (g,) = find_groups(tanh_vjp_tape(), v, roots={3, 4}, ops=OPS)
    assert g.outputs == (("t1", 3), ("t2", 4))
    tape = tanh_vjp_tape() + [call(np.sum, (S(2),), 5)]  # a reduction reads out * out after the group
    (g,) = find_groups(tape, v, roots={4, 5}, ops=OPS)
    assert g.steps == (0, 1, 2) and g.outputs == (("t0", 2), ("t2", 4))


def test_a_value_read_outside_before_the_groups_last_step_stays_out_of_the_group():
    v = values_for([(4, 3)] * 6)
    tape = tanh_vjp_tape()
    tape.insert(1, call(np.sum, (S(2),), 5))  # sum(out * out) before the subtraction
    (g,) = find_groups(tape, v, roots={4, 5}, ops=OPS)
    assert g.steps == (2, 3) and g.inputs == ((2, "float64"), (1, "float64"))  # out * out made before


def test_a_write_into_memory_the_group_reads_between_its_steps_splits_the_group():
    v = values_for([(4, 3)] * 7)
    write = Entry("setitem", operator.setitem, (S(1), 0, 0.0), {}, None, True)  # g[0] = 0 between the steps
    tape = tanh_vjp_tape()
    (g,) = find_groups(tape[:2] + [write] + tape[2:], v, roots={4}, ops=OPS)
    assert g.steps == (0, 1)  # g * (...) reads g after the write: it runs on its own
    view = Entry("getitem", operator.getitem, (S(1), slice(0, 2)), {}, S(5))  # a view of g, written into
    into_view = Entry("setitem", operator.setitem, (S(5), 0, 0.0), {}, None, True)
    (g,) = find_groups([view] + tape[:2] + [into_view] + tape[2:], v, roots={4}, ops=OPS)
    assert g.steps == (1, 2)
    assert find_groups(tape + [write], v, roots={4}, ops=OPS)[0].steps == (0, 1, 2)  # after the group: fine


def test_draws_guards_out_buffers_and_changing_shapes_split_groups():
    v = values_for([(4, 3), (4, 3), (4, 3), (4, 3), (4, 3), (3,), (3,)])
    draw = call(np.random.default_rng(0).random, ((4, 3),), 2, effect=True)
    tape = [draw, op(operator.mul, (S(2), S(0)), 3), op(operator.add, (S(3), 1.0), 4)]
    assert [g.steps for g in find_groups(tape, v, roots={4}, ops=OPS)] == [(1, 2)]  # the draw stays apart
    guard = Entry("guard", bool, (S(3),), {}, True, True)
    assert find_groups([tape[1], guard, tape[2]], v, roots={4}, ops=OPS) == []  # the guard reads v3 between
    # an update written with out= stays a step of its own
    assert find_groups(tape[1:], v, roots={4}, ops=OPS, inplace={1: InPlace(np.add, 0)}) == []
    small = [op(operator.mul, (S(5), S(5)), 6), op(operator.add, (S(0), S(6)), 4)]  # (3,) then (4, 3)
    assert find_groups(small, v, roots={4}, ops=OPS) == []


def test_a_written_or_root_result_is_never_internal():
    v = values_for([(4, 3)] * 5)
    tape = tanh_vjp_tape() + [Entry("inplace", operator.iadd, (S(3), 1.0), {}, None, True)]
    (g,) = find_groups(tape, v, roots={4}, ops=OPS)
    assert ("t1", 3) in g.outputs  # v3 is written into later: it must exist as an array


def test_a_long_chain_is_cut_into_groups_of_at_most_max_steps():
    from xgrad.fusion import MAX_STEPS

    n = 2 * MAX_STEPS + 10
    v = values_for([(3,)] * (n + 1))
    tape = [op(operator.mul, (S(k), 1.5), k + 1) for k in range(n)]  # v(k+1) = v(k) * 1.5
    groups = find_groups(tape, v, roots={n}, ops=OPS)
    assert [len(g.steps) for g in groups] == [MAX_STEPS, MAX_STEPS, 10]
    assert groups[1].inputs == ((MAX_STEPS, "float64"),) and groups[0].outputs == ((f"t{MAX_STEPS - 1}", MAX_STEPS),)


# ---- fuse: the tape rewritten, and the replay it emits ---------------------------------------------

def test_fuse_replaces_a_group_by_one_call_at_its_last_step_and_renumbers_out_buffers():
    v = values_for([(4, 3)] * 6)
    tape = [op(operator.add, (S(0), S(1)), 5)] + tanh_vjp_tape() + [op(operator.add, (S(5), S(4)), 6)]
    groups = find_groups(tape, v + v[:1], roots={6}, ops=OPS)
    assert [g.steps for g in groups] == [(0, 1, 2, 3, 4)]  # everything here is elementwise
    groups = find_groups(tape[1:], v, roots={5}, ops=OPS, inplace={3: InPlace(np.add, 5)})
    kernel = object()
    live, inplace, done = fuse(tape[1:], groups, lambda g: kernel, {3: InPlace(np.add, 5)})
    assert done == groups and len(live) == 2 and live[0].fn is kernel
    assert [s.index for s in live[0].args] == [0, 1] and live[0].out.index == 4
    assert inplace == {1: InPlace(np.add, 5)}
    live, inplace, done = fuse(tape[1:], groups, lambda g: None, {3: InPlace(np.add, 5)})
    assert live == tape[1:] and done == [] and inplace == {3: InPlace(np.add, 5)}


def test_the_interpreted_group_equals_the_unfused_replay_bit_for_bit():
    rng = np.random.default_rng(1)
    xp = get_backend("numpy").rule_namespace
    for dtype in (np.float64, np.float32):
        out, g, x = (rng.standard_normal((64, 32)).astype(dtype) for _ in range(3))
        x[0, :4] = [np.nan, -0.0, np.inf, 0.0]
        values = [out, g, x, None, None, None, None, None, None]
        tape = tanh_vjp_tape() + [call(xp.maximum, (S(4), S(2)), 5),  # nan propagates
                                  op(operator.lt, (S(2), 0), 6),
                                  call(xp.where, (S(6), 0.0, S(5)), 7),
                                  call(xp.exp, (S(7),), 8)]
        unfused, _ = emit(tape, [("A[0]", 0), ("A[1]", 1), ("A[2]", 2)], [], [S(8), S(4)], {}, {})
        for e in tape:  # the trace-time values, as a Trace keeps them
            ns = {"A": values[:3], **{f"v{i}": values[i] for i in range(3)}}
            args = [values[a.index] if type(a) is Slot else a for a in e.args]
            values[e.out.index] = e.fn(*args)
        with np.errstate(invalid="ignore", over="ignore"):
            (group,) = find_groups(tape, values, roots={8, 4}, ops=OPS)
            assert len(group.nodes) == 7 and group.outputs == (("t2", 4), ("t6", 8))
            live, inplace, _ = fuse(tape, [group], lambda gr: fused.interpret(gr, fused.functions(xp)))
            source, names = emit(live, [("A[0]", 0), ("A[1]", 1), ("A[2]", 2)], [], [S(8), S(4)], inplace, {})
            assert source.count("\n") < unfused.count("\n")
            results = []
            for src in (unfused, source):
                ns = dict(names) if src is source else dict(emit(tape, [("A[0]", 0), ("A[1]", 1), ("A[2]", 2)],
                                                                 [], [S(8), S(4)], {}, {})[1])
                exec(src, ns)  # noqa: S102
                results.append(ns["replay"]([out, g, x]))
        for a, b in zip(*results):
            assert a.dtype == dtype and a.tobytes() == b.tobytes()


# ---- the CUDA source --------------------------------------------------------------------------------

def test_the_tanh_vjp_kernel_source():
    v = values_for([(4, 3)] * 5)
    (g,) = find_groups(tanh_vjp_tape(), v, roots={4}, ops=OPS)
    assert cuda_source.kernel_source(g) == (
        "float64 x0, float64 x1",
        "float64 y0",
        "const double t0 = (x0 * x0);\n"
        "const double t1 = (1.0 - t0);\n"
        "const double t2 = (x1 * t1);\n"
        "y0 = t2;",
        "xgrad_fused_multiply_subtract")


def test_float32_kernels_take_float32_literals_and_numpys_nan_rules():
    g = Group(steps=(0, 1, 2, 3), inputs=((0, "float32"), (1, "bool")),
              nodes=(Node("maximum", ("x0", 0.1), "float32"), Node("less_equal", ("x0", 0), "bool"),
                     Node("where", ("x1", "t0", 1e-05), "float32"), Node("tanh", ("t2",), "float32")),
              outputs=(("t1", 7), ("t3", 8)), shape=(5,), dtype="float32")
    in_params, out_params, operation, name = cuda_source.kernel_source(g)
    assert in_params == "float32 x0, bool x1" and out_params == "bool y0, float32 y1"
    assert operation.splitlines() == [
        "const float t0 = ((x0 >= 0.10000000149011612f || isnan(x0)) ? x0 : 0.10000000149011612f);",
        "const bool t1 = (x0 <= 0.0f);",
        "const float t2 = (x1 ? t0 : 9.999999747378752e-06f);",
        "const float t3 = tanh(t2);",
        "y0 = t1;",
        "y1 = t3;"]
    assert name == "xgrad_fused_maximum_less_equal_where_tanh"


def test_literals_read_back_to_the_value_numpy_computes_with():
    assert cuda_source.literal(0.1, "float64") == "0.1"
    assert cuda_source.literal(1, "float64") == "1.0"
    assert cuda_source.literal(-2.5e-300, "float64") == "-2.5e-300"
    assert float(cuda_source.literal(0.1, "float32")[:-1]) == float(np.float32(0.1))
    assert cuda_source.literal(16777217, "float32") == "16777216.0f"  # rounded as NumPy casts it
    with pytest.raises(ValueError, match="non-finite"):
        cuda_source.literal(float("nan"), "float64")
    with pytest.raises(ValueError, match="out of range"):
        cuda_source.literal(1e300, "float32")


class FakeCupy:
    """What CupyBackend.fused_elementwise uses of CuPy: kernels that record their making and calls."""

    class cuda:  # noqa: N801 - CuPy's names
        class compiler:  # noqa: N801
            class CompileException(Exception):
                pass

    def __init__(self, rejects=False):
        self.made, self.calls, self.rejects = [], [], rejects

    def ElementwiseKernel(self, *args, **kw):  # noqa: N802
        self.made.append((args, kw))

        def kernel(*arrays):
            self.calls.append([(a.shape, a.dtype) for a in arrays])
            if self.rejects:
                raise FakeCupy.cuda.compiler.CompileException("error: identifier 'isnan' is undefined")
        return kernel

    zeros = staticmethod(np.zeros)


def _fake_cupy_backend(fake):
    backend = CupyBackend.__new__(CupyBackend)  # no CuPy here: only the kernel bookkeeping runs
    backend._cp, backend._kernels = fake, {}
    return backend


def test_the_cupy_backend_builds_and_compiles_one_kernel_per_source_without_fma():
    fake = FakeCupy()
    backend = _fake_cupy_backend(fake)
    v = values_for([(4, 3)] * 5)
    (g,) = find_groups(tanh_vjp_tape(), v, roots={4}, ops=OPS)
    first = backend.fused_elementwise(g)
    again = backend.fused_elementwise(g._replace(steps=(7, 8, 9), inputs=((10, "float64"), (11, "float64"))))
    assert first is again and len(fake.made) == 1  # the same source: the same kernel
    args, kw = fake.made[0]
    assert args == cuda_source.kernel_source(g) and kw == {"options": ("--fmad=false",)}
    # compiled when made (CuPy compiles at the first call), on one-element arrays of the inputs' dtypes
    assert fake.calls == [[((1,), np.float64), ((1,), np.float64)]]
    assert CupyBackend.fuse_by_default is False  # off until it has run on a GPU


def test_a_kernel_that_does_not_compile_leaves_its_group_unfused():
    backend = _fake_cupy_backend(FakeCupy(rejects=True))
    v = values_for([(4, 3)] * 5)
    groups = find_groups(tanh_vjp_tape(), v, roots={4}, ops=OPS)
    with pytest.warns(RuntimeWarning, match="did not compile.*3 steps run one by one"):
        live, _, done = fuse(tanh_vjp_tape(), groups, backend.fused_elementwise)
    assert done == [] and [e.fn for e in live] == [operator.mul, operator.sub, operator.mul]
    assert backend.fused_elementwise(groups[0]) is None  # remembered: no second attempt


# ---- xgrad.compile(fuse=...) ----------------------------------------------------------------------

def _mlp_step(fuse, dtype="float64", activation=None):
    rng = np.random.default_rng(0)
    widths = (3, 16, 16, 2)
    layers = [(xgrad.tensor(rng.standard_normal((o, i)), dtype=dtype, requires_grad=True),
               xgrad.tensor(rng.standard_normal(o), dtype=dtype, requires_grad=True))
              for i, o in zip(widths[:-1], widths[1:])]
    params = [p for layer in layers for p in layer]
    x = xgrad.tensor(rng.standard_normal((32, 3)), dtype=dtype)
    y = xgrad.tensor(rng.integers(0, 2, 32))
    act = activation or xgrad.tanh

    def step(x, y):
        for p in params:
            p.grad = None
        h = x
        for i, (w, b) in enumerate(layers):
            h = F.linear(h, w, b)
            if i < len(layers) - 1:
                h = act(h)
        loss = F.cross_entropy(h, y)
        loss.backward()
        with xgrad.no_grad():
            for p in params:
                p.data -= 0.1 * p.grad.data
        return loss

    compiled = xgrad.compile(step, fuse=fuse)
    losses = [float(compiled(x, y)) for _ in range(4)]
    return compiled.plan(x, y), losses, [p.detach().numpy() for p in params]


def test_compile_does_not_fuse_by_default_and_numpy_runs_no_fused_kernels():
    plan, _, _ = _mlp_step(None)
    assert plan.fused == []
    plan, _, _ = _mlp_step(True)  # asked, but NumPy has no kernels: the steps stay as they are
    assert plan.fused == []


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_fused_compiled_steps_equal_unfused_ones_bit_for_bit_through_the_interpreter(monkeypatch, dtype,
                                                                                     activation):
    backend = get_backend("numpy")
    xgrad.use_backend("numpy")  # the interpreter is patched into NumPy: run there, whatever XGRAD_BACKEND says
    monkeypatch.setattr(backend, "fused_elementwise",
                        lambda g: fused.interpret(g, fused.functions(backend.rule_namespace)))
    act = getattr(F, activation)
    plan, losses, weights = _mlp_step(True, dtype, act)
    assert len(plan.fused) >= 3  # bias + activation (twice), the softmax gradient, the activation VJPs
    assert {n.op for g in plan.fused for n in g.nodes} >= {"add", "multiply"}
    ref_plan, ref_losses, ref_weights = _mlp_step(False, dtype, act)
    assert ref_plan.fused == [] and plan.source.count("\n") < ref_plan.source.count("\n")
    assert losses == ref_losses
    assert all(a.tobytes() == b.tobytes() for a, b in zip(weights, ref_weights))


def _adam_step(fuse, dtype):
    """An MLP with dropout and GELU, Adam, and a host read of the loss (a guard) inside the step."""
    xgrad.manual_seed(0)
    model = xgrad.nn.MLP((4, 16, 16, 3), activation="gelu", dropout=0.25, dtype=dtype)
    opt = xgrad.optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(2)
    x = xgrad.tensor(rng.standard_normal((32, 4)), dtype=dtype)
    y = xgrad.tensor(rng.integers(0, 3, 32))

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        if float(loss) > 1e6:  # a guard: the replay checks it before any update
            raise RuntimeError("diverged")
        loss.backward()
        opt.step()
        return loss

    compiled = xgrad.compile(step, fuse=fuse)
    losses = [float(compiled(x, y)) for _ in range(5)]
    return compiled.plan(x, y), losses, [p.detach().numpy() for p in model.parameters()]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fusion_with_adam_dropout_and_a_guard_keeps_every_bit(monkeypatch, dtype):
    backend = get_backend("numpy")
    xgrad.use_backend("numpy")  # the interpreter is patched into NumPy: run there, whatever XGRAD_BACKEND says
    monkeypatch.setattr(backend, "fused_elementwise",
                        lambda g: fused.interpret(g, fused.functions(backend.rule_namespace)))
    plan, losses, weights = _adam_step(True, dtype)
    assert len(plan.fused) >= 4
    assert " -= " in plan.source and " += " in plan.source  # Adam's in-place updates stay as they are
    _, ref_losses, ref_weights = _adam_step(False, dtype)
    assert losses == ref_losses
    assert all(a.tobytes() == b.tobytes() for a, b in zip(weights, ref_weights))
