"""Shard format: one HDF5 file per shard plus its parameter table as Parquet.

Layout of ``<shard>.h5`` (chunked one image per chunk, so any image is read lazily)::

    /clean       (N, H, W)  float32 or float16, clean images in [0, 1]
    /degraded    (N, H, W)  same dtype, operator + noise output (may leave [0, 1])
    /params/<column>        (N,)  one dataset per parameter-table column
    attrs: format_version, modality, split, shard, n_images, image_size, dtype,
           fingerprint (SHA-256 of the content: simart.provenance), ...

``<shard>.parquet`` holds the same parameter table for pandas. Both files are written
atomically (temporary name, then rename) so an interrupted job leaves nothing that
Snakemake would take as complete. HDF5 object timestamps are disabled so regenerating a
shard from the same seed gives a byte-identical file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

import h5py
import numpy as np
import pandas as pd

from simart.io import atomic_path, h5_file_atomic
from simart.provenance import (
    FINGERPRINT_ATTR,
    ShardCorrupt,
    rebuild_hint,
    shard_content_fingerprint,
    text_decoded,
    verify_shard,
)

FORMAT_VERSION = 1
_DTYPES = {"float32": np.float32, "float16": np.float16}


def parquet_path(h5_path: str | os.PathLike) -> Path:
    """Parameter table path that belongs to a shard file."""
    return Path(h5_path).with_suffix(".parquet")


def _column_array(values: pd.Series) -> np.ndarray:
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        return np.asarray(values.astype(str).to_numpy(), dtype=h5py.string_dtype("utf-8"))
    return values.to_numpy()


def write_shard(
    path: str | os.PathLike,
    clean: np.ndarray,
    degraded: np.ndarray,
    params: pd.DataFrame,
    attrs: Mapping[str, Any] | None = None,
    *,
    dtype: str = "float32",
    compression: str | None = "lzf",
    write_parquet: bool = True,
) -> None:
    """Write one shard (HDF5 + Parquet parameter table) atomically.

    Args:
        path: target ``.h5`` file; the table goes to the same stem with ``.parquet``.
        clean, degraded: arrays (N, H, W); stored as ``dtype`` ('float32' or 'float16').
        params: one row per image (N rows), every physical and noise parameter.
        attrs: scalar metadata stored as HDF5 attributes.
        compression: 'lzf' (fast), 'gzip', or None.
    """
    if dtype not in _DTYPES:
        raise ValueError(f"shard dtype {dtype!r} not allowed; choose one of {sorted(_DTYPES)}")
    clean = np.asarray(clean)
    degraded = np.asarray(degraded)
    if clean.shape != degraded.shape or clean.ndim != 3:
        raise ValueError(f"clean {clean.shape} and degraded {degraded.shape} must be equal (N,H,W)")
    if len(params) != clean.shape[0]:
        raise ValueError(f"parameter table has {len(params)} rows for {clean.shape[0]} images")
    npdtype = _DTYPES[dtype]
    n, h, w = clean.shape
    clean, degraded = clean.astype(npdtype, copy=False), degraded.astype(npdtype, copy=False)
    columns = [(col, _column_array(params[col])) for col in params.columns]
    fingerprint = shard_content_fingerprint(clean, degraded, text_decoded(columns))
    with h5_file_atomic(path, track_order=True) as f:  # in memory: a full disk is an error
        for name, arr in (("clean", clean), ("degraded", degraded)):
            f.create_dataset(
                name,
                data=arr.astype(npdtype, copy=False),
                chunks=(1, h, w) if n else None,
                compression=compression,
                track_times=False,
            )
        grp = f.create_group("params", track_order=True)
        for col, values in columns:
            grp.create_dataset(col, data=values, track_times=False)
        meta = {"format_version": FORMAT_VERSION, "n_images": n, "image_size": h,
                "dtype": dtype, **(attrs or {}), FINGERPRINT_ATTR: fingerprint}
        for key, value in meta.items():
            f.attrs[key] = value
    if write_parquet:
        with atomic_path(parquet_path(path)) as tmp:
            params.reset_index(drop=True).to_parquet(tmp, index=False)


class Shard:
    """Lazy read access to one shard file.

    ``verify=True`` recomputes the content fingerprint first (reads every image once):
    a truncated, altered or unfingerprinted shard raises
    :class:`~simart.provenance.ShardCorrupt` naming the file and the command that
    rebuilds it. Jobs that read whole shards (training, prediction, scoring) verify.

    >>> # s = Shard("results/simart/shards/TEM/test/0000.h5"); y = s.degraded(0)
    """

    def __init__(self, path: str | os.PathLike, verify: bool = False):
        self.path = Path(path)
        self.fingerprint = verify_shard(self.path) if verify else None
        try:
            self._f = h5py.File(self.path, "r")
        except OSError as exc:
            raise ShardCorrupt(f"cannot read shard {self.path}: {exc}; rebuild it: "
                               f"{rebuild_hint(self.path)}") from exc
        self.attrs = dict(self._f.attrs)

    def __len__(self) -> int:
        return int(self._f["clean"].shape[0])

    def clean(self, i: int | slice = slice(None)) -> np.ndarray:
        return np.asarray(self._f["clean"][i], dtype=np.float32)

    def degraded(self, i: int | slice = slice(None)) -> np.ndarray:
        return np.asarray(self._f["degraded"][i], dtype=np.float32)

    def params(self) -> pd.DataFrame:
        grp = self._f["params"]
        cols = {}
        for name in grp:
            data = grp[name][()]
            if data.dtype.kind in "OS":
                data = np.array([d.decode() if isinstance(d, bytes) else d for d in data])
            cols[name] = data
        return pd.DataFrame(cols)

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_images_h5(
    path: str | os.PathLike, arrays: Mapping[str, np.ndarray], attrs: Mapping[str, Any] | None = None
) -> None:
    """Write named (N, H, W) float32 arrays (e.g. predictions) to one HDF5 file atomically."""
    with h5_file_atomic(path, track_order=True) as f:  # in memory: a full disk is an error
        for name, arr in arrays.items():
            arr = np.asarray(arr, dtype=np.float32)
            chunks = (1, *arr.shape[1:]) if arr.ndim == 3 and arr.shape[0] else None
            f.create_dataset(name, data=arr, chunks=chunks, compression="lzf",
                             track_times=False)
        for key, value in (attrs or {}).items():
            f.attrs[key] = value
