"""PCSD paper Figs. 2-4 from the pipeline's results.

* Fig. 2 -- :func:`draw_modality_bars` (PSNR and SSIM per SIMART modality and method) and
  :func:`draw_quality_speed` (PSNR vs inference seconds per image, log x).
* Fig. 3 -- :func:`draw_ablations` (PCSD and its training ablations),
  :func:`draw_eta_sweep` (PSNR vs guidance strength eta of PCSD's sampling variants) and
  :func:`draw_training_curves` (training loss and validation PSNR vs step, from the
  trainings' ``log.csv``).
* Fig. 4 -- :func:`draw_cross_modal` (PCSD trained on one modality or all, tested on each).

Every number drawn comes from a results file: the per-image cell tables
``results/metrics/simart/{modality}/{row}.parquet`` (summarised exactly as
:func:`simart.evaluation.aggregate.summarize` does for ``simart_metrics.csv``: images where
the model ran and the metric is finite, mean and sample standard deviation, ddof = 1) or
the trainings' ``log.csv``. A model that did not run, or a metric that could not be
computed, is drawn as ``missing [n]`` with the reason in a numbered note under the figure.
Nothing here knows about Snakemake; the figure rules (``simart.specs.figures``) pass paths.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from simart.evaluation.aggregate import MarkdownNotes, summarize
from simart.figures.rows import (  # noqa: F401  (re-exported: the rules import rows)
    CURVE_BASELINES,
    curve_baselines,
    eta_sweep_rows,
    pcsd_ablations,
)
from simart.figures.style import PALETTE, plt, save
from simart.provenance import read_table
from simart.specs.models import MODELS
from simart.specs.models import family as model_family

PathLike = str | os.PathLike
#: cell table paths: ``cells[modality][row]`` -> results/metrics/simart/{modality}/{row}.parquet
CellPaths = Mapping[str, Mapping[str, PathLike]]

#: display names of the models (simart.specs.models; Table 3's row names for PCSD's ablations)
LABELS = {name: spec.label for name, spec in MODELS.items()}
#: method family -> (colour of the Okabe-Ito palette or grey, marker)
FAMILY_STYLE = {
    "input": ("0.55", "X"),
    "classical": (PALETTE[5], "s"),
    "CNN": (PALETTE[0], "o"),
    "diffusion": (PALETTE[3], "D"),
    "GAN": (PALETTE[2], "^"),
}
#: training-log columns that are not loss terms
LOG_META = ("step", "epoch", "lr", "val_psnr", "val_ssim", "val_loss", "images_per_s",
            "elapsed_s")
METRIC_LABELS = {"psnr": "PSNR (dB)", "ssim": "SSIM"}


def label(name: str) -> str:
    """Display name of an evaluation row (its own name where none is known)."""
    return LABELS.get(name, name)


def family(name: str) -> str:
    """``input`` (the unrestored noisy image), ``classical``, ``CNN``, ``diffusion``, ``GAN``."""
    return {"cnn": "CNN", "gan": "GAN"}.get(fam := model_family(name), fam)


# ---------------------------------------------------------------------------- reading


def summarize_cells(cells: CellPaths, metrics: Sequence[str] = ("psnr", "ssim")
                    ) -> pd.DataFrame:
    """One row per (modality, model) as in ``simart_metrics.csv``: ``<metric>_mean``,
    ``_std`` (sample std over the test images, ddof = 1), ``_n``, ``_missing``,
    ``n_images``, ``n_missing``, ``missing_reason``, ``seconds_per_image`` (s)."""
    frames = [read_table(p) for rows in cells.values() for p in rows.values()]
    if not frames:
        return pd.DataFrame(columns=["dataset", "modality", "model"])
    return summarize(frames, metrics)


def cell_value(summary: pd.DataFrame, modality: str, model: str, metric: str
               ) -> tuple[float, float, int, str]:
    """(mean, std, n images used, why missing) of one cell's metric; mean NaN and a
    reason when the model did not run there or the metric has no finite value."""
    row = summary[(summary["modality"] == modality) & (summary["model"] == model)]
    if row.empty:
        return np.nan, np.nan, 0, "no cell table"
    r = row.iloc[0]
    n = int(r.get(f"{metric}_n", 0))
    if n == 0:
        if int(r["n_missing"]) == int(r["n_images"]):
            return np.nan, np.nan, 0, str(r["missing_reason"] or "model did not run")
        return np.nan, np.nan, 0, str(r.get(f"{metric}_missing") or "no finite values")
    return float(r[f"{metric}_mean"]), float(r[f"{metric}_std"]), n, ""


def _footnotes(fig: plt.Figure, notes: MarkdownNotes, width: int = 150) -> None:
    """The numbered missing-value reasons under the figure."""
    if not notes.items:
        return
    text = "\n".join(textwrap.fill(f"[{i}] missing: {t}", width) for t, i in notes.items.items())
    fig.text(0.01, -0.01, text, ha="left", va="top", fontsize=7)


# ----------------------------------------------------------------------- bar panels


def _fmt_value(metric: str, v: float) -> str:
    return f"{v:.1f}" if metric in ("psnr", "frc_res_px", "piqe", "brisque") else f"{v:.2f}"


def _hbar_panel(ax: plt.Axes, summary: pd.DataFrame, modality: str, models: Sequence[str],
                metric: str, colours: Sequence[str], notes: MarkdownNotes,
                reference: str | None) -> None:
    """Horizontal bars (mean, error bar = std) of ``models`` on one modality, top to bottom;
    the mean is written at the bar's foot, a missing value as ``missing [n]``."""
    y = np.arange(len(models))[::-1]
    drawn = []
    for yi, m, c in zip(y, models, colours, strict=True):
        mean, std, _, why = cell_value(summary, modality, m, metric)
        if why:
            ax.text(0.02, yi, f"missing {notes.ref(why)}", transform=ax.get_yaxis_transform(),
                    va="center", ha="left", fontsize=7, color="0.3", style="italic")
            continue
        ax.barh(yi, mean, color=c, height=0.75,
                xerr=std if np.isfinite(std) else None, error_kw={"lw": 0.7, "capsize": 1.5})
        drawn.append((yi, mean, std, c))
    if reference is not None:
        ref, _, _, why = cell_value(summary, modality, reference, metric)
        if not why:
            ax.axvline(ref, color="0.2", ls="--", lw=0.8)
    if metric == "ssim":
        ax.set_xlim(0, 1)
    x0, x1 = ax.get_xlim()
    for yi, mean, std, c in drawn:  # the mean: at the foot of a long bar, else past its end
        inside = (mean - x0) / (x1 - x0) > 0.22
        ax.annotate(_fmt_value(metric, mean), (x0 if inside else mean, yi),
                    xytext=(2 if inside else 3, 0), textcoords="offset points", fontsize=6.5,
                    va="center", ha="left", zorder=5,
                    color="black" if not inside or c == PALETTE[5] else "white",
                    bbox={"facecolor": c if inside else "white", "edgecolor": "none",
                          "pad": 0.6})
    ax.set_yticks(y, [label(m) for m in models])
    ax.set_ylim(-0.6, len(models) - 0.4)
    ax.grid(axis="x", lw=0.4, alpha=0.5)
    ax.set_axisbelow(True)


