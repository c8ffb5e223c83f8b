#!/usr/bin/env bash
# Builds the self-contained GPU bundle of samplenorm: a jlink JRE, the project jar (CPU and GPU
# variants of the native kernels), its Java dependencies with only the native libraries the CLI
# needs (OpenCV core, imgproc, imgcodecs and dnn, CUDA build and CPU build; OpenBLAS, which
# OpenCV's core links), a launcher, the GPU JUnit suite (the test classes and the JUnit console
# launcher) and the benchmark sources, compressed into target/gpu-carry/samplenorm-gpu-bundle.tar.xz.
# What travels to a GPU machine is the repository's files plus that archive: the script adds them up
# and fails when the sum is 64 MiB or more.
#
# Runs on the build machine (JDK 17 with jlink, Maven, nvcc for the GPU variant, zip, xz); the
# bundle runs on an x86-64 Linux host with no Java. The GPU host provides the NVIDIA driver
# (CUDA 13), libcudart.so.13, libcublas.so.13 / libcublasLt.so.13 and libcudnn.so.9 (see run.sh).
#
# Usage: benchmarks/gpu/make_bundle.sh [--skip-build] [--no-check]
#   --skip-build  use the jars and test classes of the last `mvn -Pgpu package` (target/gpu-bundle.classpath)
#   --no-check    do not run the bundled CLI and JUnit suite here before packing
# Environment: XZ_FILTERS (default --x86 --lzma2=preset=9e,dict=256MiB: the CUDA and CPU builds of
#   OpenCV are near-identical, so a dictionary that spans both pays), MVN (default mvn).
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SKIP_BUILD=0
CHECK=1
for a in "$@"; do
    case "$a" in
        --skip-build) SKIP_BUILD=1 ;;
        --no-check) CHECK=0 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "make_bundle.sh: unknown argument $a" >&2; exit 2 ;;
    esac
done

LIMIT=$((64 * 1024 * 1024))
PLATFORM=linux-x86_64
TARGET=$ROOT/target
BUNDLE=$TARGET/gpu-bundle
CARRY=$TARGET/gpu-carry
ARCHIVE=$CARRY/samplenorm-gpu-bundle.tar.xz
JUNIT_PLATFORM=1.14.1   # the JUnit Platform of the pom's JUnit Jupiter 5.14.1
CLASSPATH_FILE=$TARGET/gpu-bundle.classpath
say() { echo "make_bundle.sh: $*"; }
die() { echo "make_bundle.sh: error: $*" >&2; exit 1; }

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || die "the bundle is for linux-x86_64; this is $(uname -s)-$(uname -m)"
for tool in jlink jdeps jar zip unzip xz tar git python3; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done

# 1. Build with the GPU profile: OpenCV's CUDA build, both variants of our native library.
if [ "$SKIP_BUILD" = 0 ]; then
    say "building (mvn -Pgpu package, tests skipped)"
    "${MVN:-mvn}" -B -q -DskipTests -Pgpu package dependency:build-classpath \
        -Dmdep.outputFile="$CLASSPATH_FILE" -DincludeScope=runtime
fi
if [ ! -f "$TARGET/junit-console/junit-platform-console-standalone.jar" ]; then
    "${MVN:-mvn}" -B -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:$JUNIT_PLATFORM \
        -DoutputDirectory="$TARGET/junit-console" -Dmdep.stripVersion=true
fi
[ -d "$TARGET/test-classes/dev" ] || die "target/test-classes missing: run without --skip-build"
[ -f "$TARGET/junit-console/junit-platform-console-standalone.jar" ] || die "the JUnit console launcher is missing: run without --skip-build"
[ -f "$CLASSPATH_FILE" ] || die "$CLASSPATH_FILE missing: run without --skip-build"
PROJECT_JAR=$(ls "$TARGET"/samplenorm-*.jar | grep -v -e sources -e javadoc | head -n 1)
[ -f "$PROJECT_JAR" ] || die "project jar not found in target/"
unzip -l "$PROJECT_JAR" "dev/samplenorm/$PLATFORM-gpu/libjnisamplenorm.so" >/dev/null 2>&1 \
    || die "$PROJECT_JAR has no GPU variant of the native library (nvcc missing when it was built?)"
