"""Prediction jobs that survive time limits: a job stopped by a signal (after the batch under
way) or killed after a periodic save continues from its resume file, and ends with the
predictions, extra outputs and run table (but the measured seconds of the batches it ran
again) of an uninterrupted run, bit for bit; a resume file made from other weights or
settings is refused with a log line and the job starts over; the file is gone after success.

The sampling model is the conditional DDPM at its tiny default hyper-parameters with the
respaced stochastic DDPM (3 DDIM steps, eta 1: fresh noise at every step from the job's
generator, so a wrong generator state after resuming changes the samples), on two 5-image
16² subsets in batches of 2.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from simart.data.shards import write_shard
from simart.evaluation import learned
from simart.evaluation.cells import predict_shards
from simart.evaluation.resume import PredictionPreempted, Progress, resume_path
from simart.models import build_model
from simart.train.checkpoint import save_checkpoint
from simart.train.distributed import EXIT_PREEMPTED

SUBSETS = ("widefield", "confocal")
KWARGS = {"device": "cpu", "batch_size": 2,
          "sampling": {"sampler": "ddim", "eta_ddim": 1.0, "steps": 3, "n_samples": 2}}
WORKER = Path(__file__).with_name("predict_worker.py")


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def make_inputs(root: Path, weights_seed: int = 0, n_images: int = 5
                ) -> tuple[dict[str, Path], dict[str, Path]]:
    """Two ``n_images``-image test shards (one per subset) and a cond_ddpm checkpoint for
    them (also tests/test_progress.py)."""
    rng = np.random.default_rng(0)
    shards = {}
    for i, subset in enumerate(SUBSETS):
        clean = rng.random((n_images, 16, 16), dtype=np.float32)
        shards[subset] = root / f"{subset}.h5"
        write_shard(shards[subset], clean, clean + 0.1 * rng.random(clean.shape, np.float32),
                    pd.DataFrame({"image_index": np.arange(n_images) + 10 * i}),
                    {"modality": subset})
    torch.manual_seed(weights_seed)
    net = build_model("cond_ddpm")
    weights = root / "best.pt"
    save_checkpoint(weights, {"kind": "best", "identity": {
        "model": "cond_ddpm", "hparams": net.hparams, "dataset": "lm",
        "subsets": list(SUBSETS)}, "model": net.state_dict()})
    return shards, {s: weights for s in SUBSETS}


def predict(root: Path, inputs, kwargs=KWARGS, **resume) -> pd.DataFrame:
    shards, weights = inputs
    return predict_shards(shards, "cond_ddpm", root / "0000.h5", root / "0000.parquet",
                          dataset="lm", weights=weights, model_kwargs=kwargs, seed=3,
                          **resume)


def read_preds(path: Path) -> dict[str, np.ndarray]:
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
    return out


def assert_same_outputs(root: Path, ref: Path) -> None:
    got, want = read_preds(root / "0000.h5"), read_preds(ref / "0000.h5")
    assert list(got) == list(want) and len(got) > 2  # prediction + std, entropy ...
    for name in want:
        assert np.array_equal(got[name], want[name]), name
    a, b = pd.read_parquet(root / "0000.parquet"), pd.read_parquet(ref / "0000.parquet")
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"))


class Batches:
    """Counts the predictor's batches; ``on``: called with the batch number (1, 2, ...)
    while that batch runs."""

    def __init__(self, monkeypatch, on=None):
        self.n, self.on = 0, on
        real = learned._Predictor.predict

        def predict(run, b0, n, gen):
            self.n += 1
            if self.on is not None:
                self.on(self.n)
            return real(run, b0, n, gen)

        monkeypatch.setattr(learned._Predictor, "predict", predict)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run (6 batches: 2 + 2 + 1 images per subset)."""
    root = tmp_path_factory.mktemp("ref")
    inputs = make_inputs(root)
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # as every run here (the worker's too)
    try:
        predict(root, inputs)
    finally:
        torch.set_num_threads(n)
    assert not resume_path(root / "0000.h5").exists()
    return root


