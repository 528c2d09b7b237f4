"""Parameter tables of the SIMART modalities: distributions, presets, bounds and units.

``DEFAULT_PARAM_SPECS`` is the single source of defaults (the config schema takes it and
only overrides it key by key). A number is a fixed value; ``[lo, hi]`` is a uniform
distribution. Units are in the key names (nm, deg, mm, kV, mrad, px, counts).

**Pixel sizes follow the image size.** The ``pixel_size_nm`` ranges below are those of a
``REFERENCE_SIZE`` = 128 px image. The clean sources' features do not keep their size in
pixels when the image size changes: their typical size (the median over the default
sources of ``1 / k90``, the period below which 90 % of an image's contrast lies) is
7.5 px at 128 px, 11.6 px at 256 and 18.4 px at 512, i.e. ``CLEAN_FEATURE_PX *
(size / 128) ** FEATURE_EXPONENT`` (:func:`clean_feature_px`; measured, and re-measured by
a test). :func:`default_param_specs` scales the pixel size by the inverse of that law, so
the physical blur in pixels keeps the same ratio to the features
(:mod:`simart.physics.severity`): the same physics gives the same difficulty at 128, 256
and 512 px. A ``pixel_size_nm`` set in the config is used as given, at every size.

Choices that the PCSD paper (§4.1.1) leaves open, with the reason. The bands they
meet (blur / feature size, checked by a test for sampled parameters at 128, 256 and 512 px)
are :data:`simart.physics.severity.BLUR_BANDS`; the calibration report measures what
they give (input PSNR, oracle PSNR).

AFM
    ``height_scale_nm`` [2, 20]: image value 1.0 = this many nm. Typical AFM specimens
    (nanoparticles, terraces, cells' surface detail) span a few to tens of nm, the same
    order as the tip radii R ~ U(1, 20) nm, which is where tip convolution matters.
    ``pixel_size_nm`` [1, 4] at 128 px: 128-512 nm scans; the tip's footprint at half
    the height range then spans ~1-8 px, a fraction of a feature to one feature.
TEM
    ``voltage_kv`` 200 (the paper's wavelength 2.508 pm). ``focal_spread_nm`` 3: the
    1-sigma defocus spread of a 200 kV FEG (C_c ~ 1.2 mm x dE/E ~ 0.5 eV / 200 keV),
    information limit ~0.13 nm. ``convergence_mrad`` 0.1: near-parallel FEG
    illumination (1/e half-width of the illumination-angle distribution).
    ``amplitude_contrast`` A [0.07, 0.2]: the fraction of amplitude contrast in
    ``CTF = -(sqrt(1 - A^2) sin chi + A cos chi)`` (CTFFIND's convention): 0.07 is the
    value used for specimens in vitreous ice, 0.1-0.15 for negative stain (CTFFIND's
    documented choices); 0.2 (our choice) stands for stained or heavier specimens. The
    paper's pure phase CTF (A = 0) transfers almost nothing at low spatial frequencies:
    its TEM images were a near-uniform grey that no method restored (the 'pcsd' preset
    keeps it).
    ``defocus_nm`` [20, 100]: underfocus only (df > 0 is underfocus here), from the
    Scherzer defocus of the smallest C_s (1.2 sqrt(C_s lambda) = 19 nm at 0.1 mm) to the
    paper's 100 nm. Micrographs are recorded in underfocus, where phase and amplitude
    contrast add up below the first Thon ring; in overfocus they cancel near k = 0 and
    the contrast of the features flips sign with the defocus. The paper's U(-100, 100)
    (the 'pcsd' preset) mixes both: a restoration that does not know the defocus then
    cannot tell which sign to restore, and the learned models of the embedded run gained
    < 1 dB over the input on TEM while Wiener with the true CTF gained 12 dB; with
    underfocus only they gain 2-2.5 dB.
    ``pixel_size_nm`` [0.05, 0.2] at 128 px: Nyquist 2.5-10 nm^-1, so the CTF rings (and
    its envelope cut-off near 7 nm^-1) fall inside the sampled band.
SEM
    ``sigma_c_fov`` [0.1, 1.0]: the charging Gaussian's width as a FRACTION OF THE
    FIELD OF VIEW (our unit for the paper's unitless sigma_c): charging is a
    slowly varying, field-wide effect. ``charging_strength`` lambda_c [0.05, 0.3]:
    a brightness shift of up to ~30% of the dynamic range, visible but not
    saturating. ``pixel_size_nm`` [1, 2] at 128 px: 128-256 nm fields, where the beam
    broadening sigma_b ~ U(0.5, 3) nm covers 0.25-3 px (was [0.5, 2]: up to 6 px, which
    erased particles of a few pixels).
STEM
    ``aperture_mrad`` [10, 30]: probe-forming semi-angles of real (uncorrected to
    aberration-corrected) instruments. The paper's U(0, 10) mrad is kept as
    ``SEED_STEM_APERTURE_MRAD``: an aperture under ~5 mrad gives a diffraction-limited
    probe (0.61 lambda/alpha > 0.3 nm at 200 kV) far wider than the source size sigma_p,
    and alpha -> 0 gives no image at all. ``defocus_nm`` [-5, 5] and ``cs_mm``
    [0, 0.01]: an aberration-corrected probe with small residual defocus and C_s
    (C_s of a few um); larger C_s needs a smaller aperture (optimum ~ (4 lambda/C_s)^1/4).
    ``scan_jitter_px`` [0, 0.5]: per-line random x offset (std, px).
    ``scan_drift_px`` [0, 1]: linear x drift in px per 100 scan lines (always towards
    +x). ``pixel_size_nm`` [0.1, 0.2] at 128 px: 13-26 nm fields; the probe (sigma_p
    0.05-0.3 nm, plus the aperture's diffraction limit) spans ~0.3-3 px (was [0.02, 0.1]:
    up to 15 px, wider than most features).
noise
    ``poisson_counts`` [1e3, 1e5] (counts at full scale) and ``gaussian_sigma``
    [0.01, 0.05] (fraction of the [0, 1] dynamic range), as in the paper.

Presets (``simart.param_preset`` in the config, :data:`PARAM_PRESETS`):

* ``calibrated`` (default): the distributions above.
* ``pcsd``: the PCSD paper's distributions where it gives them (pure phase CTF,
  defocus U(-100, 100) nm, STEM aperture U(0, 10) mrad) and, where it leaves them open, this project's earlier choices,
  unscaled at every image size (:data:`PCSD_PIXEL_SIZE_NM`): the benchmark's images as
  they were before the calibration, apart from the STEM aperture.
"""

