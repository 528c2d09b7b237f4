"""No-reference measures: PIQE and BRISQUE (batched torch re-implementations), the noise level
(MAD) and the artefact reduction score.

Both are natural-image scores (the PDA-Net paper Table II uses them for experimental images without
ground truth); lower is better for both. Inputs ``(B, 1, H, W)`` grey images, finite.

* :func:`piqe` — Venkatanath et al. 2015, exactly as ``pypiqe`` 1.2 (the Python port of
  MATLAB's ``piqe``): image scaled to ``round(255 · x / max(x))``, symmetric-padded to a
  multiple of 16, MSCN with a 7×7 Gaussian (σ = 7/6, replicated border), 16×16 blocks; score in
  [0, 100]. No trained model. Undefined (NaN) if the image maximum is ≤ 0.
* :func:`brisque` — Mittal et al. 2012, exactly as the ``brisque`` 0.2.0 package computes it
  (its 36 features: AGGD fits of the MSCN map and its four pairwise products at full and
  half resolution, half resolution by OpenCV's bicubic ``resize``) and scored with the
  package's own shipped SVR model (``brisque/models/svm.txt``, ``normalize.pickle``,
  RBF ε-SVR evaluated here in torch). Images are taken as grey in [0, 1] (the package's
  MSCN constant is 1/255). The package's model differs from MATLAB's ``brisque``:
  scores are comparable to that package, not to MATLAB numbers. If the package (its model
  files) is absent, BRISQUE is unavailable, never approximated.

The reference packages are per-image NumPy/OpenCV loops; these give the same numbers
(tests) on a whole batch at once (``benchmarks/bench_metrics.py``).

Measures for real micrographs without ground truth (``docs/metrics.md``), also per image:

* :func:`noise_sigma_mad` — Donoho & Johnstone's noise estimate, ``median(|HH1|) / 0.6745``
  on the finest diagonal Haar wavelet band (hand-written Haar step, same numbers as
  PyWavelets' ``dwt2(..., "haar")``).
* :func:`artifact_reduction` — ``1 - sigma_out / sigma_in`` from :func:`noise_sigma_mad`, our
  definition of the PCSD paper's "Artifact Reduction Score" (§4.3.2 names it without a
  formula). The one-image FRC is :func:`simart.metrics.fourier.single_image_frc`.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import pickle
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from simart.metrics._checks import (
    MetricUnavailable,
    check_batch,
    check_min_size,
    check_pair,
    safe_div,
    separable_filter_valid,
)

PIQE_BLOCK = 16
BRISQUE_MIN_SIZE = 32
_GAUSS_SIGMA = 7 / 6
_CUBIC_HALF = (-0.09375, 0.59375, 0.59375, -0.09375)  # OpenCV cubic (A = -0.75) at t = 0.5


def _gauss1d(dtype: torch.dtype, device: torch.device) -> Tensor:
    r = torch.arange(7, dtype=torch.float64) - 3
    g = torch.exp(-(r**2) / (2 * _GAUSS_SIGMA**2))
    return (g / g.sum()).to(dtype=dtype, device=device)


def _blur7(a: Tensor, pad_mode: str) -> Tensor:
    """Separable 7×7 Gaussian (σ = 7/6), output the size of ``a``; border 'replicate' or zeros."""
    g = _gauss1d(a.dtype, a.device)
    if pad_mode == "zeros":
        a = F.pad(a, (3, 3, 3, 3))
    else:
        a = F.pad(a, (3, 3, 3, 3), mode=pad_mode)
    return separable_filter_valid(a, g)


# ------------------------------------------------------------------------------------ PIQE
def _pad_symmetric(x: Tensor, ph: int, pw: int) -> Tensor:
    """NumPy ``mode='symmetric'`` padding at the bottom / right (edge pixel repeated)."""
    if ph:
        x = torch.cat([x, x[..., x.shape[-2] - ph:, :].flip(-2)], dim=-2)
    if pw:
        x = torch.cat([x, x[..., x.shape[-1] - pw:].flip(-1)], dim=-1)
    return x


def _std1(a: Tensor, dim: int | tuple[int, ...]) -> Tensor:
    return a.var(dim=dim, correction=1).sqrt()


def piqe(x: Tensor) -> Tensor:
    """PIQE score per image in [0, 100] (lower = better); see the module docstring."""
    check_batch(x, "x")
    check_min_size(x, PIQE_BLOCK, "PIQE")
    b, _, h, w = x.shape
    x = _pad_symmetric(x, (-h) % PIQE_BLOCK, (-w) % PIQE_BLOCK)
    peak = x.flatten(1).amax(1)
    img = torch.round(255 * (x / peak.view(-1, 1, 1, 1)))
    mu = _blur7(img, "replicate")
    sigma = (_blur7(img * img, "replicate") - mu * mu).abs().sqrt()
    norm = (img - mu) / (sigma + 1)
    n = PIQE_BLOCK
    blocks = norm[:, 0].unfold(1, n, n).unfold(2, n, n).reshape(b, -1, n, n)  # (B, K, 16, 16)
    var = blocks.var(dim=(2, 3), correction=1)
    active = var > 0.1
    # noticeable-artifact criterion: a 6-px segment of a block edge with std < 0.1
    edges = torch.stack([blocks[..., 0, :], blocks[..., :, n - 1],
                         blocks[..., n - 1, :], blocks[..., :, 0]], dim=2)  # (B, K, 4, 16)
    seg_std = _std1(edges.unfold(-1, 6, 1), dim=-1)  # (B, K, 4, 11)
    impaired = (seg_std < 0.1).flatten(2).any(dim=2)
    # noise criterion: centre columns 7, 8 vs the block without columns 7 and 9 (as pypiqe)
    blk_sigma = var.sqrt()
    center = blocks[..., :, 7:9]
    keep = [c for c in range(n) if c not in (7, 9)]
    surround = blocks[..., :, keep]
    cen_sur = _std1(center, dim=(2, 3)) / _std1(surround, dim=(2, 3))
    cen_sur = torch.nan_to_num(cen_sur, nan=0.0, posinf=math.inf)
    beta = (blk_sigma - cen_sur).abs() / torch.maximum(blk_sigma, cen_sur)
    noisy = blk_sigma > 2 * beta
    dist = (active & impaired) * (1 - var) + (active & noisy) * var
    score = (dist.sum(1) + 1) / (1 + active.sum(1)) * 100
    return torch.where(peak > 0, score, torch.full_like(score, float("nan")))


# ------------------------------------------------------------------------- noise level (MAD)
MAD_NORMAL = 0.6745  # median |N(0, 1)| = Φ⁻¹(3/4) (0.67449); Donoho & Johnstone's constant
MAD_MIN_SIZE = 8


def _median_last(a: Tensor) -> Tensor:
    """Median over the last dim, the mean of the two middle values for an even count (as
    ``numpy.median``; ``torch.median`` returns the lower one)."""
    n = a.shape[-1]
    lo = torch.kthvalue(a, (n + 1) // 2, dim=-1).values
    if n % 2:
        return lo
    return 0.5 * (lo + torch.kthvalue(a, n // 2 + 1, dim=-1).values)


def haar_diagonal(x: Tensor) -> Tensor:
    """Finest diagonal (HH) band of the orthonormal 2-D Haar transform, ``(B, H//2, W//2)``:
    ``(a - b - c + d) / 2`` for each 2×2 block ``[[a, b], [c, d]]`` (an odd last row/column
    is left out). White noise of standard deviation σ gives HH coefficients of σ."""
    h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    v = x[:, 0, :h, :w]
    return 0.5 * (v[:, 0::2, 0::2] - v[:, 0::2, 1::2] - v[:, 1::2, 0::2] + v[:, 1::2, 1::2])


def noise_sigma_mad(x: Tensor) -> Tensor:
    """Noise standard deviation per image, ``(B,)``, in the image's units: ``median(|HH1|) /
    0.6745`` (Donoho & Johnstone 1994, Biometrika 81:425; Donoho 1995, IEEE Trans Inf Theory
    41:613), HH1 the finest diagonal Haar band (:func:`haar_diagonal`).

    Assumes additive noise independent between pixels and a signal with little power in the
    finest diagonal detail: texture or a lattice with a period near 2 px along the diagonals
    is counted as noise (overestimate); noise correlated between neighbouring pixels (a
    filtered or restored image) is partly missed (underestimate). Signal-dependent noise
    (Poisson) gives a median over the image. 0 for a constant image.
    """
    check_batch(x, "x")
    check_min_size(x, MAD_MIN_SIZE, "the noise estimate (MAD)")
    return _median_last(haar_diagonal(x).abs().flatten(1)) / MAD_NORMAL


def artifact_reduction(x_in: Tensor, x_out: Tensor) -> Tensor:
    """Artefact reduction score per image, ``(B,)``: ``1 - sigma_out / sigma_in`` with both
    sigmas from :func:`noise_sigma_mad` — our definition (the PCSD paper §4.3.2 lists an
    "Artifact Reduction Score" without a formula); it measures the noise part of the artefacts.

    ``x_in``: the degraded input, ``x_out``: its restoration, same shape. 1 = no noise left at
    the finest scale, 0 = as noisy as the input, < 0 = noisier. It rewards smoothing as
    such (a blurred image scores high): read it beside a resolution measure
    (:func:`simart.metrics.fourier.single_image_frc`). NaN where ``sigma_in`` is 0.
    """
    check_pair(x_out, x_in)
    s_in, s_out = noise_sigma_mad(x_in), noise_sigma_mad(x_out)
    return 1 - safe_div(s_out, s_in)


# ------------------------------------------------------------------------------------ BRISQUE
def _model_dir() -> Path:
    spec = importlib.util.find_spec("brisque")
    if spec is None or not spec.submodule_search_locations:
        raise MetricUnavailable("BRISQUE model not found: the brisque==0.2.0 package, which "
                                "ships it (brisque/models/svm.txt), is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@functools.lru_cache(maxsize=1)
def _load_svr(model_dir: str) -> tuple[Tensor, Tensor, float, float, Tensor, Tensor]:
    """Parse the libsvm ε-SVR text model and the feature scaling of the brisque package."""
    svm_path, norm_path = Path(model_dir) / "svm.txt", Path(model_dir) / "normalize.pickle"
    if not svm_path.is_file() or not norm_path.is_file():
        raise MetricUnavailable(f"BRISQUE model files not found in {model_dir}")
    header: dict[str, str] = {}
    coefs, svs = [], []
    lines = svm_path.read_text().splitlines()
    i = 0
    while lines[i].strip() != "SV":
        key, _, value = lines[i].partition(" ")
        header[key] = value
        i += 1
    for line in lines[i + 1:]:
        parts = line.split()
        if not parts:
            continue
        coefs.append(float(parts[0]))
        row = [0.0] * 36
        for item in parts[1:]:
            k, v = item.split(":")
            row[int(k) - 1] = float(v)
        svs.append(row)
    if header.get("svm_type") != "epsilon_svr" or header.get("kernel_type") != "rbf":
        raise MetricUnavailable(f"BRISQUE model {svm_path}: expected an RBF epsilon-SVR")
    with open(norm_path, "rb") as f:
        scale = pickle.load(f)
    return (torch.tensor(svs, dtype=torch.float64), torch.tensor(coefs, dtype=torch.float64),
            float(header["gamma"]), float(header["rho"]),
            torch.tensor(scale["min_"], dtype=torch.float64),
            torch.tensor(scale["max_"], dtype=torch.float64))


@functools.lru_cache(maxsize=8)
def _alpha_grid(dtype: torch.dtype, device: str) -> tuple[Tensor, Tensor]:
    """log α on [1e-2, 1e2] (4097 points) and log φ(α) there (increasing)."""
    u = torch.linspace(math.log(1e-2), math.log(1e2), 4097, dtype=torch.float64)
    return u.to(dtype=dtype, device=device), _log_phi(torch.exp(u)).to(dtype=dtype, device=device)


def _log_phi(alpha: Tensor) -> Tensor:
    """log φ(α) = 2 lnΓ(2/α) − lnΓ(1/α) − lnΓ(3/α); φ increases from 0 to 3/4."""
    return 2 * torch.lgamma(2 / alpha) - torch.lgamma(1 / alpha) - torch.lgamma(3 / alpha)


def _solve_alpha(target: Tensor, newton: int = 4) -> Tensor:
    """α with φ(α) = target (any shape): table lookup, then Newton steps on log φ.

    The package solves the same equation with ``scipy.optimize.root`` from α = 0.2; the
    root is unique (φ is monotone), so both find it, ours to machine precision. Targets
    outside φ's range give the bound of the table (1e-2 or 1e2).
    """
    u, lp = _alpha_grid(target.dtype, str(target.device))
    lt = torch.log(target)
    j = torch.searchsorted(lp, lt.contiguous()).clamp(1, len(u) - 1)
    frac = ((lt - lp[j - 1]) / (lp[j] - lp[j - 1])).clamp(0, 1)
    alpha = torch.exp(u[j - 1] + frac * (u[j] - u[j - 1]))
    inside = (lt > lp[0]) & (lt < lp[-1])
    for _ in range(newton):
        deriv = -(4 * torch.digamma(2 / alpha) - torch.digamma(1 / alpha)
                  - 3 * torch.digamma(3 / alpha)) / alpha**2
        step = torch.where(inside, (_log_phi(alpha) - lt) / deriv, torch.zeros_like(alpha))
        alpha = (alpha - step).clamp(1e-2, 1e2)
    return alpha


def _aggd_moments(m: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """r̂ (the package's (mean|x|)²/mean x²), mean x² of x < 0, mean x² of x >= 0; (B,).

    Few passes: with c = min(x, 0), Σ|x| = Σx − 2Σc, Σ_{x<0} x² = c·c, #(x<0) = #(c ≠ 0).
    """
    flat = m.flatten(1)
    size = flat.shape[1]
    c = flat.clamp(max=0)
    total_sq = torch.linalg.vecdot(flat, flat)
    left_sq = torch.linalg.vecdot(c, c)
    n_neg = torch.count_nonzero(c, dim=1)
    abs_sum = flat.sum(1) - 2 * c.sum(1)
    r_hat = (abs_sum / size) ** 2 / (total_sq / size)
    return r_hat, left_sq / n_neg, (total_sq - left_sq) / (size - n_neg)


def _aggd_features(r_hat: Tensor, left: Tensor, right: Tensor, first: int) -> Tensor:
    """The package's AGGD fit from the moments, all maps at once: (B, M) -> (B, 2 + 4(M-1)).

    Column ``first`` of every 5 is an MSCN map (features α, (σl² + σr²)/2); the others are
    pairwise products (α, mean, σl², σr²).
    """
    gamma = left.sqrt() / right.sqrt()
    big_r = r_hat * ((gamma**3 + 1) * (gamma + 1)) / (gamma**2 + 1) ** 2
    alpha = _solve_alpha(big_r)
    sigma_l, sigma_r = left.sqrt(), right.sqrt()
    const = torch.sqrt(torch.exp(torch.lgamma(1 / alpha) - torch.lgamma(3 / alpha)))
    mean = (sigma_r - sigma_l) * const * torch.exp(torch.lgamma(2 / alpha) - torch.lgamma(1 / alpha))
    cols = []
    for j in range(alpha.shape[1]):
        if j % 5 == first:
            cols += [alpha[:, j], (sigma_l[:, j] ** 2 + sigma_r[:, j] ** 2) / 2]
        else:
            cols += [alpha[:, j], mean[:, j], sigma_l[:, j] ** 2, sigma_r[:, j] ** 2]
    return torch.stack(cols, dim=1)


def _brisque_scale_moments(img: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """AGGD moments of the MSCN map and its 4 pairwise products, each (B, 5)."""
    mu = _blur7(img, "zeros")
    sigma = (mu**2 - _blur7(img * img, "zeros")).abs().sqrt()
    m = ((img - mu) / (sigma + 1 / 255))[:, 0]
    maps = [m, m[:, :, :-1] * m[:, :, 1:], m[:, :-1, :] * m[:, 1:, :],
            m[:, :-1, :-1] * m[:, 1:, 1:], m[:, 1:, :-1] * m[:, :-1, 1:]]
    moments = [_aggd_moments(c) for c in maps]
    return tuple(torch.stack([mo[i] for mo in moments], dim=1) for i in range(3))


def _half_bicubic(img: Tensor) -> Tensor:
    """``cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)``, batched."""
    w = torch.tensor(_CUBIC_HALF, dtype=img.dtype, device=img.device)

    def along(a: Tensor, dim: int) -> Tensor:
        n = a.shape[dim]
        n_out = round(n / 2)  # OpenCV's cvRound(n * 0.5), half to even
        idx = (torch.arange(n_out, device=a.device)[:, None] * 2
               + torch.arange(-1, 3, device=a.device)[None, :]).clamp(0, n - 1)
        taken = a.index_select(dim, idx.flatten())
        shape = list(a.shape)
        shape[dim:dim + 1] = [n_out, 4]
        taken = taken.reshape(shape)
        return (taken * w.view([4] + [1] * (a.ndim - dim - 1))).sum(dim + 1)

    return along(along(img, 2), 3)


def brisque_features(x: Tensor) -> Tensor:
    """The 36 BRISQUE features per image (full and half resolution), ``(B, 36)``."""
    full = _brisque_scale_moments(x)
    half = _brisque_scale_moments(_half_bicubic(x))
    both = [torch.cat([a, b], dim=1) for a, b in zip(full, half, strict=True)]  # (B, 10)
    return _aggd_features(*both, first=0)


def brisque(x: Tensor) -> Tensor:
    """BRISQUE score per image (lower = better), the brisque 0.2.0 package's model."""
    check_batch(x, "x")
    check_min_size(x, BRISQUE_MIN_SIZE, "BRISQUE")
    svs, coefs, gamma, rho, lo, hi = (
        t.to(x.device) if isinstance(t, Tensor) else t for t in _load_svr(str(_model_dir())))
    feats = brisque_features(x.to(torch.float64))
    scaled = -1 + (2.0 / (hi - lo) * (feats - lo))
    d2 = (scaled[:, None, :] - svs[None]).pow(2).sum(-1)  # (B, n_sv)
    score = (coefs * torch.exp(-gamma * d2)).sum(1) - rho
    return score.to(x.dtype)
