"""Our noise models and blurs against deepinv 0.5.0's (a test extra), float64 on CPU.

Noise, the parameter mapping (ours → deepinv.physics):

* ``add_noise(y, poisson_counts=λ, gaussian_sigma=σ)`` = ``Poisson(λ max(y, 0)) / λ +
  N(0, σ²)`` ↔ ``PoissonGaussianNoise(gain=1/λ, sigma=σ, clip_positive=True)``, which
  computes ``gain · Poisson(x / gain) + σ N(0, 1)``; with σ = 0 ↔ ``PoissonNoise(gain=1/λ,
  normalize=True, clip_positive=True)``. σ is in image units in both. Our clamp of
  negative signal is deepinv's ``clip_positive``; without it deepinv refuses negatives.
* LM ``add_poisson_background(y, photons=p, background=b)`` = ``Poisson(p (y + b)) / p`` ↔
  ``PoissonNoise(gain=1/p)`` applied to ``y + b``.
* deepinv's ``GaussianNoise(sigma=σ)`` has no clamp: our Gaussian read noise is the σ part
  of ``add_noise`` after the (clamped) shot noise.

Both draw the Poisson counts and then the normals from one CPU ``torch.Generator``, so for
a power-of-two λ (``1/λ`` exact, ``λ·y`` and ``y / (1/λ)`` the same float) the same
generator state gives bit-identical images; for other parameters and generators the tests
compare distributions on 200 000 pixels (4 bands of 50 000 at one level each): mean and
variance against each other and against the analytic ``E = max(y, 0)``, ``Var = σ² + E/λ``,
within 5 standard errors (from the analytic 4th central moment); count histograms against
the Poisson pmf, 5 binomial standard errors per count.

Blur: our linear operators convolve the half-sample symmetric extension (numpy
``"symmetric"``, scipy.ndimage ``"reflect"``) — one period of it is ``pad_for_fft(x)``, the
``(2H, 2W)`` image with its mirror images (:mod:`simart.physics.common`). deepinv's
``Blur(padding="circular")`` on that extension, cropped to ``[:H, :W]``, is our operator
exactly; its ``"reflect"`` is the whole-sample reflection (numpy ``"reflect"``, the edge
pixel not repeated) and its ``"replicate"`` repeats the edge: both equal ours only away
from the border.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from simart import physics
from simart.physics.common import pad_for_fft
from simart.physics.lm import lm_transfer
from simart.physics.sem import gaussian_transfer, sem_beam_kernel

dinv = pytest.importorskip("deepinv")  # a test extra (deepinv==0.5.0)
dF = pytest.importorskip("deepinv.physics.functional")
pytestmark = pytest.mark.usefixtures("one_thread")

N_SE = 5.0  # tolerance of every statistical comparison, in standard errors
BAND = (400, 125)  # one level per band: 50 000 pixels, 4 bands = 200 000 pixels


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _f64(v: float) -> torch.Tensor:
    """deepinv turns a python float into a float32 tensor: 1/300 would be rounded."""
    return torch.tensor(v, dtype=torch.float64)


def _bands(levels: tuple[float, ...]) -> torch.Tensor:
    """(1, 1, 400, 125 · len(levels)) float64: constant bands, one per level."""
    return torch.cat([torch.full((1, 1, *BAND), v, dtype=torch.float64) for v in levels], -1)


def _band(img: torch.Tensor, i: int) -> np.ndarray:
    return img[0, 0, :, i * BAND[1]:(i + 1) * BAND[1]].numpy().ravel()


def _moments(level: float, lam: float, sigma: float) -> tuple[float, float, float]:
    """Mean, variance and 4th central moment of ``Poisson(λ max(y, 0)) / λ + N(0, σ²)``.

    Counts ``K ~ Poisson(m)``, ``m = λ max(y, 0)``: central moments ``m`` and ``m + 3m²``;
    for the sum of independent zero-mean parts ``μ4 = μ4_P + 6 v_P v_G + μ4_G``."""
    m = lam * max(level, 0.0)
    v_p, v_g = m / lam**2, sigma**2
    mu4 = (m + 3 * m * m) / lam**4 + 6 * v_p * v_g + 3 * v_g**2
    return max(level, 0.0), v_p + v_g, mu4


def _assert_moments(samples: dict[str, torch.Tensor], levels: tuple[float, ...], lam: float,
                    sigma: float) -> None:
    """Per band: each sample's mean and variance against the analytic ones, and the two
    samples against each other, within N_SE standard errors (SE of the variance from μ4)."""
    (name_a, a), (name_b, b) = samples.items()
    for i, level in enumerate(levels):
        mean, var, mu4 = _moments(level, lam, sigma)
        pa, pb = _band(a, i), _band(b, i)
        n = pa.size
        se_mean, se_var = np.sqrt(var / n), np.sqrt((mu4 - var**2) / n)
        for name, p in ((name_a, pa), (name_b, pb)):
            where = f"{name}, level {level}, λ {lam}, σ {sigma}"
            assert abs(p.mean() - mean) <= N_SE * se_mean, where
            assert abs(p.var() - var) <= N_SE * se_var, where
        where = f"{name_a} vs {name_b}, level {level}"
        assert abs(pa.mean() - pb.mean()) <= N_SE * np.sqrt(2) * se_mean, where
        assert abs(pa.var() - pb.var()) <= N_SE * np.sqrt(2) * se_var, where


# ---------------------------------------------------------------------------- noise
@pytest.mark.parametrize(("lam", "sigma"), [(256.0, 0.05), (1024.0, 0.2), (0.125, 0.0)])
def test_same_generator_state_gives_bit_identical_poisson_gaussian_noise(lam, sigma):
    """gain = 1/λ exactly (power of two): the same Poisson rates, the same draws in the
    same order (counts, then normals), so ``add_noise`` and ``PoissonGaussianNoise`` give
    the same image bit for bit, negative pixels (clamped to 0 by both) included."""
    y = torch.rand(2, 1, 40, 36, dtype=torch.float64, generator=_gen(0))
    y[:, :, :4] -= 0.5  # some negative signal
    ours = physics.add_noise(y, lam, sigma, _gen(3))
    pg = dinv.physics.PoissonGaussianNoise(gain=_f64(1 / lam), sigma=_f64(sigma),
                                           clip_positive=True, rng=_gen(3))
    assert torch.equal(ours, pg(y))
    if sigma == 0.0:
        pois = dinv.physics.PoissonNoise(gain=_f64(1 / lam), normalize=True,
                                         clip_positive=True, rng=_gen(3))
        assert torch.equal(ours, pois(y))
    with pytest.raises(ValueError, match="non-negative"):  # deepinv refuses, we clamp
        dinv.physics.PoissonGaussianNoise(gain=_f64(1 / lam), sigma=_f64(sigma))(y)


def test_lm_poisson_background_is_deepinv_poisson_of_signal_plus_background():
    """``Poisson(p (y + b)) / p`` per image with its own generator = ``PoissonNoise(gain=1/p)``
    on ``y + b`` with that generator (p = 64, b = 1/16: exact in binary)."""
    y = torch.rand(2, 1, 32, 24, dtype=torch.float64, generator=_gen(1))
    ours = physics.add_poisson_background(y, 64.0, 0.0625, [_gen(5), _gen(6)])
    for i, seed in enumerate((5, 6)):
        pois = dinv.physics.PoissonNoise(gain=_f64(1 / 64), normalize=True, rng=_gen(seed))
        assert torch.equal(ours[i:i + 1], pois(y[i:i + 1] + 0.0625)), i


def test_poisson_gaussian_moments_agree_with_deepinv_and_the_analytic_ones():
    """λ = 300, σ = 0.02 (not powers of two; independent generators): per level mean and
    variance of ours and of deepinv's agree with ``max(y, 0)`` and ``σ² + max(y, 0)/λ``
    and with each other within 5 SE; a negative level is clamped to 0 by both. At this
    size the check fails for λ off by 5 % or σ off by 3 % (tried)."""
    levels = (-0.2, 0.05, 0.3, 0.9)
    y = _bands(levels)
    ours = physics.add_noise(y, 300.0, 0.02, _gen(11))
    theirs = dinv.physics.PoissonGaussianNoise(gain=_f64(1 / 300), sigma=_f64(0.02),
                                               clip_positive=True, rng=_gen(12))(y)
    _assert_moments({"ours": ours, "deepinv": theirs}, levels, 300.0, 0.02)


@pytest.mark.parametrize("lam", [40.0, 7.0])
def test_poisson_count_histograms_match_the_poisson_pmf(lam):
    """Pure shot noise at low counts (mean 0.35-36 counts): ``y · λ`` is an integer count
    (to 1e-9) and each count's frequency in each band is the Poisson pmf of mean ``λ y``
    within 5 binomial SE, for ours and for deepinv's ``PoissonNoise``; a level of 0 gives
    exactly 0 in both. A Poisson mean off by 2 % fails it (tried: up to 7.7 SE)."""
    levels = (0.0, 0.05, 0.3, 0.9)
    y = _bands(levels)
    samples = {"ours": physics.add_noise(y, lam, 0.0, _gen(21)),
               "deepinv": dinv.physics.PoissonNoise(gain=_f64(1 / lam), normalize=True,
                                                    rng=_gen(22))(y)}
    for name, s in samples.items():
        counts = s.numpy() * lam
        np.testing.assert_allclose(counts, np.round(counts), rtol=0, atol=1e-9, err_msg=name)
        for i, level in enumerate(levels):
            k = np.round(_band(s, i) * lam).astype(np.int64)
            n = k.size
            if level == 0.0:
                assert (k == 0).all(), name
                continue
            pmf = scipy.stats.poisson.pmf(np.arange(k.max() + 1), lam * level)
            freq = np.bincount(k, minlength=pmf.size) / n
            se = np.sqrt(pmf * (1 - pmf) / n)
            keep = pmf * n >= 20  # counts seen often enough for the normal approximation
            assert keep.sum() >= 3, (name, level)
            bad = np.flatnonzero(np.abs(freq - pmf)[keep] > N_SE * se[keep])
            assert bad.size == 0, (name, level, np.arange(pmf.size)[keep][bad])


def test_gaussian_read_noise_matches_deepinv_gaussian_noise_except_the_clamp():
    """deepinv ``GaussianNoise(σ)`` against our ``add_noise`` with σ and λ = 2⁴⁰ (shot
    variance ``y/λ`` ≤ 1e-12, kept in the analytic variance): mean, variance and the
    Gaussian 4th moment ``3σ⁴`` (SE ``sqrt(96 σ⁸ / n)``) within 5 SE at every level, the
    mean being ``y`` for deepinv and ``max(y, 0)`` for ours: at a negative level deepinv
    keeps the signal, ours clamps it to 0 before the shot noise (a difference of exactly
    0.2 in the mean at y = -0.2)."""
    sigma, lam = 0.1, 2.0**40
    levels = (-0.2, 0.0, 0.3, 0.9)
    y = _bands(levels)
    ours = physics.add_noise(y, lam, sigma, _gen(31))
    theirs = dinv.physics.GaussianNoise(sigma=_f64(sigma), rng=_gen(32))(y)
    for i, level in enumerate(levels):
        _, var, mu4 = _moments(level, lam, sigma)
        n = BAND[0] * BAND[1]
        for name, s, mean in (("ours", ours, max(level, 0.0)), ("deepinv", theirs, level)):
            p = _band(s, i)
            where = f"{name}, level {level}"
            assert abs(p.mean() - mean) <= N_SE * np.sqrt(var / n), where
            assert abs(p.var() - var) <= N_SE * np.sqrt((mu4 - var**2) / n), where
            m4 = ((p - p.mean()) ** 4).mean()
            assert abs(m4 - 3 * sigma**4) <= N_SE * np.sqrt(96 * sigma**8 / n), where


# ---------------------------------------------------------------------------- blur
SEM_PARAMS = {"pixel_size_nm": 0.5, "sigma_b_nm": 1.0, "sigma_c_fov": 0.3,
              "charging_strength": 0.0}  # σ_b = 2 px; no charging: a pure Gaussian blur


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    """(2, 1, 48, 40) float64 random images (a non-square size: axes not swapped)."""
    return torch.rand(2, 1, 48, 40, dtype=torch.float64, generator=_gen(1))


def _sem(x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Our SEM operator by both of its evaluations (SciPy DCT without grad, torch FFT)."""
    op = physics.operator("SEM")
    with torch.no_grad():
        dct = op(x, SEM_PARAMS)
    fft = op(x.clone().requires_grad_(True), SEM_PARAMS).detach()
    return {"dct": dct, "fft": fft}


