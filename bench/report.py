"""The benchmark report: crossover FLOPs per op between xgrad and PyTorch, per-op overhead, speed-up
tables, the reference training step, and log-log plots, from pytest-benchmark JSON alone.

    python -m bench.report RESULTS.json [MORE.json ...] --out bench/results/NAME

writes NAME/report.md and NAME/*.png. Every time is a median over rounds (pytest-benchmark's
``stats.median``, seconds per call) with its spread, the first to third quartile ``[q1-q3]`` (error bars on
the plots); the FLOP counts come from the cases' ``extra_info`` (bench/flops.py). Results from a tree with
uncommitted changes or from an unknown commit are marked so in large type, in the report and on the plots.
"""

import argparse
import json
import math
import os
from collections import defaultdict

ROLE_ORDER = {"floor": 0, "xgrad": 1, "torch": 2, "peer": 3}
OP_ORDER = ("tanh", "bias_add", "matmul", "sum_axis", "cross_entropy", "mlp_step", "conv2d")
OP_TITLE = {"tanh": "elementwise unary: tanh", "bias_add": "binary, broadcast: (n, m) + (m,)",
            "matmul": "matmul (m, k) @ (k, n)", "sum_axis": "reduction: sum over axis 1",
            "cross_entropy": "softmax + cross-entropy (n, c)", "mlp_step": "MLP training step (FLOPs per step)",
            "conv2d": "conv2d 3x3, padding 1 (n, c, hw, hw) -> (n, o, hw, hw)"}
# cases timed as a whole training run (one size, no FLOPs sweep): their own table, no crossover or plot
WHOLE_RUNS = {"cnn_epoch": "Digits CNN: one training epoch"}
DEVICE_TITLE = {"cpu": "CPU", "gpu": "GPU"}
BUSY = 0.5  # a CPU case is "contended" when other processes kept more than this many cores busy


def contended(row):
    if "contended" in row:
        return bool(row["contended"])
    return row.get("device") == "cpu" and (row.get("other_cpu_cores") or 0) > BUSY


# ---------------------------------------------------------------------------------------------------
# loading
def load(paths):
    """(rows, sources): one row per benchmark; later files override earlier ones for the same case."""
    rows, sources = {}, []
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        sources.append({"path": path, "machine_info": doc.get("machine_info", {}),
                        "commit_info": doc.get("commit_info", {}), "datetime": doc.get("datetime")})
        for b in doc.get("benchmarks", []):
            ei = b.get("extra_info") or {}
            if "op" not in ei or not b.get("stats"):
                continue
            row = dict(ei)
            row["median"] = b["stats"]["median"]
            row["rounds"] = b["stats"].get("rounds")
            row["iqr"] = b["stats"].get("iqr")
            row["q1"], row["q3"] = b["stats"].get("q1"), b["stats"].get("q3")
            row["source"] = path
            rows[(row["device"], row["op"], row["dtype"], row["label"], row["engine"])] = row
    return list(rows.values()), sources


def index(rows):
    """{device: {op: {dtype: {engine: [(flops, median_s, row), ...] sorted by flops}}}} and roles."""
    out = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(list))))
    roles = {}
    for r in rows:
        out[r["device"]][r["op"]][r["dtype"]][r["engine"]].append((r["flops"], r["median"], r))
        roles[r["engine"]] = r.get("role", "peer")
    for dev in out.values():
        for op in dev.values():
            for dt in op.values():
                for eng in dt:
                    dt[eng].sort(key=lambda p: p[0])
    return out, roles


def engine_order(engines, roles):
    return sorted(engines, key=lambda e: (ROLE_ORDER.get(roles.get(e), 9), e))


def pick(engines, roles, role):
    names = [e for e in engine_order(engines, roles) if roles.get(e) == role]
    return names


