"""Dataset ``stm_cu111``: Cu(111) LDOS maps (clean), simulated-blurry and experimental-like
domains for unpaired training and domain adaptation (the PDA-Net paper; docs/dataset.md).

Clean maps: :func:`simart.simulate.ldos.ldos_map` (full multiple scattering) for a layout
of point scatterers drawn per image: random adsorbates, a quantum corral (atoms on a
circle) or lines of atoms, with a few random adsorbates added to the ordered layouts. The
map rho/rho0 is scaled to [0, 1] between its 0.2 and 99.8 percentiles (the logarithmic
spikes at the scatterers would otherwise set the range); ``ldos_lo``/``ldos_hi`` record the
window, so ``rho/rho0 = lo + clean * (hi - lo)`` where unclipped.

Domains (each its own index space: a layout appears in one domain only, so the three sets
are unpaired; every image still stores its own clean map):

* ``clean`` (I_S): the clean map (``degraded`` is the same array).
* ``blurry`` (I_BS, "simulated blurry"): Gaussian tip blur, 1/f (pink) noise along the
  scan time, white noise, per-line offsets, streaks (tip pick-up glitches along a line),
  linear drift (x shear, y stretch).
* ``experimental`` (I_E, the stand-in for the paper's 50 + 11 lab images at 10 mV / 1 nA /
  4.2 K, which are not available): other noise families and strengths -- the layout also
  contains monatomic step edges (dense lines of partially absorbing scatterers, so the
  clean map has the standing waves of the steps) and the degradation adds terrace
  offsets, a blunter tip with a tip change at a random scan line, sometimes a double tip
  (ghost image), shot (Poisson) noise, random telegraph noise, periodic interference
  stripes, random-walk line offsets (1/f^2), piezo creep (exponential x drift) and a
  background plane tilt.

Real lab files, where available, can replace the stand-in as test sources
(:mod:`simart.data.readers`). Layout: ``results/stm_cu111/shards/{domain}/{split}/{shard}.h5``.
Random numbers: layouts and parameters from ``SeedSequence([seed, tag, domain, split, j])``
(NumPy); degradation noise from a ``torch.Generator`` seeded by the recorded ``noise_seed``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch
from scipy import ndimage as ndi

from simart.data.shards import write_shard
from simart.physics.noise import colored_noise
from simart.progress import ProgressReporter
from simart.simulate.dataset_common import (
    compression_arg,
    image_rng,
    noise_seed,
    sample_specs,
    shard_bounds,
)
from simart.simulate.ldos import corral, ldos_map, line_of_scatterers
from simart.specs.stm_cu111 import DOMAIN_ID, DOMAINS, INTEGER_PARAMS, effective_specs

__all__ = [
    "build_stm_shard", "degrade_blurry", "degrade_experimental", "sample_layout", "stm_image_params",
]

_DATASET = "stm_cu111"
LOG = logging.getLogger(__name__)
_MAX_SCATTERERS = 600


# --------------------------------------------------------------------------- layouts


def sample_layout(rng: np.random.Generator, fov_nm: float, p: Mapping[str, float],
                  with_steps: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Scatterer positions (N, 2) nm, phase shifts, absorptions and layout facts.

    Scatterers are placed over the field plus 10 % on each side (waves from outside
    scatterers enter the field).
    """
    lo, hi = -0.1 * fov_nm, 1.1 * fov_nm
    n_rand = int(p["n_scatterers"])
    u = rng.uniform()
    kind = "corral" if u < p["p_corral"] else ("line" if u < p["p_corral"] + p["p_line"]
                                                else "random")
    parts = []
    facts: dict = {"layout": kind, "corral_radius_nm": 0.0, "corral_atoms": 0, "n_lines": 0,
                   "n_steps": 0}
    if kind == "corral":
        radius = float(rng.uniform(0.2, 0.45)) * fov_nm
        n_c = max(6, round(2 * math.pi * radius / p["corral_spacing_nm"]))
        centre = rng.uniform(0.35, 0.65, 2) * fov_nm
        parts.append(corral(centre, radius, n_c, float(rng.uniform(0, 2 * math.pi))))
        facts.update(corral_radius_nm=radius, corral_atoms=n_c)
        n_rand = max(1, n_rand // 5)
    elif kind == "line":
        n_lines = int(rng.integers(1, 3))
        for _ in range(n_lines):
            ang = float(rng.uniform(0, math.pi))
            through = rng.uniform(0.2, 0.8, 2) * fov_nm
            length = 1.2 * fov_nm * math.sqrt(2)
            start = through - 0.5 * length * np.array([math.cos(ang), math.sin(ang)])
            parts.append(_clip(line_of_scatterers(start, ang, p["line_spacing_nm"],
                                                  round(length / p["line_spacing_nm"])), lo, hi))
        facts["n_lines"] = n_lines
        n_rand = max(1, n_rand // 5)
    parts.append(rng.uniform(lo, hi, (n_rand, 2)))
    n_main = sum(len(q) for q in parts)
    delta = np.full(n_main, p["phase_shift_rad"])
    absorb = np.full(n_main, p["absorption"])
    steps = []
    if with_steps:
        n_steps = min(int(rng.poisson(p["step_rate"])), 3)
        for _ in range(n_steps):
            ang = float(rng.uniform(0, math.pi))
            through = rng.uniform(0.1, 0.9, 2) * fov_nm
            length = 1.2 * fov_nm * math.sqrt(2)
            start = through - 0.5 * length * np.array([math.cos(ang), math.sin(ang)])
            pts = _clip(line_of_scatterers(start, ang, p["step_spacing_nm"],
                                           round(length / p["step_spacing_nm"])), lo, hi)
            steps.append((through, ang, pts))
        facts["n_steps"] = n_steps
    step_pts = [s[2] for s in steps]
    pos = np.concatenate(parts + step_pts) if step_pts else np.concatenate(parts)
    n_step = len(pos) - n_main
    step_abs = float(rng.uniform(*_rng_pair(p["step_absorption"]))) if n_step else 0.0
    delta = np.concatenate([delta, np.full(n_step, p["phase_shift_rad"])])
    absorb = np.concatenate([absorb, np.full(n_step, step_abs)])
    if len(pos) > _MAX_SCATTERERS:
        keep = np.linspace(0, len(pos) - 1, _MAX_SCATTERERS).round().astype(int)
        pos, delta, absorb = pos[keep], delta[keep], absorb[keep]
    facts["n_total_scatterers"] = len(pos)
    facts["step_absorption"] = step_abs
    facts["_steps"] = [(s[0], s[1]) for s in steps]
    return pos, delta, absorb, facts


def _rng_pair(spec) -> tuple[float, float]:
    return (float(spec[0]), float(spec[1])) if isinstance(spec, list | tuple) else \
        (float(spec), float(spec))


def _clip(pts: np.ndarray, lo: float, hi: float) -> np.ndarray:
    ok = np.all((pts >= lo) & (pts <= hi), axis=1)
    return pts[ok]


# --------------------------------------------------------------------------- degradations


def _randn(gen: torch.Generator, *shape: int) -> np.ndarray:
    return torch.randn(shape, generator=gen, dtype=torch.float64).numpy()


def _rand(gen: torch.Generator, *shape: int) -> np.ndarray:
    return torch.rand(shape, generator=gen, dtype=torch.float64).numpy()


def _colored(gen: torch.Generator, n: int, exponent: float) -> np.ndarray:
    """Unit-std noise of length n with power spectrum ~ 1/f^exponent (float64)."""
    return colored_noise(gen, (n,), exponent).numpy()


def _shift_rows(img: np.ndarray, dx: np.ndarray, y_scale: float = 0.0) -> np.ndarray:
    """Sample row i at x + dx[i] (and y * (1 + y_scale) about the centre), linear, clamped."""
    h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    ys = (yy - (h - 1) / 2) * (1 + y_scale) + (h - 1) / 2
    return ndi.map_coordinates(img, [ys, xx + dx[:, None]], order=1, mode="nearest")


def degrade_blurry(clean: np.ndarray, p: Mapping[str, float], px_nm: float,
                   gen: torch.Generator) -> tuple[np.ndarray, dict]:
    """The "simulated blurry" degradation of one clean map (float64 (H, W)) and the events
    it drew (number of streaks)."""
    h, w = clean.shape
    y = ndi.gaussian_filter(clean, p["tip_sigma_nm"] / px_nm, mode="reflect")
    lines = np.arange(h) - (h - 1) / 2
    y = _shift_rows(y, p["drift_x_px"] * lines / 100.0, p["drift_y"])
    y = y + p["pink_sigma"] * _colored(gen, h * w, 1.0).reshape(h, w)
    y = y + p["white_sigma"] * _randn(gen, h, w)
    y = y + p["line_offset_sigma"] * _randn(gen, h)[:, None]
    n_streaks = int(torch.poisson(torch.tensor([p["streak_rate"]]), generator=gen)[0])
    for _ in range(n_streaks):
        r = _rand(gen, 4)
        row, c0 = int(r[0] * h), int(r[1] * w)
        length = max(2, int((0.1 + 0.9 * r[2]) * w))
        amp = p["streak_amplitude"] * (1 if r[3] > 0.5 else -1)
        seg = np.arange(c0, min(w, c0 + length))
        y[row, seg] += amp * np.exp(-(seg - c0) / max(1.0, length / 3))
    return y, {"n_streaks": n_streaks}


def degrade_experimental(clean: np.ndarray, p: Mapping[str, float], px_nm: float,
                         gen: torch.Generator, steps=()) -> tuple[np.ndarray, dict]:
    """The "experimental-like" degradation of one clean map (float64 (H, W)) and the events
    it drew (tip-change line or -1, double tip 0/1)."""
    h, w = clean.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r = _rand(gen, 8)
    x = clean.copy()
    # terraces: each step edge adds an offset on one side (smoothed over the tip size)
    for (cx, cy), ang in steps:
        side = ((xx * px_nm - cx) * -math.sin(ang) + (yy * px_nm - cy) * math.cos(ang))
        x = x + p["terrace_offset"] * (side > 0)
    sig = p["tip_sigma_nm"] / px_nm
    y = ndi.gaussian_filter(x, sig, mode="reflect")
    events = {"tip_change_line": -1, "double_tip": int(r[2] < p["double_tip_prob"])}
    if r[0] < p["tip_change_prob"]:
        row = int(h * (0.2 + 0.6 * r[1]))
        events["tip_change_line"] = row
        y2 = ndi.gaussian_filter(x, sig * p["tip_change_factor"], mode="reflect")
        y[row:] = p["tip_change_gain"] * y2[row:]
    if r[2] < p["double_tip_prob"]:
        ang = 2 * math.pi * r[3]
        off = p["ghost_offset_nm"] / px_nm * np.array([math.sin(ang), math.cos(ang)])
        ghost = ndi.shift(y, off, order=1, mode="nearest")
        y = (y + p["ghost_weight"] * ghost) / (1 + p["ghost_weight"])
    creep = p["creep_px"] * np.exp(-np.arange(h) / (h * (0.05 + 0.25 * r[4])))
    y = _shift_rows(y, creep)
    y = y + p["plane_tilt"] * ((xx / w - 0.5) * math.cos(2 * math.pi * r[5])
                               + (yy / h - 0.5) * math.sin(2 * math.pi * r[5]))
    rate = np.clip(y, 0, None) * p["shot_counts"]
    y = torch.poisson(torch.from_numpy(rate), generator=gen).numpy() / p["shot_counts"]
    # random telegraph noise along the scan (two-state Markov chain)
    flips = _rand(gen, h * w) < p["telegraph_rate"]
    state = (np.cumsum(flips) % 2).reshape(h, w)
    y = y + p["telegraph_amplitude"] * state
    t = np.arange(h * w, dtype=np.float64).reshape(h, w)
    y = y + p["interference_amplitude"] * np.sin(2 * math.pi * t / p["interference_period_px"]
                                                 + 2 * math.pi * r[6])
    y = y + p["walk_sigma"] * np.cumsum(_randn(gen, h))[:, None]
    return y, events


# --------------------------------------------------------------------------- dataset


def stm_image_params(cfg, domain: str, split: str, j: int) -> tuple[dict, np.ndarray, dict]:
    """Parameters, scatterer layout arrays and layout facts of image ``j``."""
    scfg = cfg.stm_cu111
    rng = image_rng(cfg.seed, _DATASET, DOMAIN_ID[domain], split, j)
    p = sample_specs(effective_specs(scfg, "ldos"), rng, integers=INTEGER_PARAMS)
    size = scfg.image_size or cfg.image_size
    pos, delta, absorb, facts = sample_layout(rng, size * p["pixel_size_nm"], p,
                                              with_steps=domain == "experimental")
    if domain in ("blurry", "experimental"):
        p.update({f"{domain[:3]}_{k}": v for k, v in
                  sample_specs(effective_specs(scfg, domain), rng).items()})
    p["noise_seed"] = noise_seed(rng)
    return p, np.column_stack([pos, delta, absorb]), facts


def _group(p: Mapping, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}


def render_stm(cfg, domain: str, split: str, j: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Clean map, degraded map (float32) and the parameter row of image ``j``."""
    size = cfg.stm_cu111.image_size or cfg.image_size
    p, layout, facts = stm_image_params(cfg, domain, split, j)
    rho = ldos_map((size, size), p["pixel_size_nm"], layout[:, :2], p["bias_ev"],
                   phase_shift=layout[:, 2], absorption=layout[:, 3], eta_ev=p["eta_ev"])[0]
    lo, hi = np.percentile(rho, [0.2, 99.8])
    clean = np.clip((rho - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    gen = torch.Generator(device="cpu").manual_seed(int(p["noise_seed"]))
    events = {"n_streaks": 0, "tip_change_line": -1, "double_tip": 0}
    if domain == "clean":
        deg = clean
    elif domain == "blurry":
        deg, ev = degrade_blurry(clean, _group(p, "blu_"), p["pixel_size_nm"], gen)
        events.update(ev)
    else:
        deg, ev = degrade_experimental(clean, _group(p, "exp_"), p["pixel_size_nm"], gen,
                                       facts["_steps"])
        events.update(ev)
    row = {**p, **{k: v for k, v in facts.items() if not k.startswith("_")}, **events,
           "ldos_lo": float(lo), "ldos_hi": float(hi), "ldos_min": float(rho.min()),
           "ldos_max": float(rho.max())}
    return clean.astype(np.float32), deg.astype(np.float32), row


def build_stm_shard(cfg, domain: str, split: str, shard: int,
                    out_path: str | os.PathLike) -> pd.DataFrame:
    """Simulate one shard of ``domain`` and write it (HDF5 + Parquet) atomically; progress
    is logged every ``SIMART_PROGRESS_SECONDS`` (:mod:`simart.progress`)."""
    if domain not in DOMAIN_ID:
        raise ValueError(f"stm_cu111 domain {domain!r}; allowed: {list(DOMAINS)}")
    scfg = cfg.stm_cu111
    n = getattr(scfg.images_per_domain, split)
    start, stop = shard_bounds(n, scfg.shard_size, shard, f"stm_cu111 {domain}/{split}")
    size = scfg.image_size or cfg.image_size
    clean = np.empty((stop - start, size, size), np.float32)
    degraded = np.empty_like(clean)
    rows = []
    progress = ProgressReporter(stop - start, "images",
                                f"simulate stm_cu111 {domain}/{split} shard {shard}", logger=LOG)
    for k, j in enumerate(range(start, stop)):
        clean[k], degraded[k], row = render_stm(cfg, domain, split, j)
        rows.append({"image_index": j, "dataset": _DATASET, "domain": domain, "split": split,
                     "shard": shard, "seed": cfg.seed, **row})
        progress.update(1)
    progress.close()
    table = pd.DataFrame(rows)
    attrs = {"dataset": _DATASET, "modality": domain, "split": split, "shard": shard,
             "seed": cfg.seed, "value_range": "clean = rho/rho0 scaled to [0, 1] between "
             "ldos_lo and ldos_hi; degraded in the same units (unclipped)"}
    write_shard(out_path, clean, degraded, table, attrs, dtype=scfg.dtype,
                compression=compression_arg(scfg.compression))
    return table