def test_sem_blur_is_deepinv_circular_blur_of_the_symmetric_extension(images):
    """``sem_beam_kernel`` on the (2H, 2W) grid (origin at the fftshift centre (H, W), where
    deepinv's true convolution puts an even-sized filter's origin) through
    ``Blur(padding="circular")`` — direct and ``use_fft`` — on ``pad_for_fft(x)``, cropped:
    our SEM operator to 1e-13."""
    h, w = images.shape[-2:]
    k = torch.from_numpy(sem_beam_kernel(1.0, 0.5, (2 * h, 2 * w)))[None, None]
    ext = pad_for_fft(images)
    for use_fft in (False, True):
        theirs = dinv.physics.Blur(filter=k, padding="circular", use_fft=use_fft)(ext)
        for path, ours in _sem(images).items():
            np.testing.assert_allclose(ours, theirs[..., :h, :w], rtol=0, atol=1e-13,
                                       err_msg=f"{path}, use_fft={use_fft}")


def test_sem_blur_is_deepinv_valid_conv_of_the_half_sample_symmetric_padding(images):
    """A 31 × 31 crop of the kernel (±7.5 σ; the crop misses < 1e-10 of it) on the image
    padded by 15 px with numpy ``"symmetric"``, deepinv ``conv2d(padding="valid")``: ours to
    1e-9. deepinv's ``"reflect"`` and ``"replicate"`` paddings give the same image from 15
    px inside the border and differ at it (by > 0.01 here: 0.08 measured)."""
    h, w = images.shape[-2:]
    r = 15
    full = sem_beam_kernel(1.0, 0.5, (2 * h, 2 * w))
    k = torch.from_numpy(full[h - r:h + r + 1, w - r:w + r + 1].copy())[None, None]
    assert abs(1 - k.sum().item()) < 1e-10
    ours = _sem(images)["dct"]
    padded = torch.from_numpy(np.pad(images.numpy(), ((0, 0), (0, 0), (r, r), (r, r)),
                                     mode="symmetric"))
    np.testing.assert_allclose(dF.conv2d(padded, k, padding="valid"), ours, rtol=0, atol=1e-9)
    for mode in ("reflect", "replicate"):
        diff = (dinv.physics.Blur(filter=k, padding=mode)(images) - ours).abs()
        assert diff[..., r:-r, r:-r].max().item() < 1e-9, mode
        assert diff.max().item() > 0.01, mode


