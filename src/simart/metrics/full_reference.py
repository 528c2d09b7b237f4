"""Full-reference image-quality metrics, one function per metric, and their registry.

Convention for every metric function: ``fn(x, ref, data_range=1.0) -> Tensor (B,)``, with
``x`` (the estimate) and ``ref`` (the clean reference) torch tensors ``(B, 1, H, W)`` on any
device; computed in the inputs' dtype (use float64 for reference-grade numbers, as
:func:`compute_metrics` does). ``data_range`` is the stated dynamic range of the reference
(the clean images are in [0, 1], so 1.0); it is never estimated from the data.

To add a metric: write the function, then add it to :data:`METRICS` with its direction and
a one-line description. :func:`compute_metrics` and the evaluation stage pick it up by name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

SSIM_WINDOW = 11  # Gaussian window size: 2 * int(3.5 * sigma + 0.5) + 1 for sigma = 1.5
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _check_pair(x: Tensor, ref: Tensor) -> None:
    if x.shape != ref.shape or x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(
            f"metric inputs must both be (B, 1, H, W); got {tuple(x.shape)} and {tuple(ref.shape)}")


def psnr(x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio in dB per image: ``10 log10(data_range² / MSE)``.

    ``MSE`` is the mean over all pixels of one image. Identical images give ``+inf``
    (MSE = 0); tables keep the inf, summaries must treat it explicitly.
    """
    _check_pair(x, ref)
    mse = (x - ref).pow(2).mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(data_range**2 / mse)


def _gaussian_window(dtype: torch.dtype, device: torch.device) -> Tensor:
    r = torch.arange(SSIM_WINDOW, dtype=dtype, device=device) - (SSIM_WINDOW - 1) / 2
    g = torch.exp(-0.5 * (r / SSIM_SIGMA) ** 2)
    return g / g.sum()


def _filter(stack: Tensor, g: Tensor) -> Tensor:
    """Separable Gaussian filter, 'valid' region only (no padding)."""
    stack = F.conv2d(stack, g.view(1, 1, 1, -1))
    return F.conv2d(stack, g.view(1, 1, -1, 1))


def ssim_map(
    x: Tensor, ref: Tensor, data_range: float = 1.0, border: Literal["valid", "reflect"] = "valid"
) -> Tensor:
    """Local SSIM map (Wang et al. 2004): Gaussian window 11×11, σ = 1.5, K1 = 0.01, K2 = 0.03.

    Local means, variances and covariance are Gaussian-weighted population moments
    (variances clamped at 0). ``border="valid"``: only windows fully inside the image, map
    ``(B, 1, H-10, W-10)``. ``border="reflect"``: reflect-pad by 5 px first, map ``(B, 1, H, W)``.
    """
    _check_pair(x, ref)
    half = (SSIM_WINDOW - 1) // 2
    if min(x.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW} px per side, got "
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
    num = (2 * mu_x * mu_r + c1) * (2 * cov + c2)
    return num / ((mu_x**2 + mu_r**2 + c1) * (var_x + var_r + c2))


def ssim(
    x: Tensor, ref: Tensor, data_range: float = 1.0, border: Literal["valid", "reflect"] = "valid"
) -> Tensor:
    """Mean SSIM per image (see :func:`ssim_map`).

    Default ``border="valid"``: the mean over windows fully inside the image (Wang et al.'s
    reference code; equal to ``skimage.metrics.structural_similarity(gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False)``). ``border="reflect"`` reproduces
    torchmetrics 1.9's ``structural_similarity_index_measure``, which averages the map over
    the whole reflect-padded image.
    """
    return ssim_map(x, ref, data_range, border).mean(dim=(1, 2, 3))


class Metric(NamedTuple):
    """Registry entry: the function, its direction, and what it measures."""

    fn: Callable[..., Tensor]
    higher_is_better: bool
    description: str


METRICS: dict[str, Metric] = {
    "psnr": Metric(psnr, True, "peak signal-to-noise ratio, dB, data range stated (1.0)"),
    "ssim": Metric(ssim, True, "structural similarity, Gaussian 11x11 sigma 1.5, valid region"),
}


def _as_batch(a: np.ndarray | Tensor) -> Tensor:
    """(H, W), (N, H, W) or (N, 1, H, W), NumPy or torch -> float64 torch (N, 1, H, W)."""
    t = a.detach() if isinstance(a, Tensor) else torch.from_numpy(np.asarray(a))
    t = t.to(torch.float64)
    if t.ndim == 2:
        t = t[None]
    if t.ndim == 3:
        t = t[:, None]
    if t.ndim != 4 or t.shape[1] != 1:
        raise ValueError(f"expected (H, W), (N, H, W) or (N, 1, H, W) images, got {tuple(t.shape)}")
    return t


def compute_metrics(
    pred: np.ndarray | Tensor,
    clean: np.ndarray | Tensor,
    data_range: float = 1.0,
    metrics: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Every requested metric (default: all of :data:`METRICS`) per image, float64 ``(N,)``.

    Inputs are (N, H, W) (or (N, 1, H, W)) arrays or tensors; computed in float64 on the
    inputs' device.
    """
    names = list(METRICS) if metrics is None else list(metrics)
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; available: {sorted(METRICS)}")
    x, ref = _as_batch(pred), _as_batch(clean)
    with torch.no_grad():
        return {m: METRICS[m].fn(x, ref, data_range=data_range).cpu().numpy() for m in names}