def test_sigterm_saves_after_the_batch_and_the_rerun_equals_an_uninterrupted_run(
        tmp_path, monkeypatch, reference, caplog):
    inputs = make_inputs(tmp_path)
    before = signal.getsignal(signal.SIGTERM)
    batches = Batches(monkeypatch, on=lambda k: k == 4 and os.kill(os.getpid(), signal.SIGTERM))
    with pytest.raises(PredictionPreempted, match="SIGTERM after 7 image"):  # 5 + 2
        predict(tmp_path, inputs)
    assert signal.getsignal(signal.SIGTERM) is before and batches.n == 4
    assert not (tmp_path / "0000.h5").exists() and not (tmp_path / "0000.parquet").exists()
    with h5py.File(resume_path(tmp_path / "0000.h5"), "r") as f:
        saved = {s: Progress.read(f[f"subsets/{s}"]) for s in SUBSETS}
    assert [saved[s].done for s in SUBSETS] == [5, 2]
    assert saved["confocal"].gen_state is not None and saved["confocal"].batch_size == 2

    batches.on = None
    caplog.set_level(logging.INFO, logger="simart")
    table = predict(tmp_path, inputs)
    assert batches.n == 4 + 2  # only the two batches left ran
    assert "resuming from" in caplog.text
    assert_same_outputs(tmp_path, reference)
    done = np.concatenate([saved["widefield"].seconds, saved["confocal"].seconds])
    assert np.array_equal(table["seconds"].to_numpy()[:7], done)  # the saved seconds kept
    assert not resume_path(tmp_path / "0000.h5").exists()


def test_a_kill_after_a_periodic_save_loses_only_the_batches_since(tmp_path, monkeypatch,
                                                                      reference):
    inputs = make_inputs(tmp_path)

    def crash(k):
        if k == 3:
            raise RuntimeError("killed")  # a hard kill in batch 3: nothing saved in it

    batches = Batches(monkeypatch, on=crash)
    with pytest.raises(RuntimeError, match="killed"):
        predict(tmp_path, inputs, resume_every_batches=1)
    batches.on = None
    predict(tmp_path, inputs, resume_every_batches=1)
    assert batches.n == 3 + 4  # batch 3 again, then the rest
    assert_same_outputs(tmp_path, reference)
    assert not resume_path(tmp_path / "0000.h5").exists()


@pytest.mark.parametrize("change", ["weights", "sampling"])
def test_a_resume_file_from_other_weights_or_settings_is_refused(tmp_path, monkeypatch,
                                                                 caplog, change):
    inputs = make_inputs(tmp_path)
    batches = Batches(monkeypatch, on=lambda k: k == 2 and os.kill(os.getpid(), signal.SIGUSR1))
    with pytest.raises(PredictionPreempted, match="SIGUSR1"):
        predict(tmp_path, inputs)
    assert resume_path(tmp_path / "0000.h5").exists()
    kwargs = KWARGS
    if change == "weights":
        inputs = make_inputs(tmp_path, weights_seed=1)  # same path, other bytes
    else:
        kwargs = {**KWARGS, "sampling": {**KWARGS["sampling"], "steps": 2}}
    batches.on, batches.n = None, 0
    caplog.set_level(logging.INFO, logger="simart")
    predict(tmp_path, inputs, kwargs)
    assert batches.n == 6  # started over
    why = "weights" if change == "weights" else "model_kwargs"
    assert f"not used: it was made from other inputs or settings ({why} differ)" in caplog.text
    assert "resuming" not in caplog.text
    assert not resume_path(tmp_path / "0000.h5").exists()


def test_a_corrupt_resume_file_is_refused(tmp_path, reference, caplog):
    inputs = make_inputs(tmp_path)
    resume_path(tmp_path / "0000.h5").write_bytes(b"not HDF5")
    caplog.set_level(logging.INFO, logger="simart")
    predict(tmp_path, inputs)
    assert "not used: it cannot be read" in caplog.text
    assert_same_outputs(tmp_path, reference)


