"""The one training loop of every learned model (CNNs; diffusion models and GANs later).

:func:`train` owns the device, AMP, ``torch.compile``, optimiser and LR schedule,
checkpoints and resume, validation, ``log.csv``, progress and ``summary.json``; a model
supplies only ``training_step`` and ``predict`` (:mod:`simart.models.base`).

Determinism. Batches are a pure function of ``(seed, step)`` (:mod:`simart.train.batches`),
``training_step`` gets a torch Generator seeded from ``(seed, step)``, and ``last.pt`` holds
the model, optimiser, scheduler and GradScaler states (and, as a safety net for models that
draw from torch's global generator, the torch CPU/CUDA RNG states). Validation draws no
training random numbers. So with ``deterministic=True`` on the CPU, a run killed at any
point and rerun ends with bit-identical weights -- provided the caller seeds the model's
initialisation (``torch.manual_seed(seed)`` right before constructing the model; the loop
cannot, it receives the built model). On CUDA the same holds as far as the kernels are
deterministic (``torch.use_deterministic_algorithms``; a model using an op without a
deterministic CUDA kernel then fails loudly -- set ``deterministic: false`` for it).

AMP (CUDA only): bf16 autocast where the GPU supports it (no loss scaling needed), else
fp16 autocast with a GradScaler. On the CPU ``amp`` and ``compile`` are ignored.

Data parallel (``world``, :mod:`simart.train.distributed`): every process runs this loop on
its slice of the global batch and averages each optimiser group's gradients with the others
before stepping; rank 0 alone validates, logs and writes files. ``last.pt`` holds no
process-specific state but rank 0's RNG state (which every rank reseeds at each step) and
the running sums of the log row under way of every rank (averaged when resumed on another
number of processes), so a checkpoint of N processes resumes on M.

Stopping (SIGUSR1 / SIGTERM, e.g. Slurm's ``--signal`` before the time limit): the step
under way finishes, ``last.pt`` is written (with the running sums of the log row under
way, so the resumed log equals an uninterrupted one) and :class:`Preempted` is raised.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import resource
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from simart.io import atomic_path
from simart.metrics import MetricUnavailable, psnr, ssim
from simart.models.base import Batch, RestorationModel, n_parameters, run_predict
from simart.specs.training import TrainSettings
from simart.train.batches import StepBatches, batch_tensors, rank_seed, step_generator
from simart.train.checkpoint import (
    CheckpointCorrupt,
    CheckpointMismatch,
    CsvLog,
    check_identity,
    check_settings,
    load_checkpoint,
    normalize,
    save_checkpoint,
)
from simart.train.data import TrainData
from simart.train.distributed import (
    ALONE,
    Preempted,
    World,
    ignore_stop_signals,
    stop_on_signals,
    stop_requested,
)

__all__ = ["CheckpointCorrupt", "CheckpointMismatch", "Preempted", "TrainSettings", "World",
           "inference_timing", "load_trained", "n_parameters", "train"]

LOG = logging.getLogger("simart.train")

# settings a resumed run may change (they do not change the weights)
FREE_SETTINGS = ("progress", "num_workers", "threads", "checkpoint_every", "log_every")
_LOG_LINE_ROWS = 10  # a log line every this many log.csv rows (and at every validation)


# ----------------------------------------------------------------------------- runtime

def resolve_device(name: str) -> torch.device:
    """``auto``: CUDA when available, else the CPU."""
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("training device 'cuda' asked for, but CUDA is not available")
    use_cuda = name == "cuda" or (name == "auto" and torch.cuda.is_available())
    return torch.device("cuda" if use_cuda else "cpu")


def amp_dtype(settings: TrainSettings, device: torch.device) -> torch.dtype | None:
    """The autocast dtype: None (off) unless ``amp`` on CUDA; bf16 where supported."""
    if not settings.amp or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None):
    """``torch.autocast`` for ``dtype``, or a no-op context when None."""
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def set_deterministic(mode: bool, *, warn_only: bool = False) -> None:
    """``torch.use_deterministic_algorithms(mode, warn_only=...)`` without its import of
    ``torch._inductor``.

    torch 2.14's function imports ``torch._inductor.config`` (and with it Dynamo: 2.4 s of
    every training job's start, measured on the 2-core machine) only to copy ``mode`` into
    Inductor's own ``deterministic`` option, which matters only to code Inductor compiles.
    Here that option is set when Inductor is already loaded; the trainer sets it from this
    flag before it compiles (``compile: true`` on CUDA)."""
    inductor = sys.modules.get("torch._inductor.config")
    if inductor is not None:
        inductor.deterministic = mode
    torch._C._set_deterministic_algorithms(mode, warn_only=warn_only)


@contextmanager
def torch_state(settings: TrainSettings, device: torch.device) -> Iterator[None]:
    """Threads and determinism flags for the run; the previous values restored afterwards."""
    cudnn = torch.backends.cudnn
    prev = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(), cudnn.deterministic,
            cudnn.benchmark)
    try:
        if settings.threads:
            torch.set_num_threads(settings.threads)
        if settings.deterministic and device.type == "cuda":
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS determinism
        set_deterministic(settings.deterministic, warn_only=False)
        cudnn.deterministic, cudnn.benchmark = settings.deterministic, not settings.deterministic
        yield
    finally:
        torch.set_num_threads(prev[0])
        set_deterministic(prev[1], warn_only=prev[2])
        cudnn.deterministic, cudnn.benchmark = prev[3], prev[4]


def lr_factor(step: int, settings: TrainSettings) -> float:
    """LR multiplier of the update at 0-based ``step``: linear warm-up, then constant or
    cosine decay towards 0 at ``steps``."""
    if step < settings.warmup_steps:
        return (step + 1) / settings.warmup_steps
    if settings.lr_schedule == "constant":
        return 1.0
    t = (step - settings.warmup_steps) / max(1, settings.steps - settings.warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))


def make_optimizer(model: torch.nn.Module, settings: TrainSettings,
                   params: list[torch.nn.Parameter] | None = None) -> torch.optim.Optimizer:
    """The run's optimiser over ``params`` (default: every trainable parameter)."""
    cls = torch.optim.AdamW if settings.optimizer == "adamw" else torch.optim.Adam
    if params is None:
        params = [p for p in model.parameters() if p.requires_grad]
    return cls(params, lr=settings.lr, betas=settings.betas, weight_decay=settings.weight_decay)


