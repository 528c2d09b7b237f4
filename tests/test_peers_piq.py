"""Our full-reference metrics against piq 0.8.0 (a test extra), float64, per image.

piq is a second, independent PyTorch implementation of PSNR, SSIM, MS-SSIM and total
variation. Where piq's convention differs from ours (docs/metrics.md), each test either
reproduces piq's convention with our functions or asserts the exact difference:

* PSNR: piq adds ``1e-8`` to the normalised MSE (``-10 log10(MSE / R² + 1e-8)``), so it
  caps at 80 dB where ours is ``+inf`` for identical images.
* SSIM: the same window (11, σ 1.5, population moments, K1 0.01, K2 0.03) and the same
  valid-region mean; by default (``downsample=True``) piq first average-pools by
  ``f = round(min(H, W) / 256)`` when f > 1 (from 384 px) — then it is our SSIM of the
  pooled images.
* MS-SSIM: the same Wang weights (unnormalised, sum 1.0001), valid-region maps, cs and
  last-scale SSIM clamped at 0 (``relu``). Before each halving piq replicate-pads one
  row and one column at the top/left when either side is odd, we floor (drop the last
  row/column of an odd side): identical
  where every halved side is even (sides divisible by 16 for 5 scales), different
  otherwise; piq therefore accepts sides from ``10 · 2⁴ + 1 = 161`` px, we need 176.
* Total variation (anisotropic ℓ1): our ``epi_ratio`` is a ratio of ℓ1 gradient norms
  on the ``(H-1) × (W-1)`` grid where both forward differences exist; piq's
  ``total_variation`` sums every difference, so it is ours on the image replicate-padded
  by one pixel at the bottom and right.

piq's GMSD, FSIM, VIF, MDSI, SR-SIM, VSI and HaarPSI have no counterpart among our metrics
(``simart.specs.metrics.METRICS``); its BRISQUE and LPIPS download weights (not possible
here) and its BRISQUE model is not the ``brisque`` package's that our ``brisque`` uses.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_metrics_psnr_ssim import _structured  # the same structured scenes as the metric tests

from simart.metrics import MetricUnavailable
from simart.metrics import full_reference as fr

piq = pytest.importorskip("piq")  # a test extra (piq==0.8.0)
# one intra-op thread: on a busy 2-core machine two spin-waiting OpenMP workers made the
# float64 convolutions several times slower (MS-SSIM test: 3.3 s against 0.5 s, measured)
pytestmark = pytest.mark.usefixtures("one_thread")


def _noisy(clean: np.ndarray, sigmas: list[float], rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of one σ per image, clipped to [0, 1] (piq refuses values outside
    ``[0, data_range]``)."""
    s = np.asarray(sigmas)[:, None, None]
    return np.clip(clean + s * rng.standard_normal(clean.shape), 0, 1)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a)[:, None]


@pytest.fixture(scope="module")
def small_pairs() -> tuple[torch.Tensor, torch.Tensor]:
    """(pred, clean) float64 (6, 1, 48, 40): 3 random, 3 structured images, noise σ 0.01-0.3
    (the pairs of tests/test_metrics_psnr_ssim.py)."""
    rng = np.random.default_rng(123)
    clean = np.stack([rng.random((48, 40)) for _ in range(3)]
                     + [_structured(48, rng)[:, :40] for _ in range(3)])
    pred = _noisy(clean, [0.02, 0.1, 0.3, 0.01, 0.05, 0.2], rng)
    return _t(pred), _t(clean)


@pytest.fixture(scope="module")
def ms_pairs() -> tuple[torch.Tensor, torch.Tensor]:
    """(pred, clean) float64 (2, 1, 177, 177): structured scenes, noise σ 0.05 and 0.2.
    ``[..., :176, :176]`` halves to even sides four times; 177 is odd."""
    rng = np.random.default_rng(7)
    clean = np.stack([_structured(177, rng) for _ in range(2)])
    return _t(_noisy(clean, [0.05, 0.2], rng)), _t(clean)


