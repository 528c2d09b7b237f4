"""Hyper-parameters of the adversarial models (CycleGAN, pix2pix, PDA-Net and
its ablation variants), as torch-free data merged into :mod:`simart.specs.hparams`.

``DEFAULT_HPARAMS`` (tiny, embedded CPU run), ``PAPER_HPARAMS`` (the papers' settings, each
value's source in a comment) and the family classes (:class:`CycleGANHParams`,
:class:`Pix2PixHParams`, :class:`PDANetDAHParams`, :class:`PDANetHParams`: every key typed and
bounded, see :mod:`simart.specs.hparam_types`).

Keys (see :mod:`simart.models.gan`):

* generators: ``ngf`` (filters of the first conv; the bottleneck has ``4 ngf``),
  ``n_blocks`` (ResNet blocks), ``outer_kernel`` (first and last conv, 7 in the papers),
  ``gan_norm`` (``instance`` | ``batch`` | ``none``),
  ``output`` (``tanh``: the papers; ``residual``: ``2y-1 + f``, starts from the identity),
  ``dropout`` (ResNet blocks / pix2pix U-Net up blocks); pix2pix also ``gen_arch``
  (``unet`` | ``resnet``) and ``unet_downs``;
* discriminators: ``ndf``, ``n_layers_d`` (PatchGAN: 3 = 70x70), PDA-Net ``ndf_fa``
  (feature-alignment discriminator);
* losses: ``gan_loss`` (``lsgan`` | ``bce``), ``lambda_cyc``, ``lambda_identity`` (CycleGAN's
  identity loss, relative to ``lambda_cyc`` as in the CycleGAN code), ``lambda_l1``
  (pix2pix), ``lambda_d``, ``lambda_b``, ``lambda_da``, ``lambda_fa`` (the PDA-Net paper
  Eq. 7);
* ``deg_noise_white``, ``deg_noise_pink``, ``deg_noise_line`` (CycleGAN, PDA-Net variants):
  amplitudes (data units) of the random scan noise added to the output of the degradation
  generator (CycleGAN's F, PDA-Net's G_B) during training (:func:`simart.models.gan.scan_noise`);
  0 = the papers' deterministic generator. NOT in the papers: see "Stochastic degradation
  generator" below;
* ``target_subset``: PDA-Net -- index, in the dataset's subset list, of the target
  (experimental) domain; ``predict`` sends images of that subset through G_DA
  (stm_cu111's subsets are ``["clean", "blurry", "experimental"]``: 2).

Training settings (not model hyper-parameters; config ``train`` block of these models):
every source trains with Adam, lr 2e-4, betas (0.5, 0.999) (Zhu et al. 2017 §4; Isola et
al. 2017 §3.3; the PDA-Net paper §IV-C "learning rate of 0.0002 ... momentum parameter 0.5");
CycleGAN/pix2pix: batch 1, 100 epochs at constant lr + 100 epochs linear decay to 0 (we have
constant / cosine); CycleGAN keeps a 50-image history of fakes for D (not implemented: its
state would have to live in the checkpoint; documented in cyclegan.py).

Stochastic degradation generator (our deviation, embedded default on stm_cu111): CycleGAN's F
and PDA-Net's G_B are deterministic networks, so they cannot produce the blurry domain's
random noise. The backward cycle G_D(G_B(I_S)) ~ I_S then never shows G_D a noisy image with
its clean original, and the forward cycle G_B(G_D(I_BS)) ~ I_BS rewards a G_D that keeps the
noise so that G_B can put it back (CycleGAN's "steganography", Chu et al. 2017; Bashkirova
et al. 2019 defend against it by adding noise to the translation). On the embedded stm_cu111
run (CPU, 16 images per domain, a few hundred steps) every unpaired variant then stayed at
the identity or fell below the blurry input (best validation checkpoint +0.00 dB, the last
one -0.5 to -1.3 dB: the generator sharpens instead of denoising). Adding the STM scan noise
of the blurry domain -- white, 1/f along the scan, per-line offsets, the families of
``simart.simulate.stm_cu111.degrade_blurry`` -- to G_B's output during training, at fixed
amplitudes, turns the backward cycle into denoising pairs.

Measured in the embedded run (`snakemake --cores 2`, then ``results/tables/pdanet_tables.md``;
stm_cu111 128 training maps per domain, 400 steps at constant lr 2e-4, test split of 32
maps, Delta PSNR of best.pt vs the blurry input, Wilcoxon p): CycleGAN +0.27 (p 0.05),
CycleGAN+DA +0.56, CycleGAN+DA+WS +0.57, PDA-Net +0.43 dB (p <= 0.003). Over training
seeds (``python benchmarks/gan_noise_ablation.py``: the config's seed, 1, 2) CycleGAN
+0.27 / +0.78 / +0.55 and PDA-Net +0.43 / +0.54 / +0.30 dB; the same trainings without the
noise: CycleGAN -0.00 / +0.02 / -0.01, PDA-Net -0.00 / +0.02 / +0.07 dB at best.pt (about
the identity they start from) and -0.4 to -1.2 dB at the last step. GAN training is chaotic here: changing the 1/f noise's
normalisation from the sample to the population std (a 1e-4 relative change of its
amplitude) moved the four rows by up to 0.11 dB and reordered the ablation steps. What did not help without it (16 maps per domain): lr 1e-3, 800 steps, lambda_cyc 1, ngf 16, 96^2 crops, a
3-layer ndf-32 PatchGAN (it learns to tell the domains apart and the generator then
hallucinates sharper, wronger maps: -1.3 dB at step 400), a noise *input* channel to G_B
(+0.13 / +0.00 dB). With 16 maps per domain instead of 128 the gain swung with the seed
(-0.1 to +0.5 dB).

The amplitudes are the mid-range of the simulated blurry domain's noise (BLURRY_SPECS: white 0.01-0.05, pink 0.01-0.05, line 0-0.04), which
the simulation's author knows (the PDA-Net paper simulates I_BS itself); learning them adversarially
(a log-amplitude trained by D_B's loss) found the white level (0.032-0.038 vs 0.032 in the
data) but shrank the 1/f and line terms that the tiny PatchGAN cannot see (0.006-0.01), and
the gain went with them. The paper preset keeps the papers' deterministic generators (0).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from simart.specs.hparam_types import (
    HParams,
    NonNeg,
    NonNegInt,
    OddPosInt,
    PosInt,
    Unit,
    UnitOpen,
)

# Tiny networks for the embedded CPU run (one thread, batch 8 of 48^2 crops: ~165-175 ms per
# step for PDA-Net / CycleGAN, ~30 ms for pix2pix; benchmarks/bench_gan.py). Residual output
# (start from the identity: the input already has ~20 dB, a random tanh generator needs
# hundreds of steps just to reproduce it), LSGAN (steadier than BCE in short runs; what
# CycleGAN uses). Smaller generators (ngf 4, 3x3 outer convs: ~40 % faster) did not move
# from the identity in 300 steps at lr 2e-4. The unpaired models peak after ~100-350 steps
# on stm_cu111 and then may drift below the input: validate often (config.yaml: val_every
# 50) so that best.pt keeps the peak.
_GEN_TINY: dict[str, Any] = {"ngf": 8, "n_blocks": 2, "outer_kernel": 7,
                             "gan_norm": "instance", "output": "residual", "dropout": 0.0}
_DISC_TINY: dict[str, Any] = {"ndf": 8, "n_layers_d": 2}

# CycleGAN (Zhu et al. 2017, ICCV) App. 7.2 and the official code (junyanz/
# pytorch-CycleGAN-and-pix2pix, train options): resnet_9blocks generator (9 blocks for
# 256x256 training images), ngf 64, instance norm, no dropout, tanh output; 70x70 PatchGAN
# (n_layers_D 3), ndf 64; LSGAN (§4 "Training details"); lambda = 10 (§4); identity loss
# weight 0.5 x lambda (§5.2 for painting -> photo; the code's default --lambda_identity 0.5).
_GEN_PAPER: dict[str, Any] = {"ngf": 64, "n_blocks": 9, "outer_kernel": 7,
                              "gan_norm": "instance", "output": "tanh", "dropout": 0.0}
_DISC_PAPER: dict[str, Any] = {"ndf": 64, "n_layers_d": 3}

# PDA-Net: lambda_D = lambda_B = lambda_cyc = lambda_DA = 1, lambda_FA = 0.1
# (§IV-C). The paper's objectives are the log-likelihood GAN losses (Eqs. 1, 2, 4, 6) -> bce.
# No identity loss in the paper -> 0. Generators: §IV-C (7x7 conv, two stride-2 3x3 convs,
# 9 residual blocks, mirrored up path); ngf / norm / output are not given: CycleGAN's
# (the paper's generators and PatchGANs are "without modification" those of [7], [9]).
# ndf_fa: D_FA's architecture is not in the paper; 64 is ours.
# The stm_cu111 blurry domain's scan noise for the stochastic degradation generator (module
# docstring): mid-range of simart.specs.stm_cu111.BLURRY_SPECS. The papers' generators: 0.
STM_SCAN_NOISE: dict[str, float] = {"deg_noise_white": 0.03, "deg_noise_pink": 0.03,
                                    "deg_noise_line": 0.02}
NO_SCAN_NOISE: dict[str, float] = dict.fromkeys(STM_SCAN_NOISE, 0.0)


def degradation_noise(h: dict[str, Any]) -> dict[str, float]:
    """``{family: amplitude}`` of the degradation generator's scan noise from resolved
    hyper-parameters (the ``deg_noise_*`` keys > 0; empty = the papers' deterministic one)."""
    return {k[len("deg_noise_"):]: float(v) for k, v in h.items()
            if k.startswith("deg_noise_") and float(v) > 0}

_PDA_LAMBDAS: dict[str, Any] = {**NO_SCAN_NOISE, "lambda_d": 1.0, "lambda_b": 1.0,
                                "lambda_cyc": 1.0, "lambda_da": 1.0, "lambda_identity": 0.0,
                                "lambda_paired": 0.0, "target_subset": 2}

DEFAULT_HPARAMS: dict[str, dict[str, Any]] = {
    # no identity loss: 4 instead of 6 generator passes per step, same result here
    # (stm_cu111 test PSNR 20.80 vs 20.79 dB with lambda_identity 0.5)
    # (the stm_cu111 scan noise is set per dataset in config.yaml: CycleGAN trains on
    # simart too, whose noise is not the STM's)
    "cyclegan": {**_GEN_TINY, **_DISC_TINY, "gan_loss": "lsgan", "lambda_cyc": 10.0,
                 "lambda_identity": 0.0, "lambda_paired": 0.0, **NO_SCAN_NOISE},
    # ResNet generator (residual) instead of the U-Net: a 48^2 crop cannot hold unet_256's
    # 8 down-samplings, and the tiny ResNet starts from the identity.
    "pix2pix": {"gen_arch": "resnet", **_GEN_TINY, "unet_downs": 4, **_DISC_TINY,
                "gan_norm": "batch", "gan_loss": "lsgan", "lambda_l1": 100.0},
    # lambda_cyc 10 (CycleGAN's lambda) instead of the paper's 1: with 1 the adversarial terms
    # pull G_D away from the input within ~50 steps (stm_cu111 val PSNR 20.3 -> 19.0 dB by
    # step 150); with 10 G_D stays content-preserving for ~150 steps (best val 20.4-20.5).
    "pdanet_da": {**_GEN_TINY, **_DISC_TINY, "gan_loss": "lsgan", **_PDA_LAMBDAS,
                  "lambda_cyc": 10.0, **STM_SCAN_NOISE},
    "pdanet_da_ws": {**_GEN_TINY, **_DISC_TINY, "gan_loss": "lsgan", **_PDA_LAMBDAS,
                     "lambda_cyc": 10.0, **STM_SCAN_NOISE},
    "pdanet": {**_GEN_TINY, **_DISC_TINY, "ndf_fa": 16, "gan_loss": "lsgan", **_PDA_LAMBDAS,
               "lambda_cyc": 10.0, "lambda_fa": 0.1, **STM_SCAN_NOISE},
}

PAPER_HPARAMS: dict[str, dict[str, Any]] = {
    "cyclegan": {**_GEN_PAPER, **_DISC_PAPER, "gan_loss": "lsgan", "lambda_cyc": 10.0,
                 "lambda_identity": 0.5, "lambda_paired": 0.0, **NO_SCAN_NOISE},
    # pix2pix (Isola et al. 2017, CVPR) §3.3, App. 6.1-6.2 and the official code: U-Net
    # generator unet_256 (8 down-samplings, C64-C128-C256-C512-C512-C512-C512-C512), batch
    # norm, dropout 0.5 (in the three ngf*8 up blocks after the innermost), tanh; 70x70
    # PatchGAN on cat(y, x), ndf 64; vanilla GAN loss (--gan_mode vanilla = BCE); L1 weight
    # lambda = 100 (§4 / code default --lambda_L1 100). n_blocks unused with gen_arch unet.
    "pix2pix": {"gen_arch": "unet", "ngf": 64, "n_blocks": 9, "outer_kernel": 7,
                "unet_downs": 8, "gan_norm": "batch", "output": "tanh", "dropout": 0.5, **_DISC_PAPER,
                "gan_loss": "bce", "lambda_l1": 100.0},
    "pdanet_da": {**_GEN_PAPER, **_DISC_PAPER, "gan_loss": "bce", **_PDA_LAMBDAS},
    "pdanet_da_ws": {**_GEN_PAPER, **_DISC_PAPER, "gan_loss": "bce", **_PDA_LAMBDAS},
    "pdanet": {**_GEN_PAPER, **_DISC_PAPER, "ndf_fa": 64, "gan_loss": "bce", **_PDA_LAMBDAS,
               "lambda_fa": 0.1},
}


# ------------------------------------------------------------------ family classes
_DataUnits = Annotated[Unit, Field(description="data units")]


class _GAN(HParams):
    """Generator and discriminator keys of every adversarial model."""

    ngf: PosInt
    n_blocks: PosInt
    outer_kernel: OddPosInt
    gan_norm: Literal["instance", "batch", "none"]
    output: Literal["tanh", "residual"]
    dropout: UnitOpen
    ndf: PosInt
    n_layers_d: Annotated[int, Field(ge=1, le=6)]
    gan_loss: Literal["lsgan", "bce"]


class CycleGANHParams(_GAN):
    """CycleGAN (cyclegan)."""

    lambda_cyc: NonNeg
    lambda_identity: NonNeg
    lambda_paired: NonNeg
    deg_noise_white: _DataUnits
    deg_noise_pink: _DataUnits
    deg_noise_line: _DataUnits


class Pix2PixHParams(_GAN):
    """pix2pix."""

    gen_arch: Literal["resnet", "unet"]
    unet_downs: Annotated[int, Field(ge=2, le=10)]
    lambda_l1: NonNeg


class PDANetDAHParams(CycleGANHParams):
    """PDA-Net's ablations without D_FA (pdanet_da, pdanet_da_ws): CycleGAN's keys and the
    paper's other loss weights."""

    lambda_d: NonNeg
    lambda_b: NonNeg
    lambda_da: NonNeg
    target_subset: Annotated[NonNegInt, Field(description="a subset index")]


class PDANetHParams(PDANetDAHParams):
    """PDA-Net (pdanet): with the feature-alignment discriminator D_FA."""

    ndf_fa: PosInt
    lambda_fa: NonNeg
