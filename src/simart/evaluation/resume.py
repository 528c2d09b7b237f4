"""A prediction job's resume point: restorations that survive a time limit or preemption.

Why: at paper scale one ``predict_shard`` job samples for GPU-hours (the conditional DDPM:
200 steps x 15 samples per 512² image; PCSD: 1000 guided steps) and BM3D takes minutes per
shard on the CPU; a job killed at its Slurm time limit would start from zero on its retry.

What. :func:`simart.evaluation.cells.predict_shards` keeps one :class:`ResumePoint` per job,
the file ``{shard}.resume.h5`` beside the job's predictions (``results/predictions/{dataset}/
{model}/{shard}.h5``; not a declared output, so Snakemake leaves it when the job fails). It
holds, per subset, the images restored so far (whole batches; one image is one batch for
the classical rows), their extra outputs (uncertainty maps ...), status and reason, per-image
seconds, the batch size in use and the sampling generator's state after the last finished
batch (``torch.Generator.get_state``, CUDA generators too), and what it was made from
(:func:`made_from`: model, dataset, shard fingerprints, weights SHA-256, the row's settings,
seed, device type, library code version). A file made from anything else is never used:
the job logs why and starts over.

When. After a batch: every ``every_minutes`` (config ``evaluate.inference.
resume_every_minutes``, default :data:`simart.specs.inference.RESUME_EVERY_MINUTES`; 0: no
periodic saves) or every ``every_batches`` batches (tests), and on SIGTERM / SIGUSR1
(:func:`simart.train.distributed.stop_on_signals`, as the training: the current batch
finishes, the file is written and :class:`PredictionPreempted` -- a
:class:`~simart.train.distributed.Preempted` -- is raised; the rule's script exits with
``EXIT_PREEMPTED`` and Snakemake's retry continues). A kill loses at most the work since the
last save (``every_minutes``, or one batch when batches take longer). Writes are atomic
(:func:`simart.io.h5_file_atomic`): a kill during a save leaves the previous file.

Equivalence. The resumed job restores the generator state and continues with the next batch
at the same batch size: its predictions, extra outputs and run table (but the measured
seconds of the batches it ran) equal those of an uninterrupted run on the CPU, bit for bit
(tests/test_predict_resume.py). The file is deleted once the outputs are written.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simart.io import h5_file_atomic
from simart.specs.inference import RESUME_EVERY_MINUTES
from simart.train.distributed import Preempted, stop_requested

__all__ = ["RESUME_SUFFIX", "PredictionPreempted", "Progress", "ResumePoint", "made_from",
           "resume_minutes", "resume_path"]

LOG = logging.getLogger(__name__)

#: The resume file of predictions ``x.h5`` is ``x.resume.h5``.
RESUME_SUFFIX = ".resume.h5"
#: Layout version of the resume file (another version: not used, the job starts over).
FORMAT_VERSION = 1


def resume_path(pred_path: str | os.PathLike) -> Path:
    """The resume file beside a prediction job's predictions file."""
    return Path(pred_path).with_suffix(RESUME_SUFFIX)


def resume_minutes(config: Mapping[str, Any]) -> float:
    """``evaluate.inference.resume_every_minutes`` of a (raw) run config (ValueError naming
    the key when bad). Read by the rule's script from the config, not from a rule
    parameter: it changes no prediction, so changing it must rerun nothing."""
    from simart.evaluation.learned import inference_settings

    inference = (config.get("evaluate") or {}).get("inference") or {}
    return inference_settings(inference).resume_every_minutes


class PredictionPreempted(Preempted):
    """The prediction job stopped on a signal after writing its resume point."""

    def __init__(self, images: int, path: str | os.PathLike, signum: int | None = None):
        name = signal.Signals(signum).name if signum else "a signal"
        Exception.__init__(self, f"stopped on {name} after {images} image(s); {path} holds "
                           "the resume point (rerun to continue)")
        self.step, self.signum, self.path = images, signum, str(path)

    def __reduce__(self):
        return (PredictionPreempted, (self.step, self.path, self.signum))


