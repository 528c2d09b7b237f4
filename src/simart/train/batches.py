"""Training batches as a pure function of ``(seed, step)``.

Nothing here keeps state between steps: the batch of step ``s`` (0-based: the batch of the
``s+1``-th optimiser update) depends only on the data, the settings and ``(seed, s)``, so a
resumed run sees exactly the batches an uninterrupted one saw, and DataLoader workers can
build batches ahead in any order.

* Images: a per-epoch permutation of the data (every image once per epoch), the sample at
  position ``p = s * batch_size + j`` being image ``perm_e[p % N]`` with ``e = p // N`` and
  ``perm_e`` drawn from ``SeedSequence(seed, spawn_key=(0, e))``.
* Crops and transforms: one numpy Generator from ``SeedSequence(seed, spawn_key=(1, s))``;
  per sample a random ``patch_size`` crop (the full image along a side shorter than it)
  and one transform (``dihedral``: one of the 8 flips/rotations by 90°; ``flips``: one of
  the 4 horizontal/vertical flip combinations; ``none``), the same for ``y``, ``x``, ``y2``.
* :func:`step_generator`: the torch Generator of step ``s`` handed to
  ``model.training_step`` (blind-spot masks, diffusion noise), from
  ``SeedSequence(seed, spawn_key=(2, s))``.
* Unpaired fields ``u`` / ``xu`` (models that ask for them): per sample an image drawn
  uniformly from the data's pool of that field (``data.pool``), with its own random crop
  and transform, from ``SeedSequence(seed, spawn_key=(3, s, f))`` (``f`` the field's
  index) -- so the batches of the other fields are the same whether or not a model asks
  for them.
* ``params`` (models that ask): the operator parameters of each ``y``, stacked by
  :func:`simart.physics.dataset_ops.stack_params` (crops and transforms are not applied
  to them).
* Data-parallel training (``world`` processes, :mod:`simart.train.distributed`): process
  ``rank`` takes samples ``[rank b, (rank+1) b)`` (``b = batch_size / world``) of the very
  batch one process draws. Every process still draws every sample's crop and transform
  (the generators are sequential, and a crop needs its image's shape), but reads and
  assembles only its own slice; its torch generators come from ``(seed, step, rank)``
  (:func:`step_generator`, :func:`rank_seed`).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import torch
from torch.utils.data import Dataset

from simart.models.base import Batch
from simart.specs.training import TrainSettings
from simart.train.data import TrainData

_PERM, _CROP, _GEN, _UNPAIRED, _GLOBAL = 0, 1, 2, 3, 4  # spawn-key streams of one seed
IMAGE_FIELDS = ("y", "x", "y2")
UNPAIRED_FIELDS = ("u", "xu")


def _rng(seed: int, stream: int, k: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(stream, int(k))))


def batch_indices(n: int, seed: int, step: int, batch_size: int) -> np.ndarray:
    """Image indices of the batch of ``step``: consecutive slots of per-epoch permutations."""
    if n < 1:
        raise ValueError("the training data has no images")
    pos = step * batch_size + np.arange(batch_size)
    epochs = pos // n
    out = np.empty(batch_size, np.int64)
    for e in np.unique(epochs):
        sel = epochs == e
        out[sel] = _rng(seed, _PERM, int(e)).permutation(n)[pos[sel] % n]
    return out


def _transform(arr: np.ndarray, k: int) -> np.ndarray:
    """Dihedral transform ``k`` in 0..7: rotation by ``k % 4`` quarter turns, then a
    left-right flip when ``k >= 4``."""
    arr = np.rot90(arr, k % 4)
    return arr[:, ::-1] if k >= 4 else arr


def _draw_transform(rng: np.random.Generator, augment: str, square: bool) -> int:
    if augment == "none":
        return 0
    if augment == "dihedral" and square:
        return int(rng.integers(8))
    return int(rng.choice([0, 2, 4, 6]))  # identity, rot180, h-flip, v-flip: keep the shape


def _crop(rng: np.random.Generator, shape: tuple[int, int], patch_size: int,
          augment: str) -> tuple[slice, slice, int]:
    h, w = shape
    ph, pw = min(patch_size, h), min(patch_size, w)
    top, left = int(rng.integers(h - ph + 1)), int(rng.integers(w - pw + 1))
    k = _draw_transform(rng, augment, ph == pw)
    return slice(top, top + ph), slice(left, left + pw), k


def _part(batch_size: int, rank: int, world: int) -> range:
    """The sample positions of process ``rank`` of ``world`` in a batch."""
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"rank {rank} of {world} processes")
    if batch_size % world:
        raise ValueError(f"training batch_size {batch_size} does not split over {world} "
                         f"processes (train.gpus): set it to a multiple of {world}")
    per = batch_size // world
    return range(rank * per, (rank + 1) * per)


def batch_arrays(data: TrainData, step: int, *, seed: int, batch_size: int, patch_size: int,
                 augment: str, want: Collection[str], rank: int = 0, world: int = 1) -> dict:
    """The batch of ``step`` as numpy arrays: fields of ``want`` (B, 1, P, P) float32,
    ``subset`` (B,) int64 and, when asked, ``params`` (a list of B dicts). With ``world``
    processes: the slice of process ``rank`` (B / world samples; module docstring)."""
    fields = [f for f in IMAGE_FIELDS if f == "y" or f in want]
    extra = ("params",) if "params" in want else ()
    mine = _part(batch_size, rank, world)
    rng = _rng(seed, _CROP, step)
    out: dict[str, list] = {f: [] for f in (*fields, "subset", *extra)}
    for j, i in enumerate(batch_indices(len(data), seed, step, batch_size)):
        if j not in mine:  # another process's sample: draw its crop, keep nothing
            _crop(rng, np.shape(data.item(int(i), ("y",))["y"]), patch_size, augment)
            continue
        item = data.item(int(i), (*fields, *extra))
        rows, cols, k = _crop(rng, np.shape(item["y"]), patch_size, augment)
        for f in fields:
            crop = np.asarray(item[f][rows, cols], np.float32)  # a lazy view reads the crop
            out[f].append(np.ascontiguousarray(_transform(crop, k))[None])
        out["subset"].append(int(item["subset"]))
        if extra:
            out["params"].append(item["params"])
    arrays: dict = {f: np.stack(out[f]) for f in fields}
    arrays["subset"] = np.asarray(out["subset"], np.int64)
    if extra:
        arrays["params"] = out["params"]
    unpaired = [f for f in UNPAIRED_FIELDS if f in want]
    for f in unpaired:
        urng = np.random.default_rng(np.random.SeedSequence(
            int(seed), spawn_key=(_UNPAIRED, int(step), UNPAIRED_FIELDS.index(f))))
        pool, crops = data.pool(f), []
        for j in range(batch_size):
            img = pool[int(urng.integers(len(pool)))]
            rows, cols, k = _crop(urng, np.shape(img), patch_size, augment)
            if j in mine:
                crop = np.asarray(img[rows, cols], np.float32)
                crops.append(np.ascontiguousarray(_transform(crop, k))[None])
        arrays[f] = np.stack(crops)
    return arrays


def batch_tensors(data: TrainData, step: int, settings: TrainSettings,
                  want: Collection[str], rank: int = 0, world: int = 1
                  ) -> dict[str, torch.Tensor]:
    """:func:`batch_arrays` as CPU tensors (what DataLoader workers return; ``params`` a
    dict of (B,) tensors)."""
    arrays = batch_arrays(data, step, seed=settings.seed, batch_size=settings.batch_size,
                          patch_size=settings.patch_size, augment=settings.augment, want=want,
                          rank=rank, world=world)
    out = {k: torch.from_numpy(v) for k, v in arrays.items() if k != "params"}
    if "params" in arrays:
        from simart.physics.dataset_ops import stack_params

        out["params"] = stack_params(arrays["params"])
    return out


def make_batch(data: TrainData, step: int, settings: TrainSettings,
               want: Collection[str] = ("y", "x")) -> Batch:
    """The training :class:`Batch` of ``step`` (CPU tensors), a pure function of
    ``(settings.seed, step)``; ``want``: the image fields besides ``y`` to include."""
    return Batch(**batch_tensors(data, step, settings, want))


def step_generator(seed: int, step: int, device: torch.device | str = "cpu",
                   rank: int = 0, world: int = 1) -> torch.Generator:
    """The torch Generator of ``step`` for ``model.training_step`` (seeded from
    ``(seed, step)``, on ``device``; with ``world`` > 1 processes from ``(seed, step,
    rank)``); the training loop uses no other random numbers."""
    key = (_GEN, int(step)) if world == 1 else (_GEN, int(step), int(rank))
    state = np.random.SeedSequence(int(seed), spawn_key=key).generate_state(1, np.uint64)[0]
    return torch.Generator(device=device).manual_seed(int(state))


def rank_seed(seed: int, step: int, rank: int) -> int:
    """The seed of torch's global generator at ``step`` in process ``rank`` of a
    data-parallel training (models drawing dropout masks from it then draw per-rank,
    reproducible numbers: a resumed run draws what an uninterrupted one drew)."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(_GLOBAL, int(step), int(rank)))
    return int(ss.generate_state(1, np.uint64)[0] % 2**63)


class StepBatches(Dataset):
    """``dataset[step]`` -> the batch of ``step`` as a dict of CPU tensors (Batch fields).

    For ``DataLoader(StepBatches(...), batch_size=None, sampler=range(start, steps),
    num_workers=n)``: workers assemble batches ahead; the result does not depend on the
    number of workers (each batch is a pure function of its step).
    """

    def __init__(self, data: TrainData, settings: TrainSettings, want: Collection[str],
                 rank: int = 0, world: int = 1):
        self.data, self.settings, self.want = data, settings, tuple(want)
        self.rank, self.world = rank, world

    def __len__(self) -> int:
        return self.settings.steps

    def __getitem__(self, step: int) -> dict[str, torch.Tensor]:
        return batch_tensors(self.data, int(step), self.settings, self.want, self.rank,
                             self.world)
