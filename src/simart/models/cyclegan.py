"""CycleGAN (Zhu, Park, Isola & Efros 2017, ICCV): unpaired degraded <-> clean translation.

Two ResNet generators -- ``g``: degraded y -> clean x (the restoration, used by
``predict``) and ``f``: clean -> degraded -- and two 70x70 PatchGANs -- ``d_x`` on clean
images, ``d_y`` on degraded ones (:mod:`simart.models.gan`). Training is *unpaired*: the
clean images are ``batch.xu`` (stm_cu111: its unpaired ``clean`` domain; other datasets: the
clean image of another, independently drawn, training image); ``batch.x`` is never read
(unless the non-default ``lambda_paired`` > 0).

Losses (Zhu et al. Eqs. 1-3; LSGAN as in their §4; ``lambda_cyc`` = their lambda = 10):

* generators: ``l(d_x(g(y)), 1) + l(d_y(f(xu)), 1)
  + lambda_cyc (|f(g(y)) - y|_1 + |g(f(xu)) - xu|_1)
  + lambda_cyc lambda_identity (|g(xu) - xu|_1 + |f(y) - y|_1)`` -- the identity term of
  §5.2 / the official code (``--lambda_identity 0.5``, scaled by lambda as there)
  ``[+ lambda_paired |g(y) - x|_1]`` -- NOT CycleGAN: an optional supervised term on the
  paired clean image (then the model also needs ``x``); 0 = CycleGAN's unpaired training;
* discriminators: ``0.5 (l(d_x(xu), 1) + l(d_x(g(y)), 0)) + 0.5 (l(d_y(y), 1) + l(d_y(f(xu)), 0))``
  on detached fakes.

Not CycleGAN (our deviation, hparams ``deg_noise_*`` > 0; embedded default on stm_cu111
only): ``f``'s output gets random scan noise (:func:`simart.models.gan.scan_noise`) in the
adversarial and both cycle terms, so that the backward cycle shows ``g`` noisy images with
their clean originals (reasons and measurements: :mod:`simart.specs.hparams_gan`).

Update order per step (the official ``optimize_parameters``): generators, then
discriminators on the same (detached) fakes. Groups ``generators`` (g, f) and
``discriminators`` (d_x, d_y). CycleGAN's 50-image history buffer of fakes for D is not
implemented (its contents would have to be checkpointed for a bit-exact resume; D sees the
current fakes, as pix2pix's does).

The PDA-Net paper row "CycleGAN pretrained on simulation applied to experimental images" is this
model, trained on stm_cu111's blurry <-> clean domains, evaluated on the experimental
subset (``predict`` uses ``g`` for every subset).

Embedded default (ngf 8, 2 blocks, ndf 8, 2-layer PatchGAN): see ``benchmarks/bench_gan.py``
for step times.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch
import torch.nn.functional as F

from simart.models.base import Batch, RestorationModel
from simart.models.gan import (
    PatchDiscriminator,
    ResnetGenerator,
    d_loss,
    frozen,
    gan_loss,
    scan_noise,
    unique_parameters,
)
from simart.specs.hparams_gan import degradation_noise

Update = Callable[[str, torch.Tensor], None]


def need(batch: Batch, name: str, model: str) -> torch.Tensor:
    """``batch.<name>``, or a clear error when the loop / data did not fill it."""
    t = getattr(batch, name)
    if t is None:
        raise ValueError(f"model {model!r} needs batch.{name} (unpaired images); "
                         f"the data did not provide it")
    return t


def resnet_generator(h: dict, up=None) -> ResnetGenerator:
    return ResnetGenerator(ngf=h["ngf"], n_blocks=h["n_blocks"], norm=h["gan_norm"],
                           output=h["output"], dropout=h["dropout"], up=up,
                           outer_kernel=h["outer_kernel"])


def degrade(net: torch.nn.Module, x: torch.Tensor, noise: dict[str, float],
            gen: torch.Generator) -> torch.Tensor:
    """The degradation generator's output ``net(x)`` plus its random scan noise (none when
    ``noise`` is empty: the papers' deterministic generator; hparams_gan.py)."""
    out = net(x)
    if noise:
        out = out + scan_noise(tuple(out.shape), noise, gen, out.device, out.dtype)
    return out


def patch_discriminator(h: dict, in_channels: int = 1) -> PatchDiscriminator:
    return PatchDiscriminator(in_channels, ndf=h["ndf"], n_layers=h["n_layers_d"],
                              norm=h["gan_norm"])


class CycleGAN(RestorationModel):
    """CycleGAN restoration model (module docstring); ``forward`` / ``predict`` = ``g``."""

    name: ClassVar[str] = "cyclegan"
    update_order: ClassVar[tuple[str, ...]] = ("generators", "discriminators")

    def __init__(self, **hparams):
        super().__init__(**hparams)
        h = self.hparams
        if h["lambda_paired"] > 0:  # semi-supervised option: also the paired clean image
            self.needs = ("x", *type(self).needs)  # type: ignore[misc]
        self.g = resnet_generator(h)
        self.f = resnet_generator(h)
        self.d_x = patch_discriminator(h)
        self.d_y = patch_discriminator(h)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.g(y)

    def optimizer_groups(self) -> dict[str, list[torch.nn.Parameter]]:
        return {"generators": unique_parameters(self.g, self.f),
                "discriminators": unique_parameters(self.d_x, self.d_y)}

    def training_step(self, batch: Batch, gen: torch.Generator, update: Update | None = None
                      ) -> tuple[torch.Tensor, dict[str, float]]:
        """One generator and one discriminator update (``update(group, loss)``); without
        ``update`` (validation) only the losses. Returns (generator loss, logs)."""
        h, kind = self.hparams, self.hparams["gan_loss"]
        y, xu = batch.y, need(batch, "xu", self.name)
        noise = degradation_noise(h)
        fake_x, fake_y = self.g(y), degrade(self.f, xu, noise, gen)
        cyc = (F.l1_loss(degrade(self.f, fake_x, noise, gen), y)
               + F.l1_loss(self.g(fake_y), xu))
        with frozen(self.d_x, self.d_y):
            adv_x = gan_loss(self.d_x(fake_x), True, kind)
            adv_y = gan_loss(self.d_y(fake_y), True, kind)
        loss_g = adv_x + adv_y + h["lambda_cyc"] * cyc
        logs = {"g_adv_x": adv_x, "g_adv_y": adv_y, "cyc": cyc}
        if h["lambda_identity"] > 0:
            idt = F.l1_loss(self.g(xu), xu) + F.l1_loss(self.f(y), y)
            loss_g = loss_g + h["lambda_cyc"] * h["lambda_identity"] * idt
            logs["idt"] = idt
        if h["lambda_paired"] > 0:
            paired = F.l1_loss(fake_x, need(batch, "x", self.name))
            loss_g = loss_g + h["lambda_paired"] * paired
            logs["paired_l1"] = paired
        if update is not None:
            update("generators", loss_g)
        loss_dx = d_loss(self.d_x, xu, fake_x.detach(), kind)
        loss_dy = d_loss(self.d_y, y, fake_y.detach(), kind)
        if update is not None:
            update("discriminators", loss_dx + loss_dy)
        logs.update(d_x=loss_dx, d_y=loss_dy, loss_g=loss_g)
        return loss_g.detach(), {k: float(v.detach()) for k, v in logs.items()}
