"""Input checks shared by every metric, and the two ways a metric can decline to give a number.

* Bad input (NaN / inf pixels, wrong shapes, non-float data) is a caller error:
  :class:`ValueError` with a message naming the input, the images and what is allowed.
* :class:`MetricUnavailable` (a ``ValueError``) means the metric cannot be computed for a
  reason outside the pixel values: the images are smaller than it needs, a pretrained model
  (LPIPS backbone, BRISQUE SVR) is absent, a per-image parameter (pixel size) is missing.
  Called directly, metric functions raise it; the table builders
  (:func:`simart.metrics.compute_metric_table`) turn it into NaN with the reason recorded.
* A metric that is mathematically undefined for one image of a batch (Pearson r of a
  constant image, a ratio with a zero denominator) returns NaN for that image, never a
  made-up number; the table builders record the metric's ``undefined`` reason.
"""

from __future__ import annotations

import torch
from torch import Tensor


class MetricUnavailable(ValueError):
    """The metric cannot be computed here (too small, model file absent...); reason in message."""


def check_batch(x: Tensor, name: str = "x") -> None:
    """``x`` must be a finite floating tensor ``(B, 1, H, W)``."""
    if not isinstance(x, Tensor):  # ValueError, as every input error here (CONVENTIONS.md)
        raise ValueError(  # noqa: TRY004
            f"metric input '{name}' must be a torch tensor (B, 1, H, W), got {type(x).__name__}")
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"metric input '{name}' must be (B, 1, H, W); got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"metric input '{name}' must be a floating tensor, got {x.dtype}")
    # one reduction first (NaN/inf propagate into the sum); the pixel-wise test only when it
    # flags something (or the finite values are so large that their sum overflows)
    if bool(torch.isfinite(x.sum())):
        return
    finite = torch.isfinite(x)
    if not bool(finite.all()):
        bad = (~finite).flatten(1).sum(1)
        images = torch.nonzero(bad).flatten().tolist()
        raise ValueError(
            f"metric input '{name}' has {int(bad.sum())} non-finite pixel(s) (NaN or inf) in "
            f"image(s) {images[:10]}{' ...' if len(images) > 10 else ''}: metrics need finite "
            f"images")


def check_pair(x: Tensor, ref: Tensor) -> None:
    """Estimate and reference: both finite floating ``(B, 1, H, W)`` of the same shape."""
    if isinstance(x, Tensor) and isinstance(ref, Tensor) and x.shape != ref.shape:
        raise ValueError(
            f"metric inputs must both be (B, 1, H, W) of the same shape; got {tuple(x.shape)} "
            f"and {tuple(ref.shape)}")
    check_batch(x, "x")
    check_batch(ref, "ref")


def check_min_size(x: Tensor, min_px: int, what: str) -> None:
    """Raise :class:`MetricUnavailable` if either side of the images is below ``min_px``."""
    h, w = x.shape[-2:]
    if min(h, w) < min_px:
        raise MetricUnavailable(
            f"{what} needs images of at least {min_px} px per side; got {h}x{w}")


def separable_filter_valid(a: Tensor, g: Tensor, cache_bytes: int = 1 << 21) -> Tensor:
    """Correlate ``a`` (..., H, W) with the 1-D kernel ``g`` along W, then along H ('valid').

    Shift-and-add in the input's dtype: on CPU several times faster than ``F.conv2d`` in
    float64 (which has no optimised kernel), and the same numbers up to rounding. On CPU
    the images go through in groups of about ``cache_bytes`` so that the 2·len(g) passes
    stay in cache. Differentiable (no in-place op on a tensor autograd needs).
    """
    taps = [float(v) for v in g.flatten()]
    k = len(taps)
    h, w = a.shape[-2] - k + 1, a.shape[-1] - k + 1
    if h < 1 or w < 1:
        raise ValueError(f"filter of {k} taps needs at least {k} px per side, got "
                         f"{tuple(a.shape[-2:])}")

    def run(block: Tensor) -> Tensor:
        out = block[..., 0:w] * taps[0]
        for i in range(1, k):
            out.add_(block[..., i:i + w], alpha=taps[i])
        out2 = out[..., 0:h, :] * taps[0]
        for i in range(1, k):
            out2.add_(out[..., i:i + h, :], alpha=taps[i])
        return out2

    lead = a.shape[:-2]
    flat = a.reshape(-1, *a.shape[-2:])
    step = max(1, cache_bytes // (a.shape[-2] * a.shape[-1] * a.element_size()))
    if a.device.type != "cpu" or step >= flat.shape[0]:
        return run(flat).reshape(*lead, h, w)
    return torch.cat([run(flat[i:i + step]) for i in range(0, flat.shape[0], step)]
                     ).reshape(*lead, h, w)


def safe_div(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` with NaN where ``den == 0`` (an undefined metric, never inf or 0)."""
    return torch.where(den != 0, num / torch.where(den != 0, den, torch.ones_like(den)),
                       torch.full_like(num, float("nan")))
