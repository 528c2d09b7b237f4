"""PDA-Net: physics-based simulation -> experimental domain adaptation for STM
denoising, and its ablation variants (the PDA-Net paper Tables I-II).

Domains (stm_cu111; the paper's notation): ``batch.y`` = I_BS (simulated blurry), ``batch.xu``
= I_S (simulated clean, *unpaired*), ``batch.u`` = I_E (experimental-like target domain).
**Unpaired training**: the PDA-Net paper §III-A: "the neural network is trained in an unsupervised
manner, meaning there is no direct one-to-one correspondence between the clear image I_S
and its blurred counterpart I_BS in the training set" -- so ``batch.x`` (the paired clean
map of y, which our simulation does have) is never read; I_S comes from stm_cu111's
``clean`` domain, whose layouts differ from the blurry ones.

Networks (:mod:`simart.models.gan`; §IV-C): ResNet generators ``g_d`` (G_D: I_BS -> clean),
``g_b`` (G_B: I_S -> blurry), ``g_da`` (G_DA: I_E -> clean); PatchGANs ``d_d`` (I_S vs
G_D(I_BS)), ``d_b`` (I_BS vs G_B(I_S)), ``d_da`` (I_S vs G_DA(I_E)); ``d_fa`` (D_FA, full
model only): domain classifier on the bottleneck features phi (down path + ResNet blocks)
of G_DA(I_E) ("1", Eq. 6) vs G_D(I_BS) ("0").

Variants (registry names; the PDA-Net paper §IV-E):

* ``pdanet_da`` (:class:`PDANetDA`, "CycleGAN+DA"): the CycleGAN of G_D/G_B plus G_DA/D_DA;
  G_DA is a separate generator (own up path);
* ``pdanet_da_ws`` (:class:`PDANetDAWS`, "CycleGAN+DA+WS"): + weight sharing, Eq. 5: the up
  path of G_DA *is* G_D's module (one set of tensors, both generators; a gradient through
  either updates both);
* ``pdanet`` (:class:`PDANet`, full): + feature alignment, Eq. 6 (``lambda_fa`` 0.1).

The "CycleGAN pretrained on simulation applied to experimental" row is ``cyclegan``.

Losses (Eq. 7 with the paper's weights; ``l`` = ``gan_loss``, BCE in the paper, LSGAN in the
tiny default; generators non-saturating, see :mod:`simart.models.gan`):

* discriminators (Algorithm 1, first): ``lambda_d L(d_d; I_S, G_D(I_BS)) + lambda_b
  L(d_b; I_BS, G_B(I_S)) + lambda_da L(d_da; I_S, G_DA(I_E)) + lambda_fa L(d_fa;
  phi_DA(I_E), phi_D(I_BS))`` with ``L(D; r, f) = 0.5 (l(D(r), 1) + l(D(f), 0))`` on
  detached fakes / features;
* generators (second, against the updated discriminators): ``lambda_d l(d_d(G_D(I_BS)), 1)
  + lambda_b l(d_b(G_B(I_S)), 1) + lambda_da l(d_da(G_DA(I_E)), 1) + lambda_cyc
  (|G_B(G_D(I_BS)) - I_BS|_1 + |G_D(G_B(I_S)) - I_S|_1)`` (Eq. 3, forward + backward cycle)
  ``+ lambda_fa 0.5 (l(d_fa(phi_DA(I_E)), 0) + l(d_fa(phi_D(I_BS)), 1))`` (both feature
  extractors minimise L_FA, Eq. 6 / the argmin below Eq. 7: label-swapped,
  non-saturating) ``[+ lambda_cyc lambda_identity (|G_D(I_S) - I_S| + |G_B(I_BS) - I_BS|)]``
  (identity term: not in the paper, 0 by default) ``[+ lambda_paired |G_D(I_BS) - x|_1]``
  (NOT in the paper: an optional supervised term on the paired clean map ``batch.x``; with
  ``lambda_paired > 0`` the model also needs ``x``. 0 = the paper's unpaired training).

Not in the paper (hparams ``deg_noise_*`` > 0, the embedded default): G_B's output gets
random STM scan noise (:func:`simart.models.gan.scan_noise`) wherever G_B is applied in
training (D_B's fake, both cycles): a deterministic G_B cannot draw the blurry domain's
noise (:mod:`simart.specs.hparams_gan`, "Stochastic degradation generator").

Update order per step (Algorithm 1): ``discriminators`` (d_d, d_b, d_da, d_fa) then
``generators`` (g_d, g_b, g_da; shared up-path parameters listed once).

``predict(y, subset)``: images whose subset index equals hparam ``target_subset`` (the
experimental domain; stm_cu111 subsets ``["clean", "blurry", "experimental"]`` -> 2) go
through G_DA, all others through G_D (§III-D "the testing inputs are passed through G_D*
and G_DA*"). ``forward`` is G_D. Instance norm makes every image's output independent of the
others in its batch, so splitting a batch by subset changes nothing.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from simart.models.base import Batch, RestorationModel
from simart.models.cyclegan import Update, degrade, need, patch_discriminator, resnet_generator
from simart.models.gan import FeatureDiscriminator, d_loss, frozen, gan_loss, unique_parameters
from simart.specs.hparams_gan import degradation_noise


class PDANetDA(RestorationModel):
    """CycleGAN + domain-adversarial G_DA ("CycleGAN+DA"); base of the PDA-Net variants
    (module docstring). Structure flags: ``weight_sharing``, ``feature_alignment``."""

    name: ClassVar[str] = "pdanet_da"
    update_order: ClassVar[tuple[str, ...]] = ("discriminators", "generators")
    weight_sharing: ClassVar[bool] = False
    feature_alignment: ClassVar[bool] = False

    def __init__(self, **hparams):
        super().__init__(**hparams)
        h = self.hparams
        if h["lambda_paired"] > 0:  # semi-supervised option: also the paired clean image
            self.needs = ("x", *type(self).needs)  # type: ignore[misc]
        self.g_d = resnet_generator(h)
        self.g_b = resnet_generator(h)
        self.g_da = resnet_generator(h, up=self.g_d.up if self.weight_sharing else None)
        self.d_d = patch_discriminator(h)
        self.d_b = patch_discriminator(h)
        self.d_da = patch_discriminator(h)
        if self.feature_alignment:
            self.d_fa = FeatureDiscriminator(self.g_d.feature_channels, h["ndf_fa"])

    # -- parts
    def discriminators(self) -> list[torch.nn.Module]:
        ds = [self.d_d, self.d_b, self.d_da]
        return [*ds, self.d_fa] if self.feature_alignment else ds

    def generators(self) -> list[torch.nn.Module]:
        return [self.g_d, self.g_b, self.g_da]

    def compile_targets(self) -> list[tuple[str, torch.nn.Module]]:
        """The generators' parts (``down``, ``blocks``, ``up``: the loss calls
        ``forward_features``, not the generators' ``__call__``; a shared up path once) and
        the discriminators (``RestorationModel.compile_networks``)."""
        parts: dict[int, tuple[str, torch.nn.Module]] = {}
        for g in ("g_d", "g_b", "g_da"):
            for p in ("down", "blocks", "up"):
                m = getattr(getattr(self, g), p)
                parts.setdefault(id(m), (f"{g}.{p}", m))
        names = ["d_d", "d_b", "d_da", *(["d_fa"] if self.feature_alignment else [])]
        return [*parts.values(), *((n, getattr(self, n)) for n in names)]

    def optimizer_groups(self) -> dict[str, list[torch.nn.Parameter]]:
        return {"discriminators": unique_parameters(*self.discriminators()),
                "generators": unique_parameters(*self.generators())}

    # -- inference
    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.g_d(y)

    def predict(self, y: torch.Tensor, subset: torch.Tensor | None = None) -> torch.Tensor:
        """G_DA for images of subset ``target_subset`` (experimental), G_D for the others."""
        if subset is None:
            return self.g_d(y)
        sel = torch.as_tensor(subset, device=y.device).reshape(-1) == self.hparams[
            "target_subset"]
        if len(sel) != len(y):
            raise ValueError(f"subset has {len(sel)} entries for {len(y)} images")
        if bool(sel.all()):
            return self.g_da(y)
        if not bool(sel.any()):
            return self.g_d(y)
        exp, sim = self.g_da(y[sel]), self.g_d(y[~sel])
        out = exp.new_empty((len(y), *exp.shape[1:]))
        out[sel], out[~sel] = exp, sim.to(exp.dtype)
        return out

    # -- training
    def training_step(self, batch: Batch, gen: torch.Generator, update: Update | None = None
                      ) -> tuple[torch.Tensor, dict[str, float]]:
        """Discriminator update, then generator update (Algorithm 1) via
        ``update(group, loss)``; without ``update`` (validation) only the losses.
        Returns (generator loss, logs)."""
        h, kind = self.hparams, self.hparams["gan_loss"]
        i_bs = batch.y
        i_s = need(batch, "xu", self.name)
        i_e = need(batch, "u", self.name)
        fa = self.feature_alignment
        # synthetic images (and bottleneck features) of the three generators
        fake_s, feat_d = self.g_d.forward_features(i_bs)     # I_BS^D
        noise = degradation_noise(h)                         # G_B's scan noise (hparams_gan)
        fake_b = degrade(self.g_b, i_s, noise, gen)            # I_S^B
        fake_e, feat_da = self.g_da.forward_features(i_e)     # I_E^D
        # 1) discriminators, generators frozen (detached fakes)
        ld_d = d_loss(self.d_d, i_s, fake_s.detach(), kind)
        ld_b = d_loss(self.d_b, i_bs, fake_b.detach(), kind)
        ld_da = d_loss(self.d_da, i_s, fake_e.detach(), kind)
        loss_d = h["lambda_d"] * ld_d + h["lambda_b"] * ld_b + h["lambda_da"] * ld_da
        logs: dict[str, torch.Tensor] = {"d_d": ld_d, "d_b": ld_b, "d_da": ld_da}
        if fa:
            ld_fa = d_loss(self.d_fa, feat_da.detach(), feat_d.detach(), kind)
            loss_d = loss_d + h["lambda_fa"] * ld_fa
            logs["d_fa"] = ld_fa
        if update is not None:
            update("discriminators", loss_d)
        # 2) generators against the updated discriminators, discriminators frozen
        cyc_f = F.l1_loss(degrade(self.g_b, fake_s, noise, gen), i_bs)  # forward cycle, Eq. 3
        cyc_b = F.l1_loss(self.g_d(fake_b), i_s)    # backward cycle
        with frozen(*self.discriminators()):
            lg_d = gan_loss(self.d_d(fake_s), True, kind)
            lg_b = gan_loss(self.d_b(fake_b), True, kind)
            lg_da = gan_loss(self.d_da(fake_e), True, kind)
            if fa:
                lg_fa = 0.5 * (gan_loss(self.d_fa(feat_da), False, kind)
                               + gan_loss(self.d_fa(feat_d), True, kind))
        loss_g = (h["lambda_d"] * lg_d + h["lambda_b"] * lg_b + h["lambda_da"] * lg_da
                  + h["lambda_cyc"] * (cyc_f + cyc_b))
        logs.update(g_d=lg_d, g_b=lg_b, g_da=lg_da, cyc_f=cyc_f, cyc_b=cyc_b)
        if fa:
            loss_g = loss_g + h["lambda_fa"] * lg_fa
            logs["g_fa"] = lg_fa
        if h["lambda_identity"] > 0:
            idt = F.l1_loss(self.g_d(i_s), i_s) + F.l1_loss(self.g_b(i_bs), i_bs)
            loss_g = loss_g + h["lambda_cyc"] * h["lambda_identity"] * idt
            logs["idt"] = idt
        if h["lambda_paired"] > 0:
            paired = F.l1_loss(fake_s, need(batch, "x", self.name))
            loss_g = loss_g + h["lambda_paired"] * paired
            logs["paired_l1"] = paired
        if update is not None:
            update("generators", loss_g)
        logs.update(loss_d=loss_d, loss_g=loss_g)
        return loss_g.detach(), {k: float(v.detach()) for k, v in logs.items()}


class PDANetDAWS(PDANetDA):
    """"CycleGAN+DA+WS": G_DA shares G_D's up path (the PDA-Net paper Eq. 5)."""

    name: ClassVar[str] = "pdanet_da_ws"
    weight_sharing: ClassVar[bool] = True


class PDANet(PDANetDAWS):
    """Full PDA-Net: weight sharing + feature alignment (D_FA on the bottleneck features,
    the PDA-Net paper Eq. 6)."""

    name: ClassVar[str] = "pdanet"
    feature_alignment: ClassVar[bool] = True
