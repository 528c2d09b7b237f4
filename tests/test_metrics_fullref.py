"""Pixel-domain metrics against scikit-image / scipy / torchmetrics; MS-SSIM; EPI; bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch
from skimage.metrics import mean_squared_error as sk_mse
from skimage.metrics import normalized_root_mse as sk_nrmse
from skimage.metrics import structural_similarity as sk_ssim

from simart.metrics import METRICS, MetricUnavailable, compute_metric_table
from simart.metrics import full_reference as fr

SK_SSIM = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False,
           "data_range": 1.0}


def _scene(n: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:n, 0:n] / n
    img = 0.3 + 0.2 * np.sin(2 * np.pi * 6 * xx) * np.cos(2 * np.pi * 4 * yy) + 0.2 * (xx > 0.55)
    for cy, cx in rng.random((6, 2)):
        img += 0.25 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.004)
    return np.clip(img, 0, 1)


@pytest.fixture(scope="module")
def pairs() -> tuple[torch.Tensor, torch.Tensor]:
    """(pred, clean) float64 (4, 1, 192, 184): noise of growing strength on structured scenes."""
    rng = np.random.default_rng(7)
    clean = np.stack([_scene(192, rng)[:, :184] for _ in range(4)])
    sig = np.array([0.01, 0.05, 0.1, 0.3])[:, None, None]
    pred = np.clip(clean + sig * rng.standard_normal(clean.shape), 0, 1)
    return torch.from_numpy(pred)[:, None], torch.from_numpy(clean)[:, None]


def _np(t: torch.Tensor) -> list[np.ndarray]:
    return [a[0] for a in t.numpy()]


def test_mse_mae_nrmse_match_skimage(pairs):
    x, ref = pairs
    p, c = _np(x), _np(ref)
    np.testing.assert_allclose(fr.mse(x, ref), [sk_mse(b, a) for a, b in zip(p, c)], atol=1e-15)
    np.testing.assert_allclose(fr.mae(x, ref), [np.abs(a - b).mean() for a, b in zip(p, c)],
                               atol=1e-15)
    for fn, norm in [(fr.nrmse_range, "min-max"), (fr.nrmse_euclidean, "euclidean"),
                     (fr.nrmse_mean, "mean")]:
        ref_vals = [sk_nrmse(b, a, normalization=norm) for a, b in zip(p, c)]
        np.testing.assert_allclose(fn(x, ref), ref_vals, rtol=1e-12, err_msg=norm)


def test_pearson_matches_scipy(pairs):
    x, ref = pairs
    ref_vals = [scipy.stats.pearsonr(a.ravel(), b.ravel()).statistic
                for a, b in zip(_np(x), _np(ref))]
    np.testing.assert_allclose(fr.pearson(x, ref), ref_vals, rtol=0, atol=1e-12)


def test_ms_ssim_reflect_matches_torchmetrics_5_and_3_scales(pairs):
    tm_image = pytest.importorskip("torchmetrics.functional.image")
    x, ref = pairs[0][::2, :, :176, :180], pairs[1][::2, :, :176, :180]  # float64 conv: slow
    tm5 = tm_image.multiscale_structural_similarity_index_measure(
        x, ref, data_range=1.0, reduction="none")
    # torchmetrics turns the betas into a float32 tensor: exponents off by ~1e-8 relative
    np.testing.assert_allclose(fr.ms_ssim(x, ref, border="reflect"), tm5, rtol=1e-7)
    b3 = fr.MS_SSIM_BETAS[:3]
    b3 = tuple(b / sum(b3) for b in b3)
    x, ref = pairs[0][..., :64, :48], pairs[1][..., :64, :48]
    tm3 = tm_image.multiscale_structural_similarity_index_measure(
        x, ref, data_range=1.0, reduction="none", betas=b3)
    np.testing.assert_allclose(fr.ms_ssim(x, ref, scales=3, border="reflect"), tm3, rtol=1e-7)


def test_ms_ssim_valid_one_scale_is_ssim_and_identical_images_give_one(pairs):
    x, ref = pairs
    np.testing.assert_allclose(fr.ms_ssim(x, ref, scales=1),
                               [sk_ssim(a, b, **SK_SSIM) for a, b in zip(_np(x), _np(ref))],
                               atol=1e-12)
    np.testing.assert_allclose(fr.ms_ssim(ref, ref), 1.0, atol=1e-12)
    vals = fr.ms_ssim(x, ref).numpy()
    assert (np.diff(vals) < 0).all()  # more noise, lower MS-SSIM


def test_ms_ssim_below_its_size_is_unavailable_with_the_size_it_needs():
    x = torch.rand(2, 1, 128, 128, dtype=torch.float64)
    assert fr.ms_ssim_min_size(5) == 176 and fr.ms_ssim_min_size(3) == 44
    with pytest.raises(MetricUnavailable, match="5 scales needs images of at least 176 px"):
        fr.ms_ssim(x, x)
    assert torch.isfinite(fr.ms_ssim_3(x, x)).all()
    table = compute_metric_table(x, x, metrics=["ms_ssim", "ms_ssim_3"])
    assert table["ms_ssim"].isna().all() and table["ms_ssim_reason"].str.contains("176").all()
    assert (table["ms_ssim_3"] == 1).all() and (table["ms_ssim_3_reason"] == "").all()


def test_epi_both_forms_give_one_for_identical_images_and_react_to_noise_and_blur(pairs):
    x, ref = pairs
    np.testing.assert_allclose(fr.epi_corr(ref, ref), 1.0, atol=1e-12)
    np.testing.assert_allclose(fr.epi_ratio(ref, ref), 1.0, atol=1e-12)
    corr = fr.epi_corr(x, ref).numpy()
    assert ((corr > 0) & (corr < 1)).all() and (np.diff(corr) < 0).all()
    assert (fr.epi_ratio(x, ref).numpy() > 1).all()  # noise adds gradient
    blurred = torch.nn.functional.avg_pool2d(ref, 5, stride=1, padding=2,
                                             count_include_pad=False)
    assert (fr.epi_ratio(blurred, ref).numpy() < 1).all()  # smoothing removes gradient


def test_epi_corr_is_the_paper_formula_with_forward_differences():
    rng = np.random.default_rng(3)
    a, b = rng.random((20, 24)), rng.random((20, 24))
    ga = (a[:-1, 1:] - a[:-1, :-1], a[1:, :-1] - a[:-1, :-1])
    gb = (b[:-1, 1:] - b[:-1, :-1], b[1:, :-1] - b[:-1, :-1])
    num = np.abs(ga[0] * gb[0] + ga[1] * gb[1]).sum()
    den = np.sqrt((ga[0] ** 2 + ga[1] ** 2).sum() * (gb[0] ** 2 + gb[1] ** 2).sum())
    ratio = (np.abs(ga[0]) + np.abs(ga[1])).sum() / (np.abs(gb[0]) + np.abs(gb[1])).sum()
    t = lambda v: torch.from_numpy(v)[None, None]
    assert fr.epi_corr(t(a), t(b)).item() == pytest.approx(num / den, rel=1e-13)
    assert fr.epi_ratio(t(a), t(b)).item() == pytest.approx(ratio, rel=1e-13)


def test_constant_images_psnr_inf_ssim_defined_correlations_undefined():
    c = torch.full((1, 1, 32, 32), 0.5, dtype=torch.float64)
    d = torch.full_like(c, 0.6)
    assert torch.isinf(fr.psnr(c, c)).all()
    assert fr.ssim(c, c).item() == pytest.approx(1.0)
    c1 = 0.01**2
    assert fr.ssim(c, d).item() == pytest.approx((2 * 0.3 + c1) / (0.25 + 0.36 + c1))
    table = compute_metric_table(c, d, metrics=["pearson", "epi_corr", "nrmse_range", "mae"])
    assert table[["pearson", "epi_corr", "nrmse_range"]].isna().all().all()
    assert table.loc[0, "pearson_reason"].startswith("undefined: constant image")
    assert table.loc[0, "mae"] == pytest.approx(0.1) and table.loc[0, "mae_reason"] == ""


@pytest.mark.parametrize("name", [m for m, e in METRICS.items() if e.kind == "full_reference"
                                  and m != "lpips"])
def test_nan_and_inf_pixels_are_refused_with_a_message(name):
    x = torch.rand(3, 1, 48, 48, dtype=torch.float64)
    bad = x.clone()
    bad[1, 0, 3, 4] = float("nan")
    bad[2, 0, 0, 0] = float("inf")
    kw = {"pixel_size_nm": 1.0} if "pixel_size_nm" in METRICS[name].needs else {}
    with pytest.raises(ValueError, match=r"non-finite pixel.*image\(s\) \[1, 2\]"):
        METRICS[name].fn(bad, x, **kw)
    with pytest.raises(ValueError, match="same shape"):
        METRICS[name].fn(x[:, :, :40], x, **kw)


def test_integer_images_and_wrong_layout_are_refused():
    x = torch.rand(2, 1, 16, 16)
    with pytest.raises(ValueError, match="floating"):
        fr.mse((x * 255).to(torch.uint8), (x * 255).to(torch.uint8))
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        fr.mae(x[:, 0], x[:, 0])
    with pytest.raises(ValueError, match="NaN or infinite"):
        compute_metric_table(np.full((1, 16, 16), np.nan), np.zeros((1, 16, 16)),
                             metrics=["mae"])
