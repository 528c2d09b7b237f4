"""Registry <-> config, scoring of a shard's rows (missing models, bad predictions, no ground
truth), chunked scoring, and the aggregated table's 'missing: reason'."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simart.config import ALL_METRICS, validate_config
from simart.evaluation.aggregate import summarize, to_markdown
from simart.evaluation.cells import score_images
from simart.metrics import METRICS, compute_metric_table


def test_config_evaluates_every_metric_by_default_and_every_entry_imports():
    assert validate_config({}).evaluate.metrics == list(METRICS) == list(ALL_METRICS)
    for name, entry in METRICS.items():   # the dotted paths of simart.specs.metrics resolve
        assert callable(entry.fn), name


def _run_table(n: int) -> pd.DataFrame:
    return pd.DataFrame({"image_index": np.arange(n), "pixel_size_nm": np.linspace(0.5, 2, n),
                         "dataset": "simart", "modality": "SEM", "model": "m",
                         "status": ["ok"] * (n - 1) + ["missing"],
                         "missing_reason": [""] * (n - 1) + ["not applicable"],
                         "seconds": 0.1})


@pytest.fixture(scope="module")
def images() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[0:64, 0:64] / 64
    clean = np.stack([0.5 + 0.3 * np.sin(2 * np.pi * (k + 2) * xx) * np.cos(2 * np.pi * 3 * yy)
                      for k in range(4)]).astype(np.float32)
    degraded = (clean + 0.1 * rng.standard_normal(clean.shape)).astype(np.float32)
    pred = (clean + 0.03 * rng.standard_normal(clean.shape)).astype(np.float32)
    return pred, clean, degraded


def test_score_images_rows_reasons_and_pixel_size(images):
    pred, clean, degraded = images
    pred = pred.copy()
    pred[3] = np.nan  # the missing model's row: never scored
    pred[2, 0, 0] = np.inf  # a broken prediction: marked missing, not scored
    t = score_images(_run_table(4), pred, clean, degraded, ["psnr", "frc_res_nm", "piqe"])
    assert list(t["status"]) == ["ok", "ok", "missing", "missing"]
    assert t.loc[2, "missing_reason"] == "prediction has NaN or infinite pixels"
    assert t.loc[:1, ["psnr", "frc_res_nm", "piqe"]].notna().all().all()
    assert t.loc[2:, "psnr"].isna().all()
    assert t.loc[3, "psnr_reason"] == "model missing: not applicable"
    assert (t.loc[:1, "psnr_reason"] == "").all()
    px = compute_metric_table(pred[:2], clean[:2], metrics=["frc_res_px"])["frc_res_px"]
    np.testing.assert_allclose(t.loc[:1, "frc_res_nm"], px * t.loc[:1, "pixel_size_nm"])


def test_without_ground_truth_only_no_reference_and_input_metrics_are_computed(images):
    pred, _, degraded = images
    t = score_images(_run_table(4), pred, None, degraded, ["ssim", "pss_input", "brisque"])
    ok = t["status"] == "ok"
    assert t.loc[ok, "ssim"].isna().all()
    assert t.loc[ok, "ssim_reason"].str.contains("no clean image").all()
    assert t.loc[ok, ["pss_input", "brisque"]].notna().all().all()


def test_chunked_scoring_equals_one_batch(images):
    pred, clean, degraded = images
    names = ["ssim", "ms_ssim_3", "frc_res_px", "piqe", "brisque", "pearson"]
    a = compute_metric_table(pred, clean, degraded=degraded, metrics=names, max_pixels=64 * 64)
    b = compute_metric_table(pred, clean, degraded=degraded, metrics=names, max_pixels=1 << 30)
    pd.testing.assert_frame_equal(a, b, rtol=1e-12)


def test_aggregated_markdown_says_missing_with_the_reason(images):
    pred, clean, degraded = images
    t = score_images(_run_table(4), pred, clean, degraded, ["psnr", "ms_ssim", "lpips"],
                     lpips_backbone="/nonexistent/alexnet-owt-7be5be79.pth")
    other = t.copy()
    other["model"], other["status"], other["missing_reason"] = "rl", "missing", "signed CTF"
    summary = summarize([t, other], ["psnr", "ms_ssim", "lpips"])
    row = summary.set_index("model").loc["m"]
    assert row["psnr_n"] == 3 and np.isfinite(row["psnr_mean"])
    assert "176 px" in row["ms_ssim_missing"] and "not found" in row["lpips_missing"]
    md = to_markdown(summary, ["psnr", "ms_ssim", "lpips"], 1.0)
    assert "missing: [" in md
    assert "`ms_ssim`: MS-SSIM with 5 scales needs images of at least 176 px" in md
    assert "`lpips`: LPIPS backbone not found at /nonexistent/alexnet-owt-7be5be79.pth" in md
    assert "`rl` missing for all 4 images: signed CTF" in md
    assert "1 missing" not in md.split("## ")[1].split("\n")[3]  # psnr row of model m is clean


def _cell(psnr: list[float], model: str = "m", reason: str = "") -> pd.DataFrame:
    n = len(psnr)
    return pd.DataFrame({"image_index": np.arange(n), "dataset": "simart", "modality": "SEM",
                         "model": model, "status": "ok", "missing_reason": "", "seconds": 0.1,
                         "psnr": psnr,
                         "psnr_reason": [reason if np.isnan(v) else "" for v in psnr]})


def test_an_all_inf_psnr_cell_shows_inf_not_missing(tmp_path):
    """Restorations identical to the clean images: PSNR +inf, before shown as 'missing: [1]'
    with an empty reason (the Markdown) and an empty mean (the CSV)."""
    from simart.evaluation.aggregate import write_summary

    cells = {"same": [np.inf] * 4, "some": [np.inf, np.inf, np.nan, np.inf],
             "mixed": [30.0, 32.0, np.inf, np.nan]}
    paths = []
    for model, vals in cells.items():
        paths.append(tmp_path / f"{model}.parquet")
        _cell(vals, model, reason="metric undefined here").to_parquet(paths[-1])
    summary = write_summary(paths, ["psnr"], 1.0, tmp_path / "s.csv", tmp_path / "s.md",
                            tmp_path / "s.parquet")
    s = summary.set_index("model")
    assert s.loc["same", "psnr_mean"] == np.inf and s.loc["same", "psnr_median"] == np.inf
    assert np.isnan(s.loc["same", "psnr_std"]) and s.loc["same", "psnr_n_inf"] == 4
    assert s.loc["same", "psnr_n"] == 0 and s.loc["same", "psnr_missing"] == ""
    csv = pd.read_csv(tmp_path / "s.csv").set_index("model")
    assert csv.loc["same", "psnr_mean"] == np.inf  # written as "inf"
    assert csv.loc["mixed", "psnr_mean"] == 31.0 and csv.loc["mixed", "psnr_n_inf"] == 1
    md = (tmp_path / "s.md").read_text()
    table = md.split("## ")[1].splitlines()
    header = next(ln for ln in table if ln.startswith("| metric"))
    assert [c.strip() for c in header.strip("|").split("|")[1:]] == ["mixed", "same", "some"]
    row = next(ln for ln in table if ln.startswith("| psnr"))
    mixed, same, some = (c.strip() for c in row.strip("|").split("|")[1:])
    assert "missing" not in same and same == "+inf (all 4 inf)"
    assert some == "+inf (3 inf, 1 missing [1])"
    assert mixed.startswith("31.00 ± 1.41 (31.00)") and mixed.endswith("(1 inf, 1 missing [1])")
    assert "- [1] `psnr`: metric undefined here" in md
    assert "`psnr`: \n" not in md + "\n" and "`psnr`: not computed" not in md


def test_a_cell_with_both_infinities_and_no_finite_value_says_why():
    summary = summarize([_cell([np.inf, -np.inf])], ["psnr"])
    assert np.isnan(summary.loc[0, "psnr_mean"])
    assert summary.loc[0, "psnr_missing"] == "no finite value, both +inf and -inf"
    md = to_markdown(summary, ["psnr"], 1.0)
    assert "`psnr`: no finite value, both +inf and -inf" in md
