#!/usr/bin/env bash
# GPU checks and benchmarks of samplenorm on a host with an NVIDIA GPU, the CUDA 13 driver, nvcc, Python
# with PyTorch, cuDNN 9 and cuBLAS 13 (toolkit or NVIDIA's pip wheels), and no Java or Maven. Steps, in
# order of importance, each under its own time limit and all under one overall budget:
#   system      nvidia-smi, driver, GPU, PyTorch
#   junit       the GPU JUnit suite from the bundle (run.sh test), -Dsamplenorm.requireGpu=true, TF32 off
#               (NVIDIA_TF32_OVERRIDE=0): every generator mode on CUDA against the CPU, fp32 and fp16
#               against the float64 goldens, the CUDA kernels against the host kernels
#   kernel      benchmarks/gpu/run_kernel_check.sh: build with nvcc (for this GPU only), correctness
#               checks, bandwidth table against the measured device-to-device copy
#   java        the Java pipeline on CUDA: make-model unet_256; translate on cuda and on cpu, compared;
#               bench for --stats batch, sample, running (fp32) and batch, sample (fp16), 8-bit images
#               and float blobs, N = 1 and 16
#   torch-unet  benchmarks/gpu/torch_unet.py: the same unet_256 in PyTorch with train-mode BatchNorm:
#               eager, cudnn.benchmark, CUDA graph, host uint8 pipeline (torch.compile with --compile)
#   torch-bn    benchmarks/gpu/torch_batchnorm.py: F.batch_norm(training=True) on the kernel check's
#               shapes, and uint8 -> float -> batch_norm (torch.compile with --compile)
#   export      benchmarks/gpu/torch_export.py: the reference U-Net exported in training mode by this
#               host's PyTorch through both exporters (dynamo=False and dynamo=True), each run through
#               samplenorm on cuda and cpu against PyTorch's own train-mode output
# then summarize.py: results.json and summary.txt; the summary table is printed last in every case
# (a step that fails or runs out of time is recorded and the others still run). Exit status: 0 when
# every step ran and passed, 1 otherwise (targets missed are not failures).
#
# Usage: benchmarks/gpu/run_gpu_benchmarks.sh [--bundle DIR|FILE.tar.xz] [--out DIR] [--quick]
#            [--skip STEP,...] [--only STEP,...] [--budget SECONDS] [--compile] [--cpu-smoke]
#   --bundle     the bundle (default: this folder's bundle when run from inside an unpacked bundle, else
#                target/gpu-bundle, else target/gpu-carry/samplenorm-gpu-bundle.tar.xz)
#   --out        results folder (default: $OUT when set, else target/gpu-results); it receives
#                summary.txt, results.json, log.txt, kernel_check.txt, junit.txt, gpu_accuracy.tsv
#   --quick      fewer timed runs
#   --skip/--only  steps to leave out / to run: junit, kernel, java, torch-unet, torch-bn, export
#   --budget     seconds for all steps together, the summary included (default 510)
#   --compile    also time torch.compile (minutes of compilation; off by default)
#   --cpu-smoke  everything on the CPU with tiny sizes (kernel check: build only; GPU suite: skips
#                reported): checks the scripts, the bundle and the Python code on a machine without a GPU
# Environment: PYTHON (default /opt/torch/.venv/bin/python3 where it exists, else python3), NVCC /
#   CUDA_HOME (see run_kernel_check.sh), and the bundle's SAMPLENORM_* variables (see the bundle's run.sh).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# The bundle's run.sh finds the bundled model in the repository's models/ folder.
if [ -d "$ROOT/models" ] && [ -z "${SAMPLENORM_MODELS:-}" ]; then export SAMPLENORM_MODELS="$ROOT/models"; fi
BUNDLE_ARG=""
OUT_DIR=${OUT:-$ROOT/target/gpu-results}
QUICK=0
SMOKE=0
COMPILE=0
SKIP=""
ONLY=""
BUDGET=510
while [ $# -gt 0 ]; do
    case "$1" in
        --bundle) BUNDLE_ARG=$2; shift ;;
        --out) OUT_DIR=$2; shift ;;
        --quick) QUICK=1 ;;
        --skip) SKIP=",$2,"; shift ;;
        --only) ONLY=",$2,"; shift ;;
        --budget) BUDGET=$2; shift ;;
        --compile) COMPILE=1 ;;
        --cpu-smoke) SMOKE=1 ;;
        -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
        *) echo "run_gpu_benchmarks.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
