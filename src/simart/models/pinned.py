"""PINNED: Physics-Informed Neural Network Enhanced Denoising (Awan et al., the PINNED paper).

Network (the PINNED paper "Physics Informed Neural Network"): ``x_hat = Dec(Enc(y))``; every encoder
and decoder block is three successive 'same' convs each followed by LeakyReLU
(``z_l = phi(W_l * z_{l-1} + b_l)``); the encoder halves the resolution after each block
(2x2 max-pooling -- the paper does not say how it compresses), a latent block at
``width * 2**depth`` channels, and the decoder up-samples with 2x2 stride-2 transposed convs
(+ LeakyReLU) mirroring the encoder, then a 1x1 conv to one channel. The paper names no skip
connections and no residual output, so both are off at paper scale (``skips``, ``residual``
turn them on). Levels, filters and LeakyReLU slope are not in the paper (see hparams.py).

Loss (the PINNED paper eqs. for L_TV, L_SF, L_B, L_C and L_total), for prediction ``x_hat`` and
target ``x`` of ``N = H W`` pixels, each term averaged over the batch:

* ``L_MSE = mean (x_hat - x)**2``;
* ``L_TV = (1/N) sum_ij |x_hat[i+1,j] - x_hat[i,j]| + |x_hat[i,j+1] - x_hat[i,j]|`` -- the
  paper's anisotropic TV of the PREDICTION; the paper writes a plain sum, we divide by ``N``
  so that the term does not grow with the patch size (our choice);
* ``L_SF = (1/N) sum_k | |F(x_hat)(k)| - |F(x)(k)| |`` with ``F`` the UNITARY 2-D DFT
  (``norm='ortho'``; the paper leaves the normalisation open): by Parseval the term is then
  on the scale of a pixel-domain error and independent of the patch size;
* ``L_B = |mu(x_hat) - mu(x)|`` (per image mean intensity);
* ``L_C = |sigma(x_hat) - sigma(x)|`` (per image population standard deviation);
* ``L = L_MSE + lambda_tv L_TV + lambda_sf L_SF + lambda_b L_B + lambda_c L_C``.

All terms are in the data's intensity units (squared for MSE).
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from simart.models.base import Batch, RestorationModel
from simart.models.blocks import ConvBlock, he_init_, make_act, zero_init_


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation per pixel, batch mean:
    ``mean_b (1/(H W)) sum (|x[i+1,j]-x[i,j]| + |x[i,j+1]-x[i,j]|)`` over (C, H, W)."""
    x = x.float()
    h, w = x.shape[-2:]
    dv = (x[..., 1:, :] - x[..., :-1, :]).abs().flatten(1).sum(1)
    dh = (x[..., :, 1:] - x[..., :, :-1]).abs().flatten(1).sum(1)
    return ((dv + dh) / (h * w)).mean()


def spectral_fidelity_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``mean_b (1/N) sum_k | |F(pred)(k)| - |F(target)(k)| |``, ``F`` the unitary 2-D DFT
    over the last two axes (zero iff the magnitude spectra agree)."""
    fp = torch.fft.fft2(pred.float(), norm="ortho").abs()
    ft = torch.fft.fft2(target.float(), norm="ortho").abs()
    return (fp - ft).abs().flatten(1).mean(1).mean()


def brightness_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``mean_b |mu(pred_b) - mu(target_b)|`` with ``mu`` the mean over (C, H, W)."""
    return (pred.float().flatten(1).mean(1) - target.float().flatten(1).mean(1)).abs().mean()


def _std(x: torch.Tensor) -> torch.Tensor:
    """Population standard deviation per image; ``sqrt(var + 1e-12)`` keeps the gradient
    finite for constant images."""
    return (x.float().flatten(1).var(1, unbiased=False) + 1e-12).sqrt()


def contrast_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``mean_b |sigma(pred_b) - sigma(target_b)|``, ``sigma`` the population std over
    (C, H, W)."""
    return (_std(pred) - _std(target)).abs().mean()


class PINNEDNet(nn.Module):
    """Encoder-decoder of the PINNED paper (see module docstring); H, W multiples of ``2**depth``."""

    def __init__(self, depth: int, width: int, kernel: int, convs: int, slope: float,
                 skips: bool):
        super().__init__()
        c = [width * 2 ** n for n in range(depth + 1)]
        kw = {"kernel": kernel, "act": "leaky_relu", "slope": slope}
        self.skips = skips
        self.enc = nn.ModuleList()
        cin = 1
        for n in range(depth):
            self.enc.append(ConvBlock(cin, [c[n]] * convs, **kw))
            cin = c[n]
        self.latent = ConvBlock(cin, [c[depth]] * convs, **kw)
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for n in reversed(range(depth)):
            self.up.append(nn.Sequential(nn.ConvTranspose2d(c[n + 1], c[n], 2, stride=2),
                                         make_act("leaky_relu", slope)))
            self.dec.append(ConvBlock(c[n] * (2 if skips else 1), [c[n]] * convs, **kw))
        self.head = nn.Conv2d(c[0], 1, 1)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        feats = []
        x = y
        for block in self.enc:
            x = block(x)
            feats.append(x)
            x = F.max_pool2d(x, 2)
        x = self.latent(x)
        for up, block, skip in zip(self.up, self.dec, reversed(feats), strict=True):
            x = up(x)
            x = block(torch.cat([x, skip], 1) if self.skips else x)
        return self.head(x)


class PINNED(RestorationModel):
    """PINNED: encoder-decoder + physics-informed loss (module docstring)."""

    name: ClassVar[str] = "pinned"
    size_multiple: ClassVar[int] = 4

    def __init__(self, **hparams):
        super().__init__(**hparams)
        h = self.hparams
        self.size_multiple = 2 ** h["depth"]  # type: ignore[misc]
        self.net = PINNEDNet(h["depth"], h["width"], h["kernel"], h["convs"],
                             h["leaky_slope"], h["skips"])
        he_init_(self.net, h["leaky_slope"])
        if h["residual"]:
            zero_init_(self.net.head)  # start from the identity x_hat = y

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        out = self.net(y)
        return y + out if self.hparams["residual"] else out

    def loss_terms(self, pred: torch.Tensor, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The five unweighted terms of the PINNED paper's total loss."""
        return {"mse": F.mse_loss(pred.float(), x.float()), "tv": tv_loss(pred),
                "sf": spectral_fidelity_loss(pred, x), "brightness": brightness_loss(pred, x),
                "contrast": contrast_loss(pred, x)}

    def training_step(self, batch: Batch, gen: torch.Generator
                      ) -> tuple[torch.Tensor, dict[str, float]]:
        if batch.x is None:
            raise ValueError("model 'pinned' needs batch.x")
        h = self.hparams
        terms = self.loss_terms(self(batch.y), batch.x)
        loss = (terms["mse"] + h["lambda_tv"] * terms["tv"] + h["lambda_sf"] * terms["sf"]
                + h["lambda_b"] * terms["brightness"] + h["lambda_c"] * terms["contrast"])
        logs = {"loss": loss.item()}
        logs.update({k: v.item() for k, v in terms.items()})
        return loss, logs
