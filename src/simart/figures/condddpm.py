"""The conditional-DDPM paper figures on ``lm``.

* :func:`draw_distributions` (the conditional-DDPM paper Figs. 1A-4A, S3): per mode and metric, the
  distribution over the test images of every method (box + points), with Mood's median
  test against DDPM-avg (``cond_ddpm``; top row of stars) and against one DDPM sample
  (bottom row, PSNR / SSIM only: the single sample is scored in
  ``condddpm_cond_ddpm_curve.csv``), Holm-corrected over the comparisons of one panel
  (:func:`simart.stats.run_test`, :func:`simart.stats.holm`); dashed line: the median of
  the best method.
* :func:`draw_ddpm_avg` (the conditional-DDPM paper Fig. S1): PSNR and SSIM of the mean of the first k
  samples against k (mean over the test images, band ± 1 std), from the curve table.
* :func:`draw_uncertainty` (the conditional-DDPM paper Fig. S2): for a few test images, the input, DDPM-avg,
  the clean image, the pixelwise std and entropy over the samples, and the absolute error
  of DDPM-avg, from ``cond_ddpm``'s prediction file and the test shards.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import h5py
import numpy as np
import pandas as pd

from simart.data.shards import Shard
from simart.figures.style import PALETTE, plt, save
from simart.io import atomic_path
from simart.reporting.condddpm_claims import ROWS, SINGLE
from simart.reporting.piddpm import metric_values
from simart.stats import holm, run_test, stars

REFERENCE = "cond_ddpm"
#: panels: (metric, axis label, better)
PANELS = (("mae", "MAE (intensity, 0–1 scale)", "lower"), ("psnr", "PSNR (dB)", "higher"),
          ("ssim", "SSIM", "higher"), ("ms_ssim", "MS-SSIM", "higher"),
          ("lpips", "LPIPS", "lower"), ("nrmse_mean", "NRMSE (RMSE / mean)", "lower"),
          ("pearson", "Pearson r", "higher"))
SHORT = {"noisy": "Raw", "n2v": "N2V", "pix2pix": "pix2pix", "unet_rcan": "UNet-RCAN",
         "care": "CARE", SINGLE: "DDPM", REFERENCE: "DDPM-avg"}


def _panel_metric(cells: Mapping[str, pd.DataFrame], metric: str) -> tuple[str, str]:
    """(metric shown in the panel, why it is not ``metric`` / why the panel is empty)."""
    shown, notes = [], []
    for model, cell in cells.items():
        vals, s, note = metric_values(cell, metric)
        if len(vals):
            shown.append(s)
        if model != SINGLE:  # one sample is scored for PSNR / SSIM only: not the reason
            notes.append(note)
    if metric in shown:
        return metric, ""
    if shown:
        return shown[0], next((n for n in notes if n.startswith(shown[0])), "")
    why = sorted({n for n in notes if n})
    return metric, "; ".join(why) or "no values"


def mood_stats(cells: Mapping[str, Mapping[str, pd.DataFrame]]) -> pd.DataFrame:
    """Mood's median test of every model against DDPM-avg and against one DDPM sample, per
    (subset, panel): :func:`simart.stats.run_test` (``scipy.stats.median_test``), Holm over
    the models compared with one reference in one panel (:func:`simart.stats.holm`), stars
    from the adjusted p (:func:`simart.stats.stars`). Panels without values are left out."""
    rows = []
    for subset, by_model in sorted(cells.items()):
        for metric, _, _ in PANELS:
            shown, _ = _panel_metric(by_model, metric)
            vals = {m: metric_values(c, shown)[0] for m, c in by_model.items()}
            if not any(len(v) for v in vals.values()):
                continue
            for ref in (REFERENCE, SINGLE):
                if ref not in vals or not len(vals[ref]):
                    continue
                family = []
                for model in (m for _, m in ROWS if m in vals and m != ref):
                    a, b = vals[model].to_numpy(), vals[ref].to_numpy()
                    stat, p, note = (run_test("mood", a, b) if len(a) else
                                     (np.nan, np.nan, f"{model}: no values of {shown}"))
                    family.append({"dataset": "lm", "modality": subset, "panel": metric,
                                   "metric": shown, "model": model, "reference": ref,
                                   "n_model": len(a), "n_reference": len(b),
                                   "median_model": float(np.median(a)) if len(a) else np.nan,
                                   "median_reference": float(np.median(b)),
                                   "mood_stat": stat, "mood_p": p, "missing_reason": note})
                adj = holm([r["mood_p"] for r in family])
                for r, p_adj in zip(family, adj, strict=True):
                    rows.append({**r, "mood_p_holm": p_adj, "mood_stars": stars(p_adj)})
    return pd.DataFrame(rows, columns=["dataset", "modality", "panel", "metric", "model",
                                       "reference", "n_model", "n_reference", "median_model",
                                       "median_reference", "mood_stat", "mood_p",
                                       "missing_reason", "mood_p_holm", "mood_stars"])


def draw_distributions(cells: Mapping[str, Mapping[str, pd.DataFrame]],
                       out_paths: Sequence[str | os.PathLike],
                       stats_csv: str | os.PathLike | None = None,
                       missing: Mapping[str, str] | None = None, dpi: int = 150
                       ) -> pd.DataFrame:
    """Draw the distributions figure; ``cells[subset][model]`` (the single DDPM sample as
    :data:`SINGLE`), ``missing[model]``: why a method has no cell. Writes the Mood-test
    table behind the stars to ``stats_csv``; returns it."""
    missing = dict(missing or {})
    stats = mood_stats(cells)
    if stats_csv is not None:
        with atomic_path(stats_csv) as tmp:
            stats.to_csv(tmp, index=False)
    subsets = sorted(cells)
    models = [m for _, m in ROWS]
    colour = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}
    fig, axes = plt.subplots(len(subsets), len(PANELS),
                             figsize=(2.35 * len(PANELS), 3.0 * len(subsets)),
                             squeeze=False, layout="constrained")
    for r, subset in enumerate(subsets):
        by_model = cells[subset]
        for c, (metric, label, better) in enumerate(PANELS):
            ax = axes[r, c]
            shown, why = _panel_metric(by_model, metric)
            ylabel = label if shown == metric else f"{label}\n({shown}: 3 scales)"
            ax.set_ylabel(ylabel)
            ax.set_title(f"{subset}: {label.split(' (')[0]} {'↑' if better == 'higher' else '↓'}",
                         fontsize=8)
            ax.set_xticks(range(len(models)))
            ax.set_xticklabels([SHORT.get(m, m) for m in models], rotation=55, ha="right",
                               fontsize=7)
            data = {m: metric_values(by_model.get(m), shown)[0] for m in models}
            if not any(len(v) for v in data.values()):
                ax.text(0.5, 0.5, "missing:\n" + _wrap(why), ha="center", va="center",
                        fontsize=6.5, transform=ax.transAxes)
                ax.set_yticks([])
                continue
            _boxes(ax, models, data, colour, by_model)
            _best_line(ax, data, better)
            _stars(ax, models, stats, subset, metric, data)
    fig.suptitle("The conditional-DDPM paper: per-image metrics on the lm test split. Stars: Mood's median test "
                 "(Holm within a panel) vs DDPM-avg (upper) and vs one DDPM sample (lower); "
                 "*** p<.001, ** p<.01, * p<.05, ns; dashed: median of the best method",
                 fontsize=8)
    absent = [f"{SHORT.get(m, m)}: {missing.get(m, 'not evaluated in this config')}"
              for m in models if not any(m in cells[s] for s in subsets)]
    if absent:
        fig.supxlabel("not run: " + "; ".join(absent), fontsize=7)
    save(fig, out_paths, dpi=dpi)
    return stats


def _wrap(text: str, width: int = 30, limit: int = 110) -> str:
    """A reason shortened (first clause of each part, at most ``limit`` characters) and
    wrapped for a panel."""
    import textwrap

    parts = [p.split(": place")[0].split(" (the ")[0].split(" at /")[0]
             for p in text.split("; ")]
    short = "; ".join(dict.fromkeys(parts))
    short = short if len(short) <= limit else short[: limit - 1] + "…"
    return "\n".join(textwrap.wrap(short, width))


def _boxes(ax: plt.Axes, models: list[str], data: dict[str, pd.Series],
           colour: dict[str, str], by_model: Mapping[str, pd.DataFrame]) -> None:
    rng = np.random.default_rng(0)
    for i, m in enumerate(models):
        v = data[m].to_numpy()
        if len(v) == 0:  # not evaluated, or this metric not scored for it
            ax.text(i, 0.5, "not run" if m not in by_model else "not scored", rotation=90,
                    ha="center", va="center", fontsize=6, color="0.4",
                    transform=ax.get_xaxis_transform())
            continue
        bp = ax.boxplot([v], positions=[i], widths=0.6, showfliers=False, patch_artist=True,
                        medianprops={"color": "black"}, manage_ticks=False)
        for box in bp["boxes"]:
            box.set_facecolor(colour[m])
            box.set_alpha(0.45)
        ax.scatter(i + rng.uniform(-0.18, 0.18, len(v)), v, s=6, color=colour[m],
                   edgecolor="black", linewidth=0.3, zorder=3)
    ax.set_xlim(-0.6, len(models) - 0.4)


def _best_line(ax: plt.Axes, data: dict[str, pd.Series], better: str) -> None:
    meds = {m: float(v.median()) for m, v in data.items() if len(v)}
    if meds:
        best = (max if better == "higher" else min)(meds.values())
        ax.axhline(best, ls="--", lw=0.8, color="0.3", zorder=1)


def _stars(ax: plt.Axes, models: list[str], stats: pd.DataFrame, subset: str, metric: str,
           data: dict[str, pd.Series]) -> None:
    if stats.empty:
        return
    s = stats[(stats["modality"] == subset) & (stats["panel"] == metric)]
    for level, ref in ((0.97, REFERENCE), (0.90, SINGLE)):
        for _, row in s[s["reference"] == ref].iterrows():
            if row["model"] not in models or not isinstance(row["mood_stars"], str) or \
                    not row["mood_stars"]:
                continue
            ax.text(models.index(row["model"]), level, row["mood_stars"], ha="center",
                    va="top", fontsize=6.5, transform=ax.get_xaxis_transform(),
                    color="black" if ref == REFERENCE else "0.35")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.25 * (hi - lo))  # room for the stars


def _gain_over_one(sub: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per (subset, image, k): the metric of the k-sample mean minus that of k = 1 (the
    paired gain of averaging)."""
    wide = sub.pivot_table(index=["subset", "image_index"], columns="k", values=metric)
    if 1 not in wide.columns:
        return pd.DataFrame(columns=["subset", "image_index", "k", metric])
    gain = wide.sub(wide[1], axis=0)
    return gain.reset_index().melt(id_vars=["subset", "image_index"], var_name="k",
                                   value_name=metric).dropna()


