"""SEM: beam broadening plus non-linear charging (the PCSD paper's eq. 16) and the Kanaya-Okayama range.

``y = x * G(sigma_b) + lambda_c tanh(x * G(sigma_c))``

* ``G(sigma)`` is a normalised 2-D Gaussian, applied in Fourier space as its exact
  continuous transform ``exp(-2 pi^2 sigma^2 k^2)`` on the padded FFT grid (see
  :mod:`simart.physics.common`), so it sums to 1 and conserves intensity for any sigma.
* ``sigma_b_nm``: beam broadening (nm), converted with ``pixel_size_nm``.
* ``sigma_c_fov``: charging width as a FRACTION OF THE FIELD OF VIEW,
  ``sigma_c = sigma_c_fov * max(H, W) * pixel_size_nm`` (our unit for the paper's
  unitless sigma_c ~ U(0.1, 1)). Charging is a slowly varying, field-wide brightness.
* ``charging_strength`` = lambda_c (image units): tanh saturates the charge build-up.
* The linear part used for classical deconvolution (``linear_otf``) is the linearisation
  tanh(z) ~ z: ``G_b + lambda_c G_c``; it equals the operator exactly when lambda_c = 0.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor

from simart.physics.common import (
    check_image,
    expand_quadrant,
    fft_padded_shape,
    filter_images,
    param_array,
    radial_quadrant,
)
from simart.physics.operators import Operator

SEM_KEYS = ("pixel_size_nm", "sigma_b_nm", "sigma_c_fov", "charging_strength")


def kanaya_okayama_range_um(
    A_g_mol: float, Z: float, E0_kev: float, density_g_cm3: float
) -> float:
    """Kanaya-Okayama electron range (um): ``0.0276 A E0^1.67 / (rho Z^0.889)``.

    Args:
        A_g_mol: atomic weight (g/mol); Z: atomic number; E0_kev: beam energy (keV);
        density_g_cm3: density (g/cm^3).

    >>> round(kanaya_okayama_range_um(63.55, 29, 20.0, 8.96), 2)  # Cu at 20 keV
    1.46
    """
    for name, v in (("A_g_mol", A_g_mol), ("Z", Z), ("E0_kev", E0_kev),
                    ("density_g_cm3", density_g_cm3)):
        if not v > 0:
            raise ValueError(f"{name} = {v} must be > 0")
    return 0.0276 * A_g_mol * E0_kev**1.67 / (density_g_cm3 * Z**0.889)


def gaussian_quadrant(sigma_nm: float, pixel_size_nm: float, shape: tuple[int, int]) -> np.ndarray:
    """First quadrant of ``exp(-2 pi^2 sigma^2 k^2)`` (a unit-sum Gaussian) on grid ``shape``."""
    if sigma_nm < 0:
        raise ValueError(f"Gaussian sigma = {sigma_nm} nm must be >= 0")
    c = -2.0 * (np.pi * sigma_nm) ** 2
    return radial_quadrant(lambda k2: np.exp(c * k2), shape, pixel_size_nm)


def gaussian_transfer(sigma_nm: float, pixel_size_nm: float, shape: tuple[int, int],
                      half: bool = False) -> np.ndarray:
    """Transfer function ``exp(-2 pi^2 sigma^2 k^2)`` of a unit-sum Gaussian on an FFT grid."""
    return expand_quadrant(gaussian_quadrant(sigma_nm, pixel_size_nm, shape), shape, half)


def charging_sigma_nm(p: Mapping[str, float], image_shape: tuple[int, int]) -> float:
    """Charging Gaussian width in nm: ``sigma_c_fov * max(H, W) * pixel_size_nm``."""
    return p["sigma_c_fov"] * max(image_shape) * p["pixel_size_nm"]


def sem_beam_kernel(sigma_b_nm: float, pixel_size_nm: float, shape: tuple[int, int]) -> np.ndarray:
    """Real-space beam kernel (centred, ``shape``, sums to 1) as the forward applies it."""
    t = gaussian_transfer(sigma_b_nm, pixel_size_nm, shape)
    return np.fft.fftshift(np.fft.ifft2(t).real)


def sem_linear_otf(p: Mapping[str, float], shape: tuple[int, int],
                   image_shape: tuple[int, int]) -> np.ndarray:
    """Linearised transfer ``G_b + lambda_c G_c`` on the padded grid ``shape``."""
    px = p["pixel_size_nm"]
    return (gaussian_transfer(p["sigma_b_nm"], px, shape)
            + p["charging_strength"]
            * gaussian_transfer(charging_sigma_nm(p, image_shape), px, shape))


def forward_sem(x: Tensor, params: Mapping[str, Tensor | float]) -> Tensor:
    """SEM image of (B, 1, H, W) images: beam blur plus lambda_c tanh(charging blur)."""
    b, h, w = check_image(x)
    cols = {k: param_array(params, k, b, "SEM") for k in SEM_KEYS}
    shape = fft_padded_shape((h, w))
    q = np.empty((b, 2, h + 1, w + 1))
    for i in range(b):
        p = {k: cols[k][i] for k in SEM_KEYS}
        q[i, 0] = gaussian_quadrant(p["sigma_b_nm"], p["pixel_size_nm"], shape)
        q[i, 1] = gaussian_quadrant(charging_sigma_nm(p, (h, w)), p["pixel_size_nm"], shape)
    blurred = filter_images(x, q)  # (B, 2, H, W): beam blur, charging blur
    lam = torch.as_tensor(cols["charging_strength"], dtype=x.dtype, device=x.device)
    return blurred[:, :1] + lam.view(b, 1, 1, 1) * torch.tanh(blurred[:, 1:])


class SEMOperator(Operator):
    """SEM beam broadening plus charging (:func:`forward_sem`); its transfer function is
    the linearisation ``G_b + lambda_c G_c`` (tanh(z) ~ z), exact for lambda_c = 0."""

    name = "SEM"
    blur_label = "beam broadening σ_b (px)"

    def A(self, x: Tensor, params: Mapping[str, Tensor | float], *,
          seeds: Tensor | None = None) -> Tensor:
        return forward_sem(x, params)

    def _transfer(self, p: Mapping[str, float], shape: tuple[int, int],
                  image_shape: tuple[int, int]) -> np.ndarray:
        return sem_linear_otf(p, shape, image_shape)

    def blur_px(self, params: Mapping[str, float], image_size: int) -> float:
        """The beam broadening ``sigma_b_nm / pixel_size_nm``."""
        return float(params["sigma_b_nm"]) / float(params["pixel_size_nm"])
