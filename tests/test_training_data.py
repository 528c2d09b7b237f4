"""Training data from shards: the dataset views, exact replay of the simulators' noise, and
Noise2Noise pairs (same clean image and operator, independent noise)."""

import numpy as np
import pytest
import torch

from simart.config import ConfigError, validate_config
from simart.data.datasets import dataset_views
from simart.data.shards import Shard, write_shard
from simart.provenance import shard_fingerprint
from simart.specs.models import model_applies
from simart.train.shard_data import ShardTrainData, realisation, second_realisation

CFG = validate_config({
    "seed": 4, "image_size": 32,
    "sources": {"n_sources": 8, "split_fractions": [0.5, 0.25, 0.25]},
    "simart": {"images_per_modality": {"train": 3, "val": 2, "test": 2}, "shard_size": 3},
    "stem_lattice": {"images_per_level": {"train": 2, "val": 2, "test": 2}, "shard_size": 2,
                     "levels": [1, 4]},
    "stm_cu111": {"images_per_domain": {"train": 2, "val": 2, "test": 2}, "shard_size": 2},
    "lm": {"images_per_mode": {"train": 2, "val": 2, "test": 2}, "shard_size": 2,
           "n_sources": 8},
})


def _build(dataset, subset, tmp_path):
    path = tmp_path / dataset / "shards" / subset / "train" / "0000.h5"
    path.parent.mkdir(parents=True)
    if dataset == "simart":
        from simart.simulate.simart_dataset import build_shard
        from simart.simulate.sources import build_catalog

        s = CFG.sources
        cat = build_catalog(s.n_sources, CFG.seed, split_fractions=tuple(s.split_fractions))
        build_shard(CFG, cat, subset, "train", 0, path)
    elif dataset == "stem_lattice":
        from simart.simulate.stem_lattice import build_stem_lattice_shard

        build_stem_lattice_shard(CFG, int(subset[1:]), "train", 0, path)
    elif dataset == "stm_cu111":
        from simart.simulate.stm_cu111 import build_stm_shard

        build_stm_shard(CFG, subset, "train", 0, path)
    else:
        from simart.simulate.lm_dataset import build_lm_shard, lm_catalog

        build_lm_shard(CFG, lm_catalog(CFG), subset, "train", 0, path)
    return path


CASES = [("simart", "AFM"), ("simart", "TEM"), ("simart", "STEM"), ("stem_lattice", "L4"),
         ("stm_cu111", "blurry"), ("lm", "confocal")]


@pytest.mark.parametrize(("dataset", "subset"), CASES)
def test_replay_with_the_recorded_noise_seed_gives_the_stored_image(dataset, subset, tmp_path):
    path = _build(dataset, subset, tmp_path)
    with Shard(path) as s:
        clean, degraded, table = s.clean(), s.degraded(), s.params()
    row = table.iloc[0].to_dict()
    gen = torch.Generator().manual_seed(int(row["noise_seed"]))
    y = realisation(dataset, clean[0], row, gen, CFG)
    np.testing.assert_allclose(y, degraded[0], atol=2e-5)
    y2 = second_realisation(dataset, clean[0], row, CFG)
    assert not np.allclose(y2, degraded[0], atol=1e-3)  # new noise
    # same operator and noise law: the two residuals have the same spread (±35 %)
    r1, r2 = degraded[0] - y, y2 - y
    assert np.std(r2) > 0
    n1, n2 = np.std(y2 - clean[0]), np.std(degraded[0] - clean[0])
    assert 0.65 < n1 / n2 < 1.35
    del r1


def test_n2n_pairs_are_fixed_and_independent(tmp_path):
    path = _build("stem_lattice", "L4", tmp_path)
    data = ShardTrainData("stem_lattice", [path], ["L1", "L4"], cfg=CFG, want=("y", "y2"))
    a, b = data.item(1, ("y", "x", "y2")), data.item(1, ("y", "y2"))
    np.testing.assert_array_equal(a["y2"], b["y2"])  # the same pair every time
    assert a["subset"] == 1
    # independent noise: the deviations of y and y2 from E[y | x] are uncorrelated. CDN noise
    # is not zero-mean (static pixels, clipping), so E[y | x] is estimated from 40 draws.
    with Shard(path) as s:
        x, row = s.clean(1), s.params().iloc[1].to_dict()
    draws = [realisation("stem_lattice", x, row, torch.Generator().manual_seed(100 + k))
             for k in range(40)]
    mean = np.mean(draws, axis=0)
    r = np.corrcoef((a["y"] - mean).ravel(), (a["y2"] - mean).ravel())[0, 1]
    assert abs(r) < 0.1


