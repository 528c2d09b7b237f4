"""Statistics: tests equal scipy.stats on the same data, Holm, bootstrap CIs, stars, missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from simart import stats


def _cell(model: str, values: np.ndarray, *, status: str = "ok", reason: str = "",
          modality: str = "TEM", order: np.ndarray | None = None) -> pd.DataFrame:
    n = len(values)
    df = pd.DataFrame({"dataset": "simart", "modality": modality, "model": model,
                       "image_index": np.arange(n), "status": status,
                       "missing_reason": reason if status != "ok" else "",
                       "psnr": values if status == "ok" else np.nan,
                       "psnr_reason": "" if status == "ok" else reason})
    return df.iloc[order] if order is not None else df


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    base = rng.normal(20, 3, 40)
    return {"noisy": base, "wiener": base + rng.normal(1.5, 1.0, 40),
            "bm3d": base + rng.normal(0.1, 1.0, 40)}


def test_holm_against_hand_computed_values_and_nan_left_out():
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(stats.holm(p), [0.03, 0.06, 0.06, 0.02])
    out = stats.holm([0.01, np.nan, 0.02])
    np.testing.assert_allclose(out, [0.02, np.nan, 0.02])
    assert stats.holm([0.9, 0.8]).max() <= 1.0


def test_stars_thresholds():
    assert [stats.stars(p) for p in (0.0009, 0.001, 0.009, 0.049, 0.05, np.nan)] == [
        "***", "**", "**", "*", "ns", ""]


def test_tests_equal_scipy_and_pairing_is_by_image_index(data):
    rng = np.random.default_rng(0)
    table = pd.concat([_cell(m, v, order=rng.permutation(40)) for m, v in data.items()])
    desc, comp = stats.compare_models(table, ["psnr"], reference="noisy", n_bootstrap=500)
    assert set(comp["model"]) == {"wiener", "bm3d"} and (comp["reference"] == "noisy").all()
    for r in comp.itertuples():
        a, b = data[r.model], data["noisy"]
        assert r.n_pairs == 40
        assert r.mood_p == pytest.approx(scipy.stats.median_test(a, b).pvalue)
        assert r.t_p == pytest.approx(scipy.stats.ttest_rel(a, b).pvalue)
        assert r.t_stat == pytest.approx(scipy.stats.ttest_rel(a, b).statistic)
        assert r.wilcoxon_p == pytest.approx(scipy.stats.wilcoxon(a, b).pvalue)
        assert r.diff_median == pytest.approx(np.median(a - b))
    family = comp["t_p"].to_numpy()
    np.testing.assert_allclose(comp["t_p_holm"], stats.holm(family))
    wiener = comp.set_index("model").loc["wiener"]
    assert wiener.t_stars == "***" and wiener.wilcoxon_stars == "***"
    row = desc.set_index("model").loc["bm3d"]
    assert row["median"] == pytest.approx(np.median(data["bm3d"]))
    assert row["median_lo"] < row["median"] < row["median_hi"]


def test_missing_rows_reduce_the_pairs_and_a_missing_model_is_reported(data):
    partial = _cell("wiener", data["wiener"]).iloc[5:]  # images 0-4 absent
    missing = _cell("richardson_lucy", data["noisy"], status="missing",
                    reason="TEM CTF is signed")
    table = pd.concat([_cell("noisy", data["noisy"]), partial, missing])
    _, comp = stats.compare_models(table, ["psnr"], reference="noisy", n_bootstrap=200)
    w = comp.set_index("model").loc["wiener"]
    assert w.n_pairs == 35
    assert w.t_p == pytest.approx(scipy.stats.ttest_rel(data["wiener"][5:],
                                                        data["noisy"][5:]).pvalue)
    assert w.mood_p == pytest.approx(scipy.stats.median_test(data["wiener"][5:],
                                                             data["noisy"]).pvalue)
    rl = comp.set_index("model").loc["richardson_lucy"]
    assert np.isnan(rl.t_p) and np.isnan(rl.mood_p) and np.isnan(rl.t_p_holm)
    assert "model missing: TEM CTF is signed" in rl.missing_reason
    # the missing comparison is not part of the Holm family: wiener's p is unadjusted
    assert w.t_p_holm == pytest.approx(w.t_p)


def test_degenerate_comparisons_are_noted_not_crashed():
    same = np.linspace(10, 20, 12)
    table = pd.concat([_cell("noisy", same), _cell("copy", same),
                       _cell("few", same[:1])])
    _, comp = stats.compare_models(table, ["psnr", "ssim"], reference="noisy", n_bootstrap=100)
    copy = comp[(comp.model == "copy") & (comp.metric == "psnr")].iloc[0]
    assert np.isnan(copy.t_p) and "all paired differences are 0" in copy.missing_reason
    few = comp[(comp.model == "few") & (comp.metric == "psnr")].iloc[0]
    assert "fewer than 2 paired images" in few.missing_reason
    ssim = comp[comp.metric == "ssim"]
    assert ssim["missing_reason"].str.contains("not in the cell table").all()


def test_all_pairs_on_request(data):
    table = pd.concat([_cell(m, v) for m, v in data.items()])
    _, comp = stats.compare_models(table, ["psnr"], reference="noisy", all_pairs=True,
                                   n_bootstrap=100)
    assert sorted(zip(comp.model, comp.reference)) == [
        ("bm3d", "noisy"), ("bm3d", "wiener"), ("noisy", "wiener")]


def test_bootstrap_is_seeded_and_close_to_scipy_percentile_interval():
    values = np.random.default_rng(1).lognormal(0, 0.5, 300)
    a = stats.bootstrap_ci(values, "median", 4000, 0.95, np.random.default_rng(3))
    b = stats.bootstrap_ci(values, "median", 4000, 0.95, np.random.default_rng(3))
    assert a == b
    ref = scipy.stats.bootstrap((values,), np.median, n_resamples=4000, method="percentile",
                                rng=np.random.default_rng(9)).confidence_interval
    assert a[0] == pytest.approx(ref.low, abs=0.03) and a[1] == pytest.approx(ref.high, abs=0.03)


def test_infinite_values_are_left_out_and_counted(data):
    v = data["wiener"].copy()
    v[:3] = np.inf
    table = pd.concat([_cell("noisy", data["noisy"]), _cell("wiener", v)])
    desc, comp = stats.compare_models(table, ["psnr"], reference="noisy", n_bootstrap=100)
    d = desc.set_index("model").loc["wiener"]
    assert d.n == 37 and d.n_nonfinite == 3
    assert comp.iloc[0].n_pairs == 37 and np.isfinite(comp.iloc[0].t_p)


def test_write_stats_tables_and_markdown(tmp_path, data):
    paths = []
    for m, v in data.items():
        p = tmp_path / f"{m}.parquet"
        _cell(m, v).to_parquet(p)
        paths.append(p)
    p = tmp_path / "rl.parquet"
    _cell("richardson_lucy", data["noisy"], status="missing", reason="signed CTF").to_parquet(p)
    paths.append(p)
    out = {k: tmp_path / f"stats.{k}" for k in ("csv", "parquet", "md")}
    out |= {"descriptive_csv": tmp_path / "d.csv", "descriptive_parquet": tmp_path / "d.parquet"}
    stats.write_stats(paths, ["psnr"], out, reference="noisy", n_bootstrap=100, seed=1)
    md = out["md"].read_text()
    assert "## simart / TEM" in md and "psnr ↑" in md and "***" in md
    assert "missing: [1]" in md and "[1] richardson_lucy: model missing: signed CTF" in md
    assert len(pd.read_parquet(out["parquet"])) == 3 and len(pd.read_csv(out["descriptive_csv"])) == 4
