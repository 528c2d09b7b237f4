"""Classical restoration baselines: noisy input, Wiener, Richardson-Lucy, BM3D, tip erosion.

Every registered model has the signature ``restore(y, modality, params, **options)``:

* ``y`` -- one degraded image, NumPy ``(H, W)``, in the clean images' units (clean in [0, 1]);
* ``modality`` -- ``"AFM"``, ``"TEM"``, ``"SEM"`` or ``"STEM"``;
* ``params`` -- the image's row of the parameter table (every physical parameter, incl.
  ``pixel_size_nm``, ``poisson_counts`` (counts at full scale) and ``gaussian_sigma``
  (fraction of the dynamic range)); extra keys are ignored;
* returns a float32 ``(H, W)`` estimate of the clean image.

A model that is undefined for a modality raises :class:`NotApplicableError` (a ``ValueError``)
whose message says why; the evaluation stage records such images as missing with that reason.

The operator-aware models (Wiener, RL) use the true operator of the image: the transfer
function of its linear part, ``simart.physics.linear_otf``, on the grid that the forward
operator filters on (the image reflect-padded by ``simart.physics.fft_pad_width`` pixels on
each side). So the deconvolution inverts exactly the model that made the data.

Clipping: ``wiener``, ``richardson_lucy``, ``bm3d`` and ``tip_erosion`` clip their output to
[0, 1] (the range of the clean targets) unless called with ``clip=False``; ``noisy`` returns
the measurement unchanged (it is the "noisy input" row, unclipped like the stored data).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from simart import physics

MODALITIES = ("AFM", "TEM", "SEM", "STEM")
RL_MODALITIES = ("SEM", "STEM")  # operators whose linear part has a non-negative PSF
SignalModel = Literal["1/f2", "flat"]
_RL_EPS = 1e-12  # added to the RL denominator (as scikit-image does)


class NotApplicableError(ValueError):
    """The restoration model is undefined for this modality / operator (reason in message)."""


# ----------------------------------------------------------------------------- helpers


def _check_modality(modality: str) -> None:
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; allowed: {list(MODALITIES)}")


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


def reflect_pad(y: np.ndarray, pad: int) -> np.ndarray:
    """Mirror-pad by ``pad`` px per side, edge pixel not repeated (torch ``mode='reflect'``)."""
    return np.pad(y, pad, mode="reflect") if pad > 0 else y


def crop(x: np.ndarray, pad: int) -> np.ndarray:
    """Undo :func:`reflect_pad`."""
    return x[pad:-pad, pad:-pad] if pad > 0 else x


def noise_variance(y: np.ndarray, params: Mapping[str, Any]) -> float:
    """Per-pixel noise variance of ``y`` from the known noise parameters (image units²).

    ``gaussian_sigma² + mean(y) / poisson_counts``: Gaussian read noise plus the Poisson
    variance ``P(x)/λ`` of ``y = Poisson(λ P(x)) / λ``, averaged over the image.
    """
    sigma = _param(params, "gaussian_sigma")
    counts = _param(params, "poisson_counts")
    return sigma**2 + max(float(np.mean(y)), 0.0) / counts


def _padded_otf(modality: str, params: Mapping[str, Any], shape: tuple[int, int]):
    """(pad, OTF on the padded grid) of the image's linear operator; NotApplicable if none."""
    if modality == "AFM":
        raise NotApplicableError(
            "AFM tip dilation is a non-linear (morphological) operator: it has no OTF")
    pad = int(physics.fft_pad_width(shape))
    padded = (shape[0] + 2 * pad, shape[1] + 2 * pad)
    nonlinear = getattr(physics, "NonLinearOperatorError", NotApplicableError)
    try:
        otf = np.asarray(physics.linear_otf(modality, params, padded), dtype=np.complex128)
    except nonlinear as exc:
        raise NotApplicableError(f"{modality}: non-linear operator ({exc})") from exc
    return pad, otf


# ------------------------------------------------------------------- core algorithms