# ---------------------------------------------------------------------------------------------------
# the crossover
def crossovers(a, b):
    """Where curve ``a`` (xgrad) crosses curve ``b`` (torch): log-log linear interpolation of the median
    times between the FLOP counts both were measured at. Returns (crossings, xs, log_ratios), each
    crossing ``(flops, direction)`` with direction "a-faster-below" or "a-faster-above"."""
    ta = {f: t for f, t, _ in a}
    tb = {f: t for f, t, _ in b}
    xs = sorted(set(ta) & set(tb))
    r = [math.log(ta[x] / tb[x]) for x in xs]  # < 0: a is faster
    found = []
    for i in range(len(xs) - 1):
        r0, r1 = r[i], r[i + 1]
        if r0 == 0 or (r0 < 0) == (r1 < 0) or r1 == 0 and i + 1 < len(xs) - 1:
            if r0 == 0 and i > 0:
                found.append((xs[i], "a-faster-below" if r[i - 1] < 0 else "a-faster-above"))
            continue
        lx0, lx1 = math.log10(xs[i]), math.log10(xs[i + 1])
        lx = lx0 + (lx1 - lx0) * r0 / (r0 - r1)
        found.append((10 ** lx, "a-faster-below" if r0 < 0 else "a-faster-above"))
    return found, xs, r


def fmt_flops(x):
    if x is None:
        return "-"
    e = int(math.floor(math.log10(x))) if x > 0 else 0
    return f"{x / 10 ** e:.1f}e{e}"


def fmt_us(s):
    us = s * 1e6
    if us >= 1e4:
        return f"{us:,.0f}"
    if us >= 100:
        return f"{us:.0f}"
    if us >= 10:
        return f"{us:.1f}"
    return f"{us:.2f}"


def fmt_spread(row):
    """``median [q1-q3]`` in us for a result row (the median alone where the quartiles are missing)."""
    if row.get("q1") is None or row.get("q3") is None:
        return fmt_us(row["median"])
    return f"{fmt_us(row['median'])} [{fmt_us(row['q1'])}-{fmt_us(row['q3'])}]"


def fmt_ms(row):
    """``median [q1-q3]`` in ms."""
    ms = [row.get(k) for k in ("median", "q1", "q3")]
    if ms[1] is None or ms[2] is None:
        return f"{1e3 * ms[0]:.1f}"
    return f"{1e3 * ms[0]:.1f} [{1e3 * ms[1]:.1f}-{1e3 * ms[2]:.1f}]"


def fmt_ratio(x):
    return "-" if x is None else (f"{x:.2f}" if x < 10 else f"{x:.1f}")


def describe_crossover(found, xs, r, xname="xgrad", tname="torch"):
    if not xs:
        return "not measured"
    if len(xs) == 1:
        return (f"one size only ({xname if r[0] < 0 else tname} faster at {fmt_flops(xs[0])}); "
                "a crossover needs a sweep")
    caveat = " (from two sizes only)" if len(xs) == 2 else ""
    if not found:
        who = xname if r[0] < 0 else tname
        return f"none in range ({who} faster throughout {fmt_flops(xs[0])} to {fmt_flops(xs[-1])}){caveat}"
    parts = []
    for x, d in found:
        parts.append(f"**{fmt_flops(x)}** ({xname} faster {'below' if d == 'a-faster-below' else 'above'})")
    return "; ".join(parts) + caveat


