"""Cu(111) LDOS: Friedel period pi/k(E), 1/r decay, multiple scattering vs single / Born,
symmetry, the radial-table Green's function; the stm_cu111 dataset."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from simart.config import ConfigError, validate_config
from simart.data.shards import Shard
from simart.simulate import ldos as L
from simart.simulate.stm_cu111 import build_stm_shard, stm_image_params


def test_surface_state_constants():
    k_f = L.wavenumber(0.0).real
    assert k_f == pytest.approx(2.12, abs=0.01)  # 0.212 A^-1
    assert L.wavelength_nm(0.0) == pytest.approx(2.97, abs=0.01)  # lambda_F ~ 30 A
    assert math.pi / k_f == pytest.approx(1.48, abs=0.01)  # LDOS period ~ 14.8 A
    assert L.rho0() == pytest.approx(0.38 / (2 * math.pi * 2 * 0.0380998), rel=1e-6)
    np.testing.assert_array_equal(L.ldos_map((8, 8), 0.1, np.zeros((0, 2)), 0.0), 1.0)


def _radial(energy, r, **kw):
    pts = np.stack([r, np.zeros_like(r)], 1)
    return L.ldos_points(pts, np.zeros((1, 2)), energy, eta_ev=0.0005, **kw)[0] - 1.0


@pytest.mark.parametrize("energy", [0.0, 0.25])
def test_friedel_period_is_pi_over_k_and_decays_like_one_over_r(energy):
    r = np.arange(3.0, 40.0, 0.002)
    d = _radial(energy, r)
    zc = r[:-1][np.sign(d[:-1]) != np.sign(d[1:])]
    period = 2 * np.mean(np.diff(zc))  # two zero crossings per period
    expect = math.pi / L.wavenumber(energy).real
    assert period == pytest.approx(expect, rel=0.02)
    # envelope: |delta rho| * r is flat (2D: each G0 ~ r^-1/2), so the amplitude decays ~1/r
    near = np.abs(d[(r > 4) & (r < 4 + expect)]).max()
    far = np.abs(d[(r > 30) & (r < 30 + expect)]).max()
    assert far < near
    assert (far * 30) / (near * 4) == pytest.approx(1.0, abs=0.1)


def test_table_green_function_matches_direct_hankel():
    rng = np.random.default_rng(0)
    sc = rng.uniform(0, 20, (12, 2))
    pts = rng.uniform(0, 20, (3000, 2))
    a = L.ldos_points(pts, sc, [-0.1, 0.0, 0.3], eta_ev=0.01)
    b = L.ldos_points(pts, sc, [-0.1, 0.0, 0.3], eta_ev=0.01, exact=True)
    assert np.abs(a - b).max() < 1e-4 * np.abs(b - 1).max()


def test_two_strong_scatterers_differ_from_the_sum_of_single_ones():
    sc = np.array([[0.0, 0.0], [1.6, 0.0]])
    pts = np.stack(np.meshgrid(np.linspace(-4, 6, 60), np.linspace(-4, 4, 50)), -1).reshape(-1, 2)
    full = L.ldos_points(pts, sc, 0.0, phase_shift=math.pi / 2, order="full")[0] - 1
    single = L.ldos_points(pts, sc, 0.0, phase_shift=math.pi / 2, order="single")[0] - 1
    rel = np.linalg.norm(full - single) / np.linalg.norm(single)
    assert rel > 0.1  # multiple scattering is a large effect for strong scatterers
    one = L.ldos_points(pts, sc[:1], 0.0, phase_shift=math.pi / 2, order="full")[0]
    np.testing.assert_allclose(one, L.ldos_points(pts, sc[:1], 0.0, phase_shift=math.pi / 2,
                                                  order="single")[0], rtol=1e-12)


def test_weak_scatterers_converge_to_first_order_born():
    sc = np.array([[0.0, 0.0], [1.6, 0.0], [0.7, 1.9]])
    pts = np.random.default_rng(1).uniform(-5, 6, (2000, 2))
    errs = []
    for delta in (0.04, 0.01, 0.0025):
        full = L.ldos_points(pts, sc, 0.05, phase_shift=delta, order="full")[0] - 1
        born = L.ldos_points(pts, sc, 0.05, phase_shift=delta, order="born")[0] - 1
        errs.append(np.linalg.norm(full - born) / np.linalg.norm(born))
    assert errs[-1] < 0.01
    assert errs[0] / errs[1] == pytest.approx(4, rel=0.25)  # the error is O(delta)
    assert errs[1] / errs[2] == pytest.approx(4, rel=0.25)


def test_map_has_the_symmetry_of_the_arrangement():
    n, px = 64, 0.2
    c = (n - 1) * px / 2
    sc = np.array([[c - 1.5, c - 2.0], [c + 1.5, c - 2.0], [c, c + 2.5]])  # mirror x -> -x
    m = L.ldos_map((n, n), px, sc, 0.02, phase_shift=1.0, absorption=0.3)[0]
    np.testing.assert_allclose(m, m[:, ::-1], atol=1e-9)
    ring = L.corral((c, c), 4.0, 12)  # 12-fold ring: 90 degree rotation maps it onto itself
    m = L.ldos_map((n, n), px, ring, 0.0, phase_shift=math.pi / 2)[0]
    np.testing.assert_allclose(m, np.rot90(m), atol=1e-9)


def _cfg(**stm):
    s = {"images_per_domain": {"train": 3, "val": 2, "test": 2}, "shard_size": 2,
         "image_size": 40, **stm}
    return validate_config({"seed": 5, "stm_cu111": s})


def test_stm_shards_deterministic_unpaired_domains(tmp_path):
    cfg = _cfg()
    paths = {}
    for dom in ("clean", "blurry", "experimental"):
        paths[dom] = tmp_path / f"{dom}.h5"
        build_stm_shard(cfg, dom, "train", 0, paths[dom])
    again = tmp_path / "again.h5"
    build_stm_shard(cfg, "experimental", "train", 0, again)
    sha = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (paths["experimental"], again)]
    assert sha[0] == sha[1]
    with Shard(paths["clean"]) as s:
        np.testing.assert_array_equal(s.clean(), s.degraded())
        clean_c = s.clean()
    with Shard(paths["blurry"]) as s:
        clean_b, deg_b, tab = s.clean(), s.degraded(), s.params()
    assert not np.allclose(clean_b, deg_b)
    assert not np.allclose(clean_c, clean_b)  # each domain has its own layouts (unpaired)
    assert {"bias_ev", "n_total_scatterers", "blu_tip_sigma_nm", "noise_seed", "layout",
            "ldos_lo", "ldos_hi"} <= set(tab.columns)
    assert clean_b.min() >= 0 and clean_b.max() <= 1
    p_exp, layout, _ = stm_image_params(cfg, "experimental", "train", 0)
    assert "exp_shot_counts" in p_exp and layout.shape[1] == 4
    with pytest.raises(ValueError, match="domain 'noisy'"):
        build_stm_shard(cfg, "noisy", "train", 0, tmp_path / "x.h5")


def test_stm_config_overrides_are_validated():
    cfg = _cfg(params={"ldos": {"bias_ev": 0.01}, "blurry": {"tip_sigma_nm": 0.2}})
    p, _, _ = stm_image_params(cfg, "blurry", "val", 1)
    assert p["bias_ev"] == 0.01 and p["blu_tip_sigma_nm"] == 0.2
    with pytest.raises(ConfigError, match="stm_cu111.params.ldos.nope"):
        _cfg(params={"ldos": {"nope": 1.0}})
