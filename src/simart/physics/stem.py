"""STEM: incoherent imaging with a probe (the PCSD paper's eqs. 17-18) plus scan distortion.

``y = D_scan(x * P)``, ``P = |F^-1{A(k) exp(-i chi(k))}|^2 (*) G(sigma_p)``:

* ``A``: circular aperture of semi-angle ``aperture_mrad`` (cut-off k_m = alpha / lambda);
  ``chi``: the aberration phase of :mod:`simart.physics.tem` (``defocus_nm`` > 0 is
  underfocus, ``cs_mm``); ``voltage_kv`` gives lambda.
* ``(*) G(sigma_p)``: a Gaussian effective source of standard deviation
  ``probe_sigma_nm`` (sigma_p) convolves the coherent probe intensity.
* The physical default aperture is 10-30 mrad. The paper's alpha ~ U(0, 10) mrad
  (``SEED_STEM_APERTURE_MRAD``) is selectable, but an aperture under ~5 mrad gives a
  diffraction-limited probe, first Airy zero 0.61 lambda/alpha > 0.3 nm at 200 kV, far
  wider than sigma_p (0.05-0.3 nm): the aperture, not the source, then sets the blur,
  and alpha -> 0 transmits no image detail at all (alpha = 0 returns the image mean).

How the probe is computed. The probe's optical transfer function is the autocorrelation
of the pupil ``A exp(-i chi)``, a radial function supported on |k| <= 2 k_m. It is
computed on a fine 1-D lag axis (FFT autocorrelation of the pupil sampled with >= 128
samples per radius, more when chi varies fast, <= 0.25 rad per sample, soft aperture
edge) and then evaluated at the image grid's |k| (linear interpolation), multiplied by
the source's ``exp(-2 pi^2 sigma_p^2 k^2)``. This is the continuous probe's transfer
function restricted to the image's sampled band: correct also when the aperture cut-off
lies beyond the image Nyquist frequency (a probe narrower than a pixel), where sampling
the probe's amplitude on the image grid would clip the aperture. ``stem_probe`` is the
real-space kernel of that transfer function (sums to 1; on a grid finer than
1 / (4 k_m) it is the sampled probe itself; on coarser grids the band-limited one, which
can show tiny negative ripples).

Scan distortion (``scan_jitter_px``, ``scan_drift_px``): scan line i is displaced along x
by ``o_i = jitter * n_i + drift * (i - (H - 1) / 2) / 100`` pixels, ``n_i ~ N(0, 1)``
drawn from ``torch.Generator().manual_seed(scan_seed)`` (float64, one per line), i.e. a
per-line random offset (std ``scan_jitter_px``) plus a linear drift of ``scan_drift_px``
px per 100 lines centred on the middle line. The recorded image is
``y(i, j) = (x * P)(i, j + o_i)``, linear interpolation along x with edge clamping
(the same as ``grid_sample(..., mode='bilinear', padding_mode='border',
align_corners=True)`` with exact rows), differentiable in x. No scan seed (``seeds=None``
and no ``scan_seed`` in params) means no scan distortion: the pure linear operator that
``linear_otf`` describes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

import numpy as np
import scipy.fft
import torch
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
from simart.physics.tem import chi, electron_wavelength_nm

STEM_KEYS = ("pixel_size_nm", "probe_sigma_nm", "aperture_mrad", "defocus_nm", "cs_mm",
             "voltage_kv")
_MIN_SAMPLES, _MAX_SAMPLES, _MAX_PHASE_STEP = 128, 2048, 0.25


def coherent_otf_profile(
    voltage_kv: float, aperture_mrad: float, defocus_nm: float, cs_mm: float
) -> tuple[np.ndarray, np.ndarray]:
    """Radial OTF of the coherent probe intensity |F^-1{A e^{-i chi}}|^2, T(0) = 1.

    Returns ``(q, t)``: lags q (nm^-1, 0 .. 2 k_m and one beyond) and real T(q), read-only.
    Remembered per parameter set (the last 1,024; at most ~130 MB, a few MB typically): an
    image's probe is the same at every training step that draws it and at every step of a
    physics-guided sampler, and each computation is a (2n+3)^2-point pupil and its FFTs
    (n >= 128: ~10-30 ms on one core).
    """
    return _coherent_otf_profile(float(voltage_kv), float(aperture_mrad), float(defocus_nm),
                                 float(cs_mm))


@functools.lru_cache(maxsize=1024)
def _coherent_otf_profile(voltage_kv: float, aperture_mrad: float, defocus_nm: float,
                          cs_mm: float) -> tuple[np.ndarray, np.ndarray]:
    q, t = _otf_profile(voltage_kv, aperture_mrad, defocus_nm, cs_mm)
    q.setflags(write=False)
    t.setflags(write=False)
    return q, t


def _otf_profile(voltage_kv: float, aperture_mrad: float, defocus_nm: float, cs_mm: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    lam = electron_wavelength_nm(voltage_kv)
    km = aperture_mrad * 1e-3 / lam
    if km <= 0:
        return np.array([0.0, 1e-300]), np.array([1.0, 0.0])
    grad = 2 * np.pi * (lam * abs(defocus_nm) * km + cs_mm * 1e6 * lam**3 * km**3)
    n = int(np.clip(math.ceil(grad * km / _MAX_PHASE_STEP), _MIN_SAMPLES, _MAX_SAMPLES))
    dk = km / n
    m = scipy.fft.next_fast_len(4 * n + 2)
    ky = np.arange(-n - 1, n + 2)[:, None] * dk
    kx = np.arange(-n - 1, n + 2)[None, :] * dk
    k = np.sqrt(ky * ky + kx * kx)
    aperture = np.clip(n + 0.5 - k / dk, 0.0, 1.0)  # area-preserving soft edge
    pupil = aperture * np.exp(-1j * chi(k, defocus_nm, cs_mm, lam))
    # Autocorrelation along the x lag axis: sum over rows of each row's 1-D autocorrelation.
    power = np.square(np.abs(scipy.fft.fft(pupil, n=m, axis=1))).sum(axis=0)
    t = scipy.fft.ifft(power).real[: 2 * n + 4]
    t /= t[0]
    t[2 * n + 2:] = 0.0
    return np.arange(t.size) * dk, t


def stem_quadrant(p: Mapping[str, float], shape: tuple[int, int]) -> np.ndarray:
    """First quadrant of the probe OTF (coherent probe x Gaussian source) on grid ``shape``."""
    q, t = coherent_otf_profile(p["voltage_kv"], p["aperture_mrad"], p["defocus_nm"],
                                p["cs_mm"])
    c = -2.0 * (np.pi * p["probe_sigma_nm"]) ** 2

    def fn(k2: np.ndarray) -> np.ndarray:
        return np.interp(np.sqrt(k2), q, t, right=0.0) * np.exp(c * k2)

    return radial_quadrant(fn, shape, p["pixel_size_nm"])


def stem_transfer(p: Mapping[str, float], shape: tuple[int, int], half: bool = False) -> np.ndarray:
    """Probe OTF (coherent probe x Gaussian source) on an FFT grid of ``shape`` (real)."""
    return expand_quadrant(stem_quadrant(p, shape), shape, half)


def stem_probe(
    pixel_size_nm: float,
    shape: tuple[int, int],
    *,
    aperture_mrad: float,
    voltage_kv: float = 200.0,
    defocus_nm: float = 0.0,
    cs_mm: float = 0.0,
    probe_sigma_nm: float = 0.0,
) -> np.ndarray:
    """Probe intensity on a centred (H, W) pixel grid, normalised to sum 1.

    ``|F^-1{A e^{-i chi}}|^2`` convolved with a Gaussian source of std ``probe_sigma_nm``,
    exactly the kernel the STEM forward convolves with (see the module docstring).
    The centre is pixel (H//2, W//2).
    """
    p = {"pixel_size_nm": pixel_size_nm, "aperture_mrad": aperture_mrad,
         "voltage_kv": voltage_kv, "defocus_nm": defocus_nm, "cs_mm": cs_mm,
         "probe_sigma_nm": probe_sigma_nm}
    kern = np.fft.fftshift(np.fft.ifft2(stem_transfer(p, shape)).real)
    return kern / kern.sum()


def scan_offsets(seed: int, height: int, jitter_px: float, drift_px: float) -> Tensor:
    """Per-line x offsets (px, float64, length ``height``) of the scan distortion."""
    g = torch.Generator(device="cpu").manual_seed(int(seed))
    noise = torch.randn(height, generator=g, dtype=torch.float64)
    lines = torch.arange(height, dtype=torch.float64) - (height - 1) / 2
    return jitter_px * noise + drift_px * lines / 100.0


def shift_lines(y: Tensor, offsets: Tensor) -> Tensor:
    """``out[b, :, i, j] = y[b, :, i, j + offsets[b, i]]``, linear along x, edge-clamped."""
    b, c, h, w = y.shape
    pos = torch.arange(w, dtype=offsets.dtype, device=offsets.device)[None, None, :]
    pos = (pos + offsets[:, :, None]).clamp(0, w - 1)  # (B, H, W)
    j0 = pos.floor().clamp(max=max(w - 2, 0))
    f = (pos - j0).to(y.dtype)[:, None]
    j0 = j0.long()[:, None].expand(b, c, h, w)
    j1 = (j0 + 1).clamp(max=w - 1)
    return (1 - f) * y.gather(-1, j0) + f * y.gather(-1, j1)


def forward_stem(x: Tensor, params: Mapping[str, Tensor | float],
                 seeds: Tensor | None = None) -> Tensor:
    """STEM image of (B, 1, H, W) images: probe convolution, then scan distortion if seeded."""
    b, h, w = check_image(x)
    cols = {k: param_array(params, k, b, "STEM") for k in STEM_KEYS}
    shape = fft_padded_shape((h, w))
    q = np.stack([stem_quadrant({k: cols[k][i] for k in STEM_KEYS}, shape) for i in range(b)])
    y = filter_images(x, q[:, None])
    if seeds is None:
        seeds = params.get("scan_seed")
    if seeds is None:
        return y
    seeds = torch.as_tensor(seeds).reshape(-1)
    if seeds.numel() == 1:
        seeds = seeds.expand(b)
    if seeds.numel() != b:
        raise ValueError(f"'scan_seed' has {seeds.numel()} values for a batch of {b}")
    jit = param_array(params, "scan_jitter_px", b, "STEM")
    drift = param_array(params, "scan_drift_px", b, "STEM")
    off = torch.stack([scan_offsets(int(seeds[i]), h, jit[i], drift[i]) for i in range(b)])
    return shift_lines(y, off.to(y.device))


_HALF = math.sqrt(math.log(2.0) / (2.0 * math.pi**2))  # sigma k_half of a Gaussian transfer


def _first_below(t: np.ndarray, k: np.ndarray, level: float) -> float:
    """The first k (linearly interpolated) where ``t`` drops below ``level``; inf if never."""
    below = np.nonzero(t < level)[0]
    if len(below) == 0:
        return math.inf
    i = int(below[0])
    if i == 0:
        return float(k[0])
    t0, t1 = float(t[i - 1]), float(t[i])
    return float(k[i - 1] + (k[i] - k[i - 1]) * (t0 - level) / (t0 - t1))


def gaussian_equivalent_sigma_px(transfer: np.ndarray) -> float:
    """The sigma (px) of the Gaussian whose transfer falls to 1/2 where ``transfer`` (a
    (2N, 2N) unshifted transfer function) does along its first row (0..Nyquist)."""
    row = np.real(transfer[0, : transfer.shape[1] // 2 + 1])
    k = np.arange(len(row)) / transfer.shape[1]
    k_half = _first_below(row, k, 0.5)
    return _HALF / k_half if math.isfinite(k_half) else _HALF / 0.5


class STEMOperator(Operator):
    """STEM: probe convolution then scan distortion (:func:`forward_stem`); the transfer
    function is the probe's (the scan distortion, seeded by ``scan_seed``, is not linear
    shift-invariant and is left out of it)."""

    name = "STEM"
    seed_params = ("scan_seed",)
    blur_label = "probe width, Gaussian-equivalent σ (px)"

    def A(self, x: Tensor, params: Mapping[str, Tensor | float], *,
          seeds: Tensor | None = None) -> Tensor:
        return forward_stem(x, params, seeds)

    def _transfer(self, p: Mapping[str, float], shape: tuple[int, int],
                  image_shape: tuple[int, int]) -> np.ndarray:
        return stem_transfer(p, shape)

    def blur_px(self, params: Mapping[str, float], image_size: int) -> float:
        """The sigma (px) of the Gaussian whose transfer falls to 1/2 where the probe's does."""
        n = 2 * int(image_size)
        p = {key: float(params[key]) for key in ("pixel_size_nm", "probe_sigma_nm",
                                                 "aperture_mrad", "defocus_nm", "cs_mm")}
        p["voltage_kv"] = float(params.get("voltage_kv", 200.0))
        return gaussian_equivalent_sigma_px(stem_transfer(p, (n, n)))
