#!/usr/bin/env python3
"""KernelBenchmark's JMH JSON as a Markdown table: per operation and batch size, the median and
min..max of the measurement iterations, GB/s from the median (bytes moved per call, as documented
in KernelBenchmark), the fraction of the best measured copy bandwidth, and the speed-up of
samplenorm over each baseline.

    benchmarks/summarize-kernels.py benchmarks/results/cpu-kernels-*.json
"""
import json
import statistics
import sys

H = W = 256
C = 3


def bytes_moved(op, n):
    e = n * C * H * W
    return {"preprocess": 6 * e, "statistics": 4 * e, "normalize": 8 * e, "postprocess": 5 * e,
            "copy48MiB": 2 * 48 * 2**20, "copy48MiBTwoThreads": 2 * 48 * 2**20,
            "copyBlobSizeTwoThreads": 2 * 4 * e}[op]


def split(name):
    for impl in ("Samplenorm", "OpenCvComposite", "JavaLoops"):
        if name.endswith(impl):
            return name[: -len(impl)], impl
    return name, "-"


def main(paths):
    rows = {}
    for path in paths:
        for r in json.load(open(path)):
            name = r["benchmark"].rsplit(".", 1)[1]
            n = int(r.get("params", {}).get("batch", 1))
            its = [v for fork in r["primaryMetric"]["rawData"] for v in fork]  # us/op
            rows[(name, n)] = (statistics.median(its), min(its), max(its))
    copy_gbs = max(bytes_moved(k[0], k[1]) / v[0] / 1e3 for k, v in rows.items() if k[0].startswith("copy48MiB"))
    print(f"Best measured copy bandwidth: {copy_gbs:.1f} GB/s (read + write)\n")
    # The blob-sized two-thread copy at the same N, where measured: the yardstick for data that fits in cache.
    blob_copy = {k[1]: bytes_moved(k[0], k[1]) / v[0] / 1e3 for k, v in rows.items() if k[0] == "copyBlobSizeTwoThreads"}
    print("| operation | N | implementation | median us | min..max us | GB/s | % of copy bandwidth | % of blob-size copy | samplenorm speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (name, n), (med, lo, hi) in sorted(rows.items(), key=lambda kv: (split(kv[0][0])[0], kv[0][1], split(kv[0][0])[1])):
        op, impl = split(name)
        gbs = bytes_moved(op, n) / med / 1e3
        ours = rows.get((op + "Samplenorm", n))
        speed = f"{med / ours[0]:.2f}x" if ours and impl not in ("Samplenorm", "-") else ""
        blob = f"{100 * gbs / blob_copy[n]:.0f} %" if n in blob_copy else ""
        print(f"| {op} | {n} | {impl} | {med:.0f} | {lo:.0f}..{hi:.0f} | {gbs:.1f} | {100 * gbs / copy_gbs:.0f} % | {blob} | {speed} |")


if __name__ == "__main__":
    main(sys.argv[1:])
