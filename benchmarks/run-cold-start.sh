#!/usr/bin/env bash
# Cold start of the CLI: one image through `./samplenorm translate` in a fresh JVM, RUNS times (default 7),
# after one untimed run that leaves the jar, the libraries and the model in the OS page cache.
# Per run: milliseconds from the invocation to the output file's modification time (the image is written
# once, by an atomic move, just before the process ends), to the process's exit, and the model-load time
# the CLI logs with --verbose (Generator.load: read, rewrite, OpenCV import). Writes
# benchmarks/results/cold-start-<model>-<date>.txt.
#   benchmarks/run-cold-start.sh                                   # bundled pix2pix_shapes_128
#   benchmarks/run-cold-start.sh target/bench-models/unet_256.onnx  # any model, e.g. unet_256
set -eu
cd "$(dirname "$0")/.."
runs=${RUNS:-7}
model=${1:-}
load=$(cut -d" " -f1-3 /proc/loadavg)
mvn -B -q -DskipTests package
dir=target/cold-start
mkdir -p "$dir" benchmarks/results
name=$( [ -n "$model" ] && basename "$model" .onnx || echo pix2pix_shapes_128 )
args=(translate --input models/samples/sketch_01.png --output "$dir/out.png" --device cpu --stats sample --verbose)
[ -n "$model" ] && args+=(--model "$model")
result="benchmarks/results/cold-start-$name-$(date -u +%Y%m%d).txt"
{
    echo "# $(date -u) | $(lscpu | sed -n 's/^Model name: *//p') | $(nproc) cores | load before: $load"
    echo "# ./samplenorm ${args[*]}"
    ./samplenorm "${args[@]}" > /dev/null 2>&1
    echo "run to_output_ms to_exit_ms model_load_ms"
    for i in $(seq "$runs"); do
        rm -f "$dir/out.png"
        t0=$(date +%s%N)
        ./samplenorm "${args[@]}" > "$dir/stdout" 2> "$dir/stderr"
        t1=$(date +%s%N)
        tw=$(stat -c %.9Y "$dir/out.png" | tr -d .)
        load_ms=$(sed -n 's/.*loaded in \([0-9]*\) ms.*/\1/p' "$dir/stderr")
        echo "$i $(( (tw - t0) / 1000000 )) $(( (t1 - t0) / 1000000 )) $load_ms"
    done
} | tee "$result"
col=2
for h in to_output_ms to_exit_ms model_load_ms; do
    sed -n '/^run /,$p' "$result" | awk -v c=$col 'NR > 1 && $1 ~ /^[0-9]+$/ { print $c }' | sort -n |
        awk -v h=$h '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
                      printf "# %s: median %s, min %s, max %s (%d runs)\n", h, m, a[1], a[NR], NR }'
    col=$((col + 1))
done | tee -a "$result"
