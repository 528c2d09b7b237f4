"""Data-parallel training (N processes, one global batch) and stopping cleanly on a signal.

Launch. :func:`launch` runs ``fn(world, **kwargs)`` in-process when N = 1 (exactly the
single-process code path), else in N processes it starts itself with
``torch.multiprocessing``'s *spawn* context: rank r on GPU r with NCCL when the training
device is CUDA, N CPU processes with gloo otherwise. Spawning from the job itself (not
``torchrun`` / ``srun --ntasks``) works the same on a workstation and inside one Slurm
allocation, whose executor plugin runs every job as ``srun -n1`` (one task that holds all
the job's GPUs and CPUs). The processes meet through a file store in a fresh temporary
folder (no port to pick). The parent waits for all of them: a crashed rank takes the others
down at once (they could only hang in their next collective), its exception is re-raised
in the parent with the rank's traceback attached, and rank 0's return value is returned.

Gradient averaging instead of ``DistributedDataParallel``: after each ``backward`` the
loop calls :meth:`World.average_gradients` on the parameters of the optimiser group being
updated (one flat all-reduce per group and step). DDP hooks the module's ``forward`` and
the autograd graph of one module; our models call sub-networks from their loss methods
(``training_step``), GANs update several optimiser groups per step, each from its own
backward, with other groups frozen, and some parameters receive no gradient in a step
(per-subset heads): DDP would need one wrapper per sub-network, ``find_unused_parameters``
and ``no_sync`` juggling per group. Averaging the gradients of the group being stepped is
what DDP computes, for any model structure; the price is that the communication does not
overlap the backward pass (DDP's buckets do). A parameter with no gradient on any rank keeps
``grad = None`` (the optimiser skips it, as in one process); one with a gradient on some
ranks gets the mean over all ranks (zeros elsewhere). Buffers (BatchNorm running
statistics) are broadcast from rank 0 before every step, as DDP does; batch statistics stay
per rank (no SyncBatchNorm), as with DDP.

Equivalence. The global batch is ``batch_size`` (rank r takes its slice ``[r b/N, (r+1)
b/N)`` of the batch one process would draw, :func:`simart.train.batches.batch_arrays`);
losses are means over the batch, so the mean of the ranks' gradients is the gradient of
the global batch, and N processes give the weights of one process up to the order of float
additions -- for models that draw no random numbers in ``training_step``. Random draws of
a model (noise, masks, dropout) come from per-rank streams seeded by ``(seed, step,
rank)``: the same distribution, not the same numbers as one process.

Signals. :func:`stop_on_signals` turns SIGUSR1 and SIGTERM into a request to stop: the loop
finishes its current step, all ranks agree on the step (:meth:`World.any`), rank 0 writes
``last.pt`` and every rank raises :class:`Preempted`; the workflow script then exits with
:data:`EXIT_PREEMPTED` so that Snakemake retries the job, which resumes from ``last.pt``.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import Connection, wait
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["ALONE", "EXIT_PREEMPTED", "STOP_SIGNALS", "Preempted", "World", "launch", "stop_on_signals",
           "stop_requested"]

#: Exit status of a training stopped by a signal with its resume point written
#: (``EX_TEMPFAIL``: "try again later"; any non-zero status makes Snakemake retry).
EXIT_PREEMPTED = 75
#: Signals that stop a training cleanly (Slurm: ``--signal``, preemption, time limit).
STOP_SIGNALS = (signal.SIGUSR1, signal.SIGTERM)
#: How long a rank waits in a collective for the others: rank 0 validates (and writes
#: checkpoints) while the others wait at the next step, which takes minutes for a
#: sampling model on hundreds of full-size images.
TIMEOUT = timedelta(hours=4)
#: After one rank stopped on a signal, the others get this long to reach their exit.
STOP_GRACE_S = 120.0

LOG = logging.getLogger("simart.train")


class Preempted(Exception):
    """The training stopped on a signal after writing its resume point (``last.pt``)."""

    def __init__(self, step: int, signum: int | None = None):
        name = signal.Signals(signum).name if signum else "a signal"
        super().__init__(f"stopped on {name} after step {step}; last.pt holds the resume "
                         "point (rerun to continue)")
        self.step, self.signum = step, signum

    def __reduce__(self):  # picklable across processes with its fields
        return (Preempted, (self.step, self.signum))


# ---------------------------------------------------------------------------- signals

_received: list[int] = []


def _note(signum: int, frame: Any) -> None:
    _received.append(signum)


def stop_requested() -> int | None:
    """The first stop signal received by this process (inside :func:`stop_on_signals`)."""
    return _received[0] if _received else None


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within: SIGUSR1 / SIGTERM are noted (:func:`stop_requested`), not fatal. Nested
    uses keep the outer one's notes; the previous handlers are restored on leaving. Outside
    the main thread (where handlers cannot be installed) it does nothing."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(STOP_SIGNALS[0]) is _note:
        yield
        return
    _received.clear()
    previous = {s: signal.signal(s, _note) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def ignore_stop_signals(*_: Any) -> None:
    """``worker_init_fn`` of DataLoader workers: Slurm signals every process of the job
    step; a batch-assembly worker must survive it (the loop stops, not the worker)."""
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)


# ------------------------------------------------------------------------------ world

@dataclass(frozen=True)
class World:
    """This process's place among the ``size`` training processes (``size`` 1: alone; then
    every method is a no-op or the identity)."""

    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        """Rank 0: the one that validates, logs and writes files."""
        return self.rank == 0

    def check_batch(self, batch_size: int) -> int:
        """The per-process batch; ValueError unless ``batch_size`` splits evenly."""
        if batch_size % self.size:
            raise ValueError(f"training batch_size {batch_size} does not split over "
                             f"{self.size} processes (train.gpus): each process takes "
                             f"batch_size / {self.size} images of the global batch; set "
                             f"batch_size to a multiple of {self.size}")
        return batch_size // self.size

    def barrier(self) -> None:
        if self.size > 1:
            dist.barrier()

    def any(self, flag: bool, device: torch.device) -> bool:
        """Whether ``flag`` is true on any rank (the same answer on every rank)."""
        if self.size == 1:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def mean(self, values: dict[str, float], device: torch.device) -> dict[str, float]:
        """The mean over ranks of each value (the same keys on every rank)."""
        if self.size == 1 or not values:
            return values
        keys = sorted(values)
        t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return {k: float(v) / self.size for k, v in zip(keys, t.tolist(), strict=True)}

    def gather(self, values: dict[str, float], device: torch.device) -> list[dict[str, float]]:
        """Every rank's ``values`` (the same keys on every rank), in rank order."""
        if self.size == 1:
            return [values]
        keys = sorted(values)
        t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
        out = [torch.empty_like(t) for _ in range(self.size)]
        dist.all_gather(out, t)
        return [dict(zip(keys, o.tolist(), strict=True)) for o in out]

    def average_gradients(self, params: Iterable[torch.nn.Parameter]) -> None:
        """Replace each gradient by its mean over ranks (one all-reduce per dtype; see
        the module docstring for parameters without a gradient on some ranks)."""
        if self.size == 1:
            return
        by_dtype: dict[tuple[torch.dtype, torch.device], list[torch.nn.Parameter]] = {}
        for p in params:
            by_dtype.setdefault((p.dtype, p.device), []).append(p)
        for (dtype, device), group in by_dtype.items():
            flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                              for p in group]
                             + [torch.tensor([float(p.grad is not None) for p in group],
                                             dtype=dtype, device=device)])
            dist.all_reduce(flat)
            flat /= self.size
            has = flat[-len(group):].tolist()
            offset = 0
            for p, h in zip(group, has, strict=True):
                n = p.numel()
                if h > 0:
                    mean = flat[offset:offset + n].view_as(p)
                    if p.grad is None:
                        p.grad = mean.clone(memory_format=torch.preserve_format)
                    else:
                        p.grad.copy_(mean)
                offset += n

    def broadcast(self, tensors: Iterable[torch.Tensor]) -> None:
        """Copy rank 0's values of ``tensors`` to every rank (one broadcast per dtype)."""
        if self.size == 1:
            return
        by_dtype: dict[tuple[torch.dtype, torch.device], list[torch.Tensor]] = {}
        for t in tensors:
            by_dtype.setdefault((t.dtype, t.device), []).append(t)
        with torch.no_grad():
            for group in by_dtype.values():
                flat = torch.cat([t.reshape(-1) for t in group])
                dist.broadcast(flat, src=0)
                offset = 0
                for t in group:
                    t.copy_(flat[offset:offset + t.numel()].view_as(t))
                    offset += t.numel()