def _bar_figure(summary: pd.DataFrame, modalities: Sequence[str], models: Sequence[str],
                metrics: Sequence[str], colours: Sequence[str], reference: str | None,
                title: str, legend: Mapping[str, str], out_paths: Sequence[PathLike],
                dpi: int) -> None:
    """Rows: metrics; columns: modalities; ``legend``: {text: colour} under the panels."""
    nrow, ncol = len(metrics), len(modalities)
    panel_h = 0.9 + 0.2 * len(models)
    fig, axes = plt.subplots(nrow, ncol, figsize=(1.6 + 2.1 * ncol, 0.8 + panel_h * nrow),
                             squeeze=False, sharey=True)
    notes = MarkdownNotes()
    for r, metric in enumerate(metrics):
        for c, mod in enumerate(modalities):
            ax = axes[r, c]
            _hbar_panel(ax, summary, mod, models, metric, colours, notes, reference)
            ax.set_xlabel(METRIC_LABELS.get(metric, metric))
            ax.set_title(f"{'ABCDEFGH'[r]}{c + 1}  {mod}" if nrow > 1 else mod)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, label=t) for t, c in legend.items()]
    if reference is not None:
        handles.append(plt.Line2D([], [], color="0.2", ls="--", lw=0.8,
                                  label=f"{label(reference)} (mean)"))
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.3 / fig.get_figheight(), 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False,
               fontsize=7, bbox_to_anchor=(0.5, 0.0))
    _footnotes(fig, notes)
    save(fig, out_paths, dpi=dpi)


