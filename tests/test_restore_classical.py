"""Classical baselines on synthetic operators: Gaussian OTFs, a signed CTF-like OTF and a
paraboloid AFM tip with scipy grey-scale morphology (stand-ins for ``simart.physics``)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft as sfft
from scipy import ndimage
from skimage.restoration import richardson_lucy as sk_richardson_lucy

from simart import physics
from simart.restore import classical as C
from simart.restore.classical import NotApplicableError

PAD = 16


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, float) - b) ** 2)))


def _image(n: int = 64, seed: int = 0) -> np.ndarray:
    """Smooth blobs, a grating and a step edge in [0.05, 0.95]: a non-trivial test image."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n] / n
    img = 0.3 + 0.15 * np.sin(2 * np.pi * 5 * xx) + 0.2 * (xx + yy > 1.1)
    for cy, cx in rng.random((6, 2)):
        img += 0.3 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.003)
    return np.clip(img, 0.05, 0.95)


def _gauss_otf(shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    ky, kx = sfft.fftfreq(shape[0])[:, None], sfft.fftfreq(shape[1])[None, :]
    return np.exp(-2 * np.pi**2 * sigma_px**2 * (kx**2 + ky**2)).astype(complex)


def _ctf_otf(shape: tuple[int, int]) -> np.ndarray:
    """A TEM-like signed CTF: -sin(chi) with an envelope, DC passed with gain 1."""
    ky, kx = sfft.fftfreq(shape[0])[:, None], sfft.fftfreq(shape[1])[None, :]
    k2 = kx**2 + ky**2
    otf = -np.sin(100 * k2 - 300 * k2**2) * np.exp(-20 * k2)
    otf[0, 0] = 1.0
    return otf.astype(complex)


NO_PAD = C.FFTGrid()
REFLECT = C.FFTGrid.reflect(PAD)


def _mirror(shape: tuple[int, int]) -> C.FFTGrid:
    """The physics convention: whole-image symmetric extension to (2H, 2W)."""
    return C.FFTGrid(((0, shape[0]), (0, shape[1])), "symmetric")


def _blur(x: np.ndarray, otf_fn, grid: C.FFTGrid = REFLECT) -> np.ndarray:
    """The forward-operator convention: extend, FFT-filter, crop."""
    xp = grid.pad(x)
    return grid.crop(sfft.ifft2(sfft.fft2(xp) * otf_fn(xp.shape)).real, x.shape)


def _noisy(y: np.ndarray, counts: float, sigma: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(np.clip(y, 0, None) * counts) / counts + sigma * rng.standard_normal(y.shape)


def _fake_linear_otf(modality, params, shape, image_shape=None):
    if modality == "TEM":
        return _ctf_otf(shape)
    if modality in ("SEM", "STEM"):
        return _gauss_otf(shape, params["sigma_b_nm"] / params["pixel_size_nm"])
    raise ValueError(f"{modality}: non-linear operator")


@pytest.fixture(params=["mirror", "reflect"])
def fake_physics(monkeypatch, request):
    """Stand-in physics API: Gaussian OTFs (SEM/STEM), signed CTF (TEM), scipy morphology.

    FFT extension: 'mirror' = physics' ``((0, H), (0, W))`` symmetric pad_width, 'reflect' =
    an int pad width (reflect ``PAD`` px per side). Returns a function shape -> FFTGrid.
    """
    if request.param == "mirror":
        pad_width, grid = (lambda shape: ((0, shape[0]), (0, shape[1]))), _mirror
    else:
        pad_width, grid = (lambda shape: PAD), (lambda shape: REFLECT)
    monkeypatch.setattr(physics, "linear_otf", _fake_linear_otf, raising=False)
    monkeypatch.setattr(physics, "fft_pad_width", pad_width, raising=False)
    return grid


@pytest.fixture
def fake_afm(monkeypatch):
    """Stand-in AFM physics: a paraboloid tip and scipy grey-scale erosion."""
    monkeypatch.setattr(physics, "erode_exact", _erode, raising=False)
    monkeypatch.setattr(physics, "tip_kernel", _tip_kernel, raising=False)


def _params(**kw) -> dict[str, float]:
    base = {"pixel_size_nm": 1.0, "sigma_b_nm": 1.5, "poisson_counts": 1e4,
            "gaussian_sigma": 0.01, "tip_radius_nm": 4.0, "tip_half_angle_deg": 20.0,
            "height_scale_nm": 5.0, "modality": "SEM"}  # extra non-float keys are ignored
    return {**base, **kw}


# --------------------------------------------------------------------------------- Wiener


def test_wiener_without_noise_is_the_exact_inverse_filter():
    x = _image()
    otf = _gauss_otf(x.shape, 1.0)  # smallest gain exp(-pi^2/2) ~ 7e-3: no zeros
    y = _blur(x, lambda s: otf, NO_PAD)
    out = C.wiener_deconvolve(y, otf, NO_PAD, 0.0, clip=False)
    np.testing.assert_allclose(out, x, atol=1e-5)  # float32 output


def test_wiener_without_noise_inverts_the_mirror_extended_operator_exactly():
    """The physics grid's mirror extension is periodic: no boundary mismatch at all."""
    x = _image()
    grid = _mirror(x.shape)
    y = _blur(x, lambda s: _gauss_otf(s, 1.0), grid)
    out = C.wiener_deconvolve(y, _gauss_otf((128, 128), 1.0), grid, 0.0, clip=False)
    np.testing.assert_allclose(out, x, atol=1e-5)


def test_wiener_with_tiny_noise_restores_a_gaussian_blur():
    x = _image()
    y = _noisy(_blur(x, lambda s: _gauss_otf(s, 2.0)), 1e6, 1e-3)
    otf = _gauss_otf((64 + 2 * PAD,) * 2, 2.0)
    out = C.wiener_deconvolve(y, otf, REFLECT, C.noise_variance(y, _params(
        poisson_counts=1e6, gaussian_sigma=1e-3)))
    assert out.dtype == np.float32 and out.shape == x.shape
    assert _psnr(out, x) > _psnr(y, x) + 5.0


def test_powerlaw_signal_model_recovers_the_spectral_slope():
    """A random field with |X(k)|² ∝ |k|^-3, blurred, with known noise: fitted β ≈ 3."""
    n = 128
    k = np.hypot(sfft.fftfreq(n)[:, None], sfft.fftfreq(n)[None, :])
    k[0, 0] = 1.0 / n
    rng = np.random.default_rng(0)
    x = sfft.ifft2(sfft.fft2(rng.standard_normal((n, n))) * k**-1.5).real
    otf = _gauss_otf((n, n), 1.0)
    noise_var = 1e-4 * x.var()
    y = sfft.ifft2(sfft.fft2(x) * otf).real + np.sqrt(noise_var) * rng.standard_normal((n, n))
    s = C.signal_spectrum(y, otf, noise_var, "powerlaw")
    slope = np.log(s[0, 32] / s[0, 4]) / np.log(32 / 4)
    assert slope == pytest.approx(-3.0, abs=0.3)
    with pytest.raises(ValueError, match="signal_model"):
        C.signal_spectrum(y, otf, noise_var, "pink")


def test_edge_taper_leaves_the_image_region_unchanged():
    x = _image(32)
    padded = REFLECT.pad(x)
    tapered = C.edge_taper(padded, REFLECT.taper_width(x.shape))
    inner = slice(PAD // 2, -PAD // 2)
    np.testing.assert_array_equal(tapered[inner, inner], padded[inner, inner])
    assert np.abs(tapered[0] - tapered[-1]).max() < np.abs(padded[0] - padded[-1]).max() / 3
    assert _mirror(x.shape).taper_width(x.shape) == 0  # periodic extension: nothing to taper


def test_wiener_registry_uses_the_operator_otf_and_handles_a_signed_ctf(fake_physics):
    x = _image()
    for modality, otf_fn in [("SEM", lambda s: _gauss_otf(s, 1.5)), ("TEM", _ctf_otf)]:
        y = _noisy(_blur(x, otf_fn, fake_physics(x.shape)), 1e5, 0.005).astype(np.float32)
        out = C.CLASSICAL_MODELS["wiener"](y, modality, _params(poisson_counts=1e5,
                                                                 gaussian_sigma=0.005))
        assert _psnr(out, x) > _psnr(y, x) + 2.0, modality


def test_wiener_on_afm_is_not_applicable(fake_physics):
    with pytest.raises(NotApplicableError, match="non-linear"):
        C.restore_wiener(_image(), "AFM", _params())


# ------------------------------------------------------------------------- Richardson-Lucy


def test_rl_matches_skimage_on_a_periodic_image():
    """Our circular-FFT RL = skimage's (linear conv) in the middle of a 3x3 periodic tiling."""
    x = _image(32)
    otf = _gauss_otf(x.shape, 1.2)
    y = _blur(x, lambda s: otf, NO_PAD)
    psf = C.psf_from_otf(otf)
    psf /= psf.sum()  # psf_from_otf zeroes round-off lobes: renormalise for skimage
    ours = C.richardson_lucy_deconvolve(y, psf, NO_PAD, num_iter=10, clip=False)
    kernel = sfft.fftshift(psf)[1:, 1:]  # 31 x 31, centre at [15, 15]
    sk = sk_richardson_lucy(np.tile(y, (3, 3)), kernel, num_iter=10, clip=False)[32:64, 32:64]
    np.testing.assert_allclose(ours, sk, atol=1e-5)


@pytest.mark.parametrize("gain", [1.0, 1.5])
def test_rl_conserves_flux(gain):
    x = _image()
    otf = gain * _gauss_otf(x.shape, 2.0)
    y = _noisy(_blur(x, lambda s: otf, NO_PAD), 1e4, 0.0)
    out = C.richardson_lucy_deconvolve(y, C.psf_from_otf(otf), NO_PAD, num_iter=20, clip=False)
    assert gain * out.astype(float).sum() == pytest.approx(y.sum(), rel=1e-5)


def test_rl_improves_psnr_on_a_gaussian_blur(fake_physics):
    x = _image()
    y = _noisy(_blur(x, lambda s: _gauss_otf(s, 1.5), fake_physics(x.shape)), 1e5, 0.002)
    out = C.CLASSICAL_MODELS["richardson_lucy"](y, "STEM", _params(poisson_counts=1e5,
                                                                    gaussian_sigma=0.002))
    assert out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    assert _psnr(out, x) > _psnr(y, x) + 2.0


def test_rl_on_a_signed_otf_is_not_applicable(fake_physics):
    with pytest.raises(NotApplicableError, match="negative lobes"):
        C.psf_from_otf(_ctf_otf((64, 64)))
    with pytest.raises(NotApplicableError, match="CTF is signed"):
        C.restore_richardson_lucy(_image(), "TEM", _params())
    with pytest.raises(NotApplicableError, match="non-linear"):
        C.restore_richardson_lucy(_image(), "AFM", _params())


# ---------------------------------------------------------------------------------- BM3D


def test_bm3d_improves_psnr_on_a_noisy_image():
    x = _image(64)
    params = _params(poisson_counts=1e3, gaussian_sigma=0.05)
    y = _noisy(x, 1e3, 0.05).astype(np.float32)
    out = C.restore_bm3d(y, "TEM", params)
    assert out.dtype == np.float32 and _psnr(out, x) > _psnr(y, x) + 3.0


def test_bm3d_runs_single_threaded(monkeypatch):
    """The binary's multi-threaded aggregation order varies (see ``C.bm3d_profile``)."""
    import bm3d

    seen = []
    real = bm3d.bm3d

    def spy(z, sigma_psd, profile="np", *args, **kwargs):
        seen.append(profile)
        return real(z, sigma_psd, profile, *args, **kwargs)

    monkeypatch.setattr(bm3d, "bm3d", spy)
    C.restore_bm3d(_noisy(_image(32), 1e3, 0.05), "TEM", _params())
    # the 'np' profile (what profile="np" selects), changed only in its thread count
    assert len(seen) == 1 and type(seen[0]) is bm3d.BM3DProfile
    assert vars(seen[0]) == {"num_threads": 1}


def test_bm3d_and_tip_erosion_are_bit_identical_call_to_call():
    x = _image(96)
    params = _params(poisson_counts=1e3, gaussian_sigma=0.05)
    y = _noisy(x, 1e3, 0.05).astype(np.float32)
    a, b = C.restore_bm3d(y, "TEM", params), C.restore_bm3d(y.copy(), "TEM", params)
    assert a.tobytes() == b.tobytes()
    p_afm = _params(poisson_counts=1e3, gaussian_sigma=0.05, pixel_size_nm=2.0)
    a, b = (C.restore_tip_erosion(y, "AFM", p_afm) for _ in range(2))
    assert a.tobytes() == b.tobytes()


# ------------------------------------------------------------------------------ AFM tip


def _tip_kernel(radius_nm, half_angle_deg, pixel_nm, height_nm):
    """Symmetric paraboloid tip K <= 0 (image units), 9x9 px (the cone is ignored here)."""
    u = np.arange(-4, 5) * pixel_nm
    return -(u[:, None] ** 2 + u[None, :] ** 2) / (2 * radius_nm) / height_nm


def _dilate(x, kernel):  # I(x) = max_u [S(x+u) + K(u)] for a symmetric K
    return ndimage.grey_dilation(x, structure=kernel, mode="nearest")


def _erode(x, kernel):
    return ndimage.grey_erosion(np.asarray(x, float), structure=kernel, mode="nearest")


def test_tip_erosion_of_a_dilated_image_is_its_closing_and_bounds_the_surface(fake_afm):
    x = _image()
    kernel = _tip_kernel(4.0, 20.0, 1.0, 5.0)
    out = C.tip_erode(_dilate(x, kernel), kernel, denoise="none", clip=False)
    closing = ndimage.grey_closing(x, structure=kernel, mode="nearest")
    np.testing.assert_allclose(out, closing, atol=1e-6)
    assert (out >= x.astype(np.float32) - 1e-6).all()


def test_tip_erosion_recovers_the_surface_where_the_tip_touches(fake_afm):
    x = np.full((48, 48), 0.5)
    x[20:22, 20:22] = 0.1  # a pit narrower than the tip: its bottom is never touched
    kernel = _tip_kernel(4.0, 20.0, 1.0, 5.0)
    out = C.tip_erode(_dilate(x, kernel), kernel, denoise="none", clip=False)
    far = np.ones_like(x, bool)
    far[14:28, 14:28] = False
    np.testing.assert_allclose(out[far], 0.5, atol=1e-6)
    assert (out[20:22, 20:22] > 0.1 + 0.05).all()


def test_tip_erosion_registry_denoises_then_erodes(fake_afm):
    x = _image()
    params = _params(poisson_counts=1e3, gaussian_sigma=0.03)
    kernel = _tip_kernel(4.0, 20.0, 1.0, 5.0)
    y = _noisy(_dilate(x, kernel), 1e3, 0.03).astype(np.float32)
    out = C.CLASSICAL_MODELS["tip_erosion"](y, "AFM", params)
    assert out.dtype == np.float32 and _psnr(out, x) > _psnr(y, x) + 3.0
    with pytest.raises(NotApplicableError, match="no tip"):
        C.restore_tip_erosion(y, "SEM", params)


# ------------------------------------------------------------------------------ registry


def test_noisy_is_the_unclipped_measurement():
    y = np.array([[-0.1, 0.5], [1.2, 0.3]], np.float32)
    out = C.CLASSICAL_MODELS["noisy"](y, "AFM", {})
    np.testing.assert_array_equal(out, y)
    assert out is not y


def test_registry_names_match_the_config():
    assert set(C.CLASSICAL_MODELS) == {"noisy", "wiener", "richardson_lucy", "bm3d", "tip_erosion"}


def test_restore_batch_marks_not_applicable_images_missing(fake_physics):
    ys = np.stack([_image(32, s) for s in range(2)]).astype(np.float32)
    preds, status = C.restore_batch("richardson_lucy", ys, "TEM", [_params(), _params()])
    assert np.isnan(preds).all() and all(s.startswith("missing: TEM CTF is signed") for s in status)
    preds, status = C.restore_batch("wiener", ys, "SEM", [_params(), _params()])
    assert status == ["ok", "ok"] and np.isfinite(preds).all()


def test_bad_inputs_raise_value_errors_naming_the_problem():
    with pytest.raises(ValueError, match="unknown modality 'XRD'"):
        C.restore_bm3d(_image(), "XRD", _params())
    with pytest.raises(ValueError, match="'gaussian_sigma' missing"):
        C.restore_bm3d(_image(), "SEM", {"poisson_counts": 1e3})
    with pytest.raises(ValueError, match="unknown model"):
        C.restore_batch("nlm", np.zeros((1, 16, 16)), "SEM", [_params()])


def test_psf_from_otf_removes_the_gibbs_lobes_of_a_subpixel_blur():
    otf = _gauss_otf((64, 64), 0.3)  # narrower than a pixel: cut at Nyquist -> small lobes
    raw = sfft.ifft2(otf).real
    assert -0.05 < raw.min() / raw.max() < -1e-3
    psf = C.psf_from_otf(otf)
    assert psf.min() >= 0 and psf.sum() == pytest.approx(raw.sum())


# ---------------------------------------------------- with the real operators (when present)

_REAL_API = ("forward", "add_noise", "linear_otf", "fft_pad_width", "tip_kernel", "erode_exact")
_EXPECTED_OK = {"AFM": {"noisy", "bm3d", "tip_erosion"}, "TEM": {"noisy", "wiener", "bm3d"},
                "SEM": {"noisy", "wiener", "richardson_lucy", "bm3d"},
                "STEM": {"noisy", "wiener", "richardson_lucy", "bm3d"}}
_REAL_PARAMS = {
    "AFM": {"tip_radius_nm": 10.0, "tip_half_angle_deg": 20.0, "height_scale_nm": 10.0,
            "pixel_size_nm": 2.0},
    "TEM": {"defocus_nm": 60.0, "cs_mm": 1.0, "pixel_size_nm": 0.1, "amplitude_contrast": 0.1},
    "SEM": {"sigma_b_nm": 3.0, "sigma_c_fov": 0.5, "charging_strength": 0.05,
            "pixel_size_nm": 1.0},
    "STEM": {"probe_sigma_nm": 0.2, "aperture_mrad": 20.0, "defocus_nm": 0.0, "cs_mm": 0.0,
             "scan_jitter_px": 0.0, "scan_drift_px": 0.0, "pixel_size_nm": 0.05},
}


@pytest.mark.skipif(not all(hasattr(physics, n) for n in _REAL_API),
                    reason="simart.physics operators not available yet")
@pytest.mark.parametrize("modality", ["AFM", "TEM", "SEM", "STEM"])
def test_models_run_on_the_real_operators(modality):
    import torch

    x = _image(64)
    params = {**_REAL_PARAMS[modality], "poisson_counts": 1e4, "gaussian_sigma": 0.01}
    kw = {"seeds": torch.tensor([0])} if modality == "STEM" else {}
    y = physics.forward(modality, torch.from_numpy(x)[None, None], params, **kw)
    y = physics.add_noise(y, 1e4, 0.01, torch.Generator().manual_seed(0))[0, 0].numpy()
    ok = set()
    for name in C.CLASSICAL_MODELS:
        preds, status = C.restore_batch(name, y[None], modality, [params])
        if status == ["ok"]:
            ok.add(name)
            assert preds.shape == (1, 64, 64) and np.isfinite(preds).all(), name
    assert ok == _EXPECTED_OK[modality]
    best = {"AFM": "tip_erosion", "TEM": "wiener", "SEM": "wiener", "STEM": "richardson_lucy"}
    restored = C.CLASSICAL_MODELS[best[modality]](y, modality, params)
    assert _psnr(restored, x) > _psnr(y, x) + 1.0
