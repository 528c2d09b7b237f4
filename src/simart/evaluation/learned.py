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


def prediction_generator(seed: int, dataset: str, model: str, subset: str, shard: str,
                         device: torch.device) -> torch.Generator:
    """The generator a sampling model draws from when restoring one test shard of one
    subset: a function of (seed, dataset, model, subset, shard) only -- predictions are
    reproducible and independent of which other shards or cells ran."""
    from simart.simulate.dataset_common import dataset_tag

    ss = np.random.SeedSequence([int(seed), dataset_tag(dataset), dataset_tag(model),
                                 dataset_tag(subset), dataset_tag(str(shard)), 8])
    return torch.Generator(device=device).manual_seed(int(ss.generate_state(1, np.uint64)[0]))


def predict_learned(weights: str | os.PathLike, model: str, dataset: str, subset: str,
                    degraded: np.ndarray, *, device: str = "auto", batch_size: int = 8,
                    params: list[dict] | None = None, gen: torch.Generator | None = None,
                    sampling: dict | None = None, net_model: str | None = None,
                    ) -> tuple[np.ndarray, list[float], dict[str, np.ndarray]]:
    """Predictions (N, H, W) float32 of ``degraded``, the seconds per image and the extra
    outputs (name -> (N, H, W)) of models that have some (uncertainty maps ...).

    ``params``: per-image operator parameters (models whose ``predict_needs`` has them);
    ``gen``: the sampling generator (see :func:`prediction_generator`; batches draw from it
    in order); ``sampling``: ``set_sampling`` options (evaluation variants);
    ``net_model``: the trained model's name when ``model`` is a variant of it.
    """
    from simart.models.base import run_predict
    from simart.physics.dataset_ops import stack_params

    dev = resolve_device(device)
    net, identity = load_for_prediction(weights, net_model or model, dataset, dev)
    net.set_sampling(**(sampling or {}))
    subsets = list(identity.get("subsets", []))
    sub_id = subsets.index(subset) if subset in subsets else 0
    preds = np.empty_like(degraded, dtype=np.float32)
    extras: dict[str, np.ndarray] = {}
    seconds: list[float] = []
    with torch.no_grad():
        for b0 in range(0, len(degraded), batch_size):
            y = torch.from_numpy(np.ascontiguousarray(degraded[b0:b0 + batch_size],
                                                      np.float32))[:, None].to(dev)
            sub = torch.full((len(y),), sub_id, dtype=torch.long, device=dev)
            p = (None if params is None else
                 {k: v.to(dev) for k, v in stack_params(params[b0:b0 + len(y)]).items()})
            t0 = time.perf_counter()
            out, more = run_predict(net, y, sub, params=p, gen=gen)
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            dt = time.perf_counter() - t0
            preds[b0:b0 + len(y)] = out.float()[:, 0].cpu().numpy()
            for name, arr in more.items():
                extras.setdefault(name, np.empty_like(preds))[b0:b0 + len(y)] = (
                    arr.float()[:, 0].cpu().numpy())
            seconds += [dt / len(y)] * len(y)
    return preds, seconds, extras