def draw_modality_bars(cells: CellPaths, models: Sequence[str], out_paths: Sequence[PathLike],
                       metrics: Sequence[str] = ("psnr", "ssim"), reference: str = "noisy",
                       dpi: int = 150) -> pd.DataFrame:
    """Fig. 2 A/B: per-modality mean PSNR (dB) and SSIM of every method, error bars = sample
    std over the test images; a dashed line marks the ``reference`` (the noisy input).
    Returns the summary drawn."""
    summary = summarize_cells(cells, metrics)
    colours = [FAMILY_STYLE[family(m)][0] for m in models]
    fams = dict.fromkeys(family(m) for m in models)
    legend = {("noisy input" if f == "input" else f): FAMILY_STYLE[f][0] for f in fams}
    _bar_figure(summary, list(cells), models, metrics, colours,
                reference if reference in models else None,
                "Restoration methods on the SIMART test split: mean (written at the bar's "
                "foot) ± sample std over the test images", legend, out_paths, dpi)
    return summary


def draw_ablations(cells: CellPaths, models: Sequence[str], out_paths: Sequence[PathLike],
                   metrics: Sequence[str] = ("psnr", "ssim"), full: str = "pcsd",
                   dpi: int = 150) -> pd.DataFrame:
    """Fig. 3 A: the full PCSD and its training ablations (the PCSD paper Table 3 rows), mean ±
    sample std per modality; a dashed line marks the full model. Returns the summary."""
    summary = summarize_cells(cells, metrics)
    colours = [PALETTE[3] if m == full else PALETTE[0] for m in models]
    _bar_figure(summary, list(cells), models, metrics, colours,
                full if full in models else None,
                "PCSD training ablations on the SIMART test split: mean (written at the "
                "bar's foot) ± sample std over the test images",
                {f"full {label(full)}": PALETTE[3],
                 "ablation (components removed in training)": PALETTE[0]}, out_paths, dpi)
    return summary


# ------------------------------------------------------------------- quality vs speed


MARKERS = "osD^vPX*h<>p8d"


def model_markers(models: Sequence[str]) -> dict[str, tuple[str, str]]:
    """{model: (colour, marker)}: the family's colour, a marker unique within the family."""
    out, count = {}, dict.fromkeys(FAMILY_STYLE, 0)
    for m in models:
        f = family(m)
        out[m] = (FAMILY_STYLE[f][0], MARKERS[count[f] % len(MARKERS)])
        count[f] += 1
    return out


def _log_decades(ax: plt.Axes, xs: Sequence[float]) -> None:
    """Log x axis spanning whole decades around ``xs``, labelled at the decades only."""
    from matplotlib.ticker import LogLocator, NullFormatter

    ax.set_xscale("log")
    if len(xs):
        lo, hi = np.log10(min(xs)), np.log10(max(xs))
        ax.set_xlim(10 ** np.floor(lo - 0.05), 10 ** np.ceil(hi + 0.05))
    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_minor_formatter(NullFormatter())


