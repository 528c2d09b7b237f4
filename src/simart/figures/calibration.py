"""The calibration figure: how much each SIMART modality degrades and how much is recoverable.

From the per-image calibration table (:mod:`simart.evaluation.calibration`), one column per
modality:

* top: the distributions of the input's and the oracle's PSNR (histograms; dashed lines
  the medians), the target band of the median input PSNR shaded;
* bottom: the oracle's gain over the input against the image's relative blur
  (``blur_rel``, blur / typical feature size), coloured by its SNR: the spread from easy
  to hard.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from simart.figures.style import PALETTE, plt, save


def draw(table: pd.DataFrame, out_paths: Sequence[str | os.PathLike], *, dpi: int = 150,
         title: str = "") -> None:
    """Draw the figure from the calibration table and save it to every path."""
    from simart.evaluation.calibration import INPUT_PSNR_BANDS
    from simart.physics.severity import blur_label

    mods = list(dict.fromkeys(table["modality"]))
    fig, axes = plt.subplots(2, len(mods), figsize=(3.4 * len(mods), 6.2), squeeze=False,
                             constrained_layout=True)
    finite = table[["input_psnr", "oracle_psnr"]].to_numpy(dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    lo, hi = (np.floor(finite.min()), np.ceil(finite.max())) if finite.size else (0.0, 1.0)
    bins = np.linspace(lo, hi + 1e-9, 25)
    snr = table["snr_db"].to_numpy(dtype=np.float64)
    norm = plt.Normalize(np.nanmin(snr), np.nanmax(snr)) if np.isfinite(snr).any() else None
    sc = None
    for c, mod in enumerate(mods):
        t = table[table["modality"] == mod]
        ax = axes[0, c]
        if mod in INPUT_PSNR_BANDS:
            ax.axvspan(*INPUT_PSNR_BANDS[mod], color="0.92", zorder=0,
                       label="target band (median input)")
        for col, name, colour in (("input_psnr", "input", PALETTE[0]),
                                  ("oracle_psnr", "oracle", PALETTE[1])):
            v = t[col].to_numpy(dtype=np.float64)
            v = v[np.isfinite(v)]
            ax.hist(v, bins=bins, histtype="step", lw=1.6, color=colour, label=name)
            if v.size:
                ax.axvline(float(np.median(v)), color=colour, ls="--", lw=1)
        ax.set_title(f"{mod} (n = {len(t)})")
        ax.set_xlabel("PSNR (dB)")
        if c == 0:
            ax.set_ylabel("images")
            ax.legend(fontsize=7, loc="upper right")
        ax = axes[1, c]
        sc = ax.scatter(t["blur_rel"], t["oracle_gain_db"], c=t["snr_db"], cmap="viridis",
                        norm=norm, s=14, edgecolors="none")
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.set_xlabel(f"blur / feature size\n({blur_label(mod)} / feature px)", fontsize=8)
        if c == 0:
            ax.set_ylabel("oracle gain over input (dB)")
    if sc is not None:
        fig.colorbar(sc, ax=list(axes[1]), label="SNR (dB)", shrink=0.9)
    fig.suptitle(title or "SIMART calibration: input vs oracle bound, and gain vs severity")
    save(fig, out_paths, dpi=dpi)
