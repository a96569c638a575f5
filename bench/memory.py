"""Peak memory of one training step, per engine: ``python -m bench.memory --out bench/results/cpu``.

tracemalloc sees every NumPy allocation, so the peak it records during one step (over what was live
before the step) is the step's working memory: activations kept for backward, gradients, temporaries.
Each engine is measured after a few warm-up steps (xgrad.compile has traced by then). PyTorch's
allocator is invisible to tracemalloc, so only NumPy engines are compared.
"""

import argparse
import gc
import os
import tracemalloc

from . import cases, engines

ENGINES = ("numpy-floor", "xgrad-numpy", "xgrad-compiled-numpy")
# The timed NumPy floor allocates its buffers once, outside the step, so its peak during a step is not its
# working memory. Memory is compared against the plain hand-written backprop (FloorEngine), which
# allocates what it needs inside the step, as xgrad does.
MEMORY_FLOOR = engines.FloorEngine("numpy")
SIZES = ({k: v for k, v in cases.REFERENCE.items() if k != "op"}, dict(batch=1024, widths=(256, 1024, 1024, 10)))


def peak_bytes(engine_name, params, dtype, warmup=3):
    """Bytes allocated at the peak of one step, above what was live before it."""
    engine = MEMORY_FLOOR if engine_name == "numpy-floor" else engines.ENGINES[engine_name]
    case = engine.build("mlp_step", cases.make_data("mlp_step", params, dtype))
    for _ in range(warmup):
        case.call()
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    case.call()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="folder for memory.md (printed only when omitted)")
    ap.add_argument("--dtype", default="float64")
    args = ap.parse_args(argv)
    rows = ["| step (widths, batch) | " + " | ".join(ENGINES) + " | xgrad / floor | compiled / floor |",
            "|---|" + "---|" * (len(ENGINES) + 2)]
    for params in SIZES:
        peaks = {name: peak_bytes(name, params, args.dtype) for name in ENGINES}
        floor = peaks["numpy-floor"]
        cells = [f"{peaks[n] / 1024:,.1f} KiB" for n in ENGINES]
        rows.append(f"| {'-'.join(map(str, params['widths']))}, {params['batch']} | " + " | ".join(cells)
                    + f" | {peaks['xgrad-numpy'] / floor:.2f} | {peaks['xgrad-compiled-numpy'] / floor:.2f} |")
    text = (f"# Peak memory of one training step ({args.dtype}, tracemalloc, NumPy engines)\n\n"
            "Peak bytes allocated during one step above what was live before it; numpy-floor here is the plain "
            "hand-written backprop that allocates inside the step (the timed floor preallocates its buffers); "
            "`python -m bench.memory --out DIR` reproduces it.\n\n" + "\n".join(rows) + "\n")
    print(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "memory.md"), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
