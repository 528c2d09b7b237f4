"""Per-megapixel costs behind the Slurm requests of predict_shard and score_shard
(:mod:`simart.workflow.resources`).

    python benchmarks/bench_resources.py                # 4 images of 128² per modality
    python benchmarks/bench_resources.py --size 256 --images 2

Prints, one CPU thread:

* CPU seconds per megapixel of every CPU-only row (``noisy`` and the classical baselines:
  wiener, richardson_lucy, bm3d, tip_erosion), the slowest SIMART modality each applies
  to, on real simulated images (``simart.restore.classical.restore_batch``);
* CPU seconds per megapixel of one CNN (U-Net, paper hyper-parameters, ``predict``);
* CPU seconds per megapixel of scoring (every metric of configs/paper.yaml but LPIPS,
  whose backbone is not shipped: ``simart.metrics.compute_metrics_with_reasons``), and
  LPIPS's FLOPs per megapixel (its AlexNet features on both images; FLOP estimate);
* GPU FLOPs per megapixel of one network evaluation of each learned family at paper
  hyper-parameters (``torch.utils.flop_counter.FlopCounterMode`` at ``--size``/2;
  FLOP estimates, not timings): cnn (U-Net), gan (pix2pix generator) and the denoisers of
  the three diffusion models (pcsd, pi_ddpm, cond_ddpm: one sampling step each).

The constants of :mod:`simart.workflow.resources` are these figures; rerun it on your
cluster's nodes and put yours there.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from simart.config import validate_config
from simart.data.shards import Shard
from simart.restore.classical import restore_batch
from simart.simulate.simart_dataset import build_shard
from simart.simulate.sources import build_catalog
from simart.specs.hparams import PAPER_HPARAMS
from simart.specs.models import model_applies, names

ROOT = Path(__file__).resolve().parents[1]


def shards(size: int, images: int, root: Path) -> dict[str, Path]:
    cfg = validate_config({
        "seed": 0, "image_size": size,
        "sources": {"n_sources": 12, "split_fractions": [0.5, 0.25, 0.25]},
        "simart": {"images_per_modality": {"train": 1, "val": 1, "test": images},
                   "shard_size": images}})
    s = cfg.sources
    cat = build_catalog(s.n_sources, cfg.seed, split_fractions=tuple(s.split_fractions))
    out = {}
    for mod in cfg.simart.modalities:
        out[mod] = root / f"{mod}.h5"
        build_shard(cfg, cat, mod, "test", 0, out[mod])
    return out


def seconds(fn, repeat: int = 2) -> float:
    fn()  # warm-up (imports, plans, caches)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def classical_costs(paths: dict[str, Path]) -> dict[str, float]:
    """CPU s/MPx of each CPU-only row: the slowest modality it runs on."""
    out = {}
    for model in names("input", "classical"):
        per_mod = []
        for mod, path in paths.items():
            if not model_applies(model, "simart") or (model == "tip_erosion" and mod != "AFM"):
                continue
            with Shard(path) as s:
                ys, table = s.degraded(), s.params()
            t = seconds(lambda m=model, y=ys, md=mod, tb=table: restore_batch(m, y, md, tb))
            per_mod.append(t / (ys.size / 1e6))
        out[model] = max(per_mod)
    return out


def cnn_cost(size: int, images: int) -> float:
    from simart.models import build_model

    net = build_model("unet", dict(PAPER_HPARAMS["unet"])).eval()
    y = torch.rand(images, 1, size, size)
    with torch.no_grad():
        t = seconds(lambda: net.predict(y))
    return t / (y.numel() / 1e6)


def score_cost(paths: dict[str, Path]) -> float:
    from simart.metrics.registry import compute_metrics_with_reasons

    metrics = [m for m in yaml.safe_load((ROOT / "configs/paper.yaml").read_text())
               ["evaluate"]["metrics"] if m != "lpips"]
    with Shard(paths["TEM"]) as s:
        x, y, table = s.clean(), s.degraded(), s.params()
    px = table["pixel_size_nm"].to_numpy() if "pixel_size_nm" in table else None
    t = seconds(lambda: compute_metrics_with_reasons(
        np.clip(y, 0, 1), x, degraded=y, metrics=metrics, pixel_size_nm=px))
    return t / (x.size / 1e6)


def lpips_flops(size: int) -> float:
    """FLOPs per megapixel of LPIPS's AlexNet features on both images of a pair."""
    from torchvision.models import alexnet

    net = alexnet(weights=None).features[:12].eval()  # conv1..relu5, the layers LPIPS taps
    x = torch.rand(1, 3, size, size)
    return 2 * flops_per_mpx(lambda: net(x), size)


def flops_per_mpx(fn, size: int) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops() / (size * size / 1e6)


def gpu_flops(size: int) -> dict[str, float]:
    """FLOPs per MPx of one network evaluation per learned family (paper hparams)."""
    from simart.models import build_model
    from simart.models.pcsd import N_PARAM_FEATURES

    x = torch.rand(1, 1, size, size)
    t = torch.zeros(1, dtype=torch.long)
    unet = build_model("unet", dict(PAPER_HPARAMS["unet"])).eval()
    gan = build_model("pix2pix", dict(PAPER_HPARAMS["pix2pix"])).eval()
    pcsd = build_model("pcsd", dict(PAPER_HPARAMS["pcsd"])).eval()
    cond = build_model("cond_ddpm", dict(PAPER_HPARAMS["cond_ddpm"])).eval()
    pi = build_model("pi_ddpm", dict(PAPER_HPARAMS["pi_ddpm"])).eval()
    a = torch.ones(1)
    return {"cnn": flops_per_mpx(lambda: unet.predict(x), size),
            "gan": flops_per_mpx(lambda: gan.predict(x), size),
            "pcsd": flops_per_mpx(
                lambda: pcsd.net(x, x, t, t, torch.zeros(1, N_PARAM_FEATURES)), size),
            "pi_ddpm": flops_per_mpx(lambda: pi.net(x, x, a), size),
            "cond_ddpm": flops_per_mpx(lambda: cond.net(x, x, a), size)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--images", type=int, default=4)
    a = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        paths = shards(a.size, a.images, Path(tmp))
        for model, v in classical_costs(paths).items():
            print(f"cpu_s_per_mpx {model:16s} {v:10.3f}")
        print(f"cpu_s_per_mpx {'cnn (unet)':16s} {cnn_cost(a.size, a.images):10.3f}")
        print(f"score_cpu_s_per_mpx {'paper metrics':10s} {score_cost(paths):10.3f}"
              "   (without LPIPS)")
    print(f"lpips_flops_per_mpx {lpips_flops(a.size):12.4g}   (FLOP estimate, both images)")
    for fam, f in gpu_flops(a.size).items():
        print(f"gpu_flops_per_mpx {fam:12s} {f:12.4g}   (FLOP estimate, one evaluation)")


if __name__ == "__main__":
    main()
