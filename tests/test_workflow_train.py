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


def test_changed_hparams_start_the_training_over(trained, tmp_path):
    """A resume point of other hyper-parameters is never reused: the log says why, the
    training starts over and publishes weights of the new model."""
    wd = tmp_path / "wd"
    shutil.copytree(trained, wd)
    extra = wd / "wider.yaml"
    extra.write_text("train:\n  models:\n    unet: {hparams: {width: 12}}\n")
    run(wd, "results/models/simart/SEM/unet/best.pt", "--configfile", str(CONFIG),
        str(extra), tiny=False)
    log = (wd / "results/logs/train/simart_SEM_unet.log").read_text()
    assert "not resuming" in log and "hparams.width: 8 (checkpoint) vs 12 (now)" in log
    assert "Starting this training over" in log
    ident = _checkpoint(wd / "results/models/simart/SEM/unet/best.pt")["identity"]
    assert ident["hparams"]["width"] == 12


def _checkpoint(path):
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


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
    # rerun (Snakemake itself was killed too: remove its lock first): resumes, without
    # --rerun-incomplete (profiles/default sets it)
    run(wd, *args, "--unlock", tiny=False)
    run(wd, *args, tiny=False)
    log = (wd / "results/logs/train/simart_SEM_n2n.log").read_text()
    assert "resum" in log.lower()
    assert step_at_kill < 400
    a, b = _weights(wd / target), _weights(runs["whole"] / target)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    steps = pd.read_csv(wd / "results/models/simart/SEM/n2n/log.csv")["step"]
    assert steps.is_unique and steps.max() == 400
    # no temporary file of the killed job's atomic writes is left behind
    left = [p for p in (wd / "results/models/simart/SEM/n2n").rglob("*") if ".tmp" in p.name]
    assert not left, left


def _sha(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.bad_input
def test_changed_data_under_a_finished_model_retrains_it(trained, tmp_path):
    """New noise regenerates every shard: the finished training is not reused (its data
    identity is the shards' content) and the cell is rebuilt from the new weights."""
    wd = tmp_path / "wd"
    shutil.copytree(trained, wd)
    best = wd / "results/models/simart/SEM/unet/best.pt"
    before = _sha(best)
    noise = wd / "noise.yaml"
    noise.write_text("simart:\n  noise:\n    gaussian_sigma: [0.15, 0.2]\n")
    run(wd, "results/metrics/simart/SEM/unet.parquet", "--configfile", str(CONFIG), str(noise),
        tiny=False)
    log = (wd / "results/logs/train/simart_SEM_unet.log").read_text()
    assert "not resuming" in log and "data.shards" in log and "already complete" not in log
    assert _sha(best) != before
    cell = pd.read_parquet(wd / "results/metrics/simart/SEM/unet.parquet")
    assert set(cell["weights_sha256"]) == {_sha(best)}


@pytest.mark.bad_input
def test_deleted_model_is_named_with_the_command_that_rebuilds_it(trained, tmp_path):
    wd = tmp_path / "wd"
    shutil.copytree(trained, wd)
    model = "results/models/simart/SEM/unet"
    shutil.rmtree(wd / model)
    proc = run_cfg(wd, "-n", "results/metrics/simart/SEM/unet.parquet")
    assert f"{model}/best.pt  (but results/predictions/simart/unet/" in proc.stderr
    assert f"snakemake --cores all {model}/best.pt" in proc.stderr
    # the README recipe: the model and the cell
    run_cfg(wd, f"{model}/best.pt", "results/metrics/simart/SEM/unet.parquet")
    assert _sha(wd / model / "best.pt") == _sha(trained / model / "best.pt")
    assert "file(s) that results were built from are missing" not in run_cfg(wd, "-n").stderr


@pytest.mark.bad_input
def test_unknown_rule_in_set_resources_stops_before_any_job(trained):
    proc = run_cfg(trained, "-n", "--set-resources", "predict_shards:mem_mb=100", check=False)
    assert proc.returncode != 0
    assert "predict_shards" in proc.stderr and "did you mean ['predict_shard']" in proc.stderr