def optimizer_groups(model: RestorationModel) -> dict[str, list[torch.nn.Parameter]]:
    """The model's optimiser groups (``{"model": all}`` for one optimiser), checked: every
    trainable parameter in exactly one group."""
    groups = model.optimizer_groups()
    if groups is None:
        return {"model": [p for p in model.parameters() if p.requires_grad]}
    seen: dict[int, str] = {}
    for name, params in groups.items():
        for prm in params:
            if id(prm) in seen:
                raise ValueError(f"model {model.name!r}: a parameter is in optimiser groups "
                                 f"{seen[id(prm)]!r} and {name!r}")
            seen[id(prm)] = name
    left = [n for n, prm in model.named_parameters() if prm.requires_grad and id(prm) not in seen]
    if left:
        raise ValueError(f"model {model.name!r}: parameters in no optimiser group: {left[:5]}")
    return dict(groups)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def peak_memory_mb(device: torch.device) -> float:
    """CUDA: peak allocated by torch this session; CPU: the process's peak RSS."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _rng_state() -> dict[str, Any]:
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
    return {"torch": torch.get_rng_state(), "cuda": cuda}


def _set_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():  # as many GPUs as now (N vs M processes)
        for i, cuda_state in enumerate(state["cuda"][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, i)


# -------------------------------------------------------------------------- validation

def has_clean(data: TrainData | None) -> bool:
    """Whether ``data`` has clean images ``x`` (ValueError from ``item`` = no)."""
    if data is None or len(data) == 0:
        return False
    try:
        return "x" in data.item(0, ("y", "x"))
    except ValueError:
        return False


def val_chunks(data: TrainData, n: int, batch_size: int,
               fields_: tuple[str, ...]) -> Iterator[Batch]:
    """``n`` images of ``data`` evenly spaced over it (every subset is represented: the data
    is ordered by subset), full size, as CPU Batches of ``batch_size``."""
    index = np.unique(np.linspace(0, len(data) - 1, n).round().astype(int)) if n else []
    for start in range(0, len(index), batch_size):
        items = [data.item(int(i), fields_) for i in index[start:start + batch_size]]
        arrays = {f: torch.from_numpy(np.stack([np.asarray(it[f], np.float32)[None]
                                                for it in items]))
                  for f in fields_ if f != "params"}
        if "params" in fields_:
            from simart.physics.dataset_ops import stack_params

            arrays["params"] = stack_params([it["params"] for it in items])
        yield Batch(**arrays, subset=torch.tensor([int(it["subset"]) for it in items]))


def _per_image(fn: Callable, pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """``fn(pred, ref)`` per image; NaN where the prediction is not finite or the metric
    cannot be computed (images too small)."""
    if not bool(torch.isfinite(pred).all()):
        return torch.full((len(pred),), math.nan)
    try:
        return fn(pred, ref, data_range=1.0).float().cpu()
    except MetricUnavailable:
        return torch.full((len(pred),), math.nan)


@torch.no_grad()
def validate(model: RestorationModel, data: TrainData, settings: TrainSettings,
             device: torch.device, dtype: torch.dtype | None, clean: bool) -> dict[str, float]:
    """Mean ``val_psnr`` / ``val_ssim`` of ``model.predict`` vs ``x`` over
    ``val_images`` full images evenly spaced over the data (clean data), and ``val_loss`` (the training loss on them,
    with a fixed generator) when the metric is the loss or there is no clean image.

    Eval mode inside, train mode after; uses no training random numbers.
    """
    n = min(settings.val_images, len(data))
    want_loss = settings.val_metric == "loss" or not clean
    if want_loss and any(f in model.needs for f in ("u", "xu")):
        raise ValueError(f"model {model.name!r} trains on unpaired images: validate it on "
                         "clean val data with val_metric psnr")
    fields_ = tuple(dict.fromkeys(("y", *(model.needs if want_loss else ()),
                                   *(("x",) if clean else ()),
                                   *(("params",) if "params" in model.predict_needs else ()))))
    out: dict[str, list[torch.Tensor]] = {"val_psnr": [], "val_ssim": [], "val_loss": []}
    model.eval()
    try:
        for batch in val_chunks(data, n, settings.batch_size, fields_):
            batch = batch.to(device)
            with autocast(device, dtype):
                if clean:
                    gen = torch.Generator(device=device).manual_seed(settings.seed)
                    pred = run_predict(model, batch.y, batch.subset, params=batch.params,
                                       gen=gen)[0].float()
                if want_loss:
                    gen = torch.Generator(device=device).manual_seed(settings.seed)
                    args = (() if model.optimizer_groups() is None
                            else (lambda group, loss: None,))  # evaluate, update nothing
                    loss = model.training_step(batch, gen, *args)[0].float().cpu()
            if clean:
                out["val_psnr"].append(_per_image(psnr, pred, batch.x))
                out["val_ssim"].append(_per_image(ssim, pred, batch.x))
            if want_loss:
                out["val_loss"].append(loss.expand(len(batch.y)))
    finally:
        model.train()
    return {k: float(torch.cat(v).mean()) for k, v in out.items() if v}


# ------------------------------------------------------------------------------- train

class _Means:
    """Running sums of the loss and the model's logs since the last log.csv row."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.n, self.sums = 0, {}

    def add(self, loss: torch.Tensor, logs: Mapping[str, Any]) -> None:
        self.n += 1
        for k, v in {**logs, "loss": loss}.items():
            v = v.detach().float() if isinstance(v, torch.Tensor) else float(v)
            self.sums[k] = self.sums.get(k, 0.0) + v

    def means(self) -> dict[str, float]:
        return {k: float(v) / self.n for k, v in self.sums.items()} if self.n else {}

    def every_rank(self, world: World, device: torch.device) -> list[dict[str, Any]]:
        """The sums of every rank (as they are when alone: a run resumed on as many
        processes continues them bit-exactly)."""
        if world.size == 1:
            return [dict(self.sums)]
        return world.gather({k: float(v) for k, v in self.sums.items()}, device)

    def restore(self, n: int, sums: list[dict[str, Any]], world: World) -> None:
        """The sums of ``every_rank`` in this rank; their mean over the old ranks when
        their number changed (the row's means are the same, up to float rounding)."""
        self.n = n
        if len(sums) == world.size:
            self.sums = dict(sums[world.rank])
        else:
            self.sums = {k: sum(float(s[k]) for s in sums) / len(sums) for k in sums[0]}


