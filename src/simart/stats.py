"""Statistics over per-image metric tables (docs/metrics.md).

Per dataset × modality × metric, each model against a reference model (or all pairs):

* **Mood's median test** (the conditional-DDPM paper): ``scipy.stats.median_test`` on the two models' values
  (unpaired; ties counted below the grand median, scipy's default).
* **Paired t-test** (the PCSD paper): ``scipy.stats.ttest_rel`` on the images both models scored.
* **Wilcoxon signed-rank**: ``scipy.stats.wilcoxon`` (two-sided, zero differences dropped
  as in Wilcoxon's original, scipy's default ``zero_method='wilcox'``) on the same pairs.
* **Holm** step-down correction, separately for each test, over the family of comparisons
  that share (dataset, modality, metric) — the models compared on one metric panel.
* Median and mean of each model and of the paired difference (model − reference) with
  percentile bootstrap CIs (``n_bootstrap`` resamples, seeded per key: the numbers do not
  depend on the order things are computed in).
* Stars from the Holm-adjusted p: ``***`` p < .001, ``**`` p < .01, ``*`` p < .05, ``ns``.

Pairing is by ``image_index``. Only rows where the model ran (``status == 'ok'``) and the
metric is finite enter; ``+inf`` (PSNR of a perfect image) is left out and counted
(``n_nonfinite``). A model without usable values is reported as missing for that comparison
with the reason, never dropped and never a crash.

Memory: a cell table carries its shard's whole parameter table; :func:`read_cells` reads
only the columns the statistics use, text columns as categories (one byte per row instead
of a string), metric values as stored (float64: the tests' p-values must not move). Peak
memory grows with the rows read: :func:`simart.workflow.resources.stats_job`.
"""

from __future__ import annotations

import os
import warnings
import zlib
from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
import scipy.stats

from simart.io import atomic_path
from simart.provenance import read_table

KEYS = ["dataset", "modality"]
ID_COLUMNS = ("dataset", "modality", "model", "image_index", "status", "missing_reason")
TESTS = ("mood", "t", "wilcoxon")
TEST_LABELS = {"mood": "Mood median", "t": "paired t", "wilcoxon": "Wilcoxon"}


def stars(p: float) -> str:
    """``***`` p < .001, ``**`` p < .01, ``*`` p < .05, ``ns`` otherwise, ``''`` for NaN."""
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "ns"


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values; NaN entries stay NaN and are not in the family."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adj)
    return out


def _seed_for(seed: int, *keys: str) -> np.random.SeedSequence:
    return np.random.SeedSequence([seed, *(zlib.crc32(k.encode()) for k in keys)])


def bootstrap_ci(values: np.ndarray, stat: str, n_boot: int, level: float,
                 rng: np.random.Generator, chunk: int = 200) -> tuple[float, float]:
    """Percentile bootstrap CI of the median or mean of ``values`` (1-D, finite)."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n < 2:
        return (np.nan, np.nan)
    fn = np.median if stat == "median" else np.mean
    stats = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        k = min(chunk, n_boot - start)
        stats[start:start + k] = fn(values[rng.integers(0, n, size=(k, n))], axis=1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(stats, [alpha, 1 - alpha])
    return float(lo), float(hi)


def _describe(values: np.ndarray, n_boot: int, level: float, seed: np.random.SeedSequence
              ) -> dict[str, float]:
    rng_med, rng_mean = (np.random.default_rng(s) for s in seed.spawn(2))
    if len(values) == 0:
        return dict.fromkeys(["median", "median_lo", "median_hi", "mean", "mean_lo",
                              "mean_hi"], np.nan)
    med_lo, med_hi = bootstrap_ci(values, "median", n_boot, level, rng_med)
    mean_lo, mean_hi = bootstrap_ci(values, "mean", n_boot, level, rng_mean)
    return {"median": float(np.median(values)), "median_lo": med_lo, "median_hi": med_hi,
            "mean": float(np.mean(values)), "mean_lo": mean_lo, "mean_hi": mean_hi}


def run_test(name: str, a: np.ndarray, b: np.ndarray) -> tuple[float, float, str]:
    """(statistic, p, note) of one test; NaN and the reason when it cannot be computed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if name == "mood":
                if len(a) < 1 or len(b) < 1:
                    return np.nan, np.nan, "needs values of both models"
                res = scipy.stats.median_test(a, b)
                return float(res.statistic), float(res.pvalue), ""
            if len(a) < 2:
                return np.nan, np.nan, "fewer than 2 paired images"
            d = a - b
            if np.all(d == 0):
                return np.nan, np.nan, "all paired differences are 0"
            if name == "t":
                res = scipy.stats.ttest_rel(a, b)
            else:
                res = scipy.stats.wilcoxon(a, b)
            p = float(res.pvalue)
            return float(res.statistic), p, "" if np.isfinite(p) else "undefined"
    except ValueError as exc:  # e.g. Mood: all values on one side of the grand median
        return np.nan, np.nan, str(exc)


