#!/usr/bin/env bash
# Load measurements of `samplenorm serve` on loopback (results: benchmarks/RESULTS.md, raw log in
# benchmarks/results/). wrk drives the closed-loop sweep (concurrency 1, 4, 16, 64; micro-batching on
# and off); benchmarks/src/main/java/dev/samplenorm/benchmarks/ServingLoad.java runs the in-process
# single-thread Generator baseline, the open-loop overload run, the fault run and the SIGTERM run.
# Needs wrk (Debian: apt-get install -y wrk) and a build: mvn -B -DskipTests package test-compile.
# Environment: DURATION (s per wrk point, default 10), OVERLOAD_SECONDS (default 20), PORT (default 18080),
# MODEL (default the bundled model), IMAGE (default its first sample sketch), SECTIONS (default
# "sweep half overload faults sigterm"; the half-capacity and overload rates come from the best throughput of the sweep, or
# from BEST (req/s) when the sweep is skipped), CONCURRENCY (wrk points, default "1 4 16 64"), SERVE_ARGS (more `serve`
# options for every server, e.g. "--instances 2"), SERVER_JAVA_OPTS (JVM options of the server; every server also writes
# a GC log next to the raw log), WARMUP (s of open-loop warm-up before each open-loop run, default 5), CLIENT_NICE (nice
# increment of the open-loop load generator, default 0; negative values need root: on a machine where the generator shares
# the cores with the server, a higher-priority generator stands in for a client on another machine).
# OpenCV reads OPENCV_FOR_THREADS_NUM from the environment (its worker threads per process).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
OVERLOAD_SECONDS=${OVERLOAD_SECONDS:-20}
PORT=${PORT:-18080}
MODEL=${MODEL:-models/pix2pix_shapes_128.onnx}
IMAGE=${IMAGE:-models/samples/sketch_01.png}
SECTIONS=${SECTIONS:-sweep half overload faults sigterm}
CONCURRENCY=${CONCURRENCY:-1 4 16 64}
WARMUP=${WARMUP:-5}
has() { [[ " $SECTIONS " == *" $1 "* ]]; }
command -v wrk >/dev/null || { echo "run-serving-load.sh: wrk not found (apt-get install -y wrk)" >&2; exit 1; }
[ -d target/test-classes/dev/samplenorm/benchmarks ] && [ -d target/lib ] || {
    echo "run-serving-load.sh: build first: mvn -B -DskipTests package test-compile" >&2; exit 1; }