def test_shard_data_lazy_equals_preloaded(tmp_path):
    path = _build("lm", "confocal", tmp_path)
    eager = ShardTrainData("lm", [path], ["widefield", "confocal"], preload=True)
    lazy = ShardTrainData("lm", [path], ["widefield", "confocal"], preload=False)
    assert len(eager) == len(lazy) == 2 and not lazy.preloaded
    for i in range(2):
        e, z = eager.item(i), lazy.item(i)
        np.testing.assert_array_equal(e["y"], z["y"])
        np.testing.assert_array_equal(e["x"], z["x"])
    assert eager.signature()["shards"] == [
        {"path": "lm/shards/confocal/train/0000.h5", "fingerprint": shard_fingerprint(path)}]


def test_signature_changes_with_shard_content(tmp_path):
    """The data identity of a training is the shards' content, not their names or counts."""
    path = _build("lm", "confocal", tmp_path)
    before = ShardTrainData("lm", [path], ["widefield", "confocal"]).signature()
    with Shard(path) as s:
        clean, degraded, params, attrs = s.clean(), s.degraded(), s.params(), dict(s.attrs)
    attrs.pop("fingerprint")
    degraded[0, 0, 0] += 0.25
    write_shard(path, clean, degraded, params, attrs)
    after = ShardTrainData("lm", [path], ["widefield", "confocal"]).signature()
    assert before["shards"][0]["path"] == after["shards"][0]["path"]
    assert before["shards"][0]["fingerprint"] != after["shards"][0]["fingerprint"]


def test_shard_of_unknown_subset_is_refused(tmp_path):
    path = _build("lm", "confocal", tmp_path)
    with pytest.raises(ValueError, match="subset 'confocal' not in"):
        ShardTrainData("lm", [path], ["widefield"])


def test_dataset_views_and_applicability():
    views = dataset_views(CFG)
    assert views["stm_cu111"].train_subsets == ("blurry",)
    assert views["stm_cu111"].eval_subsets == ("blurry", "experimental")
    assert views["stem_lattice"].subsets == ("L1", "L4")
    assert views["simart"].n_shards == {"train": 1, "val": 1, "test": 1}
    assert views["lm"].shard_path("confocal", "test", "0000") == \
        "results/lm/shards/confocal/test/0000.h5"
    assert model_applies("wiener", "simart") and not model_applies("wiener", "lm")
    assert model_applies("noisy", "lm") and model_applies("unet", "stm_cu111")


def test_evaluate_datasets_must_include_simart():
    with pytest.raises(ConfigError, match="evaluate.datasets"):
        validate_config({"evaluate": {"datasets": ["lm"]}})


def test_lazy_crops_read_the_same_values_as_whole_images(tmp_path):
    path = _build("lm", "confocal", tmp_path)
    from simart.train.batches import batch_arrays

    eager = ShardTrainData("lm", [path], ["widefield", "confocal"], preload=True)
    lazy = ShardTrainData("lm", [path], ["widefield", "confocal"], preload=False)
    kw = {"seed": 3, "batch_size": 3, "patch_size": 16, "augment": "dihedral",
          "want": ("y", "x")}
    for step in range(3):
        a, b = batch_arrays(eager, step, **kw), batch_arrays(lazy, step, **kw)
        for f in ("y", "x", "subset"):
            np.testing.assert_array_equal(a[f], b[f])
    np.testing.assert_array_equal(np.asarray(lazy.item(1)["x"]), eager.item(1)["x"])


def test_n2n_pairs_drawn_once_equal_the_per_sample_simulation(tmp_path):
    path = _build("stem_lattice", "L4", tmp_path)
    per_sample = ShardTrainData("stem_lattice", [path], ["L1", "L4"], cfg=CFG,
                                want=("y", "y2"), preload=False)
    pairs = tmp_path / "pairs"
    once = ShardTrainData("stem_lattice", [path], ["L1", "L4"], cfg=CFG, want=("y", "y2"),
                          preload=False, pair_dir=pairs)
    eager = ShardTrainData("stem_lattice", [path], ["L1", "L4"], cfg=CFG, want=("y", "y2"))
    for i in range(len(once)):
        want = per_sample.item(i, ("y", "y2"))["y2"]
        np.testing.assert_array_equal(np.asarray(once.item(i, ("y", "y2"))["y2"]), want)
        np.testing.assert_array_equal(eager.item(i, ("y", "y2"))["y2"], want)
    stamp = (pairs / "0000.h5").stat().st_mtime_ns
    ShardTrainData("stem_lattice", [path], ["L1", "L4"], cfg=CFG, want=("y", "y2"),
                   preload=False, pair_dir=pairs)
    assert (pairs / "0000.h5").stat().st_mtime_ns == stamp  # reused, not redrawn