@pytest.mark.parametrize("mode", ["widefield", "confocal"])
def test_lm_psf_blur_is_deepinv_circular_blur_of_the_symmetric_extension(images, mode):
    """The Airy (widefield) and confocal PSFs on the (2H, 2W) grid (inverse FFT of
    ``lm_transfer``, origin moved to (H, W)) through deepinv's circular ``Blur`` on the
    symmetric extension: our LM operator to 1e-13. The Airy tails are long: only the
    full-grid kernel reproduces the operator."""
    h, w = images.shape[-2:]
    p = {"na": 0.8, "wavelength_ex_nm": 350.0, "wavelength_em_nm": 500.0, "pinhole_um": 50.0,
         "magnification": 60.0, "refractive_index": 1.33, "pixel_size_nm": 60.0}
    kernel = np.fft.ifft2(lm_transfer(p, (2 * h, 2 * w), mode == "confocal")).real
    k = torch.from_numpy(np.roll(kernel, (h, w), axis=(0, 1)).copy())[None, None]
    theirs = dinv.physics.Blur(filter=k, padding="circular", use_fft=True)(pad_for_fft(images))
    with torch.no_grad():
        ours = physics.operator(mode)(images, p)
    np.testing.assert_allclose(ours, theirs[..., :h, :w], rtol=0, atol=1e-13)


