"""Restore test images with a trained model (its ``best.pt``), in batches.

The checkpoint must have been written for this model and this dataset (its identity says
so); any other is refused with :class:`simart.train.checkpoint.CheckpointMismatch`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch

from simart.evaluation.resume import Progress
from simart.models.base import RestorationModel, run_predict
from simart.physics.dataset_ops import stack_params
from simart.progress import ProgressReporter
from simart.specs.inference import AUTO_BATCH_START, InferenceSettings

LOG = logging.getLogger(__name__)


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
                    inference: Mapping[str, Any] | None = None,
                    progress: Progress | None = None,
                    after_batch: Callable[[], None] | None = None,
                    ) -> tuple[np.ndarray, list[float], dict[str, np.ndarray]]:
    """Predictions (N, H, W) float32 of ``degraded``, the seconds per image and the extra
    outputs (name -> (N, H, W)) of models that have some (uncertainty maps ...).

    ``params``: per-image operator parameters (models whose ``predict_needs`` has them);
    ``gen``: the sampling generator (see :func:`prediction_generator`; batches draw from it
    in order); ``sampling``: ``set_sampling`` options (evaluation variants);
    ``net_model``: the trained model's name when ``model`` is a variant of it;
    ``batch_size``: the configured (training) batch size; ``inference``: config
    ``evaluate.inference`` (:class:`simart.specs.inference.InferenceSettings`: bf16,
    channels-last, compile, batch size -- CUDA only; the CPU path ignores it).
    ``progress``: the images done before (a job's resume point,
    :mod:`simart.evaluation.resume`): prediction continues with the next batch, at the
    batch size and from the generator state it saved; ``after_batch``: called after each
    batch (saves the resume point when due, stops on a signal). Progress (images, images/s,
    ETA) is logged every ``SIMART_PROGRESS_SECONDS`` (:mod:`simart.progress`); a diffusion
    model also logs its sampler steps within a batch.
    """
    settings = inference_settings(inference)
    dev = resolve_device(device)
    net, identity = load_for_prediction(weights, net_model or model, dataset, dev)
    net.set_sampling(**(sampling or {}))
    subsets = list(identity.get("subsets", []))
    sub_id = subsets.index(subset) if subset in subsets else 0
    run = _Predictor(net, dev, settings, degraded, params, sub_id)
    progress = progress or Progress.start(len(degraded), degraded.shape[1:], np.float32)
    if gen is not None and progress.gen_state is not None:
        gen.set_state(torch.from_numpy(progress.gen_state))
    bs = run.batch_size(batch_size, progress.batch_size)
    if dev.type == "cuda" or progress.done:
        LOG.info("%s: predicting %d images in batches of %d from image %d (%s)", model,
                 len(degraded), bs, progress.done, settings)
    return run.all(bs, gen, progress, after_batch, label=f"predict {model} {dataset}/{subset}")


def inference_settings(inference: Mapping[str, Any] | None) -> InferenceSettings:
    """``inference`` validated (ValueError naming the ``evaluate.inference`` key)."""
    from pydantic import ValidationError

    try:
        return InferenceSettings.model_validate(dict(inference or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ValueError(f"evaluate.inference.{key} = {err.get('input')!r}: "
                         f"{err['msg'].removeprefix('Value error, ')}") from None


def inference_dtype(settings: InferenceSettings, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of predictions: None (float32) on the CPU or with ``amp`` off;
    bf16 (fp16 where the GPU has no bf16) or fp16 on CUDA."""
    if device.type != "cuda" or settings.amp == "off":
        return None
    if settings.amp == "bf16" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def prepare_network(net: RestorationModel, device: torch.device,
                    settings: InferenceSettings) -> RestorationModel:
    """``net`` in channels-last layout and with its networks compiled as ``settings``
    say -- on CUDA only (the CPU path stays the eager float32 one)."""
    if device.type != "cuda":
        return net
    if settings.channels_last:
        net.to(memory_format=torch.channels_last)
    if settings.compile:
        net.compile_networks()
    return net


