"""PCSD paper Figs. 2-4 (simart.figures.pcsd): drawn from synthetic cell tables and logs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simart.figures import pcsd

MODS = ("AFM", "TEM")


def _cell(path: Path, mod: str, model: str, psnr, ssim=None, seconds=0.01, status="ok",
          reason: str = "") -> Path:
    psnr = np.asarray(psnr, dtype=float)
    n = len(psnr)
    ssim = np.full(n, 0.5) if ssim is None else np.asarray(ssim, dtype=float)
    t = pd.DataFrame({
        "dataset": "simart", "modality": mod, "model": model, "image_index": np.arange(n),
        "status": status, "missing_reason": reason if status != "ok" else "",
        "seconds": seconds, "psnr": psnr, "psnr_reason": "", "ssim": ssim,
        "ssim_reason": ["" if np.isfinite(v) else "undefined here" for v in ssim],
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    t.to_parquet(path)
    return path


def _cells(tmp_path: Path, table: dict[str, dict[str, list[float]]], **kw) -> dict:
    """{mod: {model: path}} from {model: {mod: psnr values}}."""
    out: dict[str, dict[str, Path]] = {m: {} for m in MODS}
    for model, per_mod in table.items():
        for mod, vals in per_mod.items():
            out[mod][model] = _cell(tmp_path / mod / f"{model}.parquet", mod, model, vals, **kw)
    return out


def _outs(tmp_path: Path, name: str) -> list[Path]:
    return [tmp_path / "fig" / f"{name}.png", tmp_path / "fig" / f"{name}.pdf"]


def test_eta_sweep_takes_only_variants_that_change_eta_and_the_models_own_eta():
    variants = {"pcsd_eta1": ("pcsd", {"eta": 1.0}), "pcsd_eta0": ("pcsd", {"eta": 0.0}),
                "pcsd_ddim50": ("pcsd", {"sampler": "ddim", "steps": 50}),
                "pcsd_mixed": ("pcsd", {"eta": 0.3, "steps": 9}),
                "other_eta0": ("pi_ddpm", {"eta": 0.0})}
    rows = pcsd.eta_sweep_rows(variants, 0.5, "pcsd")
    assert rows == {"pcsd_eta0": 0.0, "pcsd": 0.5, "pcsd_eta1": 1.0}
    assert list(rows) == ["pcsd_eta0", "pcsd", "pcsd_eta1"]


def test_ablations_and_curve_baselines_follow_the_paper_order_and_the_config():
    models = ["pcsd_no_tv", "unet", "pcsd", "pcsd_no_physics", "cyclegan", "n2v"]
    assert pcsd.pcsd_ablations(models) == ["pcsd_no_physics", "pcsd_no_tv"]
    assert pcsd.curve_baselines(models, k=2) == ["unet", "cyclegan"]
    assert pcsd.family("noisy") == "input" and pcsd.family("bm3d") == "classical"
    assert pcsd.family("pcsd_eta0") == "diffusion" and pcsd.family("pix2pix") == "GAN"


def test_cell_value_is_the_mean_and_sample_std_of_the_cell_and_says_why_missing(tmp_path):
    cells = _cells(tmp_path, {"noisy": {"AFM": [10.0, 12.0, 17.0]}})
    cells["AFM"]["tip_erosion"] = _cell(tmp_path / "te.parquet", "AFM", "tip_erosion",
                                        [np.nan] * 3, status="missing", reason="no tip here")
    cells["AFM"]["unet"] = _cell(tmp_path / "u.parquet", "AFM", "unet", [11.0, 12.0, 13.0],
                                 ssim=[np.nan] * 3)
    s = pcsd.summarize_cells({"AFM": cells["AFM"]})
    mean, std, n, why = pcsd.cell_value(s, "AFM", "noisy", "psnr")
    assert (mean, n, why) == (13.0, 3, "") and std == pytest.approx(np.std([10, 12, 17], ddof=1))
    assert pcsd.cell_value(s, "AFM", "tip_erosion", "psnr")[3] == "no tip here"
    assert pcsd.cell_value(s, "AFM", "unet", "ssim")[3] == "undefined here"
    assert pcsd.cell_value(s, "TEM", "unet", "psnr")[3] == "no cell table"


def _fig2_cells(tmp_path: Path) -> dict:
    cells = _cells(tmp_path, {"noisy": {m: [20.0, 22.0] for m in MODS},
                              "wiener": {m: [21.0, 24.0] for m in MODS},
                              "pcsd": {m: [25.0, 26.0] for m in MODS}}, seconds=0.2)
    cells["TEM"]["tip_erosion"] = _cell(tmp_path / "TEM" / "te.parquet", "TEM", "tip_erosion",
                                        [np.nan, np.nan], status="missing", reason="TEM: no tip")
    cells["AFM"]["tip_erosion"] = _cell(tmp_path / "AFM" / "te.parquet", "AFM", "tip_erosion",
                                        [30.0, 31.0], seconds=1.5)
    return cells


FIG2_MODELS = ["noisy", "wiener", "tip_erosion", "pcsd"]


def test_fig2_bars_write_png_and_pdf_with_a_missing_method(tmp_path):
    s = pcsd.draw_modality_bars(_fig2_cells(tmp_path), FIG2_MODELS, _outs(tmp_path, "bars"),
                                   dpi=40)
    s = s.set_index(["modality", "model"])
    assert s.loc[("AFM", "pcsd"), "psnr_mean"] == 25.5
    assert s.loc[("TEM", "tip_erosion"), "missing_reason"] == "TEM: no tip"
    assert all(p.stat().st_size > 0 for p in _outs(tmp_path, "bars"))


def test_fig2_quality_speed_takes_the_cells_seconds_per_image(tmp_path):
    s = pcsd.draw_quality_speed(_fig2_cells(tmp_path), FIG2_MODELS, _outs(tmp_path, "speed"),
                                   dpi=40)
    secs = s.set_index(["modality", "model"])["seconds_per_image"]
    assert secs[("AFM", "tip_erosion")] == 1.5 and secs[("TEM", "pcsd")] == pytest.approx(0.2)
    assert all(p.stat().st_size > 0 for p in _outs(tmp_path, "speed"))


def test_fig3_ablations_and_eta_sweep_draw_from_their_cells(tmp_path):
    cells = _cells(tmp_path, {"pcsd": {m: [20.0, 21.0] for m in MODS},
                              "pcsd_no_physics": {m: [18.0, 19.0] for m in MODS},
                              "pcsd_eta0": {m: [17.0, 18.0] for m in MODS}})
    abl = {m: {k: v for k, v in c.items() if k != "pcsd_eta0"} for m, c in cells.items()}
    s = pcsd.draw_ablations(abl, ["pcsd", "pcsd_no_physics"], _outs(tmp_path, "abl"), dpi=40)
    assert set(s["model"]) == {"pcsd", "pcsd_no_physics"}
    eta = {m: {k: v for k, v in c.items() if k != "pcsd_no_physics"} for m, c in cells.items()}
    s = pcsd.draw_eta_sweep(eta, {"pcsd_eta0": 0.0, "pcsd": 0.5}, _outs(tmp_path, "eta"),
                               dpi=40)
    assert s.set_index(["modality", "model"]).loc[("TEM", "pcsd_eta0"), "psnr_mean"] == 17.5
    assert all(p.stat().st_size > 0 for p in _outs(tmp_path, "abl") + _outs(tmp_path, "eta"))


def _log(path: Path, loss0: float, val0: float, pcsd: bool = False) -> Path:
    steps = np.arange(10, 60, 10)
    t = pd.DataFrame({"step": steps, "epoch": steps / 8, "lr": 1e-3,
                      "loss": loss0 / steps, "val_psnr": val0 + steps / 100,
                      "val_ssim": 0.5, "val_loss": np.nan, "images_per_s": 10.0,
                      "elapsed_s": steps / 10})
    if pcsd:
        t["diffusion"], t["physics"] = loss0 / steps / 2, 0.1
        t["perceptual"], t["perceptual_available"] = 0.0, 0.0
    path.parent.mkdir(parents=True, exist_ok=True)
    t.to_csv(path, index=False)
    return path


def test_fig3_training_curves_use_the_logged_terms_and_average_the_modality_trainings(tmp_path):
    p = _log(tmp_path / "all" / "pcsd.csv", 1.0, 15.0, pcsd=True)
    assert pcsd.loss_terms(pd.read_csv(p)) == ["diffusion", "physics"]
    unet = {m: _log(tmp_path / m / "unet.csv", 0.5, v) for m, v in (("AFM", 20.0), ("TEM", 10.0))}
    d = pcsd._mean_over_groups(unet, "val_psnr")
    assert d["mean"].iloc[0] == pytest.approx(15.1) and d["lo"].iloc[0] == pytest.approx(10.1)
    pcsd.draw_training_curves({"pcsd": {"all": p}, "unet": unet},
                                 _outs(tmp_path, "curves"), dpi=40)
    assert all(q.stat().st_size > 0 for q in _outs(tmp_path, "curves"))


def test_fig4_cross_modal_grid_pairs_with_the_noisy_input_and_the_diagonal(tmp_path):
    cells = _cells(tmp_path, {
        "noisy": {"AFM": [10.0, 20.0], "TEM": [12.0, 12.0]},
        "pcsd_from_AFM": {"AFM": [14.0, 22.0], "TEM": [13.0, 13.0]},
        "pcsd": {"AFM": [13.0, 21.0], "TEM": [15.0, 15.0]},
    })
    cells["AFM"]["pcsd_from_TEM"] = _cell(tmp_path / "x.parquet", "AFM", "pcsd_from_TEM",
                                          [np.nan, np.nan], status="missing", reason="not run")
    cells["TEM"]["pcsd_from_TEM"] = _cell(tmp_path / "y.parquet", "TEM", "pcsd_from_TEM",
                                          [16.0, 14.0])
    rows = {"AFM": "pcsd_from_AFM", "TEM": "pcsd_from_TEM", "joint": "pcsd"}
    g = pcsd.draw_cross_modal(cells, rows, _outs(tmp_path, "cm"), dpi=40)
    assert g["value"].loc["AFM", "AFM"] == 18.0 and g["value"].loc["joint", "TEM"] == 15.0
    assert g["delta_ref"].loc["AFM", "AFM"] == 3.0 and g["delta_ref"].loc["joint", "TEM"] == 3.0
    assert g["delta_diag"].loc["joint", "AFM"] == -1.0 and g["delta_diag"].loc["TEM", "TEM"] == 0
    assert np.isnan(g["value"].loc["TEM", "AFM"]) and g["why"].loc["TEM", "AFM"] == "not run"
    assert g["n"].loc["AFM", "TEM"] == 2
    assert all(q.stat().st_size > 0 for q in _outs(tmp_path, "cm"))