@pytest.mark.parametrize("sigma", [2.0, 3.0])
def test_sem_gaussian_kernel_is_deepinvs_gaussian_blur_before_its_truncation(sigma):
    """deepinv's ``gaussian_blur(sigma)`` samples the Gaussian on ``2c + 1`` px, ``c =
    int(σ / 0.3 + 1)`` (7 for σ = 2, 11 for σ = 3), and renormalises it to sum 1. Ours is
    the whole (untruncated) kernel: its centre crop renormalised is deepinv's (1e-9), and
    the crop holds ``(Σ_{|n|≤c} g(n) / Σ_n g(n))²`` of it, ``g(n) = exp(-n²/2σ²)``."""
    theirs = dF.gaussian_blur(sigma=(sigma, sigma), dtype=torch.float64)[0, 0].numpy()
    c = int(sigma / 0.3 + 1)
    assert theirs.shape == (2 * c + 1, 2 * c + 1)
    n = 64
    ours = sem_beam_kernel(sigma, 1.0, (2 * n, 2 * n))
    crop = ours[n - c:n + c + 1, n - c:n + c + 1]
    np.testing.assert_allclose(crop / crop.sum(), theirs, rtol=0, atol=1e-9)
    g = np.exp(-np.arange(-n, n + 1) ** 2 / (2 * sigma**2))
    kept = (g[np.abs(np.arange(-n, n + 1)) <= c].sum() / g.sum()) ** 2
    assert crop.sum() == pytest.approx(kept, abs=1e-9)
    assert 1 - kept > 1e-4  # the truncation deepinv's renormalisation hides


