"""Training data from the dataset shards (:class:`ShardTrainData`) and Noise2Noise pairs.

``ShardTrainData`` implements :class:`simart.train.data.TrainData` over a list of shards of
one dataset: ``item(i)`` gives the degraded image ``y``, the clean image ``x`` and, when
asked, ``y2`` -- a second, independent noisy realisation of the same clean image made by
the dataset's own simulator (:func:`second_realisation`): same operator and physical
parameters, new noise drawn from ``SeedSequence([noise_seed, 2])``. That is what
Noise2Noise needs (the PCSD paper's N2N baseline; Lehtinen et al. 2018: E[y2 | x] = E[y | x]),
and the pair of an image is always the same one (deterministic, resumable).

Small datasets are read into memory (``preload``); large ones are read image by image from
the HDF5 shards (each process opens its own handles, so DataLoader workers can share it).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from simart.data.shards import Shard

PRELOAD_MAX_BYTES = 2 * 2**30  # preload when y + x (+ y2) fit in this many bytes


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
    """

    def __init__(self, dataset: str, shard_paths: Sequence[str | os.PathLike],
                 subsets: Sequence[str], *, cfg=None, want: Collection[str] = ("y", "x"),
                 preload: bool | None = None,
                 unpaired: dict[str, tuple[Sequence[str | os.PathLike], str]] | None = None):
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
        self.image_shape = tuple(shape[1:])
        n_arrays = 1 + ("x" in want) + ("y2" in want)
        nbytes = len(self.table) * int(np.prod(self.image_shape)) * 4 * n_arrays
        self.preloaded = nbytes <= PRELOAD_MAX_BYTES if preload is None else preload
        self._y = self._x = None
        self._y2: dict[int, np.ndarray] = {}
        self._handles: dict[int, tuple[int, dict[int, Shard]]] = {}
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

    def _shard(self, k: int) -> Shard:
        pid, handles = self._handles.get(0, (None, {}))
        if pid != os.getpid():  # a forked DataLoader worker opens its own files
            handles = {}
            self._handles[0] = (os.getpid(), handles)
        if k not in handles:
            handles[k] = Shard(self.paths[k])
        return handles[k]

    def _images(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if self.preloaded:
            return self._y[i], self._x[i]
        r = self.table.iloc[i]
        s = self._shard(int(r["_shard"]))
        return s.degraded(int(r["_i"])), s.clean(int(r["_i"]))

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

    def item(self, i: int, want: Collection[str] = ("y", "x")) -> dict[str, np.ndarray | int]:
        y, x = self._images(i)
        out: dict[str, np.ndarray | int] = {"y": y, "subset": int(self.table["_subset"].iat[i])}
        if "x" in want:
            out["x"] = x
        if "y2" in want:
            y2 = self._y2.get(i)
            if y2 is None:
                row = self.table.iloc[i].to_dict()
                y2 = second_realisation(self.dataset, x, row, self.cfg)
                if self.preloaded:
                    self._y2[i] = y2
            out["y2"] = y2
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
        return self.data._images(int(i))[1]