#: One process alone (the default of every ``world`` argument).
ALONE = World()


# ----------------------------------------------------------------------------- launch

def backend_for(device: str, processes: int) -> str:
    """``nccl`` (one GPU per process) when ``device`` resolves to CUDA, else ``gloo``;
    ValueError when CUDA is asked for but fewer GPUs are visible than processes."""
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if not cuda:
        return "gloo"
    have = torch.cuda.device_count()
    if have < processes:
        raise ValueError(f"{processes} training processes (train.gpus) need {processes} GPUs, "
                         f"this job sees {have} (CUDA_VISIBLE_DEVICES="
                         f"{os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')}); a Slurm "
                         "profile must not set `gpu` for train_model (the rule asks for "
                         "train.gpus)")
    return "nccl"


def launch(fn: Callable[..., Any], processes: int, *, device: str = "auto",
           kwargs: dict[str, Any] | None = None) -> Any:
    """``fn(World(rank, processes), **kwargs)`` on every rank; rank 0's return value.

    ``processes`` 1: called here, in this process. Else ``fn`` and ``kwargs`` must be
    picklable (a module-level function) and the main script must keep its work under
    ``if __name__ == "__main__":`` (spawned processes import it; without the guard they
    fail at start-up with multiprocessing's "bootstrapping phase" error); see the module
    docstring. Raises the first failed
    rank's exception (with its traceback as a note), or :class:`Preempted` when the ranks
    stopped on a signal (a SIGUSR1 / SIGTERM sent to this process is passed on to them).
    """
    kwargs = dict(kwargs or {})
    if processes < 1:
        raise ValueError(f"processes must be >= 1, not {processes}")
    if processes == 1:
        return fn(World(), **kwargs)
    backend = backend_for(device, processes)
    ctx = torch.multiprocessing.get_context("spawn")
    tmp = tempfile.mkdtemp(prefix="simart-train-")
    store = os.path.join(tmp, "store")
    pipes = [ctx.Pipe(duplex=False) for _ in range(processes)]
    procs = [ctx.Process(target=_worker, name=f"simart-train-{r}", daemon=False,
                         args=(fn, kwargs, r, processes, backend, store, pipes[r][1],
                               _log_config()))
             for r in range(processes)]
    started = []
    try:
        for p in procs:
            p.start()
            started.append(p)
        for _, send in pipes:
            send.close()  # the children hold the write ends
        with _forwarding(procs):
            reports = _wait(procs, [recv for recv, _ in pipes])
    finally:
        for p in started:
            if p.is_alive():
                p.kill()
            p.join()
        shutil.rmtree(tmp, ignore_errors=True)
    return _outcome(reports, procs)


