"""The PINNED paper metric-vs-noise-level curves: one panel per (metric, test material).

Drawn from the curves table of :mod:`simart.reporting.pinned` (mean ± std over the test
images of one material and CDN level), never from the images: x = CDN level, y = the
metric, one line per model; the unrestored input (``noisy``) is a dashed black line. A
panel without values says ``missing: <reason>``.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

from simart.figures.style import PALETTE, plt, save

#: axis label (with unit) of each metric the paper plots; others use the metric name
YLABELS = {"psnr": "PSNR (dB)", "ssim": "SSIM", "fsc": "FSC (spectrum consistency)",
           "epi_ratio": "EPI = ‖∇x̂‖₁ / ‖∇x‖₁\n(1 = best; log axis)", "ms_ssim_3": "MS-SSIM (3 scales)",
           "mae": "MAE (intensity, 0–1)"}
MODEL_LABELS = {"noisy": "input (no restoration)", "pinned": "PINNED", "unet": "U-Net",
                "care": "CARE", "dncnn": "DnCNN", "n2n": "Noise2Noise", "n2v": "Noise2Void",
                "unet_rcan": "U-Net-RCAN"}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: palette without yellow (too light for thin lines on white) and black (the input), plus
#: Paul Tol's colour-blind-safe "wine" as a seventh colour
LINE_COLOURS = (*(c for c in PALETTE if c not in ("#F0E442", "#000000")), "#882255")
#: ratios (1 = best) are drawn on a log axis, so that x2 and x0.5 are equally far from 1
LOG_METRICS = ("epi_ratio",)


def model_styles(models: Sequence[str]) -> dict[str, dict]:
    """Line style per model: input black dashed; others colour-blind-safe colour + marker
    (colour and marker both differ between neighbours, so lines stay apart in grey)."""
    styles, k = {}, 0
    for m in models:
        if m == "noisy":
            styles[m] = {"color": "#000000", "linestyle": "--", "marker": "x"}
            continue
        styles[m] = {"color": LINE_COLOURS[k % len(LINE_COLOURS)],
                     "linestyle": "-" if k < len(LINE_COLOURS) else ":",
                     "marker": MARKERS[k % len(MARKERS)]}
        k += 1
    return styles


def draw(curves: pd.DataFrame, out_paths: Sequence[str | os.PathLike],
         metrics: Sequence[str] | None = None, dpi: int = 150, title: str = "") -> None:
    """Rows = metrics, columns = materials; mean ± std error bars over the images."""
    metrics = list(metrics or dict.fromkeys(curves["metric"]))
    materials = sorted(set(curves["material"]))
    models = sorted(set(curves["model"]), key=lambda m: (m != "noisy", m))
    levels = sorted(set(curves["level"]))
    styles = model_styles(models)
    fig, axes = plt.subplots(len(metrics), max(len(materials), 1),
                             figsize=(3.3 * max(len(materials), 1), 2.5 * len(metrics)),
                             squeeze=False, sharex=True)
    offsets = np.linspace(-0.12, 0.12, len(models)) if len(models) > 1 else [0.0]
    for r, metric in enumerate(metrics):
        for c, material in enumerate(materials):
            ax = axes[r, c]
            sub = curves[(curves["metric"] == metric) & (curves["material"] == material)]
            drawn = False
            for k, model in enumerate(models):
                s = sub[(sub["model"] == model) & (sub["n"] > 0)].sort_values("level")
                if s.empty:
                    continue
                ax.errorbar(s["level"] + offsets[k], s["mean"], yerr=s["std"].fillna(0.0),
                            label=MODEL_LABELS.get(model, model), lw=1.3, ms=4, capsize=2,
                            elinewidth=0.8, **styles[model])
                drawn = True
            if not drawn:
                reasons = sorted(set(sub["missing_reason"])) or ["no cell of this material"]
                ax.text(0.5, 0.5, textwrap.fill("missing: " + "; ".join(reasons)[:160], 34),
                        ha="center", va="center", fontsize=7, transform=ax.transAxes)
                ax.set_yticks([])
            if metric in LOG_METRICS and drawn:
                ax.axhline(1.0, color="0.6", lw=0.8, zorder=0)
                ax.set_yscale("log")
                ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
                ax.yaxis.set_major_formatter(ScalarFormatter())
                ax.yaxis.set_minor_formatter(NullFormatter())
            if r == 0:
                ax.set_title(material)
            if c == 0:
                ax.set_ylabel(YLABELS.get(metric, metric))
            if r == len(metrics) - 1:
                ax.set_xlabel("CDN noise level")
            ax.set_xticks(levels, [f"L{lv}" for lv in levels])
            ax.grid(alpha=0.3, lw=0.5)
    handles = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="lower center",
                   ncol=min(len(handles), 4), frameon=False, bbox_to_anchor=(0.5, 0.0))
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.04 + 0.025 * ((len(handles) - 1) // 4), 1, 1))
    save(fig, out_paths, dpi=dpi)
