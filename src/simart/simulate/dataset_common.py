"""Helpers shared by the physics datasets (stem_lattice, stm_cu111, lm).

Every dataset follows the SIMART builder's pattern (:mod:`simart.simulate.simart_dataset`):
image ``j`` of a (group, split) draws its parameters from its own generator
``SeedSequence([seed, dataset_tag, group_id, split_id, j])`` so a shard is bit-identical
when regenerated and does not depend on the shard size; noise comes from a
``torch.Generator`` seeded by the recorded ``noise_seed``; shards use
:func:`simart.data.shards.write_shard` (HDF5 + Parquet, atomic).

Parameter specifications (dict name -> spec): a number is fixed; ``[lo, hi]`` is uniform;
names listed in ``log_uniform`` are sampled log-uniformly; names in ``integers`` are
uniform integers in [lo, hi].
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

SPLIT_ID = {"train": 0, "val": 1, "test": 2}
SEED_MAX = 2**62


def dataset_tag(name: str) -> int:
    """A stable 32-bit tag of a dataset name (keeps seed streams of datasets apart)."""
    return int.from_bytes(name.encode()[:4].ljust(4, b"\0"), "big") ^ len(name)


def image_rng(seed: int, dataset: str, group: int, split: str, j: int) -> np.random.Generator:
    """The generator of image ``j`` of (dataset, group, split)."""
    return np.random.default_rng(
        np.random.SeedSequence([int(seed), dataset_tag(dataset), int(group), SPLIT_ID[split],
                                int(j)]))


def shard_bounds(n_images: int, shard_size: int, shard: int, what: str = "") -> tuple[int, int]:
    """Image indices [start, stop) of one shard."""
    start = shard * shard_size
    if not 0 <= start < n_images:
        raise ValueError(f"shard {shard} does not exist{(' for ' + what) if what else ''} "
                         f"({n_images} images, {shard_size} per shard)")
    return start, min(start + shard_size, n_images)


def sample_specs(specs: Mapping[str, object], rng: np.random.Generator,
                 log_uniform: Iterable[str] = (), integers: Iterable[str] = ()) -> dict:
    """Draw one value per spec (in key order)."""
    logs, ints = set(log_uniform), set(integers)
    out: dict[str, float | int] = {}
    for key, spec in specs.items():
        if isinstance(spec, list | tuple):
            lo, hi = float(spec[0]), float(spec[1])
            if key in ints:
                out[key] = int(rng.integers(round(lo), round(hi) + 1))
            elif key in logs:
                out[key] = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            else:
                out[key] = float(rng.uniform(lo, hi))
        else:
            out[key] = int(spec) if key in ints else float(spec)
    return out


def noise_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(SEED_MAX))


def compression_arg(name: str) -> str | None:
    return None if name == "none" else name