def model_values(grp: pd.DataFrame, metric: str) -> tuple[pd.Series, int, str]:
    """Finite values of one model indexed by image_index, the count of ±inf, why missing."""
    if metric not in grp.columns:
        return pd.Series(dtype=np.float64), 0, f"metric {metric!r} not in the cell table"
    col = f"{metric}_reason"
    keep = ["image_index", metric, *([col] if col in grp.columns else [])]
    ok = grp.loc[(grp["status"] == "ok").to_numpy(), keep]  # only the columns it reads
    vals = pd.Series(ok[metric].to_numpy(dtype=np.float64), index=ok["image_index"].to_numpy())
    n_inf = int(np.isinf(vals).sum())
    finite = vals[np.isfinite(vals)]
    reason = ""
    if finite.empty:
        if ok.empty:
            reasons = sorted(set(grp["missing_reason"].astype(str)) - {""})
            reason = "model missing: " + ("; ".join(reasons) or "no rows")
        else:
            reasons = sorted(set(ok[col].astype(str)) - {""}) if col in ok.columns else []
            reason = "; ".join(reasons) or "no finite values"
    return finite, n_inf, reason


def compare_models(
    table: pd.DataFrame,
    metrics: Sequence[str],
    *,
    reference: str,
    all_pairs: bool = False,
    n_bootstrap: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    better: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Descriptive statistics per model and comparisons, from concatenated per-image tables.

    ``table``: rows of every cell (columns dataset, modality, model, image_index, status,
    missing_reason, the metric columns and their ``<metric>_reason``). Returns
    ``(descriptive, comparisons)``; see the module docstring for what is computed.
    """
    desc_rows, comp_rows = [], []
    for (dataset, modality), grp in table.groupby(KEYS, sort=True, observed=True):
        models = list(dict.fromkeys(grp["model"]))
        by_model = {m: g for m, g in grp.groupby("model", sort=False, observed=True)}
        if all_pairs:
            pairs = list(combinations(sorted(models), 2))
        else:
            pairs = [(m, reference) for m in sorted(models) if m != reference]
        for metric in metrics:
            cache: dict[str, tuple[pd.Series, int, str]] = {}
            for model in sorted(models):
                vals, n_inf, reason = cache.setdefault(
                    model, model_values(by_model[model], metric))
                row = {"dataset": dataset, "modality": modality, "metric": metric,
                       "model": model, "n": len(vals), "n_nonfinite": n_inf,
                       "better": (better or {}).get(metric, ""), "missing_reason": reason}
                row.update(_describe(vals.to_numpy(), n_bootstrap, level,
                                     _seed_for(seed, dataset, modality, metric, model)))
                desc_rows.append(row)
            for model, ref in pairs:
                a_vals, _, a_reason = cache.get(model) or model_values(
                    by_model.get(model, grp.iloc[:0]), metric)
                if ref in by_model:
                    b_vals, _, b_reason = cache.setdefault(ref, model_values(by_model[ref], metric))
                else:
                    b_vals, b_reason = pd.Series(dtype=np.float64), "reference model not run"
                common = a_vals.index.intersection(b_vals.index)
                a_pair = a_vals.loc[common].to_numpy()
                b_pair = b_vals.loc[common].to_numpy()
                row = {"dataset": dataset, "modality": modality, "metric": metric,
                       "model": model, "reference": ref, "n_model": len(a_vals),
                       "n_reference": len(b_vals), "n_pairs": len(common),
                       "median_model": float(np.median(a_vals)) if len(a_vals) else np.nan,
                       "median_reference": float(np.median(b_vals)) if len(b_vals) else np.nan}
                diff = _describe(a_pair - b_pair, n_bootstrap, level,
                                 _seed_for(seed, dataset, modality, metric, model, ref, "diff"))
                row.update({f"diff_{k}": v for k, v in diff.items()})
                notes = []
                if a_reason and a_reason == b_reason:
                    notes.append(f"{model}, {ref}: {a_reason}")
                else:
                    notes += [f"{who}: {why}" for who, why in ((model, a_reason), (ref, b_reason))
                              if why]
                for test in TESTS:
                    if a_reason or b_reason:
                        stat, p, note = np.nan, np.nan, ""
                    elif test == "mood":
                        stat, p, note = run_test(test, a_vals.to_numpy(), b_vals.to_numpy())
                    else:
                        stat, p, note = run_test(test, a_pair, b_pair)
                    row[f"{test}_stat"], row[f"{test}_p"] = stat, p
                    if note:
                        notes.append(f"{TEST_LABELS[test]}: {note}")
                row["missing_reason"] = "; ".join(notes)
                comp_rows.append(row)
    desc = pd.DataFrame(desc_rows)
    comp = pd.DataFrame(comp_rows)
    if not comp.empty:
        for test in TESTS:
            comp[f"{test}_p_holm"] = np.nan
            for idx in comp.groupby(["dataset", "modality", "metric"]).groups.values():
                comp.loc[idx, f"{test}_p_holm"] = holm(comp.loc[idx, f"{test}_p"].to_numpy())
            comp[f"{test}_stars"] = comp[f"{test}_p_holm"].map(stars)
    return desc, comp


# ------------------------------------------------------------------------------- writing
def _num(v: float, digits: int = 4) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    return f"{v:.{digits}g}"


def _ci(v: float, lo: float, hi: float) -> str:
    return f"{_num(v)} [{_num(lo)}, {_num(hi)}]"


def _p(p: float, st: str) -> str:
    return "n/a" if not np.isfinite(p) else f"{p:.2g} {st}"


def to_markdown(desc: pd.DataFrame, comp: pd.DataFrame, *, reference: str, all_pairs: bool,
                n_bootstrap: int, level: float) -> str:
    """One table per (dataset, modality): every comparison of every metric."""
    arrows = {"higher": "↑", "lower": "↓", "one": "→1"}
    pct = f"{100 * level:g}%"
    lines = [
        f"# Statistics: {'all pairs of models' if all_pairs else f'each model vs {reference!r}'}",
        "",
        (f"Per image, paired by image_index. Median / mean with percentile bootstrap {pct} CI "
         f"({n_bootstrap} resamples, seeded). p-values Holm-corrected over the models compared "
         "on one metric (per test); *** p<.001, ** p<.01, * p<.05, ns otherwise. Mood = Mood's "
         "median test (unpaired), t = paired t-test, W = Wilcoxon signed-rank. Δ = model − "
         "reference, per image."),
        ""]
    if comp.empty:
        return "\n".join(lines + ["No comparisons (fewer than two models).", ""])
    from simart.evaluation.aggregate import MarkdownNotes

    mean_of = desc.set_index(["dataset", "modality", "metric", "model"])
    for (dataset, modality), grp in comp.groupby(KEYS, sort=True):
        lines += [f"## {dataset} / {modality}", ""]
        notes = MarkdownNotes()
        rows = []
        for r in grp.itertuples():
            d = mean_of.loc[(dataset, modality, r.metric, r.model)]
            metric = f"{r.metric} {arrows.get(d['better'], '')}".strip()
            base = {"metric": metric, "model": r.model, "vs": r.reference, "pairs": r.n_pairs}
            if not (np.isfinite(r.t_p) or np.isfinite(r.mood_p) or np.isfinite(r.wilcoxon_p)):
                rows.append({**base, "median [CI]": "missing: " + notes.ref(r.missing_reason)})
                continue
            rows.append({
                **base,
                "median [CI]": _ci(d["median"], d["median_lo"], d["median_hi"]),
                "mean [CI]": _ci(d["mean"], d["mean_lo"], d["mean_hi"]),
                "ref. median": _num(r.median_reference),
                "Δ median [CI]": _ci(r.diff_median, r.diff_median_lo, r.diff_median_hi),
                "Mood p": _p(r.mood_p_holm, r.mood_stars),
                "t p": _p(r.t_p_holm, r.t_stars),
                "W p": _p(r.wilcoxon_p_holm, r.wilcoxon_stars),
                "note": notes.ref(r.missing_reason) if r.missing_reason else "",
            })
        lines += [pd.DataFrame(rows).fillna("").to_markdown(index=False), ""]
        lines += notes.lines() + [""]
    return "\n".join(lines)


def read_cells(paths: Sequence[str | os.PathLike], metrics: Sequence[str]) -> pd.DataFrame:
    """The rows of every cell table with only the columns the statistics read (ids, each
    metric and its reason); text columns as categories sorted as strings sort, so grouping
    visits them in the order plain strings would."""
    import pyarrow.parquet as pq

    want = [*ID_COLUMNS, *(c for m in metrics for c in (m, f"{m}_reason"))]
    frames = []
    for p in paths:
        names = set(pq.read_schema(p).names)
        frame = read_table(p, columns=[c for c in want if c in names])
        for c in frame.columns:
            if not (pd.api.types.is_numeric_dtype(frame[c]) or c == "image_index"):
                frame[c] = frame[c].astype("category")
        frames.append(frame)
    texts = {c for f in frames for c in f.columns if isinstance(f[c].dtype, pd.CategoricalDtype)}
    for c in texts:  # one category set per column, so the concatenation stays categorical
        cats = sorted({v for f in frames if c in f.columns for v in f[c].cat.categories})
        for f in frames:
            if c in f.columns:
                f[c] = f[c].cat.set_categories(cats)
    return pd.concat(frames, ignore_index=True)


def write_stats(
    cell_paths: Sequence[str | os.PathLike],
    metrics: Sequence[str],
    out: Mapping[str, str | os.PathLike],
    *,
    reference: str,
    all_pairs: bool = False,
    n_bootstrap: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the cell tables; write ``out['csv' | 'parquet' | 'md']`` (comparisons) and
    ``out['descriptive_csv' | 'descriptive_parquet']``."""
    from simart.specs.metrics import METRICS

    table = read_cells(cell_paths, metrics)
    better = {m: METRICS[m].better for m in metrics if m in METRICS}
    desc, comp = compare_models(table, metrics, reference=reference, all_pairs=all_pairs,
                                n_bootstrap=n_bootstrap, level=level, seed=seed, better=better)
    for key, frame in (("csv", comp), ("descriptive_csv", desc)):
        with atomic_path(out[key]) as tmp:
            frame.to_csv(tmp, index=False)
    for key, frame in (("parquet", comp), ("descriptive_parquet", desc)):
        with atomic_path(out[key]) as tmp:
            frame.to_parquet(tmp, index=False)
    with atomic_path(out["md"]) as tmp:
        tmp.write_text(to_markdown(desc, comp, reference=reference, all_pairs=all_pairs,
                                   n_bootstrap=n_bootstrap, level=level))
    return desc, comp
