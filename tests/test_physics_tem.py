"""TEM: relativistic wavelength, CTF zeros, envelopes, DC convention, linear_otf."""

import math

import numpy as np
import pytest
import torch

from simart import physics
from simart.physics.tem import chi

TEM = {"defocus_nm": 60.0, "cs_mm": 1.2, "voltage_kv": 200.0, "focal_spread_nm": 3.0,
       "amplitude_contrast": 0.1,
       "convergence_mrad": 0.1, "pixel_size_nm": 0.08}


@pytest.mark.parametrize(("kv", "pm"), [(200.0, 2.508), (300.0, 1.969), (100.0, 3.701)])
def test_relativistic_electron_wavelength(kv, pm):
    assert physics.electron_wavelength_nm(kv) * 1e3 == pytest.approx(pm, abs=6e-4)
    # against the textbook formula lambda = h / sqrt(2 m e V (1 + eV / 2mc^2))
    h, m, e, c = 6.62607015e-34, 9.1093837015e-31, 1.602176634e-19, 299792458.0
    v = kv * 1e3
    lam = h / math.sqrt(2 * m * e * v * (1 + e * v / (2 * m * c * c)))
    assert physics.electron_wavelength_nm(kv) == pytest.approx(lam * 1e9, rel=1e-7)


def _zeros_of_chi(df, cs_mm, lam, n):
    """k where chi(k) = n pi: solve (pi/2) Cs lam^3 k^4 - pi lam df k^2 + n pi = 0 in k^2."""
    cs = cs_mm * 1e6
    a, b, c = 0.5 * cs * lam**3, -lam * df, float(n)
    disc = b * b - 4 * a * c
    if disc < 0:
        return []
    roots = [(-b + s * math.sqrt(disc)) / (2 * a) for s in (-1, 1)]
    return [math.sqrt(r) for r in roots if r > 0]


@pytest.mark.parametrize("df", [-80.0, 0.0, 60.0])
def test_ctf_vanishes_and_changes_sign_where_chi_is_n_pi(df):
    lam = physics.electron_wavelength_nm(200.0)
    zeros = []
    for n in range(-12, 6):
        if n != 0:
            zeros += _zeros_of_chi(df, 1.2, lam, n)
    zeros = sorted(z for z in zeros if 0.2 < z < 6.0)
    assert len(zeros) >= 3
    for k0 in zeros:
        assert physics.ctf(np.array([k0]), df, 1.2)[0] == pytest.approx(0.0, abs=1e-9)
        eps = 1e-4
        lo, hi = physics.ctf(np.array([k0 - eps, k0 + eps]), df, 1.2, 200.0, 3.0, 0.1)
        assert lo * hi < 0  # a true zero crossing, also with envelopes
        n = chi(np.array([k0]), df, 1.2, lam)[0] / math.pi
        assert n == pytest.approx(round(n), abs=1e-9)


def test_scherzer_convention_positive_defocus_is_underfocus():
    lam, cs = physics.electron_wavelength_nm(200.0), 1.2
    df = 1.2 * math.sqrt(cs * 1e6 * lam)  # Scherzer defocus: POSITIVE in this convention
    scale = (cs * 1e6 * lam**3) ** 0.25  # chi = pi (1.2 q^2 - q^4 / 2), q = k scale
    k_zero = math.sqrt(2.4) / scale  # first zero of the Scherzer passband
    k = np.linspace(1e-3, k_zero, 500)[:-1]
    band = physics.ctf(k, df, cs)
    assert np.all(band < 0)  # one broad band of one sign, no zero before k_zero
    assert physics.ctf(np.array([k_zero]), df, cs)[0] == pytest.approx(0.0, abs=1e-9)
    over = physics.ctf(k, -df, cs)  # overfocus: chi never turns back, zeros come early
    assert np.sum(np.diff(np.sign(over)) != 0) >= 1


def test_envelopes_are_at_most_one_and_one_at_zero():
    lam = physics.electron_wavelength_nm(200.0)
    k = np.linspace(0, 12, 1000)
    et = physics.temporal_envelope(k, 3.0, lam)
    es = physics.spatial_envelope(k, 60.0, 1.2, 0.1, lam)
    for e in (et, es):
        assert e[0] == 1.0 and np.all(e <= 1.0) and np.all(e >= 0.0)
    assert np.all(np.diff(et) <= 0)
    # temporal envelope: exp(-1/2 pi^2 lam^2 Delta^2 k^4) = e^-1 at the information limit
    k_info = (2 / (math.pi**2 * lam**2 * 9.0)) ** 0.25
    assert physics.temporal_envelope(np.array([k_info]), 3.0, lam)[0] == pytest.approx(math.exp(-1))
    assert np.all(np.abs(physics.ctf(k, 60.0, 1.2, 200.0, 3.0, 0.1)) <= et * es + 1e-15)


def test_forward_keeps_the_mean_and_matches_linear_otf_exactly():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 40, 56, dtype=torch.float64)
    params = {**TEM, "defocus_nm": torch.tensor([60.0, -30.0], dtype=torch.float64)}
    y = physics.forward("TEM", x, params)
    assert y.shape == x.shape and y.dtype == x.dtype
    # even extension + even OTF: every quadrant is a mirror image, so the mean is exact
    torch.testing.assert_close(y.mean(dim=(-1, -2)), x.mean(dim=(-1, -2)), rtol=0, atol=1e-12)
    const = physics.forward("TEM", torch.full((1, 1, 16, 16), 0.3, dtype=torch.float64), TEM)
    torch.testing.assert_close(const, torch.full_like(const, 0.3))
    for b, df in enumerate((60.0, -30.0)):
        shape = physics.fft_padded_shape(x.shape[-2:])
        otf = physics.linear_otf("TEM", {**TEM, "defocus_nm": df}, shape)
        assert otf.dtype == np.complex128 and otf.shape == shape and otf[0, 0] == 1.0
        xp = np.pad(x[b, 0].numpy(), physics.fft_pad_width(x.shape[-2:]), mode="symmetric")
        ref = physics.crop_fft(np.fft.ifft2(np.fft.fft2(xp) * otf).real, x.shape[-2:])
        np.testing.assert_allclose(y[b, 0].numpy(), ref, atol=1e-12)


