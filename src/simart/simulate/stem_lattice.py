"""STEM (HAADF) lattice images from CIF files + CDN noise: dataset ``stem_lattice`` (seed 001).

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
   ``gaussian_sigma_nm`` as the seed does.
4. The image is divided by its maximum (intensity ratios between columns are kept; the
   vacuum level stays 0) and clipped to [0, 1].

Degraded image: CDN level L (:mod:`simart.simulate.cdn`) applied to ``255 * clean``, stored
divided by 255 (so it is in [0, 1] too).

Dataset layout: ``results/stem_lattice/shards/L{level}/{split}/{shard}.h5``. Image ``j`` of a
split is material ``materials[split][j mod n]``; its structure (zone axis, rotation,
defects, probe) comes from ``SeedSequence([seed, tag, 0, split, j])`` and is the SAME at
every level (the metric-vs-noise-level curves of the seed are then paired), while the
noise seed depends on the level. One job renders a (split, shard) once and writes it at
every configured level (:func:`build_stem_lattice_shards`).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.fft as sfft
import torch

from simart.data.shards import write_shard
from simart.physics.stem import stem_transfer
from simart.simulate.cdn import apply_cdn, cdn_params
from simart.simulate.crystals import CIFError, Crystal, ProjectedCell, load_crystals, project
from simart.simulate.dataset_common import (
    check_specs,
    compression_arg,
    image_rng,
    merge_specs,
    noise_seed,
    sample_specs,
    shard_bounds,
)

__all__ = [
    "DEFAULT_ZONE_AXES",
    "MATERIAL_INFO",
    "MAX_COLUMNS_PER_IMAGE",
    "SEED_SPLIT",
    "SHIPPED_CIF_DIR",
    "STEM_LATTICE_PARAM_SPECS",
    "build_stem_lattice_shard",
    "build_stem_lattice_shards",
    "check_image_budget",
    "column_image",
    "columns_per_image",
    "lattice_image_params",
    "render_lattice",
    "resolve_materials",
]

SHIPPED_CIF_DIR = Path(__file__).resolve().parent / "cif"

#: Seed 001's material split. Training: Si, GaN, AlGaN, InN, perovskite (SrTiO3),
#: graphene, ZrO2, NaCN; its "validation" set, never seen in training (BaTiO3, Al, ZnMgTe),
#: is our TEST split. Our VAL split (model selection) holds two further materials
#: (GaAs, MgO) so that no material is in two splits. SPEC §4 lists BaTiO3 among both the
#: training perovskites and the validation set; it is kept out of training here.
SEED_SPLIT: dict[str, list[str]] = {
    "train": ["Si", "GaN", "AlGaN", "InN", "SrTiO3", "graphene", "ZrO2", "NaCN"],
    "val": ["GaAs", "MgO"],
    "test": ["BaTiO3", "Al", "ZnMgTe"],
}

_CUBIC = [[0, 0, 1], [1, 1, 0], [1, 1, 1]]
_WURTZITE = [[1, 1, 0], [1, -1, 0], [0, 0, 1]]  # [11-20], [1-100], [0001]
#: Zone axes (direct-lattice [uvw] of the shipped CIF cell) and single-layer flags.
MATERIAL_INFO: dict[str, dict] = {
    "Si": {"zone_axes": [[1, 1, 0], [0, 0, 1], [1, 1, 1]]},
    "GaN": {"zone_axes": _WURTZITE},
    "AlGaN": {"zone_axes": _WURTZITE},
    "InN": {"zone_axes": _WURTZITE},
    "SrTiO3": {"zone_axes": _CUBIC},
    "BaTiO3": {"zone_axes": [[0, 0, 1], [1, 0, 0], [1, 1, 0]]},
    "graphene": {"zone_axes": [[0, 0, 1]], "single_layer": True},
    "ZrO2": {"zone_axes": _CUBIC},
    "NaCN": {"zone_axes": _CUBIC},
    "Al": {"zone_axes": _CUBIC},
    "ZnMgTe": {"zone_axes": [[1, 1, 0], [0, 0, 1], [1, 1, 1]]},
    "GaAs": {"zone_axes": [[1, 1, 0], [0, 0, 1], [1, 1, 1]]},
    "MgO": {"zone_axes": _CUBIC},
}
#: Zone axes of user CIFs not listed above (override with ``stem_lattice.zone_axes``).
DEFAULT_ZONE_AXES: list[list[int]] = [[0, 0, 1], [1, 0, 0], [1, 1, 0]]

#: Parameter distributions (number = fixed, [lo, hi] = uniform). Units in the names.
STEM_LATTICE_PARAM_SPECS: dict[str, float | list[float]] = {
    "pixel_size_nm": [0.015, 0.04],     # 512 px = 7.7-20 nm fields; Si dumbbells (0.136 nm) resolved
    "rotation_deg": [0.0, 360.0],       # in-plane rotation of the lattice
    "thickness_nm": [2.0, 20.0],        # specimen thickness (column length)
    "z_exponent": 1.7,                  # HAADF intensity ~ Z^n
    "vacancy_prob": [0.0, 0.02],        # per atom
    "substitution_prob": [0.0, 0.02],   # per atom
    "aperture_mrad": [20.0, 30.0],      # probe-forming semi-angle (aberration-corrected)
    "probe_sigma_nm": [0.02, 0.05],     # Gaussian effective source size (std)
    "defocus_nm": [-2.0, 2.0],
    "cs_mm": 0.0,                       # corrected
    "voltage_kv": 200.0,
    "gaussian_sigma_nm": [0.03, 0.08],  # the seed's Gaussian probe (probe = "gaussian")
}
#: Allowed values of every parameter (low, high, unit), checked at config validation
#: (:func:`effective_specs`, before any job) with a message naming key, value and range.
PARAM_BOUNDS: dict[str, tuple[float, float, str]] = {
    "pixel_size_nm": (1e-3, 1.0, "nm/px"),         # 1 nm/px no longer resolves any column
    "rotation_deg": (-360.0, 720.0, "deg"),
    "thickness_nm": (0.01, 1000.0, "nm"),          # >= one layer; 1 um: far beyond HAADF use
    "z_exponent": (0.5, 3.0, "(exponent of Z; 2 = Rutherford)"),
    "vacancy_prob": (0.0, 1.0, "probability per atom"),
    "substitution_prob": (0.0, 1.0, "probability per atom"),
    "aperture_mrad": (1.0, 200.0, "mrad"),          # > 0: no probe without an aperture
    "probe_sigma_nm": (0.0, 1.0, "nm"),             # std of the effective source
    "defocus_nm": (-1000.0, 1000.0, "nm"),
    "cs_mm": (0.0, 10.0, "mm"),
    "voltage_kv": (10.0, 3000.0, "kV"),
    "gaussian_sigma_nm": (1e-3, 5.0, "nm"),         # std; > 0
}
#: Memory bound of one rendered image: the renderer holds ~150 bytes per atom column of the
#: field of view (plus margin), so at most this many columns (~1.5 GB) per image. The
#: shipped CIFs need < 1e5 at 512 px x 0.04 nm (and < 1e7 even at 8192 px x 0.04 nm).
MAX_COLUMNS_PER_IMAGE = 10_000_000
_MARGIN_NM = 0.8  # canvas margin: columns outside the field still blur into it
_DATASET = "stem_lattice"


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
    ok = np.all((xy > -_MARGIN_NM) & (xy < extent_nm + _MARGIN_NM), axis=1)
    return xy[ok], kidx[ok]


def column_image(xy_nm: np.ndarray, weights: np.ndarray, size: int, pixel_size_nm: float,
                 transfer) -> np.ndarray:
    """Render point columns (x, y in nm; pixel (i, j) centre at (j, i) * px) blurred by a
    radial transfer function ``transfer(shape) -> rfft half-grid array`` (float64 (size, size))."""
    px = float(pixel_size_nm)
    m = math.ceil(_MARGIN_NM / px) + 1
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
    fov = size * px + 2 * _MARGIN_NM
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


def resolve_materials(scfg, image_size: int | None = None
                      ) -> tuple[dict[str, Crystal], dict[str, list[str]]]:
    """Read the configured CIF folder; return {name: Crystal} and the split -> materials.

    ``scfg`` is the ``stem_lattice`` config section. With ``materials`` unset, every CIF of
    the folder is assigned to a split (sorted names, dealt train/val/test by
    ``split_fractions``, >= 1 each). ``image_size`` (px; default ``scfg.image_size``, the
    global size must be passed when that is None) enables the memory check of
    :func:`check_image_budget`; without a size only the renderer's own guard applies.
    Raises :class:`CIFError` naming the folder/file (with ``on_bad_cif = skip``: warns
    and leaves the file out).
    """
    folder = Path(scfg.cif_dir).expanduser() if scfg.cif_dir else SHIPPED_CIF_DIR
    on_error = "skip" if scfg.on_bad_cif == "skip" else "raise"
    size = image_size or scfg.image_size
    if scfg.materials is not None:
        split = {s: list(getattr(scfg.materials, s)) for s in ("train", "val", "test")}
        names = sorted({n for v in split.values() for n in v})
        crystals = load_crystals(folder, on_error=on_error, names=names)
        if size:
            crystals = _within_budget(crystals, scfg, int(size), on_error)
        for s, names_s in list(split.items()):
            split[s] = [n for n in names_s if n in crystals]
            if not split[s]:
                raise CIFError(f"stem_lattice.materials.{s}: no readable CIF left in "
                               f"{str(folder)!r}")
        return crystals, split
    crystals = load_crystals(folder, on_error=on_error)
    if size:
        crystals = _within_budget(crystals, scfg, int(size), on_error)
    names = sorted(crystals)
    if len(names) < 3:
        raise CIFError(f"CIF folder {str(folder)!r} has {len(names)} readable CIF file(s); at "
                       "least 3 are needed to split materials into train/val/test "
                       "(or list them under stem_lattice.materials)")
    fr = np.asarray(scfg.split_fractions, float)
    counts = np.maximum(np.floor(fr * len(names)).astype(int), 1)
    counts[0] = len(names) - counts[1] - counts[2]
    order = np.random.default_rng(np.random.SeedSequence([0x43494653])).permutation(len(names))
    picked = [names[i] for i in order]
    return crystals, {"train": picked[:counts[0]], "val": picked[counts[0]:counts[0] + counts[1]],
                      "test": picked[counts[0] + counts[1]:]}


def _highest(spec) -> float:
    return float(max(spec)) if isinstance(spec, list | tuple) else float(spec)


def columns_per_image(crystal: Crystal, zone_axes: Sequence[Sequence[int]], size: int,
                      pixel_size_nm: float) -> tuple[float, float]:
    """Upper bound of the atom columns the renderer allocates for one ``size`` px image of
    ``crystal`` at ``pixel_size_nm`` (field + margin), over ``zone_axes``; and the longest
    repeat (nm) along them.

    Along [uvw] the projected cell has area V / |t| (t = u a + v b + w c, reduced) and at
    most one column per atom of the cell, so the field holds <= fov^2 * n_atoms * |t| / V
    columns. The thickness only multiplies each column's weight (layers), not the memory.
    """
    fov = size * float(pixel_size_nm) + 2 * _MARGIN_NM
    vol = abs(float(np.linalg.det(crystal.cell)))
    reps = []
    for ax in zone_axes:
        uvw = np.asarray(ax, dtype=np.int64)
        g = math.gcd(*(abs(int(v)) for v in uvw)) or 1
        reps.append(float(np.linalg.norm((uvw // g) @ crystal.cell)))
    rep = max(reps)
    return fov * fov * len(crystal.z) * rep / max(vol, 1e-300), rep


def check_image_budget(crystal: Crystal, scfg, size: int) -> None:
    """Raise :class:`CIFError` naming the file when one image of ``crystal`` would need more
    than :data:`MAX_COLUMNS_PER_IMAGE` atom columns (memory) at the configured image size,
    largest pixel size and zone axes."""
    px = _highest(effective_specs(scfg)["pixel_size_nm"])
    cols, rep = columns_per_image(crystal, zone_axes_for(crystal.name, scfg), size, px)
    if cols > MAX_COLUMNS_PER_IMAGE:
        vol_a3 = abs(float(np.linalg.det(crystal.cell))) * 1000.0
        raise CIFError(
            f"CIF file {crystal.path!r}: one {size} px image at up to {px:g} nm/px would hold "
            f"~{cols:.3g} atom columns ({len(crystal.z)} atoms in a {vol_a3:.4g} A^3 cell, "
            f"repeat up to {rep:.3g} nm along its zone axes), more than the "
            f"{MAX_COLUMNS_PER_IMAGE:.0e} one image may hold (memory); use a smaller "
            "image_size or stem_lattice.params.pixel_size_nm, or check the cell")


def _within_budget(crystals: Mapping[str, Crystal], scfg, size: int,
                   on_error: str) -> dict[str, Crystal]:
    out = {}
    for name, crystal in crystals.items():
        try:
            check_image_budget(crystal, scfg, size)
        except CIFError as exc:
            if on_error == "raise":
                raise
            warnings.warn(f"skipping {exc}", stacklevel=3)
            continue
        out[name] = crystal
    return out


def zone_axes_for(name: str, scfg) -> list[list[int]]:
    if scfg.zone_axes is not None:
        return [list(z) for z in scfg.zone_axes]
    return MATERIAL_INFO.get(name, {}).get("zone_axes", DEFAULT_ZONE_AXES)


def effective_specs(scfg) -> dict[str, float | list[float]]:
    specs = merge_specs(STEM_LATTICE_PARAM_SPECS, scfg.params, "stem_lattice.params")
    check_specs(specs, "stem_lattice.params", PARAM_BOUNDS)
    return specs


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
    parameter table of each level.
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
    for k, j in enumerate(range(start, stop)):
        p = lattice_image_params(cfg, split, j, split_materials[split])
        clean[k], facts = render_clean(p, crystals, size)
        rows.append({"image_index": j, "dataset": _DATASET, "split": split, "shard": shard,
                     "seed": cfg.seed, **p, **facts,
                     "formula": crystals[p["material"]].formula})
    tables = {}
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
        table = pd.DataFrame(lrows)
        attrs = {"dataset": _DATASET, "modality": f"L{level}", "level": level, "split": split,
                 "shard": shard, "seed": cfg.seed,
                 "value_range": "clean in [0, 1] (HAADF / max); degraded = CDN(255 clean) / 255"}
        write_shard(out_paths[level], clean, degraded, table, attrs, dtype=scfg.dtype,
                    compression=compression_arg(scfg.compression))
        tables[level] = table
    return tables


def build_stem_lattice_shard(
    cfg, level: int, split: str, shard: int, out_path: str | os.PathLike,
    crystals: Mapping[str, Crystal] | None = None,
    split_materials: Mapping[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Simulate one shard of CDN ``level`` and write it (HDF5 + Parquet) atomically."""
    return build_stem_lattice_shards(cfg, split, shard, {level: out_path}, crystals,
                                     split_materials)[int(level)]
