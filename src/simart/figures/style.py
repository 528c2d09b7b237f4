"""Shared figure style: readable sizes, colour-blind-safe palette, PNG + PDF output."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from simart.io import atomic_path

# Okabe-Ito colour-blind-safe palette.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

plt.rcParams.update({
    "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "figure.dpi": 100,
    "savefig.bbox": "tight", "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
})


def save(fig: plt.Figure, paths: Sequence[str | os.PathLike], dpi: int = 150) -> None:
    """Save one figure to every path (format from the suffix), atomically."""
    for p in paths:
        p = Path(p)
        with atomic_path(p) as tmp:
            fig.savefig(tmp, format=p.suffix.lstrip("."), dpi=dpi)
    plt.close(fig)
