"""PCSD paper Fig. 6: statistics of the SIMART benchmark against the unrestored input.

Panels (the paper's A-C; its D, expert-rating consistency, has no counterpart: no experts):

* **A. p-values** -- from ``results/tables/simart_stats.csv`` (:mod:`simart.stats`): each
  method against the reference model (the noisy input) per modality and metric, the paired
  t-test's Holm-corrected p (the paper's test). Colour = ``-log10(p_Holm)``, signed by the
  direction of the mean paired difference (positive: the method is better than the input);
  text = the stars of that table. Comparisons the table marks missing are grey with
  ``missing``; their reasons are listed under the panel.
* **B. per-image improvements** -- ΔPSNR = PSNR(method) - PSNR(input) per test image,
  paired by ``image_index`` from the two cell tables, one box plot per method and modality
  (points = images).
* **C. improvement vs artifact severity** -- ΔPSNR against two severity measures per image:
  the input's own PSNR (dB, lower = more severe; all modalities on one axis) and the
  image's blur in pixels from the cell table (:data:`SEVERITY_COLUMN`, recorded per image
  by the dataset builder, :mod:`simart.physics.severity`: AFM tip reach, TEM first Thon
  ring period, SEM beam width, STEM probe width), for the methods of ``highlight``.

The per-image differences drawn in B and C are also returned / written as a table
(:func:`improvements`).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from simart.figures.style import PALETTE, plt, save
from simart.io import atomic_path

INPUT_MODEL = "noisy"
#: the per-image severity column of the cell tables drawn in panel C (recorded by the
#: dataset builder: simart.physics.severity; its axis label per modality from there)
SEVERITY_COLUMN = "blur_px"


def severity_label(modality: str) -> str:
    """Axis label of panel C's severity for one modality (its blur in pixels)."""
    from simart.physics.severity import blur_label

    try:
        return blur_label(modality)
    except ValueError:  # not a SIMART modality
        return "severity"


LABELS = {"noisy": "input", "wiener": "Wiener", "richardson_lucy": "Richardson–Lucy",
          "bm3d": "BM3D", "tip_erosion": "Tip erosion", "unet": "U-Net", "care": "CARE",
          "dncnn": "DnCNN", "n2n": "Noise2Noise", "n2v": "Noise2Void", "pinned": "PINNED",
          "unet_rcan": "U-Net-RCAN", "pcsd": "PCSD", "cyclegan": "CycleGAN",
          "pix2pix": "pix2pix", "pcsd_no_physics": "PCSD w/o physics",
          "pcsd_no_modality": "PCSD w/o modality", "pcsd_no_cycle": "PCSD w/o cycle",
          "pcsd_no_perceptual": "PCSD w/o perceptual", "pcsd_no_tv": "PCSD w/o TV",
          "pcsd_diffusion_only": "PCSD diffusion only",
          "pcsd_physics_only": "PCSD physics only"}
METRIC_LABELS = {"psnr": "PSNR", "ssim": "SSIM", "epi_corr": "EPI", "lpips": "LPIPS",
                 "frc_res_px": "FRC res.", "ms_ssim_3": "MS-SSIM₃", "mae": "MAE"}
P_CLIP = 4.0  # colour scale of panel A: |log10 p| up to 4 (p = 1e-4), beyond saturates


def _label(m: str) -> str:
    return LABELS.get(m, m)


def metric_directions(metrics: Sequence[str]) -> dict[str, str]:
    """``{metric: 'higher' | 'lower' | 'one'}`` from the metric registry."""
    from simart.specs.metrics import METRICS

    return {m: METRICS[m].better for m in metrics if m in METRICS}


