"""Classical restoration baselines: noisy input, Wiener, Richardson-Lucy, BM3D, tip erosion.

Every registered model has the signature ``restore(y, modality, params, **options)``:

* ``y`` -- one degraded image, NumPy ``(H, W)``, in the clean images' units (clean in [0, 1]);
* ``modality`` -- a SIMART modality (``"AFM"``, ``"TEM"``, ``"SEM"``, ``"STEM"``: the
  operators of :data:`simart.specs.operators.OPERATORS` of dataset ``simart``);
* ``params`` -- the image's row of the parameter table (every physical parameter, incl.
  ``pixel_size_nm``, ``poisson_counts`` (counts at full scale) and ``gaussian_sigma``
  (fraction of the dynamic range)); extra keys are ignored;
* returns a float32 ``(H, W)`` estimate of the clean image.

A model that is undefined for a modality raises :class:`NotApplicableError` (a ``ValueError``)
whose message says why; the evaluation stage records such images as missing with that reason.

The operator-aware models (Wiener, RL) use the true operator of the image: the transfer
function of its linear part (``Operator.transfer``; an operator without one, such as AFM's
tip dilation, makes them not applicable, with its reason), on the grid that the forward
operator filters on (the image extended as ``simart.physics.fft_pad_width`` says, see
:class:`FFTGrid`). So the deconvolution inverts exactly the model that made the data.

Clipping: ``wiener``, ``richardson_lucy``, ``bm3d`` and ``tip_erosion`` clip their output to
[0, 1] (the range of the clean targets) unless called with ``clip=False``; ``noisy`` returns
the measurement unchanged (it is the "noisy input" row, unclipped like the stored data).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from simart import physics
from simart.specs.models import MODELS
from simart.specs.models import names as model_names
from simart.specs.operators import operator_names

SignalModel = Literal["powerlaw", "1/f2", "flat"]
Denoise = Literal["bm3d", "median3", "none"]
_RL_EPS = 1e-12  # added to the RL denominator (as scikit-image does)


class NotApplicableError(ValueError):
    """The restoration model is undefined for this modality / operator (reason in message)."""


# ----------------------------------------------------------------------------- helpers


def _check_modality(modality: str) -> None:
    """ValueError naming the allowed modalities when ``modality`` has no SIMART operator."""
    allowed = operator_names("simart")
    if modality not in allowed:
        raise ValueError(f"unknown modality {modality!r}; allowed: {list(allowed)}")


def _param(params: Mapping[str, Any], key: str) -> float:
    """One float parameter from the image's row; ValueError naming the key if absent."""
    try:
        return float(params[key])
    except KeyError:
        raise ValueError(f"parameter {key!r} missing from the image's parameter row") from None


