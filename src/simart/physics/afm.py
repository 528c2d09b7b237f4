"""AFM: tip-sample convolution as grey-scale dilation (Villarrubia 1997).

Imaging model (the PCSD paper's eq. 1; docs/physics.md): ``I(s) = max_u [S(s + u) + K(u)]`` with the tip
``K <= 0``, ``K(0) = 0`` (the apex). Heights are in image units: image value 1.0 =
``height_scale_nm`` nm, so ``K = -depth_nm(|u|) / height_scale_nm``.

* Tip shape: a paraboloid of apex radius R blended tangentially into a cone of half-angle
  alpha (measured from the tip axis). The blend is exactly the Huber function of the
  lateral distance rho: ``depth = rho^2 / (2R)`` for ``rho <= R / tan(alpha)``, else
  ``rho / tan(alpha) - R / (2 tan^2 alpha)`` (value and slope match at the tangent point).
* Array layout: ``K[ry + dy, rx + dx] = K(u = (dy, dx))`` (offsets in px); entries outside
  the footprint are ``-inf``. ``dilate_exact(S, K)`` equals
  ``scipy.ndimage.grey_dilation(S, structure=K[::-1, ::-1], mode="reflect")`` (scipy
  reflects the structuring element; our tips are symmetric so the flip is a no-op).
* Boundary: half-sample symmetric reflection (scipy ``mode="reflect"``,
  numpy ``"symmetric"``), the same extension the FFT operators use.
* Exact dilation: a numba kernel on CPU (single-threaded, float32/float64), bit-identical
  to the torch tap loop used on other devices; with autograd the numba kernel finds the
  winning tap of each pixel and the value is re-gathered from ``x`` in torch, so the
  gradient flows to the winning pixel. Taps that cannot win are skipped (exactly safe):
  any tap with ``K(u) < max(K) - (max(x) - min(x))``.
* Soft dilation (the PCSD paper's eq. 13) is a log-sum-exp with temperature tau in 1 / image unit;
  see :func:`dilate_soft` for the bias handling. The paper's tau = 10 is very soft on
  [0, 1] images; the default here is ``SOFT_TAU_DEFAULT`` = 100.
* ``morphological_gradient_eq12`` is the paper's eq. 12 (x (+) K - x (-) K): an edge map,
  NOT an AFM image; offered only as that explicitly named variant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor

from simart.physics.common import check_image, param_array
from simart.physics.operators import Operator

SOFT_TAU_DEFAULT = 100.0
AFM_KEYS = ("pixel_size_nm", "tip_radius_nm", "tip_half_angle_deg", "height_scale_nm")
_SOFT_CUTOFF = 50.0  # taps with exp(tau (K - Kmax + range)) < e^-50 are below float64 eps


# ---------------------------------------------------------------- tip geometry


def tip_depth_nm(rho_nm: np.ndarray, tip_radius_nm: float, tip_half_angle_deg: float) -> np.ndarray:
    """Depth (nm, >= 0) of the tip surface below its apex at lateral distance ``rho_nm``.

    Parabola ``rho^2/(2R)`` blended tangentially into a cone of half-angle alpha: the
    Huber function, switching at ``rho = R / tan(alpha)``.
    """
    ta = math.tan(math.radians(tip_half_angle_deg))
    rho = np.abs(np.asarray(rho_nm, dtype=np.float64))
    r_t = tip_radius_nm / ta
    return np.where(rho <= r_t, rho * rho / (2.0 * tip_radius_nm),
                    rho / ta - tip_radius_nm / (2.0 * ta * ta))


def tip_footprint_radius_nm(tip_radius_nm: float, tip_half_angle_deg: float,
                            depth_nm: float) -> float:
    """Lateral radius (nm) at which the tip surface lies ``depth_nm`` below the apex."""
    ta = math.tan(math.radians(tip_half_angle_deg))
    d_t = tip_radius_nm / (2.0 * ta * ta)  # depth at the tangent point
    if depth_nm <= d_t:
        return math.sqrt(2.0 * tip_radius_nm * depth_nm)
    return ta * (depth_nm + d_t)


def tip_kernel(
    tip_radius_nm: float,
    tip_half_angle_deg: float,
    pixel_size_nm: float,
    height_scale_nm: float,
    max_radius_px: int | None = None,
) -> np.ndarray:
    """Tip structuring function K (float64, (2n+1, 2n+1), centre = apex) in image units.

    ``K = -depth_nm / height_scale_nm`` <= 0, ``K(0) = 0``, ``-inf`` outside the footprint.

    Footprint: the disk where ``-K <= 1`` (depth <= one image unit), optionally cut to
    ``max_radius_px``. Why the crop is exact for images in [0, 1]: a tap u with
    ``-K(u) >= 1`` gives ``S(s + u) + K(u) <= 1 - 1 = 0 <= S(s) = S(s) + K(0)``, so it
    never exceeds the apex tap and the maximum is unchanged without it. (A
    ``max_radius_px`` smaller than that radius is an approximation; so is using the
    cropped K for images outside [0, 1] or for the soft dilation, where far taps
    contribute a little.)
    """
    for name, v in (("tip_radius_nm", tip_radius_nm), ("pixel_size_nm", pixel_size_nm),
                    ("height_scale_nm", height_scale_nm)):
        if not v > 0:
            raise ValueError(f"{name} = {v} must be > 0")
    if not 0.0 < tip_half_angle_deg < 90.0:
        raise ValueError(f"tip_half_angle_deg = {tip_half_angle_deg} must be in (0, 90)")
    r_px = tip_footprint_radius_nm(tip_radius_nm, tip_half_angle_deg, height_scale_nm)
    r_px /= pixel_size_nm
    n = math.floor(r_px + 1e-9)
    if max_radius_px is not None:
        if max_radius_px < 0:
            raise ValueError(f"max_radius_px = {max_radius_px} must be >= 0")
        n = min(n, int(max_radius_px))
    yy, xx = np.mgrid[-n:n + 1, -n:n + 1]
    dist_px = np.hypot(yy, xx)
    depth = tip_depth_nm(dist_px * pixel_size_nm, tip_radius_nm, tip_half_angle_deg)
    depth /= height_scale_nm
    inside = depth <= 1.0
    if max_radius_px is not None:
        inside &= dist_px <= max_radius_px
    k = np.where(inside, 0.0 - depth, -np.inf)  # 0.0 - 0.0 = +0.0: no signed zeros
    k[n, n] = 0.0
    return k


# ---------------------------------------------------------------- taps and padding


def _as_kernel(k: np.ndarray | Tensor) -> np.ndarray:
    k = k.detach().cpu().numpy() if isinstance(k, Tensor) else np.asarray(k)
    if k.ndim != 2 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
        raise ValueError(f"tip kernel must be a 2-D array with odd sides; got {k.shape}")
    if not np.isfinite(k).any():
        raise ValueError("tip kernel has no finite tap")
    return k.astype(np.float64)


def _taps(k: np.ndarray, dtype: np.dtype, keep_above: float = -np.inf):
    """Row-major taps (dy, dx int64, kv in ``dtype``) of the finite K >= ``keep_above``."""
    ry, rx = k.shape[0] // 2, k.shape[1] // 2
    mask = np.isfinite(k) & (k >= keep_above)
    iy, ix = np.nonzero(mask)
    return (iy - ry).astype(np.int64), (ix - rx).astype(np.int64), k[mask].astype(dtype), ry, rx


def _winning_taps(k: np.ndarray, dtype: np.dtype, value_range: float):
    """Taps that can win for an image whose values span ``value_range`` (exactly safe)."""
    kmax = float(np.max(k[np.isfinite(k)]))
    return _taps(k, dtype, keep_above=kmax - value_range)


def _reflect_index(n: int, pad: int) -> np.ndarray:
    """Source indices of a half-sample symmetric extension of length n by ``pad`` each side."""
    m = np.mod(np.arange(-pad, n + pad), 2 * n)
    return np.where(m < n, m, 2 * n - 1 - m)


def _pad_torch(x: Tensor, ry: int, rx: int) -> Tensor:
    h, w = x.shape[-2:]
    ri = torch.as_tensor(_reflect_index(h, ry), device=x.device)
    ci = torch.as_tensor(_reflect_index(w, rx), device=x.device)
    return x.index_select(-2, ri).index_select(-1, ci)


def _range(x: np.ndarray | Tensor) -> float:
    if isinstance(x, Tensor):
        return float((x.max() - x.min()).item())
    return float(np.max(x) - np.min(x))


# ---------------------------------------------------------------- exact dilation


def _dilate_np(x: np.ndarray, k: np.ndarray, with_arg: bool = False):
    """Numba dilation of one (H, W) image (float32 or float64)."""
    # imported here: numba takes ~0.5 s to import, which every job that only imports the
    # physics package (scoring, the other modalities) would pay
    from simart.physics._afm_kernels import dilate_padded, dilate_padded_arg

    x = np.ascontiguousarray(x)
    dy, dx, kv, ry, rx = _winning_taps(k, x.dtype, _range(x))
    xp = np.pad(x, ((ry, ry), (rx, rx)), mode="symmetric")
    out = np.empty_like(x)
    if not with_arg:
        dilate_padded(xp, dy, dx, kv, ry, rx, out)
        return out, None, (dy, dx, kv, ry, rx)
    arg = np.empty(x.shape, dtype=np.int32)
    dilate_padded_arg(xp, dy, dx, kv, ry, rx, out, arg)
    return out, arg, (dy, dx, kv, ry, rx)


def _dilate_torch(x: Tensor, taps, with_arg: bool = False):
    """Torch tap loop over images (N, H, W): any device; values identical to numba."""
    dy, dx, kv, ry, rx = taps
    h, w = x.shape[-2:]
    xp = _pad_torch(x, ry, rx)
    kt = torch.as_tensor(kv, device=x.device)
    out = torch.full_like(x, -math.inf)
    arg = torch.zeros(x.shape, dtype=torch.int64, device=x.device) if with_arg else None
    for t in range(kv.size):
        y0, x0 = ry + int(dy[t]), rx + int(dx[t])
        cand = xp[..., y0:y0 + h, x0:x0 + w] + kt[t]
        if with_arg:
            better = cand > out
            out = torch.where(better, cand, out)
            arg = torch.where(better, t, arg)
        else:
            out = torch.maximum(out, cand)
    return out, arg


def _gather_winners(x: Tensor, arg: Tensor, taps) -> Tensor:
    """Differentiable value ``x[winner source] + K[winner]`` from the winning-tap indices."""
    dy, dx, kv, ry, rx = taps
    h, w = x.shape[-2:]
    dev = x.device
    ri = torch.as_tensor(_reflect_index(h, ry), device=dev)
    ci = torch.as_tensor(_reflect_index(w, rx), device=dev)
    dyt = torch.as_tensor(dy, device=dev)[arg]
    dxt = torch.as_tensor(dx, device=dev)[arg]
    rows = torch.arange(h, device=dev)[:, None] + ry + dyt
    cols = torch.arange(w, device=dev)[None, :] + rx + dxt
    flat = ri[rows] * w + ci[cols]
    val = x.reshape(*x.shape[:-2], h * w).gather(-1, flat.reshape(*flat.shape[:-2], h * w))
    return val.reshape(x.shape) + torch.as_tensor(kv, device=dev)[arg]


def dilate_exact(x: np.ndarray | Tensor, K: np.ndarray | Tensor,
                 *, backend: str = "auto") -> np.ndarray | Tensor:
    """Exact grey-scale dilation ``I(s) = max_u [x(s + u) + K(u)]`` (reflect boundary).

    Args:
        x: NumPy (H, W) / (N, H, W) or torch (..., H, W), float32 or float64.
        K: structuring function (odd sides, centre = offset 0, ``-inf`` = not in footprint).
        backend: "auto" (numba on CPU, torch tap loop elsewhere), "numba" or "torch".

    Autograd: when ``x`` requires grad the winning tap of each pixel is found without
    grad (numba / torch) and the value is gathered from ``x``: the gradient goes to the
    winning source pixel (first tap in row-major order on ties). Values are identical.
    """
    k = _as_kernel(K)
    if backend not in ("auto", "numba", "torch"):
        raise ValueError(f"backend = {backend!r}; allowed: 'auto', 'numba', 'torch'")
    if not isinstance(x, Tensor):
        xa = np.asarray(x)
        if xa.dtype not in (np.float32, np.float64):
            xa = xa.astype(np.float64)
        if backend == "torch":
            return dilate_exact(torch.from_numpy(xa), k, backend="torch").numpy()
        flat = xa.reshape(-1, *xa.shape[-2:])
        return np.stack([_dilate_np(im, k)[0] for im in flat]).reshape(xa.shape)
    if not x.is_floating_point():
        raise ValueError(f"dilate_exact needs a float tensor; got {x.dtype}")
    shape = x.shape
    xf = x.reshape(-1, *shape[-2:])
    dtype = np.float32 if x.dtype == torch.float32 else np.float64
    use_numba = backend == "numba" or (backend == "auto" and x.device.type == "cpu")
    need_grad = torch.is_grad_enabled() and x.requires_grad
    outs = []
    for im in xf:
        if use_numba:
            arr = im.detach().cpu().numpy().astype(dtype, copy=False)
            out, arg, taps = _dilate_np(arr, k, with_arg=need_grad)
            if need_grad:
                outs.append(_gather_winners(im, torch.from_numpy(arg).to(im.device).long(), taps))
            else:
                outs.append(torch.from_numpy(out).to(im.device))
        else:
            taps = _winning_taps(k, dtype, _range(im.detach()))
            with torch.no_grad():
                out, arg = _dilate_torch(im.detach(), taps, with_arg=need_grad)
            outs.append(_gather_winners(im, arg, taps) if need_grad else out)
    return torch.stack(outs).reshape(shape)


def erode_exact(x: np.ndarray | Tensor, K: np.ndarray | Tensor,
                *, backend: str = "auto") -> np.ndarray | Tensor:
    """Grey-scale erosion ``E(s) = min_u [x(s - u) - K(u)] = -dilate(-x, K reflected)``.

    The Villarrubia surface reconstruction from an image I: ``I (-) K`` is the tightest
    upper bound on the true surface consistent with I (``erode(dilate(S)) >= S``,
    the closing), used as the AFM restoration baseline.
    """
    k = _as_kernel(K)[::-1, ::-1]
    return -dilate_exact(-x, np.ascontiguousarray(k), backend=backend)


def morphological_gradient_eq12(x: np.ndarray | Tensor, K: np.ndarray | Tensor,
                                ) -> np.ndarray | Tensor:
    """The paper's eq. 12, ``x (+) K - x (-) K``: the morphological gradient (an edge map).

    Offered only as the paper's named variant; the AFM imaging model is the dilation.
    """
    return dilate_exact(x, K) - erode_exact(x, K)


# ---------------------------------------------------------------- soft dilation


class _SoftDilation(torch.autograd.Function):
    """Bias-corrected log-sum-exp dilation; O(1) memory in the number of taps."""

    @staticmethod
    def forward(ctx, x, taps, tau, bias, m):  # x: (N, H, W); m: exact dilation
        dy, dx, kv, ry, rx = taps
        h, w = x.shape[-2:]
        xp = _pad_torch(x, ry, rx)
        kt = torch.as_tensor(kv, device=x.device)
        s = torch.zeros_like(x)
        for t in range(kv.size):
            y0, x0 = ry + int(dy[t]), rx + int(dx[t])
            s += torch.exp(tau * (xp[..., y0:y0 + h, x0:x0 + w] + kt[t] - m))
        ctx.save_for_backward(x, m, s)
        ctx.taps, ctx.tau = taps, tau
        return m + torch.log(s) / tau - bias

    @staticmethod
    def backward(ctx, g):
        x, m, s = ctx.saved_tensors
        dy, dx, kv, ry, rx = ctx.taps
        tau = ctx.tau
        h, w = x.shape[-2:]
        xp = _pad_torch(x, ry, rx)
        kt = torch.as_tensor(kv, device=x.device)
        gs = g / s
        gp = torch.zeros_like(xp)
        for t in range(kv.size):
            y0, x0 = ry + int(dy[t]), rx + int(dx[t])
            wt = torch.exp(tau * (xp[..., y0:y0 + h, x0:x0 + w] + kt[t] - m))
            gp[..., y0:y0 + h, x0:x0 + w] += gs * wt
        ri = torch.as_tensor(_reflect_index(h, ry), device=x.device)
        ci = torch.as_tensor(_reflect_index(w, rx), device=x.device)
        gr = torch.zeros(*x.shape[:-2], h, gp.shape[-1], dtype=x.dtype, device=x.device)
        gr.index_add_(-2, ri, gp)
        gx = torch.zeros_like(x)
        gx.index_add_(-1, ci, gr)
        return gx, None, None, None, None


def soft_dilation_bias(K: np.ndarray, tau: float) -> float:
    """``(1/tau) log sum_u exp(tau (K(u) - max K))``: the soft dilation's value on a flat
    surface minus the exact one; subtracted by :func:`dilate_soft` (0 <= bias <= log N / tau).
    """
    k = _as_kernel(K)
    kf = k[np.isfinite(k)]
    z = tau * (kf - kf.max())
    return float(np.log(np.exp(z).sum()) / tau)


def dilate_soft(x: np.ndarray | Tensor, K: np.ndarray | Tensor,
                tau: float = SOFT_TAU_DEFAULT) -> np.ndarray | Tensor:
    """Differentiable soft dilation (the PCSD paper's eq. 13) with its bias removed.

    ``soft(s) = (1/tau) log sum_u exp(tau (x(s+u) + K(u))) - b(K, tau)``, computed
    max-shifted (``m = exact dilation``; ``m + (1/tau) log sum exp(tau (v - m))``, no
    overflow) with ``b = (1/tau) log sum_u exp(tau (K(u) - max K))``.

    Why this b: the log-sum-exp over N taps lies in ``[max, max + log N / tau]``; for a
    tip most taps sit far below the apex, so subtracting the worst case ``log N / tau``
    overcorrects. b is the exact excess on a flat surface, so flat surfaces are
    preserved exactly, ``|soft - exact| <= max(b, log N / tau - b)``, and soft -> exact
    as tau -> inf. ``tau`` is in 1 / image unit (image values in [0, 1]); default 100.
    Taps whose weight is below e^-50 of the apex's are skipped (below float64 eps).
    """
    if not tau > 0:
        raise ValueError(f"tau = {tau} must be > 0")
    if not isinstance(x, Tensor):
        return dilate_soft(torch.from_numpy(np.asarray(x)), K, tau).numpy()
    k = _as_kernel(K)
    dtype = np.float32 if x.dtype == torch.float32 else np.float64
    kmax = float(np.max(k[np.isfinite(k)]))
    taps = _taps(k, dtype, keep_above=kmax - _range(x.detach()) - _SOFT_CUTOFF / tau)
    shape = x.shape
    xf = x.reshape(-1, *shape[-2:])
    with torch.no_grad():
        m = dilate_exact(xf.detach(), k)
    out = _SoftDilation.apply(xf, taps, float(tau), soft_dilation_bias(k, tau), m)
    return out.reshape(shape)


# ---------------------------------------------------------------- operator


def forward_afm(x: Tensor, params: Mapping[str, Tensor | float], mode: str = "exact",
                tau: float = SOFT_TAU_DEFAULT) -> Tensor:
    """AFM image of height maps (B, 1, H, W): each image dilated by its own tip.

    ``mode``: "exact" (the imaging model), "soft" (differentiable log-sum-exp, ``tau``)
    or "eq12" (the paper's morphological gradient, not an AFM image).
    """
    b, _, _ = check_image(x)
    ops = {"exact": dilate_exact, "soft": lambda im, k: dilate_soft(im, k, tau),
           "eq12": morphological_gradient_eq12}
    if mode not in ops:
        raise ValueError(f"afm_mode = {mode!r}; allowed: {sorted(ops)}")
    cols = {k: param_array(params, k, b, "AFM") for k in AFM_KEYS}
    outs = []
    for i in range(b):
        k = tip_kernel(cols["tip_radius_nm"][i], cols["tip_half_angle_deg"][i],
                       cols["pixel_size_nm"][i], cols["height_scale_nm"][i])
        outs.append(ops[mode](x[i:i + 1], k))
    return torch.cat(outs)


class AFMOperator(Operator):
    """AFM tip dilation (:func:`forward_afm`): not linear, so no transfer function."""

    name = "AFM"
    options = ("afm_mode", "tau")
    # (its inverse is erode_exact: the Villarrubia reconstruction, model tip_erosion)
    nonlinear_reason = "AFM tip dilation is a non-linear (morphological) operator: it has no OTF"
    blur_label = "tip reach at half height (px)"

    def A(self, x: Tensor, params: Mapping[str, Tensor | float], *,
          seeds: Tensor | None = None, afm_mode: str = "exact",
          tau: float = SOFT_TAU_DEFAULT) -> Tensor:
        return forward_afm(x, params, afm_mode, tau)

    def blur_px(self, params: Mapping[str, float], image_size: int) -> float:
        """The tip's footprint radius at half the height range, in pixels."""
        reach = tip_footprint_radius_nm(float(params["tip_radius_nm"]),
                                        float(params["tip_half_angle_deg"]),
                                        0.5 * float(params["height_scale_nm"]))
        return reach / float(params["pixel_size_nm"])
