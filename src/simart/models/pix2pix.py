"""pix2pix (Isola, Zhu, Zhou & Efros 2017, CVPR): paired conditional GAN y -> x.

Generator ``g``: the pix2pix U-Net (``gen_arch: unet``, ``unet_downs`` 8 = ``unet_256``;
paper setting) or the CycleGAN ResNet generator (``gen_arch: resnet``, the official code's
``resnet_9blocks`` option; embedded default, residual output); discriminator ``d``: a
PatchGAN on the channel-concatenated pair ``cat(y, x)`` (conditional GAN, Eq. 1).

Losses (Isola et al. Eqs. 1-4, with the official code's conventions): 

* discriminator: ``0.5 (l(d(y, x), 1) + l(d(y, g(y)), 0))`` (fake detached; "we divide the
  objective by 2 while optimizing D", §3.3);
* generator: ``l(d(y, g(y)), 1) + lambda_l1 |g(y) - x|_1`` (non-saturating; lambda 100).

``l``: BCE on logits (the paper's ``--gan_mode vanilla``) or LSGAN (embedded default). Update
order per step (the official ``optimize_parameters``): discriminator, then generator.
Groups ``discriminators`` (d) and ``generators`` (g). Dropout of the U-Net acts in training
only (pix2pix keeps it at test time as its noise source; ``predict`` here is
deterministic). Needs the paired clean image ``x``: every dataset with clean targets.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from simart.models.base import Batch, RestorationModel
from simart.models.cyclegan import Update, need, patch_discriminator, resnet_generator
from simart.models.gan import UnetGenerator, d_loss, frozen, gan_loss, unique_parameters


class Pix2Pix(RestorationModel):
    """pix2pix restoration model (module docstring); ``forward`` / ``predict`` = ``g``."""

    name: ClassVar[str] = "pix2pix"
    update_order: ClassVar[tuple[str, ...]] = ("discriminators", "generators")

    def __init__(self, **hparams):
        super().__init__(**hparams)
        h = self.hparams
        if h["gen_arch"] == "unet":
            self.g = UnetGenerator(ngf=h["ngf"], downs=h["unet_downs"], norm=h["gan_norm"],
                                   output=h["output"], dropout=h["dropout"])
        else:
            self.g = resnet_generator(h)
        self.d = patch_discriminator(h, in_channels=2)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.g(y)

    def optimizer_groups(self) -> dict[str, list[torch.nn.Parameter]]:
        return {"generators": unique_parameters(self.g),
                "discriminators": unique_parameters(self.d)}

    def training_step(self, batch: Batch, gen: torch.Generator, update: Update | None = None
                      ) -> tuple[torch.Tensor, dict[str, float]]:
        """One discriminator and one generator update (``update(group, loss)``); without
        ``update`` (validation) only the losses. Returns (generator loss, logs)."""
        h, kind = self.hparams, self.hparams["gan_loss"]
        y, x = batch.y, need(batch, "x", self.name)
        fake = self.g(y)
        loss_d = d_loss(self.d, torch.cat([y, x], 1), torch.cat([y, fake.detach()], 1), kind)
        if update is not None:
            update("discriminators", loss_d)
        with frozen(self.d):
            adv = gan_loss(self.d(torch.cat([y, fake], 1)), True, kind)
        l1 = F.l1_loss(fake, x)
        loss_g = adv + h["lambda_l1"] * l1
        if update is not None:
            update("generators", loss_g)
        logs = {"d": loss_d, "g_adv": adv, "l1": l1, "loss_g": loss_g}
        return loss_g.detach(), {k: float(v.detach()) for k, v in logs.items()}
