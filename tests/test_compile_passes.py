"""xgrad.passes: each pass of the compiler on small tapes written by hand, and two traced cases they decide."""

import operator

import numpy as np

import xgrad
from xgrad.passes import (InPlace, Store, Update, eliminate_dead, emit, fold_constants, plan_buffers, reads,
                          root_slots, schedule, slots, writes_to_inputs)
from xgrad.tracing import Entry, Slot

S = Slot
UFUNCS = {operator.add: np.add, operator.sub: np.subtract, operator.mul: np.multiply}


def op(fn, a, b, out):
    return Entry("op", fn, (a, b), {}, S(out))


def call(fn, args, out, effect=False, **kw):
    return Entry("call", fn, args, kw, S(out) if out is not None else None, effect)


def arrays(n, shape=(3,)):
    return [np.full(shape, float(i)) for i in range(n)]


# ---- slots ---------------------------------------------------------------------------------------

def test_slots_are_found_in_nested_arguments_and_ints_are_not_slots():
    assert slots((S(1), [S(2), 3], slice(S(4), None, 2), "x", 5)) == (1, 2, 4)
    e = Entry("call", np.sum, (S(0), 1), {"axis": S(2), "keepdims": True}, S(3))
    assert reads(e) == (0, 2)
    assert root_slots([S(1), 3, None, np.zeros(2)]) == {1}


# ---- fold_constants ------------------------------------------------------------------------------

def test_shape_only_steps_and_what_depends_only_on_them_are_folded():
    values = arrays(4)
    tape = [call(np.zeros_like, (S(0),), 1),  # v1 = zeros_like(v0): fixed by the shape
            op(operator.add, S(1), 1.0, 2),  # v2 = v1 + 1: every input folded
            op(operator.mul, S(0), S(2), 3)]  # v3 = v0 * v2: v0 changes from replay to replay
    folded = fold_constants(tape, values, roots={3}, shape_only={np.zeros_like})
    assert folded == {1: values[1], 2: values[2]} and folded[1] is values[1]
    assert fold_constants(tape, values, roots={3}) == {}  # nothing is shape-only without being told


def test_roots_written_arrays_effects_and_guards_are_not_folded():
    values = arrays(5)
    rng = np.random.default_rng(0).random
    tape = [call(np.zeros_like, (S(0),), 1),
            call(np.zeros_like, (S(0),), 2),
            Entry("setitem", operator.setitem, (S(2), 0, S(0)), {}, None, True),  # v2[0] = v0
            call(rng, ((3,),), 3, effect=True),  # a random draw: new numbers every replay
            Entry("guard", bool, (S(1),), {}, False, True),
            call(np.ones_like, (S(0),), 4)]
    folded = fold_constants(tape, values, roots={1}, shape_only={np.zeros_like, np.ones_like})
    assert folded == {4: values[4]}  # v1 leaves the replay, v2 is written into, v3 is random


# ---- eliminate_dead ------------------------------------------------------------------------------

def test_dead_steps_are_dropped_and_effects_kept():
    draw = np.random.default_rng(0).random
    tape = [op(operator.add, S(0), 1, 1),  # v1: read by v3
            call(np.exp, (S(0),), 2),  # v2: nothing reads it
            op(operator.mul, S(1), 2, 3),  # v3: the output
            call(draw, ((2,),), 4, effect=True),  # unused, but the draw advances the generator
            Entry("guard", bool, (S(1),), {}, True, True),
            Entry("setitem", operator.setitem, (S(3), 0, S(5)), {}, None, True),  # into the output: kept
            Entry("setitem", operator.setitem, (S(2), 0, S(6)), {}, None, True)]  # into dead v2: dropped
    live, needed = eliminate_dead(tape, roots={3}, folded={}, fresh={np.exp})
    assert live == [tape[0], tape[2], tape[3], tape[4], tape[5]]
    assert needed == {0, 1, 3, 5}
    # not known to allocate, exp(v0) may be a view of the input v0: the write into it is kept
    live, needed = eliminate_dead(tape, roots={3}, folded={})
    assert live == [tape[0], tape[1], tape[2], tape[3], tape[4], tape[5], tape[6]]


def test_folded_steps_are_not_replayed():
    tape = [call(np.zeros_like, (S(0),), 1), op(operator.add, S(0), S(1), 2)]
    live, needed = eliminate_dead(tape, roots={2}, folded={1: np.zeros(3)})
    assert live == [tape[1]] and needed == {0, 1, 2}  # v1 is read, as a global of the replay


def test_the_int_3_among_the_outputs_is_not_slot_3():
    tape = [op(operator.add, S(0), 1, 1), op(operator.mul, S(1), 2, 2), call(np.exp, (S(2),), 3)]
    roots = root_slots([S(2), 3])  # returns v2 and the Python int 3
    assert roots == {2}
    live, _ = eliminate_dead(tape, roots, folded={})
    assert live == tape[:2]  # exp(v2), slot 3, is dead


