"""Progress of long jobs (simart.progress): the reporter's lines, rate, ETA and interval on
an injected clock; nothing on a non-terminal stderr but the log; and the jobs' logs -- a
shard simulation (each dataset's builder), a prediction (a classical model and a diffusion
model, with its sampler steps) and a scoring job -- written through ``runlog.setup`` show
the progress lines. Progress changes no result: the samplers' outputs, a prediction job's
predictions and the per-metric scoring are the same bit for bit."""

from __future__ import annotations

import logging
import re
import sys

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from simart import runlog
from simart.config import validate_config
from simart.evaluation.cells import predict_shards, score_images, score_shards
from simart.metrics import compute_metrics_with_reasons
from simart.models import diffusion as D
from simart.progress import INTERVAL_ENV, ProgressReporter, default_interval
from simart.simulate.simart_dataset import build_shard
from simart.simulate.sources import build_catalog

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

LINE = re.compile(r": (\d+)/(\d+) (\w+) \((\d+) %\), [\d.e+-]+ \3/s(?: \([\d.]+ s/\w+\))?, "
                  r"(ETA \d+:\d\d:\d\d|done in \d+:\d\d:\d\d)$")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def _logger(name: str = "test.progress") -> tuple[logging.Logger, list[str]]:
    """A logger that keeps its messages in a list (and does not propagate)."""
    lines: list[str] = []
    logger = logging.getLogger(name)
    logger.handlers.clear()
    logger.propagate = False
    logger.setLevel(logging.INFO)

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    logger.addHandler(Keep())
    return logger, lines


# ------------------------------------------------------------------------- reporter

def test_lines_rate_eta_and_interval_on_a_clock():
    clock, (logger, lines) = Clock(), _logger()
    rep = ProgressReporter(500, "images", "predict bm3d simart/SEM", logger=logger,
                           interval=30, clock=clock, bar=False)
    clock.t += 10
    rep.update(100)  # 10 s < 30 s: no line yet
    assert lines == []
    clock.t += 27.5
    rep.update(20)  # 37.5 s: 120 images at 3.2 images/s, 380 left: 118.75 s
    assert lines == [("predict bm3d simart/SEM: 120/500 images (24 %), 3.20 images/s, "
                     "ETA 0:01:59")]
    clock.t += 29
    rep.update(80)  # 29 s after the last line: none
    assert len(lines) == 1
    clock.t += 1
    rep.update(0)
    assert lines[-1] == ("predict bm3d simart/SEM: 200/500 images (40 %), 2.96 images/s, "
                         "ETA 0:01:41")
    clock.t += 100
    rep.update(300)  # the end: always a line
    assert lines[-1] == ("predict bm3d simart/SEM: 500/500 images (100 %), 2.99 images/s, "
                         "done in 0:02:48")
    rep.close()
    assert len(lines) == 3 and all(LINE.search(x) for x in lines)


def test_resumed_rate_counts_this_run_only_and_slow_rates_show_seconds_per_item():
    clock, (logger, lines) = Clock(), _logger()
    rep = ProgressReporter(1000, "images", "bm3d", initial=400, logger=logger, interval=0,
                           clock=clock, bar=False)
    clock.t += 122.5
    rep.update(2)  # 2 images in 122.5 s (the 400 before are not this run's)
    assert lines == [("bm3d: 402/1000 images (40 %), 0.0163 images/s (61.2 s/image), "
                     "ETA 10:10:28")]
    clock.t += 3600 * 24 * 2
    rep.update(1)
    assert lines[-1] == ("bm3d: 403/1000 images (40 %), 1.73e-05 images/s (57641 s/image), "
                         "ETA 398 days, 6:46:18")


def test_zero_interval_logs_every_update_and_close_says_where_it_stopped():
    clock, (logger, lines) = Clock(), _logger()
    with ProgressReporter(10, "steps", "", logger=logger, interval=0, clock=clock,
                          bar=False) as rep:
        for _ in range(3):
            clock.t += 2
            rep.update(1)
    assert lines == ["1/10 steps (10 %), 0.5 steps/s (2.00 s/step), ETA 0:00:18",
                     "2/10 steps (20 %), 0.5 steps/s (2.00 s/step), ETA 0:00:16",
                     "3/10 steps (30 %), 0.5 steps/s (2.00 s/step), ETA 0:00:14"]
    rep2 = ProgressReporter(10, "images", "job", logger=logger, interval=30, clock=clock,
                            bar=False)
    clock.t += 5
    rep2.update(4)
    rep2.close()  # stopped early (a signal, an error): its count is logged
    assert lines[-1] == "job: 4/10 images (40 %), 0.8 images/s (1.25 s/image), ETA 0:00:08"
    rep2.close()
    assert len(lines) == 4


