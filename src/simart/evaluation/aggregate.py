"""Aggregate per-image cell tables into the summary table (mean ± std and median per metric).

CSV / Parquet: one row per (dataset, modality, model), columns ``<metric>_mean``, ``_std``,
``_median``, ``_n`` (finite values used), ``_n_inf``, ``_missing`` (why values are
missing). Markdown: one table per (dataset, modality) with the metrics as rows and the
models as columns; a metric or a model that could not be computed says
``missing: <reason>`` (reasons listed under the table). A cell whose every computed value
is +inf (PSNR of restorations identical to the clean images) is ``inf`` in the CSV and
``+inf (all k inf)`` in the Markdown, not missing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from simart.io import atomic_path

KEYS = ["dataset", "modality", "model"]
ARROWS = {"higher": "↑", "lower": "↓", "one": "→1"}


def _reasons(grp: pd.DataFrame, metric: str, ok: pd.Series) -> str:
    col = f"{metric}_reason"
    if metric not in grp.columns:
        return "metric not in the cell table"
    nan = ok & grp[metric].isna()
    if not nan.any():
        return ""
    found = sorted(set(grp.loc[nan, col].astype(str)) - {""}) if col in grp.columns else []
    return "; ".join(found) or "not computed"


def summarize(cells: Sequence[pd.DataFrame], metrics: Sequence[str]) -> pd.DataFrame:
    """One row per (dataset, modality, model) with n, n_missing, mean/std/median per metric.

    Statistics use only the images where the model ran (``status == "ok"``) and the metric
    is finite; a PSNR of +inf (a perfect restoration) is excluded from mean/std and counted
    in ``<metric>_n_inf`` so it never hides inside an average. When there is no finite value
    but every computed one is the same infinity, mean and median are that infinity (std
    NaN): the cell is +inf, not missing. ``<metric>_missing`` names why values are NaN among
    the images the model ran on (metric unavailable/undefined).
    """
    rows = []
    for cell in cells:
        for key, grp in cell.groupby(KEYS, sort=False):
            ok = grp["status"] == "ok"
            reasons = sorted(set(grp.loc[~ok, "missing_reason"]))
            row = dict(zip(KEYS, key, strict=True))
            row.update(n_images=len(grp), n_missing=int((~ok).sum()),
                       missing_reason="; ".join(reasons),
                       seconds_per_image=float(grp["seconds"].mean()))
            for m in metrics:
                vals = (grp.loc[ok, m].to_numpy(dtype=np.float64) if m in grp.columns
                        else np.full(int(ok.sum()), np.nan))
                finite, infs = vals[np.isfinite(vals)], np.unique(vals[np.isinf(vals)])
                only_inf = float(infs[0]) if not finite.size and infs.size == 1 else np.nan
                row[f"{m}_mean"] = finite.mean() if finite.size else only_inf
                row[f"{m}_std"] = finite.std(ddof=1) if finite.size > 1 else np.nan
                row[f"{m}_median"] = np.median(finite) if finite.size else only_inf
                row[f"{m}_n"] = int(finite.size)
                row[f"{m}_n_inf"] = int(np.isinf(vals).sum())
                why = _reasons(grp, m, ok)
                if not finite.size and infs.size > 1:
                    why = "; ".join(filter(None, [why, "no finite value, both +inf and -inf"]))
                row[f"{m}_missing"] = why
            rows.append(row)
    return pd.DataFrame(rows).sort_values(KEYS, kind="stable").reset_index(drop=True)


class MarkdownNotes:
    """Numbered notes under a Markdown table: each distinct text once, cells say ``[n]``."""

    def __init__(self) -> None:
        self.items: dict[str, int] = {}

    def ref(self, text: str) -> str:
        return f"[{self.items.setdefault(text, len(self.items) + 1)}]"

    def lines(self) -> list[str]:
        return [f"- [{i}] {text}" for text, i in self.items.items()]


def cells_by_subset(paths: Sequence[str | os.PathLike]) -> dict[str, dict[str, pd.DataFrame]]:
    """{subset: {evaluation row: cell table}} of cell files (column ``modality`` = the subset,
    ``model`` = the row); empty cells are skipped."""
    from simart.provenance import read_table

    out: dict[str, dict[str, pd.DataFrame]] = {}
    for p in paths:
        cell = read_table(p)
        if not cell.empty:
            out.setdefault(str(cell["modality"].iloc[0]), {})[str(cell["model"].iloc[0])] = cell
    return out


def md_escape(text: str) -> str:
    """Escape ``|`` so that text can sit in a Markdown table cell."""
    return text.replace("|", "\\|")


def _digits(metric: str) -> int:
    return 2 if metric in ("psnr", "frc_res_px", "frc_res_nm", "frc_res_px_ref", "frc_res_nm_ref",
                           "piqe", "brisque") else 4


def _fmt(mean: float, std: float, median: float, digits: int) -> str:
    std_s = f"{std:.{digits}f}" if np.isfinite(std) else "n/a"
    return f"{mean:.{digits}f} ± {std_s} ({median:.{digits}f})"


def to_markdown(summary: pd.DataFrame, metrics: Sequence[str], data_range: float) -> str:
    """Per (dataset, modality): metrics × models, mean ± std (median); missing cells say why."""
    from simart.specs.metrics import METRICS

    lines = [
        "# Per-image metrics, mean ± std (median) over the test split",
        "",
        (f"PSNR in dB with data range {data_range} (clean images in [0, 1]); SSIM: Gaussian "
         "window 11, σ = 1.5, K1 = 0.01, K2 = 0.03, valid region. ↑ higher is better, ↓ lower, "
         "→1 closest to 1. Mean and std over finite values: `(k inf)` counts +inf (identical "
         "images), `(k missing [n])` values not computed; `missing: [n]`: why, in note n below "
         "the table."),
        "",
        "| metric | unit | what |",
        "|---|---|---|",
    ]
    for m in metrics:
        e = METRICS.get(m)
        if e is not None:
            lines.append(f"| {m} {ARROWS[e.better]} | {e.unit} | {md_escape(e.description)} |")
    lines.append("")
    for (dataset, modality), grp in summary.groupby(["dataset", "modality"], sort=True):
        models = list(grp["model"])
        notes = MarkdownNotes()
        table = []
        records = grp.to_dict("records")  # once per table, not once per metric
        for m in metrics:
            e = METRICS.get(m)
            row = {"metric": f"{m} {ARROWS[e.better]}" if e else m}
            for r in records:
                n_ok = r["n_images"] - r["n_missing"]
                if n_ok == 0:
                    row[r["model"]] = "missing: " + notes.ref(
                        f"`{r['model']}` missing for all {r['n_images']} images: "
                        f"{r['missing_reason']}")
                    continue
                mean, reason = r[f"{m}_mean"], r[f"{m}_missing"] or "not computed"
                n_inf = r[f"{m}_n_inf"]
                n_nan = n_ok - r[f"{m}_n"] - n_inf  # inf values are not missing
                if np.isnan(mean):
                    row[r["model"]] = "missing: " + notes.ref(f"`{m}`: {reason}")
                    continue
                if np.isinf(mean):  # no finite value, every computed one this infinity
                    cell = "+inf" if mean > 0 else "-inf"
                    extra = [f"all {n_inf} inf" if n_inf == n_ok else f"{n_inf} inf"]
                else:
                    cell = _fmt(mean, r[f"{m}_std"], r[f"{m}_median"], _digits(m))
                    extra = [f"{n_inf} inf"] if n_inf else []
                if n_nan > 0:
                    extra.append(f"{n_nan} missing " + notes.ref(f"`{m}`: {reason}"))
                row[r["model"]] = cell + (f" ({', '.join(extra)})" if extra else "")
            table.append(row)
        for r in grp.itertuples(index=False):
            if 0 < r.n_missing < r.n_images:
                notes.ref(f"`{r.model}` missing for {r.n_missing}/{r.n_images} images: "
                          f"{r.missing_reason}")
        timing = {"metric": "s/image (restoration)"}
        timing.update({r.model: f"{r.seconds_per_image:.3f}" for r in grp.itertuples()})
        table.append(timing)
        frame = pd.DataFrame(table, columns=["metric", *models])
        lines += [f"## {dataset} / {modality} ({int(grp['n_images'].max())} test images)", "",
                  frame.fillna("").to_markdown(index=False), ""]
        lines += notes.lines() + [""]
    return "\n".join(lines)


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
