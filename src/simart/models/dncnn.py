"""DnCNN (Zhang, Zuo, Chen, Meng & Zhang 2017, "Beyond a Gaussian Denoiser", IEEE TIP).

``depth`` layers: ``Conv(1->C)+ReLU``, ``(depth-2) x (Conv(C->C)+BN+ReLU)``, ``Conv(C->1)``.
The network predicts the noise residual ``R(y) ~ y - x`` and the estimate is
``x_hat = y - R(y)``. Loss: mean over pixels of ``(x_hat - x)**2 = (R(y) - (y - x))**2`` (the
paper's ``1/(2N) sum ||R(y_i) - (y_i - x_i)||_F^2`` up to a constant factor). BatchNorm uses
batch statistics in training and running statistics in ``eval()`` (prediction).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from simart.models.base import Batch, RestorationModel
from simart.models.blocks import ConvBlock, conv, he_init_, pixel_loss, zero_init_


class DnCNN(RestorationModel):
    """DnCNN-S: residual denoiser (see module docstring)."""

    name: ClassVar[str] = "dncnn"
    size_multiple: ClassVar[int] = 1

    def __init__(self, **hparams):
        super().__init__(**hparams)
        h = self.hparams
        c, k = h["width"], h["kernel"]
        self.net = nn.Sequential(
            conv(1, c, k), nn.ReLU(inplace=True),
            ConvBlock(c, [c] * (h["depth"] - 2), kernel=k, norm=h["norm"], act="relu"),
            conv(c, 1, k))
        he_init_(self.net)
        zero_init_(self.net[-1])  # R(y) = 0 at the start: training starts from x_hat = y

    def residual(self, y: torch.Tensor) -> torch.Tensor:
        """The predicted noise ``R(y)`` (data units)."""
        return self.net(y)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y - self.net(y)

    def training_step(self, batch: Batch, gen: torch.Generator
                      ) -> tuple[torch.Tensor, dict[str, float]]:
        if batch.x is None:
            raise ValueError("model 'dncnn' needs batch.x")
        kind = self.hparams["loss"]
        loss = pixel_loss(self(batch.y), batch.x, kind)
        return loss, {"loss": loss.item(), kind: loss.item()}
