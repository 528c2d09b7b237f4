"""Detector noise after the operator: Poisson (shot) then additive Gaussian (read-out).

``y_noisy = Poisson(lambda * max(y, 0)) / lambda + N(0, sigma^2)``

* ``poisson_counts`` lambda: expected counts at full scale (image value 1.0); the shot
  noise variance of a pixel of value y is ``y / lambda``.
* ``gaussian_sigma`` sigma: standard deviation in units of the [0, 1] dynamic range.
* Randomness only from the given ``torch.Generator`` (CPU): a single generator draws for
  the whole batch (Poisson for every image, then the Gaussian for every image); a list
  gives one generator per image (the dataset builder seeds one per image from its
  recorded ``noise_seed``), so an image's noise does not depend on its batch. Bit-identical
  on CPU for the same seeds and dtype. The result is not clipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor


def _per_image(v: Tensor | float, n: int, name: str) -> Tensor:
    t = torch.as_tensor(v, dtype=torch.float64).detach().cpu().reshape(-1)
    if t.numel() == 1:
        t = t.expand(n)
    if t.numel() != n:
        raise ValueError(f"'{name}' has {t.numel()} values for a batch of {n}")
    return t


def _noisy(y: Tensor, lam: Tensor, sig: Tensor, g: torch.Generator) -> Tensor:
    """Noise for a (n, ...) CPU block with per-image lam/sig (float64, shape (n,))."""
    view = (-1,) + (1,) * (y.ndim - 1)
    lam_t = lam.to(y.dtype).view(view)
    counts = torch.poisson(lam_t * y.clamp_min(0), generator=g)
    gauss = torch.randn(y.shape, generator=g, dtype=y.dtype)
    return counts / lam_t + sig.to(y.dtype).view(view) * gauss


def noise_variance(mean_signal: float, gaussian_sigma: float, poisson_counts: float) -> float:
    """Mean per-pixel variance of :func:`add_noise` on an image of mean ``mean_signal``:
    ``gaussian_sigma^2 + mean_signal / poisson_counts`` (Poisson variance ``P(x) / lambda``
    plus the Gaussian read noise; a negative mean counts as 0)."""
    return float(gaussian_sigma) ** 2 + max(float(mean_signal), 0.0) / float(poisson_counts)


def add_noise(
    y: Tensor,
    poisson_counts: Tensor | float,
    gaussian_sigma: Tensor | float,
    generator: torch.Generator | Sequence[torch.Generator],
) -> Tensor:
    """Add Poisson then Gaussian noise to images (B, 1, H, W) (or any (B, ...)).

    Args:
        y: noiseless images (any float dtype); noise is drawn on CPU and the result is
            returned on ``y``'s device and dtype.
        poisson_counts: lambda, counts at full scale, scalar or length B (> 0).
        gaussian_sigma: sigma (fraction of the dynamic range), scalar or length B (>= 0).
        generator: one CPU ``torch.Generator`` for the batch, or a list of B of them.

    >>> g = torch.Generator().manual_seed(0)
    >>> add_noise(torch.full((1, 1, 2, 2), 0.5), 1e4, 0.0, g).shape
    torch.Size([1, 1, 2, 2])
    """
    if not y.is_floating_point():
        raise ValueError(f"add_noise needs float images; got {y.dtype}")
    n = int(y.shape[0])
    lam = _per_image(poisson_counts, n, "poisson_counts")
    sig = _per_image(gaussian_sigma, n, "gaussian_sigma")
    if not bool((lam > 0).all()) or not bool(np.isfinite(lam.numpy()).all()):
        raise ValueError(f"poisson_counts = {lam.tolist()} must be finite and > 0")
    if not bool((sig >= 0).all()):
        raise ValueError(f"gaussian_sigma = {sig.tolist()} must be >= 0")
    yc = y.detach().cpu()
    if isinstance(generator, torch.Generator):
        out = _noisy(yc, lam, sig, generator)
    else:
        gens = list(generator)
        if len(gens) != n:
            raise ValueError(f"{len(gens)} generators for a batch of {n} images")
        out = torch.cat([_noisy(yc[i:i + 1], lam[i:i + 1], sig[i:i + 1], gens[i])
                         for i in range(n)])
    return out.to(device=y.device, dtype=y.dtype)


def colored_noise(gen: torch.Generator, shape: tuple[int, ...], exponent: float,
                  dtype: torch.dtype = torch.float64) -> Tensor:
    """Noise of ``shape`` with power spectrum ~ 1/f^``exponent`` along the last axis (1: pink,
    2: brown), zero mean and unit (population) standard deviation per row of that axis.

    White N(0, 1) draws from ``gen`` (on ``gen.device``) shaped in the Fourier domain by
    f^(-exponent / 2); the DC bin takes the lowest non-zero frequency's weight before the
    mean is removed. STM scan noise along the scan time (stm_cu111's blurry domain, the
    GANs' stochastic degradation generator, :func:`simart.models.gan.scan_noise`).
    """
    n = shape[-1]
    w = torch.fft.rfft(torch.randn(shape, generator=gen, dtype=dtype, device=gen.device),
                       dim=-1)
    f = torch.fft.rfftfreq(n, dtype=dtype, device=gen.device)
    f[0] = f[1]
    x = torch.fft.irfft(w * f ** (-exponent / 2), n=n, dim=-1)
    x = x - x.mean(-1, keepdim=True)
    return x / (x.std(-1, correction=0, keepdim=True) + 1e-12)
