"""Training data from the dataset shards (:class:`ShardTrainData`) and Noise2Noise pairs.

``ShardTrainData`` implements :class:`simart.train.data.TrainData` over a list of shards of
one dataset: ``item(i)`` gives the degraded image ``y``, the clean image ``x`` and, when
asked, ``y2`` -- a second, independent noisy realisation of the same clean image made by
the dataset's own simulator (:func:`second_realisation`): same operator and physical
parameters, new noise drawn from ``SeedSequence([noise_seed, 2])``. That is what
Noise2Noise needs (the PCSD paper's N2N baseline; Lehtinen et al. 2018: E[y2 | x] = E[y | x]),
and the pair of an image is always the same one (deterministic, resumable).

Small datasets are read into memory (``preload``); large ones are read lazily from the HDF5
shards (each process opens its own handles, so DataLoader workers can share it): ``item``
then gives :class:`ShardImage` views whose ``[rows, cols]`` reads only the tiles of that
crop (:mod:`simart.data.shards`), so a training crop never decodes a whole image.

Noise2Noise pairs cost a simulation each (20–35 ms for a 512² SIMART image on one core,
several times the cost of reading the crops), so they are drawn once per image, never per
sample: into memory with the preloaded images, else -- given ``pair_dir`` -- into one pair
file per shard (:func:`ensure_pairs`, drawn by ``workers`` processes in parallel, kept
across restarts and checked against the shard's fingerprint), read like the shards. Only
without either is ``y2`` simulated per sample (the slow path, kept for ad-hoc use).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch

from simart.data.shards import Shard, image_chunks
from simart.io import h5_file_atomic

PRELOAD_MAX_BYTES = 2 * 2**30  # preload when y + x (+ y2) fit in this many bytes
PAIR_FORMAT = 1  # version of the pair files (pair_dir): another value redraws them


class ShardImage:
    """One image of an HDF5 array read on demand: ``.shape``; ``view[rows, cols]`` reads
    only that region (float32); ``np.asarray(view)`` reads the whole image."""

    def __init__(self, array, index: int):
        self._array, self._index = array, int(index)
        self.shape = tuple(array.shape[1:])

    def __getitem__(self, key) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        return np.asarray(self._array[(self._index, *key)], dtype=np.float32)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return np.asarray(self._array[self._index], dtype=dtype or np.float32)


def _rel(path: str | os.PathLike) -> str:
    """A shard path from its dataset folder on (``simart/shards/TEM/train/0000.h5``)."""
    p = Path(path)
    return str(p.relative_to(p.parents[4])) if len(p.parents) > 4 else str(p)


def subset_of(path: str | os.PathLike) -> str:
    """The subset of a shard path ``.../shards/{subset}/{split}/{shard}.h5``."""
    return Path(path).parts[-3]


def _pair_generator(noise_seed: int) -> torch.Generator:
    seed = int(np.random.SeedSequence([int(noise_seed), 2]).generate_state(1, np.uint64)[0])
    return torch.Generator(device="cpu").manual_seed(seed % 2**63)


def second_realisation(dataset: str, clean: np.ndarray, row: dict, cfg=None) -> np.ndarray:
    """A new noisy realisation (float32 (H, W)) of one clean image of ``dataset``: the
    simulator's degradation with noise from ``SeedSequence([noise_seed, 2])``."""
    return realisation(dataset, clean, row, _pair_generator(row["noise_seed"]), cfg)


def _draw_shard_pairs(dataset: str, path: str, out: str, cfg, fingerprint: str) -> str:
    """Draw the Noise2Noise pair of every image of one shard; write them to ``out``
    (``y2`` (N, H, W) in the shard's dtype, tiled like it) atomically."""
    torch.set_num_threads(1)
    with Shard(path) as s:
        clean, table = s.clean(), s.params()
        dtype = s.dataset("degraded").dtype
    y2 = np.stack([second_realisation(dataset, clean[j], table.iloc[j].to_dict(), cfg)
                   for j in range(len(clean))]) if len(clean) else clean
    with h5_file_atomic(out) as f:
        f.create_dataset("y2", data=y2.astype(dtype), track_times=False,
                         chunks=image_chunks(*y2.shape[1:]) if len(y2) else None)
        f.attrs.update({"pair_format": PAIR_FORMAT, "source_fingerprint": fingerprint,
                        "source": _rel(path)})
    return out