def test_a_write_through_a_view_keeps_what_it_writes_into():
    view = Entry("getitem", operator.getitem, (S(1), slice(0, 2)), {}, S(2))  # v2 = v1[0:2], a view
    tape = [call(np.zeros_like, (S(0),), 1),
            view,
            Entry("setitem", operator.setitem, (S(2), 0, S(0)), {}, None, True),  # v2[0] = v0: writes into v1
            op(operator.mul, S(1), 2.0, 3)]
    values = arrays(4)
    # v1 is written through its view: neither folded (a constant would change) nor its write dropped
    assert fold_constants(tape, values, roots={3}, shape_only={np.zeros_like}) == {}
    live, _ = eliminate_dead(tape, roots={3}, folded={})
    assert live == tape


def test_a_write_into_an_input_is_kept_though_nothing_reads_it():
    tape = [Entry("inplace", operator.iadd, (S(0), 1.0), {}, None, True),  # v0 += 1: an existing tensor's array
            Entry("method", "fill", (S(1), 0.0), {}, None, True)]  # v1.fill(0)
    live, needed = eliminate_dead(tape, roots=set(), folded={})
    assert live == tape and needed == {0, 1}
    assert writes_to_inputs(tape) == tape


# ---- schedule ------------------------------------------------------------------------------------

def test_guards_come_first_with_what_they_need_and_writes_after():
    draw = np.random.default_rng(0).random
    tape = [op(operator.mul, S(0), 2.0, 1),  # v1: forward
            Entry("inplace", operator.isub, (S(0), S(1)), {}, None, True),  # v0 -= v1: the update
            call(draw, ((2,),), 2, effect=True),  # a draw the guard does not need
            call(np.sum, (S(1),), 3),
            Entry("guard", float, (S(3),), {}, 1.0, True)]  # float(v3): reads what the update does not change
    ordered, start = schedule(tape)
    assert ordered == [tape[0], tape[3], tape[4], tape[1], tape[2]] and start == 3
    assert writes_to_inputs(ordered[:start]) == []
    assert schedule(tape[:4]) == (tape[:4], 0)  # no guard: the tape as it is


def test_a_guard_on_a_written_array_follows_the_write_and_earlier_draws():
    draw = np.random.default_rng(0).random
    tape = [call(draw, ((2,),), 1, effect=True),
            call(draw, ((2,),), 2, effect=True),
            Entry("inplace", operator.iadd, (S(0), S(2)), {}, None, True),  # v0 += v2
            Entry("guard", bool, (S(0),), {}, True, True)]
    ordered, start = schedule(tape)
    assert ordered == tape and start == 4  # the draws in their order, and the write the guard reads
    assert writes_to_inputs(ordered[:start]) == [tape[2]]  # xgrad.compile refuses this


# ---- plan_buffers --------------------------------------------------------------------------------

def _sgd_tape():
    """v0: parameter, v1: gradient; v2 = 0.1 * v1; v3 = v0 - v2 (the new parameter)."""
    return [op(operator.mul, 0.1, S(1), 2), op(operator.sub, S(0), S(2), 3)], arrays(4)


def test_an_update_is_computed_into_the_old_buffer():
    live, values = _sgd_tape()
    assert plan_buffers(live, [Update(0, 3, UFUNCS)], {3}, values) == {1: InPlace(np.subtract, 0)}
    assert plan_buffers(live, [Update(0, 3, {})], {3}, values) == {}  # the backend has no out= ufuncs


def test_an_update_whose_old_buffer_is_read_later_is_not_in_place():
    live, values = _sgd_tape()
    live.append(op(operator.add, S(0), S(3), 4))  # the old parameter read after the update
    values.append(np.zeros(3))
    assert plan_buffers(live, [Update(0, 3, UFUNCS)], {3, 4}, values) == {}


def test_an_update_whose_old_buffer_leaves_the_replay_is_not_in_place():
    live, values = _sgd_tape()  # e.g. `q.data = p.data; p.data = p.data - lr * g`
    assert plan_buffers(live, [Update(0, 3, UFUNCS)], {3, 0}, values) == {}


def test_a_view_of_the_old_buffer_read_later_blocks_the_update():
    live, values = _sgd_tape()
    view = Entry("method", "reshape", (S(0), (3, 1)), {}, S(4))  # may share v0's memory
    live = [view] + live + [call(np.sum, (S(4),), 5)]
    values += [np.zeros((3, 1)), np.zeros(())]
    assert plan_buffers(live, [Update(0, 3, UFUNCS)], {3, 5}, values) == {}
    # the same read through a function known to allocate is no alias
    live[0] = call(np.tanh, (S(0),), 4)
    assert plan_buffers(live, [Update(0, 3, UFUNCS)], {3, 5}, values, fresh={np.tanh}) == {2: InPlace(np.subtract, 0)}