# ---------------------------------------------------------------- panel A
def pvalue_grid(stats: pd.DataFrame, models: Sequence[str], modalities: Sequence[str],
                metrics: Sequence[str], better: Mapping[str, str], reference: str = INPUT_MODEL,
                dataset: str = "simart", test: str = "t") -> pd.DataFrame:
    """One row per (model, modality, metric): Holm p and stars of ``test`` against
    ``reference`` from the statistics table, the mean paired difference, the signed score
    ``sign * min(-log10 p, P_CLIP)`` (sign + where the model is better) and the missing
    reason (no row in the table, or the table's own)."""
    s = stats[(stats["dataset"] == dataset) & (stats["reference"] == reference)]
    s = s.set_index(["model", "modality", "metric"])
    out = []
    for model in models:
        for mod in modalities:
            for metric in metrics:
                row = {"model": model, "modality": mod, "metric": metric, "p_holm": np.nan,
                       "stars": "", "diff_mean": np.nan, "score": np.nan, "missing_reason": ""}
                key = (model, mod, metric)
                if key not in s.index:
                    row["missing_reason"] = "not in the statistics table"
                    out.append(row)
                    continue
                r = s.loc[key]
                r = r.iloc[0] if isinstance(r, pd.DataFrame) else r
                p, d = float(r.get(f"{test}_p_holm", np.nan)), float(r.get("diff_mean", np.nan))
                row.update(p_holm=p, diff_mean=d, stars=str(r.get(f"{test}_stars", "") or ""))
                if not np.isfinite(p):
                    reason = r.get("missing_reason", "")
                    row["missing_reason"] = (str(reason) if isinstance(reason, str) and reason
                                             else "no test (too few paired values)")
                else:
                    direction = better.get(metric, "higher")
                    sign = {"higher": 1.0, "lower": -1.0}.get(direction, 0.0)
                    sign = sign * np.sign(d) if np.isfinite(d) else 0.0
                    row["score"] = sign * min(-np.log10(max(p, 1e-300)), P_CLIP)
                out.append(row)
    return pd.DataFrame(out)


def _draw_pvalues(ax: plt.Axes, grid: pd.DataFrame, models: Sequence[str],
                  modalities: Sequence[str], metrics: Sequence[str], reference: str) -> object:
    cols = [(mod, met) for mod in modalities for met in metrics]
    mat = np.full((len(models), len(cols)), np.nan)
    g = grid.set_index(["model", "modality", "metric"])
    for i, m in enumerate(models):
        for j, (mod, met) in enumerate(cols):
            mat[i, j] = g.loc[(m, mod, met), "score"]
    ax.set_facecolor("0.85")
    im = ax.imshow(np.ma.masked_invalid(mat), cmap="PuOr_r", vmin=-P_CLIP, vmax=P_CLIP,
                   aspect="auto", interpolation="nearest")
    for i, m in enumerate(models):
        for j, (mod, met) in enumerate(cols):
            r = g.loc[(m, mod, met)]
            text = r["stars"] if np.isfinite(r["p_holm"]) else "missing"
            ax.text(j, i, text, ha="center", va="center",
                    fontsize=6 if text == "missing" else 7,
                    color="white" if np.isfinite(mat[i, j]) and abs(mat[i, j]) > 2.5 else "black")
    ax.set_xticks(range(len(cols)), [METRIC_LABELS.get(met, met) for _, met in cols],
                  rotation=90 if len(metrics) > 3 else 0, fontsize=7)
    ax.set_yticks(range(len(models)), [_label(m) for m in models])
    for k in range(1, len(modalities)):
        ax.axvline(k * len(metrics) - 0.5, color="white", lw=3)
    for k, mod in enumerate(modalities):
        ax.text((k + 0.5) * len(metrics) - 0.5, -0.7, mod, ha="center", va="bottom",
                fontweight="bold", fontsize=8)
    ax.set_title(f"A  paired t-test vs {_label(reference)}, Holm-corrected "
                 "(*** p<.001, ** p<.01, * p<.05, ns)", loc="left", pad=16)
    return im


