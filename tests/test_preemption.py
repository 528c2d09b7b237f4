"""Stopping on a signal (Slurm's --signal before the time limit, preemption): SIGUSR1 sent to
a training process (and to its batch-assembly workers, as Slurm signals every process of
the job step) writes last.pt after the step under way and exits 75; the rerun ends with the
weights and log of an uninterrupted run. SIGTERM does the same in process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from simart.train.checkpoint import load_checkpoint
from simart.train.distributed import EXIT_PREEMPTED, Preempted

sys.path.insert(0, str(Path(__file__).parent))

from test_train_loop import read_log, run, settings

WORKER = Path(__file__).with_name("ddp_worker.py")
TIMING = ("images_per_s", "elapsed_s")


def strip(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def assert_same_run(out: Path, ref: Path, model, ref_model) -> None:
    for (name, a), b in zip(ref_model.state_dict().items(), model.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    assert strip(read_log(out / "log.csv")) == strip(read_log(ref / "log.csv"))
    assert load_checkpoint(out / "best.pt")["step"] == load_checkpoint(ref / "best.pt")["step"]


@pytest.mark.parametrize("num_workers", [0, 1])
def test_sigusr1_writes_last_pt_exits_75_and_the_rerun_equals_an_uninterrupted_run(
        tmp_path, num_workers):
    out, wait_at = tmp_path / "stopped", 13  # mid log row (log_every 2) and checkpoint (10)
    out.mkdir()
    proc = subprocess.Popen([sys.executable, str(WORKER), str(out), str(wait_at),
                             str(num_workers)], stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        t0 = time.monotonic()
        while not (out / "waiting").exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() - t0 < 60, "the worker never reached the step"
            time.sleep(0.05)
        # every process of the session (Slurm signals the whole job step), workers included
        os.killpg(proc.pid, signal.SIGUSR1)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == EXIT_PREEMPTED, err
    assert "stopped on SIGUSR1 after step 13" in err
    ckpt = load_checkpoint(out / "last.pt")
    assert ckpt["step"] == wait_at and ckpt["pending"]["n"] == 1  # half a log row
    assert int(read_log(out / "log.csv")[-1]["step"]) == 12
    ref_model, _ = run(tmp_path / "ref", settings(num_workers=num_workers))
    model, summary = run(out, settings(num_workers=num_workers))
    assert summary["resumed"] and summary["resumes"] == 1
    assert_same_run(out, tmp_path / "ref", model, ref_model)


def test_sigterm_stops_in_process_and_restores_the_handlers(tmp_path):
    before = signal.getsignal(signal.SIGTERM)

    def callback(step: int) -> None:
        if step == 7:
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(Preempted, match="SIGTERM after step 7"):
        run(tmp_path / "stopped", callback=callback)
    assert signal.getsignal(signal.SIGTERM) is before
    assert load_checkpoint(tmp_path / "stopped" / "last.pt")["step"] == 7
    ref_model, _ = run(tmp_path / "ref")
    model, _ = run(tmp_path / "stopped")
    assert_same_run(tmp_path / "stopped", tmp_path / "ref", model, ref_model)
