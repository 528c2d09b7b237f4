"""Shared pieces of the model benchmarks (``bench_models.py``, ``bench_gan.py``,
``bench_diffusion.py``): device sync, a timed loop (warm-up, median), the command-line
arguments they share, one optimiser update exactly as the training loop runs it
(:class:`TrainStepper`), and synthetic batches holding every field a model reads
(:func:`synthetic_batch`).

Not a benchmark itself; the scripts import it from their own folder (run them as
``python benchmarks/<script>.py``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

# ------------------------------------------------------------------ timing, arguments

def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); nothing on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(fn: Callable[[int], Any], device: torch.device, n: int,
                   warmup: int = 1) -> float:
    """Median wall time of ``fn(k)`` over ``n`` timed calls after ``warmup`` untimed ones
    (``k`` = 0, 1, ... over all calls); the device is synchronised around each call."""
    times = []
    for k in range(warmup + max(1, n)):
        sync(device)
        t0 = time.perf_counter()
        fn(k)
        sync(device)
        if k >= warmup:
            times.append(time.perf_counter() - t0)
    return float(statistics.median(times))


def add_common_args(ap: argparse.ArgumentParser, *, device: str, batch: int, patch: int,
                    size: int, steps: int = 5, repeat: int = 3) -> None:
    """The arguments every model benchmark takes (defaults per script)."""
    ap.add_argument("--hparams", choices=["default", "paper"], default="default")
    ap.add_argument("--device", default=device)
    ap.add_argument("--batch", type=int, default=batch)
    ap.add_argument("--patch", type=int, default=patch)
    ap.add_argument("--steps", type=int, default=steps)
    ap.add_argument("--repeat", type=int, default=repeat)
    ap.add_argument("--size", type=int, default=size)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--amp", action="store_true",
                    help="mixed precision as the training loop's amp (CUDA)")


def set_threads(threads: int) -> None:
    """Limit torch's thread pools to ``threads`` (the embedded run uses one per job)."""
    torch.set_num_threads(threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))


def hparams_table(preset: str) -> dict[str, dict[str, Any]]:
    """``DEFAULT_HPARAMS`` (``default``) or ``PAPER_HPARAMS`` (``paper``)."""
    from simart.specs.hparams import DEFAULT_HPARAMS, PAPER_HPARAMS

    return DEFAULT_HPARAMS if preset == "default" else PAPER_HPARAMS


def describe_device(device: torch.device, threads: int) -> str:
    return (torch.cuda.get_device_name(device) if device.type == "cuda"
            else f"CPU, {threads} thread(s)")


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> float | None:
    """Peak allocated memory since the last reset (MiB; None on the CPU)."""
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**20


# ------------------------------------------------------------------- training update

class TrainStepper:
    """One optimiser update as ``simart.train.loop`` runs it: channels-last model in train
    mode, the run's optimiser (``make_optimizer``) per group of
    ``simart.train.loop.optimizer_groups`` with its LR schedule, the loop's autocast dtype
    and GradScaler, the step's generator (``step_generator(seed, step)``); a model without
    ``optimizer_groups()`` returns its loss from ``training_step(batch, gen)`` and the loop
    updates; a GAN gets ``training_step(batch, gen, update)`` and must call
    ``update(group, loss)`` once per group (zero_grad, backward, gradient clipping, step).

    ``settings``: :class:`simart.train.loop.TrainSettings` fields (defaults: the loop's;
    ``amp`` off unless given).
    """

    def __init__(self, model, device: torch.device, **settings: Any):
        from simart.train.loop import (
            TrainSettings,
            amp_dtype,
            lr_factor,
            make_optimizer,
            optimizer_groups,
        )

        self.model, self.device = model, device
        self.settings = s = TrainSettings.from_mapping({"amp": False, **settings})
        model.to(device, memory_format=torch.channels_last).train()
        self.multi = model.optimizer_groups() is not None
        self.optimizers = {g: make_optimizer(model, s, prms)
                           for g, prms in optimizer_groups(model).items()}
        self.schedulers = {g: torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: lr_factor(step, s)) for g, opt in self.optimizers.items()}
        self.dtype = amp_dtype(s, device)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.dtype == torch.float16)

    def autocast(self):
        from simart.train.loop import autocast

        return autocast(self.device, self.dtype)

    def _update(self, group: str, loss: torch.Tensor) -> None:
        opt = self.optimizers[group]
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.settings.grad_clip:
            self.scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_([p for grp in opt.param_groups for p in grp["params"]],
                                           self.settings.grad_clip)
        self.scaler.step(opt)

    def __call__(self, batch, step: int) -> torch.Tensor:
        """One update on ``batch`` (on the device) at 0-based ``step``; the (detached) loss."""
        from simart.train.batches import step_generator

        gen = step_generator(self.settings.seed, step, self.device)
        name = self.model.name
        if not self.multi:
            with self.autocast():
                loss, _ = self.model.training_step(batch, gen)
            self._update("model", loss)
        else:
            done: list[str] = []

            def update(group: str, group_loss: torch.Tensor) -> None:
                if group not in self.optimizers or group in done:
                    raise ValueError(f"model {name!r}: update({group!r}) "
                                     f"{'twice' if group in done else 'of no group'} in a step")
                done.append(group)
                self._update(group, group_loss)

            with self.autocast():
                loss, _ = self.model.training_step(batch, gen, update)
            if sorted(done) != sorted(self.optimizers):
                raise ValueError(f"model {name!r}: training_step updated {done}, not every "
                                 f"group of {list(self.optimizers)}")
        self.scaler.update()
        for sched in self.schedulers.values():
            sched.step()
        return loss.detach()


