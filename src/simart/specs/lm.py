"""Dataset lm: fluorescence modes, the PSF / noise parameter distributions and bounds."""

from __future__ import annotations

from simart.specs.params import check_specs, merge_specs

LM_MODES: tuple[str, ...] = ("widefield", "confocal")

#: Parameter distributions (number = fixed, [lo, hi] = uniform; LM_LOG_UNIFORM: log-uniform).
LM_PARAM_SPECS: dict[str, float | list[float]] = {
    "na": [0.4, 1.0],                    # the PI-DDPM paper
    "wavelength_ex_nm": [320.0, 400.0],  # the PI-DDPM paper (its "um" is a typo)
    "wavelength_em_nm": [450.0, 550.0],  # the PI-DDPM paper
    "pinhole_um": [0.1, 1000.0],         # the PI-DDPM paper; diameter in the detection plane
    "magnification": 60.0,               # back-projects the pinhole (ours)
    "refractive_index": 1.33,            # the PI-DDPM paper (water)
    "pixel_size_nm": [40.0, 100.0],      # ours: Nyquist of the widefield PSF at NA <= 1.0
    "photons": [30.0, 3000.0],           # ours: expected counts at value 1 (log-uniform)
    "background": [0.0, 0.1],            # ours: b as a fraction of full scale
}
#: Sampled log-uniformly: the paper's pinhole range spans four decades (0.003-30 Airy
#: units at 60x); photon counts span two.
LM_LOG_UNIFORM: tuple[str, ...] = ("pinhole_um", "photons")
#: Allowed values (low, high, unit), checked at config validation (lm.params) and per PSF.
LM_PARAM_BOUNDS: dict[str, tuple[float, float, str]] = {
    "na": (0.01, 1.7, "(numerical aperture; <= the refractive index)"),  # TIRF oil: 1.65
    "wavelength_ex_nm": (150.0, 2000.0, "nm"),   # deep UV to the near infrared
    "wavelength_em_nm": (150.0, 2000.0, "nm"),
    "pinhole_um": (1e-3, 1e5, "um"),             # diameter; > 0 (log-uniform)
    "magnification": (1.0, 1000.0, "x"),
    "refractive_index": (1.0, 2.0, "(refractive index)"),  # air 1.0 ... high-index oil
    "pixel_size_nm": (1.0, 10000.0, "nm/px"),
    "photons": (1e-2, 1e9, "counts at value 1"),  # > 0 (log-uniform)
    "background": (0.0, 10.0, "fraction of full scale"),
}


def _values(spec) -> list[float]:
    return [float(v) for v in spec] if isinstance(spec, list | tuple) else [float(spec)]


def effective_specs(lcfg) -> dict:
    """Default specs updated by ``lm.params``; raises ValueError naming the key, value and
    allowed range for a bad value, and for the two cross-parameter rules:

    * ``na`` <= ``refractive_index`` (every drawn pair: the highest NA below the lowest n);
    * every drawn emission wavelength is longer than every drawn excitation wavelength
      (min ``wavelength_em_nm`` > max ``wavelength_ex_nm``): one-photon fluorescence is
      Stokes-shifted to the red, and the two are drawn independently, so only disjoint
      ranges guarantee it for every image. (Two-photon excitation, where the excitation is
      the longer wavelength, is not this model: its excitation PSF would be Airy^2.)
    """
    specs = merge_specs(LM_PARAM_SPECS, lcfg.params, "lm.params")
    check_specs(specs, "lm.params", LM_PARAM_BOUNDS, LM_LOG_UNIFORM)
    na = specs["na"]
    n = specs["refractive_index"]
    if max(_values(na)) > min(_values(n)):
        raise ValueError(f"config key 'lm.params.na' = {na!r} is out of range: allowed up to "
                         f"the refractive index lm.params.refractive_index = {n!r}")
    em, ex = specs["wavelength_em_nm"], specs["wavelength_ex_nm"]
    if min(_values(em)) <= max(_values(ex)):
        raise ValueError(
            f"config key 'lm.params.wavelength_em_nm' = {em!r} is out of range: the emission "
            f"must be longer than the excitation lm.params.wavelength_ex_nm = {ex!r} (Stokes "
            f"shift): allowed above {max(_values(ex)):g} to "
            f"{LM_PARAM_BOUNDS['wavelength_em_nm'][1]:g} nm")
    return specs