def test_classical_rows_resume_image_by_image(tmp_path, monkeypatch):
    """The noisy-input row of a physics dataset (no network): image by image, the same
    loop; stopped after image 3, the rerun restores images 4 and 5 only."""
    from simart.evaluation.resume import ResumePoint

    shards, _ = make_inputs(tmp_path)
    real, calls, stop_at = ResumePoint.after_batch, [], [3]

    def after_batch(self):
        calls.append(1)
        if len(calls) in stop_at:
            stop_at.clear()
            os.kill(os.getpid(), signal.SIGTERM)
        real(self)

    monkeypatch.setattr(ResumePoint, "after_batch", after_batch)
    run = {"dataset": "lm", "model_kwargs": None}
    with pytest.raises(PredictionPreempted, match="after 3 image"):
        predict_shards(shards, "noisy", tmp_path / "0000.h5", tmp_path / "0000.parquet", **run)
    calls.clear()
    table = predict_shards(shards, "noisy", tmp_path / "0000.h5", tmp_path / "0000.parquet",
                           **run)
    assert len(calls) == 2 + 5
    ref = tmp_path / "ref"
    ref.mkdir()
    want = predict_shards(shards, "noisy", ref / "0000.h5", ref / "0000.parquet", **run)
    pd.testing.assert_frame_equal(table.drop(columns="seconds"), want.drop(columns="seconds"))
    got, exp = read_preds(tmp_path / "0000.h5"), read_preds(ref / "0000.h5")
    assert all(np.array_equal(got[k], exp[k]) for k in exp) and list(got) == list(exp)
    assert not resume_path(tmp_path / "0000.h5").exists()


def test_the_rule_script_exits_75_on_sigusr1_and_its_retry_finishes(tmp_path, reference):
    """workflow_scripts/predict_shard.py in its own process: SIGUSR1 from outside (as
    Slurm's --signal) while batch 2 runs; exit status EXIT_PREEMPTED; the retry completes."""
    make_inputs(tmp_path)
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, str(WORKER), str(tmp_path), str(ready), "2"],
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), proc.stderr.read() if proc.poll() is not None else "timeout"
        os.kill(proc.pid, signal.SIGUSR1)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == EXIT_PREEMPTED, err
    assert "stopped on SIGUSR1 after 4 image(s)" in err and "exit status 75" in err
    assert resume_path(tmp_path / "0000.h5").exists()
    retry = subprocess.run([sys.executable, str(WORKER), str(tmp_path)], check=False,
                           capture_output=True, text=True, timeout=120)
    assert retry.returncode == 0, retry.stderr
    assert "resuming from" in retry.stderr
    assert_same_outputs(tmp_path, reference)
    assert not resume_path(tmp_path / "0000.h5").exists()


def test_the_save_cadence_is_read_from_the_config_and_reruns_nothing():
    """``evaluate.inference.resume_every_minutes`` changes no prediction: it is not in the
    rule's parameters (a change reruns nothing); the script reads it from the config."""
    from simart.config import ConfigError, load_yaml, validate_config
    from simart.evaluation.resume import resume_minutes
    from simart.workflow.plan import Plan

    root = Path(__file__).resolve().parents[1]
    raw = load_yaml(root / "config.yaml")
    assert resume_minutes(raw) == 10.0  # the default
    raw.setdefault("evaluate", {})["inference"] = {"resume_every_minutes": 2.5}
    cfg = validate_config(raw)
    assert resume_minutes(raw) == 2.5 and cfg.evaluate.inference.is_default()
    assert "inference" not in Plan(cfg, "results").predict_kwargs("dncnn")
    raw["evaluate"]["inference"]["amp"] = "bf16"
    kw = Plan(validate_config(raw), "results").predict_kwargs("dncnn")
    assert kw["inference"]["amp"] == "bf16" and "resume_every_minutes" not in kw["inference"]
    for bad in (-1, True, "often", float("nan")):
        raw["evaluate"]["inference"] = {"resume_every_minutes": bad}
        with pytest.raises(ValueError, match=r"evaluate\.inference\.resume_every_minutes"):
            resume_minutes(raw)
        with pytest.raises(ConfigError, match=r"evaluate\.inference\.resume_every_minutes"):
            validate_config(raw)
