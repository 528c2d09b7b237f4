"""Restore test images with a trained model (its ``best.pt``), in batches.

The checkpoint must have been written for this model and this dataset (its identity says
so); any other is refused with :class:`simart.train.checkpoint.CheckpointMismatch`.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch


def resolve_device(device: str) -> torch.device:
    """``auto``: CUDA when present, else CPU; ``cuda`` without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} asked for, but torch sees no CUDA GPU")
    return torch.device(device)


def load_for_prediction(weights: str | os.PathLike, model: str, dataset: str,
                        device: torch.device):
    """The trained model of ``weights``, in eval mode on ``device``, and its identity."""
    from simart.train.checkpoint import CheckpointMismatch, load_checkpoint
    from simart.train.loop import load_trained

    identity = load_checkpoint(weights)["identity"]
    for key, want in (("model", model), ("dataset", dataset)):
        if identity.get(key) != want:
            raise CheckpointMismatch(
                f"checkpoint {weights} was written for {key} {identity.get(key)!r}, not "
                f"{want!r}: train the model for this cell (snakemake results/models/"
                f"{dataset}/<group>/{model}/best.pt)")
    net = load_trained(weights, device=device)
    return net.eval(), identity


def predict_learned(weights: str | os.PathLike, model: str, dataset: str, subset: str,
                    degraded: np.ndarray, *, device: str = "auto",
                    batch_size: int = 8) -> tuple[np.ndarray, list[float]]:
    """Predictions (N, H, W) float32 of ``degraded`` and the seconds per image."""
    dev = resolve_device(device)
    net, identity = load_for_prediction(weights, model, dataset, dev)
    subsets = list(identity.get("subsets", []))
    sub_id = subsets.index(subset) if subset in subsets else 0
    preds = np.empty_like(degraded, dtype=np.float32)
    seconds: list[float] = []
    with torch.no_grad():
        for b0 in range(0, len(degraded), batch_size):
            y = torch.from_numpy(np.ascontiguousarray(degraded[b0:b0 + batch_size],
                                                      np.float32))[:, None].to(dev)
            sub = torch.full((len(y),), sub_id, dtype=torch.long, device=dev)
            t0 = time.perf_counter()
            out = net.predict(y, sub).float()
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            dt = time.perf_counter() - t0
            preds[b0:b0 + len(y)] = out[:, 0].cpu().numpy()
            seconds += [dt / len(y)] * len(y)
    return preds, seconds
