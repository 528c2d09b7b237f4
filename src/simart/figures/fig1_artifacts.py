"""PCSD paper Fig. 1: clean / degraded / restored examples, one row per modality.

Everything drawn is read from pipeline outputs: images from the test shards and the
prediction files, the per-panel PSNR/SSIM from the cell metric tables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import h5py
import numpy as np

from simart.data.shards import Shard
from simart.figures.style import plt, save
from simart.provenance import read_table

LABELS = {"noisy": "Noisy input", "wiener": "Wiener", "richardson_lucy": "Richardson–Lucy",
          "bm3d": "BM3D", "tip_erosion": "Tip erosion"}


def draw(
    shards: Mapping[str, str | os.PathLike],
    predictions: Mapping[str, Mapping[str, str | os.PathLike]],
    cell_tables: Mapping[str, Mapping[str, str | os.PathLike]],
    models: Sequence[str],
    out_paths: Sequence[str | os.PathLike],
    example_index: int = 0,
    dpi: int = 150,
) -> None:
    """Draw the figure. ``shards[mod]`` is a test shard; ``predictions[mod][model]`` its
    prediction file; ``cell_tables[mod][model]`` the cell's per-image metrics."""
    mods = list(shards)
    shown = [m for m in models if m != "noisy"]  # the noisy input is the "Degraded" column
    ncol = 2 + len(shown)
    fig, axes = plt.subplots(len(mods), ncol, figsize=(1.55 * ncol, 1.75 * len(mods)),
                             squeeze=False)
    for r, mod in enumerate(mods):
        with Shard(shards[mod]) as s:
            i = min(example_index, len(s) - 1)
            clean, degraded, prow = s.clean(i), s.degraded(i), s.params().iloc[i]
        panels = [("Clean", clean, ""), ("Degraded", degraded, "")]
        for m in shown:
            with h5py.File(predictions[mod][m], "r") as f:
                ds = f["prediction"]  # one dataset per modality (prediction/{modality})
                ds = ds[mod] if isinstance(ds, h5py.Group) else ds
                img = np.asarray(ds[i], dtype=np.float32)
            t = read_table(cell_tables[mod][m])
            row = t[t["image_index"] == prow["image_index"]].iloc[0]
            if row["status"] != "ok":
                note = "not applicable"
            else:
                note = f"{row['psnr']:.1f} dB / {row['ssim']:.3f}"
            panels.append((LABELS.get(m, m), img, note))
        noisy_t = read_table(cell_tables[mod]["noisy"]) if "noisy" in models else None
        if noisy_t is not None:
            nr = noisy_t[noisy_t["image_index"] == prow["image_index"]].iloc[0]
            panels[1] = ("Degraded", degraded, f"{nr['psnr']:.1f} dB / {nr['ssim']:.3f}")
        for c, (title, img, note) in enumerate(panels):
            ax = axes[r, c]
            if np.isnan(img).all():
                ax.set_facecolor("0.9")
                ax.text(0.5, 0.5, "n/a", ha="center", va="center", transform=ax.transAxes)
            else:
                ax.imshow(img, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title)
            if note:
                ax.set_xlabel(note, fontsize=7)
        axes[r, 0].set_ylabel(f"{mod}\n{prow['pixel_size_nm']:.3g} nm/px", fontsize=8)
    fig.suptitle("SIMART test examples: clean, degraded, restored "
                 "(PSNR dB / SSIM vs clean; grey scale 0–1)", fontsize=9)
    fig.tight_layout()
    save(fig, out_paths, dpi=dpi)