def test_an_update_is_not_in_place_across_shapes_dtypes_or_other_steps():
    live, values = _sgd_tape()
    broadcast = values[:3] + [np.zeros((2, 3))]
    assert plan_buffers(live, [Update(0, 3, UFUNCS)], {3}, broadcast) == {}
    cast = values[:3] + [np.zeros(3, dtype=np.float32)]
    assert plan_buffers(live, [Update(0, 3, UFUNCS)], {3}, cast) == {}
    live[1] = call(np.subtract, (S(0), S(2)), 3)  # a call, not an operator
    assert plan_buffers(live, [Update(0, 3, UFUNCS)], {3}, values) == {}
    live[1] = op(operator.truediv, S(0), S(2), 3)  # no out= ufunc given for it
    assert plan_buffers(live, [Update(0, 3, UFUNCS)], {3}, values) == {}


def test_no_update_is_in_place_before_the_guards():
    live, values = _sgd_tape()
    assert plan_buffers(live, [Update(0, 3, UFUNCS)], {3}, values, start=2) == {}


def test_one_step_writes_into_one_buffer():
    live, values = _sgd_tape()
    values.append(np.zeros(3))  # v4: a second tensor's old array, replaced by the same v3
    got = plan_buffers(live, [Update(0, 3, UFUNCS), Update(4, 3, UFUNCS)], {3}, values)
    assert got == {1: InPlace(np.subtract, 0)}


# ---- emit ----------------------------------------------------------------------------------------

def test_emit_writes_straight_line_code_that_frees_temporaries():
    live, values = _sgd_tape()
    live = [Entry("guard", bool, (S(1),), {}, True, True)] + live + [call(np.sum, (S(3),), 4, axis=0)]
    born = np.ones(2)
    stores = [Store("p.data", S(3)), Store("p.grad", None), Store("q.grad", born, "_wrap({}, b)")]
    source, names = emit(live, [("A[0]", 0), ("A[1]", 1)], stores, [S(4), 3, S(5)], {2: InPlace(np.subtract, 0)},
                         folded={5: np.float64(2.0)})
    assert source == "\n".join([
        "def replay(A):",
        "    v0 = A[0]",
        "    v1 = A[1]",
        "    if guard0(v1) != True: raise _Diverged",
        "    v2 = 0.1 * v1",
        "    del v1",
        "    v3 = u_subtract(v0, v2, out=v0)",
        "    del v0, v2",
        "    v4 = f3(v3, axis=0)",
        "    p.data = v3",
        "    p.grad = None",
        "    q.grad = _wrap(c0, b)",
        "    return (v4, 3, v5, )"])
    assert names == {"v5": np.float64(2.0), "guard0": bool, "u_subtract": np.subtract, "f3": np.sum, "c0": born}


def test_emit_places_checks_and_hands_random_draws_to_a_failed_guard():
    draw = np.random.default_rng(0).random
    live = [call(draw, ((2,),), 1, effect=True), Entry("guard", bool, (S(1),), {}, True, True),
            op(operator.add, S(0), S(1), 2)]
    source, _ = emit(live, [("A[0]", 0)], [], [S(2)], {}, {}, prologue=["if stale(): raise _Stale"],
                     checks=["check(v0)"])
    assert source == "\n".join([
        "def replay(A):",
        "    if stale(): raise _Stale",
        "    v0 = A[0]",
        "    check(v0)",
        "    v1 = f0((2, ))",
        "    if guard1(v1) != True: raise _Diverged((v1, ))",
        "    v2 = v0 + v1",
        "    del v0, v1",
        "    return (v2, )"])


def test_the_emitted_replay_runs():
    live, values = _sgd_tape()
    source, names = emit(live, [("A[0]", 0), ("A[1]", 1)], [], [S(3)], {1: InPlace(np.subtract, 0)}, {})
    namespace = dict(names)
    exec(source, namespace)
    p, g = np.array([1.0, 2.0]), np.array([10.0, 20.0])
    (new,) = namespace["replay"]((p, g))
    assert new is p and np.array_equal(p, [0.0, 0.0])


# ---- the passes in xgrad.compile -----------------------------------------------------------------

def test_a_tensor_holding_the_int_3_does_not_keep_slot_3_alive():
    holder = xgrad.tensor(0.0)

    def f(x):
        b = (x + 1) * 2  # slots 1 and 2
        xgrad.exp(b)  # slot 3, unused
        holder.data = 3
        return b, 3, holder

    compiled = xgrad.compile(f, warmup=0)
    x = xgrad.tensor([1.0, 2.0], dtype="float64")
    compiled(x)
    b, three, t = compiled(x)
    assert three == 3 and t.data == 3 and holder.data == 3 and np.array_equal(b.numpy(), [4.0, 6.0])
    assert "v3" not in compiled.plan(x).source


def test_an_old_array_stored_elsewhere_is_not_overwritten():
    p, q = xgrad.tensor([1.0, 2.0], dtype="float64"), xgrad.tensor([0.0, 0.0], dtype="float64")

    def step(x):
        q.data = p.data  # q keeps p's old array
        p.data = p.data - x.data
        return x

    compiled = xgrad.compile(step, warmup=0)
    x = xgrad.tensor([1.0, 1.0], dtype="float64")
    for i in range(3):
        compiled(x)
        assert np.array_equal(p.numpy(), [-i, 1.0 - i]) and np.array_equal(q.numpy(), [1.0 - i, 2.0 - i])
    assert "out=" not in compiled.plan(x).source