case "$BUDGET" in ''|*[!0-9]*) echo "run_gpu_benchmarks.sh: --budget must be a number of seconds, got $BUDGET" >&2; exit 2 ;; esac
if [ -z "${PYTHON:-}" ]; then
    if [ -x /opt/torch/.venv/bin/python3 ]; then PYTHON=/opt/torch/.venv/bin/python3; else PYTHON=python3; fi
fi
PY=$PYTHON
# The bundle's run.sh and the kernel check look for NVIDIA's wheels and nvcc with this Python.
export PYTHON SAMPLENORM_PYTHON=$PY PYTHONUNBUFFERED=1
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/samplenorm-gpu-bench.XXXXXX")
LOG=$OUT_DIR/log.txt
: > "$LOG"
exec 3>&1 4>&2
exec > >(tee -a "$LOG") 2>&1
TEE_PID=$!
DEADLINE=$((SECONDS + BUDGET))
SUMMARY_RESERVE=25

STEPS=()
# step NAME LIMIT FUNCTION: runs one step unless skipped, under `timeout` (the step's limit, cut to what
# is left of the budget), recording its exit status and duration; 124 means it ran out of time.
step() {
    local name=$1 limit=$2 fn=$3
    case "$SKIP" in *",$name,"*) echo "== $name: skipped (--skip)"; return 0 ;; esac
    if [ -n "$ONLY" ]; then case "$ONLY" in *",$name,"*) ;; *) return 0 ;; esac; fi
    local left=$((DEADLINE - SUMMARY_RESERVE - SECONDS))
    if [ "$left" -lt 15 ]; then
        echo "== $name: not run, the budget of $BUDGET s is spent"
        STEPS+=("$name 125 0 $limit")
        return 0
    fi
    [ "$left" -lt "$limit" ] && limit=$left
    echo
    echo "== $name ($(date -u +%H:%M:%S), limit $limit s)"
    local t0=$SECONDS rc=0
    timeout -k 10 "$limit" bash -c "$fn" || rc=$?
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then echo "== $name: stopped at its time limit of $limit s"; rc=124; fi
    echo "== $name: exit status $rc, $((SECONDS - t0)) s"
    STEPS+=("$name $rc $((SECONDS - t0)) $limit")
    return 0
}

finish() {
    local status=$?
    trap - EXIT INT TERM
    {
        echo "{"
        local sep="" s name rc secs limit
        for s in ${STEPS[@]+"${STEPS[@]}"}; do
            read -r name rc secs limit <<< "$s"
            printf '%s  "%s": {"rc": %d, "seconds": %d, "limit": %d}' "$sep" "$name" "$rc" "$secs" "$limit"
            sep=$',\n'
        done
        printf '\n}\n'
    } > "$WORK/steps.json"
    for f in kernel_check.txt junit.txt gpu_accuracy.tsv; do
        [ -f "$WORK/$f" ] && cp "$WORK/$f" "$OUT_DIR/$f"
    done
    echo
    timeout 60 "$PY" "$HERE/summarize.py" "$WORK" "$OUT_DIR" > "$WORK/summary.out" 2>&1 || {
        echo "summarize.py failed:"; cat "$WORK/summary.out"; rm -rf "$WORK"; exit 1; }
    echo "results: $OUT_DIR (summary.txt, results.json, log.txt)"
    echo
    # The table last, whatever happened before: let tee drain, then print it on the original stdout.
    exec 1>&3 2>&4
    wait "$TEE_PID" 2>/dev/null
    cat "$WORK/summary.out" | tee -a "$LOG"
    rm -rf "$WORK"
    for s in ${STEPS[@]+"${STEPS[@]}"}; do
        read -r name rc secs limit <<< "$s"
        if [ "$rc" != 0 ]; then exit 1; fi
    done
    exit "$status"
}
trap finish EXIT
trap 'echo "run_gpu_benchmarks.sh: interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
step_system() {
    local gpu="" driver="" memory="" cc=""
    if command -v nvidia-smi >/dev/null 2>&1; then
        IFS=, read -r gpu driver memory cc < <(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap \
            --format=csv,noheader | head -n 1)
        nvidia-smi | head -n 20
    else
        echo "nvidia-smi not found"
    fi
    uname -a
    echo "python: $PY"
    "$PY" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda,
"cudnn", torch.backends.cudnn.version(), "gpu available", torch.cuda.is_available())' || true
    GPU_NAME=$(echo "$gpu" | xargs) DRIVER=$(echo "$driver" | xargs) MEMORY=$(echo "$memory" | xargs) CC=$(echo "$cc" | xargs) \
    BUNDLE_TXT=$(head -n 1 "$BUNDLE/BUNDLE.txt" 2>/dev/null || echo "no bundle") UNAME=$(uname -srm) \
    MODE=$([ "$SMOKE" = 1 ] && echo cpu-smoke || echo gpu) \
        "$PY" -c 'import json, os; json.dump({"gpu": os.environ["GPU_NAME"], "driver": os.environ["DRIVER"],
