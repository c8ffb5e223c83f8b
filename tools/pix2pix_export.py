#!/usr/bin/env python3
"""Export a pytorch-CycleGAN-and-pix2pix generator checkpoint to ONNX for samplenorm.

Reads a ``latest_net_G.pth`` (a state_dict, as the pytorch-CycleGAN-and-pix2pix repository
saves it) for the generators ``unet_128``, ``unet_256``, ``resnet_6blocks`` and
``resnet_9blocks`` trained with ``--norm batch``, exports it with training-mode BatchNorm,
and checks the export against PyTorch (float64) in every samplenorm statistics mode by
running samplenorm's own CLI. Exits non-zero when a mode misses its threshold.

    /usr/bin/python3 tools/pix2pix_export.py latest_net_G.pth model.onnx --netG unet_256
    ./samplenorm translate --model model.onnx --input 'photos/*.png' --output out/

Options mirror the training options: --netG, --ngf, --input_nc, --output_nc, --no_dropout.

The ONNX model has a dynamic batch axis N. A U-Net gets symbolic H and W, which must be
multiples of 2^num_downs (128 for unet_128, 256 for unet_256; smaller inputs shrink to nothing
at the innermost block). A ResNet generator is exported at the fixed size --size (default 64;
a multiple of 4): OpenCV 4.13 cannot import its reflect-padding shape subgraphs with open H
and W.

``--write-test-checkpoint PATH`` writes a randomly initialized checkpoint with the
repository's exact state_dict key layout instead (running statistics filled by a few
training-mode passes over random inputs), so that tests need no download.

Test-time dropout (``samplenorm ... --dropout on --seed S``) draws its masks from SplitMix64:
``state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
z = (z ^ (z >> 27)) * 0x94D049BB133111EB; z ^= z >> 31`` (64-bit unsigned arithmetic), a
uniform ``u = (z >> 11) * 2^-53``, and an element is kept when ``u >= p``, with value
``1 / (1 - p)``. Per forward pass the masks are drawn Dropout node by Dropout node in graph
order, each in NCHW order of the whole batch; the stream continues across passes.
``dropout_masks`` below reproduces it, and the verification uses it to compare samplenorm's
dropout with PyTorch's train-mode forward under the same masks.

Runs with PyTorch 1.13 (Debian's python3-torch) and PyTorch 2.x (TorchScript exporter).
"""
import argparse
import copy
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
import torch.nn as nn

ARCHS = ("unet_128", "unet_256", "resnet_6blocks", "resnet_9blocks")
MODES = ("sample", "batch", "running", "input")
EPS = 1e-5
OPSET = 14
THRESHOLDS = {"sample": 1e-4, "batch": 1e-4, "running": 1e-4, "input": 1e-4}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------------------------------
# Networks. Module nesting and Sequential indices reproduce the state_dict keys of the
# reference repository's UnetGenerator / ResnetGenerator with norm='batch' (BatchNorm2d with
# affine weights and running statistics; convolutions that feed a BatchNorm have no bias).
# Activations are not in place; the U-Net skip connection carries the LeakyReLU-activated
# block input, which is what the reference's in-place LeakyReLU leaves in it.
# ------------------------------------------------------------------------------------------
class UnetLevel(nn.Module):
    """One U-Net level. ``self.model`` indices:
    outermost: 0 down conv, 1 inner level, 2 ReLU, 3 up conv (with bias), 4 Tanh;
    innermost: 0 LeakyReLU, 1 down conv, 2 ReLU, 3 up conv, 4 BatchNorm;
    otherwise: 0 LeakyReLU, 1 down conv, 2 BatchNorm, 3 inner level, 4 ReLU, 5 up conv,
    6 BatchNorm, 7 Dropout(0.5) when dropout is used."""

    def __init__(self, outer_nc, inner_nc, in_nc=None, inner=None, outermost=False,
                 innermost=False, dropout=False):
        super().__init__()
        self.outermost = outermost
        in_nc = outer_nc if in_nc is None else in_nc
        down = nn.Conv2d(in_nc, inner_nc, 4, 2, 1, bias=False)
        if outermost:
            layers = [down, inner, nn.ReLU(),
                      nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1), nn.Tanh()]
        elif innermost:
            layers = [nn.LeakyReLU(0.2), down, nn.ReLU(),
                      nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1, bias=False),
                      nn.BatchNorm2d(outer_nc)]
        else:
            layers = [nn.LeakyReLU(0.2), down, nn.BatchNorm2d(inner_nc), inner, nn.ReLU(),
                      nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1, bias=False),
                      nn.BatchNorm2d(outer_nc)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        h = self.model[0](x)
        y = h
        for layer in list(self.model)[1:]:
            y = layer(y)
        return torch.cat([h, y], 1)


class UnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, num_downs, ngf, dropout):
        super().__init__()
        level = UnetLevel(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            level = UnetLevel(ngf * 8, ngf * 8, inner=level, dropout=dropout)
        level = UnetLevel(ngf * 4, ngf * 8, inner=level)
        level = UnetLevel(ngf * 2, ngf * 4, inner=level)
        level = UnetLevel(ngf, ngf * 2, inner=level)
        self.model = UnetLevel(output_nc, ngf, in_nc=input_nc, inner=level, outermost=True)

    def forward(self, x):
        return self.model(x)


class ResnetBlock(nn.Module):
    """``conv_block``: 0 pad, 1 conv, 2 BN, 3 ReLU, [Dropout], pad, conv, BN."""

    def __init__(self, dim, dropout):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=False), nn.BatchNorm2d(dim),
                  nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=False), nn.BatchNorm2d(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """``model``: 0 pad(3), 1 conv 7x7, 2 BN, 3 ReLU, then two (conv s2, BN, ReLU), the blocks,
    two (conv-transpose s2, BN, ReLU), pad(3), conv 7x7 (with bias), Tanh."""

    def __init__(self, input_nc, output_nc, ngf, n_blocks, dropout):
        super().__init__()
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=False),
                  nn.BatchNorm2d(ngf), nn.ReLU()]
        for i in range(2):
            c = ngf * 2 ** i
            layers += [nn.Conv2d(c, c * 2, 3, 2, 1, bias=False), nn.BatchNorm2d(c * 2), nn.ReLU()]
        layers += [ResnetBlock(ngf * 4, dropout) for _ in range(n_blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=False),
                       nn.BatchNorm2d(c // 2), nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


def build(netG, input_nc=3, output_nc=3, ngf=64, dropout=True):
    if netG == "unet_128":
        return UnetGenerator(input_nc, output_nc, 7, ngf, dropout)
    if netG == "unet_256":
        return UnetGenerator(input_nc, output_nc, 8, ngf, dropout)
    if netG == "resnet_6blocks":
        return ResnetGenerator(input_nc, output_nc, ngf, 6, dropout)
    if netG == "resnet_9blocks":
        return ResnetGenerator(input_nc, output_nc, ngf, 9, dropout)
    raise SystemExit("--netG: expected one of %s, got %r" % (", ".join(ARCHS), netG))


def size_rule(netG):
    """(multiple, smallest) that H and W must satisfy: a U-Net halves them num_downs times; a
    ResNet generator halves them twice and reflect-pads by 1 at a quarter of the size."""
    if netG.startswith("unet_"):
        m = 2 ** (7 if netG == "unet_128" else 8)
        return m, m
    return 4, 8


# ------------------------------------------------------------------------------------------
# Checkpoints
# ------------------------------------------------------------------------------------------
def load_checkpoint(path, net):
    state = torch.load(path, map_location="cpu")
    if not isinstance(state, dict):
        raise SystemExit("%s: expected a state_dict (a dict of tensors), got %s"
                         % (path, type(state).__name__))
    state = {(k[len("module."):] if k.startswith("module.") else k): v
             for k, v in state.items() if isinstance(v, torch.Tensor)}
    want = net.state_dict()
    for k, v in want.items():
        # Checkpoints from before PyTorch 0.4 have no num_batches_tracked.
        if k.endswith("num_batches_tracked") and k not in state:
            state[k] = torch.zeros_like(v)
    missing = [k for k in want if k not in state]
    unexpected = [k for k in state if k not in want]
    shapes = ["%s: checkpoint %s, expected %s" % (k, tuple(state[k].shape), tuple(v.shape))
              for k, v in want.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or shapes:
        lines = ["%s does not match the options given (%s)" % (path, describe(net))]
        if missing:
            lines.append("missing keys (%d): %s" % (len(missing), ", ".join(missing[:6])))
        if unexpected:
            lines.append("unexpected keys (%d): %s" % (len(unexpected), ", ".join(unexpected[:6])))
        if shapes:
            lines.append("shape mismatches (%d): %s" % (len(shapes), "; ".join(shapes[:4])))
        lines.append("check --netG, --ngf, --input_nc, --output_nc and --no_dropout (a ResNet "
                     "trained with dropout has its block keys shifted by one); only --norm batch "
                     "checkpoints are supported")
        raise SystemExit("\n  ".join(lines))
    net.load_state_dict(state)
    return net


def describe(net):
    return net._samplenorm_desc if hasattr(net, "_samplenorm_desc") else type(net).__name__


def write_test_checkpoint(path, netG, input_nc, output_nc, ngf, dropout, seed=0):
    """Random weights as the reference initializes them (N(0, 0.02), BatchNorm weight
    N(1, 0.02)), non-zero BatchNorm biases, and running statistics from three training-mode
    passes over random inputs."""
    torch.manual_seed(seed)
    net = build(netG, input_nc, output_nc, ngf, dropout)
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.normal_(m.bias, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.normal_(m.bias, 0.0, 0.1)
    _, smallest = size_rule(netG)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.rand(2, input_nc, smallest, smallest) * 2 - 1)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save(net.state_dict(), path)
    return net


# ------------------------------------------------------------------------------------------
# Export
# ------------------------------------------------------------------------------------------
def export(net, path, input_nc, size, symbolic_hw):
    m = copy.deepcopy(net)
    for bn in m.modules():
        if isinstance(bn, nn.BatchNorm2d):
            bn.momentum = 0.0   # the export trace must not move the stored running statistics
    m.train()
    kwargs = dict(training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
                  opset_version=OPSET, input_names=["input"], output_names=["output"],
                  dynamic_axes={"input": {0: "N", 2: "H", 3: "W"} if symbolic_hw else {0: "N"},
                                "output": {0: "N", 2: "H", 3: "W"} if symbolic_hw else {0: "N"}})
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False   # PyTorch 2.x: the TorchScript exporter, as in 1.13
    x = torch.rand(2, input_nc, size, size) * 2 - 1
    with torch.no_grad(), warnings.catch_warnings():
        # The exporter warns that it drops the num_batches_tracked updates: expected.
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(m, x, path, **kwargs)


def onnx_facts(path):
    import onnx
    from onnx import numpy_helper
    model = onnx.load(path)
    onnx.checker.check_model(model)
    nodes = model.graph.node
    consts = {n.output[0]: n for n in nodes if n.op_type == "Constant"}
    inits = {t.name: t for t in model.graph.initializer}
    ratios = []
    for n in nodes:
        if n.op_type != "Dropout":
            continue
        p = 0.5
        for a in n.attribute:
            if a.name == "ratio":
                p = a.f
        if len(n.input) > 1 and n.input[1]:
            src = inits.get(n.input[1])
            if src is None and n.input[1] in consts:
                src = consts[n.input[1]].attribute[0].t
            p = float(numpy_helper.to_array(src))
        ratios.append(np.float32(p))
    bns = [n for n in nodes if n.op_type == "BatchNormalization"]
    training = all(any(a.name == "training_mode" and a.i == 1 for a in n.attribute) for n in bns)
    return {"batchnorm": len(bns), "training_mode": training, "dropout_ratios": ratios,
            "initializers": {k: numpy_helper.to_array(v) for k, v in inits.items()}}


# ------------------------------------------------------------------------------------------
# References (float64 PyTorch) and the samplenorm runs
# ------------------------------------------------------------------------------------------
MASK = (1 << 64) - 1


def dropout_masks(seed, shapes, ratios):
    """The masks samplenorm draws for one forward pass (see the module docstring), for Dropout
    inputs of ``shapes`` (NCHW, whole batch) with drop probabilities ``ratios``."""
    gamma = np.uint64(0x9E3779B97F4A7C15)
    state = np.uint64(seed & MASK)
    out = []
    with np.errstate(over="ignore"):
        for shape, p in zip(shapes, ratios):
            count = int(np.prod(shape))
            z = state + gamma * np.arange(1, count + 1, dtype=np.uint64)
            state = state + gamma * np.uint64(count)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
            u = (z >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)
            scale = np.float32(1.0 / (1.0 - float(p)))
            out.append(np.where(u >= float(p), scale, np.float32(0)).astype(np.float32)
                       .reshape(shape))
    return out


class FixedMask(nn.Module):
    """Stands in for a Dropout: multiplies by the next given mask (a slice for one image)."""

    def __init__(self):
        super().__init__()
        self.mask = None

    def forward(self, x):
        return x * self.mask


def reference(net, x, mode, masks=None):
    """samplenorm mode ``mode`` in float64 PyTorch; ``masks`` (whole-batch NCHW arrays in
    samplenorm's draw order) replace Dropout, else Dropout is identity."""
    m = copy.deepcopy(net).double()
    drops = [d for d in m.modules() if isinstance(d, nn.Dropout)]
    fixed = []
    if drops:
        # Dropout modules in execution order: trace once with hooks.
        order = []
        hooks = [d.register_forward_hook(lambda mod, i, o: order.append(mod)) for d in drops]
        m.eval()
        with torch.no_grad():
            m(torch.from_numpy(x[:1]).double())
        for h in hooks:
            h.remove()
        for d in order:
            f = FixedMask()
            fixed.append(f)
            replace_module(m, d, f)
    if masks is not None and len(masks) != len(fixed):
        raise AssertionError("%d masks for %d Dropout modules" % (len(masks), len(fixed)))

    def run(xs, rows, train):
        for i, f in enumerate(fixed):
            f.mask = (torch.ones(1, dtype=torch.float64) if masks is None
                      else torch.from_numpy(masks[i][rows]).double())
        m.train(train)
        with torch.no_grad():
            return m(torch.from_numpy(xs).double()).numpy()

    x = x.astype(np.float64)
    n = x.shape[0]
    if mode == "sample":
        return np.concatenate([run(x[i:i + 1], slice(i, i + 1), True) for i in range(n)])
    if mode == "batch":
        return run(x, slice(0, n), True)
    if mode == "running":
        return run(x, slice(0, n), False)
    if mode == "input":
        mu = x.mean(axis=(0, 2, 3), keepdims=True)
        sd = np.sqrt(x.var(axis=(0, 2, 3), keepdims=True) + EPS)
        return run((x - mu) / sd, slice(0, n), False) * sd + mu
    raise ValueError(mode)


def replace_module(root, old, new):
    for parent in root.modules():
        for name, child in parent.named_children():
            if child is old:
                setattr(parent, name, new)
                return
    raise AssertionError("module not found")


def dropout_input_shapes(net, x):
    """NCHW shapes of the Dropout inputs for a whole batch ``x``, in execution order."""
    shapes = []
    m = copy.deepcopy(net)
    hooks = [d.register_forward_hook(lambda mod, i, o: shapes.append(tuple(i[0].shape)))
             for d in m.modules() if isinstance(d, nn.Dropout)]
    m.eval()
    with torch.no_grad():
        m(torch.from_numpy(x))
    for h in hooks:
        h.remove()
    return shapes


def samplenorm_translate(launcher, onnx_path, x, mode, workdir, extra=()):
    xin = os.path.join(workdir, "x.npy")
    yout = os.path.join(workdir, "y_%s.npy" % mode)
    np.save(xin, np.ascontiguousarray(x, dtype=np.float32))
    cmd = [launcher, "translate", "--model", onnx_path, "--input", xin, "--output", yout,
           "--stats", mode, "--device", "cpu"] + list(extra)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd), r.returncode,
                                                         (r.stderr or r.stdout).strip()))
    return np.load(yout)