# The bundle leaves out the CUDA presets (org.bytedeco:cuda): make sure nothing of ours uses them.
if unzip -p "$PROJECT_JAR" '*.class' | grep -a -q 'org/bytedeco/cuda/'; then
    die "the project's classes reference org.bytedeco.cuda, which the bundle leaves out"
fi

# 2. The jars, with their native libraries pruned and stored uncompressed (xz compresses the whole).
rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/lib"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

OCV_LIBS="libopencv_core.so.413 libopencv_imgproc.so.413 libopencv_imgcodecs.so.413 libopencv_dnn.so.413
          libjniopencv_core.so libjniopencv_imgproc.so libjniopencv_imgcodecs.so libjniopencv_dnn.so"
OCV_GPU_EXTRA="libopencv_cudev.so.413"   # preloaded by the CUDA build's opencv_core presets
# libopencv_core needs libopenblas.so.0, and loading the opencv_core presets initializes the inherited
# openblas_nolapack and openblas classes, which load their JNI libraries.
BLAS_LIBS="libopenblas.so.0 libgfortran.so.5 libquadmath.so.0 libgcc_s.so.1 libjniopenblas_nolapack.so libjniopenblas.so"

# repack JAR NATIVE_DIR "libs..." [EXCLUDE_PREFIX]: copies the jar's classes and metadata, and of its
# native directory only the named libraries (paths relative to it); fails when one of them is missing.
repack() {
    local jar=$1 native_dir=$2 libs=$3 exclude=${4:-}
    local name dir
    name=$(basename "$jar")
    dir="$WORK/$name"
    mkdir -p "$dir"
    (cd "$dir" && unzip -q -o "$jar")
    rm -rf "$dir/META-INF/native-image"
    if [ -n "$exclude" ]; then rm -rf "${dir:?}/$exclude"; fi
    if [ -n "$native_dir" ]; then
        local keep="$WORK/keep-$name"
        mkdir -p "$keep"
        for l in $libs; do
            [ -f "$dir/$native_dir/$l" ] || die "$name: $native_dir/$l not found"
            mkdir -p "$keep/$(dirname "$l")"
            mv "$dir/$native_dir/$l" "$keep/$l"
        done
        rm -rf "${dir:?}/$native_dir"
        mkdir -p "$dir/$native_dir"
        cp -r "$keep"/. "$dir/$native_dir/"
    fi
    (cd "$dir" && find . -type d -empty -delete 2>/dev/null || true)
    rm -f "$BUNDLE/lib/$name"
    (cd "$dir" && if [ -f META-INF/MANIFEST.MF ]; then zip -q -X -0 "$BUNDLE/lib/$name" META-INF/MANIFEST.MF; fi \
        && zip -q -X -0 -r "$BUNDLE/lib/$name" . -x META-INF/MANIFEST.MF)
    rm -rf "$dir"
}

KEPT=""
for jar in $(tr ':' '\n' < "$CLASSPATH_FILE"); do
    name=$(basename "$jar")
    case "$name" in
        *-platform-*.jar) continue ;;                         # manifests only
        cuda-*.jar) continue ;;                               # CUDA presets: unused by samplenorm
        # The HTTP server and metrics (optional dependencies): not used by the GPU run.
        undertow-*.jar | xnio-*.jar | jboss-*.jar | wildfly-*.jar | jackson-*.jar | micrometer-*.jar \
            | HdrHistogram-*.jar | LatencyUtils-*.jar | prometheus-metrics-*.jar) continue ;;
        opencv-*-"$PLATFORM"-gpu.jar) repack "$jar" "org/bytedeco/opencv/$PLATFORM-gpu" "$OCV_LIBS $OCV_GPU_EXTRA" ;;
        opencv-*-"$PLATFORM".jar) repack "$jar" "org/bytedeco/opencv/$PLATFORM" "$OCV_LIBS" ;;
        opencv-*.jar) repack "$jar" "" "" "org/opencv" ;;     # drop OpenCV's own Java API (needs libopencv_java)
        jline-native-*.jar) repack "$jar" "org/jline/nativ" "Linux/x86_64/libjlinenative.so" ;;
        openblas-*-"$PLATFORM".jar) repack "$jar" "org/bytedeco/openblas/$PLATFORM" "$BLAS_LIBS" ;;
        *-"$PLATFORM"*.jar | *-linux-*.jar | *-macosx-*.jar | *-windows-*.jar | *-android-*.jar | *-ios-*.jar)
            case "$name" in javacpp-*-"$PLATFORM".jar) repack "$jar" "" "" ;; *) die "unexpected native jar $name" ;; esac ;;
        *) repack "$jar" "" "" ;;
    esac
    KEPT="$KEPT $name"
