#!/usr/bin/env bash
# Builds and runs benchmarks/gpu/kernel_check.cu: correctness checks of samplenorm's CUDA
# launchers against a CPU reference, then a bandwidth table. Needs nvcc (CUDA 12.1+, built and
# tested with 13.0) and, to run, an NVIDIA driver and GPU; no Java, no OpenCV.
#
# Usage: benchmarks/gpu/run_kernel_check.sh [--build-only] [-- args for kernel_check]
#   --build-only   compile and link only (works without a GPU)
#   kernel_check args: --no-bench (checks only) or --bench-only
# Environment: NVCC (default: the first of $CUDA_HOME/bin/nvcc, nvcc on PATH, /usr/local/cuda/bin/nvcc,
#   /usr/local/cuda-*/bin/nvcc (newest first), and the nvcc of NVIDIA's pip wheels (nvidia/cu13/bin,
#   nvidia/cuda_nvcc/bin) of $PYTHON (default python3));
#   SAMPLENORM_CUDA_ARCHS (default: the -gencode list of cppbuild.sh); BUILD_DIR (default
#   target/kernel_check). The kernels are compiled with the library's exact flags.
# Exit status: that of kernel_check (0 all checks passed, 1 a check failed, 2 CUDA error), or
#   non-zero when the build fails.
set -eu

cd "$(dirname "$0")/../.."
BUILD_ONLY=0
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --build-only) BUILD_ONLY=1 ;;
        --) shift; ARGS+=("$@"); break ;;
        *) ARGS+=("$1") ;;
    esac
    shift
done

# nvcc: NVCC, CUDA_HOME, PATH, the toolkit folders, then the pip wheels of the given Python.
find_nvcc() {
    local c
    if [ -n "${NVCC:-}" ]; then echo "$NVCC"; return 0; fi
    if [ -x "${CUDA_HOME:-/nonexistent}/bin/nvcc" ]; then echo "$CUDA_HOME/bin/nvcc"; return 0; fi
    if command -v nvcc >/dev/null 2>&1; then command -v nvcc; return 0; fi
    for c in /usr/local/cuda/bin/nvcc $(ls -d /usr/local/cuda-*/bin/nvcc 2>/dev/null | sort -rV); do
        if [ -x "$c" ]; then echo "$c"; return 0; fi
    done
    c=$("${PYTHON:-python3}" -c '
import glob, os
try:
    import nvidia
    for p in list(nvidia.__path__):
        for c in sorted(glob.glob(os.path.join(p, "*", "bin", "nvcc"))):
            print(c)
except Exception:
    pass
' 2>/dev/null | head -n 1)
    if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; return 0; fi
    return 1
}
NVCC_BIN=$(find_nvcc) || { echo "run_kernel_check.sh: nvcc not found in NVCC, CUDA_HOME, PATH, /usr/local/cuda*/bin or the" \
    "pip wheels of ${PYTHON:-python3} (set NVCC)" >&2; exit 1; }
echo "run_kernel_check.sh: nvcc $NVCC_BIN"

ARCHS=${SAMPLENORM_CUDA_ARCHS:-"-gencode arch=compute_75,code=sm_75 -gencode arch=compute_80,code=sm_80 -gencode arch=compute_86,code=sm_86 -gencode arch=compute_89,code=sm_89 -gencode arch=compute_90,code=[sm_90,compute_90]"}
SRC=src/main/cpp
BUILD_DIR=${BUILD_DIR:-target/kernel_check}
mkdir -p "$BUILD_DIR"
echo "run_kernel_check.sh: $("$NVCC_BIN" --version | tail -n 2 | head -n 1)"

# Library kernels: the flags of cppbuild.sh. The check program: same, plus the internal include
# root for kernels/cuda/cuda_kernels.h. The CPU kernels too (the check compares blob statistics
# with them bit for bit). Compiled in parallel.
CXX=${CXX:-g++}
OBJECTS=""
PIDS=""
CPU_FILES="$SRC/kernels/cpu/blob_kernels.cpp $SRC/kernels/cpu/image_kernels.cpp"
if [ "$(uname -m)" = x86_64 ]; then
    CPU_FILES="$CPU_FILES $SRC/kernels/cpu/image_sums_avx2.cpp $SRC/kernels/cpu/blob_stats_avx2.cpp $SRC/kernels/cpu/image_convert_avx2.cpp"
fi
for f in $CPU_FILES; do
    o="$BUILD_DIR/cpu_$(basename "${f%.*}").o"
    extra=""
    case "$f" in *_avx2.cpp) extra="-mavx2" ;; esac
    # shellcheck disable=SC2086
    "$CXX" -std=c++17 -O3 -fPIC -fopenmp-simd -fno-trapping-math -ffp-contract=off -Wall -Wextra -Werror $extra \
        -I"$SRC/include" -c "$f" -o "$o" &
    PIDS="$PIDS $!"
    OBJECTS="$OBJECTS $o"
done
for f in "$SRC/kernels/cuda/blob_kernels.cu" "$SRC/kernels/cuda/image_kernels.cu" "$SRC/kernels/cuda/device.cu" \
         benchmarks/gpu/kernel_check.cu; do
    o="$BUILD_DIR/$(basename "${f%.*}").o"
    # shellcheck disable=SC2086
    "$NVCC_BIN" -std=c++17 -O3 $ARCHS -Xcompiler -fPIC,-fvisibility=hidden -Werror all-warnings \
        -I"$SRC/include" -I"$SRC" -c "$f" -o "$o" &
    PIDS="$PIDS $!"
    OBJECTS="$OBJECTS $o"
done
FAILED=0
for p in $PIDS; do wait "$p" || FAILED=1; done
if [ "$FAILED" = 1 ]; then echo "run_kernel_check.sh: compilation failed" >&2; exit 1; fi
# shellcheck disable=SC2086
"$NVCC_BIN" $ARCHS $OBJECTS -o "$BUILD_DIR/kernel_check" -lpthread
echo "run_kernel_check.sh: built $BUILD_DIR/kernel_check"

if [ "$BUILD_ONLY" = 1 ]; then exit 0; fi
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
fi
exec "$BUILD_DIR/kernel_check" ${ARGS[@]+"${ARGS[@]}"}
