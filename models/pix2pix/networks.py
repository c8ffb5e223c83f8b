"""Pix2Pix networks: U-Net generator and conditional PatchGAN discriminator.

The generator follows the structure of the reference Pix2Pix ``UnetGenerator``
(recursive skip-connection blocks, 4x4 stride-2 convolutions, LeakyReLU(0.2) on
the way down, ReLU + 4x4 stride-2 transposed convolutions on the way up,
BatchNorm everywhere except on the outermost and innermost down convolutions,
Dropout(0.5) in the intermediate ngf*8 blocks, Tanh output).

Note on the skip connections: the reference implementation applies its
LeakyReLU *in place* on the block input, so the tensor that is concatenated
into the skip connection is the activated one.  The blocks below make that
explicit (no in-place ops), which computes exactly the same function and
traces to a clean ONNX graph.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

# When True, the 4x4/stride-2/pad-1 transposed convolutions are computed as an
# ordinary convolution over a zero-interleaved input (mathematically the same
# operation).  This only exists because the CPU build of PyTorch used for
# training has no fast kernel for ConvTranspose2d (about 10x slower).  It is
# switched on by train.py only; ONNX export and the golden references always
# use the standard nn.ConvTranspose2d computation.
FAST_DECONV = False


class Deconv(nn.ConvTranspose2d):
    """nn.ConvTranspose2d(k=4, s=2, p=1) with an optional fast CPU path."""

    def forward(self, x):
        if not FAST_DECONV or torch.onnx.is_in_onnx_export():
            return super().forward(x)
        n, c, h, w = x.shape
        z = x.new_zeros(n, c, 2 * h - 1, 2 * w - 1)
        z[:, :, ::2, ::2] = x
        k = self.weight.transpose(0, 1).flip(2, 3)
        return F.conv2d(z, k, self.bias, padding=2)


class UnetBlock(nn.Module):
    """One level of the U-Net: down-sampling, a nested sub-block, up-sampling."""

    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None,
                 outermost=False, innermost=False, use_dropout=False):
        super().__init__()
        self.outermost = outermost
        if input_nc is None:
            input_nc = outer_nc
        # With BatchNorm the convolutions that feed a norm layer carry no bias.
        if outermost:
            self.down = nn.Sequential(
                nn.Conv2d(input_nc, inner_nc, 4, 2, 1, bias=False))
            self.sub = submodule
            self.up = nn.Sequential(
                nn.ReLU(),
                Deconv(inner_nc * 2, outer_nc, 4, 2, 1, bias=True),
                nn.Tanh())
        elif innermost:
            self.act = nn.LeakyReLU(0.2)
            self.down = nn.Sequential(
                nn.Conv2d(input_nc, inner_nc, 4, 2, 1, bias=False))
            self.sub = None
            self.up = nn.Sequential(
                nn.ReLU(),
                Deconv(inner_nc, outer_nc, 4, 2, 1, bias=False),
                nn.BatchNorm2d(outer_nc))
        else:
            self.act = nn.LeakyReLU(0.2)
            self.down = nn.Sequential(
                nn.Conv2d(input_nc, inner_nc, 4, 2, 1, bias=False),
                nn.BatchNorm2d(inner_nc))
            self.sub = submodule
            up = [nn.ReLU(),
                  Deconv(inner_nc * 2, outer_nc, 4, 2, 1, bias=False),
                  nn.BatchNorm2d(outer_nc)]
            if use_dropout:
                up.append(nn.Dropout(0.5))
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
    """U-Net generator; ``num_downs`` = 7 for 128x128 images (unet_128)."""

    def __init__(self, input_nc=3, output_nc=3, num_downs=7, ngf=16,
                 use_dropout=True):
        super().__init__()
        block = UnetBlock(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetBlock(ngf * 8, ngf * 8, submodule=block,
                              use_dropout=use_dropout)
        block = UnetBlock(ngf * 4, ngf * 8, submodule=block)
        block = UnetBlock(ngf * 2, ngf * 4, submodule=block)
        block = UnetBlock(ngf, ngf * 2, submodule=block)
        self.model = UnetBlock(output_nc, ngf, input_nc=input_nc,
                               submodule=block, outermost=True)

    def forward(self, x):
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """Conditional PatchGAN (70x70 receptive field for n_layers=3)."""

    def __init__(self, input_nc=6, ndf=32, n_layers=3):
        super().__init__()
        layers = [nn.Conv2d(input_nc, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2)]
        prev, mult = mult, min(2 ** n_layers, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=False),
                   nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2),
                   nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


def init_weights(net, gain=0.02):
    """Reference 'normal' initialisation: N(0, 0.02) convs, N(1, 0.02) BN."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)


def set_dropout(net, enabled):
    """Switch only the Dropout modules on (train) or off (identity)."""
    for m in net.modules():
        if isinstance(m, nn.Dropout):
            m.train(enabled)
