"""The four datasets as the evaluation and training stages see them (torch-free).

Every dataset stores shards at ``results/{dataset}/shards/{subset}/{split}/{shard}.h5`` with
``clean`` and ``degraded`` images (:mod:`simart.data.shards`). A *subset* is what one
benchmark cell reports on:

=============  ===========================  ======================  =====================
dataset        subsets                      learned models train on  cells (test split)
=============  ===========================  ======================  =====================
simart         modalities AFM TEM SEM STEM  each modality (its own   each modality
                                            model), see below
stem_lattice   CDN levels L1 ... L5         all levels together      each level
stm_cu111      domains clean blurry exp.    blurry (paired with its  blurry, experimental
                                            clean map)               (domain gap, the PDA-Net paper)
lm             modes widefield confocal     both modes together      each mode
=============  ===========================  ======================  =====================

*Training groups*: a learned model is trained once per group of training subsets. Datasets
listed in the config's ``train.per_subset`` (default: simart, whose four operators are
different inverse problems -- a CNN without the modality as input cannot tell a CTF-flipped
TEM image from a STEM one) get one group per subset, named after it; the others one group
``all`` with every training subset, whose model restores every scored subset.

Models conditioned on the subset (PCSD and its ablations: a learned modality embedding,
``joint`` in :mod:`simart.specs.models`) are trained once on every training subset together (group ``all``)
whatever ``train.per_subset`` says; the cross-modal study (``evaluate.cross_modal``) also
trains them on each subset alone (group = the subset).

Which datasets a model runs on: :func:`simart.specs.models.model_applies` (each model's
``datasets``, overridable by the config's ``evaluate.model_datasets``).

The ``clean`` domain of stm_cu111 is the unpaired clean set of the PDA-Net paper's domain
adaptation (its degraded image *is* the clean map), so it is neither trained on by the
supervised models nor scored.
"""

from __future__ import annotations

from dataclasses import dataclass

from simart.config import SPLITS, Config
from simart.data.sharding import n_shards_for
from simart.specs.models import is_joint

# Unpaired training pools (Batch.u / Batch.xu) per dataset: field -> the subset whose
# training shards fill it (stm_cu111: experimental-like maps, the unpaired clean domain).
# Where a dataset has no pool for xu, the data's own clean images of other draws are used.
MODEL_UNPAIRED: dict[str, dict[str, str]] = {
    "stm_cu111": {"u": "experimental", "xu": "clean"},
}


@dataclass(frozen=True)
class DatasetView:
    """One dataset's subsets, shard counts per split, and which subsets train / are scored."""

    name: str
    subsets: tuple[str, ...]
    train_subsets: tuple[str, ...]
    eval_subsets: tuple[str, ...]
    n_shards: dict[str, int]  # split -> shards per subset
    per_subset: bool = False  # one trained model per subset (else one for all, "all")

    @property
    def groups(self) -> dict[str, tuple[str, ...]]:
        """Training groups: name -> the training subsets of its model."""
        if self.per_subset:
            return {s: (s,) for s in self.train_subsets}
        return {"all": self.train_subsets}

    @property
    def all_groups(self) -> dict[str, tuple[str, ...]]:
        """Every group a model may be trained on: ``all`` and each training subset."""
        return {"all": self.train_subsets, **{s: (s,) for s in self.train_subsets}}

    def groups_for(self, model: str) -> dict[str, tuple[str, ...]]:
        """The training groups of ``model`` (joint models: ``all``)."""
        return {"all": self.train_subsets} if is_joint(model) else self.groups

    def group_of(self, subset: str, model: str | None = None) -> str:
        """The training group whose model restores ``subset``."""
        if not self.per_subset or (model is not None and is_joint(model)):
            return "all"
        if subset not in self.train_subsets:
            raise ValueError(f"{self.name}: no model is trained for subset {subset!r}")
        return subset

    def shard_ids(self, split: str) -> list[str]:
        return [f"{i:04d}" for i in range(self.n_shards[split])]

    def shard_path(self, subset: str, split: str, shard: str, root: str = "results") -> str:
        return f"{root}/{self.name}/shards/{subset}/{split}/{shard}.h5"

    def shards(self, subsets: tuple[str, ...] | list[str], split: str,
               root: str = "results") -> list[str]:
        return [self.shard_path(s, split, i, root) for s in subsets for i in self.shard_ids(split)]


def _view(name: str, subsets, train, evals, counts, shard_size, per_subset) -> DatasetView:
    return DatasetView(name, tuple(subsets), tuple(train), tuple(evals),
                       {s: n_shards_for(getattr(counts, s), shard_size) for s in SPLITS},
                       name in per_subset)


def dataset_views(cfg: Config) -> dict[str, DatasetView]:
    """The enabled datasets of a validated config, by name (simart always)."""
    ps = cfg.train.per_subset
    views = {"simart": _view("simart", cfg.simart.modalities, cfg.simart.modalities,
                             cfg.simart.modalities, cfg.simart.images_per_modality,
                             cfg.simart.shard_size, ps)}
    sl = cfg.stem_lattice
    if sl.enabled:
        levels = [f"L{lv}" for lv in sl.levels]
        views["stem_lattice"] = _view("stem_lattice", levels, levels, levels,
                                      sl.images_per_level, sl.shard_size, ps)
    st = cfg.stm_cu111
    if st.enabled and "blurry" in st.domains:
        evals = [d for d in st.domains if d != "clean"]
        views["stm_cu111"] = _view("stm_cu111", st.domains, ["blurry"], evals,
                                   st.images_per_domain, st.shard_size, ps)
    lm = cfg.lm
    if lm.enabled:
        views["lm"] = _view("lm", lm.modes, lm.modes, lm.modes, lm.images_per_mode,
                            lm.shard_size, ps)
    return views
