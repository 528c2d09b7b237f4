"""PI-DDPM: physics-informed conditional DDPM for fluorescence microscopy (the PI-DDPM paper,
Algorithms 1-2), and its plain-DDPM ablation.

Notation. The PI-DDPM paper writes ``y`` for the true object and ``x`` for the measurement; here, as
everywhere in simart, ``x`` is the clean image and ``y`` the degraded one. Its ``y_t`` is
our diffused clean image ``x_t``, its ``x~ = K * y_0`` our noiseless measurement
``K * x_0``, its ``gamma_t`` our ``abar_t``.

Network (the PI-DDPM paper Fig. 1d): a U-Net of conv blocks with instance normalisation (two 3x3
convs, InstanceNorm, SiLU; the noise-level embedding added after the first conv), 2x2
average-pool down-sampling, bilinear up-sampling + concatenated skips; input
``[x_t, y]`` (the degraded image concatenated, SR3), conditioned on the noise level
``sqrt(gamma)`` through a sinusoidal embedding of ``1000 sqrt(gamma)``; the output conv
starts at zero.

Training (Algorithm 1): ``t ~ U{1..T}``, ``gamma ~ U(abar_t, abar_{t-1})`` (SR3's
continuous noise level; ``continuous_gamma``), ``x_t = sqrt(gamma) x_0 + sqrt(1-gamma) eps``,
the physics gradient ``g = grad_{x_t} [ ||K * x_t - K * x_0||^2 + lambda R(x_t) ]`` (eq. 17;
K = each image's widefield / confocal PSF from its parameters,
:func:`simart.models.diffusion.physics_forward`), annealed by
``nu_t = eta sqrt(gamma) / ||g||_2`` (per image; eta = 10), and the loss (eq. 11 with C = 1)
``mean (eps + sigma_t^2 nu_t g - eps_theta(x_t, y, gamma))^2``, ``sigma_t^2 = beta_t``: the
network learns the noise shifted by the physics term, so that its mean
``mu_theta = (x_t - beta_t / sqrt(1 - gamma) eps_theta) / sqrt(alpha_t)`` moves *down* the
data-fidelity gradient (the paper's eq. 9/11 signs are inconsistent; this is the sign
under which the learned shift reduces ``||K x_t - x~||``, Algorithm 1's definition of g as
the gradient of the squared residual). ``physics`` false (``pi_ddpm_plain``): plain
conditional DDPM (eq. 28), the paper's "DDPM" baseline.

Sampling (Algorithm 2): ancestral DDPM (or DDIM) from N(0, I), each update followed by
``x_{t-1} -= nu_t g`` with ``g = grad_{x_t} [ ||K * x_t - (y - b)||^2 + lambda R(x_t) ]``
computed with the measured image ``y`` (background ``b`` from its parameters subtracted) and
the known PSF, ``nu_t = eta sqrt(abar_t) / ||g||`` (``eta`` = the sampling option, 10 by
default); the paper's learned ``g_theta`` is our explicit gradient since the PSF of every
test image is known here. Without ``params`` (or eta = 0) sampling has no physics term.
``R``: ``l1`` = ``sum |x|``, ``l2`` = ``sum x^2`` of the image in data units [0, 1] (the
fluorescence background is 0), weight ``reg_weight`` (constant lambda_t; not given).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from simart.models.base import Batch
from simart.models.diffusion import (
    DiffusionModel,
    forward_operator,
    pad_to_multiple,
    randn,
    timestep_embedding,
    to_data_space,
    to_model_space,
    upsample_bilinear2x,
)


class INBlock(nn.Module):
    """``SiLU(IN(conv(SiLU(IN(conv(x) + emb)))))``: two 3x3 convs with instance norm
    (affine), the embedding added after the first conv."""

    def __init__(self, cin: int, cout: int, emb_dim: int):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.n1 = nn.InstanceNorm2d(cout, affine=True)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.n2 = nn.InstanceNorm2d(cout, affine=True)
        self.emb = nn.Linear(emb_dim, cout)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.c1(x) + self.emb(emb)[:, :, None, None]
        h = F.silu(self.n1(h))
        return F.silu(self.n2(self.c2(h)))


class PIUNet(nn.Module):
    """The PI-DDPM U-Net: input (B, 2, H, W) = [x_t, y], output eps_hat (B, 1, H, W);
    H, W multiples of ``2**(len(mults) - 1)``."""

    def __init__(self, width: int, mults: list[int], emb_dim: int):
        super().__init__()
        chans = [width * m for m in mults]
        self.emb_dim = emb_dim
        self.mlp = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(),
                                 nn.Linear(emb_dim, emb_dim))
        self.down = nn.ModuleList()
        c = 2
        for ch in chans:
            self.down.append(INBlock(c, ch, emb_dim))
            c = ch
        self.up = nn.ModuleList()
        for ch in reversed(chans[:-1]):
            self.up.append(INBlock(c + ch, ch, emb_dim))
            c = ch
        self.out = nn.Conv2d(c, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x_t: Tensor, y: Tensor, sqrt_gamma: Tensor) -> Tensor:
        emb = self.mlp(timestep_embedding(1000.0 * sqrt_gamma, self.emb_dim))
        h = torch.cat([x_t, y], dim=1)
        skips = []
        for i, block in enumerate(self.down):
            if i > 0:
                h = F.avg_pool2d(h, 2)
            h = block(h, emb)
            skips.append(h)
        skips.pop()
        for block in self.up:
            h = upsample_bilinear2x(h)
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
        return self.out(h)


def nu_t(g: Tensor, gamma: Tensor, eta: float, eps: float = 1e-12) -> Tensor:
    """The annealing ``nu_t = eta sqrt(gamma_t) / ||g||_2`` per image ((B,) -> (B,1,1,1))."""
    norm = g.flatten(1).norm(dim=1).clamp_min(eps)
    return (eta * gamma.sqrt() / norm).view(-1, 1, 1, 1)


def regulariser(x_data: Tensor, kind: str) -> Tensor:
    """Per-image ``R``: ``l1`` sum |x|, ``l2`` sum x^2, ``none`` 0 ((B,))."""
    if kind == "l1":
        return x_data.abs().flatten(1).sum(1)
    if kind == "l2":
        return x_data.pow(2).flatten(1).sum(1)
    return x_data.flatten(1).sum(1) * 0.0


class PIDDPM(DiffusionModel):
    """PI-DDPM: see the module docstring."""

    name: ClassVar[str] = "pi_ddpm"
    sampling_options = ("sampler", "steps", "eta", "eta_ddim", "n_samples", "variance",
                        "clip_x0", "stop", "start")

    def __init__(self, **hparams):
        super().__init__(**hparams)
        h = self.hparams
        self.size_multiple = 2 ** (len(h["mults"]) - 1)  # type: ignore[misc]
        self.net = PIUNet(h["width"], list(h["mults"]), h["emb_dim"])

    @property
    def uses_physics(self) -> bool:
        return bool(self.hparams["physics"])

    def eps(self, x_t: Tensor, y_m: Tensor, gamma: Tensor) -> Tensor:
        out = self.net(x_t, y_m, gamma.float().sqrt()).float()
        return self.eps_from_output(out, x_t, y_m, gamma)

    def physics_gradient(self, x_t: Tensor, target: Tensor, op) -> Tensor:
        """``g = grad_{x_t} [ ||K x_t - target||^2 + lambda R(x_t) ]`` (model space; K applied
        in data units, ``K(2x - 1) = 2 K(x) - 1`` since K preserves constants). ``op``: K
        (a callable, :func:`simart.models.diffusion.forward_operator`) or the images'
        parameters."""
        h = self.hparams
        if isinstance(op, dict):
            op = forward_operator(op, tuple(x_t.shape[-2:]), x_t.device)
        with torch.enable_grad():
            xg = x_t.detach().requires_grad_(True)
            kx = to_model_space(op(to_data_space(xg)))
            loss = (kx - target).pow(2).flatten(1).sum(1)
            if h["reg"] != "none" and h["reg_weight"] > 0:
                loss = loss + h["reg_weight"] * regulariser(to_data_space(xg), h["reg"])
            (g,) = torch.autograd.grad(loss.sum(), xg)
        return g.detach()

    def training_step(self, batch: Batch, gen: torch.Generator
                      ) -> tuple[Tensor, dict[str, float]]:
        if batch.x is None:
            raise ValueError(f"model {self.name!r} needs batch.x")
        h = self.hparams
        x0, ym = to_model_space(batch.x.float()), to_model_space(batch.y.float())
        b, dev = x0.shape[0], x0.device
        t = torch.randint(0, self.sched.T, (b,), generator=gen, device=gen.device).to(dev)
        abar = self.sched.alpha_bar.to(dev)
        abar_prev = self.sched.alpha_bar_prev().to(dev)
        if h["continuous_gamma"]:
            u = torch.rand(b, generator=gen, device=gen.device, dtype=torch.float64).to(dev)
            gamma = abar[t] + u * (abar_prev[t] - abar[t])
        else:
            gamma = abar[t]
        eps = randn(x0.shape, gen, like=x0)
        gv = gamma.float().view(-1, 1, 1, 1)
        x_t = gv.sqrt() * x0 + (1 - gv).sqrt() * eps
        target = eps
        logs: dict[str, float] = {}
        if self.uses_physics:
            if batch.params is None:
                raise ValueError(f"model {self.name!r} needs batch.params (the PSF of "
                                 "each image)")
            op = forward_operator(batch.params, tuple(x0.shape[-2:]), dev)
            with torch.no_grad():
                x_tilde = to_model_space(op(batch.x.float()))
            g = self.physics_gradient(x_t, x_tilde, op)
            sigma2 = self.sched.betas.to(dev)[t].float().view(-1, 1, 1, 1)
            shift = sigma2 * nu_t(g, gamma.float(), float(h["eta"])) * g
            target = eps + shift
            logs["physics_shift"] = float(shift.flatten(1).norm(dim=1).mean())
        eps_hat = self.eps(x_t, ym, gamma)
        loss = F.mse_loss(eps_hat, target)
        logs["diffusion"] = float(F.mse_loss(eps_hat.detach(), eps))
        logs.setdefault("physics_shift", 0.0)
        logs["loss"] = float(loss.detach())
        return loss, logs

    def predict(self, y: Tensor, subset: Tensor | None = None, *,
                params: dict[str, Tensor] | None = None,
                gen: torch.Generator | None = None) -> Tensor:
        """Restored images (B, 1, H, W): mean of ``n_samples`` samples (Algorithm 2)."""
        dev = y.device
        gen = gen if gen is not None else self.default_generator(dev)
        yp, (h0, w0) = pad_to_multiple(y.float(), self.size_multiple)
        ym = to_model_space(yp)
        abar = self.sched.alpha_bar.to(dev)

        def eps_fn(x_t: Tensor, t: Tensor) -> Tensor:
            return self.eps(x_t, ym, abar[t])

        eta = float(self.sampling["eta"])
        guide = None
        if params is not None and eta > 0 and self.uses_physics:
            params = {k: v.to(dev) for k, v in params.items()}
            bg = params.get("background")
            meas = yp - (bg.to(yp.dtype).view(-1, 1, 1, 1) if bg is not None else 0.0)
            target = to_model_space(meas)
            op = forward_operator(params, tuple(yp.shape[-2:]), dev)

            def guide(x_t: Tensor, x0_hat: Tensor, t: Tensor, _m: Any) -> Tensor:
                g = self.physics_gradient(x_t, target, op)
                return nu_t(g, abar[t].float(), 1.0) * g

            guide.through_model = False  # type: ignore[attr-defined]
        outs = []
        for _ in range(self.sampling["n_samples"]):
            x0, _ = self.run_sampler(eps_fn, yp.shape, gen, device=dev, guidance=guide,
                                     strength=eta, guidance_mode="shift",
                                     y_start=ym)
            outs.append(to_data_space(x0))
        return torch.stack(outs).mean(0)[..., :h0, :w0]


class PIDDPML2(PIDDPM):
    """PI-DDPM paper Fig. 5's other regulariser: PI-DDPM with the L2 instead of the L1 term."""

    name: ClassVar[str] = "pi_ddpm_l2"


class PIDDPMPlain(PIDDPM):
    """The paper's DDPM ablation: the same network and sampler without the physics term."""

    name: ClassVar[str] = "pi_ddpm_plain"

