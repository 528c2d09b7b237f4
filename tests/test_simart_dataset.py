"""SIMART dataset builder: deterministic shards, splits by source, parameters recorded."""

import hashlib

import numpy as np
import pytest

from simart.config import validate_config
from simart.data.shards import Shard, parquet_path
from simart.simulate.simart_dataset import build_shard, image_params, shard_range
from simart.simulate.sources import build_catalog

RAW = {
    "seed": 7, "image_size": 32,
    "sources": {"n_sources": 12, "split_fractions": [0.5, 0.25, 0.25]},
    "simart": {"images_per_modality": {"train": 10, "val": 4, "test": 4}, "shard_size": 4},
}


@pytest.fixture(scope="module")
def cfg():
    return validate_config(RAW)


@pytest.fixture(scope="module")
def catalog(cfg):
    s = cfg.sources
    return build_catalog(s.n_sources, cfg.seed, procedural_kinds=s.procedural_kinds,
                         use_skimage=s.use_skimage, user_dir=s.user_dir,
                         split_fractions=tuple(s.split_fractions))


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_shard_ranges_cover_split_without_overlap(cfg):
    ranges = [shard_range(cfg, "train", i) for i in range(3)]
    assert ranges == [(0, 4), (4, 8), (8, 10)]
    with pytest.raises(ValueError, match="shard 3"):
        shard_range(cfg, "train", 3)


def test_parameters_depend_only_on_seed_and_index(cfg):
    a = image_params(cfg, "TEM", "train", 5)
    assert a == image_params(cfg, "TEM", "train", 5)
    assert a != image_params(cfg, "TEM", "train", 6)
    assert a != image_params(cfg, "SEM", "train", 5)
    assert -100 <= a["defocus_nm"] <= 100 and 0.1 <= a["cs_mm"] <= 2.0


@pytest.mark.parametrize("modality", ["AFM", "TEM", "SEM", "STEM"])
def test_shard_is_bit_identical_when_regenerated(cfg, catalog, modality, tmp_path):
    paths = [tmp_path / f"{k}.h5" for k in "ab"]
    for p in paths:
        build_shard(cfg, catalog, modality, "test", 0, p)
    assert _sha(paths[0]) == _sha(paths[1])
    assert _sha(parquet_path(paths[0])) == _sha(parquet_path(paths[1]))
    with Shard(paths[0]) as s:
        clean, deg, table = s.clean(), s.degraded(), s.params()
    assert clean.shape == (4, 32, 32) and np.isfinite(deg).all()
    assert clean.min() >= 0 and clean.max() <= 1
    assert not np.allclose(clean, deg)
    assert {"pixel_size_nm", "poisson_counts", "gaussian_sigma", "noise_seed",
            "source_id", "blur_px", "blur_rel", "snr_db"} <= set(table.columns)
    assert np.isfinite(table[["blur_px", "blur_rel", "snr_db"]].to_numpy()).all()
    test_sources = set(catalog.loc[catalog["split"] == "test", "source_id"])
    assert set(table["source_id"]) <= test_sources


def test_shard_is_independent_of_shard_size(cfg, catalog, tmp_path):
    other = validate_config({**RAW, "simart": {**RAW["simart"], "shard_size": 2}})
    build_shard(cfg, catalog, "SEM", "val", 0, tmp_path / "big.h5")
    build_shard(other, catalog, "SEM", "val", 1, tmp_path / "small.h5")
    with Shard(tmp_path / "big.h5") as big, Shard(tmp_path / "small.h5") as small:
        np.testing.assert_array_equal(big.degraded(slice(2, 4)), small.degraded())
