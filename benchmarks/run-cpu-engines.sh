#!/usr/bin/env bash
# samplenorm's two CPU engines side by side on unet_256 (GeneratorBenchmark): samplenorm on OpenCV DNN,
# samplenorm on ONNX Runtime, and plain ONNX Runtime (OrtSession.run on the training export) in batch mode
# at N = 1, 4, 16, then both engines in sample mode at N = 16. Writes
# benchmarks/results/cpu-engines-<UTC date and time>{.txt,-batch.json,-sample16.json}; summarize-generators.py
# turns the JSON into a table. Run it on a quiet machine: the load average goes into the .txt.
set -eu
cd "$(dirname "$0")/.."
. benchmarks/jmh-setup.sh
jmh_setup cpu-engines
run() {
    local tag=$1
    shift
    echo "# java -Djmh.separateClasspathJAR=true @target/bench.args org.openjdk.jmh.Main -rf json -rff $out-$tag.json $*" | tee -a "$out.txt"
    java -Djmh.separateClasspathJAR=true @target/bench.args org.openjdk.jmh.Main -rf json -rff "$out-$tag.json" "$@" 2>&1 \
        | grep -v -e '^INFO: ' -e 'Generator <init>$' | tee -a "$out.txt"
    echo "# load now: $(cut -d' ' -f1-3 /proc/loadavg) | $(date -u)" | tee -a "$out.txt"
}
run batch 'GeneratorBenchmark\.(openCv|onnxRuntime)$' -p mode=batch -p batch=1,4,16 -p engine=opencv,onnxruntime
run sample16 'GeneratorBenchmark\.openCv$' -p mode=sample -p batch=16 -p engine=opencv,onnxruntime
