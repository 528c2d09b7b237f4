# Resource requests (memory, wall time) of every rule, by family: src/simart/workflow/
# resources.py. Every value grows with Snakemake's `attempt` (RETRY_GROWTH x on each retry,
# profile: `retries`), so a job that Slurm killed for memory or time gets more room next
# time. Where jobs run (partition, account, GPUs, CPUs per family) is cluster-specific and
# lives in profiles/slurm/config.yaml; results/benchmarks/summary.md (rule
# benchmark_summary) shows what jobs really used.
#
# Families:
#   shard jobs   simulate_shard, *_shard of the physics datasets (CPU): memory and
#                time linear in the shard's pixels           -> shard_job(...)
#   restoration  predict_shard (learned rows: GPU in the Slurm profile), predict_shard_cpu
#                (noisy input, classical baselines: CPU): time = measured seconds per
#                megapixel of the row x the job's pixels     -> predict_job(PLAN)
#   real images  real_restore (learned rows: GPU), real_restore_cpu: one image of a
#                real set, sized for a 2048^2 image or the set's crop -> real_job(PLAN)
#   scoring      score_shard: measured seconds per megapixel -> score_job(PLAN)
#   statistics   stats: memory and time per row it reads      -> stats_job(...)
#   small jobs   catalogs, aggregate_metrics, figures, reports (metrics_cell: local,
#                in Snakemake's own process)
#                                                             -> small_job(...)
#   training     train_model (GPU in the Slurm profile)      -> train_job(...)
from simart.workflow.resources import (  # noqa: F401
    RETRY_GROWTH,
    cell_rows,
    cpu_only_models,
    gpu_models,
    escalate,
    model_pattern,
    predict_job,
    real_job,
    score_job,
    shard_job,
    small_job,
    stats_job,
    train_job,
)
