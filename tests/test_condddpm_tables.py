"""The conditional-DDPM paper measurements: the edge/flat split, DDPM-avg vs single sample, the k-curve."""

import h5py
import numpy as np
import pandas as pd
import pytest

from simart.data.shards import write_shard
from simart.reporting.condddpm import edge_flat_masks, edge_flat_ratio, write_tables


def _disk(n: int = 48, r: float = 12.0) -> np.ndarray:
    yy, xx = np.mgrid[:n, :n] - n / 2
    return (np.hypot(yy, xx) < r).astype(np.float32)


def test_edges_are_the_disk_boundary_and_flat_is_away_from_it():
    clean = _disk()
    edge, flat = edge_flat_masks(clean)
    yy, xx = np.mgrid[:48, :48] - 24
    rad = np.hypot(yy, xx)
    assert np.all(np.abs(rad[edge] - 12) < 3)          # edges hug the circle r = 12
    assert not np.any(edge & flat) and np.median(np.abs(rad[flat] - 12)) > 5
    # uncertainty concentrated on the boundary: ratio > 1; uniform: exactly 1
    unc = np.exp(-((rad - 12) ** 2) / 4).astype(np.float32)
    assert edge_flat_ratio(unc, clean)[2] > 5
    assert edge_flat_ratio(np.full_like(clean, 0.3), clean)[2] == pytest.approx(1.0)


def test_tables_from_prediction_files(tmp_path):
    rng = np.random.default_rng(0)
    n, k_max = 4, 4
    clean = np.stack([_disk(r=8 + 2 * i) for i in range(n)])
    samples = clean[None] + rng.normal(0, 0.2, (k_max, *clean.shape)).astype(np.float32)
    shard = tmp_path / "widefield.h5"
    write_shard(shard, clean, clean + 0.1, pd.DataFrame({"image_index": np.arange(10, 10 + n)}))
    pred = tmp_path / "pred.h5"
    with h5py.File(pred, "w") as f:
        f["prediction/widefield"] = samples.mean(0)
        f["sample_1/widefield"] = samples[0]
        f["std/widefield"] = samples.std(0)
        f["entropy/widefield"] = np.ones_like(clean)
        for k in (1, 2, 4):
            f[f"mean_n{k}/widefield"] = samples[:k].mean(0)
    s = write_tables([pred], [{"widefield": shard}], 1.0, tmp_path / "t.md",
                     tmp_path / "c.csv", tmp_path / "u.csv", context="unit")
    avg = s["avg_vs_single"].set_index("metric")
    # averaging 4 independent N(0, 0.2) draws halves the error std: +6.02 dB
    assert avg.at["psnr", "diff_mean"] == pytest.approx(6.02, abs=1.0)
    assert avg.at["psnr", "frac_avg_better"] == 1.0
    curve = s["curve"].set_index("k")
    assert list(curve.index) == [1, 2, 4]
    assert curve.at[4, "psnr_mean"] == pytest.approx(avg.at["psnr", "ddpm_avg"])
    assert curve.at[1, "psnr_mean"] == pytest.approx(avg.at["psnr", "single_sample"])
    per_image = pd.read_csv(tmp_path / "c.csv")
    assert set(per_image["image_index"]) == set(range(10, 10 + n))
    unc = s["uncertainty"].set_index("map")
    assert unc.at["entropy", "ratio_median"] == pytest.approx(1.0)  # flat entropy map
    assert "DDPM-avg" in (tmp_path / "t.md").read_text()
