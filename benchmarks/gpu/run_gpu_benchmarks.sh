#!/usr/bin/env bash
# GPU benchmarks of samplenorm on a host with an NVIDIA GPU, the CUDA 13 driver, nvcc, python3 with
# PyTorch, cuDNN 9 and cuBLAS 13 (toolkit or NVIDIA's pip wheels), and no Java or Maven:
#   system      nvidia-smi, driver, GPU
#   kernel      benchmarks/gpu/run_kernel_check.sh: build with nvcc, correctness checks, bandwidth table
#               against the measured device-to-device copy
#   torch-bn    benchmarks/gpu/torch_batchnorm.py: PyTorch F.batch_norm(training=True) on the kernel
#               check's shapes, and the uint8 -> float -> batch_norm a PyTorch user writes
#   java        the Java pipeline from the bundle (make_bundle.sh) on CUDA: make-model unet_256; translate
#               on cuda and on cpu, outputs compared; bench (one JVM, warm-up, median of timed calls) for
#               --stats batch, sample, running, 8-bit images and float blobs, N = 1 and 16
#   torch-unet  benchmarks/gpu/torch_unet.py: the same unet_256 in PyTorch, train-mode BatchNorm, eager,
#               cudnn.benchmark, CUDA graph, torch.compile, and the host uint8 pipeline; N = 1 and 16
# then summarize.py: results.json and summary.txt with the targets. A failed step is recorded and the
# others still run. Exit status: 0 when every step ran, 1 otherwise (targets missed are not failures).
#
# Usage: benchmarks/gpu/run_gpu_benchmarks.sh [--bundle DIR|FILE.tar.xz] [--out DIR] [--quick]
#                                             [--skip STEP,...] [--cpu-smoke]
#   --bundle     the bundle (default: this folder's bundle when run from inside an unpacked bundle, else
#                target/gpu-bundle, else target/samplenorm-gpu-bundle.tar.xz)
#   --out        results folder (default: $OUT when set, else target/gpu-results); it receives
#                summary.txt, results.json, log.txt, kernel_check.txt, nvidia-smi.txt
#   --quick      fewer timed runs
#   --skip       steps to leave out: kernel, torch-bn, java, torch-unet
#   --cpu-smoke  everything on the CPU with tiny sizes (kernel check: build only): checks the script,
#                the bundle and the Python scripts on a machine without a GPU
# Environment: PYTHON (default python3), NVCC / CUDA_HOME (see run_kernel_check.sh), and the bundle's
#   SAMPLENORM_* variables (see the bundle's run.sh).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUNDLE_ARG=""
OUT_DIR=${OUT:-$ROOT/target/gpu-results}
QUICK=0
SMOKE=0
SKIP=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bundle) BUNDLE_ARG=$2; shift ;;
        --out) OUT_DIR=$2; shift ;;
        --quick) QUICK=1 ;;
        --skip) SKIP=",$2,"; shift ;;
        --cpu-smoke) SMOKE=1 ;;
        -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
        *) echo "run_gpu_benchmarks.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
PY=${PYTHON:-python3}
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/samplenorm-gpu-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
LOG=$OUT_DIR/log.txt
: > "$LOG"
exec > >(tee -a "$LOG") 2>&1

STEPS=()
# step NAME COMMAND...: runs one step unless skipped, recording its exit status and duration.
step() {
    local name=$1
    shift
    case "$SKIP" in *",$name,"*) echo "== $name: skipped"; return 0 ;; esac
    echo
    echo "== $name ($(date -u +%H:%M:%S))"
    local t0=$SECONDS rc=0
    "$@" || rc=$?
    echo "== $name: exit status $rc, $((SECONDS - t0)) s"
    STEPS+=("$name $rc $((SECONDS - t0))")
    return 0
}

# ---------------------------------------------------------------------------------------------
step_system() {
    local gpu="" driver="" memory=""
    if command -v nvidia-smi >/dev/null 2>&1; then
        nvidia-smi > "$OUT_DIR/nvidia-smi.txt" 2>&1
        nvidia-smi -q >> "$OUT_DIR/nvidia-smi.txt" 2>&1
        IFS=, read -r gpu driver memory < <(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -n 1)
        head -n 20 "$OUT_DIR/nvidia-smi.txt"
    else
        echo "nvidia-smi not found" | tee "$OUT_DIR/nvidia-smi.txt"
    fi
    uname -a
    "$PY" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda,
"cudnn", torch.backends.cudnn.version(), "gpu available", torch.cuda.is_available())' || true
    GPU_NAME=$(echo "$gpu" | xargs) DRIVER=$(echo "$driver" | xargs) MEMORY=$(echo "$memory" | xargs) \
    BUNDLE_TXT=$(head -n 1 "$BUNDLE/BUNDLE.txt" 2>/dev/null || echo "no bundle") UNAME=$(uname -srm) \
    MODE=$([ "$SMOKE" = 1 ] && echo cpu-smoke || echo gpu) \
        "$PY" -c 'import json, os; json.dump({"gpu": os.environ["GPU_NAME"], "driver": os.environ["DRIVER"],
"memory": os.environ["MEMORY"], "bundle": os.environ["BUNDLE_TXT"], "uname": os.environ["UNAME"], "mode": os.environ["MODE"]},
open(os.path.join(os.environ["WORK"], "system.json"), "w"), indent=2)'
}

