"""UNet-RCAN (Ebrahimi et al. 2023, "Deep learning enables fast, gentle STED microscopy",
Commun. Biol.; the conditional-DDPM paper ref [10]), after the authors' reference code
(github.com/vebrahimi1990/UNet_RCAN_Denoising, ``UNet_RCAN_2D.py``).

Stage 1, a U-Net restoring context: levels ``n < depth`` with ``c_n = width * 2**n``
channels; every block is ``act(conv(act(conv(x))) + conv1x1(x))`` (LeakyReLU); 2x2
max-pooling; a bridge of two blocks at ``2 c_{depth-1}``; nearest 2x up-sampling, the skip
passed through a residual channel-attention block (RCAB) and concatenated; a final
``1x1`` block to one channel -> ``u``.
Stage 2, an RCAN on ``concat(u, y)``: conv -> residual-in-residual (``n_groups`` residual
groups of ``n_blocks`` RCABs + conv, each with a short skip; a conv and a long skip) ->
1x1 conv -> ``x_hat``. Channel attention: global average pool -> 1x1 conv to
``ca_channels`` -> act -> 1x1 conv -> sigmoid -> channel scale (RCAN, Zhang et al. 2018).

Loss (reference ``loss_2D``), on both outputs (deep supervision; the reference model returns
``(u, x_hat)`` and Keras applies the loss to each):
``L(p, x) = mean_b sqrt(mean (p - x)**2 + 1e-6) + edge_weight * (same on Laplacians)``
with the Laplacian ``[[0,1,0],[1,-4,1],[0,1,0]]`` ('valid'); total
``L(x_hat, x) + unet_weight * L(u, x)``. Dropout (reference: 0.2 after every encoder,
decoder block and residual group) draws its masks from a seed taken from ``gen``.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from simart.models.base import Batch, RestorationModel
from simart.models.blocks import RCAB, ResidualGroup, conv, he_init_, zero_init_

_LAPLACE = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


class ResConvBlock(nn.Module):
    """``act(conv_k(act(conv_k(x))) + conv_1x1(x))`` (reference ``CNN_block``)."""

    def __init__(self, cin: int, cout: int, kernel: int, slope: float):
        super().__init__()
        self.conv1, self.conv2 = conv(cin, cout, kernel), conv(cout, cout, kernel)
        self.ident = nn.Conv2d(cin, cout, 1)
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.conv2(F.leaky_relu(self.conv1(x), self.slope))
        return F.leaky_relu(z + self.ident(x), self.slope)


class ContextUNet(nn.Module):
    """Stage 1 of UNet-RCAN (module docstring); H, W multiples of ``2**depth``."""

    def __init__(self, depth: int, width: int, kernel: int, ca: int, slope: float,
                 dropout: float):
        super().__init__()
        c = [width * 2 ** n for n in range(depth)]
        self.enc = nn.ModuleList([ResConvBlock(1 if n == 0 else c[n - 1], c[n], kernel, slope)
                                  for n in range(depth)])
        self.bridge = nn.Sequential(ResConvBlock(c[-1], 2 * c[-1], kernel, slope),
                                    ResConvBlock(2 * c[-1], 2 * c[-1], kernel, slope))
        self.skip_ca = nn.ModuleList()
        self.dec = nn.ModuleList()
        cin = 2 * c[-1]
        for n in reversed(range(depth)):
            self.skip_ca.append(RCAB(c[n], kernel, ca, "leaky_relu", slope))
            self.dec.append(ResConvBlock(cin + c[n], c[n], kernel, slope))
            cin = c[n]
        self.last = ResConvBlock(c[0], 1, 1, slope)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        skips, x = [], y
        for block in self.enc:
            x = self.drop(block(x))
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bridge(x)
        for ca, block, skip in zip(self.skip_ca, self.dec, reversed(skips), strict=True):
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = self.drop(block(torch.cat([x, ca(skip)], 1)))
        return self.last(x)


class RCANStage(nn.Module):
    """Stage 2: conv -> residual in residual -> 1x1 conv to one channel."""

    def __init__(self, cin: int, width: int, n_groups: int, n_blocks: int, kernel: int,
                 ca: int, slope: float, dropout: float):
        super().__init__()
        self.head = conv(cin, width, kernel)
        self.groups = nn.Sequential(*[ResidualGroup(width, n_blocks, kernel, ca, "leaky_relu",
                                                    slope, dropout) for _ in range(n_groups)])
        self.rir_conv = conv(width, width, kernel)
        self.tail = nn.Conv2d(width, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(x)
        return self.tail(x + self.rir_conv(self.groups(x)))


def rmse_edge_loss(pred: torch.Tensor, target: torch.Tensor, edge_weight: float
                   ) -> torch.Tensor:
    """``mean_b sqrt(mean (p-x)^2 + 1e-6) + edge_weight * (same for the Laplacians)``."""
    def rmse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return ((a - b).square().flatten(1).mean(1) + 1e-6).sqrt().mean()

    pred, target = pred.float(), target.float()
    k = _LAPLACE.to(pred.device).view(1, 1, 3, 3)
    return rmse(pred, target) + edge_weight * rmse(F.conv2d(pred, k), F.conv2d(target, k))


class UNetRCAN(RestorationModel):
    """UNet-RCAN (module docstring). ``forward`` returns the RCAN output ``x_hat``
    (``y + x_hat`` when ``residual``, a small-scale convenience; the reference has none)."""

    name: ClassVar[str] = "unet_rcan"
    size_multiple: ClassVar[int] = 4

    def __init__(self, **hparams):
        super().__init__(**hparams)
        h = self.hparams
        self.size_multiple = 2 ** h["depth"]  # type: ignore[misc]
        self.unet = ContextUNet(h["depth"], h["width"], h["kernel"], h["ca_channels"],
                                h["leaky_slope"], h["dropout"])
        self.rcan = RCANStage(2, h["rcan_width"], h["n_groups"], h["n_blocks"], h["kernel"],
                              h["ca_channels"], h["leaky_slope"], h["dropout"])
        he_init_(self, h["leaky_slope"])
        if h["residual"]:
            zero_init_(self.rcan.tail)  # the final estimate starts from the identity

    def stages(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(u, x_hat)``: the U-Net and the final (RCAN) estimates."""
        u = self.unet(y)
        r = self.rcan(torch.cat([u, y], 1))
        if self.hparams["residual"]:
            u, r = y + u, y + r
        return u, r

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.stages(y)[1]

    def _train_stages(self, y: torch.Tensor, gen: torch.Generator
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`stages`, with dropout masks drawn from a seed taken from ``gen``."""
        if not (self.training and self.hparams["dropout"] > 0):
            return self.stages(y)
        seed = int(torch.randint(0, 2 ** 62, (1,), generator=gen, device=gen.device))
        cuda = [y.device.index or 0] if y.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)
            return self.stages(y)

    def training_step(self, batch: Batch, gen: torch.Generator
                      ) -> tuple[torch.Tensor, dict[str, float]]:
        if batch.x is None:
            raise ValueError("model 'unet_rcan' needs batch.x")
        h = self.hparams
        u, r = self._train_stages(batch.y, gen)
        l_rcan = rmse_edge_loss(r, batch.x, h["edge_weight"])
        l_unet = rmse_edge_loss(u, batch.x, h["edge_weight"])
        loss = l_rcan + h["unet_weight"] * l_unet
        return loss, {"loss": loss.item(), "rcan": l_rcan.item(), "unet": l_unet.item()}
