"""Helpers of tests/test_ddp.py and tests/test_preemption.py that run in other processes
(spawned training ranks import this module; ``python tests/ddp_worker.py`` trains alone).

Usage: python tests/ddp_worker.py OUT_DIR WAIT_AT_STEP [NUM_WORKERS]
  trains the test problem of tests/test_train_loop.py; after step WAIT_AT_STEP it writes
  OUT_DIR/waiting and waits (up to 60 s) for a stop signal; exits 75 when stopped.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from test_train_loop import IDENTITY, TinyModel, make_problem, settings

from simart.models import build_model
from simart.train.distributed import EXIT_PREEMPTED, Preempted, World, stop_requested
from simart.train.loop import train

#: Tiny registry models: a plain CNN and a GAN with two optimiser groups (no norm layers:
#: a conv bias before a norm has a zero gradient, whose float noise Adam would amplify).
MODELS = {"unet": {}, "pix2pix": {"gan_norm": "none", "ngf": 4, "ndf": 4, "n_blocks": 1}}


def ddp_settings(**kw):
    base = {"steps": 8, "batch_size": 4, "patch_size": 16, "checkpoint_every": 4,
            "val_every": 4, "val_images": 2, "log_every": 2}
    return settings(**{**base, **kw})


def identity(name: str) -> dict:
    return {"model": name, "hparams": MODELS[name], "dataset": "toy", "subsets": ["a", "b"]}


def build(name: str):
    torch.manual_seed(0)  # the caller seeds the initial weights
    return build_model(name, dict(MODELS[name]))


def train_models(world: World, out: str, names: tuple[str, ...] = tuple(MODELS),
                 stop_after: int | None = None, **kw) -> dict:
    """Train each of ``names`` in ``out/<name>`` (a rank of a data-parallel run); rank 0
    sends SIGUSR1 to the launching process after step ``stop_after``."""
    train_data, val_data = make_problem(n=8, size=16)
    out_summaries = {}
    for name in names:
        cb = _SignalAt(stop_after) if stop_after is not None and world.main else None
        out_summaries[name] = train(build(name), train_data, val_data, ddp_settings(**kw),
                                    Path(out) / name, identity=identity(name), world=world,
                                    callback=cb)
    return out_summaries


class _SignalAt:
    """Callback: SIGUSR1 to the launcher after ``step`` (which forwards it to every rank)."""

    def __init__(self, step: int):
        self.step = step

    def __call__(self, step: int) -> None:
        if step == self.step:
            os.kill(os.getppid(), signal.SIGUSR1)


def main(out_dir: str, wait_at: int, num_workers: int = 0) -> None:
    out = Path(out_dir)

    def callback(step: int) -> None:
        if step != wait_at:
            return
        (out / "waiting").write_text(str(step))
        t0 = time.monotonic()
        while stop_requested() is None and time.monotonic() - t0 < 60:
            time.sleep(0.01)

    torch.manual_seed(0)
    train_data, val_data = make_problem()
    try:
        train(TinyModel(), train_data, val_data, settings(num_workers=num_workers), out,
              identity=IDENTITY, callback=callback)
    except Preempted as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(EXIT_PREEMPTED) from None
    raise SystemExit("not stopped: no signal came")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *(int(a) for a in sys.argv[3:]))
