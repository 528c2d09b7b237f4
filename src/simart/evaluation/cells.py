"""One benchmark cell = (dataset, modality, model): restore the test split, score each image.

A model that cannot run on a modality (e.g. Richardson-Lucy with the signed TEM CTF) is
not silently dropped: its rows are kept with ``status = "missing"`` and the reason, and
its metric values are NaN.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from simart.data.shards import Shard, write_images_h5
from simart.io import atomic_path
from simart.metrics.full_reference import compute_metrics
from simart.restore.classical import CLASSICAL_MODELS, NotApplicableError


def predict_shard(
    shard_path: str | os.PathLike,
    model: str,
    metrics: Sequence[str],
    pred_path: str | os.PathLike,
    table_path: str | os.PathLike,
    *,
    data_range: float = 1.0,
    dataset: str = "simart",
    model_kwargs: dict | None = None,
) -> pd.DataFrame:
    """Restore every image of one test shard with ``model``; write predictions and metrics."""
    if model not in CLASSICAL_MODELS:
        raise ValueError(f"unknown model {model!r}; available: {sorted(CLASSICAL_MODELS)}")
    restore = CLASSICAL_MODELS[model]
    with Shard(shard_path) as shard:
        clean, degraded, params = shard.clean(), shard.degraded(), shard.params()
        modality = str(shard.attrs["modality"])
    preds = np.full_like(degraded, np.nan)
    status, reason, seconds = [], [], []
    for i, row in enumerate(params.to_dict("records")):
        t0 = time.perf_counter()
        try:
            preds[i] = restore(degraded[i], modality, row, **(model_kwargs or {}))
            status.append("ok")
            reason.append("")
        except NotApplicableError as exc:
            status.append("missing")
            reason.append(str(exc))
        seconds.append(time.perf_counter() - t0)
    ok = np.array([s == "ok" for s in status])
    table = params.copy()
    table.insert(0, "dataset", dataset)
    table["model"] = model
    table["status"] = status
    table["missing_reason"] = reason
    table["seconds"] = seconds
    for name in metrics:
        table[name] = np.nan
    if ok.any():
        values = compute_metrics(preds[ok], clean[ok], data_range=data_range, metrics=metrics)
        for name in metrics:
            table.loc[ok, name] = np.asarray(values[name], dtype=np.float64)
    write_images_h5(pred_path, {"prediction": preds},
                    {"model": model, "modality": modality, "source_shard": str(shard_path)})
    with atomic_path(table_path) as tmp:
        table.to_parquet(tmp, index=False)
    return table


def gather_cell(shard_tables: Sequence[str | os.PathLike], out_path: str | os.PathLike) -> pd.DataFrame:
    """Concatenate per-shard metric tables into the cell's result file (one row per image)."""
    table = pd.concat([pd.read_parquet(p) for p in shard_tables], ignore_index=True)
    table = table.sort_values("image_index", kind="stable").reset_index(drop=True)
    with atomic_path(out_path) as tmp:
        table.to_parquet(tmp, index=False)
    return table
