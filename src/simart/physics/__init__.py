"""SIMART physics operators ``y = P_m(x; theta_m) + eta`` (the PCSD paper §3.3; docs/physics.md).

One definition per operator, batched and differentiable in ``x`` (PyTorch), used by the
dataset builder, the physics losses and the guided samplers:

* ``forward(modality, x, params)``: the noiseless operator on images (B, 1, H, W)
  (float32/float64, clean values in [0, 1]); ``params`` maps names to 1-D tensors of
  length B or python floats (broadcast). Missing parameters whose default is a fixed
  number (e.g. ``voltage_kv``) take that default; extra keys are ignored.
* ``add_noise``: Poisson then Gaussian (:mod:`simart.physics.noise`).
* ``linear_otf``: transfer function of the linear part on the padded FFT grid, for
  Wiener / Richardson-Lucy (:mod:`simart.physics.common` explains the padding).
* ``DEFAULT_PARAM_SPECS`` / ``sample_params``: the parameter distributions
  (:mod:`simart.physics.params`).

>>> import torch
>>> x = torch.rand(2, 1, 32, 32)
>>> y = forward("TEM", x, {"defocus_nm": 50.0, "cs_mm": 1.0, "pixel_size_nm": 0.1,
...                        "amplitude_contrast": 0.1})
>>> y.shape
torch.Size([2, 1, 32, 32])
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from torch import Tensor

from simart.physics.afm import (
    SOFT_TAU_DEFAULT,
    dilate_exact,
    dilate_soft,
    erode_exact,
    morphological_gradient_eq12,
    soft_dilation_bias,
    tip_depth_nm,
    tip_kernel,
)
from simart.physics.common import (
    NonLinearOperatorError,
    crop_fft,
    fft_pad_width,
    fft_padded_shape,
    pad_for_fft,
)
from simart.physics.lm import (
    LMOperator,
    add_poisson_background,
    forward_lm,
    lm_psf,
    lm_transfer,
)
from simart.physics.noise import add_noise, noise_variance
from simart.physics.operators import Operator, operator, operator_of_code
from simart.physics.params import sample_params
from simart.physics.sem import (
    kanaya_okayama_range_um,
    sem_beam_kernel,
)
from simart.physics.stem import scan_offsets, stem_probe
from simart.physics.tem import (
    chi,
    ctf,
    electron_wavelength_nm,
    spatial_envelope,
    temporal_envelope,
)
from simart.specs.lm import LM_PARAM_SPECS
from simart.specs.modalities import DEFAULT_PARAM_SPECS, MODALITIES, SEED_STEM_APERTURE_MRAD

__all__ = [
    "DEFAULT_PARAM_SPECS", "LM_PARAM_SPECS", "MODALITIES", "SEED_STEM_APERTURE_MRAD",
    "SOFT_TAU_DEFAULT", "LMOperator", "NonLinearOperatorError", "Operator", "add_noise",
    "add_poisson_background", "chi", "crop_fft", "ctf", "dilate_exact", "dilate_soft",
    "electron_wavelength_nm", "erode_exact", "fft_pad_width", "fft_padded_shape", "forward",
    "forward_lm", "kanaya_okayama_range_um", "linear_otf", "lm_psf", "lm_transfer",
    "morphological_gradient_eq12", "noise_variance", "operator", "operator_of_code", "pad_for_fft", "sample_params", "scan_offsets",
    "sem_beam_kernel", "soft_dilation_bias", "spatial_envelope", "stem_probe",
    "temporal_envelope", "tip_depth_nm", "tip_kernel",
]

AFM_MODES = ("exact", "soft", "eq12")


def forward(
    modality: str,
    x: Tensor,
    params: Mapping[str, Tensor | float],
    *,
    afm_mode: str = "exact",
    seeds: Tensor | None = None,
    tau: float = SOFT_TAU_DEFAULT,
) -> Tensor:
    """Noiseless operator ``P_m(x; theta)`` on images (B, 1, H, W); same shape and dtype:
    ``operator(modality).A(x, params, ...)``.

    Args:
        modality: a registered modality (:data:`simart.specs.operators.OPERATORS`:
            "AFM", "TEM", "SEM", "STEM", "widefield", "confocal").
        x: clean images (B, 1, H, W), float32 or float64, on any device.
        params: parameter name -> 1-D tensor of length B or python float (see
            ``DEFAULT_PARAM_SPECS`` for names and units).
        afm_mode: AFM only: "exact" (the imaging model, numba on CPU), "soft" (log-sum-exp
            with temperature ``tau`` in 1 / image unit) or "eq12" (the PCSD paper's
            morphological gradient, not an AFM image).
        seeds: per-image int64 seeds of the operator's random parts (STEM: the scan
            distortion). When None, ``params["scan_seed"]`` is used if present; otherwise
            no scan distortion.

    Differentiable in ``x`` for every modality and AFM mode (AFM "exact": the gradient
    reaches each output's winning source pixel).
    """
    op = operator(modality)
    given = {"afm_mode": afm_mode, "tau": tau}
    return op.A(x, params, seeds=seeds, **{k: given[k] for k in op.options})


def linear_otf(
    modality: str,
    params: Mapping[str, float],
    shape: tuple[int, int],
    *,
    image_shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """Transfer function (complex128, ``shape``, unshifted numpy FFT layout) of the linear
    part of the operator, on the PADDED grid ``shape`` = ``fft_padded_shape(image shape)``:
    ``operator(modality).transfer``; ``NonLinearOperatorError`` when it has none (AFM).

    ``forward`` (without scan distortion) is exactly
    ``ifft2(fft2(np.pad(x, fft_pad_width(x.shape), "symmetric")) * otf).real[:H, :W]``
    for TEM (the CTF with OTF(0) = 1: the mean passes), STEM (probe OTF; scan distortion
    not included) and SEM with lambda_c = 0. SEM in general: the linearisation
    tanh(z) ~ z, ``G_b + lambda_c G_c``; the charging width uses the field of view of
    ``image_shape`` (default: ``shape`` / 2).
    """
    op = operator(modality)
    t = op.transfer(params, shape, image_shape=image_shape)
    if t is None:
        raise NonLinearOperatorError(op.nonlinear_reason)
    return t