def draw_ddpm_avg(curve: pd.DataFrame, out_paths: Sequence[str | os.PathLike],
                  n_ours: int | None = None, dpi: int = 150) -> None:
    """PSNR and SSIM of the mean of the first k samples vs k (top; ``curve``: the per-image
    curve table of condddpm_tables, rows with ``k > 0``) and their gain over one sample,
    paired per image (bottom); mean ± std over the test images. ``n_ours``: the N our
    DDPM-avg (``cond_ddpm``'s prediction) averages, from the config."""
    fig, axes = plt.subplots(2, 2, figsize=(7.0, 5.4), layout="constrained", sharex=True)
    sub = curve[curve["k"] > 0]
    for c, (metric, label) in enumerate((("psnr", "PSNR (dB)"), ("ssim", "SSIM"))):
        for r, data in enumerate((sub, _gain_over_one(sub, metric) if len(sub) else sub)):
            ax = axes[r, c]
            if data.empty:
                ax.text(0.5, 0.5, "missing: no mean_n{k} series in the prediction file",
                        ha="center", va="center", transform=ax.transAxes, fontsize=7)
                continue
            for i, (subset, grp) in enumerate(data.groupby("subset", sort=True)):
                g = grp.groupby("k")[metric].agg(["mean", "std", "size"]).reset_index()
                col = PALETTE[i % len(PALETTE)]
                ax.plot(g["k"], g["mean"], "-o", color=col, lw=1.8, ms=3.5,
                        label=f"{subset} (n = {int(g['size'].max())})")
                ax.fill_between(g["k"], g["mean"] - g["std"].fillna(0),
                                g["mean"] + g["std"].fillna(0), color=col, alpha=0.2, lw=0)
            ax.set_xticks(sorted(sub["k"].unique()))
            if r == 1:
                ax.axhline(0.0, color="0.4", lw=0.8, ls=":")
                ax.set_xlabel("number of averaged samples k")
                unit = label.split(" (")[1].rstrip(")") if "(" in label else ""
                ax.set_ylabel(f"gain over one sample{f' ({unit})' if unit else ''}\n"
                              f"{label.split(' (')[0]}(k) − {label.split(' (')[0]}(1), paired")
            else:
                ax.set_ylabel(label)
            if (r, c) == (0, 0):
                ax.legend(fontsize=7, frameon=False)
    ours = f"; cond_ddpm's prediction averages N = {n_ours}" if n_ours else ""
    fig.suptitle(f"Conditional-DDPM paper Fig. S1: DDPM-avg of the first k samples (mean ± std over the "
                 f"test images{ours})", fontsize=8.5)
    save(fig, out_paths, dpi=dpi)


