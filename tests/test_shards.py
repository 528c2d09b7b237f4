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


def test_tiled_layout_and_auto_compression_keep_the_values(tmp_path):
    """Tiles that divide the image (200 x 300: 100²) and no compression for noisy images;
    the old layout (one image per chunk, LZF) still reads, with the same values, crops
    included."""
    rng = np.random.default_rng(1)
    clean = rng.random((2, 200, 300), dtype=np.float32)
    deg = clean + rng.normal(0, 0.1, clean.shape).astype(np.float32)
    params = pd.DataFrame({"image_index": [0, 1]})
    new, old = tmp_path / "new.h5", tmp_path / "old.h5"
    write_shard(new, clean, deg, params, dtype="float16")
    write_shard(old, clean, deg, params, dtype="float16", compression="lzf", tile=None)
    with Shard(new) as a, Shard(old) as b:
        assert a.dataset("degraded").chunks == (1, 100, 100)
        assert a.dataset("degraded").compression is None and a.storage_ratio() == 1.0
        assert b.dataset("degraded").chunks == (1, 200, 300)
        np.testing.assert_array_equal(a.degraded(), b.degraded())
        np.testing.assert_array_equal(a.dataset("clean")[1, 50:150, 70:200],
                                      b.clean(1)[50:150, 70:200])
        assert a.fingerprint == b.fingerprint  # content, not layout
        with pytest.raises(ValueError, match="'params'"):
            a.dataset("params")


def test_auto_compression_keeps_lzf_where_it_pays(tmp_path):
    flat = np.zeros((2, 64, 64), np.float32)
    path = tmp_path / "flat.h5"
    write_shard(path, flat, flat, pd.DataFrame({"i": [0, 1]}))
    with Shard(path) as s:
        assert s.dataset("clean").compression == "lzf" and s.storage_ratio() < 0.75
    with pytest.raises(ValueError, match="compression 'zip'"):
        write_shard(tmp_path / "x.h5", flat, flat, pd.DataFrame({"i": [0, 1]}),
                    compression="zip")
