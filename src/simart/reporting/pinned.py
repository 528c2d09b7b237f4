"""The PINNED paper (atomic-resolution STEM): metrics against the CDN noise level, per material.

The paper evaluates its model on synthetic STEM lattices degraded by Composite Degradation
Noise at levels 1-5 and reports PSNR, SSIM, FSC and EPI per image and level **only as
plots** (its Figs. 3 and 5): it gives no table of results, so there is no claimed number
to set beside ours (:func:`claims_vs_measured` returns an empty table with the reproduction
report's columns). What it does state, in prose, are trends and orderings over the levels
and its validation materials (BaTiO3, Al, ZnMgTe: our ``stem_lattice`` test split); these
are checked on our cells by :func:`trend_checks`, for its model (PINNED, our ``pinned``).

Inputs are the ``stem_lattice`` benchmark cells (``results/metrics/stem_lattice/L{k}/
{model}.parquet``, one row per test image with its ``material`` and CDN ``level``).
Outputs: the curves (mean, std, n per material x level x model x metric, with the reason
where a value is missing), the trend checks, and the empty claims table.

Metric names are ours (:mod:`simart.metrics`): the paper's EPI ``||grad x_hat||_1 /
||grad x||_1`` is ``epi_ratio`` (1 best), its FSC is ``fsc``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats

from simart.evaluation.aggregate import md_escape
from simart.io import atomic_path
from simart.provenance import read_table

log = logging.getLogger("simart")

#: the paper's four metrics, in its order (our names)
SEED_METRICS = ("psnr", "ssim", "fsc", "epi_ratio")
INPUT_MODEL = "noisy"
SEED_MODEL = "pinned"
CURVE_COLUMNS = ("material", "level", "model", "metric", "n", "mean", "std", "missing_reason")
CLAIM_COLUMNS = ("paper", "table", "row", "metric", "claimed", "measured", "n", "scale", "why")
TREND_COLUMNS = ("claim", "paper_text", "model", "metric", "measured", "verdict")


def load_cells(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Concatenate ``stem_lattice`` cell tables (one row per test image and model)."""
    frames = [read_table(p) for p in paths]
    if not frames:
        return pd.DataFrame(columns=["material", "level", "model", "status"])
    cells = pd.concat(frames, ignore_index=True)
    for col in ("material", "level", "model", "status"):
        if col not in cells.columns:
            raise ValueError(f"stem_lattice cells lack the column {col!r}")
    return cells


def _reason(rows: pd.DataFrame, metric: str) -> str:
    """Why ``metric`` has no finite value in ``rows`` (first non-empty reason)."""
    if metric not in rows.columns:
        return f"{metric} not in the cell tables (not in evaluate.metrics of this run)"
    for col in (f"{metric}_reason", "missing_reason"):
        if col in rows.columns:
            r = [s for s in rows[col].astype(str) if s and s != "nan"]
            if r:
                return r[0]
    if (rows["status"] != "ok").all():
        return "model did not run on these images"
    return "no finite value"


def noise_curves(cells: pd.DataFrame, metrics: Sequence[str] = SEED_METRICS) -> pd.DataFrame:
    """Mean, std (ddof 1) and n of each metric per (material, level, model) over the images
    whose status is ``ok`` and whose value is finite; ``missing_reason`` where n = 0.

    Units are the metrics' own (PSNR dB; SSIM, FSC, EPI dimensionless)."""
    out = []
    for (material, level, model), grp in cells.groupby(["material", "level", "model"],
                                                      sort=True):
        ok = grp[grp["status"] == "ok"]
        for metric in metrics:
            vals = (ok[metric].to_numpy(dtype=np.float64) if metric in ok.columns
                    else np.array([], dtype=np.float64))
            vals = vals[np.isfinite(vals)]
            out.append({"material": material, "level": int(level), "model": model,
                        "metric": metric, "n": len(vals),
                        "mean": float(vals.mean()) if len(vals) else np.nan,
                        "std": float(vals.std(ddof=1)) if len(vals) > 1 else np.nan,
                        "missing_reason": "" if len(vals) else _reason(grp, metric)})
    return pd.DataFrame(out, columns=list(CURVE_COLUMNS))


def read_curves(path: str | os.PathLike) -> pd.DataFrame:
    """Read a curves CSV written by :func:`write_tables` (reasons as ``''`` where none)."""
    curves = pd.read_csv(path, dtype={"material": str, "model": str, "metric": str})
    curves["missing_reason"] = curves["missing_reason"].fillna("").astype(str)
    return curves


