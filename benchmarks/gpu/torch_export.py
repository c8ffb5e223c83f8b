#!/usr/bin/env python3
"""The reference U-Net exported in training mode by this host's PyTorch 2.x, through both exporters.

Real users export with PyTorch 2.x, and the torch.export-based exporter (dynamo=True, the default
since 2.9) may write BatchNorm differently from the TorchScript one (dynamo=False). Both exports must
work through samplenorm.

  export   builds UnetGenerator (torch_unet.py) with real BatchNorm layers (running statistics kept, as
           in a checkpoint) and Dropout, random weights, in train() mode with Dropout off (samplenorm
           removes Dropout); writes input.npy (N images), PyTorch's own train-mode outputs in float64 on
           the CPU (ref_batch.npy: statistics over the batch; ref_sample.npy: each image alone), and
           torchscript.onnx (dynamo=False) and dynamo.onnx (dynamo=True), each with what it contains
           (exports.json: operator counts, BatchNorm training_mode attributes, graph outputs, or the
           exporter's error)
  compare  reads the outputs samplenorm wrote as NAME.DEVICE.MODE.npy and prints / writes (--json)
           their relative L2 distance from the references (tolerance 1e-4 on the CPU, 1e-3 on CUDA)

Usage: torch_export.py export|compare --out DIR [--size 256] [--ngf 64] [--n 4] [--opset 17] [--json FILE]
"""
import argparse
import copy
import glob
import json
import os
import sys
import time

import numpy as np

TOLERANCE = {"cpu": 1e-4, "cuda": 1e-3}


def describe(path):
    try:
        import onnx
    except ImportError:
        return {"note": "onnx not installed: contents not inspected"}
    m = onnx.load(path, load_external_data=False)
    ops = {}
    training = []
    for node in m.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
        if node.op_type == "BatchNormalization":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            training.append({"training_mode": attrs.get("training_mode", 0), "outputs": len([o for o in node.output if o])})
    functions = sorted({f.name for f in m.functions})
    return {"opset": [{"domain": o.domain, "version": o.version} for o in m.opset_import], "ops": ops,
            "batchnorm": training, "functions": functions,
            "inputs": [i.name for i in m.graph.input if i.name not in {t.name for t in m.graph.initializer}],
            "outputs": [o.name for o in m.graph.output], "bytes": os.path.getsize(path)}


