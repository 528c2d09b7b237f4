"""The PDA-Net paper Figs. 3 and 4: qualitative rows on ``stm_cu111``.

* **Fig. 3** (simulated domain, ``stm_cu111/blurry``): (a) simulated clean LDOS map,
  (b) simulated blurry map, (c)-(f) the output of each ablation row of the paper
  (CycleGAN, +DA, +DA+WS, PDA-Net) for a few test images; under each panel its PSNR / SSIM
  against the clean map, read from the cell tables.
* **Fig. 4** (experimental domain, ``stm_cu111/experimental``): (a) the experimental-like
  input, (b)-(e) the four rows' outputs, each with its BRISQUE / PIQE (no reference, as in
  the paper's Table II); a last, separately labelled row shows our simulated clean map,
  which the paper's lab images do not have.

Images come from the first test shard and the rows' prediction files; every number comes
from a cell table. A row that was not evaluated, or a metric that is missing, is drawn as
"missing: <reason>".
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence

import h5py
import numpy as np
import pandas as pd

from simart.data.shards import Shard
from simart.figures.style import plt, save
from simart.provenance import read_table

#: (panel label, our model) of the paper's ablation rows, in the paper's order
ABLATION = (("CycleGAN", "cyclegan"), ("CycleGAN+DA", "pdanet_da"),
            ("CycleGAN+DA+WS", "pdanet_da_ws"), ("PDA-Net", "pdanet"))
INPUT_MODEL = "noisy"
NOTE_METRICS = {"blurry": (("psnr", "{:.1f} dB"), ("ssim", "SSIM {:.3f}")),
                "experimental": (("brisque", "BRISQUE {:.1f}"), ("piqe", "PIQE {:.1f}"))}


def _prediction(path: str | os.PathLike, subset: str, n: int) -> np.ndarray:
    with h5py.File(path, "r") as f:
        ds = f["prediction"]
        ds = ds[subset] if isinstance(ds, h5py.Group) else ds
        return np.asarray(ds[:n], dtype=np.float32)


def _note(cell: pd.DataFrame | None, image_index: int, subset: str) -> str:
    """The panel's numbers from the cell table (or why they are missing)."""
    if cell is None:
        return "no cell table"
    row = cell[cell["image_index"] == image_index]
    if row.empty:
        return "missing: image not in the cell table"
    row = row.iloc[0]
    if row["status"] != "ok":
        return f"missing: {row.get('missing_reason', '') or row['status']}"
    parts = []
    for metric, fmt in NOTE_METRICS[subset]:
        v = row.get(metric, np.nan)
        if v is None or not np.isfinite(v):
            why = str(row.get(f"{metric}_reason", "") or "not scored")
            parts.append(f"{metric.upper()} missing: {why[:40]}")
        else:
            parts.append(fmt.format(float(v)))
    return " / ".join(parts)


def _missing_panel(ax: plt.Axes, text: str) -> None:
    ax.set_facecolor("0.92")
    ax.set_box_aspect(1)
    ax.text(0.5, 0.5, "\n".join(textwrap.wrap(text, 22)), ha="center", va="center",
            fontsize=6.5, transform=ax.transAxes)


def draw(shard: str | os.PathLike, subset: str,
         predictions: Mapping[str, str | os.PathLike],
         cells: Mapping[str, str | os.PathLike], out_paths: Sequence[str | os.PathLike],
         missing: Mapping[str, str] | None = None, n_examples: int = 4, dpi: int = 150,
         title: str = "") -> None:
    """One figure: rows = input rows and the ablation rows, columns = the first
    ``n_examples`` images of ``shard``. ``predictions[model]`` / ``cells[model]``: the
    model's prediction file for this shard and its cell table (``cells['noisy']`` scores
    the input); ``missing[model]``: why a model has neither."""
    missing = dict(missing or {})
    tables = {m: read_table(p) for m, p in cells.items()}
    with Shard(shard) as s:
        n = min(n_examples, len(s))
        clean, degraded = s.clean(slice(0, n)), s.degraded(slice(0, n))
        params = s.params().iloc[:n]
    index = params["image_index"].to_numpy() if "image_index" in params else np.arange(n)
    experimental = subset == "experimental"
    rows: list[tuple[str, np.ndarray | None, str]] = []
    first = ("(a) experimental-\nlike input" if experimental else "(a) simulated clean")
    if experimental:
        rows.append((first, degraded, INPUT_MODEL))
    else:
        rows += [(first, clean, ""), ("(b) simulated blurry", degraded, INPUT_MODEL)]
    letters = "bcde" if experimental else "cdef"
    for letter, (label, model) in zip(letters, ABLATION, strict=True):
        img = _prediction(predictions[model], subset, n) if model in predictions else None
        rows.append((f"({letter}) {label}", img, model))
    if experimental:
        rows.append(("simulated clean\n(not available in the paper)", clean, ""))
    fig, axes = plt.subplots(len(rows), n, figsize=(1.9 * n + 0.8, 1.95 * len(rows)),
                             squeeze=False, layout="constrained")
    im = None
    for r, (label, imgs, model) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if imgs is None:
                _missing_panel(ax, "missing: " + missing.get(model, "not evaluated"))
            else:
                im = ax.imshow(imgs[c], cmap="gray", vmin=0.0, vmax=1.0,
                               interpolation="nearest")
                if model:
                    ax.set_xlabel(_note(tables.get(model), int(index[c]), subset), fontsize=6.5)
            if r == 0:
                px = params.iloc[c].get("pixel_size_nm", np.nan)
                fov = f", {imgs.shape[-1] * px:.1f} nm wide" if imgs is not None and \
                    np.isfinite(px) else ""
                ax.set_title(f"test image {int(index[c])}{fov}", fontsize=7.5)
        axes[r, 0].set_ylabel(label, fontsize=8)
    if im is not None:
        cb = fig.colorbar(im, ax=axes, fraction=0.025, pad=0.01)
        cb.set_label("normalised LDOS / STM signal (0–1)")
    width = max(30, int(16 * n))  # characters per title line for this figure width
    fig.suptitle("\n".join(textwrap.wrap(title, width)), fontsize=8.5)
    save(fig, out_paths, dpi=dpi)
