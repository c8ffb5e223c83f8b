"""Tests of tools/pix2pix_export.py: checkpoints in the reference key layout for every supported
architecture, written by the tool itself, exported and checked against PyTorch float64 through
samplenorm's CLI in every statistics mode, with dropout off and on.

    /usr/bin/python3 -m unittest discover -s tools -p 'test_pix2pix_export.py' -v
"""
import io
import os
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pix2pix_export as px  # noqa: E402

# (netG, dropout, check size): small ngf keeps the runs short; U-Nets need 2^num_downs.
CASES = [("unet_128", True, 128), ("unet_256", True, 256),
         ("resnet_6blocks", True, 32), ("resnet_9blocks", False, 32)]
NGF = 4


class KeyLayoutTest(unittest.TestCase):
    """Keys of the reference repository's state_dicts (norm='batch'), spot-checked by hand."""

    def keys(self, netG, dropout=True):
        return set(px.build(netG, 3, 3, NGF, dropout).state_dict())

    def test_unet_keys(self):
        k = self.keys("unet_128")
        for key in ["model.model.0.weight", "model.model.3.weight", "model.model.3.bias",
                    "model.model.1.model.1.weight", "model.model.1.model.2.running_var",
                    "model.model.1.model.5.weight", "model.model.1.model.6.num_batches_tracked",
                    # innermost (7 levels deep): LeakyReLU, conv, ReLU, deconv, BN
                    "model.model.1.model.3.model.3.model.3.model.3.model.3.model.1.weight",
                    "model.model.1.model.3.model.3.model.3.model.3.model.3.model.4.weight"]:
            self.assertIn(key, k)
        self.assertNotIn("model.model.0.bias", k)     # convolutions before BatchNorm: no bias
        self.assertNotIn("model.model.1.model.5.bias", k)
        self.assertEqual(len(k), 70)
        self.assertEqual(len(self.keys("unet_256")), 70 + 12)   # one more ngf*8 level

    def test_resnet_keys_shift_with_dropout(self):
        with_dropout = self.keys("resnet_6blocks", True)
        without = self.keys("resnet_9blocks", False)
        self.assertIn("model.10.conv_block.6.weight", with_dropout)
        self.assertIn("model.10.conv_block.7.running_mean", with_dropout)
        self.assertIn("model.10.conv_block.5.weight", without)
        self.assertIn("model.26.bias", without)        # final 7x7 conv keeps its bias
        self.assertIn("model.23.weight", with_dropout)
        self.assertNotIn("model.1.bias", without)

    def test_wrong_options_are_named(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "g.pth")
            px.write_test_checkpoint(path, "resnet_6blocks", 3, 3, NGF, True)
            net = px.build("resnet_6blocks", 3, 3, NGF, False)
            with self.assertRaises(SystemExit) as e:
                px.load_checkpoint(path, net)
            self.assertIn("--no_dropout", str(e.exception))
            # a DataParallel checkpoint ("module." prefix) loads
            sd = torch.load(path)
            torch.save({"module." + k: v for k, v in sd.items()}, path)
            px.load_checkpoint(path, px.build("resnet_6blocks", 3, 3, NGF, True))


class MaskStreamTest(unittest.TestCase):
    def test_splitmix64_reference_values(self):
        # First outputs of SplitMix64 seeded with 0 (published with the algorithm).
        gamma, state, out = 0x9E3779B97F4A7C15, 0, []
        for _ in range(2):
            state = (state + gamma) & px.MASK
            z = state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & px.MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & px.MASK
            out.append(z ^ (z >> 31))
        self.assertEqual(out[0], 0xE220A8397B1DCDAF)
        # the vectorized masks follow the same stream
        m = px.dropout_masks(0, [(1, 1, 1, 2)], [np.float32(0.5)])[0].ravel()
        expect = [2.0 if (v >> 11) * 2.0 ** -53 >= 0.5 else 0.0 for v in out]
        self.assertEqual(list(m), expect)

    def test_mask_values_and_rate(self):
        m = px.dropout_masks(123, [(2, 8, 16, 16)], [np.float32(0.5)])[0]
        self.assertEqual(set(np.unique(m)), {0.0, 2.0})
        self.assertAlmostEqual(float((m == 0).mean()), 0.5, delta=0.03)


class ExportAndCheckTest(unittest.TestCase):
    """Writes, exports and checks one checkpoint per architecture (needs the samplenorm jar,
    which ./samplenorm builds on first use)."""

    def test_every_architecture_in_every_mode(self):
        with tempfile.TemporaryDirectory(prefix="pix2pix-export-test-") as d:
            for netG, dropout, size in CASES:
                with self.subTest(netG=netG):
                    ckpt = os.path.join(d, netG + ".pth")
                    onnx_path = os.path.join(d, netG + ".onnx")
                    flags = [] if dropout else ["--no_dropout"]
                    common = ["--netG", netG, "--ngf", str(NGF), "--size", str(size)] + flags
                    self.assertEqual(px.main([ckpt, "--write-test-checkpoint"] + common), 0)
                    self.assertEqual(px.main([ckpt, onnx_path] + common), 0)
                    net = px.load_checkpoint(ckpt, px.build(netG, 3, 3, NGF, dropout))
                    facts = px.onnx_facts(onnx_path)
                    self.assertTrue(facts["training_mode"])
                    self.assertEqual(len(facts["dropout_ratios"]), {
                        "unet_128": 2, "unet_256": 3, "resnet_6blocks": 6, "resnet_9blocks": 0}[netG])
                    if dropout:
                        self.check_dropout_changes_output(net, onnx_path, size)

    def check_dropout_changes_output(self, net, onnx_path, size):
        """Same seed: same output; other seed: other output; off: the plain output."""
        x = (np.random.default_rng(1).random((1, 3, size, size)) * 2 - 1).astype(np.float32)
        launcher = px.default_launcher()
        with tempfile.TemporaryDirectory() as w:
            off = px.samplenorm_translate(launcher, onnx_path, x, "sample", w)
            a = px.samplenorm_translate(launcher, onnx_path, x, "sample", w, ["--dropout", "on", "--seed", "5"])
            b = px.samplenorm_translate(launcher, onnx_path, x, "sample", w, ["--dropout", "on", "--seed", "5"])
            c = px.samplenorm_translate(launcher, onnx_path, x, "sample", w, ["--dropout", "on", "--seed", "6"])
        np.testing.assert_array_equal(a, b)
        self.assertGreater(px.rel_l2(a, c), 1e-3)
        self.assertGreater(px.rel_l2(a, off), 1e-3)
        self.assertLess(px.rel_l2(off, px.reference(net, x, "sample")), 1e-4)


if __name__ == "__main__":
    unittest.main()