# ---------------------------------------------------------------- panels B and C
def improvements(cells: Mapping[str, Mapping[str, pd.DataFrame]], models: Sequence[str],
                 metric: str = "psnr", reference: str = INPUT_MODEL) -> pd.DataFrame:
    """Per-image ``delta = metric(model) - metric(reference)`` paired by ``image_index``
    (PSNR: dB) for every modality of ``cells[modality][model]`` (reference included), with
    the input's own value and the image's severity (:data:`SEVERITY_COLUMN`).
    Images where either side did not run or is not finite are left out; a (modality,
    model) without any pair is one row with ``delta`` NaN and the reason."""
    out = []
    for mod, by_model in cells.items():
        ref = by_model[reference]
        ref = ref[(ref["status"] == "ok") & np.isfinite(ref[metric].astype(float))]
        sev = (ref[SEVERITY_COLUMN] if SEVERITY_COLUMN in ref.columns
               else pd.Series(np.nan, index=ref.index))
        ref = ref.assign(severity=sev.to_numpy(dtype=np.float64))
        ref = ref.set_index("image_index")[[metric, "severity"]]
        for model in models:
            t = by_model[model]
            ok = t[(t["status"] == "ok") & np.isfinite(t[metric].astype(float))]
            ok = ok.set_index("image_index")[metric]
            common = ok.index.intersection(ref.index)
            if not len(common):
                reason = ""
                if (t["status"] != "ok").all() and "missing_reason" in t.columns and len(t):
                    reason = str(t["missing_reason"].iloc[0])
                elif f"{metric}_reason" in t.columns:
                    reasons = [r for r in t[f"{metric}_reason"].astype(str) if r]
                    reason = reasons[0] if reasons else ""
                out.append({"modality": mod, "model": model, "image_index": -1,
                            "value": np.nan, "reference_value": np.nan, "delta": np.nan,
                            "severity": np.nan,
                            "missing_reason": reason or "no paired images"})
                continue
            for idx in common:
                out.append({"modality": mod, "model": model, "image_index": int(idx),
                            "value": float(ok.loc[idx]),
                            "reference_value": float(ref.loc[idx, metric]),
                            "delta": float(ok.loc[idx] - ref.loc[idx, metric]),
                            "severity": float(ref.loc[idx, "severity"]), "missing_reason": ""})
    return pd.DataFrame(out, columns=["modality", "model", "image_index", "value",
                                      "reference_value", "delta", "severity",
                                      "missing_reason"])


def _draw_boxes(ax: plt.Axes, imp: pd.DataFrame, mod: str, models: Sequence[str],
                first: bool) -> None:
    sub = imp[imp["modality"] == mod]
    rng = np.random.default_rng(0)  # jitter of the points only (drawing, not data)
    for i, m in enumerate(models):
        d = sub[(sub["model"] == m)]
        vals = d["delta"].dropna().to_numpy()
        if not len(vals):
            reason = d["missing_reason"].iloc[0] if len(d) else "not evaluated"
            ax.text(0.02, i, "missing: " + textwrap.shorten(reason, 38), va="center",
                    fontsize=5.5, color="0.35", transform=ax.get_yaxis_transform())
            continue
        colour = PALETTE[0] if m != "pcsd" else PALETTE[3]
        ax.boxplot(vals, positions=[i], orientation="horizontal", widths=0.6, showfliers=False,
                   patch_artist=True, medianprops={"color": "black"},
                   boxprops={"facecolor": colour, "alpha": 0.35, "edgecolor": colour})
        ax.scatter(vals, i + rng.uniform(-0.18, 0.18, len(vals)), s=6, color=colour,
                   zorder=3, linewidths=0)
    ax.axvline(0.0, color="0.4", lw=0.8, ls="--", zorder=0)
    ax.set_yticks(range(len(models)), [_label(m) for m in models] if first else [])
    ax.set_ylim(len(models) - 0.5, -0.5)
    ax.set_xlabel("ΔPSNR vs input (dB)")
    ax.set_title(mod, fontweight="bold")
    ax.grid(axis="x", alpha=0.3, lw=0.5)


def _draw_severity(ax: plt.Axes, imp: pd.DataFrame, highlight: Sequence[str], x: str,
                   mod: str | None, xlabel: str, ylabel: bool = True) -> None:
    sub = imp if mod is None else imp[imp["modality"] == mod]
    drawn = False
    for k, m in enumerate(highlight):
        d = sub[(sub["model"] == m)].dropna(subset=["delta", x])
        if d.empty:
            continue
        colour, marker = PALETTE[k % 6], "osD^vP"[k % 6]
        ax.scatter(d[x], d["delta"], s=12, color=colour, marker=marker, alpha=0.8,
                   label=_label(m), linewidths=0)
        if len(d) > 2 and d[x].nunique() > 1:
            slope, icpt = np.polyfit(d[x].to_numpy(float), d["delta"].to_numpy(float), 1)
            xs = np.linspace(d[x].min(), d[x].max(), 2)
            ax.plot(xs, icpt + slope * xs, color=colour, lw=1)
        drawn = True
    if not drawn:
        ax.text(0.5, 0.5, "missing: no paired values", ha="center", va="center",
                fontsize=7, transform=ax.transAxes)
    ax.axhline(0.0, color="0.4", lw=0.8, ls="--", zorder=0)
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel("ΔPSNR vs input (dB)")
    ax.grid(alpha=0.3, lw=0.5)