@dataclass
class Progress:
    """One subset's restorations so far: images ``[0, done)`` are final. ``gen``: the
    sampling generator the batches draw from (its state is saved); ``gen_state``: the state
    read back from a resume file, for the predictor to restore before its next batch."""

    preds: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    reason: list[str] = field(default_factory=list)
    batch_size: int | None = None
    gen: Any = None
    gen_state: np.ndarray | None = None

    @classmethod
    def start(cls, n: int, shape: Sequence[int], dtype: Any) -> Progress:
        """Nothing done yet: predictions NaN (a classical row that cannot run keeps them)."""
        return cls(np.full((n, *shape), np.nan, dtype=dtype))

    @property
    def done(self) -> int:
        return len(self.seconds)

    @property
    def complete(self) -> bool:
        return self.done == len(self.preds)

    def add(self, out: np.ndarray | None, seconds: Sequence[float],
            extras: Mapping[str, np.ndarray] | None = None,
            status: Sequence[str] | None = None, reason: Sequence[str] | None = None) -> None:
        """The next ``len(seconds)`` images: predictions ``out`` (None: left NaN), extra
        outputs, per-image seconds, status (default ``ok``) and reason."""
        b0, k = self.done, len(seconds)
        if out is not None:
            self.preds[b0:b0 + k] = out
        for name, arr in (extras or {}).items():
            self.extras.setdefault(name, np.empty(self.preds.shape, np.float32))[b0:b0 + k] = arr
        self.seconds += list(seconds)
        self.status += list(status or ["ok"] * k)
        self.reason += list(reason or [""] * k)

    # ------------------------------------------------------------------------- file

    def write(self, grp: Any) -> None:
        """Into an HDF5 group: the finished images only, and the generator's state."""
        n = self.done
        grp.attrs["n_images"] = len(self.preds)
        grp.attrs["batch_size"] = -1 if self.batch_size is None else int(self.batch_size)
        grp.attrs["extra_names"] = json.dumps(list(self.extras))
        grp.create_dataset("prediction", data=self.preds[:n])
        for name, arr in self.extras.items():
            grp.create_dataset(f"extra/{name}", data=arr[:n])
        grp.create_dataset("seconds", data=np.asarray(self.seconds, np.float64))
        _put_json(grp, "status", self.status)
        _put_json(grp, "reason", self.reason)
        if self.gen is not None and not self.complete:
            grp.create_dataset("gen_state", data=self.gen.get_state().numpy())

    @classmethod
    def read(cls, grp: Any) -> Progress:
        """The inverse of :meth:`write` (KeyError / ValueError when inconsistent)."""
        done = np.asarray(grp["prediction"][()])
        seconds = [float(s) for s in grp["seconds"][()]]
        status, reason = _get_json(grp, "status"), _get_json(grp, "reason")
        if not (len(done) == len(seconds) == len(status) == len(reason)):
            raise ValueError(f"group {grp.name}: {len(done)} predictions, {len(seconds)} "
                             f"seconds, {len(status)} statuses, {len(reason)} reasons")
        p = cls.start(int(grp.attrs["n_images"]), done.shape[1:], done.dtype)
        extras = {name: np.asarray(grp[f"extra/{name}"][()])
                  for name in json.loads(grp.attrs["extra_names"])}
        p.add(done, seconds, extras, status, reason)
        bs = int(grp.attrs["batch_size"])
        p.batch_size = None if bs < 0 else bs
        if "gen_state" in grp:
            p.gen_state = np.asarray(grp["gen_state"][()], np.uint8)
        return p


def _put_json(grp: Any, name: str, value: Any) -> None:
    """``value`` as a JSON string dataset (attributes are limited to 64 KiB: the reasons of
    a thousand images are not)."""
    import h5py

    grp.create_dataset(name, data=json.dumps(value, sort_keys=True),
                       dtype=h5py.string_dtype())


def _get_json(grp: Any, name: str) -> Any:
    return json.loads(grp[name].asstr()[()])


def made_from(model: str, dataset: str, shard_paths: Mapping[str, str | os.PathLike],
              weights: Mapping[str, str | os.PathLike | None], model_kwargs: Mapping | None,
              seed: int, device: str | None) -> dict[str, Any]:
    """What a job's predictions are made from: a resume file made from anything else is
    not used. ``device``: the device type learned rows run on (a CUDA generator state is
    no CPU one); the library code version (its modules' digests) guards against resuming
    with predictions of other code."""
    from simart.evaluation import cells
    from simart.provenance import code_version, file_sha256, shard_fingerprint

    return json.loads(json.dumps({
        "format_version": FORMAT_VERSION,
        "code": code_version(Path(cells.__file__)),
        "model": model, "dataset": dataset, "seed": int(seed), "device": device,
        "subsets": list(shard_paths),
        "shards": {s: shard_fingerprint(p) for s, p in shard_paths.items()},
        "weights": {s: file_sha256(weights[s]) if weights.get(s) is not None else ""
                    for s in shard_paths},
        "model_kwargs": dict(model_kwargs or {}),
    }, sort_keys=True, default=str))


