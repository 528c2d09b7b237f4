"""Fluorescence PSF operator (widefield / confocal), Poisson noise, the lm dataset."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.special as sp
import torch

from simart.config import ConfigError, validate_config
from simart.data.shards import Shard
from simart.physics import (
    LMOperator,
    add_poisson_background,
    forward_lm,
    lm_psf,
    lm_transfer,
)
from simart.simulate.lm_dataset import build_lm_shard, lm_catalog, lm_image_params

P = {"na": 0.8, "wavelength_ex_nm": 500.0, "wavelength_em_nm": 500.0, "pinhole_um": 0.1,
     "magnification": 60.0, "refractive_index": 1.33, "pixel_size_nm": 4.0}


def _profile(k):
    c = k.shape[0] // 2
    return k[c, c:]


def _first_min(prof, px):
    i = int(np.argmax((prof[1:-1] < prof[:-2]) & (prof[1:-1] < prof[2:]))) + 1
    a, b, c = prof[i - 1:i + 2]
    return (i + 0.5 * (a - c) / (a - 2 * b + c)) * px


def _fwhm(prof, px):
    half = prof[0] / 2
    i = int(np.argmax(prof < half))
    return 2 * (i - 1 + (prof[i - 1] - half) / (prof[i - 1] - prof[i])) * px


@pytest.mark.parametrize("na, lam", [(0.8, 500.0), (0.45, 450.0)])
def test_widefield_first_zero_at_0_61_lambda_over_na(na, lam):
    p = {**P, "na": na, "wavelength_em_nm": lam}
    prof = _profile(lm_psf(p, (384, 384), confocal=False))
    assert _first_min(prof, P["pixel_size_nm"]) == pytest.approx(0.61 * lam / na, rel=0.02)
    # and the first zero of J1 exactly (0.6098 lambda / NA)
    j1 = sp.jn_zeros(1, 1)[0] / (2 * np.pi)
    assert _first_min(prof, P["pixel_size_nm"]) == pytest.approx(j1 * lam / na, rel=0.005)


def test_small_pinhole_confocal_is_narrower_by_0_72():
    wf = _profile(lm_psf(P, (256, 256), confocal=False))
    cf = _profile(lm_psf(P, (256, 256), confocal=True))
    assert _fwhm(cf, 4.0) / _fwhm(wf, 4.0) == pytest.approx(0.72, rel=0.05)


def test_open_pinhole_confocal_tends_to_the_excitation_psf():
    p = {**P, "wavelength_ex_nm": 350.0, "pinhole_um": 1000.0}  # 8.3 um back-projected radius
    cf = _profile(lm_psf(p, (256, 256), confocal=True))
    ex = _profile(lm_psf({**p, "wavelength_em_nm": 350.0}, (256, 256), confocal=False))
    assert _fwhm(cf, 4.0) == pytest.approx(_fwhm(ex, 4.0), rel=0.02)
    mid = {**p, "pinhole_um": 60.0}  # ~1 Airy unit: in between
    fm = _fwhm(_profile(lm_psf(mid, (256, 256), confocal=True)), 4.0)
    assert _fwhm(cf, 4.0) < fm * 1.001 and fm < _fwhm(wf := _profile(lm_psf(p, (256, 256), False)),
                                                     4.0)
    assert wf[0] > 0


def _batch_params(b, **over):
    p = {k: torch.full((b,), float(v), dtype=torch.float64) for k, v in P.items()}
    p["pixel_size_nm"] = torch.linspace(40.0, 90.0, b, dtype=torch.float64)
    p["confocal"] = torch.tensor([i % 2 for i in range(b)], dtype=torch.float64)
    p.update({k: torch.as_tensor(v, dtype=torch.float64) for k, v in over.items()})
    return p


def test_operator_impulse_response_flux_and_module_agree():
    h = w = 48
    x = torch.zeros(2, 1, h, w, dtype=torch.float64)
    x[:, 0, h // 2, w // 2] = 1.0
    params = _batch_params(2)
    y = forward_lm(x, params)
    for b in range(2):
        row = {k: float(v[b]) for k, v in params.items() if k != "confocal"}
        psf = lm_psf(row, (h, w), confocal=bool(params["confocal"][b]))
        c = slice(h // 2 - 8, h // 2 + 9)  # h * delta = h (away from the mirror images)
        np.testing.assert_allclose(y[b, 0].numpy()[c, c], psf[c, c], atol=2e-3 * psf.max())
        assert float(y[b].sum()) == pytest.approx(1.0, rel=1e-9)  # flux kept
    xr = torch.rand(2, 1, h, w, dtype=torch.float64)
    mod = LMOperator(params, (h, w))
    np.testing.assert_allclose(mod(xr).numpy(), forward_lm(xr, params).numpy(), atol=1e-6)
    yb = torch.rand_like(xr)
    lhs = (mod(xr) * yb).sum()
    rhs = (xr * mod.adjoint(yb)).sum()
    assert float(lhs) == pytest.approx(float(rhs), rel=1e-5)  # self-adjoint
    flat = torch.ones(1, 1, h, w, dtype=torch.float64)
    np.testing.assert_allclose(forward_lm(flat, _batch_params(1)).numpy(), 1.0, atol=1e-9)


def test_operator_is_differentiable_in_x():
    params = _batch_params(1)
    mod = LMOperator(params, (12, 12))
    x = torch.rand(1, 1, 12, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(mod, (x,), fast_mode=True)
    xs = torch.rand(1, 1, 12, 12, requires_grad=True)
    loss = ((forward_lm(xs, params) - 0.5) ** 2).sum()  # the PI-DDPM physics term
    loss.backward()
    assert xs.grad is not None and torch.isfinite(xs.grad).all()
    # the gradient of ||K x - c||^2 is 2 K^T (K x - c) = 2 K (K x - c)
    with torch.no_grad():
        ref = 2 * mod(mod(xs) - 0.5)
    np.testing.assert_allclose(xs.grad.numpy(), ref.numpy(), atol=1e-5)


def test_poisson_noise_with_background_statistics():
    y = torch.full((1, 1, 256, 256), 0.4, dtype=torch.float64)
    g = [torch.Generator().manual_seed(3)]
    out = add_poisson_background(y, 200.0, 0.1, g)
    mean = 0.5  # signal + background, in image units
    assert float(out.mean()) == pytest.approx(mean, rel=0.01)
    assert float(out.var()) == pytest.approx(mean / 200.0, rel=0.03)  # Poisson: var = mean / N
    again = add_poisson_background(y, 200.0, 0.1, [torch.Generator().manual_seed(3)])
    assert torch.equal(out, again)


def test_widefield_blur_matches_an_independent_convolution():
    p = {**P, "pixel_size_nm": 30.0}
    x = np.random.default_rng(0).random((40, 40))
    y = forward_lm(torch.from_numpy(x)[None, None], p)[0, 0].numpy()
    # the operator's kernel on its (2H, 2W) grid, from its transfer function, centred
    k = np.fft.fftshift(np.fft.ifft2(lm_transfer(p, (80, 80), confocal=False)).real)
    k = np.pad(k, ((0, 1), (0, 1)))  # odd size, centred on pixel 40
    ref = ndi.convolve(x, k, mode="reflect")  # scipy 'reflect' = half-sample symmetric
    np.testing.assert_allclose(y, ref, atol=1e-9)


def _cfg(**lm):
    spec = {"images_per_mode": {"train": 3, "val": 2, "test": 2}, "shard_size": 2,
            "image_size": 32, "n_sources": 8, **lm}
    return validate_config({"seed": 3, "lm": spec})


def test_lm_shards_deterministic_and_modes_paired(tmp_path):
    cfg = _cfg()
    cat = lm_catalog(cfg)
    assert set(cat["origin"]) == {"procedural", "skimage"}
    assert set(cat.loc[cat["origin"] == "procedural", "name"]) <= {"filaments", "blobs"}
    paths = [tmp_path / f"{k}.h5" for k in ("wf", "wf2", "cf")]
    t_wf = build_lm_shard(cfg, cat, "widefield", "train", 1, paths[0])
    build_lm_shard(cfg, cat, "widefield", "train", 1, paths[1])
    t_cf = build_lm_shard(cfg, cat, "confocal", "train", 1, paths[2])
    sha = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths[:2]]
    assert sha[0] == sha[1] and len(t_wf) == 1
    assert t_wf["na"].equals(t_cf["na"]) and (t_cf["confocal"] == 1).all()
    with Shard(paths[0]) as a, Shard(paths[2]) as b:
        np.testing.assert_array_equal(a.clean(), b.clean())
        assert not np.allclose(a.degraded(), b.degraded())
    p = lm_image_params(cfg, "train", 0)
    assert 0.4 <= p["na"] <= 1.0 and 0.1 <= p["pinhole_um"] <= 1000.0
    assert p["pinhole_radius_nm"] == pytest.approx(p["pinhole_um"] * 1000 / 2 / 60)


def test_lm_config_validation():
    with pytest.raises(ConfigError, match="lm.params.na"):
        _cfg(params={"na": [1.2, 1.4]})  # exceeds the refractive index 1.33
    cfg = _cfg(params={"na": [1.2, 1.4], "refractive_index": 1.518})
    assert 1.2 <= lm_image_params(cfg, "val", 0)["na"] <= 1.4
    with pytest.raises(ConfigError, match="lm.params.photons"):
        _cfg(params={"photons": [0.0, 10.0]})  # log-uniform needs > 0
