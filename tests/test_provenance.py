"""What results are made from: shard fingerprints, verified reads, weights and code versions,
and the refusals when a result was made from something else."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from badinput import assert_names

from simart.data.shards import Shard, write_shard
from simart.evaluation.cells import StaleResult, check_made_from
from simart.provenance import (
    ShardCorrupt,
    code_closure,
    code_version,
    file_sha256,
    shard_fingerprint,
    verify_shard,
)


def _data(n=3, size=8, seed=0):
    rng = np.random.default_rng(seed)
    clean = rng.random((n, size, size), dtype=np.float32)
    deg = clean + rng.normal(0, 0.1, clean.shape).astype(np.float32)
    params = pd.DataFrame({"image_index": np.arange(n), "modality": ["TEM"] * n,
                           "defocus_nm": rng.uniform(-100, 100, n)})
    return clean, deg, params


def _shard(path, seed=0, **kw):
    write_shard(path, *_data(seed=seed), {"modality": "TEM"}, **kw)
    return path


def test_fingerprint_is_written_and_verified(tmp_path):
    path = _shard(tmp_path / "0000.h5")
    fp = shard_fingerprint(path)
    assert len(fp) == 64 and verify_shard(path) == fp
    with Shard(path, verify=True) as s:
        assert s.fingerprint == fp


def test_fingerprint_follows_content_not_name_or_storage(tmp_path):
    a = shard_fingerprint(_shard(tmp_path / "a.h5"))
    assert shard_fingerprint(_shard(tmp_path / "b.h5", compression=None)) == a
    assert shard_fingerprint(_shard(tmp_path / "c.h5", seed=1)) != a
    clean, deg, params = _data()
    params.loc[1, "defocus_nm"] += 1e-9  # one parameter, one ulp-ish change
    write_shard(tmp_path / "d.h5", clean, deg, params)
    assert shard_fingerprint(tmp_path / "d.h5") != a


@pytest.mark.bad_input
@pytest.mark.parametrize("damage", ["truncated", "zeroed_tail", "not_hdf5", "empty_file"])
def test_damaged_shard_is_refused_naming_file_and_command(tmp_path, damage):
    path = _shard(tmp_path / "0000.h5", compression=None)
    raw = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "zeroed_tail":  # same size, image bytes overwritten
        path.write_bytes(raw[:-600] + bytes(600))
    elif damage == "not_hdf5":
        path.write_text("this is not a shard\n")
    else:
        path.write_bytes(b"")
    with pytest.raises(ShardCorrupt) as exc, Shard(path, verify=True):
        pass
    assert_names(str(exc.value), str(path), "snakemake --cores all --forcerun")


@pytest.mark.bad_input
def test_altered_images_are_refused(tmp_path):
    import h5py

    path = _shard(tmp_path / "0000.h5")
    with h5py.File(path, "r+") as f:
        f["degraded"][0, 0, 0] += 1.0
    with pytest.raises(ShardCorrupt, match="does not match its fingerprint") as exc:
        verify_shard(path)
    assert_names(str(exc.value), str(path))


@pytest.mark.bad_input
def test_shard_without_fingerprint_is_refused(tmp_path):
    import h5py

    path = _shard(tmp_path / "0000.h5")
    with h5py.File(path, "r+") as f:
        del f.attrs["fingerprint"]
    for check in (shard_fingerprint, verify_shard):
        with pytest.raises(ShardCorrupt, match="no content fingerprint") as exc:
            check(path)
        assert_names(str(exc.value), str(path), "--forcerun")


def _cell_rows(shard_fp, weights_sha=""):
    return pd.DataFrame({"image_index": [0, 1], "shard_fingerprint": [shard_fp] * 2,
                         "weights_sha256": [weights_sha] * 2})


def test_cell_rows_made_from_current_shards_and_weights_pass(tmp_path):
    shard = _shard(tmp_path / "s.h5")
    weights = tmp_path / "best.pt"
    weights.write_bytes(b"weights")
    check_made_from(_cell_rows(shard_fingerprint(shard), file_sha256(weights)), [], [shard],
                    weights, "cell.parquet")
    check_made_from(_cell_rows(shard_fingerprint(shard)), [], [shard], None, "cell.parquet")


@pytest.mark.bad_input
@pytest.mark.parametrize("stale", ["other_shard", "other_weights", "no_provenance",
                                   "learned_rows_for_classical"])
def test_cell_rows_made_from_something_else_are_refused(tmp_path, stale):
    shard = _shard(tmp_path / "s.h5")
    weights = tmp_path / "best.pt"
    weights.write_bytes(b"weights")
    fp, sha = shard_fingerprint(shard), file_sha256(weights)
    rows, w = _cell_rows(fp, sha), weights
    if stale == "other_shard":
        rows = _cell_rows(shard_fingerprint(_shard(tmp_path / "t.h5", seed=3)), sha)
    elif stale == "other_weights":
        rows = _cell_rows(fp, "0" * 64)
    elif stale == "no_provenance":
        rows = rows.drop(columns=["shard_fingerprint"])
    else:
        w = None
    with pytest.raises(StaleResult) as exc:
        check_made_from(rows, ["t.parquet"], [shard], w, "results/metrics/x/TEM/m.parquet")
    assert_names(str(exc.value), "results/metrics/x/TEM/m.parquet", "--forcerun")


def test_code_version_follows_code_not_docstrings(tmp_path, monkeypatch, request):
    """The code version of a script is that of the modules it can import; docstrings and
    comments do not count."""
    import simart.provenance as prov

    pkg = tmp_path / "simart"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "a.py").write_text('"""Doc."""\n\ndef f():\n    from simart import b\n'
                                      '    return b.g()\n')
    (pkg / "b.py").write_text("def g():\n    return 1\n")
    (pkg / "c.py").write_text("def h():\n    return 2\n")
    script = tmp_path / "script.py"
    script.write_text("from simart.sub.a import f\n")
    def clear():
        for cached in (prov._module_files, prov._parsed, prov.code_version):
            cached.cache_clear()

    monkeypatch.setattr(prov, "_PACKAGE", pkg)
    request.addfinalizer(clear)  # after the monkeypatch is undone: the real package again

    def version():
        clear()
        return prov.code_version(script)

    v0 = version()
    assert code_closure(script) == ["simart", "simart.b", "simart.sub", "simart.sub.a"]
    (pkg / "sub" / "a.py").write_text('"""Other words."""\n# a comment\ndef f():\n'
                                      '    from simart import b\n    return b.g()\n')
    (pkg / "c.py").write_text("def h():\n    return 3\n")  # not imported by the script
    assert version() == v0
    (pkg / "b.py").write_text("def g():\n    return 2\n")  # imported inside a function
    assert version() != v0


def test_code_version_follows_the_computing_libraries(monkeypatch, request):
    """An upgraded torch (or numpy, …) changes every code version: results made with the
    old one are rebuilt, not kept."""
    from importlib import metadata

    import simart.provenance as prov

    def clear():
        for cached in (prov.library_versions, prov.code_version, prov.code_version_of):
            cached.cache_clear()

    request.addfinalizer(clear)
    script = Path(__file__).resolve().parents[1] / "workflow_scripts" / "train_model.py"
    clear()
    v0 = prov.code_version(script)
    assert f"torch=={metadata.version('torch')}" in prov.library_versions().splitlines()
    real = metadata.version
    monkeypatch.setattr(metadata, "version",
                        lambda name: "0.0.1" if name == "torch" else real(name))
    clear()
    assert "torch==0.0.1" in prov.library_versions().splitlines()
    assert prov.code_version(script) != v0
    monkeypatch.undo()
    clear()
    assert prov.code_version(script) == v0


def test_workflow_scripts_have_a_code_version():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    scripts = sorted((root / "workflow_scripts").glob("*.py"))
    assert scripts
    versions = {s.name: code_version(s) for s in scripts}
    assert all(len(v) == 16 for v in versions.values())
    assert "simart.train.pipeline" in code_closure(root / "workflow_scripts/train_model.py")
    assert "simart.metrics" in code_closure(root / "workflow_scripts/score_shard.py")


def test_copy_keeps_fingerprint(tmp_path):
    path = _shard(tmp_path / "a.h5")
    shutil.copy(path, tmp_path / "b.h5")
    assert verify_shard(tmp_path / "b.h5") == shard_fingerprint(path)


@pytest.mark.bad_input
@pytest.mark.parametrize("damage", ["truncated", "not_parquet", "empty_file"])
def test_damaged_results_table_is_refused_naming_file(tmp_path, damage):
    from simart.provenance import TableCorrupt, read_table

    path = tmp_path / "results/metrics/simart/TEM/unet.parquet"
    path.parent.mkdir(parents=True)
    pd.DataFrame({"psnr": [1.0, 2.0], "model": ["a", "b"]}).to_parquet(path)
    raw = path.read_bytes()
    path.write_bytes({"truncated": raw[: len(raw) // 2], "not_parquet": b"psnr\n1\n",
                      "empty_file": b""}[damage])
    with pytest.raises(TableCorrupt) as exc:
        read_table(path)
    assert_names(str(exc.value), str(path), "--forcerun")


@pytest.mark.bad_input
@pytest.mark.parametrize("damage", ["truncated", "empty_file", "not_a_checkpoint", "torch_tensor"])
def test_damaged_best_pt_is_refused_naming_file_and_command(tmp_path, damage):
    import torch

    from simart.train.checkpoint import CheckpointCorrupt, load_checkpoint, save_checkpoint

    path = tmp_path / "results/models/simart/TEM/unet/best.pt"
    path.parent.mkdir(parents=True)
    save_checkpoint(path, {"kind": "best", "model": {"w": torch.ones(64, 64)}})
    raw = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(raw[: len(raw) // 3])
    elif damage == "empty_file":
        path.write_bytes(b"")
    elif damage == "not_a_checkpoint":
        path.write_text("weights\n")
    else:
        torch.save(torch.ones(3), path)
    with pytest.raises(CheckpointCorrupt) as exc:
        load_checkpoint(path)
    assert_names(str(exc.value), str(path), f"snakemake --cores all --forcerun {path}")
