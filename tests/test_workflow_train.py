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


def _weights(path):
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def test_sigkilled_training_job_resumes_to_the_same_weights(trained, tmp_path):
    """SIGKILL the training process of a Snakemake job after its first checkpoint; the
    rerun resumes from work/last.pt and ends with the weights of an uninterrupted run."""
    import os
    import signal
    import subprocess
    import time

    import torch

    longer = tmp_path / "longer.yaml"
    longer.write_text("train:\n  defaults: {steps: 400, checkpoint_every: 40, val_every: 200}\n")
    target = "results/models/simart/SEM/n2n/best.pt"
    runs = {}
    for name in ("killed", "whole"):
        wd = tmp_path / name
        shutil.copytree(trained, wd, ignore=shutil.ignore_patterns("models", ".snakemake"))
        runs[name] = wd
    args = [target, "--configfile", str(CONFIG), str(longer)]
    # uninterrupted reference
    run(runs["whole"], *args, tiny=False)
    # killed run: snakemake in the background, SIGKILL the training once a checkpoint exists
    from test_workflow import SNAKEMAKE

    wd = runs["killed"]
    cmd = [SNAKEMAKE, *args, "-s", str(ROOT / "Snakefile"), "--directory", str(wd),
           "--cores", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(cmd, cwd=wd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    last = wd / "results/models/simart/SEM/n2n/work/last.pt"
    deadline = time.time() + 120
    while not last.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert last.exists(), "no checkpoint appeared"
    step_at_kill = torch.load(last, map_location="cpu", weights_only=True)["step"]
    # the job's script runs from this workdir's .snakemake/scripts/: kill that process only
    subprocess.run(["pkill", "-9", "-f", f"{wd}/.snakemake/scripts/.*train_model"], check=False)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (wd / target).exists()
    # rerun (Snakemake itself was killed too: remove its lock first): resumes
    run(wd, *args, "--unlock", tiny=False)
    run(wd, *args, "--rerun-incomplete", tiny=False)
    log = (wd / "results/logs/train/simart_SEM_n2n.log").read_text()
    assert "resum" in log.lower()
    assert step_at_kill < 400
    a, b = _weights(wd / target), _weights(runs["whole"] / target)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    steps = pd.read_csv(wd / "results/models/simart/SEM/n2n/log.csv")["step"]
    assert steps.is_unique and steps.max() == 400
