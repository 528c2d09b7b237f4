# Resource requests (memory, wall time) of every rule, by family: src/simart/workflow/
# resources.py. Every value grows with Snakemake's `attempt` (RETRY_GROWTH x on each retry,
# profile: `retries`), so a job that Slurm killed for memory or time gets more room next
# time. Where jobs run (partition, account, GPUs, CPUs per family) is cluster-specific and
# lives in profiles/slurm/config.yaml; results/benchmarks/summary.md (rule
# benchmark_summary) shows what jobs really used.
#
# Families:
#   shard jobs   simulate_shard, *_shard of the physics datasets (CPU), predict_shard
#                (inference: GPU in the Slurm profile), score_shard (metrics): memory and
#                time linear in the shard's pixels           -> shard_job(...)
#   small jobs   catalogs, metrics_cell, aggregate_metrics, stats, figures, reports
#                                                             -> small_job(...)
#   training     train_model (GPU in the Slurm profile)      -> train_job(...)
from simart.workflow.resources import (  # noqa: F401
    RETRY_GROWTH,
    escalate,
    shard_job,
    small_job,
    train_job,
)
