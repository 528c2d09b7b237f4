"""Default parameter distributions of the SIMART operators and the parameter sampler.

``DEFAULT_PARAM_SPECS`` is the single source of defaults (the config schema takes it
and only overrides it key by key). A number is a fixed value; ``[lo, hi]`` is a uniform
distribution. Units are in the key names (nm, deg, mm, kV, mrad, px, counts).

Choices that the seed paper (000, §4.1.1) leaves open, with the reason:

AFM
    ``height_scale_nm`` [2, 20]: image value 1.0 = this many nm. Typical AFM specimens
    (nanoparticles, terraces, cells' surface detail) span a few to tens of nm, the same
    order as the tip radii R ~ U(1, 20) nm, which is where tip convolution matters.
    ``pixel_size_nm`` [1, 4]: 512 px scans of 0.5-2 um, the usual high-resolution range;
    tips then span a few to ~30 px.
TEM
    ``voltage_kv`` 200 (the seed's wavelength 2.508 pm). ``focal_spread_nm`` 3: the
    1-sigma defocus spread of a 200 kV FEG (C_c ~ 1.2 mm x dE/E ~ 0.5 eV / 200 keV),
    information limit ~0.13 nm. ``convergence_mrad`` 0.1: near-parallel FEG
    illumination (1/e half-width of the illumination-angle distribution).
    ``pixel_size_nm`` [0.05, 0.2]: Nyquist 2.5-10 nm^-1, so the CTF rings (and its
    envelope cut-off near 7 nm^-1) fall inside the sampled band.
SEM
    ``sigma_c_fov`` [0.1, 1.0]: the charging Gaussian's width as a FRACTION OF THE
    FIELD OF VIEW (our unit for the seed's unitless sigma_c): charging is a
    slowly varying, field-wide effect. ``charging_strength`` lambda_c [0.05, 0.3]:
    a brightness shift of up to ~30% of the dynamic range, visible but not
    saturating. ``pixel_size_nm`` [0.5, 2]: 256 nm - 1 um fields, where the beam
    broadening sigma_b ~ U(0.5, 3) nm covers 0.25-6 px.
STEM
    ``aperture_mrad`` [10, 30]: probe-forming semi-angles of real (uncorrected to
    aberration-corrected) instruments. The seed's U(0, 10) mrad is kept as
    ``SEED_STEM_APERTURE_MRAD``: an aperture under ~5 mrad gives a diffraction-limited
    probe (0.61 lambda/alpha > 0.3 nm at 200 kV) far wider than the source size sigma_p,
    and alpha -> 0 gives no image at all. ``defocus_nm`` [-5, 5] and ``cs_mm``
    [0, 0.01]: an aberration-corrected probe with small residual defocus and C_s
    (C_s of a few um); larger C_s needs a smaller aperture (optimum ~ (4 lambda/C_s)^1/4).
    ``scan_jitter_px`` [0, 0.5]: per-line random x offset (std, px).
    ``scan_drift_px`` [0, 1]: linear x drift in px per 100 scan lines (always towards
    +x). ``pixel_size_nm`` [0.02, 0.1]: 10-50 nm fields for atomic-resolution imaging.
noise
    ``poisson_counts`` [1e3, 1e5] (counts at full scale) and ``gaussian_sigma``
    [0.01, 0.05] (fraction of the [0, 1] dynamic range), as in the seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

MODALITIES: tuple[str, ...] = ("AFM", "TEM", "SEM", "STEM")

#: The seed paper's STEM aperture distribution (mrad), selectable via config overrides.
SEED_STEM_APERTURE_MRAD: list[float] = [0.0, 10.0]

DEFAULT_PARAM_SPECS: dict[str, dict[str, float | list[float]]] = {
    "AFM": {
        "tip_radius_nm": [1.0, 20.0],
        "tip_half_angle_deg": [10.0, 40.0],
        "height_scale_nm": [2.0, 20.0],
        "pixel_size_nm": [1.0, 4.0],
    },
    "TEM": {
        "defocus_nm": [-100.0, 100.0],
        "cs_mm": [0.1, 2.0],
        "voltage_kv": 200.0,
        "focal_spread_nm": 3.0,
        "convergence_mrad": 0.1,
        "pixel_size_nm": [0.05, 0.2],
    },
    "SEM": {
        "sigma_b_nm": [0.5, 3.0],
        "sigma_c_fov": [0.1, 1.0],
        "charging_strength": [0.05, 0.3],
        "pixel_size_nm": [0.5, 2.0],
    },
    "STEM": {
        "probe_sigma_nm": [0.05, 0.3],
        "aperture_mrad": [10.0, 30.0],
        "defocus_nm": [-5.0, 5.0],
        "cs_mm": [0.0, 0.01],
        "voltage_kv": 200.0,
        "scan_jitter_px": [0.0, 0.5],
        "scan_drift_px": [0.0, 1.0],
        "pixel_size_nm": [0.02, 0.1],
    },
    "noise": {
        "poisson_counts": [1.0e3, 1.0e5],
        "gaussian_sigma": [0.01, 0.05],
    },
}


def _check_number(key: str, v: object) -> float:
    is_number = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    f = float(v) if is_number else math.nan
    if not math.isfinite(f):
        raise ValueError(f"parameter '{key}' = {v!r}: must be a finite number or [low, high]")
    return f


def sample_params(
    spec: Mapping[str, float | Sequence[float]], rng: np.random.Generator
) -> dict[str, float]:
    """Draw one image's parameters from ``spec``.

    Keys are visited in sorted order (one ``rng.uniform`` draw per ``[lo, hi]`` key, none
    for a fixed number), so the same generator state always gives the same parameters
    whatever the mapping's insertion order.

    Args:
        spec: name -> fixed number, or ``[lo, hi]`` for U(lo, hi) (``lo == hi`` allowed).
        rng: NumPy generator.

    Raises:
        ValueError: naming the key, when a range is not ``[lo, hi]`` with ``lo <= hi``
            or a value is not a finite number.

    >>> sample_params({"b": 2.0, "a": [0.0, 1.0]}, np.random.default_rng(0))["b"]
    2.0
    """
    out: dict[str, float] = {}
    for key in sorted(spec):
        v = spec[key]
        if isinstance(v, (Sequence, np.ndarray)) and not isinstance(v, (str, bytes)):
            if len(v) != 2:
                raise ValueError(f"parameter '{key}' = {list(v)!r}: a range must be [low, high]")
            lo, hi = _check_number(key, v[0]), _check_number(key, v[1])
            if lo > hi:
                raise ValueError(
                    f"parameter '{key}' = [{lo}, {hi}]: a range needs low <= high")
            out[key] = float(rng.uniform(lo, hi))
        else:
            out[key] = _check_number(key, v)
    return out