def test_short_chains_log_nothing_without_always_end():
    clock, (logger, lines) = Clock(), _logger()
    rep = ProgressReporter(4, "steps", "sampler", logger=logger, interval=30, clock=clock,
                           bar=False, always_end=False)
    for _ in range(4):
        clock.t += 1
        rep.update(1)
    rep.close()
    assert lines == []
    rep = ProgressReporter(4, "steps", "sampler", logger=logger, interval=30, clock=clock,
                           bar=False, always_end=False)
    for _ in range(4):
        clock.t += 20
        rep.update(1)
    assert [x.split(": ")[1].split(" (")[0] for x in lines] == ["2/4 steps", "4/4 steps"]


def test_interval_from_the_environment(monkeypatch):
    monkeypatch.delenv(INTERVAL_ENV, raising=False)
    assert default_interval() == 30.0
    monkeypatch.setenv(INTERVAL_ENV, "0")
    assert default_interval() == 0.0
    assert ProgressReporter(3, bar=False).interval == 0.0
    for bad in ("soon", "-1", "nan", "inf"):
        monkeypatch.setenv(INTERVAL_ENV, bad)
        with pytest.raises(ValueError, match=f"{INTERVAL_ENV} = '{bad}'.*seconds >= 0"):
            default_interval()


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="'x': total 3 and initial 4"):
        ProgressReporter(3, label="x", initial=4, bar=False)
    with pytest.raises(ValueError, match="total -1"):
        ProgressReporter(-1, label="x", bar=False)


def test_no_bar_and_no_output_on_a_non_terminal_stderr(capsys):
    assert not sys.stderr.isatty()  # pytest's capture
    logger, lines = _logger()
    with ProgressReporter(5, "images", "job", logger=logger, interval=0) as rep:
        assert rep.bar is None
        rep.update(5)
    assert len(lines) == 1
    assert capsys.readouterr().err == ""


def test_bar_on_request_goes_to_stderr(capsys):
    logger, lines = _logger()
    with ProgressReporter(5, "images", "job", logger=logger, interval=0, bar=True) as rep:
        rep.update(2)
        rep.update(3)
    err = capsys.readouterr().err
    assert "job" in err and "5/5" in err
    assert len(lines) == 2


# ------------------------------------------------------------------------- samplers

def _eps(x_t, t):
    return 0.3 * x_t + 0.1 * torch.sin(x_t) + 0.01 * t.to(x_t.dtype).view(-1, 1, 1, 1) / 100


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_sampler_steps_are_reported_and_samples_unchanged(sampler):
    sched = D.make_schedule("cosine", 40)
    clock, (logger, lines) = Clock(), _logger()

    def run(progress):
        g = torch.Generator().manual_seed(5)
        if sampler == "ddpm":
            return D.ddpm_sample(_eps, (2, 1, 6, 6), sched, g, variance="beta_tilde",
                                 t_stop=3, progress=progress)
        return D.ddim_sample(_eps, (2, 1, 6, 6), sched, g, steps=12, eta_ddim=0.7,
                             progress=progress)

    plain = run(None)
    rep = ProgressReporter(37 if sampler == "ddpm" else 12, "steps", "chain", logger=logger,
                           interval=0, clock=clock, bar=False)
    reported = run(rep)
    assert all(torch.equal(a, b) for a, b in zip(plain, reported, strict=True))
    n = 37 if sampler == "ddpm" else 12  # epsilon evaluations: t = 39 .. 3, or 12 steps
    assert rep.done == n and len(lines) == n
    assert lines[-1].startswith(f"chain: {n}/{n} steps (100 %)")


# ------------------------------------------------------------------------- job logs