def test_psnr_is_piqs_up_to_its_1e8_regulariser(small_pairs):
    """piq: ``-10 log10(MSE / R² + 1e-8)``; ours: ``10 log10(R² / MSE)``. Recomputing piq's
    value from ours, ``-10 log10(10^(-ours / 10) + 1e-8)``, matches to 1e-12 dB at data
    ranges 1 and 255; identical images: ours +inf, piq exactly 80 dB."""
    x, ref = small_pairs
    for scale in (1.0, 255.0):
        ours = fr.psnr(x * scale, ref * scale, data_range=scale)
        theirs = piq.psnr(x * scale, ref * scale, data_range=scale, reduction="none")
        np.testing.assert_allclose(-10 * torch.log10(10 ** (-ours / 10) + 1e-8), theirs,
                                   rtol=0, atol=1e-12)
        # the regulariser is visible: MSE 1e-2 .. 1e-4 here, so 1e-8 shifts piq by < 5e-4 dB
        assert ((ours - theirs) > 0).all() and ((ours - theirs) < 5e-4).all()
    assert torch.isinf(fr.psnr(ref, ref)).all()
    np.testing.assert_array_equal(piq.psnr(ref, ref, data_range=1.0, reduction="none"), 80.0)


def test_ssim_valid_region_mean_matches_piq_without_downsampling(small_pairs):
    """Same window, constants and valid-region mean: equal to 1e-13 (float64), also with
    ``data_range=255`` (piq divides by the range, we scale C1, C2: the same number)."""
    x, ref = small_pairs
    for scale in (1.0, 255.0):
        ours = fr.ssim(x * scale, ref * scale, data_range=scale)
        theirs = piq.ssim(x * scale, ref * scale, data_range=scale, reduction="none",
                          downsample=False)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-13)
    # below 384 px piq's downsampling factor round(min(H, W) / 256) is 1: the default is equal
    np.testing.assert_allclose(fr.ssim(x, ref), piq.ssim(x, ref, reduction="none"),
                               rtol=0, atol=1e-13)


def test_piq_default_ssim_of_a_large_image_is_our_ssim_of_the_2x2_pooled_image():
    """piq's default ``downsample=True`` average-pools by ``f = round(min(H, W) / 256)``
    (2 for 384-640 px, Python rounds 2.5 to 2) before SSIM; that is our SSIM of ``avg_pool2d(·, f)`` (to 1e-13),
    a different number from the full-resolution SSIM (pooling averages noise away: 0.826
    against 0.403 for this image, measured), which equals piq's with
    ``downsample=False`` (the test above). Pass ``downsample=False`` to compare with ours."""
    rng = np.random.default_rng(5)
    clean = _t(_structured(384, rng)[None])
    noisy = _t(_noisy(clean[:, 0].numpy(), [0.05], rng))
    theirs = piq.ssim(noisy, clean, reduction="none")
    pooled = fr.ssim(F.avg_pool2d(noisy, 2), F.avg_pool2d(clean, 2))
    np.testing.assert_allclose(pooled, theirs, rtol=0, atol=1e-13)


def test_ms_ssim_valid_matches_piq_where_every_halving_is_even(ms_pairs):
    """176 = 11 · 2⁴: no odd side before any halving, so piq's replicate padding never acts
    and its MS-SSIM (valid maps, Wang weights as float64, relu) is ours with the default
    ``border="valid"`` to 1e-13. Our ``border="reflect"`` (torchmetrics') is not piq's."""
    x, ref = (t[..., :176, :176] for t in ms_pairs)
    theirs = piq.multi_scale_ssim(x, ref, data_range=1.0, reduction="none")
    np.testing.assert_allclose(fr.ms_ssim(x, ref), theirs, rtol=0, atol=1e-13)
    assert (fr.ms_ssim(x, ref, border="reflect") - theirs).abs().max().item() > 1e-5


