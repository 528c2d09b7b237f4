"""The ``simart`` command line (simart.cli): help, ``simulate`` against the library functions
the workflow's rules run, skipping complete shards, config errors, the console script."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from badinput import assert_names, complete_files

from simart.cli import build_parser, main, merge_config
from simart.config import validate_config
from simart.workflow.plan import Plan

RAW = {
    "seed": 7, "image_size": 32,
    "sources": {"n_sources": 12, "split_fractions": [0.5, 0.25, 0.25]},
    "simart": {"modalities": ["TEM"], "shard_size": 2,
               "images_per_modality": {"train": 4, "val": 2, "test": 4}},
    "lm": {"modes": ["widefield"], "shard_size": 2, "n_sources": 6,
           "images_per_mode": {"train": 2, "val": 2, "test": 3}},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``simart simulate`` of the test split of simart (config.yaml of the working
    directory, default --out) and lm (--configfile); returns the folder and the stderr."""
    d = tmp_path_factory.mktemp("cli")
    (d / "config.yaml").write_text(yaml.safe_dump(RAW))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(d)
        assert main(["simulate", "--split", "test"]) == 0
        assert main(["simulate", "--configfile", "config.yaml", "--dataset", "lm",
                     "--split", "test"]) == 0
    return d


def _reference(out: Path) -> None:
    """What the rules' scripts write for RAW's test split (workflow_scripts/
    source_catalog.py, simulate_shard.py, lm_catalog.py, lm_shard.py), under ``out``."""
    from simart.simulate.lm_dataset import build_lm_shard, lm_catalog
    from simart.simulate.simart_dataset import build_shard
    from simart.simulate.sources import build_catalog

    plan = Plan(validate_config(RAW), str(out))
    cfg = validate_config(plan.cfg_part("seed", "image_size", "sources"))
    s = cfg.sources
    catalog = build_catalog(s.n_sources, cfg.seed, procedural_kinds=s.procedural_kinds,
                            use_skimage=s.use_skimage, user_dir=s.user_dir,
                            split_fractions=tuple(s.split_fractions))
    (out / "simart").mkdir(parents=True)
    catalog.to_parquet(out / "simart" / "sources.parquet", index=False)
    cfg = validate_config(plan.cfg_part("seed", "image_size", "simart"))
    for i in range(2):
        build_shard(cfg, catalog, "TEM", "test", i, out / f"simart/shards/TEM/test/{i:04d}.h5")
    cfg = validate_config(plan.cfg_part("seed", "image_size", "lm"))
    lm_cat = lm_catalog(cfg)
    lm_cat.to_parquet(out / "lm_sources.parquet", index=False)
    for i in range(2):
        build_lm_shard(cfg, lm_cat, "widefield", "test", i,
                       out / f"lm/shards/widefield/test/{i:04d}.h5")


def _h5(path: Path) -> dict:
    with h5py.File(path, "r") as f:
        arrays = {k: f[k][()] for k in ("clean", "degraded")}
        arrays.update({f"params/{k}": f["params"][k][()] for k in f["params"]})
        return {"arrays": arrays, "attrs": dict(f.attrs)}


def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "simulate  build a dataset's shards" in out


def test_simulate_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices["simulate"]
    for action in sub._actions:
        assert action.help and action.option_strings[-1] in out
    for word in ("--configfile", "stem_lattice", "{split}", "--force", "config.yaml"):
        assert word in out


def test_simulate_writes_what_the_rules_write(built, tmp_path):
    _reference(tmp_path)
    ref, out = tmp_path, built / "results"
    assert sorted(p.relative_to(out).as_posix() for p in complete_files(out)) == sorted(
        ["simart/sources.parquet", "lm/sources.parquet"]
        + [f"{d}/test/{i:04d}.{ext}" for d in ("simart/shards/TEM", "lm/shards/widefield")
           for i in range(2) for ext in ("h5", "parquet")])
    pd.testing.assert_frame_equal(pd.read_parquet(out / "simart/sources.parquet"),
                                  pd.read_parquet(ref / "simart/sources.parquet"))
    pd.testing.assert_frame_equal(pd.read_parquet(out / "lm/sources.parquet"),
                                  pd.read_parquet(ref / "lm_sources.parquet"))
    for rel in [f"{d}/test/{i:04d}" for d in ("simart/shards/TEM", "lm/shards/widefield")
                for i in range(2)]:
        got, want = _h5(out / f"{rel}.h5"), _h5(ref / f"{rel}.h5")
        assert got["arrays"].keys() == want["arrays"].keys()
        for key, arr in want["arrays"].items():
            assert np.array_equal(got["arrays"][key], arr), f"{rel}.h5:{key}"
        assert got["attrs"]["fingerprint"] == want["attrs"]["fingerprint"]
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{rel}.parquet"),
                                      pd.read_parquet(ref / f"{rel}.parquet"))


