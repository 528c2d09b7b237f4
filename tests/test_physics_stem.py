"""STEM: Airy probe, source broadening, intensity conservation, scan distortion."""

import numpy as np
import pytest
import torch
from scipy.special import j1

from simart import physics
from simart.physics.stem import coherent_otf_profile, scan_offsets, shift_lines

STEM = {"probe_sigma_nm": 0.08, "aperture_mrad": 22.0, "defocus_nm": 2.0, "cs_mm": 0.005,
        "voltage_kv": 200.0, "scan_jitter_px": 0.4, "scan_drift_px": 0.8, "pixel_size_nm": 0.05}


def _radial_profile_x(img):
    c = img.shape[0] // 2
    return img[c, c:] / img[c, c]


def test_aberration_free_probe_is_the_airy_pattern():
    alpha, px = 0.020, 0.004
    lam = physics.electron_wavelength_nm(200.0)
    probe = physics.stem_probe(px, (512, 512), aperture_mrad=alpha * 1e3)
    assert probe.sum() == pytest.approx(1.0, abs=1e-12)
    prof = _radial_profile_x(probe)
    r = np.arange(prof.size) * px
    first_min = np.argmax((prof[1:-1] < prof[:-2]) & (prof[1:-1] < prof[2:])) + 1
    assert abs(r[first_min] - 0.6098 * lam / alpha) <= px  # first zero at 0.61 lambda/alpha
    v = 2 * np.pi * alpha / lam * r
    airy = np.ones_like(v)
    airy[1:] = (2 * j1(v[1:]) / v[1:]) ** 2
    assert np.abs(prof[:100] - airy[:100]).max() < 5e-3
    assert prof[first_min] < 2e-3


def test_coherent_otf_is_the_aberration_free_chat_function():
    q, t = coherent_otf_profile(200.0, 20.0, 0.0, 0.0)
    km = 0.020 / physics.electron_wavelength_nm(200.0)
    s = np.clip(q / (2 * km), 0, 1)
    chat = 2 / np.pi * (np.arccos(s) - s * np.sqrt(1 - s * s))
    assert t[0] == 1.0 and np.abs(t - chat).max() < 3e-3


def test_large_source_dominates_and_small_paper_apertures_dominate_instead():
    px = 0.01
    big = physics.stem_probe(px, (256, 256), aperture_mrad=30.0, probe_sigma_nm=0.3)
    prof = _radial_profile_x(big)
    r = np.arange(prof.size) * px
    gauss = np.exp(-0.5 * (r / 0.3) ** 2)
    assert np.abs(prof[:60] - gauss[:60]).max() < 0.02  # ~ the Gaussian source alone
    # the paper's small apertures: a 2 mrad probe is far wider than sigma_p = 0.05 nm
    px = 0.02
    small = _radial_profile_x(physics.stem_probe(px, (512, 512), aperture_mrad=2.0,
                                                 probe_sigma_nm=0.05))
    hwhm = np.argmax(small < 0.5) * px
    lam = physics.electron_wavelength_nm(200.0)
    # Airy: (2 J1(v)/v)^2 = 1/2 at v = 1.616, i.e. r = 0.257 lambda/alpha = 0.32 nm
    assert hwhm == pytest.approx(0.2572 * lam / 0.002, abs=2 * px)
    assert hwhm > 5 * 0.05  # vs the source: half width 1.18 sigma_p = 0.06 nm


def test_probe_sums_to_one_and_constant_image_stays_constant():
    p = {k: STEM[k] for k in ("aperture_mrad", "defocus_nm", "cs_mm", "probe_sigma_nm")}
    probe = physics.stem_probe(0.05, (64, 64), **p)
    assert probe.sum() == pytest.approx(1.0, abs=1e-12)
    x = torch.full((2, 1, 20, 28), 0.6, dtype=torch.float64)
    torch.testing.assert_close(physics.forward("STEM", x, STEM), x, rtol=0, atol=1e-12)
    seeds = torch.tensor([3, 4])
    torch.testing.assert_close(physics.forward("STEM", x, STEM, seeds=seeds), x, rtol=0,
                               atol=1e-12)
    # alpha = 0 transmits only the mean
    x2 = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    y = physics.forward("STEM", x2, {**STEM, "aperture_mrad": 0.0})
    torch.testing.assert_close(y, torch.full_like(y, float(x2.mean())), rtol=0, atol=1e-12)


def test_linear_otf_reproduces_forward_without_scan_distortion():
    torch.manual_seed(2)
    x = torch.rand(1, 1, 36, 28, dtype=torch.float64)
    y = physics.forward("STEM", x, STEM)  # no seed: no scan distortion
    shape = physics.fft_padded_shape(x.shape[-2:])
    otf = physics.linear_otf("STEM", STEM, shape)
    assert otf.dtype == np.complex128 and abs(otf[0, 0] - 1) < 1e-15
    xp = np.pad(x[0, 0].numpy(), physics.fft_pad_width(x.shape[-2:]), mode="symmetric")
    ref = physics.crop_fft(np.fft.ifft2(np.fft.fft2(xp) * otf).real, x.shape[-2:])
    np.testing.assert_allclose(y[0, 0].numpy(), ref, atol=1e-12)


def test_scan_distortion_shifts_each_line_by_jitter_plus_drift():
    h, w = 40, 64
    seed = 12345
    off = scan_offsets(seed, h, STEM["scan_jitter_px"], STEM["scan_drift_px"])
    # the distortion acts after the probe: y = shift_lines(x * P, offsets)
    x = torch.rand(1, 1, h, w, dtype=torch.float64)
    y = physics.forward("STEM", x, STEM, seeds=torch.tensor([seed]))
    assert torch.equal(y, shift_lines(physics.forward("STEM", x, STEM), off[None]))
    # on a ramp, each line's shift is read back exactly (linear interpolation)
    ramp = torch.arange(w, dtype=torch.float64).expand(1, 1, h, w).contiguous()
    shifted = shift_lines(ramp, off[None])
    torch.testing.assert_close((shifted - ramp)[0, 0, :, 8:56].mean(dim=1), off, rtol=0,
                               atol=1e-12)
    # drift slope and jitter std as documented
    drift_only = scan_offsets(seed, h, 0.0, 1.0)
    assert float(drift_only[-1] - drift_only[0]) == pytest.approx((h - 1) / 100)
    jit = scan_offsets(7, 20000, 0.5, 0.0)
    assert float(jit.std()) == pytest.approx(0.5, rel=0.03)


def test_scan_seed_is_deterministic_and_read_from_params():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 24, 24)
    seeds = torch.tensor([11, 2**62 - 1], dtype=torch.int64)
    a = physics.forward("STEM", x, STEM, seeds=seeds)
    b = physics.forward("STEM", x, {**STEM, "scan_seed": seeds})
    assert torch.equal(a, b)
    c = physics.forward("STEM", x, STEM, seeds=torch.tensor([12, 2**62 - 1]))
    assert not torch.equal(a[0], c[0]) and torch.equal(a[1], c[1])


def test_stem_is_differentiable_with_scan_distortion():
    x = torch.rand(1, 1, 16, 16, dtype=torch.float64, requires_grad=True)
    physics.forward("STEM", x, STEM, seeds=torch.tensor([5])).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