def _worker(fn: Callable[..., Any], kwargs: dict[str, Any], rank: int, size: int,
            backend: str, store: str, conn: Connection, log_config: dict[str, Any]) -> None:
    """One rank: join the group, run ``fn``, report to the parent, exit (0, 75 or 1)."""
    code = 1
    # the spawned rank imported the workflow script again, and with it simart.jobstart
    # (garbage collection off while libraries load): on for the training, as in the parent
    gc.freeze()
    gc.enable()
    with stop_on_signals():
        _setup_logging(rank, log_config)
        try:
            if backend == "nccl":
                torch.cuda.set_device(rank)
            dist.init_process_group(backend, init_method=f"file://{store}", rank=rank,
                                    world_size=size, timeout=TIMEOUT)
            try:
                result = fn(World(rank, size), **kwargs)
            finally:
                dist.destroy_process_group()
            conn.send(("ok", result if rank == 0 else None, ""))
            code = 0
        except Preempted as exc:
            conn.send(("preempted", exc, ""))
            code = EXIT_PREEMPTED
        except BaseException as exc:  # noqa: BLE001 -- reported to the parent, then exit 1
            try:
                pickle.dumps(exc)
            except Exception:  # noqa: BLE001 -- an exception that does not pickle
                exc = RuntimeError(f"{type(exc).__name__}: {exc}")
            conn.send(("error", exc, traceback.format_exc()))
        finally:
            conn.close()
    sys.exit(code)