@pytest.fixture
def job_log(tmp_path, monkeypatch):
    """``runlog.setup`` of a job log (root logger, stderr), a progress line at every update;
    the logging set-up and excepthook are restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, sys.excepthook
    monkeypatch.setenv(INTERVAL_ENV, "0")
    path = tmp_path / "job.log"
    runlog.setup(path)
    yield path
    for h in root.handlers:
        h.close()
    root.handlers[:], sys.excepthook = saved[0], saved[2]
    root.setLevel(saved[1])


def _progress_lines(path, label: str) -> list[str]:
    """The progress lines of ``label`` in a job log (each checked against the format)."""
    out = []
    for line in path.read_text().splitlines():
        if f" {label}: " in line:
            msg = line.split(f" {label}", 1)[1]
            assert LINE.search(msg), line
            out.append(msg)
    return out


def _has_rate_and_eta(lines: list[str], unit: str) -> bool:
    return any(f"{unit}/s" in x and "ETA " in x for x in lines)


RAW = {"seed": 7, "image_size": 32,
       "sources": {"n_sources": 12, "split_fractions": [0.5, 0.25, 0.25]},
       "simart": {"images_per_modality": {"train": 10, "val": 4, "test": 4}, "shard_size": 4}}


@pytest.fixture(scope="module")
def simart_shard(tmp_path_factory):
    """4-image SIMART SEM and TEM test shards (built without the job logging)."""
    cfg = validate_config(RAW)
    s = cfg.sources
    cat = build_catalog(s.n_sources, cfg.seed, procedural_kinds=s.procedural_kinds,
                        use_skimage=s.use_skimage, user_dir=s.user_dir,
                        split_fractions=tuple(s.split_fractions))
    root = tmp_path_factory.mktemp("shard")
    paths = {m: root / f"{m}.h5" for m in ("SEM", "TEM")}
    for m, path in paths.items():
        build_shard(cfg, cat, m, "test", 0, path)
    return cfg, cat, paths


def test_shard_job_logs_its_progress(job_log, simart_shard, tmp_path):
    cfg, cat, _ = simart_shard
    build_shard(cfg, cat, "SEM", "test", 0, tmp_path / "s.h5", batch_size=2)
    lines = _progress_lines(job_log, "simulate SEM/test shard 0")
    assert [x.split(" (")[0] for x in lines] == [": 2/4 images", ": 4/4 images"]
    assert _has_rate_and_eta(lines, "images") and "done in" in lines[-1]


def test_other_shard_builders_log_their_progress(job_log, tmp_path):
    from simart.simulate.lm_dataset import build_lm_shard, lm_catalog
    from simart.simulate.stem_lattice import build_stem_lattice_shards
    from simart.simulate.stm_cu111 import build_stm_shard

    lm = validate_config({"seed": 3, "lm": {
        "images_per_mode": {"train": 3, "val": 2, "test": 2}, "shard_size": 2,
        "image_size": 32, "n_sources": 8}})
    build_lm_shard(lm, lm_catalog(lm), "widefield", "test", 0, tmp_path / "lm.h5",
                   batch_size=1)
    stem = validate_config({"seed": 11, "image_size": 32, "stem_lattice": {
        "images_per_level": {"train": 4, "val": 2, "test": 3}, "shard_size": 3,
        "image_size": 48, "levels": [1, 5]}})
    build_stem_lattice_shards(stem, "test", 0, {1: tmp_path / "l1.h5", 5: tmp_path / "l5.h5"})
    stm = validate_config({"seed": 5, "stm_cu111": {
        "images_per_domain": {"train": 3, "val": 2, "test": 2}, "shard_size": 2,
        "image_size": 40}})
    build_stm_shard(stm, "blurry", "test", 0, tmp_path / "stm.h5")
    for label, n in (("simulate lm widefield/test shard 0: sources", 2),
                     ("simulate lm widefield/test shard 0: PSF + noise", 2),
                     ("simulate stem_lattice test shard 0: lattices", 3),
                     ("simulate stem_lattice test shard 0: CDN noise at levels L1, L5", 6),
                     ("simulate stm_cu111 blurry/test shard 0", 2)):
        lines = _progress_lines(job_log, label)
        assert len(lines) == n, label
        assert _has_rate_and_eta(lines, "images"), label
        assert lines[-1].startswith(f": {n}/{n} images (100 %)")


def test_classical_prediction_and_scoring_jobs_log_their_progress(job_log, simart_shard,
                                                                 tmp_path):
    _, _, shards = simart_shard
    pred, run = tmp_path / "0000.h5", tmp_path / "0000.parquet"
    predict_shards(shards, "wiener", pred, run)
    for subset in shards:
        lines = _progress_lines(job_log, f"predict wiener simart/{subset}")
        assert [x.split(" (")[0] for x in lines] == [f": {i}/4 images" for i in range(1, 5)]
        assert _has_rate_and_eta(lines, "images")

    metrics = ["psnr", "ssim", "pearson"]
    score_shards(shards, pred, run, metrics, tmp_path / "scores.parquet")
    lines = _progress_lines(job_log, "score wiener simart 0000 (3 metrics)")
    assert [x.split(" (")[0] for x in lines] == [": 4/8 images", ": 8/8 images"]
    assert _has_rate_and_eta(lines, "images")


def _read(path) -> dict[str, np.ndarray]:
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
    return out


def test_diffusion_prediction_logs_images_and_sampler_steps_bit_identically(
        job_log, tmp_path, monkeypatch):
    from test_predict_resume import KWARGS as kwargs
    from test_predict_resume import make_inputs

    shards, weights = make_inputs(tmp_path, n_images=4)

    def predict(name):
        predict_shards(shards, "cond_ddpm", tmp_path / f"{name}.h5",
                       tmp_path / f"{name}.parquet", dataset="lm", weights=weights,
                       model_kwargs=kwargs, seed=3, resume_every_minutes=0)
        return _read(tmp_path / f"{name}.h5")

    logged = predict("logged")  # a line at every image batch and sampler step
    lines = _progress_lines(job_log, "predict cond_ddpm lm/confocal")
    assert [x.split(" (")[0] for x in lines] == [": 2/4 images", ": 4/4 images"]
    assert _has_rate_and_eta(lines, "images")
    steps = _progress_lines(job_log, "cond_ddpm sampling 2 images (2 samples x 3 steps)")
    assert len(steps) == 4 * 6  # 4 batches x 2 samples x 3 steps
    assert [x.split(" (")[0] for x in steps[:6]] == [f": {i}/6 steps" for i in range(1, 7)]
    assert _has_rate_and_eta(steps, "steps")

    monkeypatch.setenv("SIMART_PROGRESS_SECONDS", "1e9")  # no lines but the ends
    quiet = predict("quiet")
    assert logged.keys() == quiet.keys()
    for key in logged:
        assert np.array_equal(logged[key], quiet[key]), key


@pytest.mark.parametrize("sizes", ["known", "some unknown"])
def test_scoring_in_runs_equals_one_call(sizes, monkeypatch):
    """score_images scores in runs of whole registry batches (here 4 images of 256²: runs
    of 4, 4, 2) -- the values and reasons of one call over all the images, bit for bit."""
    from simart.evaluation import cells

    monkeypatch.setattr(cells, "_SCORE_RUNS", 3)
    rng = np.random.default_rng(1)
    n = 11
    clean = rng.random((n, 256, 256), dtype=np.float32)
    degraded = clean + 0.2 * rng.standard_normal(clean.shape).astype(np.float32)
    preds = np.clip(degraded, 0, 1) * 0.9 + 0.05
    preds[2] = 0.5  # a constant image: Pearson r undefined
    px = np.full(n, 0.5)
    if sizes == "some unknown":
        px[[3, 8]] = np.nan
    run = pd.DataFrame({"status": ["ok"] * 5 + ["missing"] + ["ok"] * 5,
                        "missing_reason": [""] * 5 + ["x"] + [""] * 5, "pixel_size_nm": px})
    ok = run["status"].to_numpy() == "ok"
    _, runs = cells._score_runs(int(ok.sum()), (256, 256), px[ok], None)
    assert [(r.start, r.stop) for r in runs] == (
        [(0, 4), (4, 8), (8, 10)] if sizes == "known" else [(0, 10)])
    metrics = ["psnr", "ssim", "pearson", "epi_corr", "frc_res_nm", "pss_input"]
    clock, (logger, lines) = Clock(), _logger()
    rep = ProgressReporter(n, "images", "score", logger=logger, interval=0, clock=clock,
                           bar=False)
    table = score_images(run, preds, clean, degraded, metrics, progress=rep)
    assert rep.done == n and len(lines) == 1 + len(runs)  # the missing row first
    want = compute_metrics_with_reasons(preds[ok], clean[ok], degraded=degraded[ok],
                                        metrics=metrics, pixel_size_nm=px[ok])
    for m in metrics:
        assert np.array_equal(table[m].to_numpy()[ok], want.values[m], equal_nan=True), m
        assert list(table[f"{m}_reason"][ok]) == list(want.reasons[m]), m
        assert table[f"{m}_reason"][5] == "model missing: x"


def test_bad_pixels_in_a_later_run_say_where_the_run_starts(monkeypatch):
    from simart.evaluation import cells

    monkeypatch.setattr(cells, "_SCORE_RUNS", 2)  # 6 images of 256²: runs 0..3 and 4..5
    clean = np.full((6, 256, 256), 0.5, np.float32)
    clean[5, 3, 3] = np.nan
    run = pd.DataFrame({"status": ["ok"] * 6, "missing_reason": [""] * 6})
    with pytest.raises(ValueError, match=r"images 4\.\.5 .*count from 4.*'full_reference' images \[1\]"):
        score_images(run, np.full_like(clean, 0.4), clean, None, ["psnr"])