def test_ms_ssim_3_matches_piq_with_the_first_three_weights():
    """piq renormalises given ``scale_weights`` to sum 1, as our ``ms_ssim_3`` does with the
    first three Wang weights; 64 × 48 halves to even sides twice: equal to 1e-13."""
    rng = np.random.default_rng(9)
    clean = np.stack([_structured(64, rng)[:, :48] for _ in range(3)])
    x, ref = _t(_noisy(clean, [0.02, 0.1, 0.3], rng)), _t(clean)
    weights = torch.tensor(fr.MS_SSIM_BETAS[:3], dtype=torch.float64)
    theirs = piq.multi_scale_ssim(x, ref, data_range=1.0, reduction="none",
                                  scale_weights=weights)
    np.testing.assert_allclose(fr.ms_ssim_3(x, ref), theirs, rtol=0, atol=1e-13)


def test_ms_ssim_size_rule_and_odd_sides_differ_from_piq(ms_pairs):
    """piq replicate-pads an odd side before halving (161 → 81 → 41 → 21 → 11), so it
    accepts 161-175 px; we floor (161 → 80 → 40 → 20 → 10 < 11) and refuse them with the
    size we need. On an odd side the two pool different pixel pairs: at 177 px ours gives
    0.9556 and 0.7204, piq 0.9562 and 0.7178 (measured), a difference > 1e-6 asserted."""
    x, ref = ms_pairs
    small = (x[..., :161, :161], ref[..., :161, :161])
    assert torch.isfinite(piq.multi_scale_ssim(*small, data_range=1.0, reduction="none")).all()
    with pytest.raises(MetricUnavailable, match="at least 176 px"):
        fr.ms_ssim(*small)
    with pytest.raises(ValueError, match="at least 161x161"):
        piq.multi_scale_ssim(x[..., :160, :160], ref[..., :160, :160], data_range=1.0)
    assert fr.ms_ssim_min_size(3) == 44  # piq: (11 - 1) · 2² + 1 = 41
    odd = (fr.ms_ssim(x, ref) - piq.multi_scale_ssim(x, ref, data_range=1.0, reduction="none"))
    assert (odd.abs() > 1e-6).all()


def _last_row_and_column_differences(t: torch.Tensor) -> torch.Tensor:
    """ℓ1 of the horizontal differences in the last row and the vertical ones in the last
    column: what piq's total variation has and our forward-difference grid has not."""
    return ((t[..., -1, 1:] - t[..., -1, :-1]).abs().sum(dim=(1, 2))
            + (t[..., 1:, -1] - t[..., :-1, -1]).abs().sum(dim=(1, 2)))


def test_epi_ratio_is_the_ratio_of_piq_total_variations_of_the_replicate_padded_images(
        small_pairs):
    """Our ℓ1 gradient norm stops one row/column short of piq's anisotropic ℓ1 total
    variation; after replicate padding by one pixel (bottom, right) the missing differences
    are the image's own and the added ones are 0, so ``epi_ratio(pad x, pad ref) =
    TV(x) / TV(ref)`` (rtol 1e-13). On the unpadded images piq's TV exceeds our numerator
    and denominator by exactly the last row's horizontal and the last column's vertical
    differences."""
    x, ref = small_pairs
    tv = lambda t: piq.total_variation(t, reduction="none", norm_type="l1")
    pad = lambda t: F.pad(t, (0, 1, 0, 1), mode="replicate")
    np.testing.assert_allclose(fr.epi_ratio(pad(x), pad(ref)), tv(x) / tv(ref), rtol=1e-13)
    edge = _last_row_and_column_differences
    np.testing.assert_allclose(fr.epi_ratio(x, ref),
                               (tv(x) - edge(x)) / (tv(ref) - edge(ref)), rtol=1e-12)
