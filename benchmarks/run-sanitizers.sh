#!/usr/bin/env bash
# The host-kernel tests against a CPU build of the native library compiled with AddressSanitizer and
# UndefinedBehaviorSanitizer (kept out of CI: it rebuilds the library and takes minutes).
#   1. compiles src/main/cpp (CPU sources) with -fsanitize=address,undefined into target/sanitizers/lib;
#   2. rebuilds the JNI library with the JavaCPP Builder against it, in a copy of target/classes;
#   3. runs the kernel tests with the JUnit console launcher in a JVM that has libasan and libubsan
#      preloaded. The JVM uses SIGSEGV itself (safepoints, implicit null checks), so ASan must not
#      take that signal (handle_segv=0), and its leak checker would report the JVM's own allocations
#      (detect_leaks=0). Any sanitizer report aborts the JVM (halt_on_error), which fails the run.
#      First a positive control (SanitizerControl: an out-of-bounds read past the Java checks) must
#      be reported, which shows the sanitizers are active in the JVM.
# Prints the report and the JUnit summary; writes target/sanitizers/report.txt.
set -eu
cd "$(dirname "$0")/.."
out=target/sanitizers
CXX=${CXX:-g++}
SRC=src/main/cpp
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

mvn -B -q -P'!gpu-native' -Dsamplenorm.cppbuild=cpu -DskipTests test-compile
mvn -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$out/classpath" > /dev/null
mvn -B -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.1 -DoutputDirectory="$out" > /dev/null

rm -rf "$out/obj" "$out/lib" "$out/classes"
mkdir -p "$out/obj" "$out/lib"
# The CPU sources as cppbuild.sh lists them for linux-x86_64 (its CPU_SOURCES assignments), so that a
# source added there is sanitized too.
cpu_sources=$(eval "$(sed -n 's/^ *\(CPU_SOURCES=.*\)$/\1/p' cppbuild.sh)"; echo "$CPU_SOURCES")
case "$cpu_sources" in *api/samplenorm.cpp*) ;; *) echo "run-sanitizers.sh: no CPU_SOURCES found in cppbuild.sh" >&2; exit 1 ;; esac
for f in $cpu_sources; do
    extra=""
    case "$f" in *_avx2.cpp) extra="-mavx2" ;; esac
    $CXX -std=c++17 -O1 -g -fPIC -fopenmp-simd -fno-trapping-math -fvisibility=hidden -Wall -Wextra -Werror $SAN $extra \
        -I"$SRC/include" -c "$f" -o "$out/obj/$(basename "${f%.*}").o"
done
ar rcs "$out/lib/libsamplenorm.a" "$out"/obj/*.o

cp -r target/classes "$out/classes"
rm -f "$out/classes/dev/samplenorm/linux-x86_64/libjnisamplenorm.so"
# A GPU variant left by an earlier full build would be loaded in preference to the rebuilt one.
rm -rf "$out/classes/dev/samplenorm/linux-x86_64-gpu"
javacpp=$(tr ':' '\n' < "$out/classpath" | grep '/javacpp-[0-9.]*\.jar$' | head -n 1)
# Symbols kept (no -s) so that reports name the functions.
java -cp "$javacpp:$out/classes" org.bytedeco.javacpp.tools.Builder -cp "$out/classes" \
    -Dplatform.includepath="$PWD/$SRC/include" -Dplatform.linkpath="$PWD/$out/lib" \
    -Dplatform.compiler.default="-march=x86-64 -m64 -O1 -g" \
    -Xcompiler -fsanitize=address,undefined dev.samplenorm.global.samplenorm > "$out/builder.log" 2>&1 \
    || { cat "$out/builder.log"; exit 1; }
lib="$out/classes/dev/samplenorm/linux-x86_64/libjnisamplenorm.so"
ldd "$lib" | grep -q libasan || { echo "run-sanitizers.sh: $lib is not linked with libasan" >&2; exit 1; }

cp="$out/classes:target/test-classes:$(cat "$out/classpath"):$out/junit-platform-console-standalone-1.14.1.jar"
export LD_PRELOAD="$($CXX -print-file-name=libasan.so) $($CXX -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0,handle_segv=0,allow_user_segv_handler=1,halt_on_error=1,abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1,halt_on_error=1
set +e
# Positive control: an out-of-bounds read that bypasses the Java checks must be reported.
java -Xmx1g -XX:ErrorFile="$out/control-hs_err.log" -cp "$cp" dev.samplenorm.benchmarks.SanitizerControl > "$out/control.txt" 2>&1
if ! grep -q "ERROR: AddressSanitizer" "$out/control.txt"; then
    cat "$out/control.txt"
    echo "run-sanitizers.sh: the positive control raised no AddressSanitizer report: the setup does not work" >&2
    exit 1
fi
echo "run-sanitizers.sh: positive control reported: $(grep -m1 "ERROR: AddressSanitizer" "$out/control.txt")"
# The kernel tests (child JVMs of AliasingTest inherit the preload).
java -Xmx2g -Dsamplenorm.test.expectedVariant=cpu -cp "$cp" org.junit.platform.console.ConsoleLauncher execute \
    --select-package dev.samplenorm.kernels --details summary --disable-banner 2>&1 | tee "$out/report.txt"
status=${PIPESTATUS[0]}
set -e
if grep -q -e "ERROR: AddressSanitizer" -e "runtime error:" "$out/report.txt"; then
    echo "run-sanitizers.sh: sanitizer findings above" >&2
    exit 1
fi
echo "run-sanitizers.sh: JUnit exit status $status, no sanitizer findings"
exit "$status"