def _pairs_current(path: Path, fingerprint: str) -> bool:
    """Whether the pair file at ``path`` was drawn for the shard of ``fingerprint``."""
    try:
        with h5py.File(path, "r") as f:
            return (f.attrs.get("pair_format") == PAIR_FORMAT
                    and f.attrs.get("source_fingerprint") == fingerprint)
    except OSError:
        return False


def ensure_pairs(dataset: str, shard_paths: Sequence[str], fingerprints: Sequence[str],
                 pair_dir: str | os.PathLike, cfg=None, workers: int = 0) -> list[Path]:
    """The pair file of every shard (``pair_dir/<k>.h5``), drawing those missing or made
    from other shard contents; ``workers`` > 1: that many processes in parallel."""
    pair_dir = Path(pair_dir)
    pair_dir.mkdir(parents=True, exist_ok=True)
    outs = [pair_dir / f"{k:04d}.h5" for k in range(len(shard_paths))]
    todo = [(dataset, str(p), str(o), cfg, fp)
            for p, o, fp in zip(shard_paths, outs, fingerprints, strict=True)
            if not _pairs_current(o, fp)]
    if workers > 1 and len(todo) > 1:
        # fork, as DataLoader workers: spawn would re-run a workflow script's __main__
        with ProcessPoolExecutor(min(workers, len(todo)), mp_context=get_context("fork")) as ex:
            list(ex.map(_draw_shard_pairs, *zip(*todo, strict=True)))
    else:
        for args in todo:
            _draw_shard_pairs(*args)
    return outs


def realisation(dataset: str, clean: np.ndarray, row: dict, gen: torch.Generator,
                cfg=None) -> np.ndarray:
    """The dataset simulator's degradation of one clean image with noise from ``gen``.

    ``row``: the image's parameter row from its shard table; ``cfg`` (the validated
    config): needed for ``simart``, whose parameters are replayed from the seed
    (:func:`simart.simulate.simart_dataset.image_params`). With the generator seeded by the
    row's ``noise_seed`` this replays the stored degraded image (tested).
    """
    clean64 = np.asarray(clean, np.float64)
    if dataset == "simart":
        from simart import physics
        from simart.simulate.simart_dataset import image_params

        if cfg is None:
            raise ValueError("second_realisation('simart', ...) needs the config")
        p = image_params(cfg, row["modality"], row["split"], int(row["image_index"]))
        x = torch.from_numpy(clean64.astype(np.float32))[None, None]
        tp = {k: torch.tensor([v], dtype=torch.int64 if k.endswith("_seed") else torch.float64)
              for k, v in p.items()}
        with torch.no_grad():
            y = physics.forward(row["modality"], x, tp)
            y = physics.add_noise(y, tp["poisson_counts"], tp["gaussian_sigma"], [gen])
        return y[0, 0].numpy().astype(np.float32)
    if dataset == "stem_lattice":
        from simart.simulate.cdn import apply_cdn

        return (apply_cdn(255.0 * clean64, int(row["level"]), gen) / 255.0).astype(np.float32)
    if dataset == "stm_cu111":
        from simart.simulate.stm_cu111 import degrade_blurry

        if row.get("domain", "blurry") == "experimental":
            raise ValueError("stm_cu111 experimental images have no second realisation "
                             "(their layouts' step edges are not stored)")
        p = {k[4:]: v for k, v in row.items() if k.startswith("blu_")}
        return degrade_blurry(clean64, p, float(row["pixel_size_nm"]), gen)[0].astype(np.float32)
    if dataset == "lm":
        from simart.physics.lm import add_poisson_background, forward_lm
        from simart.specs.lm import LM_PARAM_SPECS

        params = {k: torch.tensor([float(row[k])], dtype=torch.float64)
                  for k in (*LM_PARAM_SPECS, "confocal")}
        x = torch.from_numpy(clean64.astype(np.float32))[None, None]
        with torch.no_grad():
            y = forward_lm(x, params)
            y = add_poisson_background(y, params["photons"], params["background"], [gen])
        return y[0, 0].numpy().astype(np.float32)
    raise ValueError(f"unknown dataset {dataset!r}")