def claims_vs_measured(curves: pd.DataFrame | None = None, scale: str = "") -> pd.DataFrame:
    """The PINNED paper's claimed numbers beside ours: none exist (its results are plots only; its
    Table 1 lists the CDN noise parameters, inputs we use, not results). Empty table with
    the reproduction report's columns."""
    return pd.DataFrame(columns=list(CLAIM_COLUMNS))


# ---------------------------------------------------------------- the paper's prose claims
@dataclass(frozen=True)
class Trend:
    """One statement of the paper's validation-set prose, as a check on the curves.

    ``kind``: ``"decreases"`` / ``"increases"`` (Spearman rho of the mean over levels, per
    material, must have that sign for every material), ``"highest"`` / ``"lowest"`` (the
    material has the highest / lowest mean at every level), ``"steepest_decline"`` (the
    material's least-squares slope over levels is the most negative)."""

    claim: str
    paper_text: str
    metric: str
    kind: str
    material: str | None = None


TRENDS = (
    Trend("PSNR decreases with the noise level", "Validation set, i. PSNR", "psnr",
          "decreases"),
    Trend("BaTiO3 has the highest PSNR at every level", "Validation set, i. PSNR", "psnr",
          "highest", "BaTiO3"),
    Trend("SSIM decreases with the noise level for all samples", "Validation set, ii. SSIM",
          "ssim", "decreases"),
    Trend("BaTiO3 retains the highest SSIM", "Validation set, ii. SSIM", "ssim", "highest",
          "BaTiO3"),
    Trend("ZnMgTe has the steepest SSIM decline", "Validation set, ii. SSIM", "ssim",
          "steepest_decline", "ZnMgTe"),
    Trend("EPI increases with the noise level", "Validation set, iv. EPI", "epi_ratio",
          "increases"),
    Trend("Al has the highest EPI", "Validation set, iv. EPI", "epi_ratio", "highest", "Al"),
    Trend("ZnMgTe has the lowest EPI", "Validation set, iv. EPI", "epi_ratio", "lowest",
          "ZnMgTe"),
)


def _series(curves: pd.DataFrame, model: str, metric: str) -> pd.DataFrame:
    """levels x materials table of means (NaN where missing)."""
    c = curves[(curves["model"] == model) & (curves["metric"] == metric)]
    return c.pivot_table(index="level", columns="material", values="mean", dropna=False)


def _check(trend: Trend, table: pd.DataFrame) -> tuple[str, str]:
    """(measured, verdict) of one trend on a levels x materials table of means."""
    table = table.dropna(how="all")
    if table.empty or len(table.index) < 2:
        return "", "not evaluated: fewer than two noise levels with values"
    if trend.kind in ("decreases", "increases"):
        rhos = {}
        for mat in table.columns:
            s = table[mat].dropna()
            rhos[mat] = (scipy.stats.spearmanr(s.index, s.to_numpy()).statistic
                         if len(s) > 1 and s.nunique() > 1 else np.nan)
        sign = -1.0 if trend.kind == "decreases" else 1.0
        measured = ", ".join(f"{m} rho={r:+.2f}" for m, r in rhos.items())
        good = [np.isfinite(r) and sign * r > 0 for r in rhos.values()]
        verdict = ("holds" if all(good) else
                   "partly: " + ", ".join(m for m, g in zip(rhos, good, strict=True) if g)
                   if any(good) else "does not hold")
        return f"Spearman rho(level, mean): {measured}", verdict
    if trend.material not in table.columns:
        return "", f"not evaluated: {trend.material} not among the test materials"
    if trend.kind in ("highest", "lowest"):
        pick = table.idxmax(axis=1) if trend.kind == "highest" else table.idxmin(axis=1)
        hits = int((pick == trend.material).sum())
        measured = "; ".join(f"L{lv}: {m}" for lv, m in pick.items())
        verdict = ("holds" if hits == len(pick) else
                   f"partly: {hits} of {len(pick)} levels" if hits else "does not hold")
        return f"{trend.kind} material per level: {measured}", verdict
    if trend.kind == "steepest_decline":
        slopes = {}
        for mat in table.columns:
            s = table[mat].dropna()
            slopes[mat] = (float(np.polyfit(s.index.to_numpy(float), s.to_numpy(), 1)[0])
                           if len(s) > 1 else np.nan)
        finite = {m: v for m, v in slopes.items() if np.isfinite(v)}
        steepest = min(finite, key=finite.get) if finite else None
        measured = "slope per level: " + ", ".join(f"{m} {v:+.4g}" for m, v in slopes.items())
        return measured, "holds" if steepest == trend.material else "does not hold"
    raise ValueError(f"unknown trend kind {trend.kind!r}")


