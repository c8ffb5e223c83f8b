#!/usr/bin/env bash
# The first command to run on a GPU host, from the repository's root, with target/gpu-carry copied along
# (give it 600 s of wall time):
#
#   bash benchmarks/gpu/device_run.sh
#
# Build the bundle first, here: benchmarks/gpu/make_bundle.sh (it prints the transfer size, repository
# files plus bundle, and fails at 64 MiB). On the machine this unpacks the bundle and runs every step of
# run_gpu_benchmarks.sh (GPU JUnit suite, kernel check, Java end to end in fp32 and fp16, PyTorch anchors,
# PyTorch 2.x exports) with the host's PyTorch venv, under an overall budget of 510 s (each step has its
# own limit), and prints the summary table last. Results go to $OUT (six files: summary.txt,
# results.json, log.txt, kernel_check.txt, junit.txt, gpu_accuracy.tsv), else target/gpu-results.
# Extra arguments go to run_gpu_benchmarks.sh (e.g. --only junit, --skip export, --quick).
set -uo pipefail
cd "$(dirname "$0")/../.."
ARCHIVE=target/gpu-carry/samplenorm-gpu-bundle.tar.xz
if [ ! -f "$ARCHIVE" ]; then
    echo "device_run.sh: $ARCHIVE is missing: build it with benchmarks/gpu/make_bundle.sh and carry target/gpu-carry" >&2
    exit 2
fi
exec bash benchmarks/gpu/run_gpu_benchmarks.sh --bundle "$ARCHIVE" --out "${OUT:-target/gpu-results}" \
    --budget "${SAMPLENORM_GPU_BUDGET:-510}" "$@"
