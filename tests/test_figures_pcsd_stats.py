"""PCSD paper Figs. 5/7 (qualitative + error maps) and Fig. 6 (statistics): values come from the
results tables (never recomputed), pairing is by image, missing inputs say why."""

import h5py
import numpy as np
import pandas as pd
import pytest

from simart.data.shards import write_shard
from simart.figures import pcsd_qualitative as q
from simart.figures import pcsd_stats as f6

BETTER = {"psnr": "higher", "ssim": "higher", "mae": "lower"}


def _cell(model, mod, psnr, status="ok", reason="", **params):
    n = len(psnr)
    t = pd.DataFrame({"image_index": np.arange(n), "model": model, "modality": mod,
                      "status": status, "missing_reason": reason,
                      "psnr": np.asarray(psnr, float), "psnr_reason": "",
                      "mae": np.linspace(0.01, 0.02, n), "mae_reason": ""})
    for k, v in params.items():
        t[k] = v
    return t


def _stats_row(model, mod, metric, p, diff, reason=None):
    return {"dataset": "simart", "modality": mod, "metric": metric, "model": model,
            "reference": "noisy", "diff_mean": diff, "t_p_holm": p,
            "t_stars": "" if not np.isfinite(p) else ("***" if p < 1e-3 else "ns"),
            "missing_reason": reason}


def test_pvalue_grid_signs_by_direction_and_names_missing():
    stats = pd.DataFrame([
        _stats_row("unet", "AFM", "psnr", 1e-5, +2.0),   # better, higher-is-better
        _stats_row("unet", "AFM", "mae", 1e-2, -0.01),   # better, lower-is-better
        _stats_row("pcsd", "AFM", "psnr", 1e-2, -1.0),   # worse
        _stats_row("pcsd", "AFM", "mae", np.nan, np.nan, "pcsd: too few pairs"),
    ])
    g = f6.pvalue_grid(stats, ["unet", "pcsd", "bm3d"], ["AFM"], ["psnr", "mae"], BETTER)
    g = g.set_index(["model", "metric"])
    assert g.loc[("unet", "psnr"), "score"] == pytest.approx(f6.P_CLIP)  # clipped at 1e-4
    assert g.loc[("unet", "mae"), "score"] == pytest.approx(2.0)
    assert g.loc[("pcsd", "psnr"), "score"] == pytest.approx(-2.0)
    assert g.loc[("unet", "psnr"), "stars"] == "***"
    assert g.loc[("pcsd", "mae"), "missing_reason"] == "pcsd: too few pairs"
    assert g.loc[("bm3d", "psnr"), "missing_reason"] == "not in the statistics table"


def test_improvements_pair_by_image_index_and_keep_reasons():
    ref = _cell("noisy", "AFM", [10.0, 20.0, 30.0], blur_px=[1.0, 2.0, 3.0])
    model = _cell("unet", "AFM", [15.0, 21.0, np.nan]).iloc[::-1]  # shuffled, one NaN
    gone = _cell("wiener", "AFM", [np.nan] * 3, status="missing", reason="no OTF for AFM")
    imp = f6.improvements({"AFM": {"noisy": ref, "unet": model, "wiener": gone}},
                          ["unet", "wiener"])
    u = imp[imp["model"] == "unet"].set_index("image_index")
    assert list(u.index.sort_values()) == [0, 1]              # image 2 (NaN) left out
    assert u.loc[0, "delta"] == pytest.approx(5.0)
    assert u.loc[1, "delta"] == pytest.approx(1.0)
    assert u.loc[1, "severity"] == pytest.approx(2.0)           # the image's blur_px
    assert u.loc[1, "reference_value"] == pytest.approx(20.0)
    w = imp[imp["model"] == "wiener"]
    assert len(w) == 1 and np.isnan(w["delta"].iloc[0])
    assert w["missing_reason"].iloc[0] == "no OTF for AFM"


def test_cell_notes_read_psnr_from_the_table():
    t = _cell("unet", "AFM", [99.0, 12.0])  # 99 dB: only a table could say so
    assert q.cell_notes(t, 0) == (True, "PSNR 99.00 dB", "MAE 0.010")
    gone = _cell("wiener", "AFM", [np.nan], status="missing", reason="no OTF for AFM")
    ran, note, _ = q.cell_notes(gone, 0)
    assert not ran and note == "missing: no OTF for AFM"
    assert q.cell_notes(t, 7)[1].startswith("missing: image 7")


@pytest.fixture
def simart_tree(tmp_path):
    """One modality: a 2-image shard, predictions of two models (one NaN), their cells."""
    rng = np.random.default_rng(0)
    clean = rng.random((2, 16, 16)).astype(np.float32)
    shard = tmp_path / "AFM_0000.h5"
    write_shard(shard, clean, clean + 0.1, pd.DataFrame(
        {"image_index": [0, 1], "pixel_size_nm": [2.0, 2.0]}))
    paths, cells = {}, {}
    for model, pred, status in (("unet", clean + 0.05, "ok"),
                                ("wiener", np.full_like(clean, np.nan), "missing")):
        p = tmp_path / f"{model}.h5"
        with h5py.File(p, "w") as f:
            f.create_dataset("prediction/AFM", data=pred)
        paths[model] = p
        cells[model] = tmp_path / f"{model}.parquet"
        _cell(model, "AFM", [26.0, 27.0] if status == "ok" else [np.nan] * 2, status=status,
              reason="" if status == "ok" else "no OTF for AFM").to_parquet(cells[model])
    cells["noisy"] = tmp_path / "noisy.parquet"
    _cell("noisy", "AFM", [20.0, 21.0], blur_px=[1.5, 2.5]).to_parquet(cells["noisy"])
    return {"shards": {"AFM": shard}, "predictions": {"AFM": paths},
            "cell_tables": {"AFM": cells}}


def test_fig5_draws_restorations_error_maps_and_missing(simart_tree, tmp_path):
    _, panels, prow = q.load_row(simart_tree["shards"]["AFM"],
                                     simart_tree["predictions"]["AFM"],
                                     simart_tree["cell_tables"]["AFM"], "AFM",
                                     ["unet", "wiener"], example_index=1)
    assert prow["image_index"] == 1
    assert [p.note for p in panels] == ["PSNR 21.00 dB", "PSNR 27.00 dB",
                                        "missing: no OTF for AFM"]
    assert panels[2].image is None
    out = tmp_path / "fig5.png"
    q.draw(**simart_tree, models=["unet", "wiener"], out_paths=[out], dpi=40)
    assert out.stat().st_size > 0


def test_fig6_draws_and_writes_the_per_image_table(simart_tree, tmp_path):
    cells = {"AFM": {m: pd.read_parquet(p)
                     for m, p in simart_tree["cell_tables"]["AFM"].items()}}
    stats = pd.DataFrame([_stats_row("unet", "AFM", "psnr", 0.02, 6.0)])
    out, csv = tmp_path / "fig6.png", tmp_path / "imp.csv"
    imp = f6.draw(stats, cells, ["unet", "wiener"], [out], metrics=["psnr"],
                  highlight=["unet"], better=BETTER, dpi=40, improvements_csv=csv)
    assert out.stat().st_size > 0
    written = pd.read_csv(csv)
    assert written["delta"].dropna().tolist() == pytest.approx([6.0, 6.0])
    assert imp.loc[imp["model"] == "unet", "severity"].tolist() == pytest.approx([1.5, 2.5])
