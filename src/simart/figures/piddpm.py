"""The PI-DDPM paper Fig. 5 / Sup. Fig. 1: the guidance weight η and the regulariser.

The paper varies η (the weight of the physics gradient, ``nu_t = η sqrt(γ_t) / ||g||``;
η = 10 by default) with an L1 or an L2 regulariser R and plots MS-SSIM and PSNR against η;
its prose adds that NRMSE improves most as η grows, and that beyond η = 25 the metrics
worsen. Here: every PI-DDPM evaluation row of ``lm`` is a point at its (η, R) -- mean ± std
over the test images of one mode -- for PSNR, MS-SSIM (``ms_ssim_3`` stands in below
176 px, as the panel says) and NRMSE (range form); ``pi_ddpm_plain`` (no physics, the
paper's DDPM) is the dashed reference line.

Which rows exist is config: :func:`eta_rows` reads each row's η and R from the typed config
(the model's hyper-parameters, a sampling variant's ``eta``). Rows it recognises:

* trained PI-DDPM models (``pi_ddpm`` and any ``pi_ddpm_*`` in the model registry, e.g.
  ``pi_ddpm_l2`` with ``reg: l2``): η and R from their hyper-parameters;
* sampling variants of them (``evaluate.variants``: ``{model: pi_ddpm, sampling: {eta: 1}}``,
  e.g. ``pi_ddpm_eta1``): R of the model, η of the variant (η at sampling only; the trained
  network is the same).

With one η per regulariser the panel says "η sweep not run" instead of inventing a curve.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from simart.figures.style import PALETTE, plt, save
from simart.reporting.piddpm import BETTER, eta_rows, metric_values  # noqa: F401 (re-export)

METRICS = (("psnr", "PSNR (dB)"), ("ms_ssim", "MS-SSIM"), ("nrmse_range", "NRMSE (range)"))
PLAIN = "pi_ddpm_plain"
REG_STYLE = {"l1": ("-", "o", PALETTE[0]), "l2": ("--", "s", PALETTE[1]),
             "none": (":", "^", PALETTE[2])}


def points(cells: Mapping[str, Mapping[str, pd.DataFrame]],
           rows: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (subset, evaluation row, metric): η, R, kind, mean, std, n, the metric
    shown and why (missing / stand-in)."""
    out = []
    for subset in sorted(cells):
        for name, meta in rows.items():
            cell = cells[subset].get(name)
            for metric, _ in METRICS:
                vals, shown, note = metric_values(cell, metric)
                out.append({"subset": subset, "row": name, **meta, "metric": metric,
                            "shown": shown, "note": note, "n": len(vals),
                            "mean": vals.mean() if len(vals) else np.nan,
                            "std": vals.std(ddof=1) if len(vals) > 1 else np.nan})
    return pd.DataFrame(out)


def draw(cells: Mapping[str, Mapping[str, pd.DataFrame]],
         rows: Mapping[str, Mapping[str, Any]], out_paths: Sequence[str | os.PathLike],
         subsets: Sequence[str] | None = None, dpi: int = 150) -> pd.DataFrame:
    """Draw the η ablation: rows of the figure = modes, columns = metrics. ``rows``: the
    output of :func:`eta_rows`; ``cells[subset][row]``: the cell tables. Returns the points."""
    subsets = list(subsets or sorted(cells))
    cells = {s: cells.get(s, {}) for s in subsets}
    pts = points(cells, rows)
    ref_eta = next((m["train_eta"] for m in rows.values() if m["model"] == "pi_ddpm"
                    and m["physics"]), None)
    eta_max = max([60.0, *(2.0 * m["eta"] for m in rows.values())])
    fig, axes = plt.subplots(len(subsets), len(METRICS),
                             figsize=(3.2 * len(METRICS), 2.7 * len(subsets)),
                             squeeze=False, layout="constrained")
    for r, subset in enumerate(subsets):
        for c, (metric, label) in enumerate(METRICS):
            ax = axes[r, c]
            p = pts[(pts["subset"] == subset) & (pts["metric"] == metric)] if len(pts) \
                else pts
            _panel(ax, p, metric, label, ref_eta, eta_max)
            ax.set_title(f"{subset}", fontsize=8.5)
            if r == len(subsets) - 1:
                ax.set_xlabel("guidance weight η (symlog axis)")
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    notes = sweep_notes(rows)
    note = "\n".join(textwrap.wrap("Not in this run: " + "; ".join(notes), 150)) if notes \
        else None
    if handles:  # the notes as the legend's title: one block below the panels
        leg = fig.legend(handles, labels, loc="outside lower center",
                         ncol=min(4, len(labels)), fontsize=7, frameon=False, title=note,
                         title_fontsize=7)
        leg.get_title().set_color("0.25")
    elif note:
        fig.supxlabel(note, fontsize=7, color="0.25")
    fig.suptitle("PI-DDPM paper Fig. 5: PI-DDPM vs the guidance weight η and the regulariser R "
                 "(mean ± std over the test images; dotted: pi_ddpm's configured η)",
                 fontsize=8.5)
    save(fig, out_paths, dpi=dpi)
    return pts


