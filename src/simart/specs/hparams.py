"""Hyper-parameters of the restoration models, as data and typed classes (torch-free: config
validation imports this module). The CNNs' are here, the diffusion and adversarial models'
in :mod:`simart.specs.hparams_diffusion` and :mod:`simart.specs.hparams_gan` (merged into
the tables below).

* :data:`DEFAULT_HPARAMS` -- tiny networks for the embedded CPU run (every model ~300 Adam
  steps of 8 x 64x64 patches; ~30-65 ms per step on one CPU thread, 5-30 k parameters).
* :data:`PAPER_HPARAMS` -- the papers' settings (the Slurm profile), each value's source in a
  comment. Training settings (lr, batch, steps) are not hyper-parameters of the model; the
  sources' values are quoted in the comments for the paper-scale config.
* one pydantic class per model family (:class:`UNetHParams`, ...; base
  :class:`simart.specs.hparam_types.HParams`), named by the model's
  :class:`simart.specs.models.ModelSpec` (``hparams``): every key typed and bounded, no
  other key (:func:`hparams_class`).
* :func:`resolve_hparams` -- defaults updated by the given ones, validated by the model's
  class; unknown keys and invalid values raise ``ValueError``
  (``model 'unet': hyper-parameter 'kernel' = 4 must be odd``).

Common keys: ``depth`` (number of 2x down-samplings), ``width`` (channels of the first
level; level ``i`` has ``width * 2**i``), ``kernel`` (odd conv size), ``convs`` (convs per
block), ``norm`` (``none`` | ``batch``), ``act`` (``relu`` | ``leaky_relu`` | ``silu``),
``leaky_slope``, ``upsample`` (``transpose``: 2x2 transposed conv + Ronneberger channel plan;
``nearest`` / ``bilinear``: CSBDeep channel plan), ``residual`` (output = input + network),
``loss`` (``mse`` | ``mae``).
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from simart.specs import hparams_diffusion, hparams_gan
from simart.specs.hparam_types import (
    HParams,
    NonNeg,
    Number,
    OddPosInt,
    PosInt,
    UnitOpen,
    problem,
)
from simart.specs.models import MODELS

# U-Net body shared by unet / n2n (Ronneberger et al. 2015 layout), tiny (one CPU thread).
_UNET_TINY: dict[str, Any] = {
    "depth": 2, "width": 8, "kernel": 3, "convs": 2, "norm": "none", "act": "relu",
    "upsample": "transpose", "residual": True, "loss": "mse",
}
# Ronneberger et al. 2015 (MICCAI), Fig. 1: 4 down-samplings, 64 first filters, two 3x3 conv +
# ReLU per level, 2x2 up-convolution, concatenated skips; the PCSD paper Table 6 gives U-Net and
# Noise2Noise 31.0 M parameters = exactly this network (1 in / 1 out channel, 'same' padding).
# Residual output (x = y + f(y)) is not in Ronneberger (a segmentation net) but is the
# restoration convention (CARE); the PCSD paper §4.2 does not say. PCSD paper §4.3: batch 32, AdamW
# 1e-4 cosine to 1e-6 (its own training; baselines "hyperparameters tuned on validation").
_UNET_PAPER: dict[str, Any] = {
    "depth": 4, "width": 64, "kernel": 3, "convs": 2, "norm": "none", "act": "relu",
    "upsample": "transpose", "residual": True, "loss": "mse",
}

# The U-Net baseline is trained with the L1 loss (Zhao et al. 2017, IEEE TCI: L1 beats L2 for
# restoration; CARE's choice too; the PCSD paper does not say). Measured on the embedded SIMART AFM
# test split (wide tip-size distribution, blind net): MSE -0.63 dB vs the noisy input (one
# nearly undilated image eroded by 14.6 dB), L1 +0.42 dB (worst image -4.2 dB).
# Noise2Noise keeps L2: its target is the mean of the noisy realisations.
DEFAULT_HPARAMS: dict[str, dict[str, Any]] = {
    "unet": dict(_UNET_TINY, loss="mae"),
    # kernel 3 instead of CARE's 5: 5x5 at width 8 doubles the step time for no gain here.
    "care": {"depth": 2, "width": 8, "kernel": 3, "convs": 2, "norm": "none", "act": "relu",
             "upsample": "nearest", "residual": True, "loss": "mae"},
    "dncnn": {"depth": 5, "width": 16, "kernel": 3, "norm": "batch", "loss": "mse"},
    "n2n": dict(_UNET_TINY),
    # 2% masked (>= 1 per patch): 0.198% of 8 x 64x64 is 72 supervised pixels per step, too
    # few for a 300-step run. Residual output (start from the identity; the skip adds the
    # network's own, manipulated, centre input, so the blind spot is kept): a non-residual
    # net does not reach the noisy input's PSNR in 300 steps.
    "n2v": {"depth": 2, "width": 8, "kernel": 3, "convs": 2, "norm": "batch", "act": "relu",
            "upsample": "nearest", "residual": True, "loss": "mse",
            "mask_fraction": 0.02, "neighbourhood": 5},
    # skips on: a skip-less 300-step autoencoder stays below the noisy input at high SNR
    # (28.1 vs 34.0 dB on the synthetic check); the paper setting has none.
    "pinned": {"depth": 2, "width": 8, "kernel": 3, "convs": 3, "act": "leaky_relu",
               "leaky_slope": 0.01, "skips": True, "residual": False,
               "lambda_tv": 0.01, "lambda_sf": 0.1, "lambda_b": 0.1, "lambda_c": 0.1},
    # residual on (the reference has none): start from the identity in a 300-step run.
    "unet_rcan": {"depth": 2, "width": 4, "kernel": 3, "ca_channels": 4, "rcan_width": 8,
                  "n_groups": 2, "n_blocks": 1, "leaky_slope": 0.3, "dropout": 0.0,
                  "residual": True, "edge_weight": 0.05, "unet_weight": 1.0},
}

PAPER_HPARAMS: dict[str, dict[str, Any]] = {
    "unet": dict(_UNET_PAPER, loss="mae"),  # L1: see DEFAULT_HPARAMS
    # CARE, Weigert et al. 2018 (Nat. Methods) = CSBDeep `Config` defaults for 2D:
    # unet_n_depth=2, unet_n_first=32, unet_kern_size=5, unet_n_conv_per_depth=2, ReLU, no BN,
    # UpSampling2D (nearest), last activation linear, unet_residual=True (n_in == n_out),
    # train_loss='mae'. (~0.92 M parameters; the PCSD paper Table 6 lists 42.5 M for its CARE,
    # a configuration it does not describe.) Conditional-DDPM paper §S: Zero-CostDL4Mic CARE, 1000 epochs,
    # batch 8, lr 4e-4.
    "care": {"depth": 2, "width": 32, "kernel": 5, "convs": 2, "norm": "none", "act": "relu",
             "upsample": "nearest", "residual": True, "loss": "mae"},
    # DnCNN-S, Zhang et al. 2017 (IEEE TIP) §III-A/§IV-A: depth 17 (Conv+ReLU, 15 x
    # Conv+BN+ReLU, Conv), 64 channels, 3x3, residual learning R(y) = y - x, loss
    # (1/2N) sum ||R(y_i) - (y_i - x_i)||^2 (MSE here; a constant factor), 40x40 patches,
    # batch 128, SGD (momentum 0.9, weight decay 1e-4), lr 1e-1 -> 1e-4 over 50 epochs.
    # 556,097 parameters (bias-free convs before BN).
    "dncnn": {"depth": 17, "width": 64, "kernel": 3, "norm": "batch", "loss": "mse"},
    # Noise2Noise, Lehtinen et al. 2018 (ICML): L2 loss against a second noisy realisation for
    # zero-mean noise. Lehtinen's own net is a 5-level 48-channel U-Net; the PCSD paper Table 6 gives
    # N2N the U-Net's 31.0 M parameters, i.e. the same U-Net as "unet", which we use.
    "n2n": dict(_UNET_PAPER),
    # Noise2Void, Krull et al. 2019 (CVPR) and the juglab/n2v 2D example configs: CSBDeep
    # U-Net depth 2, 32 first filters, kernel 3, batch norm, linear output,
    # unet_residual=False, train_loss='mse', 64x64 patches, n2v_perc_pix=0.198 (%; the
    # library's N2VConfig default is 1.5 %), stratified sampling (one pixel per 22x22 box),
    # each value replaced by a uniformly drawn pixel of its 5x5 neighbourhood (the library's
    # 'uniform_withCP' may draw the centre itself; we exclude it). Conditional-DDPM paper §S: N2V
    # 100 epochs, batch 32, lr 2e-4.
    "n2v": {"depth": 2, "width": 32, "kernel": 3, "convs": 2, "norm": "batch", "act": "relu",
            "upsample": "nearest", "residual": False, "loss": "mse",
            "mask_fraction": 0.00198, "neighbourhood": 5},
    # the PINNED paper "Physics Informed Neural Network": encoder-decoder, three successive
    # convs + LeakyReLU per block, transposed-conv decoder, x = Dec(Enc(y)) (no skips, no
    # residual named). The PINNED paper gives neither the number of levels/filters, the LeakyReLU
    # slope nor the lambda values: depth 3, width 64 (64-128-256, latent 512), slope 0.01
    # (PyTorch default) and the lambdas below are OUR choices (lambda_tv small since TV is the
    # only term that pulls away from the target; the other three are fidelity terms).
    # The PINNED paper results: 500 epochs.
    "pinned": {"depth": 3, "width": 64, "kernel": 3, "convs": 3, "act": "leaky_relu",
               "leaky_slope": 0.01, "skips": False, "residual": False,
               "lambda_tv": 0.01, "lambda_sf": 0.1, "lambda_b": 0.1, "lambda_c": 0.1},
    # UNet-RCAN, Ebrahimi et al. 2023 (Commun. Biol.; the conditional-DDPM paper ref [10]), reference code
    # github.com/vebrahimi1990/UNet_RCAN_Denoising config_2D: filters [64, 128, 256] (3
    # down-samplings, bridge 512), filters_cab=4 (channel-attention bottleneck channels),
    # num_RG=3, num_cab=8, kernel 3, dropout 0.2, Keras LeakyReLU (slope 0.3), RCAN width =
    # filters[0]; loss = RMSE + 0.05 * RMSE of the Laplacian ("edge") on both stage outputs.
    # Conditional-DDPM paper §S: default settings, max 200 epochs, lr 1e-4, batch 1.
    "unet_rcan": {"depth": 3, "width": 64, "kernel": 3, "ca_channels": 4, "rcan_width": 64,
                  "n_groups": 3, "n_blocks": 8, "leaky_slope": 0.3, "dropout": 0.2,
                  "residual": False, "edge_weight": 0.05, "unet_weight": 1.0},
}


# ------------------------------------------------------------------ family classes
class _ConvNet(HParams):
    depth: PosInt
    width: PosInt
    kernel: OddPosInt


class UNetHParams(_ConvNet):
    """U-Net-like CNNs: unet, care, n2n."""

    convs: PosInt
    norm: Literal["none", "batch"]
    act: Literal["relu", "leaky_relu", "silu"]
    upsample: Literal["transpose", "nearest", "bilinear"]
    residual: bool
    loss: Literal["mse", "mae"]


class N2VHParams(UNetHParams):
    """Noise2Void: the U-Net and its blind-spot masking."""

    mask_fraction: Annotated[Number, Field(gt=0, le=0.25)]
    neighbourhood: Annotated[OddPosInt, Field(ge=3)]


class DnCNNHParams(HParams):
    """DnCNN."""

    depth: Annotated[int, Field(ge=3, description="first conv, >= 1 conv+BN, last conv")]
    width: PosInt
    kernel: OddPosInt
    norm: Literal["none", "batch"]
    loss: Literal["mse", "mae"]


class PINNEDHParams(_ConvNet):
    """PINNED."""

    convs: PosInt
    act: Literal["relu", "leaky_relu", "silu"]
    leaky_slope: NonNeg
    skips: bool
    residual: bool
    lambda_tv: NonNeg
    lambda_sf: NonNeg
    lambda_b: NonNeg
    lambda_c: NonNeg


class UNetRCANHParams(_ConvNet):
    """UNet-RCAN."""

    ca_channels: PosInt
    rcan_width: PosInt
    n_groups: PosInt
    n_blocks: PosInt
    leaky_slope: NonNeg
    dropout: UnitOpen
    residual: bool
    edge_weight: NonNeg
    unet_weight: NonNeg


# The diffusion and adversarial models keep their hyper-parameters in their own torch-free
# modules (same layout); merged here so that one resolve_hparams serves every model.
for _mod in (hparams_diffusion, hparams_gan):
    for _name in _mod.DEFAULT_HPARAMS:
        if _name in DEFAULT_HPARAMS:
            raise RuntimeError(f"hyper-parameters of model {_name!r} defined twice")
    DEFAULT_HPARAMS.update(_mod.DEFAULT_HPARAMS)
    PAPER_HPARAMS.update(_mod.PAPER_HPARAMS)
del _mod, _name


def hparams_class(name: str) -> type[HParams]:
    """The family class of model ``name``: its spec's ``hparams``, a class name of this
    module or its siblings, or a dotted path (a plug-in's)."""
    spec = MODELS.get(name)
    path = spec.hparams if spec is not None else ""
    if not path:
        raise ValueError(f"model {name!r}: its ModelSpec names no hyper-parameter class")
    module, _, attr = path.rpartition(".")
    if module:
        cls = getattr(importlib.import_module(module), attr, None)
    else:
        cls = next((m[attr] for m in (globals(), vars(hparams_diffusion), vars(hparams_gan))
                    if attr in m), None)
    if not (isinstance(cls, type) and issubclass(cls, HParams)):
        raise TypeError(f"model {name!r}: hyper-parameter class {path!r} is not an HParams "
                         "class of simart.specs.hparams (or a dotted path to one)")
    return cls


def validate_hparams(name: str, given: dict[str, Any] | None = None) -> HParams:
    """``DEFAULT_HPARAMS[name]`` updated by ``given``, as an instance of the model's family
    class. Raises ``ValueError`` for an unknown model, an unknown key
    (``model 'unet': unknown hyper-parameter 'foo'; allowed: [...]``) or an invalid value
    (``model 'unet': hyper-parameter 'kernel' = 4 must be odd``), one line per problem, in
    the order of ``given``."""
    if name not in DEFAULT_HPARAMS:
        raise ValueError(f"unknown model {name!r}; allowed: {sorted(DEFAULT_HPARAMS)}")
    given = dict(given or {})
    merged = {**DEFAULT_HPARAMS[name], **given}
    cls = hparams_class(name)
    try:
        return cls.model_validate(merged)
    except ValidationError as exc:
        order = list(given)
        errors = sorted(exc.errors(), key=lambda e: order.index(e["loc"][0])
                        if e["loc"] and e["loc"][0] in order else len(order))
        lines = dict.fromkeys(problem(name, cls, merged, e) for e in errors)
        raise ValueError("\n".join(lines)) from None


def resolve_hparams(name: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """``DEFAULT_HPARAMS[name]`` updated by ``given`` (a new dict: the defaults' keys in
    their order, the given values as given), after :func:`validate_hparams`."""
    validate_hparams(name, given)
    return {**DEFAULT_HPARAMS[name], **(given or {})}


def register_hparams(name: str, embedded: dict[str, Any], paper: dict[str, Any]) -> None:
    """Add the embedded and paper presets of a model registered at run time
    (:func:`simart.specs.models.register_model`); both are validated by its family class."""
    if name in DEFAULT_HPARAMS:
        raise ValueError(f"hyper-parameters of model {name!r} are already registered")
    DEFAULT_HPARAMS[name], PAPER_HPARAMS[name] = dict(embedded), dict(paper)
    try:
        for preset in (embedded, paper):
            validate_hparams(name, preset)
    except (ValueError, TypeError):
        del DEFAULT_HPARAMS[name], PAPER_HPARAMS[name]
        raise