def signal_weights(shape: tuple[int, int], model: SignalModel = "1/f2") -> np.ndarray:
    """Relative clean-signal power spectrum w(k) on an FFT grid, mean 1 over k != 0.

    ``"1/f2"``: ``w ∝ 1 / (|k|² + k0²)`` with ``k0`` one frequency bin (natural images'
    power law; finite at DC). ``"flat"``: ``w = 1`` (white signal).
    """
    if model == "flat":
        return np.ones(shape)
    if model != "1/f2":
        raise ValueError(f"signal_model {model!r} not allowed; use '1/f2' or 'flat'")
    ky = sfft.fftfreq(shape[0])[:, None]
    kx = sfft.fftfreq(shape[1])[None, :]
    k0 = 1.0 / max(shape)
    w = 1.0 / (ky**2 + kx**2 + k0**2)
    return w / w.ravel()[1:].mean()


def wiener_nsr(
    y_pad: np.ndarray, otf: np.ndarray, noise_var: float, signal_model: SignalModel = "1/f2"
) -> np.ndarray:
    """Noise-to-signal ratio ``NSR(k) = σ_n² / (A w(k))`` for the Wiener filter.

    Noise: white, variance ``noise_var`` per pixel. Signal: ``A w(k)`` with ``w`` from
    :func:`signal_weights` and the amplitude ``A`` fitted by moments to the measured image,
    ``E|Y(k)|²/M = |H(k)|² A w(k) + σ_n²`` summed over k != 0, i.e.
    ``A = (var(y) − σ_n²) / mean_k(|H|² w)`` (floored at 1 % of ``var(y)`` in the numerator),
    so an OTF that suppresses most frequencies (e.g. a TEM CTF) does not bias ``A`` low.
    """
    w = signal_weights(y_pad.shape, signal_model)
    var_y = float(np.var(y_pad))
    h2w = (np.abs(otf) ** 2 * w).ravel()[1:].mean()
    amp = max(var_y - noise_var, 0.01 * var_y, 1e-12) / max(h2w, 1e-12)
    return noise_var / (amp * w)


def wiener_deconvolve(
    y: np.ndarray,
    otf: np.ndarray,
    pad: int,
    noise_var: float,
    *,
    signal_model: SignalModel = "1/f2",
    clip: bool = True,
) -> np.ndarray:
    """Wiener deconvolution ``X = conj(H) Y / (|H|² + NSR)`` on the reflect-padded grid.

    ``otf``: complex transfer function on the unshifted FFT grid of the padded image
    (shape ``(H + 2 pad, W + 2 pad)``); ``noise_var`` in image units² (0 = exact inverse
    filter, which needs an OTF without zeros). Returns float32 ``(H, W)``.
    """
    y_pad = reflect_pad(_as_image(y), pad)
    if otf.shape != y_pad.shape:
        raise ValueError(f"OTF shape {otf.shape} != padded image shape {y_pad.shape}")
    nsr = wiener_nsr(y_pad, otf, noise_var, signal_model) if noise_var > 0 else 0.0
    big_y = sfft.fft2(y_pad)
    x_pad = sfft.ifft2(np.conj(otf) * big_y / (np.abs(otf) ** 2 + nsr)).real
    return _finish(crop(x_pad, pad), clip)


def psf_from_otf(otf: np.ndarray, *, neg_tol: float = 1e-3) -> np.ndarray:
    """Real PSF (unshifted, origin at [0, 0]) of an OTF; NotApplicable if it has negative lobes.

    Negative values down to ``-neg_tol * max(psf)`` (FFT round-off, truncated tails) are set
    to 0; larger ones mean the operator is not a blur (e.g. a signed CTF) and RL is undefined.
    """
    psf = sfft.ifft2(otf).real
    if psf.min() < -neg_tol * psf.max():
        raise NotApplicableError(
            f"PSF has negative lobes (min/max = {psf.min() / psf.max():.3g}): "
            "Richardson-Lucy needs a non-negative PSF")
    return np.clip(psf, 0.0, None)


def richardson_lucy_deconvolve(
    y: np.ndarray, psf: np.ndarray, pad: int, num_iter: int = 50, *, clip: bool = True
) -> np.ndarray:
    """Richardson-Lucy on the reflect-padded grid with circular (FFT) convolution.

    ``psf``: non-negative, unshifted (origin at [0, 0]), shape of the padded image; its sum
    ``g`` (the operator's DC gain) need not be 1: the update is
    ``x ← x · Hᵀ(y / Hx) / Hᵀ1`` with ``Hᵀ1 = g``, the Poisson-likelihood EM step for
    ``y ≈ Hx``, so ``g · Σx = Σy`` (flux conserved) after every iteration. Negative
    measurements (Gaussian noise) are set to 0 first; the start is the flat image
    ``mean(y) / g``. Equals ``skimage.restoration.richardson_lucy`` for a periodic image.
    """
    y_pad = np.clip(reflect_pad(_as_image(y), pad), 0.0, None)
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
    return _finish(crop(x, pad), clip)


