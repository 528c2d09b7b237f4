"""Conditional DDPM with DDPM-avg and uncertainty maps (the conditional-DDPM paper, §3.2-3.4, S5, S7).

Model (§3.2): an image-conditioned DDPM (Saharia et al. 2022, SR3): the network predicts
the noise ``eps_theta([y_t, x], abar_t)`` from the noisy clean image concatenated with the
degraded image (our ``x_t`` and ``y``: the conditional-DDPM paper writes ``y`` for the clean target and ``x``
for the low-quality input), loss ``mean (eps - eps_theta)^2`` (eq. 3), cosine schedule
(offset s = 8e-3) with T = 200 (§3.4), ancestral sampling eq. 7 from N(0, I).

Network (§3.3, S7): the magnitude-preserving U-Net of EDM2 (Karras et al. 2024,
"Analyzing and improving the training dynamics of diffusion models"):

* :class:`MPConv`: weights with forced weight normalisation (each weight vector renormalised
  to unit norm *in place* at every training forward) and the magnitude-preserving scaling
  ``w / ||w|| / sqrt(fan_in)``; no biases;
* :func:`mp_silu` ``SiLU(x) / 0.596``, :func:`mp_sum` ``lerp(a, b, t) / sqrt((1-t)^2 + t^2)``,
  :func:`mp_cat` (weighted concatenation of the skips), pixel norm after every encoder
  block's skip path, cosine-attention (pixel-normalised q, k, v);
* :class:`MPFourier` noise-level embedding ``sqrt(2) cos(2 pi (f_i a + phi_i))``,
  ``f_i ~ N(0, 1)``, ``phi_i ~ U(0, 1)``, of ``a = abar_t`` (the conditional-DDPM paper eq. 17), then an MP
  linear layer and MP-SiLU; each block scales its residual branch by ``1 + emb_linear(emb)``
  (gain learned from zero); ``mp_lr_scale``: the stored weights are kept at RMS
  ``1 / mp_lr_scale`` and the two zero-initialised gains are multiplied by it, so that the
  loop's Adam learning rate acts ``mp_lr_scale`` times larger on these layers (EDM2 trains
  its normalised weights with lr ~1e-2; 10 in the embedded preset, whose lr is 1e-3);
* encoder: per level ``blocks`` blocks (a down-sampling block before each level but the
  first: 2x2 average pooling); decoder: two blocks at the bottom (the first with
  attention), then per level an up-sampling block (nearest) and ``blocks + 1`` blocks taking
  the concatenated skips; attention in the blocks of the levels ``attn_levels``; a
  constant-one input channel; the MP output conv's gain starts at zero (eps_hat = 0).

EDM2's preconditioning (c_in, c_skip, c_out) is not used: the conditional-DDPM paper trains the
epsilon-prediction objective (eq. 3), and the VP state ``x_t`` already has unit variance.

Prediction (S5): ``n_samples`` samples from independent initial noise (15 in the paper); the
estimate ("prediction") is their mean (DDPM-avg). Extra outputs (:attr:`extra_outputs`,
which depend on ``n_samples``): ``std`` -- pixelwise population standard deviation of the
samples (the paper's eq. 15 without its 1/255: our images are in [0, 1]); ``entropy`` -- the paper's eq.
16: per pixel, the Shannon entropy (nats) ``-sum_m p_m log p_m`` of the distribution of the
samples' values quantised to ``entropy_bins`` levels of [0, 1] (256: the 8-bit values the
paper counts), between 0 (all samples equal) and ``log N``; with ``entropy: gaussian`` the
differential entropy ``0.5 log(2 pi e std^2)`` instead (std floored at 1e-6); ``sample_1``
-- the first sample (the single-sample "DDPM" of the paper's tables); ``mean_n{k}`` -- the
running mean of the first k samples for k in (1, 2, 4, 8, 15) up to ``n_samples`` (and
``n_samples`` itself), the curve "metric vs number of averaged samples" (Fig. S1).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from simart.models.base import Batch
from simart.models.diffusion import (
    DiffusionModel,
    attention,
    pad_to_multiple,
    q_sample,
    randn,
    sample_stats,
    to_data_space,
    to_model_space,
)

MEAN_NS = (1, 2, 4, 8, 15)


# ---------------------------------------------------------------- MP building blocks

def mp_normalize(x: Tensor, dim=None, eps: float = 1e-4) -> Tensor:
    """EDM2 ``normalize``: ``x / (eps + ||x|| / sqrt(numel / numel(norm)))`` over ``dim``
    (default: all but the first), i.e. unit root-mean-square."""
    if dim is None:
        dim = list(range(1, x.ndim))
    norm = torch.linalg.vector_norm(x, dim=dim, keepdim=True, dtype=torch.float32)
    norm = torch.add(eps, norm, alpha=math.sqrt(norm.numel() / x.numel()))
    return x / norm.to(x.dtype)


def mp_silu(x: Tensor) -> Tensor:
    """Magnitude-preserving SiLU (unit-variance input -> ~unit second moment)."""
    return F.silu(x) / 0.596


def mp_sum(a: Tensor, b: Tensor, t: float = 0.5) -> Tensor:
    """Magnitude-preserving weighted sum ``lerp(a, b, t) / sqrt((1-t)^2 + t^2)``."""
    return a.lerp(b, t) / math.sqrt((1 - t) ** 2 + t ** 2)


def mp_cat(a: Tensor, b: Tensor, dim: int = 1, t: float = 0.5) -> Tensor:
    """Magnitude-preserving concatenation (EDM2 ``mp_cat``)."""
    na, nb = a.shape[dim], b.shape[dim]
    c = math.sqrt((na + nb) / ((1 - t) ** 2 + t ** 2))
    return torch.cat([a * (c / math.sqrt(na) * (1 - t)), b * (c / math.sqrt(nb) * t)], dim=dim)


class MPFourier(nn.Module):
    """``sqrt(2) cos(2 pi (f a + phi))`` features of a scalar per image (the conditional-DDPM paper eq. 17);
    random frequencies / phases are buffers (stored in checkpoints)."""

    def __init__(self, channels: int, bandwidth: float = 1.0):
        super().__init__()
        self.register_buffer("freqs", 2 * math.pi * torch.randn(channels) * bandwidth)
        self.register_buffer("phases", 2 * math.pi * torch.rand(channels))

    def forward(self, a: Tensor) -> Tensor:
        y = a.float()[:, None] * self.freqs[None].float() + self.phases[None].float()
        return y.cos() * math.sqrt(2)


class MPConv(nn.Module):
    """Magnitude-preserving conv (kernel k) or linear layer (kernel 0), no bias, with forced
    weight normalisation in training mode (EDM2 ``MPConv``). The stored weights are kept at
    root-mean-square ``1 / lr_scale`` (EDM2: 1): the layer's function does not depend on it,
    but Adam's absolute steps then change the weights ``lr_scale`` times faster relatively
    (EDM2 trains with lr ~1e-2; see ``mp_lr_scale``)."""

    def __init__(self, cin: int, cout: int, kernel: int, lr_scale: float = 1.0):
        super().__init__()
        shape = (cout, cin, kernel, kernel) if kernel else (cout, cin)
        self.lr_scale = float(lr_scale)
        self.weight = nn.Parameter(torch.randn(shape) / self.lr_scale)

    def forward(self, x: Tensor, gain: float | Tensor = 1.0) -> Tensor:
        w = self.weight.float()
        if self.training:
            with torch.no_grad():  # forced weight normalisation
                self.weight.copy_(mp_normalize(w) / self.lr_scale)
        w = mp_normalize(w)
        w = (w * (gain / math.sqrt(w[0].numel()))).to(x.dtype)
        if w.ndim == 2:
            return x @ w.t()
        return F.conv2d(x, w, padding=w.shape[-1] // 2)


class MPBlock(nn.Module):
    """EDM2 ``Block`` (encoder / decoder flavour, resampling ``keep`` / ``down`` / ``up``,
    optional cosine self-attention with ``heads`` heads)."""

    def __init__(self, cin: int, cout: int, emb_dim: int, flavor: str = "enc",
                 resample: str = "keep", heads: int = 0, res_balance: float = 0.3,
                 attn_balance: float = 0.3, clip_act: float = 256.0, lr_scale: float = 1.0):
        super().__init__()
        k = self.lr_scale = float(lr_scale)
        self.flavor, self.resample, self.heads = flavor, resample, heads
        self.res_balance, self.attn_balance, self.clip_act = res_balance, attn_balance, clip_act
        self.out_channels = cout
        self.emb_gain = nn.Parameter(torch.zeros([]))
        self.conv_res0 = MPConv(cout if flavor == "enc" else cin, cout, 3, k)
        self.emb_linear = MPConv(emb_dim, cout, 0, k)
        self.conv_res1 = MPConv(cout, cout, 3, k)
        self.conv_skip = MPConv(cin, cout, 1, k) if cin != cout else None
        if heads:
            if cout % heads:
                raise ValueError(f"{cout} channels are not divisible by {heads} heads")
            self.attn_qkv = MPConv(cout, 3 * cout, 1, k)
            self.attn_proj = MPConv(cout, cout, 1, k)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        if self.resample == "down":
            x = F.avg_pool2d(x, 2)
        elif self.resample == "up":
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.flavor == "enc":
            if self.conv_skip is not None:
                x = self.conv_skip(x)
            x = mp_normalize(x, dim=1)  # pixel norm
        y = self.conv_res0(mp_silu(x))
        c = self.emb_linear(emb, gain=self.emb_gain * self.lr_scale) + 1
        y = mp_silu(y * c[:, :, None, None].to(y.dtype))
        y = self.conv_res1(y)
        if self.flavor == "dec" and self.conv_skip is not None:
            x = self.conv_skip(x)
        x = mp_sum(x, y, t=self.res_balance)
        if self.heads:
            b, ch, h, w = x.shape
            y = self.attn_qkv(x).reshape(b, self.heads, -1, 3, h * w)
            q, k, v = mp_normalize(y, dim=2).unbind(3)  # (B, heads, C/heads, N)
            a = attention(q.transpose(-1, -2), k.transpose(-1, -2),
                          v.transpose(-1, -2))  # (B, heads, N, C/heads)
            y = self.attn_proj(a.transpose(-1, -2).reshape(b, ch, h, w))
            x = mp_sum(x, y, t=self.attn_balance)
        if self.clip_act is not None:
            x = x.clamp(-self.clip_act, self.clip_act)
        return x


class MPUNet(nn.Module):
    """EDM2-style magnitude-preserving U-Net (see the module docstring): input
    (B, 2, H, W) = [x_t, y], noise level ``a`` (B,), output eps_hat (B, 1, H, W)."""

    def __init__(self, width: int, mults: list[int], blocks: int, emb_dim: int,
                 noise_dim: int, heads: int, attn_levels: list[int], res_balance: float,
                 attn_balance: float, concat_balance: float, in_ch: int = 2,
                 lr_scale: float = 1.0):
        super().__init__()
        chans = [width * m for m in mults]
        k = self.lr_scale = float(lr_scale)
        kw = {"res_balance": res_balance, "attn_balance": attn_balance, "lr_scale": k}
        self.concat_balance = concat_balance
        self.out_gain = nn.Parameter(torch.zeros([]))
        self.emb_fourier = MPFourier(noise_dim)
        self.emb_noise = MPConv(noise_dim, emb_dim, 0, k)
        self.enc = nn.ModuleList()
        self.enc_kind: list[str] = []
        cout = in_ch + 1
        for level, ch in enumerate(chans):
            hd = heads if level in attn_levels else 0
            if level == 0:
                self.enc.append(MPConv(cout, ch, 3, k))
                self.enc_kind.append("conv")
                cout = ch
            else:
                self.enc.append(MPBlock(cout, cout, emb_dim, "enc", "down", **kw))
                self.enc_kind.append("block")
            for _ in range(blocks):
                self.enc.append(MPBlock(cout, ch, emb_dim, "enc", heads=hd, **kw))
                self.enc_kind.append("block")
                cout = ch
        skips = [m.weight.shape[0] if isinstance(m, MPConv) else m.out_channels
                 for m in self.enc]
        self.dec = nn.ModuleList()
        self.dec_cat: list[bool] = []
        last = len(chans) - 1
        for level, ch in reversed(list(enumerate(chans))):
            hd = heads if level in attn_levels else 0
            if level == last:
                self.dec.append(MPBlock(cout, cout, emb_dim, "dec", heads=max(hd, heads),
                                        **kw))
                self.dec.append(MPBlock(cout, cout, emb_dim, "dec", **kw))
                self.dec_cat += [False, False]
            else:
                self.dec.append(MPBlock(cout, cout, emb_dim, "dec", "up", **kw))
                self.dec_cat.append(False)
            for _ in range(blocks + 1):
                cin = cout + skips.pop()
                self.dec.append(MPBlock(cin, ch, emb_dim, "dec", heads=hd, **kw))
                self.dec_cat.append(True)
                cout = ch
        self.out_conv = MPConv(cout, 1, 3, k)

    def forward(self, x_t: Tensor, y: Tensor, a: Tensor) -> Tensor:
        emb = mp_silu(self.emb_noise(self.emb_fourier(a)))
        x = torch.cat([x_t, y, torch.ones_like(x_t)], dim=1)
        skips = []
        for kind, block in zip(self.enc_kind, self.enc, strict=True):
            x = block(x) if kind == "conv" else block(x, emb)
            skips.append(x)
        for cat, block in zip(self.dec_cat, self.dec, strict=True):
            if cat:
                x = mp_cat(x, skips.pop(), t=self.concat_balance)
            x = block(x, emb)
        return self.out_conv(x, gain=self.out_gain * self.lr_scale)


# ------------------------------------------------------------------------- the model

class CondDDPM(DiffusionModel):
    """Conditional DDPM of the conditional-DDPM paper (see the module docstring)."""

    name: ClassVar[str] = "cond_ddpm"
    #: always present; the instance attribute adds ``mean_n{k}`` for its ``n_samples``
    extra_outputs: tuple[str, ...] = ("std", "entropy", "sample_1")
    sampling_options = ("sampler", "steps", "eta_ddim", "n_samples", "variance", "clip_x0",
                        "stop", "start")

    def __init__(self, **hparams):
        super().__init__(**hparams)
        h = self.hparams
        self.size_multiple = 2 ** (len(h["mults"]) - 1)  # type: ignore[misc]
        self.net = MPUNet(h["width"], list(h["mults"]), h["blocks"], h["emb_dim"],
                          h["noise_dim"], h["heads"], list(h["attn_levels"]),
                          h["res_balance"], h["attn_balance"], h["concat_balance"],
                          lr_scale=h["mp_lr_scale"])
        self._update_outputs()

    def _update_outputs(self) -> None:
        n = int(self.sampling["n_samples"])
        self.extra_outputs = ("std", "entropy", "sample_1",
                              *[f"mean_n{k}" for k in mean_counts(n)])

    def set_sampling(self, **options) -> None:
        super().set_sampling(**options)
        self._update_outputs()

    def eps(self, x_t: Tensor, y_m: Tensor, t: Tensor) -> Tensor:
        a = self.sched.alpha_bar.to(x_t.device)[t].float()
        return self.eps_from_output(self.net(x_t, y_m, a).float(), x_t, y_m, a)

    def training_step(self, batch: Batch, gen: torch.Generator
                      ) -> tuple[Tensor, dict[str, float]]:
        if batch.x is None:
            raise ValueError(f"model {self.name!r} needs batch.x")
        x0, ym = to_model_space(batch.x.float()), to_model_space(batch.y.float())
        b = x0.shape[0]
        t = torch.randint(0, self.sched.T, (b,), generator=gen,
                          device=gen.device).to(x0.device)
        eps = randn(x0.shape, gen, like=x0)
        loss = F.mse_loss(self.eps(q_sample(x0, t, eps, self.sched), ym, t), eps)
        return loss, {"loss": float(loss.detach()), "diffusion": float(loss.detach())}

    def predict(self, y: Tensor, subset: Tensor | None = None, *,
                gen: torch.Generator | None = None) -> dict[str, Tensor]:
        """``{"prediction": DDPM-avg, "std", "entropy", "sample_1", "mean_n{k}"...}``,
        each (B, 1, H, W), for degraded ``y`` of any size."""
        h = self.hparams
        dev = y.device
        gen = gen if gen is not None else self.default_generator(dev)
        yp, (h0, w0) = pad_to_multiple(y.float(), self.size_multiple)
        ym = to_model_space(yp)
        n = int(self.sampling["n_samples"])

        def eps_fn(x_t: Tensor, t: Tensor) -> Tensor:
            return self.eps(x_t, ym, t)

        samples = []
        for _ in range(n):
            x0, _ = self.run_sampler(eps_fn, yp.shape, gen, device=dev, y_start=ym)
            samples.append(to_data_space(x0)[..., :h0, :w0])
        s = torch.stack(samples)
        stats = sample_stats(s, entropy=h["entropy"], bins=h["entropy_bins"])
        out = {"prediction": stats["mean"], "std": stats["std"], "entropy": stats["entropy"],
               "sample_1": s[0]}
        want, running = set(mean_counts(n)), torch.zeros_like(s[0])
        for k in range(1, n + 1):  # running means (no cumsum: not deterministic on CUDA)
            running = running + s[k - 1]
            if k in want:
                out[f"mean_n{k}"] = running / k
        return out


def mean_counts(n: int) -> list[int]:
    """Numbers of averaged samples with a ``mean_n{k}`` output: (1, 2, 4, 8, 15) up to n,
    and n itself."""
    return sorted({k for k in MEAN_NS if k <= n} | {n})


__all__ = ["CondDDPM", "MPBlock", "MPConv", "MPFourier", "MPUNet", "mean_counts", "mp_cat",
           "mp_normalize", "mp_silu", "mp_sum"]
