#!/usr/bin/env bash
# Endurance run (not a test): 100,000 host-kernel calls, then 10,000 translations of the bundled model
# (one 128x128 sketch each, sample statistics, CPU) in one JVM, printing VmRSS at the start, after each
# quarter of each phase, in the middle (after the kernel calls) and at the end. RSS that keeps growing
# with the number of calls is a native leak. Writes benchmarks/results/endurance-<date>.txt.
#   benchmarks/run-endurance.sh [kernelCalls [translations]]
set -eu
cd "$(dirname "$0")/.."
mvn -B -q -P'!gpu-native' -DskipTests test-compile
mvn -B -q dependency:build-classpath -Dmdep.outputFile=target/endurance.classpath > /dev/null
mkdir -p benchmarks/results
result="benchmarks/results/endurance-$(date -u +%Y%m%d).txt"
{
    echo "# $(date -u) | $(lscpu | sed -n 's/^Model name: *//p') | $(nproc) cores | load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# java -Xmx512m dev.samplenorm.benchmarks.Endurance ${*:-100000 10000}"
    start=$(date +%s)
    java -Xmx512m -cp "target/test-classes:target/classes:$(cat target/endurance.classpath)" dev.samplenorm.benchmarks.Endurance "$@"
    echo "# wall time $(( $(date +%s) - start )) s"
} 2>&1 | tee "$result"
