"""Shard format: one HDF5 file per shard plus its parameter table as Parquet.

Layout of ``<shard>.h5`` (chunked in square tiles of one image, :data:`TILE` px a side, so
any image, or any crop of one, is read lazily: a random 256² training crop of a 512² image
reads 4 to 9 tiles, not the whole image)::

    /clean       (N, H, W)  float32 or float16, clean images in [0, 1]
    /degraded    (N, H, W)  same dtype, operator + noise output (may leave [0, 1])
    /params/<column>        (N,)  one dataset per parameter-table column
    attrs: format_version, modality, split, shard, n_images, image_size, dtype,
           fingerprint (SHA-256 of the content: simart.provenance), ...

``<shard>.parquet`` holds the same parameter table for pandas. Both files are written
atomically (temporary name, then rename) so an interrupted job leaves nothing that
Snakemake would take as complete. HDF5 object timestamps are disabled so regenerating a
shard from the same seed gives a byte-identical file.

Compression (``compression``): ``"auto"`` (the default) stores the images LZF-compressed only
where that saves at least :data:`AUTO_MIN_SAVING` of their bytes on a trial of the shard's
own first image, else uncompressed. Noisy float images barely compress (LZF kept 86–99 %
of the bytes of the paper preset's 512² shards) while decoding them cost 42 % of the
training loader's CPU time: there compression does not pay. The choice depends only on
the data, so a rewrite stays byte-identical. Shards of the old layout (one image per
chunk, LZF) read the same: HDF5 records the layout per file.
"""

from __future__ import annotations

import io
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
TILE = 128  # px: the side of a chunk (a 128² float32 tile is 64 KiB)
COMPRESSIONS = ("auto", "lzf", "gzip", None)
AUTO_MIN_SAVING = 0.25  # "auto": compress when LZF saves at least this fraction of bytes


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
    compression: str | None = "auto",
    tile: int | None = TILE,
    write_parquet: bool = True,
) -> None:
    """Write one shard (HDF5 + Parquet parameter table) atomically.

    Args:
        path: target ``.h5`` file; the table goes to the same stem with ``.parquet``.
        clean, degraded: arrays (N, H, W); stored as ``dtype`` ('float32' or 'float16').
        params: one row per image (N rows), every physical and noise parameter.
        attrs: scalar metadata stored as HDF5 attributes.
        compression: 'auto' (LZF where it saves >= AUTO_MIN_SAVING, else none), 'lzf',
            'gzip', or None.
        tile: chunk side in px (chunks (1, tile, tile), clipped to the image); None: one
            image per chunk (the layout before tiles).
    """
    if compression not in COMPRESSIONS:
        raise ValueError(f"shard compression {compression!r} not allowed; choose one of "
                         f"{list(COMPRESSIONS)}")
    if tile is not None and int(tile) < 1:
        raise ValueError(f"shard tile {tile!r} not allowed: a side in px >= 1, or None")
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
    chunks = image_chunks(h, w, tile) if n else None
    if compression == "auto":
        compression = auto_compression(degraded[:1], chunks) if n else None
    with h5_file_atomic(path, track_order=True) as f:  # in memory: a full disk is an error
        for name, arr in (("clean", clean), ("degraded", degraded)):
            f.create_dataset(
                name,
                data=arr,
                chunks=chunks,
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


def _tile_side(n: int, tile: int) -> int:
    """The largest divisor of ``n`` in [tile / 4, tile] (edge chunks would be stored whole:
    a side that does not divide the image wastes bytes), else ``n`` itself."""
    for d in range(min(tile, n), max(1, tile // 4) - 1, -1):
        if n % d == 0:
            return d
    return n


def image_chunks(h: int, w: int, tile: int | None = TILE) -> tuple[int, int, int]:
    """HDF5 chunk shape of (N, h, w) images: tiles of about ``tile`` px a side that divide
    the image (``_tile_side``), or the whole image when ``tile`` is None."""
    return (1, h, w) if tile is None else (1, _tile_side(h, int(tile)), _tile_side(w, int(tile)))


def auto_compression(sample: np.ndarray, chunks: tuple[int, ...] | None) -> str | None:
    """'lzf' when LZF stores ``sample`` (a few images, as chunked) in at most
    ``1 - AUTO_MIN_SAVING`` of its bytes, else None. Measured in an in-memory HDF5 file,
    so the decision is a pure function of the data."""
    with h5py.File(io.BytesIO(), "w") as f:
        d = f.create_dataset("trial", data=sample, chunks=chunks, compression="lzf",
                             track_times=False)
        stored = d.id.get_storage_size()
    return "lzf" if stored <= (1 - AUTO_MIN_SAVING) * sample.nbytes else None


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

    def dataset(self, name: str) -> h5py.Dataset:
        """The stored ``clean`` or ``degraded`` array (its own dtype, read on slicing):
        ``s.dataset("degraded")[i, r0:r1, c0:c1]`` reads only the tiles of that crop."""
        if name not in ("clean", "degraded"):
            raise ValueError(f"shard {self.path}: no image array {name!r}; "
                             "choose 'clean' or 'degraded'")
        return self._f[name]

    def storage_ratio(self) -> float:
        """Stored bytes / raw bytes of the images (1.0: uncompressed)."""
        raw = sum(self._f[k].size * self._f[k].dtype.itemsize for k in ("clean", "degraded"))
        stored = sum(self._f[k].id.get_storage_size() for k in ("clean", "degraded"))
        return stored / raw if raw else 1.0

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
