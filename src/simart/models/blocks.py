"""Building blocks shared by the CNN restoration models.

* :func:`make_act`, :func:`make_norm` -- activation / normalisation by name;
* :class:`ConvBlock` -- a chain of 'same'-padded ``conv -> norm -> act`` layers;
* :class:`UNetBody` -- a U-Net (Ronneberger et al. 2015) feature extractor with configurable
  depth, width, kernel, convs per level, norm, activation and up-sampling;
* :class:`ChannelAttention`, :class:`RCAB`, :class:`ResidualGroup` -- residual channel
  attention (Zhang et al. 2018, RCAN, ECCV; Ebrahimi et al. 2023 UNet-RCAN);
* :func:`pixel_loss` -- MSE / MAE; :func:`he_init_`, :func:`zero_init_` -- initialisation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def make_act(name: str, slope: float = 0.01) -> nn.Module:
    """Activation by name: ``relu``, ``leaky_relu`` (negative slope ``slope``) or ``silu``."""
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "leaky_relu":
        return nn.LeakyReLU(slope, inplace=True)
    if name == "silu":
        return nn.SiLU(inplace=True)
    raise ValueError(f"unknown activation {name!r}; allowed: ['leaky_relu', 'relu', 'silu']")


def make_norm(name: str, channels: int) -> nn.Module:
    """Normalisation by name: ``none`` (identity) or ``batch`` (BatchNorm2d)."""
    if name == "none":
        return nn.Identity()
    if name == "batch":
        return nn.BatchNorm2d(channels)
    raise ValueError(f"unknown norm {name!r}; allowed: ['batch', 'none']")


def conv(cin: int, cout: int, kernel: int, bias: bool = True) -> nn.Conv2d:
    """'Same'-padded stride-1 convolution (odd ``kernel``)."""
    return nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=bias)


class ConvBlock(nn.Sequential):
    """``len(channels)`` layers ``conv(k x k) -> norm -> act``; layer i outputs ``channels[i]``.

    Convs before a BatchNorm carry no bias (the norm's shift replaces it).
    """

    def __init__(self, cin: int, channels: list[int], kernel: int = 3, norm: str = "none",
                 act: str = "relu", slope: float = 0.01):
        layers: list[nn.Module] = []
        for cout in channels:
            layers += [conv(cin, cout, kernel, bias=norm == "none"), make_norm(norm, cout),
                       make_act(act, slope)]
            cin = cout
        super().__init__(*layers)
        self.out_channels = cin


class UNetBody(nn.Module):
    """U-Net feature extractor: (B, cin, H, W) -> (B, ``out_channels``, H, W), H, W multiples
    of ``2**depth``.

    Level ``n`` (0..depth-1) has ``c_n = width * 2**n`` channels; ``convs`` conv layers per
    block, 2x2 max-pooling down, concatenated skips. Two channel plans:

    * ``upsample="transpose"`` (Ronneberger et al. 2015): bottom block at ``c_depth``; each
      up step is a 2x2 stride-2 transposed conv ``c_{n+1} -> c_n``, concat with the skip
      (``2 c_n``), block -> ``c_n``; ``out_channels = width``.
    * ``upsample="nearest"|"bilinear"`` (CSBDeep ``unet_block``, CARE / N2V): parameter-free
      up-sampling, so the last conv of the bottom block and of decoder level ``n`` output
      ``c_{n-1}`` (``c_0`` at level 0); ``out_channels = width``.
    """

    def __init__(self, cin: int = 1, depth: int = 2, width: int = 16, kernel: int = 3,
                 convs: int = 2, norm: str = "none", act: str = "relu", slope: float = 0.01,
                 upsample: str = "transpose"):
        super().__init__()
        c = [width * 2 ** n for n in range(depth + 1)]
        kw = {"kernel": kernel, "norm": norm, "act": act, "slope": slope}
        self.upsample = upsample
        self.down = nn.ModuleList()
        for n in range(depth):
            self.down.append(ConvBlock(cin, [c[n]] * convs, **kw))
            cin = c[n]
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        if upsample == "transpose":
            self.bottom = ConvBlock(cin, [c[depth]] * convs, **kw)
            for n in reversed(range(depth)):
                self.up.append(nn.ConvTranspose2d(c[n + 1], c[n], 2, stride=2))
                self.dec.append(ConvBlock(2 * c[n], [c[n]] * convs, **kw))
        elif upsample in ("nearest", "bilinear"):
            self.bottom = ConvBlock(cin, [c[depth]] * (convs - 1) + [c[depth - 1]], **kw)
            for n in reversed(range(depth)):
                self.up.append(nn.Upsample(scale_factor=2, mode=upsample))
                self.dec.append(ConvBlock(2 * c[n], [c[n]] * (convs - 1) + [c[max(n - 1, 0)]],
                                          **kw))
        else:
            raise ValueError(f"unknown upsample {upsample!r}")
        self.out_channels = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for up, block, skip in zip(self.up, self.dec, reversed(skips), strict=True):
            x = block(torch.cat([up(x), skip], dim=1))
        return x


class ChannelAttention(nn.Module):
    """Channel attention (RCAN, Zhang et al. 2018 §3.3): ``x * s`` with
    ``s = sigmoid(W_up act(W_down avgpool(x)))``, ``W_down``: C -> ``reduced`` (1x1 conv)."""

    def __init__(self, channels: int, reduced: int, act: str = "relu", slope: float = 0.01):
        super().__init__()
        self.body = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, reduced, 1),
                                  make_act(act, slope), nn.Conv2d(reduced, channels, 1),
                                  nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.body(x)


class RCAB(nn.Module):
    """Residual channel-attention block: ``x + CA(conv(act(conv(x))))``."""

    def __init__(self, channels: int, kernel: int = 3, reduced: int = 4, act: str = "relu",
                 slope: float = 0.01):
        super().__init__()
        self.body = nn.Sequential(conv(channels, channels, kernel), make_act(act, slope),
                                  conv(channels, channels, kernel),
                                  ChannelAttention(channels, reduced, act, slope))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResidualGroup(nn.Module):
    """Residual group: ``x + conv(RCAB_n(...RCAB_1(x)))`` (short skip of residual-in-residual).
    Optional dropout after the group (UNet-RCAN reference code; ``dropout`` probability)."""

    def __init__(self, channels: int, n_blocks: int, kernel: int = 3, reduced: int = 4,
                 act: str = "relu", slope: float = 0.01, dropout: float = 0.0):
        super().__init__()
        self.body = nn.Sequential(*[RCAB(channels, kernel, reduced, act, slope)
                                    for _ in range(n_blocks)], conv(channels, channels, kernel))
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(x + self.body(x))


def he_init_(module: nn.Module, slope: float = 0.0) -> nn.Module:
    """He (Kaiming) normal initialisation of every conv in ``module``, zero biases:
    ``W ~ N(0, 2 / ((1 + slope**2) fan_in))`` (He et al. 2015; Ronneberger et al. 2015 §3),
    so that activations keep their scale through deep ReLU / LeakyReLU stacks (PyTorch's
    default shrinks them by ~sqrt(3) per layer: a 20-layer PINNED barely trains).
    ``fan_in`` of a transposed conv is ``c_in (k / stride)**2`` (taps per output pixel)."""
    gain2 = 2.0 / (1.0 + slope ** 2)
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.ConvTranspose2d):
            fan_in = max(1, m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                         // (m.stride[0] * m.stride[1]))
        else:
            continue
        nn.init.normal_(m.weight, 0.0, (gain2 / fan_in) ** 0.5)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    return module


def zero_init_(layer: nn.Module) -> nn.Module:
    """Zero the weight and bias of ``layer`` (the output layer of a residual model, so that
    training starts from the identity ``x_hat = y``; deterministic)."""
    for p in layer.parameters():
        nn.init.zeros_(p)
    return layer


def pixel_loss(pred: torch.Tensor, target: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """Mean over all pixels of ``(pred - target)**2`` (``mse``) or ``|pred - target|`` (``mae``)."""
    if kind == "mse":
        return F.mse_loss(pred, target)
    if kind == "mae":
        return F.l1_loss(pred, target)
    raise ValueError(f"unknown loss {kind!r}; allowed: ['mae', 'mse']")