done
# The bundled model and sketches travel once, in the repository's models/ folder (run.sh maps them).
repack "$PROJECT_JAR" "" "" "dev/samplenorm/models"
ls "$BUNDLE/lib"/opencv-*-"$PLATFORM"-gpu.jar >/dev/null 2>&1 || die "no OpenCV GPU jar on the -Pgpu class path"

# The GPU JUnit suite: the test classes (without the ONNX Runtime agreement test, whose library the
# bundle leaves out) and the JUnit console launcher, run by `run.sh test`.
mkdir -p "$BUNDLE/tests"
cp "$TARGET/junit-console/junit-platform-console-standalone.jar" "$BUNDLE/tests/"
(cd "$TARGET/test-classes" && find . -name '*.class' ! -name 'OnnxRuntimeAgreementTest*' | sort > "$WORK/test-classes.txt" \
    && jar --create --no-compress --file "$BUNDLE/tests/samplenorm-tests.jar" @"$WORK/test-classes.txt")

# 3. A JRE with the modules the jars and the JUnit launcher use (jdeps), plus jdk.unsupported (JavaCPP
# uses sun.misc.Unsafe) and jdk.zipfs.
CP=$(ls "$BUNDLE"/lib/*.jar | tr '\n' ':')
# jdeps follows the project jar's dependencies through the class path (transitively).
MODULES=$(jdeps --ignore-missing-deps --multi-release 17 --print-module-deps --class-path "$CP" \
    "$BUNDLE/lib/$(basename "$PROJECT_JAR")" "$BUNDLE/tests/samplenorm-tests.jar" 2>&1 | tail -n 1)
case "$MODULES" in java.base*) ;; *) die "jdeps gave no module list: $MODULES" ;; esac
# The JUnit console launcher: jdeps lists java.sql and java.compiler for optional features (java.sql
# pulls in java.xml, megabytes in the archive); running tests needs java.logging, java.management and
# jdk.zipfs only, and the transfer limit has no room for the rest.
MODULES="$MODULES,java.logging,java.management"
# jdk.zipfs: the JUnit launcher scans the test jar through the zip file system, found by service lookup.
MODULES=$(echo "$MODULES,jdk.unsupported,jdk.zipfs" | tr ',' '\n' | sort -u | paste -sd, -)
say "JRE modules: $MODULES"
# No jlink compression: the modules file compresses far better inside the xz archive.
jlink --add-modules "$MODULES" --strip-debug --no-header-files --no-man-pages --compress=0 --output "$BUNDLE/jre"

# 4. Launcher, benchmark sources (the kernel check compiles on the GPU host), description.
cp benchmarks/gpu/bundle_run.sh "$BUNDLE/run.sh"
chmod +x "$BUNDLE/run.sh"
mkdir -p "$BUNDLE/benchmarks/gpu" "$BUNDLE/src/main"
cp benchmarks/gpu/*.sh benchmarks/gpu/*.py benchmarks/gpu/*.cu benchmarks/gpu/README.md "$BUNDLE/benchmarks/gpu/"
rm -f "$BUNDLE/benchmarks/gpu/make_bundle.sh" "$BUNDLE/benchmarks/gpu/bundle_run.sh"
cp -r src/main/cpp "$BUNDLE/src/main/"
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git status --porcelain 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
{
    echo "samplenorm GPU bundle, commit $COMMIT$DIRTY, built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "  ./run.sh info | translate ... | bench ... | make-model ...   the CLI on the bundled JRE"
    echo "  ./run.sh check-host                                          which native variant would run, and why"
    echo "  ./run.sh test                                                the GPU JUnit suite (JUnit console launcher)"
    echo "  benchmarks/gpu/run_gpu_benchmarks.sh                         kernel check, PyTorch anchors, Java end to end"
    echo
    echo "Host provides: NVIDIA driver for CUDA 13 (libcuda.so.1), libcudart.so.13, libcublas.so.13,"
    echo "libcublasLt.so.13, libcudnn.so.9 (CUDA toolkit + cuDNN, or NVIDIA's pip wheels); without them"
    echo "run.sh uses the CPU build of OpenCV and the CPU variant of the kernels."
    echo
    echo "Java modules: $MODULES"
    echo "Jars (lib/):"
    for j in "$BUNDLE"/lib/*.jar; do
        printf '  %-52s %10d bytes\n' "$(basename "$j")" "$(stat -c %s "$j")"
        unzip -Z1 "$j" | grep -E '\.(so(\.[0-9]+)*|dll|dylib|jnilib)$' | sed 's/^/      /' || true
    done
} > "$BUNDLE/BUNDLE.txt"

# 5. Check here: the bundled CLI runs (CPU variant: this machine has no cuDNN / cuBLAS / GPU).
if [ "$CHECK" = 1 ]; then
    say "checking the bundle here: run.sh check-host, run.sh info"
    CACHE="$WORK/javacpp-cache"
    SAMPLENORM_CACHE="$CACHE" "$BUNDLE/run.sh" check-host || true
    INFO=$(SAMPLENORM_CACHE="$CACHE" "$BUNDLE/run.sh" info 2>&1) || { echo "$INFO" >&2; die "the bundled CLI failed here"; }
    echo "$INFO" | sed 's/^/    /'
    echo "$INFO" | grep -q "cpu: available" || die "the bundled CLI did not report the CPU device"
    say "checking the bundle here: run.sh test (no GPU here: the GPU suite must be reported as skipped)"
    TESTS=$(SAMPLENORM_CACHE="$CACHE" SAMPLENORM_QUIET=1 "$BUNDLE/run.sh" test --details=summary 2>&1) \
        || { echo "$TESTS" >&2; die "the bundled GPU suite failed here"; }
    echo "$TESTS" | grep -E "tests (found|skipped|successful|failed)" | sed 's/^/    /'
    echo "$TESTS" | grep -Eq "\[ +[1-9][0-9]* tests skipped" || { echo "$TESTS" >&2; die "the bundled GPU suite reported no skipped tests"; }
fi

# 6. Archive.
XZ_FILTERS=${XZ_FILTERS:---x86 --lzma2=preset=9e,dict=256MiB}
say "compressing (xz $XZ_FILTERS)"
rm -rf "$CARRY"
mkdir -p "$CARRY"
# shellcheck disable=SC2086
tar -C "$TARGET" --owner=0 --group=0 --numeric-owner --transform 's,^gpu-bundle,samplenorm-gpu-bundle,' -cf - gpu-bundle \
    | xz -c -T1 $XZ_FILTERS > "$ARCHIVE"
SIZE=$(stat -c %s "$ARCHIVE")
say "contents (uncompressed):"
du -sh "$BUNDLE/jre" "$BUNDLE/lib" "$BUNDLE/tests" "$BUNDLE/src" "$BUNDLE/benchmarks" | sed 's/^/    /'
say "$ARCHIVE: $SIZE bytes ($(awk -v s="$SIZE" 'BEGIN { printf "%.2f", s / 1048576 }') MiB)"

# 7. What travels: the repository's files (tracked, and untracked but not ignored; shared/ where the
# checkout has one) plus the carried archive. All of it must stay under 64 MiB.
REPO_BYTES=$(python3 - <<'PY'
import os, subprocess
out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], capture_output=True, check=True).stdout
paths = {p for p in out.decode("utf-8", "surrogateescape").split("\0") if p}
if os.path.isdir("shared"):
    for d, _, files in os.walk("shared"):
        paths.update(os.path.join(d, f) for f in files)
print(sum(os.lstat(p).st_size for p in paths if os.path.lexists(p)))
PY
)
TOTAL=$((REPO_BYTES + SIZE))
mib() { awk -v s="$1" 'BEGIN { printf "%.2f MiB", s / 1048576 }'; }
say "transfer: repository files $REPO_BYTES bytes ($(mib "$REPO_BYTES")) + bundle $SIZE bytes ($(mib "$SIZE")) = $TOTAL bytes ($(mib "$TOTAL")); limit $LIMIT bytes (64 MiB), margin $(mib $((LIMIT - TOTAL)))"
if [ "$TOTAL" -ge "$LIMIT" ]; then
    die "the repository files plus the bundle come to $TOTAL bytes, not under 64 MiB"
fi
say "carry target/gpu-carry with the device command (benchmarks/gpu/README.md)"
