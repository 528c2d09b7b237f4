"""Hyper-parameters of the diffusion models (PCSD and its ablations, PI-DDPM, the
conditional DDPM), as torch-free data merged into :mod:`simart.specs.hparams`.

``DEFAULT_HPARAMS`` (tiny, embedded CPU run), ``PAPER_HPARAMS`` (the papers' settings, each
value's source in a comment) and the family classes (:class:`PCSDHParams`,
:class:`PIDDPMHParams`, :class:`CondDDPMHParams`: every key typed and bounded, see
:mod:`simart.specs.hparam_types`).

Keys shared by the three models:

* ``schedule`` (``cosine`` | ``linear``), ``T`` (diffusion steps);
* ``precond`` (``none``: the network outputs eps_hat, as in the papers | ``measurement``:
  EDM-style skip around the degraded image, ``sigma_data``; see
  ``simart.train.diffusion.DiffusionModel.eps_from_output``); the loss stays the
  epsilon-MSE of the papers either way;
* sampling defaults, changed per evaluation variant by ``set_sampling`` (same names):
  ``sampler`` (``ddpm``: ancestral over all T steps | ``ddim``), ``steps`` (DDIM steps;
  T for ddpm), ``eta`` (physics-guidance strength; PCSD, PI-DDPM), ``eta_ddim`` (DDIM
  stochasticity, 0 = deterministic), ``n_samples`` (samples averaged into the estimate),
  ``variance`` (DDPM's ``beta`` | ``beta_tilde``), ``clip_x0`` (clip Tweedie's estimate to
  the clean range at every step), ``start`` (1: from noise; < 1: from the noised
  measurement at ``start * (T-1)``), ``stop`` (return Tweedie's estimate at
  ``stop * (T-1)``; 0 = the full chain).

Embedded presets (one CPU thread, 300 steps of 8 x 48^2 crops): tiny networks (8-32
channels, 2 down-samplings), the measurement preconditioning, and few-step samplers whose
settings were chosen on the embedded shards (each beats the noisy input there, see the
comments): PCSD 5 DDIM steps from the measurement x 2 samples (~3 s for the 16 test images
of 128^2 of a shard), PI-DDPM 10 DDIM steps x 2 samples (~5 s), the conditional DDPM 5
DDIM steps x 5 samples (~12 s). A training step of 8 x 64^2 crops takes ~80-130 ms (the
CNN U-Net: ~27 ms). The papers' samplers (T-step DDPM from noise, 15 samples) are the
``PAPER_HPARAMS`` / ``set_sampling`` variants.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from simart.specs.hparam_types import (
    HParams,
    NonNeg,
    NonNegInt,
    NonNegIntList,
    Number,
    PosInt,
    PosIntList,
    Positive,
    Unit,
    UnitOpen,
)

# -------------------------------------------------------------------------- PCSD
_PCSD_LOSSES: dict[str, Any] = {
    # the PCSD paper eq. 26: lambda_1..5 = 1.0, 0.5, 0.5, 0.1, 0.01
    "lambda_diff": 1.0, "lambda_phys": 0.5, "lambda_cycle": 0.5, "lambda_perc": 0.1,
    "lambda_tv": 0.01,
}
_PCSD_COMMON: dict[str, Any] = {
    **_PCSD_LOSSES,
    "schedule": "cosine",      # the PCSD paper §3.2.1: cosine schedule
    "T": 1000,                 # the PCSD paper §3.2.1: T = 1000
    "n_modalities": 4,         # the PCSD paper §3.4.2: four modalities (AFM, TEM, SEM, STEM)
    "modality_cond": True,     # the PCSD paper §3.4.2 (False: pcsd_no_modality)
    "param_cond": True,        # the PCSD paper §3.4.1: "input: ... and physics parameters theta_m"
    "cycle_t": 0.5,            # ours: timestep (fraction of T) of the one-step cycle surrogate
    "cycle_fraction": 1.0,     # ours: fraction of the batch in the cycle pass
    "afm_mode": "exact",       # ours: exact dilation (sparse gradient); "soft" = dense, slower
    "vgg_weights": "",         # "" = $TORCH_HOME/hub/checkpoints/vgg19-dcbbe1d0.pth
    "guide_wrt": "x_t",        # the PCSD paper Alg. 2: grad w.r.t. x_t (x0: w.r.t. x0_hat, ours)
    "guide_loss": "l1",        # the PCSD paper eq. 21: L1 (l2 = 0.5 ||P(x0_hat) - y||^2)
    "guide_scale": 1.0,        # ours: L_guide = guide_scale * ||P(x0_hat) - y|| (sum)
    "guide_min_abar": 0.05,    # ours: no guidance where abar_t < this (gradient ~ 1/abar_t)
    "eta": 0.5,                # the PCSD paper §3.6: guidance scale eta = 0.5
    "eta_ddim": 0.0,           # deterministic DDIM
    "n_samples": 1,            # one sample per image (the PCSD paper does not average)
    "variance": "beta",        # the PCSD paper eq. 10 sigma_t^2 (Ho et al.'s sigma_t^2 = beta_t)
    "clip_x0": True,           # ours: clean images lie in [0, 1] ([-1, 1] in model space)
}
_PCSD_TINY: dict[str, Any] = {
    **_PCSD_COMMON,
    "width": 8, "mults": [1, 2, 4], "blocks": 1, "emb_dim": 32, "heads": 2, "ff_dim": 64,
    "groups": 4, "stem": 1, "cycle_fraction": 0.25,
    # embedded estimate (chosen on the embedded shards' test + val images, 300 training
    # steps): start from the measurement at 0.3 T (the PCSD paper Alg. 2's x_T = y, conditional
    # form), 5 DDIM steps, stop at 0.1 T with Tweedie's estimate, mean of 2 samples;
    # guidance = one gradient step on 0.5 ||P(x0_hat) - y||^2 per step w.r.t. x0_hat (no
    # backward through the network) of size eta * guide_scale = 0.5 * 12 in model space
    # (1.5 in data units, below Landweber's limit 2 / ||P||^2); the PCSD paper's L1 sign-gradient
    # w.r.t. x_t overshoots or does nothing at this scale
    "sampler": "ddim", "steps": 5, "start": 0.3, "stop": 0.1, "n_samples": 2,
    "guide_wrt": "x0", "guide_loss": "l2", "guide_scale": 12.0,
    # start from the measurement: EDM-style skip around y (see DiffusionModel.eps_from_output)
    "precond": "measurement", "sigma_data": 0.5,
}
# the PCSD paper §3.4: 4 down-sampling residual blocks (2 3x3 convs, GroupNorm, SiLU), levels
# 256 -> 128 -> 64 -> 32 -> 16 for 512^2 inputs (stem 2: pixel-unshuffle to 256^2),
# transformer bottleneck with 8 heads and feed-forward 1024, 128-d modality embedding,
# ~48.7 M parameters (Table 6). Widths / blocks per level are not given: 64 x [1, 2, 2, 8, 8]
# (bottleneck 512 channels = 8 heads of 64) with 2 residual blocks per level is OUR choice,
# giving 48.90 M parameters (~48.7 M; tests/test_diffusion_models.py pins it).
# Sampling: 1000 DDPM steps (§4.4 "Inference: 1000 DDPM steps"); fast variant DDIM 250.
# Training (§4.4): 200k iterations, batch 32, AdamW (0.9, 0.999), wd 0.05, lr 1e-4 cosine
# to 1e-6.
_PCSD_PAPER: dict[str, Any] = {
    **_PCSD_COMMON,
    "width": 64, "mults": [1, 2, 2, 8, 8], "blocks": 2, "emb_dim": 128, "heads": 8,
    "ff_dim": 1024, "groups": 32, "stem": 2,
    "sampler": "ddpm", "steps": 1000,
    "precond": "none", "sigma_data": 0.5, "stop": 0.0, "start": 1.0,
}
PCSD_ABLATIONS: dict[str, dict[str, Any]] = {
    "pcsd_no_physics": {"lambda_phys": 0.0, "eta": 0.0},
    "pcsd_no_modality": {"modality_cond": False},
    "pcsd_no_cycle": {"lambda_cycle": 0.0},
    "pcsd_no_perceptual": {"lambda_perc": 0.0},
    "pcsd_no_tv": {"lambda_tv": 0.0},
    "pcsd_diffusion_only": {"lambda_phys": 0.0, "lambda_cycle": 0.0, "lambda_perc": 0.0,
                            "lambda_tv": 0.0, "eta": 0.0},
    "pcsd_physics_only": {"lambda_diff": 0.0, "lambda_cycle": 0.0, "lambda_perc": 0.0,
                          "lambda_tv": 0.0},
}

# ------------------------------------------------------------------------ PI-DDPM
_PI_COMMON: dict[str, Any] = {
    "eta": 10.0,               # the PI-DDPM paper: nu_t = eta sqrt(gamma_t) / ||g||, eta = 10
    "physics": True,           # False: pi_ddpm_plain (the paper's DDPM ablation)
    "reg": "l1",               # the PI-DDPM paper Fig. 5: L1 or L2 regulariser R (which is best: not
                               #   stated; L1 = sparsity of fluorescence, ours)
    "reg_weight": 0.01,        # ours: lambda_t (constant) of R (not given in the PI-DDPM paper)
    "continuous_gamma": True,  # the PI-DDPM paper Alg. 1: gamma ~ p(gamma) (SR3: U(abar_t, abar_{t-1}))
    "eta_ddim": 0.0,
    "n_samples": 1,
    "variance": "beta",        # the PI-DDPM paper Alg. 2: + sqrt(beta_t) eps
    "clip_x0": True,
}
_PI_TINY: dict[str, Any] = {
    **_PI_COMMON,
    "width": 8, "mults": [1, 2, 4], "emb_dim": 32,
    "schedule": "linear", "T": 1000,
    # embedded: 10-step DDIM from noise, mean of 2 samples (measured on the lm shards:
    # +0.9 dB over one sample, 20 steps no better; the paper's Algorithm 2 = one T-step
    # DDPM sample, the paper preset)
    "sampler": "ddim", "steps": 10, "n_samples": 2,
    "precond": "measurement", "sigma_data": 0.5, "stop": 0.0, "start": 1.0,
}
# the PI-DDPM paper Fig. 1d: U-Net of conv blocks with instance normalisation, bilinear up-sampling,
# conditioned by concatenating the widefield image. Channel widths, depth, T and the
# schedule are not given: SR3's (Saharia et al. 2022, the conditional DDPM it builds on)
# 64 x [1, 2, 4, 8], and Ho et al.'s linear schedule with T = 1000 (ours). Sampling:
# Algorithm 2 = ancestral DDPM over all T steps. Training (the PI-DDPM paper "Training details"):
# batch 16, 1 M pre-training + 800 k fine-tuning iterations.
_PI_PAPER: dict[str, Any] = {
    **_PI_COMMON,
    "width": 64, "mults": [1, 2, 4, 8], "emb_dim": 256,
    "schedule": "linear", "T": 1000,
    "sampler": "ddpm", "steps": 1000,
    "precond": "none", "sigma_data": 0.5, "stop": 0.0, "start": 1.0,
}

# --------------------------------------------------------------- conditional DDPM
_COND_COMMON: dict[str, Any] = {
    "schedule": "cosine",      # the conditional-DDPM paper §3.4: cosine variance schedule, offset s = 8e-3
    "cosine_s": 8e-3,          # the conditional-DDPM paper §3.4
    "T": 200,                  # the conditional-DDPM paper §3.4: T = 200
    "entropy": "histogram",    # the conditional-DDPM paper eq. 16: entropy of the samples' 8-bit values
    "entropy_bins": 256,       # the conditional-DDPM paper eq. 16 (8-bit images: 256 levels)
    "res_balance": 0.3,        # EDM2 (Karras et al. 2024) defaults
    "attn_balance": 0.3,
    "concat_balance": 0.5,
    "mp_lr_scale": 1.0,        # EDM2 weights at unit RMS (its lr ~1e-2; the conditional-DDPM paper: 2e-4)
    "eta_ddim": 0.0,
    "variance": "beta",        # the conditional-DDPM paper eq. 7: + sqrt(1 - alpha_t) eps
    "clip_x0": True,
    # ours: validation during training (best.pt) samples with val_steps DDIM steps and
    # val_samples samples instead of the evaluation sampler (0 = as the evaluation;
    # DiffusionModel.validation_sampling)
    "val_steps": 0,
    "val_samples": 0,
}
_COND_TINY: dict[str, Any] = {
    **_COND_COMMON,
    "width": 8, "mults": [1, 2, 2], "blocks": 1, "emb_dim": 32, "noise_dim": 16,
    "heads": 1, "attn_levels": [], "mp_lr_scale": 10.0,
    # embedded: 5-step DDIM, 5 samples averaged (DDPM-avg; measured on the lm shards: as
    # good as 10 x 4 in 40 % less time); the paper's 200 DDPM steps x 15 samples are a
    # set_sampling variant
    "sampler": "ddim", "steps": 5, "n_samples": 5,
    "precond": "measurement", "sigma_data": 0.5, "stop": 0.0, "start": 1.0,
}
# the conditional-DDPM paper §3.3 / S7: EDM2-style magnitude-preserving U-Net (Karras et al. 2024), two
# blocks per resolution level, self-attention at resolution 32 with 32 heads (level 3 of
# 256^2 images), Fourier embedding of abar_t. Base width and multipliers are not given:
# EDM2-XS's 128 x [1, 2, 3, 4] (ours; 96.0 M parameters with 2 blocks per level),
# attention also in the decoder's first block as in EDM2. Sampling: DDPM over T = 200 (eq. 7), DDPM-avg of N = 15 samples (§4, S5).
# Training (§3.4): AdamW, batch 8, lr 2e-4 with cosine annealing.
_COND_PAPER: dict[str, Any] = {
    **_COND_COMMON,
    "width": 128, "mults": [1, 2, 3, 4], "blocks": 2, "emb_dim": 512, "noise_dim": 128,
    "heads": 32, "attn_levels": [3],
    "sampler": "ddpm", "steps": 200, "n_samples": 15,
    "precond": "none", "sigma_data": 0.5, "stop": 0.0, "start": 1.0,
    # ours: validation with 20 deterministic DDIM steps x 1 sample (the full 200 x 15
    # sampler on every validation was ~87 % of the training cost at paper scale)
    "val_steps": 20, "val_samples": 1,
}

DEFAULT_HPARAMS: dict[str, dict[str, Any]] = {
    "pcsd": dict(_PCSD_TINY),
    **{name: {**_PCSD_TINY, **change} for name, change in PCSD_ABLATIONS.items()},
    "pi_ddpm": dict(_PI_TINY),
    "pi_ddpm_l2": {**_PI_TINY, "reg": "l2"},     # the PI-DDPM paper Fig. 5: the L2 regulariser
    "pi_ddpm_plain": {**_PI_TINY, "physics": False, "eta": 0.0},
    "cond_ddpm": dict(_COND_TINY),
}
PAPER_HPARAMS: dict[str, dict[str, Any]] = {
    "pcsd": dict(_PCSD_PAPER),
    **{name: {**_PCSD_PAPER, **change} for name, change in PCSD_ABLATIONS.items()},
    "pi_ddpm": dict(_PI_PAPER),
    "pi_ddpm_l2": {**_PI_PAPER, "reg": "l2"},
    "pi_ddpm_plain": {**_PI_PAPER, "physics": False, "eta": 0.0},
    "cond_ddpm": dict(_COND_PAPER),
}


# ------------------------------------------------------------------ family classes
class _Diffusion(HParams):
    """Keys of every diffusion model (schedule, network size, sampling defaults)."""

    schedule: Literal["cosine", "linear"]
    T: PosInt
    precond: Literal["none", "measurement"]
    sigma_data: Positive
    width: PosInt
    mults: PosIntList
    emb_dim: PosInt
    sampler: Literal["ddpm", "ddim"]
    steps: PosInt
    eta_ddim: NonNeg
    n_samples: PosInt
    variance: Literal["beta", "beta_tilde"]
    clip_x0: bool
    start: Unit
    stop: UnitOpen


class PCSDHParams(_Diffusion):
    """PCSD and its ablations (pcsd, pcsd_no_physics, ..., pcsd_physics_only)."""

    lambda_diff: NonNeg
    lambda_phys: NonNeg
    lambda_cycle: NonNeg
    lambda_perc: NonNeg
    lambda_tv: NonNeg
    n_modalities: PosInt
    modality_cond: bool
    param_cond: bool
    cycle_t: Unit
    cycle_fraction: Unit
    afm_mode: Literal["exact", "soft"]
    vgg_weights: Annotated[str, Field(description="a path; '' = the default location")]
    guide_wrt: Literal["x_t", "x0"]
    guide_loss: Literal["l1", "l2"]
    guide_scale: NonNeg
    guide_min_abar: Unit
    eta: NonNeg
    blocks: PosInt
    heads: PosInt
    ff_dim: PosInt
    groups: PosInt
    stem: Literal[1, 2]


class PIDDPMHParams(_Diffusion):
    """PI-DDPM and its variants (pi_ddpm, pi_ddpm_l2, pi_ddpm_plain)."""

    eta: NonNeg
    physics: bool
    reg: Literal["none", "l1", "l2"]
    reg_weight: NonNeg
    continuous_gamma: bool


class CondDDPMHParams(_Diffusion):
    """The conditional DDPM (cond_ddpm)."""

    cosine_s: Annotated[Number, Field(gt=0, lt=1)]
    entropy: Literal["histogram", "gaussian"]
    entropy_bins: PosInt
    res_balance: Unit
    attn_balance: Unit
    concat_balance: Unit
    mp_lr_scale: Positive
    blocks: PosInt
    noise_dim: PosInt
    heads: PosInt
    attn_levels: Annotated[NonNegIntList, Field(description="level indices")]
    val_steps: Annotated[NonNegInt, Field(description="DDIM steps of validation; 0 = "
                                          "the evaluation sampler")]
    val_samples: Annotated[NonNegInt, Field(description="samples of validation; 0 = "
                                            "n_samples")]