@dataclass
class _State:
    """What a checkpoint carries besides the torch states."""

    step: int = 0
    best: dict[str, Any] | None = None      # step, metric, value, metrics
    last_val: dict[str, Any] | None = None  # step, metrics
    train_seconds: float = 0.0              # training steps only, summed over sessions
    elapsed_seconds: float = 0.0            # wall time incl. validation, summed
    resumes: int = 0


class _Run:
    """One session of :func:`train` (see there)."""

    def __init__(self, model: RestorationModel, train_data: TrainData,
                 val_data: TrainData | None, settings: TrainSettings, out_dir: Path,
                 identity: Mapping[str, Any], log: logging.Logger,
                 callback: Callable[[int], None] | None, world: World = ALONE):
        if len(train_data) < 1:
            raise ValueError("the training data has no images")
        world.check_batch(settings.batch_size)
        self.world = world
        try:
            self.identity = normalize(dict(identity))
        except TypeError as exc:
            raise TypeError(f"training identity must be JSON-able: {exc}") from None
        self.model, self.train_data, self.settings = model, train_data, settings
        self.val_data = val_data if val_data is not None and settings.val_images else None
        self.clean = has_clean(self.val_data)
        self.out_dir, self.log, self.callback = out_dir, log, callback
        self.want = ("y", *model.needs)
        self.device = resolve_device(settings.device)
        self.dtype = amp_dtype(settings, self.device)
        self.state = _State()
        self.means = _Means()
        self.row_step, self.row_seconds = 0, 0.0  # where the log row under way began

    # -- set-up and resume
    def setup(self) -> None:
        s = self.settings
        # channels-last weights (and batches, Batch.to): faster convolutions, same values
        self.model.to(self.device, memory_format=torch.channels_last).train()
        self.multi = self.model.optimizer_groups() is not None
        self.optimizers = {g: make_optimizer(self.model, s, prms)
                           for g, prms in optimizer_groups(self.model).items()}
        self.group_params = {g: [p for grp in opt.param_groups for p in grp["params"]]
                             for g, opt in self.optimizers.items()}
        self.schedulers = {g: torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: lr_factor(step, s)) for g, opt in self.optimizers.items()}
        self.scaler = torch.amp.GradScaler(self.device.type,
                                           enabled=self.dtype == torch.float16)
        if s.compile and self.device.type == "cuda":
            # Inductor's determinism option follows torch's flag (see set_deterministic)
            import torch._inductor.config as inductor_config

            inductor_config.deterministic = torch.are_deterministic_algorithms_enabled()
            self.model.compile_networks()  # each sub-network, in place: same state_dict keys
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        if self.val_data is not None and not self.clean and s.val_metric == "psnr":
            self.log.warning("the val data has no clean images: best.pt is selected on the "
                             "training loss of the val images, not PSNR")

    def resume(self) -> None:
        """Load ``last.pt`` when present (checked), else clear a previous run's outputs."""
        path = self.out_dir / "last.pt"
        if not path.exists():
            if self.world.main:
                for name in ("best.pt", "summary.json"):
                    (self.out_dir / name).unlink(missing_ok=True)
                self.csv = CsvLog(self.out_dir / "log.csv", keep_through=0)
            self.world.broadcast([*self.model.parameters(), *self.model.buffers()])
            return
        ckpt = load_checkpoint(path)
        check_identity(path, ckpt.get("identity", {}), self.identity)
        check_settings(path, ckpt.get("settings", {}), self.settings.to_dict(), FREE_SETTINGS)
        try:
            self.model.load_state_dict(ckpt["model"])
            if set(ckpt["optimizer"]) != set(self.optimizers):
                raise ValueError(f"optimiser groups {sorted(ckpt['optimizer'])} in the "
                                 f"checkpoint, {sorted(self.optimizers)} now")
            for g, opt in self.optimizers.items():
                opt.load_state_dict(ckpt["optimizer"][g])
                self.schedulers[g].load_state_dict(ckpt["scheduler"][g])
            self.scaler.load_state_dict(ckpt["scaler"])
            _set_rng_state(ckpt["rng"])
            self.state = _State(**ckpt["state"])
            self.row_step, self.row_seconds = self.state.step, self.state.train_seconds
            if "pending" in ckpt:  # the log row under way when the checkpoint was written
                pending = ckpt["pending"]
                self.means.restore(int(pending["n"]), pending["sums"], self.world)
                self.row_step, self.row_seconds = pending["row_step"], pending["row_seconds"]
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise CheckpointCorrupt(f"checkpoint {path} does not fit this model/run "
                                    f"({type(exc).__name__}: {exc}): delete it") from exc
        if self.state.step < self.settings.steps:
            self.state.resumes += 1
        if self.world.main:
            self.csv = CsvLog(self.out_dir / "log.csv", keep_through=self.state.step)
        self._repair_best()
        done = " (already complete)" if self.state.step == self.settings.steps else ""
        if self.world.main:
            self.log.info("resumed from %s at step %d/%d%s", path, self.state.step,
                          self.settings.steps, done)
        self.world.broadcast([*self.model.parameters(), *self.model.buffers()])

    def _repair_best(self) -> None:
        """Make ``best.pt`` agree with the checkpoint's best step.

        ``last.pt`` is always written before ``best.pt`` (at the same step), so a kill
        between the two leaves a checkpoint whose best step is its own step: its weights
        are the best ones.
        """
        best, path = self.state.best, self.out_dir / "best.pt"
        if best is None:
            path.unlink(missing_ok=True)
            return
        try:
            on_disk = load_checkpoint(path).get("step") if path.exists() else None
        except CheckpointCorrupt:
            on_disk = None
        if on_disk == best["step"]:
            return
        if best["step"] == self.state.step:
            self.save_best()  # rank 0 (the others read the same files and agree)
        else:  # the best weights are lost: they cannot be rebuilt from last.pt
            raise CheckpointCorrupt(f"{path} (step {on_disk}) does not hold the best step "
                                    f"{best['step']} of {self.out_dir / 'last.pt'}")

    # -- saving
    def pending(self) -> dict[str, Any] | None:
        """The log row under way (None when a row was just written); every rank calls it
        (the sums of every rank are gathered)."""
        if not self.means.n:
            return None
        return {"n": self.means.n, "sums": self.means.every_rank(self.world, self.device),
                "row_step": self.row_step, "row_seconds": self.row_seconds}

    def save_last(self, pending: dict[str, Any] | None = None) -> None:
        """``last.pt`` (rank 0; the others hold the same weights and states)."""
        if not self.world.main:
            return
        st = self.state
        save_checkpoint(self.out_dir / "last.pt", {
            "kind": "last", "identity": self.identity, "settings": self.settings.to_dict(),
            "step": st.step, "model": self.model.state_dict(),
            "optimizer": {g: o.state_dict() for g, o in self.optimizers.items()},
            "scheduler": {g: c.state_dict() for g, c in self.schedulers.items()},
            "scaler": self.scaler.state_dict(), "rng": _rng_state(), "state": asdict(st),
            **({"pending": pending} if pending is not None else {})})

    def save_best(self, metric: str | None = None) -> None:
        if not self.world.main:
            return
        best = self.state.best or {"step": self.state.step, "metric": metric, "value": None,
                                   "metrics": {}}
        save_checkpoint(self.out_dir / "best.pt", {
            "kind": "best", "identity": self.identity, "settings": self.settings.to_dict(),
            **best, "model": self.model.state_dict()})

    # -- the loop
    def batches(self, start: int) -> Iterator[tuple[int, dict[str, torch.Tensor]]]:
        """(step, CPU batch tensors) for steps ``start .. steps-1``."""
        s, steps = self.settings, range(start, self.settings.steps)
        rank, world = self.world.rank, self.world.size
        if s.num_workers == 0 or not steps:
            for step in steps:
                yield step, batch_tensors(self.train_data, step, s, self.want, rank, world)
            return
        loader = DataLoader(StepBatches(self.train_data, s, self.want, rank, world),
                            batch_size=None, sampler=steps, num_workers=s.num_workers,
                            persistent_workers=True, pin_memory=self.device.type == "cuda",
                            worker_init_fn=ignore_stop_signals,  # the loop stops, not them
                            generator=torch.Generator().manual_seed(s.seed))  # not global RNG
        yield from zip(steps, loader, strict=True)

    def train_step(self, step: int, arrays: dict[str, torch.Tensor]):
        """One optimiser update on the batch of (0-based) ``step``."""
        batch = Batch(**arrays).to(self.device, non_blocking=True)
        world = self.world
        gen = step_generator(self.settings.seed, step, self.device, world.rank, world.size)
        if world.size > 1:  # per-rank, per-step global RNG; rank 0's buffers (as DDP)
            torch.manual_seed(rank_seed(self.settings.seed, step, world.rank))
            world.broadcast(self.model.buffers())
        if not self.multi:
            with autocast(self.device, self.dtype):
                loss, logs = self.model.training_step(batch, gen)
            self.update("model", loss)
        else:
            done: list[str] = []

            def update(group: str, group_loss: torch.Tensor) -> None:
                if group not in self.optimizers or group in done:
                    raise ValueError(f"model {self.model.name!r}: update({group!r}) "
                                     f"{'twice' if group in done else 'of no group'} in a "
                                     f"step (groups {list(self.optimizers)})")
                done.append(group)
                self.update(group, group_loss)

            with autocast(self.device, self.dtype):
                loss, logs = self.model.training_step(batch, gen, update)
            if sorted(done) != sorted(self.optimizers):
                raise ValueError(f"model {self.model.name!r}: training_step updated "
                                 f"{done}, not every group of {list(self.optimizers)}")
        self.scaler.update()
        for sched in self.schedulers.values():
            sched.step()
        return loss.detach(), logs

    def update(self, group: str, loss: torch.Tensor) -> None:
        """zero_grad, backward, clipping and the optimiser step of one group."""
        opt = self.optimizers[group]
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.world.average_gradients(self.group_params[group])
        if self.settings.grad_clip:
            self.scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_([p for grp in opt.param_groups for p in grp["params"]],
                                           self.settings.grad_clip)
        self.scaler.step(opt)

    def loop(self) -> None:
        s, st = self.settings, self.state
        self.session_start = self.seg_start = time.perf_counter()
        self.session_steps, self.elapsed_at_start = st.step, st.elapsed_seconds
        means = self.means
        with tqdm(total=s.steps, initial=st.step, disable=not s.progress or not self.world.main,
                  file=sys.stderr, unit="step", dynamic_ncols=True,
                  desc=self.identity.get("model")) as bar:
            for step, arrays in self.batches(st.step):
                means.add(*self.train_step(step, arrays))
                st.step = step + 1
                bar.update(1)
                self.after_step(means, bar)
                if self.callback is not None:
                    self.callback(st.step)
                if st.step < s.steps and self.world.any(stop_requested() is not None,
                                                        self.device):
                    self.stop()

    def stop(self) -> None:
        """Write the resume point and raise :class:`Preempted` (every rank, same step)."""
        self.pause_clock()
        self.save_last(self.pending())
        self.world.barrier()  # last.pt is complete before any rank exits
        signum = stop_requested()
        if self.world.main:
            self.log.warning("stopping on %s after step %d/%d: last.pt written; a rerun "
                             "resumes there", _signal_name(signum), self.state.step,
                             self.settings.steps)
        raise Preempted(self.state.step, signum)

    def after_step(self, means: _Means, bar: tqdm) -> None:
        """Validation, log row, checkpoints -- in this order, so that a kill after a
        checkpoint never leaves log rows missing for the steps it holds."""
        s, done = self.settings, self.state.step
        end = done == s.steps
        val_due = self.val_data is not None and (end or _due(done, s.val_every))
        row_due = val_due or end or done % s.log_every == 0
        ckpt_due = end or _due(done, s.checkpoint_every)
        if not (row_due or ckpt_due):
            return
        self.pause_clock()
        main = self.world.main
        row = self.world.mean(means.means(), self.device)  # the global batch's means
        self.check_finite(row.get("loss"))
        metrics = self.run_validation() if val_due and main else {}
        improved = self.track_best(metrics)
        if row_due:
            if main:
                self.write_row(row, metrics, bar)
            means.reset()
        pending = self.pending() if ckpt_due else None  # a collective: every rank
        if ckpt_due or improved:
            self.save_last(pending)
        if improved:
            self.save_best()
        self.seg_start = time.perf_counter()

    def pause_clock(self) -> None:
        _sync(self.device)
        now = time.perf_counter()
        self.state.train_seconds += now - self.seg_start
        self.state.elapsed_seconds = self.elapsed_at_start + now - self.session_start
        self.seg_start = now

    def check_finite(self, loss: float | None) -> None:
        if loss is not None and not math.isfinite(loss) and not self.scaler.is_enabled():
            raise FloatingPointError(
                f"training loss is {loss} (steps {self.row_step + 1}..{self.state.step}): "
                "lower lr, set grad_clip, or check the data")

    def run_validation(self) -> dict[str, float]:
        metrics = validate(self.model, self.val_data, self.settings, self.device, self.dtype,
                           self.clean)
        self.state.last_val = {"step": self.state.step, "metrics": metrics}
        self.state.elapsed_seconds = (self.elapsed_at_start + time.perf_counter()
                                      - self.session_start)
        return metrics

    def best_key(self) -> str:
        return "val_psnr" if self.settings.val_metric == "psnr" and self.clean else "val_loss"

    def track_best(self, metrics: Mapping[str, float]) -> bool:
        key = self.best_key()
        value = metrics.get(key, math.nan)
        if not math.isfinite(value):
            return False
        best = self.state.best
        if best is not None and not (value > best["value"] if key == "val_psnr"
                                     else value < best["value"]):
            return False
        self.state.best = {"step": self.state.step, "metric": key, "value": value,
                           "metrics": dict(metrics)}
        return True

    def write_row(self, means: Mapping[str, float], metrics: Mapping[str, float],
                  bar: tqdm) -> None:
        s, st = self.settings, self.state
        seconds = st.train_seconds - self.row_seconds
        ips = (st.step - self.row_step) * s.batch_size / seconds if seconds > 0 else math.nan
        extra = sorted(k for k in means if k != "loss")
        row = {"step": st.step, "epoch": st.step * s.batch_size / len(self.train_data),
               "lr": s.lr * lr_factor(st.step - 1, s), "loss": means.get("loss"),
               **{k: means[k] for k in extra}, "val_psnr": metrics.get("val_psnr"),
               "val_ssim": metrics.get("val_ssim"), "val_loss": metrics.get("val_loss"),
               "images_per_s": ips, "elapsed_s": st.elapsed_seconds}
        self.csv.write(row)
        self.row_step, self.row_seconds = st.step, st.train_seconds
        bar.set_postfix(loss=f"{row['loss']:.4g}", refresh=False)
        n_rows = st.step // s.log_every
        if metrics or st.step == s.steps or n_rows % _LOG_LINE_ROWS == 0:
            self.log_line(row, metrics)

    def log_line(self, row: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
        st, s = self.state, self.settings
        done = st.step - self.session_steps
        eta = (time.perf_counter() - self.session_start) / done * (s.steps - st.step)
        val = " ".join(f"{k} {v:.4g}" for k, v in metrics.items())
        best = self.state.best
        best_txt = f" (best {best['metric']} {best['value']:.4g} at {best['step']})" if (
            best and metrics) else ""
        self.log.info("step %d/%d loss %.4g  %.1f img/s  ETA %s  %s%s", st.step, s.steps,
                      row["loss"], row["images_per_s"], _hms(eta), val, best_txt)

    # -- the end
    def summary(self) -> dict[str, Any]:
        s, st = self.settings, self.state
        best, last = st.best or {}, st.last_val or {}
        return _json_safe({
            "identity": self.identity, "settings": s.to_dict(),
            "n_parameters": n_parameters(self.model), "steps": st.step,
            "train_seconds": st.train_seconds, "elapsed_seconds": st.elapsed_seconds,
            "images_per_s": st.step * s.batch_size / st.train_seconds
            if st.train_seconds > 0 else None,
            "peak_memory_mb": peak_memory_mb(self.device), "device": device_name(self.device),
            "amp_dtype": str(self.dtype).removeprefix("torch.") if self.dtype else None,
            "compiled": s.compile and self.device.type == "cuda",
            "best_step": best.get("step"), "best_metric": best.get("metric"),
            "best_value": best.get("value"), "best_val": best.get("metrics"),
            "final_step": last.get("step"), "final_val": last.get("metrics"),
            "torch_version": str(torch.__version__), "resumed": st.resumes > 0,
            "resumes": st.resumes, "processes": self.world.size})

    def finish(self) -> dict[str, Any]:
        if self.state.best is None:  # no validation (or never finite): the final weights
            if self.val_data is not None and self.world.main:
                self.log.warning("no finite validation value: best.pt = the final weights")
            self.save_best(metric=None)
        out = self.summary()
        if self.world.main:
            with atomic_path(self.out_dir / "summary.json") as tmp:
                tmp.write_text(json.dumps(out, indent=2, allow_nan=False) + "\n")
        return out


def _signal_name(signum: int | None) -> str:
    return signal.Signals(signum).name if signum else "a signal"


def _due(step: int, every: int) -> bool:
    return every > 0 and step % every == 0


def _hms(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _json_safe(obj: Any) -> Any:
    """NaN / inf -> None, recursively (summary.json is strict JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    return obj


def train(model: RestorationModel, train_data: TrainData, val_data: TrainData | None,
          settings: TrainSettings, out_dir: str | os.PathLike, *, identity: Mapping[str, Any],
          log: logging.Logger | None = None,
          callback: Callable[[int], None] | None = None,
          world: World = ALONE) -> dict[str, Any]:
    """Train ``model`` for ``settings.steps`` steps, resuming from ``out_dir/last.pt``.

    ``identity``: JSON-able description of what is trained (model name under ``"model"``,
    hparams, dataset, subsets, data signature ...); a ``last.pt`` of another identity, or
    written with other settings (all but :data:`FREE_SETTINGS`), is refused with
    :class:`CheckpointMismatch`; an unreadable one raises :class:`CheckpointCorrupt`.
    Seed the model's initialisation yourself (``torch.manual_seed(seed)`` just before
    building it) for reproducible runs. ``val_data``: None or images without ``x`` allowed
    (see :func:`validate`). ``callback(step)``: called after each step's log row and
    checkpoint (tests kill the process there). ``world``: this process's place in a
    data-parallel training (:func:`simart.train.distributed.launch`; default alone).

    SIGUSR1 / SIGTERM during the run stop it cleanly after the current step: ``last.pt``
    is written and :class:`Preempted` raised (a rerun resumes there).

    Writes ``out_dir``: ``last.pt``, ``best.pt``, ``log.csv``, ``summary.json``; returns the
    summary dict. Global torch flags (threads, deterministic algorithms) are restored after.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = _Run(model, train_data, val_data, settings, out, identity, log or LOG, callback,
               world)
    with stop_on_signals(), torch_state(settings, run.device):
        run.setup()
        run.resume()
        run.loop()
        return run.finish()


# ------------------------------------------------------------------------ trained models

def _build_registered(identity: Mapping[str, Any]) -> RestorationModel:
    from simart.models import build_model

    return build_model(identity["model"], identity.get("hparams", {}))


def load_trained(path: str | os.PathLike, *, expect_identity: Mapping[str, Any] | None = None,
                 build: Callable[[dict], RestorationModel] | None = None,
                 device: str | torch.device = "cpu") -> RestorationModel:
    """The model of a checkpoint (``best.pt`` or ``last.pt``), in eval mode on ``device``.

    ``build(identity)`` makes the (untrained) model; default
    ``simart.models.build_model(identity["model"], identity["hparams"])``. Refused with
    :class:`CheckpointMismatch` when ``expect_identity`` is given and differs, or when the
    built model's ``name`` is not the checkpoint's model.
    """
    ckpt = load_checkpoint(path)
    ident = ckpt.get("identity", {})
    if expect_identity is not None:
        check_identity(path, ident, expect_identity)
    model = (build or _build_registered)(ident)
    name, stored = getattr(model, "name", None), ident.get("model")
    if name and stored is not None and name != stored:
        raise CheckpointMismatch(f"checkpoint {path} holds weights of model {stored!r}, "
                                 f"not {name!r}")
    try:
        model.load_state_dict(ckpt["model"])
    except (KeyError, RuntimeError) as exc:
        raise CheckpointMismatch(f"checkpoint {path}: its weights do not fit the model "
                                 f"built for it ({exc})") from exc
    return model.to(device).eval()


@torch.no_grad()
def inference_timing(model: RestorationModel, size: int = 512,
                     device: str | torch.device | None = None, n: int = 3) -> float:
    """Seconds per ``size`` x ``size`` image of ``model.predict`` (batch 1, eval mode,
    moved to ``device``; default: where its parameters are): one warm-up call, then the
    median of ``n``. Uses a private generator (no global RNG)."""
    params = list(model.parameters())
    device = torch.device(device) if device is not None else (
        params[0].device if params else torch.device("cpu"))
    model.to(device).eval()
    y = torch.rand((1, 1, size, size), generator=torch.Generator().manual_seed(0)).to(device)
    model.predict(y)
    _sync(device)
    times = []
    for _ in range(max(1, n)):
        t0 = time.perf_counter()
        model.predict(y)
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
