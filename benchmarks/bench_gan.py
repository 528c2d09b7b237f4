"""Training throughput and inference time of the adversarial models (PDA-Net and its ablation
variants, CycleGAN, pix2pix), CPU by default.

    python benchmarks/bench_gan.py                                # default (embedded) hparams
    python benchmarks/bench_gan.py --hparams paper --device cuda --batch 1 --patch 256
    python benchmarks/bench_gan.py --models pdanet cyclegan --steps 10

Prints, per model: parameters (generators / discriminators); training throughput in
images/s and ms per step (one full ``training_step`` -- every generator and discriminator
forward, backward and Adam step of both optimiser groups, as the training loop runs it --
on random ``--batch`` x ``--patch``^2 batches with every field the models read: y, x, xu,
u; median of ``--steps`` timed steps after 2 warm-up steps) and inference time per
``--size``^2 image (``predict`` on a batch of ``--infer-batch`` images, half of them of
the experimental subset for PDA-Net so both generators run; median of ``--repeat`` after a
warm-up). Channels-last weights and batches like the training loop. On CPU every thread
pool is limited to ``--threads`` (default 1: the embedded run's one thread per job); on
CUDA optional bf16 autocast (``--amp``) and peak memory.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

MODELS = ("pdanet", "pdanet_da_ws", "pdanet_da", "cyclegan", "pix2pix")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_model(name: str, hparams: dict, device: torch.device, batch: int, patch: int,
                steps: int, repeat: int, size: int, infer_batch: int, amp: bool) -> dict:
    from simart.models import Batch, build_model, n_parameters

    torch.manual_seed(0)
    net = build_model(name, hparams).to(device, memory_format=torch.channels_last)
    groups = net.optimizer_groups()
    opts = {g: torch.optim.Adam(p, lr=2e-4, betas=(0.5, 0.999)) for g, p in groups.items()}

    def update(group: str, loss: torch.Tensor) -> None:
        opts[group].zero_grad(set_to_none=True)
        loss.backward()
        opts[group].step()

    g = torch.Generator().manual_seed(0)
    r = lambda: torch.rand((batch, 1, patch, patch), generator=g)
    x = r()
    b = Batch(y=x + 0.05 * torch.randn(x.shape, generator=g), x=x, xu=r(), u=r(),
              subset=torch.ones(batch, dtype=torch.long)).to(device)
    gen = torch.Generator(device=device).manual_seed(0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for k in range(steps + 2):
        _sync(device)
        t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            net.training_step(b, gen, update)
        _sync(device)
        if k >= 2:
            times.append(time.perf_counter() - t0)
    net.eval()
    img = torch.rand(infer_batch, 1, size, size, device=device).contiguous(
        memory_format=torch.channels_last)
    subset = torch.arange(infer_batch, device=device) % 2 + 1  # blurry / experimental
    inf = []
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
        for k in range(repeat + 1):
            _sync(device)
            t0 = time.perf_counter()
            net.predict(img, subset)
            _sync(device)
            if k:
                inf.append(time.perf_counter() - t0)
    step = float(np.median(times))
    out = {"model": name, "params_g": sum(p.numel() for p in groups["generators"]),
           "params_d": sum(p.numel() for p in groups["discriminators"]),
           "params": n_parameters(net), "step_ms": 1000 * step,
           "train_images_per_s": batch / step,
           "infer_s_per_image": float(np.median(inf)) / infer_batch}
    if device.type == "cuda":
        out["peak_mem_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hparams", choices=["default", "paper"], default="default")
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--patch", type=int, default=48)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--infer-batch", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    from simart.models.hparams import DEFAULT_HPARAMS, PAPER_HPARAMS

    table = DEFAULT_HPARAMS if a.hparams == "default" else PAPER_HPARAMS
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    where = torch.cuda.get_device_name(device) if cuda else f"CPU, {a.threads} thread(s)"
    print(f"# {a.hparams} hparams on {where}; training batch {a.batch} x {a.patch}^2 "
          f"(every generator + discriminator update), inference {a.size}^2 "
          f"{'(bf16 autocast)' if a.amp and cuda else ''}")
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
