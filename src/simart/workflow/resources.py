"""Resource requests (memory, wall time) of every rule, by family.

Every value grows with Snakemake's ``attempt``: the first attempt asks for the base value,
each retry (profile: ``retries``) for :data:`RETRY_GROWTH` times more, so a job that Slurm
killed for memory (OUT_OF_MEMORY) or time (TIMEOUT), or that was cancelled, gets more room
next time. Where jobs run (partition, account, GPUs, CPUs per family) is cluster-specific
and lives in profiles/slurm/config.yaml. results/benchmarks/summary.md (rule
benchmark_summary) shows what jobs really used.

Families:

* shard jobs -- simulate_shard, ``*_shard`` of the physics datasets (CPU), predict_shard
  (inference: GPU in the Slurm profile), score_shard (metrics): memory and time linear in
  the shard's pixels (:func:`shard_job`);
* small jobs -- catalogs, metrics_cell, aggregate_metrics, stats, figures, reports
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
