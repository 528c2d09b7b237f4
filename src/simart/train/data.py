"""What the training loop reads: a :class:`TrainData` of full images, indexed 0..len-1.

``item(i, want)`` returns float32 (H, W) arrays by name -- ``"y"`` (degraded input) always,
``"x"`` (clean target) and ``"y2"`` (second independent noisy realisation, Noise2Noise)
when in ``want`` -- plus ``"subset"`` (int) and, when ``"params"`` is in ``want``, the image's
operator parameters (dict name -> number). ``pool(field)`` gives the images (indexable)
the unpaired fields ``u`` / ``xu`` of a batch are drawn from (``Batch``). Implementations: :class:`ArrayTrainData`
(in memory; tests, small runs) and ``simart.train.shard_data.ShardTrainData`` (the dataset
shards, read lazily; ``y2`` made by the dataset's simulator with a new noise seed).

Batches (random crops, flips/rotations, blind-spot masks ...) are assembled by the loop from
these items with generators seeded by ``(seed, step)``, so the data seen at step ``s`` never
depends on what ran before: a resumed run sees exactly what an uninterrupted one saw.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

import numpy as np


class TrainData(Protocol):
    subsets: list[str]  # names of the subsets (item()["subset"] indexes this list)

    def __len__(self) -> int: ...

    def item(self, i: int, want: Collection[str] = ("y", "x")) -> dict[str, np.ndarray | int]: ...

    def pool(self, field: str): ...


class ArrayTrainData:
    """In-memory images: ``y`` (N, H, W), optional ``x``, ``y2`` of the same shape, ``subset``
    (N,); ``params``: one dict of operator parameters per image; ``u`` / ``xu``: pools
    (M, H', W') of unpaired images (``xu`` defaults to ``x``)."""

    def __init__(self, y: np.ndarray, x: np.ndarray | None = None, y2: np.ndarray | None = None,
                 subset: np.ndarray | None = None, subsets: list[str] | None = None,
                 params: list[dict] | None = None, u: np.ndarray | None = None,
                 xu: np.ndarray | None = None):
        self.y = np.asarray(y, np.float32)
        self.x = None if x is None else np.asarray(x, np.float32)
        self.y2 = None if y2 is None else np.asarray(y2, np.float32)
        for name, arr in (("x", self.x), ("y2", self.y2)):
            if arr is not None and arr.shape != self.y.shape:
                raise ValueError(f"{name} has shape {arr.shape}, y has {self.y.shape}")
        self.subset = (np.zeros(len(self.y), np.int64) if subset is None
                       else np.asarray(subset, np.int64))
        self.subsets = list(subsets) if subsets is not None else ["all"]
        self.params = None if params is None else list(params)
        if self.params is not None and len(self.params) != len(self.y):
            raise ValueError(f"{len(self.params)} params for {len(self.y)} images")
        self.u = None if u is None else np.asarray(u, np.float32)
        self.xu = None if xu is None else np.asarray(xu, np.float32)

    def __len__(self) -> int:
        return len(self.y)

    def item(self, i: int, want: Collection[str] = ("y", "x")) -> dict[str, np.ndarray | int]:
        out: dict[str, np.ndarray | int] = {"y": self.y[i], "subset": int(self.subset[i])}
        for name in ("x", "y2"):
            if name in want:
                arr = getattr(self, name)
                if arr is None:
                    raise ValueError(f"this data has no {name!r} images (asked for by the model)")
                out[name] = arr[i]
        if "params" in want:
            if self.params is None:
                raise ValueError("this data has no 'params' (asked for by the model)")
            out["params"] = dict(self.params[i])
        return out

    def pool(self, field: str) -> np.ndarray:
        arr = {"u": self.u, "xu": self.xu if self.xu is not None else self.x}.get(field)
        if arr is None:
            raise ValueError(f"this data has no unpaired pool {field!r} (asked for by the model)")
        return arr
