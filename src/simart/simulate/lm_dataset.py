"""Dataset ``lm``: widefield / confocal fluorescence images, PSF + Poisson noise (the PI-DDPM paper).

Clean sources: a catalog of its own (:func:`lm_catalog`, the same builder and split-by-source
rule as SIMART's), by default procedural ``filaments`` and ``blobs`` (fluorescent fibres,
cells, vesicles: the BioSR-like part) alternating with scikit-image's bundled samples (the
ImageNet-like part of the paper's training data), or the user's own folder
(``lm.user_dir``: TIFF/PNG/MRC/DM3/DM4, see :mod:`simart.data.readers`).

Image ``j`` of a (mode, split) uses source ``j mod n_split_sources`` and the PSF / noise
parameters of ``SeedSequence([seed, tag, 0, split, j])`` (:data:`LM_PARAM_SPECS`; the same
draw for both modes, so widefield and confocal image j are a matched pair), and its
noise seed from the (mode, split, j) stream. Forward model: :func:`simart.physics.lm.forward_lm`
then :func:`simart.physics.lm.add_poisson_background`.

Layout: ``results/lm/shards/{mode}/{split}/{shard}.h5`` with mode ``widefield`` or ``confocal``.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
import torch

from simart.data.shards import write_shard
from simart.physics.lm import (
    add_poisson_background,
    forward_lm,
    pinhole_radius_nm,
)
from simart.progress import ProgressReporter
from simart.simulate.dataset_common import (
    compression_arg,
    dataset_tag,
    image_rng,
    noise_seed,
    sample_specs,
    shard_bounds,
)
from simart.simulate.sources import build_catalog, render_source
from simart.specs.lm import LM_LOG_UNIFORM, LM_MODES, LM_PARAM_SPECS, effective_specs

__all__ = ["build_lm_shard", "effective_specs", "lm_catalog", "lm_catalog_seed", "lm_image_params"]

_DATASET = "lm"
MODE_ID = {m: i + 1 for i, m in enumerate(LM_MODES)}
LOG = logging.getLogger(__name__)


def lm_catalog_seed(seed: int) -> int:
    """The seed of the lm source catalog (a stream apart from SIMART's catalog)."""
    ss = np.random.SeedSequence([int(seed), dataset_tag(_DATASET)])
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def lm_catalog(cfg) -> pd.DataFrame:
    """Clean-source catalog of the lm dataset (one row per source, with its split)."""
    lcfg = cfg.lm
    return build_catalog(lcfg.n_sources, lm_catalog_seed(cfg.seed),
                         procedural_kinds=lcfg.procedural_kinds, use_skimage=lcfg.use_skimage,
                         user_dir=lcfg.user_dir, split_fractions=tuple(lcfg.split_fractions))


def lm_image_params(cfg, split: str, j: int) -> dict:
    """PSF and noise parameters of image ``j`` of ``split`` (shared by both modes)."""
    rng = image_rng(cfg.seed, _DATASET, 0, split, j)
    p = sample_specs(effective_specs(cfg.lm), rng, log_uniform=LM_LOG_UNIFORM)
    p["pinhole_radius_nm"] = pinhole_radius_nm(p["pinhole_um"], p["magnification"])
    return p


def build_lm_shard(cfg, catalog: pd.DataFrame, mode: str, split: str, shard: int,
                   out_path: str | os.PathLike, *, batch_size: int = 8) -> pd.DataFrame:
    """Simulate one shard of ``mode`` and write it (HDF5 + Parquet) atomically.

    Progress of its two passes (rendering the sources, then PSF + noise) is logged every
    ``SIMART_PROGRESS_SECONDS`` (:mod:`simart.progress`)."""
    if mode not in MODE_ID:
        raise ValueError(f"lm mode {mode!r}; allowed: {list(LM_MODES)}")
    lcfg = cfg.lm
    n = getattr(lcfg.images_per_mode, split)
    start, stop = shard_bounds(n, lcfg.shard_size, shard, f"lm {mode}/{split}")
    srcs = catalog[catalog["split"] == split].sort_values("source_id").reset_index(drop=True)
    if srcs.empty:
        raise ValueError(f"lm split {split!r} has no sources; raise lm.n_sources")
    size = lcfg.image_size or cfg.image_size
    clean = np.empty((stop - start, size, size), np.float32)
    degraded = np.empty_like(clean)
    rows = []
    what = f"simulate lm {mode}/{split} shard {shard}"
    rendering = ProgressReporter(stop - start, "images", f"{what}: sources", logger=LOG)
    for k, j in enumerate(range(start, stop)):
        src = srcs.iloc[j % len(srcs)]
        clean[k] = render_source(src.to_dict(), size)
        p = lm_image_params(cfg, split, j)
        p["noise_seed"] = noise_seed(image_rng(cfg.seed, _DATASET, MODE_ID[mode], split, j))
        rows.append({"image_index": j, "dataset": _DATASET, "mode": mode,
                     "confocal": int(mode == "confocal"), "split": split, "shard": shard,
                     "source_id": int(src["source_id"]), "source_origin": str(src["origin"]),
                     "source_name": str(src["name"]), "variant": j // len(srcs),
                     "seed": cfg.seed, **p})
        rendering.update(1)
    rendering.close()
    imaging = ProgressReporter(len(rows), "images", f"{what}: PSF + noise", logger=LOG)
    for b0 in range(0, len(rows), batch_size):
        batch = rows[b0:b0 + batch_size]
        x = torch.from_numpy(clean[b0:b0 + len(batch)])[:, None]
        params = {key: torch.tensor([r[key] for r in batch], dtype=torch.float64)
                  for key in (*LM_PARAM_SPECS, "confocal")}
        with torch.no_grad():
            y = forward_lm(x, params)
            gens = [torch.Generator(device="cpu").manual_seed(int(r["noise_seed"])) for r in batch]
            y = add_poisson_background(y, params["photons"], params["background"], gens)
        degraded[b0:b0 + len(batch)] = y[:, 0].numpy()
        imaging.update(len(batch))
    imaging.close()
    table = pd.DataFrame(rows)
    attrs = {"dataset": _DATASET, "modality": mode, "split": split, "shard": shard,
             "seed": cfg.seed, "value_range": "clean in [0, 1]; degraded = "
             "Poisson(photons (h * clean + background)) / photons (background included)"}
    write_shard(out_path, clean, degraded, table, attrs, dtype=lcfg.dtype,
                compression=compression_arg(lcfg.compression))
    return table
