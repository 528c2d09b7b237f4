"""Fourier-domain metrics: FRC (curve and resolution), Fourier spectrum consistency, power-spectrum
similarity, and the one-image FRC for data without ground truth. Batched torch, inputs
``(B, 1, H, W)`` as in :mod:`simart.metrics.full_reference`.

Two FRC thresholds against the clean image, both kept (``docs/metrics.md``, "FRC: which column
is which"): :func:`frc_res_px` at 0.143, the papers' column — 0.143 is the criterion for two
independent noisy halves, so against a noise-free reference it reads optimistic — and
:func:`frc_res_px_ref` at 0.5, the criterion Rosenthal & Henderson (2003, J Mol Biol 333:721)
give for a comparison with a noise-free reference (``C_ref = sqrt(2·FSC / (1 + FSC))`` = 0.5
at FSC = 0.143 between halves). :func:`single_image_frc` (Koho et al. 2019) needs no reference.

Frequency rings: spatial frequency ``f = sqrt(fx² + fy²)`` in cycles/px (``torch.fft.fftfreq``),
binned to rings of width ``1/N`` (``N = min(H, W)``) centred on ``k/N``, ``k = 0 … N//2``
(Nyquist); corners beyond Nyquist are left out. :func:`ring_frequencies` gives the axis.

Window: FRC and the power spectrum multiply both images by a separable Hann window first
(``window="hann"``, the default; ``"none"`` to switch off). The images are not periodic:
without a window the FFT's edge discontinuity puts the same bright cross into both
spectra at every frequency and inflates the high-frequency correlation.
"""

from __future__ import annotations

import functools
import math
from typing import Literal, NamedTuple

import torch
from torch import Tensor

from simart.metrics._checks import MetricUnavailable, check_batch, check_pair, safe_div

FRC_THRESHOLD = 0.143  # the PCSD paper §4.3.1 (the 1/7 criterion)
# Rosenthal & Henderson 2003: C_ref = sqrt(2 * 0.143 / 1.143) = 0.5 against a noise-free reference
FRC_REF_THRESHOLD = 0.5
SFRC_MIN_RINGS = 8  # one-image FRC: fewer correlated rings than this = nothing resolved (NaN)
FRC_MIN_SIZE = 8
Window = Literal["hann", "none"]


@functools.lru_cache(maxsize=16)
def _ring_index(h: int, w: int, device: torch.device) -> tuple[Tensor, Tensor, int, int]:
    """For the half-plane spectrum of ``torch.fft.rfft2`` (H × (W//2 + 1)), flattened: the
    ring of every frequency, the weight that turns a half-plane sum into the full-plane sum
    (2 for the columns whose mirror image is not stored, 1 for DC / Nyquist columns), the
    number of rings and N = min(H, W)."""
    n = min(h, w)
    fy = torch.fft.fftfreq(h, dtype=torch.float64, device=device)
    fx = torch.fft.rfftfreq(w, dtype=torch.float64, device=device)
    radius = torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2) * n
    n_bins = n // 2 + 1
    idx = torch.round(radius).long().clamp(max=n_bins)  # n_bins = beyond Nyquist, dropped
    weight = torch.full((len(fx),), 2.0, dtype=torch.float64, device=device)
    weight[0] = 1.0
    if w % 2 == 0:
        weight[-1] = 1.0
    weight = weight.expand(h, -1)
    return idx.flatten(), weight.flatten(), n_bins, n


