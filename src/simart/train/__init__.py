"""Training of the learned models: one loop (:mod:`simart.train.loop`), stateless batches
(:mod:`simart.train.batches`), checkpoints and the CSV log (:mod:`simart.train.checkpoint`),
the data protocol (:mod:`simart.train.data`), data-parallel launch and stopping on a signal
(:mod:`simart.train.distributed`).

Names are re-exported lazily, so that ``import simart.train.data`` (numpy only) does not
import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TrainSettings": "loop", "train": "loop", "load_trained": "loop",
    "inference_timing": "loop", "n_parameters": "loop", "FREE_SETTINGS": "loop",
    "CheckpointMismatch": "checkpoint", "CheckpointCorrupt": "checkpoint",
    "load_checkpoint": "checkpoint",
    "make_batch": "batches", "step_generator": "batches", "StepBatches": "batches",
    "TrainData": "data", "ArrayTrainData": "data",
    "Preempted": "distributed", "World": "distributed", "launch": "distributed",
    "EXIT_PREEMPTED": "distributed",
}
__all__ = ["EXIT_PREEMPTED", "FREE_SETTINGS", "ArrayTrainData", "CheckpointCorrupt",
           "CheckpointMismatch", "Preempted", "StepBatches", "TrainData", "TrainSettings",
           "World", "inference_timing", "launch", "load_checkpoint", "load_trained",
           "make_batch", "n_parameters", "step_generator", "train"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