class ResumePoint:
    """The resume file of one prediction job (see the module docstring): read (when made
    from the same inputs and settings) on creation, saved by :meth:`after_batch`.
    ``made``: what the job is made from (:func:`made_from`), or a function that returns it:
    called only when a file is read or written (hashing the weights and the library code
    costs a cheap job such as the noisy-input row more than its work)."""

    def __init__(self, path: str | os.PathLike,
                 made: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
                 subsets: Sequence[str], *, every_minutes: float = RESUME_EVERY_MINUTES,
                 every_batches: int = 0):
        if every_minutes < 0 or every_batches < 0:
            raise ValueError(f"resume every {every_minutes} minutes / {every_batches} "
                             "batches: must be >= 0 (0: never on a schedule)")
        self.path, self.subsets = Path(path), list(subsets)
        self._made = made
        self.every_s, self.every_batches = 60.0 * every_minutes, int(every_batches)
        self.progress: dict[str, Progress] = {}
        self._since_save, self._saved_at = 0, time.monotonic()
        self.resumed = self._load()

    @functools.cached_property
    def made(self) -> dict[str, Any]:
        return dict(self._made() if callable(self._made) else self._made)

    # ------------------------------------------------------------------------ load

    def _load(self) -> bool:
        """Read the file when it exists and was made from the same inputs and settings;
        else log why and delete it (the job starts over)."""
        if not self.path.exists():
            return False
        import h5py

        want = self.made
        try:
            with h5py.File(self.path, "r") as f:
                made = _get_json(f, "made_from")
                differ = sorted(k for k in set(made) | set(want)
                                if made.get(k) != want.get(k))
                if not differ:
                    self.progress = {s: Progress.read(f[f"subsets/{s}"])
                                     for s in _get_json(f, "order")}
        except (OSError, KeyError, ValueError, TypeError) as exc:
            return self._discard(f"it cannot be read ({type(exc).__name__}: {exc})")
        if differ:
            return self._discard(f"it was made from other inputs or settings ({', '.join(differ)}"
                                 " differ)")
        LOG.info("resuming from %s: %s", self.path, self._summary())
        return True

    def _discard(self, why: str) -> bool:
        LOG.warning("resume file %s not used: %s; starting over", self.path, why)
        self.progress = {}
        self.path.unlink(missing_ok=True)
        return False

    def _summary(self) -> str:
        return ", ".join(f"{s} {p.done}/{len(p.preds)} images" for s, p in self.progress.items())

    # ------------------------------------------------------------------------- use

    def start(self, subset: str, n: int, shape: Sequence[int], dtype: Any) -> Progress:
        """The subset's progress: the one read back when it fits (``n`` images of
        ``shape``), else a fresh one."""
        p = self.progress.get(subset)
        if p is None or p.preds.shape != (n, *shape):
            p = self.progress[subset] = Progress.start(n, shape, dtype)
        return p

    def finished(self) -> bool:
        return all(s in self.progress and self.progress[s].complete for s in self.subsets)

    def after_batch(self) -> None:
        """Called after every finished batch (image, for the classical rows): save when
        due; on a stop signal save and raise :class:`PredictionPreempted` -- unless every
        image is done (the job then writes its outputs at once)."""
        self._since_save += 1
        signum = stop_requested()
        if self.finished():
            return
        due = ((self.every_batches and self._since_save >= self.every_batches)
               or (self.every_s > 0 and time.monotonic() - self._saved_at >= self.every_s))
        if due or signum is not None:
            self.save()
        if signum is not None:
            raise PredictionPreempted(sum(p.done for p in self.progress.values()), self.path,
                                      signum)

    def save(self) -> None:
        """Write the file atomically (a kill while writing leaves the previous one)."""
        t0 = time.perf_counter()
        with h5_file_atomic(self.path) as f:
            _put_json(f, "made_from", self.made)
            _put_json(f, "order", list(self.progress))
            for s, p in self.progress.items():
                p.write(f.create_group(f"subsets/{s}"))
        self._since_save, self._saved_at = 0, time.monotonic()
        LOG.info("resume point %s: %s (written in %.2f s)", self.path, self._summary(),
                 time.perf_counter() - t0)

    def remove(self) -> None:
        """Delete the file (the job's outputs are written)."""
        self.path.unlink(missing_ok=True)
