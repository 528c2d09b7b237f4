"""Building blocks of the adversarial models (CycleGAN, pix2pix, PDA-Net).

* :class:`ResnetGenerator` -- the CycleGAN generator (Zhu et al. 2017, ICCV, App. 7.2;
  Johnson et al. 2016) that the PDA-Net paper §IV-C uses for G_D, G_B and G_DA: a *down* path
  (7x7 conv, reflection padding 3; two 3x3 stride-2 convs), ``n_blocks`` residual blocks
  (two 3x3 convs, reflection padding 1), an *up* path (two 3x3 stride-2 transposed convs,
  7x7 conv, reflection padding 3); instance norm + ReLU after every conv but the last.
  ``outer_kernel`` (default 7) sets the size of the first and last conv (the tiny embedded
  default uses 3: the two full-resolution 7x7 convs are ~40 % of a small generator's CPU
  time). The three parts are separate sub-modules (``down``, ``blocks``, ``up``) so that PDA-Net
  can share the up path between two generators (pass ``up=`` another generator's module)
  and read the bottleneck features (:meth:`ResnetGenerator.forward_features`).
* :class:`UnetGenerator` -- the pix2pix U-Net (Isola et al. 2017, CVPR, App. 6.1.1):
  ``downs`` 4x4 stride-2 convs (C64-C128-C256-C512-C512...), mirrored 4x4 stride-2
  transposed convs with concatenated skips, dropout 0.5 in the innermost up blocks.
* :class:`PatchDiscriminator` -- the PatchGAN of pix2pix/CycleGAN (``n_layers=3``, 64 first
  filters: the 70x70 PatchGAN; 4x4 convs, stride 2 except the last two, LeakyReLU 0.2,
  no norm on the first layer), one logit per patch.
* :class:`FeatureDiscriminator` -- the feature-alignment domain classifier D_FA of PDA-Net
  on bottleneck feature maps (the PDA-Net paper §III-C2 gives no architecture: ours is a small
  patch classifier, 3x3 convs, LeakyReLU 0.2, one stride-2 conv, one logit per position).
* :func:`gan_loss` -- ``lsgan`` (least squares, Mao et al. 2017; what CycleGAN trains with,
  Zhu et al. §4 "Training details") or ``bce`` (the log-likelihood objective written in
  the PDA-Net paper Eqs. 1, 2, 4, 6 and used by pix2pix, on logits). The generators use the
  non-saturating form (target "real" for their fakes), as the CycleGAN/pix2pix code does,
  rather than the minimax ``log(1 - D(G))`` of the PDA-Net paper Eq. 8 (same fixed point, usable
  gradients when D wins early).

Intensity convention: images enter and leave the generators in the data's units (about
[0, 1]); inside they are mapped to ``z = 2 y - 1`` (CycleGAN/pix2pix normalise to [-1, 1]).
Output ``tanh`` (the papers) or ``residual`` (``z + f(z)``, last conv zero-initialised so
that training starts from the identity: our choice for the short embedded runs, where a
randomly initialised tanh generator spends its steps learning to reproduce the input).
Discriminators see ``2 img - 1`` as well.

Any input size works: generators reflect-pad H, W up to a multiple of their down-sampling
factor and crop the output back (odd sizes included). Reflection padding is written with
``flip`` + ``cat`` (:func:`reflect_pad`), whose backward is deterministic on CUDA
(``nn.ReflectionPad2d``'s CUDA backward is not, and the training loop runs with
``torch.use_deterministic_algorithms``).

Initialisation: N(0, 0.02) conv weights, zero biases, N(1, 0.02) norm scales (CycleGAN's
``init_type='normal'``, ``init_gain=0.02``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from simart.physics.noise import colored_noise

# ---------------------------------------------------------------------------- helpers

def reflect_pad(x: torch.Tensor, left: int, right: int, top: int, bottom: int) -> torch.Tensor:
    """Reflection padding (as ``F.pad(mode='reflect')``; each pad < the size along its
    axis) built from slices, ``flip`` and ``cat``: deterministic backward on every device."""
    if left or right:
        w = x.shape[-1]
        if max(left, right) >= w:
            raise ValueError(f"reflection padding {max(left, right)} needs width > it, got {w}")
        parts = [x[..., 1:left + 1].flip(-1)] if left else []
        parts.append(x)
        if right:
            parts.append(x[..., w - 1 - right:w - 1].flip(-1))
        x = torch.cat(parts, dim=-1)
    if top or bottom:
        h = x.shape[-2]
        if max(top, bottom) >= h:
            raise ValueError(f"reflection padding {max(top, bottom)} needs height > it, got {h}")
        parts = [x[..., 1:top + 1, :].flip(-2)] if top else []
        parts.append(x)
        if bottom:
            parts.append(x[..., h - 1 - bottom:h - 1, :].flip(-2))
        x = torch.cat(parts, dim=-2)
    return x


def pad_to_multiple(x: torch.Tensor, m: int) -> tuple[torch.Tensor, int, int]:
    """``x`` padded at the bottom/right to H, W multiples of ``m`` and the original (H, W).

    Reflection; a pad not smaller than the image (pix2pix's ``unet_256`` on a 128 px image)
    reflects the already padded image again, a 1-px side is repeated -- all with slices,
    ``flip`` and ``cat`` (deterministic backward; ``F.pad(mode='replicate')``'s CUDA backward
    is not)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    while ph or pw:
        sh, sw = x.shape[-2:]
        dh, dw = min(ph, sh - 1), min(pw, sw - 1)
        if (ph and sh == 1) or (pw and sw == 1):  # nothing to reflect: repeat the row/col
            x = torch.cat([x, *[x[..., -1:, :]] * (ph if sh == 1 else 0)], dim=-2)
            x = torch.cat([x, *[x[..., :, -1:]] * (pw if sw == 1 else 0)], dim=-1)
            ph, pw = (0 if sh == 1 else ph), (0 if sw == 1 else pw)
            continue
        x = reflect_pad(x, 0, dw, 0, dh)
        ph, pw = ph - dh, pw - dw
    return x, h, w


class ReflectPad(nn.Module):
    """``nn.ReflectionPad2d(p)`` with a deterministic backward (:func:`reflect_pad`)."""

    def __init__(self, p: int):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return reflect_pad(x, self.p, self.p, self.p, self.p)


def make_gan_norm(name: str, channels: int) -> nn.Module:
    """``instance`` (InstanceNorm2d, no affine, no running stats: CycleGAN's default),
    ``batch`` (BatchNorm2d: pix2pix) or ``none``."""
    if name == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if name == "batch":
        return nn.BatchNorm2d(channels)
    if name == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {name!r}; allowed: ['batch', 'instance', 'none']")


def gan_init_(module: nn.Module, gain: float = 0.02) -> nn.Module:
    """CycleGAN/pix2pix ``init_weights(init_type='normal', init_gain=0.02)``."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return module


def gan_loss(logits: torch.Tensor, real: bool, kind: str) -> torch.Tensor:
    """Mean adversarial loss of ``logits`` against target ``real`` (1) / fake (0):
    ``lsgan``: ``mean (D - t)^2``; ``bce``: binary cross-entropy on logits."""
    logits = logits.float()
    target = torch.full_like(logits, 1.0 if real else 0.0)
    if kind == "lsgan":
        return F.mse_loss(logits, target)
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, target)
    raise ValueError(f"unknown gan_loss {kind!r}; allowed: ['bce', 'lsgan']")


def d_loss(disc: nn.Module, real: torch.Tensor, fake: torch.Tensor, kind: str) -> torch.Tensor:
    """Discriminator loss ``0.5 (l(D(real), 1) + l(D(fake), 0))`` (CycleGAN's 0.5 halves
    D's rate relative to G); pass ``fake`` detached."""
    return 0.5 * (gan_loss(disc(real), True, kind) + gan_loss(disc(fake), False, kind))


class frozen:
    """Context: ``requires_grad`` off for the parameters of ``modules`` (a generator loss
    through a discriminator then builds no graph into it; CycleGAN's
    ``set_requires_grad(D, False)``); restored on exit."""

    def __init__(self, *modules: nn.Module):
        self.params = [p for m in modules for p in m.parameters()]

    def __enter__(self):
        self.flags = [p.requires_grad for p in self.params]
        for p in self.params:
            p.requires_grad_(False)
        return self

    def __exit__(self, *exc):
        for p, f in zip(self.params, self.flags, strict=True):
            p.requires_grad_(f)
        return False


def unique_parameters(*modules: nn.Module) -> list[nn.Parameter]:
    """The parameters of ``modules``, each once (shared modules appear in several)."""
    seen: set[int] = set()
    out = []
    for m in modules:
        for p in m.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


# ------------------------------------------------------------------------- generators

def _to_z(y: torch.Tensor) -> torch.Tensor:
    return 2.0 * y - 1.0


def _from_z(z: torch.Tensor) -> torch.Tensor:
    return 0.5 * (z + 1.0)


#: Noise families of :func:`scan_noise` (the stm_cu111 "blurry" domain's scan noise).
SCAN_NOISE_FAMILIES: tuple[str, ...] = ("white", "pink", "line")


def scan_noise(shape: tuple[int, ...], amplitudes: dict[str, float], gen: torch.Generator,
               device: torch.device | str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Random scan noise of ``shape`` (B, C, H, W), data units: the sum over families of
    ``amplitudes[family]`` x a unit-std draw (families with amplitude 0 draw nothing):

    * ``white``: independent N(0, 1) per pixel;
    * ``pink``: 1/f noise along the raster scan (rows read left to right, top to bottom --
      the scan time of an STM image), power ~ 1/f, zero mean and unit std per image
      (:func:`simart.physics.noise.colored_noise`, as the simulator draws it);
    * ``line``: one N(0, 1) offset per scan line (row).

    The stochastic part of the degradation generator of the unpaired GANs (CycleGAN's F,
    PDA-Net's G_B) when their ``deg_noise_*`` hyper-parameters are > 0 (hparams_gan.py):
    a deterministic network cannot draw the degraded domain's random noise. Drawn from
    ``gen`` (on ``gen.device``, then moved to ``device``), so a training run stays
    reproducible and resumable.
    """
    unknown = set(amplitudes) - set(SCAN_NOISE_FAMILIES)
    if unknown:
        raise ValueError(f"unknown scan-noise families {sorted(unknown)}; "
                         f"allowed: {list(SCAN_NOISE_FAMILIES)}")
    b, c, h, w = shape
    out = torch.zeros(shape, dtype=torch.float32, device=gen.device)
    for fam in SCAN_NOISE_FAMILIES:
        a = float(amplitudes.get(fam, 0.0))
        if a == 0.0:
            continue
        if fam == "white":
            n = torch.randn(shape, generator=gen, device=gen.device)
        elif fam == "line":
            n = torch.randn((b, c, h, 1), generator=gen, device=gen.device).expand(shape)
        else:  # the simulator's 1/f scan noise (stm_cu111.degrade_blurry), float32 here
            n = colored_noise(gen, (b, c, h * w), 1.0, torch.float32).reshape(shape)
        out = out + a * n
    return out.to(device=device, dtype=dtype)


class ResnetBlock(nn.Module):
    """``x + [pad1, conv3, norm, ReLU, (dropout), pad1, conv3, norm](x)`` (CycleGAN)."""

    def __init__(self, channels: int, norm: str = "instance", dropout: float = 0.0):
        super().__init__()
        bias = norm != "batch"
        layers: list[nn.Module] = [ReflectPad(1), nn.Conv2d(channels, channels, 3, bias=bias),
                                   make_gan_norm(norm, channels), nn.ReLU(inplace=True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [ReflectPad(1), nn.Conv2d(channels, channels, 3, bias=bias),
                   make_gan_norm(norm, channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetUp(nn.Module):
    """The up path: two 3x3 stride-2 transposed convs (padding 1, output padding 1) + norm +
    ReLU, then reflection pad 3, 7x7 conv to one channel (the *Up* block of the PDA-Net paper Fig. 1;
    PDA-Net shares one instance of it between G_D and G_DA)."""

    def __init__(self, ngf: int, norm: str = "instance", cout: int = 1, outer_kernel: int = 7):
        super().__init__()
        bias = norm != "batch"
        layers: list[nn.Module] = []
        for i in (2, 1):
            layers += [nn.ConvTranspose2d(ngf * 2 ** i, ngf * 2 ** (i - 1), 3, stride=2,
                                          padding=1, output_padding=1, bias=bias),
                       make_gan_norm(norm, ngf * 2 ** (i - 1)), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.pad = ReflectPad(outer_kernel // 2)
        self.last = nn.Conv2d(ngf, cout, outer_kernel)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.last(self.pad(self.body(h)))


class ResnetGenerator(nn.Module):
    """CycleGAN ResNet generator ``(B, 1, H, W) -> (B, 1, H, W)`` for any H, W (module
    docstring). Parts: ``down`` (7x7 conv + two stride-2 convs), ``blocks`` (the residual
    blocks; ``down`` + ``blocks`` = phi, the feature extractor of the PDA-Net paper §III-C2) and
    ``up`` (:class:`ResnetUp`; pass ``up=`` to share another generator's).

    ``output``: ``tanh`` or ``residual`` (module docstring).
    """

    multiple = 4  # two stride-2 convs

    def __init__(self, ngf: int = 64, n_blocks: int = 9, norm: str = "instance",
                 output: str = "tanh", dropout: float = 0.0, up: ResnetUp | None = None,
                 outer_kernel: int = 7):
        super().__init__()
        if output not in ("tanh", "residual"):
            raise ValueError(f"unknown output {output!r}; allowed: ['residual', 'tanh']")
        self.output, self.ngf = output, ngf
        bias = norm != "batch"
        layers: list[nn.Module] = [ReflectPad(outer_kernel // 2),
                                   nn.Conv2d(1, ngf, outer_kernel, bias=bias),
                                   make_gan_norm(norm, ngf), nn.ReLU(inplace=True)]
        for i in (0, 1):
            layers += [nn.Conv2d(ngf * 2 ** i, ngf * 2 ** (i + 1), 3, stride=2, padding=1,
                                 bias=bias),
                       make_gan_norm(norm, ngf * 2 ** (i + 1)), nn.ReLU(inplace=True)]
        self.down = nn.Sequential(*layers)
        self.blocks = nn.Sequential(*[ResnetBlock(4 * ngf, norm, dropout)
                                      for _ in range(n_blocks)])
        gan_init_(self.down)
        gan_init_(self.blocks)
        if up is None:
            up = gan_init_(ResnetUp(ngf, norm, outer_kernel=outer_kernel))
            if output == "residual":
                nn.init.zeros_(up.last.weight)  # start from the identity
                nn.init.zeros_(up.last.bias)
        self.up = up

    @property
    def feature_channels(self) -> int:
        """Channels of the bottleneck features (``4 ngf``)."""
        return 4 * self.ngf

    def encode(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int, int]:
        """``(z, features, H, W)``: the padded input in [-1, 1] units, the bottleneck
        features phi(z) (B, 4 ngf, H'/4, W'/4) of the padded input, original size."""
        z, h, w = pad_to_multiple(_to_z(y), self.multiple)
        return z, self.blocks(self.down(z)), h, w

    def decode(self, z: torch.Tensor, feats: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """The output (data units, cropped to ``h`` x ``w``) from the bottleneck features."""
        out = self.up(feats)
        out = z + out if self.output == "residual" else torch.tanh(out)
        return _from_z(out[..., :h, :w])

    def forward_features(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(G(y), phi(y))``: the output and the bottleneck features it was decoded from."""
        z, feats, h, w = self.encode(y)
        return self.decode(z, feats, h, w), feats

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.forward_features(y)[0]


class UnetGenerator(nn.Module):
    """pix2pix U-Net generator (Isola et al. 2017, App. 6.1.1; ``UnetGenerator`` of the
    CycleGAN/pix2pix code): encoder ``downs`` x [4x4 stride-2 conv, norm (not on the first
    and the innermost), LeakyReLU 0.2]; channels ngf, 2ngf, 4ngf, 8ngf, 8ngf, ...; decoder
    mirrored with ReLU, 4x4 stride-2 transposed convs, norm, dropout in the up blocks of
    levels 4 .. downs-2 (``unet_256``: the three after the innermost; pix2pix applies
    dropout 0.5 'at several layers'; here only in train mode), skips concatenated;
    ``tanh`` or ``residual`` output as :class:`ResnetGenerator`. H, W are padded to a
    multiple of ``2**downs`` (``downs=8`` = pix2pix's ``unet_256``)."""

    def __init__(self, ngf: int = 64, downs: int = 8, norm: str = "batch",
                 output: str = "tanh", dropout: float = 0.5):
        super().__init__()
        if output not in ("tanh", "residual"):
            raise ValueError(f"unknown output {output!r}; allowed: ['residual', 'tanh']")
        if downs < 2:
            raise ValueError("UnetGenerator needs downs >= 2")
        self.output, self.multiple = output, 2 ** downs
        ch = [min(ngf * 2 ** i, ngf * 8) for i in range(downs)]
        bias = norm != "batch"
        self.enc = nn.ModuleList()
        cin = 1
        for i, c in enumerate(ch):
            layers: list[nn.Module] = []
            if i > 0:
                layers.append(nn.LeakyReLU(0.2, inplace=False))
            layers.append(nn.Conv2d(cin, c, 4, stride=2, padding=1, bias=bias))
            if 0 < i < downs - 1:
                layers.append(make_gan_norm(norm, c))
            self.enc.append(nn.Sequential(*layers))
            cin = c
        self.dec = nn.ModuleList()
        for i in reversed(range(downs)):
            c_in = ch[i] if i == downs - 1 else 2 * ch[i]
            c_out = 1 if i == 0 else ch[i - 1]
            layers = [nn.ReLU(inplace=False),
                      nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1,
                                         bias=bias or i == 0)]
            if i > 0:
                layers.append(make_gan_norm(norm, c_out))
                if dropout > 0 and 4 <= i <= downs - 2:  # pix2pix: the ngf*8 middle blocks
                    layers.append(nn.Dropout(dropout))
            self.dec.append(nn.Sequential(*layers))
        gan_init_(self)
        if output == "residual":
            last = self.dec[-1][1]
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        z, h, w = pad_to_multiple(_to_z(y), self.multiple)
        skips = []
        x = z
        for block in self.enc:
            x = block(x)
            skips.append(x)
        skips.pop()  # the innermost output is not a skip
        for k, block in enumerate(self.dec):
            x = block(x if k == 0 else torch.cat([x, skips.pop()], dim=1))
        out = z + x if self.output == "residual" else torch.tanh(x)
        return _from_z(out[..., :h, :w])


# --------------------------------------------------------------------- discriminators

class PatchDiscriminator(nn.Module):
    """PatchGAN (pix2pix ``NLayerDiscriminator``): 4x4 conv stride 2 (no norm) + LReLU 0.2,
    ``n_layers - 1`` x [4x4 conv stride 2, norm, LReLU], 4x4 conv stride 1 + norm + LReLU,
    4x4 conv stride 1 -> one logit per patch. Filters ``ndf * min(2**k, 8)``.
    ``n_layers=3``: the 70x70 PatchGAN (receptive field 70 px); 2: 34 px; 1: 16 px.
    ``in_channels`` 2 for pix2pix's conditional D on ``cat(y, x)``. Input in data units."""

    def __init__(self, in_channels: int = 1, ndf: int = 64, n_layers: int = 3,
                 norm: str = "instance"):
        super().__init__()
        bias = norm != "batch"
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1),
                                   nn.LeakyReLU(0.2, inplace=True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1,
                                 bias=bias),
                       make_gan_norm(norm, ndf * mult), nn.LeakyReLU(0.2, inplace=True)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)
        gan_init_(self)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.net(_to_z(img))


class FeatureDiscriminator(nn.Module):
    """D_FA: domain classifier on bottleneck features (B, C, h, w) -> patch logits
    (B, 1, h', w'): 3x3 conv C -> ndf, LReLU 0.2, 3x3 stride-2 conv ndf -> 2 ndf, LReLU,
    3x3 conv -> 1 (no norm: instance norm would erase the per-channel statistics a domain
    shift shows up in)."""

    def __init__(self, channels: int, ndf: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, ndf, 3, padding=1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, 2 * ndf, 3, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * ndf, 1, 3, padding=1))
        gan_init_(self)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.net(feats)
