"""Op-table cases of the standard's statistics, manipulation, sorting and indexing functions, and of
PyTorch's tensor functions of that kind (gather, scatter, split, topk, ...). Values have no ties where
the gradient has a kink (sort, topk, max over a dimension)."""

import numpy as np
import hypothesis.strategies as st

import xgrad

from op_table import Case, _torch, normal, positive, shape


def _axis(draw, s):
    return draw(st.integers(-len(s), len(s) - 1))


def _with_zeros(rng, s, how_many):
    """Normal values with ``how_many`` entries (at random positions, drawn per call) set to 0."""
    x = rng.normal(size=s)
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, size=min(how_many, flat.size), replace=False)] = 0.0
    return x


def _distinct(rng, s):
    """Normal values, all distinct by at least 1e-3 (a permutation of well-separated numbers)."""
    n = int(np.prod(s))
    return (rng.permutation(n) * 0.25 + rng.uniform(-0.1, 0.1, size=n)).reshape(s) - n * 0.1


def _reduce_axis(draw, s):
    return draw(st.sampled_from([None] + list(range(-len(s), len(s))) + ([(0, len(s) - 1)] if len(s) > 1 else [])))


def _prod(zeros):
    def make(draw, rng):
        s = draw(shape(1))
        return [_with_zeros(rng, s, zeros)], {"axis": _reduce_axis(draw, s), "keepdims": draw(st.booleans())}
    return make


def _torch_prod(c, x):
    torch = _torch()
    axis = c["axis"]
    if axis is None:
        out = torch.prod(x)
        return out.reshape((1,) * x.ndim) if c["keepdims"] else out
    for a in sorted((axis,) if isinstance(axis, int) else axis, key=lambda a: a % x.ndim, reverse=True):
        x = torch.prod(x, dim=a, keepdim=c["keepdims"])
    return x


def _std(draw, rng):
    # at least two entries per reduction: the standard deviation of one entry is 0 for every value, a
    # kink (PyTorch's gradient there is nan, the finite difference 0); tests elsewhere check that case
    s = draw(shape(1).filter(lambda t: min(t) >= 2))
    axis = _reduce_axis(draw, s)
    return [normal(rng, s)], {"axis": axis, "keepdims": draw(st.booleans()),
                              "correction": draw(st.sampled_from([0, 1])),
                              "dim": tuple(range(len(s))) if axis is None else axis}


def _cumulative(zeros=0):
    def make(draw, rng):
        s = draw(shape(1))
        values = _with_zeros(rng, s, zeros) if zeros else normal(rng, s)
        return [values], {"axis": _axis(draw, s), "include_initial": draw(st.booleans())}
    return make


def _torch_cumulative(name):
    def th(c, x):
        torch = _torch()
        out = getattr(torch, name)(x, dim=c["axis"])
        if not c["include_initial"]:
            return out
        first = torch.full_like(out.narrow(c["axis"], 0, 1), 0.0 if name == "cumsum" else 1.0)
        return torch.cat([first, out], dim=c["axis"])
    return th


def _sorting(draw, rng):
    s = draw(shape(1))
    return [_distinct(rng, s)], {"axis": _axis(draw, s), "descending": draw(st.booleans())}


def _topk(draw, rng):
    s = draw(shape(1))
    axis = _axis(draw, s)
    return [_distinct(rng, s)], {"axis": axis, "k": draw(st.integers(0, s[axis])), "largest": draw(st.booleans())}


def _one_axis(draw, rng):
    s = draw(shape(1))
    return [normal(rng, s)], {"axis": _axis(draw, s)}


def _moveaxis(draw, rng):
    s = draw(shape(1))
    n = draw(st.integers(1, len(s)))
    source = tuple(draw(st.permutations(range(len(s))))[:n])
    destination = tuple(draw(st.permutations(range(-len(s), 0)))[:n])
    return [normal(rng, s)], {"source": source, "destination": destination}


def _repeat(draw, rng):
    s = draw(shape(0))
    axis = draw(st.sampled_from([None] + list(range(-len(s), len(s)))))
    n = int(np.prod(s)) if axis is None else s[axis]
    if draw(st.booleans()):
        repeats = draw(st.integers(0, 3))
    else:
        repeats = rng.integers(0, 4, size=n)
    return [normal(rng, s)], {"axis": axis, "repeats": repeats}


def _roll(draw, rng):
    s = draw(shape(1))
    form = draw(st.sampled_from(["flat", "one", "several"]))
    if form == "flat":
        return [normal(rng, s)], {"shift": draw(st.integers(-5, 5)), "axis": None}
    if form == "one":
        return [normal(rng, s)], {"shift": draw(st.integers(-5, 5)), "axis": _axis(draw, s)}
    axes = tuple(draw(st.permutations(range(len(s)))))
    return [normal(rng, s)], {"shift": tuple(draw(st.integers(-5, 5)) for _ in axes), "axis": axes}