class ShardTrainData:
    """Images of ``shard_paths`` (one dataset) as :class:`~simart.train.data.TrainData`.

    ``subsets``: the dataset's subset names; ``item(i)["subset"]`` indexes this list (the
    subset of a shard is its path's folder). ``want``: which of ``x``, ``y2`` are needed
    (``y2`` is simulated once per image and cached when preloaded; ``params``: the
    image's operator parameters, :func:`simart.physics.dataset_ops.param_names`).

    ``unpaired``: the pools of the unpaired fields ``u`` / ``xu`` (``Batch``):
    ``{field: (shard paths, "degraded" | "clean")}``, read into memory; ``xu`` defaults to
    this data's own clean images.

    ``pair_dir``, ``workers``: where the Noise2Noise pairs of data that is not preloaded
    are kept, and how many processes draw them (module docstring).
    """

    def __init__(self, dataset: str, shard_paths: Sequence[str | os.PathLike],
                 subsets: Sequence[str], *, cfg=None, want: Collection[str] = ("y", "x"),
                 preload: bool | None = None,
                 unpaired: dict[str, tuple[Sequence[str | os.PathLike], str]] | None = None,
                 pair_dir: str | os.PathLike | None = None, workers: int = 0):
        if not shard_paths:
            raise ValueError(f"{dataset}: no shards to train on")
        self.dataset, self.cfg, self.subsets = dataset, cfg, list(subsets)
        self.paths = [str(p) for p in shard_paths]
        tables, self.fingerprints = [], []
        self.pool_fingerprints: dict[str, list[tuple[str, str]]] = {}
        for k, path in enumerate(self.paths):
            sub = subset_of(path)
            if sub not in self.subsets:
                raise ValueError(f"shard {path}: subset {sub!r} not in {self.subsets}")
            with Shard(path, verify=True) as s:  # content checked against its fingerprint
                t = s.params()
                shape = s._f["degraded"].shape
                self.fingerprints.append(s.fingerprint)
            t["_shard"], t["_i"], t["_subset"] = k, np.arange(len(t)), self.subsets.index(sub)
            t["domain"] = sub
            tables.append(t)
        self.table = pd.concat(tables, ignore_index=True)
        # per-image lookups as arrays: a pandas row lookup per sample costs more than a crop
        self._shard_of = self.table["_shard"].to_numpy(np.int64)
        self._index_of = self.table["_i"].to_numpy(np.int64)
        self._subset_of = self.table["_subset"].to_numpy(np.int64)
        self.image_shape = tuple(shape[1:])
        n_arrays = 1 + ("x" in want) + ("y2" in want)
        nbytes = len(self.table) * int(np.prod(self.image_shape)) * 4 * n_arrays
        self.preloaded = nbytes <= PRELOAD_MAX_BYTES if preload is None else preload
        self._y = self._x = None
        self._y2: dict[int, np.ndarray] = {}
        self._pair_paths: list[Path] = []
        self._handles: dict[int, tuple[int, dict]] = {}
        self._pools: dict[str, np.ndarray] = {}
        for field, (paths, which) in (unpaired or {}).items():
            if field not in ("u", "xu") or which not in ("degraded", "clean"):
                raise ValueError(f"unpaired pool {field!r} from {which!r}: fields u / xu, "
                                 "images 'degraded' / 'clean'")
            if not paths:
                raise ValueError(f"{dataset}: no shards for the unpaired pool {field!r}")
            arrays, prints = [], []
            for path in paths:
                with Shard(path, verify=True) as s:
                    arrays.append(s.degraded() if which == "degraded" else s.clean())
                    prints.append((_rel(path), s.fingerprint))
            self.pool_fingerprints[field] = prints
            self._pools[field] = np.concatenate(arrays)
        if self.preloaded:
            ys, xs = [], []
            for path in self.paths:
                with Shard(path) as s:
                    ys.append(s.degraded())
                    xs.append(s.clean())
            self._y, self._x = np.concatenate(ys), np.concatenate(xs)
        if "y2" in want:
            self._draw_pairs(pair_dir, workers)

    def _draw_pairs(self, pair_dir: str | os.PathLike | None, workers: int) -> None:
        """Noise2Noise pairs drawn once per image: in memory when preloaded, else into
        ``pair_dir`` (none: simulated per sample)."""
        if self.preloaded:
            for i in range(len(self)):
                self._y2[i] = second_realisation(self.dataset, self._x[i],
                                                 self.table.iloc[i].to_dict(), self.cfg)
        elif pair_dir is not None:
            self._pair_paths = ensure_pairs(self.dataset, self.paths, self.fingerprints,
                                            pair_dir, self.cfg, workers)

    def __len__(self) -> int:
        return len(self.table)

    def signature(self) -> dict:
        """What identifies the data (recorded in checkpoints): dataset, image count and
        shape, every shard with its content fingerprint (simart.provenance), the unpaired
        pools' shards with theirs."""
        sig = {"dataset": self.dataset, "n_images": len(self),
               "image_shape": list(self.image_shape),
               "shards": [{"path": _rel(p), "fingerprint": fp}
                          for p, fp in zip(self.paths, self.fingerprints, strict=True)]}
        if self.pool_fingerprints:
            sig["unpaired"] = {f: [{"path": p, "fingerprint": fp} for p, fp in prints]
                               for f, prints in sorted(self.pool_fingerprints.items())}
        return sig

    def _handle(self, key: tuple[str, int]):
        """An open file of this process: ("shard", k) a Shard, ("pairs", k) a pair file."""
        pid, handles = self._handles.get(0, (None, {}))
        if pid != os.getpid():  # a forked DataLoader worker opens its own files
            handles = {}
            self._handles[0] = (os.getpid(), handles)
        if key not in handles:
            kind, k = key
            handles[key] = (Shard(self.paths[k]) if kind == "shard"
                            else h5py.File(self._pair_paths[k], "r"))
        return handles[key]

    def _shard(self, k: int) -> Shard:
        return self._handle(("shard", k))

    def _images(self, i: int) -> tuple[np.ndarray | ShardImage, np.ndarray | ShardImage]:
        """(y, x) of image ``i``: arrays when preloaded, else views read on slicing."""
        if self.preloaded:
            return self._y[i], self._x[i]
        s, j = self._shard(int(self._shard_of[i])), int(self._index_of[i])
        return ShardImage(s.dataset("degraded"), j), ShardImage(s.dataset("clean"), j)

    def _pair(self, i: int) -> np.ndarray | ShardImage:
        """The Noise2Noise pair ``y2`` of image ``i`` (module docstring)."""
        if i in self._y2:
            return self._y2[i]
        if self._pair_paths:
            f = self._handle(("pairs", int(self._shard_of[i])))
            return ShardImage(f["y2"], int(self._index_of[i]))
        row = self.table.iloc[i].to_dict()
        return second_realisation(self.dataset, np.asarray(self._images(i)[1]), row, self.cfg)

    def pool(self, field: str):
        """The images (indexable, ``len``) an unpaired field ``u`` / ``xu`` is drawn from."""
        if field in self._pools:
            return self._pools[field]
        if field == "xu":
            return _CleanPool(self)
        raise ValueError(f"this training data has no unpaired pool {field!r} (the model "
                         "needs it: give ShardTrainData(unpaired=...))")

    def params(self, i: int) -> dict[str, float]:
        """The operator parameters of image ``i`` (see :func:`param_names`)."""
        from simart.physics.dataset_ops import has_operator, image_params

        if not has_operator(self.dataset):
            raise ValueError(f"dataset {self.dataset!r} has no operator parameters")
        row = self.table.iloc[i]
        return image_params(self.dataset, str(row["domain"]), row)

    def item(self, i: int, want: Collection[str] = ("y", "x")) -> dict:
        """Image ``i``'s fields (:class:`simart.train.data.TrainData`): arrays when
        preloaded, else :class:`ShardImage` views (slice them to read a crop)."""
        y, x = self._images(i)
        out: dict = {"y": y, "subset": int(self._subset_of[i])}
        if "x" in want:
            out["x"] = x
        if "y2" in want:
            out["y2"] = self._pair(i)
        if "params" in want:
            out["params"] = self.params(i)
        return out


class _CleanPool:
    """The clean images of a ShardTrainData as an unpaired pool (``xu``)."""

    def __init__(self, data: ShardTrainData):
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> np.ndarray:
        return np.asarray(self.data._images(int(i))[1])
