"""PIQE and BRISQUE (batched torch) against the pypiqe and brisque packages on the same images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simart.metrics import MetricUnavailable, compute_metric_table, noref

cv2 = pytest.importorskip("cv2")


def _images() -> list[np.ndarray]:
    """Grey float64 images: textures, noise, blur, odd sizes (none with flat 7x7 patches)."""
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:96, 0:96] / 96
    smooth = 0.5 + 0.3 * np.sin(2 * np.pi * 5 * xx) * np.cos(2 * np.pi * 3 * yy)
    return [
        np.clip(smooth + 0.05 * rng.standard_normal(smooth.shape), 0, 1),
        np.clip(smooth + 0.2 * rng.standard_normal(smooth.shape), 0, 1),
        np.clip(0.5 + 0.2 * rng.standard_normal((64, 80)), 0, 1),
        np.clip(cv2.GaussianBlur(rng.random((75, 53)), (9, 9), 2.0) * 1.5 - 0.2, 0, 1),
        0.3 * rng.random((48, 48)) + 0.2,
    ]


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))[None, None]


def test_piqe_matches_pypiqe():
    pypiqe = pytest.importorskip("pypiqe")
    for img in _images():
        expected = pypiqe.piqe(img)[0]
        assert noref.piqe(_t(img)).item() == pytest.approx(expected, abs=1e-8), img.shape


def test_piqe_batched_equals_per_image_and_uniform_image_scores_100():
    imgs = [im[:48, :48] for im in _images()]
    batch = torch.from_numpy(np.stack(imgs))[:, None]
    np.testing.assert_allclose(noref.piqe(batch).numpy(),
                               [noref.piqe(_t(im)).item() for im in imgs], atol=1e-10)
    assert noref.piqe(torch.full((1, 1, 32, 32), 0.4, dtype=torch.float64)).item() == 100.0
    assert np.isnan(noref.piqe(torch.zeros(1, 1, 32, 32, dtype=torch.float64)).item())


class _FixedBrisque:
    """The brisque 0.2.0 package with its numpy-2.4 crash worked around (its features are
    1-element arrays that `float()` no longer accepts) and grey input made RGB."""

    def __init__(self):
        brisque = pytest.importorskip("brisque")

        class Fixed(brisque.BRISQUE):
            def scale_features(self, features):
                return super().scale_features([np.ravel(f)[0] for f in features])

        self.model = Fixed(url=False)

    def score(self, grey: np.ndarray) -> float:
        return float(self.model.score(np.repeat(grey[..., None], 3, axis=-1)))


def test_brisque_matches_the_brisque_package():
    ref = _FixedBrisque()
    for img in _images():
        expected = ref.score(img)
        assert noref.brisque(_t(img)).item() == pytest.approx(expected, abs=1e-6), img.shape


def test_brisque_on_flat_regions_agrees_up_to_the_packages_rounding():
    """A flat 7x7 patch has MSCN exactly 0 up to rounding; which side of 0 the residue falls
    (the AGGD fit splits at 0) depends on the convolution's summation order."""
    skimage_data = pytest.importorskip("skimage.data")
    img = skimage_data.camera()[:128, :128] / 255.0
    assert noref.brisque(_t(img)).item() == pytest.approx(_FixedBrisque().score(img), abs=5e-3)


def test_half_size_bicubic_is_opencv_resize():
    rng = np.random.default_rng(2)
    for shape in [(32, 32), (33, 35), (17, 16)]:
        a = rng.random(shape)
        expected = cv2.resize(a, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)
        np.testing.assert_allclose(noref._half_bicubic(_t(a))[0, 0].numpy(), expected, atol=1e-14)


