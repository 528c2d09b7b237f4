"""Full-reference image-quality metrics in the pixel domain, one function per metric.

Convention for every metric function: ``fn(x, ref, data_range=1.0) -> Tensor (B,)``, with
``x`` (the estimate) and ``ref`` (the clean reference) torch tensors ``(B, 1, H, W)`` on any
device; computed in the inputs' dtype (use float64 for reference-grade numbers, as
:func:`simart.metrics.compute_metrics` does). ``data_range`` is the stated dynamic range of
the reference (the clean images are in [0, 1], so 1.0); it is never estimated from the data.
Inputs are checked (:mod:`simart.metrics._checks`): NaN/inf pixels, mismatched shapes and
images smaller than a metric needs raise ``ValueError`` with a message.

Fourier-domain metrics are in :mod:`simart.metrics.fourier`, LPIPS in
:mod:`simart.metrics.lpips`, no-reference metrics in :mod:`simart.metrics.noref`; the
registry of all of them is :data:`simart.metrics.METRICS`.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from simart.metrics._checks import (
    MetricUnavailable,
    check_pair,
    safe_div,
    separable_filter_valid,
)

SSIM_WINDOW = 11  # Gaussian window size: 2 * int(3.5 * sigma + 0.5) + 1 for sigma = 1.5
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
# Wang, Simoncelli & Bovik 2003, Table/eq. for 5 scales (finest first); they sum to 1.0001
MS_SSIM_BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

Border = Literal["valid", "reflect"]


# --------------------------------------------------------------------------- pixel errors
def mse(x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
    """Mean squared error per image, in (image units)²."""
    check_pair(x, ref)
    return (x - ref).pow(2).mean(dim=(1, 2, 3))


def mae(x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
    """Mean absolute error per image, in image units."""
    check_pair(x, ref)
    return (x - ref).abs().mean(dim=(1, 2, 3))


def psnr(x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio in dB per image: ``10 log10(data_range² / MSE)``.

    ``MSE`` is the mean over all pixels of one image. Identical images give ``+inf``
    (MSE = 0); tables keep the inf, summaries must treat it explicitly.
    """
    err = mse(x, ref)
    return 10.0 * torch.log10(data_range**2 / err)


