"""Aggregate per-image cell tables into the summary table (mean ± std and median)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from simart.io import atomic_path

KEYS = ["dataset", "modality", "model"]


def summarize(cells: Sequence[pd.DataFrame], metrics: Sequence[str]) -> pd.DataFrame:
    """One row per (dataset, modality, model) with n, n_missing, mean/std/median per metric.

    Statistics use only the images where the model ran (``status == "ok"``) and the metric
    is finite; a PSNR of +inf (a perfect restoration) is excluded from mean/std and counted
    in ``<metric>_n_inf`` so it never hides inside an average.
    """
    rows = []
    for cell in cells:
        for key, grp in cell.groupby(KEYS, sort=False):
            ok = grp[grp["status"] == "ok"]
            reasons = sorted(set(grp.loc[grp["status"] != "ok", "missing_reason"]))
            row = dict(zip(KEYS, key, strict=True))
            row.update(n_images=len(grp), n_missing=len(grp) - len(ok),
                       missing_reason="; ".join(reasons),
                       seconds_per_image=float(grp["seconds"].mean()))
            for m in metrics:
                vals = ok[m].to_numpy(dtype=np.float64)
                finite = vals[np.isfinite(vals)]
                row[f"{m}_mean"] = finite.mean() if finite.size else np.nan
                row[f"{m}_std"] = finite.std(ddof=1) if finite.size > 1 else np.nan
                row[f"{m}_median"] = np.median(finite) if finite.size else np.nan
                row[f"{m}_n_inf"] = int(np.isinf(vals).sum())
            rows.append(row)
    return pd.DataFrame(rows).sort_values(KEYS, kind="stable").reset_index(drop=True)


def _fmt(mean: float, std: float, median: float, digits: int) -> str:
    if not np.isfinite(mean):
        return "missing"
    std_s = f"{std:.{digits}f}" if np.isfinite(std) else "n/a"
    return f"{mean:.{digits}f} ± {std_s} ({median:.{digits}f})"


def to_markdown(summary: pd.DataFrame, metrics: Sequence[str], data_range: float) -> str:
    """Markdown table: mean ± std (median) per metric; missing cells say why."""
    digits = {"psnr": 2}
    out = summary[KEYS + ["n_images"]].copy()
    for m in metrics:
        out[m.upper()] = [
            _fmt(r[f"{m}_mean"], r[f"{m}_std"], r[f"{m}_median"], digits.get(m, 4))
            for _, r in summary.iterrows()]
    out["s/image"] = summary["seconds_per_image"].map(lambda s: f"{s:.3f}")
    out["missing"] = [
        f"{r.n_missing}: {r.missing_reason}" if r.n_missing else "" for r in summary.itertuples()]
    header = (f"Per-image metrics, mean ± std (median) over the test split. "
              f"PSNR in dB with data range {data_range} (clean images in [0, 1]); "
              f"SSIM: Gaussian window 11, σ = 1.5, K1 = 0.01, K2 = 0.03.\n\n")
    return header + out.to_markdown(index=False) + "\n"


def write_summary(
    cell_paths: Sequence[str | os.PathLike], metrics: Sequence[str], data_range: float,
    csv_path: str | os.PathLike, md_path: str | os.PathLike, parquet_path: str | os.PathLike,
) -> pd.DataFrame:
    """Read the cell tables and write the aggregated table as CSV, Markdown and Parquet."""
    summary = summarize([pd.read_parquet(p) for p in cell_paths], metrics)
    with atomic_path(csv_path) as tmp:
        summary.to_csv(tmp, index=False)
    with atomic_path(parquet_path) as tmp:
        summary.to_parquet(tmp, index=False)
    with atomic_path(md_path) as tmp:
        tmp.write_text(to_markdown(summary, metrics, data_range))
    return summary
