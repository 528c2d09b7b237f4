"""PCSD paper Figs. 5 and 7: qualitative comparison with absolute error maps.

Per SIMART modality one test image (``figures.example_index`` of the first test shard, as
Fig. 1): a row of images (clean, degraded = the unrestored input, each method's
restoration) and under it a row of absolute error maps ``|image - clean|`` on one colour
scale shared by the row pair (colour bar at the right; 0 to the 99.5th percentile of all
its error pixels, larger errors saturate). Each panel's PSNR is read from the method's cell
table (``results/metrics/simart/{modality}/{model}.parquet``), never recomputed; a method
that did not run on the image (or whose PSNR is NaN) shows ``missing: <reason>`` from its
cell table.

Methods: ``figures.fig5_models`` where the config has it, else :data:`SEED_FIG5_MODELS`
(the paper's Fig. 5 list), keeping those evaluated on simart; PCSD is always added when
evaluated.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import h5py
import numpy as np
import pandas as pd

from simart.data.shards import Shard
from simart.figures.style import plt, save
from simart.provenance import read_table

INPUT_MODEL = "noisy"
LABELS = {"noisy": "Degraded (input)", "wiener": "Wiener", "richardson_lucy": "Richardson–Lucy",
          "bm3d": "BM3D", "tip_erosion": "Tip erosion", "unet": "U-Net", "care": "CARE",
          "dncnn": "DnCNN", "n2n": "Noise2Noise", "n2v": "Noise2Void", "pinned": "PINNED",
          "unet_rcan": "U-Net-RCAN", "pcsd": "PCSD", "cyclegan": "CycleGAN",
          "pix2pix": "pix2pix"}
ERROR_CMAP = "magma"  # perceptually uniform, readable in grey and with colour-blindness
ERROR_PERCENTILE = 99.5


@dataclass
class Panel:
    """One image column: title, image (None where missing), the notes under the image and
    under its error map (both from the cell table)."""

    title: str
    image: np.ndarray | None
    note: str
    error_note: str = ""


def _value_note(row: pd.Series, metric: str, fmt: str) -> str:
    v = float(row[metric]) if metric in row.index else np.nan
    if np.isfinite(v):
        return fmt.format(v)
    if v == np.inf:
        return fmt.split(" ")[0] + " +inf (identical)"
    reason = row.get(f"{metric}_reason", "") if metric in row.index else "not in this run"
    return f"{metric.upper()} missing: {reason or 'not computed'}"


def cell_notes(table: pd.DataFrame, image_index: int) -> tuple[bool, str, str]:
    """(ran, PSNR note, MAE note) of one image from its cell table: ``PSNR x dB`` /
    ``MAE x``, or ``missing: reason``."""
    rows = table[table["image_index"] == image_index]
    if rows.empty:
        return False, f"missing: image {image_index} not in the cell table", ""
    row = rows.iloc[0]
    if row["status"] != "ok":
        return False, f"missing: {row.get('missing_reason', '') or row['status']}", ""
    return True, _value_note(row, "psnr", "PSNR {:.2f} dB"), _value_note(row, "mae",
                                                                       "MAE {:.3f}")


def _prediction(path: str | os.PathLike, modality: str, i: int) -> np.ndarray:
    with h5py.File(path, "r") as f:
        ds = f["prediction"]
        ds = ds[modality] if isinstance(ds, h5py.Group) else ds
        return np.asarray(ds[i], dtype=np.float32)


def load_row(shard: str | os.PathLike, predictions: Mapping[str, str | os.PathLike],
             cell_tables: Mapping[str, str | os.PathLike], modality: str, models: Sequence[str],
             example_index: int = 0) -> tuple[np.ndarray, list[Panel], dict]:
    """The clean image, the panels (degraded, then each model) and the image's parameters
    (one row of the shard's parameter table) of one modality."""
    with Shard(shard) as s:
        i = min(example_index, len(s) - 1)
        clean, degraded, prow = s.clean(i), s.degraded(i), s.params().iloc[i].to_dict()
    idx = int(prow["image_index"])
    notes = ("", "")
    if INPUT_MODEL in cell_tables:
        notes = cell_notes(read_table(cell_tables[INPUT_MODEL]), idx)[1:]
    panels = [Panel(LABELS[INPUT_MODEL], degraded, *notes)]
    for m in models:
        ran, note, err_note = cell_notes(read_table(cell_tables[m]), idx)
        img = _prediction(predictions[m], modality, i) if ran else None
        if img is not None and not np.isfinite(img).any():
            img, note = None, "missing: prediction is NaN (not applicable)"
        panels.append(Panel(LABELS.get(m, m), img, note, err_note))
    return clean, panels, prow


def _blank(ax: plt.Axes, text: str = "") -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    if text:
        ax.set_facecolor("0.92")
        ax.text(0.5, 0.5, textwrap.fill(text, 20), ha="center", va="center", fontsize=6,
                transform=ax.transAxes)


def draw(shards: Mapping[str, str | os.PathLike],
         predictions: Mapping[str, Mapping[str, str | os.PathLike]],
         cell_tables: Mapping[str, Mapping[str, str | os.PathLike]], models: Sequence[str],
         out_paths: Sequence[str | os.PathLike], example_index: int = 0,
         dpi: int = 150) -> None:
    """Draw the figure. ``shards[mod]``: a test shard; ``predictions[mod][model]``: its
    prediction file; ``cell_tables[mod][model]``: the model's cell (``noisy`` included for
    the input's PSNR). Images are in [0, 1] (grey scale 0-1); error maps in the same units."""
    mods = list(shards)
    ncol = 2 + len(models)
    fig = plt.figure(figsize=(1.45 * ncol + 0.6, 3.1 * len(mods) + 0.3))
    outer = fig.add_gridspec(len(mods), 1, hspace=0.22, top=1 - 0.35 / (3.1 * len(mods)),
                             bottom=0.02)
    for r, mod in enumerate(mods):
        gs = outer[r].subgridspec(2, ncol + 1, width_ratios=[1.0] * ncol + [0.07],
                                  hspace=0.32, wspace=0.06)
        clean, panels, prow = load_row(shards[mod], predictions[mod], cell_tables[mod], mod,
                                       models, example_index)
        errors = [np.abs(p.image - clean) if p.image is not None else None for p in panels]
        finite = [e[np.isfinite(e)] for e in errors if e is not None]
        vmax = float(np.percentile(np.concatenate(finite), ERROR_PERCENTILE)) if finite else 1.0
        vmax = vmax if vmax > 0 else 1.0
        ax = fig.add_subplot(gs[0, 0])
        ax.imshow(clean, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        _blank(ax)
        ax.set_title("Clean (reference)", fontsize=8)
        px = prow.get("pixel_size_nm", np.nan)
        ax.set_xlabel(f"test image {int(prow['image_index'])}"
                      + (f", {px:.3g} nm/px" if np.isfinite(px) else ""), fontsize=6.5,
                      labelpad=2)
        ax.set_ylabel(mod, fontsize=11, fontweight="bold")
        _blank(fig.add_subplot(gs[1, 0]), "|image − clean| (shared scale per modality →)")
        im = None
        for c, (p, err) in enumerate(zip(panels, errors, strict=True), start=1):
            top, bottom = fig.add_subplot(gs[0, c]), fig.add_subplot(gs[1, c])
            top.set_title(p.title, fontsize=8)
            if p.image is None:
                _blank(top, p.note)
                _blank(bottom, "missing")
                continue
            top.imshow(p.image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            _blank(top)
            top.set_xlabel(p.note, fontsize=7, labelpad=2)
            im = bottom.imshow(err, cmap=ERROR_CMAP, vmin=0.0, vmax=vmax,
                               interpolation="nearest")
            _blank(bottom)
            bottom.set_xlabel(p.error_note, fontsize=6.5, labelpad=2)
        cax = fig.add_subplot(gs[1, ncol])
        if im is not None:
            cb = fig.colorbar(im, cax=cax, extend="max")
            cb.set_label("|error| (0–1)", fontsize=7)
            cb.ax.tick_params(labelsize=6)
        else:
            cax.axis("off")
    fig.suptitle("SIMART test images: restorations (grey scale 0–1, PSNR vs clean from the "
                 "cell tables) and absolute error maps", fontsize=9, y=1.0)
    save(fig, out_paths, dpi=dpi)