CP="target/test-classes:target/classes:target/lib/*"
URL="http://127.0.0.1:$PORT"
mkdir -p benchmarks/results
LOG=benchmarks/results/serving-load-$(date +%Y%m%d-%H%M).log
LUA=$(mktemp --suffix=.lua)
trap 'rm -f "$LUA"; [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null || true' EXIT
cat > "$LUA" <<LUA
wrk.method = "POST"
local f = assert(io.open("$IMAGE", "rb"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "image/png"
LUA

GC_LOGS=0
start_server() {
    GC_LOGS=$((GC_LOGS + 1))
    GC_LOG="${LOG%.log}-gc$GC_LOGS.log"
    # shellcheck disable=SC2086
    java -Xmx2g ${SERVER_JAVA_OPTS:-} -Xlog:gc:file="$GC_LOG" -cp "$CP" dev.samplenorm.cli.Main serve --model "$MODEL" --device cpu \
        --port "$PORT" ${SERVE_ARGS:-} "$@" &
    SERVER=$!
    for _ in $(seq 1 600); do
        curl -fs "$URL/v2/health/ready" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "server did not become ready" >&2
    exit 1
}

stop_server() {
    kill -TERM "$SERVER"
    wait "$SERVER" || true
    SERVER=
}

gc_summary() { # GC pauses in the server's GC log so far: count, total and longest
    awk '/Pause/ { n++; v = $NF; sub(/ms$/, "", v); t += v; if (v > m) m = v }
         END { printf "GC pauses so far: %d, total %.1f ms, longest %.1f ms\n", n, t, m }' "$GC_LOG"
}

need_best() { # what the rate is for -> exits unless the sweep (or BEST) gave a throughput
    awk "BEGIN{exit !($BEST > 0)}" || { echo "run-serving-load.sh: no throughput to $1: run the sweep, or set BEST (req/s)" >&2; exit 1; }
}

open_loop() { # rate (req/s) -> ServingLoad's open loop for OVERLOAD_SECONDS, then GC pauses and load average
    nice -n "${CLIENT_NICE:-0}" java -cp "$CP" dev.samplenorm.benchmarks.ServingLoad open "$URL/v1/translate" "$IMAGE" "$1" "$OVERLOAD_SECONDS" "$WARMUP" 2>/dev/null
    gc_summary
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}

metric() { # name filter -> value(s)
    curl -fs "$URL/metrics" | grep -E "^$1" || true
}

run() {
echo "# samplenorm serve under load"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB;" \
     "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "java: $(java -version 2>&1 | head -1); wrk: $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "model: $MODEL; image: $IMAGE ($(stat -c %s "$IMAGE") bytes); wrk points: ${DURATION} s each"
echo "server: ${SERVE_ARGS:-} ${SERVER_JAVA_OPTS:-} OPENCV_FOR_THREADS_NUM=${OPENCV_FOR_THREADS_NUM:-unset}"
echo "open-loop load generator: nice ${CLIENT_NICE:-0}"
BEST=${BEST:-0}
if has sweep; then
echo
echo "## In-process baseline: single-thread Generator loop (decode PNG, translate, encode PNG)"
java -cp "$CP" dev.samplenorm.benchmarks.ServingLoad loop "$DURATION" "$MODEL" "$IMAGE" 2>/dev/null
for setting in "on|--max-batch 8 --max-delay-ms 5" "off|--max-batch 1 --max-delay-ms 0"; do
    name=${setting%%|*}
    # shellcheck disable=SC2086
    start_server ${setting#*|} --queue 256
    echo
    echo "## Micro-batching $name (${setting#*|}, queue 256, ${SERVE_ARGS:-1 instance})"
    for c in $CONCURRENCY; do
        t=$(( c < 2 ? 1 : 2 ))
        echo "### concurrency $c"
        out=$(wrk -t "$t" -c "$c" -d "${DURATION}s" --timeout 30s --latency -s "$LUA" "$URL/v1/translate")
        echo "$out" | grep -E "Latency Distribution|^ +(50|75|90|99)%|Requests/sec|requests in|Non-2xx|Socket errors"
        echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
        rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
        if [ "$name" = on ] && awk "BEGIN{exit !($rps > $BEST)}"; then BEST=$rps; fi
    done
    echo "### server metrics after the sweep"
    metric 'samplenorm_inference_batch_size_(count|sum)'
    metric 'samplenorm_inference_requests_(accepted|rejected|failed|timed_out)_total'
    gc_summary
    stop_server
done
fi

if has half; then
need_best halve
HALF=$(awk "BEGIN{printf \"%.1f\", $BEST / 2}")
echo
echo "## Below capacity: open loop at 2 req/s and at $HALF req/s (half of $BEST) for $OVERLOAD_SECONDS s each; batching on, queue 256"
start_server --max-batch 8 --max-delay-ms 5 --queue 256
for rate in 2 "$HALF"; do
    open_loop "$rate"
done
stop_server
fi

if has overload; then
need_best overload
RATE=$(awk "BEGIN{printf \"%.1f\", 2 * $BEST}")
echo
echo "## Overload: open loop at $RATE req/s (2x the best measured throughput $BEST req/s) for $OVERLOAD_SECONDS s; queue 16"
start_server --max-batch 8 --max-delay-ms 5 --queue 16
rss_before=$(awk '/VmRSS/{print $2}' "/proc/$SERVER/status")
open_loop "$RATE"
echo "server RSS: $rss_before kB before, $(awk '/VmRSS/{print $2}' "/proc/$SERVER/status") kB after"
metric 'samplenorm_inference_requests_(accepted|rejected|succeeded|failed|timed_out)_total'
metric 'samplenorm_http_responses_total'
metric 'jvm_memory_used_bytes\{area="heap"'
stop_server
fi

if has faults; then
echo
echo "## Faults"
start_server --max-batch 8 --max-delay-ms 5 --queue 64
java -cp "$CP" dev.samplenorm.benchmarks.ServingLoad faults 127.0.0.1 "$PORT" "$IMAGE" 2>/dev/null
echo "server still alive: $(kill -0 "$SERVER" && echo yes)"
stop_server
fi

if has sigterm; then
echo
echo "## SIGTERM with requests in flight: 150 requests at once, SIGTERM once 40 of them are queued"
start_server --max-batch 8 --max-delay-ms 5 --queue 256
java -cp "$CP" dev.samplenorm.benchmarks.ServingLoad burst "$URL/v1/translate" "$IMAGE" 150 2>/dev/null &
BURST=$!
for _ in $(seq 1 300); do
    depth=$(metric 'samplenorm_inference_queue_depth' | awk '{printf "%d", $2}')
    [ "${depth:-0}" -ge 40 ] && break
    sleep 0.1
done
echo "queue depth at SIGTERM: $(metric 'samplenorm_inference_queue_depth' | awk '{print $2}')"
kill -TERM "$SERVER"
status=0
wait "$SERVER" || status=$?
echo "server exit status: $status (143 = terminated by SIGTERM after the drain)"
SERVER=
wait "$BURST"
fi
}
run 2>&1 | tee "$LOG"
echo "log: $LOG"