def nrmse_range(x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
    """The PI-DDPM paper's NRMSE: ``sqrt(MSE) / (max(ref) - min(ref))`` per image (range-normalised).

    Equals ``skimage.metrics.normalized_root_mse(ref, x, normalization='min-max')``.
    NaN for a constant reference (zero range).
    """
    check_pair(x, ref)
    flat = ref.flatten(1)
    rng = flat.amax(1) - flat.amin(1)
    return safe_div(mse(x, ref).sqrt(), rng)


def nrmse_euclidean(x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
    """The norm form of NRMSE: ``||x - ref||₂ / ||ref||₂`` per image.

    Equals ``skimage.metrics.normalized_root_mse(ref, x)`` (its default, 'euclidean').
    NaN for an all-zero reference.
    """
    check_pair(x, ref)
    return safe_div((x - ref).flatten(1).norm(dim=1), ref.flatten(1).norm(dim=1))


def nrmse_mean(x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
    """The conditional-DDPM paper's NRMSE (its eq. 9): ``sqrt(MSE) / mean(ref)`` per image.

    Equals ``skimage.metrics.normalized_root_mse(ref, x, normalization='mean')``. NaN for a
    zero-mean reference.
    """
    check_pair(x, ref)
    return safe_div(mse(x, ref).sqrt(), ref.mean(dim=(1, 2, 3)))


def pearson(x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
    """Pearson correlation coefficient of the pixel values per image (the conditional-DDPM paper 'Corr.').

    NaN if either image is constant (zero variance: r is undefined).
    """
    check_pair(x, ref)
    xc = x.flatten(1) - x.flatten(1).mean(1, keepdim=True)
    rc = ref.flatten(1) - ref.flatten(1).mean(1, keepdim=True)
    den = (xc.pow(2).sum(1) * rc.pow(2).sum(1)).sqrt()
    return safe_div((xc * rc).sum(1), den).clamp(-1.0, 1.0)


# --------------------------------------------------------------------------- gradients / EPI
def _forward_gradients(a: Tensor) -> tuple[Tensor, Tensor]:
    """Forward differences on the (H-1) x (W-1) grid where both are defined."""
    gx = a[..., :-1, 1:] - a[..., :-1, :-1]
    gy = a[..., 1:, :-1] - a[..., :-1, :-1]
    return gx, gy


def epi_corr(x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
    """PCSD paper eq. 29 edge preservation index (gradient correlation), per image.

    ``EPI = Σ|∇x̂ · ∇x| / sqrt(Σ|∇x̂|² · Σ|∇x|²)`` with ∇ the forward-difference gradient
    (the paper does not name an operator), sums over the (H-1)(W-1) pixels where it is
    defined. In [0, 1] by Cauchy-Schwarz; identical images give 1. NaN if either image has
    no gradient at all (constant).
    """
    check_pair(x, ref)
    gxa, gya = _forward_gradients(x)
    gxr, gyr = _forward_gradients(ref)
    num = (gxa * gxr + gya * gyr).abs().sum(dim=(1, 2, 3))
    den = ((gxa**2 + gya**2).sum(dim=(1, 2, 3)) * (gxr**2 + gyr**2).sum(dim=(1, 2, 3))).sqrt()
    return safe_div(num, den)


def epi_ratio(x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
    """The PINNED paper edge preservation index (gradient-norm ratio), per image.

    ``EPI = ||∇x̂||₁ / ||∇x||₁`` with the forward-difference gradient and the anisotropic
    ℓ1 norm ``Σ(|∂x| + |∂y|)``. 1 is best (identical images); > 1 means extra edges
    (residual noise, ringing), < 1 lost edges (over-smoothing). NaN for a constant reference.
    """
    check_pair(x, ref)
    gxa, gya = _forward_gradients(x)
    gxr, gyr = _forward_gradients(ref)
    num = (gxa.abs() + gya.abs()).sum(dim=(1, 2, 3))
    return safe_div(num, (gxr.abs() + gyr.abs()).sum(dim=(1, 2, 3)))


# --------------------------------------------------------------------------- SSIM family
def _gaussian_window(dtype: torch.dtype, device: torch.device) -> Tensor:
    r = torch.arange(SSIM_WINDOW, dtype=dtype, device=device) - (SSIM_WINDOW - 1) / 2
    g = torch.exp(-0.5 * (r / SSIM_SIGMA) ** 2)
    return g / g.sum()


def _filter(stack: Tensor, g: Tensor) -> Tensor:
    """Separable Gaussian filter, 'valid' region only (no padding)."""
    return separable_filter_valid(stack, g)


def _ssim_and_cs_maps(
    x: Tensor, ref: Tensor, data_range: float, border: Border
) -> tuple[Tensor, Tensor]:
    """Local SSIM map and contrast-structure map (same grid), see :func:`ssim_map`."""
    half = (SSIM_WINDOW - 1) // 2
    if min(x.shape[-2:]) < SSIM_WINDOW:
        raise MetricUnavailable(f"SSIM needs images of at least {SSIM_WINDOW} px per side, got "
                                f"{tuple(x.shape[-2:])}")
    if border == "reflect":
        x = F.pad(x, (half,) * 4, mode="reflect")
        ref = F.pad(ref, (half,) * 4, mode="reflect")
    elif border != "valid":
        raise ValueError(f"border {border!r} not allowed; use 'valid' or 'reflect'")
    g = _gaussian_window(x.dtype, x.device)
    moments = _filter(torch.cat([x, ref, x * x, ref * ref, x * ref]), g).split(x.shape[0])
    mu_x, mu_r, xx, rr, xr = moments
    var_x = (xx - mu_x**2).clamp(min=0)
    var_r = (rr - mu_r**2).clamp(min=0)
    cov = xr - mu_x * mu_r
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    cs = (2 * cov + c2) / (var_x + var_r + c2)
    return (2 * mu_x * mu_r + c1) / (mu_x**2 + mu_r**2 + c1) * cs, cs


def ssim_map(x: Tensor, ref: Tensor, data_range: float = 1.0, border: Border = "valid") -> Tensor:
    """Local SSIM map (Wang et al. 2004): Gaussian window 11×11, σ = 1.5, K1 = 0.01, K2 = 0.03.

    Local means, variances and covariance are Gaussian-weighted population moments
    (variances clamped at 0). ``border="valid"``: only windows fully inside the image, map
    ``(B, 1, H-10, W-10)``. ``border="reflect"``: reflect-pad by 5 px first, map ``(B, 1, H, W)``.
    Constant images are defined (the constants C1, C2 keep the ratio finite).
    """
    check_pair(x, ref)
    return _ssim_and_cs_maps(x, ref, data_range, border)[0]


def ssim(x: Tensor, ref: Tensor, data_range: float = 1.0, border: Border = "valid") -> Tensor:
    """Mean SSIM per image (see :func:`ssim_map`).

    Default ``border="valid"``: the mean over windows fully inside the image (Wang et al.'s
    reference code; equal to ``skimage.metrics.structural_similarity(gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False)``). ``border="reflect"`` reproduces
    torchmetrics 1.9's ``structural_similarity_index_measure``, which averages the map over
    the whole reflect-padded image.
    """
    return ssim_map(x, ref, data_range, border).mean(dim=(1, 2, 3))


def ms_ssim_min_size(scales: int) -> int:
    """Smallest image side for ``scales`` scales: the 11-px window must fit after
    ``scales - 1`` halvings (2×2 average pooling floors odd sizes): ``11 · 2^(scales-1)``.

    5 scales: 176 px (an estimate of "≈161", ``(11-1)·16 + 1``, ignores the flooring;
    torchmetrics enforces the same 176).
    """
    return SSIM_WINDOW * 2 ** (scales - 1)


def ms_ssim(
    x: Tensor, ref: Tensor, data_range: float = 1.0, scales: int = 5, border: Border = "valid"
) -> Tensor:
    """Multi-scale SSIM (Wang, Simoncelli & Bovik 2003) per image.

    ``Π_{j<M} cs_j^β_j · ssim_M^β_M`` over ``M = scales`` scales, 2×2 average pooling between
    scales, the SSIM window of :func:`ssim_map`, Wang's β (α = β = γ per scale, the PI-DDPM paper eq.
    35). ``cs_j`` and the last-scale SSIM are clamped at 0 before the power (torchmetrics'
    default ``normalize='relu'``; a negative mean cs would give a complex number).

    * ``scales=5``: the published weights ``(0.0448, 0.2856, 0.3001, 0.2363, 0.1333)``.
    * ``scales < 5`` (for images too small for 5 scales): the first ``scales`` weights,
      renormalised to sum to 1 — a different metric, registered under its own name
      (``ms_ssim_3``), never mixed with 5-scale numbers.

    ``border="valid"`` averages every map over the windows inside the image (as
    :func:`ssim`); ``border="reflect"`` reproduces torchmetrics 1.9
    ``multiscale_structural_similarity_index_measure`` (reflect-padded SSIM at the last
    scale, interior cs). Images smaller than :func:`ms_ssim_min_size` raise
    :class:`MetricUnavailable`.
    """
    check_pair(x, ref)
    if not 1 <= scales <= len(MS_SSIM_BETAS):
        raise ValueError(f"MS-SSIM scales must be 1 to {len(MS_SSIM_BETAS)}, got {scales}")
    need = ms_ssim_min_size(scales)
    if min(x.shape[-2:]) < need:
        raise MetricUnavailable(
            f"MS-SSIM with {scales} scales needs images of at least {need} px per side (the "
            f"{SSIM_WINDOW}-px window after {scales - 1} halvings); got "
            f"{x.shape[-2]}x{x.shape[-1]}")
    betas = MS_SSIM_BETAS[:scales]
    if scales < len(MS_SSIM_BETAS):
        betas = tuple(b / sum(betas) for b in betas)
    half = (SSIM_WINDOW - 1) // 2
    out = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
    for j, beta in enumerate(betas):
        smap, csmap = _ssim_and_cs_maps(x, ref, data_range, border)
        if border == "reflect":
            csmap = csmap[..., half:-half, half:-half]
        if j == len(betas) - 1:
            value = smap.mean(dim=(1, 2, 3))
        else:
            value = csmap.mean(dim=(1, 2, 3))
            x, ref = F.avg_pool2d(x, 2), F.avg_pool2d(ref, 2)
        out = out * value.clamp(min=0) ** beta
    return out


def ms_ssim_3(x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
    """3-scale MS-SSIM (first three Wang weights renormalised), for images of 44-175 px."""
    return ms_ssim(x, ref, data_range, scales=3)
