"""Shared helpers: parameter access, convolution without wrap-around, frequency grids.

Boundary handling of the linear operators (TEM, SEM, STEM), to be mirrored by Wiener /
Richardson-Lucy: an (H, W) image is extended to (2H, 2W) by appending its mirror images,
``np.pad(x, fft_pad_width(x.shape), mode="symmetric")`` = ``((0, H), (0, W))``. That
array is exactly one period of the image's infinite half-sample symmetric extension
(scipy.ndimage ``mode="reflect"``), so a circular convolution on it equals a linear
convolution with reflective boundaries for a kernel of ANY width: no wrap-around, however
wide the kernel (the SEM charging Gaussian can be as wide as the field of view). The
result is the top-left (H, W) block. ``linear_otf`` is the transfer function on this
(2H, 2W) grid (unshifted numpy FFT layout):

    yp = np.fft.ifft2(np.fft.fft2(np.pad(x, fft_pad_width(x.shape), "symmetric")) * otf)
    y = yp.real[:H, :W]

For real, even kernels this is diagonal in the DCT-II basis, ``y = idctn(dctn(x) * otf[:H,
:W])``, which the no-grad CPU path uses (:func:`filter_images`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import scipy.fft
import torch
from torch import Tensor

from simart.specs.modalities import DEFAULT_PARAM_SPECS


class NonLinearOperatorError(ValueError):
    """The operator has no transfer function (AFM dilation is not linear)."""


# ---------------------------------------------------------------- parameters


def param_array(
    params: Mapping[str, Tensor | float], key: str, batch: int, modality: str | None = None
) -> np.ndarray:
    """One parameter as a float64 array of length ``batch``.

    A tensor must hold 1 or ``batch`` values; a python number is broadcast. A missing
    key falls back to the modality's default when that default is a fixed number (e.g.
    ``voltage_kv`` = 200); a missing ranged parameter raises ``ValueError``.
    """
    if key in params:
        v = params[key]
        if isinstance(v, Tensor):
            arr = v.detach().to("cpu", torch.float64).reshape(-1).numpy()
        else:
            arr = np.asarray(v, dtype=np.float64).reshape(-1)
    else:
        default = DEFAULT_PARAM_SPECS.get(modality or "", {}).get(key)
        if default is None or isinstance(default, list):
            need = "" if modality is None else f" for {modality}"
            raise ValueError(f"missing parameter '{key}'{need}; got keys {sorted(params)}")
        arr = np.asarray([default], dtype=np.float64)
    if arr.size == 1:
        arr = np.full(batch, arr[0])
    if arr.size != batch:
        raise ValueError(f"parameter '{key}' has {arr.size} values for a batch of {batch}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"parameter '{key}' = {arr.tolist()} must be finite")
    return arr


def params_row(params: Mapping[str, Tensor | float], b: int, batch: int) -> dict[str, float]:
    """Image ``b``'s float parameters from a batched mapping (non-numeric keys skipped)."""
    row = {}
    for k, v in params.items():
        if isinstance(v, Tensor) and (v.numel() in (1, batch)):
            row[k] = float(v.reshape(-1)[b if v.numel() == batch else 0])
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            row[k] = float(v)
        elif isinstance(v, (list, tuple, np.ndarray)) and len(v) == batch:
            row[k] = float(v[b])
    return row


def check_image(x: Tensor) -> tuple[int, int, int]:
    """Validate a batched image tensor (B, 1, H, W); return (B, H, W)."""
    if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != 1:
        shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
        raise ValueError(f"images must be a torch tensor (B, 1, H, W); got {shape}")
    if x.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"images must be float32 or float64; got {x.dtype}")
    return int(x.shape[0]), int(x.shape[2]), int(x.shape[3])


# ---------------------------------------------------------------- FFT padding


