"""TEM: contrast transfer function (weak-phase-object imaging).

Conventions (k = spatial frequency in nm^-1, lambda = electron wavelength in nm):

* Aberration phase ``chi(k) = pi lambda df k^2 - (pi/2) C_s lambda^3 k^4``.
  **Defocus sign**: ``df > 0`` is UNDERFOCUS (weakened lens). With C_s > 0 the two terms
  then have opposite signs and partly cancel: Scherzer defocus is
  ``df = +1.2 sqrt(C_s lambda)`` (~ +60 nm for C_s = 1 mm at 200 kV).
* ``CTF(k) = -(sqrt(1 - A^2) sin(chi(k)) + A cos(chi(k))) E_t(k) E_s(k)`` with the
  amplitude-contrast fraction A = ``amplitude_contrast`` (the convention of CTFFIND,
  Mindell & Grigorieff 2003, and Rohou & Grigorieff 2015) and the standard envelopes
  (Kirkland 2010, §3.3; Reimer & Kohl). A = 0 is the pure weak-phase ``-sin(chi)`` of the
  paper's eq. 14 (its named variant: ``amplitude_contrast: 0``). A > 0 keeps the low
  spatial frequencies, where ``sin(chi) -> 0``, at ``-A``: specimen mass (bright in x)
  images dark, as in a bright-field micrograph. A is about 0.07 for vitreous-ice
  specimens and 0.1-0.15 for negatively stained ones (CTFFIND's documented defaults);
  the default range's upper end, 0.2, is our choice for stained or heavier specimens
  (:mod:`simart.physics.params`).

  - temporal (partial coherence from a Gaussian spread of defocus with standard
    deviation ``focal_spread_nm`` = Delta):
    ``E_t(k) = exp(-(1/2) pi^2 lambda^2 Delta^2 k^4)``;
  - spatial (Gaussian distribution of illumination angles, ``convergence_mrad`` = alpha
    its 1/e half-width, i.e. weight ``exp(-(theta/alpha)^2)``):
    ``E_s(k) = exp(-(pi alpha / lambda)^2 (C_s lambda^3 k^3 - df lambda k)^2)``
    (the gradient of chi over 2 pi, squared).

  Both are <= 1 and equal 1 at k = 0. The paper's eq. 15 writes the temporal envelope as
  ``exp(-pi^2 lambda^2 Delta^2 k^4 / (4 ln 2))`` (Delta = half width at half maximum of
  the defocus spread: the same function) and the spatial envelope as
  ``exp(-pi^4 C_s^2 lambda^4 k^6 / (2 ln 2))``, which has no convergence angle and no
  defocus term: it is not the spatial-coherence envelope (and at C_s = 1 mm it cuts
  everything beyond ~1 nm^-1), so it is not used.
* DC convention: ``CTF(0) = 0`` would delete the image mean. The unscattered beam carries
  the mean, so ``y = mean(x) + F^-1{F{x - mean(x)} CTF}``, i.e. the transfer function
  applied is the CTF with its k = 0 value set to 1 (this is what ``linear_otf`` returns).
  The image x in [0, 1] is treated as the specimen's (weak) phase / contrast map; the
  output can leave [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from torch import Tensor

from simart.physics.common import (
    check_image,
    expand_quadrant,
    fft_padded_shape,
    filter_images,
    param_array,
    radial_quadrant,
)
from simart.physics.operators import Operator

_HC_EV_NM = 1239.841984  # h c in eV nm
_MC2_EV = 510998.95  # electron rest energy in eV


def electron_wavelength_nm(voltage_kv: float | np.ndarray) -> float | np.ndarray:
    """Relativistic electron wavelength (nm) for an accelerating voltage (kV).

    ``lambda = h c / sqrt(E (2 m c^2 + E))``, E = e V. 0.002508 nm at 200 kV,
    0.001969 nm at 300 kV.

    >>> round(electron_wavelength_nm(200.0) * 1000, 3)
    2.508
    """
    e = np.asarray(voltage_kv, dtype=np.float64) * 1e3
    if np.any(e <= 0):
        raise ValueError(f"voltage_kv = {voltage_kv} must be > 0")
    lam = _HC_EV_NM / np.sqrt(e * (2.0 * _MC2_EV + e))
    return float(lam) if lam.ndim == 0 else lam


def chi(k_nm_inv: np.ndarray, defocus_nm: float, cs_mm: float, wavelength_nm: float) -> np.ndarray:
    """Aberration phase (rad): ``pi lambda df k^2 - (pi/2) C_s lambda^3 k^4`` (df>0 underfocus)."""
    k2 = np.square(k_nm_inv)
    cs_nm = cs_mm * 1e6
    return np.pi * wavelength_nm * k2 * (defocus_nm - 0.5 * cs_nm * wavelength_nm**2 * k2)


def temporal_envelope(k_nm_inv: np.ndarray, focal_spread_nm: float, wavelength_nm: float) -> np.ndarray:
    """``exp(-(1/2) pi^2 lambda^2 Delta^2 k^4)``; Delta = 1-sigma focal spread (nm)."""
    k2 = np.square(k_nm_inv)
    return np.exp(-0.5 * (np.pi * wavelength_nm * focal_spread_nm) ** 2 * k2 * k2)


def spatial_envelope(
    k_nm_inv: np.ndarray, defocus_nm: float, cs_mm: float, convergence_mrad: float,
    wavelength_nm: float,
) -> np.ndarray:
    """``exp(-(pi alpha/lambda)^2 (C_s lambda^3 k^3 - df lambda k)^2)``; alpha in mrad."""
    k = np.asarray(k_nm_inv, dtype=np.float64)
    cs_nm = cs_mm * 1e6
    a = np.pi * convergence_mrad * 1e-3 / wavelength_nm
    g = k * wavelength_nm * (cs_nm * wavelength_nm**2 * k * k - defocus_nm)
    return np.exp(-(a * a) * g * g)


def ctf(
    k_nm_inv: np.ndarray,
    defocus_nm: float,
    cs_mm: float,
    voltage_kv: float = 200.0,
    focal_spread_nm: float = 0.0,
    convergence_mrad: float = 0.0,
    amplitude_contrast: float = 0.0,
) -> np.ndarray:
    """Contrast transfer function ``-(sqrt(1-A^2) sin(chi) + A cos(chi)) E_t E_s`` at |k|
    (nm^-1); ``CTF(0) = -A`` (0 for the pure phase CTF, A = 0).

    >>> float(ctf(np.array([0.0]), 50.0, 1.0)[0])
    -0.0
    >>> float(ctf(np.array([0.0]), 50.0, 1.0, amplitude_contrast=0.1)[0])
    -0.1
    """
    a = _check_amplitude_contrast(amplitude_contrast)
    lam = electron_wavelength_nm(voltage_kv)
    k = np.asarray(k_nm_inv, dtype=np.float64)
    ch = chi(k, defocus_nm, cs_mm, lam)
    out = -(np.sqrt(1.0 - a * a) * np.sin(ch) + a * np.cos(ch))
    if focal_spread_nm:
        out *= temporal_envelope(k, focal_spread_nm, lam)
    if convergence_mrad:
        out *= spatial_envelope(k, defocus_nm, cs_mm, convergence_mrad, lam)
    return out


def _check_amplitude_contrast(a: float) -> float:
    a = float(a)
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"amplitude_contrast = {a}: must be a fraction in [0, 1]")
    return a


def _ctf_k2(k2: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
    """CTF as a function of k^2 (nm^-2), envelopes folded into one exponential."""
    lam = electron_wavelength_nm(p["voltage_kv"])
    df, cs_nm = p["defocus_nm"], p["cs_mm"] * 1e6
    amp = _check_amplitude_contrast(p["amplitude_contrast"])
    w = 0.5 * cs_nm * lam * lam * k2
    ch = np.pi * lam * k2 * (df - w)
    t = np.sin(ch)
    if amp:  # A = 0 stays bit-identical to the pure phase CTF
        t = np.sqrt(1.0 - amp * amp) * t + amp * np.cos(ch)
    a_t = 0.5 * (np.pi * lam * p["focal_spread_nm"]) ** 2
    a_s = (np.pi * p["convergence_mrad"] * 1e-3 / lam) ** 2 * lam * lam
    g2 = (cs_nm * lam * lam * k2 - df) ** 2 * k2  # (C_s lam^2 k^3 - df k)^2
    t *= np.exp(-(a_t * k2 * k2 + a_s * g2))
    return np.negative(t, out=t)


def tem_quadrant(p: Mapping[str, float], shape: tuple[int, int]) -> np.ndarray:
    """First quadrant of the TEM transfer function on the FFT grid ``shape``."""
    q = radial_quadrant(lambda k2: _ctf_k2(k2, p), shape, p["pixel_size_nm"])
    q[0, 0] = 1.0  # the unscattered beam carries the mean
    return q


def tem_transfer(p: Mapping[str, float], shape: tuple[int, int], half: bool = False) -> np.ndarray:
    """Real transfer function on an FFT grid of ``shape``: the CTF with T(0) = 1 (DC kept)."""
    return expand_quadrant(tem_quadrant(p, shape), shape, half)


TEM_KEYS = ("pixel_size_nm", "defocus_nm", "cs_mm", "voltage_kv", "focal_spread_nm",
            "convergence_mrad", "amplitude_contrast")


def forward_tem(x: Tensor, params: Mapping[str, Tensor | float]) -> Tensor:
    """TEM image ``mean + F^-1{F{x - mean} CTF}`` of images (B, 1, H, W), per-image CTF."""
    b, h, w = check_image(x)
    cols = {k: param_array(params, k, b, "TEM") for k in TEM_KEYS}
    shape = fft_padded_shape((h, w))
    q = np.stack([tem_quadrant({k: cols[k][i] for k in TEM_KEYS}, shape) for i in range(b)])
    return filter_images(x, q[:, None])


class TEMOperator(Operator):
    """TEM: the CTF with partial-coherence envelopes (:func:`forward_tem`); linear."""

    name = "TEM"
    rl_reason = ("TEM CTF is signed (phase contrast): its PSF has negative lobes, and "
                 "Richardson-Lucy needs a non-negative PSF")
    blur_label = "period of the first Thon ring (px)"

    def A(self, x: Tensor, params: Mapping[str, Tensor | float], *,
          seeds: Tensor | None = None) -> Tensor:
        return forward_tem(x, params)

    def _transfer(self, p: Mapping[str, float], shape: tuple[int, int],
                  image_shape: tuple[int, int]) -> np.ndarray:
        return tem_transfer(p, shape)

    def blur_px(self, params: Mapping[str, float], image_size: int) -> float:
        """The period (px) of the first Thon ring (``|chi| = pi``); 2 px beyond Nyquist."""
        px = float(params["pixel_size_nm"])
        k = np.linspace(0.0, 0.5 / px, 4097)  # nm^-1 up to Nyquist
        lam = electron_wavelength_nm(float(params.get("voltage_kv", 200.0)))
        ring = np.abs(chi(k, float(params["defocus_nm"]), float(params["cs_mm"]), lam)) >= np.pi
        k1 = float(k[ring][0]) if ring.any() else 0.5 / px
        return 1.0 / (k1 * px)
