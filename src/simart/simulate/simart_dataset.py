"""SIMART dataset builder: clean sources x physics operators + noise, written in shards.

Indexing (the same at every scale, independent of the shard size):

* The sources of a split are taken in ``source_id`` order; image ``j`` of a
  (modality, split) uses source ``j mod n_split_sources`` (so at paper scale each of the
  80,000 training sources appears 2-3 times per modality, 10 times over all four).
* Image ``j``'s parameters come from its own generator,
  ``SeedSequence([seed, modality_id, split_id, j])``: replaying one image needs nothing
  but the config seed and its index, and a shard is bit-identical when regenerated.
* Noise (Poisson then Gaussian) is drawn from a ``torch.Generator`` seeded by the image's
  recorded ``noise_seed``; STEM scan distortion by its ``scan_seed``.
* Each row also records how severe the image's degradation is (``blur_px``,
  ``blur_rel``, ``snr_db``: :mod:`simart.physics.severity`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch

from simart import physics
from simart.config import SPLITS, Config, param_specs
from simart.data.shards import write_shard
from simart.physics.severity import severity
from simart.progress import ProgressReporter
from simart.simulate.dataset_common import compression_arg, shard_bounds
from simart.simulate.sources import render_source

SPLIT_ID = {s: i for i, s in enumerate(SPLITS)}
LOG = logging.getLogger(__name__)
_SEED_MAX = 2**62


def shard_range(cfg: Config, split: str, shard: int) -> tuple[int, int]:
    """Image indices [start, stop) of one shard within its (modality, split)."""
    n = getattr(cfg.simart.images_per_modality, split)
    return shard_bounds(n, cfg.simart.shard_size, shard, what=f"split {split!r}")


def image_params(cfg: Config, modality: str, split: str, j: int) -> dict[str, float | int]:
    """Draw the physical and noise parameters of image ``j`` (replayable from the seed)."""
    op = physics.operator(modality)  # its code: the image's modality id in the seed
    ss = np.random.SeedSequence([cfg.seed, op.code, SPLIT_ID[split], j])
    rng = np.random.default_rng(ss)
    params: dict[str, float | int] = dict(physics.sample_params(param_specs(cfg, modality), rng))
    params["noise_seed"] = int(rng.integers(_SEED_MAX))
    for name in op.seed_params:  # seeds of the operator's random parts (STEM scan)
        params[name] = int(rng.integers(_SEED_MAX))
    return params


def _batch_params(rows: list[Mapping[str, float | int]]) -> dict[str, torch.Tensor]:
    keys = rows[0].keys()
    out = {}
    for k in keys:
        vals = [r[k] for r in rows]
        dtype = torch.int64 if k.endswith("_seed") else torch.float64
        out[k] = torch.tensor(vals, dtype=dtype)
    return out


def degrade_with_noiseless(
    clean: np.ndarray, modality: str, rows: list[Mapping[str, float | int]], device: str = "cpu"
) -> tuple[np.ndarray, np.ndarray]:
    """(degraded, noiseless ``P(x)``) of a batch of clean images (N, H, W), float32."""
    x = torch.from_numpy(np.ascontiguousarray(clean, dtype=np.float32))[:, None].to(device)
    p = {k: v.to(device) if v.is_floating_point() else v for k, v in _batch_params(rows).items()}
    with torch.no_grad():
        y0 = physics.forward(modality, x, p).cpu()
        gens = [torch.Generator(device="cpu").manual_seed(int(r["noise_seed"])) for r in rows]
        y = physics.add_noise(y0, p["poisson_counts"].cpu(), p["gaussian_sigma"].cpu(), gens)
    return y[:, 0].numpy().astype(np.float32), y0[:, 0].numpy().astype(np.float32)


def degrade(
    clean: np.ndarray, modality: str, rows: list[Mapping[str, float | int]], device: str = "cpu"
) -> np.ndarray:
    """Apply the modality's operator and the noise to a batch of clean images (N, H, W)."""
    return degrade_with_noiseless(clean, modality, rows, device)[0]


def build_shard(
    cfg: Config,
    catalog: pd.DataFrame,
    modality: str,
    split: str,
    shard: int,
    out_path: str | os.PathLike,
    *,
    batch_size: int = 16,
    device: str = "cpu",
) -> pd.DataFrame:
    """Simulate one shard and write it (HDF5 + Parquet) atomically; return its table.

    Progress (images simulated, images/s, ETA) is logged every ``SIMART_PROGRESS_SECONDS``
    (:mod:`simart.progress`)."""
    start, stop = shard_range(cfg, split, shard)
    srcs = catalog[catalog["split"] == split].sort_values("source_id").reset_index(drop=True)
    if srcs.empty:
        raise ValueError(f"split {split!r} has no sources; raise sources.n_sources")
    size = cfg.image_size
    n = stop - start
    clean = np.empty((n, size, size), np.float32)
    degraded = np.empty_like(clean)
    rows: list[dict] = []
    progress = ProgressReporter(n, "images", f"simulate {modality}/{split} shard {shard}",
                                logger=LOG)
    for b0 in range(0, n, batch_size):
        idx = range(start + b0, min(start + b0 + batch_size, stop))
        batch_rows = []
        for k, j in enumerate(idx):
            src = srcs.iloc[j % len(srcs)]
            clean[b0 + k] = render_source(src.to_dict(), size)
            batch_rows.append(image_params(cfg, modality, split, j))
            rows.append({
                "image_index": j, "modality": modality, "split": split, "shard": shard,
                "source_id": int(src["source_id"]), "source_origin": str(src["origin"]),
                "source_name": str(src["name"]), "variant": j // len(srcs), "seed": cfg.seed,
            })
        degraded[b0:b0 + len(idx)], noiseless = degrade_with_noiseless(
            clean[b0:b0 + len(idx)], modality, batch_rows, device)
        for k, pr in enumerate(batch_rows):
            rows[b0 + k].update(pr)
            rows[b0 + k].update(severity(modality, pr, size, noiseless[k]))
        progress.update(len(idx))
    progress.close()
    table = pd.DataFrame(rows)
    attrs = {"modality": modality, "split": split, "shard": shard, "seed": cfg.seed,
             "value_range": "clean in [0, 1]; degraded unclipped, same units"}
    write_shard(out_path, clean, degraded, table, attrs, dtype=cfg.simart.dtype,
                compression=compression_arg(cfg.simart.compression))
    return table
