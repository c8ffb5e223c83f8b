"""Train the Pix2Pix shapes generator (sketch -> shaded shapes, 128x128).

Run from the repository root:

    /usr/bin/python3 models/pix2pix/train.py --iters N

Writes the trained weights to a checkpoint outside the repository (default
/tmp/pix2pix_shapes_128.pt), a loss log to models/pix2pix/train_log.txt and a
summary (time, iterations, held-out L1) to models/pix2pix/train_summary.json.
Export, goldens, samples and preview are produced by export.py.
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import networks  # noqa: E402
import shapes    # noqa: E402

TRAIN_SEED = 0       # data stream for training batches
TEST_SEED = 1000     # held-out pairs (samples, goldens, evaluation)
N_TEST = 64


def test_set(n=N_TEST):
    """Held-out pairs: uint8 NHWC sketches and targets (seed TEST_SEED)."""
    return shapes.make_batch(np.random.default_rng(TEST_SEED), n)


@torch.no_grad()
def eval_l1_sample_mode(G, sk_u8, tg_u8):
    """Mean |G(x) - y| with train-mode BN at batch size 1, dropout off.

    Runs on a copy so the running statistics of G are never touched.
    Returns (l1 in [-1,1] units, l1 in 0-255 units).
    """
    g = copy.deepcopy(G)
    g.train()
    networks.set_dropout(g, False)
    x = torch.from_numpy(shapes.to_tensor_units(sk_u8))
    y = torch.from_numpy(shapes.to_tensor_units(tg_u8))
    errs = [(g(x[i:i + 1]) - y[i:i + 1]).abs().mean().item()
            for i in range(x.shape[0])]
    l1 = float(np.mean(errs))
    return l1, l1 * 127.5


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--iters", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--ngf", type=int, default=16)
    ap.add_argument("--ndf", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--lambda-l1", type=float, default=100.0)
    ap.add_argument("--decay-start", type=float, default=0.5,
                    help="fraction of iterations after which lr decays "
                         "linearly to 0")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--bench", type=int, default=0,
                    help="only time this many iterations and exit")
    ap.add_argument("--ckpt", default="/tmp/pix2pix_shapes_128.pt")
    ap.add_argument("--log", default=os.path.join(HERE, "train_log.txt"))
    ap.add_argument("--summary",
                    default=os.path.join(HERE, "train_summary.json"))
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    networks.FAST_DECONV = True   # training only, see networks.py
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    G = networks.UnetGenerator(3, 3, num_downs=7, ngf=args.ngf,
                               use_dropout=True)
    D = networks.NLayerDiscriminator(6, ndf=args.ndf, n_layers=3)
    networks.init_weights(G)
    networks.init_weights(D)
    G.train()
    D.train()
    optG = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    optD = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    n_iters = args.bench or args.iters
    decay_from = int(args.decay_start * n_iters)

    def lr_factor(it):
        if it < decay_from:
            return 1.0
        return max(0.0, 1.0 - (it - decay_from) / float(n_iters - decay_from + 1))

    schedG = torch.optim.lr_scheduler.LambdaLR(optG, lr_factor)
    schedD = torch.optim.lr_scheduler.LambdaLR(optD, lr_factor)
    gan_crit = nn.BCEWithLogitsLoss()   # "vanilla" GAN loss
    l1_crit = nn.L1Loss()

    test_sk, test_tg = test_set()
    log = None if args.bench else open(args.log, "w")

    def emit(msg):
        print(msg, flush=True)
        if log:
            log.write(msg + "\n")
            log.flush()

    emit("# G params %d, D params %d, batch %d, iters %d, ngf %d, ndf %d, "
         "threads %d" % (sum(p.numel() for p in G.parameters()),
                         sum(p.numel() for p in D.parameters()), args.batch,
                         n_iters, args.ngf, args.ndf, args.threads))
    emit("# iter  lr  loss_D_real  loss_D_fake  loss_G_GAN  loss_G_L1(x100)"
         "  it/s  [heldout L1 sample-mode]")
    acc = np.zeros(4)
    t0 = time.time()
    tlast = t0
    for it in range(n_iters):
        # Deterministic, endless training stream: batch `it` has its own seed.
        rng = np.random.default_rng([TRAIN_SEED, args.seed, it])
        sk, tg = shapes.make_batch(rng, args.batch)
        real_a = torch.from_numpy(shapes.to_tensor_units(sk))
        real_b = torch.from_numpy(shapes.to_tensor_units(tg))

        fake_b = G(real_a)

        # --- discriminator ---
        for p in D.parameters():
            p.requires_grad_(True)
        optD.zero_grad(set_to_none=True)
        pred_fake = D(torch.cat([real_a, fake_b.detach()], 1))
        loss_d_fake = gan_crit(pred_fake, torch.zeros_like(pred_fake))
        pred_real = D(torch.cat([real_a, real_b], 1))
        loss_d_real = gan_crit(pred_real, torch.ones_like(pred_real))
        ((loss_d_fake + loss_d_real) * 0.5).backward()
        optD.step()

        # --- generator ---
        for p in D.parameters():
            p.requires_grad_(False)
        optG.zero_grad(set_to_none=True)
        pred_fake = D(torch.cat([real_a, fake_b], 1))
        loss_g_gan = gan_crit(pred_fake, torch.ones_like(pred_fake))
        loss_g_l1 = l1_crit(fake_b, real_b) * args.lambda_l1
        (loss_g_gan + loss_g_l1).backward()
        optG.step()
        schedG.step()
        schedD.step()

        acc += [loss_d_real.item(), loss_d_fake.item(), loss_g_gan.item(),
                loss_g_l1.item()]
        done = it + 1
        if done % args.log_every == 0 or done == n_iters:
            k = args.log_every if done % args.log_every == 0 else done % args.log_every
            now = time.time()
            ips = k / (now - tlast)
            tlast = now
            line = "%6d %.2e %.4f %.4f %.4f %.4f %.2f" % (
                done, optG.param_groups[0]["lr"], *(acc / k), ips)
            acc[:] = 0
            if done % args.eval_every == 0 and not args.bench:
                l1, l1_255 = eval_l1_sample_mode(G, test_sk[:16], test_tg[:16])
                line += "  [L1 %.4f = %.2f/255 on 16]" % (l1, l1_255)
                tlast = time.time()
            emit(line)
    train_time = time.time() - t0
    if args.bench:
        print("bench: %.3f it/s (%.3f s/it)" % (n_iters / train_time,
                                                 train_time / n_iters))
        return

    l1, l1_255 = eval_l1_sample_mode(G, test_sk, test_tg)
    emit("# training time %.1f s for %d iterations (%.3f it/s)"
         % (train_time, n_iters, n_iters / train_time))
    emit("# held-out L1 on %d pairs (train-mode BN, batch 1, dropout off): "
         "%.5f ([-1,1] units) = %.3f (0-255 units)" % (N_TEST, l1, l1_255))
    torch.save({"G": G.state_dict(), "D": D.state_dict(),
                "args": vars(args)}, args.ckpt)
    summary = {
        "iterations": n_iters,
        "batch_size": args.batch,
        "training_images_seen": n_iters * args.batch,
        "training_time_s": round(train_time, 1),
        "iterations_per_s": round(n_iters / train_time, 3),
        "torch_threads": args.threads,
        "torch_version": torch.__version__,
        "ngf": args.ngf, "ndf": args.ndf, "num_downs": 7,
        "lr": args.lr, "betas": [0.5, 0.999], "lambda_l1": args.lambda_l1,
        "gan_loss": "vanilla (BCE with logits)",
        "lr_schedule": "constant for the first %d iterations, then linear "
                       "decay to 0" % decay_from,
        "seed": args.seed,
        "heldout_pairs": N_TEST,
        "heldout_seed": TEST_SEED,
        "heldout_l1_sample_mode": round(l1, 6),
        "heldout_l1_sample_mode_0_255": round(l1_255, 4),
    }
    with open(args.summary, "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    emit("# checkpoint: %s" % args.ckpt)


if __name__ == "__main__":
    main()
