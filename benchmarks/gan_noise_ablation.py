"""The unpaired GANs on stm_cu111 with and without the stochastic degradation generator
(hparams ``deg_noise_*``, :mod:`simart.specs.hparams_gan`), over several training seeds.

    snakemake --cores all stm_cu111                  # the embedded shards (or `make run`)
    python benchmarks/gan_noise_ablation.py          # cyclegan + pdanet, 3 seeds, +/- noise
    python benchmarks/gan_noise_ablation.py --models pdanet_da --seeds 20261121 --no-control

Trains each model through the pipeline's ``train_model`` (the embedded config's settings
and hyper-parameters for stm_cu111, with the config's unpaired pools: the clean and
experimental training shards) into a temporary folder -- ``results/`` is not touched --
and prints, per (model, noise on/off, seed), the mean and median test PSNR gain of best.pt
(and of the last step) over the blurry input, paired per image, on the blurry test split.
The first seed is the config's (the embedded run's model: the same numbers as
``results/tables/pdanet_tables.md``). CPU, one thread: ~1 min per training.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from simart.config import validate_config
from simart.data.datasets import dataset_views
from simart.evaluation.learned import predict_learned
from simart.specs.hparams_gan import NO_SCAN_NOISE
from simart.train.pipeline import train_model


def psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 10 * np.log10(1.0 / np.mean((a - b) ** 2, axis=(1, 2)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(ROOT / "config.yaml"))
    ap.add_argument("--results", default=str(ROOT / "results"))
    ap.add_argument("--models", nargs="+", default=["cyclegan", "pdanet"])
    ap.add_argument("--seeds", nargs="+", type=int, default=None,
                    help="training seeds (default: the config's, 1, 2)")
    ap.add_argument("--no-control", action="store_true", help="skip the runs without noise")
    a = ap.parse_args()
    cfg = validate_config(yaml.safe_load(Path(a.config).read_text()))
    seeds = a.seeds or [cfg.seed, 1, 2]
    view = dataset_views(cfg)["stm_cu111"]
    shards = lambda sub, split: [str(p) for p in view.shards((sub,), split, a.results)]
    train, val, test = shards("blurry", "train"), shards("blurry", "val"), shards("blurry", "test")
    missing = [p for p in (*train, *val, *test) if not Path(p).exists()]
    if missing:
        sys.exit(f"missing stm_cu111 shards (run `snakemake --cores all stm_cu111`): {missing[:3]}")
    unpaired = {"xu": (shards("clean", "train"), "clean"),
                "u": (shards("experimental", "train"), "degraded")}
    x, y = [], []
    for p in test:
        with h5py.File(p) as f:
            x.append(f["clean"][:])
            y.append(f["degraded"][:])
    x, y = np.concatenate(x), np.concatenate(y)
    base = psnr(y, x)
    print(f"# stm_cu111 blurry test split: {len(y)} maps, input PSNR {base.mean():.2f} dB; "
          "gain = mean (median) PSNR(restored) - PSNR(input), dB")
    print(f"{'model':14s} {'noise':5s} {'seed':>9s} {'best step':>9s} {'best.pt':>16s} "
          f"{'last step':>16s}")
    settings = {"device": "cpu", "deterministic": True, "threads": 1,
                "num_workers": 0, "progress": False}
    with tempfile.TemporaryDirectory() as tmp:
        for model in a.models:
            hp = cfg.train.hparams(model, "stm_cu111")
            for noise in ([True] if a.no_control else [True, False]):
                h = dict(hp) if noise else {**hp, **NO_SCAN_NOISE}
                for seed in seeds:
                    out = Path(tmp) / f"{model}_{noise}_{seed}"
                    s = train_model(model, "stm_cu111", ["blurry"], train, val,
                                    {**cfg.train.settings(model), **settings}, h, out,
                                    seed=seed, cfg=cfg, unpaired=unpaired)
                    cols = []
                    for w in (out / "best.pt", out / "work" / "last.pt"):
                        pred = predict_learned(w, model, "stm_cu111", "blurry", y,
                                               device="cpu")[0]
                        d = psnr(pred, x) - base
                        cols.append(f"{d.mean():+.2f} ({np.median(d):+.2f})")
                    print(f"{model:14s} {'on' if noise else 'off':5s} {seed:>9d} "
                          f"{s.get('best_step', -1):>9} {cols[0]:>16s} {cols[1]:>16s}",
                          flush=True)


if __name__ == "__main__":
    main()
