"""PSNR and SSIM agree with scikit-image and torchmetrics (float64, per image)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio as sk_psnr
from skimage.metrics import structural_similarity as sk_ssim

from simart.metrics import METRICS, compute_metrics, psnr, ssim, ssim_map

SK_SSIM = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False,
           "data_range": 1.0}


def _torchmetrics_image():
    return pytest.importorskip("torchmetrics.functional.image")  # a test extra


def _structured(n: int, rng: np.random.Generator) -> np.ndarray:
    """Blobs + a grating + a step edge, in [0, 1]."""
    yy, xx = np.mgrid[0:n, 0:n] / n
    img = 0.3 + 0.2 * np.sin(2 * np.pi * 7 * xx) * np.cos(2 * np.pi * 3 * yy) + 0.2 * (xx > 0.6)
    for cy, cx in rng.random((5, 2)):
        img += 0.3 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.005)
    return np.clip(img, 0, 1)


@pytest.fixture(scope="module")
def pairs() -> tuple[np.ndarray, np.ndarray]:
    """(pred, clean), each (6, 48, 40) float64: 3 random, 3 structured images with noise."""
    rng = np.random.default_rng(123)
    clean = np.stack([rng.random((48, 40)) for _ in range(3)]
                     + [_structured(48, rng)[:, :40] for _ in range(3)])
    sigmas = np.array([0.02, 0.1, 0.3, 0.01, 0.05, 0.2])[:, None, None]
    pred = np.clip(clean + sigmas * rng.standard_normal(clean.shape), 0, 1)
    return pred, clean


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a)[:, None]


def test_psnr_matches_skimage_and_torchmetrics(pairs):
    pred, clean = pairs
    tm_image = _torchmetrics_image()
    ours = psnr(_t(pred), _t(clean)).numpy()
    ref_sk = [sk_psnr(c, p, data_range=1.0) for p, c in zip(pred, clean, strict=True)]
    ref_tm = tm_image.peak_signal_noise_ratio(
        _t(pred), _t(clean), data_range=1.0, reduction="none", dim=(1, 2, 3)).numpy()
    np.testing.assert_allclose(ours, ref_sk, rtol=0, atol=1e-9)
    # torchmetrics converts ln -> log10 with a float32 constant (10 / log(tensor(10.))):
    # a relative error ~4e-8 even in float64
    np.testing.assert_allclose(ours, ref_tm, rtol=1e-7, atol=0)


def test_psnr_of_identical_images_is_inf():
    x = torch.rand(2, 1, 16, 16, dtype=torch.float64)
    assert torch.isinf(psnr(x, x)).all() and (psnr(x, x) > 0).all()


def test_psnr_uses_stated_data_range_not_the_data():
    x = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
    ref = torch.full_like(x, 0.1)  # MSE = 0.01
    assert psnr(x, ref, data_range=1.0).item() == pytest.approx(20.0)
    assert psnr(x, ref, data_range=2.0).item() == pytest.approx(20.0 + 20 * np.log10(2))


def test_ssim_valid_region_matches_skimage(pairs):
    pred, clean = pairs
    ours = ssim(_t(pred), _t(clean)).numpy()
    ref = [sk_ssim(p, c, **SK_SSIM) for p, c in zip(pred, clean, strict=True)]
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)


def test_ssim_matches_torchmetrics_map_and_its_reflect_border_mean(pairs):
    """torchmetrics 1.9 averages its map over the whole reflect-padded image ('reflect');
    its map's interior is our 'valid' map."""
    pred, clean = pairs
    tm_image = _torchmetrics_image()
    tm_mean, tm_map = tm_image.structural_similarity_index_measure(
        _t(pred), _t(clean), data_range=1.0, reduction="none", return_full_image=True)
    np.testing.assert_allclose(ssim_map(_t(pred), _t(clean)).numpy(),
                               tm_map[..., 5:-5, 5:-5].numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(ssim(_t(pred), _t(clean), border="reflect").numpy(),
                               tm_mean.numpy(), rtol=0, atol=1e-9)


def test_ssim_of_identical_images_is_one_and_drops_with_noise(pairs):
    _, clean = pairs
    x = _t(clean)
    np.testing.assert_allclose(ssim(x, x).numpy(), 1.0, atol=1e-12)
    noisy = x + 0.1 * torch.randn(x.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(0))
    assert (ssim(noisy, x) < 0.95).all()


def test_ssim_rejects_images_smaller_than_the_window():
    x = torch.rand(1, 1, 10, 32)
    with pytest.raises(ValueError, match="at least 11"):
        ssim(x, x)


def test_compute_metrics_per_image_from_numpy_stacks(pairs):
    pred, clean = pairs
    out = compute_metrics(pred.astype(np.float32), clean.astype(np.float32), data_range=1.0,
                          metrics=["psnr", "ssim", "mae"])
    assert list(out) == ["psnr", "ssim", "mae"]
    for name, values in out.items():
        assert values.shape == (len(pred),) and values.dtype == np.float64, name
    ref = [sk_psnr(c, p, data_range=1.0) for p, c in
           zip(pred.astype(np.float32).astype(np.float64), clean.astype(np.float32), strict=True)]
    np.testing.assert_allclose(out["psnr"], ref, atol=1e-9)
    only = compute_metrics(torch.from_numpy(pred), torch.from_numpy(clean), metrics=["ssim"])
    assert list(only) == ["ssim"]


def test_compute_metrics_rejects_unknown_names_and_shape_mismatch(pairs):
    pred, clean = pairs
    with pytest.raises(ValueError, match="unknown metric"):
        compute_metrics(pred, clean, metrics=["psnr", "lpipz"])
    with pytest.raises(ValueError, match="same shape"):
        compute_metrics(pred[:, :32], clean)


def test_registry_entries_state_direction_and_description():
    for name, entry in METRICS.items():
        assert callable(entry.fn) and entry.better in ("higher", "lower", "one"), name
        assert entry.description and entry.kind in (
            "full_reference", "input_reference", "no_reference"), name
    assert METRICS["psnr"].higher_is_better and METRICS["ssim"].higher_is_better
    assert METRICS["lpips"].higher_is_better is False
    assert METRICS["epi_ratio"].higher_is_better is None  # 1 is best
