"""Training-loader throughput: random crops per second per worker process, old shard layout
against the new one, beside what a model on the GPU would consume.

    python benchmarks/bench_loader.py                        # paper-sized: 100 x 512², crops 256²
    python benchmarks/bench_loader.py --images 16 --size 256 --patch 128 --steps 20   # quick

What it does:

1. simulates one real SIMART training shard (``--modality``, default TEM) with the
   project's own builder and shard writer (``--images`` images of ``--size``², float16 as
   configs/paper.yaml stores them);
2. rewrites its images unchanged in two layouts with :func:`simart.data.shards.write_shard`:
   ``old`` = one image per chunk, LZF (the layout before tiles) and ``new`` = the writer's
   defaults (128² tiles, compression ``auto``), and prints each one's stored/raw bytes;
3. times :func:`simart.train.batches.batch_arrays` over a lazily read
   :class:`simart.train.shard_data.ShardTrainData` (``preload=False``: paper-scale training
   sets do not fit in memory) in THIS process, one thread -- exactly what one DataLoader
   worker does per batch -- and prints random ``--patch``² crops per CPU-second;
4. does the same for Noise2Noise batches (``y``, ``y2``): per-sample re-simulation of
   ``y2`` (``pairs=off``) against pairs drawn once per image (``pairs=on``, the time to
   draw them is printed separately: it is paid once per training, not per step);
5. prints the GPU's consumption rate and how many workers would keep it fed.

Consumption rate (``--consume``, crops/s): by default computed, not assumed: the FLOPs of
one PCSD training step's denoiser forward + backward at ``--gpu-batch`` x ``--patch``²
(``torch.utils.flop_counter.FlopCounterMode`` on the meta device, paper
hyper-parameters), divided into ``--gpu-tflops`` x ``--mfu``. Defaults: 989.4 TFLOP/s
(the H100 SXM's dense BF16 tensor peak, NVIDIA H100 datasheet) at an assumed 40 % model
FLOP utilisation (a typical figure for convolutional U-Nets under AMP; give your measured
one). Pass ``--consume`` to use a rate you measured instead.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import inspect
import math
import tempfile
import time
from pathlib import Path

import torch

from simart.config import validate_config
from simart.data.shards import Shard, write_shard
from simart.simulate.simart_dataset import build_shard
from simart.simulate.sources import build_catalog
from simart.train.batches import batch_arrays
from simart.train.shard_data import ShardTrainData

H100_BF16_DENSE_TFLOPS = 989.4  # NVIDIA H100 SXM datasheet, dense BF16 tensor core peak


def _config(images: int, size: int):
    return validate_config({
        "seed": 0, "image_size": size,
        "sources": {"n_sources": 20, "split_fractions": [0.8, 0.1, 0.1]},
        "simart": {"images_per_modality": {"train": images, "val": 1, "test": 1},
                   "shard_size": images, "dtype": "float16"},
    })


def simulate(cfg, modality: str, root: Path) -> Path:
    """One real training shard of ``modality`` under ``root``."""
    s = cfg.sources
    cat = build_catalog(s.n_sources, cfg.seed, split_fractions=tuple(s.split_fractions))
    path = root / "sim" / "simart" / "shards" / modality / "train" / "0000.h5"
    path.parent.mkdir(parents=True)
    build_shard(cfg, cat, modality, "train", 0, path)
    return path


def rewrite(src: Path, root: Path, layout: str) -> Path:
    """The images of ``src`` (unchanged) in ``layout`` 'old' or 'new'."""
    dst = root / layout / src.relative_to(root / "sim")
    dst.parent.mkdir(parents=True)
    with Shard(src) as s:
        clean, degraded = s.dataset("clean")[()], s.dataset("degraded")[()]
        params, attrs = s.params(), dict(s.attrs)
    for key in ("format_version", "n_images", "image_size", "dtype", "fingerprint"):
        attrs.pop(key, None)
    kw = {"compression": "lzf", "tile": None} if layout == "old" else {}
    if "tile" not in inspect.signature(write_shard).parameters:
        kw.pop("tile", None)  # the code before tiles: its only layout is 'old'
    write_shard(dst, clean, degraded, params, attrs, dtype=str(clean.dtype), **kw)
    return dst


def crops_per_second(data, want, steps: int, batch: int, patch: int) -> float:
    """Random ``patch``² crops per second of batch_arrays in this process (after one
    untimed warm-up batch that opens the files)."""
    batch_arrays(data, 0, seed=1, batch_size=batch, patch_size=patch, augment="dihedral",
                 want=want)
    t0 = time.process_time()
    for step in range(1, steps + 1):
        batch_arrays(data, step, seed=1, batch_size=batch, patch_size=patch,
                     augment="dihedral", want=want)
    return steps * batch / (time.process_time() - t0)


def pcsd_flops_per_crop(patch: int, batch: int) -> float:
    """FLOPs of the PCSD denoiser's forward + backward per training crop (paper
    hyper-parameters), counted on one crop on the CPU and scaled to what
    :meth:`PCSD.training_step` feeds it per crop: the batch and the cycle pass's
    ``ceil(cycle_fraction x batch)`` extra images. The physics operators and the VGG
    perceptual term are left out, so the rate derived from it is an upper bound (the GPU
    needs at most this many crops/s)."""
    from torch.utils.flop_counter import FlopCounterMode

    from simart.models import build_model
    from simart.models.pcsd import N_PARAM_FEATURES
    from simart.specs.hparams import PAPER_HPARAMS

    model = build_model("pcsd", dict(PAPER_HPARAMS["pcsd"]))
    x = torch.randn(1, 1, patch, patch)
    t = torch.zeros(1, dtype=torch.long)
    with FlopCounterMode(display=False) as fc:
        model.net(x, x, t, t, torch.zeros(1, N_PARAM_FEATURES)).float().sum().backward()
    per_image = fc.get_total_flops()
    return per_image * (batch + math.ceil(model.hparams["cycle_fraction"] * batch)) / batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=100, help="images per shard (paper: 100)")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--patch", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8, help="crops per timed batch")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--modality", default="TEM")
    ap.add_argument("--gpu-batch", type=int, default=8)
    ap.add_argument("--gpu-tflops", type=float, default=H100_BF16_DENSE_TFLOPS)
    ap.add_argument("--mfu", type=float, default=0.40)
    ap.add_argument("--consume", type=float, default=None,
                    help="crops/s the GPU consumes (default: from FLOPs, see the docstring)")
    ap.add_argument("--workers", type=int, default=8, help="DataLoader workers to compare")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = _config(a.images, a.size)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        src = simulate(cfg, a.modality, root)
        print(f"simulated {a.images} {a.modality} images of {a.size}² "
              f"in {time.perf_counter() - t0:.1f} s")
        rates = {}
        for layout in ("old", "new"):
            path = rewrite(src, root, layout)
            with Shard(path) as s:
                ratio = (s.storage_ratio() if hasattr(s, "storage_ratio") else float("nan"))
                chunks, comp = s.dataset("degraded").chunks, s.dataset("degraded").compression
            data = ShardTrainData("simart", [path], [a.modality], cfg=cfg, preload=False)
            rates[layout] = crops_per_second(data, ("y", "x"), a.steps, a.batch, a.patch)
            print(f"layout {layout}: chunks {chunks}, compression {comp}, stored/raw "
                  f"{ratio:.3f}: {rates[layout]:.0f} crops/s per worker (y, x)")
        n2n = {}
        path = root / "new" / src.relative_to(root / "sim")
        data = ShardTrainData("simart", [path], [a.modality], cfg=cfg, preload=False,
                              want=("y", "y2"))
        steps = max(2, a.steps // 4)
        n2n["off"] = crops_per_second(data, ("y", "y2"), steps, a.batch, a.patch)
        if "pair_dir" in inspect.signature(ShardTrainData).parameters:
            t0 = time.perf_counter()
            data = ShardTrainData("simart", [path], [a.modality], cfg=cfg, preload=False,
                                  want=("y", "y2"), pair_dir=root / "pairs")
            draw = time.perf_counter() - t0
            n2n["on"] = crops_per_second(data, ("y", "y2"), a.steps, a.batch, a.patch)
            print(f"Noise2Noise pairs drawn once: {1e3 * draw / a.images:.1f} ms per image "
                  f"(once per training)")
        for k, v in n2n.items():
            print(f"Noise2Noise (y, y2), pairs {'drawn once' if k == 'on' else 'per sample'}"
                  f": {v:.0f} crops/s per worker")
    if a.consume is None:
        flops = pcsd_flops_per_crop(a.patch, a.gpu_batch)
        consume = a.gpu_tflops * 1e12 * a.mfu / flops
        print(f"PCSD denoiser forward+backward: {flops / 1e9:.1f} GFLOP per {a.patch}² crop "
              f"(FlopCounterMode); at {a.gpu_tflops:g} TFLOP/s x {a.mfu:.0%} MFU: "
              f"{consume:.0f} crops/s")
    else:
        consume = a.consume
        print(f"consumption rate (given): {consume:.0f} crops/s")
    for layout, r in rates.items():
        print(f"{layout}: {a.workers} workers supply {a.workers * r:.0f} crops/s = "
              f"{min(1.0, a.workers * r / consume):.0%} of the GPU's need; "
              f"{math.ceil(consume / r)} workers keep it fed")


if __name__ == "__main__":
    main()
