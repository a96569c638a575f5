"""The benchmark report: crossover FLOPs per op between xgrad and PyTorch, per-op overhead, speed-up
tables, the reference training step, and log-log plots, from pytest-benchmark JSON alone.

    python -m bench.report RESULTS.json [MORE.json ...] --out bench/results/NAME

writes NAME/report.md and NAME/*.png. Every number is a median over rounds (pytest-benchmark's
``stats.median``, seconds per call); the FLOP counts come from the cases' ``extra_info`` (bench/flops.py).
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


def fmt_ratio(x):
    return "-" if x is None else (f"{x:.2f}" if x < 10 else f"{x:.1f}")


def describe_crossover(found, xs, r, xname="xgrad", tname="torch"):
    if not xs:
        return "not measured"
    if not found:
        who = xname if r[0] < 0 else tname
        return f"none in range ({who} faster throughout {fmt_flops(xs[0])} to {fmt_flops(xs[-1])})"
    parts = []
    for x, d in found:
        parts.append(f"**{fmt_flops(x)}** ({xname} faster {'below' if d == 'a-faster-below' else 'above'})")
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------------
# machine
def machine_lines(src):
    mi = src["machine_info"]
    xb = mi.get("xgrad_bench", {})
    cpu = xb.get("cpu_model") or (mi.get("cpu") or {}).get("brand_raw") or mi.get("processor") or "?"
    cores = xb.get("usable_cores") or xb.get("logical_cores") or (mi.get("cpu") or {}).get("count")
    lines = [f"- results: `{src['path']}`, taken {src.get('datetime') or '?'}"]
    ci = src.get("commit_info") or {}
    env_commit = (xb.get("env") or {}).get("XGRAD_BENCH_COMMIT")
    if env_commit and (not ci.get("id") or ci.get("id") == "unknown"):
        lines.append(f"- commit: `{env_commit}` (XGRAD_BENCH_COMMIT; the tree ran without .git)")
    elif ci.get("id"):
        lines.append(f"- commit: `{ci['id'][:10]}`{' (dirty tree)' if ci.get('dirty') else ''} on {ci.get('branch')}")
    lines.append(f"- CPU: {cpu}, {cores} cores usable" + (f", {xb['memory_gib']} GiB RAM" if xb.get("memory_gib") else ""))
    lines.append(f"- GPU: {xb.get('gpu') or 'none'}" + (f" (CUDA runtime {xb['cuda_runtime']}, driver {xb['cuda_driver']})"
                                                         if xb.get("cuda_runtime") else ""))
    lines.append(f"- OS: {xb.get('platform') or mi.get('system')}; Python {xb.get('python') or mi.get('python_version')}")
    vers = xb.get("versions") or {}
    if vers:
        lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in vers.items() if v))
    extra = []
    if xb.get("torch_threads"):
        extra.append(f"torch threads {xb['torch_threads']}")
    for p in xb.get("blas") or []:
        extra.append(f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} threads)")
    if xb.get("env"):
        extra.append(", ".join(f"{k}={v}" for k, v in xb["env"].items()))
    if extra:
        lines.append("- threads: " + "; ".join(extra))
    return lines


# ---------------------------------------------------------------------------------------------------
# plots
def plot_device(idx, roles, device, out_dir, marks):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    styles = {"floor": dict(color="0.45", ls=":", marker="s"), "xgrad": dict(color="tab:blue", ls="-", marker="o"),
              "torch": dict(color="tab:red", ls="-", marker="^"), "peer": dict(color="tab:green", ls="--", marker="d")}
    dtypes = sorted({dt for op in idx[device].values() for dt in op})
    for dtype in dtypes:
        ops = [op for op in OP_ORDER if dtype in idx[device].get(op, {})]
        ncol = 3
        nrow = math.ceil(len(ops) / ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 4.2 * nrow), squeeze=False)
        for ax, op in zip(axes.flat, ops):
            curves = idx[device][op][dtype]
            for i, eng in enumerate(engine_order(curves, roles)):
                pts = curves[eng]
                st = dict(styles.get(roles.get(eng), styles["peer"]))
                if roles.get(eng) == "xgrad" and i and "compiled" in eng:
                    st.update(color="tab:cyan", ls="--")
                ax.loglog([p[0] for p in pts], [p[1] * 1e6 for p in pts], label=eng, ms=4, lw=1.5, **st)
            if op == "mlp_step":
                for eng, pts in curves.items():
                    for f, t, row in pts:
                        if row.get("reference"):
                            ax.plot([f], [t * 1e6], marker="*", ms=12, color="gold", mec="k", zorder=5)
                ax.plot([], [], marker="*", ms=10, color="gold", mec="k", ls="", label="reference 2-32-32-2 b64")
            for x, d in marks.get((device, op, dtype), []):
                ax.axvline(x, color="k", lw=1, ls="--", alpha=0.6)
                ax.annotate(f"crossover\n{fmt_flops(x)}", xy=(x, 0.97), xycoords=("data", "axes fraction"),
                            ha="left", va="top", fontsize=8, xytext=(3, 0), textcoords="offset points")
            ax.set_title(OP_TITLE.get(op, op), fontsize=10)
            ax.set_xlabel("FLOPs per op (forward + backward)" if op != "mlp_step" else "FLOPs per step")
            ax.set_ylabel("median time per call (us)")
            ax.grid(True, which="major", alpha=0.3)
            ax.legend(fontsize=8, loc="best")
        for ax in list(axes.flat)[len(ops):]:
            ax.set_visible(False)
        fig.suptitle(f"xgrad vs PyTorch on the {DEVICE_TITLE.get(device, device)}, {dtype}: time per call vs FLOPs "
                     "(log-log; lower is faster)", fontsize=12)
        fig.tight_layout()
        name = f"{device}-{dtype}.png"
        fig.savefig(os.path.join(out_dir, name), dpi=110)
        plt.close(fig)
        files.append(name)

    # the map: torch time / xgrad time vs FLOPs for every op kind
    fig, ax = plt.subplots(figsize=(8, 5))
    colors = dict(zip(OP_ORDER, ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")))
    drawn = False
    for op in OP_ORDER:
        for dtype, ls in (("float64", "-"), ("float32", "--")):
            curves = idx[device].get(op, {}).get(dtype, {})
            xe = [e for e in pick(curves, roles, "xgrad") if "compiled" not in e]
            te = pick(curves, roles, "torch")
            if not xe or not te:
                continue
            _, xs, r = crossovers(curves[xe[0]], curves[te[0]])
            if xs:
                ax.semilogx(xs, [math.exp(-v) for v in r], ls=ls, marker="o", ms=3, color=colors[op],
                            label=f"{op} {dtype}")
                drawn = True
    if drawn:
        ax.set_yscale("log")
        ax.axhline(1, color="k", lw=1)
        ax.set_xlabel("FLOPs per op (forward + backward)")
        ax.set_ylabel("PyTorch time / xgrad time  (> 1: xgrad faster)")
        ax.set_title(f"Where xgrad beats PyTorch eager on the {DEVICE_TITLE.get(device, device)}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
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
    md = ["# xgrad benchmark report", "",
          "Generated by `python -m bench.report " + " ".join(os.path.relpath(p, out_dir) if False else p for p in paths)
          + f" --out {out_dir}` from pytest-benchmark JSON. Times are medians over rounds, per call; one call is "
          "forward + backward of one op (with a fixed upstream gradient), or for `mlp_step` a whole training step "
          "(forward, backward, SGD update). FLOPs per op count forward + backward (bench/flops.py). "
          "The floor is the raw array library with hand-derived gradients and no autograd.", "", "## Machine", ""]
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
        for op in [o for o in OP_ORDER if o in dev] + sorted(set(dev) - set(OP_ORDER)):
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
            vals = {e: next((t for f, t, r in pts if r.get("reference")), None) for e, pts in curves.items()}
            vals = {e: t for e, t in vals.items() if t is not None}
            if not vals:
                continue
            fl = pick(vals, roles, "floor")
            xe = pick(vals, roles, "xgrad")
            te = pick(vals, roles, "torch")
            for x in xe:
                f = vals[fl[0]] if fl else None
                t = vals[te[0]] if te else None
                ref_rows.append([dt, x, fmt_us(vals[x]), fmt_us(t) if t else "-", fmt_us(f) if f else "-",
                                 fmt_ratio(vals[x] / f) if f else "-", fmt_ratio(t / vals[x]) if t else "-",
                                 fmt_ratio(t / f) if t and f else "-"])
        if ref_rows:
            flo = pick(dev["mlp_step"][dtypes[0]], roles, "floor") if dtypes[0] in dev["mlp_step"] else []
            tor = pick(dev["mlp_step"][dtypes[0]], roles, "torch") if dtypes[0] in dev["mlp_step"] else []
            md += ["### Reference training step: 2-32-32-2 tanh MLP, batch 64", "",
                   "One SGD step (forward, cross-entropy, backward, update), identical weights and batch for every "
                   "engine; median us per step.", ""]
            md += table(["dtype", "xgrad engine", "xgrad us", f"{(tor or ['torch'])[0]} us",
                         f"{(flo or ['floor'])[0]} us", "xgrad / floor", "torch / xgrad (speed-up)",
                         "torch / floor"], ref_rows) + [""]

        # overhead at the smallest size
        ov_rows = []
        engines_here = engine_order({e for op in dev.values() for dt in op.values() for e in dt}, roles)
        for op in [o for o in OP_ORDER if o in dev]:
            for dt in dtypes:
                curves = dev[op].get(dt, {})
                if not curves:
                    continue
                smallest = min(p[0] for pts in curves.values() for p in pts)
                vals = {e: next((t for f, t, _ in pts if f == smallest), None) for e, pts in curves.items()}
                lab = next(r["label"] for pts in curves.values() for f, t, r in pts if f == smallest)
                fl = pick(vals, roles, "floor")
                xe = [e for e in pick(vals, roles, "xgrad") if vals.get(e) is not None]
                xe = [e for e in xe if "compiled" not in e] or xe
                f = vals.get(fl[0]) if fl else None
                x = vals.get(xe[0]) if xe else None
                cells = [fmt_us(vals[e]) if vals.get(e) is not None else "-" for e in engines_here]
                ov_rows.append([op, dt, lab, fmt_flops(smallest)] + cells +
                               [fmt_us(x - f) if x is not None and f is not None else "-",
                                fmt_ratio(x / f) if x is not None and f else "-"])
        md += ["### Per-op overhead at the smallest size (median us per call)", "",
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
               "Median us per call for each engine; `torch / xgrad` > 1 means xgrad is faster; `xgrad / floor` is "
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
                by_f = defaultdict(dict)
                labels, busy = {}, set()
                for e in engs:
                    for f, t, r in curves[e]:
                        by_f[f][e] = t
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
                               [fmt_us(v[e]) + ("*" if (f, e) in busy else "") if e in v else "-" for e in engs] +
                               [fmt_ratio(t / x) if t and x else "-", fmt_ratio(x / fv) if x and fv else "-"])
                md += [f"{dt}:", ""]
                md += table(["size", "FLOPs"] + [f"{e} us" for e in engs] + ["torch / xgrad", "xgrad / floor"],
                            trs) + [""]
        if plots:
            files = plot_device(idx, roles, device, out_dir, marks)
            md += ["### Plots", ""]
            for f in files:
                md += [f"![{f}]({f})", ""]
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
