#!/usr/bin/env bash
# Everything GPU-related in one run, for a short lease of a GPU machine that reaches no network:
#   here (with network):  bench/gpu_session.sh wheels      # pure-Python wheels the GPU image may lack -> .gpu-wheels/
#   on the GPU machine:   bench/gpu_session.sh run OUTDIR  # installs them offline, runs the checks below,
#                                                         # logs and results under OUTDIR
# The run: the GPU tests (CUDA graphs, the CuPy backend over the op table, fusion, deferred checks,
# compile), the reference `xgrad train` run on CPU and GPU (steps/s, accuracy), then the GPU benchmark suite and its report (bench/results/gpu, from the tree as copied: commit it with the
# exact commit it ran, as bench/README.md says). Each step's log goes to OUTDIR; a failing step does
# not stop the ones after it, and the exit code says whether any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
WHEELS=.gpu-wheels   # ignored by git (.gitignore); name it in the device tool's `carry`

case "${1:-}" in
wheels)
    mkdir -p "$WHEELS"
    # xgrad's own run-time and test dependencies that are pure Python (the image has numpy, CuPy,
    # torch, pytest and pytest-benchmark); for CPython 3.12 on x86-64
    python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
        -d "$WHEELS" array-api-compat "hypothesis>=6.151" sortedcontainers attrs ndindex array-api-strict \
        threadpoolctl || exit 1
    ls "$WHEELS"
    ;;
run)
    out="${2:?usage: bench/gpu_session.sh run OUTDIR}"
    mkdir -p "$out"
    failed=0
    step() {  # step NAME COMMAND...: run, log to OUTDIR/NAME.log, remember a failure
        local name=$1; shift
        echo "== $name: $*" | tee -a "$out/steps.log"
        local t0=$SECONDS
        "$@" >"$out/$name.log" 2>&1
        local rc=$?
        echo "   rc=$rc in $((SECONDS - t0)) s" | tee -a "$out/steps.log"
        [ $rc -eq 0 ] || failed=1
        tail -3 "$out/$name.log"
    }
    export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
    [ -d "$WHEELS" ] && python -m pip install -q --no-index --no-deps "$WHEELS"/*.whl  # (not the image's numpy)
    step env python -c "import cupy, torch, xgrad; print(cupy.__version__, cupy.cuda.runtime.getDeviceCount(), torch.__version__, torch.cuda.is_available())"
    # the op table on CuPy (forward vs torch, finite differences, second order) and the GPU-only tests
    # CUDA graphs first: the newest code, and what the rest of the run measures
    step tests-graphs python -m pytest -q -p no:cacheprovider -rs tests/test_graphs_gpu.py tests/test_graphs.py
    step tests-cupy python -m pytest -q -p no:cacheprovider -k "cupy or gpu" \
        tests/test_gradients.py tests/test_conv.py tests/test_nn_layers.py tests/test_compile.py \
        tests/test_deferred_checks.py tests/test_fusion_gpu.py
    step tests-backend-cupy env XGRAD_BACKEND=cupy python -m pytest -q -p no:cacheprovider \
        tests/test_fusion_gpu.py tests/test_deferred_checks.py tests/test_nn.py tests/test_optim.py \
        tests/test_graphs_gpu.py
    # the reference run (`xgrad train`: moons, 2-32-32-2, 200 epochs) on this machine's CPU and GPU
    step train-cpu python -m xgrad train --compile --no-progress
    step train-cupy python -m xgrad train --backend cupy --compile --no-progress
    step train-cupy-graph python -m xgrad train --backend cupy --compile --cuda-graph --no-progress
    step train-torch-cuda-graph python -m xgrad train --backend torch --device cuda --compile --cuda-graph \
        --no-progress
    step bench-gpu python -m bench.run gpu --out "$out/bench-gpu" --allow-dirty
    echo "failed=$failed" | tee -a "$out/steps.log"
    exit $failed
    ;;
*)
    sed -n 2,9p "$0"
    exit 2
    ;;
esac
