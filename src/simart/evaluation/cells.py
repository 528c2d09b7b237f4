"""One benchmark cell = (dataset, modality, model): restore the test split, score each image.

Two steps per (dataset, model, test shard index), so that changing the metric list never
re-runs a restoration. One job covers that shard index of every scored subset of the
dataset (SIMART modalities, CDN levels, ...: the same number of test shards each), so a
learned model is loaded once per job and the pipeline has a fraction of the jobs:

1. :func:`predict_shards` restores every image (predictions HDF5: one dataset per subset,
   ``prediction/{subset}``) and writes the *run table* (column ``modality`` = subset):
   the image's parameters, ``status`` (``ok`` / ``missing``), ``missing_reason`` and
   ``seconds``. A model that cannot run on a modality (e.g. Richardson-Lucy with the signed
   TEM CTF) is not silently dropped: its rows are kept with ``status = "missing"`` and the
   reason. The job keeps a resume point beside its predictions
   (:mod:`simart.evaluation.resume`): killed at a time limit, its retry continues from the
   last saved batch (image, for the classical rows) instead of starting over.
2. :func:`score_shards` adds one column per metric (:data:`simart.metrics.METRICS`) and its
   ``<metric>_reason`` (empty where the value was computed; why not, where it is NaN:
   model missing, metric unavailable — e.g. LPIPS backbone absent, images smaller than
   MS-SSIM needs —, or undefined for that image).

:func:`gather_cell` concatenates a cell's rows (one subset) from the shard tables: one row
per test image.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from simart.data.shards import write_images_h5
from simart.io import atomic_path
from simart.progress import ProgressReporter
from simart.provenance import file_sha256, read_table, rebuild_hint, shard_fingerprint

if TYPE_CHECKING:
    from simart.evaluation.resume import Progress, ResumePoint

PROVENANCE_COLUMNS = ("shard_fingerprint", "weights_sha256")


class StaleResult(ValueError):
    """A result was made from other inputs than the ones it names now."""

log = logging.getLogger(__name__)
# torch, h5py and the restoration code are imported where they are used: gather_cell (one
# job per cell) then starts in a fraction of the time.


def _predict_one(
    shard_path: str | os.PathLike,
    model: str,
    *,
    dataset: str = "simart",
    subset: str | None = None,
    weights: str | os.PathLike | None = None,
    model_kwargs: dict | None = None,
    seed: int = 0,
    resume: ResumePoint | None = None,
) -> tuple[pd.DataFrame, np.ndarray, dict[str, np.ndarray]]:
    """Restore every image of one test shard with ``model``: (run table, predictions).

    Classical models (:data:`simart.restore.classical.CLASSICAL_MODELS`) restore image by
    image; learned models (:mod:`simart.models`) read ``weights`` (the training's best.pt)
    and restore in batches (``model_kwargs``: ``device``, ``batch_size``). ``seconds`` is
    the wall time per image (a batch's time shared by its images for learned models).
    Learned ``model_kwargs`` may also hold ``sampling`` (``set_sampling`` options) and
    ``net_model`` (the trained model an evaluation variant samples from); sampling models
    draw from :func:`simart.evaluation.learned.prediction_generator` (``seed``).
    ``resume``: the job's resume point (the subset's images done before are kept; it is
    saved after batches). Progress (images, images/s, ETA) is logged every
    ``SIMART_PROGRESS_SECONDS`` (:mod:`simart.progress`). Returns (run table, predictions,
    extra outputs by name).
    """
    from simart.config import LEARNED_MODELS
    from simart.data.shards import Shard

    with Shard(shard_path, verify=True) as shard:
        degraded, params = shard.degraded(), shard.params()
        modality = str(shard.attrs["modality"])
        fingerprint = shard.fingerprint
    subset = subset or modality
    extras: dict[str, np.ndarray] = {}
    kwargs = dict(model_kwargs or {})
    learned = model in LEARNED_MODELS or "net_model" in kwargs
    progress = after = None
    if resume is not None:
        progress = resume.start(subset, len(degraded), degraded.shape[1:],
                                np.float32 if learned else degraded.dtype)
        after = resume.after_batch
    if progress is not None and progress.complete:  # done before the job was stopped
        preds, seconds, extras = progress.preds, progress.seconds, progress.extras
        status, reason = progress.status, progress.reason
    elif learned:
        from simart.evaluation.learned import (
            predict_learned,
            prediction_generator,
            resolve_device,
        )
        from simart.models import MODEL_REGISTRY
        from simart.physics.dataset_ops import has_operator, image_params

        if weights is None:
            raise ValueError(f"model {model!r} is learned: predict_shard needs its weights")
        dev = resolve_device(kwargs.get("device", "auto"))
        net = MODEL_REGISTRY[kwargs.get("net_model") or model]  # the class: its needs
        if "params" in net.predict_needs:
            if not has_operator(dataset):
                raise ValueError(f"model {model!r} needs operator parameters, which dataset "
                                 f"{dataset!r} does not have")
            kwargs["params"] = [image_params(dataset, modality if dataset == "simart"
                                             else subset, r)
                                for r in params.to_dict("records")]
        if "gen" in net.predict_needs:
            kwargs["gen"] = prediction_generator(seed, dataset, model, subset,
                                                 Path(shard_path).stem, dev)
        preds, seconds, extras = predict_learned(weights, model, dataset, subset, degraded,
                                                 progress=progress, after_batch=after, **kwargs)
        status, reason = ["ok"] * len(preds), [""] * len(preds)
    else:
        preds, status, reason, seconds = _restore_classical(
            degraded, params, model, dataset, modality, model_kwargs, progress=progress,
            after_image=after, label=f"predict {model} {dataset}/{subset}")
    table = params.drop(columns=["dataset"], errors="ignore")
    table.insert(0, "dataset", dataset)
    table["modality"] = subset
    table["model"] = model
    table["status"] = status
    table["missing_reason"] = reason
    table["seconds"] = seconds
    # what this row was made from (checked by score_shards and gather_cell)
    table["shard_fingerprint"] = fingerprint
    table["weights_sha256"] = file_sha256(weights) if weights is not None else ""
    return table, preds, extras


def predict_shards(
    shard_paths: Mapping[str, str | os.PathLike],
    model: str,
    pred_path: str | os.PathLike,
    table_path: str | os.PathLike,
    *,
    dataset: str = "simart",
    weights: Mapping[str, str | os.PathLike | None] | None = None,
    model_kwargs: dict | None = None,
    seed: int = 0,
    resume_every_minutes: float | None = None,
    resume_every_batches: int = 0,
) -> pd.DataFrame:
    """:func:`_predict_one` for one test shard of each subset (``{subset: shard path}``):
    one predictions file (``prediction/{subset}``, and ``{name}/{subset}`` for each extra
    output such as uncertainty maps) and one run table for all of them.
    ``weights``: ``{subset: best.pt of the model that restores it}`` (learned models).

    Resumable (:mod:`simart.evaluation.resume`): the resume point ``{pred_path stem}.resume.h5``
    is saved every ``resume_every_minutes`` (None: the default of
    ``evaluate.inference.resume_every_minutes``; 0: not on a schedule) or every
    ``resume_every_batches`` batches (0: not) and on SIGTERM / SIGUSR1, which then raise
    :class:`~simart.evaluation.resume.PredictionPreempted` after the current batch; a rerun
    continues from it; it is deleted once the outputs are written."""
    from simart.evaluation.resume import ResumePoint, made_from, resume_path
    from simart.specs.inference import RESUME_EVERY_MINUTES
    from simart.train.distributed import stop_on_signals

    weights = dict(weights or {})
    resume = ResumePoint(
        resume_path(pred_path),
        lambda: made_from(model, dataset, shard_paths, weights, model_kwargs, seed,
                          _device_type(model, model_kwargs)),
        list(shard_paths), every_batches=resume_every_batches,
        every_minutes=RESUME_EVERY_MINUTES if resume_every_minutes is None
        else resume_every_minutes)
    preds, tables = {}, []
    with stop_on_signals():
        for subset, path in shard_paths.items():
            table, pred, extras = _predict_one(path, model, dataset=dataset, subset=subset,
                                               weights=weights.get(subset),
                                               model_kwargs=model_kwargs, seed=seed,
                                               resume=resume)
            preds[f"prediction/{subset}"] = pred
            for name, arr in extras.items():
                preds[f"{name}/{subset}"] = arr
            tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    write_images_h5(pred_path, preds, {"model": model, "dataset": dataset,
                                       "subsets": list(shard_paths),
                                       "source_shards": [str(p) for p in shard_paths.values()]})
    with atomic_path(table_path) as tmp:
        table.to_parquet(tmp, index=False)
    resume.remove()
    return table


def _device_type(model: str, model_kwargs: Mapping | None) -> str | None:
    """The device type a learned row predicts on (its generator's kind), else None."""
    from simart.config import LEARNED_MODELS

    kwargs = model_kwargs or {}
    if model not in LEARNED_MODELS and "net_model" not in kwargs:
        return None
    from simart.evaluation.learned import resolve_device

    return resolve_device(kwargs.get("device", "auto")).type


def _restore_classical(degraded: np.ndarray, params: pd.DataFrame, model: str, dataset: str,
                       modality: str, model_kwargs: dict | None,
                       progress: Progress | None = None, after_image=None,
                       label: str | None = None):
    """Image by image, from ``progress.done`` on (``after_image`` after each one: the
    resume point's :meth:`~simart.evaluation.resume.ResumePoint.after_batch`); the
    progress is logged as ``label`` (default ``predict {model} {dataset}/{modality}``)."""
    from simart.evaluation.resume import Progress
    from simart.restore.classical import CLASSICAL_MODELS, NotApplicableError
    from simart.specs.models import model_applies

    if model not in CLASSICAL_MODELS:
        raise ValueError(f"unknown model {model!r}; available: {sorted(CLASSICAL_MODELS)}")
    if not model_applies(model, dataset):
        raise ValueError(f"model {model!r} needs the SIMART operators' parameters; "
                         f"it does not run on dataset {dataset!r}")
    restore = CLASSICAL_MODELS[model]
    progress = progress or Progress.start(len(degraded), degraded.shape[1:], degraded.dtype)
    rows = params.to_dict("records")
    with ProgressReporter(len(rows), "images", label or f"predict {model} {dataset}/{modality}",
                          initial=progress.done, logger=log) as report:
        for i in range(progress.done, len(rows)):
            t0 = time.perf_counter()
            try:
                if dataset != "simart":  # the noisy input of a physics dataset
                    out = degraded[i]
                else:
                    out = restore(degraded[i], modality, rows[i], **(model_kwargs or {}))
                status, reason = "ok", ""
            except NotApplicableError as exc:
                out, status, reason = None, "missing", str(exc)
            progress.add(None if out is None else np.asarray(out)[None],
                         [time.perf_counter() - t0], status=[status], reason=[reason])
            report.update(1)
            if after_image is not None:
                after_image()
    return progress.preds, progress.status, progress.reason, progress.seconds


def score_images(
    run_table: pd.DataFrame,
    preds: np.ndarray,
    clean: np.ndarray | None,
    degraded: np.ndarray | None,
    metrics: Sequence[str],
    *,
    data_range: float = 1.0,
    lpips_backbone: str | os.PathLike | None = None,
    device: str | None = None,
    progress: ProgressReporter | None = None,
) -> pd.DataFrame:
    """The run table plus ``<metric>`` and ``<metric>_reason`` columns (one row per image).

    Rows whose model did not run keep NaN with the model's reason; a prediction with
    non-finite pixels is marked ``status = "missing"`` ("prediction has NaN or infinite
    pixels") instead of being scored. The images are scored in a few runs of whole batches
    of the metric registry (:func:`_score_runs`: the values are those of one call, bit for
    bit); ``progress`` is told of the images after each run (those not scored first).
    """
    from simart.metrics import compute_metrics_with_reasons

    table = run_table.reset_index(drop=True).copy()
    finite = np.isfinite(preds.reshape(len(preds), -1)).all(axis=1)
    bad = (table["status"] == "ok").to_numpy() & ~finite
    if bad.any():
        log.warning("%d prediction(s) with NaN or infinite pixels: marked missing", bad.sum())
        table.loc[bad, "status"] = "missing"
        table.loc[bad, "missing_reason"] = "prediction has NaN or infinite pixels"
    ok = (table["status"] == "ok").to_numpy()
    for name in metrics:
        table[name] = np.nan
        table[f"{name}_reason"] = np.where(ok, "", "model missing: " + table["missing_reason"])
    if progress is not None and not ok.all():
        progress.update(int((~ok).sum()))
    if not ok.any():
        return table
    sizes = (table.loc[ok, "pixel_size_nm"].to_numpy(dtype=np.float64)
             if "pixel_size_nm" in table.columns else None)
    x, ref, inp = (None if a is None else a[ok] for a in (preds, clean, degraded))
    values = {m: np.full(len(x), np.nan) for m in metrics}
    reasons = {m: np.full(len(x), "", dtype=object) for m in metrics}
    max_pixels, runs = _score_runs(len(x), x.shape[-2:], sizes, device)
    for run in runs:
        try:
            res = compute_metrics_with_reasons(
                x[run], None if ref is None else ref[run],
                degraded=None if inp is None else inp[run], metrics=metrics,
                data_range=data_range, pixel_size_nm=None if sizes is None else sizes[run],
                lpips_backbone=lpips_backbone, device=device, max_pixels=max_pixels)
        except ValueError as exc:  # bad pixels: their indices are the run's
            if run.start == 0:
                raise
            raise ValueError(f"images {run.start}..{run.stop - 1} of those the model restored "
                             f"(the indices below count from {run.start}): {exc}") from None
        for m in metrics:
            values[m][run], reasons[m][run] = res.values[m], res.reasons[m]
        if progress is not None:
            progress.update(run.stop - run.start)
    for m in metrics:
        table.loc[ok, m] = values[m]
        table.loc[ok, f"{m}_reason"] = reasons[m]
    return table


_SCORE_RUNS = 20  # about this many progress updates per subset scored


def _score_runs(n: int, shape: tuple[int, int], sizes: np.ndarray | None,
                device: str | None) -> tuple[int, list[slice]]:
    """``(max_pixels, runs)``: the registry's batch size in pixels -- its default, 2^18 on
    the CPU, 2^24 on a GPU (:func:`simart.metrics.compute_metrics_with_reasons`) -- and
    about :data:`_SCORE_RUNS` consecutive runs of the ``n`` images, each a whole number of
    its batches, so that every metric sees the very batches of one call over all the
    images (its values do not change, bit for bit). Where only some images have a pixel
    size, the registry batches those of the pixel-size metrics apart: one run then."""
    import torch

    gpu = device is not None and torch.device(device).type != "cpu"
    max_pixels = 1 << 24 if gpu else 1 << 18
    if sizes is not None:
        known = np.isfinite(sizes) & (sizes > 0)
        if known.any() and not known.all():
            return max_pixels, [slice(0, n)]
    batch = max(1, max_pixels // max(1, int(shape[0]) * int(shape[1])))
    step = batch * max(1, -(-n // (_SCORE_RUNS * batch)))
    return max_pixels, [slice(i, min(i + step, n)) for i in range(0, n, step)]


def score_shards(
    shard_paths: Mapping[str, str | os.PathLike],
    pred_path: str | os.PathLike,
    run_table_path: str | os.PathLike,
    metrics: Sequence[str],
    table_path: str | os.PathLike,
    *,
    data_range: float = 1.0,
    lpips_backbone: str | os.PathLike | None = None,
    device: str | None = None,
) -> pd.DataFrame:
    """Score the predictions of :func:`predict_shards` (see :func:`score_images`) against
    each subset's shard (``{subset: shard path}``); write one metric table.

    Shards without clean images (experimental-like data) get NaN with the reason for every
    full-reference metric; the no-reference and input-referenced ones are still computed.
    Progress (images scored, images/s, ETA) is logged every ``SIMART_PROGRESS_SECONDS``
    (:mod:`simart.progress`).
    """
    run_table = read_table(run_table_path)
    tables = []
    n_images = int(run_table["modality"].isin(list(shard_paths)).sum())
    who = [str(run_table[c].iloc[0]) for c in ("model", "dataset")
           if c in run_table.columns and len(run_table)]
    label = " ".join(["score", *who, Path(pred_path).stem]) + f" ({len(metrics)} metrics)"
    with ProgressReporter(n_images, "images", label, logger=log) as report:
        for subset, shard_path in shard_paths.items():
            tables.append(_score_subset(subset, shard_path, pred_path, run_table, metrics,
                                        data_range, lpips_backbone, device, report))
    table = pd.concat(tables, ignore_index=True)
    with atomic_path(table_path) as tmp:
        table.to_parquet(tmp, index=False)
    return table


def _score_subset(subset: str, shard_path: str | os.PathLike, pred_path: str | os.PathLike,
                  run_table: pd.DataFrame, metrics: Sequence[str], data_range: float,
                  lpips_backbone: str | os.PathLike | None, device: str | None,
                  report: ProgressReporter) -> pd.DataFrame:
    """The metric table of one subset of :func:`score_shards`."""
    import h5py

    from simart.data.shards import Shard

    with Shard(shard_path, verify=True) as shard:
        degraded = shard.degraded()
        try:
            clean = shard.clean()
        except KeyError:
            clean = None
        made_from = set(run_table.loc[run_table["modality"] == subset, "shard_fingerprint"]
                        ) if "shard_fingerprint" in run_table.columns else set()
        if made_from != {shard.fingerprint}:
            raise StaleResult(
                f"{pred_path} [{subset}] was not made from the current {shard_path} "
                f"(fingerprints {sorted(f[:12] for f in made_from)} vs "
                f"{shard.fingerprint[:12]}): rebuild it: {rebuild_hint(pred_path)}")
    with h5py.File(pred_path, "r") as f:
        ds = f["prediction"]
        preds = np.asarray((ds[subset] if isinstance(ds, h5py.Group) else ds)[()],
                           dtype=np.float32)
    run = run_table[run_table["modality"] == subset]
    if not (len(preds) == len(run) == len(degraded)):
        raise ValueError(f"{pred_path} [{subset}]: {len(preds)} predictions, {len(run)} "
                         f"table rows and {len(degraded)} shard images must be the same "
                         "number")
    return score_images(run, preds, clean, degraded, metrics, data_range=data_range,
                        lpips_backbone=lpips_backbone, device=device, progress=report)


def score_and_log(shard_paths: Mapping[str, str | os.PathLike], pred_path: str | os.PathLike,
              run_table_path: str | os.PathLike, table_path: str | os.PathLike, *,
              metrics: Sequence[str], data_range: float = 1.0,
              lpips_backbone: str | os.PathLike | None = None, label: str = "") -> pd.DataFrame:
    """What a scoring job does (score_shard, or predict_shard where it scores too):
    :func:`score_shards`, then a log line of the time and one warning per metric that some
    images lack (:func:`metric_notes`)."""
    t0 = time.perf_counter()
    table = score_shards(shard_paths, pred_path, run_table_path, metrics, table_path,
                         data_range=data_range, lpips_backbone=lpips_backbone)
    log.info("%s: %d images, %d metrics in %.2f s", label or Path(table_path).stem,
             len(table), len(metrics), time.perf_counter() - t0)
    for metric, reasons in metric_notes(table, metrics).items():
        log.warning("metric %s not computed for some images: %s", metric, "; ".join(reasons))
    return table


def metric_notes(table: pd.DataFrame, metrics: Sequence[str]) -> dict[str, list[str]]:
    """Distinct reasons per metric for images where the model ran but the metric is NaN."""
    ok = table["status"] == "ok"
    notes = {}
    for m in metrics:
        col = f"{m}_reason"
        if col in table.columns:
            reasons = sorted(set(table.loc[ok, col].astype(str)) - {""})
            if reasons:
                notes[m] = reasons
    return notes


def check_made_from(table: pd.DataFrame, sources: Sequence[str | os.PathLike],
                    shards: Sequence[str | os.PathLike], weights: str | os.PathLike | None,
                    what: str) -> None:
    """Refuse (:class:`StaleResult`) rows not made from exactly the current ``shards`` (by
    content fingerprint) and, for a learned model, the current ``weights`` (SHA-256)."""
    if not set(PROVENANCE_COLUMNS) <= set(table.columns):
        raise StaleResult(f"{what}: the tables {list(map(str, sources))} do not say what they "
                          "were made from (written by an older version): rebuild them: "
                          f"{rebuild_hint(what)}")
    now = {shard_fingerprint(p): str(p) for p in shards}
    made = set(table["shard_fingerprint"])
    if made != set(now):
        gone = sorted(f[:12] for f in made - set(now))
        missing = sorted(now[f] for f in set(now) - made)
        raise StaleResult(f"{what}: its rows were made from other shards than the current "
                          f"ones (fingerprints not current: {gone}; current shards without "
                          f"rows: {missing}): rebuild it: {rebuild_hint(what)}")
    want = file_sha256(weights) if weights is not None else ""
    got = set(table["weights_sha256"])
    if got != {want}:
        raise StaleResult(f"{what}: its rows were made with other weights than "
                          f"{weights or 'none (not a learned model)'} (sha256 "
                          f"{sorted(g[:12] for g in got)} vs {want[:12]}): rebuild it: "
                          f"{rebuild_hint(what)}")


def gather_cell(shard_tables: Sequence[str | os.PathLike], out_path: str | os.PathLike,
                subset: str | None = None, *, shards: Sequence[str | os.PathLike] | None = None,
                weights: str | os.PathLike | None = None) -> pd.DataFrame:
    """Concatenate per-shard metric tables (rows of ``subset`` only, if given: column
    ``modality``) into the cell's result file (one row per image).

    With ``shards`` (the subset's test shards the cell covers), the rows must have been made
    from exactly those shards and from ``weights`` (the best.pt of a learned model; None for
    the others): :func:`check_made_from`."""
    table = pd.concat([read_table(p) for p in shard_tables], ignore_index=True)
    if subset is not None:
        table = table[table["modality"] == subset]
        if table.empty:
            raise ValueError(f"no rows of subset {subset!r} in {list(map(str, shard_tables))}")
    if shards is not None:
        check_made_from(table, shard_tables, shards, weights, str(out_path))
    table = table.sort_values("image_index", kind="stable").reset_index(drop=True)
    with atomic_path(out_path) as tmp:
        table.to_parquet(tmp, index=False)
    return table


def write_cell(shard_tables: Sequence[str | os.PathLike], out_path: str | os.PathLike,
               log_path: str | os.PathLike, subset: str, made_from: Mapping) -> pd.DataFrame:
    """Rule metrics_cell, run inside Snakemake's own process (a ``run:`` block: the job is a
    table concatenation that a fresh interpreter would take far longer to start than to
    do): :func:`gather_cell` of the cell's rows, refusing rows not made from the current
    test shards and weights, with its one log line (or the error) written to ``log_path``."""
    try:
        table = gather_cell(shard_tables, out_path, subset=subset,
                            shards=made_from["shards"], weights=made_from["weights"])
    except Exception as exc:
        _log_line(log_path, f"ERROR simart: job failed: {type(exc).__name__}: {exc}")
        raise
    _log_line(log_path, f"INFO simart: cell {out_path}: {len(table)} images")
    return table


def _log_line(log_path: str | os.PathLike, line: str) -> None:
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    Path(log_path).write_text(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")
