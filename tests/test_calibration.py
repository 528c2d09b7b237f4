"""SIMART's difficulty: pixel sizes follow the image size, blur bands, presets, the oracle
bound and the calibration table."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from simart import physics
from simart.config import param_specs, validate_config
from simart.evaluation import calibration as cal
from simart.physics import severity as sev
from simart.physics.params import sample_params
from simart.restore.oracle import oracle_restore
from simart.simulate.simart_dataset import degrade
from simart.simulate.sources import build_catalog, render_source
from simart.specs.modalities import (
    CLEAN_FEATURE_PX,
    DEFAULT_PARAM_SPECS,
    PCSD_PIXEL_SIZE_NM,
    clean_feature_px,
    default_param_specs,
)

SIZES = (128, 256, 512)
MODALITIES = ("AFM", "TEM", "SEM", "STEM")


def _k90_period(img: np.ndarray) -> float:
    """1 / k90: the period (px) below whose frequency 90 % of the image's contrast lies."""
    p = np.abs(np.fft.fft2(img - img.mean())) ** 2
    k = np.hypot(np.fft.fftfreq(img.shape[0])[:, None], np.fft.fftfreq(img.shape[1])[None])
    order = np.argsort(k.ravel())
    c = np.cumsum(p.ravel()[order])
    return 1.0 / k.ravel()[order][np.searchsorted(c / c[-1], 0.9)]


@pytest.fixture(scope="module")
def catalog():
    return build_catalog(48, 20261121, split_fractions=(0.75, 0.125, 0.125))


@pytest.mark.parametrize("size", [128, 256])
def test_the_clean_sources_feature_size_follows_the_documented_law(catalog, size):
    """clean_feature_px is a measurement of the default sources: re-measure it."""
    periods = [_k90_period(render_source(r, size)) for r in catalog.to_dict("records")]
    assert float(np.median(periods)) == pytest.approx(clean_feature_px(size), rel=0.15)
    assert clean_feature_px(128) == CLEAN_FEATURE_PX


@pytest.mark.parametrize("modality", MODALITIES)
def test_sampled_blur_stays_in_its_band_relative_to_the_features_at_every_size(modality):
    lo, hi = sev.BLUR_BANDS[modality]
    n = 40 if modality == "STEM" else 300
    for size in SIZES:
        spec = default_param_specs(modality, size)
        rng = np.random.default_rng(size)
        rel = np.array([sev.blur_px(modality, sample_params(spec, rng), size)
                        for _ in range(n)]) / clean_feature_px(size)
        assert lo <= rel.min() and rel.max() <= hi, (modality, size, rel.min(), rel.max())


@pytest.mark.parametrize("modality", ["AFM", "SEM", "STEM"])
def test_the_same_draws_give_the_same_relative_blur_at_128_and_512_px(modality):
    """Pixel sizes scale with the feature size: the same physics, the same difficulty."""
    rels = []
    for size in (128, 512):
        rng = np.random.default_rng(1)
        spec = default_param_specs(modality, size)
        rels.append([sev.blur_px(modality, sample_params(spec, rng), size)
                     / clean_feature_px(size) for _ in range(5)])
    np.testing.assert_allclose(rels[0], rels[1], rtol=0.02)


def test_pixel_sizes_scale_with_the_image_size_and_config_values_are_used_as_given():
    ref = DEFAULT_PARAM_SPECS["SEM"]["pixel_size_nm"]
    for size in SIZES:
        f = (128 / size) ** 0.65
        assert default_param_specs("SEM", size)["pixel_size_nm"] == pytest.approx(
            [ref[0] * f, ref[1] * f])
    cfg = validate_config({"image_size": 512,
                           "simart": {"params": {"SEM": {"pixel_size_nm": [1.0, 2.0]}}}})
    assert param_specs(cfg, "SEM")["pixel_size_nm"] == [1.0, 2.0]


def test_the_pcsd_preset_keeps_the_papers_distributions():
    for size in SIZES:
        tem = default_param_specs("TEM", size, "pcsd")
        stem = default_param_specs("STEM", size, "pcsd")
        assert tem["amplitude_contrast"] == 0.0
        assert stem["aperture_mrad"] == [0.0, 10.0]
        assert tem["defocus_nm"] == [-100.0, 100.0] and tem["cs_mm"] == [0.1, 2.0]
        assert default_param_specs("TEM", size)["defocus_nm"] == [20.0, 100.0]  # underfocus
        for m in MODALITIES:
            assert default_param_specs(m, size, "pcsd")["pixel_size_nm"] == \
                PCSD_PIXEL_SIZE_NM[m]
    cfg = validate_config({"simart": {"param_preset": "pcsd"}})
    assert param_specs(cfg, "TEM")["amplitude_contrast"] == 0.0
    assert param_specs(validate_config({}), "TEM")["amplitude_contrast"] == [0.07, 0.2]