def test_no_reference_scores_refuse_tiny_or_bad_images():
    with pytest.raises(MetricUnavailable, match="at least 32 px"):
        noref.brisque(torch.rand(1, 1, 24, 24, dtype=torch.float64))
    with pytest.raises(MetricUnavailable, match="at least 16 px"):
        noref.piqe(torch.rand(1, 1, 12, 40, dtype=torch.float64))
    bad = torch.rand(2, 1, 32, 32, dtype=torch.float64)
    bad[1, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        noref.piqe(bad)


def test_missing_brisque_model_is_a_missing_column(monkeypatch):
    real = noref.importlib.util.find_spec
    monkeypatch.setattr(noref.importlib.util, "find_spec",
                        lambda name, *a: None if name == "brisque" else real(name, *a))
    table = compute_metric_table(torch.rand(2, 1, 32, 32), metrics=["brisque", "piqe"])
    assert table["brisque"].isna().all()
    assert table["brisque_reason"].str.contains("brisque==0.2.0").all()
    assert table["piqe"].notna().all()


# ---------------------------------------------------------------- noise level, artefact reduction
def _smooth(n: int = 256) -> np.ndarray:
    yy, xx = np.mgrid[0:n, 0:n] / n
    return 0.5 + 0.3 * np.sin(2 * np.pi * 3 * xx) * np.cos(2 * np.pi * 2 * yy) + 0.1 * xx


def test_noise_sigma_mad_recovers_gaussian_noise_on_a_smooth_image():
    rng = np.random.default_rng(3)
    sigmas = [0.01, 0.05, 0.2]
    imgs = np.stack([_smooth() + s * rng.standard_normal((256, 256)) for s in sigmas])
    est = noref.noise_sigma_mad(torch.from_numpy(imgs)[:, None]).numpy()
    np.testing.assert_allclose(est, sigmas, rtol=0.03)
    assert noref.noise_sigma_mad(_t(_smooth())).item() < 1e-3  # the signal alone: ~0
    assert noref.noise_sigma_mad(torch.full((1, 1, 16, 16), 0.4, dtype=torch.float64)).item() == 0


def test_noise_sigma_mad_is_donohos_estimate_on_the_haar_hh_band():
    pywt = pytest.importorskip("pywt")
    rng = np.random.default_rng(5)
    for shape in [(64, 64), (40, 58), (33, 47)]:  # odd sides: the last row/column is left out
        img = rng.random(shape)
        even = img[: shape[0] // 2 * 2, : shape[1] // 2 * 2]
        _, (_, _, hh) = pywt.dwt2(even, "haar")
        np.testing.assert_allclose(noref.haar_diagonal(_t(img))[0].abs().numpy(), np.abs(hh),
                                   atol=1e-12)
        expected = np.median(np.abs(hh)) / 0.6745
        assert noref.noise_sigma_mad(_t(img)).item() == pytest.approx(expected, rel=1e-12)


def test_artifact_reduction_is_one_minus_the_noise_ratio():
    rng = np.random.default_rng(7)
    clean = _smooth()
    x_in = torch.from_numpy(np.stack([clean + 0.1 * rng.standard_normal(clean.shape)] * 3))[:, None]
    x_out = torch.from_numpy(np.stack([clean + 0.05 * rng.standard_normal(clean.shape),
                                       clean, clean + 0.2 * rng.standard_normal(clean.shape)]))
    got = noref.artifact_reduction(x_in, x_out[:, None]).numpy()
    np.testing.assert_allclose(got, [0.5, 1.0, -1.0], atol=0.04)
    assert noref.artifact_reduction(x_in, x_in).numpy() == pytest.approx([0, 0, 0], abs=1e-12)
    flat = torch.full((1, 1, 16, 16), 0.4, dtype=torch.float64)
    assert np.isnan(noref.artifact_reduction(flat, flat).item())
    with pytest.raises(ValueError, match="same shape"):
        noref.artifact_reduction(x_in, x_out[:, None, :, :128])
    with pytest.raises(MetricUnavailable, match="at least 8 px"):
        noref.noise_sigma_mad(torch.rand(1, 1, 6, 40, dtype=torch.float64))
