"""Composite Degradation Noise (CDN) of the PINNED paper (docs/dataset.md), on the 0-255 scale.

In this order, as the paper's text states ("Gaussian noise is applied first ..., followed by
Static noise ... and then the Speckle noise"):

1. Gaussian:  ``I1 = I + N(0, sigma^2)``
2. static:    a fraction ``p`` of the pixels (each independently with probability p) is
   replaced by ``U(0, 255)``;
3. speckle:   ``I3 = I2 * (1 + N(0, v))`` (v = the table's speckle VARIANCE, std sqrt(v)),
   applied to every pixel, static ones included;
4. clipped to [0, 255] once, at the end.

=====  ==========  ===============  ================
level  Gaussian σ  static fraction  speckle variance
=====  ==========  ===============  ================
1      50          0.50             0.20
2      60          0.60             0.30
3      70          0.70             0.40
4      80          0.80             0.50
5      100         0.90             0.60
=====  ==========  ===============  ================

The paper's table comments call the Gaussian term "Gaussian blur"; its equations (and
this code) add Gaussian NOISE, there is no blur. Random numbers come from a
``torch.Generator`` (CPU) per image, in a fixed order (Gaussian, static mask, static
values, speckle), so a recorded ``noise_seed`` replays the noise exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["CDN_LEVELS", "CDNParams", "apply_cdn", "cdn_params"]


@dataclass(frozen=True)
class CDNParams:
    """Gaussian std (0-255 units), static fraction, speckle variance."""

    gaussian_sigma: float
    static_fraction: float
    speckle_variance: float

    def __post_init__(self) -> None:
        if not self.gaussian_sigma >= 0:
            raise ValueError(f"gaussian_sigma = {self.gaussian_sigma} must be >= 0")
        if not 0 <= self.static_fraction <= 1:
            raise ValueError(f"static_fraction = {self.static_fraction} must be in [0, 1]")
        if not self.speckle_variance >= 0:
            raise ValueError(f"speckle_variance = {self.speckle_variance} must be >= 0")


CDN_LEVELS: dict[int, CDNParams] = {
    1: CDNParams(50.0, 0.50, 0.20),
    2: CDNParams(60.0, 0.60, 0.30),
    3: CDNParams(70.0, 0.70, 0.40),
    4: CDNParams(80.0, 0.80, 0.50),
    5: CDNParams(100.0, 0.90, 0.60),
}


def cdn_params(level: int) -> CDNParams:
    """The table's parameters of CDN level 1-5."""
    if level not in CDN_LEVELS:
        raise ValueError(f"CDN level {level!r} does not exist; allowed: {sorted(CDN_LEVELS)}")
    return CDN_LEVELS[level]


def apply_cdn(
    image_255: np.ndarray | torch.Tensor,
    params: CDNParams | int,
    generator: torch.Generator,
    *,
    return_stages: bool = False,
) -> np.ndarray | tuple[np.ndarray, dict[str, np.ndarray]]:
    """CDN of one image on the 0-255 scale -> float32 in [0, 255] (same shape).

    ``params``: a level (1-5) or explicit :class:`CDNParams`. ``return_stages``: also
    return the intermediate arrays ``gaussian``, ``static``, ``speckle`` (before the
    clip) and the boolean ``mask`` of replaced pixels (for tests).
    """
    p = cdn_params(params) if isinstance(params, int) else params
    x = torch.as_tensor(np.asarray(image_255), dtype=torch.float64)
    g = torch.randn(x.shape, generator=generator, dtype=torch.float64)
    i1 = x + p.gaussian_sigma * g
    mask = torch.rand(x.shape, generator=generator, dtype=torch.float64) < p.static_fraction
    values = 255.0 * torch.rand(x.shape, generator=generator, dtype=torch.float64)
    i2 = torch.where(mask, values, i1)
    s = torch.randn(x.shape, generator=generator, dtype=torch.float64)
    i3 = i2 * (1.0 + float(np.sqrt(p.speckle_variance)) * s)
    out = i3.clamp(0.0, 255.0).numpy().astype(np.float32)
    if return_stages:
        return out, {"gaussian": i1.numpy(), "static": i2.numpy(), "speckle": i3.numpy(),
                     "mask": mask.numpy()}
    return out
