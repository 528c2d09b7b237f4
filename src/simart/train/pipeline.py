"""Train one learned model on one dataset (what the ``train_model`` rule runs).

``train_model`` builds the training / validation data from the dataset's shards
(:class:`simart.train.shard_data.ShardTrainData`), the model from its hyper-parameters
(:func:`simart.models.build_model`, after seeding torch so the initial weights are a
function of the seed), and hands both to the one training loop
(:func:`simart.train.loop.train`), which checkpoints, resumes and validates.

The *identity* stored in every checkpoint says what was trained: model, resolved
hyper-parameters, dataset, subsets, the training and validation data (every shard with its
content fingerprint, :mod:`simart.provenance`) and the version of the code that trains
(:func:`simart.provenance.code_version`). A resume point (``work/last.pt``) of another
identity, written with other settings, or unreadable, is never reused: the log says why
and the training starts over (:func:`train_model`).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simart.io import atomic_path
from simart.provenance import code_version

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 2  # 2: optimiser and scheduler states by optimiser group


def training_seed(seed: int, dataset: str, model: str) -> int:
    """The seed of one (dataset, model) training: data order, augmentation, initial weights."""
    from simart.simulate.dataset_common import dataset_tag

    ss = np.random.SeedSequence([int(seed), dataset_tag(dataset), dataset_tag(model), 6])
    return int(ss.generate_state(1, np.uint32)[0])


def model_identity(model: str, hparams: Mapping[str, Any], dataset: str,
                   subsets: Sequence[str], data_signature: Mapping[str, Any],
                   val_signature: Mapping[str, Any] | None = None,
                   code: str | None = None) -> dict[str, Any]:
    """What a checkpoint was trained as: model, resolved hparams, data (with content
    fingerprints), validation data and code version (the last two when given)."""
    from simart.specs.hparams import resolve_hparams

    ident = {"format": CHECKPOINT_FORMAT, "model": model,
             "hparams": resolve_hparams(model, dict(hparams)), "dataset": dataset,
             "subsets": list(subsets), "data": dict(data_signature)}
    if val_signature is not None:
        ident["val_data"] = dict(val_signature)
    if code is not None:
        ident["code"] = code
    return ident


def train_model(
    model: str,
    dataset: str,
    subsets: Sequence[str],
    train_shards: Sequence[str | os.PathLike],
    val_shards: Sequence[str | os.PathLike],
    settings: Mapping[str, Any],
    hparams: Mapping[str, Any],
    out_dir: str | os.PathLike,
    *,
    seed: int,
    cfg=None,
    callback=None,
    unpaired: Mapping[str, tuple[Sequence[str | os.PathLike], str]] | None = None,
) -> dict[str, Any]:
    """Train ``model`` on ``dataset``; write ``out_dir``/{best.pt, log.csv, summary.json}
    (checkpoints and the running log live in ``out_dir/work``).

    ``settings``: keys of :class:`simart.train.loop.TrainSettings` (``seed`` is set here
    from ``seed``, dataset and model). ``cfg``: the validated config (Noise2Noise pairs of
    simart replay the image parameters from it). ``unpaired``: ``{"u" | "xu": (shard
    paths, "degraded" | "clean")}``, the pools of the unpaired batch fields (GANs, domain
    adaptation; simart.data.datasets.MODEL_UNPAIRED).
    """
    from simart.models import MODEL_REGISTRY, build_model
    from simart.train.loop import TrainSettings, train
    from simart.train.shard_data import ShardTrainData

    if model not in MODEL_REGISTRY:
        raise ValueError(f"unknown learned model {model!r}; available: {sorted(MODEL_REGISTRY)}")
    want = ("y", *MODEL_REGISTRY[model].needs)
    train_data = ShardTrainData(dataset, train_shards, subsets, cfg=cfg, want=want,
                                unpaired=dict(unpaired or {}))
    val_data = ShardTrainData(dataset, val_shards, subsets, cfg=cfg, want=("y", "x"))
    if unpaired:
        log.info("unpaired pools: %s", {f: len(p) for f, (p, _) in unpaired.items()})
    s = dict(settings)
    s["seed"] = training_seed(seed, dataset, model)
    ts = TrainSettings.from_mapping(s)

    def fresh_model():
        torch.manual_seed(ts.seed)  # the initial weights are a function of the seed
        return build_model(model, dict(hparams))

    net = fresh_model()
    identity = model_identity(model, net.hparams, dataset, subsets, train_data.signature(),
                              val_data.signature(), code_version(__file__))
    log.info("training %s on %s (%d train / %d val images, subsets %s) for %d steps",
             model, dataset, len(train_data), len(val_data), list(subsets), ts.steps)
    kwargs = {"callback": callback} if callback is not None else {}
    from simart.train.checkpoint import CheckpointCorrupt, CheckpointMismatch

    work = Path(out_dir) / "work"
    try:
        summary = train(net, train_data, val_data, ts, work, identity=identity, log=log,
                        **kwargs)
    except (CheckpointMismatch, CheckpointCorrupt) as exc:
        # never reuse a resume point of other data, hyper-parameters, settings or code
        log.warning("not resuming: %s. Starting this training over (the old working "
                    "folder %s is removed)", exc, work)
        shutil.rmtree(work)
        summary = train(fresh_model(), train_data, val_data, ts, work, identity=identity,
                        log=log, **kwargs)
    publish(work, out_dir)
    return summary


def publish(work: Path, out_dir: str | os.PathLike) -> None:
    """Copy the finished training's best.pt, log.csv, summary.json from the working folder
    to the rule's outputs (atomically). The working folder (checkpoints, running log) is not
    a Snakemake output, so a killed job's files survive for the resume."""
    for name in ("best.pt", "log.csv", "summary.json"):
        with atomic_path(Path(out_dir) / name) as tmp:
            shutil.copyfile(work / name, tmp)
