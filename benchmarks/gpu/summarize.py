#!/usr/bin/env python3
"""Combines the outputs of run_gpu_benchmarks.sh into results.json and summary.txt, with the targets.

Targets:
  kernels   each samplenorm CUDA kernel moves >= 80 % of the measured device-to-device copy bandwidth
  fused     image_stats + images_to_blob (statistics + normalization fused with the 8-bit conversion)
            >= 1.5x faster than PyTorch's uint8 -> float -> F.batch_norm(training=True), same images
  e2e       samplenorm's Java pipeline on CUDA in fp32 (bench, --stats batch and sample, 8-bit images in
            and out) reaches PyTorch eager train-mode throughput on the same unet_256 at N = 16; N = 1,
            CUDA graphs and fp16 are reported beside it
Also: the GPU JUnit suite's result and every mode's accuracy on CUDA (junit.txt, gpu_accuracy.tsv), and
the PyTorch 2.x exports through samplenorm (export.json).

Usage: summarize.py WORK_DIR OUT_DIR   (reads WORK_DIR/{system.json,steps.json,kernel_check.txt,
       torch_batchnorm.json,java_bench.json,java_bench_fp16.json,java_check.json,torch_unet.json,
       junit.txt,gpu_accuracy.tsv,export.json}; each may be missing)
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


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def step_state(v):
    rc = v.get("rc")
    if rc == 0:
        return "ok"
    if rc == 124:
        return f"TIMED OUT (limit {v.get('limit')} s)"
    if rc == 125:
        return "NOT RUN (budget spent)"
    return f"FAILED (rc {rc})"


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
    java16 = load_json(os.path.join(work, "java_bench_fp16.json"))
    jcheck = load_json(os.path.join(work, "java_check.json")) or []
    export = load_json(os.path.join(work, "export.json"))
    junit = read_text(os.path.join(work, "junit.txt"))
    accuracy = read_text(os.path.join(work, "gpu_accuracy.tsv"))

    lines = []
    targets = {"kernels": [], "fused": [], "e2e": []}
    lines.append("samplenorm GPU benchmarks")
    if system.get("mode") == "cpu-smoke":
        lines.append("  CPU SMOKE TEST: tiny sizes on the CPU; these numbers check the scripts, they measure none of the targets")
    for k in ("gpu", "driver", "memory", "bundle"):
        if system.get(k):
            lines.append(f"  {k}: {system[k]}")
    lines.append("  steps: " + ", ".join(f"{k} {step_state(v)} {v.get('seconds', 0):.0f} s" for k, v in steps.items()))

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
    lines.append(f"3. end to end, {arch}, images/s (target: samplenorm fp32 >= PyTorch eager train mode at N = 16)")
    torch_rows = {(r["variant"], r["n"]): r for r in (tun or {}).get("results", [])}
    if tun:
        info = tun["info"]
        lines.append(f"   PyTorch {info.get('torch')}, cuDNN {info.get('cudnn')}, TF32 convolutions "
                     f"{'on' if info.get('cudnn_allow_tf32') else 'off'}")
        for (variant, n), r in sorted(torch_rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            lines.append(f"   PyTorch {variant:<12} N={n:<3} {r['median_ms']:9.3f} ms  {r['images_per_s']:9.1f} images/s")
        for note in tun.get("notes", []):
            lines.append(f"   note: {note}")
    for c in jcheck:
        lines.append(f"   translate --device {c['device']} vs --device cpu (N={c['n']}, --stats {c['stats']}): relative L2 "
                     f"difference {c['rel_l2_vs_cpu']:.3g}{'' if c.get('finite') else ', NON-FINITE values'}")
    for label, bench in (("fp32", java), ("fp16", java16)):
        if not bench:
            continue
        lines.append(f"   samplenorm {label}: device {bench.get('device')}, OpenCV CUDA devices {bench.get('opencv_cuda_devices')}, "
                     f"DNN CUDA targets {bench.get('dnn_cuda_targets')}, kernels {bench.get('native_kernels')}")
        for r in bench.get("results", []):
            lines.append(f"   samplenorm {label} {r['stats']:<8} {r['input']:<6} N={r['n']:<3} {r['median_ms']:9.3f} ms  "
                         f"{r['images_per_s']:9.1f} images/s  (first call {r['first_ms']:.0f} ms)")
    if java:
        fp16 = {(r["stats"], r["input"], r["n"]): r for r in (java16 or {}).get("results", [])}
        for r in java.get("results", []):
            if r["stats"] not in ("batch", "sample") or r["input"] != "images":
                continue
            for variant, what in (("eager", "PyTorch eager, device-resident float tensors"),
                                  ("host_uint8", "PyTorch eager, host uint8 in and out: like for like"),
                                  ("cuda_graph", "PyTorch CUDA graph")):
                t = torch_rows.get((variant, r["n"]))
                if not t:
                    continue
                ratio = r["images_per_s"] / t["images_per_s"]
                target = variant == "eager" and r["n"] == 16
                ok = ratio >= 1.0
                h = fp16.get((r["stats"], r["input"], r["n"]))
                entry = {"n": r["n"], "stats": r["stats"], "torch_variant": variant, "torch_images_per_s": t["images_per_s"],
                         "samplenorm_images_per_s": r["images_per_s"], "samplenorm_over_torch": ratio,
                         "samplenorm_fp16_images_per_s": h["images_per_s"] if h else None}
                if target:
                    entry["pass"] = ok
                targets["e2e"].append(entry)
                lines.append(f"   N={r['n']:<3} {r['stats']:<7} samplenorm fp32 / {variant} = {ratio:5.2f}"
                             + (f" (fp16 {h['images_per_s'] / t['images_per_s']:5.2f})" if h else "")
                             + (f"  {verdict(ok)}" if target else "") + f"  ({what})")
    else:
        lines.append("   no samplenorm results (see log.txt)")

    # 4. Correctness on CUDA: the GPU JUnit suite and every mode's accuracy.
    lines.append("")
    lines.append("4. correctness on CUDA: GPU JUnit suite (-Dsamplenorm.requireGpu=true, TF32 off)")
    if junit:
        counts = re.findall(r"^\[\s*(\d+) (tests? (?:found|skipped|started|aborted|successful|failed))\s*\]", junit, re.M)
        lines.append("   " + (", ".join(f"{n} {w}" for n, w in counts) if counts else "no JUnit summary (see junit.txt)"))
        failures = [l.strip() for l in junit.splitlines() if "✘" in l or "[X]" in l]
        for f in failures[:12]:
            lines.append(f"   FAILED: {f[:160]}")
    else:
        lines.append("   the suite did not run (see log.txt)")
    if accuracy:
        worst = {}
        for line in accuracy.splitlines():
            parts = line.split("\t")
            if len(parts) < 7:
                continue
            what, mode, n, size, comparison, err = parts[0], parts[1], parts[2], parts[3], parts[4], float(parts[5])
            key = (comparison, what, mode)
            worst[key] = max(worst.get(key, 0.0), err)
        lines.append("   worst relative L2 per comparison and mode:")
        for (comparison, what, mode), err in sorted(worst.items()):
            lines.append(f"   {comparison:<26} {what:<7} {mode:<8} {err:.2e}")

    # 5. PyTorch 2.x exports through samplenorm.
    lines.append("")
    lines.append("5. the reference U-Net exported by this host's PyTorch in training mode, through samplenorm")
    if export:
        lines.append(f"   PyTorch {export.get('torch')}, unet_{export.get('size')} ngf {export.get('ngf')}, N={export.get('n')}, "
                     f"opset {export.get('opset')}")
        for name, e in export.get("exports", {}).items():
            if "skipped" in e:
                lines.append(f"   {name:<12} skipped: {e['skipped']}")
            elif "error" in e:
                lines.append(f"   {name:<12} export FAILED: {e['error'][:200]}")
            else:
                bn = e.get("batchnorm", [])
                lines.append(f"   {name:<12} {len(bn)} BatchNormalization (training_mode {sorted({b['training_mode'] for b in bn})}),"
                             f" outputs {e.get('outputs')}, ops {e.get('ops')}")
        for r in export.get("samplenorm", []):
            if "error" in r:
                lines.append(f"   {r['export']:<12} {r['error']}")
            else:
                lines.append(f"   {r['export']:<12} {r['device']:<5} {r['stats']:<7} relative L2 vs PyTorch {r['rel_l2_vs_pytorch']:.2e}"
                             f"  {'PASS' if r['pass'] else 'FAIL'} (tolerance {r['tolerance']:g})")
    else:
        lines.append("   no export results (see log.txt)")

    summary = "\n".join(lines) + "\n"
    results = {"system": system, "steps": steps, "targets": targets, "kernel_check": kc, "torch_batchnorm": tbn,
               "java_bench": java, "java_bench_fp16": java16, "java_check": jcheck, "torch_unet": tun, "export": export,
               "gpu_accuracy": accuracy.splitlines() if accuracy else None}
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    with open(os.path.join(out, "summary.txt"), "w") as f:
        f.write(summary)
    print(summary, end="")


if __name__ == "__main__":
    main()
