"""STEM (HAADF) lattice images from CIF files + CDN noise: dataset ``stem_lattice`` (the PINNED paper).

Clean image (incoherent Z-contrast imaging, lengths in nm):

1. The crystal (:mod:`simart.simulate.crystals`) is projected along a zone axis drawn from
   the material's list; each atom column carries ``n_rep * sum occ Z^n`` per repeat
   (``z_exponent`` n = 1.7 by default, ``n_rep = round(thickness_nm / repeat)`` >= 1;
   single-layer materials such as graphene always have one layer).
2. Point defects per atom of each column: a vacancy (probability ``vacancy_prob``) removes
   the column's mean per-atom weight; a substitution (``substitution_prob``) replaces it by
   ``dopant_z^n`` (one dopant element per image, Z uniform in 11..83).
3. The 2D lattice is rotated by ``rotation_deg`` and shifted by a random fraction of the cell,
   columns are splatted (bilinear, flux-preserving) onto a canvas with a margin, and the
   canvas is convolved with the STEM probe: the foundation's probe transfer function
   (:func:`simart.physics.stem.stem_transfer`: coherent probe of semi-angle
   ``aperture_mrad`` with ``defocus_nm``, ``cs_mm`` at ``voltage_kv``, times the Gaussian
   source of std ``probe_sigma_nm``), or, with ``probe = "gaussian"``, by a Gaussian of std
   ``gaussian_sigma_nm`` as the paper does.
4. The image is divided by its maximum (intensity ratios between columns are kept; the
   vacuum level stays 0) and clipped to [0, 1].

Degraded image: CDN level L (:mod:`simart.simulate.cdn`) applied to ``255 * clean``, stored
divided by 255 (so it is in [0, 1] too).

Dataset layout: ``results/stem_lattice/shards/L{level}/{split}/{shard}.h5``. Image ``j`` of a
split is material ``materials[split][j mod n]``; its structure (zone axis, rotation,
defects, probe) comes from ``SeedSequence([seed, tag, 0, split, j])`` and is the SAME at
every level (the metric-vs-noise-level curves of the paper are then paired), while the
noise seed depends on the level. One job renders a (split, shard) once and writes it at
every configured level (:func:`build_stem_lattice_shards`).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.fft as sfft
import torch

from simart.data.shards import write_shard
from simart.physics.stem import stem_transfer
from simart.progress import ProgressReporter
from simart.simulate.cdn import apply_cdn, cdn_params
from simart.simulate.crystals import Crystal, ProjectedCell, project
from simart.simulate.dataset_common import (
    compression_arg,
    image_rng,
    noise_seed,
    sample_specs,
    shard_bounds,
)
from simart.simulate.materials import (
    MARGIN_NM,
    MAX_COLUMNS_PER_IMAGE,
    SHIPPED_CIF_DIR,
    check_image_budget,
    columns_per_image,
    resolve_materials,
    zone_axes_for,
)
from simart.specs.stem_lattice import MATERIAL_INFO, effective_specs

__all__ = [
    "MAX_COLUMNS_PER_IMAGE",
    "SHIPPED_CIF_DIR",
    "build_stem_lattice_shard",
    "build_stem_lattice_shards",
    "check_image_budget",
    "column_image",
    "columns_per_image",
    "lattice_image_params",
    "render_lattice",
    "resolve_materials",
]

_DATASET = "stem_lattice"
LOG = logging.getLogger(__name__)


# --------------------------------------------------------------------------- rendering


def _enumerate_columns(cell: ProjectedCell, rot: np.ndarray, origin: np.ndarray,
                       extent_nm: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions (nm, image frame) and column indices of all columns inside
    [-m, extent + m]^2 for the rotated, shifted lattice."""
    basis = cell.basis @ rot.T  # rotated a1, a2 (rows)
    inv = np.linalg.inv(basis)
    corners = np.array([[0, 0], [extent_nm, 0], [0, extent_nm], [extent_nm, extent_nm]])
    fr = (corners - origin) @ inv
    lo = np.floor(fr.min(0)) - 1
    hi = np.ceil(fr.max(0)) + 1
    ii, jj = np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1), indexing="ij")
    cells = np.stack([ii.ravel(), jj.ravel()], 1)
    frac = (cells[:, None, :] + cell.col_frac[None, :, :]).reshape(-1, 2)
    kidx = np.tile(np.arange(cell.n_columns), len(cells))
    xy = origin + frac @ basis
    ok = np.all((xy > -MARGIN_NM) & (xy < extent_nm + MARGIN_NM), axis=1)
    return xy[ok], kidx[ok]


