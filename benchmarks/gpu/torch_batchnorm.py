#!/usr/bin/env python3
"""PyTorch reference for samplenorm's statistics + normalization kernels (benchmarks/gpu/kernel_check.cu).

Times, on the shapes of the kernel check:
  * copy: a device-to-device copy of 256 MiB (bytes read + written), the bandwidth ceiling;
  * blob: F.batch_norm(x, None, None, training=True) on a float32 NCHW tensor, which computes the
    per-channel batch statistics and normalizes (the work of blob_stats + blob_normalize);
  * images: what a PyTorch user does with a batch of 8-bit HWC images already on the device:
    imgs.permute(0, 3, 1, 2).float() * (1/255), then F.batch_norm(training=True) (the work of
    image_stats + images_to_blob), eager and, where available, with torch.compile.
Each case: warm-up, then the median / min / max of --runs timed runs (CUDA events on a GPU,
perf_counter on the CPU), one input buffer reused, like the kernel check. 'bytes' counts the fewest
bytes the work must move (inputs read once per pass it needs, outputs written once), with the
kernel check's accounting: stats read the input once, normalization reads it and writes the output.

Usage: torch_batchnorm.py [--device cuda|cpu] [--small] [--runs R] [--warmup W] [--json FILE]
  --small  tiny shapes (smoke test on a CPU)
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

EPS = 1e-5


def timer(device, fn, warmup, runs):
    """Median / min / max in microseconds of fn() over runs, after warm-up."""
    for _ in range(warmup):
        fn()
    times = []
    if device.type == "cuda":
        torch.cuda.synchronize()
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        for _ in range(runs):
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            times.append(start.elapsed_time(stop) * 1000.0)
    else:
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e6)
    return {"median_us": statistics.median(times), "min_us": min(times), "max_us": max(times), "runs": runs}


def row(name, case, shape, nbytes, t, copy_gbs):
    gbs = nbytes / (t["median_us"] * 1e3)
    r = {"name": name, "case": case, "shape": list(shape), "bytes": nbytes, **t, "gb_per_s": gbs}
    if copy_gbs:
        r["percent_of_copy"] = 100.0 * gbs / copy_gbs
    return r


def check_batch_norm(y, x, dims):
    """The normalized output has mean ~0 and biased variance ~1 per channel (double reference)."""
    xd = x.double()
    mean = xd.mean(dim=dims, keepdim=True)
    var = xd.var(dim=dims, unbiased=False, keepdim=True)
    ref = (xd - mean) / torch.sqrt(var + EPS)
    err = ((y.double() - ref).norm() / ref.norm()).item()
    if not err < 1e-4:
        raise SystemExit(f"torch_batchnorm.py: batch_norm result off by {err:.3g} relative L2")
    return err


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--small", action="store_true", help="tiny shapes (CPU smoke test)")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    if args.runs < 50 and not args.small:
        print("torch_batchnorm.py: note: fewer than 50 runs", file=sys.stderr)

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("torch_batchnorm.py: CUDA is not available to this PyTorch")
    torch.manual_seed(0)
    info = {"torch": torch.__version__, "device": str(device), "runs": args.runs, "warmup": args.warmup}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
        info["cudnn"] = torch.backends.cudnn.version()

    rows = []
    # Copy bandwidth (read + write).
    copy_bytes = (1 << 20) if args.small else (256 << 20)
    a = torch.randint(0, 255, (copy_bytes,), dtype=torch.uint8, device=device)
    b = torch.empty_like(a)
    t = timer(device, lambda: b.copy_(a), args.warmup, args.runs)
    copy_gbs = 2 * copy_bytes / (t["median_us"] * 1e3)
    rows.append(row(f"copy {'D2D' if device.type == 'cuda' else 'host'} {copy_bytes >> 20} MiB", "copy", [copy_bytes], 2 * copy_bytes, t, copy_gbs))
    del a, b

    # Float blobs: F.batch_norm(training=True) = statistics (1 read) + normalization (1 read, 1 write).
    blob_shapes = [(2, 3, 32, 32)] if args.small else [(16, 3, 256, 256), (16, 4, 512, 512)]
    for s in blob_shapes:
        x = torch.randn(*s, device=device) * 0.3 + 1.0
        y = F.batch_norm(x, None, None, training=True, eps=EPS)
        err = check_batch_norm(y, x, (0, 2, 3))
        nbytes = x.numel() * 4
        t = timer(device, lambda: F.batch_norm(x, None, None, training=True, eps=EPS), args.warmup, args.runs)
        r = row("F.batch_norm(training=True) " + "x".join(map(str, s)), "blob", s, 3 * nbytes, t, copy_gbs)
        r["rel_err"] = err
        rows.append(r)
        del x, y

    # 8-bit HWC images -> float NCHW -> batch_norm, as a user writes it.
    def user_fn(imgs):
        return F.batch_norm(imgs.permute(0, 3, 1, 2).float() * (1.0 / 255), None, None, training=True, eps=EPS)

    compiled = None
    compile_error = None
    if not args.no_compile:
        try:
            compiled = torch.compile(user_fn)
        except Exception as e:  # torch < 2.0 or no compiler
            compile_error = f"{type(e).__name__}: {e}"
    image_shapes = [(2, 32, 32, 3)] if args.small else [(16, 256, 256, 3), (64, 512, 512, 3), (64, 512, 512, 4)]
    for s in image_shapes:
        imgs = torch.randint(0, 256, s, dtype=torch.uint8, device=device)
        y = user_fn(imgs)
        err = check_batch_norm(y, imgs.permute(0, 3, 1, 2).double() / 255, (0, 2, 3))
        px = imgs.numel()
        # Fewest bytes: statistics read the bytes once; conversion reads them and writes 4-byte floats.
        nbytes = px + 5 * px
        tag = "x".join(map(str, s))
        t = timer(device, lambda: user_fn(imgs), args.warmup, args.runs)
        r = row("uint8 HWC -> permute, float, *1/255 -> batch_norm " + tag + " (eager)", "images_eager", s, nbytes, t, copy_gbs)
        r["rel_err"] = err
        rows.append(r)
        if compiled is not None:
            try:
                yc = compiled(imgs)
                errc = check_batch_norm(yc, imgs.permute(0, 3, 1, 2).double() / 255, (0, 2, 3))
                t = timer(device, lambda: compiled(imgs), args.warmup, args.runs)
                r = row("same, torch.compile " + tag, "images_compiled", s, nbytes, t, copy_gbs)
                r["rel_err"] = errc
                rows.append(r)
            except Exception as e:
                compile_error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                compiled = None
        del imgs, y

    info["copy_gb_per_s"] = copy_gbs
    if compile_error:
        info["compile_error"] = compile_error
    result = {"info": info, "results": rows}
    print(f"PyTorch {info['torch']} on {info.get('gpu', str(device))}: copy {copy_gbs:.1f} GB/s (read + write)")
    print(f"{'case':<72} {'bytes':>12} {'median us':>10} {'min us':>10} {'max us':>10} {'GB/s':>9} {'% copy':>7}")
    for r in rows:
        print(f"{r['name']:<72} {r['bytes']:>12} {r['median_us']:>10.1f} {r['min_us']:>10.1f} {r['max_us']:>10.1f} "
              f"{r['gb_per_s']:>9.1f} {r.get('percent_of_copy', 0):>6.1f}%")
    if compile_error:
        print(f"torch.compile: not measured ({compile_error})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