# ---------------------------------------------------------------------------------------------------
# machine
def machine_lines(src):
    mi = src["machine_info"]
    xb = mi.get("xgrad_bench", {})
    cpu = xb.get("cpu_model") or (mi.get("cpu") or {}).get("brand_raw") or mi.get("processor") or "?"
    cores = xb.get("usable_cores") or xb.get("logical_cores") or (mi.get("cpu") or {}).get("count")
    lines = [f"- results: `{src['path']}`, taken {src.get('datetime') or '?'}"]
    commit, state = tree_of(src)
    lines.append(f"- commit: `{commit}`, tree {state}")
    lines.append(f"- CPU: {cpu}, {cores} cores usable" + (f", {xb['memory_gib']} GiB RAM" if xb.get("memory_gib") else ""))
    lines.append(f"- GPU: {xb.get('gpu') or 'none'}" + (f" (CUDA runtime {xb['cuda_runtime']}, driver {xb['cuda_driver']})"
                                                         if xb.get("cuda_runtime") else ""))
    lines.append(f"- OS: {xb.get('platform') or mi.get('system')}; Python {xb.get('python') or mi.get('python_version')}")
    vers = xb.get("versions") or {}
    if vers:
        lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in vers.items() if v))
    lines.append("- threads: " + threads_of(xb))
    limit = xb.get("busy_limit")
    if limit is not None:
        lines.append(f"- contention threshold: a CPU case counts as contended when other processes kept more than "
                     f"{limit:.2f} cores busy while it ran (the cores the benchmark's own threads do not need, at "
                     "least 0.5)")
    else:
        lines.append("- contention threshold: not recorded (results older than the threshold's record)")
    return lines


def tree_of(src):
    """(commit, state): what ``python -m bench.run`` recorded (XGRAD_BENCH_COMMIT/TREE), else pytest-benchmark's
    commit_info; state is "clean", "dirty: ..." or "unknown: ..."."""
    env = (src["machine_info"].get("xgrad_bench") or {}).get("env") or {}
    ci = src.get("commit_info") or {}
    if env.get("XGRAD_BENCH_TREE"):
        return env.get("XGRAD_BENCH_COMMIT", "unknown")[:10], env["XGRAD_BENCH_TREE"]
    if env.get("XGRAD_BENCH_COMMIT"):  # set by hand, e.g. for a snapshot run without .git
        return env["XGRAD_BENCH_COMMIT"][:10], "unknown: commit stated by XGRAD_BENCH_COMMIT, the tree had no .git"
    if ci.get("id") and ci.get("id") != "unknown" and not ci.get("error"):
        return ci["id"][:10], "dirty: uncommitted changes" if ci.get("dirty") else "clean"
    return "unknown", "unknown: no git commit recorded"


def unsound(sources):
    """The large-type warning for results that do not belong to one clean commit ('' when they do)."""
    bad = [f"`{s['path']}`: commit {c}, tree {st}" for s in sources for c, st in [tree_of(s)] if st != "clean"]
    return ("NOT FROM A CLEAN COMMIT", bad) if bad else ("", [])


def threads_of(xb):
    """The thread settings a run used: torch's pool, the BLAS pools, the pinning variables."""
    parts = [f"torch {xb['torch_threads']}" if xb.get("torch_threads") else "torch: not loaded"]
    for p in xb.get("blas") or []:
        n = p.get("num_threads")
        parts.append(f"{p.get('internal_api')}{' ' + p['version'] if p.get('version') else ''} "
                     f"({n} thread{'' if n == 1 else 's'})")
    if not xb.get("blas"):
        parts.append("BLAS: not recorded (threadpoolctl not installed)")
    pins = {k: v for k, v in (xb.get("env") or {}).items() if k.endswith("NUM_THREADS") or k == "XGRAD_BENCH_THREADS"}
    parts.append(", ".join(f"{k}={v}" for k, v in pins.items()) if pins else "not pinned (the libraries' defaults)")
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------------
# plots
def _errorbars(pts):
    """Median times (us) and their asymmetric error bars (median - q1, q3 - median) for plotting."""
    med = [t * 1e6 for _, t, _ in pts]
    lo = [max(0.0, (t - (r.get("q1") if r.get("q1") is not None else t)) * 1e6) for _, t, r in pts]
    hi = [max(0.0, ((r.get("q3") if r.get("q3") is not None else t) - t) * 1e6) for _, t, r in pts]
    return med, [lo, hi]


