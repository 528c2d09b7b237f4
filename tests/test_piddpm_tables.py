"""The PI-DDPM paper: the metric table, the prose orderings, the η-ablation figure."""

import numpy as np
import pandas as pd
import pytest

from simart.config import validate_config
from simart.reporting.piddpm import (
    CLAIM_COLUMNS,
    build_table,
    claims_vs_measured,
    eta_rows,
    metric_values,
    ordering,
    write_tables,
)

MS_SSIM_REASON = "MS-SSIM with 5 scales needs images of at least 176 px per side; got 128x128"


def _cell(model: str, subset: str, psnr: np.ndarray, *, nrmse: np.ndarray | None = None,
          ms3: np.ndarray | None = None) -> pd.DataFrame:
    """A cell table as metrics_cell writes it: ms_ssim missing with its reason."""
    n = len(psnr)
    return pd.DataFrame({
        "dataset": "lm", "modality": subset, "model": model, "image_index": np.arange(n),
        "status": "ok", "missing_reason": "", "psnr": psnr, "psnr_reason": "",
        "ms_ssim": np.nan, "ms_ssim_reason": MS_SSIM_REASON,
        "ms_ssim_3": ms3 if ms3 is not None else np.linspace(0.5, 0.6, n),
        "ms_ssim_3_reason": "",
        "nrmse_range": nrmse if nrmse is not None else 1.0 / psnr, "nrmse_range_reason": ""})


def _cells(n: int = 8) -> dict[str, dict[str, pd.DataFrame]]:
    base = np.linspace(20.0, 24.0, n)
    return {"widefield": {
        "noisy": _cell("noisy", "widefield", base - 3),
        "unet": _cell("unet", "widefield", base),
        "pi_ddpm": _cell("pi_ddpm", "widefield", base + 1.0,
                         ms3=np.linspace(0.6, 0.7, n)),
        "pi_ddpm_plain": _cell("pi_ddpm_plain", "widefield", base + 0.5)}}


def test_ms_ssim_3_stands_in_and_says_why():
    vals, shown, note = metric_values(_cells()["widefield"]["unet"], "ms_ssim")
    assert shown == "ms_ssim_3" and len(vals) == 8
    assert note.startswith("ms_ssim_3 stands in") and "176 px" in note
    # a metric not scored at all: no values, the reason names it
    vals, shown, note = metric_values(_cells()["widefield"]["unet"], "lpips")
    assert len(vals) == 0 and "not in the cell table" in note


def test_table_rows_in_paper_order_and_rl_says_not_run():
    frame = build_table(_cells(), {"richardson_lucy": "not run on lm (runs on simart)"})
    assert list(frame["model"]) == ["pi_ddpm", "pi_ddpm_plain", "unet", "richardson_lucy",
                                    "noisy"]
    rl = frame.set_index("model").loc["richardson_lucy"]
    assert rl["status"] == "not run on lm (runs on simart)" and rl["n"] == 0
    assert np.isnan(rl["psnr_mean"])
    pi = frame.set_index("model").loc["pi_ddpm"]
    assert pi["psnr_mean"] == pytest.approx(23.0) and pi["ms_ssim_shown"] == "ms_ssim_3"
    assert not frame.set_index("model").at["noisy", "in_paper"]


def test_prose_orderings_are_checked_pairwise():
    order = ordering(_cells())
    psnr = order[order["metric"] == "psnr"].set_index(["better", "worse"])
    # PI-DDPM is 1 dB above U-Net on all 8 images: same direction, Wilcoxon p < 0.05
    assert psnr.at[("pi_ddpm", "unet"), "diff"] == pytest.approx(1.0)
    assert psnr.at[("pi_ddpm", "unet"), "verdict"] == "reproduces"
    assert psnr.at[("pi_ddpm_plain", "unet"), "verdict"] == "reproduces"
    # NRMSE: lower is better; PI-DDPM has the higher PSNR, hence the lower 1/psnr
    nrmse = order[order["metric"] == "nrmse_range"].set_index(["better", "worse"])
    assert nrmse.at[("pi_ddpm", "unet"), "verdict"] == "reproduces"
    # a model that is not evaluated gives one row saying so, no invented numbers
    cells = _cells()
    del cells["widefield"]["pi_ddpm_plain"]
    order = ordering(cells)
    gone = order[order["worse"] == "pi_ddpm_plain"]
    assert len(gone) == 1 and gone["verdict"].iloc[0] == "not evaluated: pi_ddpm_plain"


