#!/usr/bin/env python3
"""GeneratorBenchmark's JMH JSON as a Markdown table: per benchmark and parameters, the median and the
min..max of the measurement iterations (ms per call), images/s from the median (N * 1000 / ms), and,
for the sampled latency benchmarks, percentiles of the single calls.

    benchmarks/summarize-generators.py benchmarks/results/cpu-generators-*.json
"""
import json
import statistics
import sys


def fmt(x):
    return f"{x:.1f}" if isinstance(x, (int, float)) else str(x)


def main(paths):
    runs = [r for path in paths for r in json.load(open(path))]
    print("| benchmark | engine | mode | N | median ms/call | min..max ms | JMH score ± error | images/s (median) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in runs:
        name = r["benchmark"].rsplit(".", 1)[1]
        p = r.get("params", {})
        # ConvTranspose form and OpenCV thread count, where the run has them, go with the name.
        extra = [f"{k}={p[k]}" for k in ("convTranspose", "cvThreads") if k in p]
        if extra:
            name += " (" + ", ".join(extra) + ")"
        n = int(p.get("batch", 1))
        m = r["primaryMetric"]
        if r["mode"] == "sample":
            # rawDataHistogram: per fork, per iteration, [[value, count], ...]
            values = []
            for fork in m["rawDataHistogram"]:
                for it in fork:
                    for value, count in it:
                        values += [value] * count
            values.sort()
            med = statistics.median(values)
            pct = m["scorePercentiles"]
            print(f"| {name} | {p.get('engine', '-')} | {p.get('mode', 'sample' if 'OpenCv' in name else '-')} | {n} | {med:.1f} | "
                  f"{values[0]:.1f}..{values[-1]:.1f} ({len(values)} calls; p90 {pct['90.0']:.1f}) | "
                  f"{fmt(m['score'])} ± {fmt(m['scoreError'])} | {1000 / med:.2f} |")
        else:
            its = [v for fork in m["rawData"] for v in fork]
            med = statistics.median(its)
            print(f"| {name} | {p.get('engine', '-')} | {p.get('mode', '-')} | {n} | {med:.1f} | {min(its):.1f}..{max(its):.1f} "
                  f"({len(its)} it.) | {fmt(m['score'])} ± {fmt(m['scoreError'])} | {n * 1000 / med:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
