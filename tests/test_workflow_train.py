"""Learned models through Snakemake on a tiny config: trained, evaluated per cell, one cell
rerun without retraining anything else, an incompatible checkpoint refused."""

import json
import shutil

import pandas as pd
import pytest
from test_workflow import ROOT, run

CONFIG = ROOT / "tests/data/tiny_learned.yaml"


def run_cfg(wd, *args, check=True):
    return run(wd, *args, "--configfile", str(CONFIG), check=check, tiny=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    wd = tmp_path_factory.mktemp("wf_train")
    shutil.copy(ROOT / "config.yaml", wd / "config.yaml")
    run_cfg(wd)
    return wd


def test_learned_cells_tables_and_training_records(trained):
    r = trained / "results"
    for model in ("unet", "n2n"):
        cell = pd.read_parquet(r / f"metrics/simart/SEM/{model}.parquet")
        assert len(cell) == 3 and (cell["status"] == "ok").all() and cell["psnr"].notna().all()
        s = json.loads((r / f"models/simart/SEM/{model}/summary.json").read_text())
        assert s["steps"] == 12 and s["n_parameters"] > 0 and s["train_seconds"] > 0
        log = pd.read_csv(r / f"models/simart/SEM/{model}/log.csv")
        assert log["step"].is_monotonic_increasing and log["val_psnr"].notna().any()
    summary = pd.read_csv(r / "tables/simart_metrics.csv")
    assert set(summary["model"]) == {"noisy", "unet", "n2n"}


def test_rerun_one_cell_retrains_only_its_model(trained):
    out = run_cfg(trained, "-n", "results/metrics/simart/SEM/unet.parquet",
                  "--forcerun", "results/models/simart/SEM/unet/best.pt").stdout
    jobs = {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
            if len(line.split()) == 2 and line.split()[1].isdigit()}
    # the SEM model only (AFM's is not retrained); both test shards re-predicted and scored
    assert jobs.get("train_model") == 1 and jobs.get("predict_shard") == 2
    assert "simulate_shard" not in jobs and "group=AFM" not in out and "group=SEM" in out


def test_changed_hparams_are_refused_by_the_old_checkpoint(trained):
    extra = trained / "wider.yaml"
    extra.write_text("train:\n  models:\n    unet: {hparams: {width: 12}}\n")
    proc = run(trained, "results/models/simart/SEM/unet/best.pt", "--configfile", str(CONFIG),
               str(extra), check=False, tiny=False)
    assert proc.returncode != 0
    log = (trained / "results/logs/train/simart_SEM_unet.log").read_text()
    assert "hparams.width: 8 (checkpoint) vs 12 (now)" in log and "rm -r results/models/simart/SEM/unet" in log
