"""Composite Degradation Noise: the table, order of operations, statistics, clipping."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simart.simulate.cdn import CDN_LEVELS, CDNParams, apply_cdn, cdn_params

N = 512  # a large image: 262,144 pixels


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_levels_are_the_spec_table():
    table = {1: (50, 0.5, 0.2), 2: (60, 0.6, 0.3), 3: (70, 0.7, 0.4), 4: (80, 0.8, 0.5),
             5: (100, 0.9, 0.6)}
    for level, (sigma, frac, var) in table.items():
        p = cdn_params(level)
        assert (p.gaussian_sigma, p.static_fraction, p.speckle_variance) == (sigma, frac, var)
    assert sorted(CDN_LEVELS) == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="level 6"):
        cdn_params(6)


@pytest.mark.parametrize("level", [1, 3, 5])
def test_static_fraction_within_one_percent_on_a_large_image(level):
    p = cdn_params(level)
    img = np.full((N, N), 100.0)
    # Gaussian and speckle off: a replaced pixel is the only way to leave 100
    out = apply_cdn(img, CDNParams(0.0, p.static_fraction, 0.0), _gen(level))
    assert abs(np.mean(out != np.float32(100.0)) - p.static_fraction) < 0.01
    _, st = apply_cdn(img, p, _gen(level), return_stages=True)
    assert abs(st["mask"].mean() - p.static_fraction) < 0.01


def test_stage_statistics_match_the_table():
    p = cdn_params(2)
    img = np.full((N, N), 128.0)
    out, st = apply_cdn(img, p, _gen(1), return_stages=True)
    g = st["gaussian"] - img
    assert g.std() == pytest.approx(p.gaussian_sigma, rel=0.01) and abs(g.mean()) < 0.5
    m = st["mask"]
    np.testing.assert_array_equal(st["static"][~m], st["gaussian"][~m])
    rep = st["static"][m]
    assert rep.min() >= 0 and rep.max() <= 255
    assert rep.mean() == pytest.approx(127.5, abs=0.5) and rep.std() == pytest.approx(
        255 / np.sqrt(12), rel=0.01)
    ratio = st["speckle"] / st["static"] - 1.0  # speckle multiplies EVERY pixel
    assert ratio[m].std() == pytest.approx(np.sqrt(p.speckle_variance), rel=0.02)
    assert ratio[~m].std() == pytest.approx(np.sqrt(p.speckle_variance), rel=0.02)
    np.testing.assert_array_equal(out, np.clip(st["speckle"], 0, 255).astype(np.float32))


def test_order_gaussian_then_static_then_speckle_from_the_output_alone():
    img = np.zeros((N, N))
    # all pixels static, no speckle: the Gaussian came BEFORE the replacement, so the
    # output is exactly U(0, 255) (nothing at the clip limits)
    out = apply_cdn(img, CDNParams(50.0, 1.0, 0.0), _gen(2))
    assert out.std() == pytest.approx(255 / np.sqrt(12), rel=0.01)
    assert np.mean((out == 0) | (out == 255)) == 0.0
    # all pixels static, speckle on: speckle came AFTER the replacement (wider than uniform)
    out = apply_cdn(img, CDNParams(0.0, 1.0, 0.2), _gen(3))
    u = np.random.default_rng(0).uniform(0, 255, N * N)
    s = np.random.default_rng(1).normal(0, np.sqrt(0.2), N * N)
    expect = np.clip(u * (1 + s), 0, 255)
    assert out.std() == pytest.approx(expect.std(), rel=0.01)
    assert out.std() > 1.1 * 255 / np.sqrt(12)
    # speckle of a Gaussian-noisy image: multiplicative, so the spread grows with intensity
    bright = apply_cdn(np.full((N, N), 200.0), CDNParams(10.0, 0.0, 0.01), _gen(4))
    dark = apply_cdn(np.full((N, N), 50.0), CDNParams(10.0, 0.0, 0.01), _gen(4))
    assert bright.std() == pytest.approx(np.sqrt(10**2 * 1.01 + 200**2 * 0.01), rel=0.02)
    assert dark.std() == pytest.approx(np.sqrt(10**2 * 1.01 + 50**2 * 0.01), rel=0.02)


def test_output_is_clipped_and_replayable():
    img = np.random.default_rng(5).uniform(0, 255, (128, 128))
    a = apply_cdn(img, 5, _gen(9))
    b = apply_cdn(img, 5, _gen(9))
    assert a.dtype == np.float32 and a.shape == img.shape
    assert a.min() == 0.0 and a.max() == 255.0  # level 5 saturates some pixels
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, apply_cdn(img, 5, _gen(10)))
    with pytest.raises(ValueError, match="static_fraction"):
        CDNParams(10.0, 1.5, 0.1)