from __future__ import annotations

#: The shipped SIMART modalities, in operator-code order (their operators:
#: :data:`simart.specs.operators.OPERATORS`; ``operator_names("simart")`` adds any
#: registered at run time).
MODALITIES: tuple[str, ...] = ("AFM", "TEM", "SEM", "STEM")

#: The PCSD paper's STEM aperture distribution (mrad), selectable via config overrides.
SEED_STEM_APERTURE_MRAD: list[float] = [0.0, 10.0]

DEFAULT_PARAM_SPECS: dict[str, dict[str, float | list[float]]] = {
    "AFM": {
        "tip_radius_nm": [1.0, 20.0],
        "tip_half_angle_deg": [10.0, 40.0],
        "height_scale_nm": [2.0, 20.0],
        "pixel_size_nm": [1.0, 4.0],
    },
    "TEM": {
        "amplitude_contrast": [0.07, 0.2],
        "defocus_nm": [20.0, 100.0],
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
        "pixel_size_nm": [1.0, 2.0],
    },
    "STEM": {
        "probe_sigma_nm": [0.05, 0.3],
        "aperture_mrad": [10.0, 30.0],
        "defocus_nm": [-5.0, 5.0],
        "cs_mm": [0.0, 0.01],
        "voltage_kv": 200.0,
        "scan_jitter_px": [0.0, 0.5],
        "scan_drift_px": [0.0, 1.0],
        "pixel_size_nm": [0.1, 0.2],
    },
    "noise": {
        "poisson_counts": [1.0e3, 1.0e5],
        "gaussian_sigma": [0.01, 0.05],
    },
}


#: Image side (px) at which the ``pixel_size_nm`` ranges of the presets are given.
REFERENCE_SIZE = 128
#: Typical feature size (px) of the default clean sources at ``REFERENCE_SIZE``, and the
#: exponent of its growth with the image size (median ``1 / k90``: 7.5, 11.6, 18.4 px at
#: 128, 256, 512 px; a test re-measures it).
CLEAN_FEATURE_PX = 7.5
FEATURE_EXPONENT = 0.65

#: The project's pixel sizes before the calibration (nm, every image size): the
#: ``pcsd`` preset's (the paper gives none).
PCSD_PIXEL_SIZE_NM: dict[str, list[float]] = {
    "AFM": [1.0, 4.0], "TEM": [0.05, 0.2], "SEM": [0.5, 2.0], "STEM": [0.02, 0.1]}

