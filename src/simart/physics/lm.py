"""Fluorescence light microscopy: widefield / confocal PSF operator + Poisson noise (the PI-DDPM paper).

Image acquisition model ``I = Poisson(h * x + b)`` (the PI-DDPM paper, "Light microscopy image
acquisition model"), in-focus 2D, scalar paraxial optics (lengths in nm):

* emission / excitation PSF: the Airy pattern ``A_lambda(r) = [2 J1(v) / v]^2``,
  ``v = 2 pi NA r / lambda`` (first zero at r = 0.61 lambda / NA);
* widefield: ``h = A_em``;
* confocal: ``h = A_ex * (A_em (*) D_R)``: excitation PSF times the emission PSF convolved
  with the pinhole disk of radius R back-projected to the specimen,
  ``R = pinhole_um * 1000 / 2 / magnification`` (the paper's "pinhole size" read as the
  diameter in the detection plane). A small pinhole gives ``A_ex * A_em`` (FWHM 0.72 x
  the widefield one at equal wavelengths), an open one ``~ A_ex``.

Paper errors corrected here: the paper's pinhole function ``T = 1_{R^2 <= x^2 + y^2}`` is
the OUTSIDE of the disk (it must be ``x^2 + y^2 <= R^2``); its eq. 3 convolves the pinhole
with the emission AMPLITUDE ``|T * u_em|^2``, whereas an incoherent detector integrates
the emission INTENSITY over the pinhole, ``|u_em|^2 * T`` (used here);
wavelengths "320 to 400 um" / "450 to 550 um" are nm; a refractive index of 1.33 is
water, not air. The refractive index enters this in-focus 2D model only through the
constraint NA <= n (a 3D / defocused PSF would need it).

Sampling: the PSF is evaluated at pixel centres on the (2H, 2W) grid of the symmetric
image extension (:mod:`simart.physics.common`), the pinhole convolution is done in Fourier
space with the disk's exact transform ``2 J1(2 pi k R) / (2 pi k R)``, and the kernel is
normalised to sum 1 (flux preserving). Its DFT is the transfer function used by
:func:`forward_lm` and :class:`LMOperator` (same linear map, tested equal); because the
kernel is real and even, the operator is self-adjoint.

Noise (:func:`add_poisson_background`): ``y = Poisson(photons * (h * x + b)) / photons``
with ``photons`` the expected count of a pixel of value 1 and ``b`` the background as a
fraction of full scale; the result stays in the clean images' units (background not
subtracted, as a camera records it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import scipy.fft as sfft
import scipy.special as sp
import torch
from torch import Tensor

from simart.physics.common import (
    check_image,
    crop_fft,
    expand_quadrant,
    fft_padded_shape,
    filter_images,
    pad_for_fft,
    param_array,
)
from simart.physics.operators import Operator
from simart.specs.lm import LM_PARAM_BOUNDS, LM_PARAM_SPECS

__all__ = [
    "LMOperator",
    "add_poisson_background",
    "airy_intensity",
    "forward_lm",
    "lm_psf",
    "lm_transfer",
    "pinhole_radius_nm",
]

_PSF_KEYS = ("na", "wavelength_ex_nm", "wavelength_em_nm", "pinhole_um", "magnification",
             "refractive_index", "pixel_size_nm")


def airy_intensity(r_nm: np.ndarray, wavelength_nm: float, na: float) -> np.ndarray:
    """Airy intensity ``[2 J1(v)/v]^2`` (1 at r = 0), ``v = 2 pi NA r / lambda``."""
    v = 2 * math.pi * na * np.asarray(r_nm, dtype=np.float64) / wavelength_nm
    out = np.ones_like(v)
    nz = v > 1e-8
    out[nz] = (2 * sp.j1(v[nz]) / v[nz]) ** 2
    return out


def pinhole_radius_nm(pinhole_um: float, magnification: float) -> float:
    """Pinhole radius back-projected to the specimen (nm): diameter / 2 / magnification."""
    return float(pinhole_um) * 1000.0 / 2.0 / float(magnification)


def _check(p: Mapping[str, float]) -> None:
    for key, (lo, hi, unit) in LM_PARAM_BOUNDS.items():
        if key in p and not lo <= float(p[key]) <= hi:
            raise ValueError(f"LM parameter '{key}' = {p[key]} out of range: allowed {lo} to "
                             f"{hi} {unit}")
    if float(p["na"]) > float(p["refractive_index"]):
        raise ValueError(f"LM parameter 'na' = {p['na']} exceeds the refractive index "
                         f"{p['refractive_index']}")


def _kernel_padded(p: Mapping[str, float], shape: tuple[int, int], confocal: bool) -> np.ndarray:
    """PSF on the FFT grid ``shape`` (origin at [0, 0], wrapped), normalised to sum 1."""
    _check(p)
    h, w = int(shape[0]), int(shape[1])
    px = float(p["pixel_size_nm"])
    iy = np.arange(h // 2 + 1)[:, None]
    ix = np.arange(w // 2 + 1)[None, :]
    r = px * np.sqrt(iy * iy + ix * ix)
    em = expand_quadrant(airy_intensity(r, p["wavelength_em_nm"], p["na"]), (h, w))
    if not confocal:
        kern = em
    else:
        radius = pinhole_radius_nm(p["pinhole_um"], p["magnification"])
        ky = sfft.fftfreq(h)[:, None] / px
        kx = sfft.rfftfreq(w)[None, :] / px
        z = 2 * math.pi * np.sqrt(ky * ky + kx * kx) * radius
        disk = np.ones_like(z)
        nz = z > 1e-8
        disk[nz] = 2 * sp.j1(z[nz]) / z[nz]
        em_pin = sfft.irfft2(sfft.rfft2(em, workers=1) * disk, s=(h, w), workers=1)
        ex = expand_quadrant(airy_intensity(r, p["wavelength_ex_nm"], p["na"]), (h, w))
        kern = ex * em_pin
    return kern / kern.sum()


def lm_transfer(p: Mapping[str, float], shape: tuple[int, int], confocal: bool,
                half: bool = False) -> np.ndarray:
    """Transfer function (real, float64) of the PSF on the FFT grid ``shape``
    (unshifted; rfft half-grid if ``half``); T(0) = 1."""
    t = sfft.rfft2(_kernel_padded(p, shape, confocal), workers=1).real
    if half:
        return t
    return expand_quadrant(t[: int(shape[0]) // 2 + 1], (int(shape[0]), int(shape[1])))


def lm_quadrant(p: Mapping[str, float], shape: tuple[int, int], confocal: bool) -> np.ndarray:
    """First quadrant (H//2+1, W//2+1) of the transfer function on grid ``shape``."""
    t = sfft.rfft2(_kernel_padded(p, shape, confocal), workers=1).real
    return t[: int(shape[0]) // 2 + 1, : int(shape[1]) // 2 + 1]


def lm_psf(p: Mapping[str, float], shape: tuple[int, int], confocal: bool) -> np.ndarray:
    """The PSF on a centred (H, W) pixel grid (centre pixel (H//2, W//2)), float64.

    These are the values of the kernel :func:`forward_lm` uses for (H, W) images
    (normalised to sum 1 over its (2H, 2W) grid; the Airy tails converge slowly, so the
    (H, W) crop sums to slightly less than 1).
    """
    h, w = int(shape[0]), int(shape[1])
    kern = _kernel_padded(p, (2 * h, 2 * w), confocal)
    return np.roll(kern, (h // 2, w // 2), axis=(0, 1))[:h, :w]


def _rows(params: Mapping[str, Tensor | float], b: int) -> tuple[list[dict], np.ndarray]:
    cols = {}
    for k in _PSF_KEYS:
        if k in params:
            cols[k] = param_array(params, k, b)
        elif not isinstance(LM_PARAM_SPECS[k], list):
            cols[k] = np.full(b, float(LM_PARAM_SPECS[k]))
        else:
            raise ValueError(f"missing LM parameter '{k}'; got keys {sorted(params)}")
    conf = param_array(params, "confocal", b) if "confocal" in params else np.zeros(b)
    return [{k: float(cols[k][i]) for k in _PSF_KEYS} for i in range(b)], conf > 0.5


def forward_lm(x: Tensor, params: Mapping[str, Tensor | float]) -> Tensor:
    """Noiseless ``h * x`` for images (B, 1, H, W); differentiable in x, any device.

    ``params``: the PSF parameters (:data:`LM_PARAM_SPECS` names; fixed ones default) and
    ``confocal`` (0 = widefield, 1 = confocal; default 0), each a float or a 1-D tensor of
    length B. Reflective boundaries (symmetric extension), as the other operators.
    """
    b, h, w = check_image(x)
    rows, conf = _rows(params, b)
    shape = fft_padded_shape((h, w))
    q = np.stack([lm_quadrant(r, shape, bool(c)) for r, c in zip(rows, conf, strict=True)])
    y = filter_images(x, q[:, None])
    return y.to(x.device)


class LMOperator(torch.nn.Module):
    """The fluorescence forward operator ``K`` as a torch module (one PSF per batch item).

    ``K = LMOperator(params, (H, W))``; ``K(x)`` blurs images (B, 1, H, W) (B equal to the
    number of PSFs, or 1 PSF broadcast to any batch) with reflective boundaries; pure torch
    ops (rfft2 of the symmetric extension times the transfer function), differentiable in
    x and on x's device: the operator PI-DDPM's physics term ``||K * y_t - x~||^2`` uses.
    ``K.adjoint`` is ``K`` itself (real, even kernel). ``K.psf()`` returns the kernels.
    """

    def __init__(self, params: Mapping[str, Tensor | float | Sequence[float]],
                 image_shape: tuple[int, int], batch: int | None = None):
        super().__init__()
        h, w = int(image_shape[0]), int(image_shape[1])
        if batch is None:
            lens = [len(v) if isinstance(v, Tensor | list | tuple | np.ndarray) else 1
                    for v in params.values()]
            batch = max(lens) if lens else 1
        rows, conf = _rows({k: (torch.as_tensor(v, dtype=torch.float64)
                               if isinstance(v, list | tuple | np.ndarray) else v)
                            for k, v in params.items()}, batch)
        shape = fft_padded_shape((h, w))
        half = np.stack([lm_transfer(r, shape, bool(c), half=True)
                         for r, c in zip(rows, conf, strict=True)])
        self.image_shape = (h, w)
        self.rows = rows
        self.confocal = conf
        self.register_buffer("otf_half", torch.from_numpy(half[:, None]).to(torch.float32))

    def forward(self, x: Tensor) -> Tensor:
        b, h, w = check_image(x)
        if (h, w) != self.image_shape:
            raise ValueError(f"images {h}x{w} do not match the operator's {self.image_shape}")
        if self.otf_half.shape[0] not in (1, b):
            raise ValueError(f"{self.otf_half.shape[0]} PSFs for a batch of {b}")
        t = self.otf_half.to(device=x.device, dtype=x.dtype)
        spec = torch.fft.rfft2(pad_for_fft(x))
        return crop_fft(torch.fft.irfft2(spec * t, s=(2 * h, 2 * w)), (h, w))

    def adjoint(self, y: Tensor) -> Tensor:
        return self.forward(y)

    def psf(self) -> np.ndarray:
        """Centred kernels (B, H, W), each summing to 1."""
        return np.stack([lm_psf(r, self.image_shape, bool(c))
                         for r, c in zip(self.rows, self.confocal, strict=True)])


def add_poisson_background(
    y: Tensor, photons: Tensor | float, background: Tensor | float,
    generators: Sequence[torch.Generator],
) -> Tensor:
    """``Poisson(photons * (y + b)) / photons`` per image (B, 1, H, W), CPU generators."""
    b = y.shape[0]
    if len(generators) != b:
        raise ValueError(f"{len(generators)} generators for a batch of {b}")
    ph = param_array({"photons": photons}, "photons", b)
    bg = param_array({"background": background}, "background", b)
    if np.any(ph <= 0) or np.any(bg < 0):
        raise ValueError(f"photons {ph.tolist()} must be > 0 and background {bg.tolist()} >= 0")
    out = torch.empty_like(y, device="cpu", dtype=torch.float64)
    for i in range(b):
        rate = (y[i].detach().cpu().double().clamp_min(0.0) + bg[i]) * ph[i]
        out[i] = torch.poisson(rate, generator=generators[i]) / ph[i]
    return out.to(y.dtype)


class _LMOperator(Operator):
    """A fluorescence mode's PSF blur (:func:`forward_lm`); linear."""

    confocal: ClassVar[bool] = False
    blur_label = "PSF (px)"

    def A(self, x: Tensor, params: Mapping[str, Tensor | float], *,
          seeds: Tensor | None = None) -> Tensor:
        return forward_lm(x, {**params, "confocal": float(self.confocal)})

    def _transfer(self, p: Mapping[str, float], shape: tuple[int, int],
                  image_shape: tuple[int, int]) -> np.ndarray:
        return lm_transfer(p, shape, self.confocal)

    def blur_px(self, params: Mapping[str, float], image_size: int) -> float:
        """The emission Airy disc's Gaussian-equivalent sigma ``0.21 lambda_em / NA`` (the
        paraxial widefield approximation of Zhang, Zerubia and Olivo-Marin, Appl. Opt. 46,
        1819 (2007)) in pixels; the confocal PSF is narrower, so for it an upper bound."""
        return 0.21 * float(params["wavelength_em_nm"]) / float(params["na"]) / float(
            params["pixel_size_nm"])


class WidefieldOperator(_LMOperator):
    name = "widefield"


class ConfocalOperator(_LMOperator):
    name = "confocal"
    confocal = True