step_kernel() {
    local args=()
    if [ "$SMOKE" = 1 ]; then args=(--build-only); fi
    BUILD_DIR="$WORK/kernel_check" bash "$HERE/run_kernel_check.sh" "${args[@]}" 2>&1 | tee "$WORK/kernel_check.txt"
    local rc=${PIPESTATUS[0]}
    cp "$WORK/kernel_check.txt" "$OUT_DIR/kernel_check.txt"
    return "$rc"
}

step_torch_bn() {
    local args=(--json "$WORK/torch_batchnorm.json")
    if [ "$SMOKE" = 1 ]; then args+=(--device cpu --small --runs 5 --warmup 1); fi
    if [ "$QUICK" = 1 ] && [ "$SMOKE" = 0 ]; then args+=(--runs 50 --warmup 5); fi
    PYTHONUNBUFFERED=1 "$PY" "$HERE/torch_batchnorm.py" "${args[@]}"
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
    local size=${arch#unet_}
    # The CLI on the device against the CLI on the CPU, same input, same model.
    "$PY" -c "import numpy as np; r = np.random.default_rng(1); np.save('$WORK/in.npy', r.uniform(-1, 1, ($n, 3, $size, $size)).astype(np.float32))" || return 1
    "$run" translate --model "$model" --input "$WORK/in.npy" --output "$WORK/out_$device.npy" --stats batch --device "$device" || return 1
    "$run" translate --model "$model" --input "$WORK/in.npy" --output "$WORK/out_cpu_ref.npy" --stats batch --device cpu || return 1
    "$PY" -c "
import json, numpy as np
a, b = np.load('$WORK/out_$device.npy').astype(np.float64), np.load('$WORK/out_cpu_ref.npy').astype(np.float64)
err = float(np.linalg.norm(a - b) / np.linalg.norm(b))
print(f'translate --device $device vs --device cpu, N=$n, --stats batch: relative L2 difference {err:.3g}')
json.dump({'n': $n, 'device': '$device', 'rel_l2_vs_cpu': err, 'finite': bool(np.isfinite(a).all())}, open('$WORK/java_check.json', 'w'))
" || return 1
    "$run" bench --model "$model" --device "$device" --stats batch,sample,running --input images,blob --batch-sizes "$sizes" \
        --warmup "$warmup" --runs "$runs" --json "$WORK/java_bench.json"
}

step_torch_unet() {
    local args=(--json "$WORK/torch_unet.json")
    if [ "$SMOKE" = 1 ]; then args+=(--device cpu --size 32 --ngf 8 --batch-sizes 1,2 --runs 3 --warmup 1); fi
    if [ "$QUICK" = 1 ] && [ "$SMOKE" = 0 ]; then args+=(--runs 20 --warmup 5); fi
    PYTHONUNBUFFERED=1 "$PY" "$HERE/torch_unet.py" "${args[@]}"
}

# ---------------------------------------------------------------------------------------------
# The bundle: given, or the one this script sits in, or the build's.
if [ -n "$BUNDLE_ARG" ]; then
    BUNDLE=$BUNDLE_ARG
elif [ -x "$ROOT/run.sh" ] && [ -d "$ROOT/jre" ]; then
    BUNDLE=$ROOT
elif [ -x "$ROOT/target/gpu-bundle/run.sh" ]; then
    BUNDLE=$ROOT/target/gpu-bundle
else
    BUNDLE=$ROOT/target/samplenorm-gpu-bundle.tar.xz
fi
if [ -f "$BUNDLE" ]; then
    echo "unpacking $BUNDLE"
    mkdir -p "$WORK/bundle"
    tar -C "$WORK/bundle" -xJf "$BUNDLE" || echo "cannot unpack $BUNDLE"
    BUNDLE=$(ls -d "$WORK"/bundle/*/ 2>/dev/null | head -n 1)
    BUNDLE=${BUNDLE%/}
fi
export WORK
echo "samplenorm GPU benchmarks: $(date -u +%Y-%m-%dT%H:%M:%SZ), bundle ${BUNDLE:-none}, results in $OUT_DIR$([ "$SMOKE" = 1 ] && echo ', CPU smoke test')"

step system step_system
step kernel step_kernel
step torch-bn step_torch_bn
step java step_java
step torch-unet step_torch_unet

{
    echo "{"
    sep=""
    for s in "${STEPS[@]}"; do
        read -r name rc secs <<< "$s"
        printf '%s  "%s": {"rc": %d, "seconds": %d}' "$sep" "$name" "$rc" "$secs"
        sep=$',\n'
    done
    printf '\n}\n'
} > "$WORK/steps.json"
if [ -f "$WORK/java_check.json" ] && [ -f "$WORK/java_bench.json" ]; then
    "$PY" -c "
import json
b = json.load(open('$WORK/java_bench.json')); b['translate_check'] = json.load(open('$WORK/java_check.json'))
json.dump(b, open('$WORK/java_bench.json', 'w'), indent=2)"
fi
echo
"$PY" "$HERE/summarize.py" "$WORK" "$OUT_DIR"
echo "results: $OUT_DIR/summary.txt, results.json, log.txt"
for s in "${STEPS[@]}"; do
    read -r name rc secs <<< "$s"
    if [ "$rc" != 0 ]; then exit 1; fi
done
exit 0
