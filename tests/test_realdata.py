"""Real micrographs (simart.realdata): paths, reading, restoring, measuring, tables, figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simart.realdata import (
    EXPERT_NOTE,
    MEASURES,
    RealDataError,
    expand_paths,
    load_real,
    measures,
    restore,
    restore_file,
    write_tables,
    write_tiff,
)

# one TEM condition inside the simart TEM ranges (as .ci/make_real_config.py)
TEM = {"amplitude_contrast": 0.1, "convergence_mrad": 0.1, "cs_mm": 1.2, "defocus_nm": -80.0,
       "focal_spread_nm": 3.0, "voltage_kv": 200.0, "pixel_size_nm": 0.15,
       "gaussian_sigma": 0.04, "poisson_counts": 50000.0}


def _simulated_tem(n: int = 2, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    from simart.simulate.simart_dataset import degrade
    from simart.simulate.sources import skimage_image

    clean = np.stack([skimage_image(k, size) for k in ("camera", "coins")[:n]])
    rows = [{**TEM, "noise_seed": 3 + i} for i in range(n)]
    return clean, degrade(clean, "TEM", rows)


@pytest.fixture(scope="module")
def tem_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("real")
    clean, noisy = _simulated_tem()
    paths = []
    for i, y in enumerate(noisy):  # instrument-like units: counts with an offset
        p = d / f"tem_{i}.tif"
        write_tiff(p, y * 1000 + 200, 0.15)
        paths.append(p)
    return d, paths, clean


def test_expand_paths_folders_patterns_and_files(tmp_path, tem_files):
    d, paths, _ = tem_files
    assert list(expand_paths([str(d)])) == ["tem_0", "tem_1"]
    assert expand_paths([str(d / "tem_*.tif")]) == {"tem_0": str(paths[0]),
                                                     "tem_1": str(paths[1])}
    (tmp_path / "a.emi").write_bytes(b"x")
    (tmp_path / "a b.tif").write_bytes(b"x")
    assert list(expand_paths([str(tmp_path / "a*")])) == ["a_b"]  # .emi: its .ser holds it


@pytest.mark.bad_input
@pytest.mark.parametrize("what", ["missing", "pattern", "extension", "duplicate", "empty"])
def test_expand_paths_refuses_with_the_key_and_path(tmp_path, what):
    key = "real_data.sets.x.paths"
    (tmp_path / "sub").mkdir()
    (tmp_path / "img.tif").write_bytes(b"x")
    (tmp_path / "sub" / "img.mrc").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    entries = {"missing": [str(tmp_path / "nope.tif")],
               "pattern": [str(tmp_path / "*.dm4")],
               "extension": [str(tmp_path / "notes.txt")],
               "duplicate": [str(tmp_path / "img.tif"), str(tmp_path / "sub" / "img.mrc")],
               "empty": [str(tmp_path / "e")]}
    if what == "empty":
        (tmp_path / "e").mkdir()
    with pytest.raises(RealDataError, match=key) as err:
        expand_paths(entries[what], key)
    assert str(tmp_path) in str(err.value)


def test_load_real_normalises_keeps_pixel_size_and_fills_nans(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(500, 50, (48, 40))
    data[3, 4] = np.nan
    write_tiff(tmp_path / "a.tif", data, 2.5)
    img = load_real(tmp_path / "a.tif")
    assert img.pixel_size_nm == pytest.approx(2.5) and img.pixel_size_from == "file"
    assert img.nan_filled == 1 and np.isfinite(img.data).all()
    lo, hi = np.percentile(img.data, (0.1, 99.9))
    assert (img.norm.lo, img.norm.hi) == pytest.approx((lo, hi))
    assert img.x01.min() == pytest.approx(-(lo - img.data.min()) / (hi - lo))
    np.testing.assert_allclose(img.norm.inverse(img.x01), img.data)
    write_tiff(tmp_path / "b.tif", data, None)
    assert load_real(tmp_path / "b.tif", pixel_size_nm=1.5).pixel_size_from == "config"
    assert load_real(tmp_path / "b.tif").pixel_size_nm is None
    assert load_real(tmp_path / "a.tif", crop=32).data.shape == (32, 32)


@pytest.mark.bad_input
def test_load_real_refuses_images_too_small(tmp_path):
    write_tiff(tmp_path / "s.tif", np.ones((20, 64)), 1.0)
    with pytest.raises(RealDataError, match=r"s\.tif: image 20x64 is smaller than 32"):
        load_real(tmp_path / "s.tif")


def test_restore_rows_noisy_classical_and_missing_operator(tem_files):
    _, paths, _clean = tem_files
    img = load_real(paths[0])
    out, reason, _, _ = restore(img, "noisy", dataset="simart", subset="TEM")
    np.testing.assert_array_equal(out, img.x01.astype(np.float32))
    out, reason, _, _ = restore(img, "wiener", dataset="simart", subset="TEM")
    assert out is None and "real_data.sets.<name>.operator" in reason
    out, reason, _, _ = restore(img, "wiener", dataset="simart", subset="TEM", operator=TEM)
    assert reason == "" and out.shape == img.x01.shape
    # the known operator's Wiener filter removes noise: the noise level estimate drops
    m = measures(img.x01, out, img.pixel_size_nm)
    assert m["noise_sigma"] < 0.7 * m["noise_sigma_input"]
    assert 0.3 < m["artifact_reduction"] < 1


def test_measures_columns_reasons_and_units(tem_files):
    _, paths, _ = tem_files
    img = load_real(paths[1])
    m = measures(img.x01, img.x01, img.pixel_size_nm)
    assert set(MEASURES) <= set(m) and all(f"{k}_reason" in m for k in MEASURES)
    assert m["pss_input"] == pytest.approx(1.0)
    assert m["noise_sigma"] == pytest.approx(m["noise_sigma_input"])
    assert m["artifact_reduction"] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(m["frc1_res_nm"], m["frc1_res_px"] * 0.15)  # NaN: unresolved
    assert np.isfinite(m["frc1_res_px"]) or m["frc1_res_px_reason"].startswith("not resolved")
    missing = measures(img.x01, None, None)
    assert np.isnan(missing["piqe"]) and missing["piqe_reason"] == "row missing"
    assert missing["frc1_res_nm_input_reason"] == "the image has no pixel size"


def test_restore_file_writes_tiff_in_input_units_and_table(tmp_path, tem_files):
    import tifffile

    from simart.data.readers import read_image

    _, paths, _ = tem_files
    t = restore_file(paths[0], "wiener", tmp_path / "w.tif", dataset="simart", subset="TEM",
                     operator=TEM, set_name="s", out_table=tmp_path / "w.parquet")
    assert pd.read_parquet(tmp_path / "w.parquet").equals(t)
    row = t.iloc[0]
    assert row["status"] == "ok" and row["image"] == "tem_0" and row["set"] == "s"
    back = read_image(tmp_path / "w.tif")
    assert back.pixel_size_nm == pytest.approx(0.15)
    assert tifffile.imread(tmp_path / "w.tif").dtype == np.float32
    img = load_real(paths[0])
    out01, *_ = restore(img, "wiener", dataset="simart", subset="TEM", operator=TEM)
    np.testing.assert_allclose(back.data, img.norm.inverse(out01).astype(np.float32),
                               rtol=1e-6)
    miss = restore_file(paths[0], "bm3d", tmp_path / "b.tif", dataset="simart", subset="TEM")
    assert miss.iloc[0]["status"] == "missing"
    np.testing.assert_allclose(read_image(tmp_path / "b.tif").data, img.data, rtol=1e-6)


def test_tables_and_figure(tmp_path, tem_files):
    from simart.figures.real import real_set_figure

    _, paths, _ = tem_files
    tables = []
    for model, op in (("noisy", None), ("wiener", TEM), ("bm3d", None)):
        for p in paths:
            stem = tmp_path / "real" / "s" / model / Path(p).stem
            stem.parent.mkdir(parents=True, exist_ok=True)
            restore_file(p, model, f"{stem}.tif", dataset="simart", subset="TEM",
                         operator=op, set_name="s", out_table=f"{stem}.parquet")
            tables.append(f"{stem}.parquet")
    out = {k: str(tmp_path / f"t.{k}") for k in ("csv", "md", "images_csv",
                                                  "images_parquet")}
    rows = write_tables(tables, out)
    assert len(rows) == 6
    summary = pd.read_csv(out["csv"])
    assert list(summary["model"]) == ["noisy", "wiener", "bm3d"]
    assert (summary["restored"] == [2, 2, 0]).all()
    assert "operator" in summary.loc[2, "missing"]
    md = Path(out["md"]).read_text()
    assert EXPERT_NOTE in md and "s BRISQUE" in md and "s PIQE" in md
    real_set_figure(tables, [str(tmp_path / "f.png")], n_images=2, dpi=60)
    assert (tmp_path / "f.png").stat().st_size > 5_000


def test_simart_restore_command_writes_the_rule_pixels(tmp_path, tem_files, capsys):
    import tifffile

    from simart.cli import main

    d, paths, _ = tem_files
    args = [f"--param={k}={v}" for k, v in TEM.items()]
    assert main(["restore", "--model", "wiener", "--dataset", "simart", "--subset", "TEM",
                 *args, str(d), "--out", str(tmp_path / "o")]) == 0
    assert "2 of 2 images restored with wiener" in capsys.readouterr().out
    restore_file(paths[1], "wiener", tmp_path / "rule.tif", dataset="simart", subset="TEM",
                 operator=TEM)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "o/tem_1.tif"),
                                  tifffile.imread(tmp_path / "rule.tif"))
    table = pd.read_csv(tmp_path / "o/measures.csv")
    assert list(table["image"]) == ["tem_0", "tem_1"]


@pytest.mark.bad_input
@pytest.mark.parametrize("extra, message", [
    ([], "needs the simart/TEM operator's parameters: give each as --param"),
    (["--param", "defocus_nm=-80"], "'--param': unknown [], missing ['amplitude_contrast'"),
    (["--param", "defocus=x"], None)])
def test_simart_restore_refuses_without_the_operator(tmp_path, tem_files, capsys, extra,
                                                     message):
    from simart.cli import main

    d, _, _ = tem_files
    argv = ["restore", "--model", "wiener", "--dataset", "simart", "--subset", "TEM", *extra,
            str(d), "--out", str(tmp_path / "o")]
    if message is None:  # argparse's own refusal of a malformed NAME=VALUE
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2 and "expected NAME=NUMBER" in capsys.readouterr().err
    else:
        assert main(argv) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