#: preset -> modality -> overrides of ``DEFAULT_PARAM_SPECS`` (``calibrated`` = none).
PARAM_PRESETS: dict[str, dict[str, dict[str, float | list[float]]]] = {
    "calibrated": {},
    "pcsd": {
        "TEM": {"amplitude_contrast": 0.0, "defocus_nm": [-100.0, 100.0]},
        "STEM": {"aperture_mrad": SEED_STEM_APERTURE_MRAD},
    },
}
#: presets whose pixel sizes follow the image size (:func:`default_param_specs`)
SCALED_PRESETS: tuple[str, ...] = ("calibrated",)


def clean_feature_px(image_size: int) -> float:
    """Typical feature size (px) of the default clean sources at ``image_size`` px."""
    return CLEAN_FEATURE_PX * (image_size / REFERENCE_SIZE) ** FEATURE_EXPONENT


def pixel_size_scale(image_size: int) -> float:
    """Factor on the reference pixel sizes at ``image_size`` px: ``feature(128) / feature(N)``."""
    return clean_feature_px(REFERENCE_SIZE) / clean_feature_px(image_size)


def default_param_specs(modality: str, image_size: int, preset: str = "calibrated"
                        ) -> dict[str, float | list[float]]:
    """The preset's distributions of one modality (or ``"noise"``) for ``image_size`` px.

    ``calibrated``: ``DEFAULT_PARAM_SPECS`` with ``pixel_size_nm`` scaled by
    :func:`pixel_size_scale`; ``pcsd``: the paper's distributions with the fixed
    :data:`PCSD_PIXEL_SIZE_NM`.
    """
    if preset not in PARAM_PRESETS:
        raise ValueError(f"param_preset {preset!r}; allowed: {sorted(PARAM_PRESETS)}")
    spec: dict[str, float | list[float]] = dict(DEFAULT_PARAM_SPECS[modality])
    spec.update(PARAM_PRESETS[preset].get(modality, {}))
    if "pixel_size_nm" in spec:
        if preset in SCALED_PRESETS:
            f = pixel_size_scale(int(image_size))
            lo, hi = spec["pixel_size_nm"]  # type: ignore[misc]
            spec["pixel_size_nm"] = [lo * f, hi * f]
        else:
            spec["pixel_size_nm"] = list(PCSD_PIXEL_SIZE_NM.get(modality, spec["pixel_size_nm"]))
    return spec


# Physically meaningful bounds for every parameter a user can override: (low, high, unit).
PARAM_BOUNDS: dict[str, tuple[float, float, str]] = {
    "pixel_size_nm": (1e-3, 1e4, "nm/px"),
    "tip_radius_nm": (0.1, 1000.0, "nm"),
    "tip_half_angle_deg": (1.0, 89.0, "deg"),
    "height_scale_nm": (0.01, 1e4, "nm"),
    "defocus_nm": (-1e4, 1e4, "nm"),
    "cs_mm": (0.0, 10.0, "mm"),
    "voltage_kv": (1.0, 3000.0, "kV"),
    "focal_spread_nm": (0.0, 100.0, "nm"),
    "amplitude_contrast": (0.0, 1.0, "fraction"),
    "convergence_mrad": (0.0, 50.0, "mrad"),
    "sigma_b_nm": (0.0, 1e4, "nm"),
    "sigma_c_fov": (1e-3, 10.0, "fraction of field of view"),
    "charging_strength": (0.0, 10.0, "image units"),
    "probe_sigma_nm": (0.0, 100.0, "nm"),
    "aperture_mrad": (0.0, 200.0, "mrad"),  # the paper samples U(0, 10)
    "scan_jitter_px": (0.0, 100.0, "px"),
    "scan_drift_px": (0.0, 1000.0, "px"),
    "poisson_counts": (1.0, 1e9, "counts at full scale"),
    "gaussian_sigma": (0.0, 1.0, "fraction of dynamic range"),
}


def register_modality_params(name: str, table: dict[str, float | list[float]],
                             bounds: dict[str, tuple[float, float, str]] | None = None) -> None:
    """Add a SIMART modality's parameter table (distributions; a plug-in, together with
    :func:`simart.specs.operators.register_operator`) and the bounds (low, high, unit) of
    parameters :data:`PARAM_BOUNDS` does not know yet; the table is checked against them."""
    from simart.specs.params import check_specs

    if name in DEFAULT_PARAM_SPECS and DEFAULT_PARAM_SPECS[name] != table:
        raise ValueError(f"modality {name!r} already has a parameter table")
    new_bounds = {**PARAM_BOUNDS, **(bounds or {})}
    missing = sorted(set(table) - set(new_bounds))
    if missing:
        raise ValueError(f"modality {name!r}: parameters {missing} have no bounds "
                         "(low, high, unit)")
    check_specs(table, f"simart.params.{name}", new_bounds)
    PARAM_BOUNDS.update(bounds or {})
    DEFAULT_PARAM_SPECS[name] = dict(table)