def draw_quality_speed(cells: CellPaths, models: Sequence[str], out_paths: Sequence[PathLike],
                       metric: str = "psnr", reference: str = "noisy", dpi: int = 150
                       ) -> pd.DataFrame:
    """Fig. 2 C: mean PSNR (dB, error bar = sample std) vs mean inference wall time per
    image (s, the cells' ``seconds``, log axis), one panel per modality; colour = family,
    marker = method (legend). The ``reference`` (noisy input, no restoration) is a dashed
    horizontal line. Returns the summary."""
    summary = summarize_cells(cells, (metric,))
    mods = list(cells)
    ncol = 2 if len(mods) > 1 else 1
    nrow = -(-len(mods) // ncol)
    shown = [m for m in models if m != reference]
    style = model_markers(shown)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.4 * ncol, 3.0 * nrow), squeeze=False)
    notes = MarkdownNotes()
    xs: list[float] = []  # every panel spans the same decades
    for k, mod in enumerate(mods):
        ax = axes.flat[k]
        missing = []
        for m in shown:
            mean, std, _, why = cell_value(summary, mod, m, metric)
            row = summary[(summary["modality"] == mod) & (summary["model"] == m)]
            secs = float(row["seconds_per_image"].iloc[0]) if not row.empty else np.nan
            if not why and not (np.isfinite(secs) and secs > 0):
                why = "no positive inference time recorded"
            if why:
                missing.append(f"{label(m)} {notes.ref(why)}")
                continue
            colour, marker = style[m]
            bars = ax.errorbar(secs, mean, yerr=std if np.isfinite(std) else None, fmt=marker,
                               color=colour, ms=5.5, mec="black", mew=0.4, elinewidth=0.6,
                               capsize=1.5, zorder=3)
            for line in (*bars[1], *bars[2]):
                line.set_alpha(0.45)
            xs.append(secs)
        ref, _, _, why = cell_value(summary, mod, reference, metric)
        if reference in models and not why:
            ax.axhline(ref, color="0.3", ls="--", lw=0.8)
        ax.set_xlabel("inference time per image (s, log scale)")
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        ax.set_title(f"C{k + 1}  {mod}")
        ax.grid(lw=0.4, alpha=0.5, which="major")
        if missing:
            ax.text(0.01, 0.01, "missing: " + ", ".join(missing), transform=ax.transAxes,
                    fontsize=6, va="bottom", ha="left", color="0.3", style="italic")
    for ax in axes.flat[:len(mods)]:
        _log_decades(ax, xs)
    for ax in axes.flat[len(mods):]:
        ax.set_visible(False)
    handles = [plt.Line2D([], [], color=style[m][0], marker=style[m][1], mec="black", mew=0.4,
                          ls="", label=label(m)) for m in shown]
    if reference in models:
        handles.append(plt.Line2D([], [], color="0.3", ls="--", lw=0.8,
                                  label=f"{label(reference)} (mean)"))
    ncol_leg = min(6, len(handles))
    leg_h = 0.25 * -(-len(handles) // ncol_leg) + 0.2
    fig.suptitle("Quality vs speed on the SIMART test split: mean ± sample std over the test "
                 "images; time = wall time of the restoration step per image", fontsize=9)
    fig.tight_layout(rect=(0, leg_h / fig.get_figheight(), 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=ncol_leg, frameon=False, fontsize=7,
               bbox_to_anchor=(0.5, 0.0))
    _footnotes(fig, notes)
    save(fig, out_paths, dpi=dpi)
    return summary


# --------------------------------------------------------------------------- eta sweep


def draw_eta_sweep(cells: CellPaths, etas: Mapping[str, float], out_paths: Sequence[PathLike],
                   metrics: Sequence[str] = ("psnr", "ssim"), default_row: str = "pcsd",
                   dpi: int = 150) -> pd.DataFrame:
    """Fig. 3 B: mean PSNR (dB) and SSIM (error bars = sample std over test images) vs the
    physics-guidance strength eta (``etas``: evaluation row -> eta), one line per modality;
    a dotted line marks the trained model's own eta. Returns the summary."""
    summary = summarize_cells(cells, metrics)
    mods = list(cells)
    rows = sorted(etas, key=lambda r: etas[r])
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.8 * len(metrics), 3.2), squeeze=False)
    notes = MarkdownNotes()
    markers = "osD^vP"
    for k, metric in enumerate(metrics):
        ax = axes[0, k]
        missing = []
        for j, mod in enumerate(mods):
            pts = []
            for r in rows:
                mean, std, _, why = cell_value(summary, mod, r, metric)
                if why:
                    missing.append(f"{mod} η={etas[r]:g} {notes.ref(why)}")
                else:
                    pts.append((etas[r], mean, std))
            if pts:
                x, y, e = (np.array(v, dtype=float) for v in zip(*pts, strict=True))
                bars = ax.errorbar(x + (j - (len(mods) - 1) / 2) * 0.008, y,
                                   yerr=np.where(np.isfinite(e), e, 0.0),
                                   marker=markers[j % 6], color=PALETTE[j % len(PALETTE)],
                                   lw=1.2, ms=4.5, capsize=2, elinewidth=0.8,
                                   label=mod if k == 0 else None)
                for line in (*bars[1], *bars[2]):
                    line.set_alpha(0.45)
        if default_row in etas:
            ax.axvline(etas[default_row], color="0.3", ls=":", lw=0.9)
            right = etas[default_row] > np.mean([min(etas.values()), max(etas.values())])
            ax.annotate(f"{label(default_row)}: own η = {etas[default_row]:g}",
                        (etas[default_row], 0.99), xycoords=("data", "axes fraction"),
                        ha="right" if right else "left", va="top", fontsize=6, color="0.3",
                        xytext=(-2 if right else 2, 0), textcoords="offset points")
        ax.set_xticks(sorted(set(etas.values())))
        ax.set_xlabel("physics-guidance strength η (sampling)")
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        ax.set_title(f"B{k + 1}  {METRIC_LABELS.get(metric, metric)} vs η")
        ax.grid(lw=0.4, alpha=0.5)
        if missing:
            ax.text(0.01, 0.01, "missing: " + ", ".join(missing), transform=ax.transAxes,
                    fontsize=6, va="bottom", color="0.3", style="italic")
    fig.suptitle("PCSD guidance-strength sweep on the SIMART test split (same trained "
                 "network, η changed at sampling; mean ± std over test images)", fontsize=9)
    fig.tight_layout(rect=(0, 0.3 / fig.get_figheight(), 1, 1))
    fig.legend(title="test modality", loc="lower center", ncol=len(mods), frameon=False,
               fontsize=7, title_fontsize=7, bbox_to_anchor=(0.5, -0.06))
    _footnotes(fig, notes)
    save(fig, out_paths, dpi=dpi)
    return summary