def _as_image(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(f"expected one (H, W) image, got shape {y.shape}")
    return y


def _finish(x: np.ndarray, clip: bool) -> np.ndarray:
    return (np.clip(x, 0.0, 1.0) if clip else x).astype(np.float32)


@dataclass(frozen=True)
class FFTGrid:
    """How an (H, W) image is extended before FFT filtering, and cropped back.

    ``pad_width`` is numpy's ``((top, bottom), (left, right))`` in px, ``mode`` numpy's pad
    mode. The physics convention (``simart.physics.fft_pad_width``) is the whole-image
    mirror ``((0, H), (0, W))`` with ``mode="symmetric"``: one period of the half-sample
    symmetric extension, continuous across the FFT wrap-around.
    """

    pad_width: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))
    mode: str = "symmetric"

    @classmethod
    def reflect(cls, pad: int) -> FFTGrid:
        """``pad`` px on every side, mirrored without repeating the edge (torch 'reflect')."""
        return cls(((pad, pad), (pad, pad)), "reflect")

    @classmethod
    def from_physics(cls, shape: tuple[int, int]) -> FFTGrid:
        """The forward operators' grid: ``physics.fft_pad_width(shape)``.

        A numpy pad_width (the physics convention) is used with ``mode="symmetric"``, as
        ``simart.physics.common`` documents; a plain int ``p`` means a 'reflect' pad of
        ``p`` px per side.
        """
        pw = physics.fft_pad_width(tuple(shape))
        if np.ndim(pw) == 0:
            return cls.reflect(int(pw))
        (t, b), (left, r) = ((int(u), int(v)) for u, v in pw)
        return cls(((t, b), (left, r)), "symmetric")

    def padded_shape(self, shape: tuple[int, int]) -> tuple[int, int]:
        (t, b), (left, r) = self.pad_width
        return shape[0] + t + b, shape[1] + left + r

    def pad(self, y: np.ndarray) -> np.ndarray:
        if self.padded_shape(y.shape) == y.shape:
            return y
        return np.pad(y, self.pad_width, mode=self.mode)

    def crop(self, x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        (t, _), (left, _) = self.pad_width
        return x[t:t + shape[0], left:left + shape[1]]

    def taper_width(self, shape: tuple[int, int]) -> int:
        """Pad width over which to taper the wrap-around jump (0: extension is periodic)."""
        periodic = self.mode == "symmetric" and all(
            sum(pw) in (0, n) for pw, n in zip(self.pad_width, shape, strict=True))
        return 0 if periodic else min(min(pw) for pw in self.pad_width)


def noise_variance(y: np.ndarray, params: Mapping[str, Any]) -> float:
    """Per-pixel noise variance of ``y`` from the known noise parameters (image units²).

    ``gaussian_sigma² + mean(y) / poisson_counts``: Gaussian read noise plus the Poisson
    variance ``P(x)/λ`` of ``y = Poisson(λ P(x)) / λ``, averaged over the image.
    """
    return physics.noise_variance(float(np.mean(y)), _param(params, "gaussian_sigma"),
                                  _param(params, "poisson_counts"))


def _operator_otf(
    modality: str, params: Mapping[str, Any], shape: tuple[int, int]
) -> tuple[FFTGrid, np.ndarray]:
    """(FFT grid, OTF on it) of the image's linear operator; NotApplicable when the operator
    has no transfer function (the operator's reason)."""
    op = physics.operator(modality)
    if not op.linear:
        raise NotApplicableError(op.nonlinear_reason)
    grid = FFTGrid.from_physics(shape)
    # the image's own shape fixes the SEM charging width (a fraction of the field of view)
    otf = physics.linear_otf(modality, params, grid.padded_shape(shape), image_shape=tuple(shape))
    return grid, np.asarray(otf, dtype=np.complex128)


# ------------------------------------------------------------------- core algorithms


def _radial_freq(shape: tuple[int, int]) -> np.ndarray:
    ky, kx = sfft.fftfreq(shape[0])[:, None], sfft.fftfreq(shape[1])[None, :]
    return np.sqrt(ky**2 + kx**2)


def _ring_signal_estimates(
    y_pad: np.ndarray, otf: np.ndarray, noise_var: float, n_rings: int = 24
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, S(k), w): clean power per ring, ``(mean|Y|²/M − σ²) / mean|H|²``, where reliable.

    Rings are log-spaced in |k| (cycles/px) from one frequency bin to 0.5; a ring is kept
    when its measured power exceeds twice the noise and its mean ``|H|²`` exceeds 0.01.
    ``w`` = 1 / (std of log S) ≈ sqrt(pixels in ring) · (signal / total power), for the fit.
    """
    k = _radial_freq(y_pad.shape).ravel()
    power = (np.abs(sfft.fft2(y_pad)) ** 2).ravel() / y_pad.size
    h2 = (np.abs(otf) ** 2).ravel()
    edges = np.geomspace(1.0 / max(y_pad.shape), 0.5, n_rings + 1)
    ring = np.digitize(k, edges)
    ks, ss, ws = [], [], []
    for i in range(1, n_rings + 1):
        sel = ring == i
        if sel.sum() < 4:
            continue
        py, mh2 = power[sel].mean(), h2[sel].mean()
        if py > 2 * noise_var and mh2 > 1e-2:
            ks.append(np.sqrt(edges[i - 1] * edges[i]))
            ss.append((py - noise_var) / mh2)
            ws.append(np.sqrt(sel.sum()) * (py - noise_var) / py)
    return np.array(ks), np.array(ss), np.array(ws)


def signal_spectrum(
    y_pad: np.ndarray, otf: np.ndarray, noise_var: float, model: SignalModel = "powerlaw"
) -> np.ndarray:
    """Clean-image power spectrum ``S(k) = E|X(k)|²/M`` (image units², per pixel) for Wiener.

    ``"powerlaw"`` (default): ``S = A (|k|² + k0²)^(−β/2)``, ``k0`` one frequency bin,
    with ``β`` (clamped to [1, 4]) and ``A`` fitted (weighted least squares in log-log) to
    ring estimates of the measured spectrum corrected for the known noise and the OTF
    (:func:`_ring_signal_estimates`); with fewer than 3 reliable rings it falls back to
    ``"1/f2"``: ``β = 2`` with ``A`` fitted by moments, ``var(y) − σ² = mean_k |H|² S``.
    ``"flat"``: white signal, ``S = A`` (same moment fit).
    """
    if model not in ("powerlaw", "1/f2", "flat"):
        raise ValueError(f"signal_model {model!r} not allowed; use 'powerlaw', '1/f2' or 'flat'")
    kr = _radial_freq(y_pad.shape)
    k0 = 1.0 / max(y_pad.shape)
    if model == "powerlaw":
        ks, ss, ws = _ring_signal_estimates(y_pad, otf, noise_var)
        if len(ks) >= 3:
            slope = np.polyfit(np.log(ks), np.log(ss), 1, w=ws)[0]
            beta = float(np.clip(-slope, 1.0, 4.0))
            log_amp = float(np.average(np.log(ss) + beta * np.log(ks), weights=ws**2))
            return np.exp(log_amp) * (kr**2 + k0**2) ** (-beta / 2)
    shape = np.ones_like(kr) if model == "flat" else 1.0 / (kr**2 + k0**2)
    var_y = float(np.var(y_pad))
    h2s = (np.abs(otf) ** 2 * shape).ravel()[1:].mean()
    return max(var_y - noise_var, 0.01 * var_y, 1e-12) / max(h2s, 1e-12) * shape


def edge_taper(y_pad: np.ndarray, pad: int) -> np.ndarray:
    """Blend the outer half of a ``pad``-px border into a smooth (Gaussian σ = pad/4) copy.

    A reflect-padded image jumps where the FFT grid wraps around; a deconvolution reads
    that jump as signal and rings. A raised-cosine weight (1 inside the image and the inner
    half of the pad, 0 at the grid edge) removes the jump; the image region is unchanged.
    Not needed (``pad = 0``) for the physics grid, whose mirror extension is periodic.
    """
    if pad < 2:
        return y_pad

    def weight(n: int) -> np.ndarray:
        dist = np.minimum(np.arange(n), n - 1 - np.arange(n))
        return 0.5 - 0.5 * np.cos(np.pi * np.clip(dist / (pad / 2), 0.0, 1.0))

    alpha = weight(y_pad.shape[0])[:, None] * weight(y_pad.shape[1])[None, :]
    smooth = ndimage.gaussian_filter(y_pad, max(pad / 4, 1.0), mode="wrap")
    return alpha * y_pad + (1 - alpha) * smooth


def wiener_deconvolve(
    y: np.ndarray,
    otf: np.ndarray,
    grid: FFTGrid,
    noise_var: float,
    *,
    signal_model: SignalModel = "powerlaw",
    clip: bool = True,
) -> np.ndarray:
    """Wiener deconvolution ``X = conj(H) Y / (|H|² + σ²/S(k))`` on the extended grid.

    ``otf``: complex transfer function on the unshifted FFT grid of ``grid.pad(y)``;
    ``noise_var`` = σ², white, image units² (0 = the exact inverse filter, which needs an
    OTF without zeros); ``S(k)`` from :func:`signal_spectrum`. A non-periodic extension is
    edge-tapered (:func:`edge_taper`) first. Returns float32 ``(H, W)``.
    """
    y = _as_image(y)
    y_pad = edge_taper(grid.pad(y), grid.taper_width(y.shape))
    if otf.shape != y_pad.shape:
        raise ValueError(f"OTF shape {otf.shape} != padded image shape {y_pad.shape}")
    nsr = noise_var / signal_spectrum(y_pad, otf, noise_var, signal_model) if noise_var > 0 else 0
    x_pad = sfft.ifft2(np.conj(otf) * sfft.fft2(y_pad) / (np.abs(otf) ** 2 + nsr)).real
    return _finish(grid.crop(x_pad, y.shape), clip)


def psf_from_otf(otf: np.ndarray, *, neg_tol: float = 0.05) -> np.ndarray:
    """Non-negative PSF (unshifted, origin at [0, 0]) of an OTF, for Richardson-Lucy.

    A blur sampled only up to Nyquist (e.g. an SEM beam narrower than a pixel, or a STEM
    probe OTF cut at Nyquist) has small Gibbs lobes: measured over the default parameter
    ranges, down to -2.6 % (SEM) and -0.3 % (STEM) of the peak. Lobes down to
    ``-neg_tol * max`` are set to 0 and the PSF rescaled to keep its sum (the DC gain);
    deeper ones mean the operator is not a blur (TEM CTFs: -20 % to -1700 %) and RL is
    undefined: NotApplicableError.
    """
    psf = sfft.ifft2(otf).real
    if psf.min() < -neg_tol * psf.max():
        raise NotApplicableError(
            f"PSF has negative lobes (min/max = {psf.min() / psf.max():.3g}): "
            "Richardson-Lucy needs a non-negative PSF")
    clipped = np.clip(psf, 0.0, None)
    return clipped * (psf.sum() / clipped.sum())


def richardson_lucy_deconvolve(
    y: np.ndarray, psf: np.ndarray, grid: FFTGrid, num_iter: int = 50, *, clip: bool = True
) -> np.ndarray:
    """Richardson-Lucy on the extended grid (``grid.pad(y)``), circular (FFT) convolution.

    ``psf``: non-negative, unshifted (origin at [0, 0]), shape of the extended image; its sum
    ``g`` (the operator's DC gain) need not be 1: the update is
    ``x ← x · Hᵀ(y / Hx) / Hᵀ1`` with ``Hᵀ1 = g``, the Poisson-likelihood EM step for
    ``y ≈ Hx``, so ``g · Σx = Σy`` (flux conserved) after every iteration. Negative
    measurements (Gaussian noise) are set to 0 first; the start is the flat image
    ``mean(y) / g``. Equals ``skimage.restoration.richardson_lucy`` for a periodic image.
    """
    y = _as_image(y)
    y_pad = np.clip(grid.pad(y), 0.0, None)
    if psf.shape != y_pad.shape:
        raise ValueError(f"PSF shape {psf.shape} != padded image shape {y_pad.shape}")
    otf = sfft.rfft2(psf)
    gain = float(psf.sum())
    if gain <= 0:
        raise NotApplicableError("PSF sums to zero: Richardson-Lucy undefined")

    def conv(a: np.ndarray, h: np.ndarray) -> np.ndarray:
        return sfft.irfft2(sfft.rfft2(a) * h, s=y_pad.shape)

    x = np.full_like(y_pad, max(float(y_pad.mean()), _RL_EPS) / gain)
    for _ in range(num_iter):
        x *= conv(y_pad / (conv(x, otf) + _RL_EPS), np.conj(otf)) / gain
    return _finish(grid.crop(x, y.shape), clip)


def bm3d_profile() -> Any:
    """BM3D's 'np' profile (``bm3d.BM3DProfile()``) run single-threaded (``num_threads = 1``).

    Reproducibility: with its default ``num_threads = 0`` ("auto": one thread per core) the
    bm3d 4.0.3 / bm4d 4.2.5 binary aggregates the block estimates from several threads in
    whatever order they finish, in float32, so the output varies from call to call (the
    profile's own comment says so). Measured in one process on a 2-core machine, 10 calls
    on one 128 x 128 image (sigma 0.05): auto threads gave 3 distinct float32 outputs (max
    |diff| 1.8e-7), 4 threads 10 distinct (1.3e-4), 1 thread 1; on a 256 x 256 image
    8 threads differed by up to 2.2e-4. The 1-thread result differs from the auto one by
    up to ~1e-4, so the stored ``bm3d`` and ``tip_erosion`` (which denoises with BM3D
    first) numbers change once with this fix. FFTs are not the cause: the binary links no
    FFTW (its own fixed-size transforms) and the Python part uses scipy.fftpack. One
    thread also matches the evaluation rule's ``threads: 1``; on 2 cores it was not
    slower (3.4 s vs 4.0 s per 256² call).
    """
    import bm3d  # closed-source binary: loaded on first use

    profile = bm3d.BM3DProfile()
    profile.num_threads = 1
    return profile


def bm3d_denoise(y: np.ndarray, sigma: float, *, clip: bool = True) -> np.ndarray:
    """BM3D (``bm3d.bm3d``, profile 'np', one thread: :func:`bm3d_profile`) at std ``sigma``.

    ``sigma``: white-noise std in image units. Bit-identical from call to call.
    """
    import bm3d  # closed-source binary: loaded on first use

    y = _as_image(y)
    if sigma <= 0:
        return _finish(y, clip)
    out = bm3d.bm3d(y, sigma_psd=sigma, profile=bm3d_profile())
    return _finish(np.asarray(out, dtype=np.float64), clip)


def tip_erode(
    y: np.ndarray,
    kernel: np.ndarray,
    *,
    denoise: Denoise = "bm3d",
    noise_sigma: float = 0.0,
    clip: bool = True,
) -> np.ndarray:
    """Villarrubia surface reconstruction ``s_r = y ⊖ K``, optionally after a denoise.

    Erosion by the tip (``simart.physics.erode_exact``, ``K ≤ 0`` in image units) inverts the
    imaging dilation where the tip touched the surface and is an upper bound elsewhere.
    Erosion is a min-filter: it picks the most negative noise sample under the tip apex, so
    by default the image is first denoised with BM3D at ``noise_sigma`` (image units);
    ``"median3"`` is a 3 × 3 median filter, ``"none"`` erodes the raw measurement.
    """
    y = _as_image(y)
    if denoise == "bm3d":
        y = bm3d_denoise(y, noise_sigma, clip=False).astype(np.float64)
    elif denoise == "median3":
        y = ndimage.median_filter(y, size=3, mode="reflect")
    elif denoise != "none":
        raise ValueError(f"denoise {denoise!r} not allowed; use 'bm3d', 'median3' or 'none'")
    x = physics.erode_exact(y, np.asarray(kernel, dtype=np.float64))
    return _finish(np.asarray(x, dtype=np.float64), clip)


# ------------------------------------------------------------ registry (y, modality, params)


def restore_noisy(y: np.ndarray, modality: str, params: Mapping[str, Any]) -> np.ndarray:
    """The measurement itself (the "noisy input" row): float32 copy, unclipped."""
    _check_modality(modality)
    return np.array(y, dtype=np.float32)


def restore_wiener(
    y: np.ndarray,
    modality: str,
    params: Mapping[str, Any],
    *,
    signal_model: SignalModel = "powerlaw",
    clip: bool = True,
) -> np.ndarray:
    """Wiener deconvolution with the image's true OTF and known noise level.

    Noise variance from :func:`noise_variance`; signal spectrum from :func:`signal_spectrum`.

    TEM: the signed CTF (zeros handled by the NSR); SEM: the linearised beam + charging
    OTF; STEM: the probe OTF; AFM: NotApplicableError (non-linear dilation).
    """
    _check_modality(modality)
    y = _as_image(y)
    grid, otf = _operator_otf(modality, params, y.shape)
    nvar = noise_variance(y, params)
    return wiener_deconvolve(y, otf, grid, nvar, signal_model=signal_model, clip=clip)


def restore_richardson_lucy(
    y: np.ndarray,
    modality: str,
    params: Mapping[str, Any],
    *,
    num_iter: int = 50,
    clip: bool = True,
) -> np.ndarray:
    """Richardson-Lucy (``num_iter`` iterations) with the true PSF, SEM and STEM only.

    TEM: NotApplicableError (the CTF is signed: its PSF has negative lobes, RL's
    multiplicative update needs a non-negative PSF); AFM: NotApplicableError (non-linear).
    """
    _check_modality(modality)
    reason = physics.operator(modality).rl_reason
    if reason is not None:
        raise NotApplicableError(reason)
    y = _as_image(y)
    grid, otf = _operator_otf(modality, params, y.shape)
    return richardson_lucy_deconvolve(y, psf_from_otf(otf), grid, num_iter, clip=clip)


def restore_bm3d(
    y: np.ndarray, modality: str, params: Mapping[str, Any], *, clip: bool = True
) -> np.ndarray:
    """BM3D denoising (all modalities; ignores the operator, i.e. denoises only).

    ``sigma_psd = sqrt(gaussian_sigma² + mean(y) / poisson_counts)`` (see :func:`noise_variance`).
    """
    _check_modality(modality)
    y = _as_image(y)
    return bm3d_denoise(y, float(np.sqrt(noise_variance(y, params))), clip=clip)


def restore_tip_erosion(
    y: np.ndarray,
    modality: str,
    params: Mapping[str, Any],
    *,
    denoise: Denoise = "bm3d",
    clip: bool = True,
) -> np.ndarray:
    """Villarrubia erosion by the image's known tip (AFM only), see :func:`tip_erode`.

    Tip from ``tip_radius_nm``, ``tip_half_angle_deg``, ``pixel_size_nm`` and
    ``height_scale_nm`` via ``simart.physics.tip_kernel``; BM3D pre-denoise at the known
    noise level (as :func:`restore_bm3d`).
    """
    _check_modality(modality)
    if modality != "AFM":
        raise NotApplicableError(
            f"tip erosion inverts the AFM tip dilation; {modality} has no tip")
    keys = ("tip_radius_nm", "tip_half_angle_deg", "pixel_size_nm", "height_scale_nm")
    kernel = physics.tip_kernel(*(_param(params, k) for k in keys))
    y = _as_image(y)
    sigma = float(np.sqrt(noise_variance(y, params)))
    return tip_erode(y, kernel, denoise=denoise, noise_sigma=sigma, clip=clip)


RestoreFn = Callable[..., np.ndarray]

#: name -> restore function of the input and classical entries of simart.specs.models
CLASSICAL_MODELS: dict[str, RestoreFn] = {
    name: MODELS[name].load() for name in model_names("input", "classical")}


def restore_batch(
    model: str, ys: np.ndarray, modality: str, params_df: Any, **options: Any
) -> tuple[np.ndarray, list[str]]:
    """Restore a stack ``ys`` (N, H, W) with one registered model.

    ``params_df``: a pandas DataFrame (one row per image, in order) or a sequence of
    mappings. Returns ``(preds, status)``: preds float32 (N, H, W), NaN where the model is
    not applicable; ``status[i]`` is ``"ok"`` or ``"missing: <reason>"``.
    """
    if model not in CLASSICAL_MODELS and model in model_names("input", "classical"):
        CLASSICAL_MODELS[model] = MODELS[model].load()   # registered after the import
    if model not in CLASSICAL_MODELS:
        raise ValueError(f"unknown model {model!r}; available: {sorted(CLASSICAL_MODELS)}")
    rows = params_df.to_dict("records") if hasattr(params_df, "to_dict") else list(params_df)
    if len(rows) != len(ys):
        raise ValueError(f"{len(ys)} images but {len(rows)} parameter rows")
    preds = np.full(np.shape(ys), np.nan, dtype=np.float32)
    status: list[str] = []
    for i, (y, row) in enumerate(zip(ys, rows, strict=True)):
        try:
            preds[i] = CLASSICAL_MODELS[model](y, modality, row, **options)
            status.append("ok")
        except NotApplicableError as exc:
            status.append(f"missing: {exc}")
    return preds, status
