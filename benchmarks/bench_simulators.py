"""Speed of the physics-dataset simulators on ONE CPU core.

    python benchmarks/bench_simulators.py            # LDOS 50 scatterers on 256^2; 512^2 shards
    python benchmarks/bench_simulators.py --n 8 --size 512

Prints:

* the LDOS map time for 50 random scatterers on a 256 x 256 grid (full multiple
  scattering, one energy): the first call in the process and the median of ``--repeat``
  warm calls (target <= 1 s), and the radial-table error against direct ``hankel1``;
* images/s of the dataset builders at ``--size`` (default 512): ``stem_lattice`` (CIF ->
  HAADF image -> CDN, shard write), ``lm`` (widefield and confocal: PSF, blur, Poisson,
  shard write) and, for information, ``stm_cu111`` (clean / blurry / experimental);
* the core-hours the paper-scale plan (configs/paper.yaml) needs at those speeds.

Every thread pool is limited to one thread.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from simart.config import validate_config
from simart.simulate import ldos
from simart.simulate.lm_dataset import build_lm_shard, lm_catalog
from simart.simulate.stem_lattice import build_stem_lattice_shard, resolve_materials
from simart.simulate.stm_cu111 import build_stm_shard

ROOT = Path(__file__).resolve().parents[1]


def bench_ldos(repeat: int) -> None:
    rng = np.random.default_rng(0)
    px = 0.1
    sc = rng.uniform(-0.1 * 256 * px, 1.1 * 256 * px, (50, 2))
    t0 = time.perf_counter()
    ldos.ldos_map((256, 256), px, sc, 0.0)
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        ldos.ldos_map((256, 256), px, sc, 0.0)
        times.append(time.perf_counter() - t0)
    pts = rng.uniform(0, 25.6, (4000, 2))
    err = np.abs(ldos.ldos_points(pts, sc, 0.0) - ldos.ldos_points(pts, sc, 0.0, exact=True))
    print(f"LDOS map, 50 scatterers, 256x256, 1 energy, full T-matrix: "
          f"{np.median(times):.3f} s (median of {repeat} warm calls; first call in the "
          f"process {first:.3f} s; target <= 1 s)")
    print(f"  radial-table G0 vs direct hankel1: max |d(rho/rho0)| = {err.max():.2e}")


def _cfg(size: int, n: int) -> object:
    counts = {"train": n, "val": 1, "test": 1}
    return validate_config({
        "seed": 1, "image_size": size,
        "stem_lattice": {"images_per_level": counts, "shard_size": n},
        "stm_cu111": {"images_per_domain": counts, "shard_size": n},
        "lm": {"images_per_mode": counts, "shard_size": n, "n_sources": 24},
    })


def _rate(fn, n: int, repeat: int) -> float:
    best = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best.append(n / (time.perf_counter() - t0))
    return float(np.median(best))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=512, help="image side (px) for the datasets")
    ap.add_argument("--stm-size", type=int, default=256, help="image side of stm_cu111")
    ap.add_argument("--n", type=int, default=8, help="images per timed shard")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread; sizes {args.size}^2 (stm {args.stm_size}^2)")
    bench_ldos(max(args.repeat, 5))

    cfg = _cfg(args.size, args.n)
    stm_cfg = _cfg(args.stm_size, args.n)
    paper = yaml.safe_load((ROOT / "configs" / "paper.yaml").read_text())
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "shard.h5"
        crystals, split = resolve_materials(cfg.stem_lattice)
        build_stem_lattice_shard(cfg, 3, "train", 0, out, crystals, split)  # warm caches
        rates["stem_lattice"] = _rate(lambda: build_stem_lattice_shard(
            cfg, 3, "train", 0, out, crystals, split), args.n, args.repeat)
        cat = lm_catalog(cfg)
        for mode in ("widefield", "confocal"):
            rates[f"lm {mode}"] = _rate(lambda m=mode: build_lm_shard(
                cfg, cat, m, "train", 0, out), args.n, args.repeat)
        for dom in ("clean", "blurry", "experimental"):
            rates[f"stm_cu111 {dom} ({args.stm_size}^2)"] = _rate(lambda d=dom: build_stm_shard(
                stm_cfg, d, "train", 0, out), args.n, args.repeat)
    print(f"\n{'dataset builder (shard write included)':<44} {'images/s':>9}")
    for k, v in rates.items():
        size = "" if "stm" in k else f" ({args.size}^2)"
        print(f"  {k + size:<42} {v:9.2f}")
    sl, st, lm = paper["stem_lattice"], paper["stm_cu111"], paper["lm"]
    n_sl = sum(sl["images_per_level"].values()) * 5
    n_st = sum(st["images_per_domain"].values())
    n_lm = sum(lm["images_per_mode"].values())
    hours = (n_sl / rates["stem_lattice"]
             + n_st * sum(1 / v for k, v in rates.items() if k.startswith("stm"))
             + n_lm * (1 / rates["lm widefield"] + 1 / rates["lm confocal"])) / 3600
    print(f"\npaper scale (configs/paper.yaml): {n_sl:,} stem_lattice + {3 * n_st:,} stm_cu111 "
          f"+ {2 * n_lm:,} lm images ~ {hours:.1f} core-hours at these speeds "
          f"(stm_cu111 timed at {args.stm_size}^2, its paper size)")


if __name__ == "__main__":
    main()
