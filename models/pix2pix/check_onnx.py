"""Independent float64 NumPy evaluation of models/pix2pix_shapes_128.onnx,
compared with the golden files.

This does not use PyTorch: it reads the ONNX graph and its initializers and
interprets the nine operator types the graph contains.  BatchNormalization is
evaluated either as the file says (training_mode=1: statistics of the current
batch, biased variance) or with its stored input_mean/input_var (running
mode).  Dropout is evaluated as identity (the goldens' convention; note that
the file's Dropout nodes carry training_mode=true, so a runtime that honours
them would drop activations at random).

ONNX stores float attributes as float32 (LeakyRelu alpha 0.2 ->
0.20000000298..., BatchNormalization epsilon 1e-5 -> 9.99999974738e-06).
The goldens were computed with the exact values 0.2 and 1e-5, so this check
rounds those attributes back to them; with the raw float32 attributes the
results differ from the goldens by about 2e-9 (relative), far below float32
resolution.

Run from the repository root:

    /usr/bin/python3 models/pix2pix/check_onnx.py
"""
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

MODELS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def conv2d(x, w, b, stride, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[2]), (pad[1], pad[3])))
    k = w.shape[2]
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]          # N C Ho Wo k k
    y = np.einsum("nchwij,ocij->nohw", win, w, optimize=True)
    return y if b is None else y + b[None, :, None, None]


def conv_transpose2d(x, w, b, stride, pad):
    # scatter-free formulation: zero-interleave, then ordinary convolution
    n, c, h, wd = x.shape
    k = w.shape[2]
    z = np.zeros((n, c, (h - 1) * stride + 1, (wd - 1) * stride + 1), x.dtype)
    z[:, :, ::stride, ::stride] = x
    wk = np.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
    q = k - 1
    return conv2d(z, wk, b, 1, (q - pad[0], q - pad[1], q - pad[2], q - pad[3]))


def run(model, x, bn_mode):
    """Evaluate the graph on x (float64). bn_mode: 'file' or 'running'."""
    env = {t.name: numpy_helper.to_array(t).astype(np.float64)
           if numpy_helper.to_array(t).dtype.kind == "f"
           else numpy_helper.to_array(t) for t in model.graph.initializer}
    env[model.graph.input[0].name] = x
    for node in model.graph.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in node.attribute}
        i = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Constant":
            out = [numpy_helper.to_array(a["value"])]
        elif op in ("Conv", "ConvTranspose"):
            assert a.get("group", 1) == 1 and set(a.get("dilations", [1])) == {1}
            s = a["strides"]
            assert s[0] == s[1]
            f = conv2d if op == "Conv" else conv_transpose2d
            out = [f(i[0], i[1], i[2] if len(i) > 2 else None, s[0], a["pads"])]
        elif op == "BatchNormalization":
            xx, sc, bb, rm, rv = i
            eps = round(a.get("epsilon", 1e-5), 9)
            if bn_mode == "file" and a.get("training_mode", 0) == 1:
                mean = xx.mean(axis=(0, 2, 3))
                var = xx.var(axis=(0, 2, 3))   # biased
            else:
                mean, var = rm, rv
            y = (xx - mean[None, :, None, None]) / np.sqrt(
                var[None, :, None, None] + eps)
            out = [y * sc[None, :, None, None] + bb[None, :, None, None]]
        elif op == "LeakyRelu":
            out = [np.where(i[0] >= 0, i[0], i[0] * round(a.get("alpha", 0.01), 6))]
        elif op == "Relu":
            out = [np.maximum(i[0], 0)]
        elif op == "Tanh":
            out = [np.tanh(i[0])]
        elif op == "Concat":
            out = [np.concatenate(i, axis=a["axis"])]
        elif op == "Dropout":
            out = [i[0]]                          # identity (dropout off)
        else:
            raise SystemExit("unsupported op " + op)
        for name, v in zip(node.output, out):
            env[name] = v
    return env[model.graph.output[0].name]


def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def main():
    model = onnx.load(os.path.join(MODELS, "pix2pix_shapes_128.onnx"))
    g = os.path.join(MODELS, "golden")
    worst = 0.0
    for n in (1, 4):
        x = np.load(os.path.join(g, "input_n%d.npy" % n)).astype(np.float64)
        res = {
            "batch": run(model, x, "file"),
            "sample": np.concatenate([run(model, x[k:k + 1], "file")
                                      for k in range(n)]),
            "running": run(model, x, "running"),
        }
        m = x.mean(axis=(0, 2, 3), keepdims=True)
        s = np.sqrt(x.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
        res["inputnorm"] = run(model, (x - m) / s, "running") * s + m
        for mode, y in res.items():
            gold = np.load(os.path.join(g, "%s_n%d.npy" % (mode, n)))
            d = rel(y, gold)
            worst = max(worst, d)
            print("N=%d %-9s rel L2 vs golden %.3e  max abs %.3e"
                  % (n, mode, d, np.abs(y - gold).max()))
    print("worst relative difference: %.3e" % worst)
    sys.exit(0 if worst < 1e-12 else 1)


if __name__ == "__main__":
    main()