# ----------------------------------------------------------------------- training logs


def read_log(path: PathLike) -> pd.DataFrame:
    """A training's ``log.csv`` (one row per logged step)."""
    return pd.read_csv(path)


def loss_terms(log: pd.DataFrame) -> list[str]:
    """The loss columns of a training log besides ``loss`` (no flags ``*_available``, no
    all-zero or all-NaN columns)."""
    out = []
    for c in log.columns:
        if c in LOG_META or c == "loss" or c.endswith("_available"):
            continue
        v = pd.to_numeric(log[c], errors="coerce")
        if v.notna().any() and (v.fillna(0) != 0).any():
            out.append(c)
    return out


def _mean_over_groups(logs: Mapping[str, PathLike], column: str) -> pd.DataFrame:
    """step, mean, lo, hi of ``column`` over the trainings (groups) of one model, and one
    column per training (its values at each step)."""
    series = []
    for g, p in logs.items():
        t = read_log(p)
        if column in t.columns:
            s = t[["step", column]].dropna().set_index("step")[column].rename(g)
            series.append(s)
    if not series:
        return pd.DataFrame(columns=["step", "mean", "lo", "hi"])
    wide = pd.concat(series, axis=1).sort_index()
    out = pd.DataFrame({"step": wide.index, "mean": wide.mean(axis=1).to_numpy(),
                        "lo": wide.min(axis=1).to_numpy(), "hi": wide.max(axis=1).to_numpy()})
    for g in wide.columns:
        out[f"group:{g}"] = wide[g].to_numpy()
    return out


