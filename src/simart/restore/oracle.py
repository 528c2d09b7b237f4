"""Oracle restorations of SIMART images: the best a method that knows the truth can do.

The oracle of an image knows its true operator (every physical parameter, the scan
offsets of STEM), its noise level, and the power spectrum of its own clean image. It is a
bound to read the benchmark's numbers against, not a method (it needs the clean image):

* **a linear operator** (TEM; any operator with a transfer function and no entry in
  :data:`ORACLES`) -- the Wiener/MMSE filter with the true transfer
  function ``H`` and the clean image's own spectrum ``S = |X(k)|^2`` on the operators'
  FFT grid (:mod:`simart.physics.common`): ``X = conj(H) S Y / (|H|^2 S + M v)``, ``v`` the
  per-pixel noise variance (``gaussian_sigma^2 + mean(P(x)) / poisson_counts``) and ``M``
  the number of grid points. Per frequency this is the linear estimate with the least
  expected error given that spectrum.

  - STEM: the scan lines are first shifted back by the true offsets (linear
    interpolation), then the probe is deconvolved.
  - SEM: the charging term ``lambda_c tanh(x * G_c)`` is non-linear but smooth (wider than
    a tenth of the field). It is estimated from a first Wiener estimate (linearised
    ``G_b + lambda_c G_c``), subtracted, and the beam ``G_b`` deconvolved; twice.
* **AFM** -- Villarrubia's reconstruction with the true tip: the erosion ``y ⊖ K`` of the
  measurement after an oracle Wiener denoising (``H = 1``, ``S`` the spectrum of the
  noiseless AFM image). The erosion recovers the surface wherever the tip touched it and
  is an upper bound elsewhere (narrow pits the tip cannot enter stay unrecoverable).

Outputs are clipped to [0, 1] like the classical baselines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.fft as sfft
import torch

from simart import physics
from simart.restore.classical import noise_variance, tip_erode

#: what the default oracle does (an operator with a transfer function and no own oracle)
WIENER_ORACLE = "Wiener deconvolution of the true transfer function with the clean image's spectrum"


def _pad(x: np.ndarray) -> np.ndarray:
    return np.asarray(physics.pad_for_fft(np.asarray(x, dtype=np.float64)))


def oracle_wiener(y: np.ndarray, otf: np.ndarray, signal: np.ndarray, noise_var: float
                  ) -> np.ndarray:
    """Wiener filter of ``y`` (H, W) with transfer ``otf`` (2H, 2W) and the signal image
    ``signal`` (H, W) whose spectrum is the prior; float64 (H, W), not clipped."""
    yp, sp = _pad(y), _pad(signal)
    s = np.abs(sfft.fft2(sp)) ** 2
    h = np.asarray(otf)
    est = np.conj(h) * s * sfft.fft2(yp) / (np.abs(h) ** 2 * s + yp.size * noise_var)
    return physics.crop_fft(sfft.ifft2(est).real, y.shape)


def _noiseless(modality: str, clean: np.ndarray, params: Mapping[str, Any],
               scan: bool = True) -> np.ndarray:
    x = torch.from_numpy(np.asarray(clean, dtype=np.float64))[None, None]
    p = {k: float(v) for k, v in params.items()
         if isinstance(v, (int, float, np.integer, np.floating)) and not k.endswith("_seed")}
    seeds = None
    seed_names = physics.operator(modality).seed_params
    if scan and seed_names and seed_names[0] in params:
        seeds = torch.tensor([int(params[seed_names[0]])])
    with torch.no_grad():
        return physics.forward(modality, x, p, seeds=seeds)[0, 0].numpy()


def _unshift_stem(y: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    if "scan_seed" not in params:
        return y
    off = physics.scan_offsets(int(params["scan_seed"]), y.shape[0],
                               float(params["scan_jitter_px"]), float(params["scan_drift_px"]))
    from simart.physics.stem import shift_lines

    t = torch.from_numpy(np.asarray(y, dtype=np.float64))[None, None]
    return shift_lines(t, -off[None])[0, 0].numpy()


def _oracle_afm(x: np.ndarray, y: np.ndarray, params: Mapping[str, Any], v: float,
                shape: tuple[int, int]) -> np.ndarray:
    dilated = _noiseless("AFM", x, params)
    smooth = oracle_wiener(y, np.ones(shape), dilated, v)
    keys = ("tip_radius_nm", "tip_half_angle_deg", "pixel_size_nm", "height_scale_nm")
    kernel = physics.tip_kernel(*(float(params[k]) for k in keys))
    return tip_erode(smooth, kernel, denoise="none")


def _oracle_sem(x: np.ndarray, y: np.ndarray, params: Mapping[str, Any], v: float,
                shape: tuple[int, int]) -> np.ndarray:
    from simart.physics.sem import charging_sigma_nm, gaussian_transfer

    p = {k: float(params[k]) for k in ("sigma_b_nm", "sigma_c_fov", "charging_strength",
                                       "pixel_size_nm")}
    px = p["pixel_size_nm"]
    g_b = gaussian_transfer(p["sigma_b_nm"], px, shape)
    g_c = gaussian_transfer(charging_sigma_nm(p, x.shape), px, shape)
    est = oracle_wiener(y, g_b + p["charging_strength"] * g_c, x, v)
    for _ in range(2):
        blur_c = physics.crop_fft(sfft.ifft2(sfft.fft2(_pad(est)) * g_c).real, x.shape)
        est = oracle_wiener(y - p["charging_strength"] * np.tanh(blur_c), g_b, x, v)
    return np.clip(est, 0.0, 1.0).astype(np.float32)


def _oracle_wiener(modality: str, x: np.ndarray, y: np.ndarray, params: Mapping[str, Any],
                   v: float, shape: tuple[int, int]) -> np.ndarray:
    otf = physics.linear_otf(modality, params, shape, image_shape=x.shape)
    return np.clip(oracle_wiener(y, otf, x, v), 0.0, 1.0).astype(np.float32)


def _oracle_stem(x: np.ndarray, y: np.ndarray, params: Mapping[str, Any], v: float,
                 shape: tuple[int, int]) -> np.ndarray:
    return _oracle_wiener("STEM", x, _unshift_stem(y, params), params, v, shape)


#: modality -> (what its oracle does, the oracle) for operators that need more than the
#: Wiener filter of their transfer function (:data:`WIENER_ORACLE`, the default).
ORACLES: dict[str, tuple[str, Any]] = {
    "AFM": ("Villarrubia erosion by the true tip after Wiener denoising with the true spectrum",
            _oracle_afm),
    "SEM": ("Wiener deconvolution of the true beam after subtracting the estimated charging",
            _oracle_sem),
    "STEM": ("scan lines shifted back, then Wiener deconvolution of the true probe",
             _oracle_stem),
}


def oracle_method(modality: str) -> str:
    """What the oracle of ``modality`` does (the calibration table's caption)."""
    if modality in ORACLES:
        return ORACLES[modality][0]
    op = physics.operator(modality)
    if not op.linear:
        return f"none ({op.nonlinear_reason})"
    return WIENER_ORACLE


def oracle_restore(clean: np.ndarray, degraded: np.ndarray, modality: str,
                   params: Mapping[str, Any]) -> np.ndarray:
    """The oracle estimate (float32 (H, W), clipped to [0, 1]) of one SIMART image from its
    measurement ``degraded``, knowing ``clean``'s spectrum and the row ``params``
    (``ValueError`` for a non-linear operator without an oracle of its own)."""
    x = np.asarray(clean, dtype=np.float64)
    y = np.asarray(degraded, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"clean {x.shape} and degraded {y.shape} must be one (H, W) image")
    shape = physics.fft_padded_shape(x.shape)
    v = noise_variance(_noiseless(modality, x, params), params)
    if modality in ORACLES:
        return ORACLES[modality][1](x, y, params, v, shape)
    return _oracle_wiener(modality, x, y, params, v, shape)
