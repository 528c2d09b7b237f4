"""The PINNED paper noise-level curves: aggregation per material x CDN level x model, the paper's prose
statements checked on the curves, an empty claims table (the paper gives only plots), and a
figure drawn from the curves table alone."""

import numpy as np
import pandas as pd
import pytest

from simart.figures import pinned as fig
from simart.reporting import pinned, reproduction

MATERIALS = ("BaTiO3", "Al", "ZnMgTe")


def _cells(model, level, psnr_by_material, status="ok", extra=None):
    """Two images per material: PSNR value +/- 1, SSIM = PSNR / 100."""
    rows = []
    for k, mat in enumerate(MATERIALS):
        for j, d in enumerate((-1.0, 1.0)):
            v = psnr_by_material[mat] + d
            rows.append({"image_index": 2 * k + j, "material": mat, "level": level,
                         "model": model, "status": status, "missing_reason": "",
                         "psnr": v, "psnr_reason": "", "ssim": v / 100, "ssim_reason": "",
                         "epi_ratio": 1.0 + 0.1 * level + (0.2 if mat == "Al" else 0.0)
                         - (0.2 if mat == "ZnMgTe" else 0.0), "epi_ratio_reason": ""})
    t = pd.DataFrame(rows)
    return t.assign(**(extra or {}))


def _pinned_run():
    """PINNED whose PSNR falls with the level, BaTiO3 best, ZnMgTe falling fastest."""
    frames = []
    for level in (1, 2, 3):
        frames.append(_cells("pinned", level, {"BaTiO3": 30 - level, "Al": 25 - level,
                                               "ZnMgTe": 28 - 3 * level}))
        frames.append(_cells("noisy", level, {m: 10.0 - level for m in MATERIALS}))
    return pd.concat(frames, ignore_index=True)


def test_curves_average_ok_finite_images_per_material_and_level():
    cells = _pinned_run()
    cells.loc[0, "psnr"] = np.nan               # one image without a value
    cells.loc[1, "status"] = "missing"          # its pair did not run: BaTiO3 L1 has none
    curves = pinned.noise_curves(cells, ["psnr", "ssim", "fsc"])
    c = curves.set_index(["material", "level", "model", "metric"])
    al = c.loc[("Al", 2, "pinned", "psnr")]
    assert (al["n"], al["mean"], al["std"]) == (2, pytest.approx(23.0),
                                                pytest.approx(np.sqrt(2)))
    assert c.loc[("BaTiO3", 1, "pinned", "psnr"), "n"] == 0
    assert c.loc[("BaTiO3", 1, "pinned", "psnr"), "missing_reason"] != ""
    fsc = c.loc[("Al", 1, "noisy", "fsc")]
    assert fsc["n"] == 0 and "not in the cell tables" in fsc["missing_reason"]


def test_trend_checks_reproduce_the_prose_on_a_run_that_follows_it():
    curves = pinned.noise_curves(_pinned_run(), pinned.SEED_METRICS)
    t = pinned.trend_checks(curves).set_index("claim")
    assert t.loc["PSNR decreases with the noise level", "verdict"] == "holds"
    assert t.loc["BaTiO3 has the highest PSNR at every level", "verdict"] == "holds"
    assert t.loc["ZnMgTe has the steepest SSIM decline", "verdict"] == "holds"
    assert t.loc["EPI increases with the noise level", "verdict"] == "holds"
    assert t.loc["Al has the highest EPI", "verdict"] == "holds"
    assert t.loc["ZnMgTe has the lowest EPI", "verdict"] == "holds"


def test_trend_checks_say_why_when_not_evaluated_or_contradicted():
    cells = _pinned_run()
    flipped = cells.assign(psnr=np.where(cells["model"] == "pinned",
                                         -cells["psnr"], cells["psnr"]))
    t = pinned.trend_checks(pinned.noise_curves(flipped)).set_index("claim")
    assert t.loc["PSNR decreases with the noise level", "verdict"] == "does not hold"
    none = pinned.trend_checks(pinned.noise_curves(cells[cells["model"] == "noisy"]))
    assert none["verdict"].str.startswith("not evaluated: pinned").all()


def test_claims_table_is_empty_with_the_report_columns():
    c = pinned.claims_vs_measured()
    assert c.empty and tuple(c.columns) == reproduction.COLUMNS


def test_tables_and_figure_from_cells(tmp_path):
    paths = []
    for (level, model), grp in _pinned_run().groupby(["level", "model"]):
        p = tmp_path / f"L{level}_{model}.parquet"
        grp.to_parquet(p)
        paths.append(p)
    out = {k: tmp_path / f"{k}.{ext}" for k, ext in
           (("curves", "csv"), ("md", "md"), ("trends", "csv"), ("claims", "csv"))}
    pinned.write_tables(paths, out["curves"], out["md"], out["trends"], out["claims"],
                         context="unit test")
    curves = pinned.read_curves(out["curves"])
    assert set(curves["metric"]) == set(pinned.SEED_METRICS)
    assert (curves.loc[curves["metric"] == "fsc", "missing_reason"] != "").all()
    assert "unit test" in out["md"].read_text()
    png = tmp_path / "curves.png"
    fig.draw(curves, [png], dpi=40)
    assert png.stat().st_size > 0


def test_model_styles_keep_the_input_black_dashed_and_others_apart():
    st = fig.model_styles(["noisy", "unet", "care", "pinned"])
    assert st["noisy"]["color"] == "#000000" and st["noisy"]["linestyle"] == "--"
    others = [st[m]["color"] for m in ("unet", "care", "pinned")]
    assert len(set(others)) == 3 and "#F0E442" not in others