class _Predictor:
    """The batches of one shard through ``run_predict`` with the inference settings."""

    def __init__(self, net: RestorationModel, dev: torch.device,
                 settings: InferenceSettings, degraded: np.ndarray,
                 params: list[dict] | None, sub_id: int):
        self.net, self.dev, self.settings = prepare_network(net, dev, settings), dev, settings
        self.dtype = inference_dtype(settings, dev)
        self.degraded, self.params, self.sub_id = degraded, params, sub_id
        self.cuda = dev.type == "cuda"

    def inputs(self, b0: int, n: int):
        """(y, subset, params) of images ``b0 .. b0 + n`` on the device."""
        y = torch.from_numpy(np.ascontiguousarray(self.degraded[b0:b0 + n],
                                                  np.float32))[:, None].to(self.dev)
        if self.cuda and self.settings.channels_last:
            y = y.contiguous(memory_format=torch.channels_last)
        sub = torch.full((len(y),), self.sub_id, dtype=torch.long, device=self.dev)
        p = (None if self.params is None else
             {k: v.to(self.dev) for k, v in stack_params(self.params[b0:b0 + len(y)]).items()})
        return y, sub, p

    def predict(self, b0: int, n: int, gen: torch.Generator | None):
        y, sub, p = self.inputs(b0, n)
        with torch.no_grad(), _autocast(self.dev, self.dtype):
            return run_predict(self.net, y, sub, params=p, gen=gen)

    def batch_size(self, default: int, resumed: int | None = None) -> int:
        """The batch size (see :class:`~simart.specs.inference.InferenceSettings`): on CUDA
        with ``auto`` the largest that runs a warm-up batch without running out of
        memory; a warm-up also runs when compiling (its time is then not in the
        per-image seconds). CPU: the configured size, ``auto`` = ``default``.
        ``resumed``: the size a resumed job ran with (its batches continue at that size)."""
        want = resumed or self.settings.batch_size
        if want is None or (want == "auto" and not self.cuda):
            want = default
        if not self.cuda or (want != "auto" and not self.settings.compile):
            return int(want)
        size = (min(AUTO_BATCH_START, len(self.degraded)) if want == "auto"
                else min(int(want), len(self.degraded)))
        while True:
            try:
                self.warm_up(size)
                break
            except torch.OutOfMemoryError:
                if size == 1:
                    raise
                torch.cuda.empty_cache()
                size = max(1, size // 2)
        rest = len(self.degraded) % size
        if rest and self.settings.compile:  # the last, smaller batch: its recompilation too
            self.warm_up(rest)
        return size

    def warm_up(self, n: int) -> None:
        """One batch of ``n`` images with the cheapest sampling options (2 DDIM steps, one
        sample) and a generator of its own: the same networks, shapes and memory per
        image as the run, none of its random numbers."""
        saved = dict(getattr(self.net, "sampling", {}))
        cheap = {k: v for k, v in (("sampler", "ddim"), ("steps", 2), ("n_samples", 1))
                 if k in getattr(self.net, "sampling_options", ())}
        try:
            if cheap:
                self.net.set_sampling(**cheap)
            gen = torch.Generator(device=self.dev).manual_seed(0)
            self.predict(0, n, gen)
            torch.cuda.synchronize(self.dev)
        finally:
            if cheap:
                self.net.set_sampling(**saved)

    def all(self, bs: int, gen: torch.Generator | None, progress: Progress,
            after_batch: Callable[[], None] | None = None, *, label: str = "predict"
            ) -> tuple[np.ndarray, list[float], dict[str, np.ndarray]]:
        """Every image from ``progress.done`` on, in batches of ``bs`` (halved, with the
        generator rewound, where a CUDA batch still runs out of memory), into
        ``progress``; ``after_batch`` after each batch. Logs its progress as ``label``."""
        progress.gen = gen
        with ProgressReporter(len(self.degraded), "images", label, initial=progress.done,
                              logger=LOG) as report:
            self._batches(bs, gen, progress, after_batch, report)
        return progress.preds, progress.seconds, progress.extras

    def _batches(self, bs: int, gen: torch.Generator | None, progress: Progress,
                 after_batch: Callable[[], None] | None, report: ProgressReporter) -> None:
        while not progress.complete:
            b0 = progress.done
            state = gen.get_state() if (self.cuda and gen is not None) else None
            t0 = time.perf_counter()
            try:
                out, more = self.predict(b0, bs, gen)
                if self.cuda:
                    torch.cuda.synchronize(self.dev)
            except torch.OutOfMemoryError:
                if not self.cuda or bs == 1:
                    raise
                if state is not None:
                    gen.set_state(state)
                torch.cuda.empty_cache()
                bs = max(1, bs // 2)
                LOG.warning("out of GPU memory: batch size lowered to %d", bs)
                continue
            dt = time.perf_counter() - t0
            k = len(out)
            progress.batch_size = bs
            progress.add(out.float()[:, 0].cpu().numpy(), [dt / k] * k,
                         {name: arr.float()[:, 0].cpu().numpy() for name, arr in more.items()})
            report.update(k)
            if after_batch is not None:
                after_batch()


def _autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()
