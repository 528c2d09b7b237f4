"""Training throughput and inference time of every learned model (CPU; and GPU if present).

    python benchmarks/bench_models.py                      # default (embedded) hparams, CPU
    python benchmarks/bench_models.py --hparams paper      # the papers' architectures
    python benchmarks/bench_models.py --device cuda --hparams paper --batch 32 --patch 256

Prints, per model: parameters; training throughput in images/s (forward + backward +
Adam step of ``training_step`` on random ``--batch`` x ``--patch``^2 patches, median of
``--steps`` timed steps after 2 warm-up steps) and inference time per 512 x 512 image
(``predict`` on one image, median of ``--repeat`` after a warm-up). On CPU every thread pool
is limited to ``--threads`` (default 1: the figure per core, as the embedded run uses).
On CUDA: optional mixed precision (``--amp``) and peak memory.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_model(name: str, hparams: dict, device: torch.device, batch: int, patch: int,
                steps: int, repeat: int, size: int, amp: bool) -> dict:
    from simart.models import Batch, build_model, n_parameters

    torch.manual_seed(0)
    # channels-last weights and batches, as the training loop uses them
    net = build_model(name, hparams).to(device, memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = torch.rand(batch, 1, patch, patch, device=device)
    y = x + 0.05 * torch.randn_like(x)
    b = Batch(y=y, x=x, y2=x + 0.05 * torch.randn_like(x),
              subset=torch.zeros(batch, dtype=torch.long, device=device)).to(device)
    gen = torch.Generator(device=device).manual_seed(0)
    times = []
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for k in range(steps + 2):
        _sync(device)
        t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss, _ = net.training_step(b, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        _sync(device)
        if k >= 2:
            times.append(time.perf_counter() - t0)
    net.eval()
    img = torch.rand(1, 1, size, size, device=device).contiguous(
        memory_format=torch.channels_last)
    inf = []
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
        for k in range(repeat + 1):
            _sync(device)
            t0 = time.perf_counter()
            net.predict(img)
            _sync(device)
            if k:
                inf.append(time.perf_counter() - t0)
    out = {"model": name, "params": n_parameters(net),
           "train_images_per_s": batch / float(np.median(times)),
           "infer_s_per_image": float(np.median(inf))}
    if device.type == "cuda":
        out["peak_mem_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hparams", choices=["default", "paper"], default="default")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--models", nargs="*", default=None)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    from simart.models import MODEL_REGISTRY
    from simart.models.hparams import DEFAULT_HPARAMS, PAPER_HPARAMS

    table = DEFAULT_HPARAMS if a.hparams == "default" else PAPER_HPARAMS
    device = torch.device(a.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"CPU, {a.threads} thread(s)"
    print(f"# {a.hparams} hparams on {where}; training batch {a.batch} x {a.patch}^2, "
          f"inference on one {a.size}^2 image{' (bf16 autocast)' if a.amp else ''}")
    print(f"{'model':<10} {'params':>10} {'train img/s':>12} {'infer s/img':>12}"
          + (f" {'peak MB':>9}" if device.type == "cuda" else ""))
    for name in a.models or list(MODEL_REGISTRY):
        r = bench_model(name, table[name], device, a.batch, a.patch, a.steps, a.repeat,
                        a.size, a.amp and device.type == "cuda")
        line = (f"{name:<10} {r['params']:>10,d} {r['train_images_per_s']:>12.1f} "
                f"{r['infer_s_per_image']:>12.4f}")
        if "peak_mem_mb" in r:
            line += f" {r['peak_mem_mb']:>9.0f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
