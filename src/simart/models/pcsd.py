"""PCSD: Physics-Constrained Self-supervised Diffusion (the PCSD paper §3, Algorithms 1-2) and the
ablations of its Table 3.

Network (the PCSD paper §3.4): a U-Net epsilon-predictor ``eps_theta(x_t, t, m, theta_m | y)``:

* sinusoidal time embedding + a learned modality embedding (``emb_dim``-d, 128 in the
  paper) + an embedding of the physical parameters theta_m (``param_cond``; the paper's
  "input: ... and physics parameters"), summed and passed through one shared projection
  (Linear-SiLU-Linear), injected into every residual block by adaptive group
  normalisation ``AdaGN(h) = (1 + gamma_{m,t}) GN(h) + beta_{m,t}`` (eq. 19);
* residual blocks of two 3x3 convs with GroupNorm + SiLU, ``blocks`` per level,
  ``len(mults) - 1`` 2x2 average-pool down-samplings (4 in the paper), nearest up-sampling,
  concatenated skips (the first block of each decoder level takes them); a transformer
  bottleneck (pre-norm multi-head self-attention, ``heads`` = 8, feed-forward ``ff_dim`` =
  1024 in the paper); GroupNorm + SiLU + 3x3 output conv (zero-init). No conv in the
  re-sampling: on the CPU the embedded network's cost is the number of conv layers.
* ``stem`` 2 (paper preset): a 2x2 pixel-unshuffle before the first conv and a
  pixel-shuffle after the last, so that a 512^2 image is processed at 256 -> 128 -> 64 ->
  32 -> 16 as the paper describes (4 down-samplings of the 256^2 stem).

Conditioning on the degraded image ``y`` (our choice): ``y`` is concatenated to
``x_t`` as a second input channel and sampling starts from N(0, I) noise -- the standard
conditional DDPM (SR3, Saharia et al. 2022). The paper's Algorithm 2 starts from
``x_T = y`` with an unconditional network; but y is not distributed as N(0, I) noise at
t = T, and a network that never sees y cannot know which image to restore when sampling
starts from noise, so the paper's literal form is ill-posed; concatenation keeps y in view
at every step.

Losses (eq. 26; weights ``lambda_*`` = 1.0, 0.5, 0.5, 0.1, 0.01 in the paper), images in
[-1, 1], ``x0_hat`` by Tweedie (eq. 22) from the epsilon prediction:

* ``diffusion``: ``mean (eps - eps_hat)^2`` (eq. 20), t ~ U{1..T} per image.
* ``physics``: ``mean |P(x0_hat) - P(x_0)|`` (eq. 21 / Algorithm 1 line 12, whose
  diffused training image "y_i" is our clean ``x_0``; P is the noiseless operator of each
  image's modality with its own parameters, :func:`simart.models.diffusion.physics_forward`,
  in data units [0, 1]; comparing P of two images of the same crop, as the Batch contract
  asks). AFM uses the exact dilation (``afm_mode`` "exact": its gradient reaches each
  output's winning pixel only, i.e. it is sparse; "soft" = the log-sum-exp dilation with
  dense gradients, ~10-30x slower on the CPU).
* ``cycle``: eq. 23 runs the full reverse process D inside every training step (T network
  evaluations) -- far too expensive -- and applies P twice (``y - P(D(P(y)))``, where
  ``P(y)`` is a doubly degraded image). We use a one-step surrogate of D started from the
  measurement, as Algorithm 2 starts from y: ``x_c = sqrt(abar_c) y + sqrt(1 - abar_c) eps``
  at the fixed timestep ``t_c = round(cycle_t (T - 1))``, ``D(y) = x0_hat(x_c, t_c)``
  (Tweedie), and the cycle ``y -> D(y) -> P(D(y))`` is closed on the noiseless measurement
  of the same crop: ``mean |P(D(y)) - P(x_0)|`` (``P(x_0) = E[y | x_0]``), on the first
  ``ceil(cycle_fraction * B)`` images of the batch (1.0 in the paper preset; 0.25 in the
  embedded one: the cycle pass is a second network evaluation).
* ``perceptual``: ``sum_l mean (phi_l(x0_hat) - phi_l(x_0))^2`` over VGG-19 relu1_2, relu2_2,
  relu3_3, relu4_3 (eq. 24; grey replicated to RGB, ImageNet normalisation), the
  ImageNet weights read from a LOCAL torchvision checkpoint (``vgg19-dcbbe1d0.pth`` in
  ``$TORCH_HOME/hub/checkpoints/`` or hparam ``vgg_weights``), SHA-256 prefix checked;
  when absent the term is disabled (never random weights): ``perceptual_available`` is
  False, the reason in ``perceptual_reason``, and the logs carry
  ``perceptual_available = 0``.
* ``tv``: ``mean |x0_hat_{i+1,j} - x0_hat_{i,j}| + |x0_hat_{i,j+1} - x0_hat_{i,j}|`` (eq. 25).

The x0_hat terms are weighted per image by ``sqrt(abar_t)`` (``abar_t`` for the squared
perceptual term): Tweedie's ``x0_hat`` amplifies the epsilon error by ``1/sqrt(abar_t)``
(~3e4 at t = T with the cosine schedule), so the paper's unweighted terms are unbounded;
with the weight, ``sqrt(abar_t) |P(x0_hat) - P(x_0)|`` stays of the order of the epsilon
error (ours; the paper does not say).

Sampling (Algorithm 2): DDPM over all T steps or DDIM (``sampler``, ``steps``,
``eta_ddim``), from N(0, I) (``start`` 1) or from the measurement (``start`` < 1: the chain
starts at ``t_s = start (T-1)`` from ``sqrt(abar) y + sqrt(1 - abar) eps``, the conditional
form of Algorithm 2's ``x_T = y``), down to ``stop (T-1)`` where Tweedie's estimate is
returned; the mean of ``n_samples`` samples; physics guidance of strength ``eta`` (0.5, the paper)
applied where ``abar_t >= guide_min_abar``: the score ``s_t = -eps_hat / sqrt(1 - abar_t)``
becomes ``s_t - eta * g`` (the paper writes ``+ eta * grad L_phys``, which ascends the loss:
a sign error) with ``L_guide = guide_scale * ||P(x0_hat) - y||`` (``guide_loss`` l1 = the
paper's eq. 21 norm; l2 = ``0.5 ||.||^2``), the consistency of Tweedie's estimate with the
measured image, and (``guide_wrt``):

* ``x_t`` (paper preset; Algorithm 2 literally): ``g = grad_{x_t} L_guide`` by autograd
  through the network (``predict`` enables gradients inside the caller's ``no_grad``);
* ``x0`` (embedded preset): ``g = sqrt(abar_t) / (1 - abar_t) grad_{x0_hat} L_guide``, which
  moves Tweedie's estimate by exactly ``-eta grad_{x0_hat} L_guide``: one Landweber step on
  the data consistency per sampling step, no backward through the network (3x cheaper; the
  form of manifold-preserving guidance, He et al. 2024).

Measured on the embedded shards (300 training steps, test + val images of each modality):
the paper's literal guidance (L1 w.r.t. x_t, eta 0.5) changes little or overshoots; the
sign gradient of the L1 norm has unit size at every pixel however small the residual.
The embedded preset (``start`` 0.3, 5 DDIM steps, ``stop`` 0.1, 2 samples, x0 / l2
guidance with ``eta * guide_scale`` = 6) beats the noisy input on all four modalities.
The "fast variant" of the paper (Table 6, 250 steps) = ``set_sampling(sampler="ddim",
steps=250)``; the paper preset samples with 1000 DDPM steps from noise.

Ablations (Table 3), each its own registry name with pcsd's hparams but: ``pcsd_no_physics``
(lambda_phys = 0 and no guidance, eta = 0), ``pcsd_no_modality`` (no modality embedding:
``modality_cond`` false), ``pcsd_no_cycle``, ``pcsd_no_perceptual``, ``pcsd_no_tv`` (that
weight 0), ``pcsd_diffusion_only`` (only the diffusion loss, no guidance), ``pcsd_physics_only``
(no diffusion term: the network is trained only through ``P(x0_hat)`` = physics loss alone,
lambda_diff = 0 and every other weight 0; sampling as pcsd's, with guidance).
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from simart.models.base import Batch, compile_module
from simart.models.diffusion import (
    DiffusionModel,
    attention,
    forward_operator,
    loss_guidance,
    pad_to_multiple,
    param_features,
    physics_forward,
    predict_x0,
    q_sample,
    randn,
    subset_index,
    timestep_embedding,
    to_data_space,
    to_model_space,
)

LOG = logging.getLogger(__name__)

N_PARAM_FEATURES = 12
VGG_FILE = "vgg19-dcbbe1d0.pth"
# torchvision vgg19().features indices of the ReLUs the perceptual loss taps
_VGG_TAPS = (3, 8, 15, 24)  # relu1_2, relu2_2, relu3_3, relu4_3 (loss stops at 4_3)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


# ------------------------------------------------------------------------- network

def _groups(ch: int, want: int) -> int:
    g = min(want, ch)
    while ch % g:
        g -= 1
    return g


class AdaGN(nn.Module):
    """``(1 + gamma) GroupNorm(h) + beta``, (gamma, beta) = Linear(SiLU(emb)) (eq. 19);
    the linear layer starts at zero (plain GroupNorm at initialisation)."""

    def __init__(self, ch: int, emb_dim: int, groups: int):
        super().__init__()
        self.norm = nn.GroupNorm(_groups(ch, groups), ch, affine=False)
        self.proj = nn.Linear(emb_dim, 2 * ch)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, h: Tensor, emb: Tensor) -> Tensor:
        gamma, beta = self.proj(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        return torch.addcmul(beta, self.norm(h), 1 + gamma)


class ResBlock(nn.Module):
    """``skip(x) + conv(SiLU(AdaGN(conv(SiLU(GN(x))), emb)))`` (1x1 conv on the skip when
    the width changes; the conditioning enters through the block's second normalisation,
    as in Dhariwal & Nichol's scale-shift norm); the second conv starts at zero."""

    def __init__(self, cin: int, cout: int, emb_dim: int, groups: int):
        super().__init__()
        self.n1 = nn.GroupNorm(_groups(cin, groups), cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.n2 = AdaGN(cout, emb_dim, groups)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.c1(F.silu(self.n1(x)))
        h = self.c2(F.silu(self.n2(h, emb)))
        return self.skip(x) + h


class TransformerBlock(nn.Module):
    """Pre-norm transformer layer on the (H W) tokens of a feature map: multi-head
    self-attention (``heads``) and a GELU feed-forward of width ``ff_dim``, both residual."""

    def __init__(self, ch: int, heads: int, ff_dim: int):
        super().__init__()
        if ch % heads:
            raise ValueError(f"bottleneck width {ch} is not divisible by {heads} heads")
        self.heads = heads
        self.n1 = nn.LayerNorm(ch)
        self.qkv = nn.Linear(ch, 3 * ch)
        self.proj = nn.Linear(ch, ch)
        self.n2 = nn.LayerNorm(ch)
        self.ff = nn.Sequential(nn.Linear(ch, ff_dim), nn.GELU(), nn.Linear(ff_dim, ch))
        for layer in (self.proj, self.ff[2]):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)  # (B, N, C)
        q, k, v = self.qkv(self.n1(t)).reshape(b, h * w, 3, self.heads, c // self.heads
                                               ).permute(2, 0, 3, 1, 4)
        a = attention(q, k, v).transpose(1, 2).reshape(b, h * w, c)
        t = t + self.proj(a)
        t = t + self.ff(self.n2(t))
        return t.transpose(1, 2).reshape(b, c, h, w)


class PCSDUNet(nn.Module):
    """The modality-conditioned U-Net (see the module docstring). Input (B, 2, H, W) =
    [x_t, y]; H, W multiples of ``stem * 2**(len(mults) - 1)``."""

    def __init__(self, width: int, mults: list[int], blocks: int, emb_dim: int, heads: int,
                 ff_dim: int, groups: int, n_modalities: int, modality_cond: bool,
                 param_cond: bool, stem: int, in_ch: int = 2):
        super().__init__()
        self.stem = stem
        chans = [width * m for m in mults]
        self.emb_dim = emb_dim
        self.modality = nn.Embedding(n_modalities, emb_dim) if modality_cond else None
        self.params = nn.Linear(N_PARAM_FEATURES, emb_dim) if param_cond else None
        self.proj = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(),
                                  nn.Linear(emb_dim, emb_dim))
        self.conv_in = nn.Conv2d(in_ch * stem * stem, chans[0], 3, padding=1)
        self.down = nn.ModuleList()
        c = chans[0]
        for ch in chans:
            level = nn.ModuleList()
            for _ in range(blocks):
                level.append(ResBlock(c, ch, emb_dim, groups))
                c = ch
            self.down.append(level)
        self.attn = TransformerBlock(c, heads, ff_dim)
        self.up = nn.ModuleList()
        for i in reversed(range(len(chans))):
            ch = chans[i]
            level = nn.ModuleList()
            for k in range(blocks):
                level.append(ResBlock(c + ch if k == 0 else c, ch, emb_dim, groups))
                c = ch
            self.up.append(level)
        self.norm_out = nn.GroupNorm(_groups(c, groups), c)
        self.conv_out = nn.Conv2d(c, stem * stem, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def embed(self, t: Tensor, m: Tensor, pvec: Tensor) -> Tensor:
        emb = timestep_embedding(t, self.emb_dim)
        if self.modality is not None:
            n = self.modality.num_embeddings
            # checked eagerly only: in a compiled graph the host read would split it (an
            # out-of-range index then fails in the embedding's gather instead)
            if not torch.compiler.is_compiling() and bool((m >= n).any()):
                raise ValueError(f"modality index {int(m.max())} has no row in PCSD's modality "
                                 f"embedding (n_modalities = {n}): raise the hyper-parameter "
                                 "n_modalities to train on more modalities")
            emb = emb + self.modality(m)
        if self.params is not None:
            emb = emb + self.params(pvec)
        return self.proj(emb)

    def forward(self, x_t: Tensor, y: Tensor, t: Tensor, m: Tensor, pvec: Tensor) -> Tensor:
        emb = self.embed(t, m, pvec)
        h = torch.cat([x_t, y], dim=1)
        if self.stem > 1:
            h = F.pixel_unshuffle(h, self.stem)
        h = self.conv_in(h)
        skips = []
        for i, level in enumerate(self.down):
            if i > 0:
                h = F.avg_pool2d(h, 2)
            for block in level:
                h = block(h, emb)
            skips.append(h)
        h = self.attn(h)
        for j, level in enumerate(self.up):
            if j > 0:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = torch.cat([h, skips.pop()], dim=1)
            for block in level:
                h = block(h, emb)
        out = self.conv_out(F.silu(self.norm_out(h)))
        return F.pixel_shuffle(out, self.stem) if self.stem > 1 else out


# ---------------------------------------------------------------- perceptual (VGG-19)

class VGG19Features(nn.Module):
    """torchvision's VGG-19 feature extractor up to relu4_3 (``vgg19().features[:25]``, built
    with torchvision's own ``make_layers`` and configuration "E", so a torchvision checkpoint's
    ``features.{i}.weight/bias`` load key for key), returning relu1_2, relu2_2, relu3_3,
    relu4_3. Only the layers the loss taps are built: not the deeper layers or the classifier
    (~120 M parameters the loss never uses)."""

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models import vgg

        self.features = vgg.make_layers(vgg.cfgs["E"], batch_norm=False)[:_VGG_TAPS[-1] + 1]

    def forward(self, x: Tensor) -> list[Tensor]:
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in _VGG_TAPS:
                out.append(x)
        return out


def default_vgg_path() -> Path:
    """``$TORCH_HOME/hub/checkpoints/vgg19-dcbbe1d0.pth`` (where torchvision looks)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG_FILE


def load_vgg19(path: str | Path | None = None) -> VGG19Features:
    """The ImageNet VGG-19 features from a local torchvision checkpoint (``FileNotFoundError``
    when absent, ``ValueError`` when its SHA-256 does not start with the hash in its name or
    it is not a VGG-19 state dict). Nothing is downloaded; frozen, eval mode."""
    from simart.metrics.lpips import sha256_of

    p = Path(path).expanduser() if path else default_vgg_path()
    if not p.is_file():
        raise FileNotFoundError(f"VGG-19 weights not found at {p}: place torchvision's "
                                f"ImageNet checkpoint {VGG_FILE} there (or set hparam "
                                "vgg_weights); nothing is downloaded, the perceptual term "
                                "is never computed with random weights")
    m = re.search(r"-([0-9a-f]{6,64})\.[A-Za-z0-9]+$", p.name)
    if m is None or not sha256_of(p).startswith(m.group(1)):
        raise ValueError(f"VGG-19 weights {p}: SHA-256 does not match the '-<hash>.pth' "
                         "of its name (torchvision naming)")
    state = torch.load(p, map_location="cpu", weights_only=True)
    net = VGG19Features()
    want = net.state_dict()
    feats = {k: v for k, v in state.items() if k in want}
    if set(feats) != set(want) or any(feats[k].shape != want[k].shape for k in want):
        raise ValueError(f"VGG-19 weights {p}: not a torchvision vgg19 state dict")
    net.load_state_dict(feats)
    return net.eval().requires_grad_(False)


def perceptual_loss(vgg: VGG19Features, a: Tensor, b: Tensor) -> Tensor:
    """Per-image ``sum_l mean (phi_l(a) - phi_l(b))^2`` (B,) of grey images in [0, 1]."""
    mean = torch.tensor(_IMAGENET_MEAN, device=a.device).view(1, 3, 1, 1)
    std = torch.tensor(_IMAGENET_STD, device=a.device).view(1, 3, 1, 1)
    fa = vgg((a.expand(-1, 3, -1, -1) - mean) / std)
    fb = vgg((b.expand(-1, 3, -1, -1) - mean) / std)
    return sum((x - y).pow(2).mean(dim=(1, 2, 3)) for x, y in zip(fa, fb, strict=True))


def tv_per_image(x: Tensor) -> Tensor:
    """Per-image anisotropic total variation (eq. 25) as a mean over pixel pairs (B,)."""
    dh = (x[..., 1:, :] - x[..., :-1, :]).abs().mean(dim=(1, 2, 3))
    dw = (x[..., :, 1:] - x[..., :, :-1]).abs().mean(dim=(1, 2, 3))
    return dh + dw


# ------------------------------------------------------------------------- the model

class PCSD(DiffusionModel):
    """PCSD (the PCSD paper): see the module docstring."""

    name: ClassVar[str] = "pcsd"
    sampling_options = ("sampler", "steps", "eta", "eta_ddim", "n_samples", "variance",
                        "clip_x0", "stop", "start")
    LOSS_TERMS: ClassVar[tuple[str, ...]] = ("diffusion", "physics", "cycle", "perceptual",
                                             "tv")

    def __init__(self, **hparams):
        super().__init__(**hparams)
        h = self.hparams
        self.size_multiple = h["stem"] * 2 ** (len(h["mults"]) - 1)  # type: ignore[misc]
        self.net = PCSDUNet(h["width"], list(h["mults"]), h["blocks"], h["emb_dim"],
                            h["heads"], h["ff_dim"], h["groups"], h["n_modalities"],
                            h["modality_cond"], h["param_cond"], h["stem"])
        # VGG-19 outside the module tree (not in checkpoints, not optimised), loaded (and its
        # hash checked) at the first training step that needs it; absent -> disabled
        self._vgg: list[VGG19Features] = []
        self._vgg_path = (Path(h["vgg_weights"]).expanduser() if h["vgg_weights"]
                          else default_vgg_path())
        self.perceptual_available = False
        self.perceptual_reason = "lambda_perc is 0"
        if h["lambda_perc"] > 0:
            if self._vgg_path.is_file():
                self.perceptual_available, self.perceptual_reason = True, ""
            else:
                self._disable_perceptual(FileNotFoundError(
                    f"VGG-19 weights not found at {self._vgg_path}: place torchvision's "
                    f"ImageNet checkpoint {VGG_FILE} there (or set hparam vgg_weights); "
                    "nothing is downloaded, the perceptual term is never computed with "
                    "random weights"))

    def _disable_perceptual(self, exc: Exception) -> None:
        self.perceptual_available, self.perceptual_reason = False, str(exc)
        LOG.warning("%s: perceptual loss disabled (perceptual_available=0): %s", self.name,
                    exc)

    def _vgg_net(self, device) -> VGG19Features | None:
        """The VGG-19 features (loaded on first use), None when unavailable."""
        if not self.perceptual_available:
            return None
        if not self._vgg:
            try:
                self._vgg.append(load_vgg19(self._vgg_path))
            except (FileNotFoundError, ValueError) as exc:
                self._disable_perceptual(exc)
                return None
            if self.compile_options is not None:  # compile_networks ran before it loaded
                compile_module(self._vgg[0], **self.compile_options)
        self._vgg[0] = self._vgg[0].to(device)
        return self._vgg[0]

    # -- network
    def weights(self) -> dict[str, float]:
        h = self.hparams
        return {"diffusion": h["lambda_diff"], "physics": h["lambda_phys"],
                "cycle": h["lambda_cycle"],
                "perceptual": h["lambda_perc"] if self.perceptual_available else 0.0,
                "tv": h["lambda_tv"]}

    def eps(self, x_t: Tensor, y_m: Tensor, t: Tensor, m: Tensor, pvec: Tensor) -> Tensor:
        out = self.net(x_t, y_m, t, m, pvec).float()
        return self.eps_from_output(out, x_t, y_m, self.sched.alpha_bar.to(t.device)[t])

    def forward(self, x_t: Tensor, y: Tensor, t: Tensor, subset: Tensor | None = None,
                params: dict[str, Tensor] | None = None) -> Tensor:
        """eps_hat of ``x_t`` (model space) for degraded images ``y`` (data units)."""
        b = y.shape[0]
        m = subset_index(params, subset, b, y.device)
        pvec = param_features(params, b, y.device, N_PARAM_FEATURES)
        return self.eps(x_t, to_model_space(y), t, m, pvec)

    # -- training
    def _need_params(self, params) -> dict[str, Tensor]:
        if params is None:
            raise ValueError(f"model {self.name!r} needs batch.params (the physics terms "
                             "apply each image's forward operator)")
        return params

    def training_step(self, batch: Batch, gen: torch.Generator
                      ) -> tuple[Tensor, dict[str, float]]:
        if batch.x is None:
            raise ValueError(f"model {self.name!r} needs batch.x")
        vgg = self._vgg_net(batch.x.device) if self.hparams["lambda_perc"] > 0 else None
        h, w_ = self.hparams, self.weights()
        x0, ym = to_model_space(batch.x.float()), to_model_space(batch.y.float())
        b, dev = x0.shape[0], x0.device
        phys = w_["physics"] > 0 or w_["cycle"] > 0
        params = self._need_params(batch.params) if phys or h["param_cond"] else batch.params
        m = subset_index(params, batch.subset, b, dev)
        pvec = param_features(params, b, dev, N_PARAM_FEATURES)
        T = self.sched.T
        t = torch.randint(0, T, (b,), generator=gen, device=gen.device).to(dev)
        eps = randn(x0.shape, gen, like=x0)
        x_t = q_sample(x0, t, eps, self.sched)
        xs, ts, ys = [x_t], [t], [ym]
        nc = max(1, math.ceil(h["cycle_fraction"] * b))  # images in the cycle pass
        if w_["cycle"] > 0:  # one-step surrogate of D from the measurement (docstring)
            tc = torch.full((nc,), round(h["cycle_t"] * (T - 1)), dtype=torch.long,
                            device=dev)
            x_c = q_sample(ym[:nc], tc, randn(x0[:nc].shape, gen, like=x0), self.sched)
            xs, ts, ys = xs + [x_c], ts + [tc], ys + [ym[:nc]]
        ms, ps = [m, m[:nc]][:len(xs)], [pvec, pvec[:nc]][:len(xs)]
        eps_all = self.eps(torch.cat(xs), torch.cat(ys), torch.cat(ts), torch.cat(ms),
                           torch.cat(ps))
        eps_hat = eps_all[:b]
        abar = self.sched.alpha_bar.to(dev)[t].float().view(-1, 1, 1, 1)
        wt = abar.sqrt().flatten()  # per-image weight of the x0_hat terms
        logs: dict[str, float] = {}
        terms: dict[str, Tensor] = {}
        if w_["diffusion"] > 0:
            terms["diffusion"] = F.mse_loss(eps_hat, eps)
        x0_hat = to_data_space(predict_x0(x_t, t, eps_hat, self.sched))
        clean = batch.x.float()
        if phys:
            with torch.no_grad():
                p_clean = physics_forward(clean, params, afm_mode=h["afm_mode"])
        if w_["physics"] > 0:
            p_hat = physics_forward(x0_hat, params, afm_mode=h["afm_mode"])
            terms["physics"] = (wt * (p_hat - p_clean).abs().mean(dim=(1, 2, 3))).mean()
        if w_["cycle"] > 0:
            tc = ts[1]
            d_y = to_data_space(predict_x0(xs[1], tc, eps_all[b:], self.sched))
            wc = self.sched.alpha_bar.to(dev)[tc].float().sqrt()
            p_sub = {k_: v[:nc] for k_, v in params.items()}
            p_dy = physics_forward(d_y, p_sub, afm_mode=h["afm_mode"])
            terms["cycle"] = (wc * (p_dy - p_clean[:nc]).abs().mean(dim=(1, 2, 3))).mean()
        if w_["perceptual"] > 0 and vgg is not None:
            terms["perceptual"] = (wt ** 2 * perceptual_loss(vgg, x0_hat, clean)).mean()
        if w_["tv"] > 0:
            terms["tv"] = (wt * tv_per_image(x0_hat)).mean()
        loss = sum(w_[k_] * v for k_, v in terms.items())
        if not isinstance(loss, Tensor):  # every weight 0
            loss = eps_hat.sum() * 0.0
        for name in self.LOSS_TERMS:
            logs[name] = float(terms[name].detach()) if name in terms else 0.0
        logs["loss"] = float(loss.detach())
        logs["perceptual_available"] = float(self.perceptual_available)
        return loss, logs

    # -- sampling
    def guidance_loss(self, params: dict[str, Tensor]):
        """``L_guide(x0_hat, y, t)`` per image (see the module docstring); the operator is
        built once per image size (fluorescence: transfer functions) for all steps."""
        h = self.hparams
        min_abar = float(h["guide_min_abar"])
        abar = self.sched.alpha_bar
        ops: dict[tuple, object] = {}

        def loss(x0_hat: Tensor, y: Tensor, t: Tensor) -> Tensor:
            on = (abar.to(t.device)[t] >= min_abar).to(x0_hat.dtype)
            key = tuple(x0_hat.shape[-2:])
            if key not in ops:
                ops[key] = forward_operator(params, key, x0_hat.device, afm_mode=h["afm_mode"])
            p = ops[key](to_data_space(x0_hat))
            r = p - y
            if h["guide_loss"] == "l1":
                per = r.abs().flatten(1).sum(1)
            else:
                per = 0.5 * r.pow(2).flatten(1).sum(1)
            return on * per * float(h["guide_scale"])

        return loss

    def guidance(self, params: dict[str, Tensor]):
        """The guidance hook (hparam ``guide_wrt``): ``x_t`` -- ``grad_{x_t} L_guide`` by
        autograd through the network (Algorithm 2); ``x0`` -- ``sqrt(abar_t) / (1 - abar_t)
        grad_{x0_hat} L_guide`` (no backward through the network): in score mode this
        moves Tweedie's estimate by exactly ``-eta grad_{x0_hat} L_guide``, one gradient
        (Landweber) step on the data consistency per sampling step."""
        loss = self.guidance_loss(params)
        if self.hparams["guide_wrt"] == "x_t":
            return loss_guidance(loss)
        base = loss_guidance(loss, wrt_x0=True)
        abar = self.sched.alpha_bar

        def hook(x_t: Tensor, x0_hat: Tensor, t: Tensor, measurement) -> Tensor:
            ab = abar.to(t.device)[t].to(x0_hat.dtype).view(-1, 1, 1, 1)
            return base(x_t, x0_hat, t, measurement) * ab.sqrt() / (1 - ab)

        hook.through_model = False  # type: ignore[attr-defined]
        return hook

    def predict(self, y: Tensor, subset: Tensor | None = None, *,
                params: dict[str, Tensor] | None = None,
                gen: torch.Generator | None = None) -> Tensor:
        """Restored images (B, 1, H, W) for degraded ``y`` (any H, W): the mean of
        ``n_samples`` samples (1 by default) of the chosen sampler, with physics guidance
        when ``params`` are given and ``eta`` > 0."""
        dev = y.device
        gen = gen if gen is not None else self.default_generator(dev)
        yp, (h0, w0) = pad_to_multiple(y.float(), self.size_multiple)
        if params is not None:
            params = {k: v.to(dev) for k, v in params.items()}
        b = y.shape[0]
        m = subset_index(params, subset, b, dev)
        pvec = param_features(params, b, dev, N_PARAM_FEATURES)
        ym = to_model_space(yp)

        def eps_fn(x_t: Tensor, t: Tensor) -> Tensor:
            return self.eps(x_t, ym, t, m, pvec)

        eta = float(self.sampling["eta"])
        guide = None
        if params is not None and eta > 0:
            guide = self.guidance(params)
        # the guidance loss compares P(x0_hat) (padded size) with y: pad y's measurement
        # the same way (the padded border only adds reflected copies)
        outs = []
        for _ in range(self.sampling["n_samples"]):
            x0, _ = self.run_sampler(eps_fn, yp.shape, gen, device=dev, guidance=guide,
                                     strength=eta, measurement=yp, y_start=ym)
            outs.append(to_data_space(x0))
        out = torch.stack(outs).mean(0)
        return out[..., :h0, :w0]


# ----------------------------------------------------------------------- ablations

class PCSDNoPhysics(PCSD):
    """Table 3 "w/o physics constraints": no physics loss, no physics guidance."""

    name: ClassVar[str] = "pcsd_no_physics"


class PCSDNoModality(PCSD):
    """Table 3 "w/o modality conditioning": no modality embedding."""

    name: ClassVar[str] = "pcsd_no_modality"


class PCSDNoCycle(PCSD):
    """Table 3 "w/o cycle consistency"."""

    name: ClassVar[str] = "pcsd_no_cycle"


class PCSDNoPerceptual(PCSD):
    """Table 3 "w/o perceptual loss"."""

    name: ClassVar[str] = "pcsd_no_perceptual"


class PCSDNoTV(PCSD):
    """Table 3 "w/o TV regularization"."""

    name: ClassVar[str] = "pcsd_no_tv"


class PCSDDiffusionOnly(PCSD):
    """Table 3 "diffusion only": the diffusion loss alone, no guidance."""

    name: ClassVar[str] = "pcsd_diffusion_only"


class PCSDPhysicsOnly(PCSD):
    """Table 3 "physics only (no diffusion)": the physics loss on Tweedie's x0_hat alone."""

    name: ClassVar[str] = "pcsd_physics_only"


ABLATIONS: tuple[type[PCSD], ...] = (PCSDNoPhysics, PCSDNoModality, PCSDNoCycle,
                                     PCSDNoPerceptual, PCSDNoTV, PCSDDiffusionOnly,
                                     PCSDPhysicsOnly)