def _stamp(fig, warning):
    """The large-type warning across a figure whose results are not from a clean commit."""
    if warning:
        size = min(34, 3.4 * fig.get_figwidth())
        fig.text(0.5, 0.5, warning, ha="center", va="center", fontsize=size, color="red", alpha=0.25,
                 rotation=20, weight="bold", zorder=10)


def _bars(ax, curves, roles, styles, op):
    """One size only: each engine's median time as a bar with its q1-q3 error bar."""
    engs = engine_order(curves, roles)
    rows = [curves[e][0] for e in engs]
    med, err = _errorbars(rows)
    colors = ["tab:cyan" if roles.get(e) == "xgrad" and "compiled" in e else
              styles.get(roles.get(e), styles["peer"])["color"] for e in engs]
    ax.barh(range(len(engs)), med, xerr=err, color=colors, capsize=3, height=0.6)
    ax.set_yticks(range(len(engs)), engs, fontsize=8)
    ax.invert_yaxis()
    for i, m in enumerate(med):
        ax.annotate(f"{m:,.1f} \u00b5s", xy=(m + err[1][i], i), xytext=(5, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set_xlim(0, max(m + hi for m, hi in zip(med, err[1])) * 1.3)
    label = rows[0][2].get("label", "")
    ref = " (the reference step)" if rows[0][2].get("reference") else ""
    ax.set_title(f"{OP_TITLE.get(op, op)}\none size only: {label}{ref}", fontsize=9)
    ax.set_xlabel("time per call (\u00b5s; median, bars q1-q3)")
    ax.grid(True, axis="x", alpha=0.3)


def plot_device(idx, roles, device, out_dir, marks, warning=""):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    styles = {"floor": dict(color="0.45", ls=":", marker="s"), "xgrad": dict(color="tab:blue", ls="-", marker="o"),
              "torch": dict(color="tab:red", ls="-", marker="^"), "peer": dict(color="tab:green", ls="--", marker="d")}
    dtypes = sorted({dt for op in idx[device].values() for dt in op})
    where = DEVICE_TITLE.get(device, device)
    for dtype in dtypes:
        ops = [op for op in OP_ORDER if dtype in idx[device].get(op, {})]
        ops += sorted(op for op in idx[device] if op not in OP_ORDER and op not in WHOLE_RUNS
                      and dtype in idx[device][op])
        # one row up to four panels; beyond, three or four columns, whichever leaves fewer empty panels
        ncol = len(ops) if len(ops) <= 4 else min((4, 3), key=lambda c: (-len(ops) % c, -c))
        nrow = math.ceil(len(ops) / ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(max(5.4 * ncol, 8.5), 4.4 * nrow + 0.8), squeeze=False)
        for ax, op in zip(axes.flat, ops):
            curves = idx[device][op][dtype]
            sizes = {p[0] for pts in curves.values() for p in pts}
            if len(sizes) == 1:  # one size only: a bar per engine, not a line through one point
                _bars(ax, curves, roles, styles, op)
                continue
            for eng in engine_order(curves, roles):
                pts = curves[eng]
                st = dict(styles.get(roles.get(eng), styles["peer"]))
                if roles.get(eng) == "xgrad" and "compiled" in eng:
                    st.update(color="tab:cyan", ls="--")
                med, yerr = _errorbars(pts)
                ax.errorbar([p[0] for p in pts], med, yerr=yerr, label=eng, ms=4, lw=1.5, capsize=2, **st)
            ax.set_xscale("log")
            ax.set_yscale("log")
            if op == "mlp_step":
                for eng, pts in curves.items():
                    for f, t, row in pts:
                        if row.get("reference"):
                            ax.plot([f], [t * 1e6], marker="*", ms=12, color="gold", mec="k", zorder=5)
                ax.plot([], [], marker="*", ms=10, color="gold", mec="k", ls="", label="reference 2-32-32-2, batch 64")
            # crossovers: a dashed line each, labels stepped down the panel so that none overprints another
            x0, x1 = (math.log10(v) for v in ax.get_xlim())
            for k, (x, d) in enumerate(marks.get((device, op, dtype), [])):
                ax.axvline(x, color="k", lw=1, ls="--", alpha=0.6)
                right = (math.log10(x) - x0) / (x1 - x0) > 0.6  # near the right edge: label on the line's left
                text = f"crossover {fmt_flops(x)}" + (" (2 sizes only)" if len(sizes) == 2 else "")
                ax.annotate(text, xy=(x, 0.97 - 0.09 * k), xycoords=("data", "axes fraction"),
                            ha="right" if right else "left", va="top", fontsize=8, xytext=(-3 if right else 3, 0),
                            textcoords="offset points",
                            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
            ax.set_title(OP_TITLE.get(op, op), fontsize=10)
            ax.set_xlabel("FLOPs per op (forward + backward)" if op != "mlp_step" else "FLOPs per training step")
            ax.set_ylabel("time per call (\u00b5s; median, bars q1-q3)")
            ax.grid(True, which="major", alpha=0.3)
            ax.legend(fontsize=8, loc="best", title="engine", title_fontsize=8, framealpha=0.85)
        for ax in list(axes.flat)[len(ops):]:
            ax.set_visible(False)
        swept = any(len({p[0] for pts in idx[device][op][dtype].values() for p in pts}) > 1 for op in ops)
        what = "time per call vs FLOPs" + ("\n" if ncol < 3 else " ") + "(log-log; lower is faster)" if swept \
            else "time per call (lower is faster)"
        fig.suptitle(f"xgrad vs PyTorch on the {where}, {dtype}: {what}", fontsize=12)
        _stamp(fig, warning)
        fig.tight_layout()
        name = f"{device}-{dtype}.png"
        fig.savefig(os.path.join(out_dir, name), dpi=110)
        plt.close(fig)
        files.append(name)

    # the map: torch time / xgrad time vs FLOPs for every op kind
    fig, ax = plt.subplots(figsize=(8.5, 5.2))
    colors = dict(zip(OP_ORDER, ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink")))
    drawn = None
    for op in OP_ORDER:
        for dtype, ls, marker in (("float64", "-", "o"), ("float32", "--", "s")):
            curves = idx[device].get(op, {}).get(dtype, {})
            xe = [e for e in pick(curves, roles, "xgrad") if "compiled" not in e]
            te = pick(curves, roles, "torch")
            if not xe or not te:
                continue
            _, xs, r = crossovers(curves[xe[0]], curves[te[0]])
            if xs:
                ax.plot(xs, [math.exp(-v) for v in r], ls=ls, marker=marker, ms=4, color=colors[op],
                        label=f"{op}, {dtype}")
                drawn = (xe[0], te[0])
    if drawn:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axhline(1, color="k", lw=1)
        ax.set_xlabel("FLOPs per op (forward + backward)")
        ax.set_ylabel("PyTorch time / xgrad time (ratio of medians; > 1: xgrad faster)")
        ax.set_title(f"Where xgrad ({drawn[0]}) beats PyTorch eager ({drawn[1]}) on the {where}", fontsize=11)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, ncol=2, title="op kind, dtype", title_fontsize=8, loc="best")
        _stamp(fig, warning)
        fig.tight_layout()
        name = f"{device}-speedup.png"
        fig.savefig(os.path.join(out_dir, name), dpi=110)
        files.append(name)
    plt.close(fig)
    return files


# ---------------------------------------------------------------------------------------------------
# markdown
def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def report(paths, out_dir, plots=True):
    rows, sources = load(paths)
    idx, roles = index(rows)
    os.makedirs(out_dir, exist_ok=True)
    warning, why = unsound(sources)
    md = ["# xgrad benchmark report", ""]
    if warning:
        md += [f"# {warning}", "", "These results cannot be tied to one committed tree:", ""]
        md += [f"- {w}" for w in why] + ["", "Re-run `python -m bench.run` from a clean checkout to get a record.", ""]
    md += ["Generated by `python -m bench.report " + " ".join(paths)
           + f" --out {out_dir}` from pytest-benchmark JSON. Times are medians over rounds, per call, with the "
           "spread of the rounds as [first quartile-third quartile]; one call is "
          "forward + backward of one op (with a fixed upstream gradient), or for `mlp_step` a whole training step "
          "(forward, backward, SGD update). FLOPs per op count forward + backward (bench/flops.py). "
          "The floor is the raw array library with hand-derived gradients and no autograd, written as tight as we "
          "could (bench/engines.py).", "", "## Machine", ""]
    for s in sources:
        md += machine_lines(s) + [""]
    if not rows:
        md.append("No benchmark rows with xgrad extra_info were found.")
    headline = {}
    for device in sorted(idx):
        dev = idx[device]
        md += [f"## {DEVICE_TITLE.get(device, device)}", ""]
        dtypes = sorted({dt for op in dev.values() for dt in op})
        marks = {}
        # crossover
        cx_rows = []
        pairs = set()
        for op in [o for o in OP_ORDER if o in dev] + sorted(set(dev) - set(OP_ORDER) - set(WHOLE_RUNS)):
            cells = []
            for dt in dtypes:
                curves = dev[op].get(dt, {})
                xe = [e for e in pick(curves, roles, "xgrad") if "compiled" not in e] or pick(curves, roles, "xgrad")
                te = pick(curves, roles, "torch")
                if not xe or not te:
                    cells.append("not measured")
                    continue
                pairs.add((xe[0], te[0]))
                found, xs, r = crossovers(curves[xe[0]], curves[te[0]])
                marks[(device, op, dt)] = found
                cells.append(describe_crossover(found, xs, r, "xgrad", "torch"))
                headline[(device, op, dt)] = (found, xs, r)
            cx_rows.append([op] + cells)
        who = ", ".join(f"{a} vs {b}" for a, b in sorted(pairs)) or "xgrad vs torch"
        md += [f"### Crossover FLOPs per op ({who})", "",
               "Log-log interpolation of the median time vs FLOPs per op between neighbouring sizes. Below the "
               "crossover the eager per-op overhead dominates; above it the kernels do.", ""]
        md += table(["op kind"] + dtypes, cx_rows) + [""]

        # the reference step
        ref_rows = []
        for dt in dtypes:
            curves = dev.get("mlp_step", {}).get(dt, {})
            refs = {e: next((r for f, t, r in pts if r.get("reference")), None) for e, pts in curves.items()}
            refs = {e: r for e, r in refs.items() if r is not None}
            vals = {e: r["median"] for e, r in refs.items()}
            if not vals:
                continue
            fl = pick(vals, roles, "floor")
            xe = pick(vals, roles, "xgrad")
            te = pick(vals, roles, "torch")
            for x in xe:
                f = vals[fl[0]] if fl else None
                t = vals[te[0]] if te else None
                ref_rows.append([dt, x, fmt_spread(refs[x]), fmt_spread(refs[te[0]]) if t else "-",
                                 fmt_spread(refs[fl[0]]) if f else "-",
                                 fmt_ratio(vals[x] / f) if f else "-", fmt_ratio(t / vals[x]) if t else "-",
                                 fmt_ratio(t / f) if t and f else "-"])
        if ref_rows:
            flo = pick(dev["mlp_step"][dtypes[0]], roles, "floor") if dtypes[0] in dev["mlp_step"] else []
            tor = pick(dev["mlp_step"][dtypes[0]], roles, "torch") if dtypes[0] in dev["mlp_step"] else []
            md += ["### Reference training step: 2-32-32-2 tanh MLP, batch 64", "",
                   "One SGD step (forward, cross-entropy, backward, update), identical weights and batch for every "
                   "engine; median us per step [first-third quartile].", ""]
            md += table(["dtype", "xgrad engine", "xgrad us", f"{(tor or ['torch'])[0]} us",
                         f"{(flo or ['floor'])[0]} us", "xgrad / floor", "torch / xgrad (speed-up)",
                         "torch / floor"], ref_rows) + [""]

        # the reference step on every engine (peers: PyTorch with the step in a CUDA graph, torch.compile)
        all_rows = []
        for dt in dtypes:
            curves = dev.get("mlp_step", {}).get(dt, {})
            refs = {e: next((r for f, t, r in pts if r.get("reference")), None) for e, pts in curves.items()}
            refs = {e: r for e, r in refs.items() if r is not None}
            te = pick(refs, roles, "torch")
            if not any(roles.get(e) == "peer" for e in refs):
                continue
            for e in engine_order(refs, roles):
                t = refs[te[0]]["median"] if te else None
                all_rows.append([dt, e, roles.get(e, "peer"), fmt_spread(refs[e]),
                                 fmt_ratio(t / refs[e]["median"]) if t else "-"])
        if all_rows:
            md += ["### Reference training step on every engine", "",
                   "The same step and batch; peers are PyTorch at its fastest for a small step (the whole step "
                   "captured in a `torch.cuda.CUDAGraph`; `torch.compile(mode=\"reduce-overhead\")`). Median us "
                   "[first-third quartile]; speed-up over PyTorch eager.", ""]
            md += table(["dtype", "engine", "role", "us per step", "torch eager / engine"], all_rows) + [""]

        # whole training runs
        for op, title in WHOLE_RUNS.items():
            run_rows = []
            for dt in dtypes:
                curves = dev.get(op, {}).get(dt, {})
                rows = {e: pts[0][2] for e, pts in curves.items() if pts}
                te = pick(rows, roles, "torch")
                for x in pick(rows, roles, "xgrad"):
                    t = rows[te[0]] if te else None
                    run_rows.append([dt, x, fmt_ms(rows[x]), fmt_ms(t) if t else "-",
                                     fmt_ratio(rows[x]["median"] / t["median"]) if t else "-"])
            if run_rows:
                tor = next((e for dt in dtypes for e in pick(dev[op].get(dt, {}), roles, "torch")), "torch")
                md += [f"### {title}", "",
                       "A whole epoch, as a user trains (`bench/engines.py`: the engine's model, optimizer and loss, the "
                       "same weights and batches for every engine); median ms per epoch [first-third quartile].", ""]
                md += table(["dtype", "xgrad engine", "xgrad ms", f"{tor} ms", "xgrad / torch"], run_rows) + [""]

        # overhead at the smallest size
        ov_rows = []
        engines_here = engine_order({e for op in dev.values() for dt in op.values() for e in dt}, roles)
        for op in [o for o in OP_ORDER if o in dev]:
            for dt in dtypes:
                curves = dev[op].get(dt, {})
                if not curves:
                    continue
                smallest = min(p[0] for pts in curves.values() for p in pts)
                at = {e: next((r for f, t, r in pts if f == smallest), None) for e, pts in curves.items()}
                vals = {e: (r["median"] if r is not None else None) for e, r in at.items()}
                lab = next(r["label"] for pts in curves.values() for f, t, r in pts if f == smallest)
                fl = pick(vals, roles, "floor")
                xe = [e for e in pick(vals, roles, "xgrad") if vals.get(e) is not None]
                xe = [e for e in xe if "compiled" not in e] or xe
                f = vals.get(fl[0]) if fl else None
                x = vals.get(xe[0]) if xe else None
                cells = [fmt_spread(at[e]) if vals.get(e) is not None else "-" for e in engines_here]
                ov_rows.append([op, dt, lab, fmt_flops(smallest)] + cells +
                               [fmt_us(x - f) if x is not None and f is not None else "-",
                                fmt_ratio(x / f) if x is not None and f else "-"])
        md += ["### Per-op overhead at the smallest size (median us per call [first-third quartile])", "",
               "At the smallest size the math is negligible, so the time is the engine's per-op cost "
               "(forward + backward). `xgrad - floor` is what autograd adds over the raw library.", ""]
        md += table(["op kind", "dtype", "size", "FLOPs"] + engines_here + ["xgrad - floor (us)", "xgrad / floor"],
                    ov_rows) + [""]

        # speed-up tables
        busy_rows = [r for op in dev.values() for dt in op.values() for pts in dt.values() for _, _, r in pts
                     if contended(r)]
        n_rows = sum(len(pts) for op in dev.values() for dt in op.values() for pts in dt.values())
        md += ["### Measurement conditions", "",
               f"{n_rows} cases. Other processes' CPU use is recorded per case (`other_cpu_cores`); "
               f"{len(busy_rows)} CPU cases were measured while other processes kept busy the cores the benchmark "
               "needed (marked * below; multi-threaded kernels such as torch's and BLAS's stall under such contention). "
               "`python -m bench.run` re-runs those cases when the machine is quieter.", ""]
        md += ["### Speed-up tables", "",
               "Median us per call for each engine [first-third quartile of the rounds]; `torch / xgrad` > 1 means "
               "xgrad is faster; `xgrad / floor` is "
               "xgrad's cost over the raw library with hand-written gradients.", ""]
        for op in [o for o in OP_ORDER if o in dev]:
            md += [f"#### {OP_TITLE.get(op, op)}", ""]
            for dt in dtypes:
                curves = dev[op].get(dt, {})
                if not curves:
                    continue
                engs = engine_order(curves, roles)
                xe = [e for e in pick(curves, roles, "xgrad") if "compiled" not in e] or pick(curves, roles, "xgrad")
                te = pick(curves, roles, "torch")
                fl = pick(curves, roles, "floor")
                by_f, spread = defaultdict(dict), {}
                labels, busy = {}, set()
                for e in engs:
                    for f, t, r in curves[e]:
                        by_f[f][e] = t
                        spread[(f, e)] = fmt_spread(r)
                        labels[f] = r["label"]
                        if contended(r):
                            busy.add((f, e))
                trs = []
                for f in sorted(by_f):
                    v = by_f[f]
                    x = v.get(xe[0]) if xe else None
                    t = v.get(te[0]) if te else None
                    fv = v.get(fl[0]) if fl else None
                    trs.append([labels[f], fmt_flops(f)] +
                               [spread[(f, e)] + ("*" if (f, e) in busy else "") if e in v else "-" for e in engs] +
                               [fmt_ratio(t / x) if t and x else "-", fmt_ratio(x / fv) if x and fv else "-"])
                md += [f"{dt}:", ""]
                md += table(["size", "FLOPs"] + [f"{e} us" for e in engs] + ["torch / xgrad", "xgrad / floor"],
                            trs) + [""]
        if plots:
            files = plot_device(idx, roles, device, out_dir, marks, warning)
            md += ["### Plots", ""]
            for f in files:
                md += [f"![{f}]({f})", ""]
    if rows:
        md += ["## Appendix: the floors", "",
               "`numpy-floor` is `NumpyFloorEngine` in `bench/engines.py` at the commit above: buffers allocated once "
               "outside the timed call, ufuncs with `out=`, `np.dot` into preallocated arrays, ufunc reductions, "
               "labels picked by flat indices, and in the training step the learning rate folded into the loss "
               "gradient. `cupy-floor` is `FloorEngine(\"cupy\")` there: the plain hand-written backprop. "
               "`bench/test_agreement.py` checks that every floor computes what xgrad and PyTorch compute.", ""]
    path = os.path.join(out_dir, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(md).rstrip() + "\n")
    return path, headline


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="+", help="pytest-benchmark --benchmark-json files")
    p.add_argument("--out", required=True, help="folder for report.md and the PNG plots")
    p.add_argument("--no-plots", action="store_true", help="skip the PNGs (no matplotlib needed)")
    a = p.parse_args(argv)
    path, _ = report(a.results, a.out, plots=not a.no_plots)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