"memory": os.environ["MEMORY"], "compute_capability": os.environ["CC"], "bundle": os.environ["BUNDLE_TXT"],
"uname": os.environ["UNAME"], "mode": os.environ["MODE"], "python": os.environ["PY"]},
open(os.path.join(os.environ["WORK"], "system.json"), "w"), indent=2)'
}

step_junit() {
    local run="$BUNDLE/run.sh" opts="-Dsamplenorm.gpuReport=$WORK/gpu_accuracy.tsv"
    [ -x "$run" ] || { echo "no bundle launcher at $run"; return 1; }
    if [ "$SMOKE" = 0 ]; then opts="$opts -Dsamplenorm.requireGpu=true"; export SAMPLENORM_VARIANT=gpu; fi
    # The golden tests read models/ from the working directory: the repository's checkout.
    local dir=$ROOT
    [ -d "$dir/models/golden" ] || dir=$BUNDLE
    (cd "$dir" && NVIDIA_TF32_OVERRIDE=0 SAMPLENORM_JAVA_OPTS="$opts ${SAMPLENORM_JAVA_OPTS:-}" "$run" test --details=tree) \
        > "$WORK/junit.txt" 2>&1
    local rc=$?
    grep -v "^gpu accuracy: " "$WORK/junit.txt" | tail -n 80
    return "$rc"
}

step_kernel() {
    local args=()
    if [ "$SMOKE" = 1 ]; then
        args=(--build-only)
    elif command -v nvidia-smi >/dev/null 2>&1; then
        # Build for this GPU only: a fifth of the compile time of the library's full architecture list.
        local cc
        cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n 1 | tr -d ' .')
        if [ -n "$cc" ]; then export SAMPLENORM_CUDA_ARCHS="-gencode arch=compute_$cc,code=sm_$cc"; fi
    fi
    BUILD_DIR="$WORK/kernel_check" bash "$HERE/run_kernel_check.sh" "${args[@]}" 2>&1 | tee "$WORK/kernel_check.txt"
    return "${PIPESTATUS[0]}"
}