def test_narrow_gaussian_ours_is_band_limited_deepinvs_is_sampled():
    """At σ = 1 px the two kernels differ by aliasing: ours is defined by its transfer
    function ``G(f) = exp(-2π²σ²f²)`` on the FFT grid (the exact transform of the
    continuous Gaussian, cut at Nyquist); deepinv samples the Gaussian in space, so its DFT
    is the periodised ``Σ_m G(f - m) / Σ_m G(m)`` per axis (to 1e-12; 41-px kernel,
    truncation < 1e-80). The kernels differ most at the centre: 0.15862 (ours) against
    0.15915 (deepinv), measured."""
    sigma, n = 1.0, 64
    theirs = dF.gaussian_blur(psf_size=(41, 41), sigma=(sigma, sigma),
                              dtype=torch.float64)[0, 0].numpy()
    grid = np.zeros((n, n))
    grid[:41, :41] = theirs
    t_theirs = np.fft.fft2(np.roll(grid, (-20, -20), axis=(0, 1)))
    f = np.fft.fftfreq(n)

    def periodised(fr: np.ndarray) -> np.ndarray:
        return sum(np.exp(-2 * np.pi**2 * sigma**2 * (fr - m) ** 2) for m in range(-3, 4))

    a = periodised(f) / periodised(np.zeros(1))
    np.testing.assert_allclose(t_theirs.real, a[:, None] * a[None, :], rtol=0, atol=1e-12)
    np.testing.assert_allclose(t_theirs.imag, 0, atol=1e-12)
    t_ours = gaussian_transfer(sigma, 1.0, (n, n))
    g = np.exp(-2 * np.pi**2 * sigma**2 * f**2)
    np.testing.assert_allclose(t_ours, g[:, None] * g[None, :], rtol=0, atol=1e-15)
    ours = np.fft.fftshift(np.fft.ifft2(t_ours).real)
    assert ours[n // 2, n // 2] == pytest.approx(0.158616, abs=1e-6)
    assert theirs[20, 20] == pytest.approx(1 / (2 * np.pi * sigma**2), abs=1e-6)
