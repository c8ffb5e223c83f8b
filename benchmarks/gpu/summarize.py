#!/usr/bin/env python3
"""Combines the outputs of run_gpu_benchmarks.sh into results.json and summary.txt, with the targets.

Targets:
  kernels   each samplenorm CUDA kernel moves >= 80 % of the measured device-to-device copy bandwidth
  fused     image_stats + images_to_blob (statistics + normalization fused with the 8-bit conversion)
            >= 1.5x faster than PyTorch's uint8 -> float -> F.batch_norm(training=True), same images
  e2e       samplenorm's Java pipeline on CUDA (bench, --stats batch, 8-bit images in and out) reaches
            >= 1 / 1.5 of PyTorch eager throughput on the same unet_256 (both at N = 1 and 16)

Usage: summarize.py WORK_DIR OUT_DIR   (reads WORK_DIR/{system.json,steps.json,kernel_check.txt,
       torch_batchnorm.json,java_bench.json,torch_unet.json}; each may be missing)
"""
import json
import os
import re
import sys

ROW = re.compile(r"^(?P<name>\S.*?)\s+(?P<bytes>\d+)\s+(?P<median>[\d.]+)\s+(?P<min>[\d.]+)\s+(?P<max>[\d.]+)\s+"
                 r"(?P<gbs>[\d.]+)\s+(?P<pct>[\d.]+)%\s*$")


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def parse_kernel_check(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    rows = []
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            rows.append({"name": m["name"].strip(), "bytes": int(m["bytes"]), "median_us": float(m["median"]),
                         "min_us": float(m["min"]), "max_us": float(m["max"]), "gb_per_s": float(m["gbs"]),
                         "percent_of_copy": float(m["pct"])})
    result = re.search(r"^RESULT: (.*)$", text, re.M)
    device = re.search(r"^device \d+: (.*)$", text, re.M)
    correctness = re.search(r"^correctness: (.*)$", text, re.M)
    return {"rows": rows, "result": result.group(1) if result else None, "device": device.group(1) if device else None,
            "correctness": correctness.group(1) if correctness else None}


def verdict(ok):
    return "PASS" if ok else "MISS"


def main():
    work, out = sys.argv[1], sys.argv[2]
    system = load_json(os.path.join(work, "system.json")) or {}
    steps = load_json(os.path.join(work, "steps.json")) or {}
    kc = parse_kernel_check(os.path.join(work, "kernel_check.txt"))
    tbn = load_json(os.path.join(work, "torch_batchnorm.json"))
    java = load_json(os.path.join(work, "java_bench.json"))
    tun = load_json(os.path.join(work, "torch_unet.json"))

    lines = []
    targets = {"kernels": [], "fused": [], "e2e": []}
    lines.append("samplenorm GPU benchmarks")
    if system.get("mode") == "cpu-smoke":
        lines.append("  CPU SMOKE TEST: tiny sizes on the CPU; these numbers check the scripts, they measure none of the targets")
    for k in ("gpu", "driver", "memory", "bundle"):
        if system.get(k):
            lines.append(f"  {k}: {system[k]}")
    lines.append("  steps: " + ", ".join(f"{k} {'ok' if v.get('rc') == 0 else 'FAILED (rc ' + str(v.get('rc')) + ')'}"
                                         f" {v.get('seconds', 0):.0f} s" for k, v in steps.items()))

    # 1. Kernels against the copy bandwidth.
    lines.append("")
    lines.append("1. samplenorm CUDA kernels vs device-to-device copy (target >= 80 %)")
    if kc and kc["rows"]:
        lines.append(f"   kernel check: {kc['device']}; {kc['correctness']}; RESULT: {kc['result']}")
        for r in kc["rows"]:
            if r["name"].startswith("memcpy"):
                lines.append(f"   {r['name']:<52} {r['gb_per_s']:9.1f} GB/s (the 100 % reference)")
                continue
            ok = r["percent_of_copy"] >= 80.0
            targets["kernels"].append({"kernel": r["name"], "percent_of_copy": r["percent_of_copy"], "pass": ok})
            lines.append(f"   {r['name']:<52} {r['median_us']:9.1f} us {r['gb_per_s']:9.1f} GB/s {r['percent_of_copy']:6.1f} %  "
                         f"{verdict(ok)}")
    else:
        lines.append("   no kernel check results (see log.txt)")

    # 2. Fused statistics + normalization vs PyTorch.
    lines.append("")
    lines.append("2. statistics + normalization fused with the 8-bit conversion vs PyTorch (target >= 1.5x faster)")
    if kc and kc["rows"] and tbn:
        ours = {r["name"]: r for r in kc["rows"]}
        copy_torch = tbn["info"].get("copy_gb_per_s")
        if copy_torch:
            lines.append(f"   PyTorch {tbn['info'].get('torch')}: copy {copy_torch:.1f} GB/s")
        for t in tbn["results"]:
            if t["case"] not in ("images_eager", "images_compiled"):
                continue
            tag = "x".join(str(v) for v in t["shape"])
            st, cv = ours.get("image_stats batch " + tag), ours.get("images_to_blob " + tag)
            if not st or not cv:
                continue
            mine = st["median_us"] + cv["median_us"]
            speedup = t["median_us"] / mine
            ok = speedup >= 1.5
            entry = {"shape_nhwc": t["shape"], "torch": t["case"], "torch_us": t["median_us"], "samplenorm_us": mine,
                     "speedup": speedup}
            if t["case"] == "images_eager":
                entry["pass"] = ok
            targets["fused"].append(entry)
            label = "eager" if t["case"] == "images_eager" else "torch.compile (for reference)"
            lines.append(f"   {tag:<14} samplenorm {mine:9.1f} us (stats {st['median_us']:.1f} + convert {cv['median_us']:.1f})"
                         f"  PyTorch {label} {t['median_us']:9.1f} us  -> {speedup:5.2f}x"
                         + (f"  {verdict(ok)}" if t["case"] == "images_eager" else ""))
        for t in tbn["results"]:
            if t["case"] != "blob":
                continue
            tag = "x".join(str(v) for v in t["shape"])
            st = next((r for n, r in ours.items() if n.startswith("blob_stats batch " + tag)), None)
            nm = next((r for n, r in ours.items() if n.startswith("blob_normalize " + tag)), None)
            if st and nm:
                mine = st["median_us"] + nm["median_us"]
                targets["fused"].append({"shape_nchw": t["shape"], "torch": "blob", "torch_us": t["median_us"],
                                         "samplenorm_us": mine, "speedup": t["median_us"] / mine})
                lines.append(f"   float blob {tag:<14} blob_stats + blob_normalize {mine:9.1f} us  F.batch_norm {t['median_us']:9.1f} us"
                             f"  -> {t['median_us'] / mine:5.2f}x (float input, not the target)")
    else:
        lines.append("   missing kernel check or PyTorch results (see log.txt)")

    # 3. End to end.
    lines.append("")
    arch = f"unet_{tun['info']['size']}" if tun else "unet"
    lines.append(f"3. end to end, {arch}, images/s (target: samplenorm >= PyTorch eager / 1.5)")
    torch_rows = {(r["variant"], r["n"]): r for r in (tun or {}).get("results", [])}
    if tun:
        info = tun["info"]
        lines.append(f"   PyTorch {info.get('torch')}, cuDNN {info.get('cudnn')}, TF32 convolutions "
                     f"{'on' if info.get('cudnn_allow_tf32') else 'off'}")
        for (variant, n), r in sorted(torch_rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            lines.append(f"   PyTorch {variant:<12} N={n:<3} {r['median_ms']:9.3f} ms  {r['images_per_s']:9.1f} images/s")
        for note in tun.get("notes", []):
            lines.append(f"   note: {note}")
    if java:
        lines.append(f"   samplenorm: device {java.get('device')}, OpenCV CUDA devices {java.get('opencv_cuda_devices')}, "
                     f"DNN CUDA targets {java.get('dnn_cuda_targets')}, {java.get('native_kernels')}")
        check = java.get("translate_check")
        if check:
            lines.append(f"   translate --device {check['device']} vs --device cpu (N={check['n']}, --stats batch): relative L2 "
                         f"difference {check['rel_l2_vs_cpu']:.3g}{'' if check.get('finite') else ', NON-FINITE values'}")
        for r in java.get("results", []):
            lines.append(f"   samplenorm {r['stats']:<8} {r['input']:<6} N={r['n']:<3} {r['median_ms']:9.3f} ms  "
                         f"{r['images_per_s']:9.1f} images/s  (first call {r['first_ms']:.0f} ms)")
        for r in java.get("results", []):
            if r["stats"] != "batch" or r["input"] != "images":
                continue
            for variant, what in (("host_uint8", "like for like: host uint8 in and out"),
                                  ("eager", "device-resident float tensors"),
                                  ("eager_bench", "device-resident, cudnn.benchmark")):
                t = torch_rows.get((variant, r["n"]))
                if not t:
                    continue
                ratio = t["images_per_s"] / r["images_per_s"]
                ok = ratio <= 1.5
                targets["e2e"].append({"n": r["n"], "torch_variant": variant, "torch_images_per_s": t["images_per_s"],
                                       "samplenorm_images_per_s": r["images_per_s"], "torch_over_samplenorm": ratio,
                                       "pass": ok})
                lines.append(f"   N={r['n']:<3} PyTorch {variant} / samplenorm = {ratio:5.2f}  {verdict(ok)}  ({what})")
    else:
        lines.append("   no samplenorm results (see log.txt)")

    summary = "\n".join(lines) + "\n"
    results = {"system": system, "steps": steps, "targets": targets, "kernel_check": kc, "torch_batchnorm": tbn,
               "java_bench": java, "torch_unet": tun}
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    with open(os.path.join(out, "summary.txt"), "w") as f:
        f.write(summary)
    print(summary, end="")


if __name__ == "__main__":
    main()
