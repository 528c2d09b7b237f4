"""Resource requests (memory, wall time) of every rule, by family.

Every value grows with Snakemake's ``attempt``: the first attempt asks for the base value,
each retry (profile: ``retries``) for :data:`RETRY_GROWTH` times more, so a job that Slurm
killed for memory (OUT_OF_MEMORY) or time (TIMEOUT), or that was cancelled, gets more room
next time. Where jobs run (partition, account, GPUs, CPUs per family) is cluster-specific
and lives in profiles/slurm/config.yaml. results/benchmarks/summary.md (rule
benchmark_summary) shows what jobs really used.

Families:

* shard jobs -- simulate_shard, ``*_shard`` of the physics datasets (CPU): memory and time
  linear in the shard's pixels (:func:`shard_job`);
* restoration -- predict_shard (learned rows: GPU in the Slurm profile) and
  predict_shard_cpu (the noisy input and classical baselines: CPU partition, no GPU): time =
  the row's measured seconds per megapixel (:data:`CPU_S_PER_MPX`, or its network's FLOPs
  per megapixel x evaluations per image / the device's rate) x the job's megapixels x
  :data:`SAFETY` + :data:`FLOOR_MIN` (:func:`predict_job`); scoring -- score_shard, the
  same from the measured metric suite (:func:`score_job`);
* statistics -- stats: memory and time per row and metric it reads (:func:`stats_job`);
* small jobs -- catalogs, metrics_cell, aggregate_metrics, figures, reports
  (:func:`small_job`);
* training -- train_model (GPU in the Slurm profile) (:func:`train_job`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

RETRY_GROWTH = 2.0  # x memory and x time on each retry

Size = float | Callable[[Any], float]


def escalate(base: Size, growth: float = RETRY_GROWTH) -> Callable[[Any, int], int]:
    """Resource function: ``base`` (a number or a function of the wildcards) on attempt 1,
    times ``growth`` on each further attempt (rounded up to an integer)."""

    def resource(wildcards, attempt):
        value = base(wildcards) if callable(base) else base
        return math.ceil(value * growth ** (attempt - 1))

    return resource


def shard_job(pixels: Size, bytes_per_px: int = 12, px_per_min: int = 2**22,
              base_mb: int = 2000, base_min: int = 10) -> dict[str, Callable]:
    """One shard job: ``pixels`` = images x pixels per image (a number or f(wildcards)).
    Memory: base_mb + bytes_per_px x pixels (in MB); time: base_min + pixels / px_per_min
    minutes. results/benchmarks/summary.md shows the real use per rule."""

    def px(wc):
        return pixels(wc) if callable(pixels) else pixels

    return {
        "mem_mb": escalate(lambda wc: base_mb + bytes_per_px * px(wc) // 2**20),
        "runtime": escalate(lambda wc: base_min + px(wc) // px_per_min),
    }


def small_job(mem_mb: Size = 2000, runtime: Size = 15) -> dict[str, Callable]:
    """A job of fixed size (MB, minutes), escalating on retry."""
    return {"mem_mb": escalate(mem_mb), "runtime": escalate(runtime)}


def train_job(mem_mb: Size = 64000, runtime: Size = 24 * 60) -> dict[str, Callable]:
    """A training/sampling job (GPU through the Slurm profile), escalating on retry."""
    return small_job(mem_mb, runtime)


# ----------------------------------------------------------------- restoration and scoring
# Per-megapixel costs, measured on one CPU core at 128² (4 images per SIMART modality, the
# slowest modality each row runs on) with `python benchmarks/bench_resources.py` (Debian 12,
# 2-core x86-64 VM, 2026-12); GPU costs are FLOP estimates of one network evaluation at
# paper hyper-parameters (FlopCounterMode, same script), not timings.
CPU_S_PER_MPX: dict[str, float] = {  # CPU seconds per megapixel of one restoration
    "noisy": 0.012, "wiener": 0.83, "richardson_lucy": 5.5, "bm3d": 100.6,
    "tip_erosion": 60.2,
}
CNN_CPU_S_PER_MPX = 16.4            # U-Net (paper hparams) predict on the CPU
NET_FLOPS_PER_MPX: dict[str, float] = {  # FLOPs per megapixel of one network evaluation
    "cnn": 1.468e12, "gan": 7.26e11,  # U-Net; pix2pix generator
    "pcsd": 6.17e11, "pi_ddpm": 1.295e12, "cond_ddpm": 1.688e13,  # one denoiser call
}
#: the CPU's FLOP rate implied by the CNN measurement (learned rows run on a CPU device)
CPU_FLOPS = NET_FLOPS_PER_MPX["cnn"] / CNN_CPU_S_PER_MPX
#: share of the GPU's dense bf16 peak (simart.specs.hardware) float32 inference reaches:
#: convolutions run as TF32 at half the bf16 rate (A100 datasheet: 156 vs 312 TFLOPS),
#: assumed at 30 % of that
INFERENCE_EFFICIENCY = 0.15
GPU_MODEL = "A100"                  # the card profiles/slurm asks for (gpu_model)
GUIDED_FACTOR = 3.0                 # guidance back-propagates: forward + backward ~ 3 forwards
SCORE_CPU_S_PER_MPX = 0.363         # every metric of configs/paper.yaml but LPIPS
#: LPIPS: FLOPs per megapixel of its AlexNet features on both images of a pair (same
#: script), run at the CPU rate above
LPIPS_FLOPS_PER_MPX = 4.79e10
SAFETY = 2.0                        # x the estimate on the first attempt
FLOOR_MIN = 10                      # minutes: start-up, model load, I/O

#: CPU-only evaluation rows: no network (the Slurm profile sends them to the CPU partition)
CPU_ONLY_FAMILIES = ("input", "classical")


def cpu_only_models(models: list[str]) -> list[str]:
    """The rows of ``models`` that run without a GPU (the noisy input, classical baselines)."""
    from simart.specs.models import family

    return [m for m in models if family(m) in CPU_ONLY_FAMILIES]


def gpu_models(models: list[str]) -> list[str]:
    """The rows of ``models`` that run a network (a GPU in the Slurm profile)."""
    cpu = set(cpu_only_models(models))
    return [m for m in models if m not in cpu]


def model_pattern(names: list[str]) -> str:
    """A wildcard constraint matching exactly ``names`` (none: nothing)."""
    return "|".join(sorted(names, key=len, reverse=True)) or "(?!)"


def _diffusion_evaluations(h: dict[str, Any]) -> float:
    """Network evaluations of one restored image: steps x samples (x GUIDED_FACTOR when
    guided); DDPM steps cover the [stop, start] part of T."""
    steps = float(h.get("steps", h.get("T", 1000)))
    if h.get("sampler") == "ddpm":
        steps = max(1.0, (float(h.get("start", 1.0)) - float(h.get("stop", 0.0)))
                    * float(h.get("T", steps)))
    guided = float(h.get("eta", 0.0)) > 0 or bool(h.get("physics", False))
    return steps * float(h.get("n_samples", 1)) * (GUIDED_FACTOR if guided else 1.0)


def seconds_per_mpx(plan: Any, dataset: str, model: str) -> float:
    """Seconds per megapixel one predict job spends restoring with evaluation row ``model``
    on its device (classical: CPU_S_PER_MPX; learned: FLOPs / the GPU's or CPU's rate)."""
    from simart.specs.hardware import gpu
    from simart.specs.hparams import DEFAULT_HPARAMS, PAPER_HPARAMS
    from simart.specs.models import spec_of

    net, sampling, _ = plan.eval_entry(model)
    spec = spec_of(net)
    if spec is not None and not spec.learned:
        return CPU_S_PER_MPX.get(net, max(CPU_S_PER_MPX.values()))
    cfg = plan.cfg
    preset = PAPER_HPARAMS if cfg.train.hparams_preset == "paper" else DEFAULT_HPARAMS
    h = {**preset.get(net, {}), **cfg.train.hparams(net, dataset), **sampling}
    fam = spec.family if spec else "cnn"
    if fam == "diffusion":
        key = spec.impl.split(".")[2]  # simart.models.<module>.<Class>
        flops = NET_FLOPS_PER_MPX.get(key, max(NET_FLOPS_PER_MPX.values()))
        flops *= _diffusion_evaluations(h)
    else:
        flops = NET_FLOPS_PER_MPX["gan" if fam == "gan" else "cnn"]
    rate = (CPU_FLOPS if cfg.train.device == "cpu"
            else gpu(GPU_MODEL).peak_flops("bf16") * INFERENCE_EFFICIENCY)
    return flops / rate


def minutes(seconds: float) -> float:
    """A request in minutes: FLOOR_MIN + SAFETY x the estimate."""
    return FLOOR_MIN + SAFETY * seconds / 60


def predict_job(plan: Any, bytes_per_px: int = 20, base_mb: int = 2000) -> dict[str, Callable]:
    """predict_shard (both rules): time from :func:`seconds_per_mpx` x the job's megapixels
    (``plan.eval_pixels``: its shard of every scored subset); memory base_mb + bytes_per_px
    per pixel (inputs and predictions in float32 with copies); both escalate on retry.
    Where the job scores too (``plan.score_in_predict``), the time of :func:`score_job`
    is added and the memory is the larger of the two."""

    def mpx(wc) -> float:
        return plan.eval_pixels(wc.dataset) / 1e6

    def seconds(wc) -> float:
        s = seconds_per_mpx(plan, wc.dataset, wc.model) * mpx(wc)
        return s + (_score_s_per_mpx(plan) * mpx(wc) if plan.score_in_predict else 0.0)

    def mem(wc) -> float:
        px = plan.eval_pixels(wc.dataset)
        return base_mb + max(bytes_per_px, SCORE_BYTES_PER_PX if plan.score_in_predict
                             else 0) * px / 2**20

    return {"mem_mb": escalate(mem), "runtime": escalate(lambda wc: minutes(seconds(wc)))}


#: pixels a real_restore job is sized for (a 2048 x 2048 image; a larger one gets more on
#: retry, or give the set a crop)
REAL_IMAGE_PX = 2048**2


def real_job(plan: Any, bytes_per_px: int = 64, base_mb: int = 3000) -> dict[str, Callable]:
    """real_restore (both rules): one image of :data:`REAL_IMAGE_PX` pixels (or the set's
    crop); time from :func:`seconds_per_mpx` of the row; memory base_mb + bytes_per_px per
    pixel (the image, its normalised copy, the restoration, measures in float64)."""

    def px(wc) -> int:
        crop = plan.real_set(wc.realset).crop
        return crop * crop if crop else REAL_IMAGE_PX

    def seconds(wc) -> float:
        s = plan.real_set(wc.realset)
        return seconds_per_mpx(plan, s.dataset, wc.model) * px(wc) / 1e6

    return {"mem_mb": escalate(lambda wc: base_mb + bytes_per_px * px(wc) / 2**20),
            "runtime": escalate(lambda wc: minutes(seconds(wc)))}


#: memory of scoring per pixel of the job's shards (score_shard; predict_shard that scores)
SCORE_BYTES_PER_PX = 24


def _score_s_per_mpx(plan: Any) -> float:
    lpips = LPIPS_FLOPS_PER_MPX / CPU_FLOPS if "lpips" in plan.metrics else 0.0
    return SCORE_CPU_S_PER_MPX + lpips


def score_job(plan: Any, bytes_per_px: int = SCORE_BYTES_PER_PX,
              base_mb: int = 2000) -> dict[str, Callable]:
    """score_shard: time from SCORE_CPU_S_PER_MPX (+ LPIPS when configured) x the job's
    megapixels; memory as :func:`predict_job`."""
    return {
        "mem_mb": escalate(lambda wc: base_mb + bytes_per_px * plan.eval_pixels(wc.dataset)
                           / 2**20),
        "runtime": escalate(lambda wc: minutes(
            _score_s_per_mpx(plan) * plan.eval_pixels(wc.dataset) / 1e6)),
    }


# ----------------------------------------------------------------------------- statistics
# Measured with `python benchmarks/bench_stats.py --stat-metrics N` (2.8 M rows = 112 cells
# x 25,000 images, 19 metric columns per cell, 20 resamples; same machine as above): peak
# RSS above the imports was 377 MiB with 2 metrics and 1,173 MiB with 19, i.e. 106 bytes
# per row plus 17.5 per row and metric; 7.8e-8 CPU seconds per row x metric x resample.
# The bootstrap's working set (resample indices, values and the median's copy, float64 /
# int64, min(200, n_bootstrap) resamples at a time) grows with the largest cell.
STATS_BYTES_PER_ROW = 106
STATS_BYTES_PER_ROW_METRIC = 17.5
STATS_BOOTSTRAP_BYTES = 3 * 8       # per value of the largest cell and resample of a chunk
STATS_S_PER_ROW_METRIC_RESAMPLE = 7.8e-8
STATS_BASE_MB = 1000                # the interpreter, pandas, scipy
_COUNTS = {"simart": "images_per_modality", "stem_lattice": "images_per_level",
           "stm_cu111": "images_per_domain", "lm": "images_per_mode"}


def cell_rows(plan: Any) -> list[int]:
    """Rows of every cell rule stats reads: the test images its row is scored on (study
    rows: their first ``evaluate.study_test_shards`` shards)."""
    out = []
    for dataset, view in plan.views.items():
        sec = getattr(plan.cfg, dataset)
        n_test = getattr(sec, _COUNTS[dataset]).test
        for model in plan.cell_models(dataset):
            images = min(n_test, len(plan.eval_shard_ids(dataset, model)) * sec.shard_size)
            out += [images] * len(view.eval_subsets)
    return out


def stats_job(cells: list[int], n_metrics: int, n_bootstrap: int) -> dict[str, Callable]:
    """Rule stats over cells of these row counts: memory STATS_BASE_MB + SAFETY x (the
    measured bytes per row and metric + the bootstrap's working set on the largest cell),
    time FLOOR_MIN + SAFETY x the measured seconds per row, metric and resample;
    escalating on retry."""
    rows, largest = sum(cells), max(cells, default=0)
    table = rows * (STATS_BYTES_PER_ROW + STATS_BYTES_PER_ROW_METRIC * n_metrics)
    boot = STATS_BOOTSTRAP_BYTES * min(200, n_bootstrap) * largest
    mem = STATS_BASE_MB + SAFETY * (table + boot) / 2**20
    sec = STATS_S_PER_ROW_METRIC_RESAMPLE * rows * n_metrics * n_bootstrap
    return {"mem_mb": escalate(math.ceil(mem)), "runtime": escalate(math.ceil(minutes(sec)))}
