"""U-Net restoration models: supervised U-Net, CARE and Noise2Noise.

* ``unet`` -- U-Net (Ronneberger, Fischer & Brox 2015, MICCAI), trained on (y, x) pairs with
  MSE (or MAE, hparam ``loss``); ``x_hat = y + f(y)`` when ``residual``.
* ``care`` -- CARE (Weigert et al. 2018, Nat. Methods): the CSBDeep U-Net (depth 2, kernel 5,
  nearest up-sampling, residual) trained with MAE (CSBDeep's default ``train_loss='mae'``).
* ``n2n`` -- Noise2Noise (Lehtinen et al. 2018, ICML): the same U-Net as ``unet`` trained on
  two independent noisy realisations, loss ``MSE(f(y), y2)``; for zero-mean noise its
  minimiser equals that of ``MSE(f(y), x)``. Never reads ``batch.x``.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from simart.models.base import Batch, RestorationModel
from simart.models.blocks import UNetBody, he_init_, pixel_loss, zero_init_


class UNet(RestorationModel):
    """U-Net regression ``(B,1,H,W) -> (B,1,H,W)``: :class:`UNetBody` + 1x1 conv head.

    ``x_hat = y + head(body(y))`` when ``residual`` else ``head(body(y))``; input and output
    in the data's units (no [0, 1] assumption). With ``residual`` the head starts at zero, so
    training starts from the identity (a 300-step CPU run otherwise spends its steps undoing
    the random initial residual). Loss: mean over pixels of ``(x_hat - x)**2``
    (``mse``) or ``|x_hat - x|`` (``mae``).
    """

    name: ClassVar[str] = "unet"
    size_multiple: ClassVar[int] = 4
    target_field: ClassVar[str] = "x"

    def __init__(self, **hparams):
        super().__init__(**hparams)
        h = self.hparams
        self.size_multiple = 2 ** h["depth"]  # type: ignore[misc]
        self.body = UNetBody(1, depth=h["depth"], width=h["width"], kernel=h["kernel"],
                             convs=h["convs"], norm=h["norm"], act=h["act"],
                             upsample=h["upsample"])
        self.head = nn.Conv2d(self.body.out_channels, 1, 1)
        he_init_(self)
        if h["residual"]:
            zero_init_(self.head)  # start from the identity x_hat = y

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        out = self.head(self.body(y))
        return y + out if self.hparams["residual"] else out

    def training_step(self, batch: Batch, gen: torch.Generator
                      ) -> tuple[torch.Tensor, dict[str, float]]:
        target = getattr(batch, self.target_field)
        if target is None:
            raise ValueError(f"model {self.name!r} needs batch.{self.target_field}")
        kind = self.hparams["loss"]
        loss = pixel_loss(self(batch.y), target, kind)
        return loss, {"loss": loss.item(), kind: loss.item()}


class CARE(UNet):
    """CARE (Weigert et al. 2018): CSBDeep U-Net, residual, MAE loss (see module docstring)."""

    name: ClassVar[str] = "care"


class N2N(UNet):
    """Noise2Noise (Lehtinen et al. 2018): the ``unet`` network, loss ``MSE(f(y), y2)`` with
    ``y2`` a second independent noisy realisation of the same clean image (L2 for zero-mean
    noise; ``loss: mae`` gives the median-seeking L1 variant of the paper)."""

    name: ClassVar[str] = "n2n"
    target_field: ClassVar[str] = "y2"