def test_forward_is_differentiable_and_float32_close_to_float64():
    x = torch.rand(1, 1, 32, 32, dtype=torch.float64, requires_grad=True)
    physics.forward("TEM", x, TEM).square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    y32 = physics.forward("TEM", x.detach().float(), TEM)
    assert y32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), physics.forward("TEM", x.detach(), TEM),
                               rtol=0, atol=1e-5)


@pytest.mark.parametrize("modality", ["TEM", "SEM", "STEM"])
def test_fast_dct_path_matches_the_differentiable_fft_path(modality):
    params = {"TEM": TEM,
              "SEM": {"sigma_b_nm": 2.0, "sigma_c_fov": 0.4, "charging_strength": 0.2,
                      "pixel_size_nm": 1.0},
              "STEM": {"probe_sigma_nm": 0.1, "aperture_mrad": 20.0, "defocus_nm": 1.0,
                       "cs_mm": 0.003, "pixel_size_nm": 0.05}}[modality]
    torch.manual_seed(3)
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 2e-6)):
        x = torch.rand(2, 1, 33, 40, dtype=dtype)
        with torch.no_grad():
            fast = physics.forward(modality, x, params)  # scipy DCT
        xg = x.clone().requires_grad_(True)
        slow = physics.forward(modality, xg, params)  # torch FFT of the symmetric extension
        assert fast.dtype == slow.dtype == dtype
        torch.testing.assert_close(fast, slow.detach(), rtol=0, atol=tol)


@pytest.mark.parametrize("amp", [0.0, 0.07, 0.2, 0.5])
@pytest.mark.parametrize("df", [-80.0, 0.0, 60.0])
def test_ctf_with_amplitude_contrast_matches_the_analytic_formula(amp, df):
    """CTF = -(sqrt(1 - A^2) sin chi + A cos chi) E_t E_s (CTFFIND's convention), written
    out here from chi, the wavelength and the envelopes' textbook forms."""
    lam = 1239.841984 / math.sqrt(200e3 * (2 * 510998.95 + 200e3))
    k = np.linspace(0.0, 8.0, 801)
    cs = 1.2e6
    ch = math.pi * lam * df * k**2 - 0.5 * math.pi * cs * lam**3 * k**4
    e_t = np.exp(-0.5 * (math.pi * lam * 3.0) ** 2 * k**4)
    e_s = np.exp(-(math.pi * 0.1e-3 / lam) ** 2 * (cs * lam**3 * k**3 - df * lam * k) ** 2)
    want = -(math.sqrt(1 - amp * amp) * np.sin(ch) + amp * np.cos(ch)) * e_t * e_s
    got = physics.ctf(k, df, 1.2, 200.0, 3.0, 0.1, amplitude_contrast=amp)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    # the same as a phase shift of the aberration function, -sin(chi + asin A) E_t E_s
    # (how cryoJAX writes the amplitude-contrast ratio)
    np.testing.assert_allclose(got, -np.sin(ch + math.asin(amp)) * e_t * e_s, rtol=0, atol=1e-12)
    assert got[0] == pytest.approx(-amp)  # amplitude contrast keeps k -> 0 at -A
    # the operator's transfer function is the same CTF on the FFT grid, with T(0) = 1
    p = {**TEM, "defocus_nm": df, "amplitude_contrast": amp}
    otf = physics.linear_otf("TEM", p, (64, 64)).real
    kk = np.fft.fftfreq(64)[1:32] / p["pixel_size_nm"]
    np.testing.assert_allclose(otf[0, 1:32], physics.ctf(kk, df, 1.2, 200.0, 3.0, 0.1, amp),
                               rtol=0, atol=1e-12)
    assert otf[0, 0] == 1.0


def test_zero_amplitude_contrast_is_the_papers_pure_phase_ctf_bit_for_bit():
    x = torch.rand(2, 1, 24, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    pure = {k: v for k, v in TEM.items()}
    pure["amplitude_contrast"] = 0.0
    k = np.linspace(0.0, 6.0, 97)
    assert np.array_equal(physics.ctf(k, 60.0, 1.2, 200.0, 3.0, 0.1, 0.0),
                          -np.sin(chi(k, 60.0, 1.2, physics.electron_wavelength_nm(200.0)))
                          * physics.temporal_envelope(k, 3.0, physics.electron_wavelength_nm(200.0))
                          * physics.spatial_envelope(k, 60.0, 1.2, 0.1,
                                                     physics.electron_wavelength_nm(200.0)))
    with torch.no_grad():
        y = physics.forward("TEM", x, pure)
    assert torch.isfinite(y).all()


@pytest.mark.bad_input
@pytest.mark.parametrize("amp", [-0.1, 1.5])
def test_amplitude_contrast_outside_zero_one_is_refused_by_name(amp):
    with pytest.raises(ValueError, match="amplitude_contrast"):
        physics.ctf(np.array([1.0]), 60.0, 1.2, amplitude_contrast=amp)