def ring_frequencies(h: int, w: int | None = None) -> Tensor:
    """Spatial frequency of each ring, cycles/px: ``k / min(H, W)``, ``k = 0 … N//2``."""
    n = min(h, w if w is not None else h)
    return torch.arange(n // 2 + 1, dtype=torch.float64) / n


def _ring_sum(values: Tensor, h: int, w: int) -> Tensor:
    """Full-plane sum per ring of a half-plane quantity ``values`` (B, H, W//2 + 1) -> (B, rings)."""
    idx, weight, n_bins, _ = _ring_index(h, w, values.device)
    b = values.shape[0]
    offsets = (torch.arange(b, device=values.device) * (n_bins + 1))[:, None]
    flat_idx = (idx[None, :] + offsets).flatten()
    wv = (values.reshape(b, -1) * weight.to(values.dtype)).flatten()
    sums = torch.bincount(flat_idx, weights=wv, minlength=b * (n_bins + 1))
    return sums.view(b, n_bins + 1)[:, :n_bins].to(values.dtype)


def _windowed_rfft(a: Tensor, window: Window) -> Tensor:
    if window == "hann":
        h, w = a.shape[-2:]
        wy = torch.hann_window(h, periodic=False, dtype=a.dtype, device=a.device)
        wx = torch.hann_window(w, periodic=False, dtype=a.dtype, device=a.device)
        a = a * (wy[:, None] * wx[None, :])
    elif window != "none":
        raise ValueError(f"window {window!r} not allowed; use 'hann' or 'none'")
    return torch.fft.rfft2(a[:, 0])


def _check_fourier(x: Tensor, ref: Tensor, what: str) -> None:
    check_pair(x, ref)
    if min(x.shape[-2:]) < FRC_MIN_SIZE:
        raise MetricUnavailable(f"{what} needs images of at least {FRC_MIN_SIZE} px per side; "
                                f"got {x.shape[-2]}x{x.shape[-1]}")


def frc_curve(x: Tensor, ref: Tensor, window: Window = "hann") -> Tensor:
    """Fourier ring correlation per image, ``(B, N//2 + 1)`` (ring ``k`` at ``k/N`` cycles/px).

    ``FRC(k) = Re Σ_ring F₁ F₂* / sqrt(Σ_ring |F₁|² · Σ_ring |F₂|²)``. Identical images give 1
    in every ring; NaN in a ring where either image has no power.
    """
    _check_fourier(x, ref, "FRC")
    h, w = x.shape[-2:]
    fa, fb = _windowed_rfft(x, window), _windowed_rfft(ref, window)
    cross = _ring_sum(fa.real * fb.real + fa.imag * fb.imag, h, w)  # Re(F1 F2*)
    pa = _ring_sum(fa.real**2 + fa.imag**2, h, w)
    pb = _ring_sum(fb.real**2 + fb.imag**2, h, w)
    return safe_div(cross, (pa * pb).sqrt())


def frc_resolution_from_curve(curve: Tensor, n: int, threshold: float = FRC_THRESHOLD) -> Tensor:
    """Resolution in px from FRC curves ``(B, N//2 + 1)``: ``1 / f`` at the first crossing.

    ``f`` is where the curve first drops below ``threshold`` (searching from ring 1 up,
    linear interpolation between the two rings that bracket it). A curve that stays above
    the threshold up to Nyquist gives the sampling limit ``N / (N//2)`` (2 px for even N),
    the best a pixel grid can report. NaN if the curve has NaN (an image without power).
    """
    c = curve[:, 1:]
    below = c < threshold
    has = below.any(dim=1)
    first = torch.argmax(below.to(torch.uint8), dim=1) + 1  # ring index in `curve`
    k = first.clamp(min=1)
    c_hi = curve.gather(1, (k - 1)[:, None])[:, 0]
    c_lo = curve.gather(1, k[:, None])[:, 0]
    frac = safe_div(c_hi - threshold, c_hi - c_lo).clamp(0, 1)
    f_cross = (k - 1 + frac.nan_to_num(1.0)) / n
    nyquist = torch.full_like(f_cross, (n // 2) / n)
    f = torch.where(has, f_cross, nyquist)
    res = 1.0 / f
    return torch.where(torch.isnan(curve).any(dim=1), torch.full_like(res, float("nan")), res)


def frc_res_px(x: Tensor, ref: Tensor, data_range: float = 1.0,
               threshold: float = FRC_THRESHOLD, window: Window = "hann") -> Tensor:
    """FRC resolution (0.143 threshold) of ``x`` against ``ref`` in pixels, per image."""
    curve = frc_curve(x, ref, window)
    return frc_resolution_from_curve(curve, min(x.shape[-2:]), threshold)


def frc_res_nm(x: Tensor, ref: Tensor, data_range: float = 1.0,
               pixel_size_nm: Tensor | float | None = None,
               threshold: float = FRC_THRESHOLD, window: Window = "hann") -> Tensor:
    """FRC resolution in nm: :func:`frc_res_px` × the image's pixel size (nm/px), per image.

    ``pixel_size_nm``: a float or a ``(B,)`` tensor; absent (None) or NaN → unavailable.
    """
    if pixel_size_nm is None:
        raise MetricUnavailable("FRC resolution in nm needs the pixel size (pixel_size_nm)")
    px = frc_res_px(x, ref, threshold=threshold, window=window)
    size = torch.as_tensor(pixel_size_nm, dtype=px.dtype, device=px.device)
    if size.ndim and size.shape != px.shape:
        raise ValueError(f"pixel_size_nm must be a float or one value per image ({px.shape[0]}), "
                         f"got shape {tuple(size.shape)}")
    if bool((size <= 0).any()):
        raise ValueError(f"pixel_size_nm must be > 0 nm/px, got {size.tolist()}")
    return px * size


def frc_res_px_ref(x: Tensor, ref: Tensor, data_range: float = 1.0,
                   window: Window = "hann") -> Tensor:
    """FRC resolution of ``x`` against the noise-free ``ref`` at the 0.5 threshold, px per image.

    0.143 is the threshold for the FRC between two halves with independent noise. When one
    side is noise-free, Rosenthal & Henderson's equivalent is ``C_ref = sqrt(2·0.143/1.143)
    = 0.5`` (:data:`FRC_REF_THRESHOLD`); :func:`frc_res_px` (0.143 against the clean image,
    the papers' column) reads optimistic. Same curve and crossing rule as :func:`frc_res_px`.

    Strictly, 0.143 between halves describes the map that combines both halves (twice the
    SNR of each); for ``x = truth + independent noise`` an FRC of 0.143 between two
    realisations of ``x`` is ``sqrt(1/7) ≈ 0.378`` against the truth. 0.5 is therefore the
    stricter reading for a single estimate (measured in ``tests/test_metrics_fourier.py``).
    """
    return frc_res_px(x, ref, threshold=FRC_REF_THRESHOLD, window=window)


def frc_res_nm_ref(x: Tensor, ref: Tensor, data_range: float = 1.0,
                   pixel_size_nm: Tensor | float | None = None,
                   window: Window = "hann") -> Tensor:
    """:func:`frc_res_px_ref` × the image's pixel size (nm/px), as :func:`frc_res_nm`."""
    return frc_res_nm(x, ref, pixel_size_nm=pixel_size_nm, threshold=FRC_REF_THRESHOLD,
                      window=window)


class SingleImageFRC(NamedTuple):
    """Result of :func:`single_image_frc`, a pair ``(curve, resolution_px)``; the frequency of
    each ring is :func:`single_image_frc_frequencies`."""

    curve: Tensor  # (B, M//2 + 1): mean FRC of the two diagonal sub-image pairs; ring 0 := 1
    resolution_px: Tensor  # (B,): px of the original image, 4 px = finest, NaN = not resolved


def single_image_frc_frequencies(h: int, w: int | None = None) -> Tensor:
    """Frequency of each ring of :func:`single_image_frc`'s curve for an ``H × W`` image, in
    cycles per px of the ORIGINAL image: ``k / (2M)``, ``M = min(H, W) // 2`` (the half-size
    sub-images' side), ``k = 0 … M//2``; the last ring is 1/4 cycles/px."""
    return ring_frequencies(min(h, w if w is not None else h) // 2) / 2


def _aligned_pair_curve(a: Tensor, b: Tensor, shift: tuple[int, int], window: Window) -> Tensor:
    """FRC of two half-size sub-images whose sampling grids are offset by ``shift`` px of the
    original image (b's pixel n sits at a's pixel n + shift/2): the offset is undone exactly by
    the Fourier shift theorem (phase ramp), so a noise-free band-limited image gives 1."""
    h, w = a.shape[-2:]
    a = a - a.mean(dim=(-2, -1), keepdim=True)
    b = b - b.mean(dim=(-2, -1), keepdim=True)
    fa, fb = _windowed_rfft(a, window), _windowed_rfft(b, window)
    fy = torch.fft.fftfreq(h, dtype=a.dtype, device=a.device) / 2  # cycles per original px
    fx = torch.fft.rfftfreq(w, dtype=a.dtype, device=a.device) / 2
    phase = -2 * math.pi * (fy[:, None] * shift[0] + fx[None, :] * shift[1])
    fb = fb * torch.polar(torch.ones_like(phase), phase)
    cross = _ring_sum(fa.real * fb.real + fa.imag * fb.imag, h, w)
    pa = _ring_sum(fa.real**2 + fa.imag**2, h, w)
    pb = _ring_sum(fb.real**2 + fb.imag**2, h, w)
    return safe_div(cross, (pa * pb).sqrt())


def single_image_frc(x: Tensor, threshold: float = FRC_THRESHOLD, window: Window = "hann",
                     min_rings: int = SFRC_MIN_RINGS) -> SingleImageFRC:
    """One-image FRC (Koho et al. 2019, Nat Commun 10:3103) for images without a second
    acquisition or ground truth: ``(curve, resolution_px)``, the resolution in px of the
    original image (ring frequencies: :func:`single_image_frc_frequencies`).

    The image (cropped to even sides) is split into four half-size sub-images by pixel
    parity; the FRC of the diagonal pairs (even, even)/(odd, odd) and (even, odd)/(odd, even)
    is computed (each sub-image mean-removed, Hann-windowed) and the two curves averaged.
    With independent per-pixel noise the two halves of a pair have independent noise, so
    the threshold is 1/7 (0.143) as for two acquisitions.

    Frequency axis. The sub-images are sampled every 2 px, so their ring ``k`` (of
    ``M = min(H, W) // 2``) is ``k / (2M)`` cycles per original px, and a resolution in
    sub-image px is doubled. The two halves of a pair are offset diagonally by one original
    pixel (``sqrt(2)`` px), which alone makes the curve fall with frequency (as
    ``J0(2π·sqrt(2)·f)`` averaged over a ring) even without noise. Koho et al.'s
    implementation (miplib) leaves the offset in and divides the resolution by an empirical
    calibration function; we remove the offset exactly (a phase ramp, Fourier shift
    theorem), so no calibration is needed (a noise-free band-limited image gives 1).

    Limits, stated rather than calibrated away:

    * each half holds a quarter of the pixels: its Fourier SNR is a quarter of that of two
      full-size acquisitions, so the curve crosses 1/7 where their FRC is lower (the same
      crossing for a steep spectral edge, a coarser one for a gently falling spectrum);
    * detail finer than 4 px (above 1/4 cycles/px) aliases into the half-size sub-images:
      4 px, their sampling limit, is the finest resolution reported (a curve that never
      drops below the threshold);
    * a crossing before ring ``min_rings`` of the sub-images (coarser than
      ``2M / min_rings`` px: N/8 for the default 8) is NaN, "not resolved": there a ring
      holds a few windowed Fourier coefficients and the FRC of pure noise exceeds 1/7 by
      chance (white noise, 1000 images each at 32, 64 and 256 px: 1 in 1000 crosses at or
      after ring 8, 3 % at or after ring 4);
    * noise correlated between neighbouring pixels (a restored or interpolated image) is
      shared by the halves and makes the curve read optimistic (white noise smoothed by a
      Gaussian of σ = 1 px reports 4 px, the finest value); contrast that changes sign
      with frequency (a TEM transfer function's zeros) makes the first crossing a zero of
      the transfer function rather than the noise limit.

    NaN (curve and resolution) for a constant image.
    """
    check_batch(x, "x")
    if min(x.shape[-2:]) < 2 * FRC_MIN_SIZE:
        raise MetricUnavailable(f"one-image FRC needs images of at least {2 * FRC_MIN_SIZE} px "
                                f"per side; got {x.shape[-2]}x{x.shape[-1]}")
    if min_rings < 1:
        raise ValueError(f"min_rings must be >= 1, got {min_rings}")
    h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    x = x[..., :h, :w]
    curve = 0.5 * (_aligned_pair_curve(x[..., 0::2, 0::2], x[..., 1::2, 1::2], (1, 1), window)
                   + _aligned_pair_curve(x[..., 0::2, 1::2], x[..., 1::2, 0::2], (1, -1), window))
    curve[:, 0] = torch.where(torch.isnan(curve).any(dim=1), curve[:, 0], 1.0)  # DC: mean removed
    flat = x.flatten(1)
    constant = flat.amax(1) == flat.amin(1)  # only rounding residue is left after the mean
    curve = torch.where(constant[:, None], torch.full_like(curve, float("nan")), curve)
    m = min(h, w) // 2
    res = 2 * frc_resolution_from_curve(curve, m, threshold)
    res = torch.where(res > 2 * m / min_rings, torch.full_like(res, float("nan")), res)
    return SingleImageFRC(curve, res)


def fsc(x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
    """The PINNED paper Fourier spectrum consistency: cosine similarity of the magnitude spectra.

    ``FSC = Σ_k |F(x̂)(k)|·|F(x)(k)| / sqrt(Σ_k |F(x̂)(k)|² · Σ_k |F(x)(k)|²)`` over every
    frequency of the unwindowed 2-D FFT, DC included, as the paper writes it (its typeset
    denominator puts both factors under one sum, which would not give 1 for identical
    images; we read it as the normalised form). In [0, 1]; identical images give 1.
    Dominated by the DC term (mean brightness), so it changes little between restorations.
    """
    _check_fourier(x, ref, "FSC")
    h, w = x.shape[-2:]
    _, weight, _, _ = _ring_index(h, w, x.device)  # half plane -> full plane sums
    weight = weight.to(x.dtype)
    a, b = torch.fft.rfft2(x[:, 0]).abs().flatten(1), torch.fft.rfft2(ref[:, 0]).abs().flatten(1)
    num = torch.linalg.vecdot(a * weight, b)
    return safe_div(num, (torch.linalg.vecdot(a * weight, a) * torch.linalg.vecdot(b * weight, b)).sqrt())


def radial_power_spectrum(x: Tensor, window: Window = "hann") -> Tensor:
    """Radially averaged power spectrum ``mean_ring |F|²`` per image, ``(B, N//2 + 1)``."""
    h, w = x.shape[-2:]
    f = _windowed_rfft(x, window)
    power = _ring_sum(f.real**2 + f.imag**2, h, w)
    counts = _ring_sum(torch.ones_like(f.real[:1]), h, w)
    return power / counts


def pss(x: Tensor, ref: Tensor, data_range: float = 1.0, window: Window = "hann") -> Tensor:
    """PCSD paper §4.3.2 power-spectrum similarity: Pearson r of the log power spectra, per image.

    The paper says only "correlation between power spectra". Ours: the radially averaged
    power spectra (Hann-windowed) of both images, ``log10``, rings 1 … N//2 (DC left out),
    Pearson correlation over the rings. 1 = same spectral shape (overall scale ignored).
    Used against the clean image (``pss``) and, as the paper does for data without ground
    truth, against the degraded input (``pss_input``). NaN if a ring has no power.
    """
    _check_fourier(x, ref, "power-spectrum similarity")
    la = torch.log10(radial_power_spectrum(x, window)[:, 1:])
    lb = torch.log10(radial_power_spectrum(ref, window)[:, 1:])
    ok = torch.isfinite(la).all(1) & torch.isfinite(lb).all(1)
    la, lb = la.nan_to_num(0, 0, 0), lb.nan_to_num(0, 0, 0)
    ac, bc = la - la.mean(1, keepdim=True), lb - lb.mean(1, keepdim=True)
    r = safe_div((ac * bc).sum(1), (ac.pow(2).sum(1) * bc.pow(2).sum(1)).sqrt()).clamp(-1, 1)
    return torch.where(ok, r, torch.full_like(r, float("nan")))
