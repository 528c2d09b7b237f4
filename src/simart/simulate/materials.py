"""The materials of the stem_lattice dataset: the CIF files of each split, checked before
any job (readable, plausible, within the memory budget of one image), and their zone axes.

Torch-free (the Snakefile runs these checks when it plans a run); the renderer is
:mod:`simart.simulate.stem_lattice`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from simart.simulate.crystals import CIFError, Crystal, load_crystals
from simart.specs.stem_lattice import DEFAULT_ZONE_AXES, MATERIAL_INFO, effective_specs

SHIPPED_CIF_DIR = Path(__file__).resolve().parent / "cif"

#: Memory bound of one rendered image: the renderer holds ~150 bytes per atom column of the
#: field of view (plus margin), so at most this many columns (~1.5 GB) per image. The
#: shipped CIFs need < 1e5 at 512 px x 0.04 nm (and < 1e7 even at 8192 px x 0.04 nm).
MAX_COLUMNS_PER_IMAGE = 10_000_000
MARGIN_NM = 0.8  # canvas margin: columns outside the field still blur into it

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
    fov = size * float(pixel_size_nm) + 2 * MARGIN_NM
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
