"""Resource requests from measured costs: predict/score time grows with the job's pixels and
the row's cost, CPU-only rows go to the CPU partition without a GPU, and the stats request
covers its measured peak memory per row."""

import math
import re
import tracemalloc
from pathlib import Path
from types import SimpleNamespace as NS

import numpy as np
import pandas as pd
import pytest
import yaml

from simart import stats
from simart.config import validate_config
from simart.workflow import resources as R
from simart.workflow.plan import Plan

ROOT = Path(__file__).resolve().parents[1]
PROFILE = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
RULES = (ROOT / "rules/evaluate.smk").read_text()


def _plan(**evaluate) -> Plan:
    return Plan(validate_config({
        "seed": 1, "image_size": 64,
        "simart": {"images_per_modality": {"train": 4, "val": 2, "test": 10}, "shard_size": 4},
        "evaluate": {"models": ["noisy", "wiener", "bm3d", "unet", "pcsd"], **evaluate},
    }))


def _sized(shard_size: int) -> Plan:
    return Plan(validate_config({
        "seed": 1, "image_size": 512,
        "simart": {"images_per_modality": {"train": 4, "val": 2, "test": 800},
                   "shard_size": shard_size},
        "evaluate": {"models": ["noisy", "wiener", "bm3d", "unet", "pcsd"]}}))


def test_predict_time_scales_with_pixels_and_row_cost_and_escalates():
    small, big = _sized(100), _sized(800)
    assert big.eval_pixels("simart") == 8 * small.eval_pixels("simart")
    for model in ("richardson_lucy", "bm3d", "unet"):
        wc = NS(dataset="simart", model=model)
        t_small = R.predict_job(small)["runtime"](wc, 1) - R.FLOOR_MIN
        t_big = R.predict_job(big)["runtime"](wc, 1) - R.FLOOR_MIN
        assert t_big == pytest.approx(8 * t_small, rel=0.02, abs=8)  # linear (ceil: +1 min)
        mpx = big.eval_pixels("simart") / 1e6
        assert t_big + R.FLOOR_MIN == math.ceil(
            R.FLOOR_MIN + R.SAFETY * R.seconds_per_mpx(big, "simart", model) * mpx / 60)
    job = R.predict_job(big)
    cost = {m: job["runtime"](NS(dataset="simart", model=m), 1) for m in ("noisy", "bm3d")}
    assert cost["bm3d"] > 100 * cost["noisy"] > 100 * R.FLOOR_MIN  # the measured table
    wc = NS(dataset="simart", model="bm3d")
    assert job["runtime"](wc, 2) >= 2 * job["runtime"](wc, 1) - 1
    assert job["mem_mb"](wc, 3) >= 4 * job["mem_mb"](wc, 1) - 3


def test_diffusion_cost_follows_its_sampling_steps():
    plan = _plan(variants={"pcsd_ddim2": {"model": "pcsd", "sampling": {"sampler": "ddim",
                                                                        "steps": 2}}})
    full = R.seconds_per_mpx(plan, "simart", "pcsd")  # embedded preset: 5 DDIM steps
    assert R.seconds_per_mpx(plan, "simart", "pcsd_ddim2") == pytest.approx(full * 2 / 5)


def test_score_time_counts_lpips_only_when_configured():
    with_lpips = _plan(metrics=["psnr", "lpips"])
    without = _plan(metrics=["psnr"])
    wc = NS(dataset="simart", model="unet")
    assert R.score_job(with_lpips)["runtime"](wc, 1) >= R.score_job(without)["runtime"](wc, 1)


def test_cpu_only_rows_are_the_noisy_input_and_classical_baselines():
    plan = _plan()
    cpu = R.cpu_only_models(plan.eval_names)
    assert sorted(cpu) == ["bm3d", "noisy", "wiener"]
    gpu = [m for m in plan.eval_names if m not in cpu]
    cpu_re, gpu_re = R.model_pattern(cpu), R.model_pattern(gpu)
    for m in plan.eval_names:  # every row matches exactly one of the two rules
        assert bool(re.fullmatch(cpu_re, m)) != bool(re.fullmatch(gpu_re, m)), m
    assert not re.fullmatch(R.model_pattern([]), "")  # no rows: matches nothing


def test_profile_puts_cpu_only_predictions_on_the_cpu_partition_without_a_gpu():
    assert "use rule predict_shard as predict_shard_cpu" in RULES
    cpu = PROFILE["set-resources"].get("predict_shard_cpu", {})
    assert not cpu.get("gpu") and not cpu.get("gpu_model") and not cpu.get("gres")
    partition = cpu.get("slurm_partition", PROFILE["default-resources"]["slurm_partition"])
    assert partition == PROFILE["default-resources"]["slurm_partition"]
    assert partition != PROFILE["set-resources"]["predict_shard"]["slurm_partition"]
    assert PROFILE["set-resources"]["predict_shard"]["gpu"] == 1
    assert PROFILE["set-threads"]["predict_shard_cpu"] == 1


def test_stats_rows_count_every_cells_test_images():
    plan = _plan(variants={"pcsd_ddim2": {"model": "pcsd", "sampling": {"sampler": "ddim",
                                                                        "steps": 2}}},
                 study_test_shards=1, datasets=["simart"])
    n_sub = len(plan.views["simart"].eval_subsets)
    # 10 test images in shards of 4: full rows score 10, the study row its first shard (4)
    full = len(plan.cell_models("simart")) - 1
    assert sorted(R.cell_rows(plan)) == sorted([10] * full * n_sub + [4] * n_sub)


def _cells(rows_per_cell: int, n_models: int, metrics: list[str]) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frames = []
    for k in range(n_models):
        f = pd.DataFrame({"dataset": "simart", "modality": "TEM", "model": f"m{k}",
                          "image_index": np.arange(rows_per_cell), "status": "ok",
                          "missing_reason": ""})
        for m in metrics:
            f[m] = rng.normal(20, 3, rows_per_cell)
            f[f"{m}_reason"] = ""
        frames.append(f)
    return frames


def test_stats_request_covers_its_measured_peak_per_row(tmp_path):
    metrics, rows_per_cell, n_models = ["psnr", "ssim"], 5000, 4
    paths = []
    for k, frame in enumerate(_cells(rows_per_cell, n_models, metrics)):
        paths.append(tmp_path / f"{k}.parquet")
        frame.to_parquet(paths[-1], index=False)
    out = {k: str(tmp_path / f"out.{k}") for k in
           ("csv", "md", "parquet", "descriptive_csv", "descriptive_parquet")}
    stats.write_stats(paths, metrics, out, reference="m0", n_bootstrap=100)  # imports
    tracemalloc.start()
    stats.write_stats(paths, metrics, out, reference="m0", n_bootstrap=100)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    cells = [rows_per_cell] * n_models
    request = R.stats_job(cells, len(metrics), 100)["mem_mb"]({}, 1) - R.STATS_BASE_MB
    assert request >= 1.5 * peak, (request, peak)  # margin over the measured peak
    big = R.stats_job([25_000] * 112, 19, 2000)
    assert big["mem_mb"]({}, 2) == 2 * big["mem_mb"]({}, 1)
    assert big["runtime"]({}, 1) > R.stats_job([250] * 112, 19, 2000)["runtime"]({}, 1)
