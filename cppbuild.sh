#!/usr/bin/env bash
# Builds samplenorm's native kernel library in the JavaCPP layout:
#   cppbuild/<platform>/lib/libsamplenorm.a       CPU variant
#   cppbuild/<platform>-gpu/lib/libsamplenorm.a   GPU variant (CUDA kernels: SASS for sm_75,
#                                                 sm_80, sm_86, sm_89, sm_90 plus compute_90 PTX)
# Usage: ./cppbuild.sh [all|cpu|gpu]
#   all (default) builds both; where nvcc is absent it builds the CPU variant and says that the
#   GPU variant was skipped. `gpu` without nvcc is an error. Any compiler failure is an error.
# Environment: CXX (default g++), NVCC (default: nvcc on PATH, else $CUDA_HOME/bin/nvcc, else
#   /usr/local/cuda/bin/nvcc), SAMPLENORM_CUDA_ARCHS to override the -gencode list.
set -eu

cd "$(dirname "$0")"
WHAT=${1:-all}
case "$WHAT" in all|cpu|gpu) ;; *) echo "usage: $0 [all|cpu|gpu]" >&2; exit 2 ;; esac

case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) PLATFORM=linux-x86_64 ;;
    Linux-aarch64) PLATFORM=linux-arm64 ;;
    *) echo "cppbuild.sh: unsupported platform $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

CXX=${CXX:-g++}
SRC=src/main/cpp
CPU_SOURCES="$SRC/api/samplenorm.cpp $SRC/api/thread_priority.cpp $SRC/kernels/cpu/blob_kernels.cpp $SRC/kernels/cpu/image_kernels.cpp"
# x86-64 only: code paths chosen at run time on CPUs with AVX2 (files named *_avx2.cpp).
if [ "$PLATFORM" = linux-x86_64 ]; then
    CPU_SOURCES="$CPU_SOURCES $SRC/kernels/cpu/image_sums_avx2.cpp $SRC/kernels/cpu/blob_stats_avx2.cpp $SRC/kernels/cpu/image_convert_avx2.cpp"
fi
CUDA_SOURCES="$SRC/kernels/cuda/blob_kernels.cu $SRC/kernels/cuda/image_kernels.cu $SRC/kernels/cuda/device.cu"
CXXFLAGS="-std=c++17 -O3 -fPIC -fopenmp-simd -fno-trapping-math -ffp-contract=off -fvisibility=hidden -Wall -Wextra -Werror -I$SRC/include"

find_nvcc() {
    if [ -n "${NVCC:-}" ]; then echo "$NVCC"; return; fi
    if command -v nvcc >/dev/null 2>&1; then command -v nvcc; return; fi
    for candidate in "${CUDA_HOME:-}/bin/nvcc" /usr/local/cuda/bin/nvcc; do
        if [ -x "$candidate" ]; then echo "$candidate"; return; fi
    done
}

# Rebuild only when a source, header or this script is newer than the library.
up_to_date() {
    local lib=$1
    [ -f "$lib" ] || return 1
    [ -z "$(find "$SRC" cppbuild.sh -newer "$lib" -type f -print -quit)" ]
}

build_variant() {
    local dir=$1 cuda=$2
    local lib="$dir/lib/libsamplenorm.a"
    if up_to_date "$lib"; then
        echo "cppbuild.sh: $dir is up to date"
        return
    fi
    rm -rf "$dir/obj" "$dir/lib" "$dir/include"
    mkdir -p "$dir/obj" "$dir/lib" "$dir/include"
    local flags="$CXXFLAGS" objects=""
    if [ "$cuda" = 1 ]; then
        flags="$flags -DSAMPLENORM_WITH_CUDA -I$CUDA_HOME_DIR/include"
    fi
    for f in $CPU_SOURCES; do
        local o="$dir/obj/$(basename "${f%.*}").o" extra=""
        case "$f" in *_avx2.cpp) extra="-mavx2" ;; esac
        $CXX $flags $extra -c "$f" -o "$o"
        objects="$objects $o"
    done
    if [ "$cuda" = 1 ]; then
        local archs=${SAMPLENORM_CUDA_ARCHS:-"-gencode arch=compute_75,code=sm_75 -gencode arch=compute_80,code=sm_80 -gencode arch=compute_86,code=sm_86 -gencode arch=compute_89,code=sm_89 -gencode arch=compute_90,code=[sm_90,compute_90]"}
        for f in $CUDA_SOURCES; do
            local o="$dir/obj/$(basename "${f%.*}")_cu.o"
            "$NVCC_BIN" -std=c++17 -O3 $archs -Xcompiler -fPIC,-fvisibility=hidden -Werror all-warnings \
                -I"$SRC/include" -c "$f" -o "$o"
            objects="$objects $o"
        done
    fi
    ar rcs "$lib" $objects
    cp -r "$SRC/include/samplenorm" "$dir/include/"
    echo "cppbuild.sh: built $lib"
}

if [ "$WHAT" != gpu ]; then
    build_variant "cppbuild/$PLATFORM" 0
fi
if [ "$WHAT" != cpu ]; then
    NVCC_BIN=$(find_nvcc || true)
    if [ -z "$NVCC_BIN" ]; then
        if [ "$WHAT" = gpu ]; then
            echo "cppbuild.sh: nvcc not found (set NVCC or CUDA_HOME): cannot build the GPU variant" >&2
            exit 1
        fi
        echo "cppbuild.sh: nvcc not found: GPU variant ($PLATFORM-gpu) SKIPPED, CPU variant only"
        exit 0
    fi
    CUDA_HOME_DIR=$(cd "$(dirname "$NVCC_BIN")/.." && pwd)
    echo "cppbuild.sh: using $("$NVCC_BIN" --version | tail -n 2 | head -n 1)"
    build_variant "cppbuild/$PLATFORM-gpu" 1
fi
