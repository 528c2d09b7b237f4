"""Noise statistics, determinism, parameter sampling and the defaults table."""

import numpy as np
import pytest
import torch

from simart import physics


def _gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(("level", "lam"), [(0.5, 1e3), (0.2, 1e4), (0.9, 1e5)])
def test_poisson_noise_variance_is_x_over_lambda(level, lam):
    y = torch.full((1, 1, 512, 512), level, dtype=torch.float64)
    n = physics.add_noise(y, lam, 0.0, _gen(1))
    assert float(n.mean()) == pytest.approx(level, rel=1e-3)
    assert float(n.var()) == pytest.approx(level / lam, rel=0.02)
    # quantised in steps of 1 / lambda
    counts = (n * lam).numpy()
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-6)


def test_gaussian_sigma_and_negative_values_clamped_before_poisson():
    y = torch.zeros(2, 1, 400, 400, dtype=torch.float64)
    y[1] = -0.3  # max(y, 0) = 0 -> no shot noise, no counts
    sig = torch.tensor([0.02, 0.05], dtype=torch.float64)
    n = physics.add_noise(y, 1e4, sig, _gen(2))
    assert float(n[0].std()) == pytest.approx(0.02, rel=0.02)
    assert float(n[1].std()) == pytest.approx(0.05, rel=0.02)
    assert abs(float(n[1].mean())) < 1e-3  # clamped to 0, then zero-mean Gaussian


def test_same_seed_gives_bit_identical_noise_and_per_image_generators_are_independent():
    y = torch.rand(3, 1, 32, 32)
    lam = torch.tensor([1e3, 1e4, 1e5], dtype=torch.float64)
    sig = torch.tensor([0.01, 0.03, 0.05], dtype=torch.float64)
    a = physics.add_noise(y, lam, sig, [_gen(s) for s in (5, 6, 7)])
    b = physics.add_noise(y, lam, sig, [_gen(s) for s in (5, 6, 7)])
    assert torch.equal(a, b) and a.dtype == y.dtype
    # an image's noise depends only on its own generator, not on the batch
    c = physics.add_noise(y[1:2], lam[1:2], sig[1:2], [_gen(6)])
    assert torch.equal(a[1:2], c)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        d = physics.add_noise(y, lam, sig, [_gen(s) for s in (5, 6, 7)])
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(a, d)
    single1 = physics.add_noise(y, lam, sig, _gen(9))
    assert torch.equal(single1, physics.add_noise(y, lam, sig, _gen(9)))
    assert not torch.equal(single1, a)


def test_noise_argument_errors_name_the_parameter():
    y = torch.rand(2, 1, 4, 4)
    with pytest.raises(ValueError, match="poisson_counts"):
        physics.add_noise(y, 0.0, 0.01, _gen(0))
    with pytest.raises(ValueError, match="gaussian_sigma"):
        physics.add_noise(y, 1e3, torch.tensor([0.1, 0.2, 0.3]), _gen(0))
    with pytest.raises(ValueError, match="generators"):
        physics.add_noise(y, 1e3, 0.01, [_gen(0)])


def test_sample_params_is_reproducible_sorted_and_validated():
    spec = {"b": [0.0, 1.0], "a": [10.0, 20.0], "c": 3.0}
    p1 = physics.sample_params(spec, np.random.default_rng(4))
    p2 = physics.sample_params(dict(reversed(list(spec.items()))), np.random.default_rng(4))
    assert p1 == p2 and p1["c"] == 3.0 and 10 <= p1["a"] <= 20 and 0 <= p1["b"] <= 1
    rng = np.random.default_rng(4)
    assert p1["a"] == rng.uniform(10, 20) and p1["b"] == rng.uniform(0, 1)  # sorted order
    with pytest.raises(ValueError, match="'cs_mm'"):
        physics.sample_params({"cs_mm": [2.0, 0.1]}, np.random.default_rng(0))
    with pytest.raises(ValueError, match="'x'"):
        physics.sample_params({"x": [1.0, 2.0, 3.0]}, np.random.default_rng(0))
    with pytest.raises(ValueError, match="'y'"):
        physics.sample_params({"y": "big"}, np.random.default_rng(0))


def test_default_specs_cover_every_modality_and_drive_every_operator():
    assert physics.MODALITIES == ("AFM", "TEM", "SEM", "STEM")
    assert set(physics.DEFAULT_PARAM_SPECS) == {*physics.MODALITIES, "noise"}
    assert physics.DEFAULT_PARAM_SPECS["noise"] == {"poisson_counts": [1e3, 1e5],
                                                    "gaussian_sigma": [0.01, 0.05]}
    assert physics.SEED_STEM_APERTURE_MRAD == [0.0, 10.0]
    rng = np.random.default_rng(0)
    x = torch.rand(2, 1, 32, 32)
    for m in physics.MODALITIES:
        spec = physics.DEFAULT_PARAM_SPECS[m]
        assert "pixel_size_nm" in spec
        for v in spec.values():
            assert not isinstance(v, list) or (len(v) == 2 and v[0] <= v[1])
        rows = [physics.sample_params(spec, rng) for _ in range(2)]
        p = {k: torch.tensor([r[k] for r in rows], dtype=torch.float64) for k in rows[0]}
        y = physics.forward(m, x, p, seeds=torch.tensor([1, 2]))
        assert y.shape == x.shape and y.dtype == x.dtype and torch.isfinite(y).all()
    with pytest.raises(ValueError, match="modality"):
        physics.forward("XRAY", x, {})
    with pytest.raises(ValueError, match="cs_mm"):
        physics.forward("TEM", x, {"defocus_nm": 1.0, "pixel_size_nm": 0.1})


@pytest.mark.parametrize("exponent", [1.0, 2.0])
def test_colored_noise_has_the_power_law_it_is_asked_for(exponent):
    """Power ~ 1/f^exponent: the log-log slope of the mean periodogram is -exponent; each
    row has zero mean and unit population std; the same generator state, the same draw."""
    from simart.physics.noise import colored_noise

    x = colored_noise(torch.Generator().manual_seed(5), (64, 4096), exponent)
    assert torch.allclose(x.mean(-1), torch.zeros(64, dtype=x.dtype), atol=1e-12)
    assert torch.allclose(x.std(-1, correction=0), torch.ones(64, dtype=x.dtype), atol=1e-9)
    spec = (torch.fft.rfft(x, dim=-1).abs() ** 2).mean(0)[1:]
    f = torch.fft.rfftfreq(4096, dtype=x.dtype)[1:]
    slope = np.polyfit(np.log(f.numpy()), np.log(spec.numpy()), 1)[0]
    assert abs(slope + exponent) < 0.1, slope
    again = colored_noise(torch.Generator().manual_seed(5), (64, 4096), exponent)
    assert torch.equal(x, again)