step_java() {
    local run="$BUNDLE/run.sh" model="$WORK/unet.onnx" arch=unet_256 ngf=64 device=cuda sizes=1,16 runs=30 warmup=5 n=4
    if [ "$SMOKE" = 1 ]; then arch=unet_32 ngf=8 device=cpu sizes=1,2 runs=3 warmup=1; fi
    if [ "$QUICK" = 1 ]; then runs=10 warmup=2; fi
    [ -x "$run" ] || { echo "no bundle launcher at $run"; return 1; }
    "$run" check-host
    local host_rc=$?
    if [ "$SMOKE" = 0 ] && [ "$host_rc" != 0 ]; then
        echo "the host lacks libraries of the gpu variant (above): the Java pipeline cannot run on CUDA here"
        return 1
    fi
    [ "$SMOKE" = 0 ] && export SAMPLENORM_VARIANT=gpu
    "$run" info || return 1
    "$run" make-model --arch "$arch" --ngf "$ngf" --output "$model" || return 1
    local size=${arch#unet_} mode
    "$PY" -c "import numpy as np; r = np.random.default_rng(1); np.save('$WORK/in.npy', r.uniform(-1, 1, ($n, 3, $size, $size)).astype(np.float32))" || return 1
    for mode in batch sample; do
        "$run" translate --model "$model" --input "$WORK/in.npy" --output "$WORK/out_${mode}_$device.npy" --stats $mode --device "$device" || return 1
        "$run" translate --model "$model" --input "$WORK/in.npy" --output "$WORK/out_${mode}_cpu.npy" --stats $mode --device cpu || return 1
    done
    "$PY" - "$WORK" "$device" "$n" <<'PY' || return 1
import json, sys
import numpy as np
work, device, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
checks = []
for mode in ("batch", "sample"):
    a = np.load(f"{work}/out_{mode}_{device}.npy").astype(np.float64)
    b = np.load(f"{work}/out_{mode}_cpu.npy").astype(np.float64)
    err = float(np.linalg.norm(a - b) / np.linalg.norm(b))
    print(f"translate --device {device} vs --device cpu, N={n}, --stats {mode}: relative L2 difference {err:.3g}")
    checks.append({"n": n, "device": device, "stats": mode, "rel_l2_vs_cpu": err, "finite": bool(np.isfinite(a).all())})
json.dump(checks, open(f"{work}/java_check.json", "w"))
PY
    "$run" bench --model "$model" --device "$device" --stats batch,sample,running --input images,blob --batch-sizes "$sizes" \
        --warmup "$warmup" --runs "$runs" --json "$WORK/java_bench.json" || return 1
    if [ "$SMOKE" = 0 ]; then
        "$run" bench --model "$model" --device "$device" --precision fp16 --stats batch,sample --input images,blob \
            --batch-sizes "$sizes" --warmup "$warmup" --runs "$runs" --json "$WORK/java_bench_fp16.json" || return 1
    fi
}

step_torch_unet() {
    local args=(--json "$WORK/torch_unet.json" --variants "eager,eager_bench,cuda_graph,host_uint8$([ "$COMPILE" = 1 ] && echo ,compile)")
    if [ "$SMOKE" = 1 ]; then args+=(--device cpu --size 32 --ngf 8 --batch-sizes 1,2 --runs 3 --warmup 1); fi
    if [ "$QUICK" = 1 ] && [ "$SMOKE" = 0 ]; then args+=(--runs 20 --warmup 5); fi
    "$PY" "$HERE/torch_unet.py" "${args[@]}"
}

step_torch_bn() {
    local args=(--json "$WORK/torch_batchnorm.json")
    [ "$COMPILE" = 1 ] || args+=(--no-compile)
    if [ "$SMOKE" = 1 ]; then args+=(--device cpu --small --runs 5 --warmup 1); fi
    if [ "$QUICK" = 1 ] && [ "$SMOKE" = 0 ]; then args+=(--runs 50 --warmup 5); fi
    "$PY" "$HERE/torch_batchnorm.py" "${args[@]}"
}

step_export() {
    local run="$BUNDLE/run.sh" args=(--out "$WORK/export") devices="cuda cpu"
    if [ "$SMOKE" = 1 ]; then args+=(--size 32 --ngf 8); devices=cpu; else export SAMPLENORM_VARIANT=gpu; fi
    mkdir -p "$WORK/export"
    # 1. PyTorch: export through both exporters, and PyTorch's own train-mode outputs as the reference.
    "$PY" "$HERE/torch_export.py" export "${args[@]}" || return 1
    # 2. samplenorm: every export that was written, on every device, in batch and sample mode.
    local onnx name device mode
    for onnx in "$WORK"/export/*.onnx; do
        [ -f "$onnx" ] || continue
        name=$(basename "$onnx" .onnx)
        for device in $devices; do
            for mode in batch sample; do
                "$run" translate --model "$onnx" --input "$WORK/export/input.npy" --output "$WORK/export/$name.$device.$mode.npy" \
                    --stats "$mode" --device "$device" 2>&1 | tail -n 3 \
                    || echo "samplenorm failed on $name, $device, $mode"
            done
        done
    done
    # 3. Compare.
    "$PY" "$HERE/torch_export.py" compare "${args[@]}" --json "$WORK/export.json"
}

export -f step_system step_junit step_kernel step_java step_torch_unet step_torch_bn step_export
export HERE ROOT OUT_DIR WORK SMOKE QUICK COMPILE PY

# ---------------------------------------------------------------------------------------------
# The bundle: given, or the one this script sits in, or the build's.
if [ -n "$BUNDLE_ARG" ]; then
    BUNDLE=$BUNDLE_ARG
elif [ -x "$ROOT/run.sh" ] && [ -d "$ROOT/jre" ]; then
    BUNDLE=$ROOT
elif [ -x "$ROOT/target/gpu-bundle/run.sh" ]; then
    BUNDLE=$ROOT/target/gpu-bundle
else
    BUNDLE=$ROOT/target/gpu-carry/samplenorm-gpu-bundle.tar.xz
fi
if [ -f "$BUNDLE" ]; then
    echo "unpacking $BUNDLE"
    mkdir -p "$WORK/bundle"
    timeout 120 tar -C "$WORK/bundle" -xJf "$BUNDLE" || echo "cannot unpack $BUNDLE"
    BUNDLE=$(ls -d "$WORK"/bundle/*/ 2>/dev/null | head -n 1)
    BUNDLE=${BUNDLE%/}
fi
export BUNDLE
echo "samplenorm GPU run: $(date -u +%Y-%m-%dT%H:%M:%SZ), bundle ${BUNDLE:-none}, python $PY, budget $BUDGET s, results in $OUT_DIR$([ "$SMOKE" = 1 ] && echo ', CPU smoke test')"

step system 30 step_system
step junit 200 step_junit
step kernel 200 step_kernel
step java 200 step_java
step torch-unet 150 step_torch_unet
step torch-bn 90 step_torch_bn
step export 200 step_export
# finish (the EXIT trap) writes the results and prints the summary table last.