def draw_uncertainty(pred_path: str | os.PathLike, shards: Mapping[str, str | os.PathLike],
                     out_paths: Sequence[str | os.PathLike], n_examples: int = 2,
                     dpi: int = 150) -> None:
    """Input, DDPM-avg, clean, std map, entropy map and |DDPM-avg − clean| for the first
    ``n_examples`` images of each mode (``shards[subset]``: the test shard that
    ``pred_path`` holds the predictions of)."""
    rows = []
    with h5py.File(pred_path, "r") as f:
        for subset, shard in sorted(shards.items()):
            with Shard(shard) as s:
                n = min(n_examples, len(s))
                clean, degraded = s.clean(slice(0, n)), s.degraded(slice(0, n))
                idx = s.params()["image_index"].to_numpy()[:n]
            maps = {}
            for name in ("prediction", "std", "entropy"):
                maps[name] = (np.asarray(f[name][subset][:n], dtype=np.float32)
                              if name in f and subset in f[name] else None)
            for i in range(n):
                pred = maps["prediction"]
                rows.append({
                    "label": f"{subset}\nimage {int(idx[i])}",
                    "Input": degraded[i], "DDPM-avg": None if pred is None else pred[i],
                    "Clean (ground truth)": clean[i],
                    "Std over samples": None if maps["std"] is None else maps["std"][i],
                    "Entropy over samples": (None if maps["entropy"] is None
                                             else maps["entropy"][i]),
                    "|DDPM-avg − clean|": None if pred is None else np.abs(pred[i] - clean[i]),
                })
    cols = ("Input", "DDPM-avg", "Clean (ground truth)", "Std over samples",
            "Entropy over samples", "|DDPM-avg − clean|")
    units = {"Std over samples": "std (intensity, 0–1 scale)",
             "Entropy over samples": "entropy (nats)",
             "|DDPM-avg − clean|": "abs. error (intensity, 0–1 scale)"}
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(1.75 * len(cols), 1.9 * len(rows)),
                             squeeze=False, layout="constrained")
    for c, name in enumerate(cols):
        maps = [r[name] for r in rows if r[name] is not None]
        vmax = max((float(np.percentile(m, 99.5)) for m in maps), default=1.0) or 1.0
        im = None
        for r, row in enumerate(rows):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            img = row[name]
            if img is None:
                ax.set_facecolor("0.92")
                ax.text(0.5, 0.5, "missing:\nnot in the\nprediction file", ha="center",
                        va="center", fontsize=6.5, transform=ax.transAxes)
            elif name in units:
                im = ax.imshow(img, cmap="magma", vmin=0.0, vmax=vmax, interpolation="nearest")
            else:
                ax.imshow(img, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            if r == 0:
                ax.set_title(name, fontsize=7.5)
            if c == 0:
                ax.set_ylabel(row["label"], fontsize=7.5)
        if im is not None:
            cb = fig.colorbar(im, ax=axes[:, c], location="bottom", shrink=0.9, pad=0.01)
            cb.set_label(units[name], fontsize=6.5)
            cb.ax.tick_params(labelsize=6)
    fig.suptitle("Conditional-DDPM paper Fig. S2: uncertainty of the conditional DDPM over its samples "
                 "(images: grey 0–1)", fontsize=8.5)
    save(fig, out_paths, dpi=dpi)