def _tile(draw, rng):
    s = draw(shape(0))
    return [normal(rng, s)], {"reps": tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=4)))}


def _diff(draw, rng):
    s = draw(shape(1))
    axis = _axis(draw, s)
    arrays = [normal(rng, s)]
    c = {"axis": axis, "n": draw(st.integers(0, 3)), "prepend": False, "append": False}
    for side in ("prepend", "append"):
        if draw(st.booleans()):
            other = list(s)
            other[axis] = draw(st.integers(1, 2))
            arrays.append(normal(rng, tuple(other)))
            c[side] = True
    return arrays, c


def _diff_args(c, x, *extra):
    extra = list(extra)
    return (extra.pop(0) if c["prepend"] else None), (extra.pop(0) if c["append"] else None)


def _broadcast_pair(draw, rng):
    sa, sb = draw(hnp_broadcasting()).input_shapes
    return [normal(rng, sa), normal(rng, sb)], {}


def hnp_broadcasting():
    import hypothesis.extra.numpy as hnp

    return hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


def _gather(draw, rng):
    s = draw(shape(1))
    axis = _axis(draw, s)
    picks = tuple(draw(st.integers(1, 4)) if d == axis % len(s) else draw(st.integers(1, n)) for d, n in enumerate(s))
    return [normal(rng, s)], {"dim": axis, "index": rng.integers(0, s[axis], size=picks)}


def _scatter(add):
    def make(draw, rng):
        s = draw(shape(1))
        axis = _axis(draw, s)
        ax = axis % len(s)
        index_shape = tuple(draw(st.integers(1, s[ax] if not add else 4)) if d == ax else draw(st.integers(1, n))
                            for d, n in enumerate(s))
        if add:  # repeats allowed: they add up
            index = rng.integers(0, s[ax], size=index_shape)
        else:  # each position written once: distinct targets along the axis
            index = np.argsort(rng.uniform(size=index_shape[:ax] + (s[ax],) + index_shape[ax + 1:]), axis=ax)
            index = np.take(index, np.arange(index_shape[ax]), axis=ax)
        # src shaped like index: a larger src works (its leading block is used, see test_arrays.py), but
        # torch's backward refuses it
        return [normal(rng, s), normal(rng, index_shape)], {"dim": axis, "index": index}
    return make


def _split(draw, rng):
    s = draw(shape(1))
    axis = _axis(draw, s)
    n = s[axis]
    if draw(st.booleans()):
        how = draw(st.integers(1, n + 1))
    else:
        cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
        how = [b - a for a, b in zip([0] + cuts, cuts + [n])]
    return [normal(rng, s)], {"dim": axis, "how": how}


def _chunk(draw, rng):
    s = draw(shape(1))
    return [normal(rng, s)], {"dim": _axis(draw, s), "chunks": draw(st.integers(1, 5))}


def _weighted(pieces):
    """The pieces of a split as one value in which each piece's gradient differs: sum_i (i + 1) * sum(p_i)."""
    total = 0.0
    for i, p in enumerate(pieces):
        total = total + (i + 1) * (p * p).sum()
    return total


def _max_dim(draw, rng):
    s = draw(shape(1))
    return [_distinct(rng, s)], {"dim": _axis(draw, s), "keepdim": draw(st.booleans())}