def bm3d_denoise(y: np.ndarray, sigma: float, *, clip: bool = True) -> np.ndarray:
    """BM3D (``bm3d.bm3d``, profile 'np') with white-noise std ``sigma`` (image units)."""
    import bm3d  # closed-source binary: loaded on first use

    y = _as_image(y)
    if sigma <= 0:
        return _finish(y, clip)
    return _finish(np.asarray(bm3d.bm3d(y, sigma_psd=sigma), dtype=np.float64), clip)


def tip_erode(
    y: np.ndarray, kernel: np.ndarray, *, median_size: int = 3, clip: bool = True
) -> np.ndarray:
    """Villarrubia surface reconstruction: ``s_r = (y ⊖ K)`` after a median pre-filter.

    Erosion by the tip (``simart.physics.erode_exact``, ``K ≤ 0`` in image units) inverts the
    imaging dilation where the tip touched the surface and is an upper bound elsewhere.
    A min-filter picks the most negative noise sample under the tip apex, so the image is
    first median-filtered over ``median_size`` × ``median_size`` px (1 = no pre-filter).
    """
    y = _as_image(y)
    if median_size > 1:
        y = ndimage.median_filter(y, size=median_size, mode="reflect")
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
    signal_model: SignalModel = "1/f2",
    clip: bool = True,
) -> np.ndarray:
    """Wiener deconvolution with the image's true OTF and known noise level.

    TEM: the signed CTF (zeros handled by the NSR); SEM: the linearised beam + charging
    OTF; STEM: the probe OTF; AFM: NotApplicableError (non-linear dilation).
    """
    _check_modality(modality)
    y = _as_image(y)
    pad, otf = _padded_otf(modality, params, y.shape)
    nvar = noise_variance(y, params)
    return wiener_deconvolve(y, otf, pad, nvar, signal_model=signal_model, clip=clip)


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
    if modality == "TEM":
        raise NotApplicableError(
            "TEM CTF is signed (phase contrast): its PSF has negative lobes, and "
            "Richardson-Lucy needs a non-negative PSF")
    y = _as_image(y)
    pad, otf = _padded_otf(modality, params, y.shape)
    return richardson_lucy_deconvolve(y, psf_from_otf(otf), pad, num_iter, clip=clip)


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
    median_size: int = 3,
    clip: bool = True,
) -> np.ndarray:
    """Villarrubia erosion by the image's known tip (AFM only), see :func:`tip_erode`.

    Tip from ``tip_radius_nm``, ``tip_half_angle_deg``, ``pixel_size_nm`` and
    ``height_scale_nm`` via ``simart.physics.tip_kernel``.
    """
    _check_modality(modality)
    if modality != "AFM":
        raise NotApplicableError(
            f"tip erosion inverts the AFM tip dilation; {modality} has no tip")
    keys = ("tip_radius_nm", "tip_half_angle_deg", "pixel_size_nm", "height_scale_nm")
    kernel = physics.tip_kernel(*(_param(params, k) for k in keys))
    return tip_erode(y, kernel, median_size=median_size, clip=clip)


RestoreFn = Callable[..., np.ndarray]

CLASSICAL_MODELS: dict[str, RestoreFn] = {
    "noisy": restore_noisy,
    "wiener": restore_wiener,
    "richardson_lucy": restore_richardson_lucy,
    "bm3d": restore_bm3d,
    "tip_erosion": restore_tip_erosion,
}


def restore_batch(
    model: str, ys: np.ndarray, modality: str, params_df: Any, **options: Any
) -> tuple[np.ndarray, list[str]]:
    """Restore a stack ``ys`` (N, H, W) with one registered model.

    ``params_df``: a pandas DataFrame (one row per image, in order) or a sequence of
    mappings. Returns ``(preds, status)``: preds float32 (N, H, W), NaN where the model is
    not applicable; ``status[i]`` is ``"ok"`` or ``"missing: <reason>"``.
    """
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
