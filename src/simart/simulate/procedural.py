"""Procedural clean specimens: no network, NumPy/SciPy only, deterministic from a generator.

Each kind imitates a specimen one of the SIMART modalities images:

* ``terraces``  AFM: vicinal surface, meandering monatomic steps, islands/pits.
* ``fractal``   AFM: Gaussian rough surface with power spectral density ~ 1/f^beta.
* ``grains``    SEM: Voronoi polycrystal, per-grain channelling contrast, twins, grooves.
* ``particles`` SEM: nanoparticles (shaded ellipses, edge brightening) on a substrate.
* ``filaments`` fluorescence: worm-like-chain fibres rendered with a Gaussian width.
* ``blobs``     fluorescence: cells (cytoplasm + nucleus) or vesicles (bright membrane).
* ``lattice``   STEM/TEM: 2D Bravais lattice, random basis, Gaussian atom columns, vacancies.

All lengths are in pixels and spatial frequencies in cycles/px; intensities are arbitrary
before the final min-max normalisation. Images are float32 ``(size, size)`` in [0, 1].
Every random number comes from the ``np.random.Generator`` passed in (no global state),
so the same generator state gives a bit-identical image. Each kind also reports the
scalars it drew (``procedural_image_and_params``), e.g. the lattice vectors, so tests and
tables can check the image against them. About 5-25 ms per 512x512 image on one core.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import scipy.fft as sfft
from scipy import ndimage as ndi

from simart.specs.sources import PROCEDURAL_KINDS

MIN_SIZE = 16  # smallest image side (px) the generators support
_SPAN_EPS = 1e-12  # guard of the min-max normalisation against a constant image

Params = dict[str, float | int | str]


# --------------------------------------------------------------------------- helpers


def normalise(img: np.ndarray) -> np.ndarray:
    """Min-max normalise to float32 in [0, 1]; a constant image becomes all zeros."""
    img = np.asarray(img, dtype=np.float32)
    lo = img.min()
    span = img.max() - lo  # float32, so the maximum maps to exactly 1
    if not span > _SPAN_EPS:
        return np.zeros(img.shape, np.float32)
    out = (img - lo) / span
    return np.clip(out, 0.0, 1.0, out=out)


@lru_cache(maxsize=16)
def _freqs(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Frequency grids (cycles/px) of an rfft2 of an (h, w) image: ky (h, 1), kx (1, w//2+1)."""
    ky = sfft.fftfreq(h).astype(np.float32)[:, None]
    kx = sfft.rfftfreq(w).astype(np.float32)[None, :]
    ky.setflags(write=False)
    kx.setflags(write=False)
    return ky, kx


