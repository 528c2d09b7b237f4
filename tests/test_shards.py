"""Shard format: round trip, atomic writes, byte-identical rewrites."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from simart.data.shards import Shard, parquet_path, write_shard


def _data(n=3, size=8):
    rng = np.random.default_rng(0)
    clean = rng.random((n, size, size), dtype=np.float32)
    deg = clean + rng.normal(0, 0.1, clean.shape).astype(np.float32)
    params = pd.DataFrame({"image_index": np.arange(n), "modality": ["TEM"] * n,
                           "defocus_nm": rng.uniform(-100, 100, n)})
    return clean, deg, params


def test_round_trip_keeps_images_and_parameters(tmp_path):
    clean, deg, params = _data()
    path = tmp_path / "0000.h5"
    write_shard(path, clean, deg, params, {"modality": "TEM"})
    with Shard(path) as s:
        assert len(s) == 3 and s.attrs["modality"] == "TEM"
        np.testing.assert_array_equal(s.clean(), clean)
        np.testing.assert_array_equal(s.degraded(1), deg[1])
        pd.testing.assert_frame_equal(s.params(), params, check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_parquet(parquet_path(path)), params)


def test_rewrite_is_byte_identical(tmp_path):
    clean, deg, params = _data()
    digests = []
    for name in ("a", "b"):
        path = tmp_path / name / "0000.h5"
        write_shard(path, clean, deg, params)
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest()
                        for p in (path, parquet_path(path))])
    assert digests[0] == digests[1]


def test_failed_write_leaves_no_file(tmp_path):
    clean, deg, params = _data()
    path = tmp_path / "0000.h5"
    with pytest.raises(ValueError):
        write_shard(path, clean, deg, params.iloc[:2])
    with pytest.raises(ValueError):
        write_shard(path, clean, deg[:, :4], params)
    assert list(tmp_path.iterdir()) == []


def test_float16_storage_rounds_within_half_precision(tmp_path):
    clean, deg, params = _data()
    path = tmp_path / "0000.h5"
    write_shard(path, clean, deg, params, dtype="float16")
    with Shard(path) as s:
        np.testing.assert_allclose(s.clean(), clean, atol=5e-4)
