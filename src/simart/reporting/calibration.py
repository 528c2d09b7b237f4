"""The calibration table as a table spec (calibration_table of simart.specs.figures): a thin
adapter over :mod:`simart.evaluation.calibration` that times and logs it."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence

import pandas as pd

log = logging.getLogger("simart")


def write_table(shards: Mapping[str, Sequence[str | os.PathLike]], n_max: int,
                data_range: float, csv_path: str | os.PathLike, md_path: str | os.PathLike,
                context: str = "", threads: int = 1) -> pd.DataFrame:
    """:func:`~simart.evaluation.calibration.calibration_table` of ``shards`` written with
    :func:`~simart.evaluation.calibration.write` (per-image CSV, summary Markdown) on
    ``threads`` torch threads; returns the summary and logs it in one line."""
    import torch

    from simart.evaluation.calibration import calibration_table, write

    torch.set_num_threads(max(1, threads))
    t0 = time.perf_counter()
    table = calibration_table(shards, n_max, data_range)
    summ = write(table, csv_path, md_path, context)
    log.info("%d images in %.1f s; %s", len(table), time.perf_counter() - t0, "; ".join(
        f"{r['modality']}: input PSNR {r['input_psnr']:.2f} dB, oracle {r['oracle_psnr']:.2f} dB "
        f"(gain {r['oracle_gain_db']:.2f} dB), targets "
        + ("met" if r["input_psnr_in_band"] and r["oracle_gain_ok"] else "NOT met")
        for _, r in summ.iterrows()))
    return summ