def draw(stats: pd.DataFrame, cells: Mapping[str, Mapping[str, pd.DataFrame]],
         models: Sequence[str], out_paths: Sequence[str | os.PathLike],
         metrics: Sequence[str] = ("psnr", "ssim", "epi_corr"),
         highlight: Sequence[str] = ("wiener", "unet", "pcsd"), reference: str = INPUT_MODEL,
         better: Mapping[str, str] | None = None, dpi: int = 150,
         improvements_csv: str | os.PathLike | None = None) -> pd.DataFrame:
    """Draw Fig. 6 (A p-values, B ΔPSNR distributions, C ΔPSNR vs severity) and return the
    per-image improvements (also written to ``improvements_csv`` when given)."""
    mods = list(cells)
    better = dict(better) if better is not None else metric_directions(metrics)
    grid = pvalue_grid(stats, models, mods, metrics, better, reference)
    imp = improvements(cells, models, "psnr", reference)
    highlight = [m for m in highlight if m in models]
    ncols = len(mods)
    hA, hB, hC = 1.2 + 0.2 * len(models), 0.8 + 0.2 * len(models), 5.0
    fig = plt.figure(figsize=(max(11.0, 2.8 * ncols), 1.25 * (hA + hB + hC)))
    outer = fig.add_gridspec(3, 1, height_ratios=[hA, hB, hC], hspace=0.24, top=0.96,
                             bottom=0.05)
    gA = outer[0].subgridspec(1, 2, width_ratios=[1.0, 0.025], wspace=0.02)
    ax = fig.add_subplot(gA[0])
    im = _draw_pvalues(ax, grid, models, mods, metrics, reference)
    cb = fig.colorbar(im, cax=fig.add_subplot(gA[1]))
    cb.set_label("±log10(1/p_Holm)\n+ better, − worse than input", fontsize=7)
    notes = []
    for model, g in grid[grid["missing_reason"] != ""].groupby("model", sort=False):
        mods_missing = ", ".join(dict.fromkeys(g["modality"]))
        notes.append(f"{_label(model)} ({mods_missing}): "
                     + textwrap.shorten(g["missing_reason"].iloc[0], 80))
    if notes:  # footnote of panel A, at the bottom of the figure
        fig.text(0.01, 0.0, textwrap.fill("A, missing comparisons: " + " | ".join(notes), 200),
                 fontsize=6, va="top", color="0.3")
    gB = outer[1].subgridspec(1, ncols, wspace=0.08)
    for k, mod in enumerate(mods):
        a = fig.add_subplot(gB[k])
        _draw_boxes(a, imp, mod, models, first=k == 0)
        if k == 0:
            a.text(0.0, 1.0 + 0.5 / max(len(models), 1) + 0.04,
                   "B  per-image ΔPSNR vs input (box: quartiles; points: images)",
                   transform=a.transAxes, fontsize=9, va="bottom")
    gC = outer[2].subgridspec(2, 1, hspace=0.45)
    gCtop = gC[0].subgridspec(1, 2, wspace=0.1)
    gCbottom = gC[1].subgridspec(1, ncols, wspace=0.3)
    a = fig.add_subplot(gCtop[0])
    _draw_severity(a, imp.assign(input_psnr=imp["reference_value"]), highlight,
                   "input_psnr", None, "PSNR of the input (dB; lower = more severe)")
    a.set_title("C  ΔPSNR vs artifact severity (all modalities; lines: least-squares fits)",
                loc="left")
    if a.get_legend_handles_labels()[0]:
        a.legend(fontsize=7, frameon=False)
    a = fig.add_subplot(gCtop[1])
    a.axis("off")
    a.text(0.02, 0.5, textwrap.fill(
        "Severity measures per test image, from the cell tables: the input's own PSNR "
        "(left) and, per modality (below), " + "; ".join(
            f"{m}: {severity_label(m)}" for m in mods) + ". The paper's "
        "panel D (consistency of expert ratings) has no counterpart here: this benchmark "
        "has no expert ratings.", 70), fontsize=7, va="center", color="0.25")
    for k, mod in enumerate(mods):
        a = fig.add_subplot(gCbottom[k])
        label = severity_label(mod)
        _draw_severity(a, imp, highlight, "severity", mod, label, ylabel=k == 0)
        a.set_title(mod, fontweight="bold")
    save(fig, out_paths, dpi=dpi)
    if improvements_csv is not None:
        with atomic_path(improvements_csv) as tmp:
            imp.to_csv(tmp, index=False)
    return imp