# ------------------------------------------------------------------- synthetic batches

def model_dataset(name: str) -> str | None:
    """The dataset with a forward operator (``simart``, then ``lm``) that ``name`` runs on
    (``simart.specs.models.model_applies``): the one whose parameters its physics terms /
    guidance read; None when it runs on neither."""
    from simart.specs.models import model_applies
    from simart.specs.operators import OPERATOR_DATASETS as DATASETS_WITH_OPERATOR

    return next((d for d in DATASETS_WITH_OPERATOR if model_applies(name, d)), None)


def dataset_subsets(dataset: str) -> tuple[str, ...]:
    """The subsets whose operators the parameters of ``dataset`` describe."""
    if dataset == "simart":
        from simart.physics import MODALITIES

        return tuple(MODALITIES)
    if dataset == "lm":
        from simart.specs.lm import LM_MODES

        return tuple(LM_MODES)
    raise ValueError(f"dataset {dataset!r} has no operator parameters")


def sample_image_params(dataset: str, subset: str, rng: np.random.Generator
                        ) -> dict[str, float | int]:
    """One image's ``Batch.params`` entry drawn from the physics samplers, as the data
    carries it (:func:`simart.physics.dataset_ops.image_params`; simart: the modality's
    ``DEFAULT_PARAM_SPECS`` + noise, the STEM scan seed, ``operator_code``; lm:
    ``LM_PARAM_SPECS``, log-uniform where the simulator draws so, ``confocal``)."""
    from simart.physics.dataset_ops import image_params

    if dataset == "simart":
        from simart import physics

        spec = {**physics.DEFAULT_PARAM_SPECS[subset], **physics.DEFAULT_PARAM_SPECS["noise"]}
        row: dict[str, float | int] = physics.sample_params(spec, rng)
        for name in physics.operator(subset).seed_params:
            row[name] = int(rng.integers(2**31))
    elif dataset == "lm":
        from simart.simulate.dataset_common import sample_specs
        from simart.specs.lm import LM_LOG_UNIFORM, LM_PARAM_SPECS

        row = sample_specs(LM_PARAM_SPECS, rng, log_uniform=LM_LOG_UNIFORM)
        row["confocal"] = int(subset == "confocal")
    else:
        raise ValueError(f"dataset {dataset!r} has no operator parameters")
    return image_params(dataset, subset, row)


def synthetic_params(dataset: str, b: int, seed: int = 0
                     ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """(params, subset) of ``b`` images of ``dataset``, cycling through its subsets (a
    joint SIMART batch mixes the four modalities): ``Batch.params`` (CPU, stacked) and each
    image's subset index."""
    from simart.physics.dataset_ops import stack_params

    subsets = dataset_subsets(dataset)
    rng = np.random.default_rng(seed)
    idx = [i % len(subsets) for i in range(b)]
    rows = [sample_image_params(dataset, subsets[i], rng) for i in idx]
    return stack_params(rows), torch.tensor(idx, dtype=torch.long)


def synthetic_batch(model, b: int, patch: int, *, seed: int = 0,
                    subset: torch.Tensor | None = None, noise: float = 0.05,
                    predict: bool = False):
    """A CPU :class:`simart.models.Batch` of ``b`` random ``patch``^2 images with ``y``,
    ``subset`` and exactly the fields ``model`` (instance or class) declares in ``needs``
    (``predict``: in ``predict_needs`` -- only ``params`` is a Batch field): ``x`` uniform
    in [0, 1], ``y`` / ``y2`` = ``x`` + independent Gaussian noise, ``u`` / ``xu``
    unrelated uniform images, ``params`` drawn from the physics samplers of
    :func:`model_dataset` (``subset`` then = each image's subset index there unless
    given; else zeros unless given)."""
    from simart.models import Batch

    needs = set(model.predict_needs if predict else model.needs)
    g = torch.Generator().manual_seed(seed)
    shape = (b, 1, patch, patch)
    x = torch.rand(shape, generator=g)
    fields: dict[str, Any] = {"y": x + noise * torch.randn(shape, generator=g)}
    if "x" in needs:
        fields["x"] = x
    if "y2" in needs:
        fields["y2"] = x + noise * torch.randn(shape, generator=g)
    for f in ("u", "xu"):
        if f in needs:
            fields[f] = torch.rand(shape, generator=g)
    sub = torch.zeros(b, dtype=torch.long)
    if "params" in needs:
        dataset = model_dataset(model.name)
        if dataset is None:
            raise ValueError(f"model {model.name!r} needs params but runs on no dataset "
                             "with operator parameters")
        fields["params"], sub = synthetic_params(dataset, b, seed)
    fields["subset"] = subset if subset is not None else sub
    return Batch(**fields)
