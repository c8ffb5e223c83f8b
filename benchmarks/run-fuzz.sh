#!/usr/bin/env bash
# Coverage-guided fuzzing (Jazzer) of the inputs users hand samplenorm: ONNX models, .npy arrays,
# images. Each target fuzzes for SECONDS in its own surefire JVM; a finding that throws is saved by
# Jazzer as crash-* next to the target's regression inputs in src/test/resources, and a native crash
# (which ends the JVM before Jazzer can save anything) is saved from the input the target wrote
# last, as crash-native-*. Every such file is then run by `mvn verify` in regression mode.
#
# usage: benchmarks/run-fuzz.sh [SECONDS] [onnx|npy|image ...]     (default: 180 s, all three)
# Summary lines (executions, exec/s, findings) go to target/fuzz/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-180}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(onnx npy image)

declare -A class=(
  [onnx]=dev.samplenorm.robustness.OnnxModelFuzzTest#onnxBytesAreRefusedOrImported
  [npy]=dev.samplenorm.robustness.NpyFuzzTest#npyBytesAreRefusedOrRead
  [image]=dev.samplenorm.robustness.ImageDecodeFuzzTest#imageBytesAreRefusedOrDecoded
)

out=target/fuzz
mkdir -p "$out"
mvn -B -q test-compile
: > "$out/summary.txt"
for t in "${targets[@]}"; do
  test=${class[$t]:?unknown target $t (expected onnx, npy or image)}
  method=${test#*#}
  cls=${test%#*}
  inputs="src/test/resources/$(dirname "${cls//.//}")/${cls##*.}Inputs/$method"
  last="$PWD/$out/$t.last-input"
  rm -f "$last"
  echo "fuzzing $t for ${seconds}s ($test)"
  set +e
  # jazzer.internal.arg.0 is the program name libFuzzer expects; the time limit follows it.
  # Without the GPU profile: its second surefire execution would fuzz the target a second time.
  JAZZER_FUZZ=1 mvn -B -o test -P'!gpu-native' -Dsamplenorm.skipNative=true -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false \
    -Djazzer.instrument='dev.samplenorm.**' -Djazzer.internal.arg.0=fuzz \
    -Djazzer.internal.arg.1=-max_total_time="$seconds" -Dsamplenorm.fuzz.lastInput="$last" > "$out/$t.log" 2>&1
  rc=$?
  set -e
  stats=$(grep -E '^(#[0-9]+|Done [0-9]+ runs)' "$out/$t.log" | tail -2 | tr '\n' ' ')
  findings=$(grep -c -E 'FuzzTestFindingException|== Java Exception' "$out/$t.log" || true)
  native=no
  if grep -q -E 'SIGSEGV|SIGFPE|SIGABRT|SIGBUS|terminated without properly saying goodbye' "$out/$t.log"; then
    native=yes
    if [ -s "$last" ]; then
      keep="$inputs/crash-native-$(sha1sum "$last" | cut -c1-40)"
      cp "$last" "$keep"
      echo "  native crash: input saved as $keep"
    fi
  fi
  echo "$t: exit $rc; $stats; Java findings $findings; native crash $native" | tee -a "$out/summary.txt"
done