@lru_cache(maxsize=16)
def _coords(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (px) as broadcastable float32 arrays yy (size, 1), xx (1, size)."""
    c = np.arange(size, dtype=np.float32)
    yy, xx = c[:, None].copy(), c[None, :].copy()
    yy.setflags(write=False)
    xx.setflags(write=False)
    return yy, xx


def gaussian_field(
    size: int,
    beta: float,
    rng: np.random.Generator,
    *,
    k0: float = 0.0,
    anisotropy: float = 1.0,
    angle: float = 0.0,
    kmax: float = 0.5,
) -> np.ndarray:
    """Zero-mean, unit-std periodic Gaussian random field, float32 (size, size).

    Power spectral density ``S(k) ~ (k^2 + k0^2)^(-beta/2)`` with ``k`` in cycles/px
    (2D PSD exponent ``beta``; Hurst exponent ``H = (beta - 2)/2`` for a rough surface).
    ``k0`` (cycles/px) rolls the spectrum off below ~``k0`` (correlation length
    ~``1/(2 pi k0)`` px). ``anisotropy`` > 1 stretches features by that ratio along
    ``angle`` (rad). The DC term is zero. Frequencies with ``|kx|`` or ``|ky|`` above
    ``kmax`` (cycles/px) are left out: a smooth field needs only a small block of the
    spectrum, which makes it several times cheaper.
    """
    nk = min(size // 2, int(np.ceil(kmax * size)))
    ky, kx = _freqs(size, size)
    rows = np.r_[0:nk + 1, size - nk:size] if 2 * nk + 1 < size else np.arange(size)
    kyb, kxb = ky[rows], kx[:, :nk + 1]
    if anisotropy != 1.0:
        c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
        a = np.float32(anisotropy)
        k2 = (kxb * c + kyb * s) ** 2 * a + (kyb * c - kxb * s) ** 2 / a
    else:
        k2 = kxb * kxb + kyb * kyb
    k2 = k2 + np.float32(k0 * k0)
    k2[0, 0] = np.inf
    amp = k2 ** np.float32(-beta / 4.0)
    phase = rng.random(amp.shape, dtype=np.float32) * np.float32(2.0 * np.pi)
    block = np.empty(amp.shape, np.complex64)  # random phases, exact amplitude spectrum
    np.multiply(amp, np.cos(phase), out=block.real)
    np.multiply(amp, np.sin(phase), out=block.imag)
    if nk == size // 2 and len(rows) == size:  # full band: one 2D inverse transform
        field = sfft.irfft2(block, s=(size, size))
    else:  # band-limited: inverse along y on the few columns, then along x
        cols = np.zeros((size, nk + 1), np.complex64)
        cols[rows] = block
        field = sfft.irfft(sfft.ifft(cols, axis=0), n=size, axis=1)
    field = field.astype(np.float32, copy=False)
    field /= max(float(field.std()), _SPAN_EPS)
    return field


def _splat(shape: tuple[int, int], y: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Bilinear splat of point weights ``w`` at (y, x) px onto a float32 image of ``shape``."""
    h, wd = shape
    y0, x0 = np.floor(y), np.floor(x)
    fy, fx = (y - y0).astype(np.float32), (x - x0).astype(np.float32)
    y0, x0 = y0.astype(np.int64), x0.astype(np.int64)
    idx, wts = [], []
    for dy, dx, wt in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                       (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        yi, xi = y0 + dy, x0 + dx
        ok = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < wd)
        idx.append(yi[ok] * wd + xi[ok])
        wts.append((wt * w)[ok])
    flat = np.bincount(np.concatenate(idx), np.concatenate(wts), minlength=h * wd)
    return flat.reshape(h, wd).astype(np.float32)


def _render_points(
    size: int, y: np.ndarray, x: np.ndarray, w: np.ndarray, groups: np.ndarray,
    sigmas: np.ndarray,
) -> np.ndarray:
    """Sum of Gaussians (std ``sigmas[g]`` px, integral ``w``) at (y, x); float32 (size, size).

    Points are splatted onto a canvas padded by 4 sigma (so nothing wraps around) and each
    group is blurred by its own width in one Fourier-domain sum.
    """
    pad = int(np.ceil(4.0 * float(np.max(sigmas)))) + 2
    n = sfft.next_fast_len(size + 2 * pad, real=True)
    ky, kx = _freqs(n, n)
    k2 = kx * kx + ky * ky
    total = None
    for g, sig in enumerate(sigmas):
        sel = groups == g
        if not np.any(sel):
            continue
        canvas = _splat((n, n), y[sel] + pad, x[sel] + pad, w[sel])
        spec = sfft.rfft2(canvas) * np.exp(np.float32(-2.0 * np.pi ** 2 * sig * sig) * k2)
        total = spec if total is None else total + spec
    if total is None:
        return np.zeros((size, size), np.float32)
    return sfft.irfft2(total, s=(n, n))[pad:pad + size, pad:pad + size]


# --------------------------------------------------------------------------- kinds


def _terraces(size: int, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    """Vicinal surface: height = floor(tilt + meander) in monolayers, plus islands/pits."""
    n_terr = rng.uniform(3.0, max(4.0, min(12.0, size / 12.0)))  # terraces across the image
    width = size / n_terr  # mean terrace width (px)
    theta = rng.uniform(0.0, 2.0 * np.pi)  # direction of the miscut (downhill normal)
    meander = rng.uniform(0.1, 0.35)  # step meander amplitude (terrace widths, 1 std)
    k_m = 1.0 / (width * rng.uniform(1.0, 3.0))  # meander wavelength ~ terrace width
    yy, xx = _coords(size)
    plane = (xx * np.float32(np.cos(theta)) + yy * np.float32(np.sin(theta))) / np.float32(width)
    u = plane + np.float32(meander) * gaussian_field(
        size, rng.uniform(4.0, 5.0), rng, k0=k_m, kmax=8 * k_m)
    height = np.floor(u)
    cover = rng.uniform(0.0, 0.08)  # fraction of area in islands (+1) and pits (-1)
    if cover > 0.005:
        k_i = 1.0 / (rng.uniform(0.15, 0.4) * width)  # island size ~ 0.15-0.4 terrace widths
        f = gaussian_field(size, 4.0, rng, k0=k_i, kmax=8 * k_i)
        thr = np.quantile(f[::4, ::4], 1.0 - cover)
        height += f > thr
        if rng.random() < 0.5:
            height -= f < -thr
    levelling = rng.uniform(0.0, 1.0) if rng.random() < 0.5 else 0.0  # partial plane removal
    height -= np.float32(levelling) * plane
    rough = rng.uniform(0.002, 0.02)  # sub-monolayer roughness (monolayers, 1 std)
    height += np.float32(rough) * gaussian_field(size, 3.0, rng, k0=0.02, kmax=0.25)
    edge = rng.uniform(0.5, 1.2)  # step-edge width (px, Gaussian std)
    height = ndi.gaussian_filter(height.astype(np.float32), edge, mode="nearest")
    return height, {"n_terraces": n_terr, "terrace_width_px": width, "miscut_angle_rad": theta,
                    "meander": meander, "island_cover": cover, "levelling": levelling,
                    "roughness": rough, "edge_sigma_px": edge}


def fractal_surface(
    size: int, beta: float, rng: np.random.Generator, *, anisotropy: float = 1.0,
    angle: float = 0.0, skew: float = 0.0,
) -> np.ndarray:
    """Self-affine rough surface, PSD ~ 1/f^beta (2 < beta < 4), normalised to [0, 1].

    ``skew`` applies ``expm1(skew*h)/skew`` to the unit-std height ``h`` (hills vs pits).
    """
    h = gaussian_field(size, beta, rng, k0=1.0 / size, anisotropy=anisotropy, angle=angle)
    if skew != 0.0:
        h = np.expm1(np.float32(skew) * h) / np.float32(skew)
    return normalise(h)


def _fractal(size: int, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    """Rough AFM surface: random beta, optional anisotropy (polishing) and skewness."""
    beta = rng.uniform(2.4, 3.8)
    aniso = rng.uniform(1.2, 3.0) if rng.random() < 0.4 else 1.0
    angle = rng.uniform(0.0, np.pi)
    skew = rng.uniform(-0.5, 0.5) if rng.random() < 0.5 else 0.0
    img = fractal_surface(size, beta, rng, anisotropy=aniso, angle=angle, skew=skew)
    return img, {"beta": beta, "hurst": (beta - 2.0) / 2.0, "anisotropy": aniso,
                 "anisotropy_angle_rad": angle, "skew": skew}


def _grains(size: int, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    """Polycrystal: warped Voronoi grains, channelling contrast, twins, boundary grooves."""
    diam = size * rng.uniform(0.06, 0.25)  # mean grain diameter (px)
    n = int(np.clip(round((size / diam) ** 2), 4, 400))
    pts = np.unique(rng.integers(0, size, (n, 2)), axis=0)
    n = len(pts)
    marker = np.ones((size, size), bool)
    marker[pts[:, 0], pts[:, 1]] = False
    seed_lab = np.zeros((size, size), np.int32)
    seed_lab[pts[:, 0], pts[:, 1]] = np.arange(n, dtype=np.int32)
    iy, ix = ndi.distance_transform_edt(marker, return_distances=False, return_indices=True)
    lab = seed_lab[iy, ix]
    warp = rng.uniform(0.0, 0.06) * diam  # boundary waviness (px)
    if warp > 0.5:
        yy, xx = _coords(size)
        k0 = 0.5 / diam
        wy = np.rint(yy + warp * gaussian_field(size, 4.0, rng, k0=k0, kmax=8 * k0))
        wx = np.rint(xx + warp * gaussian_field(size, 4.0, rng, k0=k0, kmax=8 * k0))
        wy, wx = wy.astype(np.int32), wx.astype(np.int32)
        lab = lab[np.clip(wy, 0, size - 1), np.clip(wx, 0, size - 1)]
    level = rng.uniform(0.2, 1.0, n).astype(np.float32)  # channelling contrast per grain
    img = level[lab]
    twin_p = rng.uniform(0.0, 0.35)
    twinned = rng.random(n) < twin_p
    if np.any(twinned):
        _add_twin_bands(img, lab, twinned, diam, rng)
    grooves = np.zeros((size, size), bool)
    grooves[1:, :] |= lab[1:, :] != lab[:-1, :]
    grooves[:, 1:] |= lab[:, 1:] != lab[:, :-1]
    contrast = rng.choice([-1.0, 1.0]) * rng.uniform(0.1, 0.5)  # dark grooves or bright edges
    img += np.float32(contrast) * grooves
    blur = rng.uniform(0.6, 1.2)
    img = ndi.gaussian_filter(img, blur, mode="nearest")
    return img, {"grain_diameter_px": diam, "n_grains": n, "boundary_warp_px": warp,
                 "twin_fraction": twin_p, "groove_contrast": contrast, "blur_px": blur}


def _add_twin_bands(
    img: np.ndarray, lab: np.ndarray, twinned: np.ndarray, diam: float, rng: np.random.Generator
) -> None:
    """Add straight parallel annealing-twin bands inside the grains flagged ``twinned``."""
    n = len(twinned)
    phi = rng.uniform(0.0, np.pi, n)  # band normal direction (rad)
    period = diam * rng.uniform(0.2, 0.6, n)  # band repeat (px)
    kx, ky = np.cos(phi) / period, np.sin(phi) / period  # cycles/px
    phase = rng.uniform(0.0, 1.0, n)
    delta = rng.uniform(0.1, 0.35, n) * rng.choice([-1.0, 1.0], n)
    flat = np.flatnonzero(twinned[lab])
    g = lab.ravel()[flat]
    yy, xx = np.divmod(flat, lab.shape[1])
    arg = xx * kx[g] + yy * ky[g] + phase[g]
    img.ravel()[flat] += ((np.sin(2.0 * np.pi * arg) > 0.5) * delta[g]).astype(np.float32)


def _particles(size: int, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    """Nanoparticles: shaded ellipses (SE edge brightening, detector side) on a substrate."""
    r_med = size * rng.uniform(0.012, 0.05)  # median particle radius (px)
    spread = rng.uniform(0.1, 0.45)  # log-normal width of the radius distribution
    cover = rng.uniform(0.05, 0.35)
    n = int(np.clip(cover * size * size / (np.pi * r_med ** 2 * np.exp(2 * spread ** 2)), 3, 250))
    radii = r_med * rng.lognormal(0.0, spread, n)
    centres = _particle_centres(size, n, r_med, rng)
    sub = rng.uniform(0.05, 0.35)
    img = sub + np.float32(rng.uniform(0.02, 0.08)) * gaussian_field(
        size, 3.0, rng, k0=2.0 / size, kmax=0.25)
    light = rng.uniform(0.0, 2.0 * np.pi)  # in-lens vs side detector direction (rad)
    side = rng.uniform(0.0, 0.3)
    for (cy, cx), r in zip(centres, radii, strict=True):
        aspect = rng.uniform(1.0, 1.5)
        _draw_particle(img, cy, cx, r * np.sqrt(aspect), r / np.sqrt(aspect),
                       rng.uniform(0.0, np.pi), rng.uniform(0.55, 1.0), light, side)
    return img, {"radius_median_px": r_med, "radius_log_std": spread, "coverage": cover,
                 "n_particles": n, "substrate_level": sub, "detector_angle_rad": light,
                 "side_detector": side}


def _particle_centres(size: int, n: int, r_med: float, rng: np.random.Generator) -> np.ndarray:
    """Particle centres (px): uniform, or clustered around a few parents (Thomas process)."""
    if rng.random() < 0.6:
        return rng.uniform(0.0, size, (n, 2))
    parents = rng.uniform(0.0, size, (int(rng.integers(2, 8)), 2))
    which = rng.integers(0, len(parents), n)
    return parents[which] + rng.normal(0.0, rng.uniform(2.0, 6.0) * r_med, (n, 2))


def _ellipse_box(size: int, cy: float, cx: float, a: float, margin: float) -> tuple[slice, slice]:
    """Slices of the (clipped) bounding box of radius ``a + margin`` px around (cy, cx)."""
    r = a + margin
    y0, y1 = max(int(cy - r), 0), min(int(cy + r) + 2, size)
    x0, x1 = max(int(cx - r), 0), min(int(cx + r) + 2, size)
    return slice(y0, max(y0, y1)), slice(x0, max(x0, x1))


def _ellipse_coords(
    box: tuple[slice, slice], cy: float, cx: float, a: float, b: float, ang: float
) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in the ellipse frame, in units of its semi-axes (a, b) (px)."""
    yy = np.arange(box[0].start, box[0].stop, dtype=np.float32)[:, None] - np.float32(cy)
    xx = np.arange(box[1].start, box[1].stop, dtype=np.float32)[None, :] - np.float32(cx)
    c, s = np.float32(np.cos(ang)), np.float32(np.sin(ang))
    return (xx * c + yy * s) / np.float32(a), (yy * c - xx * s) / np.float32(b)


def _draw_particle(
    img: np.ndarray, cy: float, cx: float, a: float, b: float, ang: float,
    albedo: float, light: float, side: float,
) -> None:
    """Composite one particle ("over", anti-aliased edge) with SE-like shading in place."""
    box = _ellipse_box(img.shape[0], cy, cx, a, 1.0)
    if box[0].stop <= box[0].start or box[1].stop <= box[1].start:
        return
    u, v = _ellipse_coords(box, cy, cx, a, b, ang)
    r2 = u * u + v * v
    r = np.sqrt(r2)
    mask = np.clip((1.0 - r) * np.float32(b) + 0.5, 0.0, 1.0)
    # SE yield grows towards the rim (tilted surface); a side detector adds directional light.
    du = np.float32(np.cos(light - ang))
    dv = np.float32(np.sin(light - ang))
    shade = 0.55 + 0.35 * np.minimum(r2, 1.0) ** 2 + np.float32(side) * (u * du + v * dv)
    val = np.float32(albedo) * shade
    sub = img[box]
    sub += mask * (val - sub)


def _filaments(size: int, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    """Fluorescent fibres: 2D worm-like chains (persistence length Lp), Gaussian-rendered."""
    n = int(rng.integers(6, 60))
    step = 0.5  # px between chain points
    length = size * rng.uniform(0.3, 1.5, n)  # contour lengths (px)
    lp = size * rng.uniform(0.05, 1.0)  # persistence length (px)
    n_steps = int(np.ceil(length.max() / step))
    start = rng.uniform(-0.25 * size, 1.25 * size, (n, 2))
    theta = rng.uniform(0.0, 2.0 * np.pi, (n, 1)) + np.cumsum(
        rng.normal(0.0, np.sqrt(step / lp), (n, n_steps)), axis=1)
    y = start[:, :1] + step * np.cumsum(np.sin(theta), axis=1)
    x = start[:, 1:] + step * np.cumsum(np.cos(theta), axis=1)
    bright = rng.uniform(0.3, 1.0, (n, 1))
    live = np.arange(n_steps)[None, :] * step < length[:, None]
    width = rng.uniform(0.7, 2.0)  # Gaussian std of a fibre's cross-section (px)
    bundles = rng.random(n) < (rng.uniform(0.1, 0.4) if rng.random() < 0.5 else 0.0)
    groups = np.broadcast_to(bundles[:, None], live.shape).astype(np.int64)
    sigmas = np.array([width, width * rng.uniform(1.8, 3.0)])
    w = np.broadcast_to(bright * step, live.shape) * np.where(bundles[:, None], 2.5, 1.0)
    img = _render_points(size, y[live], x[live], w[live], groups[live], sigmas)
    peak = 1.0 / (np.sqrt(2.0 * np.pi) * width)  # peak of a unit-brightness single fibre
    img = np.tanh(img / np.float32(1.5 * peak))  # detector-like soft saturation at crossings
    haze = rng.uniform(0.0, 0.08)
    img += np.float32(haze) * (1.0 + gaussian_field(size, 3.5, rng, k0=4 / size, kmax=32 / size))
    return img, {"n_filaments": n, "persistence_px": lp, "width_px": width,
                 "bundle_fraction": float(bundles.mean()), "haze": haze}


def _blobs(size: int, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    """Cells (cytoplasm + nucleus) or vesicles (bright membrane), textured, additive."""
    style = "vesicles" if rng.random() < 0.4 else "cells"
    r_med = size * (rng.uniform(0.02, 0.06) if style == "vesicles" else rng.uniform(0.04, 0.12))
    cover = rng.uniform(0.1, 0.5)
    n = int(np.clip(cover * size * size / (np.pi * r_med ** 2 * 1.1), 2, 80))
    img = np.zeros((size, size), np.float32)
    for _ in range(n):
        _draw_blob(img, rng.uniform(0.0, size, 2), r_med * rng.lognormal(0.0, 0.25), style, rng)
    texture = rng.uniform(0.1, 0.4)
    img *= 1.0 + np.float32(texture) * gaussian_field(size, 2.2, rng, k0=0.5 / r_med)
    haze = 1.0 + gaussian_field(size, 3.5, rng, k0=2.0 / size, kmax=16.0 / size)
    img += np.float32(rng.uniform(0.0, 0.05)) * haze
    return img, {"style": style, "radius_median_px": r_med, "coverage": cover, "n_blobs": n,
                 "texture": texture}


def _draw_blob(
    img: np.ndarray, c: np.ndarray, r: float, style: str, rng: np.random.Generator
) -> None:
    """Add one cell / vesicle of mean radius ``r`` px with a wobbly outline to ``img``."""
    aspect = rng.uniform(1.0, 1.6)
    a, b, ang = r * np.sqrt(aspect), r / np.sqrt(aspect), rng.uniform(0.0, np.pi)
    box = _ellipse_box(img.shape[0], c[0], c[1], 1.25 * a, 2.0)
    if box[0].stop <= box[0].start or box[1].stop <= box[1].start:
        return
    u, v = _ellipse_coords(box, c[0], c[1], a, b, ang)
    phi = np.arctan2(v, u)
    wobble = np.ones_like(phi)
    for k, amp in zip((2, 3, 5), rng.uniform(0.0, 0.08, 3), strict=True):
        wobble += np.float32(amp) * np.cos(k * phi + np.float32(rng.uniform(0, 2 * np.pi)))
    rho = np.sqrt(u * u + v * v) / wobble  # 1 on the outline
    edge = np.float32(1.0 / max(b, 1.0))  # ~1 px soft edge in rho units
    inside = 0.5 * (1.0 - np.tanh((rho - 1.0) / edge))
    bright = np.float32(rng.uniform(0.4, 1.0))
    if style == "vesicles":
        ring = np.exp(-(((rho - 1.0) / np.float32(max(0.12, 1.2 / b))) ** 2))
        img[box] += bright * (ring + np.float32(rng.uniform(0.05, 0.3)) * inside)
        return
    nuc = rng.uniform(0.3, 0.55)
    off = rng.uniform(-0.25, 0.25, 2).astype(np.float32)
    rho_n = np.sqrt((u - off[0]) ** 2 + (v - off[1]) ** 2) / np.float32(nuc)
    nucleus = 0.5 * (1.0 - np.tanh((rho_n - 1.0) / (edge / np.float32(nuc))))
    contrast = np.float32(rng.uniform(-0.6, 1.5))  # nucleus darker or brighter than cytoplasm
    img[box] += bright * inside * (1.0 + contrast * nucleus)


def _lattice_vectors(rng: np.random.Generator, a: float) -> tuple[str, np.ndarray]:
    """Primitive vectors (rows, px) of a random 2D Bravais lattice with |a1| = a."""
    kind = str(rng.choice(["square", "rectangular", "hexagonal", "oblique"]))
    b, gamma = a, np.pi / 2
    if kind == "rectangular":
        b = a * rng.uniform(1.15, 1.7)
    elif kind == "hexagonal":
        gamma = 2 * np.pi / 3
    elif kind == "oblique":
        b, gamma = a * rng.uniform(0.9, 1.5), rng.uniform(np.deg2rad(65), np.deg2rad(115))
    rot = rng.uniform(0.0, np.pi)
    vecs = np.array([[a, 0.0], [b * np.cos(gamma), b * np.sin(gamma)]])  # (x, y) components
    c, s = np.cos(rot), np.sin(rot)
    return kind, vecs @ np.array([[c, s], [-s, c]])


def _lattice_basis(rng: np.random.Generator, vecs: np.ndarray) -> np.ndarray:
    """Fractional basis positions (n_b, 2), the first at the origin, >= 0.3 a apart (periodic)."""
    n_b = int(rng.integers(1, 4))
    a_min = min(np.linalg.norm(vecs[0]), np.linalg.norm(vecs[1]))
    basis = [np.zeros(2)]
    shifts = np.array([[i, j] for i in (-1, 0, 1) for j in (-1, 0, 1)], float)
    for _ in range(40 * n_b):
        if len(basis) == n_b:
            break
        f = rng.uniform(0.0, 1.0, 2)
        d = [np.min(np.linalg.norm((f - q + shifts) @ vecs, axis=1)) for q in basis]
        if min(d) >= 0.3 * a_min:
            basis.append(f)
    return np.array(basis)


def _lattice(size: int, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    """Atomic-resolution image: Gaussian columns on a rotated Bravais lattice with a basis."""
    a = max(5.0, size * rng.uniform(0.02, 0.06))  # |a1| (px)
    kind, vecs = _lattice_vectors(rng, a)
    basis = _lattice_basis(rng, vecs)
    z = rng.uniform(0.3, 1.0, len(basis))  # column intensity (Z contrast) per basis site
    sig = np.maximum(a * rng.uniform(0.08, 0.16, len(basis)), 0.6)  # column width (px)
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], float)
    frac = corners @ np.linalg.inv(vecs)
    lo, hi = np.floor(frac.min(0)) - 2, np.ceil(frac.max(0)) + 2
    ii, jj = np.meshgrid(np.arange(lo[0], hi[0]), np.arange(lo[1], hi[1]), indexing="ij")
    cells = np.stack([ii.ravel(), jj.ravel()], 1)
    pos = (cells[:, None, :] + basis[None]) @ vecs  # (n_cells, n_b, 2) as (x, y) px
    species = np.broadcast_to(np.arange(len(basis)), pos.shape[:2]).ravel()
    pos = pos.reshape(-1, 2)
    keep = np.all((pos > -4 * sig.max()) & (pos < size + 4 * sig.max()), axis=1)
    vac = rng.uniform(0.0, 0.03)  # vacancy fraction
    keep &= rng.random(len(pos)) >= vac
    jitter = rng.uniform(0.0, 0.03) * a  # static/thermal displacement (px, 1 std)
    pos = pos[keep] + rng.normal(0.0, jitter, (int(keep.sum()), 2))
    species = species[keep]
    w = (z * 2 * np.pi * sig ** 2)[species]  # Gaussian integral so the peak height is z
    img = _render_points(size, pos[:, 1], pos[:, 0], w, species, sig)
    thick = rng.uniform(0.0, 0.2)  # smooth thickness variation (relative, 1 std)
    img *= 1.0 + np.float32(thick) * gaussian_field(size, 4.0, rng, k0=2 / size, kmax=16 / size)
    img += np.float32(rng.uniform(0.0, 0.1))
    return img, {"lattice": kind, "a1_x_px": float(vecs[0, 0]), "a1_y_px": float(vecs[0, 1]),
                 "a2_x_px": float(vecs[1, 0]), "a2_y_px": float(vecs[1, 1]),
                 "n_basis": len(basis), "vacancy_fraction": vac, "jitter_px": jitter,
                 "thickness_variation": thick}


_GENERATORS: dict[str, Callable[[int, np.random.Generator], tuple[np.ndarray, Params]]] = {
    "terraces": _terraces, "fractal": _fractal, "grains": _grains, "particles": _particles,
    "filaments": _filaments, "blobs": _blobs, "lattice": _lattice}


# --------------------------------------------------------------------------- public API


def procedural_image_and_params(
    kind: str, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, Params]:
    """Procedural specimen of ``kind`` and the scalars drawn for it (lengths in px).

    Returns float32 ``(size, size)`` in [0, 1] (min-max normalised) and a dict of scalars.
    Raises ``ValueError`` for an unknown kind (listing the allowed ones) or a size below
    ``MIN_SIZE``, ``TypeError`` when ``rng`` is not a ``np.random.Generator``.
    """
    if kind not in _GENERATORS:
        raise ValueError(f"unknown procedural kind {kind!r}; allowed: {', '.join(PROCEDURAL_KINDS)}")
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < MIN_SIZE:
        raise ValueError(f"size must be an integer >= {MIN_SIZE} px, got {size!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    img, params = _GENERATORS[kind](int(size), rng)
    return normalise(img), params


def procedural_image(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Procedural specimen of ``kind`` (one of ``PROCEDURAL_KINDS``): float32 (size, size) in [0, 1]."""
    return procedural_image_and_params(kind, size, rng)[0]
