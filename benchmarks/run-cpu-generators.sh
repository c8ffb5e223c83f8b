#!/usr/bin/env bash
# unet_256 end to end on the CPU: first checks that samplenorm (batch, sample) and ONNX Runtime give the
# same output (OnnxRuntimeAgreement, not timed; stops here if they do not), then runs GeneratorBenchmark
# (every statistics mode x N = 1, 4, 16, ONNX Runtime at the same N, one-image latency) and writes
# benchmarks/results/cpu-generators-<date>.{txt,json}; summarize-generators.py turns the JSON into
# images/s with median and spread. Extra arguments go to JMH, e.g. -p batch=1 or GeneratorBenchmark.latency.
# The models are built on first use into target/bench-models (unet_256: about 218 MB).
set -eu
cd "$(dirname "$0")/.."
mvn -B -q -DskipTests test-compile
mvn -B -q dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
cp="target/test-classes:target/classes:$(cat target/bench.classpath)"
mkdir -p benchmarks/results
out="benchmarks/results/cpu-generators-$(date -u +%Y%m%d)"
{
    echo "# $(date -u) | $(lscpu | sed -n 's/^Model name: *//p') | $(nproc) cores | load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    java -Xmx6g -cp "$cp" dev.samplenorm.benchmarks.OnnxRuntimeAgreement 2>&1 | grep -v -e '^INFO: ' -e 'Generator <init>$'
} | tee "$out.txt"
java -cp "$cp" org.openjdk.jmh.Main -rf json -rff "$out.json" "${@:-GeneratorBenchmark}" 2>&1 | tee -a "$out.txt"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out.txt"