def rel_l2(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def verify(net, onnx_path, launcher, input_nc, size, batch, seed=0, dropout_seed=None, out=sys.stdout):
    """Compares samplenorm's output with PyTorch float64 in every mode; with dropout_seed, also
    with dropout on. Returns a list of (check, mode, distance, threshold, ok)."""
    rng = np.random.default_rng(seed)
    x = (rng.random((batch, input_nc, size, size)) * 2 - 1).astype(np.float32)
    rows = []
    facts = onnx_facts(onnx_path)
    with tempfile.TemporaryDirectory(prefix="samplenorm-verify-") as work:
        for mode in MODES:
            y = samplenorm_translate(launcher, onnx_path, x, mode, work)
            d = rel_l2(y, reference(net, x, mode))
            rows.append(("dropout off", mode, d, THRESHOLDS[mode], d <= THRESHOLDS[mode]))
        if dropout_seed is not None and facts["dropout_ratios"]:
            shapes = dropout_input_shapes(net, x)
            masks = dropout_masks(dropout_seed, shapes, facts["dropout_ratios"])
            for mode in MODES:
                y = samplenorm_translate(launcher, onnx_path, x, mode, work,
                                         ["--dropout", "on", "--seed", str(dropout_seed)])
                d = rel_l2(y, reference(net, x, mode, masks))
                rows.append(("dropout seed %d" % dropout_seed, mode, d, THRESHOLDS[mode],
                             d <= THRESHOLDS[mode]))
    print("%-16s %-8s %-14s %-10s %s" % ("check", "mode", "relative L2", "threshold", "result"),
          file=out)
    for check, mode, d, t, ok in rows:
        print("%-16s %-8s %-14.3e %-10.0e %s" % (check, mode, d, t, "ok" if ok else "MISS"), file=out)
    return rows


def default_launcher():
    return os.path.join(REPO, "samplenorm")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", help="latest_net_G.pth (read), or the file to write with "
                                       "--write-test-checkpoint")
    ap.add_argument("onnx", nargs="?", help="ONNX file to write")
    ap.add_argument("--netG", default="unet_256", choices=ARCHS)
    ap.add_argument("--ngf", type=int, default=64)
    ap.add_argument("--input_nc", type=int, default=3)
    ap.add_argument("--output_nc", type=int, default=3)
    ap.add_argument("--norm", default="batch", help="only 'batch' is supported")
    ap.add_argument("--no_dropout", action="store_true")
    ap.add_argument("--write-test-checkpoint", action="store_true",
                    help="write a random checkpoint with the repository's key layout and exit")
    ap.add_argument("--size", type=int, default=None,
                    help="H = W of the export trace and the check (default: 128 for unet_128, "
                         "256 for unet_256, 64 for the ResNets)")
    ap.add_argument("--batch", type=int, default=2, help="batch size of the check (default 2)")
    ap.add_argument("--dropout-seed", type=int, default=7,
                    help="seed of the dropout check (default 7; -1 skips it)")
    ap.add_argument("--samplenorm", default=None, help="launcher to check with (default: "
                                                       "./samplenorm of this checkout)")
    ap.add_argument("--no-verify", action="store_true", help="export only, without the check")
    args = ap.parse_args(argv)
    if args.norm != "batch":
        raise SystemExit("--norm %s: only --norm batch checkpoints are supported (samplenorm "
                         "rewrites BatchNorm)" % args.norm)
    if args.ngf < 1 or args.input_nc < 1 or args.output_nc < 1 or args.batch < 1:
        raise SystemExit("--ngf, --input_nc, --output_nc and --batch must be >= 1")
    multiple, smallest = size_rule(args.netG)
    size = args.size or (smallest if args.netG.startswith("unet_") else 64)
    if size < smallest or size % multiple:
        raise SystemExit("--size %d: %s needs H and W that are multiples of %d"
                         % (size, args.netG, multiple))
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    dropout = not args.no_dropout
    if args.write_test_checkpoint:
        write_test_checkpoint(args.checkpoint, args.netG, args.input_nc, args.output_nc,
                              args.ngf, dropout)
        print("wrote %s (%s, ngf %d, random weights)" % (args.checkpoint, args.netG, args.ngf))
        return 0
    if not args.onnx:
        raise SystemExit("give the ONNX file to write after the checkpoint")
    net = build(args.netG, args.input_nc, args.output_nc, args.ngf, dropout)
    net._samplenorm_desc = "--netG %s --ngf %d --input_nc %d --output_nc %d%s" % (
        args.netG, args.ngf, args.input_nc, args.output_nc, "" if dropout else " --no_dropout")
    load_checkpoint(args.checkpoint, net)
    # OpenCV 4.13 cannot import the reflect-padding shape subgraphs of a ResNet export with
    # open H and W (a Reshape of a negative size), so ResNets get the fixed size --size.
    symbolic_hw = args.netG.startswith("unet_")
    export(net, args.onnx, args.input_nc, size, symbolic_hw)
    facts = onnx_facts(args.onnx)
    if not facts["training_mode"] or facts["batchnorm"] == 0:
        raise SystemExit("%s: expected training-mode BatchNormalization nodes" % args.onnx)
    moved = [k for k, v in net.state_dict().items()
             if k in facts["initializers"] and not np.array_equal(facts["initializers"][k], v.numpy())]
    if moved:
        raise SystemExit("the export changed stored tensors: %s" % ", ".join(moved[:4]))
    print("exported %s: %d BatchNormalization (training_mode=1), %d Dropout, input %s"
          % (args.onnx, facts["batchnorm"], len(facts["dropout_ratios"]),
             "[N, %d, H, W] with H, W multiples of %d" % (args.input_nc, multiple) if symbolic_hw
             else "[N, %d, %d, %d] (samplenorm resizes images to it)" % (args.input_nc, size, size)))
    if args.no_verify:
        print("not checked (--no-verify)")
        return 0
    launcher = args.samplenorm or default_launcher()
    if not (os.path.isfile(launcher) or shutil.which(launcher)):
        raise SystemExit("samplenorm launcher not found: %s (use --samplenorm or --no-verify)" % launcher)
    rows = verify(net, args.onnx, launcher, args.input_nc, size, args.batch,
                  dropout_seed=None if args.dropout_seed < 0 else args.dropout_seed)
    misses = [r for r in rows if not r[4]]
    if misses:
        print("FAILED: %d of %d checks missed their threshold" % (len(misses), len(rows)))
        return 1
    print("ok: %s matches PyTorch float64 in every mode" % args.onnx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
