#!/usr/bin/env python3
"""PyTorch anchor for the end-to-end numbers: the Pix2Pix unet_256 generator with train-mode BatchNorm.

The architecture is the reference UnetGenerator(3, 3, num_downs=8, ngf=64, BatchNorm, use_dropout=True)
(54.41 M parameters), the one `samplenorm make-model --arch unet_256` writes: BatchNorm normalizes
with the statistics of the batch (training-mode behaviour; modules built with
track_running_stats=False, so nothing is updated), Dropout is off (OpenCV runs Dropout as identity).
Weights are random (N(0, 0.02)); throughput does not depend on them.

Variants, each at every batch size (images/s = N / median time):
  eager          model(x) on a device-resident float32 NCHW tensor, PyTorch defaults (cudnn.benchmark off)
  eager_bench    the same with torch.backends.cudnn.benchmark = True
  cuda_graph     the eager_bench forward captured once in a CUDA graph (torch.cuda.graph), replayed
  compile        torch.compile(model) (default mode), where it works; only when named in --variants (it can
                 compile for minutes)
  host_uint8     eager_bench inside the whole pipeline a service runs: uint8 NHWC images in host memory ->
                 device -> float, [-1, 1], NCHW -> model -> uint8 NHWC -> host memory (the work of
                 samplenorm's `bench --input images`)
Device variants are timed with CUDA events, host_uint8 with a wall clock; warm-up first, then the
median / min / max of --runs runs. TF32 convolutions follow PyTorch's default (allowed) unless --no-tf32.

Usage: torch_unet.py [--device cuda|cpu] [--size 256] [--ngf 64] [--batch-sizes 1,16] [--runs R]
                     [--warmup W] [--variants LIST] [--no-tf32] [--json FILE]
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn


class UnetBlock(nn.Module):
    """One U-Net level (reference UnetSkipConnectionBlock with BatchNorm; activations not in place)."""

    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False, innermost=False,
                 use_dropout=False, running_stats=False):
        super().__init__()
        self.outermost = outermost
        input_nc = outer_nc if input_nc is None else input_nc
        # running_stats=False: batch statistics always; True: a real checkpoint's BatchNorm (for export)
        bn = lambda c: nn.BatchNorm2d(c, track_running_stats=running_stats)  # noqa: E731
        down = [nn.Conv2d(input_nc, inner_nc, 4, 2, 1, bias=False)]
        if outermost:
            up = [nn.ReLU(), nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1, bias=True), nn.Tanh()]
        elif innermost:
            up = [nn.ReLU(), nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1, bias=False), bn(outer_nc)]
        else:
            down.append(bn(inner_nc))
            up = [nn.ReLU(), nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1, bias=False), bn(outer_nc)]
            if use_dropout:
                up.append(nn.Dropout(0.5))
        self.act = None if outermost else nn.LeakyReLU(0.2)
        self.down = nn.Sequential(*down)
        self.sub = submodule
        self.up = nn.Sequential(*up)

    def forward(self, x):
        if self.outermost:
            return self.up(self.sub(self.down(x)))
        h = self.act(x)
        inner = self.down(h)
        if self.sub is not None:
            inner = self.sub(inner)
        return torch.cat([h, self.up(inner)], 1)


class UnetGenerator(nn.Module):
    def __init__(self, num_downs=8, ngf=64, use_dropout=True, running_stats=False):
        super().__init__()
        r = running_stats
        block = UnetBlock(ngf * 8, ngf * 8, innermost=True, running_stats=r)
        for _ in range(num_downs - 5):
            block = UnetBlock(ngf * 8, ngf * 8, submodule=block, use_dropout=use_dropout, running_stats=r)
        block = UnetBlock(ngf * 4, ngf * 8, submodule=block, running_stats=r)
        block = UnetBlock(ngf * 2, ngf * 4, submodule=block, running_stats=r)
        block = UnetBlock(ngf, ngf * 2, submodule=block, running_stats=r)
        self.model = UnetBlock(3, ngf, input_nc=3, submodule=block, outermost=True, running_stats=r)

    def forward(self, x):
        return self.model(x)


def build(size, ngf, device, running_stats=False):
    downs = int(math.log2(size))
    if size < 32 or 2 ** downs != size:
        raise SystemExit(f"torch_unet.py: --size must be a power of two >= 32, got {size}")
    torch.manual_seed(0)
    net = UnetGenerator(downs, ngf, running_stats=running_stats)
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    # eval(): Dropout off; BatchNorm still uses batch statistics (track_running_stats=False).
    return net.to(device).eval(), downs


def time_device(device, fn, warmup, runs):
    for _ in range(warmup):
        fn()
    ms = []
    if device.type == "cuda":
        torch.cuda.synchronize()
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        for _ in range(runs):
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            ms.append(start.elapsed_time(stop))
    else:
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t0) * 1e3)
    return ms


def time_wall(device, fn, warmup, runs):
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        ms.append((time.perf_counter() - t0) * 1e3)
    return ms


def rel_err(a, b):
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm()).item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--ngf", type=int, default=64)
    ap.add_argument("--batch-sizes", default="1,16")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--variants", default="eager,eager_bench,cuda_graph,host_uint8")
    ap.add_argument("--no-tf32", action="store_true", help="disable TF32 in convolutions and matrix products")
    ap.add_argument("--json")
    args = ap.parse_args()

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("torch_unet.py: CUDA is not available to this PyTorch")
    if args.no_tf32:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    batch_sizes = [int(v) for v in args.batch_sizes.split(",")]
    variants = [v for v in args.variants.split(",") if v]
    net, downs = build(args.size, args.ngf, device)
    params = sum(p.numel() for p in net.parameters())
    info = {"torch": torch.__version__, "device": str(device), "size": args.size, "ngf": args.ngf, "num_downs": downs,
            "parameters": params, "runs": args.runs, "warmup": args.warmup,
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "batchnorm": "batch statistics (track_running_stats=False)", "dropout": "off"}
    if device.type == "cuda":
        info.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version())
    print(f"torch_unet.py: unet_{args.size} ngf {args.ngf} ({params / 1e6:.2f} M parameters), PyTorch {info['torch']} on "
          f"{info.get('gpu', str(device))}, TF32 convolutions {'on' if torch.backends.cudnn.allow_tf32 else 'off'}")

    rows, notes = [], []
    for n in batch_sizes:
        g = torch.Generator().manual_seed(n)
        x = (torch.rand(n, 3, args.size, args.size, generator=g) * 2 - 1).to(device)
        with torch.no_grad():
            torch.backends.cudnn.benchmark = False
            reference = net(x)
            for variant in variants:
                try:
                    torch.backends.cudnn.benchmark = variant != "eager"
                    if variant in ("eager", "eager_bench"):
                        y = net(x)
                        ms = time_device(device, lambda: net(x), args.warmup, args.runs)
                    elif variant == "cuda_graph":
                        if device.type != "cuda":
                            notes.append(f"cuda_graph N={n}: needs a CUDA device")
                            continue
                        static_x = x.clone()
                        side = torch.cuda.Stream()
                        side.wait_stream(torch.cuda.current_stream())
                        with torch.cuda.stream(side):
                            for _ in range(3):
                                net(static_x)
                        torch.cuda.current_stream().wait_stream(side)
                        graph = torch.cuda.CUDAGraph()
                        with torch.cuda.graph(graph):
                            static_y = net(static_x)
                        graph.replay()
                        torch.cuda.synchronize()
                        y = static_y.clone()
                        ms = time_device(device, graph.replay, args.warmup, args.runs)
                        del graph
                    elif variant == "compile":
                        compiled = torch.compile(net)
                        t0 = time.perf_counter()
                        y = compiled(x)
                        if device.type == "cuda":
                            torch.cuda.synchronize()
                        notes.append(f"compile N={n}: first call {time.perf_counter() - t0:.1f} s")
                        ms = time_device(device, lambda: compiled(x), args.warmup, args.runs)
                    elif variant == "host_uint8":
                        images = ((x.permute(0, 2, 3, 1).cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()

                        def pipeline():
                            t = torch.from_numpy(images).to(device, non_blocking=False)
                            t = t.permute(0, 3, 1, 2).float().mul_(1 / 127.5).sub_(1)
                            out = net(t)
                            out = out.add(1).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
                            return out.contiguous().cpu().numpy()

                        pipeline()
                        y = None
                        ms = time_wall(device, pipeline, args.warmup, args.runs)
                    else:
                        raise SystemExit(f"torch_unet.py: unknown variant {variant}")
                except SystemExit:
                    raise
                except Exception as e:  # torch.compile or graph capture unavailable here
                    notes.append(f"{variant} N={n}: not measured ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
                    continue
                med = statistics.median(ms)
                r = {"variant": variant, "n": n, "median_ms": med, "min_ms": min(ms), "max_ms": max(ms), "runs": len(ms),
                     "images_per_s": n * 1000.0 / med, "timer": "wall clock" if variant == "host_uint8" else
                     ("cuda events" if device.type == "cuda" else "wall clock")}
                if y is not None:
                    r["rel_err_vs_eager"] = rel_err(y, reference)
                    if not math.isfinite(r["rel_err_vs_eager"]) or r["rel_err_vs_eager"] > 1e-2:
                        notes.append(f"{variant} N={n}: output differs from eager by {r['rel_err_vs_eager']:.3g}")
                rows.append(r)
                print(f"{variant:<12} N={n:<3} median {med:9.3f} ms  min {min(ms):9.3f}  max {max(ms):9.3f}  -> "
                      f"{r['images_per_s']:9.1f} images/s" + (f"  (rel. diff. vs eager {r['rel_err_vs_eager']:.1e})"
                                                             if y is not None and variant != "eager" else ""))
        del x, reference
    for note in notes:
        print("note: " + note)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "results": rows, "notes": notes}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
