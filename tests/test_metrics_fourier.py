"""FRC, Fourier spectrum consistency and power-spectrum similarity: defining properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simart.metrics import MetricUnavailable, compute_metric_table
from simart.metrics import fourier as fo


def _scene(n: int = 128, seed: int = 0) -> torch.Tensor:
    """A band-limited random scene (smooth blobs + some texture), (1, 1, n, n) float64 in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    f = torch.fft.fft2(torch.randn(n, n, generator=g, dtype=torch.float64))
    k = torch.fft.fftfreq(n, dtype=torch.float64)
    r = torch.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
    img = torch.fft.ifft2(f / (r + 0.02) ** 1.5).real
    img = (img - img.min()) / (img.max() - img.min())
    return img[None, None]


def _noisy(img: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return img + sigma * torch.randn(img.shape, generator=g, dtype=img.dtype)


def test_frc_of_identical_images_is_one_everywhere_and_resolution_is_nyquist():
    img = torch.cat([_scene(64, 1), _scene(64, 2)])
    curve = fo.frc_curve(img, img)
    assert curve.shape == (2, 33)
    np.testing.assert_allclose(curve, 1.0, atol=1e-12)
    np.testing.assert_allclose(fo.frc_res_px(img, img), 2.0)
    np.testing.assert_allclose(fo.ring_frequencies(64)[[0, -1]], [0.0, 0.5])


def test_frc_of_two_noise_realisations_falls_and_resolution_worsens_with_noise():
    img = _scene(128, 3)
    res = []
    for sigma in (0.1, 0.2, 0.4):
        a, b = _noisy(img, sigma, 10), _noisy(img, sigma, 11)
        curve = fo.frc_curve(a, b)[0].numpy()
        smooth = np.convolve(curve, np.ones(8) / 8, mode="valid")  # falls with frequency
        assert smooth[0] > 0.8 and smooth[0] > smooth[len(smooth) // 2] > smooth[-1] - 0.05
        assert smooth[-1] < 0.3
        res.append(fo.frc_res_px(a, b).item())
    assert all(np.diff(res) > 0), res  # coarser resolution with more noise
    assert 2.0 < res[0] < res[-1] < 64


def test_frc_resolution_interpolates_the_first_crossing_and_scales_to_nm():
    curve = torch.tensor([[1.0, 0.9, 0.5, 0.2, 0.1, 0.3, 0.05, 0.0, 0.0]], dtype=torch.float64)
    # n = 16 (9 rings): first drop below 0.143 between ring 3 (0.2) and ring 4 (0.1)
    f = (3 + (0.2 - 0.143) / 0.1) / 16
    assert fo.frc_resolution_from_curve(curve, 16).item() == pytest.approx(1 / f)
    img = _scene(64, 4)
    a, b = _noisy(img, 0.1, 1), _noisy(img, 0.1, 2)
    sizes = torch.tensor([0.25], dtype=torch.float64)
    assert fo.frc_res_nm(a, b, pixel_size_nm=sizes).item() == pytest.approx(
        0.25 * fo.frc_res_px(a, b).item())
    with pytest.raises(MetricUnavailable, match="pixel size"):
        fo.frc_res_nm(a, b)
    with pytest.raises(ValueError, match="> 0 nm/px"):
        fo.frc_res_nm(a, b, pixel_size_nm=-1.0)


def test_frc_per_image_pixel_size_and_missing_size_in_tables():
    img = torch.cat([_scene(32, 5)] * 3)
    x = _noisy(img, 0.1, 3)
    t = compute_metric_table(x, img, metrics=["frc_res_px", "frc_res_nm"],
                             pixel_size_nm=[1.0, 2.0, np.nan])
    np.testing.assert_allclose(t["frc_res_nm"][:2], t["frc_res_px"][:2] * [1.0, 2.0])
    assert np.isnan(t.loc[2, "frc_res_nm"]) and "pixel size" in t.loc[2, "frc_res_nm_reason"]
    none = compute_metric_table(x, img, metrics=["frc_res_nm"])
    assert none["frc_res_nm"].isna().all() and none["frc_res_nm_reason"].str.contains("pixel").all()


def test_fsc_is_the_normalised_paper_formula_and_one_for_identical_images():
    img = _scene(64, 6)
    x = _noisy(img, 0.1, 1)
    a = np.abs(np.fft.fft2(x[0, 0].numpy()))
    b = np.abs(np.fft.fft2(img[0, 0].numpy()))
    expected = (a * b).sum() / np.sqrt((a**2).sum() * (b**2).sum())
    assert fo.fsc(x, img).item() == pytest.approx(expected, rel=1e-12)
    assert fo.fsc(img, img).item() == pytest.approx(1.0, abs=1e-12)
    assert 0 < fo.fsc(x, img).item() < 1


def test_power_spectrum_similarity_identical_one_noise_lowers_it():
    img = _scene(128, 7)
    assert fo.pss(img, img).item() == pytest.approx(1.0, abs=1e-12)
    # overall scale does not matter (Pearson r of the log spectra)
    assert fo.pss(3 * img, img).item() == pytest.approx(1.0, abs=1e-12)
    vals = [fo.pss(_noisy(img, s, 1), img).item() for s in (0.01, 0.1, 0.5)]
    assert vals[0] > vals[1] > vals[2]


def test_fourier_metrics_refuse_tiny_images_and_bad_windows():
    x = torch.rand(1, 1, 6, 6, dtype=torch.float64)
    with pytest.raises(MetricUnavailable, match="at least 8 px"):
        fo.frc_curve(x, x)
    y = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    with pytest.raises(ValueError, match="window"):
        fo.frc_curve(y, y, window="kaiser")
