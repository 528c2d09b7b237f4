"""Restoration models: classical baselines (learned models live in ``simart.models``)."""

from simart.restore.classical import (
    CLASSICAL_MODELS,
    NotApplicableError,
    restore_batch,
)

__all__ = ["CLASSICAL_MODELS", "NotApplicableError", "restore_batch"]