def _wait(procs: list, conns: list[Connection]) -> dict[int, tuple[str, Any, str]]:
    """Collect each rank's report until all exited; kill the rest when one crashed, or
    when they do not follow a stopped rank within :data:`STOP_GRACE_S`."""
    reports: dict[int, tuple[str, Any, str]] = {}
    open_conns = dict(enumerate(conns))
    running = {p.sentinel: r for r, p in enumerate(procs)}
    deadline: float | None = None
    while running or open_conns:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready = wait([*running, *open_conns.values()], timeout=timeout)
        if not ready:  # grace period over
            for r in running.values():
                LOG.error("training process %d did not stop; killing it", r)
                procs[r].kill()
            deadline = None
            continue
        for obj in ready:
            if obj in running:
                r = running.pop(obj)
                procs[r].join()
                code = procs[r].exitcode
                if code not in (0, EXIT_PREEMPTED) and r not in reports:
                    reports[r] = ("error", RuntimeError(
                        f"training process {r} died (exit status {code})"), "")
                if code not in (0, EXIT_PREEMPTED):
                    for other in running.values():  # they would hang in a collective
                        procs[other].kill()
                elif code == EXIT_PREEMPTED and deadline is None:
                    deadline = time.monotonic() + STOP_GRACE_S
            else:
                r = next(k for k, c in open_conns.items() if c is obj)
                try:
                    reports[r] = obj.recv()
                except EOFError:
                    pass
                del open_conns[r]
    return reports


def _outcome(reports: dict[int, tuple[str, Any, str]], procs: list) -> Any:
    errors = sorted(r for r, (kind, _, _) in reports.items() if kind == "error")
    if errors:
        # the first failure that is not a consequence of another rank's
        r = next((r for r in errors if "died (exit status" not in str(reports[r][1])), errors[0])
        _, exc, tb = reports[r]
        if tb:
            exc.add_note(f"in training process {r} of {len(procs)}:\n{tb.rstrip()}")
        raise exc
    stopped = [reports[r][1] for r in sorted(reports) if reports[r][0] == "preempted"]
    if stopped:
        raise stopped[0]
    if 0 not in reports:
        raise RuntimeError("training process 0 exited without a result")
    return reports[0][1]


@contextmanager
def _forwarding(procs: list) -> Iterator[None]:
    """SIGUSR1 / SIGTERM received by the parent go to every rank (a signal from Slurm
    reaches them directly too: they note it twice)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(signum: int, frame: Any) -> None:
        for p in procs:
            if p.pid is not None and p.is_alive():
                os.kill(p.pid, signum)

    previous = {s: signal.signal(s, forward) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _log_config() -> dict[str, Any]:
    """The parent's log files and format, for the ranks (spawned processes start bare).
    The parent's own file handlers switch to appending: opened with ``w``, it would write
    its next lines over the ranks'."""
    root = logging.getLogger()
    files = []
    for h in root.handlers:
        if isinstance(h, logging.FileHandler):
            files.append(h.baseFilename)
            if h.mode != "a":
                h.mode = "a"
                old = h.setStream(open(h.baseFilename, "a", encoding=h.encoding))  # noqa: SIM115
                if old is not None:
                    old.close()
    fmt = next((h.formatter._fmt for h in root.handlers if h.formatter is not None), None)
    return {"files": files, "format": fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s",
            "level": root.level or logging.INFO}


def _setup_logging(rank: int, config: dict[str, Any]) -> None:
    """Rank 0 logs like the parent (appending to its log files); the others warnings only,
    each line marked with the rank."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    handlers += [logging.FileHandler(f, mode="a") for f in config["files"]]
    fmt = config["format"] if rank == 0 else config["format"].replace(
        "%(message)s", f"[rank {rank}] %(message)s")
    logging.basicConfig(level=config["level"] if rank == 0 else logging.WARNING,
                        handlers=handlers, format=fmt, force=True)