def export(args):
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from torch_unet import build

    os.makedirs(args.out, exist_ok=True)
    net, _ = build(args.size, args.ngf, "cpu", running_stats=True)
    net.train()
    for m in net.modules():
        if isinstance(m, torch.nn.Dropout):
            m.eval()  # Dropout off: samplenorm removes it, so outputs are deterministic
    g = torch.Generator().manual_seed(7)
    x = torch.rand(args.n, 3, args.size, args.size, generator=g) * 2 - 1
    np.save(os.path.join(args.out, "input.npy"), x.numpy().astype(np.float32))
    ref = copy.deepcopy(net).double()
    with torch.no_grad():
        y_batch = ref(x.double())
        y_sample = torch.cat([copy.deepcopy(net).double()(x[i:i + 1].double()) for i in range(args.n)])
    np.save(os.path.join(args.out, "ref_batch.npy"), y_batch.numpy())
    np.save(os.path.join(args.out, "ref_sample.npy"), y_sample.numpy())
    print(f"torch_export.py: PyTorch {torch.__version__}, unet_{args.size} ngf {args.ngf}, N={args.n}; references written")

    report = {"torch": torch.__version__, "size": args.size, "ngf": args.ngf, "n": args.n, "opset": args.opset, "exports": {}}
    names = {"input_names": ["input"], "output_names": ["output"]}
    torch2 = int(torch.__version__.split(".")[0]) >= 2
    for name, dynamo in (("torchscript", False), ("dynamo", True)):
        path = os.path.join(args.out, name + ".onnx")
        if dynamo and not torch2:
            report["exports"][name] = {"dynamo": True, "skipped": f"PyTorch {torch.__version__} has no torch.export-based exporter"}
            print(f"torch_export.py: {name}: skipped, PyTorch {torch.__version__} has no torch.export-based exporter")
            continue
        model = copy.deepcopy(net)
        t0 = time.perf_counter()
        entry = {"dynamo": dynamo}
        try:
            if dynamo:
                kwargs = dict(dynamo=True, opset_version=args.opset, **names,
                              dynamic_shapes={"x": {0: torch.export.Dim("N", min=1, max=64)}})
                try:
                    torch.onnx.export(model, (x,), path, training=torch.onnx.TrainingMode.TRAINING, **kwargs)
                    entry["training_argument"] = "TrainingMode.TRAINING"
                except (TypeError, ValueError, NotImplementedError) as e:
                    # Exporters that take no training argument capture the module in its current (train) mode.
                    entry["training_argument"] = f"refused ({type(e).__name__}: {str(e).splitlines()[0][:200]}); module in train()"
                    model = copy.deepcopy(net)
                    torch.onnx.export(model, (x,), path, **kwargs)
            else:
                legacy = {"dynamo": False} if torch2 else {}
                torch.onnx.export(model, (x,), path, **legacy, training=torch.onnx.TrainingMode.TRAINING,
                                  do_constant_folding=False, opset_version=args.opset, **names,
                                  dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
            entry["seconds"] = time.perf_counter() - t0
            entry.update(describe(path))
            print(f"torch_export.py: {name}: {entry['seconds']:.1f} s, ops {entry.get('ops')}, "
                  f"BatchNorm training_mode {[b['training_mode'] for b in entry.get('batchnorm', [])]}, outputs {entry.get('outputs')}")
        except Exception as e:  # record what this exporter cannot do, and go on with the other
            entry["error"] = f"{type(e).__name__}: {str(e)[:1000]}"
            print(f"torch_export.py: {name}: export FAILED: {entry['error'][:300]}")
            if os.path.exists(path):
                os.remove(path)
        report["exports"][name] = entry
    with open(os.path.join(args.out, "exports.json"), "w") as f:
        json.dump(report, f, indent=2)
    return 0 if any("error" not in e and "skipped" not in e for e in report["exports"].values()) else 1


def compare(args):
    with open(os.path.join(args.out, "exports.json")) as f:
        report = json.load(f)
    refs = {m: np.load(os.path.join(args.out, f"ref_{m}.npy")) for m in ("batch", "sample")}
    rows, failed = [], False
    for name, entry in report["exports"].items():
        if "skipped" in entry:
            rows.append({"export": name, "error": "skipped: " + entry["skipped"]})
            continue
        if "error" in entry:
            rows.append({"export": name, "error": "export failed: " + entry["error"][:300]})
            failed = True
            continue
        outputs = sorted(glob.glob(os.path.join(args.out, f"{name}.*.*.npy")))
        if not outputs:
            rows.append({"export": name, "error": "samplenorm wrote no output (see the log)"})
            failed = True
        for path in outputs:
            _, device, mode, _ = os.path.basename(path).split(".")
            y = np.load(path).astype(np.float64)
            ref = refs[mode]
            err = float(np.linalg.norm(y - ref) / np.linalg.norm(ref)) if y.shape == ref.shape else float("inf")
            ok = bool(np.isfinite(err) and err <= TOLERANCE[device])
            failed |= not ok
            rows.append({"export": name, "device": device, "stats": mode, "rel_l2_vs_pytorch": err, "tolerance": TOLERANCE[device],
                         "pass": ok})
            print(f"{name:<12} {device:<5} {mode:<7} relative L2 vs PyTorch train mode {err:.3g}  {'PASS' if ok else 'FAIL'}")
    for r in rows:
        if "error" in r:
            print(f"{r['export']:<12} {r['error']}")
    report["samplenorm"] = rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["export", "compare"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--ngf", type=int, default=64)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--json")
    args = ap.parse_args()
    return export(args) if args.command == "export" else compare(args)


if __name__ == "__main__":
    sys.exit(main())
