"""Writes the ResNet-generator test fixture: a small ResNet generator with reflect padding,
exported by PyTorch in training mode, and float64 PyTorch reference outputs for each statistics
mode.

    /usr/bin/python3 make_fixture.py      (torch 1.13, onnx 1.12, numpy; runs in a few seconds)

A training-mode export computes each reflect Pad's amounts in a Shape/Gather/ConstantOfShape/...
subgraph, which hides every extent from ONNX shape inference; the batch rewrite must still find
H and W at every BatchNorm input. Input 24 x 40 (non-square), output same size.
"""
import copy
import os

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
EPS = 1e-5


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=False), nn.BatchNorm2d(c), nn.ReLU(True), nn.Dropout(0.5),
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, ngf=8):
        super().__init__()
        self.model = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.Conv2d(ngf, 2 * ngf, 3, 2, 1, bias=False), nn.BatchNorm2d(2 * ngf), nn.ReLU(True),
            ResBlock(2 * ngf), ResBlock(2 * ngf),
            nn.ConvTranspose2d(2 * ngf, ngf, 3, 2, 1, output_padding=1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh())

    def forward(self, x):
        return self.model(x)


def no_dropout(m, train_bn):
    m = copy.deepcopy(m).double()
    m.train(train_bn)
    for mod in m.modules():
        if isinstance(mod, nn.Dropout):
            mod.eval()
    return m


@torch.no_grad()
def main():
    torch.manual_seed(0)
    g = ResnetGenerator()
    for mod in g.modules():
        if isinstance(mod, nn.BatchNorm2d):
            nn.init.uniform_(mod.weight, 0.5, 1.5)
            nn.init.uniform_(mod.bias, -0.5, 0.5)
    rng = np.random.default_rng(7)
    x4 = rng.uniform(-1, 1, (4, 3, 24, 40)).astype(np.float32)
    x4 += np.array([0.2, -0.1, 0.0], np.float32)[None, :, None, None] * np.linspace(-1, 1, 40, dtype=np.float32)
    x4 = np.clip(x4, -1, 1)
    path = os.path.join(HERE, "resnet_reflect_24x40.onnx")
    torch.onnx.export(g, torch.from_numpy(x4), path, training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
                      opset_version=14, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    # The export's trace updated the running statistics; use exactly those stored in the file.
    stored = {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
    sd = g.state_dict()
    for k in sd:
        if k in stored:
            sd[k] = torch.from_numpy(stored[k].copy())
    g.load_state_dict(sd)

    for n in (1, 4):
        x = x4[:n]
        np.save(os.path.join(HERE, f"input_n{n}.npy"), x)
        xd = torch.from_numpy(x).double()
        out = {
            "batch": no_dropout(g, True)(xd),
            "sample": torch.cat([no_dropout(g, True)(xd[i:i + 1]) for i in range(n)]),
            "running": no_dropout(g, False)(xd),
        }
        m = xd.mean(dim=(0, 2, 3), keepdim=True)
        v = xd.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
        out["inputnorm"] = no_dropout(g, False)((xd - m) / torch.sqrt(v + EPS)) * torch.sqrt(v + EPS) + m
        for k, y in out.items():
            np.save(os.path.join(HERE, f"{k}_n{n}.npy"), y.numpy())


if __name__ == "__main__":
    main()