def _plot_groups(ax: plt.Axes, d: pd.DataFrame, style: tuple[str, str, str], text: str,
                 main: bool, markers: bool = False) -> None:
    """Each training thin, their mean thick (one training: just the line);
    ``style`` = (colour, line style, marker)."""
    colour, ls, marker = style
    groups = [c for c in d.columns if c.startswith("group:")]
    if len(groups) > 1:
        for c in groups:
            ax.plot(d["step"], d[c], color=colour, ls=ls, lw=0.6, alpha=0.4)
    ax.plot(d["step"], d["mean"], color=colour, ls=ls, lw=1.8 if main else 1.2,
            marker=marker if markers else None, ms=3, label=text)


def draw_training_curves(logs: Mapping[str, Mapping[str, PathLike]], out_paths: Sequence[PathLike],
                         main: str = "pcsd", dpi: int = 150) -> None:
    """Fig. 3 C/D from the trainings' ``log.csv``. ``logs[model][group]`` is the log of one
    training (``all`` for the joint PCSD, one per modality for the baselines).

    C1: ``main``'s training loss and its weighted-in terms vs step (log y). C2: each
    baseline's own training objective (thin: each per-modality training, thick: their
    mean; objectives differ between models, compare shapes only). D: validation PSNR (dB)
    vs step, drawn the same way."""
    models = list(logs)
    baselines = [m for m in models if m != main]
    fig, axes = plt.subplots(1, 3, figsize=(12.0, 3.4), squeeze=False)
    ax_c1, ax_c2, ax_d = axes[0]
    _below = {"fontsize": 6.5, "ncol": 2, "frameon": False, "loc": "upper center",
              "bbox_to_anchor": (0.5, -0.2)}
    if main in logs:
        for g, p in logs[main].items():
            t = read_log(p)
            ax_c1.plot(t["step"], t["loss"], color="0.1", lw=1.4, label=f"total ({g})")
            for j, c in enumerate(loss_terms(t)):
                ax_c1.plot(t["step"], t[c], color=PALETTE[j % len(PALETTE)], lw=0.9, label=c)
        ax_c1.set_yscale("log")
        ax_c1.legend(**_below)
    else:
        ax_c1.text(0.5, 0.5, f"missing: {label(main)} not trained", ha="center",
                   transform=ax_c1.transAxes)
    ax_c1.set_title(f"C1  {label(main)} training loss (joint model)")
    colours = {main: (PALETTE[3], "-", "o")}
    colours.update({m: (PALETTE[[0, 2, 1, 4, 5, 7, 6][i % 7]], ["--", "-.", ":", "-"][i % 4],
                        "s^vDPX"[i % 6]) for i, m in enumerate(baselines)})
    for m in baselines:
        d = _mean_over_groups(logs[m], "loss")
        if not d.empty:
            _plot_groups(ax_c2, d, colours[m], f"{label(m)} (n={len(logs[m])})", False)
    ax_c2.set_yscale("log")
    ax_c2.set_title("C2  baselines: own training objective")
    if baselines:
        ax_c2.legend(**_below)
    else:
        ax_c2.text(0.5, 0.5, "no baseline trained", ha="center", transform=ax_c2.transAxes)
    for m in [main, *baselines]:
        if m not in logs:
            continue
        d = _mean_over_groups(logs[m], "val_psnr")
        if d.empty:
            continue
        _plot_groups(ax_d, d, colours[m], f"{label(m)} (n={len(logs[m])})", m == main, True)
    ax_d.set_title("D  validation PSNR")
    ax_d.set_ylabel("validation PSNR (dB)")
    if ax_d.get_legend_handles_labels()[0]:
        ax_d.legend(**_below)
    else:
        ax_d.text(0.5, 0.5, "missing: no validation PSNR logged", ha="center",
                  transform=ax_d.transAxes)
    ax_c1.set_ylabel("loss (log scale)")
    ax_c2.set_ylabel("loss (log scale)")
    for ax in axes[0]:
        ax.set_xlabel("training step")
        ax.grid(lw=0.4, alpha=0.5, which="major")
    fig.suptitle("Training curves from the trainings' log.csv (n = trainings: the baselines "
                 "train one model per modality; thin = each training, thick = their mean)",
                 fontsize=9)
    fig.tight_layout()
    save(fig, out_paths, dpi=dpi)