def test_write_tables_from_cell_files(tmp_path):
    paths = []
    for model, cell in _cells()["widefield"].items():
        paths.append(tmp_path / f"{model}.parquet")
        cell.to_parquet(paths[-1])
    res = write_tables(paths, tmp_path / "t.md", tmp_path / "t.csv", tmp_path / "c.csv",
                       subsets=["widefield", "confocal"],
                       missing={"richardson_lucy": "not run on lm"}, context="unit run",
                       scale="128² px")
    md = (tmp_path / "t.md").read_text()
    assert "## confocal" in md and "## widefield" in md and "not run on lm" in md
    assert "`ms_ssim_3` shown" in md
    assert len(pd.read_csv(tmp_path / "t.csv")) == 10   # 5 rows x 2 modes
    cvm = pd.read_csv(tmp_path / "c.csv")
    assert tuple(cvm.columns) == CLAIM_COLUMNS
    assert len(cvm) == len(res["claims_vs_measured"])


def test_claims_vs_measured_pairs_any_piddpm_claim(monkeypatch):
    import simart.reporting.piddpm as piddpm_reporting

    frame = build_table(_cells())
    monkeypatch.setattr(piddpm_reporting, "_claims", lambda: {("1 (BioSR)", "PI-DDPM", "psnr"): 27.5,
                                                  ("1 (BioSR)", "PI-DDPM", "ms_ssim"): 0.9})
    cvm = claims_vs_measured(frame, "128² px")
    assert list(cvm["metric"]) == ["ms_ssim", "psnr"]
    row = cvm.set_index("metric").loc["ms_ssim"]
    assert row["claimed"] == 0.9 and "ms_ssim_3 stands in" in row["why"]
    assert cvm.set_index("metric").at["psnr", "measured"] == pytest.approx(23.0)


def test_eta_rows_from_config_variants_and_models():
    cfg = validate_config({"evaluate": {
        "models": ["noisy", "unet", "pi_ddpm", "pi_ddpm_plain"], "datasets": ["simart", "lm"],
        "variants": {"pi_ddpm_eta1": {"model": "pi_ddpm", "sampling": {"eta": 1.0}}}}})
    rows = eta_rows(cfg, ["noisy", "unet", "pi_ddpm", "pi_ddpm_plain", "pi_ddpm_eta1"])
    assert set(rows) == {"pi_ddpm", "pi_ddpm_plain", "pi_ddpm_eta1"}
    assert rows["pi_ddpm"]["eta"] == 10.0 and rows["pi_ddpm"]["kind"] == "trained"
    eta1 = rows["pi_ddpm_eta1"]
    assert (eta1["eta"], eta1["kind"], eta1["train_eta"], eta1["reg"]) == (1.0, "variant",
                                                                           10.0, "l1")
    assert not rows["pi_ddpm_plain"]["physics"]


def test_eta_figure_draws_rows_and_says_what_is_not_run(tmp_path):
    from simart.figures.piddpm import draw, sweep_notes

    cells = _cells()
    cells["widefield"]["pi_ddpm_eta1"] = _cell("pi_ddpm_eta1", "widefield",
                                               np.linspace(20.0, 24.0, 8) + 0.2)
    rows = {"pi_ddpm": {"model": "pi_ddpm", "kind": "trained", "physics": True, "eta": 10.0,
                        "train_eta": 10.0, "reg": "l1", "reg_weight": 0.01},
            "pi_ddpm_eta1": {"model": "pi_ddpm", "kind": "variant", "physics": True,
                             "eta": 1.0, "train_eta": 10.0, "reg": "l1", "reg_weight": 0.01},
            "pi_ddpm_plain": {"model": "pi_ddpm_plain", "kind": "trained", "physics": False,
                              "eta": 0.0, "train_eta": 0.0, "reg": "l1", "reg_weight": 0.01}}
    out = [tmp_path / "eta.png", tmp_path / "eta.pdf"]
    pts = draw(cells, rows, out, subsets=["widefield", "confocal"], dpi=40)
    assert all(p.stat().st_size > 0 for p in out)
    wf = pts[(pts["subset"] == "widefield") & (pts["metric"] == "psnr")].set_index("row")
    assert wf.at["pi_ddpm_eta1", "mean"] == pytest.approx(22.2)
    assert (pts[pts["subset"] == "confocal"]["n"] == 0).all()   # mode without cells: missing
    notes = sweep_notes(rows)
    assert any("L2 not run" in n for n in notes)
    assert not any("η sweep not run" in n for n in notes)      # two η values for L1
    assert any("η sweep not run" in n for n in sweep_notes({"pi_ddpm": rows["pi_ddpm"]}))
