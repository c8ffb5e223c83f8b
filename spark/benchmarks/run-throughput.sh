#!/usr/bin/env bash
# Images/s of Spark local[N] against `samplenorm translate` on one directory of PNGs, and the
# per-executor overhead. Usage: spark/benchmarks/run-throughput.sh [IMAGES] [MASTER] [REPEATS]
# Needs the core installed (mvn -B install at the root) and spark/ test-compiled.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-64}; master=${2:-local[2]}; repeats=${3:-5}
mvn -B -q test-compile dependency:build-classpath -Dmdep.outputFile=target/test.classpath -Dmdep.includeScope=test
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
java -cp "target/test-classes:target/classes:$(cat target/test.classpath)" dev.samplenorm.spark.bench.WriteSketches "$dir" "$n"
opts=$(mvn -B -q help:evaluate -Dexpression=spark.jvm.options -DforceStdout -Dstyle.color=never | sed "s/\x1b\[[0-9;]*m//g" | tr '\n' ' ')
OPENCV_LOG_LEVEL=ERROR java -Xmx3g $opts -cp "target/test-classes:target/classes:$(cat target/test.classpath)" \
    dev.samplenorm.spark.bench.SparkThroughput "$dir" "$master" "$repeats"