# ------------------------------------------------------------------------ cross-modal


def cross_modal_grid(cells: CellPaths, rows: Mapping[str, str], metric: str = "psnr",
                     reference: str = "noisy") -> dict[str, pd.DataFrame]:
    """The cross-modal tables (index: training label, columns: test modality).

    ``rows``: training label (e.g. ``AFM``, ``joint``) -> evaluation row
    (``pcsd_from_AFM``, ``pcsd``). ``cells[test modality]`` holds those rows' cell tables
    and the ``reference``'s. Returns ``{"value": mean metric, "delta_ref": mean over the
    paired images of (row - reference), "delta_diag": value - the value of the row trained
    on the tested modality (the within-modality model), "n": images, "why": reason where
    missing}``."""
    mods = list(cells)
    value = pd.DataFrame(np.nan, index=list(rows), columns=mods)
    delta_ref = value.copy()
    n = pd.DataFrame(0, index=list(rows), columns=mods)
    why = pd.DataFrame("", index=list(rows), columns=mods)
    for mod in mods:
        ref = read_table(cells[mod][reference]) if reference in cells[mod] else None
        for lab, r in rows.items():
            t = read_table(cells[mod][r])
            ok = t[(t["status"] == "ok") & np.isfinite(t[metric].astype(float))]
            if ok.empty:
                if (t["status"] != "ok").all():
                    reasons = sorted(set(t["missing_reason"].astype(str)) - {""})
                else:
                    col = f"{metric}_reason"
                    reasons = sorted(set(t.loc[t["status"] == "ok", col].astype(str)) - {""}) \
                        if col in t.columns else []
                why.loc[lab, mod] = "; ".join(reasons) or "no finite values"
                continue
            value.loc[lab, mod] = float(ok[metric].mean())
            n.loc[lab, mod] = len(ok)
            if ref is not None:
                rok = ref[(ref["status"] == "ok") & np.isfinite(ref[metric].astype(float))]
                pair = ok[["image_index", metric]].merge(rok[["image_index", metric]],
                                                         on="image_index", suffixes=("", "_r"))
                if not pair.empty:
                    delta_ref.loc[lab, mod] = float((pair[metric] - pair[f"{metric}_r"]).mean())
    delta_diag = value.copy() * np.nan
    for mod in mods:
        if mod in value.index and np.isfinite(value.loc[mod, mod]):
            delta_diag[mod] = value[mod] - value.loc[mod, mod]
    return {"value": value, "delta_ref": delta_ref, "delta_diag": delta_diag, "n": n,
            "why": why}


