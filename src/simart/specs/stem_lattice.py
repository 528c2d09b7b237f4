"""Dataset stem_lattice: the material split, zone axes, parameter distributions and bounds."""

from __future__ import annotations

from simart.specs.params import check_specs, merge_specs

#: The PINNED paper's material split. Training: Si, GaN, AlGaN, InN, perovskite (SrTiO3),
#: graphene, ZrO2, NaCN; its "validation" set, never seen in training (BaTiO3, Al, ZnMgTe),
#: is our TEST split. Our VAL split (model selection) holds two further materials
#: (GaAs, MgO) so that no material is in two splits. The paper lists BaTiO3 among both the
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
    "gaussian_sigma_nm": [0.03, 0.08],  # the paper's Gaussian probe (probe = "gaussian")
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


def effective_specs(scfg) -> dict[str, float | list[float]]:
    specs = merge_specs(STEM_LATTICE_PARAM_SPECS, scfg.params, "stem_lattice.params")
    check_specs(specs, "stem_lattice.params", PARAM_BOUNDS)
    return specs
