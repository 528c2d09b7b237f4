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
from simart.train.distributed import World, launch

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
    processes: int = 1,
    code: str | None = None,
) -> dict[str, Any]:
    """Train ``model`` on ``dataset``; write ``out_dir``/{best.pt, log.csv, summary.json}
    (checkpoints and the running log live in ``out_dir/work``).

    ``processes``: data-parallel training in that many processes (config ``train.gpus``:
    one per GPU, or CPU processes without CUDA; :mod:`simart.train.distributed`), the
    global batch being ``batch_size`` whatever their number. A checkpoint of one number
    resumes on another; the identity does not include it (``summary.json`` records it).
    SIGUSR1 / SIGTERM stop the training after its current step with ``work/last.pt``
    written: :class:`simart.train.distributed.Preempted` is raised (the rule's script
    exits with ``EXIT_PREEMPTED`` and Snakemake's retry resumes).

    ``settings``: keys of :class:`simart.train.loop.TrainSettings` (``seed`` is set here
    from ``seed``, dataset and model). ``cfg``: the validated config (Noise2Noise pairs of
    simart replay the image parameters from it). ``unpaired``: ``{"u" | "xu": (shard
    paths, "degraded" | "clean")}``, the pools of the unpaired batch fields (GANs, domain
    adaptation; simart.data.datasets.MODEL_UNPAIRED). ``code``: the version of the code
    that trains (part of the checkpoints' identity: a resume point of other code is not
    used); None: :func:`simart.provenance.code_version` of this module, computed here (the
    rule passes the version Snakemake already computed for its ``code`` param, ~1 s saved
    per job).
    """
    from simart.models import MODEL_REGISTRY

    if model not in MODEL_REGISTRY:
        raise ValueError(f"unknown learned model {model!r}; available: {sorted(MODEL_REGISTRY)}")
    if "batch_size" in settings:  # refused before any process starts
        World(0, processes).check_batch(int(settings["batch_size"]))
    args = {"model": model, "dataset": dataset, "subsets": list(subsets),
            "train_shards": list(train_shards), "val_shards": list(val_shards),
            "settings": dict(settings), "hparams": dict(hparams), "out_dir": out_dir,
            "seed": seed, "cfg": cfg, "callback": callback, "unpaired": unpaired,
            "code": code}
    summary = launch(_train, processes, device=str(settings.get("device", "auto")),
                     kwargs=args)
    publish(Path(out_dir) / "work", out_dir)
    return summary


def _train(world: World, model: str, dataset: str, subsets: Sequence[str],
           train_shards: Sequence[str | os.PathLike], val_shards: Sequence[str | os.PathLike],
           settings: Mapping[str, Any], hparams: Mapping[str, Any], out_dir: str | os.PathLike,
           *, seed: int, cfg, callback, unpaired, code: str | None) -> dict[str, Any]:
    """One process of :func:`train_model` (``world``: its rank among ``world.size``)."""
    from simart.models import MODEL_REGISTRY, build_model
    from simart.train.loop import TrainSettings, train
    from simart.train.shard_data import ShardTrainData

    if not world.main:  # rank 0 builds first (it writes what the data keeps on disk)
        world.barrier()
    want = ("y", *MODEL_REGISTRY[model].needs)
    train_data = ShardTrainData(dataset, train_shards, subsets, cfg=cfg, want=want,
                                unpaired=dict(unpaired or {}),
                                # Noise2Noise pairs drawn once, kept beside work/ for resumes
                                pair_dir=Path(out_dir) / "n2n_pairs",
                                workers=int(settings.get("num_workers", 0)))
    val_data = ShardTrainData(dataset, val_shards, subsets, cfg=cfg, want=("y", "x"))
    if world.main:
        world.barrier()
    if unpaired and world.main:
        log.info("unpaired pools: %s", {f: len(p) for f, (p, _) in unpaired.items()})
    s = dict(settings)
    s["seed"] = training_seed(seed, dataset, model)
    ts = TrainSettings.from_mapping(s)

    def fresh_model():
        torch.manual_seed(ts.seed)  # the initial weights are a function of the seed
        return build_model(model, dict(hparams))

    net = fresh_model()
    identity = model_identity(model, net.hparams, dataset, subsets, train_data.signature(),
                              val_data.signature(), code or code_version(__file__))
    if world.main:
        log.info("training %s on %s (%d train / %d val images, subsets %s) for %d steps%s",
                 model, dataset, len(train_data), len(val_data), list(subsets), ts.steps,
                 f" in {world.size} processes" if world.size > 1 else "")
    kwargs = {"callback": callback} if callback is not None else {}
    from simart.train.checkpoint import CheckpointCorrupt, CheckpointMismatch

    work = Path(out_dir) / "work"
    try:
        return train(net, train_data, val_data, ts, work, identity=identity, log=log,
                     world=world, **kwargs)
    except (CheckpointMismatch, CheckpointCorrupt) as exc:
        # never reuse a resume point of other data, hyper-parameters, settings or code
        # (every rank read the same files and raised the same)
        world.barrier()
        if world.main:
            log.warning("not resuming: %s. Starting this training over (the old working "
                        "folder %s is removed)", exc, work)
            shutil.rmtree(work)
        world.barrier()
        return train(fresh_model(), train_data, val_data, ts, work, identity=identity,
                     log=log, world=world, **kwargs)


def publish(work: Path, out_dir: str | os.PathLike) -> None:
    """Copy the finished training's best.pt, log.csv, summary.json from the working folder
    to the rule's outputs (atomically). The working folder (checkpoints, running log) is not
    a Snakemake output, so a killed job's files survive for the resume."""
    for name in ("best.pt", "log.csv", "summary.json"):
        with atomic_path(Path(out_dir) / name) as tmp:
            shutil.copyfile(work / name, tmp)