CASES = [
    # statistics
    Case("prod", _prod(0), lambda c, x: xgrad.prod(x, axis=c["axis"], keepdims=c["keepdims"]), _torch_prod),
    Case("prod_one_zero", _prod(1), lambda c, x: xgrad.prod(x, axis=c["axis"], keepdims=c["keepdims"]),
         _torch_prod),
    Case("prod_two_zeros", _prod(2), lambda c, x: xgrad.prod(x, axis=c["axis"], keepdims=c["keepdims"]),
         _torch_prod),
    Case("std", _std, lambda c, x: xgrad.std(x, axis=c["axis"], correction=c["correction"], keepdims=c["keepdims"]),
         lambda c, x: _torch().std(x, dim=c["dim"], correction=c["correction"], keepdim=c["keepdims"])),
    Case("cumulative_sum", _cumulative(),
         lambda c, x: xgrad.cumulative_sum(x, axis=c["axis"], include_initial=c["include_initial"]),
         _torch_cumulative("cumsum")),
    Case("cumulative_prod", _cumulative(),
         lambda c, x: xgrad.cumulative_prod(x, axis=c["axis"], include_initial=c["include_initial"]),
         _torch_cumulative("cumprod")),
    Case("cumulative_prod_zeros", _cumulative(zeros=2),
         lambda c, x: xgrad.cumulative_prod(x, axis=c["axis"], include_initial=c["include_initial"]),
         _torch_cumulative("cumprod")),
    Case("cumsum_method", _one_axis, lambda c, x: x.cumsum(dim=c["axis"]),
         lambda c, x: x.cumsum(dim=c["axis"])),
    Case("max_dim", _max_dim, lambda c, x: x.max(dim=c["dim"], keepdim=c["keepdim"]).values,
         lambda c, x: x.max(dim=c["dim"], keepdim=c["keepdim"]).values),
    Case("min_dim", _max_dim, lambda c, x: x.min(dim=c["dim"], keepdim=c["keepdim"])[0],
         lambda c, x: x.min(dim=c["dim"], keepdim=c["keepdim"])[0]),
    # sorting
    Case("sort", _sorting, lambda c, x: xgrad.sort(x, axis=c["axis"], descending=c["descending"]),
         lambda c, x: _torch().sort(x, dim=c["axis"], descending=c["descending"], stable=True).values),
    Case("topk", _topk, lambda c, x: xgrad.topk(x, c["k"], dim=c["axis"], largest=c["largest"]).values,
         lambda c, x: _torch().topk(x, c["k"], dim=c["axis"], largest=c["largest"]).values),
    # manipulation
    Case("moveaxis", _moveaxis, lambda c, x: xgrad.moveaxis(x, c["source"], c["destination"]),
         lambda c, x: _torch().moveaxis(x, c["source"], c["destination"])),
    Case("repeat", _repeat, lambda c, x: xgrad.repeat(x, c["repeats"], axis=c["axis"]),
         lambda c, x: _torch().repeat_interleave(x, c["repeats"], dim=c["axis"])),
    Case("roll", _roll, lambda c, x: xgrad.roll(x, c["shift"], axis=c["axis"]),
         lambda c, x: _torch().roll(x, c["shift"], dims=c["axis"])),
    Case("tile", _tile, lambda c, x: xgrad.tile(x, c["reps"]), lambda c, x: _torch().tile(x, c["reps"])),
    Case("tensor_repeat", lambda d, r: ([normal(r, s := d(shape(0)))],
                                        {"reps": tuple(d(st.lists(st.integers(1, 3), min_size=max(len(s), 1), max_size=4)))}),
         lambda c, x: x.repeat(*c["reps"]), lambda c, x: x.repeat(*c["reps"])),
    Case("unstack", _one_axis, lambda c, x: _weighted(xgrad.unstack(x, axis=c["axis"])),
         lambda c, x: _weighted(_torch().unbind(x, dim=c["axis"]))),
    Case("broadcast_arrays", _broadcast_pair, lambda c, a, b: xgrad.stack(xgrad.broadcast_arrays(a, b)),
         lambda c, a, b: _torch().stack(_torch().broadcast_tensors(a, b))),
    Case("diff", _diff, lambda c, x, *e: xgrad.diff(x, axis=c["axis"], n=c["n"], prepend=_diff_args(c, x, *e)[0],
                                                    append=_diff_args(c, x, *e)[1]),
         lambda c, x, *e: _torch().diff(x, dim=c["axis"], n=c["n"], prepend=_diff_args(c, x, *e)[0],
                                        append=_diff_args(c, x, *e)[1]) if c["n"] else x),
    Case("split", _split, lambda c, x: _weighted(xgrad.split(x, c["how"], dim=c["dim"])),
         lambda c, x: _weighted(_torch().split(x, c["how"], dim=c["dim"]))),
    Case("chunk", _chunk, lambda c, x: _weighted(x.chunk(c["chunks"], dim=c["dim"])),
         lambda c, x: _weighted(x.chunk(c["chunks"], dim=c["dim"]))),
    # indexing along a dimension (PyTorch's)
    Case("gather", _gather, lambda c, x: xgrad.gather(x, c["dim"], c["index"]),
         lambda c, x: _torch().gather(x, c["dim"], c["index"])),
    Case("scatter", _scatter(False), lambda c, x, s: xgrad.scatter(x, c["dim"], c["index"], s),
         lambda c, x, s: _torch().scatter(x, c["dim"], c["index"], s)),
    Case("scatter_add", _scatter(True), lambda c, x, s: xgrad.scatter_add(x, c["dim"], c["index"], s),
         lambda c, x, s: _torch().scatter_add(x, c["dim"], c["index"], s)),
]