def column_image(xy_nm: np.ndarray, weights: np.ndarray, size: int, pixel_size_nm: float,
                 transfer) -> np.ndarray:
    """Render point columns (x, y in nm; pixel (i, j) centre at (j, i) * px) blurred by a
    radial transfer function ``transfer(shape) -> rfft half-grid array`` (float64 (size, size))."""
    px = float(pixel_size_nm)
    m = math.ceil(MARGIN_NM / px) + 1
    n = sfft.next_fast_len(size + 2 * m, real=True)
    x = xy_nm[:, 0] / px + m
    y = xy_nm[:, 1] / px + m
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    fx, fy = x - x0, y - y0
    canvas = np.zeros(n * n)
    for dy, dx, wgt in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                        (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        yy, xx = y0 + dy, x0 + dx
        ok = (yy >= 0) & (yy < n) & (xx >= 0) & (xx < n)
        canvas += np.bincount(yy[ok] * n + xx[ok], weights=(weights * wgt)[ok], minlength=n * n)
    spec = sfft.rfft2(canvas.reshape(n, n), workers=1)
    img = sfft.irfft2(spec * transfer((n, n)), s=(n, n), workers=1)
    return img[m:m + size, m:m + size]


def _transfer_fn(params: Mapping[str, float], probe: str):
    px = float(params["pixel_size_nm"])
    if probe == "gaussian":
        c = -2.0 * (math.pi * float(params["gaussian_sigma_nm"])) ** 2

        def fn(shape):
            ky = sfft.fftfreq(shape[0])[:, None] / px
            kx = sfft.rfftfreq(shape[1])[None, :] / px
            return np.exp(c * (ky * ky + kx * kx))

        return fn
    if probe != "stem":
        raise ValueError(f"probe = {probe!r}; allowed: 'stem', 'gaussian'")
    p = {k: float(params[k]) for k in ("pixel_size_nm", "aperture_mrad", "voltage_kv",
                                        "defocus_nm", "cs_mm", "probe_sigma_nm")}
    return lambda shape: stem_transfer(p, shape, half=True)


def render_lattice(
    cell: ProjectedCell,
    size: int,
    params: Mapping[str, float],
    rng: np.random.Generator | None = None,
    *,
    probe: str = "stem",
    single_layer: bool = False,
) -> tuple[np.ndarray, dict[str, float]]:
    """Unnormalised HAADF image (float64, (size, size)) of a projected cell.

    ``params``: ``pixel_size_nm``, ``rotation_deg``, ``thickness_nm``, ``z_exponent``,
    ``vacancy_prob``, ``substitution_prob``, ``offset_a1``/``offset_a2`` (cell fractions),
    ``dopant_z`` and the probe parameters. ``rng`` draws the defects (None: no defects).
    Returns the image and per-image facts (columns, vacancies, substitutions, n_rep).
    """
    px = float(params["pixel_size_nm"])
    th = math.radians(float(params.get("rotation_deg", 0.0)))
    rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    shift = np.array([params.get("offset_a1", 0.0), params.get("offset_a2", 0.0)]) @ cell.basis
    fov = size * px + 2 * MARGIN_NM
    n_est = fov * fov / max(abs(float(np.linalg.det(cell.basis))), 1e-300) * cell.n_columns
    if n_est > MAX_COLUMNS_PER_IMAGE:  # the last guard; resolve_materials refuses earlier
        raise ValueError(f"material {cell.material!r} zone axis {list(cell.zone_axis)}: one "
                         f"{size} px image at {px:g} nm/px would hold ~{n_est:.3g} atom "
                         f"columns, more than {MAX_COLUMNS_PER_IMAGE:.0e} (memory)")
    xy, kidx = _enumerate_columns(cell, rot, shift @ rot.T, size * px)
    n_exp = float(params.get("z_exponent", 1.7))
    n_rep = 1 if single_layer else max(1, round(float(params.get("thickness_nm", 1.0))
                                                / cell.repeat_nm))
    w_rep = cell.column_weights(n_exp)[kidx]
    atoms = np.maximum(np.rint(cell.column_atoms()[kidx] * n_rep), 1).astype(np.int64)
    w = n_rep * w_rep
    n_vac = n_sub = np.zeros(len(w), np.int64)
    if rng is not None:
        pv = float(params.get("vacancy_prob", 0.0))
        ps = float(params.get("substitution_prob", 0.0))
        n_vac = rng.binomial(atoms, pv) if pv > 0 else n_vac
        n_sub = rng.binomial(atoms - n_vac, ps) if ps > 0 else n_sub
        per_atom = w / atoms
        zd = float(params.get("dopant_z", 0.0)) ** n_exp
        w = w - n_vac * per_atom + n_sub * (zd - per_atom)
    img = column_image(xy, w, size, px, _transfer_fn(params, probe))
    facts = {"n_columns": int(np.sum(np.all((xy >= 0) & (xy < size * px), axis=1))),
             "n_vacancies": int(np.sum(n_vac)), "n_substitutions": int(np.sum(n_sub)),
             "n_layers": int(n_rep)}
    return img, facts


# --------------------------------------------------------------------------- dataset


def lattice_image_params(cfg, split: str, j: int, materials: Sequence[str]) -> dict:
    """Structure and probe parameters of image ``j`` of ``split`` (level-independent)."""
    scfg = cfg.stem_lattice
    rng = image_rng(cfg.seed, _DATASET, 0, split, j)
    name = materials[j % len(materials)]
    axes = zone_axes_for(name, scfg)
    p: dict = {"material": name}
    p.update(sample_specs(effective_specs(scfg), rng))
    ax = axes[int(rng.integers(len(axes)))]
    p["zone_axis"] = "[" + " ".join(str(int(v)) for v in ax) + "]"
    p["offset_a1"], p["offset_a2"] = float(rng.uniform()), float(rng.uniform())
    p["dopant_z"] = int(rng.integers(11, 84))
    p["defect_seed"] = noise_seed(rng)
    p["probe"] = scfg.probe
    return p


_PROJ_CACHE: dict[tuple[str, str, str], ProjectedCell] = {}


def projected_cell(crystal: Crystal, zone_axis: str) -> ProjectedCell:
    """Projection of ``crystal`` along ``zone_axis`` ('[u v w]'), cached per file and axis."""
    key = (crystal.path, crystal.name, zone_axis)
    if key not in _PROJ_CACHE:
        _PROJ_CACHE[key] = project(crystal, [int(v) for v in zone_axis.strip("[]").split()])
    return _PROJ_CACHE[key]


def render_clean(p: Mapping, crystals: Mapping[str, Crystal], size: int) -> tuple[np.ndarray, dict]:
    """Clean image (float32 in [0, 1]) of one parameter row."""
    crystal = crystals[p["material"]]
    cell = projected_cell(crystal, str(p["zone_axis"]))
    single = bool(MATERIAL_INFO.get(crystal.name, {}).get("single_layer", False)) \
        and Path(crystal.path).parent == SHIPPED_CIF_DIR
    img, facts = render_lattice(cell, size, p, np.random.default_rng(int(p["defect_seed"])),
                                probe=str(p["probe"]), single_layer=single)
    peak = float(img.max())
    if not peak > 0:
        raise ValueError(f"material {p['material']!r} zone axis {p['zone_axis']}: empty image")
    facts["intensity_max"] = peak
    facts["repeat_nm"] = cell.repeat_nm
    return np.clip(img / peak, 0.0, 1.0).astype(np.float32), facts


def build_stem_lattice_shards(
    cfg, split: str, shard: int, out_paths: Mapping[int, str | os.PathLike],
    crystals: Mapping[str, Crystal] | None = None,
    split_materials: Mapping[str, list[str]] | None = None,
) -> dict[int, pd.DataFrame]:
    """Simulate one shard of ``split`` at every CDN level of ``out_paths`` ({level: .h5}).

    The clean images are rendered once and shared by the levels (they are the same by
    construction); each level's shard is written (HDF5 + Parquet) atomically. Returns the
    parameter table of each level. Progress (rendering, then noise) is logged every
    ``SIMART_PROGRESS_SECONDS`` (:mod:`simart.progress`).
    """
    scfg = cfg.stem_lattice
    levels = {int(lv): cdn_params(int(lv)) for lv in out_paths}
    size = scfg.image_size or cfg.image_size
    if crystals is None or split_materials is None:
        crystals, split_materials = resolve_materials(scfg, size)
    n = getattr(scfg.images_per_level, split)
    start, stop = shard_bounds(n, scfg.shard_size, shard, f"stem_lattice {split}")
    clean = np.empty((stop - start, size, size), np.float32)
    rows = []
    what = f"simulate stem_lattice {split} shard {shard}"
    rendering = ProgressReporter(stop - start, "images", f"{what}: lattices", logger=LOG)
    for k, j in enumerate(range(start, stop)):
        p = lattice_image_params(cfg, split, j, split_materials[split])
        clean[k], facts = render_clean(p, crystals, size)
        rows.append({"image_index": j, "dataset": _DATASET, "split": split, "shard": shard,
                     "seed": cfg.seed, **p, **facts,
                     "formula": crystals[p["material"]].formula})
        rendering.update(1)
    rendering.close()
    tables = {}
    noising = ProgressReporter(len(rows) * len(levels), "images", f"{what}: CDN noise at "
                               f"levels {', '.join(f'L{lv}' for lv in levels)}", logger=LOG)
    for level, cdn in levels.items():
        degraded = np.empty_like(clean)
        lrows = []
        for k, j in enumerate(range(start, stop)):
            nseed = noise_seed(image_rng(cfg.seed, _DATASET, level, split, j))
            gen = torch.Generator(device="cpu").manual_seed(nseed)
            degraded[k] = apply_cdn(255.0 * clean[k].astype(np.float64), cdn, gen) / 255.0
            lrows.append({**rows[k], "level": level,
                          "cdn_gaussian_sigma": cdn.gaussian_sigma,
                          "cdn_static_fraction": cdn.static_fraction,
                          "cdn_speckle_variance": cdn.speckle_variance, "noise_seed": nseed})
            noising.update(1)
        table = pd.DataFrame(lrows)
        attrs = {"dataset": _DATASET, "modality": f"L{level}", "level": level, "split": split,
                 "shard": shard, "seed": cfg.seed,
                 "value_range": "clean in [0, 1] (HAADF / max); degraded = CDN(255 clean) / 255"}
        write_shard(out_paths[level], clean, degraded, table, attrs, dtype=scfg.dtype,
                    compression=compression_arg(scfg.compression))
        tables[level] = table
    noising.close()
    return tables


def build_stem_lattice_shard(
    cfg, level: int, split: str, shard: int, out_path: str | os.PathLike,
    crystals: Mapping[str, Crystal] | None = None,
    split_materials: Mapping[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Simulate one shard of CDN ``level`` and write it (HDF5 + Parquet) atomically."""
    return build_stem_lattice_shards(cfg, split, shard, {level: out_path}, crystals,
                                     split_materials)[int(level)]
