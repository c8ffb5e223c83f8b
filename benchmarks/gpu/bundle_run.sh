#!/usr/bin/env bash
# samplenorm's CLI from the self-contained bundle (bundled JRE, jars with OpenCV's CUDA and CPU
# builds). The bundle carries no NVIDIA library: it finds the host's and puts their folders on
# LD_LIBRARY_PATH, then picks the native variant:
#   gpu  OpenCV's CUDA build and samplenorm's CUDA kernels, when the host has the NVIDIA driver
#        (libcuda.so.1), libcudart.so.13, libcublas.so.13, libcublasLt.so.13 and libcudnn.so.9;
#   cpu  OpenCV's CPU build and samplenorm's CPU kernels otherwise (with a note on stderr); the CLI
#        then reports CUDA as not available and --device cuda fails with a clear error.
# The two builds are never mixed in one process (-Dorg.bytedeco.javacpp.platform.extension).
#
# Usage: ./run.sh COMMAND [ARGS]     the samplenorm CLI: info, translate, demo, bench, make-model, --help
#        ./run.sh check-host          which variant would run and which host libraries were found
#                                     (exit status 0 when the gpu variant can run, 3 when not)
#        ./run.sh test [ARGS]         the GPU JUnit suite (tests tagged gpu) with the JUnit console launcher;
#                                     ARGS go to the launcher (e.g. --details=tree); JVM options such as
#                                     -Dsamplenorm.requireGpu=true go in SAMPLENORM_JAVA_OPTS
# Environment:
#   SAMPLENORM_VARIANT    auto (default) | gpu (fail when a library is missing) | cpu
#   SAMPLENORM_CUDA_LIBS  extra folders (colon separated) to search first
#   SAMPLENORM_PYTHON     python whose NVIDIA pip wheels (nvidia/*/lib) are searched (default: $PYTHON, else
#                         /opt/torch/.venv/bin/python3 where it exists, else python3 on the PATH)
#   SAMPLENORM_CACHE      where JavaCPP extracts native libraries (default: .javacpp-cache in the
#                         bundle, or ${TMPDIR:-/tmp}/samplenorm-javacpp-UID when the bundle is read-only)
#   SAMPLENORM_JAVA_OPTS  extra JVM options
#   SAMPLENORM_MODELS     the repository's models/ folder, which holds the bundled model (default: ./models)
#   SAMPLENORM_QUIET=1    no note on stderr when falling back to the cpu variant
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
variant=${SAMPLENORM_VARIANT:-auto}
case "$variant" in auto|gpu|cpu) ;; *) echo "run.sh: SAMPLENORM_VARIANT must be auto, gpu or cpu, got $variant" >&2; exit 2 ;; esac

REQUIRED="libcuda.so.1 libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcudnn.so.9"
OPTIONAL="libnvrtc.so.13 libnvJitLink.so.13"   # cuDNN loads these for some engines when present

# Candidate folders, most specific first.
dirs=()
add_dirs() {
    local IFS=:
    for d in $1; do [ -n "$d" ] && [ -d "$d" ] && dirs+=("$d"); done
    return 0
}
add_dirs "${SAMPLENORM_CUDA_LIBS:-}"
add_dirs "${LD_LIBRARY_PATH:-}"
for v in CUDA_HOME CUDA_PATH CUDNN_HOME CUDNN_PATH CUDNN_ROOT; do
    if [ -n "${!v:-}" ]; then add_dirs "${!v}/lib64:${!v}/lib:${!v}/targets/x86_64-linux/lib"; fi
done
add_dirs "/usr/local/cuda/lib64:/usr/local/cuda/targets/x86_64-linux/lib"
for d in /usr/local/cuda-13*/lib64 /usr/local/cuda-13*/targets/x86_64-linux/lib; do add_dirs "$d"; done
add_dirs "/usr/local/nvidia/lib64:/usr/local/nvidia/lib:/usr/lib/x86_64-linux-gnu:/usr/lib64:/usr/lib/wsl/lib"
python=${SAMPLENORM_PYTHON:-${PYTHON:-}}
if [ -z "$python" ]; then
    if [ -x /opt/torch/.venv/bin/python3 ]; then python=/opt/torch/.venv/bin/python3; else python=python3; fi