def fft_pad_width(shape: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """numpy ``pad_width`` of the FFT extension of an (H, W) image: ``((0, H), (0, W))``.

    Use with ``mode="symmetric"``: ``np.pad(y, fft_pad_width(y.shape), mode="symmetric")``
    gives the (2H, 2W) grid on which ``linear_otf`` acts; crop ``[:H, :W]`` afterwards.
    """
    h, w = int(shape[-2]), int(shape[-1])
    return ((0, h), (0, w))


def fft_padded_shape(shape: tuple[int, int]) -> tuple[int, int]:
    """Shape (2H, 2W) of the FFT grid used for an (H, W) image."""
    return 2 * int(shape[-2]), 2 * int(shape[-1])


def pad_for_fft(x: np.ndarray | Tensor) -> np.ndarray | Tensor:
    """Symmetric extension (..., H, W) -> (..., 2H, 2W), numpy or torch (differentiable)."""
    if isinstance(x, Tensor):
        x = torch.cat([x, x.flip(-1)], dim=-1)
        return torch.cat([x, x.flip(-2)], dim=-2)
    x = np.asarray(x)
    x = np.concatenate([x, x[..., ::-1]], axis=-1)
    return np.concatenate([x, x[..., ::-1, :]], axis=-2)


def crop_fft(y: np.ndarray | Tensor, shape: tuple[int, int]) -> np.ndarray | Tensor:
    """Inverse of :func:`pad_for_fft`'s placement: the top-left (H, W) block."""
    return y[..., : int(shape[-2]), : int(shape[-1])]


@lru_cache(maxsize=16)
def _quadrant_k2(shape: tuple[int, int]) -> np.ndarray:
    """k^2 in (cycles/px)^2 on the first quadrant rows 0..H//2, cols 0..W//2 (cached)."""
    h, w = shape
    ky = np.fft.fftfreq(h)[: h // 2 + 1, None]
    kx = np.fft.fftfreq(w)[None, : w // 2 + 1]
    if h % 2 == 0:
        ky = np.abs(ky)  # the Nyquist row is -0.5 in fftfreq
    if w % 2 == 0:
        kx = np.abs(kx)
    q = ky * ky + kx * kx
    q.setflags(write=False)
    return q


def _mirror(q: np.ndarray, n: int, axis: int) -> np.ndarray:
    """Extend first-quadrant values (indices 0..n//2) to a full FFT axis of length n."""
    tail = np.flip(q.take(np.arange(1, (n - 1) // 2 + 1), axis=axis), axis=axis)
    return np.concatenate([q, tail], axis=axis)


def radial_quadrant(fn, shape: tuple[int, int], pixel_size_nm: float) -> np.ndarray:
    """Evaluate a radial function ``fn(k2)`` (k2 = |k|^2 in nm^-2) on the first quadrant
    (rows 0..H//2, columns 0..W//2) of the FFT grid of ``shape``; float64."""
    if not pixel_size_nm > 0:
        raise ValueError(f"pixel_size_nm = {pixel_size_nm} must be > 0")
    k2 = _quadrant_k2((int(shape[0]), int(shape[1])))
    return np.asarray(fn(k2 / (pixel_size_nm * pixel_size_nm)), dtype=np.float64)


def expand_quadrant(q: np.ndarray, shape: tuple[int, int], half: bool = False) -> np.ndarray:
    """First-quadrant values (..., H//2+1, W//2+1) -> the full unshifted FFT grid of
    ``shape`` (or its rfft half-grid, columns 0..W//2, if ``half``), by mirroring."""
    q = _mirror(q, int(shape[0]), q.ndim - 2)
    return q if half else _mirror(q, int(shape[1]), q.ndim - 1)


def radial_eval(fn, shape: tuple[int, int], pixel_size_nm: float, half: bool = False) -> np.ndarray:
    """A radial function ``fn(k2)`` on an FFT grid (full, or rfft half-grid if ``half``).

    ``fn`` is evaluated once per first-quadrant point and mirrored, so full and half grids
    hold bit-identical values at the same frequency.
    """
    return expand_quadrant(radial_quadrant(fn, shape, pixel_size_nm), shape, half)


def radial_freq_nm(shape: tuple[int, int], pixel_size_nm: float, half: bool = False) -> np.ndarray:
    """|k| in nm^-1 on the (unshifted) FFT grid of ``shape`` (rfft half-grid if ``half``)."""
    return radial_eval(np.sqrt, shape, pixel_size_nm, half)


def filter_images(x: Tensor, quadrants: np.ndarray) -> Tensor:
    """Filter images (B, 1, H, W) by real, even transfer functions; returns (B, K, H, W).

    ``quadrants`` (B, K, H+1, W+1): the first quadrant of K transfer functions per image
    on the padded (2H, 2W) grid (:func:`radial_quadrant` of ``fft_padded_shape``).

    Two evaluations of the same linear map, agreeing to rounding:

    * torch (differentiable, any device; used when grad is needed or off CPU): FFT of the
      symmetric extension, multiply by the rfft half of the transfer, inverse, crop;
    * SciPy (CPU under ``torch.no_grad``, ~5x faster): the symmetric-extension DFT of a
      real even kernel is diagonal in the DCT-II basis, so
      ``y = idctn(dctn(x) * T[:H, :W])`` (single worker, deterministic).
    """
    b, _, h, w = x.shape
    if quadrants.shape[-2:] != (h + 1, w + 1) or quadrants.shape[0] != b:
        raise ValueError(f"transfer quadrants {quadrants.shape} do not fit images {tuple(x.shape)}")
    np_dtype = np.float32 if x.dtype == torch.float32 else np.float64
    if x.device.type == "cpu" and not (torch.is_grad_enabled() and x.requires_grad):
        spec = scipy.fft.dctn(x.detach().numpy(), type=2, axes=(-2, -1), workers=1)
        t = quadrants[..., :h, :w].astype(np_dtype, copy=False)
        y = scipy.fft.idctn(spec * t, type=2, axes=(-2, -1), workers=1)
        return torch.from_numpy(np.ascontiguousarray(y, dtype=np_dtype))
    half = expand_quadrant(quadrants, (2 * h, 2 * w), half=True)
    t = torch.as_tensor(half, dtype=x.dtype, device=x.device)
    spec = torch.fft.rfft2(pad_for_fft(x))
    return crop_fft(torch.fft.irfft2(spec * t, s=(2 * h, 2 * w)), (h, w))
