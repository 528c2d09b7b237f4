"""STEM lattice images: FFT peaks on the projected reciprocal lattice, Z^n column contrast,
deterministic shards with the paper's material split, user CIF folders."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from simart.config import ConfigError, validate_config
from simart.data.shards import Shard
from simart.simulate.crystals import CIFError, project, read_cif
from simart.simulate.stem_lattice import (
    SHIPPED_CIF_DIR,
    build_stem_lattice_shard,
    build_stem_lattice_shards,
    render_lattice,
    resolve_materials,
)
from simart.specs.stem_lattice import SEED_SPLIT

PROBE = {"aperture_mrad": 25.0, "voltage_kv": 200.0, "defocus_nm": 0.0, "cs_mm": 0.0,
         "probe_sigma_nm": 0.03}


def _fft_peaks(img: np.ndarray, px: float, n_peaks: int, pad: int = 8):
    """|k| (nm^-1) and vectors of the strongest local maxima of |FFT| (Hann, zero-padded)."""
    n = img.shape[0]
    win = np.hanning(n)[:, None] * np.hanning(n)[None, :]
    f = np.abs(np.fft.fftshift(np.fft.fft2((img - img.mean()) * win, s=(pad * n, pad * n))))
    m = pad * n
    k = (np.arange(m) - m // 2) / (m * px)
    ky, kx = np.meshgrid(k, k, indexing="ij")
    kk = np.hypot(kx, ky)
    f[kk < 1.0] = 0  # DC and the window's leakage
    f[kk > 0.45 / px] = 0  # stay inside Nyquist
    loc = (f > np.roll(f, 1, 0)) & (f >= np.roll(f, -1, 0)) & (f > np.roll(f, 1, 1)) \
        & (f >= np.roll(f, -1, 1))
    idx = np.argsort(np.where(loc, f, 0).ravel())[::-1][:n_peaks]
    out = []
    for i in idx:
        r, c = divmod(int(i), m)
        # parabolic sub-bin refinement along each axis (log of a Gaussian-like peak)
        lf = np.log(f[r - 1:r + 2, c - 1:c + 2] + 1e-30)
        dr = 0.5 * (lf[0, 1] - lf[2, 1]) / (lf[0, 1] - 2 * lf[1, 1] + lf[2, 1])
        dc = 0.5 * (lf[1, 0] - lf[1, 2]) / (lf[1, 0] - 2 * lf[1, 1] + lf[1, 2])
        out.append(np.array([(c + dc - m // 2), (r + dr - m // 2)]) / (m * px))
    return np.array(out)


@pytest.mark.parametrize("material, axis, d_strongest", [
    ("Si", [1, 1, 0], [0.5431 / math.sqrt(3), 0.5431 / math.sqrt(8)]),  # (111), (220)
    ("GaN", [0, 0, 1], [3.189 * math.sqrt(3) / 2 / 10]),                  # (10-10)
    # SrTiO3 [001]: F(110) = Sr + TiO - 2 O and F(200) beat F(100) = Sr - TiO
    ("SrTiO3", [0, 0, 1], [0.3905 / math.sqrt(2), 0.3905 / 2]),           # (110), (200)
])
def test_fft_peaks_sit_on_the_projected_reciprocal_lattice(material, axis, d_strongest):
    cell = project(read_cif(SHIPPED_CIF_DIR / f"{material}.cif"), axis)
    px, size, rot = 0.02, 256, 23.0
    params = {"pixel_size_nm": px, "rotation_deg": rot, "thickness_nm": 5.0, **PROBE}
    img, _ = render_lattice(cell, size, params, None)
    peaks = _fft_peaks(img, px, 8)
    th = math.radians(rot)
    rot_m = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    recip = cell.reciprocal() @ rot_m.T  # rotated a1*, a2* (nm^-1)
    for k in peaks:
        hk = np.round(np.linalg.solve(recip.T, k))
        g = hk @ recip
        assert np.any(hk != 0)
        # each strong peak is a reciprocal lattice point of the projected cell: |k - g| < 1 %
        assert np.linalg.norm(k - g) / np.linalg.norm(g) < 0.01, (k, g, hk)
    d_meas = np.sort(1 / np.linalg.norm(peaks, axis=1))[::-1]
    for d in d_strongest:  # the expected strongest spacings are there, within 1 %
        assert np.min(np.abs(d_meas - d) / d) < 0.01, (d, d_meas)


def _column_sums(img, xy_nm, px, radius_nm):
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]] * px
    return np.array([img[np.hypot(xx - x, yy - y) < radius_nm].sum() for x, y in xy_nm])


@pytest.mark.parametrize("z_exponent", [1.7, 2.0])
def test_column_intensities_follow_z_to_the_n(tmp_path, z_exponent):
    text = (SHIPPED_CIF_DIR / "Si.cif").read_text().split("loop_")[0]  # header with the cell
    text = text.replace("5.431", "8.0")
    text += ("loop_\n_atom_site_type_symbol\n_atom_site_label\n_atom_site_fract_x\n"
             "_atom_site_fract_y\n_atom_site_fract_z\n_atom_site_occupancy\n"
             "Au Au1 0.0 0.0 0.0 1.0\nSi Si1 0.5 0.5 0.0 1.0\nPb Pb1 0.5 0.0 0.0 0.5\n")
    (tmp_path / "x.cif").write_text(text)
    cell = project(read_cif(tmp_path / "x.cif"), [0, 0, 1])
    px, size = 0.02, 200
    params = {"pixel_size_nm": px, "thickness_nm": 0.8, "z_exponent": z_exponent,
              "gaussian_sigma_nm": 0.05}
    img, facts = render_lattice(cell, size, params, None, probe="gaussian")
    assert facts["n_layers"] == 1
    # column positions from the projected cell (its frame need not follow the CIF's a, b)
    names = {79: "au", 14: "si", 82: "pb"}
    pos = {names[int(z)]: [cell.column_xy()[k] + i * cell.a1 + j * cell.a2
                           for i in range(1, 4) for j in range(1, 4)]
           for k, z in zip(cell.atom_col, cell.atom_z, strict=True)}
    s_au, s_si, s_pb = (_column_sums(img, pos[n], px, 0.18).mean() for n in ("au", "si", "pb"))
    assert s_au / s_si == pytest.approx((79 / 14) ** z_exponent, rel=0.01)
    assert s_pb / s_au == pytest.approx(0.5 * (82 / 79) ** z_exponent, rel=0.01)  # occupancy


def test_thickness_scales_columns_and_defects_change_them():
    cell = project(read_cif(SHIPPED_CIF_DIR / "SrTiO3.cif"), [0, 0, 1])
    p = {"pixel_size_nm": 0.03, "gaussian_sigma_nm": 0.05, "thickness_nm": 3.905}
    one, f1 = render_lattice(cell, 64, p, None, probe="gaussian")
    ten, f10 = render_lattice(cell, 64, {**p, "thickness_nm": 39.05}, None, probe="gaussian")
    assert (f1["n_layers"], f10["n_layers"]) == (10, 100)
    np.testing.assert_allclose(ten, 10 * one, rtol=1e-9, atol=1e-9 * ten.max())
    rng = np.random.default_rng(0)
    dam, fd = render_lattice(cell, 64, {**p, "vacancy_prob": 0.2, "substitution_prob": 0.1,
                                        "dopant_z": 79}, rng, probe="gaussian")
    assert fd["n_vacancies"] > 0 and fd["n_substitutions"] > 0
    assert not np.allclose(dam, one)


def _cfg(tmp_path=None, **stem):
    sl = {"images_per_level": {"train": 4, "val": 2, "test": 3}, "shard_size": 3,
          "image_size": 48, "levels": [1, 5], **stem}
    return validate_config({"seed": 11, "image_size": 32, "stem_lattice": sl})


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_shards_are_deterministic_paired_across_levels_and_split_by_material(tmp_path):
    cfg = _cfg()
    crystals, split = resolve_materials(cfg.stem_lattice)
    assert split == SEED_SPLIT
    a, b, c = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "c.h5"
    t1 = build_stem_lattice_shard(cfg, 1, "test", 0, a, crystals, split)
    build_stem_lattice_shard(cfg, 1, "test", 0, b)
    t5 = build_stem_lattice_shard(cfg, 5, "test", 0, c, crystals, split)
    assert _sha(a) == _sha(b)
    both = {1: tmp_path / "m1.h5", 5: tmp_path / "m5.h5"}  # one job writes every level
    build_stem_lattice_shards(cfg, "test", 0, both, crystals, split)
    assert (_sha(both[1]), _sha(both[5])) == (_sha(a), _sha(c))
    assert list(t1["material"]) == ["BaTiO3", "Al", "ZnMgTe"]
    with Shard(a) as s1, Shard(c) as s5:
        np.testing.assert_array_equal(s1.clean(), s5.clean())  # same structures at each level
        assert not np.array_equal(s1.degraded(), s5.degraded())
        assert s1.clean().min() >= 0 and s1.clean().max() == 1.0
        assert 0 <= s5.degraded().min() and s5.degraded().max() <= 1
        params = s5.params()
    for col in ("zone_axis", "rotation_deg", "pixel_size_nm", "noise_seed", "cdn_static_fraction",
                "aperture_mrad", "thickness_nm", "formula"):
        assert col in params.columns
    assert (t5["cdn_static_fraction"] == 0.9).all() and (t1["cdn_gaussian_sigma"] == 50).all()
    train = build_stem_lattice_shard(cfg, 1, "train", 1, tmp_path / "t.h5", crystals, split)
    assert set(train["material"]) <= set(SEED_SPLIT["train"])
    with pytest.raises(ValueError, match="shard 2 does not exist"):
        build_stem_lattice_shard(cfg, 1, "train", 2, tmp_path / "x.h5", crystals, split)


def test_user_cif_folder_errors_name_the_file_or_skip_it(tmp_path):
    for name in ("Si", "GaN", "MgO", "Al"):
        (tmp_path / f"{name}.cif").write_text((SHIPPED_CIF_DIR / f"{name}.cif").read_text())
    bad = tmp_path / "Oops.cif"
    bad.write_text((SHIPPED_CIF_DIR / "Al.cif").read_text().replace("_cell_length_a", "_cell_x"))
    cfg = _cfg(cif_dir=str(tmp_path), materials=None)
    with pytest.raises(CIFError, match="Oops.cif.*_cell_length_a"):
        resolve_materials(cfg.stem_lattice)
    cfg = _cfg(cif_dir=str(tmp_path), materials=None, on_bad_cif="skip",
               zone_axes=[[0, 0, 1]])
    with pytest.warns(UserWarning, match="Oops.cif"):
        crystals, split = resolve_materials(cfg.stem_lattice)
    assert sorted(crystals) == ["Al", "GaN", "MgO", "Si"]
    assert sorted(n for v in split.values() for n in v) == sorted(crystals)
    assert all(split.values())
    with pytest.warns(UserWarning):
        table = build_stem_lattice_shard(cfg, 1, "train", 0, tmp_path / "s.h5")
    assert set(table["zone_axis"]) == {"[0 0 1]"}
    cfg = _cfg(cif_dir=str(tmp_path), materials={"train": ["Si"], "val": ["GaN"],
                                                  "test": ["Nope"]})
    with pytest.raises(CIFError, match="Nope"):
        resolve_materials(cfg.stem_lattice)


def test_config_rejects_bad_stem_lattice_values():
    with pytest.raises(ConfigError, match="stem_lattice.levels"):
        _cfg(levels=[1, 6])
    with pytest.raises(ConfigError, match="stem_lattice.params.bogus"):
        _cfg(params={"bogus": 1.0})
    with pytest.raises(ConfigError, match="stem_lattice.params.vacancy_prob"):
        _cfg(params={"vacancy_prob": [0.0, 2.0]})


def test_every_shipped_material_renders_along_each_of_its_zone_axes():
    from simart.simulate.crystals import load_crystals
    from simart.specs.stem_lattice import MATERIAL_INFO

    crystals = load_crystals(SHIPPED_CIF_DIR)
    p = {"pixel_size_nm": 0.03, "rotation_deg": 10.0, "thickness_nm": 4.0, **PROBE}
    for name, info in MATERIAL_INFO.items():
        for ax in info["zone_axes"]:
            cell = project(crystals[name], ax)
            img, facts = render_lattice(cell, 48, p, None,
                                        single_layer=info.get("single_layer", False))
            assert np.isfinite(img).all() and img.max() > 0, (name, ax)
            assert facts["n_columns"] > 0


def test_renderer_refuses_an_image_with_unbounded_atom_columns():
    """The last guard against a degenerate projected cell (the CIF checks refuse it first):
    a 1e-4 nm cell would put ~1e10 columns in one 64 px image."""
    from simart.simulate.crystals import ProjectedCell

    tiny = 1e-4
    cell = ProjectedCell("Flat", (0, 0, 1), np.array([tiny, 0.0]), np.array([0.0, tiny]),
                         np.zeros((1, 2)), np.zeros(1, np.int64), np.array([14]),
                         np.ones(1), 0.4)
    p = {"pixel_size_nm": 0.03, "thickness_nm": 4.0, "probe_sigma_nm": 0.03, **PROBE}
    with pytest.raises(ValueError, match=r"'Flat'.*atom columns"):
        render_lattice(cell, 64, p, None)