def _heatmap(ax: plt.Axes, fig: plt.Figure, data: pd.DataFrame, why: pd.DataFrame,
             notes: MarkdownNotes, cmap: str, centred: bool, cbar_label: str, fmt: str) -> None:
    from matplotlib.colors import TwoSlopeNorm

    arr = data.to_numpy(dtype=float)
    finite = arr[np.isfinite(arr)]
    norm = None
    if centred and finite.size:
        lim = max(float(np.abs(finite).max()), 1e-6)
        norm = TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim)
    cm = plt.get_cmap(cmap).with_extremes(bad="0.88")
    im = ax.imshow(np.ma.masked_invalid(arr), cmap=cm, norm=norm, aspect="auto")
    cbar = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.03)
    cbar.set_label(cbar_label)
    lo, hi = im.get_clim()
    for i in range(arr.shape[0]):
        for j in range(arr.shape[1]):
            v = arr[i, j]
            if np.isfinite(v):
                shade = (v - lo) / (hi - lo) if hi > lo else 0.5
                dark = shade < 0.35 if not centred else abs(shade - 0.5) > 0.3
                ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
            else:
                reason = why.iat[i, j]
                ax.text(j, i, f"missing {notes.ref(reason)}" if reason else "–",
                        ha="center", va="center", fontsize=6, color="0.25")
    for i, r in enumerate(data.index):  # outline the within-modality cells
        if r in data.columns:
            j = list(data.columns).index(r)
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="black", lw=1.2))
    ax.set_xticks(range(arr.shape[1]), [f"{c}" for c in data.columns])
    ax.set_yticks(range(arr.shape[0]), list(data.index))
    ax.set_xlabel("tested on")


def draw_cross_modal(cells: CellPaths, rows: Mapping[str, str], out_paths: Sequence[PathLike],
                     metric: str = "psnr", reference: str = "noisy", model: str = "pcsd",
                     dpi: int = 150) -> dict[str, pd.DataFrame]:
    """Fig. 4: heatmaps of mean PSNR (dB) with the model trained on one modality (rows
    ``AFM`` ... ``STEM``) or all (``joint``), tested on each modality (columns): A the
    value, B the mean paired difference to the noisy input, C the difference to the
    model trained on the tested modality. Returns :func:`cross_modal_grid`'s tables."""
    grid = cross_modal_grid(cells, rows, metric, reference)
    unit = " (dB)" if metric == "psnr" else ""
    mname = "PSNR" if metric == "psnr" else metric
    panels = [("value", "viridis", False, f"mean {mname}{unit}", ".2f",
               f"A  {mname}{unit}"),
              ("delta_ref", "PuOr", True, f"Δ{mname} vs noisy input{unit}", "+.2f",
               f"B  Δ vs noisy input{unit}"),
              ("delta_diag", "PuOr", True, f"Δ{mname} vs within-modality model{unit}", "+.2f",
               f"C  Δ vs model trained on the tested modality{unit}")]
    if reference not in next(iter(cells.values()), {}):
        panels = [p for p in panels if p[0] != "delta_ref"]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.3 * len(panels), 0.9 + 0.55 * len(rows)),
                             squeeze=False)
    notes = MarkdownNotes()
    for ax, (key, cmap, centred, cbar, fmt, title) in zip(axes[0], panels, strict=True):
        _heatmap(ax, fig, grid[key], grid["why"], notes, cmap, centred, cbar, fmt)
        ax.set_title(title)
    axes[0, 0].set_ylabel(f"{label(model)} trained on")
    n = grid["n"].to_numpy()
    n_txt = f"{n.min()}" if n.size and n.min() == n.max() else f"{n.min()}–{n.max()}"
    fig.suptitle(f"Cross-modal generalisation of {label(model)} on the SIMART test split "
                 f"(mean over n = {n_txt} test images per cell)", fontsize=9)
    fig.tight_layout()
    _footnotes(fig, notes)
    save(fig, out_paths, dpi=dpi)
    return grid
