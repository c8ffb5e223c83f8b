#!/usr/bin/env bash
# unet_256 end to end on the CPU: first checks that samplenorm (batch, sample) and ONNX Runtime give the
# same output (OnnxRuntimeAgreement, not timed; stops here if they do not), then runs GeneratorBenchmark
# (every statistics mode x N = 1, 4, 16, ONNX Runtime at the same N, one-image latency) and writes
# benchmarks/results/cpu-generators-<UTC date and time>.{txt,json}; summarize-generators.py turns the JSON into
# images/s with median and spread. Extra arguments go to JMH, e.g. -p batch=1 or GeneratorBenchmark.latency;
# SKIP_CHECK=1 skips the agreement check (e.g. when the grid is run in parts).
# The models are built on first use into target/bench-models (unet_256: about 218 MB).
set -eu
cd "$(dirname "$0")/.."
. benchmarks/jmh-setup.sh
jmh_setup cpu-generators
echo "# java -cp ... org.openjdk.jmh.Main -rf json -rff $out.json ${*:-GeneratorBenchmark}" | tee -a "$out.txt"
if [ -z "${SKIP_CHECK:-}" ]; then
    java -Xmx6g @target/bench.args dev.samplenorm.benchmarks.OnnxRuntimeAgreement 2>&1 | grep -v -e '^INFO: ' -e 'Generator <init>$' \
        | tee -a "$out.txt"
    [ "${PIPESTATUS[0]}" = 0 ] || { echo "samplenorm and ONNX Runtime disagree; not timing" >&2; exit 1; }
fi
java -Djmh.separateClasspathJAR=true @target/bench.args org.openjdk.jmh.Main -rf json -rff "$out.json" "${@:-GeneratorBenchmark}" 2>&1 | tee -a "$out.txt"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out.txt"
