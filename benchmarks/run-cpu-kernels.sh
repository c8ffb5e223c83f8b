#!/usr/bin/env bash
# Runs the host-kernel JMH benchmarks (samplenorm vs plain Java loops vs the OpenCV composite path)
# and writes the JSON results next to this script. Extra arguments go to JMH, e.g. -p batch=1,16.
set -eu
cd "$(dirname "$0")/.."
mvn -B -q -DskipTests test-compile
mvn -B -q dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
mkdir -p benchmarks/results
exec java -cp "target/test-classes:target/classes:$(cat target/bench.classpath)" org.openjdk.jmh.Main \
    -rf json -rff "benchmarks/results/cpu-kernels-$(date +%Y%m%d).json" "${@:-KernelBenchmark}"
