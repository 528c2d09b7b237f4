"""How severe one SIMART image's degradation is: blur in pixels, relative blur, SNR.

Recorded per image in every shard table (columns :data:`SEVERITY_COLUMNS`), for the
calibration report and the PCSD paper's Fig. 6 ("improvement vs severity"):

* ``blur_px`` -- the operator's physical blur in pixels, one definition per modality
  (:func:`blur_px`):

  - AFM: the tip's footprint radius at half the image's height range (the lateral reach
    of ``tip_depth = 0.5 height_scale_nm``) / ``pixel_size_nm``;
  - TEM: the period (px) of the first Thon ring, ``1 / (k_1 pixel_size_nm)`` with
    ``|chi(k_1)| = pi`` (the first zero of the phase CTF; amplitude contrast A moves it by
    ``asin(A) / pi`` of a ring, and adds in overfocus a zero at ``|chi| = asin A`` near
    k = 0 that this measure leaves out); 2 px when it lies beyond Nyquist;
  - SEM: the beam broadening ``sigma_b_nm / pixel_size_nm``;
  - STEM: the probe's Gaussian-equivalent width: the ``sigma`` (px) of the Gaussian whose
    transfer falls to 1/2 at the frequency where the probe's does (``sigma_b`` for a
    Gaussian beam), which counts the source size, the aperture's diffraction limit,
    defocus and C_s alike.
* ``blur_rel`` -- ``blur_px`` over the clean images' typical feature size at that image
  size (:func:`simart.physics.params.clean_feature_px`): the same physics gives the same
  ``blur_rel`` at 128, 256 and 512 px. :data:`BLUR_BANDS` states the band each modality's
  default distributions keep to.
* ``snr_db`` -- ``10 log10(var(P(x)) / v)``: the noiseless image's contrast variance over
  the mean per-pixel noise variance ``v = gaussian_sigma^2 + mean(P(x)) / poisson_counts``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from simart.physics.noise import noise_variance
from simart.physics.operators import operator
from simart.specs.modalities import clean_feature_px

SEVERITY_COLUMNS: tuple[str, ...] = ("blur_px", "blur_rel", "snr_db")

#: modality -> (low, high) band of ``blur_rel`` that sampled default parameters keep to at
#: every image size (a test samples them at 128, 256 and 512 px). How they were chosen:
#: a Gaussian blur with ``blur_rel`` = 0.3 keeps 17 % of the contrast at the features'
#: frequency (1 / feature size) and 0.05 keeps 95 %: SEM and STEM run from a barely visible
#: blur to one that removes most of a feature's contrast but not the feature (before the
#: calibration they reached 0.7 and 13, where features vanish). TEM: the first Thon ring's
#: period lies between the Nyquist limit (2 px, i.e. 0.27 of a feature at 128 px and 0.11
#: at 512) and 1.5 features, so the CTF's rings always cut through the features' band.
#: AFM: the tip reaches from a twentieth of a feature to three at half the height range;
#: the reach is not a blur width (dilation blunts only what the tip touches: valleys and
#: steep flanks), and wide reaches come with the shallow slopes of large, blunt tips.
BLUR_BANDS: dict[str, tuple[float, float]] = {
    "AFM": (0.05, 3.0),
    "TEM": (0.1, 1.5),
    "SEM": (0.03, 0.4),
    "STEM": (0.03, 0.45),
}


def blur_label(modality: str) -> str:
    """What ``blur_px`` measures for ``modality`` (its operator's ``blur_label``)."""
    return operator(modality).blur_label


def blur_px(modality: str, params: Mapping[str, float], image_size: int) -> float:
    """The modality's blur in pixels (module docstring) of one image's parameters: its
    operator's :meth:`~simart.physics.operators.Operator.blur_px`."""
    return operator(modality).blur_px(params, image_size)


def severity(modality: str, params: Mapping[str, float], image_size: int,
             noiseless: np.ndarray) -> dict[str, float]:
    """``blur_px``, ``blur_rel`` and ``snr_db`` of one image (``noiseless`` = ``P(x)``)."""
    b = blur_px(modality, params, image_size)
    y = np.asarray(noiseless, dtype=np.float64)
    v = noise_variance(float(y.mean()), params["gaussian_sigma"], params["poisson_counts"])
    signal = float(y.var())
    snr = 10.0 * math.log10(signal / v) if signal > 0 and v > 0 else -math.inf
    return {"blur_px": b, "blur_rel": b / clean_feature_px(image_size), "snr_db": snr}
