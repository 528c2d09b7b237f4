"""Training throughput and inference time of the adversarial models (PDA-Net and its ablation
variants, CycleGAN, pix2pix), CPU by default.

    python benchmarks/bench_gan.py                                # default (embedded) hparams
    python benchmarks/bench_gan.py --hparams paper --device cuda --batch 1 --patch 256
    python benchmarks/bench_gan.py --models pdanet cyclegan --steps 10

Prints, per model: parameters (generators / discriminators); training throughput in
images/s and ms per step (one full ``training_step``: every generator and discriminator
forward, backward and Adam step of both optimiser groups, as the training loop runs it --
``benchmarks/_timing.py``'s ``TrainStepper``: the loop's optimisers with the sources' Adam
settings, lr 2e-4, betas (0.5, 0.999), its gradient clipping and LR schedule -- on random
``--batch`` x ``--patch``^2 batches with y and the fields each model reads (x, xu, u);
median of ``--steps`` timed steps after 2 warm-up steps) and inference time per
``--size``^2 image (``predict`` on a batch of ``--infer-batch`` images, half of them of
the experimental subset for PDA-Net so both generators run; median of ``--repeat`` after a
warm-up). Channels-last weights and batches like the training loop. On CPU every thread
pool is limited to ``--threads`` (default 1: the embedded run's one thread per job); on
CUDA optional mixed precision as the training loop's ``amp`` (``--amp``: bf16 autocast
where supported) and peak memory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

if str(Path(__file__).resolve().parent) not in sys.path:  # _timing, also when imported by path
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import (
    TrainStepper,
    add_common_args,
    describe_device,
    hparams_table,
    median_seconds,
    peak_memory_mb,
    reset_peak_memory,
    set_threads,
    synthetic_batch,
)

MODELS = ("pdanet", "pdanet_da_ws", "pdanet_da", "cyclegan", "pix2pix")


def bench_model(name: str, hparams: dict, device: torch.device, batch: int, patch: int,
                steps: int, repeat: int, size: int, infer_batch: int, amp: bool) -> dict:
    from simart.models import build_model, n_parameters
    from simart.models.base import run_predict

    torch.manual_seed(0)
    net = build_model(name, hparams)
    groups = net.optimizer_groups()
    # the sources' Adam settings (hparams_gan); channels-last, the loop's update
    stepper = TrainStepper(net, device, lr=2e-4, betas=(0.5, 0.999), amp=amp)
    b = synthetic_batch(net, batch, patch, seed=0,
                        subset=torch.ones(batch, dtype=torch.long)).to(device)
    reset_peak_memory(device)
    step = median_seconds(lambda k: stepper(b, k), device, steps, warmup=2)
    net.eval()
    img = torch.rand(infer_batch, 1, size, size, device=device).contiguous(
        memory_format=torch.channels_last)
    subset = torch.arange(infer_batch, device=device) % 2 + 1  # blurry / experimental

    def predict(_k: int) -> None:
        with torch.no_grad(), stepper.autocast():
            run_predict(net, img, subset)

    infer = median_seconds(predict, device, repeat, warmup=1)
    out = {"model": name, "params_g": sum(p.numel() for p in groups["generators"]),
           "params_d": sum(p.numel() for p in groups["discriminators"]),
           "params": n_parameters(net), "step_ms": 1000 * step,
           "train_images_per_s": batch / step,
           "infer_s_per_image": infer / infer_batch}
    if device.type == "cuda":
        out["peak_mem_mb"] = peak_memory_mb(device)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(ap, device="cpu", batch=8, patch=48, size=256)
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    ap.add_argument("--infer-batch", type=int, default=2)
    a = ap.parse_args()
    set_threads(a.threads)
    table = hparams_table(a.hparams)
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    print(f"# {a.hparams} hparams on {describe_device(device, a.threads)}; training batch "
          f"{a.batch} x {a.patch}^2 (every generator + discriminator update), inference "
          f"{a.size}^2 {'(amp)' if a.amp and cuda else ''}")
    print(f"{'model':<13} {'params G':>10} {'params D':>10} {'ms/step':>9} {'train img/s':>12} "
          f"{'infer s/img':>12}" + (f" {'peak MB':>9}" if cuda else ""))
    for name in a.models:
        r = bench_model(name, table[name], device, a.batch, a.patch, a.steps, a.repeat,
                        a.size, a.infer_batch, a.amp and cuda)
        line = (f"{name:<13} {r['params_g']:>10,d} {r['params_d']:>10,d} {r['step_ms']:>9.1f} "
                f"{r['train_images_per_s']:>12.2f} {r['infer_s_per_image']:>12.4f}")
        if "peak_mem_mb" in r:
            line += f" {r['peak_mem_mb']:>9.0f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