def trend_checks(curves: pd.DataFrame, model: str = SEED_MODEL,
                 trends: Sequence[Trend] = TRENDS) -> pd.DataFrame:
    """The paper's prose statements about its validation set checked on ``model``'s curves:
    one row per statement with what we measured and ``holds`` / ``partly`` / ``does not
    hold`` / ``not evaluated: why``."""
    out = []
    for t in trends:
        if model not in set(curves["model"]):
            measured, verdict = "", f"not evaluated: {model} not scored on stem_lattice"
        else:
            sub = curves[(curves["model"] == model) & (curves["metric"] == t.metric)]
            if sub.empty or sub["n"].sum() == 0:
                reasons = sorted(set(sub["missing_reason"])) if not sub.empty else []
                measured = ""
                verdict = "not evaluated: " + ("; ".join(reasons) or f"{t.metric} not computed")
            else:
                measured, verdict = _check(t, _series(curves, model, t.metric))
        out.append({"claim": t.claim, "paper_text": t.paper_text, "model": model,
                    "metric": t.metric, "measured": measured, "verdict": verdict})
    return pd.DataFrame(out, columns=list(TREND_COLUMNS))


# ---------------------------------------------------------------- writing
def _fmt(mean: float, std: float, n: int) -> str:
    if n == 0 or not np.isfinite(mean):
        return "missing"
    s = f"{mean:.3f}" if abs(mean) < 10 else f"{mean:.2f}"
    return s + (f" ± {std:.2g}" if np.isfinite(std) else "") + f" ({n})"


def to_markdown(curves: pd.DataFrame, trends: pd.DataFrame, context: str = "") -> str:
    """Curves as one table per (metric, material): levels x models; then the trend checks."""
    lines = ["# The PINNED paper: metrics vs CDN noise level, per test material", ""]
    if context:
        lines += [context, ""]
    lines += [("Mean ± std (n images) over the test images of each material and level. "
               "The PINNED paper gives these only as plots (no numbers to compare); its prose "
               "statements are checked below. EPI = ||∇x̂||₁/||∇x||₁ (`epi_ratio`, 1 best)."),
              ""]
    for metric in dict.fromkeys(curves["metric"]):
        for material in sorted(set(curves["material"])):
            c = curves[(curves["metric"] == metric) & (curves["material"] == material)]
            if c.empty:
                continue
            tab = c.assign(cell=[_fmt(r.mean, r.std, r.n) for r in c.itertuples()]).pivot(
                index="model", columns="level", values="cell")
            tab.columns = [f"L{lv}" for lv in tab.columns]
            lines += [f"## {metric} — {material}", "", tab.reset_index().to_markdown(
                index=False), ""]
            miss = c[c["n"] == 0]
            for r in miss.drop_duplicates(["model", "missing_reason"]).itertuples():
                lines.append(f"- missing {r.model}: {md_escape(r.missing_reason)}")
            if not miss.empty:
                lines.append("")
    lines += ["## The paper's statements (validation set), checked on our run", ""]
    lines += [trends.map(lambda v: md_escape(str(v))).to_markdown(index=False), ""]
    return "\n".join(lines)


def write_tables(cell_paths: Sequence[str | os.PathLike], curves_csv: str | os.PathLike,
                 md: str | os.PathLike, trends_csv: str | os.PathLike,
                 claims_csv: str | os.PathLike, context: str = "",
                 metrics: Sequence[str] = SEED_METRICS) -> dict[str, pd.DataFrame]:
    """Read the cells, write the curves (CSV + Markdown), the trend checks and the (empty)
    claims table, each atomically. Returns the frames by name."""
    curves = noise_curves(load_cells(cell_paths), metrics)
    trends = trend_checks(curves)
    claims = claims_vs_measured(curves)
    for frame, path in ((curves, curves_csv), (trends, trends_csv), (claims, claims_csv)):
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False)
    with atomic_path(md) as tmp:
        tmp.write_text(to_markdown(curves, trends, context), encoding="utf-8")
    log.info("the PINNED paper: %d curve rows; prose checks: %s", len(curves),
             "; ".join(f"'{r.claim}' ({r.model}): {r.verdict}"
                       for r in trends.itertuples(index=False)) or "none")
    return {"curves": curves, "trends": trends, "claims": claims}