def test_blur_px_definitions():
    p = {"pixel_size_nm": 0.5, "sigma_b_nm": 1.5}
    assert sev.blur_px("SEM", p, 128) == pytest.approx(3.0)
    # STEM's Gaussian-equivalent width reads a Gaussian transfer as its sigma
    from simart.physics.sem import gaussian_transfer
    from simart.physics.stem import gaussian_equivalent_sigma_px

    sigma = gaussian_equivalent_sigma_px(gaussian_transfer(1.5, 0.5, (256, 256)))
    assert sigma == pytest.approx(3.0, rel=0.01)
    # a wide source dominates the probe: sigma_p / px
    stem = {"pixel_size_nm": 0.1, "probe_sigma_nm": 0.3, "aperture_mrad": 30.0,
            "defocus_nm": 0.0, "cs_mm": 0.0}
    assert sev.blur_px("STEM", stem, 128) == pytest.approx(3.0, rel=0.1)
    # TEM: first Thon ring |chi| = pi; at C_s = 0 that is k = sqrt(1 / (lambda df))
    lam = physics.electron_wavelength_nm(200.0)
    tem = {"pixel_size_nm": 0.05, "defocus_nm": 100.0, "cs_mm": 0.0}
    assert sev.blur_px("TEM", tem, 128) == pytest.approx(
        1.0 / (math.sqrt(1.0 / (lam * 100.0)) * 0.05), rel=0.01)
    # AFM: the parabolic apex's reach at half the height range, sqrt(2 R d)
    afm = {"pixel_size_nm": 1.0, "tip_radius_nm": 10.0, "tip_half_angle_deg": 30.0,
           "height_scale_nm": 2.0}
    assert sev.blur_px("AFM", afm, 128) == pytest.approx(math.sqrt(2 * 10.0 * 1.0))


@pytest.mark.parametrize("modality", MODALITIES)
def test_the_oracle_beats_the_input_on_every_modality(catalog, modality):
    rows = catalog.to_dict("records")[:4]
    spec = {**default_param_specs(modality, 64), **DEFAULT_PARAM_SPECS["noise"]}
    gains = []
    for j, row in enumerate(rows):
        rng = np.random.default_rng(j)
        p = sample_params(spec, rng)
        p["noise_seed"] = j
        if modality == "STEM":
            p["scan_seed"] = 100 + j
        x = render_source(row, 64)
        y = degrade(x[None], modality, [p])[0]
        o = oracle_restore(x, y, modality, p)
        assert o.dtype == np.float32 and o.min() >= 0 and o.max() <= 1
        gains.append(10 * np.log10(np.mean((y - x) ** 2) / np.mean((o - x) ** 2)))
    assert min(gains) > 0.5, gains


def test_the_oracle_inverts_a_noiseless_linear_operator():
    """Noise -> 0: the oracle Wiener filter is the exact inverse where the transfer is not 0."""
    x = np.random.default_rng(0).random((32, 32))
    p = {"sigma_b_nm": 1.0, "sigma_c_fov": 0.3, "charging_strength": 0.0, "pixel_size_nm": 1.0,
         "gaussian_sigma": 1e-9, "poisson_counts": 1e18}
    with torch.no_grad():
        y = physics.forward("SEM", torch.from_numpy(x)[None, None], p)[0, 0].numpy()
    o = oracle_restore(x, y, "SEM", p)
    assert np.abs(o - x).max() < 1e-3


def test_sample_indices_and_summary_targets():
    assert cal.sample_indices(5, 10).tolist() == [0, 1, 2, 3, 4]
    idx = cal.sample_indices(1000, 4)
    assert idx.tolist() == [0, 333, 666, 999]
    t = pd.DataFrame({"modality": ["TEM"] * 3 + ["SEM"] * 3,
                      "input_psnr": [12.0, 13.0, 14.0, 15.0, 16.0, 17.0],
                      "oracle_psnr": [25.0, 26.0, 27.0, 17.0, 18.0, 19.0],
                      "input_ssim": 0.5, "oracle_ssim": 0.8,
                      "blur_px": 1.0, "blur_rel": 0.1, "snr_db": 10.0})
    t["oracle_gain_db"] = t["oracle_psnr"] - t["input_psnr"]
    s = cal.summary(t).set_index("modality")
    assert s.loc["TEM", "input_psnr"] == 13.0 and s.loc["TEM", "oracle_gain_db"] == 13.0
    assert s.loc["TEM", "input_psnr_in_band"] and s.loc["TEM", "oracle_gain_ok"]
    assert not s.loc["SEM", "input_psnr_in_band"] and not s.loc["SEM", "oracle_gain_ok"]
    md = cal.markdown(cal.summary(t))
    assert "NO: input PSNR, oracle gain" in md and "| TEM | 3 |" in md


def test_calibration_table_and_figure_from_shards(tmp_path):
    from simart.figures.calibration import draw
    from simart.simulate.simart_dataset import build_shard

    cfg = validate_config({"seed": 3, "image_size": 32,
                           "sources": {"n_sources": 8, "split_fractions": [0.5, 0.25, 0.25]},
                           "simart": {"images_per_modality": {"train": 4, "val": 2, "test": 2},
                                      "shard_size": 2}})
    cat = build_catalog(8, 3, split_fractions=(0.5, 0.25, 0.25))
    shards = {}
    for m in ("TEM", "STEM"):
        shards[m] = []
        for split, i in (("train", 0), ("train", 1), ("test", 0)):
            path = tmp_path / f"{m}_{split}_{i}.h5"
            build_shard(cfg, cat, m, split, i, path)
            shards[m].append(str(path))
    table = cal.calibration_table(shards, n_max=4)
    assert list(table["modality"]) == ["TEM"] * 4 + ["STEM"] * 4
    assert list(table["split"][:4]) == ["train", "train", "train", "test"]  # evenly spaced
    assert np.isfinite(table[["input_psnr", "oracle_psnr", "oracle_ssim", "blur_rel"]]).all().all()
    assert table["shard_fingerprint"].str.len().min() > 0
    summ = cal.write(table, tmp_path / "c.csv", tmp_path / "c.md", "Run: test.")
    assert len(summ) == 2 and (tmp_path / "c.md").read_text().count("\n| ") == 2
    out = tmp_path / "c.png"
    draw(pd.read_csv(tmp_path / "c.csv"), [out], dpi=40)
    assert out.stat().st_size > 0