def test_rerun_skips_complete_shards_and_rebuilds_damaged_ones(built, capsys):
    out = built / "results/simart/shards/TEM/test"
    stamps = {p: p.stat().st_mtime_ns for p in complete_files(out)}
    cfgfile = str(built / "config.yaml")
    args = ["simulate", "--configfile", cfgfile, "--split", "test", "--out",
            str(built / "results")]
    assert main(args) == 0
    assert "0 to build, 2 complete and skipped (--force rebuilds them)" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in complete_files(out)} == stamps
    good = _h5(out / "0001.h5")
    with h5py.File(out / "0001.h5", "a") as f:  # one changed pixel: fingerprint mismatch
        f["degraded"][0, 0, 0] += 1.0
    assert main(args) == 0
    err = capsys.readouterr().err
    assert_names(err, f"rebuilding {out / '0001.h5'}", "fingerprint", "1 to build")
    assert np.array_equal(_h5(out / "0001.h5")["arrays"]["degraded"],
                          good["arrays"]["degraded"])
    assert (out / "0000.h5").stat().st_mtime_ns == stamps[out / "0000.h5"]


def test_jobs_run_in_a_process_pool_with_the_same_result(tmp_path, capsys):
    from simart.simulate.stm_cu111 import build_stm_shard

    raw = {**RAW, "stm_cu111": {"domains": ["clean", "blurry"], "shard_size": 2,
                                "images_per_domain": {"train": 2, "val": 2, "test": 2}}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    assert main(["simulate", "--configfile", str(tmp_path / "c.yaml"), "--dataset",
                 "stm_cu111", "--split", "test", "--jobs", "2", "--out", str(out)]) == 0
    assert "built 2 shard job(s), 4 images" in capsys.readouterr().err
    cfg = validate_config(Plan(validate_config(raw)).cfg_part("seed", "image_size",
                                                             "stm_cu111"))
    for domain in ("clean", "blurry"):
        ref = tmp_path / f"ref_{domain}.h5"
        build_stm_shard(cfg, domain, "test", 0, ref)
        got = _h5(out / f"stm_cu111/shards/{domain}/test/0000.h5")
        for key, arr in _h5(ref)["arrays"].items():
            assert np.array_equal(got["arrays"][key], arr), f"{domain}:{key}"


@pytest.mark.bad_input
def test_bad_config_key_exits_2_naming_it(tmp_path, capsys):
    bad = tmp_path / "override.yaml"
    bad.write_text("simart:\n  shard_sise: 4\n")
    good = tmp_path / "config.yaml"
    good.write_text(yaml.safe_dump(RAW))
    status = main(["simulate", "--configfile", str(good), "--configfile", str(bad),
                   "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert_names(err, "simart.shard_sise", str(bad))
    assert "Traceback" not in err
    assert complete_files(tmp_path / "out") == []


def test_configfiles_merge_as_snakemake_merges_them():
    from snakemake.utils import update_config

    base = {"seed": 1, "simart": {"shard_size": 4, "params": {"TEM": {"cs_mm": 1.0}}},
            "lm": None}
    update = {"seed": 2, "simart": {"params": {"TEM": {"defocus_nm": 5.0}}, "noise": {}},
              "lm": {"enabled": False}, "sources": {"n_sources": 9}}
    want = copy.deepcopy(base)
    update_config(want, copy.deepcopy(update))
    assert merge_config(copy.deepcopy(base), update) == want


def test_console_script_runs():
    exe = shutil.which("simart", path=os.path.dirname(sys.executable))
    assert exe, f"no simart console script beside {sys.executable} (pip install -e .)"
    res = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60,
                         check=False)
    assert res.returncode == 0, res.stderr
    assert "simulate" in res.stdout
