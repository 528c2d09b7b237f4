"""Figure of one real set (rule real_figure): each image beside its restorations.

For each shown image (the first ``n_images`` by name) three rows of panels, one column per
row of the table (the input first): the whole image with the zoom region framed, the zoom
(a quarter of each side, where the input varies most), and the difference to the input (restored - input,
symmetric colour scale per image, in the [0, 1] units the models saw:
:class:`simart.realdata.Normalisation`, stored in the table). Each image and zoom panel has its
own grey scale (its 0.5-99.5 percentiles). A missing row shows its reason.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd


def _read(tif: str) -> np.ndarray:
    import tifffile

    return np.asarray(tifffile.imread(tif), np.float64)


def _zoom_window(ref: np.ndarray | None, zh: int, zw: int) -> tuple[int, int]:
    """Top-left corner of the zoom: the ``zh x zw`` window (on a half-window grid) where
    ``ref`` varies most (its standard deviation), so that the zoom shows structure; the
    centre when there is no reference."""
    if ref is None:
        return 0, 0
    h, w = ref.shape
    best, corner = -1.0, ((h - zh) // 2, (w - zw) // 2)
    for top in range(0, h - zh + 1, max(zh // 2, 1)):
        for left in range(0, w - zw + 1, max(zw // 2, 1)):
            sd = float(np.std(ref[top:top + zh, left:left + zw]))
            if sd > best:
                best, corner = sd, (top, left)
    return corner


def real_set_figure(tables: Sequence[str], outputs: Sequence[str], *, n_images: int = 3,
                    dpi: int = 150) -> None:
    """Write the figure of the set whose per-image tables are ``tables`` (each beside its
    TIFF) to every path of ``outputs`` (format by extension)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from simart.io import atomic_path
    from simart.provenance import read_table

    rows = pd.concat([read_table(t) for t in tables], ignore_index=True)
    rows["tif"] = [str(Path(t).with_suffix(".tif")) for t in tables]
    images = sorted(rows["image"].unique())[:n_images]
    models = list(dict.fromkeys(rows["model"]))
    if "noisy" in models:
        models.remove("noisy")
    cols = ["input", *models]
    n_r, n_c = 3 * len(images), len(cols)
    fig, axes = plt.subplots(n_r, n_c, figsize=(1.9 * n_c, 1.9 * n_r), squeeze=False)
    for k, image in enumerate(images):
        sel = rows[rows["image"] == image].set_index("model")
        first = sel.iloc[0]
        lo, hi = float(first["norm_lo"]), float(first["norm_hi"])
        panels: dict[str, np.ndarray | str] = {}
        for col in cols:
            model = "noisy" if col == "input" else col
            if model not in sel.index:
                panels[col] = "not run"
                continue
            r = sel.loc[model]
            panels[col] = ((_read(r["tif"]) - lo) / (hi - lo) if r["status"] == "ok"
                           else f"missing: {r['missing_reason']}")
        # the input panel is the noisy row (the input itself); without it, no differences
        x_in = panels["input"] if isinstance(panels.get("input"), np.ndarray) else None
        shown = [p for p in panels.values() if isinstance(p, np.ndarray)]
        h, w = shown[0].shape if shown else (1, 1)
        zh, zw = max(h // 4, 8), max(w // 4, 8)
        top, left = _zoom_window(x_in if x_in is not None else shown[0] if shown else None,
                                 zh, zw)
        diffs = [p - x_in for p in panels.values()
                 if isinstance(p, np.ndarray) and x_in is not None]
        lim = max(float(np.percentile(np.abs(np.stack(diffs)), 99)) if diffs else 0.0, 1e-6)
        for j, col in enumerate(cols):
            a_full, a_zoom, a_diff = (axes[3 * k + i, j] for i in range(3))
            p = panels[col]
            for ax in (a_full, a_zoom, a_diff):
                ax.set_xticks([])
                ax.set_yticks([])
            if k == 0:
                a_full.set_title(col, fontsize=8)
            if j == 0:
                px = first["pixel_size_nm"]
                a_full.set_ylabel(f"{image}\n{h}x{w}" + (f", {px:.3g} nm/px"
                                                         if pd.notna(px) else ""), fontsize=7)
                a_zoom.set_ylabel("zoom", fontsize=7)
                a_diff.set_ylabel("restored - input", fontsize=7)
            if isinstance(p, str):
                a_full.text(0.5, 0.5, "\n".join(textwrap.wrap(p, 24)[:10]), ha="center",
                            va="center", fontsize=5, transform=a_full.transAxes)
                for ax in (a_zoom, a_diff):
                    ax.axis("off")
                continue
            vmin, vmax = np.percentile(p, (0.5, 99.5))  # each panel its own grey scale
            a_full.imshow(p, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
            a_full.add_patch(Rectangle((left - 0.5, top - 0.5), zw, zh, fill=False,
                                       edgecolor="yellow", linewidth=0.8))
            a_zoom.imshow(p[top:top + zh, left:left + zw], cmap="gray", vmin=vmin, vmax=vmax,
                          interpolation="nearest")
            if x_in is not None and col != "input":
                a_diff.imshow(p - x_in, cmap="RdBu_r", vmin=-lim, vmax=lim,
                              interpolation="nearest")
            else:
                a_diff.axis("off")
    fig.suptitle(f"real set {rows['set'].iloc[0]}: restorations (grey scale per panel; "
                 "differences in units of the input's 0.1-99.9 percentile range)", fontsize=9)
    fig.tight_layout()
    for out in outputs:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out, Path(out).suffix) as tmp:
            fig.savefig(tmp, dpi=dpi, format=Path(out).suffix.lstrip("."))
    plt.close(fig)