def _short(text: str, width: int = 34, limit: int = 120) -> str:
    """A missing-value reason, shortened to its first clauses and wrapped for a panel."""
    parts = [p.split(" (the ")[0].split(": place")[0] for p in str(text).split("; ")]
    short = "; ".join(dict.fromkeys(parts))
    short = short if len(short) <= limit else short[: limit - 1] + "…"
    return "\n".join(textwrap.wrap(short, width))


def sweep_notes(rows: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What of the paper's sweep is not in this run (one line each), from the rows' η / R."""
    guided = {n: m for n, m in rows.items() if m["physics"]}
    notes = []
    if not guided:
        notes.append("not run: no PI-DDPM row evaluated on lm")
    by_reg: dict[str, set[float]] = {}
    for m in guided.values():
        by_reg.setdefault(m["reg"], set()).add(m["eta"])
    for reg, etas in sorted(by_reg.items()):
        if len(etas) < 2:
            notes.append(f"η sweep not run for R = {reg.upper()}: only η = "
                         f"{next(iter(etas)):g} evaluated (needs evaluate.variants "
                         "pi_ddpm_eta*)")
    if "l2" not in by_reg:
        notes.append("R = L2 not run (needs a trained pi_ddpm_l2)")
    if not any(not m["physics"] for m in rows.values()):
        notes.append("DDPM without physics (pi_ddpm_plain) not evaluated")
    return notes


def _panel(ax: plt.Axes, p: pd.DataFrame, metric: str, label: str,
           ref_eta: float | None, eta_max: float) -> None:
    used = p.loc[p["n"] > 0, "shown"] if len(p) else pd.Series(dtype=str)
    shown = str(used.mode().iloc[0]) if len(used) else metric
    arrow = "↑" if BETTER.get(shown, "higher") == "higher" else "↓"
    ax.set_ylabel(f"{label} {arrow}" if shown == metric else
                  f"{label} {arrow}\n({shown}, 3 scales)")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(-0.3, eta_max)
    if ref_eta is not None:
        ax.axvline(ref_eta, color="0.6", lw=0.8, ls=":")
    ok = p[p["n"] > 0] if len(p) else p
    if ok.empty:
        notes = p.drop_duplicates("note")["note"] if len(p) else ["no PI-DDPM row"]
        ax.text(0.5, 0.5, "missing: " + _short("; ".join(map(str, notes))), ha="center",
                va="center", fontsize=6.5, transform=ax.transAxes)
        ax.set_yticks([])
        return
    guided = ok[ok["physics"].astype(bool)]
    # one line per trained network: its own η (filled marker) and its sampling variants
    # (open markers); a network trained with another η / R is a line of its own
    for (reg, model), g in guided.groupby(["reg", "model"], sort=True):
        ls, mk, col = REG_STYLE.get(reg, ("-", "D", PALETTE[3]))
        g = g.sort_values("eta")
        lab = f"{model} (R = {reg.upper()}, λ = {g['reg_weight'].iloc[0]:g})" + (
            ": η varied at sampling" if (g["kind"] == "variant").any() else "")
        ax.errorbar(g["eta"], g["mean"], yerr=g["std"].fillna(0), ls=ls, color=col, lw=1.4,
                    capsize=2, label=lab)
        for kind, k in g.groupby("kind"):
            ax.plot(k["eta"], k["mean"], ls="none", marker=mk, ms=4.5, color=col,
                    mfc=col if kind == "trained" else "white", zorder=3)
    for _, row in ok[~ok["physics"].astype(bool)].iterrows():
        ax.axhline(row["mean"], color="black", ls="--", lw=1.0,
                   label=f"DDPM without physics ({row['row']})")
    gone = p[p["n"] == 0].drop_duplicates("row")
    if len(gone):
        ax.text(0.02, 0.02, "\n".join(f"{r['row']}: missing" for _, r in gone.iterrows()),
                transform=ax.transAxes, fontsize=6, va="bottom", color="0.3")
