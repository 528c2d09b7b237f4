"""Dataset stm_cu111: domains, the LDOS / degradation parameter distributions and bounds."""

from __future__ import annotations

import math

from simart.specs.params import check_specs, merge_specs

DOMAINS: tuple[str, ...] = ("clean", "blurry", "experimental")
DOMAIN_ID = {d: i for i, d in enumerate(DOMAINS)}
CU111_NN_NM = 0.2556  # Cu(111) nearest-neighbour distance a / sqrt(2), a = 0.3615 nm

#: LDOS / layout parameters (all domains).
LDOS_SPECS: dict[str, float | list[float]] = {
    "pixel_size_nm": [0.05, 0.15],   # 128 px: 6-19 nm fields; 256 px: 13-38 nm
    "bias_ev": [-0.05, 0.10],        # E = e V around E_F (the paper's lab images: 10 mV)
    "n_scatterers": [8, 40],         # random adsorbates (integer)
    "phase_shift_rad": [0.3, 1.5],   # s-wave phase shift delta
    "absorption": [0.0, 0.5],        # Heller et al.'s absorption (1 = black dot)
    "eta_ev": [0.002, 0.02],         # broadening (thermal, lock-in, lifetime)
    "p_corral": 0.2,                 # probability of a corral layout
    "p_line": 0.2,                   # probability of a line layout
    "corral_spacing_nm": [0.7, 1.2], # atom spacing on the corral (Crommie et al.: 0.93 nm)
    "line_spacing_nm": [0.5, 1.2],
    "step_rate": [0.0, 1.5],         # experimental domain: mean number of step edges
    "step_spacing_nm": 0.5,          # scatterer spacing along a step (< lambda_F / 4)
    "step_absorption": [0.3, 0.7],   # partially absorbing steps
}
BLURRY_SPECS: dict[str, float | list[float]] = {
    "tip_sigma_nm": [0.1, 0.4],      # Gaussian tip blur (std)
    "white_sigma": [0.01, 0.05],     # white noise std (image units)
    "pink_sigma": [0.01, 0.05],      # 1/f noise std along the scan time
    "line_offset_sigma": [0.0, 0.04],  # independent per-line offsets
    "streak_rate": [0.0, 3.0],       # mean number of streaks
    "streak_amplitude": [0.1, 0.4],
    "drift_x_px": [-2.0, 2.0],       # x shear, px per 100 lines
    "drift_y": [-0.03, 0.03],        # slow-scan stretch (fraction)
}
EXPERIMENTAL_SPECS: dict[str, float | list[float]] = {
    "tip_sigma_nm": [0.2, 0.5],      # blunter tip
    "tip_change_prob": 0.5,
    "tip_change_factor": [1.3, 2.0],  # blur factor after the tip change
    "tip_change_gain": [0.8, 1.25],
    "double_tip_prob": 0.3,
    "ghost_weight": [0.2, 0.5],
    "ghost_offset_nm": [0.2, 0.8],
    "terrace_offset": [0.05, 0.2],   # dI/dV offset between terraces
    "shot_counts": [50.0, 500.0],    # Poisson counts at value 1
    "telegraph_rate": [0.0, 0.01],   # switching probability per pixel
    "telegraph_amplitude": [0.02, 0.1],
    "interference_amplitude": [0.0, 0.03],
    "interference_period_px": [3.0, 20.0],
    "walk_sigma": [0.005, 0.02],     # random-walk line offsets (per-line step std)
    "creep_px": [0.0, 6.0],          # piezo creep amplitude (x), decays over the scan
    "plane_tilt": [0.0, 0.2],
}
# Allowed values of every parameter (low, high, unit), checked at config validation
# (:func:`effective_specs`, before any job) with the message naming key, value and range.
# "image units": the clean map's [0, 1] scale.
LDOS_BOUNDS: dict[str, tuple[float, float, str]] = {
    # sample the LDOS period pi / k (1.48 nm at E_F, 0.83 nm at +1 eV) with >= 2 px; 5 pm:
    # 0.6 nm fields at 128 px, smaller is no longer a map of standing waves
    "pixel_size_nm": (0.005, 0.4, "nm/px"),
    # E = e V must lie above the surface-state band bottom (-mu = -0.45 eV: no propagating
    # surface waves below it); the parabolic band (m* = 0.38 m_e) holds to ~ +1 eV
    "bias_ev": (-0.45, 1.0, "eV"),
    "n_scatterers": (1.0, 600.0, "adsorbates"),  # = _MAX_SCATTERERS, the cap on all of them
    "phase_shift_rad": (-math.pi, math.pi, "rad"),  # S = (1 - a) e^{2 i delta}: pi-periodic
    "absorption": (0.0, 1.0, "fraction (1 = black dot)"),
    # > 0: E + i eta keeps the Green's function finite; 0.1 meV ~ 1 K, 0.2 eV damps the
    # waves within ~1 nm
    "eta_ev": (1e-4, 0.2, "eV"),
    "p_corral": (0.0, 1.0, "probability"),  # with p_line: p_corral + p_line <= 1
    "p_line": (0.0, 1.0, "probability"),
    # adatoms sit on Cu(111) sites: no closer than the nearest-neighbour distance
    "corral_spacing_nm": (CU111_NN_NM, 10.0, "nm"),
    "line_spacing_nm": (CU111_NN_NM, 10.0, "nm"),
    "step_rate": (0.0, 10.0, "step edges per image (mean; at most 3 are drawn)"),
    "step_spacing_nm": (0.1, 2.0, "nm"),  # a step acts as a wall for spacings < lambda_F / 4
    "step_absorption": (0.0, 1.0, "fraction"),
}
BLURRY_BOUNDS: dict[str, tuple[float, float, str]] = {
    "tip_sigma_nm": (0.0, 5.0, "nm"),  # std; 5 nm blurs out 3 LDOS periods
    "white_sigma": (0.0, 1.0, "image units"),
    "pink_sigma": (0.0, 1.0, "image units"),
    "line_offset_sigma": (0.0, 1.0, "image units"),
    "streak_rate": (0.0, 100.0, "streaks per image (mean)"),
    "streak_amplitude": (0.0, 2.0, "image units"),  # its sign is drawn per streak
    "drift_x_px": (-50.0, 50.0, "px per 100 scan lines"),
    "drift_y": (-0.5, 0.5, "fraction of the slow-scan length"),
}
EXPERIMENTAL_BOUNDS: dict[str, tuple[float, float, str]] = {
    "tip_sigma_nm": (0.0, 5.0, "nm"),
    "tip_change_prob": (0.0, 1.0, "probability"),
    "tip_change_factor": (0.1, 10.0, "x the blur before the change"),
    "tip_change_gain": (0.1, 10.0, "x the signal before the change"),
    "double_tip_prob": (0.0, 1.0, "probability"),
    "ghost_weight": (0.0, 1.0, "x the main image"),
    "ghost_offset_nm": (0.0, 10.0, "nm"),
    "terrace_offset": (-1.0, 1.0, "image units"),
    "shot_counts": (1.0, 1e9, "counts at value 1"),  # > 0: the Poisson rate divides by it
    "telegraph_rate": (0.0, 1.0, "switching probability per pixel"),
    "telegraph_amplitude": (0.0, 1.0, "image units"),
    "interference_amplitude": (0.0, 1.0, "image units"),
    "interference_period_px": (2.0, 1e6, "px"),  # >= 2 px (Nyquist); along the scan time
    "walk_sigma": (0.0, 1.0, "image units per scan line"),
    "creep_px": (-50.0, 50.0, "px"),
    "plane_tilt": (0.0, 1.0, "image units across the field"),  # direction drawn per image
}
INTEGER_PARAMS = ("n_scatterers",)
PARAM_GROUPS = {"ldos": LDOS_SPECS, "blurry": BLURRY_SPECS, "experimental": EXPERIMENTAL_SPECS}
PARAM_BOUNDS = {"ldos": LDOS_BOUNDS, "blurry": BLURRY_BOUNDS, "experimental": EXPERIMENTAL_BOUNDS}


def _highest(spec) -> float:
    return float(max(spec)) if isinstance(spec, list | tuple) else float(spec)


def effective_specs(scfg, group: str) -> dict:
    """Default specs of ``group`` updated by ``stm_cu111.params.<group>``; raises
    ValueError naming the key, value and allowed range (units) for a bad value."""
    where = f"stm_cu111.params.{group}"
    specs = merge_specs(PARAM_GROUPS[group], scfg.params.get(group, {}), where)
    check_specs(specs, where, PARAM_BOUNDS[group])
    if group == "ldos":
        total = _highest(specs["p_corral"]) + _highest(specs["p_line"])
        if total > 1.0:
            raise ValueError(
                f"config key '{where}.p_line' = {specs['p_line']!r} with p_corral = "
                f"{specs['p_corral']!r} is out of range: p_corral + p_line (the layout "
                f"probabilities; the rest are random layouts) may reach {total:g}, allowed "
                "0 to 1 (probability)")
    return specs