fi
if command -v "$python" >/dev/null 2>&1; then
    # NVIDIA's pip wheels (nvidia-cudnn-cu13, nvidia-cublas, nvidia-cuda-runtime, ...): nvidia/*/lib.
    wheel_dirs=$("$python" -c '
import glob, os
try:
    import nvidia
    for p in list(nvidia.__path__):
        for d in sorted(glob.glob(os.path.join(p, "*", "lib"))):
            print(d)
except Exception:
    pass
' 2>/dev/null || true)
    while IFS= read -r d; do add_dirs "$d"; done <<< "$wheel_dirs"
fi

ldconfig_cache=$( (ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true) )
declare -A where=()
extra_path=""
find_lib() {
    local lib=$1 d
    for d in "${dirs[@]}"; do
        if [ -e "$d/$lib" ]; then
            where[$lib]=$d
            case ":$extra_path:" in *":$d:"*) ;; *) extra_path=${extra_path:+$extra_path:}$d ;; esac
            return 0
        fi
    done
    if grep -q " $lib " <<< "$ldconfig_cache"; then
        where[$lib]="(system, ldconfig)"
        return 0
    fi
    return 1
}
missing=""
for lib in $REQUIRED; do find_lib "$lib" || missing="$missing $lib"; done
for lib in $OPTIONAL; do find_lib "$lib" || true; done
missing=${missing# }

if [ "$variant" = auto ]; then
    if [ -z "$missing" ]; then chosen=gpu; else chosen=cpu; fi
else
    chosen=$variant
fi

if [ "${1:-}" = check-host ]; then
    echo "bundle: $here"
    [ -f "$here/BUNDLE.txt" ] && echo "  $(head -n 1 "$here/BUNDLE.txt")"
    echo "variant: $chosen (SAMPLENORM_VARIANT=$variant)"
    for lib in $REQUIRED $OPTIONAL; do
        kind=required
        case " $OPTIONAL " in *" $lib "*) kind=optional ;; esac
        printf '  %-20s %-9s %s\n' "$lib" "$kind" "${where[$lib]:-not found}"
    done
    echo "python searched for NVIDIA wheels: $python"
    echo "LD_LIBRARY_PATH additions: ${extra_path:-none}"
    if command -v nvidia-smi >/dev/null 2>&1; then
        echo "nvidia-smi: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -n 4 | tr '\n' ';')"
    else
        echo "nvidia-smi: not found"
    fi
    if [ -z "$missing" ]; then exit 0; fi
    echo "missing for the gpu variant: $missing"
    exit 3
fi

if [ "$chosen" = gpu ] && [ -n "$missing" ]; then
    echo "run.sh: SAMPLENORM_VARIANT=gpu, but the host lacks $missing (searched: ${dirs[*]} and the ldconfig cache;" \
        "add folders with SAMPLENORM_CUDA_LIBS)" >&2
    exit 2
fi
if [ "$chosen" = cpu ] && [ "$variant" = auto ] && [ "${SAMPLENORM_QUIET:-0}" != 1 ]; then
    echo "run.sh: note: CPU variant (host lacks $missing for the CUDA build of OpenCV; ./run.sh check-host for details)" >&2
fi

if [ "$chosen" = gpu ]; then
    extension=-gpu
    export LD_LIBRARY_PATH="$extra_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
    extension=
fi

cache=${SAMPLENORM_CACHE:-}
if [ -z "$cache" ]; then
    if [ -w "$here" ]; then cache=$here/.javacpp-cache; else cache=${TMPDIR:-/tmp}/samplenorm-javacpp-$(id -u); fi
fi

# The bundled model and sample sketches are not in the bundle's project jar (they travel once, with the
# repository's models/ folder): a class path folder maps the resource path onto that folder.
models=${SAMPLENORM_MODELS:-$PWD/models}
resources="$cache/resources"
if [ -f "$models/pix2pix_shapes_128.onnx" ]; then
    mkdir -p "$resources/dev/samplenorm"
    ln -sfn "$(cd "$models" && pwd)" "$resources/dev/samplenorm/models"
elif [ "${SAMPLENORM_QUIET:-0}" != 1 ]; then
    echo "run.sh: no models/ folder at $models (set SAMPLENORM_MODELS): commands without --model will fail" >&2
fi

if [ "${1:-}" = test ]; then
    shift
    [ -f "$here/tests/junit-platform-console-standalone.jar" ] || { echo "run.sh: this bundle has no tests/" >&2; exit 2; }
    cp_list=$(ls "$here"/lib/*.jar "$here"/tests/samplenorm-tests.jar | tr '\n' ':')$resources
    # shellcheck disable=SC2086
    exec "$here/jre/bin/java" -Dorg.bytedeco.javacpp.platform.extension="$extension" -Dorg.bytedeco.javacpp.cachedir="$cache" \
        ${SAMPLENORM_JAVA_OPTS:-} -jar "$here/tests/junit-platform-console-standalone.jar" execute --disable-banner \
        --class-path "$cp_list" --scan-class-path "$here/tests/samplenorm-tests.jar" --include-tag gpu "$@"
fi

# shellcheck disable=SC2086
exec "$here/jre/bin/java" -Dorg.bytedeco.javacpp.platform.extension="$extension" -Dorg.bytedeco.javacpp.cachedir="$cache" \
    ${SAMPLENORM_JAVA_OPTS:-} -cp "$here/lib/*:$resources" dev.samplenorm.cli.Main "$@"
