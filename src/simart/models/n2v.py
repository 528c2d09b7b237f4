"""Noise2Void (Krull, Buchholz & Jug 2019, CVPR): self-supervised blind-spot denoising.

Training sees only noisy images ``y``. In every patch a stratified random set of pixels
``M`` (one per ``s x s`` grid cell, ``s = round(1 / sqrt(mask_fraction))``, so about
``mask_fraction`` of the pixels and at least one) is hidden: each value ``y_p`` is replaced
by ``y_q``, ``q`` drawn uniformly from the ``neighbourhood x neighbourhood`` window around
``p`` (clipped to the patch) without ``p`` itself -- the 'uniform' N2V manipulator without the
centre pixel. The U-Net sees the manipulated patch ``y~`` and the loss is
``mean_{p in M} (f(y~)_p - y_p)**2`` (or ``|.|``) against the ORIGINAL values: with
pixel-wise independent zero-mean noise its minimiser is ``E[x_p | neighbourhood]``. No
randomness but the ``gen`` passed to :meth:`N2V.training_step`.

We also make sure that no replacement source ``q`` is itself a hidden pixel (redrawn, and a
pixel whose ten draws all hit hidden pixels is left un-hidden), so that the network never sees
the original value of any hidden pixel -- N2V's reference code does not guarantee this.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch

from simart.models.base import Batch
from simart.models.unet import UNet

_REDRAWS = 10


def _stratified_points(b: int, h: int, w: int, s: int, gen: torch.Generator
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One uniform random pixel per ``s x s`` cell (partial cells at the far edges included)
    of each of ``b`` images: flat (batch, row, col) index tensors on ``gen.device``."""
    dev = gen.device
    gy, gx = math.ceil(h / s), math.ceil(w / s)
    u = torch.rand((b, gy, gx, 2), generator=gen, device=dev)
    y0 = torch.arange(gy, device=dev) * s
    x0 = torch.arange(gx, device=dev) * s
    hy = (h - y0).clamp(max=s)  # cell heights (last one may be partial)
    hx = (w - x0).clamp(max=s)
    # floor(u * extent) < extent; the min guards against u * extent rounding up to extent
    iy = y0[None, :, None] + torch.minimum((u[..., 0] * hy[None, :, None]).long(),
                                           hy[None, :, None] - 1)
    ix = x0[None, None, :] + torch.minimum((u[..., 1] * hx[None, None, :]).long(),
                                           hx[None, None, :] - 1)
    bi = torch.arange(b, device=dev).repeat_interleave(gy * gx)
    return bi, iy.reshape(-1), ix.reshape(-1)


def _neighbour_sources(iy: torch.Tensor, ix: torch.Tensor, h: int, w: int, radius: int,
                       hidden: torch.Tensor, bi: torch.Tensor, gen: torch.Generator
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each point, a uniform pixel of its window ``[p - radius, p + radius]^2`` clipped to
    the image, excluding ``p``; redrawn while it is a hidden pixel. Returns (row, col, ok)."""
    lo_y, hi_y = (iy - radius).clamp(min=0), (iy + radius).clamp(max=h - 1)
    lo_x, hi_x = (ix - radius).clamp(min=0), (ix + radius).clamp(max=w - 1)
    nx = hi_x - lo_x + 1
    n = (hi_y - lo_y + 1) * nx - 1                 # window size without the centre (>= 1)
    centre = (iy - lo_y) * nx + (ix - lo_x)
    sy, sx = iy.clone(), ix.clone()
    todo = torch.ones_like(iy, dtype=torch.bool)
    for _ in range(_REDRAWS):                      # fixed count: gen use is data-independent
        v = torch.rand(iy.shape, generator=gen, device=gen.device)
        k = torch.minimum((v * n).long(), n - 1)
        k = k + (k >= centre).long()               # skip the centre pixel
        sy = torch.where(todo, lo_y + k // nx, sy)
        sx = torch.where(todo, lo_x + k % nx, sx)
        todo = hidden[bi, sy, sx]
    return sy, sx, ~todo


def blind_spot_mask(y: torch.Tensor, fraction: float, neighbourhood: int,
                    gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """N2V blind-spot manipulation of ``y`` (B, 1, H, W).

    Returns ``(y_masked, mask)``: ``mask`` (B, 1, H, W) bool marks the hidden pixels (one per
    ``s x s`` cell, ``s = max(1, round(1/sqrt(fraction)))``, i.e. ``ceil(H/s) ceil(W/s)`` per
    image unless a pixel had to be left un-hidden, see module docstring); ``y_masked`` equals
    ``y`` except at hidden pixels, which hold the value of a uniformly drawn other pixel of
    their ``neighbourhood x neighbourhood`` window. Differentiable in ``y`` (gradients reach
    the source pixels, never the hidden ones). All randomness from ``gen``.
    """
    if y.ndim != 4 or y.shape[1] != 1:
        raise ValueError(f"expected (B, 1, H, W), got {tuple(y.shape)}")
    b, _, h, w = y.shape
    if h * w < 2:
        raise ValueError("blind-spot masking needs at least 2 pixels")
    s = max(1, round(1.0 / math.sqrt(fraction)))
    bi, iy, ix = _stratified_points(b, h, w, s, gen)
    hidden = torch.zeros((b, h, w), dtype=torch.bool, device=gen.device)
    hidden[bi, iy, ix] = True
    sy, sx, ok = _neighbour_sources(iy, ix, h, w, neighbourhood // 2, hidden, bi, gen)
    bi, iy, ix, sy, sx = (t[ok].to(y.device) for t in (bi, iy, ix, sy, sx))
    mask = torch.zeros_like(y, dtype=torch.bool)
    mask[bi, 0, iy, ix] = True
    y_masked = y.clone()
    y_masked[bi, 0, iy, ix] = y[bi, 0, sy, sx]
    return y_masked, mask


class N2V(UNet):
    """Noise2Void: CSBDeep U-Net (batch norm, linear output) trained with the blind-spot loss
    ``mean_{p in M} (f(y~)_p - y_p)**2`` (``loss: mae`` for ``|.|``); ``needs = ()``."""

    name: ClassVar[str] = "n2v"

    def training_step(self, batch: Batch, gen: torch.Generator
                      ) -> tuple[torch.Tensor, dict[str, float]]:
        h = self.hparams
        y_masked, mask = blind_spot_mask(batch.y, h["mask_fraction"], h["neighbourhood"], gen)
        diff = (self(y_masked) - batch.y)[mask]
        loss = diff.square().mean() if h["loss"] == "mse" else diff.abs().mean()
        return loss, {"loss": loss.item(), h["loss"]: loss.item(),
                      "masked_fraction": mask.float().mean().item()}
